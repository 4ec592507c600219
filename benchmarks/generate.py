"""Write a realistic AR folder: N invoices over two years for N/10 customers, most of them paid.

Usage: python benchmarks/generate.py N DIR [--as-of YYYY-MM-DD] [--seed S]
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

from arflow.scaffold import write_scaffold

TERMS = ["Net 30"] * 6 + ["Net 15", "Net 45", "Net 60", "Due on receipt", "Net 30 EOM"]
PRODUCTS = ["consulting"] * 5 + ["hosting"] * 3 + ["support"] * 2 + ["hardware"]
LOCATIONS = ["HQ", "Branch"]
WORDS = [
    "North",
    "Blue",
    "Harbor",
    "Summit",
    "Pine",
    "River",
    "Oak",
    "Stone",
    "Bright",
    "Cedar",
    "Iron",
    "Maple",
    "Silver",
    "Delta",
    "Prairie",
    "Coastal",
]
KINDS = ["Traders", "Labs", "Builders", "Cafe", "Logistics", "Dental", "Foods", "Studio"]


def generate(n: int, directory: Path, as_of: date, seed: int = 7) -> None:
    rng = random.Random(seed)
    write_scaffold(directory, as_of)
    customers = max(1, n // 10)
    with (directory / "customers.csv").open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["customer_id", "name", "email", "phone", "specialist", "segment", "parent_id"])
        for c in range(customers):
            name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(KINDS)} {c}"
            phone = f"+1 202 555 {c % 10000:04d}" if rng.random() < 0.4 else ""
            # one account in twenty is a branch of an earlier one (the statement campaign
            # consolidates them)
            parent = f"C{rng.randrange(c):06d}" if c and rng.random() < 0.05 else ""
            w.writerow(
                [
                    f"C{c:06d}",
                    name,
                    f"ap{c}@customer{c % 997}.example",
                    phone,
                    "dana",
                    rng.choice(["retail", "wholesale"]),
                    parent,
                ]
            )
    start = as_of - timedelta(days=730)
    with (directory / "invoices.csv").open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(
            [
                "number",
                "customer_id",
                "issue_date",
                "terms",
                "amount",
                "paid_date",
                "currency",
                "product",
                "location",
                "po_number",
            ]
        )
        for i in range(n):
            issued = start + timedelta(days=rng.randrange(735))
            amount = round(rng.lognormvariate(6, 1.1), 2)
            roll = rng.random()
            # every invoice is open until its paid_date (replayed as of any day); payment
            # delays as a real ledger has them: mostly near the terms, a late tail, bad debt
            if roll < 0.75:
                paid = issued + timedelta(days=max(0, int(rng.gauss(32, 12))))
            elif roll < 0.98:
                paid = issued + timedelta(days=rng.randrange(45, 150))
            else:
                paid = None
            w.writerow(
                [
                    f"{i:010d}",
                    f"C{rng.randrange(customers):06d}",
                    issued.isoformat(),
                    rng.choice(TERMS),
                    f"{amount:.2f}",
                    paid.isoformat() if paid else "",
                    "USD",
                    rng.choice(PRODUCTS),
                    rng.choice(LOCATIONS),
                    f"PO-{rng.randrange(10**6):06d}",
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--as-of", default="2026-03-16")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.n, args.directory, date.fromisoformat(args.as_of), args.seed)


if __name__ == "__main__":
    main()
