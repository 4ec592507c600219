"""The action ledger (SPEC 6): table `actions`, one row per action key, each pointing at its
message's invoice list in table `invoice_lists` (a list is kept once, however many keys and
messages it is about), and table `runs`.

The rules that read a row — `carried_out`, `settled`, `step_ran` — are here, one function each
(the words are explained in arflow/state/__init__.py); the planner's past state applies them
(arflow.planner.past_state). What a run writes is written in the order SPEC 6 demands:
`sending` committed before a message is handed over (`marks`, `write_marks`), its outcome
after; skips in one transaction; a run's start and end.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from itertools import islice
from typing import Any, Protocol

from arflow.errors import ArflowError
from arflow.secrets import redact
from arflow.state import clock
from arflow.state.base import StateBase, customer_since, row_id
from arflow.state.errors import named_errors
from arflow.state.schema import list_digest

CARRIED_OUT = frozenset({"sending", "sent", "unknown", "done"})
# a message that went, or may have (its outcome unknown), as SQL: `state IN MAY_HAVE_GONE`
MAY_HAVE_GONE = "('sending', 'sent', 'unknown')"
# skips that a later run within the step's window tries again: the contact may be added
RETRIED_SKIPS = frozenset({"no-email", "no-phone", "no-recipient", "bounced", "contact-gap"})
# the skip reason of what `arflow run --baseline` marked as done without sending it
BASELINE = "baseline"

# the columns the rows of one message share (or of one action that is no message: a status,
# a task, a skip): a message about several invoices is one row per action key, written
# together; the Message-ID tells two emails apart, the rest two of anything else. Its invoice
# list is kept once (table `invoice_lists`): the rows point at it (`invoice_list`)
MESSAGE_COLUMNS = (
    "as_of",
    "customer_id",
    "workflow",
    "step",
    "action_index",
    "kind",
    "invoice_list",
    "state",
    "reason",
    "message_id",
)
# what `history` and `action` give of a row, in this order; `invoices` is its list (decoded)
ROW_FIELDS = (
    "key",
    "target",
    "workflow",
    "step",
    "action_index",
    "kind",
    "customer_id",
    "invoices",
    "as_of",
    "state",
    "reason",
    "permanent",
    "channel",
    "recipients",
    "subject",
    "message_id",
    "provider_id",
    "error",
    "attempts",
    "created_at",
    "updated_at",
    "description",
)


def _fields(invoices: str) -> str:
    """ROW_FIELDS of `actions AS a`, with `invoices` from this expression."""
    return ", ".join(invoices if f == "invoices" else f"a.{f}" for f in ROW_FIELDS)


# one row of `actions` as the planner reads it (`LedgerRecords.action_rows`): target,
# workflow, step, action index, state, reason, permanent (0/1), as_of, and for a customer
# target (an `assigned` sequence, a campaign) the invoices its message listed (JSON list);
# None for an invoice target, which is about its own invoice
ActionRow = tuple[str, str, str, int, str, str | None, int, str, str | None]


# --- the rules of the action ledger, one function each (see the words in __init__.py) -------
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


def messages(rows: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """The action ledger's rows, a message's rows together in the order of their keys, each
    with the first key of its message (`history`), as one entry per message, or per action
    that is no message: its first row's fields, with `keys`, every action key it covers (a
    reminder about INV-1 and INV-2 is one email, recorded once per invoice). One message is
    held at a time."""
    entry: dict[str, Any] | None = None
    for first, row in rows:
        if entry is not None and entry["key"] == first:
            entry["keys"].append(row["key"])
            continue
        if entry is not None:
            yield entry
        entry = {**row, "keys": [row["key"]]}
    if entry is not None:
        yield entry


class OutcomeFields(Protocol):
    """What `marks` reads of a channel's outcome (arflow.channels.Outcome has it)."""

    @property
    def permanent(self) -> bool: ...

    @property
    def provider_id(self) -> str | None: ...

    @property
    def error(self) -> str | None: ...


# a row's invoice list, stored once (`_store_lists`): the row names it by its digest
_LIST = "(SELECT id FROM invoice_lists WHERE digest = :digest)"
SKIP_BATCH = 10_000  # skipped keys written at a time (`record_skips`)
# a key written again (a retry, a skip that went later) is recorded as its last attempt: the
# invoices that message was about, so that its keys say one thing (`messages`)
_MARK = (
    "INSERT INTO actions (key, target, workflow, step, action_index, kind, customer_id, "
    "invoice_list, as_of, state, reason, permanent, channel, recipients, subject, "
    "description, message_id, provider_id, error, attempts, created_at, updated_at) "
    "VALUES (:key, :target, :workflow, :step, :action_index, :kind, :customer_id, "
    f"{_LIST}, :as_of, :state, NULL, :permanent, :channel, :recipients, :subject, "
    ":description, :message_id, :provider_id, :error, :attempt, :now, :now) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, reason = NULL, "
    "invoice_list = excluded.invoice_list, "
    "permanent = excluded.permanent, channel = excluded.channel, "
    "recipients = excluded.recipients, subject = excluded.subject, "
    "description = excluded.description, "
    "message_id = excluded.message_id, provider_id = excluded.provider_id, "
    "error = excluded.error, as_of = excluded.as_of, "
    "attempts = actions.attempts + :attempt, updated_at = excluded.updated_at"
)


def marks(rows: list[dict], state: str, outcome: OutcomeFields | None = None) -> list[dict]:
    """The parameters that write the keys of one action in `state` (`StateDB.write_marks`)."""
    now = clock.utc_now()
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


@named_errors
class LedgerRecords(StateBase):
    """The action ledger's reads and writes, part of `StateDB`."""

    # --- reading ------------------------------------------------------------------------------
    def action_rows(self, as_of: date | None = None) -> Iterator[ActionRow]:
        """Every row of the action ledger, in one query read row by row (a ledger of years
        is never held whole), for the planner's past state (`ActionRow`); with `as_of`, only
        the rows a run of that day wrote last (a forecast's day after day)."""
        return self.conn.execute(
            "SELECT a.target, a.workflow, a.step, a.action_index, a.state, a.reason, "
            "a.permanent, a.as_of, CASE WHEN a.target LIKE 'customer:%' THEN l.invoices END "
            "FROM actions AS a LEFT JOIN invoice_lists AS l ON l.id = a.invoice_list"
            + (" WHERE a.as_of = ?" if as_of is not None else ""),
            (as_of.isoformat(),) if as_of is not None else (),
        )

    def history(
        self, customer: str | None = None, since: date | None = None, unknown_only: bool = False
    ) -> Iterator[dict]:
        """One entry per message (or other action) recorded, with the action keys it covers
        (`messages`); of one customer, of runs as of `since` or later, only those whose
        outcome is unknown. Read row by row, in date order: a message's rows come together
        (after its first key), and only its first row reads its invoice list."""
        where, args = customer_since(customer, since)
        if unknown_only:
            where.append("state = 'unknown'")
        # the window numbers each row with its message's first key; the sort puts a message's
        # rows together, the messages in the order of their first keys
        cursor = self.conn.execute(
            f"SELECT a.first, {_fields('CASE WHEN a.key = a.first THEN l.invoices END')} "
            f"FROM (SELECT *, MIN(key) OVER (PARTITION BY {', '.join(MESSAGE_COLUMNS)}) AS first "
            f"FROM actions {'WHERE ' + ' AND '.join(where) if where else ''}) AS a "
            "LEFT JOIN invoice_lists AS l ON l.id = a.invoice_list "
            "ORDER BY a.as_of, a.customer_id, a.workflow, a.first, a.key",
            args,
        )
        rows = ((values[0], dict(zip(ROW_FIELDS, values[1:], strict=True))) for values in cursor)
        return (_decode(entry) for entry in messages(rows))

    def action(self, key: str) -> dict | None:
        row = self.conn.execute(
            f"SELECT {_fields('l.invoices')} FROM actions AS a LEFT JOIN invoice_lists AS l "
            "ON l.id = a.invoice_list WHERE a.key = ?",
            (key,),
        ).fetchone()
        return _decode(dict(zip(ROW_FIELDS, row, strict=True))) if row else None

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

    def last_contacts(self, kinds: Sequence[str]) -> dict[str, date]:
        """Each customer's last day a message of these kinds (the customer-facing ones,
        `actions.CUSTOMER_FACING`) went, or may have."""
        marks = ", ".join("?" * len(kinds))
        return {
            cid: date.fromisoformat(day)
            for cid, day in self.conn.execute(
                f"SELECT customer_id, MAX(as_of) FROM actions WHERE kind IN ({marks}) AND "
                f"state IN {MAY_HAVE_GONE} GROUP BY customer_id",
                tuple(kinds),
            )
        }

    def workflows_run(self) -> set[tuple[str, str]]:
        """(workflow, step) of every step the action ledger has anything for."""
        return set(self.conn.execute("SELECT DISTINCT workflow, step FROM actions"))

    # --- writing, in the order SPEC 6 demands -------------------------------------------------
    def recover_interrupted(self) -> int:
        """`sending` rows left by a run that died: their outcome is unknown, never resent."""
        with self.transaction() as conn:
            return conn.execute(
                "UPDATE actions SET state = 'unknown', updated_at = ?, error = "
                "'the run stopped while this message was being handed over; check with the "
                "recipient, then `arflow resolve KEY --sent` or `--retry`' "
                "WHERE state = 'sending'",
                (clock.utc_now(),),
            ).rowcount

    def begin_run(self, as_of: date) -> int:
        with self.transaction() as conn:
            return row_id(
                conn.execute(
                    "INSERT INTO runs (as_of, pid, started_at) VALUES (?, ?, ?)",
                    (as_of.isoformat(), os.getpid(), clock.utc_now()),
                )
            )

    def finish_run(self, run_id: int, summary: dict) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?",
                (clock.utc_now(), json.dumps(summary), run_id),
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
        """Skipped keys, in one transaction; a key already settled keeps its record. A batch
        of rows at a time: a backlog's skips are many (issue 30: memory)."""
        now = clock.utc_now()
        rows = iter(rows)
        with self.transaction() as conn:
            while batch := list(islice(rows, SKIP_BATCH)):
                conn.executemany(
                    "INSERT INTO actions (key, target, workflow, step, action_index, kind, "
                    "customer_id, invoice_list, as_of, state, reason, created_at, updated_at) "
                    "VALUES (:key, :target, :workflow, :step, :action_index, :kind, "
                    f":customer_id, {_LIST}, :as_of, 'skipped', :reason, :now, :now) "
                    "ON CONFLICT (key) DO UPDATE SET state = 'skipped', reason = "
                    "excluded.reason, invoice_list = excluded.invoice_list, as_of = "
                    "excluded.as_of, updated_at = excluded.updated_at "
                    "WHERE actions.state = 'skipped' OR (actions.state = 'failed' "
                    "AND actions.permanent = 0)",
                    ({**row, "now": now} for row in _store_lists(conn, batch)),
                )

    @staticmethod
    def write_marks(conn: sqlite3.Connection, params: list[dict]) -> None:
        """Write rows made by `marks`, inside the caller's transaction."""
        conn.executemany(_MARK, _store_lists(conn, params))

    def resolve(self, key: str, sent: bool) -> dict:
        """A person settles an `unknown` (or failed) outcome: sent, or tried again. The key may
        be any of its message's: the message is settled, for every invoice it was about."""
        row = self.action(key)
        if row is None:
            raise ArflowError(
                f"no action with key {key!r}; `arflow history --unknown` lists "
                "the keys that need a decision"
            )
        if row["state"] not in ("unknown", "failed"):
            raise ArflowError(f"{key} is {row['state']}, not unknown or failed: nothing to resolve")
        keys = self._message_keys(key)
        places = ", ".join("?" * len(keys))
        state, error = (
            ("sent", "marked sent by hand") if sent else ("failed", "retry asked for by hand")
        )
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE actions SET state = ?, permanent = 0, error = ?, updated_at = ? "
                f"WHERE key IN ({places})",
                (state, error, clock.utc_now(), *keys),
            )
        return {**row, **(self.action(key) or {}), "keys": keys}

    def _message_keys(self, key: str) -> list[str]:
        """Every action key recorded for the message `key` is one of (`MESSAGE_COLUMNS`)."""
        same = " AND ".join(f"a.{c} IS m.{c}" for c in MESSAGE_COLUMNS)
        return [
            k
            for (k,) in self.conn.execute(
                f"SELECT a.key FROM actions a JOIN actions m ON {same} WHERE m.key = ? "
                "ORDER BY a.key",
                (key,),
            )
        ]


def _store_lists(conn: sqlite3.Connection, rows: Iterable[dict]) -> list[dict]:
    """The rows with the digest of their invoice list (`invoices`, JSON), each list stored
    once in `invoice_lists` (the rows of one message share theirs, and so do two messages
    about the same invoices), inside the caller's transaction."""
    digests: dict[str, bytes] = {}
    found = []
    for row in rows:
        text = row["invoices"]
        digest = digests.get(text)
        if digest is None:
            digest = digests[text] = list_digest(text)
        found.append({**row, "digest": digest})
    conn.executemany(
        "INSERT OR IGNORE INTO invoice_lists (digest, invoices) VALUES (?, ?)",
        [(digest, text) for text, digest in digests.items()],
    )
    return found


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    if row["state"] == "skipped" and row["reason"] == BASELINE:
        row["state"] = BASELINE  # recorded by `arflow run --baseline`: done, never sent
    for name in ("invoices", "recipients"):
        if row.get(name):
            row[name] = json.loads(row[name])
    row["permanent"] = bool(row.get("permanent"))
    return row
