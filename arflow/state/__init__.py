"""The state database (SPEC 6): the action ledger and the desk's and the inbox's records, in one
SQLite file.

Written by a run (`deliver`, and `arflow run --baseline`), `arflow inbox`, `arflow resolve`, the
desk commands (`assign`, `pause`, `resume`, `promise`, `task done`) and `arflow state init`;
`forecast` and `simulate` write only a copy in memory, and a dry run writes nothing. Before
planning, the planner's past state is read in bulk, one query per table (actions, assignments,
sequences, pauses, promises; never one per invoice), and derived on the planner's side
(`arflow.planner.past_state`). WAL mode and `synchronous=FULL`: a row committed as `sending`
survives a power cut, so a crash can never lead to a second send. This package is the only
place that speaks SQL to it: the raw connection inside transactions, for the bulk reads and
for `history` (read row by row, a message at a time), sqlite-utils for the reports that list
rows as dicts (`tasks`, `incoming`).

Words (each means one thing here and in the planner):
- **action key** — (target, workflow, step, action index): one action for one target; its
  idempotency key, the primary key of table `actions`.
- **target** — what a sequence chases: `invoice:NUMBER`, or `customer:ID@SINCE` for an
  `assigned` sequence (SPEC 4.1).
- **invoice list** — the invoices an action's message was about (SPEC 4.4), kept once in table
  `invoice_lists` (found by its digest): every key of the message points at it, and so do
  other messages about the same invoices; the database grows with the messages, not with
  keys × invoices.
- **carried out** — an action that happened, or may have: `sending`, `sent`, `unknown`, `done`
  (`carried_out`).
- **settled** — an action key no run attempts again by itself: carried out, a permanent
  failure, or a final skip (`superseded`, `expired`, `baseline` …). A transient failure, a
  retry asked for with `arflow resolve --retry` and a skip for a missing contact
  (`RETRIED_SKIPS`) stay open (`settled`).
- **ran** — a step has run for a target once every one of its actions is settled (`step_ran`).
- **chased** — a target for which some step's action was carried out; `on_paid` is for it.
- **finished** — a target whose workflow's last step ran; `then:` continues from there.
- **baseline** — an action `arflow run --baseline` settled without sending it (`BASELINE`).

The modules, one job each:
- `schema` — the schema version, the migrations, the shape a database has;
- `identity` — which file it is: the `.id` file, the pinned inodes, refusing another folder's
  or a tampered file, rescuing what a lost file held, setting old files aside;
- `errors` — StateError, StateMoved and what a SQLite error means (`describe`);
- `base` — the connection's transactions, shared by the records, and the secret key of the
  Message-IDs (table `meta`, made once per database, never shown);
- `ledger` — the action ledger: its rules, its rows, runs, `resolve`, `history`;
- `desk` — assignments, sequences, pauses, promises, tasks, notes, statuses, specialists;
- `inbox` — incoming messages, IMAP folder positions, bounced addresses, notices owed;
- `dry` — a dry run's state, which writes nothing;
- `db` — `StateDB`: the records put together, and the ways to open it;
- `lock` — one run at a time, `open_state`, `start_over`;
- `clock` — the moment stamped on what is recorded.
"""

from __future__ import annotations

from arflow.state.db import DryRunState, StateDB
from arflow.state.desk import AssignmentRow, PauseRow, SequenceRow
from arflow.state.errors import StateError, StateMoved, describe
from arflow.state.identity import id_path, set_aside
from arflow.state.ledger import (
    BASELINE,
    CARRIED_OUT,
    RETRIED_SKIPS,
    ActionRow,
    OutcomeFields,
    carried_out,
    marks,
    settled,
    step_ran,
)
from arflow.state.lock import StateMode, lock_path, open_state, run_lock, start_over
from arflow.state.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "BASELINE",
    "CARRIED_OUT",
    "MIGRATIONS",
    "RETRIED_SKIPS",
    "SCHEMA_VERSION",
    "ActionRow",
    "AssignmentRow",
    "DryRunState",
    "OutcomeFields",
    "PauseRow",
    "SequenceRow",
    "StateDB",
    "StateError",
    "StateMode",
    "StateMoved",
    "carried_out",
    "describe",
    "id_path",
    "lock_path",
    "marks",
    "open_state",
    "run_lock",
    "set_aside",
    "settled",
    "start_over",
    "step_ran",
]
