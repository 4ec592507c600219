"""Collections KPIs (issue 34): DSO by the countback method and over 90 days, the best possible
DSO, average days delinquent, the Collection Effectiveness Index and the share of receivables
more than 90 days past due — per currency, as of a day, from the ledger's own dates (issue
dates, due dates, paid dates). The formulas are docs/commands.md's `kpi` section, one function
each here.

AR(d): what was owed at the end of day d — issued by d and not paid by d (the `paid_date`
where the source has one: the whole amount until that day; else today's balance); current(d):
its part not yet past due (d ≤ due date); sales(a, b): the amounts issued from a to b (credit
notes count negative). Drafts and voided documents count nowhere."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from arflow.ledger import NOT_OWED, ZERO, Invoice, money_text

TENTH = Decimal("0.1")
COUNTBACK_MONTHS = 24  # at most this many whole months back
PRECISION = 80  # digits for the ratios (Decimal's default 28 is too few for extreme books)


def owed_on(inv: Invoice, day: date) -> Decimal:
    """What `inv` added to AR at the end of `day`."""
    if inv.issue_date > day or inv.status in NOT_OWED:
        return ZERO
    if inv.paid_date is not None:
        return inv.amount if inv.paid_date > day else ZERO
    return inv.open_balance(day)


def ar(invoices: Iterable[Invoice], day: date) -> Decimal:
    return sum((owed_on(inv, day) for inv in invoices), ZERO)


def current(invoices: Iterable[Invoice], day: date) -> Decimal:
    return sum((owed_on(inv, day) for inv in invoices if day <= inv.due_date), ZERO)


def past_90(invoices: Iterable[Invoice], day: date) -> Decimal:
    return sum((owed_on(inv, day) for inv in invoices if (day - inv.due_date).days > 90), ZERO)


def sales(invoices: Iterable[Invoice], first: date, last: date) -> Decimal:
    return sum(
        (
            inv.amount
            for inv in invoices
            if first <= inv.issue_date <= last and inv.status not in NOT_OWED
        ),
        ZERO,
    )


def _periods(day: date) -> Iterable[tuple[date, date]]:
    """The 1st of `day`'s month to `day`, then each whole calendar month before it."""
    first = day.replace(day=1)
    yield first, day
    for _ in range(COUNTBACK_MONTHS):
        last = first - timedelta(days=1)
        first = last.replace(day=1)
        yield first, last


def dso_countback(invoices: list[Invoice], day: date) -> Decimal | None:
    """Days of sales AR stands for, counted back month by month (None: nothing owed)."""
    left = ar(invoices, day)
    if left <= ZERO:
        return None
    days = ZERO
    for first, last in _periods(day):
        length = Decimal((last - first).days + 1)
        sold = sales(invoices, first, last)
        if left > sold:
            days += length
            left -= sold
            continue
        return days + (left / sold * length if sold else ZERO)
    return days


def ratio_days(part: Decimal, sold: Decimal, days: int) -> Decimal | None:
    return part / sold * days if sold > ZERO else None


def cei(invoices: list[Invoice], day: date) -> Decimal | None:
    """The Collection Effectiveness Index of the last whole calendar month before `day`'s."""
    last = day.replace(day=1) - timedelta(days=1)
    first = last.replace(day=1)
    begin = ar(invoices, first - timedelta(days=1))
    sold = sales(invoices, first, last)
    end, end_current = ar(invoices, last), current(invoices, last)
    below = begin + sold - end_current
    return (begin + sold - end) / below * 100 if below else None


@dataclass(frozen=True, slots=True)
class Kpis:
    currency: str
    receivables: Decimal
    current: Decimal
    dso_countback: Decimal | None
    dso_90: Decimal | None
    best_possible_dso_90: Decimal | None
    add_90: Decimal | None
    cei: Decimal | None
    share_90_plus: Decimal | None


def kpis(invoices: Iterable[Invoice], day: date) -> list[Kpis]:
    """Each currency's KPIs on `day`, currencies in order."""
    by_currency: dict[str, list[Invoice]] = {}
    for inv in invoices:
        by_currency.setdefault(inv.currency, []).append(inv)
    # amounts of 15 digits and 20 decimals divide into ratios of up to 38 digits: room for
    # them, so a ratio rounds to 0.1 whatever the ledger holds
    with localcontext() as exact:
        exact.prec = PRECISION
        return [_of(cur, invs, day) for cur, invs in sorted(by_currency.items())]


def _of(currency: str, invs: list[Invoice], day: date) -> Kpis:
    owed, now = ar(invs, day), current(invs, day)
    sold = sales(invs, day - timedelta(days=89), day)
    dso = ratio_days(owed, sold, 90)
    best = ratio_days(now, sold, 90)
    return Kpis(
        currency,
        owed,
        now,
        tenth(dso_countback(invs, day)),
        tenth(dso),
        tenth(best),
        tenth(dso - best if dso is not None and best is not None else None),
        tenth(cei(invs, day)),
        tenth(past_90(invs, day) / owed * 100 if owed > ZERO else None),
    )


def month_ends(day: date, count: int) -> list[date]:
    """The last days of the `count` − 1 whole calendar months before `day`'s, oldest first,
    and `day` itself last: `count` points (the trend's)."""
    ends = [day]
    last = day.replace(day=1) - timedelta(days=1)
    for _ in range(count - 1):
        ends.append(last)
        last = last.replace(day=1) - timedelta(days=1)
    return ends[::-1]


FIELDS = (
    "dso_countback",
    "dso_90",
    "best_possible_dso_90",
    "add_90",
    "cei",
    "share_90_plus",
)


def kpi_document(k: Kpis) -> dict:
    """`arflow kpi --format json`'s figures of one currency: amounts as decimal strings, the
    rest as numbers rounded to 0.1 (null where nothing divides)."""
    return {
        "receivables": money_text(k.receivables),
        "current": money_text(k.current),
        **{name: None if getattr(k, name) is None else float(getattr(k, name)) for name in FIELDS},
    }


def tenth(value: Decimal | None) -> Decimal | None:
    """Rounded half-up to 0.1."""
    return None if value is None else value.quantize(TENTH, rounding=ROUND_HALF_UP)
