"""A campaign's calendar (SPEC 3, 4.10): occurrences of every kind of `schedule:`, the move to
the next business day, the one occurrence due on a day, and what `validate` refuses."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from arflow.calendar import BusinessCalendar
from arflow.planner.occurrences import due_occurrence, in_words, next_occurrence, occurrences
from arflow.workflow import Schedule, Workflow
from tests.test_validate import problems

JAN, DEC = date(2026, 1, 1), date(2026, 12, 31)


def days(*texts: str) -> list[date]:
    return [date.fromisoformat(t) for t in texts]


@pytest.mark.parametrize(
    "schedule, first, last, expected",
    [
        (
            {"every": "week", "weekday": "fri"},
            date(2026, 1, 1),
            date(2026, 1, 31),
            days("2026-01-02", "2026-01-09", "2026-01-16", "2026-01-23", "2026-01-30"),
        ),
        (
            {"every": "2 weeks", "weekday": "fri", "start": "2026-01-09"},
            JAN,
            date(2026, 2, 28),
            days("2026-01-09", "2026-01-23", "2026-02-06", "2026-02-20"),
        ),
        (
            {"every": "month", "week": 1, "weekday": "mon"},
            JAN,
            date(2026, 4, 30),
            days("2026-01-05", "2026-02-02", "2026-03-02", "2026-04-06"),
        ),
        (
            {"every": "month", "week": "last", "weekday": "fri"},
            JAN,
            date(2026, 3, 31),
            days("2026-01-30", "2026-02-27", "2026-03-27"),
        ),
        # a month without a fifth Monday has no occurrence
        (
            {"every": "month", "week": 5, "weekday": "mon"},
            JAN,
            DEC,
            days("2026-03-30", "2026-06-29", "2026-08-31", "2026-11-30"),
        ),
        (
            {"every": "month", "day": "last"},
            JAN,
            date(2026, 4, 30),
            days("2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"),
        ),
        (
            {"every": "month", "day": 1},
            JAN,
            date(2026, 3, 31),
            days("2026-01-01", "2026-02-01", "2026-03-01"),
        ),
        # every N months counts from the month of start:, and nothing falls before start:
        (
            {"every": "3 months", "day": 15, "start": "2026-02-10"},
            JAN,
            DEC,
            days("2026-02-15", "2026-05-15", "2026-08-15", "2026-11-15"),
        ),
        (
            {"every": "3 months", "day": 1, "start": "2026-02-10"},
            JAN,
            DEC,
            days("2026-05-01", "2026-08-01", "2026-11-01"),
        ),
        (
            {"every": "week", "weekday": "mon", "start": "2026-03-02"},
            date(2026, 2, 1),
            date(2026, 3, 10),
            days("2026-03-02", "2026-03-09"),
        ),
        (
            {"every": "2 months", "week": 2, "weekday": "tue", "start": "2026-01-01"},
            JAN,
            date(2026, 6, 30),
            days("2026-01-13", "2026-03-10", "2026-05-12"),
        ),
    ],
)
def test_occurrences_of_every_kind_of_schedule(schedule, first, last, expected):
    assert occurrences(Schedule.model_validate(schedule), first, last) == expected


def test_business_days_move_an_occurrence_to_the_next_business_day():
    monthly = Schedule.model_validate({"every": "month", "day": 1})
    # 2026-02-01 is a Sunday, 2026-08-01 a Saturday; 2026-01-01 is New Year's Day (US)
    assert occurrences(monthly, JAN, date(2026, 8, 31), BusinessCalendar()) == days(
        "2026-01-01",
        "2026-02-02",
        "2026-03-02",
        "2026-04-01",
        "2026-05-01",
        "2026-06-01",
        "2026-07-01",
        "2026-08-03",
    )
    assert occurrences(monthly, JAN, date(2026, 1, 31), BusinessCalendar("US")) == days(
        "2026-01-02"
    )
    # an occurrence moved past the window's start still counts inside it
    assert occurrences(monthly, date(2026, 2, 2), date(2026, 2, 10), BusinessCalendar()) == days(
        "2026-02-02"
    )


@pytest.mark.parametrize(
    "as_of, expires_after, expected",
    [
        ("2026-01-09", None, "2026-01-09"),  # the day itself
        ("2026-01-12", None, "2026-01-09"),  # three days late: still due
        ("2026-01-13", None, None),  # four days late: dropped
        ("2026-01-13", 4, "2026-01-09"),
        ("2026-01-10", 0, None),
        ("2026-01-23", None, "2026-01-23"),  # only the latest occurrence counts
        ("2026-01-24", 20, "2026-01-23"),  # two in the window: the latest
    ],
)
def test_the_due_occurrence_is_the_latest_within_the_window(as_of, expires_after, expected):
    fortnightly = Schedule.model_validate(
        {"every": "2 weeks", "weekday": "fri", "start": "2026-01-09"}
    )
    due = due_occurrence(fortnightly, date.fromisoformat(as_of), expires_after)
    assert due == (date.fromisoformat(expected) if expected else None)


def test_the_window_counts_from_the_moved_occurrence():
    monthly = Schedule.model_validate({"every": "month", "day": 1})
    # 2026-08-01 (Saturday) moves to Monday 08-03: due until 08-06, not only until 08-04
    for offset, expected in ((0, None), (2, date(2026, 8, 3)), (5, date(2026, 8, 3)), (6, None)):
        assert (
            due_occurrence(
                monthly, date(2026, 8, 1) + timedelta(days=offset), calendar=BusinessCalendar()
            )
            == expected
        )


@pytest.mark.parametrize(
    "schedule, message",
    [
        (
            {"every": "2 weeks", "weekday": "fri"},
            "every: 2 weeks needs start: (the first occurrence; every 2 weeks are counted from it)",
        ),
        (
            {"every": "3 months", "day": 1},
            "every: 3 months needs start: (the first occurrence; every 3 months are counted from it)",
        ),
        (
            {"every": "2 weeks", "weekday": "fri", "start": "2026-01-08"},
            "start: 2026-01-08 is a Thursday, not a fri: start: is the first occurrence",
        ),
        ({"every": "month", "day": 31}, "day: 31: not every month has it; use day: last"),
        ({"every": "month", "day": 29}, "day: 29: not every month has it; use day: last"),
        ({"every": "month", "day": 0}, "day: 0: must be 1 to 28, or last"),
        (
            {"every": "month", "day": 1, "week": 1, "weekday": "mon"},
            "give week: (with weekday:) or day:, not both",
        ),
        ({"every": "month", "day": 1, "weekday": "mon"}, "weekday: goes with week:"),
        ({"every": "week", "weekday": "mon", "day": 1}, "week: and day: only go with every: month"),
        ({"every": "week"}, "every: week needs weekday:"),
        ({"every": "month", "week": 6, "weekday": "mon"}, "week: must be 1 to 5, or last"),
    ],
)
def test_a_schedule_that_cannot_mean_one_thing_is_refused(schedule, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        Schedule.model_validate(schedule)


def test_expires_after_at_the_top_belongs_to_campaigns():
    with pytest.raises(ValidationError, match="expires_after: at the top of a workflow belongs"):
        Workflow.model_validate(
            {"expires_after": 3, "steps": [{"day": 1, "actions": [{"email": "a"}]}]}
        )
    campaign = Workflow.model_validate(
        {
            "schedule": {"every": "month", "day": "last"},
            "expires_after": 5,
            "actions": [{"email": "s"}],
        }
    )
    assert campaign.expires_after == 5


def test_validate_names_the_file_and_line_of_a_bad_schedule(tmp_path):
    found = problems(
        tmp_path,
        {
            "statement": """\
name: Monthly statement
schedule:
  every: month
  day: 31
actions:
  - email: reminder
"""
        },
    )
    assert found == [
        "workflows/statement.yaml:4: schedule.day: day: 31: not every month has "
        "it; use day: last for the month's last day"
    ]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"every": "week", "weekday": "fri"}, "every Friday"),
        (
            {"every": "2 weeks", "weekday": "fri", "start": "2026-01-09"},
            "every other Friday from 2026-01-09",
        ),
        (
            {"every": "3 weeks", "weekday": "mon", "start": "2026-01-05"},
            "every 3 weeks on Monday from 2026-01-05",
        ),
        ({"every": "month", "week": 1, "weekday": "mon"}, "first Monday of each month"),
        ({"every": "month", "week": "last", "weekday": "fri"}, "last Friday of each month"),
        ({"every": "month", "day": 1}, "the 1st of each month"),
        ({"every": "month", "day": 22}, "the 22nd of each month"),
        ({"every": "month", "day": 13}, "the 13th of each month"),
        ({"every": "month", "day": "last"}, "the last day of each month"),
        (
            {"every": "3 months", "day": 15, "start": "2025-12-15"},
            "the 15th of every 3 months from December 2025",
        ),
    ],
)
def test_a_schedule_in_words(fields, words):
    assert in_words(Schedule.model_validate(fields)) == words


def test_the_next_occurrence_after_a_day_counts_the_business_day_move():
    fridays = Schedule.model_validate({"every": "week", "weekday": "fri"})
    assert next_occurrence(fridays, date(2026, 4, 2)) == date(2026, 4, 3)
    # Good Friday and Easter Monday: 3 April goes out on Tuesday 7 April, even seen from the 4th
    england = BusinessCalendar("GB-ENG")
    assert next_occurrence(fridays, date(2026, 4, 2), england) == date(2026, 4, 7)
    assert next_occurrence(fridays, date(2026, 4, 4), england) == date(2026, 4, 7)
    assert next_occurrence(fridays, date(2026, 4, 7), england) == date(2026, 4, 10)
    quarterly = Schedule.model_validate({"every": "3 months", "day": 15, "start": "2026-06-15"})
    assert next_occurrence(quarterly, date(2026, 1, 1)) == date(2026, 6, 15)  # not before start
    assert next_occurrence(quarterly, date(2026, 6, 15)) == date(2026, 9, 15)
