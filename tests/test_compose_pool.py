"""`arflow run --jobs N` (issue 30): messages composed in worker processes give the same run as
one process: the same JSON, the same outbox files, the same ledger rows in the same order, the
same errors; a worker that dies stops the run without sending anything twice."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arflow import compose_pool
from arflow.channels import Message, mime
from arflow.cli import app
from arflow.errors import ArflowError, SourceRefused
from tests.conftest import unstamped

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-03-16"
INVOICES = 14_000  # a generated ledger this size plans 1,255 actions: over POOL_FROM


# the pool forks its workers (Linux); elsewhere a run composes in one process
needs_fork = pytest.mark.skipif(not compose_pool.can_fork(), reason="workers are forked")


def _generate(n: int, folder: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(n, folder, date.fromisoformat(AS_OF))


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated AR folder with its state database made by a run before its first invoice
    (nothing due): each copy has the same key, so the same Message-IDs."""
    folder = tmp_path_factory.mktemp("pool") / "ar"
    _generate(INVOICES, folder)
    before = CliRunner().invoke(app, ["run", "--as-of", "2024-01-01", "--config", str(folder)])
    assert before.exit_code == 0, before.output
    return folder


@pytest.fixture
def pools(monkeypatch) -> list[int]:
    """How many worker processes each pool had: the runs below really use one."""
    started: list[int] = []
    real = compose_pool._pooled

    def counted(*args):
        started.append(args[5])
        return real(*args)

    monkeypatch.setattr(compose_pool, "_pooled", counted)
    return started


def copy_of(generated: Path, root: Path) -> Path:
    shutil.copytree(generated, root)
    return root / "arflow.yaml"


_VARIES = re.compile(rb"^Date: .*\r\n", re.M)


def outbox(config: Path) -> dict[str, bytes]:
    """Each outbox file with its Date (the moment it was written) taken out."""
    return {
        p.name: _VARIES.sub(b"", p.read_bytes())
        for p in sorted((config.parent / "outbox").iterdir())
    }


def ledger_rows(config: Path) -> list[tuple]:
    with sqlite3.connect(config.parent / "arflow.db") as conn:
        return conn.execute(
            "SELECT a.key, a.kind, a.customer_id, l.invoices, a.state, a.channel, a.recipients, "
            "a.subject, a.message_id, a.provider_id, a.description FROM actions AS a "
            "JOIN invoice_lists AS l "
            "ON l.id = a.invoice_list ORDER BY a.rowid"
        ).fetchall()


@needs_fork
def test_a_dry_run_in_two_processes_prints_what_one_prints(generated, run_json, pools):
    config = generated / "arflow.yaml"
    _, alone = run_json(config, AS_OF, "--jobs", "1")
    assert pools == []  # one process: no pool
    _, pooled = run_json(config, AS_OF, "--jobs", "2")
    assert pools == [2]
    assert pooled == alone
    assert alone["summary"]["actions"] == 1258 >= compose_pool.POOL_FROM
    assert alone["summary"]["errors"] == 0


@needs_fork
@pytest.mark.parametrize(
    ("as_of", "sent", "statements", "states"),
    [
        (AS_OF, 1008, 0, {"sent": 1062, "done": 267, "skipped": 1189}),
        # the first Monday: the monthly statement campaign's, each with its statement.csv
        ("2026-03-02", 1269, 126, {"sent": 1320, "done": 260, "skipped": 1230}),
    ],
)
def test_a_real_run_in_two_processes_writes_the_same_outbox_and_ledger(
    generated, tmp_path, cli, pools, as_of, sent, statements, states
):
    one, two = copy_of(generated, tmp_path / "one"), copy_of(generated, tmp_path / "two")
    done = [
        json.loads(
            cli("run", "--as-of", as_of, "--format", "json", "--jobs", jobs, "--config", cfg).stdout
        )
        for jobs, cfg in (("1", one), ("2", two))
    ]
    assert pools == [2]
    assert done[0] == done[1]
    assert done[0]["summary"]["sent"] == sent  # the statuses and tasks are done, not sent
    files = outbox(one)
    assert len(files) == sent
    assert sum(b'filename="statement.csv"' in data for data in files.values()) == statements
    assert outbox(two) == files
    assert ledger_rows(two) == ledger_rows(one)
    assert Counter(row[4] for row in ledger_rows(one)) == states  # a row per idempotency key


@needs_fork
def test_a_template_error_in_the_middle_is_reported_the_same(generated, tmp_path, cli, pools):
    config = copy_of(generated, tmp_path / "ar")
    template = config.parent / "templates" / "reminder.txt.j2"
    # one customer, in the middle of the plan, breaks the reminder (a slice a worker composes)
    template.write_text(
        '{% if customer.id == "C000749" %}{{ 1 / 0 }}{% endif %}' + template.read_text()
    )
    runs = []
    for jobs in ("1", "2"):
        result = cli(
            "run", "--dry-run", "--as-of", AS_OF, "--format", "json", "--jobs", jobs,
            "--config", config, expect=3,
        )  # fmt: skip
        runs.append(json.loads(result.stdout))
    assert pools == [2]
    assert runs[0] == runs[1]
    assert runs[0]["errors"] == [
        {
            "file": "templates/reminder.txt.j2",
            "line": 1,
            "column": None,
            "value": "C000749",
            "message": "cannot render for customer C000749: division by zero",
        }
    ]
    assert runs[0]["summary"]["actions"] == 1257  # the one message that failed is not planned


@needs_fork
def test_without_jobs_a_run_composes_on_every_core(generated, run_json, pools):
    run_json(generated / "arflow.yaml", AS_OF)
    cores = len(os.sched_getaffinity(0))
    assert compose_pool.jobs_default() == cores
    assert pools == ([cores] if cores > 1 else [])


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_jobs_below_one_is_a_usage_error(generated, cli, jobs):
    result = cli("run", "--dry-run", "--jobs", jobs, "--config", generated, expect=2)
    assert result.output.endswith(
        "Error: Invalid value for '--jobs' / '-j': Input should be greater than or equal to 1\n"
    )


ORIGINAL_SLICE = compose_pool._compose_slice


def dies_on_the_fifth_slice(start: int):
    """A worker's slice; the one at the fifth slice kills its worker (as the OOM killer
    would)."""
    if start == 4 * compose_pool.CHUNK:
        os.kill(os.getpid(), signal.SIGKILL)
    return ORIGINAL_SLICE(start)


@needs_fork
def test_a_worker_that_dies_stops_the_run_and_the_next_sends_the_rest_once(
    generated, tmp_path, cli, monkeypatch
):
    config = copy_of(generated, tmp_path / "ar")
    monkeypatch.setattr(compose_pool, "_compose_slice", dies_on_the_fifth_slice)
    result = cli("run", "--as-of", AS_OF, "--jobs", "2", "--config", config, expect=1)
    assert (
        "a worker process composing messages ended before its messages were made (killed, or "
        "out of memory): nothing more was sent. What went out is recorded, and the next run "
        "sends the rest; run with --jobs 1 to compose in one process."
    ) in result.output.replace("\n", " ")
    rows = ledger_rows(config)
    states = {row[4] for row in rows if row[1] != "status" and row[4] != "skipped"}
    assert states == {"sent", "done"}  # nothing left `sending`, nothing unknown
    first = len(list((config.parent / "outbox").iterdir()))
    assert 0 < first < 1008  # the first slices went out before the worker died

    monkeypatch.setattr(compose_pool, "_compose_slice", ORIGINAL_SLICE)
    cli("run", "--as-of", AS_OF, "--jobs", "2", "--config", config)
    files = list((config.parent / "outbox").iterdir())
    assert len(files) == 1008  # every message once: the second run sent only the rest
    assert len(ledger_rows(config)) == len({row[0] for row in ledger_rows(config)})


@needs_fork
def test_an_error_a_worker_raises_stops_the_run_as_in_one_process(generated, tmp_path, cli, pools):
    config = copy_of(generated, tmp_path / "ar")
    text = config.read_text()
    config.write_text(text.replace("  email: ar@acme.example\n", ""))  # no sender for emails
    outputs = [
        unstamped(
            cli(
                "run", "--dry-run", "--as-of", AS_OF, "--jobs", jobs, "--config", config,
                expect=1,
            ).output
        )
        for jobs in ("1", "2")
    ]  # fmt: skip
    assert pools == [2]
    assert (
        outputs
        == [
            "error: emails need a sender: set channels.email.from (or company.email) in "
            "arflow.yaml. Nothing was sent.\n"
        ]
        * 2
    )


@pytest.mark.parametrize("keep_bcc", [False, True])
@pytest.mark.parametrize("ahead", [None, False, True])
def test_bytes_built_ahead_are_the_bytes_built_when_sent(monkeypatch, keep_bcc, ahead):
    """A worker builds an email's bytes but the Date (`build_ahead`); the channel adds the
    Date when it sends. Built for the other Bcc choice, they are built again."""
    moments = iter(["Mon, 16 Mar 2026 06:00:00 GMT", "Mon, 16 Mar 2026 06:00:07 GMT"])
    monkeypatch.setattr(mime, "_date", lambda: next(moments))

    def message() -> Message:
        return Message(
            "email", "m", ["ap@c.example"], subject="Reminder", text="Pay.\n", html="<p>Pay</p>",
            bcc=["archive@acme.example"], sender="ar@acme.example", sender_name="Acme",
            message_id="<1.arflow@acme.example>",
        )  # fmt: skip

    made = message()
    if ahead is not None:
        mime.build_ahead(made, ahead)
        assert made.mime is not None and made.mime[0] is ahead
    sent = mime.email_bytes(made, keep_bcc)
    assert b"\r\nDate: Mon, 16 Mar 2026 06:00:00 GMT\r\n" in sent  # the moment it is sent
    assert (b"\r\nBcc: archive@acme.example\r\n" in sent) is keep_bcc
    assert sent == mime.email_bytes(message(), keep_bcc).replace(b"06:00:07", b"06:00:00")


@needs_fork
def test_emails_composed_in_two_processes_reach_a_mail_server_as_one_process_writes_them(
    generated, tmp_path, cli, pools, smtp_server
):
    """The SMTP channel takes the bytes a worker built (without the Bcc header, which the
    outbox's copy alone keeps): the server gets, in the plan's order, what --jobs 1 writes."""
    one, two = copy_of(generated, tmp_path / "one"), copy_of(generated, tmp_path / "two")
    text = two.read_text()
    outbox_line = "  email: {transport: outbox, dir: outbox}\n"
    assert outbox_line in text
    smtp = f"  email: {{transport: smtp, host: 127.0.0.1, port: {smtp_server.port}, timeout: 5}}\n"
    two.write_text(text.replace(outbox_line, smtp))
    cli("run", "--as-of", AS_OF, "--jobs", "1", "--config", one)
    cli("run", "--as-of", AS_OF, "--jobs", "2", "--config", two)
    assert pools == [2]
    files = outbox(one)
    emails = sorted(data for name, data in files.items() if name.endswith(".eml"))
    received = [_VARIES.sub(b"", m.data) for m in smtp_server.messages]
    assert len(received) == 984
    assert sorted(received) == emails
    assert outbox(two) == {n: d for n, d in files.items() if n.endswith(".sms.txt")}  # 24 SMS
    sent = [row[0] for row in ledger_rows(two) if row[1] in ("email", "notify")]
    assert sent == [row[0] for row in ledger_rows(one) if row[1] in ("email", "notify")]


@needs_fork
def test_workers_end_with_a_run_killed_and_leave_it_the_lock(generated, tmp_path, cli):
    """kill -9 of a run while its workers compose: they end with it (a forked worker holds
    the run's lock file open), so the next run takes the lock and sends the rest once."""
    config = copy_of(generated, tmp_path / "ar")
    victim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arflow",
            "run",
            "--as-of",
            AS_OF,
            "--jobs",
            "2",
            "--config",
            str(config),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children = Path(f"/proc/{victim.pid}/task/{victim.pid}/children")
    workers: list[str] = []
    for _ in range(3000):  # until both workers are there
        workers = children.read_text().split() if children.exists() else []
        if len(workers) >= 2 or victim.poll() is not None:
            break
        time.sleep(0.01)
    assert len(workers) == 2, "the run ended before its workers started"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    for _ in range(500):
        if not any(Path(f"/proc/{pid}").exists() for pid in workers):
            break
        time.sleep(0.01)
    alive = [pid for pid in workers if Path(f"/proc/{pid}/status").exists()]
    for pid in alive:  # not to leave them behind when this test fails
        os.kill(int(pid), signal.SIGKILL)
    assert alive == []

    result = cli("run", "--as-of", AS_OF, "--format", "json", "--config", config, expect=None)
    assert "another arflow run is in progress" not in result.output
    assert result.exit_code in (0, 3)  # 3: the message in flight at the kill is now unknown
    names = [p.name for p in (config.parent / "outbox").iterdir()]
    assert len(names) == len(set(names)) <= 1008
    states = Counter(row[4] for row in ledger_rows(config))
    assert states["sent"] + states["unknown"] == 1062  # each message once, or unknown once


def test_an_error_that_cannot_cross_processes_keeps_its_words():
    """A worker's exception goes to the parent pickled; one whose arguments are not its
    constructor's would break the pool (and read as a dead worker): its words go instead."""
    kept = compose_pool._portable(ArflowError("emails need a sender"))
    assert type(kept) is ArflowError and str(kept) == "emails need a sender"
    changed = compose_pool._portable(SourceRefused("invoices", "cannot read it", "date_format"))
    assert type(changed) is RuntimeError
    assert str(changed) == "SourceRefused: cannot read it"


@needs_fork
def test_a_bad_number_a_worker_reads_is_reported_as_one_process_reports_it(
    generated, tmp_path, run_json, pools, monkeypatch
):
    """A customer's phone number is checked when a template reads it (`phones.GivenPhone`):
    read in a worker, a bad one is reported among the run's errors all the same, once (two
    workers may both read it: one action a slice here), in the same place as with one
    process."""
    monkeypatch.setattr(compose_pool, "CHUNK", 1)
    config = copy_of(generated, tmp_path / "ar")
    customers = config.parent / "customers.csv"
    lines = customers.read_text().splitlines()
    header = lines[0].split(",")
    phone = header.index("phone")
    bad = []
    for n, line in enumerate(lines[1:], start=1):
        values = line.split(",")
        if values[phone]:
            values[phone] = "12"  # written, and no number anywhere
            bad.append(values[0])
            lines[n] = ",".join(values)
    customers.write_text("\n".join(lines) + "\n")
    _, alone = run_json(config, AS_OF, "--jobs", "1", expect=3)
    _, pooled = run_json(config, AS_OF, "--jobs", "2", expect=3)
    assert pools == [2]
    assert pooled == alone
    reported = [e for e in alone["errors"] if e["value"] == "12"]
    assert len(reported) == len({e["line"] for e in reported}) > 10
    assert alone["summary"]["errors"] == len(alone["errors"])
