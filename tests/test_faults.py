"""SPEC 6 under real faults: arflow runs as separate processes against a loopback SMTP server,
is killed with SIGKILL in the middle of a run, and is started twice at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import make_folder
from tests.test_deliver import CHASE, smtp_config

ROOT = Path(__file__).resolve().parents[1]
INVOICES = "number,customer_id,customer_name,email,issue_date,due_date,amount\n" + "".join(
    f"INV-{n},C{n},Customer {n},ap@c{n}.example,2026-03-01,2026-03-10,{n}00.00\n"
    for n in range(1, 6)
)


def start(config: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arflow",
            "run",
            "--as-of",
            "2026-03-11",
            "--config",
            str(config),
            *args,
        ],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def history(config: Path, *args: str) -> list[dict]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "arflow",
            "history",
            "--format",
            "json",
            "--config",
            str(config),
            *args,
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)["actions"]


def delivered(server) -> Counter:
    return Counter(m.message["Message-ID"] for m in server.messages)


@pytest.fixture
def config(tmp_path, smtp_server):
    return make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={"chase": CHASE},
        config=smtp_config(smtp_server.port),
    )


def test_kill_9_mid_run_then_rerun_never_delivers_twice(config, smtp_server):
    smtp_server.handler.hold_on = 2  # the third message waits inside DATA
    victim = start(config)
    assert smtp_server.handler.arrived.wait(60), victim.communicate()
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)  # reaped, its pipes closed
    assert victim.returncode == -signal.SIGKILL
    smtp_server.handler.release.set()

    dry = start(config, "--dry-run", "--format", "json")  # says what the real run will do
    out, err = dry.communicate(timeout=60)
    assert dry.returncode == 3, err
    assert "1 message(s) of an interrupted run will be marked unknown by the real run" in err
    assert [a["customer_id"] for a in json.loads(out)["actions"]] == ["C4", "C5"]

    rerun = start(config, "--format", "json")
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 3, err  # the recovered unknown is a problem to report
    assert "1 message(s) of an interrupted run are now marked unknown" in err
    doc = json.loads(out)
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("C4", "sent"),
        ("C5", "sent"),
    ]

    # every reminder reached the server exactly once; only the one in flight is unknown
    assert len(smtp_server.messages) == 5 and set(delivered(smtp_server).values()) == {1}
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == [
        f"ap@c{n}.example" for n in range(1, 6)
    ]
    states = {r["customer_id"]: r["state"] for r in history(config)}
    assert states == {"C1": "sent", "C2": "sent", "C3": "unknown", "C4": "sent", "C5": "sent"}
    assert [r["key"] for r in history(config, "--unknown")] == ["invoice:INV-3/chase/first/0"]

    # and a third run the same day sends nothing at all
    again = start(config)
    again.communicate(timeout=60)
    assert again.returncode == 0 and len(smtp_server.messages) == 5


def test_two_runs_started_together_deliver_everything_exactly_once(config, smtp_server):
    smtp_server.handler.hold_on = 0  # whoever gets the lock waits in its first DATA
    runs = [start(config), start(config)]
    assert smtp_server.handler.arrived.wait(60)
    deadline = time.monotonic() + 60
    while all(r.poll() is None for r in runs) and time.monotonic() < deadline:
        time.sleep(0.05)
    [refused] = [r for r in runs if r.poll() is not None]
    out, err = refused.communicate()
    assert refused.returncode == 1
    assert "another arflow run is in progress" in err and "nothing was sent" in err
    assert out == ""
    smtp_server.handler.release.set()
    [holder] = [r for r in runs if r is not refused]
    holder.communicate(timeout=60)
    assert holder.returncode == 0
    assert len(smtp_server.messages) == 5 and set(delivered(smtp_server).values()) == {1}
    assert {r["state"] for r in history(config)} == {"sent"}
