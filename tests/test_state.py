"""The action ledger's rules (state.py), table by table, and against a real SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date
from urllib.parse import quote

import pytest

from arflow.planner.past_state import read_past_state
from arflow.planner.plan_types import ActionKey
from arflow.state import (
    MIGRATIONS,
    SCHEMA_VERSION,
    StateDB,
    StateError,
    StateMoved,
    carried_out,
    marks,
    settled,
    step_ran,
)
from arflow.workflow import Workflow


@pytest.mark.parametrize(
    "state, reason, permanent, expected",
    [
        ("sending", None, False, True),  # may have gone out: never again by itself
        ("sent", None, False, True),
        ("unknown", None, False, True),
        ("done", None, False, True),
        ("failed", None, False, False),  # SMTP 4xx, connection refused: retried
        ("failed", None, True, True),  # SMTP 5xx, an invalid number: final
        ("skipped", "superseded", False, True),
        ("skipped", "expired", False, True),
        ("skipped", "baseline", False, True),
        ("skipped", "no-email", False, False),  # the address may be added: tried again
        ("skipped", "no-phone", False, False),
        ("skipped", "no-recipient", False, False),
    ],
)
def test_which_action_keys_are_settled(state, reason, permanent, expected):
    assert settled(state, reason, permanent) is expected


@pytest.mark.parametrize(
    "state, expected",
    [
        ("sending", True),
        ("sent", True),
        ("unknown", True),
        ("done", True),
        ("failed", False),
        ("skipped", False),
        ("planned", False),
    ],
)
def test_which_states_count_as_carried_out(state, expected):
    assert carried_out(state) is expected


@pytest.mark.parametrize(
    "settled_actions, actions, expected",
    [(0, 1, False), (1, 1, True), (1, 2, False), (2, 2, True), (3, 3, True), (2, 3, False)],
)
def test_a_step_runs_once_every_action_is_settled(settled_actions, actions, expected):
    assert step_ran(settled_actions, actions) is expected


TWO_ACTIONS = Workflow.model_validate(
    {
        "steps": [
            {"id": "first", "day": 1, "actions": [{"email": "reminder"}, {"sms": "reminder"}]},
            {"id": "last", "day": 9, "actions": [{"email": "reminder"}]},
        ]
    }
)


def row(
    key: ActionKey,
    state: str,
    reason: str | None = None,
    permanent: bool = False,
    day: str = "2026-03-11",
) -> dict:
    return {
        "key": str(key),
        "target": key.target,
        "workflow": key.workflow,
        "step": key.step,
        "action_index": key.action,
        "kind": "email",
        "customer_id": "C1",
        "invoices": json.dumps(["A1"]),
        "as_of": day,
        "channel": None,
        "recipients": "[]",
        "subject": None,
        "description": None,
        "message_id": None,
        "state": state,
        "reason": reason,
        "permanent": permanent,
    }


@pytest.fixture
def db(tmp_path):
    state = StateDB.open(tmp_path / "arflow.db")
    yield state
    state.close()


def write(db: StateDB, rows: list[dict]) -> None:
    with db.transaction() as conn:
        for r in rows:
            db.write_marks(
                conn,
                marks(
                    [{k: v for k, v in r.items() if k not in ("state", "reason", "permanent")}],
                    r["state"],
                ),
            )


def test_a_step_with_one_of_two_actions_settled_has_not_run(db):
    email = ActionKey("invoice:A1", "chase", "first", 0)
    write(db, [row(email, "sent")])
    past = read_past_state(db, {"chase": TWO_ACTIONS}, date(2026, 3, 12))
    assert past.settled == {email}
    assert past.ran == {} and past.finished == {}
    assert past.chased[("invoice:A1", "chase")][0] == date(2026, 3, 11)
    write(db, [row(ActionKey("invoice:A1", "chase", "first", 1), "sent")])
    past = read_past_state(db, {"chase": TWO_ACTIONS}, date(2026, 3, 12))
    assert past.ran == {("invoice:A1", "chase"): {"first"}}


def test_skips_never_overwrite_what_went_out_or_failed_for_good(db):
    keys = [ActionKey(f"invoice:A{n}", "chase", "first", 0) for n in range(4)]
    write(db, [row(keys[0], "sent"), row(keys[1], "failed"), row(keys[3], "unknown")])
    with db.transaction() as conn:
        conn.execute("UPDATE actions SET permanent = 1 WHERE key = ?", (str(keys[3]),))
        conn.execute("UPDATE actions SET state = 'failed' WHERE key = ?", (str(keys[3]),))
    db.record_skips([{**row(k, "skipped"), "reason": "expired"} for k in keys])
    found = {r["key"]: (r["state"], r["reason"]) for r in map(db.action, map(str, keys)) if r}
    assert found == {
        str(keys[0]): ("sent", None),  # what went out stays sent
        str(keys[1]): ("skipped", "expired"),  # a transient failure that expired: skipped
        str(keys[2]): ("skipped", "expired"),
        str(keys[3]): ("failed", None),
    }  # a permanent failure keeps its record


def test_skips_written_a_batch_at_a_time_are_the_skips_written_at_once(tmp_path, monkeypatch):
    from arflow.state import ledger as action_ledger

    keys = [ActionKey(f"invoice:A{n}", "chase", "first", 0) for n in range(7)]
    rows = [
        {**row(k, "skipped"), "reason": "expired", "invoices": f'["A{n % 3}"]'}
        for n, k in enumerate(keys)
    ]
    tables = []
    for batch in (10_000, 2):  # one batch; then four, the last one short
        monkeypatch.setattr(action_ledger, "SKIP_BATCH", batch)
        db = StateDB.open(tmp_path / f"{batch}.db")
        db.record_skips(iter(rows))  # a generator, as a run hands them over
        tables.append(
            [
                db.conn.execute(
                    "SELECT a.key, a.state, a.reason, l.id, l.invoices FROM actions a "
                    "JOIN invoice_lists l ON l.id = a.invoice_list ORDER BY a.key"
                ).fetchall(),
                db.conn.execute("SELECT id, invoices FROM invoice_lists ORDER BY id").fetchall(),
            ]
        )
        db.close()
    assert tables[0] == tables[1]
    assert tables[0][1] == [(1, '["A0"]'), (2, '["A1"]'), (3, '["A2"]')]
    assert [(k, state, reason, at) for k, state, reason, at, _ in tables[0][0]] == [
        (str(k), "skipped", "expired", n % 3 + 1) for n, k in enumerate(keys)
    ]


def test_a_missing_contact_skip_stays_open_and_a_superseded_one_does_not(db):
    open_key = ActionKey("invoice:A1", "chase", "first", 1)
    final_key = ActionKey("invoice:A2", "chase", "first", 1)
    db.record_skips(
        [
            {**row(open_key, "skipped"), "reason": "no-phone"},
            {**row(final_key, "skipped"), "reason": "superseded"},
        ]
    )
    past = read_past_state(db, {"chase": TWO_ACTIONS}, date(2026, 3, 12))
    assert past.settled == {final_key}


def test_a_dry_run_state_reads_the_file_and_writes_nothing(tmp_path, db):
    key = ActionKey("invoice:A1", "chase", "first", 0)
    write(db, [row(key, "sending")])
    dry = StateDB.for_dry_run(db.path)
    assert dry.recover_interrupted() == 1  # counted, as the real run would find it; not changed
    write(dry, [row(key, "sent")])
    dry.record_skips(
        [{**row(ActionKey("invoice:A2", "chase", "first", 0), "skipped"), "reason": "expired"}]
    )
    assert read_past_state(dry, {"chase": TWO_ACTIONS}, date(2026, 3, 12)).settled == {key}
    dry.close()
    conn = sqlite3.connect(db.path)
    assert conn.execute("SELECT key, state FROM actions").fetchall() == [(str(key), "sending")]
    conn.close()
    empty = StateDB.for_dry_run(tmp_path / "none.db")  # no file yet: an empty state in memory
    assert list(empty.history()) == [] and not (tmp_path / "none.db").exists()
    empty.close()


# --- the database's identity and its faults ------------------------------------------------------
def test_a_new_database_and_its_id_file_carry_the_same_id(tmp_path):
    db = StateDB.open(tmp_path / "arflow.db")
    state_id = db.conn.execute("SELECT value FROM meta WHERE key = 'id'").fetchone()[0]
    db.close()
    assert (tmp_path / "arflow.db.id").read_text() == state_id + "\n"
    assert len(state_id) == 32
    again = StateDB.open(tmp_path / "arflow.db")  # opening it again changes nothing
    again.close()
    assert (tmp_path / "arflow.db.id").read_text() == state_id + "\n"


def older_database(path, version: int = 2) -> None:
    """A database an arflow from before the id wrote (schema 2), with one sent action."""
    conn = sqlite3.connect(path)
    for target in range(1, version + 1):
        conn.executescript(MIGRATIONS[target])
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(
        "INSERT INTO actions (key, target, workflow, step, action_index, kind, "
        "customer_id, invoices, as_of, state, created_at, updated_at) VALUES "
        "('k', 'invoice:A1', 'chase', 'first', 0, 'email', 'C1', '[\"A1\"]', "
        "'2026-03-11', 'sent', 'x', 'x')"
    )
    conn.commit()
    conn.close()


@pytest.mark.parametrize("id_file", [None, "0123456789abcdef0123456789abcdef"])
def test_an_older_arflows_database_is_upgraded_and_given_this_folders_id(tmp_path, id_file):
    path = tmp_path / "arflow.db"
    older_database(path)
    if id_file:  # a backup from before the upgrade, put back: it takes the folder's id
        (tmp_path / "arflow.db.id").write_text(id_file + "\n")
    db = StateDB.open(path)
    [(state_id,)] = db.conn.execute("SELECT value FROM meta WHERE key = 'id'").fetchall()
    assert [r["key"] for r in db.history()] == ["k"]
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    assert state_id == (id_file or state_id)
    assert (tmp_path / "arflow.db.id").read_text() == state_id + "\n"


@pytest.mark.parametrize("content", ["", "hello\n", "0123456789ABCDEF0123456789abcdef"])
def test_an_id_file_that_holds_no_id_is_refused(tmp_path, content):
    (tmp_path / "arflow.db.id").write_text(content)
    with pytest.raises(StateError) as refused:
        StateDB.open(tmp_path / "arflow.db", "arflow.db")
    assert str(refused.value) == (
        f"arflow.db.id does not hold an arflow state id ({content.strip()!r}): it was changed "
        "outside arflow; restore it from your backup, or delete it if arflow.db is this "
        "folder's own (the next run writes it again)"
    )
    assert not (tmp_path / "arflow.db").exists()


def test_a_commit_that_finds_the_disk_full_is_a_state_error_and_leaves_no_transaction(tmp_path):
    db = StateDB.open(tmp_path / "arflow.db", "arflow.db")
    pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
    db.conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL at the next new page
    key = ActionKey("invoice:A1", "chase", "first", 0)
    with pytest.raises(StateError) as full:
        write(db, [{**row(key, "sending"), "subject": "x" * 20_000}])
    assert str(full.value) == (
        "cannot write arflow.db: the disk it is on is full (database or disk is full); free "
        "some space there, then run again"
    )
    assert not db.conn.in_transaction
    db.conn.execute(f"PRAGMA max_page_count = {pages + 100}")
    write(db, [row(key, "sent")])  # once there is room, it writes again
    assert [r["state"] for r in db.history()] == ["sent"]
    db.close()


def test_a_database_replaced_under_an_open_one_is_never_written_and_is_saved_beside(tmp_path):
    path = tmp_path / "arflow.db"
    db = StateDB.open(path, "arflow.db")
    key = ActionKey("invoice:A1", "chase", "first", 0)
    write(db, [row(key, "sent")])
    (tmp_path / "other").write_bytes(b"")
    os.replace(tmp_path / "other", path)
    with pytest.raises(StateMoved) as moved:
        write(db, [row(ActionKey("invoice:A2", "chase", "first", 0), "sending")])
    [saved] = [
        p for p in tmp_path.glob("arflow.db.rescued-*") if not p.name.endswith(("-wal", "-shm"))
    ]
    assert str(moved.value) == (
        f"arflow.db was replaced by another file while arflow was using it; what arflow had "
        f"recorded is saved in {saved.name}: set the new arflow.db aside and put {saved.name} "
        "in its place, then run again"
    )
    assert path.read_bytes() == b""  # the new file was not touched
    db.close()
    rescued = StateDB.open(saved)
    assert [(r["key"], r["state"]) for r in rescued.history()] == [(str(key), "sent")]
    rescued.close()
    assert not (tmp_path / "arflow.db-wal").exists()
    assert (tmp_path / f"{saved.name}.lost-wal").exists()


def test_a_failure_text_is_stored_without_the_secrets_arflow_read():
    from arflow.channels import Outcome
    from arflow.secrets import secret

    password = secret("X_PASSWORD", "SMTP password", {"X_PASSWORD": "hunter2/x y"})
    [mark] = marks(
        [{}],
        "failed",
        Outcome(
            "failed",
            error=(
                f"535 login failed for hunter2/x y (as ar:{quote(password, safe='')}) at "
                f"smtp://ar:{quote(password, safe='')}@host"
            ),
        ),
    )
    # in an address, its user name and password go whole
    assert mark["error"] == "535 login failed for *** (as ar:***) at smtp://***@host"


def test_another_programs_sqlite_file_is_refused_whatever_its_version(tmp_path):
    path = tmp_path / "arflow.db"
    older_database(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1196444487")  # a GeoPackage's
    conn.commit()
    conn.close()
    with pytest.raises(StateError) as refused:
        StateDB.open(path, "arflow.db")
    assert str(refused.value).startswith(
        "arflow.db is another program's SQLite database (tables: actions, assignments, "
    )
    assert not (tmp_path / "arflow.db.id").exists()


def test_an_action_index_the_step_no_longer_has_does_not_make_it_run(db):
    """A step that had two actions is edited down to one: an old row for index 1 must not
    count for the one action it has now."""
    one = Workflow.model_validate(
        {"steps": [{"id": "first", "day": 1, "actions": [{"email": "reminder"}]}]}
    )
    write(db, [row(ActionKey("invoice:A1", "chase", "first", 1), "sent")])
    assert read_past_state(db, {"chase": one}, date(2026, 3, 12)).ran == {}
    write(db, [row(ActionKey("invoice:A1", "chase", "first", 0), "sent")])
    assert read_past_state(db, {"chase": one}, date(2026, 3, 12)).ran == {
        ("invoice:A1", "chase"): {"first"}
    }


def test_a_dry_run_is_never_given_real_channels(tmp_path):
    from arflow.channels import RunChannels
    from arflow.deliver import run
    from arflow.project import load_project
    from arflow.scaffold import write_scaffold
    from arflow.sources import load_ledger

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    project = load_project(tmp_path / "ar" / "arflow.yaml")
    with pytest.raises(ValueError, match="a dry run takes recording channels"):
        run(
            project,
            load_ledger(project.config),
            date(2026, 3, 16),
            RunChannels(project.config),
            dry_run=True,
        )
    assert not (tmp_path / "ar" / "outbox").exists()
