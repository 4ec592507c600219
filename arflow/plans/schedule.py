"""A plan's instalments: a total split to the cent, or amounts and days as given."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")
EVERY = ("week", "month")
MAX_INSTALMENTS = 120


def add_months(first: date, months: int) -> date:
    """`first` moved on by `months` calendar months, its day kept or, in a shorter month, the
    month's last day (the 31st of January, then the 28th of February, the 31st of March)."""
    index = first.month - 1 + months
    year, month = first.year + index // 12, index % 12 + 1
    return date(year, month, min(first.day, calendar.monthrange(year, month)[1]))


def instalment_days(first: date, count: int, every: str) -> list[date]:
    """`count` days from `first`, a week or a calendar month apart (counted from `first`)."""
    if every == "week":
        return [first + timedelta(weeks=n) for n in range(count)]
    return [add_months(first, n) for n in range(count)]


def split_evenly(total: Decimal, count: int, unit: Decimal = CENT) -> list[Decimal]:
    """`total` in `count` parts to the currency's minor `unit` (a cent; 1 for JPY): each the
    total divided and cut to the unit, the last the remainder (1000.00 in 3: 333.33, 333.33,
    333.34; JPY 10000 in 3: 3333, 3333, 3334)."""
    total = total.quantize(unit)
    part = (total / count).quantize(unit, rounding=ROUND_DOWN)
    return [part] * (count - 1) + [total - part * (count - 1)]


def check_given(
    total: Decimal, amounts: list[Decimal], days: list[date], today: date, unit: Decimal = CENT
) -> str | None:
    """Why instalments given one by one cannot make the plan (None: they can); each amount
    in the currency's minor `unit` at most (no fraction of a cent)."""
    finer = [a for a in amounts if a != a.quantize(unit)]
    if finer:
        return (
            f"--amounts {finer[0]}: the currency has no smaller unit than {unit}; give each "
            f"amount to {unit}"
        )
    if len(amounts) != len(days):
        return (
            f"--amounts has {len(amounts)} amount(s) and --dates {len(days)} day(s): give one "
            "day per amount"
        )
    bad = [a for a in amounts if a <= 0]
    if bad:
        return f"--amounts {bad[0]}: each instalment must be more than zero"
    if sum(amounts, Decimal(0)) != total:
        return (
            f"--amounts add up to {sum(amounts, Decimal(0))}, the invoices' open balance is "
            f"{total}: make them add up to {total}"
        )
    if days != sorted(days) or len(set(days)) != len(days):
        return "--dates must be in order, one instalment per day"
    if days[0] < today:
        return f"--dates {days[0]} is before today ({today}): an instalment is a day still to come"
    return None
