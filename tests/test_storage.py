"""The state database grows with the messages, not with the invoices they list (issue 28): a
message about 2,000 invoices is 2,000 action keys, and its list of 2,000 is kept once
(`invoice_lists`), not once per key. Real runs over a generated folder, and a database of
schema 5 written with the SQL of the arflow that wrote them."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import Counter
from datetime import date

import pytest

from arflow.report import write_json_list
from arflow.scaffold import write_scaffold
from arflow.state import MIGRATIONS, SCHEMA_VERSION, StateDB
from arflow.state.schema import APPLICATION_ID

OPEN = 2_000
# net30-standard's steps, each reaching every invoice: the first night of an invoice 75 days
# past due sends the final notice (2 actions) and records the 6 earlier actions as skipped
ACTIONS_PER_INVOICE = 8


def one_customer_folder(root, n: int = OPEN):
    """The example folder, with one customer and `n` invoices issued on 2025-11-01 (Net 30)."""
    write_scaffold(root, date(2026, 3, 16))
    with (root / "customers.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["customer_id", "name", "email", "phone", "specialist", "segment"])
        out.writerow(
            [
                "C001",
                "Northwind Traders",
                "ap@northwind.example",
                "+1 202 555 0111",
                "dana",
                "retail",
            ]
        )
    with (root / "invoices.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["number", "customer_id", "issue_date", "terms", "amount", "product"])
        out.writerows(
            [f"INV-{i:05d}", "C001", "2025-11-01", "Net 30", "100.00", "consulting"]
            for i in range(n)
        )
    return root / "arflow.yaml"


def state_size(folder) -> int:
    return sum(p.stat().st_size for p in folder.glob("arflow.db*") if p.suffix != ".lock")


def test_a_customer_with_2000_open_invoices_keeps_a_small_state(cli, tmp_path):
    config = one_customer_folder(tmp_path / "ar")
    run = json.loads(
        cli("run", "--as-of", "2026-03-16", "--format", "json", "--config", config).stdout
    )
    assert [len(a["invoices"]) for a in run["actions"]] == [OPEN, OPEN]  # email and notice
    conn = sqlite3.connect(tmp_path / "ar" / "arflow.db")
    assert conn.execute("SELECT count(*) FROM actions").fetchone() == (OPEN * ACTIONS_PER_INVOICE,)
    # each key held its own copy of the list of 2,000: 428 MB
    assert state_size(tmp_path / "ar") < 20_000_000
    assert conn.execute("SELECT count(*) FROM invoice_lists").fetchone() == (1,)  # one list
    conn.close()

    out = cli("history", "--format", "json", "--config", config).stdout
    entries = json.loads(out)["actions"]
    assert out == json.dumps({"actions": entries}, ensure_ascii=False) + "\n"
    # each message (or skip) once, with its 2,000 invoices and its 2,000 keys
    assert Counter((e["step"], e["kind"], e["state"]) for e in entries) == Counter(
        {
            ("courtesy", "email", "skipped"): 1,
            ("reminder", "email", "skipped"): 1,
            ("reminder", "sms", "skipped"): 1,
            ("overdue-30", "email", "skipped"): 1,
            ("overdue-30", "status", "skipped"): 1,
            ("overdue-30", "task", "skipped"): 1,
            ("final-notice", "email", "sent"): 1,
            ("final-notice", "notify", "sent"): 1,
        }
    )
    numbers = [f"INV-{i:05d}" for i in range(OPEN)]
    assert all(e["invoices"] == numbers and len(e["keys"]) == OPEN for e in entries)
    assert len({k for e in entries for k in e["keys"]}) == OPEN * ACTIONS_PER_INVOICE
    # the next night sends nothing again
    again = json.loads(
        cli("run", "--as-of", "2026-03-17", "--format", "json", "--config", config).stdout
    )
    assert again["actions"] == [] and again["skipped"] == []


# the INSERT of arflow at schema 5: every key with its message's invoice list
V5_INSERT = (
    "INSERT INTO actions (key, target, workflow, step, action_index, kind, customer_id, "
    "invoices, as_of, state, reason, permanent, channel, recipients, subject, description, "
    "message_id, provider_id, error, attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def v5_row(key, invoices, as_of, state, reason=None, message_id=None):
    target, workflow, step, index = key.rsplit("/", 3)
    sent = state != "skipped"
    channel, recipients, subject = (
        ("email", '["ap@alpha.example"]', "Reminder") if sent else 3 * (None,)
    )
    return (
        key,
        target,
        workflow,
        step,
        int(index),
        "email",
        "C1",
        json.dumps(invoices),
        as_of,
        state,
        reason,
        0,
        channel,
        recipients,
        subject,
        None,
        message_id,
        None,
        None,
        int(sent),
        "2026-03-11T02:00:00Z",
        "2026-03-11T02:00:00Z",
    )


def v5_database(path, rows) -> None:
    conn = sqlite3.connect(path)
    for version in range(1, 6):
        conn.executescript(MIGRATIONS[version])
    conn.executescript(
        f"PRAGMA user_version = 5; PRAGMA application_id = {APPLICATION_ID};"
        "INSERT INTO meta (key, value) VALUES ('id', '0123456789abcdef0123456789abcdef');"
    )
    conn.executemany(V5_INSERT, rows)
    conn.commit()
    conn.close()


def test_a_schema_5_database_is_migrated_and_reads_as_before(tmp_path):
    many = [f"A{i:03d}" for i in range(300)]
    rows = [
        # a reminder about 300 invoices, one key each
        *(
            v5_row(f"invoice:{n}/chase/first/0", many, "2026-03-11", "unknown", None, "<m1@x>")
            for n in many
        ),
        # a reminder tried again the next night about INV-1 alone; INV-2's key keeps its try
        v5_row("invoice:INV-1/chase/first/0", ["INV-1"], "2026-03-12", "sent", None, "<m2@x>"),
        v5_row("invoice:INV-2/chase/first/0", ["INV-1", "INV-2"], "2026-03-11", "failed"),
        # a skip, and what `run --baseline` settled
        v5_row(
            "invoice:INV-1/chase/second/0", ["INV-1", "INV-2"], "2026-03-11", "skipped", "expired"
        ),
        v5_row(
            "invoice:INV-2/chase/second/0", ["INV-1", "INV-2"], "2026-03-11", "skipped", "expired"
        ),
        # a skip recorded again on a rerun of the same day, about INV-3 alone (INV-4 was paid
        # in between): two entries, each with the invoices of its own
        v5_row("invoice:INV-3/chase/third/0", ["INV-3"], "2026-03-12", "skipped", "no-email"),
        v5_row(
            "invoice:INV-4/chase/third/0", ["INV-3", "INV-4"], "2026-03-12", "skipped", "no-email"
        ),
        v5_row(
            "customer:C1@2026-03-01/ar/kickoff/0",
            ["INV-1", "INV-2"],
            "2026-03-10",
            "skipped",
            "baseline",
        ),
    ]
    path = tmp_path / "arflow.db"
    v5_database(path, rows)
    before = path.stat().st_size

    db = StateDB.open(path)
    entries = list(db.history())
    assert db.conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert [
        (e["as_of"], e["key"], e["state"], e["reason"], e["invoices"], e["keys"]) for e in entries
    ] == [
        (
            "2026-03-10",
            "customer:C1@2026-03-01/ar/kickoff/0",
            "baseline",
            "baseline",
            ["INV-1", "INV-2"],
            ["customer:C1@2026-03-01/ar/kickoff/0"],
        ),
        (
            "2026-03-11",
            "invoice:A000/chase/first/0",
            "unknown",
            None,
            many,
            [f"invoice:{n}/chase/first/0" for n in many],
        ),
        (
            "2026-03-11",
            "invoice:INV-1/chase/second/0",
            "skipped",
            "expired",
            ["INV-1", "INV-2"],
            ["invoice:INV-1/chase/second/0", "invoice:INV-2/chase/second/0"],
        ),
        (
            "2026-03-11",
            "invoice:INV-2/chase/first/0",
            "failed",
            None,
            ["INV-1", "INV-2"],
            ["invoice:INV-2/chase/first/0"],
        ),
        (
            "2026-03-12",
            "invoice:INV-1/chase/first/0",
            "sent",
            None,
            ["INV-1"],
            ["invoice:INV-1/chase/first/0"],
        ),
        (
            "2026-03-12",
            "invoice:INV-3/chase/third/0",
            "skipped",
            "no-email",
            ["INV-3"],
            ["invoice:INV-3/chase/third/0"],
        ),
        (
            "2026-03-12",
            "invoice:INV-4/chase/third/0",
            "skipped",
            "no-email",
            ["INV-3", "INV-4"],
            ["invoice:INV-4/chase/third/0"],
        ),
    ]
    # each distinct list once; the file gave back the space the copies took
    assert db.conn.execute("SELECT count(*) FROM invoice_lists").fetchone() == (5,)
    # the planner reads a sequence's list, and no invoice target's
    past = {r[0]: r[8] for r in db.action_rows()}
    assert past["customer:C1@2026-03-01"] == '["INV-1", "INV-2"]'
    assert past["invoice:A000"] is None
    # a key of the 300 settles its message whole
    assert db.resolve("invoice:A123/chase/first/0", sent=True)["keys"] == [
        f"invoice:{n}/chase/first/0" for n in many
    ]
    assert db.action("invoice:A123/chase/first/0")["invoices"] == many
    db.close()
    assert path.stat().st_size < before / 3


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("count", [0, 1, 3])
def test_history_is_written_as_json_dumps_writes_it(indent, count):
    """`history --format json` writes its entries as it reads them (in a terminal indented, under
    cron compact): the text is the one json.dumps makes of the whole list."""
    items = [
        {"key": f"k{n}", "keys": [f"k{n}"], "invoices": ["A", "é"], "error": None}
        for n in range(count)
    ]
    out = io.StringIO()
    write_json_list(out, "actions", iter(items), indent)
    assert (
        out.getvalue() == json.dumps({"actions": items}, indent=indent, ensure_ascii=False) + "\n"
    )
