"""Rows of raw strings → invoices and customers, holding back and reporting every bad row."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal
from itertools import chain, repeat
from operator import attrgetter, itemgetter

from arflow.calendar import Terms, parse_terms
from arflow.config import CUSTOMER_FIELDS, INVOICE_FIELDS, INVOICE_STATUSES, SourceConfig
from arflow.errors import ArflowError, RowError
from arflow.ledger import Customer, Invoice
from arflow.sources.csvfile import BadRow, Blocks
from arflow.sources.values import PLAIN_AMOUNT, ValueParser, truthy

INVOICE_REQUIRED = ("number", "customer_id", "issue_date", "amount")


def _tags(raw: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in raw.replace(";", ",").split(",") if t.strip())


def shape_problem(values: Sequence[str], width: int) -> str | None:
    """Why a row cannot be read as `width` values ("" for a blank line, None when fine)."""
    if isinstance(values, BadRow):
        return values.message
    if len(values) == width:
        return None
    if not any(v.strip() for v in values):
        return ""  # a blank line is not a row
    message = (f"row has {len(values)} values but the header has {width} columns; fix the "
               "quoting or the delimiter on this line")
    swallowed = sum(v.rstrip("\r\n").count("\n") for v in values)
    if swallowed:
        message += (f" (the next {swallowed} line{'s' if swallowed > 1 else ''} were read into "
                    "this row: look for an unclosed quote)")
    return message


def _control_character(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def column_index(header: Sequence[str], source: SourceConfig, fields: Sequence[str],
                 required: Sequence[str], display: str, setting: str) -> dict[str, int]:
    """Where each canonical field sits: `columns:` mapping first, else a header of that name."""
    by_name: dict[str, int] = {}
    twice: set[str] = set()
    for i, name in enumerate(header):
        key = name.strip().casefold()
        if key in by_name:
            twice.add(key)
        by_name.setdefault(key, i)
    index = {}
    for field in fields:
        wanted = source.columns.get(field, field)
        if wanted.strip().casefold() in twice:
            raise ArflowError(f"{display}: the header has two {wanted!r} columns; arflow cannot "
                              "tell which one holds the " + field.replace("_", " ") +
                              ": rename one of them")
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
                for line, values in zip(block_lines, block):
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
            elif _control_character(value):
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
                        f"due date {due_date} is before the issue date {issue_date}; fix one of them")
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
            tags=_tags(tags) if tags else ())
        if extra_cols:
            invoice.extra_names = self._extra_names
            invoice.extra_values = tuple(values[i] for i, _ in extra_cols)
        return invoice


def build_customers(header: Sequence[str], blocks: Blocks, source: SourceConfig, display: str,
                    parser: ValueParser) -> tuple[dict[str, Customer], list[RowError]]:
    """The customers file or table; a bad or duplicated row is reported and held back."""

    idx = column_index(header, source, CUSTOMER_FIELDS, ("customer_id",), display, "customers")
    used = set(idx.values())
    extra_cols = [(i, h) for i, h in enumerate(header) if i not in used and h.strip()]
    errors: list[RowError] = []

    def error(line: int, column: str | None, value: str | None, message: str) -> None:
        name = header[idx[column]].strip() if column in idx else column
        errors.append(RowError(display, line, name, value, message))

    found: dict[str, Customer] = {}
    lines: dict[str, list[int]] = defaultdict(list)
    width = len(header)
    for line, values in chain.from_iterable(zip(at, rows) for at, rows in blocks):
        problem = shape_problem(values, width)
        if problem is not None:
            if problem:
                error(line, None, None, problem)
            continue

        def get(field: str) -> str:
            i = idx.get(field)
            return "" if i is None else values[i].strip()

        cid = get("customer_id")
        if not cid or _control_character(cid):
            error(line, "customer_id", cid, "empty customer id; every row needs one" if not cid
                  else "the customer id contains a control character; fix it in the source")
            continue
        lines[cid].append(line)
        bad = False
        emails, phone, problems = parser.contacts(get("email"), get("phone"))
        for column, raw, message in problems:
            error(line, column, raw, message)
        try:
            paused = truthy(get("paused"))
        except ValueError as exc:
            error(line, "paused", get("paused"), str(exc))
            bad = True
        if get("terms"):
            try:
                parse_terms(get("terms"))
            except ValueError as exc:
                error(line, "terms", get("terms"), str(exc))
                bad = True
        currency = get("currency").upper()
        if currency and (len(currency) != 3 or not currency.isalpha()):
            error(line, "currency", get("currency"),
                  "not an ISO 4217 currency code such as USD or EUR")
            bad = True
        if bad:
            continue
        found[cid] = Customer(
            customer_id=cid, name=get("name") or None, email=emails, phone=phone,
            workflow=get("workflow") or None, specialist=get("specialist") or None,
            parent_id=get("parent_id") or None, currency=currency or None,
            language=get("language") or None, timezone=get("timezone") or None,
            terms=get("terms") or None, segment=get("segment") or None, paused=paused,
            extra={h: values[i] for i, h in extra_cols} or None, line=line)
    for cid, at in lines.items():
        if len(at) > 1:
            found.pop(cid, None)
            for line in at:
                error(line, "customer_id", cid, f"customer {cid!r} appears on lines "
                      f"{', '.join(map(str, at))}; all copies are held back, keep one row per "
                      "customer")
    return found, errors


def merge_customers(invoices: list[Invoice], from_file: dict[str, Customer],
                    columns: Collection[str]) -> dict[str, Customer]:
    """One Customer per id: customers-file values win, invoice rows fill what the file leaves
    empty (the first row that has a value gives it). Column by column, and only the `columns`
    the invoice source has: most carry no contact columns at all."""
    customers = dict(from_file)
    for cid in dict.fromkeys(map(attrgetter("customer_id"), invoices)):
        if cid not in customers:
            customers[cid] = Customer(cid)
    for column, attribute, empty in (("customer_name", "name", None), ("email", "email", ()),
                                     ("phone", "phone", None), ("segment", "segment", None)):
        if column not in columns:
            continue
        values = list(map(attrgetter(column), invoices))
        if not any(values):
            continue
        for inv, value in zip(invoices, values):
            if value:
                c = customers[inv.customer_id]
                if getattr(c, attribute) == empty:
                    setattr(c, attribute, value)
    return customers


class ColumnParser:
    """The fast path for clean rows, a block at a time and column by column (comprehensions
    and C-level maps over caches instead of per-row Python code). A row with anything unusual
    in it is returned in `slow`, and `InvoiceBuilder._invoice` then says what is wrong."""

    def __init__(self, builder: InvoiceBuilder, idx: dict[str, int], extra_idx: list[int]):
        self.b = builder
        self.idx = idx
        self.extra_idx = extra_idx
        self.plain = PLAIN_AMOUNT.fullmatch if builder.source.decimal == "." else (lambda _: None)
        # a whole column of plain amounts, one per line
        self.plain_column = re.compile(rf"(?:{PLAIN_AMOUNT.pattern}\n)*{PLAIN_AMOUNT.pattern}"
                                       ).fullmatch if builder.source.decimal == "." else None
        self.strings = builder._strings.setdefault
        self.customer_terms = {cid: c.terms for cid, c in builder.customers.items() if c.terms}
        self.default_currency = builder._intern(builder.default_currency)
        self.good_emails: dict[str, tuple[str, ...]] = {}
        self.dues: dict[tuple[str, date], date] = {}
        self._learn_terms(c.terms for c in builder.customers.values())

    def _learn_terms(self, texts) -> None:
        """Parse each terms text once; a bad one is cached as its error (those rows go slow)."""
        for text in set(texts).difference(self.b._terms):
            if text:
                try:
                    self.b._terms_for(text)
                except ValueError:
                    pass

    @staticmethod
    def _rows_with(col, bad: set, slow: set[int]) -> None:
        """Send the rows whose value is in `bad` down the slow path."""
        if bad:
            slow.update(k for k, v in enumerate(col) if v in bad)

    def _dates(self, col, slow: set[int], optional: bool) -> list:
        parser = self.b.parser
        found: dict[str, date | None] = {}
        bad = set()
        for raw in set(col):
            if optional and not raw:
                found[raw] = None
                continue
            try:
                found[raw] = parser.date(raw)
            except ValueError:
                found[raw] = None
                bad.add(raw)
        self._rows_with(col, bad, slow)
        return list(map(found.__getitem__, col))

    def _money(self, col, slow: set[int], optional: bool) -> list:
        if self.plain_column is not None:
            joined = "\n".join(col)
            if joined.count("\n") == len(col) - 1 and self.plain_column(joined):
                return list(map(Decimal, col))  # the usual case: one regex pass, in C
        oks = list(map(self.plain, col))
        out = [Decimal(raw) if ok else None for raw, ok in zip(col, oks)]
        slow.update(k for k, ok in enumerate(oks) if not ok and (col[k] or not optional))
        return out

    def _by_value(self, col, convert) -> list:
        """`convert` once per distinct value of the column, mapped back onto its rows."""
        found = {raw: convert(raw) for raw in set(col)}
        return list(map(found.__getitem__, col))

    def _text(self, col) -> list:
        stripped = list(map(str.strip, col))
        return list(map(self.strings, stripped, stripped))

    def parse(self, lines: list[int], rows: list[list[str]],
              numbers: list[str]) -> tuple[list, set[int]]:
        idx, b, n = self.idx, self.b, len(rows)
        cols = list(zip(*rows))
        get = lambda name: cols[idx[name]] if name in idx else None  # noqa: E731
        slow: set[int] = set()
        strings = self.strings
        cids = self._text(cols[idx["customer_id"]])
        if not (all(numbers) and all(cids) and "".join(numbers).isprintable()
                and "".join(cids).isprintable()):
            slow.update(k for k in range(n) if not numbers[k] or not cids[k]
                        or not numbers[k].isprintable() or not cids[k].isprintable())
        issue = self._dates(cols[idx["issue_date"]], slow, optional=False)
        amount = self._money(cols[idx["amount"]], slow, optional=False)
        balance = self._money(get("balance"), slow, True) if "balance" in idx else repeat(None)
        paid = self._dates(get("paid_date"), slow, True) if "paid_date" in idx else repeat(None)
        terms = self._text(get("terms")) if "terms" in idx else [None] * n
        due = self._dates(get("due_date"), slow, True) if "due_date" in idx else [None] * n
        self._learn_terms(terms)
        self._due_from_terms(cids, issue, terms, due, slow)
        terms_cache = b._terms
        if "due_date" in idx:
            slow.update(k for k, (d, i) in enumerate(zip(due, issue))
                        if d is not None and i is not None and d < i)
        self._rows_with(terms, {t for t in set(terms) if t is not None
                                and terms_cache.get(t).__class__ is not Terms}, slow)
        customers = b.customers
        if "currency" in idx:
            col = get("currency")
            currency = self._by_value(col, lambda raw: strings(v, v) if (v := raw.strip().upper())
                                      else None)
            self._rows_with(col, {raw for raw in set(col) if (c := raw.strip().upper())
                                  and (len(c) != 3 or not c.isalpha())}, slow)
        else:
            currency = [None] * n
        if not all(currency):
            default = self.default_currency
            currency = [c or (customers[cid].currency if cid in customers and
                              customers[cid].currency else default)
                        for c, cid in zip(currency, cids)]
        if "status" in idx:
            col = get("status")
            status = self._by_value(col, lambda raw: b._status.get(raw.strip().casefold()))
            self._rows_with(col, {raw for raw in set(col)
                                  if b._status.get(raw.strip().casefold()) is None}, slow)
        else:
            status = repeat("open")
        emails = [()] * n
        if "email" in idx:
            col = get("email")
            good, bad = self.good_emails, set()
            for raw in set(col).difference(good):
                if raw:
                    found, problems = b.parser.emails(raw)
                    if problems:
                        bad.add(raw)
                        continue
                    good[raw] = found
            self._rows_with(col, bad, slow)
            emails = [good[raw] if raw in good else () for raw in col]
        phones = [None] * n
        if "phone" in idx:
            col = get("phone")
            found, bad = {}, set()
            for raw in set(col):
                try:
                    found[raw] = b.parser.phone(raw) if raw.strip() else None
                except ValueError:
                    found[raw] = None
                    bad.add(raw)
            self._rows_with(col, bad, slow)
            phones = list(map(found.__getitem__, col))
        free = [self._text(get(f)) if f in idx else repeat(None)
                for f in ("customer_name", "product", "location", "department", "segment")]
        tags = self._by_value(get("tags"), lambda raw: _tags(raw) if raw else ()) \
            if "tags" in idx else repeat(())
        if self.extra_idx:
            extras = list(zip(*(cols[i] for i in self.extra_idx)))
            names = repeat(b._extra_names)
        else:
            extras, names = repeat(()), repeat(())
        name, product, location, department, segment = free
        invoices = list(map(Invoice, numbers, cids, issue, due, amount, balance, paid, currency,
                            status, lines, name, emails, phones, terms, product, location,
                            department, segment, tags, names, extras))
        return invoices, slow

    def _due_from_terms(self, cids, issue, terms, due, slow: set[int]) -> None:
        """Fill in the due date of rows without one from their terms (the row's, else the
        customer's, else the company's); a row whose terms cannot say goes slow."""
        b = self.b
        by_customer = self.customer_terms
        if by_customer:
            texts = [t or by_customer.get(cid) or "" for t, cid in zip(terms, cids)]
        else:
            texts = [t or "" for t in terms]
        dues, terms_cache = self.dues, b._terms
        for key in set(zip(texts, issue)).difference(dues):
            text, day = key
            if day is None:
                continue
            rule = terms_cache.get(text) if text else b.default_terms
            if rule is not None and rule.__class__ is not str:
                dues[key] = rule.due_date(day)
        computed = list(map(dues.get, zip(texts, issue)))
        if None not in computed:  # the usual case: every row's terms gave a date
            due[:] = computed if due.count(None) == len(due) else \
                [c if d is None else d for d, c in zip(due, computed)]
            return
        for k, (d, i) in enumerate(zip(due, issue)):
            if d is None and i is not None:
                if computed[k] is None:
                    slow.add(k)  # unseen or bad terms, or no terms at all
                else:
                    due[k] = computed[k]
