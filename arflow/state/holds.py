"""Credit hold in the state (issue 33): each customer's entries into hold and releases, as
runs saw them, with the conditions met. Where a customer stands on a day is its latest event
on or before it (`holds_on`); a dry run's transactions write nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import NamedTuple

from arflow.state import clock
from arflow.state.base import StateBase
from arflow.state.errors import named_errors


class HoldEvent(NamedTuple):
    customer_id: str
    kind: str  # hold | release
    as_of: date
    why: str  # the conditions met, with the values they held with


@named_errors
class HoldRecords(StateBase):
    """Credit hold's events, part of `StateDB`."""

    def hold_events(self, customer: str | None = None) -> list[HoldEvent]:
        """Every event recorded (of one customer), in the order runs saw them."""
        rows = self.conn.execute(
            "SELECT customer_id, kind, as_of, why FROM hold_events "
            "WHERE ? IS NULL OR customer_id = ? ORDER BY as_of, id",
            (customer, customer),
        )
        return [HoldEvent(cid, kind, date.fromisoformat(day), why) for cid, kind, day, why in rows]

    def holds_on(self, as_of: date) -> dict[str, HoldEvent]:
        """Customer → its latest event on or before `as_of` (a `hold`: on hold since then)."""
        found: dict[str, HoldEvent] = {}
        for event in self.hold_events():
            if event.as_of <= as_of:
                found[event.customer_id] = event
        return found

    def hold_counts_on(self, as_of: date) -> dict[str, int]:
        """Customer → how many events it had on or before `as_of`: the number of its latest
        (its first is 1), which keys that event's notices (`hold:ID#N`)."""
        counts: dict[str, int] = {}
        for event in self.hold_events():
            if event.as_of <= as_of:
                counts[event.customer_id] = counts.get(event.customer_id, 0) + 1
        return counts

    def failed_hold_keys(self) -> set[str]:
        """The keys of the hold events' actions whose last send failed and is tried again."""
        return self.failed_keys("hold:")

    def failed_keys(self, prefix: str) -> set[str]:
        """The keys of the actions whose target starts with `prefix` (`hold:`, `digest:`)
        whose last send failed and is tried again."""
        rows = self.conn.execute(
            "SELECT key FROM actions WHERE target LIKE ? AND state = 'failed' AND permanent = 0",
            (prefix + "%",),
        )
        return {key for (key,) in rows}

    def record_hold_events(self, events: Iterable[HoldEvent]) -> None:
        """The entries and releases a run saw, in one transaction."""
        now = clock.utc_now()
        rows = [(e.customer_id, e.kind, e.as_of.isoformat(), e.why, now) for e in events]
        if not rows:
            return
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO hold_events (customer_id, kind, as_of, why, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def hold_history_rows(self, customer: str | None, since: date | None) -> list[dict]:
        """The entries and releases as lines of `history` (of one customer, from `since` on)."""
        first = (since or date.min).isoformat()
        rows = self.conn.execute(
            "SELECT customer_id, kind, as_of, why, created_at FROM hold_events "
            "WHERE (? IS NULL OR customer_id = ?) AND as_of >= ? ORDER BY as_of, id",
            (customer, customer, first),
        )
        return [
            {
                "as_of": day,
                "customer_id": cid,
                "workflow": "credit_hold",
                "step": kind,
                "kind": kind,
                "state": "done",
                "reason": None,
                "error": None,
                "recipients": [],
                "invoices": [],
                "key": f"hold:{cid}@{day}/{kind}",
                "keys": [],  # no action key: what a run saw
                "updated_at": recorded,
                "subject": None,
                "description": f"{'on credit hold' if kind == 'hold' else 'released'}: {why}",
            }
            for cid, kind, day, why, recorded in rows
        ]
