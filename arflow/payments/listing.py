"""`arflow payments` (issue 32): the payments source read and matched against tonight's open
invoices — which invoices each pays, by which rule, and why; the unmatched wait for a person."""

from __future__ import annotations

from arflow.payments.match import Match


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
