"""deploy/: the systemd units and the crontab line a server runs arflow with, and output that
suits journald."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not on this machine"
)
def test_the_systemd_units_verify(tmp_path):
    arflow = Path(sys.executable).parent / "arflow"
    for name in ("arflow.service", "arflow.timer"):
        text = (DEPLOY / name).read_text()
        # the paths of this machine in place of the server's, as an operator edits them
        text = text.replace("/opt/arflow/.venv/bin/arflow", str(arflow)).replace(
            "/srv/ar", str(tmp_path)
        )
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            "--man=no",
            str(tmp_path / "arflow.service"),
            str(tmp_path / "arflow.timer"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr.strip()) == (0, "")
    timer = (DEPLOY / "arflow.timer").read_text()
    assert "Persistent=true" in timer
    service = (DEPLOY / "arflow.service").read_text()
    assert "ExecStart=/opt/arflow/.venv/bin/arflow run --quiet" in service
    assert "flock" not in service.replace("no flock", "")


def test_the_crontab_line_runs_quietly(cli):
    (line,) = [
        ln
        for ln in (DEPLOY / "crontab").read_text().splitlines()
        if ln and not ln.startswith(("#", "MAILTO"))
    ]
    minute, hour, *_, command = line.split(None, 5)
    assert (minute, hour) == ("15", "6")
    assert command.endswith("arflow run --quiet")


def test_under_journald_no_line_carries_a_time_of_its_own(cli, tmp_path, monkeypatch):
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    plain = cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", config).stdout
    assert plain.startswith("# arflow dry run started 2030-01-15T12:00:00Z")
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    journal = cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", config).stdout
    assert journal == plain.split("\n", 1)[1]
    assert "\x1b[" not in journal
    (tmp_path / "ar" / "invoices.csv").unlink()
    failed = cli("run", "--config", config, expect=1)
    assert failed.stderr == "error: invoices.csv: file not found; check path: in arflow.yaml\n"


def test_a_real_run_tells_the_healthcheck_url_how_it_ended(cli, tmp_path, http_server):
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    config.write_text(config.read_text() + f"healthcheck_url: {http_server.url}/ping/abc-123\n")
    cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", config)
    assert http_server.requests == []  # a dry run is no run
    cli("run", "--as-of", "2026-03-16", "--config", config)
    (ok,) = http_server.requests
    assert (ok.path, ok.body.decode()) == (
        "/ping/abc-123",
        "2026-03-16: 12 action(s): 11 sent, 1 done, 0 error(s)",
    )
    # a run that completed with problems (a rejected row) says so at URL/fail
    invoices = tmp_path / "ar" / "invoices.csv"
    invoices.write_text(invoices.read_text() + "INV-2000,C001,2026-02-30,Net 30,5.00,,open,x,HQ\n")
    cli("run", "--as-of", "2026-03-17", "--config", config, expect=3)
    assert http_server.requests[-1].path == "/ping/abc-123/fail"
    assert http_server.requests[-1].body.decode().endswith(", 1 error(s)")
    # a run that did nothing too, with the error
    kept = invoices.read_text()
    invoices.unlink()
    cli("run", "--as-of", "2026-03-17", "--config", config, expect=1)
    assert (http_server.requests[-1].path, http_server.requests[-1].body.decode()) == (
        "/ping/abc-123/fail",
        "error: invoices.csv: file not found; check path: in arflow.yaml",
    )
    # a monitor that does not answer is a warning, never the run's outcome
    http_server.stop()
    invoices.write_text(kept.replace("2026-02-30", "2026-02-28"))
    result = cli("run", "--as-of", "2026-03-18", "--config", config)
    assert (
        "warning: arflow.yaml: healthcheck_url: no answer from "
        f"http://127.0.0.1:{http_server.port}/*** (" in result.stderr
    )
    assert "abc-123" not in result.stderr


def test_doctor_checks_a_deployment_before_tonight(cli, tmp_path, smtp_server):
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    out = cli("doctor", "--config", config).stdout.splitlines()
    assert out == [
        "ok    config: arflow.yaml is valid (7 workflows)",
        "ok    invoices: invoices.csv can be read (9 columns): 10 rows, 0 held back",
        "ok    customers: customers.csv can be read (7 columns): 7 rows, 0 held back",
        "warn  sms: 2 of 6 customers with an open invoice have no phone (`arflow sources` "
        "names them)",
        "ok    state: arflow.db does not exist yet; the first run creates it",
        "ok    email: written to outbox/ (transport outbox); nothing is sent",
        out[6],
    ]
    assert out[6].startswith("ok    time zone: today is 2030-01-15 in America/New_York")
    cli("run", "--as-of", "2026-03-16", "--config", config)
    out = cli("doctor", "--config", config).stdout
    assert "ok    state: arflow.db is readable and writable" in out
    assert "warn  state: no backup of arflow.db next to it" in out
    backup = tmp_path / "ar" / "arflow.db.bak"
    backup.write_bytes((tmp_path / "ar" / "arflow.db").read_bytes())
    old = datetime(2030, 1, 10, 3, 0, tzinfo=UTC).timestamp()  # the tests' clock is 2030-01-15
    os.utime(backup, (old, old))
    assert (
        "warn  state: the newest backup of arflow.db is 5 days old"
        in cli("doctor", "--config", config).stdout
    )
    fresh = datetime(2030, 1, 15, 3, 0, tzinfo=UTC).timestamp()
    os.utime(backup, (fresh, fresh))
    assert "ok    state: backed up 2030-01-15 03:00 UTC" in cli("doctor", "--config", config).stdout
    # a real SMTP server: logged in, nothing sent
    text = config.read_text().replace(
        "email: {transport: outbox, dir: outbox}",
        f"email: {{transport: smtp, host: 127.0.0.1, port: {smtp_server.port}}}",
    )
    config.write_text(text)
    out = cli("doctor", "--config", config).stdout
    assert "ok    email: reached 127.0.0.1 (nothing sent)" in out
    assert smtp_server.messages == []
    # a server that does not answer, and a missing ledger: failed checks, exit 1
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nobody listens there once it is closed
    config.write_text(text.replace(f"port: {smtp_server.port}", f"port: {closed}"))
    (tmp_path / "ar" / "invoices.csv").unlink()
    failed = cli("doctor", "--config", config, expect=1).stdout
    assert "FAIL  invoices.csv: file not found; check path: in arflow.yaml" in failed
    assert f"FAIL  email: cannot reach SMTP server 127.0.0.1:{closed}" in failed


def test_doctor_prints_its_checks_as_json_with_the_same_exit_codes(cli, tmp_path):
    import json
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    doc = json.loads(cli("doctor", "--format", "json", "--config", config).stdout)
    assert doc["ok"] is True
    assert doc["checks"][:2] == [
        {"level": "ok", "text": "config: arflow.yaml is valid (7 workflows)"},
        {
            "level": "ok",
            "text": "invoices: invoices.csv can be read (9 columns): 10 rows, 0 held back",
        },
    ]
    assert [c["level"] for c in doc["checks"]].count("warn") == 1  # the customers without a phone
    text = cli("doctor", "--config", config).stdout.splitlines()
    assert len(text) == len(doc["checks"])
    (tmp_path / "ar" / "invoices.csv").unlink()
    failed = json.loads(cli("doctor", "--format", "json", "--config", config, expect=1).stdout)
    assert failed["ok"] is False
    assert {
        "level": "fail",
        "text": "invoices.csv: file not found; check path: in arflow.yaml",
    } in failed["checks"]


def test_doctor_takes_no_state_database_arflow_set_aside_for_a_backup(cli, tmp_path):
    """`arflow.db.rescued-*` (what a run saved when its database was replaced under it) and
    `arflow.db.archived-*` (the old database `state init --force` set aside) are arflow's own
    files: a folder with only those has no backup."""
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    cli("run", "--as-of", "2026-03-16", "--config", config)
    state = (tmp_path / "ar" / "arflow.db").read_bytes()
    fresh = datetime(2030, 1, 15, 3, 0, tzinfo=UTC).timestamp()  # the tests' clock: 2030-01-15
    for name in (
        "arflow.db.rescued-20300115T030000Z",
        "arflow.db.rescued-20300115T030000Z-2",
        "arflow.db.archived-20300115T030000Z",
        "arflow.db.archived-20300115T030000Z.id",
    ):
        (tmp_path / "ar" / name).write_bytes(state)
        os.utime(tmp_path / "ar" / name, (fresh, fresh))
    assert (
        "warn  state: no backup of arflow.db next to it" in cli("doctor", "--config", config).stdout
    )
    (tmp_path / "ar" / "arflow.db.bak").write_bytes(state)
    os.utime(tmp_path / "ar" / "arflow.db.bak", (fresh, fresh))
    assert "ok    state: backed up 2030-01-15 03:00 UTC" in cli("doctor", "--config", config).stdout
