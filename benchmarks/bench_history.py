"""The state database and `arflow history` over one customer with N open invoices (default
2,000): storage that grows with the messages, not with the invoices they list.

The folder is the example's (`arflow init`), with one customer and N invoices issued on
2025-11-01 (Net 30). One real run on 2026-03-16 reaches every invoice with each step of
net30-standard (the final notice and its notice sent, the six earlier actions skipped: 8
action keys per invoice, 8 entries in the history). Then: the state database's size, and the
median wall time and the peak memory (max RSS) of R runs of `arflow history --format json`,
each a fresh process, against the targets (20 MB, 2 s, 300 MB).

Usage: python benchmarks/bench_history.py [N] [--repeat R]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dry_run import run_with_rss

from arflow.scaffold import write_scaffold

TARGETS = {"state": 20_000_000, "seconds": 2.0, "memory": 300_000_000}


def one_customer(folder: Path, n: int) -> Path:
    write_scaffold(folder, date(2026, 3, 16))
    with (folder / "customers.csv").open("w", newline="") as handle:
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
    with (folder / "invoices.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["number", "customer_id", "issue_date", "terms", "amount", "product"])
        out.writerows(
            [f"INV-{i:06d}", "C001", "2025-11-01", "Net 30", "100.00", "consulting"]
            for i in range(n)
        )
    return folder / "arflow.yaml"


def arflow(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "arflow", *args, "--format", "json", "--config", str(config)]


def measure(n: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        config = one_customer(Path(tmp) / "ar", n)
        before = time.perf_counter()
        run = subprocess.run(arflow(config, "run", "--as-of", "2026-03-16"), capture_output=True)
        run_seconds = time.perf_counter() - before
        if run.returncode not in (0, 3):  # 3: a message could not be made, the rest went
            sys.exit(f"arflow run failed ({run.returncode}): {run.stderr.decode()[-2000:]}")
        errors = [e["message"] for e in json.loads(run.stdout)["errors"]]
        state = sum(
            p.stat().st_size for p in config.parent.glob("arflow.db*") if p.suffix != ".lock"
        )
        times, peak, out = [], 0, b""
        for _ in range(repeat):
            seconds, rss, out = run_with_rss(arflow(config, "history"))
            times.append(seconds)
            peak = max(peak, rss)
        entries = json.loads(out)["actions"]
        return {
            "run": run_seconds,
            "state": state,
            "seconds": statistics.median(times),
            "memory": peak,
            "entries": len(entries),
            "keys": sum(len(e["keys"]) for e in entries),
            "errors": errors,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    found = measure(args.n, args.repeat)
    print(
        f"{args.n:,} open invoices, one customer: the run took {found['run']:.2f} s and "
        f"recorded {found['keys']:,} action keys as {found['entries']} history entries"
    )
    for error in found["errors"]:
        print(f"  (the run reported: {error})")
    shown = {
        "state": f"{found['state'] / 1e6:.1f} MB",
        "seconds": f"{found['seconds']:.2f} s",
        "memory": f"{found['memory'] / 1e6:.0f} MB",
    }
    words = {
        "state": "arflow.db",
        "seconds": "history --format json, median time",
        "memory": "history --format json, peak memory",
    }
    limits = {"state": "20 MB", "seconds": "2 s", "memory": "300 MB"}
    for name, target in TARGETS.items():
        verdict = "ok" if found[name] < target else "OVER"
        print(f"  {words[name]:<38} {shown[name]:>9}   (target < {limits[name]}: {verdict})")


if __name__ == "__main__":
    main()
