"""Time `arflow run --dry-run --format json` against a bare csv.reader pass over the same file.

Both run as fresh processes in the same session, so interpreter start-up counts on both sides.
Prints wall times, the ratio to the floor, and arflow's peak memory (max RSS).

Usage: python benchmarks/bench_dry_run.py [N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

AS_OF = "2026-03-16"
FLOOR = "import csv,sys\nfor row in csv.reader(open(sys.argv[1], newline='')): pass\n"


def run_with_rss(cmd: list[str]) -> tuple[float, int, bytes]:
    before = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    seconds = time.perf_counter() - before
    # wait4 already reaped it; RUSAGE_CHILDREN keeps the max over children so far, so run the
    # big process after the small one and read the max
    if proc.returncode not in (0, 3):
        sys.exit(f"{cmd[0]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ar"
        t = time.perf_counter()
        generate(args.n, folder, __import__("datetime").date.fromisoformat(AS_OF))
        csv_path = folder / "invoices.csv"
        size = csv_path.stat().st_size
        print(f"generated {args.n:,} invoices, {args.n // 10:,} customers, "
              f"{size / 1e6:.0f} MB in {time.perf_counter() - t:.1f}s")
        floor_times, arflow_times, rss, doc = [], [], 0, None
        for _ in range(args.repeat):
            s, _, _ = run_with_rss([sys.executable, "-c", FLOOR, str(csv_path)])
            floor_times.append(s)
            s, rss, out = run_with_rss([sys.executable, "-m", "arflow", "run", "--dry-run",
                                        "--format", "json", "--as-of", AS_OF, "--config",
                                        str(folder / "arflow.yaml")])
            arflow_times.append(s)
            doc = json.loads(out)
        floor, arflow = min(floor_times), min(arflow_times)
        summary = doc["summary"]
        print(f"floor  csv.reader pass        {floor:7.2f}s  (best of {args.repeat})")
        print(f"arflow run --dry-run --json   {arflow:7.2f}s  (best of {args.repeat})")
        print(f"ratio                         {arflow / floor:7.2f}x   (target ≤ 4x, later 2.5x)")
        print(f"peak memory                   {rss / 2**20:7.0f} MB "
              "(target ≤ 1024 MB, later 400 MB)")
        print(f"plan: {summary['open']:,} open, {summary['actions']:,} actions, "
              f"{summary['skipped']:,} skipped, {summary['errors']:,} errors")


if __name__ == "__main__":
    main()
