"""Rows of raw strings → invoices, holding back and reporting every bad row (SPEC 2.1, 2.4)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from operator import itemgetter

from arflow.calendar import Terms, parse_terms
from arflow.config import INVOICE_FIELDS, INVOICE_STATUSES, SourceConfig
from arflow.errors import RowError
from arflow.ledger import Customer, Invoice
from arflow.sources.columns import ColumnParser
from arflow.sources.csvfile import Blocks
from arflow.sources.rows import column_index, has_control_character, shape_problem, split_tags
from arflow.sources.values import ValueParser

INVOICE_REQUIRED = ("number", "customer_id", "issue_date", "amount")


class InvoiceBuilder:
    """Builds invoices from rows of one source; `errors` collects every rejected value."""

    def __init__(self, source: SourceConfig, display: str, parser: ValueParser,
                 customers: dict[str, Customer], default_currency: str,
                 default_terms: str | None):
        self.source = source
        self.display = display
        self.parser = parser
        self.customers = customers
        self.default_currency = default_currency
        self.default_terms = parse_terms(default_terms) if default_terms else None
        self.errors: list[RowError] = []
        self._terms: dict[str, Terms | str] = {}
        self._status = {"": "open", **{s: s for s in INVOICE_STATUSES},
                        **{k.strip().casefold(): v for k, v in source.status_map.items()}}
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
        idx = column_index(header, self.source, INVOICE_FIELDS, INVOICE_REQUIRED, self.display,
                           "invoices")
        self._idx, self._header = idx, header
        used = set(idx.values())
        extra_cols = [(i, h) for i, h in enumerate(header) if i not in used and h.strip()]
        self._extra_names = tuple(h for _, h in extra_cols)
        fast = ColumnParser(self, idx, [i for i, _ in extra_cols])
        width = len(header)
        i_number = idx["number"]
        invoices: list[Invoice] = []
        seen: set[str] = set()
        duplicated: set[str] = set()
        held: dict[str, list[int]] = {}  # number → lines of held-back rows, to name every copy
        for block_lines, block in blocks:  # parsed column by column, a block at a time
            lines, good = block_lines, block
            if set(map(len, good)) != {width}:  # a BadRow has no values: it lands here too
                lines, good = [], []
                for line, values in zip(block_lines, block, strict=True):
                    problem = shape_problem(values, width)
                    if problem is None:
                        lines.append(line)
                        good.append(values)
                    elif problem:
                        self._error(line, None, None, problem)
                if not good:
                    continue
            numbers = list(map(str.strip, map(itemgetter(i_number), good)))
            fresh = set(numbers)
            if len(fresh) == len(numbers) and seen.isdisjoint(fresh):
                seen |= fresh  # the usual case, decided in C
            else:
                for number in numbers:
                    if number in seen:
                        duplicated.add(number)
                    seen.add(number)
            parsed, slow = fast.parse(lines, good, numbers)
            for k in slow:
                parsed[k] = self._invoice(lines[k], good[k], idx, extra_cols)
                if parsed[k] is None and numbers[k]:
                    held.setdefault(numbers[k], []).append(lines[k])
            invoices.extend(inv for inv in parsed if inv is not None)
        duplicated.discard("")
        duplicates: dict[str, list[int]] = {}
        if duplicated:
            for inv in invoices:
                if inv.number in duplicated:
                    duplicates.setdefault(inv.number, []).append(inv.line)
            for number, lines in held.items():
                if number in duplicated:
                    duplicates.setdefault(number, []).extend(lines)
            for lines in duplicates.values():
                lines.sort()
        if duplicates:
            # SPEC 2.4: every copy of a duplicated number is held back and reported
            for number, lines in duplicates.items():
                for line in lines:
                    others = ", ".join(str(x) for x in lines if x != line)
                    self._error(line, "number", number,
                                f"invoice number {number!r} appears more than once (also on line"
                                f"{'s' if len(lines) > 2 else ''} {others}); all copies are held "
                                "back until the source has one row per invoice")
            invoices = [inv for inv in invoices if inv.number not in duplicates]
        return invoices

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
        for field, value, what in (("number", number, "invoice number"),
                                   ("customer_id", customer_id, "customer id")):
            if not value:
                self._error(line, field, "", f"empty {what}; every row needs one")
                bad = True
            elif has_control_character(value):
                self._error(line, field, value, f"the {what} contains a control character "
                            "(a NUL, tab or line break); fix it in the source")
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
                self._error(line, "due_date", "", "no due date and no payment terms: add a "
                            "due_date or terms column, or set terms: under company: in arflow.yaml")
                bad = True
        elif raw_terms:
            try:
                self._terms_for(raw_terms)
            except ValueError as exc:
                self._error(line, "terms", raw_terms, str(exc))
                bad = True
        if due_date is not None and issue_date is not None and due_date < issue_date:
            self._error(line, "due_date", get("due_date") or None,
                        f"due date {due_date} is before the issue date {issue_date}; "
                        "fix one of them")
            bad = True

        amount = parse("amount", p.money, required=True)
        balance = parse("balance", p.money)

        currency = get("currency").upper() or (customer.currency if customer and customer.currency
                                               else self.default_currency)
        if len(currency) != 3 or not currency.isalpha():
            self._error(line, "currency", get("currency"),
                        "not an ISO 4217 currency code such as USD or EUR")
            bad = True
        raw = get("status")
        status = self._status.get(raw.casefold())
        if status is None:
            mapped = ", ".join(INVOICE_STATUSES)
            self._error(line, "status", raw, f"unknown status {raw!r}: use {mapped}, or map it "
                        f"with status_map: {{{raw}: open}} under invoices: in arflow.yaml")
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
            number=number, customer_id=self._intern(customer_id) or customer_id,
            issue_date=issue_date, due_date=due_date, amount=amount, balance=balance,
            paid_date=paid_date, currency=self._intern(currency) or currency, status=status,
            line=line,
            customer_name=self._intern(name) if name else None, email=emails, phone=phone,
            terms=self._intern(raw_terms) if raw_terms else None,
            product=self._intern(get("product")) or None,
            location=self._intern(get("location")) or None,
            department=self._intern(get("department")) or None,
            segment=self._intern(get("segment")) or None,
            tags=split_tags(tags) if tags else ())
        if extra_cols:
            invoice.extra_names = self._extra_names
            invoice.extra_values = tuple(values[i] for i, _ in extra_cols)
        return invoice
