"""How delivery (`deliver._deliver`) writes what it did into the action ledger: a run commits
each message's rows as SPEC 6 orders (`Commits`); a forecast's or a simulation's day, against a
state in memory that is never saved, writes the same rows at once (`Batch`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Protocol

from arflow.actions import KINDS
from arflow.compose import Composed
from arflow.state import StateDB

# what a status, task, note, assign or fee action records besides its keys (`deliver`)
RecordEffect = Callable[[sqlite3.Connection, Composed], None]


class Unrecorded(Protocol):
    """The run's result, as far as writing it goes: whether the last outcome is unrecorded."""

    unrecorded: bool


class Commits:
    """How `_deliver` writes the action ledger in a run (SPEC 6): each commit its own
    transaction, in the order the messages go."""

    def __init__(self, db: StateDB, run_result: Unrecorded, record_effect: RecordEffect):
        self.db, self.run_result, self.record_effect = db, run_result, record_effect

    def commit(self, item: Composed, rows: list[dict]) -> None:
        with self.db.transaction() as conn:
            self.record_effect(conn, item)
            self.db.write_marks(conn, rows)

    def flush(self, rows: list[dict]) -> None:
        """The last outcome's rows, once no commit follows to take them along."""
        if rows:
            self.run_result.unrecorded = True  # until the commit below succeeds
            with self.db.transaction() as conn:
                self.db.write_marks(conn, rows)
            self.run_result.unrecorded = False

    def settle(self) -> None:
        """What was committed is written before other writes (here it always is)."""


class Batch(Commits):
    """A replay's writes (`deliver.replay_day`): its state is in memory and never saved, so a run's
    transaction per message buys nothing. What each commit would write is kept, in order, and
    written in one transaction at the end of the day (or before any other write): the state
    ends as the commits one by one would leave it. A key's `sending` row and its outcome's
    are written as one row, where the `sending` one was: the outcome with its attempt."""

    def __init__(self, db: StateDB, run_result: Unrecorded, record_effect: RecordEffect):
        super().__init__(db, run_result, record_effect)
        self._effects: list[Composed] = []  # the items with an effect to record (`KINDS`)
        self._marks: list[dict] = []
        self._sending: dict[str, int] = {}  # key → where its `sending` row is in `_marks`

    def commit(self, item: Composed, rows: list[dict]) -> None:
        if KINDS[item.action.kind].records is not None:  # a message is let go of once sent
            self._effects.append(item)
        self._keep(rows)

    def flush(self, rows: list[dict]) -> None:
        self._keep(rows)
        self.settle()

    def _keep(self, rows: list[dict]) -> None:
        marks, sending = self._marks, self._sending
        for row in rows:
            at = sending.pop(row["key"], None)
            if at is not None:  # the outcome of a key whose `sending` row waits here
                marks[at] = {**row, "attempt": marks[at]["attempt"] + row["attempt"]}
                continue
            if row["state"] == "sending":
                sending[row["key"]] = len(marks)
            marks.append(row)

    def settle(self) -> None:
        effects, rows = self._effects, self._marks
        self._effects, self._marks, self._sending = [], [], {}
        if effects or rows:
            with self.db.transaction() as conn:
                for item in effects:
                    self.record_effect(conn, item)
                self.db.write_marks(conn, rows)
