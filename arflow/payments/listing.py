"""`arflow payments` (issue 32): the payments source read and matched against tonight's open
invoices — which invoices each pays, by which rule, and why; the unmatched wait for a person."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arflow.ledger import Ledger
from arflow.payments.match import Match, OpenItem, match_all
from arflow.payments.source import PaymentsRead


def open_items(ledger: Ledger, as_of: date, min_balance: Decimal) -> list[OpenItem]:
    """The invoices open on `as_of`, with their balances, as matching sees them."""
    return [
        OpenItem(inv.number, inv.customer_id, inv.due_date, inv.open_balance(as_of), inv.currency)
        for inv in ledger.current(as_of, min_balance)
    ]


def payers_of(ledger: Ledger) -> dict[str, list[str]]:
    """customer id → the names it pays under: its name, and the `payer` column of the
    customers file (accounts and names, separated by `;`)."""
    found: dict[str, list[str]] = {}
    for cid, customer in ledger.customers.items():
        names = [customer.display_name]
        extra = customer.extra or {}
        names += [n.strip() for n in extra.get("payer", "").split(";") if n.strip()]
        found[cid] = names
    return found


def matched(read: PaymentsRead, ledger: Ledger, as_of: date, min_balance: Decimal) -> list[Match]:
    return match_all(read.payments, open_items(ledger, as_of, min_balance), payers_of(ledger))


def payment_document(matches: list[Match]) -> dict:
    """`arflow payments --format json`."""
    return {
        "payments": [
            {
                "id": m.payment.id,
                "date": m.payment.date.isoformat(),
                "amount": str(m.payment.amount),
                "currency": m.payment.currency,
                "reference": m.payment.reference,
                "payer": m.payment.payer,
                "payer_account": m.payment.payer_account,
                "state": "matched" if m.matched else "unmatched",
                "rule": m.rule,
                "invoices": [a.invoice for a in m.applied],
                "why": m.why,
                "over": str(m.over) if m.over else None,
            }
            for m in matches
        ]
    }


CSV_HEADER = [
    "id",
    "date",
    "amount",
    "currency",
    "reference",
    "payer",
    "state",
    "rule",
    "invoices",
    "why",
]


def payment_rows(matches: list[Match]) -> list[list[str]]:
    return [
        [
            m.payment.id,
            m.payment.date.isoformat(),
            str(m.payment.amount),
            m.payment.currency,
            m.payment.reference,
            m.payment.payer or "",
            "matched" if m.matched else "unmatched",
            m.rule or "",
            " ".join(a.invoice for a in m.applied),
            m.why,
        ]
        for m in matches
    ]
