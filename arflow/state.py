"""The state database (SPEC 6): the action ledger and the desk's records, in one SQLite file.

Written only by `deliver` and the desk commands, read in bulk (one query per table) before
planning. WAL mode and `synchronous=FULL`: a row committed as `sending` survives a power cut, so
a crash can never lead to a second send. This is the only module that speaks SQL: the raw
connection inside transactions and for the bulk reads the planner needs, sqlite-utils for the
reports that list rows as dicts (`history`, `tasks`).

Words (each means one thing here and in the planner):
- **action key** — (target, workflow, step, action index): one action for one target.
- **target** — what a sequence chases: `invoice:NUMBER`, or `customer:ID@SINCE` for an
  `assigned` sequence (SPEC 4.1).
- **carried out** — an action that happened, or may have: `sending`, `sent`, `unknown`, `done`.
- **settled** — an action key no run attempts again by itself: carried out, a permanent
  failure, or a final skip (`superseded`, `expired`, `baseline` …). A transient failure, a
  retry asked for with `arflow resolve --retry` and a skip for a missing contact stay open.
- **ran** — a step has run for a target once every one of its actions is settled.
- **chased** — a target for which some step's action was carried out; `on_paid` is for it.
- **finished** — a target whose workflow's last step ran; `then:` continues from there.
- **baseline** — an action `arflow run --baseline` settled without sending it.

Identity (SPEC 6 leaves it open; the README's guarantees say what follows from it): a state
database carries a random id (table `meta`, and PRAGMA application_id marks the file as
arflow's), and the file `arflow.db.id` beside it holds the same id from the first run on. A
folder whose `.id` file says it has run refuses a state database that is missing, empty or
another folder's, instead of taking it for a fresh start and sending everything again; and a
run writes only while the path still names the file it opened.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sqlite3
import types
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal, overload

from arflow.channels import Outcome, redact
from arflow.errors import ArflowError
from arflow.planner.plan_types import ActionKey, Assignment, Chase, Hold, PastState, PromisedAmount
from arflow.workflow import Workflow

CARRIED_OUT = frozenset({"sending", "sent", "unknown", "done"})
# skips that a later run within the step's window tries again: the contact may be added
RETRIED_SKIPS = frozenset({"no-email", "no-phone", "no-recipient", "bounced", "contact-gap"})
# the skip reason of what `arflow run --baseline` marked as done without sending it
BASELINE = "baseline"

SCHEMA_VERSION = 5
# "ARFL" in the file's header (offset 68): `file arflow.db` names it, and another program's
# SQLite file is told apart from arflow's
APPLICATION_ID = 0x4152464C
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE actions (
        key TEXT PRIMARY KEY,            -- target/workflow/step/action: the idempotency key
        target TEXT NOT NULL, workflow TEXT NOT NULL, step TEXT NOT NULL,
        action_index INTEGER NOT NULL, kind TEXT NOT NULL, customer_id TEXT NOT NULL,
        invoices TEXT NOT NULL,          -- JSON list of the message's invoice numbers
        as_of TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN
            ('sending', 'sent', 'failed', 'unknown', 'skipped', 'done')),
        reason TEXT, permanent INTEGER NOT NULL DEFAULT 0,
        channel TEXT, recipients TEXT, subject TEXT, message_id TEXT, provider_id TEXT,
        error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE INDEX actions_customer ON actions (customer_id);
    CREATE INDEX actions_state ON actions (state);
    CREATE TABLE assignments (customer_id TEXT PRIMARY KEY, workflow TEXT NOT NULL,
        since TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE statuses (target TEXT PRIMARY KEY, value TEXT NOT NULL, as_of TEXT NOT NULL,
        key TEXT, updated_at TEXT NOT NULL);
    CREATE TABLE tasks (id INTEGER PRIMARY KEY, key TEXT UNIQUE, customer_id TEXT NOT NULL,
        invoices TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL, assignee TEXT,
        due TEXT NOT NULL, created_at TEXT NOT NULL, done_at TEXT);
    CREATE TABLE notes (id INTEGER PRIMARY KEY, key TEXT UNIQUE, customer_id TEXT NOT NULL,
        text TEXT NOT NULL, as_of TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE specialists (customer_id TEXT PRIMARY KEY, person TEXT NOT NULL,
        as_of TEXT NOT NULL, key TEXT, updated_at TEXT NOT NULL);
    CREATE TABLE pauses (id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN
        ('customer', 'invoice')), target_id TEXT NOT NULL, since TEXT NOT NULL, until TEXT,
        reason TEXT, created_at TEXT NOT NULL, resumed_at TEXT);
    CREATE TABLE promises (id INTEGER PRIMARY KEY, invoice TEXT NOT NULL, date TEXT NOT NULL,
        amount TEXT, created_at TEXT NOT NULL, cancelled_at TEXT);
    CREATE TABLE runs (id INTEGER PRIMARY KEY, as_of TEXT NOT NULL, pid INTEGER NOT NULL,
        started_at TEXT NOT NULL, finished_at TEXT, summary TEXT);
    """,
    # `assigned` sequences move out of `assignments`, which keeps only what a person assigned;
    # a promise remembers the balance it was made against
    2: """
    CREATE TABLE sequences (id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL,
        workflow TEXT NOT NULL, since TEXT NOT NULL, started_on TEXT NOT NULL,
        ended_on TEXT, end_reason TEXT);
    CREATE UNIQUE INDEX sequences_active ON sequences (customer_id, workflow)
        WHERE ended_on IS NULL;
    INSERT INTO sequences (customer_id, workflow, since, started_on)
        SELECT customer_id, workflow, since, since FROM assignments WHERE source = 'run';
    CREATE TABLE assignments_by_hand (customer_id TEXT PRIMARY KEY, workflow TEXT NOT NULL,
        since TEXT, source TEXT NOT NULL, created_at TEXT NOT NULL);
    INSERT INTO assignments_by_hand SELECT * FROM assignments WHERE source != 'run';
    DROP TABLE assignments;
    ALTER TABLE assignments_by_hand RENAME TO assignments;
    ALTER TABLE promises ADD COLUMN balance TEXT;
    ALTER TABLE promises ADD COLUMN as_of TEXT;
    """,
    # ID_SINCE: the database's identity; `id` is also in the `.id` file beside it (see the
    # docstring)
    3: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # what an action was about, in words: a campaign's statement and the conditions it met
    4: """
    ALTER TABLE actions ADD COLUMN description TEXT;
    """,
    # SPEC 6.1: each incoming message once (by its Message-ID), where an IMAP folder was read
    # up to, and the addresses that bounced (until the source gives the customer others)
    5: """
    CREATE TABLE inbox (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('reply', 'auto-reply', 'bounce', 'ignored')),
        customer_id TEXT, action_key TEXT, address TEXT, sender TEXT, subject TEXT,
        excerpt TEXT, received TEXT, pause_until TEXT,
        notice INTEGER NOT NULL DEFAULT 0,  -- 1: replies.notify is told of it
        as_of TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE INDEX inbox_customer ON inbox (customer_id);
    CREATE TABLE inbox_folders (folder TEXT PRIMARY KEY, uidvalidity TEXT NOT NULL,
        last_uid INTEGER NOT NULL);
    CREATE TABLE bounced (id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL,
        address TEXT NOT NULL, emails TEXT NOT NULL, since TEXT NOT NULL,
        inbox_id INTEGER NOT NULL, cleared_at TEXT);
    CREATE INDEX actions_message_id ON actions (message_id);
    """,
}
ID_SINCE = 3  # the schema version that gave a database its id
_STATE_ID = re.compile(r"[0-9a-f]{32}")


@functools.cache
def wanted_shape() -> dict[str, frozenset[str]]:
    """table → columns of a database at SCHEMA_VERSION, from the migrations themselves."""
    conn = sqlite3.connect(":memory:")
    for target in sorted(MIGRATIONS):
        conn.executescript(MIGRATIONS[target])
    shape = _table_columns(conn)
    conn.close()
    return {table: frozenset(columns) for table, columns in shape.items()}


def _table_columns(conn: sqlite3.Connection) -> dict[str, set[str]]:
    """table → its columns: one query."""
    shape: dict[str, set[str]] = defaultdict(set)
    for table, column in conn.execute(
        "SELECT m.name, c.name FROM sqlite_master AS m, pragma_table_info(m.name) AS c "
        "WHERE m.type = 'table'"
    ):
        shape[table].add(column)
    return shape


# --- the rules of the action ledger, one function each (see the words above) -----------------
def carried_out(state: str) -> bool:
    """The action happened, or may have: its target counts as chased (SPEC 4.7)."""
    return state in CARRIED_OUT


def settled(state: str, reason: str | None, permanent: bool) -> bool:
    """No run attempts this action key again by itself (SPEC 4.3, 6)."""
    if state == "failed":
        return permanent  # SMTP 5xx, an invalid number: final; a 4xx is retried
    if state == "skipped":
        return reason not in RETRIED_SKIPS
    return carried_out(state)


def step_ran(settled_actions: int, actions: int) -> bool:
    """A step has run for a target once every one of its actions is settled."""
    return settled_actions >= actions


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_MARK = (
    "INSERT INTO actions (key, target, workflow, step, action_index, kind, customer_id, "
    "invoices, as_of, state, reason, permanent, channel, recipients, subject, description, "
    "message_id, provider_id, error, attempts, created_at, updated_at) "
    "VALUES (:key, :target, :workflow, :step, :action_index, :kind, :customer_id, "
    ":invoices, :as_of, :state, NULL, :permanent, :channel, :recipients, :subject, "
    ":description, :message_id, :provider_id, :error, :attempt, :now, :now) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, reason = NULL, "
    "permanent = excluded.permanent, channel = excluded.channel, "
    "recipients = excluded.recipients, subject = excluded.subject, "
    "description = excluded.description, "
    "message_id = excluded.message_id, provider_id = excluded.provider_id, "
    "error = excluded.error, as_of = excluded.as_of, "
    "attempts = actions.attempts + :attempt, updated_at = excluded.updated_at"
)


def marks(rows: list[dict], state: str, outcome: Outcome | None = None) -> list[dict]:
    """The parameters that write the keys of one action in `state` (`StateDB.write_marks`)."""
    now = utc_now()
    attempt = 1 if state == "sending" else 0
    permanent = int(bool(outcome and outcome.permanent))
    provider_id = outcome.provider_id if outcome else None
    error = redact(outcome.error) if outcome and outcome.error else None
    return [
        {
            **row,
            "state": state,
            "now": now,
            "attempt": attempt,
            "permanent": permanent,
            "provider_id": provider_id,
            "error": error,
        }
        for row in rows
    ]


class StateError(ArflowError):
    """The state database cannot be used as it is; the message names the file and the fix."""


class StateMoved(StateError):
    """The state database's path no longer names the file a command opened (deleted or
    replaced while in use)."""


def id_path(state_path: Path) -> Path:
    """The `.id` file beside a state database: its id, from the first run on."""
    return state_path.with_name(state_path.name + ".id")


def _read_id_file(path: Path, shown: str) -> str | None:
    """The id in `path`'s `.id` file; None when there is none (this folder never ran)."""
    marker = id_path(path)
    try:
        text = marker.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not an arflow id"
        raise StateError(
            f"cannot read {shown}.id ({why}); it holds the id of {shown}: restore "
            f"it from your backup, or delete it if {shown} is this folder's own "
            "(the next run writes it again)"
        ) from None
    if not _STATE_ID.fullmatch(text):
        raise StateError(
            f"{shown}.id does not hold an arflow state id ({text[:40]!r}): it was "
            f"changed outside arflow; restore it from your backup, or delete it if "
            f"{shown} is this folder's own (the next run writes it again)"
        )
    return text


def _write_id_file(path: Path, state_id: str, shown: str) -> None:
    """Write the `.id` file beside, then rename it into place: never half an id."""
    marker = id_path(path)
    temp = marker.with_name(marker.name + ".tmp")
    try:
        with open(temp, "w", encoding="ascii") as handle:
            handle.write(state_id + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, marker)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise StateError(
            f"cannot write {shown}.id ({exc.strerror}): arflow keeps the id of "
            f"{shown} there; let the user running arflow write to its folder"
        ) from None


def _lost(path: Path, shown: str, how: str) -> StateError:
    """The refusal for a folder that ran before and whose state database is gone."""
    saved = sorted(
        p
        for p in path.parent.glob(path.name + ".rescued-*")
        if not p.name.endswith(("-wal", "-shm", ".id"))
    )
    hint = (
        (
            f" ({shown}{saved[-1].name[len(path.name) :]} holds what an interrupted run "
            f"saved: move it back to {shown})"
        )
        if saved
        else ""
    )
    wal = path.with_name(path.name + "-wal")
    if how == "missing" and wal.exists() and wal.stat().st_size:
        hint += (
            f" after moving {shown}-wal and {shown}-shm aside (they belong to the lost "
            "file, and SQLite would replay them into the one put back)"
        )
    return StateError(
        f"{shown} is {how}, but {shown}.id shows this folder has run before: "
        f"restore {shown} from your backup{hint}; to start over on purpose run "
        "`arflow state init --force`"
    )


def _read_only(path: Path, shown: str) -> list[str]:
    """Which of the database, its -wal and -shm files and their folder arflow cannot write."""
    names = []
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists() and not os.access(candidate, os.W_OK):
            names.append(shown + suffix)
    if not os.access(path.parent, os.W_OK):
        names.append(f"the folder of {shown}")
    return names


def describe(exc: sqlite3.Error, path: Path, shown: str) -> str:
    """What a SQLite error on the state database means, and what to do: one line."""
    code = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if code.startswith("SQLITE_FULL"):
        return (
            f"cannot write {shown}: the disk it is on is full ({text}); free some space "
            "there, then run again"
        )
    if code.startswith("SQLITE_READONLY"):
        stuck = _read_only(path, shown)
        if any(name.endswith(("-wal", "-shm")) for name in stuck):
            return (
                f"cannot write {shown}: {' and '.join(stuck)} beside it "
                f"{'is' if len(stuck) == 1 else 'are'} read-only for arflow ({text}); a run "
                "as another user (or one that crashed) left them: give them to the user "
                "running arflow (chown, chmod u+w), then run again"
            )
        return (
            f"cannot write {shown}: {' and '.join(stuck) or 'it'} "
            f"{'are' if len(stuck) > 1 else 'is'} read-only for arflow ({text}); check the "
            "permissions and that its disk is not mounted read-only, then run again"
        )
    if code == "SQLITE_NOTADB":
        return (
            f"{shown} is not an arflow state database: it is not a SQLite file at all "
            f"({text}); restore it from your backup, or point `state:` in arflow.yaml at "
            "another file"
        )
    if code.startswith("SQLITE_CORRUPT"):
        return (
            f"{shown} is damaged ({text}): it was changed outside arflow or by a failing "
            "disk; restore it from your backup"
        )
    if code.startswith("SQLITE_CANTOPEN"):
        return (
            f"cannot open {shown} ({text}): check that its folder exists and that arflow "
            "may write there"
        )
    if code.startswith("SQLITE_IOERR"):
        return f"cannot read or write {shown} ({text}): check the disk it is on, then run again"
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return (
            f"{shown} is locked by another program ({text}): close it (a sqlite3 shell, a "
            "backup tool), then run again"
        )
    return (
        f"{shown} is not as arflow wrote it ({text}): it was changed outside arflow; "
        "restore it from your backup"
    )


def _named_errors(cls):
    """Every public method of `cls` turns a SQLite error into a StateError that names the file
    and the fix (a damaged page is only found when a query reaches it)."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not isinstance(member, types.FunctionType):
            continue

        def guarded(self, *args, _method=member, **kwargs):
            try:
                return _method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise StateError(describe(exc, self.path, self.shown)) from None

        setattr(cls, name, functools.wraps(member)(guarded))
    return cls


@_named_errors
class StateDB:
    """The state database. Opened by `open` (migrates) or `open_readonly` (a dry run)."""

    records = True  # False for a dry run's state: its transactions write nothing

    def __init__(self, conn: sqlite3.Connection, path: Path, shown: str | None = None):
        self.conn = conn
        self.path = path
        self.shown = shown or str(path)  # how messages name it: relative to the AR folder
        # (st_dev, st_ino) of the files opened: "" the database, "-wal" and "-shm" beside it
        self._inodes: dict[str, tuple[int, int]] = {}
        self._rescued: Path | None = None

    @cached_property
    def db(self):
        """sqlite-utils over the same connection, for the reports (`history`); imported only
        when one is asked for, which keeps 50 ms off every nightly run."""
        from sqlite_utils import Database

        return Database(self.conn)

    # --- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, shown: str | None = None) -> StateDB:
        """The database for writing, created (with its `.id` file) on a folder's first run."""
        shown = shown or str(path)
        known = _read_id_file(path, shown)
        if known is not None and not path.exists():
            raise _lost(path, shown, "missing")
        try:
            conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise StateError(describe(exc, path, shown)) from None
        state = cls(conn, path, shown)
        with _closed_on_failure(conn, path, shown):
            state._pin()
            conn.execute("PRAGMA busy_timeout = 10000")
            state._examine(known)  # before anything is written: a refused file stays as it is
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            state_id = state._migrate(known)
            state._pin("-wal", "-shm")  # WAL mode made them: they are this database's
            if state_id != known:
                _write_id_file(path, state_id, shown)
        return state

    @classmethod
    def open_readonly(cls, path: Path, shown: str | None = None) -> StateDB | None:
        """The database as it is, for a dry run and the reports: None when there is none yet.
        It refuses exactly what `open` refuses."""
        shown = shown or str(path)
        known = _read_id_file(path, shown)
        if not path.exists():
            if known is not None:
                raise _lost(path, shown, "missing")
            return None
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise StateError(describe(exc, path, shown)) from None
        state = cls(conn, path, shown)
        with _closed_on_failure(conn, path, shown):
            state._pin()
            conn.execute("PRAGMA busy_timeout = 10000")
            version = state._examine(known)
            if 0 < version < SCHEMA_VERSION:  # written by an older arflow: upgrade it once
                conn.close()
                return cls.open(path, shown)
            if version and state._identify(known) is None:
                raise state._tampered("has no id in its table meta")
        if not version:
            conn.close()
            return None
        return state

    def _pin(self, *suffixes: str) -> None:
        for suffix in suffixes or ("",):
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(self.path.with_name(self.path.name + suffix))
                self._inodes[suffix] = (st.st_dev, st.st_ino)

    def _inode(self, suffix: str = "") -> tuple[int, int] | None:
        """(st_dev, st_ino) of what the path (with `suffix`) names now; None: nothing."""
        try:
            st = os.stat(self.path.with_name(self.path.name + suffix))
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _examine(self, known: str | None) -> int:
        """Before migrating: refuse a file that is not this folder's arflow state. Returns its
        schema version (0: a new, empty database)."""
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the state database {self.shown} was written by a newer arflow "
                f"(schema {version}, this one knows {SCHEMA_VERSION}); upgrade "
                "arflow before running it on this folder"
            )
        tables = self._tables()
        application = self.conn.execute("PRAGMA application_id").fetchone()[0]
        if (version == 0 and tables) or application not in (0, APPLICATION_ID):
            listed = ", ".join(sorted(tables)[:5]) or "none"
            raise StateError(
                f"{self.shown} is another program's SQLite database (tables: "
                f"{listed}), not an arflow state database: point `state:` in "
                "arflow.yaml at another file, or move it away"
            )
        if version == 0 and known is not None:
            raise _lost(self.path, self.shown, "empty")
        return version

    def _identify(self, known: str | None) -> str | None:
        """After migrating: every table and column is there and the id is this folder's
        (None: the database has no id yet)."""
        # a table or column missing: the file was changed by hand
        shape, wanted = _table_columns(self.conn), wanted_shape()
        missing = [f"table {t}" for t in sorted(wanted) if t not in shape] + [
            f"column {t}.{c}"
            for t, columns in sorted(wanted.items())
            if t in shape
            for c in sorted(columns)
            if c not in shape[t]
        ]
        if missing:
            raise self._tampered(
                f"has no {', no '.join(missing)} (arflow keeps "
                f"{'them' if len(missing) > 1 else 'it'})"
            )
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'id'").fetchone()
        if row is None:
            return None
        if known is not None and row[0] != known:
            raise StateError(
                f"{self.shown} is another folder's state database (its id "
                f"{str(row[0])[:8]}… is not the {known[:8]}… in {self.shown}.id): "
                f"restore this folder's {self.shown} from your backup; to start "
                "over on purpose run `arflow state init --force`"
            )
        return str(row[0])

    def _tables(self) -> set[str]:
        return {
            name
            for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }

    def _tampered(self, what: str) -> StateError:
        return StateError(
            f"{self.shown} {what}: the file was changed outside arflow; restore it from your backup"
        )

    def _migrate(self, known: str | None) -> str:
        """Bring the schema up to date and give a new database its id; returns the id."""
        with self.transaction() as conn:
            version = self._examine(known)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")
            state_id = self._identify(known)
            if state_id is None:
                if version >= ID_SINCE:
                    raise self._tampered("has no id in its table meta")
                # a new database, or an older arflow's (which had no id): this folder's now
                state_id = known or uuid.uuid4().hex
                conn.execute("INSERT INTO meta (key, value) VALUES ('id', ?)", (state_id,))
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        return state_id

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
        if source is None:
            db._migrate(None)
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

    def close(self) -> None:
        self.conn.close()

    def ensure_in_place(self) -> None:
        """Raise StateMoved when the path no longer names the file this connection writes
        (deleted, or replaced by another file), after saving what it holds beside. One stat:
        a file held open cannot hand its inode number to another."""
        if "" not in self._inodes:
            return  # in memory
        here = self._inode()
        if here == self._inodes[""]:
            return
        what = "was deleted" if here is None else "was replaced by another file"
        try:
            saved = self._rescue()
        except (OSError, sqlite3.Error) as exc:
            raise StateMoved(
                f"{self.shown} {what} while arflow was using it, and what arflow "
                f"had recorded could not be saved beside it ({exc}); restore "
                f"{self.shown} from your backup"
            ) from None
        name = self.shown + saved.name[len(self.path.name) :]
        put_back = (
            f"put it back (`mv {name} {self.shown}`)"
            if here is None
            else f"set the new {self.shown} aside and put {name} in its place"
        )
        raise StateMoved(
            f"{self.shown} {what} while arflow was using it; what arflow had "
            f"recorded is saved in {name}: {put_back}, then run again"
        )

    def _rescue(self) -> Path:
        """Copy what this connection holds to a new file beside the lost one (once), and move
        the lost one's -wal and -shm files aside: SQLite would replay them into whatever file
        takes the name next (a backup put back, say)."""
        if self._rescued is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            target = self.path.with_name(f"{self.path.name}.rescued-{stamp}")
            n = 1
            while target.exists():
                n += 1
                target = self.path.with_name(f"{self.path.name}.rescued-{stamp}-{n}")
            copy = sqlite3.connect(target)
            try:
                self.conn.backup(copy)
            finally:
                copy.close()
            self._rescued = target
            for suffix in ("-wal", "-shm"):
                if suffix in self._inodes and self._inode(suffix) == self._inodes[suffix]:
                    os.replace(
                        self.path.with_name(self.path.name + suffix),
                        target.with_name(f"{target.name}.lost{suffix}"),
                    )
        return self._rescued

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

    # --- reading, in bulk ----------------------------------------------------------------------
    def past_state(
        self, workflows: dict[str, Workflow], as_of: date, step_dates: dict | None = None
    ) -> PastState:
        """Everything the planner needs, one query per table (never one per invoice).
        `step_dates`, when given, is filled with (target, workflow, step) → the day it ran."""
        settled_keys: set[ActionKey] = set()
        per_step: dict[tuple[str, str, str], list] = {}
        chased: dict[tuple[str, str], Chase] = {}
        counts = {
            (wid, s.step_id): len(s.actions) for wid, wf in workflows.items() for s in wf.steps
        }
        # a campaign's steps are its occurrences: each has all of the campaign's actions
        campaigns = {wid: len(wf.actions) for wid, wf in workflows.items() if wf.is_campaign}
        for target, wid, step, index, state, reason, permanent, day, invoices in self.conn.execute(
            "SELECT target, workflow, step, action_index, state, reason, "
            "permanent, as_of, invoices FROM actions"
        ):
            if settled(state, reason, bool(permanent)):
                settled_keys.add(ActionKey(target, wid, step, index))
                if index >= counts.get((wid, step), campaigns.get(wid, 0)):
                    # on_paid and notices are no step of the sequence; an action index the
                    # step no longer has (its workflow was edited) does not make it run
                    continue
                found = per_step.get((target, wid, step))
                if found is None:
                    per_step[(target, wid, step)] = [1, day]
                else:
                    found[0] += 1
                    found[1] = max(found[1], day)
                if carried_out(state) and wid not in campaigns:
                    # a statement chases nobody: campaigns have no on_paid (SPEC 4.7, 4.10)
                    day_ran = date.fromisoformat(day)
                    before = chased.get((target, wid))
                    # an invoice target is its own invoice; a sequence lists the customer's
                    numbers = (
                        frozenset(json.loads(invoices))
                        if target.startswith("customer:")
                        else frozenset()
                    )
                    if before is None:
                        chased[(target, wid)] = Chase(day_ran, numbers)
                    else:
                        chased[(target, wid)] = Chase(
                            max(before.day, day_ran), before.invoices | numbers
                        )
        # a step has run for a target once every one of its actions is settled; a workflow is
        # finished for the target once its last step has
        last = {wid: wf.ordered_steps()[-1].step_id for wid, wf in workflows.items() if wf.steps}
        ran: dict[tuple[str, str], set[str]] = defaultdict(set)
        finished: dict[tuple[str, str], date] = {}
        for (target, wid, step), (n, day) in per_step.items():
            if step_ran(n, counts.get((wid, step)) or campaigns[wid]):
                ran[(target, wid)].add(step)
                if step_dates is not None:
                    step_dates[(target, wid, step)] = date.fromisoformat(day)
                if last.get(wid) == step:
                    finished[(target, wid)] = date.fromisoformat(day)
        past = PastState(ran=dict(ran), finished=finished, chased=chased, settled=settled_keys)
        for cid, wid, since in self.conn.execute(
            "SELECT customer_id, workflow, since FROM assignments"
        ):
            past.assignments[cid] = Assignment(wid, date.fromisoformat(since) if since else None)
        for cid, wid, since, ended, why in self.conn.execute(
            "SELECT customer_id, workflow, since, ended_on, end_reason FROM sequences ORDER BY id"
        ):
            if ended is None:
                past.sequences[(cid, wid)] = date.fromisoformat(since)
            elif why == "paid":  # a paid-up customer that falls behind again starts afresh
                past.ended[(cid, wid)] = date.fromisoformat(ended)
        for pause_id, kind, target_id, reason, until, since in self.conn.execute(
            "SELECT id, kind, target_id, reason, until, since FROM pauses WHERE resumed_at "
            "IS NULL AND (until IS NULL OR until >= ?) ORDER BY id",
            (as_of.isoformat(),),
        ):
            (past.paused_customers if kind == "customer" else past.paused_invoices).add(target_id)
            past.holds.append(
                Hold(
                    kind,
                    pause_id,
                    target_id,
                    reason,
                    date.fromisoformat(until) if until else None,
                    date.fromisoformat(since),
                )
            )
        for promise_id, invoice, promised, amount, balance in self.conn.execute(
            "SELECT id, invoice, date, amount, balance FROM promises "
            "WHERE cancelled_at IS NULL ORDER BY date, id"
        ):
            day = date.fromisoformat(promised)
            past.promises[invoice] = day  # the latest promise is the one that counts
            if amount is not None and balance is not None:
                past.promised_amounts[invoice] = PromisedAmount(Decimal(amount), Decimal(balance))
            else:
                past.promised_amounts.pop(invoice, None)
            if as_of <= day:
                past.holds.append(Hold("promise", promise_id, invoice, None, day))
        return past

    def history(
        self, customer: str | None = None, since: date | None = None, unknown_only: bool = False
    ) -> list[dict]:
        where, args = _customer_since(customer, since)
        if unknown_only:
            where.append("state = 'unknown'")
        rows = self.db["actions"].rows_where(
            " AND ".join(where) or None, args, order_by="as_of, customer_id, workflow, key"
        )
        return [_decode(row) for row in rows]

    def action(self, key: str) -> dict | None:
        rows = list(self.db["actions"].rows_where("key = ?", [key]))
        return _decode(rows[0]) if rows else None

    # --- writing, in the order SPEC 6 demands -------------------------------------------------
    def recover_interrupted(self) -> int:
        """`sending` rows left by a run that died: their outcome is unknown, never resent."""
        with self.transaction() as conn:
            return conn.execute(
                "UPDATE actions SET state = 'unknown', updated_at = ?, error = "
                "'the run stopped while this message was being handed over; check with the "
                "recipient, then `arflow resolve KEY --sent` or `--retry`' "
                "WHERE state = 'sending'",
                (utc_now(),),
            ).rowcount

    def begin_run(self, as_of: date) -> int:
        with self.transaction() as conn:
            return _row_id(
                conn.execute(
                    "INSERT INTO runs (as_of, pid, started_at) VALUES (?, ?, ?)",
                    (as_of.isoformat(), os.getpid(), utc_now()),
                )
            )

    def finish_run(self, run_id: int, summary: dict) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?",
                (utc_now(), json.dumps(summary), run_id),
            )

    def record_sequences(
        self, started: dict[tuple[str, str], date], ended: dict[tuple[str, str], str], as_of: date
    ) -> None:
        """`assigned` sequences that began today, and those that ended (SPEC 4.5, 4.7)."""
        if not started and not ended:
            return
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE sequences SET ended_on = ?, end_reason = ? WHERE customer_id = ? "
                "AND workflow = ? AND ended_on IS NULL",
                [(as_of.isoformat(), why, cid, wid) for (cid, wid), why in ended.items()],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO sequences (customer_id, workflow, since, started_on) "
                "VALUES (?, ?, ?, ?)",
                [
                    (cid, wid, since.isoformat(), as_of.isoformat())
                    for (cid, wid), since in started.items()
                ],
            )

    def record_skips(self, rows: Iterable[dict]) -> None:
        """Skipped keys, in one transaction; a key already settled keeps its record."""
        now = utc_now()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO actions (key, target, workflow, step, action_index, kind, "
                "customer_id, invoices, as_of, state, reason, created_at, updated_at) "
                "VALUES (:key, :target, :workflow, :step, :action_index, :kind, :customer_id, "
                ":invoices, :as_of, 'skipped', :reason, :now, :now) "
                "ON CONFLICT (key) DO UPDATE SET state = 'skipped', reason = excluded.reason, "
                "as_of = excluded.as_of, updated_at = excluded.updated_at "
                "WHERE actions.state = 'skipped' OR (actions.state = 'failed' "
                "AND actions.permanent = 0)",
                [{**row, "now": now} for row in rows],
            )

    @staticmethod
    def write_marks(conn: sqlite3.Connection, params: list[dict]) -> None:
        """Write rows made by `marks`, inside the caller's transaction."""
        conn.executemany(_MARK, params)

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
        now = utc_now()
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
            return _row_id(
                conn.execute(
                    "INSERT INTO pauses (kind, target_id, since, until, reason, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        kind,
                        target_id,
                        today.isoformat(),
                        until.isoformat() if until else None,
                        reason,
                        utc_now(),
                    ),
                )
            )

    def resume(self, kind: str, target_id: str) -> tuple[int, int]:
        """End the pauses of a customer or an invoice (and an invoice's open promises):
        (pauses ended, promises cancelled)."""
        now = utc_now()
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
            return _row_id(
                conn.execute(
                    "INSERT INTO promises (invoice, date, amount, balance, as_of, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        invoice,
                        day.isoformat(),
                        str(amount) if amount is not None else None,
                        str(balance),
                        today.isoformat(),
                        utc_now(),
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
        where, args = [], []
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
                (utc_now(), task_id),
            )

    def has_carried_out(self) -> bool:
        """Whether any action was carried out (sent, done, …) from this state."""
        states = sorted(CARRIED_OUT)
        return (
            self.conn.execute(
                f"SELECT 1 FROM actions WHERE state IN ({', '.join('?' * len(states))}) LIMIT 1",
                states,
            ).fetchone()
            is not None
        )

    def knows_customer(self, customer_id: str) -> bool:
        """Whether the action ledger has anything for this customer."""
        return (
            self.conn.execute(
                "SELECT 1 FROM actions WHERE customer_id = ? LIMIT 1", (customer_id,)
            ).fetchone()
            is not None
        )

    def resolve(self, key: str, sent: bool) -> dict:
        """A person settles an `unknown` (or failed) outcome: sent, or tried again."""
        row = self.action(key)
        if row is None:
            raise ArflowError(
                f"no action with key {key!r}; `arflow history --unknown` lists "
                "the keys that need a decision"
            )
        if row["state"] not in ("unknown", "failed"):
            raise ArflowError(f"{key} is {row['state']}, not unknown or failed: nothing to resolve")
        with self.transaction() as conn:
            if sent:
                conn.execute(
                    "UPDATE actions SET state = 'sent', permanent = 0, error = "
                    "'marked sent by hand', updated_at = ? WHERE key = ?",
                    (utc_now(), key),
                )
            else:
                conn.execute(
                    "UPDATE actions SET state = 'failed', permanent = 0, error = "
                    "'retry asked for by hand', updated_at = ? WHERE key = ?",
                    (utc_now(), key),
                )
        return {**row, **(self.action(key) or {})}

    # --- the inbox (SPEC 6.1) -----------------------------------------------------------------
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
                "state IN ('sending', 'sent', 'unknown')",
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
                    utc_now(),
                ),
            )
            # 0: known already (or a dry run's dropped write): it changes nothing again
            inbox_id = _row_id(cursor) if cursor.rowcount == 1 else 0
            if inbox_id and event["kind"] == "reply" and event.get("pause_until"):
                conn.execute(
                    "INSERT INTO pauses (kind, target_id, since, until, reason, "
                    "created_at) VALUES ('customer', ?, ?, ?, 'replied', ?)",
                    (event["customer_id"], as_of.isoformat(), event["pause_until"], utc_now()),
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
                    [(utc_now(), row_id) for row_id in ids],
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
        where, args = _customer_since(customer, since)
        where.append(f"kind IN ({', '.join('?' * len(kinds))})")
        args += kinds
        return list(self.db["inbox"].rows_where(" AND ".join(where), args, order_by="id"))

    def notices_due(self) -> list[dict]:
        """Replies and new bounces whose notice to `replies.notify` has not gone yet."""
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

    def last_contacts(self) -> dict[str, date]:
        """Each customer's last day a customer-facing message (email, SMS) went, or may have."""
        return {
            cid: date.fromisoformat(day)
            for cid, day in self.conn.execute(
                "SELECT customer_id, MAX(as_of) FROM actions WHERE kind IN ('email', 'sms') AND "
                "state IN ('sending', 'sent', 'unknown') GROUP BY customer_id"
            )
        }

    def workflows_run(self) -> set[tuple[str, str]]:
        """(workflow, step) of every step the action ledger has anything for."""
        return set(self.conn.execute("SELECT DISTINCT workflow, step FROM actions"))


def _customer_since(customer: str | None, since: date | None) -> tuple[list[str], list]:
    """The WHERE terms (and their values) of a customer's rows from a day on."""
    where: list[str] = []
    args: list = []
    if customer is not None:
        where.append("customer_id = ?")
        args.append(customer)
    if since is not None:
        where.append("as_of >= ?")
        args.append(since.isoformat())
    return where, args


def notice_key(row: dict) -> ActionKey:
    """The idempotency key of the notice about an incoming message (SPEC 6.1)."""
    return ActionKey(f"customer:{row['customer_id']}", "inbox", f"{row['kind']}-{row['id']}", 0)


def _row_id(cursor: sqlite3.Cursor) -> int:
    """The id an INSERT gave its row (0 for a dry run's dropped one)."""
    return cursor.lastrowid or 0


class _DroppedWrites:
    """The connection a dry run's transactions hand out: each statement is dropped."""

    rowcount = 0
    lastrowid = 0

    def execute(self, *args) -> _DroppedWrites:
        return self

    executemany = execute


class DryRunState(StateDB):
    """A dry run's state (STYLE 4: the same pipeline, nothing recorded): every read of a real
    run, against a read-only connection; every transaction's writes are dropped."""

    records = False

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        yield _DroppedWrites()  # type: ignore[misc]

    def recover_interrupted(self) -> int:
        """How many `sending` rows a real run would turn `unknown` now (nothing changes)."""
        return self.conn.execute("SELECT count(*) FROM actions WHERE state = 'sending'").fetchone()[
            0
        ]


def _decode(row: dict) -> dict:
    row = dict(row)
    if row["state"] == "skipped" and row["reason"] == BASELINE:
        row["state"] = BASELINE  # recorded by `arflow run --baseline`: done, never sent
    for name in ("invoices", "recipients"):
        if row.get(name):
            row[name] = json.loads(row[name])
    row["permanent"] = bool(row.get("permanent"))
    return row


@contextmanager
def _closed_on_failure(conn: sqlite3.Connection, path: Path, shown: str) -> Iterator[None]:
    """Opening a database: whatever goes wrong closes the connection; a SQLite error becomes
    a StateError that names the file."""
    try:
        yield
    except sqlite3.Error as exc:
        conn.close()
        raise StateError(describe(exc, path, shown)) from None
    except BaseException:
        conn.close()
        raise


def lock_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock")


@contextmanager
def run_lock(state_path: Path) -> Iterator[None]:
    """One run at a time (SPEC 6): an flock on a file beside the database, released by the OS
    when the process dies, so a crash never leaves a stale lock behind."""
    import fcntl

    path = lock_path(state_path)
    try:
        handle = open(path, "a+")  # noqa: SIM115 - held open for as long as the run lasts
    except OSError as exc:
        raise ArflowError(f"cannot create the lock file {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            raise ArflowError(
                f"another arflow run is in progress ({holder or 'lock ' + str(path)}); "
                "nothing was sent. Wait for it to finish, then run again."
            ) from None
        # who holds it, for the message above; the flock is what counts (a full disk may
        # refuse these few bytes and the run still goes on, to report its own problem)
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {utc_now()}\n")
            handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):  # the holder text that could not be written
            handle.close()


StateMode = Literal["run", "write", "read", "dry"]


@overload
def open_state(
    path: Path, shown: str, mode: Literal["run", "write", "dry"]
) -> AbstractContextManager[StateDB]: ...
@overload
def open_state(
    path: Path, shown: str, mode: Literal["read"]
) -> AbstractContextManager[StateDB | None]: ...
def open_state(path: Path, shown: str, mode: StateMode) -> AbstractContextManager[StateDB | None]:
    """The state database opened in a mode and closed after, whatever happens:

    - `run`: for writing, under the run lock (a run, a baseline, the inbox, `resolve`);
    - `write`: for writing, without the lock (the desk's small writes, SQLite serialises them);
    - `read`: as it is, read-only; None when there is none yet (reports, history);
    - `dry`: what a dry run plans against; every write is dropped."""
    return _opened(path, shown, mode)


@contextmanager
def _opened(path: Path, shown: str, mode: StateMode) -> Iterator[StateDB | None]:
    with run_lock(path) if mode == "run" else contextlib.nullcontext():
        if mode in ("run", "write"):
            db: StateDB | None = StateDB.open(path, shown)
        elif mode == "read":
            db = StateDB.open_readonly(path, shown)
        else:
            db = StateDB.for_dry_run(path, shown)
        try:
            yield db
        finally:
            if db is not None:
                db.close()


def start_over(
    path: Path, stamp: str, force: bool, shown: str | None = None
) -> tuple[StateDB, list[tuple[Path, Path]]]:
    """`arflow state init`: a new, empty state database with a new id. With `force`, the old
    database (with its -wal and -shm files) and its `.id` file are first renamed aside with an
    `.archived-STAMP` suffix, which keeps them a complete state database: nothing is deleted.
    Returns the new database and the (old, new) names. Run it under `run_lock`."""
    shown = shown or str(path)
    archive = path.with_name(f"{path.name}.archived-{stamp}")
    n = 1
    while archive.exists() or id_path(archive).exists():
        n += 1
        archive = path.with_name(f"{path.name}.archived-{stamp}-{n}")
    moves = [
        (path.with_name(path.name + suffix), archive.with_name(archive.name + suffix))
        for suffix in ("", "-wal", "-shm", ".id")
    ]
    present = [(old, new) for old, new in moves if old.exists()]
    if present and not force:
        raise StateError(
            f"{shown} already holds this folder's state (or {shown}.id says it "
            "did); nothing was changed. To start over on purpose, add --force: "
            "the old files are kept aside, never deleted"
        )
    for n, (old, new) in enumerate(present):
        try:
            os.rename(old, new)
        except OSError as exc:
            done = ", ".join(f"{a.name} to {b.name}" for a, b in present[:n]) or "nothing"
            raise StateError(
                f"cannot move {old.name} aside to {new.name} ({exc.strerror}); moved so far: {done}"
            ) from None
    return StateDB.open(path, shown), present
