"""Time `arflow forecast` and `arflow simulate` against floors measured in the same run.

- forecast: `arflow forecast --days 14` over a generated ledger of N invoices (default 1M),
  against one `arflow run --dry-run` of the same folder and day (the target: within 1.5x).
- simulate: `arflow simulate` over 365 days of the real AR ledger in tests/data (with the
  example's workflows and a customers file giving every customer an address), against one dry
  run of the same folder (and the bare csv.reader pass over the file, for scale).

Medians of R runs, each a fresh process. Usage: python benchmarks/bench_reports.py [N]
[--repeat R]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dry_run import AS_OF, FLOOR, arflow, run_with_rss
from generate import generate

from arflow.scaffold import write_scaffold

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "ibm-late-payment-histories.csv"
IBM_SOURCE = """invoices:
  path: ibm.csv
  columns: {number: invoiceNumber, customer_id: customerID, issue_date: InvoiceDate,
            due_date: DueDate, amount: InvoiceAmount, paid_date: SettledDate}
  date_format: "%m/%d/%Y"
"""


def command(folder: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "arflow",
        *args,
        "--format",
        "json",
        "--config",
        str(folder / "arflow.yaml"),
    ]


def median_of(cmd: list[str], repeat: int) -> float:
    return statistics.median(run_with_rss(cmd)[0] for _ in range(repeat))


def ibm_folder(directory: Path) -> Path:
    """The example folder reading the real ledger; every customer gets an address and a
    mobile number (a run refuses SMS that reach nobody)."""
    write_scaffold(directory, AS_OF)
    shutil.copy(DATA, directory / "ibm.csv")
    with DATA.open(newline="") as handle:
        ids = sorted({row["customerID"] for row in csv.DictReader(handle)})
    with (directory / "customers.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "name", "email", "phone"])
        writer.writerows(
            [cid, f"Customer {cid}", f"ap-{cid.lower()}@customer.example", f"+1 202 555 {n:04d}"]
            for n, cid in enumerate(ids)
        )
    config = directory / "arflow.yaml"
    text = config.read_text()
    config.write_text(text.replace("invoices:\n  path: invoices.csv\n", IBM_SOURCE))
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ar"
        generate(args.n, folder, AS_OF)
        dry = median_of(arflow(folder, AS_OF, "--dry-run"), args.repeat)
        ahead = median_of(
            command(folder, "forecast", "--days", "14", "--as-of", AS_OF.isoformat()), args.repeat
        )
        print(
            f"forecast --days 14 over {args.n:,} invoices: {ahead:.2f}s; one dry run "
            f"{dry:.2f}s; ratio {ahead / dry:.2f}x (target ≤ 1.5x)",
            flush=True,
        )

        ibm = ibm_folder(Path(tmp) / "ibm")
        floor = median_of([sys.executable, "-c", FLOOR, str(ibm / "ibm.csv")], args.repeat)
        dry = median_of(arflow(ibm, AS_OF, "--dry-run"), args.repeat)
        year = median_of(
            command(ibm, "simulate", "--from", "2013-01-01", "--to", "2013-12-31"), args.repeat
        )
        print(
            f"simulate 365 days over the real ledger (2,466 invoices): {year:.2f}s; one dry "
            f"run {dry:.2f}s ({year / dry:.1f}x); csv.reader floor {floor:.3f}s "
            f"({year / floor:.0f}x)",
            flush=True,
        )


if __name__ == "__main__":
    main()
