"""What `arflow disputes` shows of each dispute (issue 33), and the line `arflow status` gives
a customer's disputes: as rows, JSON and CSV."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arflow.fees.accrual import minor_unit
from arflow.ledger import Ledger
from arflow.state.disputes import DisputeRow

CENT = Decimal("0.01")
CSV_HEADER = [
    "invoice",
    "customer_id",
    "reason",
    "currency",
    "amount",
    "since",
    "state",
    "whole",
    "resolved_on",
    "credit",
    "note",
]


def state_on(d: DisputeRow, day: date) -> str:
    """`open` or `resolved` on `day`."""
    return "open" if d.open_on(day) else "resolved"


def shown(rows: list[DisputeRow], day: date, *, every: bool = False) -> list[DisputeRow]:
    """The disputes made by `day`: those open that day (`every`: resolved ones too)."""
    return [d for d in rows if d.since <= day and (every or d.open_on(day))]


def in_unit(amount: Decimal, currency: str) -> Decimal:
    """`amount` to the currency's smallest unit (`600.00`; JPY `600`; a cent when the
    currency is not known)."""
    return amount.quantize(minor_unit(currency) if currency else CENT)


def disputed_amount(d: DisputeRow, ledger: Ledger, day: date) -> tuple[str, Decimal]:
    """(currency, the disputed amount): the part given, else the invoice's balance (its
    balance on the dispute's day once the ledger no longer has it open), to the currency's
    smallest unit."""
    inv = ledger.find([d.invoice]).get(d.invoice)
    if inv is None:
        return "", in_unit(d.amount if d.amount is not None else Decimal(0), "")
    if d.amount is not None:
        return inv.currency, in_unit(d.amount, inv.currency)
    balance = inv.open_balance(day if d.open_on(day) else d.since)
    return inv.currency, in_unit(balance, inv.currency)


def dispute_rows(rows: list[DisputeRow], ledger: Ledger, day: date) -> list[list[object]]:
    """One row per dispute, in CSV_HEADER's order (amounts as Decimal, dates ISO)."""
    found = []
    for d in rows:
        currency, amount = disputed_amount(d, ledger, day)
        resolved = d.resolved_on is not None and d.resolved_on <= day
        found.append(
            [
                d.invoice,
                d.customer_id,
                d.reason,
                currency,
                amount,
                d.since.isoformat(),
                state_on(d, day),
                d.amount is None,
                d.resolved_on.isoformat() if resolved and d.resolved_on else "",
                in_unit(d.credit, currency) if resolved and d.credit is not None else "",
                d.note or "",
            ]
        )
    return found


def csv_rows(rows: list[DisputeRow], ledger: Ledger, day: date) -> list[list[str]]:
    """`arflow disputes --format csv`'s rows: `whole` as `yes`/`no`, as the other lists."""
    return [
        [("yes" if v else "no") if isinstance(v, bool) else str(v) for v in row]
        for row in dispute_rows(rows, ledger, day)
    ]


def dispute_document(rows: list[DisputeRow], ledger: Ledger, day: date) -> dict:
    """`arflow disputes --format json`: amounts as decimal strings, dates ISO."""
    found = []
    for row in dispute_rows(rows, ledger, day):
        invoice, cid, reason, currency, amount, since, state, whole, resolved, credit, note = row
        found.append(
            {
                "invoice": invoice,
                "customer_id": cid,
                "reason": reason,
                "amount": str(amount),
                "since": since,
                "state": state,
                "currency": currency,
                "whole": whole,
                "note": note or None,
                "resolved_on": resolved or None,
                "credit": str(credit) if credit != "" else None,
            }
        )
    return {"disputes": found}


def status_line(d: DisputeRow, ledger: Ledger, day: date) -> str:
    """A dispute as `arflow status` says it: `INV-1 disputed since 2026-03-02 (quantity):
    USD 120.00, not chased` or `INV-1 dispute resolved on 2026-03-09, credit 50.00`."""
    currency, amount = disputed_amount(d, ledger, day)
    if d.open_on(day):
        part = "" if d.amount is None else " of it"
        return (
            f"{d.invoice} disputed since {d.since} ({d.reason}): {currency} {amount}{part} "
            "not chased"
        )
    credit = f", credit {d.credit}" if d.credit else ""
    return f"{d.invoice} dispute resolved on {d.resolved_on}{credit}"
