"""The benchmarks still run against the bundled example: a template filter arflow adds
(`days`, `phone`) is in each plain-Jinja floor too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_render_renders_the_example_templates_on_its_plain_floor():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_render.py"), "2", "--repeat", "1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    labels = [line.split()[:2] for line in result.stdout.splitlines()]
    assert ["reminder.txt", "Environment"] in labels
    assert ["reminder.subject", "Templates.render"] in labels


def test_the_render_floor_makes_every_email_of_the_dry_run(tmp_path):
    """bench_dry_run.py --render-floor: the floor renders each message the dry run planned
    (subject, text and html of each email, the SMS, each status's text, the payment links)
    and builds each email, so the ratio compares the same work."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bench = ROOT / "benchmarks"
    folder = tmp_path / "ar"
    subprocess.run(
        [sys.executable, str(bench / "generate.py"), "2000", str(folder), "--as-of", "2026-03-16"],
        check=True,
        env=env,
    )
    dry = subprocess.run(
        [
            sys.executable,
            "-m",
            "arflow",
            "run",
            "--dry-run",
            "--format",
            "json",
            "--as-of",
            "2026-03-16",
            "--config",
            str(folder / "arflow.yaml"),
        ],
        capture_output=True,
        check=True,
        env=env,
    )
    plan = tmp_path / "plan.json"
    plan.write_bytes(dry.stdout)
    floor = subprocess.run(
        [sys.executable, str(bench / "render_floor.py"), str(folder), str(plan)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert floor.returncode == 0, floor.stderr
    made = json.loads(floor.stdout)
    actions = json.loads(dry.stdout)["actions"]
    emails = [a for a in actions if a["action"] in ("email", "notify")]
    html = {
        a["template"] for a in emails if (folder / f"templates/{a['template']}.html.j2").exists()
    }
    links = sum(len(a["invoices"]) + 1 for a in actions)
    parts = sum(2 + (a["template"] in html) for a in emails) + len(actions) - len(emails)
    assert (made["emails"], made["renders"]) == (len(emails), parts + links) == (126, 695)
