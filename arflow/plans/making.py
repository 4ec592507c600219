"""Making a payment plan (`arflow plan`, issue 32): its invoices checked, its total their open
balances that day, its instalments split from it or given one by one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arflow.errors import Refused
from arflow.fees.accrual import minor_unit
from arflow.ledger import Invoice, Ledger
from arflow.plans.schedule import (
    EVERY,
    MAX_INSTALMENTS,
    check_given,
    instalment_days,
    split_evenly,
)
from arflow.plans.standing import ON_TRACK, Standing


class Asked(NamedTuple):
    """The schedule a person asked for: an even split (count, every, first) or given
    amounts and days."""

    instalments: int | None = None
    every: str | None = None
    first: date | None = None
    amounts: list[Decimal] | None = None
    days: list[date] | None = None


class NewPlan(NamedTuple):
    customer_id: str
    invoices: list[str]
    currency: str
    total: Decimal
    instalments: list[tuple[date, Decimal]]


def new_plan(
    ledger: Ledger,
    numbers: list[str],
    asked: Asked,
    today: date,
    min_balance: Decimal,
    standings: dict[int, Standing],
) -> NewPlan:
    """The plan `arflow plan` records, or Refused saying what to change."""
    invoices = _open_invoices(ledger, numbers, today, min_balance, standings)
    customers = sorted({inv.customer_id for inv in invoices})
    if len(customers) > 1:
        raise Refused(
            f"{', '.join(numbers)} belong to {len(customers)} customers ({', '.join(customers)}): "
            "a plan is one customer's; make one plan per customer"
        )
    currencies = sorted({inv.currency for inv in invoices})
    if len(currencies) > 1:
        raise Refused(
            f"{', '.join(numbers)} are in {', '.join(currencies)}: a plan is in one currency; "
            "make one plan per currency"
        )
    unit = minor_unit(currencies[0])  # 0.01; 1 for a currency without cents (JPY)
    total = sum((inv.open_balance(today) for inv in invoices), Decimal(0)).quantize(unit)
    return NewPlan(
        customers[0],
        [inv.number for inv in invoices],
        currencies[0],
        total,
        _instalments(asked, total, today, unit),
    )


def _open_invoices(
    ledger: Ledger,
    numbers: list[str],
    today: date,
    min_balance: Decimal,
    standings: dict[int, Standing],
) -> list[Invoice]:
    if len(set(numbers)) != len(numbers):
        raise Refused(f"{', '.join(numbers)}: an invoice is named twice; name each once")
    found = ledger.find(numbers)
    planned = {
        n: s.plan.plan_id
        for s in standings.values()
        if s.state == ON_TRACK
        for n in s.plan.invoices
    }
    invoices = []
    for number in numbers:
        inv = found.get(number)
        if inv is None:
            raise Refused(
                f"no invoice {number!r} in the sources; invoice numbers are matched exactly, "
                "leading zeros included"
            )
        if inv.issue_date > today:
            raise Refused(
                f"{number} is issued on {inv.issue_date}, after {today}: a plan is made for "
                "invoices issued already (check --as-of)"
            )
        if not inv.is_open(today, min_balance):
            raise Refused(
                f"{number} is not open on {today} (status {inv.status}, balance "
                f"{inv.open_balance(today)}): there is nothing to plan"
            )
        if number in planned:
            raise Refused(
                f"{number} is on plan {planned[number]} already; end it first with "
                f"`arflow plans cancel {planned[number]}`"
            )
        invoices.append(inv)
    return invoices


def _instalments(
    asked: Asked, total: Decimal, today: date, unit: Decimal
) -> list[tuple[date, Decimal]]:
    """The instalments: given one by one (checked), or the total split evenly, each to the
    currency's minor `unit` (stored so: 50.00, not 50)."""
    if asked.amounts is not None or asked.days is not None:
        if asked.instalments is not None or asked.every is not None or asked.first is not None:
            raise Refused(
                "give either --instalments, --every and --first, or --amounts and --dates"
            )
        if asked.amounts is None or asked.days is None:
            raise Refused("--amounts and --dates go together: give both")
        problem = check_given(total, asked.amounts, asked.days, today, unit)
        if problem:
            raise Refused(problem)
        return list(zip(asked.days, [a.quantize(unit) for a in asked.amounts], strict=True))
    if asked.instalments is None or asked.every is None or asked.first is None:
        raise Refused(
            "give --instalments N, --every week|month and --first DATE (or --amounts and --dates)"
        )
    if not 1 <= asked.instalments <= MAX_INSTALMENTS:
        raise Refused(f"--instalments {asked.instalments}: give 1 to {MAX_INSTALMENTS}")
    if asked.every not in EVERY:
        raise Refused(f"--every {asked.every}: give week or month")
    if asked.first < today:
        raise Refused(
            f"--first {asked.first} is before today ({today}): an instalment is a day still to come"
        )
    amounts = split_evenly(total, asked.instalments, unit)
    if amounts[0] <= 0:
        raise Refused(
            f"{total} in {asked.instalments} instalments leaves less than {unit} each: "
            "give fewer --instalments"
        )
    days = instalment_days(asked.first, asked.instalments, asked.every)
    return list(zip(days, amounts, strict=True))
