"""Rows of raw strings → invoices, holding back and reporting every bad row (SPEC 2.1, 2.4)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import polars as pl

from arflow.calendar import Terms, parse_terms
from arflow.config import INVOICE_FIELDS, INVOICE_STATUSES, SourceConfig
from arflow.errors import RowError
from arflow.ledger import (
    FRAME_SCHEMA,
    Customer,
    Invoice,
    frame_from_invoices,
    invoices_from_frame,
)
from arflow.sources.columns import ColumnParser
from arflow.sources.csvfile import Blocks
from arflow.sources.frames import LINE, TextRows, from_blocks
from arflow.sources.rows import column_index, has_control_character, split_tags
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
        self.source = source
        self.display = display
        self.parser = parser
        self.customers = customers
        self.default_currency = default_currency
        self.default_terms = parse_terms(default_terms) if default_terms else None
        self.errors: list[RowError] = []
        self._terms: dict[str, Terms | str] = {}
        self._status = {
            "": "open",
            **{s: s for s in INVOICE_STATUSES},
            **{k.strip().casefold(): v for k, v in source.status_map.items()},
        }
        # one copy of each repeated text; '' interns to None (an empty text is no value), so
        # `map(setdefault, col, col)` interns a whole column in C
        self._strings: dict[str, str | None] = {"": None}
        self._idx: dict[str, int] = {}
        self._header: Sequence[str] = ()
        self._extra_names: tuple[str, ...] = ()

    @property
    def columns(self) -> Collection[str]:
        """The fields the source has a column for (known once `build` has read the header)."""
        return self._idx.keys()

    @property
    def extra_names(self) -> tuple[str, ...]:
        """The source's columns no field uses, as `invoice.extra` names them."""
        return self._extra_names

    def _terms_for(self, raw: str) -> Terms:
        found = self._terms.get(raw)
        if found is None:
            try:
                found = parse_terms(raw)
            except ValueError as exc:
                found = str(exc)
            self._terms[raw] = found
        if isinstance(found, str):
            raise ValueError(found)
        return found

    def build(self, header: Sequence[str], blocks: Blocks) -> list[Invoice]:
        """The invoices of a block reader's rows, as objects (see `build_frame`)."""
        frame = self.build_frame(header, lambda: from_blocks(header, blocks))
        return invoices_from_frame(frame, self._extra_names)

    def build_frame(
        self, header: Sequence[str], read: Callable[[], TextRows], *, careful: bool = False
    ) -> pl.DataFrame:
        """The ledger's frame of every good row; `read()` gives the rows once the header has
        been checked. Clean rows are parsed column by column (`ColumnParser`); the others (all
        of them, with `careful`) row by row (`_invoice`), which says what is wrong with each."""
        idx = column_index(
            header, self.source, INVOICE_FIELDS, INVOICE_REQUIRED, self.display, "invoices"
        )
        self._idx, self._header = idx, header
        used = set(idx.values())
        extra_cols = [(i, h) for i, h in enumerate(header) if i not in used and h.strip()]
        self._extra_names = tuple(h for _, h in extra_cols)
        text, problems = read()
        for line, problem in problems:
            self._error(line, None, None, problem)
        if careful:  # the reference: no column-wise parsing at all
            frame = pl.DataFrame(schema=FRAME_SCHEMA)
            slow = pl.repeat(True, len(text), dtype=pl.Boolean, eager=True)
            numbers = pl.repeat("", len(text), dtype=pl.String, eager=True)
        else:
            frame, slow = ColumnParser(self, idx, [i for i, _ in extra_cols]).parse(text)
            numbers = frame.get_column("number")
        good = frame.filter(~slow) if not careful else frame
        if slow.any():
            at = slow.arg_true()
            read_carefully: list[Invoice] = []
            stripped = []
            rows = text[at]
            for line, values in zip(
                rows.get_column(LINE).to_list(), rows.drop(LINE).iter_rows(), strict=True
            ):
                stripped.append(values[idx["number"]].strip())
                invoice = self._invoice(line, list(values), idx, extra_cols)
                if invoice is not None:
                    read_carefully.append(invoice)
            if read_carefully:
                good = pl.concat([good, frame_from_invoices(read_carefully)]).sort("line")
            numbers = numbers.scatter(at, stripped)  # the number as Python strips it
        return self._without_duplicates(good, numbers, text.get_column(LINE))

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

    def _invoice(self, line, values, idx, extra_cols) -> Invoice | None:
        p = self.parser
        bad = False
        number = values[idx["number"]].strip()
        customer_id = values[idx["customer_id"]].strip()
        for field, value, what in (
            ("number", number, "invoice number"),
            ("customer_id", customer_id, "customer id"),
        ):
            if not value:
                self._error(line, field, "", f"empty {what}; every row needs one")
                bad = True
            elif has_control_character(value):
                self._error(
                    line,
                    field,
                    value,
                    f"the {what} contains a control character "
                    "(a NUL, tab or line break); fix it in the source",
                )
                bad = True
        customer = self.customers.get(customer_id)

        def get(field: str) -> str:
            i = idx.get(field)
            return "" if i is None else values[i].strip()

        def parse(field: str, convert, required: bool = False):
            """The field's value through `convert`; a bad value is reported, the row held."""
            nonlocal bad
            raw = get(field)
            if not raw and not required:
                return None
            try:
                return convert(raw)
            except ValueError as exc:
                self._error(line, field, raw, str(exc))
                bad = True
                return None

        issue_date = parse("issue_date", p.date)
        if issue_date is None and not bad:
            self._error(line, "issue_date", "", "empty issue date; every row needs one")
            bad = True
        due_date = parse("due_date", p.date)
        paid_date = parse("paid_date", p.date)
        raw_terms = get("terms")
        if due_date is None and issue_date is not None and not (bad and get("due_date")):
            terms_text = raw_terms or (customer.terms if customer and customer.terms else None)
            try:
                terms = self._terms_for(terms_text) if terms_text else self.default_terms
            except ValueError as exc:
                self._error(line, "terms", raw_terms, str(exc))
                terms, bad = None, True
            if terms is not None:
                due_date = terms.due_date(issue_date)
            elif not bad:
                self._error(
                    line,
                    "due_date",
                    "",
                    "no due date and no payment terms: add a "
                    "due_date or terms column, or set terms: under company: in arflow.yaml",
                )
                bad = True
        elif raw_terms:
            try:
                self._terms_for(raw_terms)
            except ValueError as exc:
                self._error(line, "terms", raw_terms, str(exc))
                bad = True
        if due_date is not None and issue_date is not None and due_date < issue_date:
            self._error(
                line,
                "due_date",
                get("due_date") or None,
                f"due date {due_date} is before the issue date {issue_date}; fix one of them",
            )
            bad = True

        amount = parse("amount", p.money, required=True)
        balance = parse("balance", p.money)

        currency = get("currency").upper() or (
            customer.currency if customer and customer.currency else self.default_currency
        )
        if len(currency) != 3 or not currency.isalpha():
            self._error(
                line,
                "currency",
                get("currency"),
                "not an ISO 4217 currency code such as USD or EUR",
            )
            bad = True
        raw = get("status")
        status = self._status.get(raw.casefold())
        if status is None:
            mapped = ", ".join(INVOICE_STATUSES)
            self._error(
                line,
                "status",
                raw,
                f"unknown status {raw!r}: use {mapped}, or map it "
                f"with status_map: {{{raw}: open}} under invoices: in arflow.yaml",
            )
            bad = True

        emails, phone, problems = p.contacts(get("email"), get("phone"))
        for column, raw, message in problems:
            self._error(line, column, raw, message)
        if bad:
            return None
        tags = get("tags")
        name = get("customer_name")
        assert status is not None  # a row without a known status was held back (`bad`)
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
            product=self._intern(get("product")) or None,
            location=self._intern(get("location")) or None,
            department=self._intern(get("department")) or None,
            segment=self._intern(get("segment")) or None,
            tags=split_tags(tags) if tags else (),
        )
        if extra_cols:
            invoice.extra_names = self._extra_names
            invoice.extra_values = tuple(values[i] for i, _ in extra_cols)
        return invoice
