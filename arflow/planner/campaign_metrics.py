"""A campaign's metrics and conditions (SPEC 4.10), as pure functions of a customer's invoices.

Per currency group, over the customer's open invoices on the day (paused and promised ones
included): `outstanding` is the sum of open balances, `overdue` the part with a due date before
the day, `overdue_pct` 100 × overdue / outstanding (0 when nothing is outstanding). The
`consolidated_*` metrics are the same over the customer and all its descendants (`parent_id`, any
depth). All of a campaign's conditions must hold for the same currency group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arflow.ledger import ZERO, Customer, Invoice
from arflow.workflow import Condition

HUNDRED = Decimal(100)


class Totals(NamedTuple):
    """One currency group's metrics."""

    outstanding: Decimal
    overdue: Decimal

    @property
    def overdue_pct(self) -> Decimal:
        return ZERO if not self.outstanding else HUNDRED * self.overdue / self.outstanding

    def metric(self, name: str) -> Decimal:
        """`outstanding`, `overdue` or `overdue_pct` (without a `consolidated_` prefix)."""
        return self.overdue_pct if name == "overdue_pct" else getattr(self, name)


def totals(invoices: Iterable[Invoice], as_of: date, min_balance: Decimal) -> dict[str, Totals]:
    """Currency → Totals over the open invoices and credit notes among `invoices` (SPEC 2.1's
    rules); a credit note past its due date reduces `overdue` too."""
    found: dict[str, Totals] = {}
    for inv in invoices:
        if not _counts(inv, as_of, min_balance):
            continue
        balance = inv.owed(as_of)
        before = found.get(inv.currency, Totals(ZERO, ZERO))
        found[inv.currency] = Totals(
            before.outstanding + balance,
            before.overdue + (balance if inv.due_date < as_of else ZERO),
        )
    return found


def _counts(inv: Invoice, as_of: date, min_balance: Decimal) -> bool:
    """An open invoice, or a credit note (SPEC 2.1: it reduces the outstanding total)."""
    return inv.is_open(as_of, min_balance) or inv.owed(as_of) < 0


AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def aging_bucket(days_past_due: int) -> str:
    """The aging bucket of an invoice this many days past its due date (0 or less: current)."""
    if days_past_due <= 0:
        return "current"
    for limit, name in ((30, "1-30"), (60, "31-60"), (90, "61-90")):
        if days_past_due <= limit:
            return name
    return "90+"


def aging(
    invoices: Iterable[Invoice], as_of: date, min_balance: Decimal
) -> dict[str, dict[str, Decimal]]:
    """Currency → bucket → open balance, over the open invoices among `invoices`; a group's
    buckets add up to its `outstanding`."""
    found: dict[str, dict[str, Decimal]] = {}
    for inv in invoices:
        if not _counts(inv, as_of, min_balance):
            continue
        buckets = found.setdefault(inv.currency, dict.fromkeys(AGING_BUCKETS, ZERO))
        buckets[aging_bucket(inv.days_past_due(as_of))] += inv.owed(as_of)
    return found


def combined(parts: Iterable[dict[str, Totals]]) -> dict[str, Totals]:
    """Totals of several customers added up per currency (`consolidated_*`)."""
    found: dict[str, Totals] = {}
    for part in parts:
        for currency, t in part.items():
            before = found.get(currency, Totals(ZERO, ZERO))
            found[currency] = Totals(before.outstanding + t.outstanding, before.overdue + t.overdue)
    return found


def descendants(customers: Mapping[str, Customer]) -> dict[str, list[str]]:
    """Customer id → its descendants through `parent_id`, at any depth, nearest first (a
    parent named twice in a loop is not visited again)."""
    children: dict[str, list[str]] = {}
    for cid, customer in customers.items():
        if customer.parent_id and customer.parent_id != cid:
            children.setdefault(customer.parent_id, []).append(cid)
    found: dict[str, list[str]] = {}
    for root in children:
        seen = {root}
        order: list[str] = []
        queue = list(children[root])
        while queue:
            cid = queue.pop(0)
            if cid in seen:
                continue
            seen.add(cid)
            order.append(cid)
            queue.extend(children.get(cid, ()))
        found[root] = order
    return found


def metric_of(name: str, own: Totals, consolidated: Totals) -> Decimal:
    """The value of metric `name` (`overdue`, `consolidated_overdue_pct` …) for one group."""
    group = consolidated if name.startswith("consolidated_") else own
    return group.metric(name.removeprefix("consolidated_"))


def holds(condition: Condition, own: Totals, consolidated: Totals) -> bool:
    """One condition on one currency group."""
    actual = metric_of(condition.metric, own, consolidated)
    return actual >= condition.value if condition.op == ">=" else actual < condition.value


def groups_that_hold(
    conditions: list[Condition], own: dict[str, Totals], consolidated: dict[str, Totals]
) -> list[str]:
    """The currency groups (sorted) for which every condition holds; a group exists where the
    customer, or with consolidation one of its descendants, has an open invoice."""
    empty = Totals(ZERO, ZERO)
    return sorted(
        currency
        for currency in set(own) | set(consolidated)
        if all(
            holds(c, own.get(currency, empty), consolidated.get(currency, empty))
            for c in conditions
        )
    )
