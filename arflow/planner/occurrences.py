"""A campaign's calendar (SPEC 4.10): the occurrences of its `schedule:`, computed with
python-dateutil's `rrule`, moved to the next business day when the campaign counts business
days, and the one occurrence due on a given day. (A workflow's step dates are `schedule.py`.)"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dateutil.rrule import FR, MO, MONTHLY, SA, SU, TH, TU, WE, WEEKLY, rrule

from arflow.calendar import BusinessCalendar
from arflow.workflow import WEEKDAYS, Schedule

DEFAULT_EXPIRY = 3  # days a missed occurrence may still go out late
_DAYS = dict(zip(WEEKDAYS, (MO, TU, WE, TH, FR, SA, SU), strict=True))
# an occurrence moved to the next business day lands at most this far on (a long holiday run)
_MOVE_MARGIN = 31


def _rule(schedule: Schedule, since: date) -> rrule:
    """The schedule's rule, from `since` (its `start:` when it has one: N weeks or months are
    counted from there)."""
    anchor = schedule.start or since
    if schedule.monthly:  # rrule counts months from dtstart's month
        first = _midnight(anchor)
        if schedule.day is not None:
            return rrule(
                MONTHLY,
                interval=schedule.interval,
                dtstart=first,
                bymonthday=-1 if schedule.day == "last" else schedule.day,
            )
        assert schedule.weekday is not None and schedule.week is not None  # the model checks
        nth = -1 if schedule.week == "last" else schedule.week
        return rrule(
            MONTHLY,
            interval=schedule.interval,
            dtstart=first,
            byweekday=_DAYS[schedule.weekday](nth),
        )
    assert schedule.weekday is not None  # the model requires it for weekly schedules
    return rrule(
        WEEKLY,
        interval=schedule.interval,
        dtstart=_midnight(anchor),
        byweekday=_DAYS[schedule.weekday],
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def occurrences(
    schedule: Schedule, first: date, last: date, calendar: BusinessCalendar | None = None
) -> list[date]:
    """The occurrences from `first` to `last` (both included), in order; with a business
    calendar each one is moved to the next business day. None falls before `start:`."""
    since = first - timedelta(days=_MOVE_MARGIN if calendar else 0)
    raw = _rule(schedule, since).between(_midnight(since), _midnight(last), inc=True)
    found = []
    for moment in raw:
        day = moment.date()
        if schedule.start is not None and day < schedule.start:
            continue
        if calendar is not None:
            day = calendar.roll_forward(day)
        if first <= day <= last:
            found.append(day)
    return found


def due_occurrence(
    schedule: Schedule,
    as_of: date,
    expires_after: int | None = None,
    calendar: BusinessCalendar | None = None,
) -> date | None:
    """The occurrence due on `as_of`: the latest one on or before it, when it is at most
    `expires_after` days old (default 3); older missed ones are dropped (a statement is a
    snapshot: only the latest counts)."""
    window = DEFAULT_EXPIRY if expires_after is None else expires_after
    found = occurrences(schedule, as_of - timedelta(days=window), as_of, calendar)
    return found[-1] if found else None


def next_occurrence(
    schedule: Schedule, after: date, calendar: BusinessCalendar | None = None
) -> date | None:
    """The first occurrence after `after` (None when the schedule has none left, which only a
    schedule without a future could mean)."""
    since = after - timedelta(days=_MOVE_MARGIN if calendar else 0)
    for moment in _rule(schedule, since).xafter(_midnight(since), inc=True):
        day = moment.date()
        if schedule.start is not None and day < schedule.start:
            continue
        if calendar is not None:
            day = calendar.roll_forward(day)
        if day > after:
            return day
    return None


_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", "last": "last"}
_NAMES = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)


def in_words(schedule: Schedule) -> str:
    """The schedule as `arflow workflows` says it: "first Monday of each month", "every other
    Friday from 2026-01-09", "the 15th of every 3 months from December 2025"."""
    n = schedule.interval
    if not schedule.monthly:
        assert schedule.weekday is not None  # the model requires it for weekly schedules
        day = _NAMES[schedule.weekday]
        if n == 1:
            return f"every {day}"
        if n == 2:
            return f"every other {day} from {schedule.start}"
        return f"every {n} weeks on {day} from {schedule.start}"
    if schedule.day is not None:
        what = "the last day" if schedule.day == "last" else _ordinal(schedule.day)
    else:
        assert schedule.weekday is not None and schedule.week is not None  # the model checks
        what = f"{_ORDINALS[schedule.week]} {_NAMES[schedule.weekday]}"
    if n == 1:
        return f"{what} of each month"
    start = schedule.start.strftime("%B %Y") if schedule.start else ""
    return f"{what} of every {n} months from {start}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"the {n}{suffix}"
