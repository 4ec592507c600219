"""SPEC 6: a message is recorded `sending` in a committed transaction before its channel is
called, and that commit must survive a power loss: the state database is in WAL mode with
`synchronous=FULL` (in WAL mode NORMAL may lose the last commits when the power goes; OFF loses
them at any crash of the machine). Read from the connections arflow's state code opens, from a
real run's every commit, and from the file on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from arflow.state import open_state
from tests.conftest import make_folder

ROOT = Path(__file__).resolve().parents[1]
FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
CONFIG = """\
company: {name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD, locale: en_US}
invoices: {path: invoices.csv}
default_workflow: chase
channels:
  email: {transport: outbox, dir: outbox}
"""
INVOICES = "number,customer_id,customer_name,email,issue_date,due_date,amount\n" + "".join(
    f"INV-{n},C{n},Customer {n},ap@c{n}.example,2026-03-01,2026-03-10,{n}00.00\n"
    for n in range(1, 4)
)
CHASE = (
    "anchor: due_date\nsteps:\n  - id: first\n    day: 1\n    actions:\n      - email: reminder\n"
)

# Started before arflow in the process below: each connection to a database file is a real
# sqlite3 connection that notes, at every COMMIT it runs, the journal mode and synchronous
# setting it commits with (the connection arflow opened, as arflow set it up).
RECORDER = textwrap.dedent(
    """
    import atexit, json, os, sqlite3

    seen = []

    class Recording(sqlite3.Connection):
        def execute(self, sql, *args):
            if sql.strip().upper().startswith("COMMIT"):
                mode = sqlite3.Connection.execute(self, "PRAGMA journal_mode").fetchone()[0]
                sync = sqlite3.Connection.execute(self, "PRAGMA synchronous").fetchone()[0]
                files = [r[2] for r in sqlite3.Connection.execute(self, "PRAGMA database_list")]
                seen.append({"file": files[0], "journal_mode": mode, "synchronous": sync})
            return sqlite3.Connection.execute(self, sql, *args)

    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        return real_connect(*args, **{**kwargs, "factory": Recording})

    sqlite3.connect = connect
    atexit.register(
        lambda: open(os.environ["COMMITS_TO"], "w").write(json.dumps(seen))
    )
    """
)


@pytest.fixture
def config(tmp_path) -> Path:
    return make_folder(
        tmp_path / "ar", invoices=INVOICES, workflows={"chase": CHASE}, config=CONFIG
    )


@pytest.mark.parametrize("mode", ["run", "write"])
def test_the_state_is_opened_in_wal_mode_with_full_sync(config, mode):
    path = config.parent / "arflow.db"
    with open_state(path, "arflow.db", mode) as db:
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.conn.execute("PRAGMA synchronous").fetchone()[0] >= FULL
    # on disk: the header's read and write versions are 2 in WAL mode (SQLite's file format,
    # bytes 18 and 19), so every later connection journals with the write-ahead log too
    assert path.read_bytes()[18:20] == b"\x02\x02"


def test_every_commit_of_a_real_run_is_made_with_full_sync(config, tmp_path):
    commits = tmp_path / "commits.json"
    (tmp_path / "recorder").mkdir()
    (tmp_path / "recorder" / "sitecustomize.py").write_text(RECORDER)
    done = subprocess.run(
        [sys.executable, "-m", "arflow", "run", "--as-of", "2026-03-11", "--config", str(config)],
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(tmp_path / "recorder"), str(ROOT)]),
            "COMMITS_TO": str(commits),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(list((config.parent / "outbox").glob("*.eml"))) == 3
    seen = [c for c in json.loads(commits.read_text()) if Path(c["file"]).name == "arflow.db"]
    # a `sending` and an outcome for each of the three messages at least, and the run's own
    assert len(seen) >= 6
    assert {(c["journal_mode"], c["synchronous"] >= FULL) for c in seen} == {("wal", True)}
    path = config.parent / "arflow.db"
    assert path.read_bytes()[18:20] == b"\x02\x02"
