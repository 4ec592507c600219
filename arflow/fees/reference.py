"""The rate table a `late_fees:` setting reads: the shipped one, extended by the user's
`reference_rates:` file (CSV with a `date,rate` header, one row per change, percent a year).

Dates are ISO `YYYY-MM-DD` and rates plain numbers (`3.75`, `-0.88`), whatever the invoices'
settings: the file is arflow's own, written from the publishers' tables. A file with any bad
row is refused whole, each bad row named with its line, value and fix: a rate table with a
hole would give a wrong figure, not a smaller one.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from arflow.config import Config
from arflow.errors import InvalidFiles, Problem
from arflow.fees.rates import RateTable, shipped
from arflow.fees.settings import LateFees

HEADER = ["date", "rate"]
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
RATE = re.compile(r"[+-]?\d{1,3}(?:\.\d+)?")


def rate_table(config: Config, settings: LateFees) -> RateTable | None:
    """The table `settings.interest` reads, with the user's rows (None: the rule reads none).
    Raises `InvalidFiles` for a bad `reference_rates:` file."""
    name = settings.table
    if name is None:
        return None
    table = shipped(name)
    if settings.reference_rates is None:
        return table
    path = config.resolve(settings.reference_rates)
    shown = config.display(path)
    return table.extended(read_rates(path, shown), shown)


def read_rates(path: Path, shown: str) -> list[tuple[date, Decimal]]:
    """The (date, percent) rows of a `reference_rates:` file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise InvalidFiles(
            [Problem(shown, None, "reference_rates", f"cannot read it: {detail}")]
        ) from None
    header = [cell.strip().lower() for cell in lines[0]] if lines else []
    if header != HEADER:
        raise InvalidFiles(
            [Problem(shown, 1, "header", f"the header is {header!r}; write `date,rate`")]
        )
    rows: list[tuple[date, Decimal]] = []
    problems: list[Problem] = []
    seen: dict[date, int] = {}
    for line, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row, problem = _row(cells)
        if problem is None and row[0] in seen:
            problem = f"{row[0]} is also on line {seen[row[0]]}: give each date once"
        if problem is not None:
            problems.append(Problem(shown, line, "rate", problem))
            continue
        seen[row[0]] = line
        rows.append(row)
    if problems:
        raise InvalidFiles(problems)
    return rows


def _row(cells: list[str]) -> tuple[tuple[date, Decimal], str | None]:
    if len(cells) != 2:
        return (date.min, Decimal(0)), f"{len(cells)} values; write `YYYY-MM-DD,RATE`"
    text, rate_text = cells[0].strip(), cells[1].strip()
    try:
        day = date.fromisoformat(text) if ISO_DAY.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        return (date.min, Decimal(0)), f"date {cells[0]!r} is not a day: write it YYYY-MM-DD"
    if not RATE.fullmatch(rate_text):
        return (day, Decimal(0)), (
            f"rate {cells[1]!r} is not a percentage: write it as a number such as 3.75 or -0.88"
        )
    rate = Decimal(rate_text)
    if not -20 <= rate <= 100:
        return (day, rate), f"rate {rate} is not a percentage a year (-20 to 100)"
    return (day, rate), None
