"""Late fees in the state (issue 31): what `charge_fees` actions charged, per invoice and kind,
and the invoices a person waived. A charge is written in the same transaction as its action's
key, so a charge is there exactly when its key is: never twice, never lost."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arflow.state.base import StateBase
from arflow.state.errors import named_errors


class ChargeRow(NamedTuple):
    key: str  # the action key that charged it
    invoice: str
    customer_id: str
    kind: str  # interest, compensation or fee
    amount: Decimal
    currency: str
    detail: str | None  # interest: the days and rates it covers
    as_of: date


@named_errors
class FeeRecords(StateBase):
    """Fee charges and waivers, part of `StateDB`."""

    def fee_charges(self, since: date | None = None, until: date | None = None) -> list[ChargeRow]:
        """Every charge (made from `since` on, up to `until`), in the order they were made."""
        rows = self.conn.execute(
            "SELECT key, invoice, customer_id, kind, amount, currency, detail, as_of FROM "
            "fee_charges WHERE as_of >= ? AND as_of <= ? ORDER BY id",
            ((since or date.min).isoformat(), (until or date.max).isoformat()),
        )
        return [
            ChargeRow(k, i, c, kind, Decimal(a), cur, d, date.fromisoformat(day))
            for k, i, c, kind, a, cur, d, day in rows
        ]

    def fee_waivers(self) -> dict[str, tuple[str | None, date]]:
        """invoice → (reason, day) of its waiver."""
        return {
            inv: (reason, date.fromisoformat(day))
            for inv, reason, day in self.conn.execute(
                "SELECT invoice, reason, as_of FROM fee_waivers"
            )
        }

    def waive_fees(self, invoice: str, customer_id: str, reason: str | None, day: date) -> bool:
        """Record that `invoice` is charged nothing more; False if it was waived already."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO fee_waivers (invoice, customer_id, reason, as_of, "
                "created_at) VALUES (?, ?, ?, ?, datetime('now'))",
                (invoice, customer_id, reason, day.isoformat()),
            )
            return bool(cursor.rowcount)

    def waiver_rows(self, customer: str | None, since: date | None) -> list[dict]:
        """The waivers as lines of `history` (of one customer, from `since` on), by day."""
        rows = self.conn.execute(
            "SELECT invoice, customer_id, reason, as_of, created_at FROM fee_waivers WHERE "
            "(? IS NULL OR customer_id = ?) AND as_of >= ? ORDER BY as_of, customer_id, id",
            (customer, customer, (since or date.min).isoformat()),
        )
        return [
            {
                "as_of": day,
                "customer_id": cid,
                "workflow": "fees",
                "step": "waive",
                "kind": "waive",
                "state": "done",
                "reason": "fees waived",
                "error": None,
                "recipients": [],
                "invoices": [invoice],
                "key": f"waive:{invoice}",
                "keys": [],  # no action key: a person's decision
                "updated_at": created,
                "subject": None,
                "description": f"fees waived: {reason}" if reason else "fees waived",
            }
            for invoice, cid, reason, day, created in rows
        ]

    @staticmethod
    def charged_in(conn: sqlite3.Connection, invoices: list[str]) -> dict[str, dict[str, Decimal]]:
        """invoice → kind → what is charged so far, read inside the caller's transaction."""
        found: dict[str, dict[str, Decimal]] = {}
        for start in range(0, len(invoices), 500):
            part = invoices[start : start + 500]
            for inv, kind, amount in conn.execute(
                "SELECT invoice, kind, amount FROM fee_charges WHERE invoice IN "
                f"({', '.join('?' * len(part))})",
                part,
            ):
                kinds = found.setdefault(inv, {})
                kinds[kind] = kinds.get(kind, Decimal(0)) + Decimal(amount)
        return found

    @staticmethod
    def waived_in(conn: sqlite3.Connection, invoices: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(invoices), 500):
            part = invoices[start : start + 500]
            found.update(
                inv
                for (inv,) in conn.execute(
                    "SELECT invoice FROM fee_waivers WHERE invoice IN "
                    f"({', '.join('?' * len(part))})",
                    part,
                )
            )
        return found

    @staticmethod
    def add_charges(conn: sqlite3.Connection, rows: Iterable[ChargeRow]) -> None:
        """Charges, in the caller's transaction (the one that records their action's key)."""
        conn.executemany(
            "INSERT OR IGNORE INTO fee_charges (key, invoice, customer_id, kind, amount, "
            "currency, detail, as_of, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
            "datetime('now'))",
            [
                (
                    r.key,
                    r.invoice,
                    r.customer_id,
                    r.kind,
                    str(r.amount),
                    r.currency,
                    r.detail,
                    r.as_of.isoformat(),
                )
                for r in rows
            ],
        )
