"""`StateDB`, the state database as callers use it: the ledger's, the desk's, the inbox's and
the fees' records put together on one connection, and the ways to open one (for writing,
read-only, in memory, for a dry run)."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from pathlib import Path

from arflow.state.base import create_message_key
from arflow.state.desk import DeskRecords
from arflow.state.disputes import DisputeRecords
from arflow.state.dry import DryRunWrites
from arflow.state.errors import StateError, closed_on_failure, describe
from arflow.state.fees import FeeRecords
from arflow.state.holds import HoldRecords
from arflow.state.identity import lost, read_id_file, write_id_file
from arflow.state.inbox import InboxRecords
from arflow.state.ledger import LedgerRecords
from arflow.state.payments import PaymentRecords
from arflow.state.plans import PlanRecords
from arflow.state.schema import (
    APPLICATION_ID,
    COMPACTED_SINCE,
    ID_SINCE,
    SCHEMA_VERSION,
    migrate,
)


class StateDB(
    LedgerRecords,
    DeskRecords,
    InboxRecords,
    FeeRecords,
    PaymentRecords,
    PlanRecords,
    HoldRecords,
    DisputeRecords,
):
    """The state database. Opened by `open` (migrates) or `open_readonly` (a dry run)."""

    @classmethod
    def open(cls, path: Path, shown: str | None = None) -> StateDB:
        """The database for writing, created (with its `.id` file) on a folder's first run."""
        shown = shown or str(path)
        known = read_id_file(path, shown)
        if known is not None and not path.exists():
            raise lost(path, shown, "missing")
        # examined before anything is written: a refused file stays as it is
        state, _ = cls._examined(path, shown, known, path)
        conn = state.conn
        with closed_on_failure(conn, path, shown):
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            state_id, version = state._migrate(known)
            state._pin("-wal", "-shm")  # WAL mode made them: they are this database's
            if 0 < version < COMPACTED_SINCE:
                state._compact()
            if state_id != known:
                write_id_file(path, state_id, shown)
        return state

    @classmethod
    def open_readonly(cls, path: Path, shown: str | None = None) -> StateDB | None:
        """The database as it is, for a dry run and the reports: None when there is none yet.
        It refuses exactly what `open` refuses."""
        shown = shown or str(path)
        known = read_id_file(path, shown)
        if not path.exists():
            if known is not None:
                raise lost(path, shown, "missing")
            return None
        state, version = cls._examined(
            path, shown, known, f"{path.resolve().as_uri()}?mode=ro", uri=True
        )
        conn = state.conn
        with closed_on_failure(conn, path, shown):
            if 0 < version < SCHEMA_VERSION:  # written by an older arflow: upgrade it once
                conn.close()
                return cls.open(path, shown)
            if version and state._identify(known) is None:
                raise state._tampered("has no id in its table meta")
        if not version:
            conn.close()
            return None
        return state

    @classmethod
    def _examined(
        cls, path: Path, shown: str, known: str | None, target: str | Path, *, uri: bool = False
    ) -> tuple[StateDB, int]:
        """The file at `path` connected (`target`: the path, or a read-only URI), pinned and
        examined (`identity.StateFile._examine`): (state, schema version)."""
        try:
            conn = sqlite3.connect(target, uri=uri, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise StateError(describe(exc, path, shown)) from None
        state = cls(conn, path, shown)
        with closed_on_failure(conn, path, shown):
            state._pin()
            conn.execute("PRAGMA busy_timeout = 10000")
            return state, state._examine(known)

    def _migrate(self, known: str | None) -> tuple[str, int]:
        """Bring the schema up to date and give a new database its id; returns the id and the
        schema version the database had."""
        with self.transaction() as conn:
            version = self._examine(known)
            migrate(conn, version)
            state_id = self._identify(known)
            if state_id is None:
                if version >= ID_SINCE:
                    raise self._tampered("has no id in its table meta")
                # a new database, or an older arflow's (which had no id): this folder's now
                state_id = known or uuid.uuid4().hex
                conn.execute("INSERT INTO meta (key, value) VALUES ('id', ?)", (state_id,))
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            # a new database, or one an older arflow made: its Message-ID key, from now on
            create_message_key(conn)
        return state_id, version

    def _compact(self) -> None:
        """Give the file's free space back once, after a migration that freed much of it
        (`COMPACTED_SINCE`). Only space: on a full disk it stays free inside the file, which
        the next writes use."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("VACUUM")

    @classmethod
    def in_memory(cls, path: Path, shown: str | None = None, *, copy: bool = True) -> StateDB:
        """A scratch state for `forecast` and `simulate` (SPEC 4.11): the database copied into
        memory (`copy`; empty when there is none, or without `copy`), written as a real run
        writes it and never saved. The file is only read."""
        memory = sqlite3.connect(":memory:", isolation_level=None)
        source = cls.open_readonly(path, shown) if copy else None
        if source is not None:
            try:
                source.conn.backup(memory)
            finally:
                source.close()
        db = cls(memory, path, shown)
        db._migrate(None)  # a new one's tables; a copy's Message-ID key when it had none
        return db

    @classmethod
    def for_dry_run(cls, path: Path, shown: str | None = None) -> DryRunState:
        """The state a dry run plans against: the database as it is (read-only), or an empty
        one in memory when there is none yet. Every write is dropped."""
        db = cls.open_readonly(path, shown)
        if db is None:
            conn = sqlite3.connect(":memory:", isolation_level=None)
            db = cls(conn, path, shown)
            db._migrate(None)
        return DryRunState(db.conn, path, db.shown)


class DryRunState(DryRunWrites, StateDB):
    """A dry run's state (arflow.state.dry): every read of a real run, against a read-only
    connection; every transaction's writes are dropped."""
