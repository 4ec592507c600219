"""Time `arflow report --html` against floors measured in the same run: `arflow forecast
--days 14` (the report plans the same 14 days), `arflow kpi` (the KPIs once; the report
computes them 13 times for the trend) and a bare csv.reader pass over the same file.

Medians of R runs, each a fresh process. Usage: python benchmarks/bench_report_html.py [N]
[--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dry_run import AS_OF, FLOOR, run_with_rss
from generate import generate


def arflow(folder: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "arflow", *args, "--config", str(folder / "arflow.yaml")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ar"
        generate(args.n, folder, AS_OF)
        day = AS_OF.isoformat()
        timed = {
            "csv.reader floor": [sys.executable, "-c", FLOOR, str(folder / "invoices.csv")],
            "kpi": arflow(folder, "kpi", "--as-of", day, "--format", "json"),
            "forecast --days 14": arflow(folder, "forecast", "--as-of", day, "--format", "json"),
            "report --html": arflow(
                folder, "report", "--html", str(folder / "r.html"), "--as-of", day
            ),
        }
        found = {
            name: statistics.median(run_with_rss(cmd)[0] for _ in range(args.repeat))
            for name, cmd in timed.items()
        }
        floor = found["csv.reader floor"]
        for name, seconds in found.items():
            print(f"{name:>20} over {args.n:,} invoices: {seconds:6.2f}s  {seconds / floor:6.1f}x")
        ratio = found["report --html"] / found["forecast --days 14"]
        print(f"report ÷ forecast: {ratio:.2f}x (the report is the forecast and a few passes)")


if __name__ == "__main__":
    main()
