"""`arflow forecast --jobs N` and `arflow simulate --jobs N` (issue 30): each day's messages
composed in worker processes give the same forecast and simulation as one process, to the
byte, in every format, template errors included; and a replayed day recorded in one
transaction (`delivery_writes.Batch`) leaves its state in memory as a commit per message does."""

from __future__ import annotations

import json
import re
import shutil
import sys
import threading
from datetime import date
from pathlib import Path

import pytest

from arflow import compose_pool, deliver, delivery_writes
from arflow.channels.recording import RecordingChannel
from arflow.deliver import replay_day
from arflow.project import load_project
from arflow.sources import load_ledger
from arflow.state import StateDB, clock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from generate import generate

AS_OF = date(2026, 3, 16)
# the forecast of the generated folder from AS_OF: actions per day (day one plans everyone)
PER_DAY = [263, 12, 7, 8, 5, 3, 12, 3, 12, 7, 0, 9, 6, 9]

# the pool forks its workers (Linux); elsewhere a forecast composes in one process
needs_fork = pytest.mark.skipif(not compose_pool.can_fork(), reason="workers are forked")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated AR folder (3,000 invoices) with its state database made by a run before
    its first invoice: each copy has the same Message-ID key."""
    from typer.testing import CliRunner

    from arflow.cli import app

    folder = tmp_path_factory.mktemp("forecast-pool") / "ar"
    generate(3000, folder, AS_OF)
    before = CliRunner().invoke(app, ["run", "--as-of", "2024-01-01", "--config", str(folder)])
    assert before.exit_code == 0, before.output
    return folder


@pytest.fixture
def pools(monkeypatch) -> list[tuple[int, int]]:
    """(workers, actions) of each pool started: a day of five actions or more composes in
    one, four actions a slice, so every day but the quietest is made by the workers."""
    monkeypatch.setattr(compose_pool, "POOL_FROM", 5)
    monkeypatch.setattr(compose_pool, "CHUNK", 4)
    started: list[tuple[int, int]] = []
    real = compose_pool._pooled

    def counted(*args):
        started.append((args[5], len(args[0].actions)))
        return real(*args)

    monkeypatch.setattr(compose_pool, "_pooled", counted)
    return started


def _both(cli, *args: object, expect: int = 0) -> list:
    """The command's (stdout, stderr) with --jobs 1 and with --jobs 2."""
    found = []
    for jobs in ("1", "2"):
        result = cli(*args, "--jobs", jobs, expect=expect)
        found.append((result.stdout, result.stderr))
    return found


@needs_fork
@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_a_forecast_in_two_processes_prints_what_one_prints(generated, cli, pools, fmt):
    config = generated / "arflow.yaml"
    alone, pooled = _both(
        cli, "forecast", "--days", 14, "--as-of", AS_OF, "--format", fmt, "--config", config
    )
    assert pooled == alone
    # every day with five actions or more was composed by two workers (and only with -j 2)
    assert pools == [(2, n) for n in PER_DAY if n >= 5]
    if fmt == "json":
        days = json.loads(alone[0])["days"]
        assert [len(day["actions"]) for day in days] == PER_DAY
        assert days[2]["actions"][1] == {
            "date": "2026-03-18",
            "workflow": "net30-standard",
            "step": "reminder",
            "action": "email",
            "customer_id": "C000071",
            "invoices": ["0000002758"],
            "to": ["ap71@customer71.example"],
            "template": "reminder",
            "subject": "Reminder: 1 invoice past due ($44.57)",
            "status": "planned",
        }


@needs_fork
def test_a_template_that_fails_on_a_later_day_fails_there_either_way(
    generated, tmp_path, cli, pools
):
    folder = tmp_path / "ar"
    shutil.copytree(generated, folder)
    template = folder / "templates" / "reminder.txt.j2"
    # C000071's reminder goes on the third day: its email cannot be made
    template.write_text(
        '{% if customer.id == "C000071" %}{{ 1 / 0 }}{% endif %}' + template.read_text()
    )
    alone, pooled = _both(
        cli, "forecast", "--days", 14, "--as-of", AS_OF, "--format", "json", "--config", folder
    )
    assert pooled == alone
    days = json.loads(alone[0])["days"]
    # the email is left out of its day (its SMS still goes); every other day is as it was
    assert [len(day["actions"]) for day in days] == [*PER_DAY[:2], 6, *PER_DAY[3:]]
    assert [(a["customer_id"], a["action"]) for a in days[2]["actions"][:2]] == [
        ("C000001", "notify"),
        ("C000071", "sms"),
    ]
    # the pool was given the day's seven actions and left out the one it could not make; it
    # was not recorded, so each later day plans it again, and leaves it out again
    again = [n + 1 for n in PER_DAY[3:]]
    assert pools == [(2, n) for n in [*PER_DAY[:3], *again] if n >= 5]


@needs_fork
def test_a_simulation_in_two_processes_is_what_one_makes(generated, cli, pools):
    config = generated / "arflow.yaml"
    alone, pooled = _both(
        cli, "simulate", "--from", "2025-12-01", "--to", "2025-12-10", "--format", "json",
        "--config", config,
    )  # fmt: skip
    assert pooled == alone
    doc = json.loads(alone[0])
    per_day = [day["actions"] for day in doc["days"]]
    assert per_day == [264, 3, 4, 3, 9, 8, 12, 9, 10, 3]
    assert pools == [(2, n) for n in per_day if n >= 5]
    assert doc["steps"][0] == {
        "workflow": "hosting-overdue",
        "step": "overdue",
        "actions": 114,
        "invoices": 41,
        "paid_7": 5,
        "paid_14": 5,
        "paid_30": 5,
        "median_days_to_pay": 5.0,
        "unpaid": 36,
        "fees": {},
    }


# --- one transaction a day ----------------------------------------------------------------------
_SQLITE_NOW = re.compile(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d'")  # a task's datetime('now')


def _replayed(config: Path, days: list[date]) -> list[str]:
    """The state in memory after replaying these days (a copy of the folder's database),
    dumped as SQL."""
    project = load_project(config)
    ledger = load_ledger(project.config)
    path = project.config.resolve(project.config.state)
    db = StateDB.in_memory(path, copy=True)
    try:
        for day in days:
            result = replay_day(project, ledger, day, db)
            assert result.plan.actions  # something was recorded each day
        return [_SQLITE_NOW.sub("'NOW'", line) for line in db.conn.iterdump()]
    finally:
        db.close()


def _breaks_on(address: str):
    """A recording channel's `send` that raises for the message to `address` (its outcome:
    unknown), as a channel with a bug would."""
    real = RecordingChannel.send

    def send(self, message, ready, meanwhile=None):
        if address in message.to:
            raise RuntimeError("the channel broke")
        return real(self, message, ready, meanwhile)

    return send


def test_a_day_recorded_at_once_leaves_the_state_a_commit_per_message_leaves(
    generated, monkeypatch
):
    monkeypatch.setattr(clock, "utc_now", lambda: "2026-03-16T06:00:00+00:00")
    # C000004's statement on the campaign's day: its outcome unknown, so its internal notice
    # is recorded `statement-not-sent` in the middle of the day
    monkeypatch.setattr(RecordingChannel, "send", _breaks_on("ap4@customer4.example"))
    config = generated / "arflow.yaml"
    # the backlog, two ordinary days, and the statement campaign's first Monday
    days = [AS_OF, date(2026, 3, 17), date(2026, 3, 18), date(2026, 4, 6)]
    writes: list[int] = []  # the rows each of the batches' transactions wrote
    real = delivery_writes.Batch.settle

    def counted(batch: delivery_writes.Batch) -> None:
        writes.append(len(batch._marks))
        real(batch)

    monkeypatch.setattr(delivery_writes.Batch, "settle", counted)
    batched = _replayed(config, days)
    # one a day, and on the campaign's day one more: what came before the notice's skip
    assert len(writes) == len(days) + 1 and min(writes) > 0
    monkeypatch.setattr(deliver, "Batch", delivery_writes.Commits)
    one_by_one = _replayed(config, days)
    assert batched == one_by_one
    actions = [line for line in batched if line.startswith('INSERT INTO "actions"')]
    assert len(actions) > 300
    assert sum("'sent'" in line for line in actions) > 200
    assert [line.split("'")[1] for line in actions if "'statement-not-sent'" in line] == [
        "customer:C000004/monthly-statement/2026-04-06/1"
    ]


@needs_fork
def test_in_a_terminal_no_thread_draws_the_bar_while_the_workers_are_forked(
    generated, cli, pools, monkeypatch
):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich draws the bar, as in a terminal
    threads: list[list[str]] = []  # the other threads running as each pool starts
    counting = compose_pool._pooled

    def looked(*args):
        threads.append(
            sorted(
                type(t).__name__ for t in threading.enumerate() if t is not threading.main_thread()
            )
        )
        return counting(*args)

    monkeypatch.setattr(compose_pool, "_pooled", looked)
    result = cli("forecast", "--days", 3, "--as-of", AS_OF, "--config", generated, "--jobs", 2)
    assert pools == [(2, 263), (2, 12), (2, 7)]
    assert all("_RefreshThread" not in names for names in threads), threads
    assert "Forecasting" in result.stdout  # the bar was drawn
