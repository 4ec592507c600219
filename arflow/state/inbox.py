"""The inbox's records (SPEC 6.1): each incoming message once (by its Message-ID), where an
IMAP folder was read up to, the addresses that bounced, and the notices `replies.notify` is
owed.

Written by `arflow inbox` (and the inbox part of a run), one transaction per message; a
bounce's mark ends when a run finds that the source gave the customer other addresses.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from datetime import date
from functools import cached_property

from arflow.state import clock
from arflow.state.base import StateBase, customer_since, row_id
from arflow.state.errors import named_errors
from arflow.state.ledger import MAY_HAVE_GONE, settled


@named_errors
class InboxRecords(StateBase):
    """The inbox's reads and writes, part of `StateDB`."""

    @cached_property
    def _inbox_kept(self) -> bool:
        """False for a dry run's read-only look at a database an older arflow wrote."""
        return "inbox" in self._tables()

    def sent_emails(self, message_ids: Iterable[str]) -> dict[str, dict]:
        """The customer emails arflow sent (or may have) with these Message-IDs: id → its
        action's key, customer_id and recipients."""
        ids = sorted(set(message_ids))
        found: dict[str, dict] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for key, cid, recipients, mid in self.conn.execute(
                "SELECT key, customer_id, recipients, message_id FROM actions WHERE "
                f"kind = 'email' AND message_id IN ({', '.join('?' * len(chunk))}) AND "
                f"state IN {MAY_HAVE_GONE}",
                chunk,
            ):
                found[mid] = {
                    "key": key,
                    "customer_id": cid,
                    "recipients": json.loads(recipients or "[]"),
                }
        return found

    def seen_incoming(self, message_id: str) -> bool:
        """Whether this incoming message was handled already."""
        if not self._inbox_kept:
            return False
        return (
            self.conn.execute("SELECT 1 FROM inbox WHERE message_id = ?", (message_id,)).fetchone()
            is not None
        )

    def folder_position(self, folder: str) -> tuple[str, int] | None:
        """(UIDVALIDITY, the last UID handled) of an IMAP folder, None before its first read."""
        if not self._inbox_kept:
            return None
        row = self.conn.execute(
            "SELECT uidvalidity, last_uid FROM inbox_folders WHERE folder = ?", (folder,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def record_incoming(
        self,
        event: dict,
        as_of: date,
        position: tuple[str, str, int] | None,
        emails: list[str] | None = None,
    ) -> int:
        """One incoming message and what it does, in one transaction: a reply's pause, a
        bounce's mark on the address; with `position` (folder, UIDVALIDITY, UID), the folder
        is read up to it. A crash before the commit leaves the message unread; after, read."""
        with self.transaction() as conn:
            inbox_id = _insert_incoming(conn, event, as_of)
            if inbox_id and event["kind"] == "reply" and event.get("pause_until"):
                conn.execute(
                    "INSERT INTO pauses (kind, target_id, since, until, reason, "
                    "created_at) VALUES ('customer', ?, ?, ?, 'replied', ?)",
                    (
                        event["customer_id"],
                        as_of.isoformat(),
                        event["pause_until"],
                        clock.utc_now(),
                    ),
                )
            if inbox_id and event["kind"] == "bounce" and event.get("notice"):
                conn.execute(
                    "INSERT INTO bounced (customer_id, address, emails, since, "
                    "inbox_id) VALUES (?, ?, ?, ?, ?)",
                    (
                        event["customer_id"],
                        event["address"],
                        json.dumps(sorted(emails or [])),
                        as_of.isoformat(),
                        inbox_id,
                    ),
                )
            if position is not None:
                conn.execute(
                    "INSERT INTO inbox_folders (folder, uidvalidity, last_uid) VALUES "
                    "(?, ?, ?) ON CONFLICT (folder) DO UPDATE SET uidvalidity = "
                    "excluded.uidvalidity, last_uid = excluded.last_uid",
                    position,
                )
        return inbox_id

    def bounced(self) -> list[tuple[int, str, str, list[str]]]:
        """The addresses marked bounced: (id, customer_id, address, the customer's addresses
        when it bounced)."""
        if not self._inbox_kept:
            return []
        return [
            (row_id, cid, address, json.loads(emails))
            for row_id, cid, address, emails in self.conn.execute(
                "SELECT id, customer_id, address, emails FROM bounced "
                "WHERE cleared_at IS NULL ORDER BY id"
            )
        ]

    def clear_bounces(self, ids: list[int]) -> None:
        """The source gave these customers other addresses: their marks end."""
        if ids:
            with self.transaction() as conn:
                conn.executemany(
                    "UPDATE bounced SET cleared_at = ? WHERE id = ?",
                    [(clock.utc_now(), row_id) for row_id in ids],
                )

    def incoming(
        self,
        customer: str | None = None,
        since: date | None = None,
        kinds: tuple[str, ...] = ("reply", "auto-reply", "bounce"),
    ) -> list[dict]:
        """The replies, auto-replies and bounces recorded, oldest first."""
        if not self._inbox_kept:
            return []
        where, args = customer_since(customer, since)
        where.append(f"kind IN ({', '.join('?' * len(kinds))})")
        args += kinds
        return list(self.db["inbox"].rows_where(" AND ".join(where), args, order_by="id"))

    def notices_due(self, notice_key: Callable[[dict], object]) -> list[dict]:
        """Replies and new bounces whose notice to `replies.notify` has not gone yet: those
        whose `notice_key(row)` (the planner's idempotency key of a notice, as a string) is not
        settled in the action ledger."""
        if not self._inbox_kept:
            return []
        done = {
            key
            for key, state, reason, permanent in self.conn.execute(
                "SELECT key, state, reason, permanent FROM actions WHERE workflow = 'inbox'"
            )
            if settled(state, reason, bool(permanent))
        }
        rows = [dict(row) for row in self.db["inbox"].rows_where("notice = 1", order_by="id")]
        return [row for row in rows if str(notice_key(row)) not in done]


def _insert_incoming(conn: sqlite3.Connection, event: dict, as_of: date) -> int:
    """The inbox's row of one incoming message, once: its id, or 0 when it was known."""
    cursor = conn.execute(
        "INSERT INTO inbox (message_id, kind, customer_id, action_key, address, sender, "
        "subject, excerpt, received, pause_until, notice, as_of, created_at) VALUES (?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
        (
            event["message_id"],
            event["kind"],
            event.get("customer_id"),
            event.get("action_key"),
            event.get("address"),
            event.get("sender"),
            event.get("subject"),
            event.get("excerpt"),
            event.get("received"),
            event.get("pause_until"),
            int(bool(event.get("notice"))),
            as_of.isoformat(),
            clock.utc_now(),
        ),
    )
    # 0: known already (or a dry run's dropped write): it changes nothing again
    return row_id(cursor) if cursor.rowcount == 1 else 0
