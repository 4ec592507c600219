"""The fast path of the invoice parser: clean rows a block at a time, column by column."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from itertools import repeat
from typing import TYPE_CHECKING

from arflow.calendar import Terms
from arflow.ledger import Invoice
from arflow.sources.rows import split_tags
from arflow.sources.values import PLAIN_AMOUNT

if TYPE_CHECKING:
    from arflow.sources.invoices import InvoiceBuilder


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
                with contextlib.suppress(ValueError):  # cached as the row's error
                    self.b._terms_for(text)

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
        out = [Decimal(raw) if ok else None for raw, ok in zip(col, oks, strict=True)]
        slow.update(k for k, ok in enumerate(oks) if not ok and (col[k] or not optional))
        return out

    def _by_value(self, col, convert) -> list:
        """`convert` once per distinct value of the column, mapped back onto its rows."""
        found = {raw: convert(raw) for raw in set(col)}
        return list(map(found.__getitem__, col))

    def _text(self, col) -> list:
        stripped = list(map(str.strip, col))
        return list(map(self.strings, stripped, stripped))

    def parse(self, lines: Sequence[int], rows: list[list[str]],
              numbers: list[str]) -> tuple[list, set[int]]:
        idx, b, n = self.idx, self.b, len(rows)
        cols = list(zip(*rows, strict=True))

        def get(name: str) -> tuple[str, ...]:  # callers check `name in idx` first
            return cols[idx[name]]

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
            slow.update(k for k, (d, i) in enumerate(zip(due, issue, strict=True))
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
                        for c, cid in zip(currency, cids, strict=True)]
        status: Iterable[str | None]
        if "status" in idx:
            col = get("status")
            status = self._by_value(col, lambda raw: b._status.get(raw.strip().casefold()))
            self._rows_with(col, {raw for raw in set(col)
                                  if b._status.get(raw.strip().casefold()) is None}, slow)
        else:
            status = repeat("open")
        emails: list[tuple[str, ...]] = [()] * n
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
            emails = [good.get(raw, ()) for raw in col]
        phones: list[str | None] = [None] * n
        if "phone" in idx:
            col = get("phone")
            numbers_of: dict[str, str | None] = {}
            bad_phones: set[str] = set()
            for raw in set(col):
                try:
                    numbers_of[raw] = b.parser.phone(raw) if raw.strip() else None
                except ValueError:
                    numbers_of[raw] = None
                    bad_phones.add(raw)
            self._rows_with(col, bad_phones, slow)
            phones = list(map(numbers_of.__getitem__, col))
        free = [self._text(get(f)) if f in idx else repeat(None)
                for f in ("customer_name", "product", "location", "department", "segment")]
        tags = self._by_value(get("tags"), lambda raw: split_tags(raw) if raw else ()) \
            if "tags" in idx else repeat(())
        extras: Iterable[tuple[str, ...]]
        names: Iterable[tuple[str, ...]]
        if self.extra_idx:
            extras = list(zip(*(cols[i] for i in self.extra_idx), strict=True))
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
            texts = [t or by_customer.get(cid) or "" for t, cid in zip(terms, cids, strict=True)]
        else:
            texts = [t or "" for t in terms]
        dues, terms_cache = self.dues, b._terms
        for key in set(zip(texts, issue, strict=True)).difference(dues):
            text, day = key
            if day is None:
                continue
            rule = terms_cache.get(text) if text else b.default_terms
            if isinstance(rule, Terms):
                dues[key] = rule.due_date(day)
        computed = list(map(dues.get, zip(texts, issue, strict=True)))
        if None not in computed:  # the usual case: every row's terms gave a date
            due[:] = computed if due.count(None) == len(due) else \
                [c if d is None else d for d, c in zip(due, computed, strict=True)]
            return
        for k, (d, i) in enumerate(zip(due, issue, strict=True)):
            if d is None and i is not None:
                if computed[k] is None:
                    slow.add(k)  # unseen or bad terms, or no terms at all
                else:
                    due[k] = computed[k]
