"""The fast path of the invoice parser: every row of a source at once, column by column, in polars.

Each value is decided by the same `ValueParser` the careful path uses, once per distinct value
(dates, terms, statuses, contacts and unusual amounts repeat), and mapped back onto the column;
plain amounts and canonical email addresses are recognised by one pattern over the column. A row
with anything unusual in it is marked slow, and `InvoiceBuilder._invoice` then reads it row by
row and says what is wrong, so both paths agree value for value (tests/test_sources.py). Both
read by the same `InvoiceRules`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

import polars as pl

from arflow.calendar import Terms
from arflow.ledger import FRAME_SCHEMA, money_text
from arflow.sources.frames import LINE
from arflow.sources.invoice_rules import InvoiceRules
from arflow.sources.rows import split_tags
from arflow.sources.values import AMOUNT_DIGITS, ValueParser

CONTROL = r"[\x00-\x1f\x7f]"
# whitespace to Python's str.strip but not to polars' strip_chars: such rows go the careful way
PYTHON_ONLY_SPACE = r"[\x1c-\x1f]"
_PLAIN_AMOUNT = rf"^[+-]?[0-9]{{1,{AMOUNT_DIGITS}}}(?:\.[0-9]+)?$"
# an address already in the form ValueParser.emails gives it (values._SIMPLE_EMAIL with a
# lower-case domain); every other value goes through ValueParser.emails once
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_CANONICAL_EMAIL = (
    rf"^{_ATOM}(?:\.{_ATOM})*@(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+"
    r"[a-z]{2,63}$"
)
_SPECIAL_USE = ["arpa", "invalid", "local", "localhost", "onion", "test"]


def none_if_empty(values: pl.Series) -> pl.Series:
    return values.set(values == "", None)


_BAD = object()  # a value `convert` refused (in a memo)


def mapped(
    values: pl.Series,
    convert: Callable[[str], object],
    dtype: pl.DataType,
    keep: pl.Series | None = None,
    memo: dict[str, object] | None = None,
) -> tuple[pl.Series, pl.Series]:
    """`convert` once per distinct value (ValueError: a bad value; None: no value), mapped back
    onto the column; with the rows whose value is bad. Rows where `keep` is true are left out
    of the conversion (their result is null). `memo` keeps each value's result for the next
    slice of the same column."""
    distinct = (values if keep is None else values.filter(~keep)).unique().to_list()
    memo = {} if memo is None else memo
    found: dict[str, object] = {}
    bad = []
    for raw in distinct:
        value = memo.get(raw, memo)  # (the memo itself: not known yet)
        if value is memo:
            try:
                value = convert(raw)
            except ValueError:
                value = _BAD
            memo[raw] = value
        if value is _BAD:
            bad.append(raw)
        elif value is not None:
            found[raw] = value
    result = (
        values.replace_strict(list(found), list(found.values()), default=None, return_dtype=dtype)
        if found
        else pl.repeat(None, len(values), dtype=dtype, eager=True).alias(values.name)
    )
    if not bad:
        return result, pl.repeat(False, len(values), dtype=pl.Boolean, eager=True)
    return result, values.is_in(bad)


class ColumnParser:
    """Parses a text frame (see frames.py) into the ledger's frame; rows it cannot vouch for are
    marked slow."""

    def __init__(self, rules: InvoiceRules, idx: dict[str, int], extra_idx: list[int]):
        self.rules = rules
        self.idx = idx
        self.extra_idx = extra_idx
        customers = rules.customers
        self.customer_terms = {cid: c.terms for cid, c in customers.items() if c.terms}
        self.customer_currency = {cid: c.currency for cid, c in customers.items() if c.currency}
        # the frame being parsed, and per row whether it must be read carefully (`parse`)
        self._text = pl.DataFrame()
        self._slow = pl.Series([], dtype=pl.Boolean)
        # each column's values converted so far, by what is written (`mapped`); each due date
        # worked out from terms, by (terms, issue date): a source is parsed a slice at a time
        self._memo: dict[str, dict[str, object]] = defaultdict(dict)
        self._due: dict[tuple[str, date], date | None] = {}

    def parse(self, text: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
        """The typed frame of every row (FRAME_SCHEMA's columns; a slow row's values may be
        anything) and, per row, whether it must be read carefully."""
        self._text = text
        used = [f"c{i}" for i in self.idx.values()]
        self._slow = (
            text.select(pl.any_horizontal(pl.col(used).str.contains(PYTHON_ONLY_SPACE))).to_series()
            if len(text)
            else pl.Series([], dtype=pl.Boolean)
        )
        number, cid = self._stripped("number"), self._stripped("customer_id")
        for ids in (number, cid):
            self._slow |= (ids == "") | ids.str.contains(CONTROL)
        issue = self._dates("issue_date", optional=False)
        due = self._dates("due_date", optional=True)
        paid = self._dates("paid_date", optional=True)
        amount = self._money("amount", optional=False)
        balance = self._money("balance", optional=True)
        terms = self._terms()
        due = self._due_from_terms(cid, issue, terms, due)
        self._slow |= due.is_null() & issue.is_not_null()  # terms that cannot say: careful way
        self._slow |= (due < issue).fill_null(False)
        currency = self._currency(cid)
        status = self._status()
        email, phone = self._contacts()
        frame = pl.DataFrame(
            {
                "number": number,
                "customer_id": cid,
                "issue_date": issue,
                "due_date": due,
                "amount": amount,
                "balance": balance,
                "paid_date": paid,
                "currency": currency,
                "status": status,
                "line": text.get_column(LINE),
                "customer_name": self._free("customer_name"),
                "email": email,
                "phone": phone,
                "terms": terms,
                "product": self._free("product"),
                "location": self._free("location"),
                "department": self._free("department"),
                "segment": self._free("segment"),
                "tags": self._tags(),
                "extra": self._extra(),
            },
            schema=FRAME_SCHEMA,
        )
        return frame, self._slow.fill_null(True)  # (no rule leaves a null; if one did: careful)

    # --- the columns, one at a time --------------------------------------------------------
    def _raw(self, field: str) -> pl.Series:
        return self._text.get_column(f"c{self.idx[field]}")

    def _stripped(self, field: str) -> pl.Series:
        return self._raw(field).str.strip_chars()

    def _empty(self, dtype: pl.DataType) -> pl.Series:
        return pl.repeat(None, len(self._text), dtype=dtype, eager=True)

    def _free(self, field: str) -> pl.Series:
        """A free text column: stripped, empty as null."""
        return (
            none_if_empty(self._stripped(field)) if field in self.idx else self._empty(pl.String())
        )

    def _dates(self, field: str, optional: bool) -> pl.Series:
        if field not in self.idx:
            return self._empty(pl.Date())
        parser = self.rules.parser
        found, bad = mapped(
            self._raw(field),
            lambda v: None if optional and not v.strip() else parser.date(v),
            pl.Date(),
            memo=self._memo[field],
        )
        self._slow |= bad
        return found

    def _money(self, field: str, optional: bool) -> pl.Series:
        """Amounts as the ledger's text: a plain amount as it is, the others through
        `ValueParser.money`, once each."""
        if field not in self.idx:
            return self._empty(pl.String())
        parser = self.rules.parser
        values = self._raw(field)
        plain = (
            values.str.contains(_PLAIN_AMOUNT)
            if self.rules.source.decimal == "."
            else pl.repeat(False, len(values), dtype=pl.Boolean, eager=True)
        )
        other, bad = mapped(
            values,
            lambda v: None if optional and not v.strip() else money_text(parser.money(v.strip())),
            pl.String(),
            keep=plain,
            memo=self._memo[field],
        )
        self._slow |= bad
        return values.zip_with(plain, other)

    def _terms(self) -> pl.Series:
        """The terms column as written (null when empty); rows with terms that say none are
        slow."""
        if "terms" not in self.idx:
            return self._empty(pl.String())
        terms = none_if_empty(self._stripped("terms"))
        rules = self.rules
        _, bad = mapped(
            terms.fill_null(""),
            lambda v: bool(rules.terms(v)) if v else None,
            pl.Boolean(),
            memo=self._memo["terms"],
        )
        self._slow |= bad
        return terms

    def _currency(self, cid: pl.Series) -> pl.Series:
        """The row's currency, else its customer's, else the company's."""
        if "currency" in self.idx:
            given = self._stripped("currency").str.to_uppercase()
            self._slow |= (given != "") & ~given.str.contains(r"^[A-Z]{3}$")
        else:
            given = pl.repeat("", len(self._text), dtype=pl.String, eager=True)
        fallback = cid.replace_strict(
            self.customer_currency, default=self.rules.default_currency, return_dtype=pl.String
        )
        return fallback.zip_with(given == "", given)

    def _status(self) -> pl.Series:
        statuses = self.rules.statuses
        if "status" not in self.idx:
            # no status column: every row has the status of an empty one (`status_map` may
            # say what that is)
            return pl.repeat(statuses[""], len(self._text), dtype=pl.String, eager=True)
        status, bad = mapped(
            self._raw("status"),
            lambda v: statuses.get(v.strip().casefold()) or _unknown(),
            pl.String(),
            memo=self._memo["status"],
        )
        self._slow |= bad
        return status

    def _contacts(self) -> tuple[pl.Series, pl.Series]:
        """The email (lists of addresses) and phone (E.164) columns."""
        parser = self.rules.parser
        email = self._empty(pl.List(pl.String()))
        if "email" in self.idx:
            email, bad = email_column(self._stripped("email"), parser, self._memo["email"])
            self._slow |= bad
        phone = self._empty(pl.String())
        if "phone" in self.idx:
            phone, bad = phone_column(self._stripped("phone"), parser, self._memo["phone"])
            self._slow |= bad
        return email, phone

    def _tags(self) -> pl.Series:
        if "tags" not in self.idx:
            return self._empty(pl.List(pl.String()))
        tags, _ = mapped(
            self._stripped("tags"),
            lambda v: list(split_tags(v)) or None,
            pl.List(pl.String()),
            memo=self._memo["tags"],
        )
        return tags

    def _extra(self) -> pl.Series:
        """The source's other columns, as one list per row."""
        if not self.extra_idx:
            return self._empty(pl.List(pl.String()))
        return self._text.select(pl.concat_list([f"c{i}" for i in self.extra_idx])).to_series()

    def _due_from_terms(
        self, cid: pl.Series, issue: pl.Series, terms: pl.Series, due: pl.Series
    ) -> pl.Series:
        """The due date of rows without one, from their terms (the row's, else the customer's,
        else the company's); null where the terms cannot say (those rows go the careful way)."""
        need = due.is_null() & issue.is_not_null()
        if not need.any():
            return due
        rules = self.rules
        texts = terms.fill_null(
            cid.replace_strict(self.customer_terms, default="", return_dtype=pl.String)
        )
        pairs = pl.DataFrame({"t": texts, "i": issue})
        keys = pairs.filter(need).unique()
        computed: list = []
        for text, day in keys.iter_rows():
            if (text, day) not in self._due:
                try:
                    rule = rules.terms(text) if text else rules.default_terms
                except ValueError:
                    rule = None
                self._due[text, day] = rule.due_date(day) if isinstance(rule, Terms) else None
            computed.append(self._due[text, day])
        lookup = keys.with_columns(pl.Series("d", computed, dtype=pl.Date))
        found = pairs.join(
            lookup, on=["t", "i"], how="left", maintain_order="left", nulls_equal=True
        ).get_column("d")
        return due.fill_null(found)


def email_column(
    given: pl.Series, parser: ValueParser, memo: dict[str, object] | None = None
) -> tuple[pl.Series, pl.Series]:
    """A stripped email column as lists of addresses, and the rows with a bad address. An
    address already in canonical form is taken as it is; the other values go through
    `ValueParser.emails`, once each."""
    local = given.str.split("@").list.first().str.len_chars()
    canonical = (
        given.str.contains(_CANONICAL_EMAIL)
        & (given.str.len_chars() <= 254)
        & (local <= 64)
        & ~given.str.extract(r"\.([a-z]+)$").is_in(_SPECIAL_USE)
    ).fill_null(False)
    others, bad = mapped(
        given,
        lambda v: _emails(parser, v) if v else None,
        pl.List(pl.String()),
        keep=canonical,
        memo=memo,
    )
    return given.to_frame("e").select(pl.concat_list("e")).to_series().zip_with(
        canonical, others
    ), bad


def phone_column(
    given: pl.Series, parser: ValueParser, memo: dict[str, object] | None = None
) -> tuple[pl.Series, pl.Series]:
    """A stripped phone column in E.164 form, and the rows with a bad number; as given (empty as
    null) when the parser leaves phones to be checked when a message needs them."""
    if not parser.checks_phones:
        return none_if_empty(given), pl.repeat(False, len(given), dtype=pl.Boolean, eager=True)
    return mapped(given, lambda v: parser.phone(v) if v else None, pl.String(), memo=memo)


def _unknown() -> str:
    raise ValueError("unknown status")


def _emails(parser: ValueParser, raw: str) -> list[str]:
    found, problems = parser.emails(raw)
    if problems:
        raise ValueError(problems[0])
    return list(found)
