"""What every part of `StateDB` shares: the connection's transactions, the reports' view of it
(sqlite-utils) and a few row helpers. The ledger, desk and inbox records are mixins on
`StateBase`; `arflow.state.db` puts them together."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

from arflow.state.errors import StateError, describe, named_errors
from arflow.state.identity import StateFile

if TYPE_CHECKING:
    from sqlite_utils import Database


@named_errors
class StateBase(StateFile):
    """The state database's connection, for its records: committed transactions into the file
    at the path only."""

    records = True  # False for a dry run's state: its transactions write nothing

    @cached_property
    def db(self) -> Database:
        """sqlite-utils over the same connection, for the reports (`history`); imported only
        when one is asked for, which keeps 50 ms off every nightly run."""
        from sqlite_utils import Database

        return Database(self.conn)

    def close(self) -> None:
        self.conn.close()

    def message_key(self) -> bytes:
        """The key of this database's Message-IDs: every writer's open creates it
        (`StateDB.open`), so a database written to has one."""
        key = stored_message_key(self.conn)
        if key is None:
            raise self._tampered(f"has no {MESSAGE_KEY} in its table meta")
        return key

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction (BEGIN IMMEDIATE: writers queue instead of failing), into
        the file at the path only; a SQLite error becomes a StateError naming the fix."""
        self.ensure_in_place()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self._roll_back()
                raise
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            # SQLite rolls back by itself on a full disk, but advises a ROLLBACK for the
            # errors (SQLITE_BUSY, SQLITE_IOERR) after which it may not have
            self._roll_back()
            raise StateError(describe(exc, self.path, self.shown)) from None

    def _roll_back(self) -> None:
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                self.conn.execute("ROLLBACK")


# SPEC 6: the secret in table `meta` that keys the Message-IDs of this database's emails
# (`message_names.message_id`), so that only an email arflow sent can be answered; never shown
MESSAGE_KEY = "message_key"


def create_message_key(conn: sqlite3.Connection) -> None:
    """Give a database its Message-ID key, once (a database that has one keeps it)."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        (MESSAGE_KEY, secrets.token_hex(32)),
    )


def stored_message_key(conn: sqlite3.Connection) -> bytes | None:
    """The database's Message-ID key; None when it has none yet (an older arflow made it and
    no writer opened it since)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (MESSAGE_KEY,)).fetchone()
    return str(row[0]).encode() if row is not None else None


def customer_since(customer: str | None, since: date | None) -> tuple[list[str], list[Any]]:
    """The WHERE terms (and their values) of a customer's rows from a day on."""
    where: list[str] = []
    args: list[Any] = []
    if customer is not None:
        where.append("customer_id = ?")
        args.append(customer)
    if since is not None:
        where.append("as_of >= ?")
        args.append(since.isoformat())
    return where, args


def row_id(cursor: sqlite3.Cursor) -> int:
    """The id an INSERT gave its row (0 for a dry run's dropped one)."""
    return cursor.lastrowid or 0
