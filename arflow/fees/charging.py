"""A `charge_fees` step action (issue 31): what it charges each of its invoices, worked out for
the night's plan before anything is composed, and what is written for it in the transaction
that records its key.

Per invoice, not waived: the interest accrued since the last charge (the whole interest to the
day less what was charged as interest before), the compensation the first time only, and the
step's `fee:` (a fixed sum, or a percentage of the open balance) each time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from arflow.fees.accrual import ZERO, FeeCharge
from arflow.fees.book import FeeBook
from arflow.fees.rates import MissingRate
from arflow.ledger import Invoice
from arflow.planner.plan_types import PlannedAction
from arflow.state.fees import ChargeRow


def charges_for(
    book: FeeBook, invoices: Iterable[Invoice], workflow: str, as_of: date
) -> list[FeeCharge]:
    """What a `charge_fees` action of `workflow` charges these invoices on `as_of`, against
    what `book` says was charged before (raises `MissingRate`)."""
    return [c for inv in invoices for c in book.pending(inv, workflow, as_of)]


def plan_charges(
    book: FeeBook, actions: Iterable[PlannedAction]
) -> list[tuple[PlannedAction, MissingRate]]:
    """Tonight's charges, in the plan's order, each against the ones before it (two steps
    charging one invoice tonight never charge the same interest twice), counted in `book` so
    every message composed tonight shows them; the actions whose rule lacks a rate, with why."""
    failed = []
    for action in actions:
        if action.kind != "charge_fees":
            continue
        try:
            action.fees = charges_for(book, action.items, action.workflow, action.date)
        except MissingRate as exc:
            failed.append((action, exc))
            continue
        book.apply(action.fees)
    return failed


def charges_text(charges: list[FeeCharge]) -> str:
    """In words, for history: `INV-1 interest 12.34 EUR, compensation 40.00 EUR`."""
    by_invoice: dict[str, list[str]] = {}
    for c in charges:
        by_invoice.setdefault(c.invoice, []).append(f"{c.kind} {c.amount} {c.currency}")
    return "; ".join(f"{inv} {', '.join(parts)}" for inv, parts in by_invoice.items()) or "nothing"


def rows_to_record(
    charges: list[FeeCharge],
    charged: dict[str, dict[str, Decimal]],
    waived: set[str],
    key: str,
    customer_id: str,
    as_of: date,
) -> list[ChargeRow]:
    """The rows a charge writes, against the state as it is inside the recording transaction:
    interest is what accrued less what is charged by now, compensation only if none is."""
    rows = []
    for c in charges:
        if c.invoice in waived:
            continue
        before = charged.get(c.invoice, {})
        amount = c.amount
        if c.kind == "interest" and c.accrued is not None:
            amount = c.accrued - before.get("interest", ZERO)
        elif c.kind == "compensation" and before.get("compensation"):
            continue
        if amount > ZERO:
            rows.append(
                ChargeRow(key, c.invoice, customer_id, c.kind, amount, c.currency, c.detail, as_of)
            )
    return rows
