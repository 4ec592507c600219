"""Payments from the bank in the state (issue 32): each payment read once (the id its file gives,
or one made from its fields), the rule that matched it and why, and what it pays of each invoice
with that invoice's balance in the sources when it was matched (`payments.apply` tells from it
whether the sources show the payment since). A person's match or unmatch is kept (`by_hand`):
arflow never matches that payment again by itself."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arflow.payments.match import Payment
from arflow.state.base import StateBase
from arflow.state.errors import named_errors


class AppliedRow(NamedTuple):
    invoice: str
    customer_id: str
    amount: Decimal
    source_balance: Decimal  # the invoice's open balance in the sources when matched


class PaymentRecord(NamedTuple):
    payment: Payment
    rule: str | None  # reference, amount, manual; None: unmatched
    why: str
    over: Decimal  # what is left once the invoices it pays are paid
    by_hand: bool  # matched or unmatched by a person: arflow leaves it as it is
    applied: tuple[AppliedRow, ...] = ()


@named_errors
class PaymentRecords(StateBase):
    """Payments and what each pays, part of `StateDB`."""

    def payment_records(self) -> dict[str, PaymentRecord]:
        """Every payment read, by id, in the order of their days (then as read)."""
        applied: dict[str, list[AppliedRow]] = {}
        for pid, invoice, cid, amount, balance in self.conn.execute(
            "SELECT payment_id, invoice, customer_id, amount, source_balance FROM "
            "payment_applications ORDER BY rowid"
        ):
            applied.setdefault(pid, []).append(
                AppliedRow(invoice, cid, Decimal(amount), Decimal(balance))
            )
        found = {}
        for (
            pid,
            day,
            amount,
            currency,
            ref,
            payer,
            account,
            rule,
            why,
            over,
            by_hand,
        ) in self.conn.execute(
            "SELECT id, day, amount, currency, reference, payer, payer_account, rule, why, "
            "over, by_hand FROM payments ORDER BY day, rowid"
        ):
            payment = Payment(
                pid, date.fromisoformat(day), Decimal(amount), currency, ref, payer, account
            )
            found[pid] = PaymentRecord(
                payment,
                rule,
                why,
                Decimal(over or 0),
                bool(by_hand),
                tuple(applied.get(pid, ())),
            )
        return found

    def save_payments(self, records: Iterable[PaymentRecord], read_on: date) -> None:
        """Each record written in one transaction: a new payment added, a known one's match
        (and what it pays) replaced."""
        with self.transaction() as conn:
            for r in records:
                p = r.payment
                conn.execute(
                    "INSERT INTO payments (id, day, amount, currency, reference, payer, "
                    "payer_account, rule, why, over, by_hand, read_on, created_at) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, datetime('now')) ON CONFLICT (id) DO "
                    "UPDATE SET rule = excluded.rule, why = excluded.why, over = excluded.over, "
                    "by_hand = excluded.by_hand",
                    (
                        p.id,
                        p.date.isoformat(),
                        str(p.amount),
                        p.currency,
                        p.reference,
                        p.payer,
                        p.payer_account,
                        r.rule,
                        r.why,
                        str(r.over) if r.over else None,
                        int(r.by_hand),
                        read_on.isoformat(),
                    ),
                )
                conn.execute("DELETE FROM payment_applications WHERE payment_id = ?", (p.id,))
                conn.executemany(
                    "INSERT INTO payment_applications (payment_id, invoice, customer_id, amount, "
                    "source_balance) VALUES (?, ?, ?, ?, ?)",
                    [
                        (p.id, a.invoice, a.customer_id, str(a.amount), str(a.source_balance))
                        for a in r.applied
                    ],
                )
