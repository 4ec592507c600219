"""A campaign's conditions (SPEC 4.10), as pure functions of a customer's totals.

Per currency group, `outstanding` and `overdue` are the account's totals (`rules.account_totals`:
open invoices, paused and promised ones included, and credit notes), `overdue_pct` 100 × overdue
/ outstanding (0 when nothing is outstanding). The `consolidated_*` metrics are the same over
the customer and all its descendants (`parent_id`, any depth). All of a campaign's conditions
must hold for the same currency group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from arflow.ledger import Customer
from arflow.rules import NO_TOTALS, Totals
from arflow.workflow import Condition


def combined(parts: Iterable[dict[str, Totals]]) -> dict[str, Totals]:
    """Totals of several customers added up per currency (`consolidated_*`)."""
    found: dict[str, Totals] = {}
    for part in parts:
        for currency, t in part.items():
            found[currency] = found.get(currency, NO_TOTALS).plus(t)
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
    return sorted(
        currency
        for currency in set(own) | set(consolidated)
        if all(
            holds(c, own.get(currency, NO_TOTALS), consolidated.get(currency, NO_TOTALS))
            for c in conditions
        )
    )
