"""Payment terms, due dates and business-day arithmetic (SPEC 2.1, 4.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta

if TYPE_CHECKING:
    from holidays import HolidayBase

_TERMS = re.compile(
    r"^\s*(?:net\s*(?P<days>\d+)(?P<eom1>\s+eom)?"
    r"|(?P<receipt>due\s+on\s+receipt)|(?P<eom2>eom))\s*$",
    re.IGNORECASE,
)
TERMS_HELP = "use 'Net N', 'Due on receipt', 'EOM' or 'Net N EOM'"

# The dates arflow reads from a source or a command line, and the longest offsets it adds to
# them: wide enough for any real invoice, narrow enough that every date arflow works out
# (due date from terms, step date, business days, a task's due date, the day after) is a real
# date. A "never" such as 9999-12-31 is out of range, and reported, not planned.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
MAX_TERMS_DAYS = 9999  # `Net 9999`
MAX_OFFSET_DAYS = 3650  # a workflow step's `day:` (either way) and a task's `due_in:`


def date_range_problem(text: str, day: date) -> str | None:
    """Why a date read from `text` is too far off to schedule, or None when it is in range."""
    if EARLIEST_DATE <= day <= LATEST_DATE:
        return None
    way = "past" if day < EARLIEST_DATE else "future"
    return (
        f"{text!r} is too far in the {way} to schedule: arflow reads dates from "
        f"{EARLIEST_DATE} to {LATEST_DATE}; write the real date"
    )


@dataclass(frozen=True, slots=True)
class Terms:
    """Parsed payment terms: `days` after the issue date, or after its month's end when `eom`."""

    days: int
    eom: bool

    def due_date(self, issue_date: date) -> date:
        # EOM: the month's last day (relativedelta's day=31 stops at the month's end)
        start = issue_date + relativedelta(day=31) if self.eom else issue_date
        return start + timedelta(days=self.days)


def parse_terms(text: str) -> Terms:
    """Parse `Net N`, `Due on receipt`, `EOM`, `Net N EOM` (case-insensitive); ValueError
    otherwise."""
    m = _TERMS.match(text or "")
    if not m:
        raise ValueError(f"unknown payment terms {text!r}: {TERMS_HELP}")
    if m["receipt"]:
        return Terms(0, False)
    if m["eom2"]:
        return Terms(0, True)
    days = m["days"].lstrip("0") or "0"
    if len(days) > len(str(MAX_TERMS_DAYS)):  # 9999: any four digits will do
        raise ValueError(
            f"payment terms {text.strip()!r} are longer than {MAX_TERMS_DAYS} days; "
            "write the real terms, or a due_date"
        )
    return Terms(int(days), bool(m["eom1"]))


def holiday_calendar(code: str) -> HolidayBase:
    """A `holidays` calendar for `US` or `US-NY`; ValueError naming the problem otherwise."""
    import holidays  # 30 ms: only for workflows that name a calendar

    country, _, subdiv = code.partition("-")
    try:
        return holidays.country_holidays(country.upper(), subdiv=subdiv.upper() or None)
    except NotImplementedError as exc:
        raise ValueError(_unknown_calendar(code, str(exc))) from None


def check_holiday_code(code: str) -> None:
    """ValueError, the one `holiday_calendar` raises, when `code` names no calendar. A country
    is looked up in the registry of `holidays` (building its calendar loads every country's
    module, a tenth of a second: that waits until business days are counted), and so is a
    market's (NYSE, XNYS, ECB); a subdivision is checked by building the calendar."""
    import holidays  # noqa: F401 (the package first: its registry is inside it)
    from holidays.registry import EntityLoader

    country, _, subdiv = code.partition("-")
    name = country.upper()
    if name not in EntityLoader.get_country_codes() and name not in _markets():
        raise ValueError(_unknown_calendar(code, f"Country {name} not available"))
    if subdiv:
        holiday_calendar(code)


def _markets() -> set[str]:
    """The financial markets' calendars `holidays` has (NYSE, XNYS, ECB …)."""
    from holidays.registry import EntityLoader

    return set(EntityLoader.get_financial_codes())


def _unknown_calendar(code: str, why: str) -> str:
    return (
        f"unknown holiday calendar {code!r} ({why}); use an ISO country code "
        "such as US, GB or DE, optionally with a subdivision: US-NY"
    )


class BusinessCalendar:
    """Mon–Fri minus a holiday calendar, with offsets counted the way SPEC 4.1 says."""

    def __init__(self, holiday_code: str | None = None):
        self._holidays = holiday_calendar(holiday_code) if holiday_code else None
        self._is_business: dict[date, bool] = {}

    def is_business_day(self, day: date) -> bool:
        known = self._is_business.get(day)
        if known is None:
            known = day.weekday() < 5 and not (self._holidays is not None and day in self._holidays)
            self._is_business[day] = known
        return known

    def roll_forward(self, day: date) -> date:
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def offset(self, anchor: date, days: int) -> date:
        """`days` business days from `anchor`; a non-business anchor first rolls to the next
        business day."""
        day = self.roll_forward(anchor)
        step = 1 if days >= 0 else -1
        for _ in range(abs(days)):
            day += timedelta(days=step)
            while not self.is_business_day(day):
                day += timedelta(days=step)
        return day
