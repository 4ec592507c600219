"""The sample `plan` `arflow validate` renders every template with (issue 32)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from arflow.ledger import ZERO, Invoice

CENT = Decimal("0.01")


def sample_plan(invoices: list[Invoice], as_of: date) -> dict:
    """`plan` of a payment plan's message (issue 32): three monthly instalments, one met."""
    total = sum((inv.amount for inv in invoices), ZERO)
    part = (total / 3).quantize(CENT)
    amounts = [part, part, total - 2 * part]
    rows = [
        {
            "number": n,
            "id": f"PLAN-1.{n}",
            "date": as_of + timedelta(days=30 * (n - 1)),
            "amount": amount,
            "paid": amount if n == 1 else ZERO,
            "unpaid": ZERO if n == 1 else amount,
            "state": "met" if n == 1 else "upcoming",
            "plan": 1,
        }
        for n, amount in enumerate(amounts, 1)
    ]
    found = {
        "id": 1,
        "invoices": [inv.number for inv in invoices],
        "currency": invoices[0].currency,
        "total": total,
        "paid": part,
        "state": "on track",
        "made_on": as_of - timedelta(days=30),
        "broken_on": as_of,
        "instalments": rows,
        "instalment": rows[1],
        "these": [rows[1]],
        "due": rows[1]["unpaid"],
        "next": rows[1],
    }
    return {**found, "plans": [found]}
