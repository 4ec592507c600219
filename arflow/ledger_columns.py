"""The ledger's rules in columns (SPEC 2.1): polars filters that stand for `Invoice.is_open` and
`Invoice.owed` over the ledger's frame, each held to its rule by tests (`tests/test_rules.py`,
the columnar planner's randomised test)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

NOT_CHASED = frozenset({"draft", "paid", "void"})
NOT_OWED = frozenset({"draft", "void"})  # documents that add nothing to a balance
# money in columns, for the open-invoice filter only: 15 integer digits (AMOUNT_DIGITS) and up to
# 20 decimals fit polars' 38-digit Decimal exactly; a value with more decimals is always kept
_SCALE = 20
_MONEY = pl.Decimal(38, _SCALE)


def may_be_open(as_of: date, min_balance: Decimal) -> pl.Expr:
    """`Invoice.is_open` in columns, as a filter that keeps every invoice that may be open on
    `as_of` (a balance too precise for the column type is kept too): the rule itself stays
    `Invoice.is_open`, applied to the objects of the rows this keeps."""
    when = (
        may_owe(as_of) & (pl.col("issue_date") <= as_of) & ~pl.col("status").is_in(list(NOT_CHASED))
    )
    if not money_fits(min_balance):
        return when  # a tolerance the column type cannot hold exactly: the rule decides alone
    balance = pl.coalesce(pl.col("balance"), pl.col("amount"))
    exact = balance.cast(_MONEY, strict=False)
    return when & (
        exact.is_null()
        | (exact > pl.lit(min_balance, _MONEY))
        | (balance.str.split(".").list.get(1, null_on_oob=True).str.len_chars() > _SCALE)
    )


def surely_open(as_of: date, min_balance: Decimal) -> pl.Expr:
    """The rows `Invoice.is_open` surely holds open on `as_of`: those `may_be_open` keeps whose
    balance the column type holds exactly (a subset: the columnar planner leaves the rest to
    the rule itself)."""
    if not money_fits(min_balance):
        return pl.lit(False)
    balance = pl.coalesce(pl.col("balance"), pl.col("amount"))
    exact = balance.cast(_MONEY, strict=False)
    return (
        may_owe(as_of)
        & (pl.col("issue_date") <= as_of)
        & ~pl.col("status").is_in(list(NOT_CHASED))
        & (exact > pl.lit(min_balance, _MONEY)).fill_null(False)
        & (
            balance.str.split(".").list.get(1, null_on_oob=True).str.len_chars() <= _SCALE
        ).fill_null(True)
    )


def money_fits(value: Decimal) -> bool:
    """`value` is exactly a polars Decimal(38, 20)."""
    exponent = value.as_tuple().exponent
    return (
        value.is_finite()
        and isinstance(exponent, int)
        and exponent >= -_SCALE
        and value.adjusted() < 38 - _SCALE
    )


def may_owe(as_of: date) -> pl.Expr:
    """The rows whose `Invoice.open_balance(as_of)` may be other than zero (not paid by then)."""
    return (pl.col("status") != "paid") & (
        pl.col("paid_date").is_null() | (pl.col("paid_date") > as_of)
    )


def may_be_owed(as_of: date) -> pl.Expr:
    """`Invoice.owed` in columns: the rows that may owe something on `as_of` (issued, neither
    draft nor void, not paid by then); the rule itself decides on the objects."""
    return (
        may_owe(as_of) & (pl.col("issue_date") <= as_of) & ~pl.col("status").is_in(list(NOT_OWED))
    )
