"""Rows of raw strings → invoices, holding back and reporting every bad row (SPEC 2.1, 2.4)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as default
from datetime import date
from typing import TypeVar

import polars as pl

from arflow.calendar import Terms
from arflow.config import INVOICE_FIELDS, INVOICE_STATUSES, SourceConfig
from arflow.errors import RowError
from arflow.ledger import FRAME_SCHEMA, Customer, Invoice, frame_from_invoices
from arflow.reading import SourceRead
from arflow.sources.columns import ColumnParser
from arflow.sources.frames import LINE, NotPlain, Slices, TextRows
from arflow.sources.invoice_rules import InvoiceRules
from arflow.sources.rows import column_index, has_control_character, split_tags
from arflow.sources.understood import DATE_FIELDS, DATE_VALUE, check_dates, check_share
from arflow.sources.values import ValueParser

INVOICE_REQUIRED = ("number", "customer_id", "issue_date", "amount")


class InvoiceBuilder:
    """Builds invoices from rows of one source; `errors` collects every rejected value."""

    def __init__(
        self,
        source: SourceConfig,
        display: str,
        parser: ValueParser,
        customers: dict[str, Customer],
        default_currency: str,
        default_terms: str | None,
    ):
        self.rules = InvoiceRules(source, parser, customers, default_currency, default_terms)
        self.display = display
        self.errors: list[RowError] = []
        # one copy of each repeated text; '' interns to None (an empty text is no value), so
        # `map(setdefault, col, col)` interns a whole column in C
        self._strings: dict[str, str | None] = {"": None}
        self._idx: dict[str, int] = {}
        self._header: Sequence[str] = ()
        self._extra_names: tuple[str, ...] = ()
        self.read = SourceRead("invoices", display)  # what reading found (`build_frame`)

    @property
    def columns(self) -> Collection[str]:
        """The fields the source has a column for (known once `build_frame` has read the
        header)."""
        return self._idx.keys()

    @property
    def extra_names(self) -> tuple[str, ...]:
        """The source's columns no field uses, as `invoice.extra` names them."""
        return self._extra_names

    def build_frame(
        self, header: Sequence[str], read: Slices, *, careful: bool = False
    ) -> pl.DataFrame:
        """The ledger's frame of every good row; `read` gives the rows, a slice at a time,
        once the header has been checked. Clean rows are parsed column by column
        (`ColumnParser`), a slice at a time; the others (all of them, with `careful`) row by
        row (`_invoice`), which says what is wrong with each, once every slice is read."""
        idx = column_index(
            header, self.rules.source, INVOICE_FIELDS, INVOICE_REQUIRED, self.display, "invoices"
        )
        self._idx, self._header = idx, header
        used = set(idx.values())
        extra_cols = [(i, h) for i, h in enumerate(header) if i not in used and h.strip()]
        self._extra_names = tuple(h for _, h in extra_cols)
        parser = ColumnParser(self.rules, idx, [i for i, _ in extra_cols])
        mark = len(self.errors)
        try:
            found = self._slices(read(True), parser, careful)
        except NotPlain:  # polars may not read this file as it is: the block reader reads it
            del self.errors[mark:]
            found = self._slices(read(False), parser, careful)
        check_dates(
            found.dates, idx, header, self.rules.source, self._reads_date, self.display, "invoices"
        )
        good, numbers = self._read_carefully(found, idx, extra_cols)
        lines = pl.concat(found.lines) if found.lines else pl.Series([], dtype=pl.Int64)
        good = self._without_duplicates(good, numbers, lines)
        if self.rules.source.is_database:  # issue 35: a table's row named by its number
            self.errors[mark:] = keyed(self.errors[mark:], lines, numbers)
        self.read = SourceRead(
            "invoices",
            self.display,
            {f: header[i].strip() for f, i in idx.items()},
            self._extra_names,
            rows=found.rows,
            kept=len(good),
            empty=found.empty,
        )
        check_share(
            self.read,
            self.rules.source,
            self.errors,
            lambda: set(good.get_column("line").to_list()),
        )
        return good

    def _slices(self, slices: Iterator[TextRows], parser: ColumnParser, careful: bool) -> _Found:
        """Every slice's rows parsed column by column (none with `careful`): what they add up
        to, the rows to read carefully kept as text."""
        found = _Found()
        for text, problems, empty in slices:
            for line, problem in problems:
                self._error(line, None, None, problem)
            found.rows += len(text) + len(problems)
            found.empty += empty
            found.add_dates(text, self._idx)
            if careful:  # the reference: no column-wise parsing at all
                slow = pl.repeat(True, len(text), dtype=pl.Boolean, eager=True)
                found.numbers.append(pl.repeat("", len(text), dtype=pl.String, eager=True))
            else:
                frame, slow = parser.parse(text)
                found.good.append(frame.filter(~slow))
                found.numbers.append(frame.get_column("number"))
            if slow.any():
                at = slow.arg_true()
                found.slow.append(text[at])
                found.slow_at.append(at.cast(pl.Int64) + sum(map(len, found.lines)))
            found.lines.append(text.get_column(LINE))
        return found

    def _read_carefully(
        self, found: _Found, idx: dict[str, int], extra_cols: list[tuple[int, str]]
    ) -> tuple[pl.DataFrame, pl.Series]:
        """The good rows of every slice with those read carefully (`_invoice`), and each
        row's invoice number (the careful rows' as Python strips it)."""
        good = pl.concat(found.good) if found.good else pl.DataFrame(schema=FRAME_SCHEMA)
        numbers = pl.concat(found.numbers) if found.numbers else pl.Series([], dtype=pl.String)
        if not found.slow:
            return good, numbers
        rows = pl.concat(found.slow)
        found.slow.clear()
        read_carefully: list[Invoice] = []
        stripped = []
        for line, values in zip(
            rows.get_column(LINE).to_list(), rows.drop(LINE).iter_rows(), strict=True
        ):
            stripped.append(values[idx["number"]].strip())
            invoice = self._invoice(line, list(values), idx, extra_cols)
            if invoice is not None:
                read_carefully.append(invoice)
        if read_carefully:
            good = pl.concat([good, frame_from_invoices(read_carefully)]).sort("line")
        numbers = numbers.scatter(pl.concat(found.slow_at), stripped)  # as Python strips it
        return good, numbers

    def _reads_date(self, value: str) -> bool:
        try:
            self.rules.parser.date(value)
        except ValueError:
            return False
        return True

    def _without_duplicates(
        self, good: pl.DataFrame, numbers: pl.Series, lines: pl.Series
    ) -> pl.DataFrame:
        """SPEC 2.4: every copy of a number that appears on more than one row (good or held
        back) is held back and reported."""
        if numbers.hash().n_unique() == len(numbers):
            return good  # all hashes differ, so all numbers do: the usual case, in one pass
        twice = numbers.is_duplicated() & (numbers != "")
        if not twice.any():
            return good
        copies = (
            pl.DataFrame({"number": numbers, "line": lines})
            .filter(twice)
            .group_by("number")
            .agg(pl.col("line").sort())
            .filter(pl.col("line").list.len() > 1)
        )
        if copies.is_empty():
            return good
        for number, at in copies.iter_rows():
            for line in at:
                others = ", ".join(str(x) for x in at if x != line)
                self._error(
                    line,
                    "number",
                    number,
                    f"invoice number {number!r} appears more than once (also on line"
                    f"{'s' if len(at) > 2 else ''} {others}); all copies are held "
                    "back until the source has one row per invoice",
                )
        return good.filter(~pl.col("number").is_in(copies.get_column("number").implode()))

    def _error(self, line: int, column: str | None, value: str | None, message: str) -> None:
        self.errors.append(RowError(self.display, line, self._header_name(column), value, message))

    def _header_name(self, column: str | None) -> str | None:
        # name the column as the user's file spells it (`Due Date`, not `due_date`)
        if column is None or column not in self._idx:
            return column
        return self._header[self._idx[column]].strip()

    def _intern(self, text: str) -> str | None:
        return self._strings.setdefault(text, text)

    def _invoice(
        self,
        line: int,
        values: Sequence[str],
        idx: dict[str, int],
        extra_cols: list[tuple[int, str]],
    ) -> Invoice | None:
        """One row read carefully: every problem is reported; None when the row is held back."""
        p = self.rules.parser
        row = _Row(self, line, values, idx)
        number, customer_id = row.get("number"), row.get("customer_id")
        self._check_ids(row, number, customer_id)
        customer = self.rules.customers.get(customer_id)
        issue_date = row.parse("issue_date", p.date)
        if issue_date is None and not row.bad:
            row.reject("issue_date", "", "empty issue date; every row needs one")
        due_date = row.parse("due_date", p.date)
        paid_date = row.parse("paid_date", p.date)
        due_date = self._due_date(row, customer, issue_date, due_date)
        amount = row.parse("amount", p.money, required=True)
        balance = row.parse("balance", p.money)
        currency = self._currency(row, customer)
        status = self._status(row)
        emails, phone, problems = p.contacts(row.get("email"), row.get("phone"))
        for column, raw, message in problems:
            self._error(line, column, raw, message)
        if row.bad:
            return None
        # a row with a problem in any of these was held back (`row.bad`)
        assert issue_date is not None and due_date is not None and amount is not None
        assert status is not None
        tags = row.get("tags")
        name = row.get("customer_name")
        raw_terms = row.get("terms")
        invoice = Invoice(
            number=number,
            customer_id=self._intern(customer_id) or customer_id,
            issue_date=issue_date,
            due_date=due_date,
            amount=amount,
            balance=balance,
            paid_date=paid_date,
            currency=self._intern(currency) or currency,
            status=status,
            line=line,
            customer_name=self._intern(name) if name else None,
            email=emails,
            phone=phone,
            terms=self._intern(raw_terms) if raw_terms else None,
            product=self._intern(row.get("product")) or None,
            location=self._intern(row.get("location")) or None,
            department=self._intern(row.get("department")) or None,
            segment=self._intern(row.get("segment")) or None,
            tags=split_tags(tags) if tags else (),
        )
        if extra_cols:
            invoice.extra_names = self._extra_names
            invoice.extra_values = tuple(values[i] for i, _ in extra_cols)
        return invoice

    def _check_ids(self, row: _Row, number: str, customer_id: str) -> None:
        """Every row needs an invoice number and a customer id, free of control characters."""
        for field, value, what in (
            ("number", number, "invoice number"),
            ("customer_id", customer_id, "customer id"),
        ):
            if not value:
                row.reject(field, "", f"empty {what}; every row needs one")
            elif has_control_character(value):
                row.reject(
                    field,
                    value,
                    f"the {what} contains a control character "
                    "(a NUL, tab or line break); fix it in the source",
                )

    def _due_date(
        self,
        row: _Row,
        customer: Customer | None,
        issue_date: date | None,
        due_date: date | None,
    ) -> date | None:
        """The row's due date, else one from its terms (the row's, else the customer's, else
        the company's); terms that say none are reported either way."""
        raw_terms = row.get("terms")
        if due_date is None and issue_date is not None and not (row.bad and row.get("due_date")):
            terms_text = raw_terms or (customer.terms if customer and customer.terms else None)
            terms: Terms | None
            try:
                terms = self.rules.terms(terms_text) if terms_text else self.rules.default_terms
            except ValueError as exc:
                row.reject("terms", raw_terms, str(exc))
                terms = None
            if terms is not None:
                due_date = terms.due_date(issue_date)
            elif not row.bad:
                row.reject(
                    "due_date",
                    "",
                    "no due date and no payment terms: add a "
                    "due_date or terms column, or set terms: under company: in arflow.yaml",
                )
        elif raw_terms:
            try:
                self.rules.terms(raw_terms)
            except ValueError as exc:
                row.reject("terms", raw_terms, str(exc))
        if due_date is not None and issue_date is not None and due_date < issue_date:
            row.reject(
                "due_date",
                row.get("due_date") or None,
                f"due date {due_date} is before the issue date {issue_date}; fix one of them",
            )
        return due_date

    def _currency(self, row: _Row, customer: Customer | None) -> str:
        """The row's currency, else its customer's, else the company's."""
        currency = row.get("currency").upper() or (
            customer.currency if customer and customer.currency else self.rules.default_currency
        )
        if len(currency) != 3 or not currency.isalpha():
            row.reject(
                "currency",
                row.get("currency"),
                "not an ISO 4217 currency code such as USD or EUR",
            )
        return currency

    def _status(self, row: _Row) -> str | None:
        """The row's status, `status_map:` applied; None (and reported) when unknown."""
        raw = row.get("status")
        status = self.rules.statuses.get(raw.casefold())
        if status is None:
            known = ", ".join(INVOICE_STATUSES)
            row.reject(
                "status",
                raw,
                f"unknown status {raw!r}: use {known}, or map it "
                f"with status_map: {{{raw}: open}} under invoices: in arflow.yaml",
            )
        return status


T = TypeVar("T")


class _Row:
    """One row read carefully: its values by field, and whether a problem holds it back."""

    __slots__ = ("bad", "builder", "idx", "line", "values")

    def __init__(
        self, builder: InvoiceBuilder, line: int, values: Sequence[str], idx: dict[str, int]
    ):
        self.builder = builder
        self.line = line
        self.values = values
        self.idx = idx
        self.bad = False

    def get(self, field: str) -> str:
        """The field's value, stripped ("" when the source has no such column)."""
        i = self.idx.get(field)
        return "" if i is None else self.values[i].strip()

    def reject(self, field: str, value: str | None, message: str) -> None:
        """Report a problem with the field's value; the row is held back."""
        self.builder._error(self.line, field, value, message)
        self.bad = True

    def parse(self, field: str, convert: Callable[[str], T], required: bool = False) -> T | None:
        """The field's value through `convert`; a bad value is reported, the row held."""
        raw = self.get(field)
        if not raw and not required:
            return None
        try:
            return convert(raw)
        except ValueError as exc:
            self.reject(field, raw, str(exc))
            return None


@dataclass
class _Found:
    """What the slices of a source read so far add up to."""

    good: list[pl.DataFrame] = default(default_factory=list)  # rows parsed column by column
    numbers: list[pl.Series] = default(default_factory=list)  # every row's invoice number
    lines: list[pl.Series] = default(default_factory=list)  # every row's line
    slow: list[pl.DataFrame] = default(default_factory=list)  # the text of rows to read carefully
    slow_at: list[pl.Series] = default(default_factory=list)  # and where they are among all rows
    # each date column's distinct values as written, in file order, with the first line of each
    dates: dict[str, pl.DataFrame] = default(default_factory=dict)
    rows: int = 0
    empty: int = 0

    def add_dates(self, text: pl.DataFrame, idx: dict[str, int]) -> None:
        for name in DATE_FIELDS:
            if name not in idx:
                continue
            values = text.select(pl.col(f"c{idx[name]}").alias(DATE_VALUE), LINE)
            if name in self.dates:
                values = pl.concat([self.dates[name], values])
            self.dates[name] = values.unique(DATE_VALUE, keep="first", maintain_order=True)


def keyed(errors: list[RowError], lines: pl.Series, keys: pl.Series) -> list[RowError]:
    """`errors` with each row's key (`keys[i]` is the key of the row on `lines[i]`)."""
    wanted = {e.line for e in errors}
    if not wanted:
        return errors
    at = pl.DataFrame({"line": lines, "key": keys}).filter(pl.col("line").is_in(list(wanted)))
    found = dict(at.iter_rows())
    return [replace(e, key=found.get(e.line) or None) for e in errors]
