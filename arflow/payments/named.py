"""The invoices a set of reference tokens names, found in the ledger's columns (issue 32): the
polars expression that stands for `match.names_of` over every invoice number, so a reference
naming an invoice the sources show paid is found without an object per invoice. Held to
`names_of` by a randomised test (`tests/test_payments_match.py`)."""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from arflow.ledger import Invoice, Ledger, invoices_from_frame


def _without_zeros(plain: pl.Expr) -> pl.Expr:
    """`match._plain`'s leading zeros: dropped from a number of digits only (not from "000")."""
    stripped = plain.str.strip_chars_start("0")
    digits = plain.str.contains(r"^[0-9]+$")
    return pl.when(digits & (stripped != "")).then(stripped).otherwise(plain)


def number_names() -> tuple[pl.Expr, pl.Expr]:
    """The two names `names_of` gives an invoice number, as columns: the number without case
    or punctuation (leading zeros dropped when it is digits), and the digits of a number that
    is letters then digits (null otherwise)."""
    lower = pl.col("number").str.to_lowercase()
    whole = _without_zeros(lower.str.replace_all(r"[^0-9a-z]", ""))
    digits = _without_zeros(lower.str.extract(r"^[a-z]+[^a-z0-9]*([0-9]+)$", 1))
    return whole, digits


def named_invoices(ledger: Ledger, tokens: Collection[str]) -> list[Invoice]:
    """The invoices of `ledger` one of `tokens` names (any status), in source order."""
    if not tokens:
        return []
    wanted = list(tokens)
    whole, digits = number_names()
    frame = ledger.frame.filter(whole.is_in(wanted) | digits.is_in(wanted).fill_null(False))
    return invoices_from_frame(frame, ledger.extra_names)
