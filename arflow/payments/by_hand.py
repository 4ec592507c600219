"""`arflow payments match` and `unmatch` (issue 32): a person settles a payment arflow could not
match, or undoes a match. A payment settled by hand stays as the person left it: arflow never
matches it again by itself."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from arflow.errors import Refused
from arflow.ledger import Invoice
from arflow.payments.apply import Heard
from arflow.payments.match import ZERO
from arflow.state.payments import AppliedRow, PaymentRecord


def find_record(records: Iterable[PaymentRecord], given: str) -> PaymentRecord:
    """The payment `given` names: its id, or the start of one id (as `arflow payments` shows)."""
    known = list(records)
    exact = [r for r in known if r.payment.id == given]
    found = exact or [r for r in known if r.payment.id.startswith(given)]
    if len(found) == 1:
        return found[0]
    if found:
        ids = ", ".join(r.payment.id for r in found[:5])
        raise Refused(f"payment {given!r} could be {ids}: give more of its id")
    raise Refused(f"no payment {given!r} up to today; `arflow payments` lists them with their ids")


def matched_by_hand(
    record: PaymentRecord, invoices: list[Invoice], heard: Heard, as_of: date
) -> PaymentRecord:
    """`record`'s payment paying `invoices` in the order given, each up to what is open on it
    (other payments counted), the rest reported as over-payment."""
    payment = record.payment
    twice = sorted({inv.number for inv in invoices if invoices.count(inv) > 1})
    if twice:
        raise Refused(f"{twice[0]} is given twice: name each invoice once")
    mine = {a.invoice: a.amount for a in record.applied}
    left = payment.amount
    applied: list[AppliedRow] = []
    for inv in invoices:
        if inv.currency != payment.currency:
            raise Refused(
                f"{inv.number} is in {inv.currency}, the payment in {payment.currency}: a "
                "payment pays invoices in its own currency"
            )
        source = heard.sources.get(inv.number, inv.open_balance(as_of))
        open_now = heard.balances.get(inv.number, source) + mine.get(inv.number, ZERO)
        if left <= ZERO:
            paid = ", ".join(a.invoice for a in applied)
            raise Refused(
                f"the payment is used up by {paid}: nothing of it is left for {inv.number}"
            )
        part = min(left, open_now)
        if part <= ZERO:
            raise Refused(f"{inv.number} has nothing open on {as_of}: nothing for it to pay")
        applied.append(AppliedRow(inv.number, inv.customer_id, part, source))
        left -= part
    numbers = ", ".join(inv.number for inv in invoices)
    return PaymentRecord(
        payment, "manual", f"matched by hand to {numbers}", left, True, tuple(applied)
    )


def unmatched_by_hand(record: PaymentRecord) -> PaymentRecord:
    return PaymentRecord(record.payment, None, "unmatched by hand", ZERO, True)
