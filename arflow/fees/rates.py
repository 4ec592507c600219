"""The reference rates statutory interest is computed from (issue 31): dated tables shipped in
the package, each with its source and the last day it is known for, which a user's
`reference_rates:` file (CSV `date,rate`) overrides or extends.

A table is a list of changes: from each row's date on, the rate is the row's, until the next
row. `on(day)` is the rate in force on a day; a day before the first row or after the day the
table is known to is an error that names the table and the fix, never a silent zero.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

RATES = Path(__file__).resolve().parent / "rates"


class MissingRate(ValueError):
    """No rate is known for a day a rule needs one for."""


@dataclass(frozen=True, slots=True)
class RateTable:
    name: str  # the file's stem, e.g. `boe-bank-rate`
    title: str  # as a sentence names it
    source: str  # where its figures are published
    known_to: date  # the last day the table is sure of the rate in force
    changes: tuple[tuple[date, Decimal], ...]
    where: str = ""  # the user's file that overrode or extended it, if any
    days: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", tuple(day for day, _ in self.changes))

    def on(self, day: date) -> Decimal:
        """The rate in force on `day`."""
        at = bisect_right(self.days, day)
        if day > self.known_to:
            raise MissingRate(
                f"{self.title} is known to arflow up to {self.known_to}, not on {day}"
                f"{self._from()}: add the rate in force on {day} to a `reference_rates:` file "
                f"(CSV `date,rate`, one row per change) named under `late_fees:` in arflow.yaml "
                f"(docs/fees.md says where {self.publisher} publishes it)"
            )
        if at == 0:
            raise MissingRate(
                f"{self.title} starts on {self.changes[0][0]}{self._from()}, after {day}: "
                f"add the rate in force on {day} to a `reference_rates:` file"
            )
        return self.changes[at - 1][1]

    @property
    def publisher(self) -> str:
        return {"boe": "the Bank of England", "bundesbank": "the Bundesbank"}.get(
            self.name.split("-")[0], "the ECB"
        )

    def _from(self) -> str:
        return f" (shipped table with {self.where})" if self.where else ""

    def extended(self, rows: list[tuple[date, Decimal]], where: str) -> RateTable:
        """This table with a user's rows: a row replaces the shipped one of its date, later
        rows extend it; the table is then known up to its last row's date at least."""
        merged = dict(self.changes)
        merged.update(rows)
        last = max((day for day, _ in rows), default=self.known_to)
        return RateTable(
            self.name,
            self.title,
            self.source,
            max(self.known_to, last),
            tuple(sorted(merged.items())),
            where,
        )


# name → (title, source, known to): the tables' files are arflow/fees/rates/NAME.csv
SHIPPED: dict[str, tuple[str, str, date]] = {
    "boe-bank-rate": (
        "the Bank of England's Bank Rate",
        "https://www.bankofengland.co.uk/boeapps/database/Bank-Rate.asp",
        date(2026, 2, 5),  # the MPC held 3.75 % that day
    ),
    "bundesbank-basiszinssatz": (
        "the Bundesbank's Basiszinssatz (§ 247 BGB)",
        "https://www.bundesbank.de/de/bundesbank/organisation/agb-und-regelungen/basiszinssatz-607820",
        date(2026, 6, 30),  # the half-year from 2026-01-01 (BAnz of 2025-12-24)
    ),
    "ecb-main-refinancing": (
        "the ECB's main refinancing operations rate",
        "https://www.ecb.europa.eu/stats/policy_and_exchange_rates/key_ecb_interest_rates/html/index.en.html",
        date(2026, 2, 5),  # the Governing Council held 2.15 % that day
    ),
}


@cache
def shipped(name: str) -> RateTable:
    """A table as the package ships it."""
    title, source, known_to = SHIPPED[name]
    with (RATES / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        rows = [(date.fromisoformat(r["date"]), Decimal(r["rate"])) for r in csv.DictReader(handle)]
    return RateTable(name, title, source, known_to, tuple(rows))
