"""Opening and resolving a dispute (`arflow dispute`, issue 33): what a person typed checked
against the sources and the disputes recorded, each refusal saying what to change."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arflow.config import Config
from arflow.disputes import ZERO
from arflow.errors import Refused
from arflow.fees.accrual import minor_unit
from arflow.ledger import Invoice, Ledger
from arflow.state.disputes import DisputeRow


class NewDispute(NamedTuple):
    invoice: Invoice
    amount: Decimal | None  # None: the whole invoice


def _open_invoice(ledger: Ledger, number: str, day: date, cfg: Config) -> Invoice:
    inv = ledger.find([number]).get(number)
    if inv is None:
        raise Refused(
            f"no invoice {number!r} in the sources; invoice numbers are matched exactly, "
            "leading zeros included"
        )
    if not inv.is_open(day, cfg.min_balance):
        raise Refused(
            f"{number} is not open on {day} (status {inv.status}, balance "
            f"{inv.open_balance(day)}): only an open invoice can be disputed (check --as-of)"
        )
    return inv


def open_dispute(rows: list[DisputeRow], number: str) -> DisputeRow | None:
    """The dispute of `number` not resolved yet (one at a time)."""
    return next((d for d in rows if d.invoice == number and d.resolved_on is None), None)


def new_dispute(
    ledger: Ledger,
    rows: list[DisputeRow],
    number: str,
    reason: str,
    amount: Decimal | None,
    day: date,
    cfg: Config,
    on_plan: Mapping[str, int],
) -> NewDispute:
    """The dispute `arflow dispute` records, or Refused saying what to change. `on_plan`:
    the invoices of the plans on track that day, with their plan's id: a plan's invoice is
    not disputed (its instalments would still be chased, and missed, through the plan)."""
    codes = cfg.disputes.reasons
    if reason not in codes:
        raise Refused(
            f"--reason {reason!r} is not a reason code; the codes are {', '.join(codes)} "
            "(disputes: reasons: in arflow.yaml)"
        )
    inv = _open_invoice(ledger, number, day, cfg)
    if number in on_plan:
        plan = on_plan[number]
        raise Refused(
            f"{number} is on payment plan {plan}, on track: the plan would still chase it; "
            f"cancel the plan first (arflow plans cancel {plan}), then dispute {number}"
        )
    before = open_dispute(rows, number)
    if before is not None:
        raise Refused(
            f"{number} is disputed already (since {before.since}, reason {before.reason}); "
            f"resolve it first: arflow dispute resolve {number}"
        )
    balance = inv.open_balance(day)
    if amount is not None:
        if amount <= ZERO:
            raise Refused(
                f"--amount {amount}: the disputed part is more than 0; leave --amount out to "
                "dispute the whole invoice"
            )
        unit = minor_unit(inv.currency)  # 0.01; 1 for a currency without cents (JPY)
        if amount != amount.quantize(unit):
            raise Refused(
                f"--amount {amount}: {inv.currency} has no smaller unit than {unit}; give the "
                f"disputed part to {unit}"
            )
        amount = amount.quantize(unit)
        if amount > balance:
            raise Refused(
                f"--amount {amount} is more than {number}'s open balance on {day} "
                f"({inv.currency} {balance}); leave --amount out to dispute the whole invoice"
            )
        if amount == balance:
            amount = None
    return NewDispute(inv, amount)


def resolving(
    ledger: Ledger,
    rows: list[DisputeRow],
    number: str,
    credit: Decimal | None,
    day: date,
    cfg: Config,
) -> tuple[DisputeRow, Decimal]:
    """The dispute `arflow dispute resolve` ends and the invoice's balance that day, or
    Refused saying what to change."""
    d = open_dispute(rows, number)
    if d is None:
        raise Refused(
            f"{number} has no open dispute to resolve; `arflow disputes` lists the open ones"
        )
    if day < d.since:
        raise Refused(f"--as-of {day} is before {number} was disputed ({d.since})")
    inv = ledger.find([number]).get(number)
    balance = ZERO if inv is None else inv.open_balance(day)
    if credit is not None:
        if credit <= ZERO:
            raise Refused(f"--credit {credit}: a credit is more than 0; leave it out for none")
        if credit > balance:
            raise Refused(
                f"--credit {credit} is more than {number}'s open balance on {day} ({balance})"
            )
    return d, balance
