"""A dry run's state (STYLE 4: the same pipeline, nothing recorded): every read of a real run,
against a read-only connection (or an empty database in memory when there is none yet); every
transaction's writes are dropped. `arflow.state.db.DryRunState` puts this on `StateDB`."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from arflow.state.base import StateBase, stored_message_key


class _DroppedWrites:
    """The connection a dry run's transactions hand out: each statement is dropped."""

    rowcount = 0
    lastrowid = 0

    def execute(self, *args: Any) -> _DroppedWrites:
        return self

    executemany = execute

    def __iter__(self) -> Iterator[Any]:  # a read inside the transaction: nothing was written
        return iter(())

    def fetchall(self) -> list[Any]:
        return []


class DryRunWrites(StateBase):
    """What a dry run's state does differently: it writes nothing."""

    records = False

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        yield _DroppedWrites()  # type: ignore[misc]

    def message_key(self) -> bytes:
        """The database's key, so a dry run shows the Message-IDs a real run would give; for a
        database that has none yet (an older arflow's, or none at all) a throwaway key: the
        real run creates the database's own, and a dry run writes nothing. Its emails go to
        nobody, so no one can answer the ids it made."""
        return stored_message_key(self.conn) or self._throwaway_key

    @cached_property
    def _throwaway_key(self) -> bytes:
        return secrets.token_hex(32).encode()

    def recover_interrupted(self) -> int:
        """How many `sending` rows a real run would turn `unknown` now (nothing changes)."""
        return self.conn.execute("SELECT count(*) FROM actions WHERE state = 'sending'").fetchone()[
            0
        ]
