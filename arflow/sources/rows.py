"""Rows of raw strings → invoices and customers, holding back and reporting every bad row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from arflow.calendar import Terms, parse_terms
from arflow.config import CUSTOMER_FIELDS, INVOICE_FIELDS, INVOICE_STATUSES, SourceConfig
from arflow.errors import ArflowError, RowError
from arflow.ledger import Customer, Invoice
from arflow.sources.values import _PLAIN_AMOUNT, ValueParser, truthy

Rows = Iterable[tuple[int, Sequence[str]]]
INVOICE_REQUIRED = ("number", "customer_id", "issue_date", "amount")


def column_index(header: Sequence[str], source: SourceConfig, fields: Sequence[str],
                 required: Sequence[str], display: str, setting: str) -> dict[str, int]:
    """Where each canonical field sits: `columns:` mapping first, else a header of that name."""
    by_name = {}
    for i, name in enumerate(header):
        by_name.setdefault(name.strip().casefold(), i)
    index = {}
    for field in fields:
        wanted = source.columns.get(field, field)
        i = by_name.get(wanted.strip().casefold())
        if i is None and field in source.columns:
            raise ArflowError(
                f"{display}: columns: maps {field} to {wanted!r}, but there is no such column "
                f"(columns are: {', '.join(header)}); fix columns: under {setting}: in arflow.yaml")
        if i is not None:
            index[field] = i
    missing = [f for f in required if f not in index]
    if missing:
        raise ArflowError(
            f"{display}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (columns are: {', '.join(header)}); rename the column or map it "
            f"with columns: {{{missing[0]}: YOUR_HEADER}} under {setting}: in arflow.yaml")
    return index


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
        self._strings: dict[str, str] = {}
        self._idx: dict[str, int] = {}
        self._header: Sequence[str] = ()
        self._extra_names: tuple[str, ...] = ()

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

    def build(self, header: Sequence[str], rows: Rows) -> list[Invoice]:
        idx = column_index(header, self.source, INVOICE_FIELDS, INVOICE_REQUIRED, self.display,
                           "invoices")
        self._idx, self._header = idx, header
        used = set(idx.values())
        extra_cols = [(i, h) for i, h in enumerate(header) if i not in used and h.strip()]
        self._extra_names = tuple(h for _, h in extra_cols)
        fast = self._fast_parser(idx, [i for i, _ in extra_cols])
        width = len(header)
        i_number = idx["number"]
        invoices: list[Invoice] = []
        first_line: dict[str, int] = {}
        duplicates: dict[str, list[int]] = {}
        for line, values in rows:
            if len(values) != width:
                if not any(v.strip() for v in values):
                    continue  # a blank line is not a row
                self._error(line, None, None, f"row has {len(values)} values but the header has "
                            f"{width} columns; fix the quoting or the delimiter on this line")
                continue
            number = values[i_number].strip()
            if number:
                seen = first_line.setdefault(number, line)
                if seen != line:
                    duplicates.setdefault(number, [seen]).append(line)
            invoice = fast(line, values) or self._invoice(line, values, idx, extra_cols)
            if invoice is not None:
                invoices.append(invoice)
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

    def _fast_parser(self, idx: dict[str, int], extra_idx: list[int]):
        """A row parser for the common, clean row; it returns None for anything unusual, and
        `_invoice` then takes the row and says exactly what is wrong with it."""
        col = lambda name: idx.get(name, -1)  # noqa: E731
        i_num, i_cid, i_issue, i_amount = (idx[f] for f in INVOICE_REQUIRED)
        i_due, i_paid, i_terms, i_balance, i_currency, i_status = map(
            col, ("due_date", "paid_date", "terms", "balance", "currency", "status"))
        i_email, i_phone, i_name, i_tags = map(col, ("email", "phone", "customer_name", "tags"))
        free = [(name, col(name)) for name in ("product", "location", "department", "segment")]
        p = self.parser
        dates = p._dates
        plain = _PLAIN_AMOUNT.fullmatch if self.source.decimal == "." else (lambda _: None)
        statuses, terms_cache, customers = self._status, self._terms, self.customers
        intern, default_terms, default_currency = self._intern, self.default_terms, self.default_currency
        good_emails: dict[str, tuple[str, ...]] = {}
        extra_names = self._extra_names

        def day(raw: str):
            found = dates.get(raw)
            if found is None:
                try:
                    return p.date(raw)
                except ValueError:
                    return None
            return None if found.__class__ is str else found

        def fast(line: int, values: list[str]) -> Invoice | None:
            number = values[i_num].strip()
            cid = values[i_cid].strip()
            raw = values[i_amount]
            if not number or not cid or not plain(raw):
                return None
            amount = Decimal(raw)
            issue = day(values[i_issue])
            if issue is None:
                return None
            balance = None
            if i_balance >= 0 and (raw := values[i_balance]):
                if not plain(raw):
                    return None
                balance = Decimal(raw)
            paid = None
            if i_paid >= 0 and (raw := values[i_paid]):
                if (paid := day(raw)) is None:
                    return None
            customer = customers.get(cid)
            raw_terms = values[i_terms].strip() if i_terms >= 0 else ""
            if raw_terms:
                terms = terms_cache.get(raw_terms)
                if terms is None or terms.__class__ is str:
                    return None
            if i_due >= 0 and (raw := values[i_due]):
                due = day(raw)
            else:
                if not raw_terms:
                    if customer is not None and customer.terms:
                        terms = terms_cache.get(customer.terms)
                        if terms is None or terms.__class__ is str:
                            return None
                    else:
                        terms = default_terms
                if terms is None:
                    return None
                due = terms.due_date(issue)
            if due is None or due < issue:
                return None
            currency = values[i_currency].strip().upper() if i_currency >= 0 else ""
            if not currency:
                currency = (customer.currency if customer is not None and customer.currency
                            else default_currency)
            elif len(currency) != 3 or not currency.isalpha():
                return None
            status = statuses.get(values[i_status].strip().casefold()) if i_status >= 0 else "open"
            if status is None:
                return None
            emails = ()
            if i_email >= 0 and (raw := values[i_email]):
                emails = good_emails.get(raw)
                if emails is None:
                    emails, bad = p.emails(raw)
                    if bad:
                        return None
                    good_emails[raw] = emails
            phone = None
            if i_phone >= 0 and (raw := values[i_phone].strip()):
                try:
                    phone = p.phone(raw)
                except ValueError:
                    return None
            name = values[i_name].strip() if i_name >= 0 else ""
            invoice = Invoice(number, intern(cid), issue, due, amount, balance, paid,
                              intern(currency), status, line,
                              intern(name) if name else None, emails, phone,
                              intern(raw_terms) if raw_terms else None)
            for field, i in free:
                if i >= 0 and (raw := values[i].strip()):
                    setattr(invoice, field, intern(raw))
            if i_tags >= 0 and (raw := values[i_tags]):
                invoice.tags = tuple(t.strip() for t in raw.replace(";", ",").split(",") if t.strip())
            if extra_idx:
                invoice.extra_names = extra_names
                invoice.extra_values = tuple([values[i] for i in extra_idx])
            return invoice

        return fast

    def _error(self, line: int, column: str | None, value: str | None, message: str) -> None:
        self.errors.append(RowError(self.display, line, self._header_name(column), value, message))

    def _header_name(self, column: str | None) -> str | None:
        # name the column as the user's file spells it (`Due Date`, not `due_date`)
        if column is None or column not in self._idx:
            return column
        return self._header[self._idx[column]].strip()

    def _intern(self, text: str) -> str:
        return self._strings.setdefault(text, text)

    def _invoice(self, line, values, idx, extra_cols) -> Invoice | None:
        p = self.parser
        bad = False
        number = values[idx["number"]].strip()
        if not number:
            self._error(line, "number", "", "empty invoice number; every row needs one")
            bad = True
        customer_id = values[idx["customer_id"]].strip()
        if not customer_id:
            self._error(line, "customer_id", "", "empty customer id; every row needs one")
            bad = True
        customer = self.customers.get(customer_id)

        def get(field: str) -> str:
            i = idx.get(field)
            return "" if i is None else values[i].strip()

        def parse_date(field: str) -> date | None:
            nonlocal bad
            raw = get(field)
            if not raw:
                return None
            try:
                return p.date(raw)
            except ValueError as exc:
                self._error(line, field, raw, str(exc))
                bad = True
                return None

        issue_date = parse_date("issue_date")
        if issue_date is None and not bad:
            self._error(line, "issue_date", "", "empty issue date; every row needs one")
            bad = True
        due_date = parse_date("due_date")
        paid_date = parse_date("paid_date")
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
                        f"due date {due_date} is before the issue date {issue_date}; fix one of them")
            bad = True

        amount = balance = None
        raw = values[idx["amount"]]
        try:
            amount = p.money(raw)
        except ValueError as exc:
            self._error(line, "amount", raw.strip(), str(exc))
            bad = True
        raw = get("balance")
        if raw:
            try:
                balance = p.money(raw)
            except ValueError as exc:
                self._error(line, "balance", raw, str(exc))
                bad = True

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

        emails: tuple[str, ...] = ()
        raw = get("email")
        if raw:
            emails, email_errors = p.emails(raw)
            for message in email_errors:
                self._error(line, "email", raw, message)
        phone = None
        raw = get("phone")
        if raw:
            try:
                phone = p.phone(raw)
            except ValueError as exc:
                self._error(line, "phone", raw, str(exc))
        if bad:
            return None
        tags = get("tags")
        name = get("customer_name")
        invoice = Invoice(
            number=number, customer_id=self._intern(customer_id), issue_date=issue_date,
            due_date=due_date, amount=amount, balance=balance, paid_date=paid_date,
            currency=self._intern(currency), status=status, line=line,
            customer_name=self._intern(name) if name else None, email=emails, phone=phone,
            terms=self._intern(raw_terms) if raw_terms else None,
            product=self._intern(get("product")) or None,
            location=self._intern(get("location")) or None,
            department=self._intern(get("department")) or None,
            segment=self._intern(get("segment")) or None,
            tags=tuple(t.strip() for t in tags.replace(";", ",").split(",") if t.strip()) if tags
            else ())
        if extra_cols:
            invoice.extra_names = self._extra_names
            invoice.extra_values = tuple(values[i] for i, _ in extra_cols)
        return invoice


def build_customers(header: Sequence[str], rows: Rows, source: SourceConfig, display: str,
                    parser: ValueParser) -> tuple[dict[str, Customer], list[RowError]]:
    """The customers file or table; a bad or duplicated row is reported and held back."""

    idx = column_index(header, source, CUSTOMER_FIELDS, ("customer_id",), display, "customers")
    used = set(idx.values())
    extra_cols = [(i, h) for i, h in enumerate(header) if i not in used and h.strip()]
    errors: list[RowError] = []
    found: dict[str, Customer] = {}
    lines: dict[str, list[int]] = defaultdict(list)
    width = len(header)
    for line, values in rows:
        if len(values) != width:
            if any(v.strip() for v in values):
                errors.append(RowError(display, line, None, None, f"row has {len(values)} values "
                                       f"but the header has {width} columns"))
            continue

        def get(field: str) -> str:
            i = idx.get(field)
            return "" if i is None else values[i].strip()

        cid = get("customer_id")
        if not cid:
            errors.append(RowError(display, line, "customer_id", "", "empty customer id"))
            continue
        lines[cid].append(line)
        bad = False
        emails: tuple[str, ...] = ()
        if get("email"):
            emails, bad_emails = parser.emails(get("email"))
            errors.extend(RowError(display, line, "email", get("email"), m) for m in bad_emails)
        phone = None
        if get("phone"):
            try:
                phone = parser.phone(get("phone"))
            except ValueError as exc:
                errors.append(RowError(display, line, "phone", get("phone"), str(exc)))
        try:
            paused = truthy(get("paused"))
        except ValueError as exc:
            errors.append(RowError(display, line, "paused", get("paused"), str(exc)))
            bad = True
        if get("terms"):
            try:
                parse_terms(get("terms"))
            except ValueError as exc:
                errors.append(RowError(display, line, "terms", get("terms"), str(exc)))
                bad = True
        currency = get("currency").upper()
        if currency and (len(currency) != 3 or not currency.isalpha()):
            errors.append(RowError(display, line, "currency", get("currency"),
                                   "not an ISO 4217 currency code such as USD or EUR"))
            bad = True
        if bad:
            continue
        found[cid] = Customer(
            customer_id=cid, name=get("name") or None, email=emails, phone=phone,
            workflow=get("workflow") or None, specialist=get("specialist") or None,
            parent_id=get("parent_id") or None, currency=currency or None,
            language=get("language") or None, timezone=get("timezone") or None,
            terms=get("terms") or None, segment=get("segment") or None, paused=paused,
            extra={h: values[i] for i, h in extra_cols} or None)
    for cid, at in lines.items():
        if len(at) > 1:
            found.pop(cid, None)
            for line in at:
                errors.append(RowError(display, line, "customer_id", cid,
                                       f"customer {cid!r} appears on lines {', '.join(map(str, at))}; "
                                       "all copies are held back, keep one row per customer"))
    return found, errors


def merge_customers(invoices: list[Invoice], from_file: dict[str, Customer]) -> dict[str, Customer]:
    """One Customer per id: customers-file values win, invoice rows fill what the file leaves empty."""
    customers = dict(from_file)
    for inv in invoices:
        c = customers.get(inv.customer_id)
        if c is None:
            c = customers[inv.customer_id] = Customer(inv.customer_id)
        if c.name is None and inv.customer_name:
            c.name = inv.customer_name
        if not c.email and inv.email:
            c.email = inv.email
        if c.phone is None and inv.phone:
            c.phone = inv.phone
        if c.segment is None and inv.segment:
            c.segment = inv.segment
    return customers
