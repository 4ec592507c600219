"""The state database's tables (SPEC 6): the schema version, the migrations that build it, and
the shape (table → columns) a database at that version has.

`MIGRATIONS` maps each schema version to the SQL that brings a database from the version before
up to it; a database records its version in PRAGMA user_version. A migration is only ever
added, never changed: a database written by an older arflow is brought up to date by running
the ones after its version (`migrate`), inside the caller's transaction.
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
from collections import defaultdict

SCHEMA_VERSION = 11
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
    # ID_SINCE: the database's identity; `id` is also in the `.id` file beside it (see
    # identity.py)
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
    # an action's invoice list (JSON) is kept once in `invoice_lists`, found by its digest
    # (`list_digest`), and each action key points at it: a message about 2,000 invoices held
    # the list of 2,000 once per key. `actions` is built again (SQLite before 3.35 cannot drop
    # a column), its columns in their order, `invoice_list` where `invoices` was
    6: """
    CREATE TABLE invoice_lists (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE,
        invoices TEXT NOT NULL);
    INSERT OR IGNORE INTO invoice_lists (digest, invoices)
        SELECT arflow_list_digest(invoices), invoices FROM actions;
    CREATE TABLE actions_6 (
        key TEXT PRIMARY KEY,
        target TEXT NOT NULL, workflow TEXT NOT NULL, step TEXT NOT NULL,
        action_index INTEGER NOT NULL, kind TEXT NOT NULL, customer_id TEXT NOT NULL,
        invoice_list INTEGER NOT NULL REFERENCES invoice_lists (id),
        as_of TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN
            ('sending', 'sent', 'failed', 'unknown', 'skipped', 'done')),
        reason TEXT, permanent INTEGER NOT NULL DEFAULT 0,
        channel TEXT, recipients TEXT, subject TEXT, message_id TEXT, provider_id TEXT,
        error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, description TEXT);
    INSERT INTO actions_6 SELECT a.key, a.target, a.workflow, a.step, a.action_index, a.kind,
        a.customer_id,
        (SELECT l.id FROM invoice_lists AS l WHERE l.digest = arflow_list_digest(a.invoices)),
        a.as_of, a.state, a.reason, a.permanent, a.channel, a.recipients,
        a.subject, a.message_id, a.provider_id, a.error, a.attempts, a.created_at,
        a.updated_at, a.description
        FROM actions AS a;
    DROP TABLE actions;
    ALTER TABLE actions_6 RENAME TO actions;
    CREATE INDEX actions_customer ON actions (customer_id);
    CREATE INDEX actions_state ON actions (state);
    CREATE INDEX actions_message_id ON actions (message_id);
    """,
    # issue 31: what a `charge_fees` action charged, in the same transaction as its key (one
    # row per action key, invoice and kind; compensation once per invoice), and the waivers
    7: """
    CREATE TABLE fee_charges (id INTEGER PRIMARY KEY, key TEXT NOT NULL, invoice TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('interest', 'compensation', 'fee')),
        amount TEXT NOT NULL, currency TEXT NOT NULL, detail TEXT,
        as_of TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (key, invoice, kind));
    CREATE UNIQUE INDEX fee_compensation_once ON fee_charges (invoice)
        WHERE kind = 'compensation';
    CREATE TABLE fee_waivers (id INTEGER PRIMARY KEY, invoice TEXT NOT NULL UNIQUE,
        customer_id TEXT NOT NULL, reason TEXT, as_of TEXT NOT NULL, created_at TEXT NOT NULL);
    """,
    # issue 32: each payment read from the bank once (its id from the file), the rule that
    # matched it and why; what it pays of each invoice; and each open invoice's balance in the
    # sources from the night a run with payments saw it at that balance (a row per change):
    # what tells whether the sources show a payment since its day
    8: """
    CREATE TABLE payments (id TEXT PRIMARY KEY, day TEXT NOT NULL, amount TEXT NOT NULL,
        currency TEXT NOT NULL, reference TEXT NOT NULL, payer TEXT, payer_account TEXT,
        rule TEXT CHECK (rule IN ('reference', 'amount', 'manual')), why TEXT NOT NULL,
        over TEXT, by_hand INTEGER NOT NULL DEFAULT 0, read_on TEXT NOT NULL,
        created_at TEXT NOT NULL);
    CREATE TABLE payment_applications (payment_id TEXT NOT NULL REFERENCES payments (id),
        invoice TEXT NOT NULL, customer_id TEXT NOT NULL, amount TEXT NOT NULL,
        source_balance TEXT NOT NULL, PRIMARY KEY (payment_id, invoice));
    CREATE INDEX payment_applications_invoice ON payment_applications (invoice);
    CREATE TABLE source_balances (invoice TEXT NOT NULL, since TEXT NOT NULL,
        balance TEXT NOT NULL, PRIMARY KEY (invoice, since));
    """,
    # issue 32: payment plans: a plan's invoices, instalments
    # (JSON [[day, amount], ...]) and total, and what runs saw of it: each instalment met or
    # missed, the plan broken (instalment 0: the plan itself)
    9: """
    CREATE TABLE plans (id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL,
        invoices TEXT NOT NULL, currency TEXT NOT NULL, total TEXT NOT NULL,
        instalments TEXT NOT NULL, made_on TEXT NOT NULL, cancelled_on TEXT, reason TEXT,
        created_at TEXT NOT NULL);
    CREATE TABLE plan_events (id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES plans (id), instalment INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('met', 'missed', 'broken')),
        as_of TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (plan_id, instalment, kind));
    """,
    # issue 33: disputes: an invoice disputed (whole, or `amount` of it) from `since` with a
    # reason code, and its resolution (a credit, and the invoice's balance in the sources on
    # the day, which tells when the ledger shows the credit note); one open dispute an invoice
    10: """
    CREATE TABLE disputes (id INTEGER PRIMARY KEY, invoice TEXT NOT NULL,
        customer_id TEXT NOT NULL, reason TEXT NOT NULL, note TEXT, amount TEXT,
        since TEXT NOT NULL, resolved_on TEXT, credit TEXT, resolve_note TEXT,
        balance_then TEXT, created_at TEXT NOT NULL);
    CREATE UNIQUE INDEX disputes_open ON disputes (invoice) WHERE resolved_on IS NULL;
    """,
    # issue 33: credit hold: each customer's entries into hold and releases, as runs saw them
    # (the latest on or before a day is where it stands that day), with the conditions met
    11: """
    CREATE TABLE hold_events (id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('hold', 'release')), as_of TEXT NOT NULL,
        why TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE INDEX hold_events_customer ON hold_events (customer_id, as_of);
    """,
}
ID_SINCE = 3  # the schema version that gave a database its id
# a database migrated from before this version is compacted once (VACUUM): the invoice lists
# it held once per action key became free space inside the file
COMPACTED_SINCE = 6


def list_digest(invoices: str) -> bytes:
    """What finds an invoice list (its JSON text) in table `invoice_lists`: its SHA-256. The
    migrations call it `arflow_list_digest`."""
    return hashlib.sha256(invoices.encode()).digest()


def with_functions(conn: sqlite3.Connection) -> sqlite3.Connection:
    """`conn` with the functions the migrations call."""
    conn.create_function("arflow_list_digest", 1, list_digest, deterministic=True)
    return conn


@functools.cache
def wanted_shape() -> dict[str, frozenset[str]]:
    """table → columns of a database at SCHEMA_VERSION, from the migrations themselves."""
    conn = with_functions(sqlite3.connect(":memory:"))
    for target in sorted(MIGRATIONS):
        conn.executescript(MIGRATIONS[target])
    shape = table_columns(conn)
    conn.close()
    return {table: frozenset(columns) for table, columns in shape.items()}


def table_columns(conn: sqlite3.Connection) -> dict[str, set[str]]:
    """table → its columns: one query."""
    shape: dict[str, set[str]] = defaultdict(set)
    for table, column in conn.execute(
        "SELECT m.name, c.name FROM sqlite_master AS m, pragma_table_info(m.name) AS c "
        "WHERE m.type = 'table'"
    ):
        shape[table].add(column)
    return shape


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Run the migrations after `version` on `conn`, inside the caller's transaction (one
    statement at a time: `executescript` would commit)."""
    with_functions(conn)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[target].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {target}")
