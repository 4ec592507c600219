"""Disputes in the state (issue 33): an invoice disputed by a person (`arflow dispute`), whole
or in part, with a reason code and a note, and its resolution (`arflow dispute resolve`), with
the credit agreed and the invoice's balance in the sources that day (what tells, later, whether
the ledger shows the credit note). One open dispute an invoice (a unique index holds it); a dry
run's transactions write nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arflow.state.base import StateBase, row_id
from arflow.state.errors import named_errors


class DisputeRow(NamedTuple):
    dispute_id: int
    invoice: str
    customer_id: str
    reason: str  # a code of `disputes.reasons:`
    note: str | None
    amount: Decimal | None  # the disputed part; None: the whole invoice
    since: date
    resolved_on: date | None
    credit: Decimal | None  # agreed when it was resolved
    resolve_note: str | None
    balance_then: Decimal | None  # the invoice's balance in the sources when it was resolved

    def open_on(self, day: date) -> bool:
        """Disputed on `day`: made by then and not resolved by then."""
        return self.since <= day and (self.resolved_on is None or self.resolved_on > day)


def _money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


@named_errors
class DisputeRecords(StateBase):
    """Disputes and their resolutions, part of `StateDB`."""

    def add_dispute(
        self,
        invoice: str,
        customer_id: str,
        reason: str,
        note: str | None,
        amount: Decimal | None,
        since: date,
    ) -> int:
        """Record a dispute; its id (0: a dry run's)."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO disputes (invoice, customer_id, reason, note, amount, since, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, datetime('now'))",
                (
                    invoice,
                    customer_id,
                    reason,
                    note,
                    None if amount is None else str(amount),
                    since.isoformat(),
                ),
            )
            return row_id(cursor)

    def disputes(self) -> list[DisputeRow]:
        """Every dispute, resolved ones too, by id."""
        rows = self.conn.execute(
            "SELECT id, invoice, customer_id, reason, note, amount, since, resolved_on, "
            "credit, resolve_note, balance_then FROM disputes ORDER BY id"
        )
        return [_row(row) for row in rows]

    def resolve_dispute(
        self,
        dispute_id: int,
        day: date,
        credit: Decimal | None,
        note: str | None,
        balance_then: Decimal,
    ) -> bool:
        """End a dispute on `day`; False if it was resolved already."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE disputes SET resolved_on = ?, credit = ?, resolve_note = ?, "
                "balance_then = ? WHERE id = ? AND resolved_on IS NULL",
                (
                    day.isoformat(),
                    None if credit is None else str(credit),
                    note,
                    str(balance_then),
                    dispute_id,
                ),
            )
            return bool(cursor.rowcount)

    def dispute_history_rows(self, customer: str | None, since: date | None) -> list[dict]:
        """Disputes opened and resolved, as lines of `history` (of one customer, from `since`
        on), by day."""
        first = (since or date.min).isoformat()
        found = []
        for d in self.disputes():
            if customer not in (None, d.customer_id):
                continue
            found.append(_line(d, d.since, "disputed", _opened(d)))
            if d.resolved_on is not None:
                found.append(_line(d, d.resolved_on, "resolved", _resolved(d)))
        return sorted(
            (row for row in found if row["as_of"] >= first),
            key=lambda row: (row["as_of"], row["customer_id"]),
        )


def _row(row: tuple) -> DisputeRow:
    did, invoice, cid, reason, note, amount, since, resolved, credit, resolve_note, then = row
    return DisputeRow(
        did,
        invoice,
        cid,
        reason,
        note,
        _money(amount),
        date.fromisoformat(since),
        _day(resolved),
        _money(credit),
        resolve_note,
        _money(then),
    )


def _opened(d: DisputeRow) -> str:
    part = "" if d.amount is None else f" ({d.amount} of it)"
    note = f": {d.note}" if d.note else ""
    return f"{d.invoice} disputed{part}, reason {d.reason}{note}"


def _resolved(d: DisputeRow) -> str:
    credit = f" with a credit of {d.credit}" if d.credit else ""
    note = f": {d.resolve_note}" if d.resolve_note else ""
    return f"{d.invoice} dispute resolved{credit}{note}"


def _line(d: DisputeRow, day: date, kind: str, text: str) -> dict:
    return {
        "as_of": day.isoformat(),
        "customer_id": d.customer_id,
        "workflow": "disputes",
        "step": f"dispute-{d.dispute_id}",
        "kind": kind,
        "state": "done",
        "reason": None,
        "error": None,
        "recipients": [],
        "invoices": [d.invoice],
        "key": f"dispute:{d.dispute_id}/{kind}",
        "keys": [],  # no action key: what a person decided
        "updated_at": day.isoformat(),
        "subject": None,
        "description": f"dispute {d.dispute_id}: {text}",
    }
