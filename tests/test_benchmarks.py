"""The benchmarks still run against the bundled example: a template filter arflow adds
(`days`, `phone`) is in each plain-Jinja floor too."""

from __future__ import annotations

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
