"""The rules that more than one part of arflow asks, each in one function (SPEC 2.1, 4.6, 4.10).

An invoice's own rules (`Invoice.open_balance`, `owed`, `is_open`) are methods of `Invoice` in
`arflow.ledger`, with the polars filters that stand for them beside them. Here live the rules
over an account: what its totals count (`in_totals`), its totals and aging (templates, campaign
conditions and statements, `status` and `customers` use `account_totals`; `aging` counts what
`in_totals` counts, by `aging_bucket`), and what holds an invoice or a customer back from
messages (the planner, the campaigns, the past state and the desk).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arflow.ledger import ZERO, Customer, Invoice

HUNDRED = Decimal(100)
DEFAULT_MIN_BALANCE = Decimal("0.01")  # SPEC 2.1: the tolerance, unless `min_balance:` says
AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


class Totals(NamedTuple):
    """One currency's totals of an account."""

    outstanding: Decimal
    overdue: Decimal
    # the most days past due of an overdue invoice with something owed on it (0: none)
    days_past_due: int = 0

    @property
    def overdue_pct(self) -> Decimal:
        return ZERO if not self.outstanding else HUNDRED * self.overdue / self.outstanding

    def metric(self, name: str) -> Decimal:
        """`outstanding`, `overdue`, `overdue_pct` or `days_past_due` (without a
        `consolidated_` prefix)."""
        return self.overdue_pct if name == "overdue_pct" else Decimal(getattr(self, name))

    def plus(self, other: Totals) -> Totals:
        return Totals(
            self.outstanding + other.outstanding,
            self.overdue + other.overdue,
            max(self.days_past_due, other.days_past_due),
        )


NO_TOTALS = Totals(ZERO, ZERO)


def in_totals(inv: Invoice, as_of: date, min_balance: Decimal) -> bool:
    """An open invoice, or a credit note: SPEC 2.1, a negative balance is never chased but
    reduces the customer's outstanding total."""
    return inv.is_open(as_of, min_balance) or inv.owed(as_of) < 0


def is_overdue(inv: Invoice, as_of: date) -> bool:
    """Past its due date (an invoice due today is 0 days past due, not overdue)."""
    return inv.due_date < as_of


def account_totals(
    invoices: Iterable[Invoice], as_of: date, min_balance: Decimal
) -> dict[str, Totals]:
    """Currency → Totals of an account on `as_of`: `outstanding` the sum of the open balances
    of its open invoices and credit notes (paused and promised ones included), `overdue` the
    part due before `as_of`; a credit note reduces both, in the totals of its own due date.
    `days_past_due`: the most days past due of an overdue invoice still owed (a credit note's
    days count for nothing)."""
    found: dict[str, Totals] = {}
    for inv in invoices:
        if not in_totals(inv, as_of, min_balance):
            continue
        balance = inv.owed(as_of)
        late = is_overdue(inv, as_of)
        days = inv.days_past_due(as_of) if late and balance > 0 else 0
        part = Totals(balance, balance if late else ZERO, days)
        found[inv.currency] = found.get(inv.currency, NO_TOTALS).plus(part)
    return found


def aging_bucket(days_past_due: int) -> str:
    """The aging bucket of a document this many days past its due date (0 or less: current)."""
    if days_past_due <= 0:
        return "current"
    for limit, name in ((30, "1-30"), (60, "31-60"), (90, "61-90")):
        if days_past_due <= limit:
            return name
    return "90+"


def account_aging(
    invoices: Iterable[Invoice], as_of: date, min_balance: Decimal
) -> dict[str, dict[str, Decimal]]:
    """Currency → bucket → balance over what `account_totals` counts; a currency's buckets
    add up to its `outstanding`, and all but `current` to its `overdue`."""
    found: dict[str, dict[str, Decimal]] = {}
    for inv in invoices:
        if not in_totals(inv, as_of, min_balance):
            continue
        buckets = found.setdefault(inv.currency, dict.fromkeys(AGING_BUCKETS, ZERO))
        buckets[aging_bucket(inv.days_past_due(as_of))] += inv.owed(as_of)
    return found


# --- what holds messages back (SPEC 4.6) -------------------------------------------------------
def promise_holds(promised: date | None, as_of: date) -> bool:
    """A promise-to-pay holds its invoice up to and including the promised day; the day after,
    with the invoice still open, it is broken."""
    return promised is not None and as_of <= promised


def pause_holds(until: date | None, as_of: date) -> bool:
    """A pause holds up to and including its last day (`--until`), or until `arflow resume`
    when it has none (the state database reads the pauses that hold on a day by this rule)."""
    return until is None or as_of <= until


def promised_part_paid(balance: Decimal, amount: Decimal, balance_then: Decimal) -> bool:
    """A promise of part of an invoice (`amount`, made when `balance_then` was open) is kept
    once the open balance has come down by that amount."""
    return balance <= balance_then - amount


def invoices_on_hold(
    paused_invoices: Collection[str], promises: Mapping[str, date], as_of: date
) -> set[str]:
    """The invoices on hold on `as_of`: paused, or under a promise-to-pay that still holds;
    they follow their workflow but are left out of messages."""
    return set(paused_invoices) | {n for n, day in promises.items() if promise_holds(day, as_of)}


def customer_paused(customer: Customer, paused_customers: Collection[str]) -> bool:
    """Paused in the customers source (`paused`), or by `arflow pause customer`: such a
    customer gets no messages at all."""
    return customer.paused or customer.customer_id in paused_customers
