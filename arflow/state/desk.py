"""The desk's records (SPEC 4.5–4.6, 5): assignments and `assigned` sequences, pauses,
promises-to-pay, tasks, notes, collection statuses and specialists.

Written by the desk commands (`assign`, `pause`, `resume`, `promise`, `task done`) and, for
what status, task, note and assign actions leave behind, by a run in the same transaction as
the actions' keys. The planner's past state reads assignments, sequences, pauses and promises
here, one query per table (`assignment_rows`, `sequence_rows`, `pause_rows`, `promises`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from arflow.state import clock
from arflow.state.base import StateBase, row_id
from arflow.state.errors import named_errors

# (customer id, workflow, since or None): an assignment made by hand
AssignmentRow = tuple[str, str, str | None]
# (customer id, workflow, since, ended on or None, why it ended or None): an `assigned` sequence
SequenceRow = tuple[str, str, str, str | None, str | None]
# (id, kind, target id, reason, until or None, since): a pause not resumed, customer or invoice
PauseRow = tuple[int, str, str, str | None, str | None, str]


@named_errors
class DeskRecords(StateBase):
    """The desk's reads and writes, part of `StateDB`."""

    # --- the planner's reads, one query per table ---------------------------------------------
    def assignment_rows(self) -> list[AssignmentRow]:
        """Every assignment made by hand."""
        return self.conn.execute("SELECT customer_id, workflow, since FROM assignments").fetchall()

    def sequence_rows(self) -> list[SequenceRow]:
        """Every `assigned` sequence, active or ended, oldest first."""
        return self.conn.execute(
            "SELECT customer_id, workflow, since, ended_on, end_reason FROM sequences ORDER BY id"
        ).fetchall()

    def pause_rows(self, as_of: date) -> list[PauseRow]:
        """The pauses that still hold on `as_of` (not resumed, not ended before it), oldest
        first."""
        return self.conn.execute(
            "SELECT id, kind, target_id, reason, until, since FROM pauses WHERE resumed_at "
            "IS NULL AND (until IS NULL OR until >= ?) ORDER BY id",
            (as_of.isoformat(),),
        ).fetchall()

    def specialists(self) -> dict[str, str]:
        """customer id → the specialist an `assign` action or command set."""
        return dict(self.conn.execute("SELECT customer_id, person FROM specialists"))

    # --- what status, task, note and assign actions leave behind (SPEC 5), written in the same
    # transaction as their keys
    @staticmethod
    def set_statuses(
        conn: sqlite3.Connection, targets: Iterable[str], value: str, day: date, key: str
    ) -> None:
        conn.executemany(
            "INSERT INTO statuses (target, value, as_of, key, updated_at) VALUES (?, ?, ?, ?, "
            "datetime('now')) ON CONFLICT (target) DO UPDATE SET value = excluded.value, "
            "as_of = excluded.as_of, key = excluded.key, updated_at = excluded.updated_at",
            [(t, value, day.isoformat(), key) for t in dict.fromkeys(targets)],
        )

    @staticmethod
    def add_task(
        conn: sqlite3.Connection,
        key: str,
        customer_id: str,
        invoices: list[str],
        title: str,
        kind: str,
        assignee: str | None,
        due: date,
    ) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO tasks (key, customer_id, invoices, title, kind, assignee, "
            "due, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, datetime('now'))",
            (key, customer_id, json.dumps(invoices), title, kind, assignee, due.isoformat()),
        )

    @staticmethod
    def add_note(
        conn: sqlite3.Connection, key: str, customer_id: str, text: str, day: date
    ) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO notes (key, customer_id, text, as_of, created_at) "
            "VALUES (?, ?, ?, ?, datetime('now'))",
            (key, customer_id, text, day.isoformat()),
        )

    @staticmethod
    def set_specialist(
        conn: sqlite3.Connection, customer_id: str, person: str, day: date, key: str
    ) -> None:
        conn.execute(
            "INSERT INTO specialists (customer_id, person, as_of, key, updated_at) VALUES "
            "(?, ?, ?, ?, datetime('now')) ON CONFLICT (customer_id) DO UPDATE SET "
            "person = excluded.person, as_of = excluded.as_of, key = excluded.key, "
            "updated_at = excluded.updated_at",
            (customer_id, person, day.isoformat(), key),
        )

    # --- the desk (SPEC 4.5–4.6, 5): assignments, pauses, promises, tasks ------------------------
    def assign(self, customers: list[str], workflow: str, since: date | None, today: date) -> None:
        """Assign by hand; a customer's sequences in another workflow (or from another date)
        end, `reassigned`."""
        day = since.isoformat() if since else None
        now = clock.utc_now()
        with self.transaction() as conn:
            for cid in customers:
                conn.execute(
                    "UPDATE sequences SET ended_on = ?, end_reason = 'reassigned' WHERE "
                    "customer_id = ? AND ended_on IS NULL AND (workflow != ? OR (? IS NOT NULL "
                    "AND since != ?))",
                    (day or today.isoformat(), cid, workflow, day, day),
                )
                conn.execute(
                    "INSERT INTO assignments (customer_id, workflow, since, source, created_at) "
                    "VALUES (?, ?, ?, 'cli', ?) ON CONFLICT (customer_id) DO UPDATE SET "
                    "workflow = excluded.workflow, since = coalesce(excluded.since, CASE WHEN "
                    "assignments.workflow = excluded.workflow THEN assignments.since END), "
                    "source = 'cli', created_at = excluded.created_at",
                    (cid, workflow, day, now),
                )

    def unassign(self, customers: list[str], today: date) -> list[str]:
        """Remove assignments made by hand; their sequences end (`unassigned`). Returns the
        customers that had one."""
        removed = []
        with self.transaction() as conn:
            for cid in dict.fromkeys(customers):
                if conn.execute("DELETE FROM assignments WHERE customer_id = ?", (cid,)).rowcount:
                    removed.append(cid)
                    conn.execute(
                        "UPDATE sequences SET ended_on = ?, end_reason = 'unassigned' "
                        "WHERE customer_id = ? AND ended_on IS NULL",
                        (today.isoformat(), cid),
                    )
        return removed

    def assigned(self) -> list[tuple[str, str]]:
        """(customer, workflow) assigned by hand or in the middle of an `assigned` sequence."""
        return self.conn.execute(
            "SELECT customer_id, workflow FROM assignments UNION SELECT customer_id, "
            "workflow FROM sequences WHERE ended_on IS NULL"
        ).fetchall()

    def add_pause(
        self, kind: str, target_id: str, until: date | None, reason: str | None, today: date
    ) -> int:
        with self.transaction() as conn:
            return row_id(
                conn.execute(
                    "INSERT INTO pauses (kind, target_id, since, until, reason, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        kind,
                        target_id,
                        today.isoformat(),
                        until.isoformat() if until else None,
                        reason,
                        clock.utc_now(),
                    ),
                )
            )

    def resume(self, kind: str, target_id: str) -> tuple[int, int]:
        """End the pauses of a customer or an invoice (and an invoice's open promises):
        (pauses ended, promises cancelled)."""
        now = clock.utc_now()
        with self.transaction() as conn:
            paused = conn.execute(
                "UPDATE pauses SET resumed_at = ? WHERE kind = ? AND target_id = ? "
                "AND resumed_at IS NULL",
                (now, kind, target_id),
            ).rowcount
            promised = 0
            if kind == "invoice":
                promised = conn.execute(
                    "UPDATE promises SET cancelled_at = ? WHERE invoice = ? AND "
                    "cancelled_at IS NULL",
                    (now, target_id),
                ).rowcount
        return paused, promised

    def add_promise(
        self, invoice: str, day: date, amount: Decimal | None, balance: Decimal, today: date
    ) -> int:
        with self.transaction() as conn:
            return row_id(
                conn.execute(
                    "INSERT INTO promises (invoice, date, amount, balance, as_of, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        invoice,
                        day.isoformat(),
                        str(amount) if amount is not None else None,
                        str(balance),
                        today.isoformat(),
                        clock.utc_now(),
                    ),
                )
            )

    def promises(self) -> list[dict]:
        """Promises not cancelled, by date."""
        return [
            {"id": i, "invoice": n, "date": d, "amount": a, "balance": b}
            for i, n, d, a, b in self.conn.execute(
                "SELECT id, invoice, date, amount, balance FROM promises WHERE "
                "cancelled_at IS NULL ORDER BY date, id"
            )
        ]

    def statuses(self) -> list[tuple[str, str, str]]:
        """(target, collection status, as-of date) of every target a status action set."""
        return self.conn.execute("SELECT target, value, as_of FROM statuses").fetchall()

    def tasks(self, assignee: str | None, include_done: bool) -> list[dict]:
        where: list[str] = []
        args: list[Any] = []
        if assignee is not None:
            where.append("assignee = ?")
            args.append(assignee)
        if not include_done:
            where.append("done_at IS NULL")
        rows = self.db["tasks"].rows_where(" AND ".join(where) or None, args, order_by="due, id")
        return [{**row, "invoices": json.loads(row["invoices"])} for row in rows]

    def task(self, task_id: int) -> dict | None:
        if not 0 < task_id < 2**63:  # no task has it, and SQLite cannot even hold it
            return None
        rows = list(self.db["tasks"].rows_where("id = ?", [task_id]))
        return {**rows[0], "invoices": json.loads(rows[0]["invoices"])} if rows else None

    def finish_task(self, task_id: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE tasks SET done_at = ? WHERE id = ? AND done_at IS NULL",
                (clock.utc_now(), task_id),
            )
