"""The action ledger (SPEC 6): table `actions`, one row per action key, and table `runs`.

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
from typing import Any, Protocol

from arflow.errors import ArflowError
from arflow.secrets import redact
from arflow.state import clock
from arflow.state.base import StateBase, customer_since, row_id
from arflow.state.errors import named_errors

CARRIED_OUT = frozenset({"sending", "sent", "unknown", "done"})
# a message that went, or may have (its outcome unknown), as SQL: `state IN MAY_HAVE_GONE`
MAY_HAVE_GONE = "('sending', 'sent', 'unknown')"
# skips that a later run within the step's window tries again: the contact may be added
RETRIED_SKIPS = frozenset({"no-email", "no-phone", "no-recipient", "bounced", "contact-gap"})
# the skip reason of what `arflow run --baseline` marked as done without sending it
BASELINE = "baseline"

# the columns the rows of one message share (or of one action that is no message: a status,
# a task, a skip): a message about several invoices is one row per action key, written
# together; the Message-ID tells two emails apart, the rest two of anything else
MESSAGE_COLUMNS = (
    "as_of",
    "customer_id",
    "workflow",
    "step",
    "action_index",
    "kind",
    "invoices",
    "state",
    "reason",
    "message_id",
)

# one row of `actions` as the planner reads it (`LedgerRecords.action_rows`): target,
# workflow, step, action index, state, reason, permanent (0/1), as_of, invoices (JSON list)
ActionRow = tuple[str, str, str, int, str, str | None, int, str, str]


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


def messages(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the action ledger (in their order) as one entry per message, or per action
    that is no message: the first row's fields, with `keys`, every action key it covers (a
    reminder about INV-1 and INV-2 is one email, recorded once per invoice)."""
    found: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(tuple(row[c] for c in MESSAGE_COLUMNS), {**row, "keys": []})
        entry["keys"].append(row["key"])
    return list(found.values())


class OutcomeFields(Protocol):
    """What `marks` reads of a channel's outcome (arflow.channels.Outcome has it)."""

    @property
    def permanent(self) -> bool: ...

    @property
    def provider_id(self) -> str | None: ...

    @property
    def error(self) -> str | None: ...


# a key written again (a retry, a skip that went later) is recorded as its last attempt: the
# invoices that message was about, so that its keys say one thing (`messages`)
_MARK = (
    "INSERT INTO actions (key, target, workflow, step, action_index, kind, customer_id, "
    "invoices, as_of, state, reason, permanent, channel, recipients, subject, description, "
    "message_id, provider_id, error, attempts, created_at, updated_at) "
    "VALUES (:key, :target, :workflow, :step, :action_index, :kind, :customer_id, "
    ":invoices, :as_of, :state, NULL, :permanent, :channel, :recipients, :subject, "
    ":description, :message_id, :provider_id, :error, :attempt, :now, :now) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, reason = NULL, "
    "invoices = excluded.invoices, "
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
    def action_rows(self) -> Iterator[ActionRow]:
        """Every row of the action ledger, in one query read row by row (a ledger of years
        is never held whole), for the planner's past state."""
        return self.conn.execute(
            "SELECT target, workflow, step, action_index, state, reason, "
            "permanent, as_of, invoices FROM actions"
        )

    def history(
        self, customer: str | None = None, since: date | None = None, unknown_only: bool = False
    ) -> list[dict]:
        """One entry per message (or other action) recorded, with the action keys it covers
        (`messages`); of one customer, of runs as of `since` or later, only those whose
        outcome is unknown."""
        where, args = customer_since(customer, since)
        if unknown_only:
            where.append("state = 'unknown'")
        rows = self.db["actions"].rows_where(
            " AND ".join(where) or None, args, order_by="as_of, customer_id, workflow, key"
        )
        return [_decode(entry) for entry in messages(rows)]

    def action(self, key: str) -> dict | None:
        rows = list(self.db["actions"].rows_where("key = ?", [key]))
        return _decode(rows[0]) if rows else None

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
        """Skipped keys, in one transaction; a key already settled keeps its record."""
        now = clock.utc_now()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO actions (key, target, workflow, step, action_index, kind, "
                "customer_id, invoices, as_of, state, reason, created_at, updated_at) "
                "VALUES (:key, :target, :workflow, :step, :action_index, :kind, :customer_id, "
                ":invoices, :as_of, 'skipped', :reason, :now, :now) "
                "ON CONFLICT (key) DO UPDATE SET state = 'skipped', reason = excluded.reason, "
                "invoices = excluded.invoices, as_of = excluded.as_of, "
                "updated_at = excluded.updated_at "
                "WHERE actions.state = 'skipped' OR (actions.state = 'failed' "
                "AND actions.permanent = 0)",
                [{**row, "now": now} for row in rows],
            )

    @staticmethod
    def write_marks(conn: sqlite3.Connection, params: list[dict]) -> None:
        """Write rows made by `marks`, inside the caller's transaction."""
        conn.executemany(_MARK, params)

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


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    if row["state"] == "skipped" and row["reason"] == BASELINE:
        row["state"] = BASELINE  # recorded by `arflow run --baseline`: done, never sent
    for name in ("invoices", "recipients"):
        if row.get(name):
            row[name] = json.loads(row[name])
    row["permanent"] = bool(row.get("permanent"))
    return row
