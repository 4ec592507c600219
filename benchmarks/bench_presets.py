"""Time reading a QuickBooks "Open Invoices" export through its preset (title rows, a heading
per customer, "Total for …" rows: the row-by-row reader) against the floor of a bare
csv.reader pass over the same file, medians of R runs in one process.

Usage: python benchmarks/bench_presets.py [N invoices, default 100000] [--repeat R]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

from arflow.config import load_config
from arflow.sources import load_ledger

DATA = Path(__file__).resolve().parent / "data" / "presets"
PER_CUSTOMER = 10


def generate(count: int) -> Path:
    """An export in the report's layout: N invoices, one customer heading per 10."""
    DATA.mkdir(parents=True, exist_ok=True)
    rows = [
        "Open Invoices",
        "Bench Co",
        '"As of November 28, 2026"',
        "",
        ",Date,Transaction Type,Num,Term,Due Date,Open Balance",
    ]
    for number in range(1, count + 1):
        if number % PER_CUSTOMER == 1:
            rows.append(f"Customer {number // PER_CUSTOMER},,,,,,")
        day = number % 28 + 1
        rows.append(
            f',10/{day:02d}/2026,Invoice,{number},Net 30,11/{day:02d}/2026,"1,{number % 10}08.00"'
        )
        if number % PER_CUSTOMER == 0:
            rows.append(f'Total for Customer {number // PER_CUSTOMER - 1},,,,,,"$10,000.00"')
    rows += ['TOTAL,,,,,,"$1.00"', "", '"Saturday, Nov 28, 2026 09:14:03 AM GMT-08:00"']
    (DATA / "open-invoices.csv").write_text("\r\n".join(rows) + "\r\n")
    # the same invoices as a plain file (header on line 1, a column per field): the fast path
    with (DATA / "plain.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "customer_id", "issue_date", "due_date", "amount"])
        for number in range(1, count + 1):
            day = number % 28 + 1
            writer.writerow(
                [
                    number,
                    f"Customer {(number - 1) // PER_CUSTOMER}",
                    f"2026-10-{day:02d}",
                    f"2026-11-{day:02d}",
                    f"1{number % 10}08.00",
                ]
            )
    (DATA / "plain.yaml").write_text("company: {name: Bench Co}\ninvoices: {path: plain.csv}\n")
    (DATA / "arflow.yaml").write_text(
        "company: {name: Bench Co}\n"
        "invoices: {path: open-invoices.csv, preset: quickbooks-open-invoices}\n"
    )
    return DATA / "arflow.yaml"


def median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = load_config(generate(args.count))
    path = config.resolve(config.invoices.path)

    def floor() -> None:
        with path.open(newline="", encoding="utf-8") as handle:
            for _ in csv.reader(handle):
                pass

    def load() -> None:
        ledger = load_ledger(config)
        assert not ledger.errors and len(ledger.frame) == args.count

    plain = load_config(DATA / "plain.yaml")

    def load_plain() -> None:
        assert len(load_ledger(plain).frame) == args.count

    base, read = median(floor, args.repeat), median(load, args.repeat)
    fast = median(load_plain, args.repeat)
    print(
        f"{args.count:,} invoices; csv.reader over the export: {base:.3f} s (the floor)\n"
        f"  preset quickbooks-open-invoices (row by row): {read:.3f} s = {read / base:.1f}x\n"
        f"  the same invoices as a plain CSV (fast path): {fast:.3f} s = {fast / base:.1f}x"
    )


if __name__ == "__main__":
    main()
