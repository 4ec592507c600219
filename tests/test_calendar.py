import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from arflow.calendar import BusinessCalendar, check_holiday_code, holiday_calendar, parse_terms

D = date.fromisoformat


@pytest.mark.parametrize(
    "terms, issue, due",
    [
        ("Net 30", "2026-01-15", "2026-02-14"),
        ("net 30", "2026-01-15", "2026-02-14"),
        ("NET30", "2026-01-15", "2026-02-14"),
        ("Net 0", "2026-01-15", "2026-01-15"),
        ("Due on receipt", "2026-01-15", "2026-01-15"),
        ("due ON receipt", "2026-03-31", "2026-03-31"),
        ("EOM", "2026-01-15", "2026-01-31"),
        ("EOM", "2026-02-03", "2026-02-28"),
        ("EOM", "2028-02-03", "2028-02-29"),  # leap year
        ("Net 30 EOM", "2026-01-15", "2026-03-02"),  # Jan 31 + 30 days
        ("Net 15 EOM", "2026-12-05", "2027-01-15"),
        (" Net 45 ", "2026-11-20", "2027-01-04"),
    ],
)
def test_terms_give_due_date(terms, issue, due):
    assert parse_terms(terms).due_date(D(issue)) == D(due)


@pytest.mark.parametrize("bad", ["Net", "Net -5", "2/10 Net 30", "30 days", "", "EOM 30"])
def test_unknown_terms_say_what_is_accepted(bad):
    with pytest.raises(ValueError, match="use 'Net N', 'Due on receipt', 'EOM' or 'Net N EOM'"):
        parse_terms(bad)


@pytest.mark.parametrize(
    "anchor, days, expected",
    [
        ("2026-03-02", 0, "2026-03-02"),  # Monday stays
        ("2026-03-07", 0, "2026-03-09"),  # Saturday → Monday (SPEC 4.1)
        ("2026-03-08", 0, "2026-03-09"),  # Sunday → Monday
        ("2026-03-06", 1, "2026-03-09"),  # Friday + 1 → Monday
        ("2026-03-02", 5, "2026-03-09"),  # a business week
        ("2026-03-02", 10, "2026-03-16"),
        ("2026-03-07", 1, "2026-03-10"),  # Saturday rolls to Monday, +1 → Tuesday
        ("2026-03-09", -1, "2026-03-06"),  # Monday − 1 → Friday
        ("2026-03-09", -3, "2026-03-04"),
        ("2026-03-07", -1, "2026-03-06"),  # Saturday rolls to Monday, −1 → Friday
    ],
)
def test_business_day_offsets(anchor, days, expected):
    assert BusinessCalendar().offset(D(anchor), days) == D(expected)


@pytest.mark.parametrize(
    "anchor, days, expected",
    [
        ("2026-07-02", 1, "2026-07-06"),  # Jul 3 2026 is the observed Independence Day (US)
        ("2026-11-25", 1, "2026-11-27"),  # Thanksgiving Thursday skipped
        ("2026-12-24", 1, "2026-12-28"),  # Christmas Friday and the weekend skipped
        ("2026-12-25", 0, "2026-12-28"),  # day 0 on a holiday → next business day
    ],
)
def test_business_days_skip_us_holidays(anchor, days, expected):
    assert BusinessCalendar("US").offset(D(anchor), days) == D(expected)


def test_subdivision_holidays_differ():
    # Lincoln's Birthday (Feb 12) is a holiday in New York state but not federally
    assert BusinessCalendar("US").is_business_day(D("2026-02-12"))
    assert not BusinessCalendar("US-NY").is_business_day(D("2026-02-12"))


def test_unknown_holiday_calendar_is_an_error():
    with pytest.raises(ValueError, match="unknown holiday calendar 'XX'"):
        BusinessCalendar("XX")


# --- the range of dates arflow works with -----------------------------------------------------
@pytest.mark.parametrize(
    "terms, days",
    [("Net 9999", 9999), ("net 0009999 eom", 9999), ("Net 0000000000000000000030", 30)],
)
def test_the_longest_terms(terms, days):
    assert parse_terms(terms).days == days


@pytest.mark.parametrize("bad", ["Net 10000", "Net 99999 EOM", "Net " + "9" * 5000])
def test_terms_longer_than_9999_days_say_so(bad):
    with pytest.raises(ValueError) as err:
        parse_terms(bad)
    assert str(err.value) == (
        f"payment terms {bad!r} are longer than 9999 days; write the real terms, or a due_date"
    )


@pytest.mark.parametrize(
    "day, problem",
    [
        ("1900-01-01", None),
        ("2199-12-31", None),
        ("2026-03-16", None),
        (
            "1899-12-31",
            "'x' is too far in the past to schedule: arflow reads dates from 1900-01-01 to "
            "2199-12-31; write the real date",
        ),
        (
            "2200-01-01",
            "'x' is too far in the future to schedule: arflow reads dates from 1900-01-01 "
            "to 2199-12-31; write the real date",
        ),
    ],
)
def test_date_range(day, problem):
    from arflow.calendar import date_range_problem

    assert date_range_problem("x", D(day)) == problem


@pytest.mark.parametrize("holidays", [None, "US"])
def test_every_date_arflow_works_out_from_dates_in_range_is_a_real_date(holidays):
    """The bounds hold together: the latest due date terms can give, plus the longest step
    offset in business days (or a task's due_in, or the day after), is still a date; so is
    the earliest date minus the longest offset."""
    from datetime import timedelta

    from arflow.calendar import EARLIEST_DATE, LATEST_DATE, MAX_OFFSET_DAYS, MAX_TERMS_DAYS

    latest_due = parse_terms(f"Net {MAX_TERMS_DAYS} EOM").due_date(LATEST_DATE)
    calendar = BusinessCalendar(holidays)
    far = calendar.offset(latest_due, MAX_OFFSET_DAYS)
    assert far + timedelta(days=MAX_OFFSET_DAYS + 1) < date.max
    early = calendar.offset(EARLIEST_DATE, -MAX_OFFSET_DAYS)
    assert early - timedelta(days=MAX_OFFSET_DAYS + 1) > date.min


def _outcome(check, code: str) -> str:
    try:
        check(code)
    except ValueError as exc:
        return str(exc)
    return "ok"


@pytest.mark.parametrize(
    "code",
    ["US", "usa", "GB", "de", "XX", "ZZZ", "U", "US-NY", "us-ny", "US-XX", "GB-ENG", "NYSE", "ecb"],
)
def test_a_calendar_code_is_checked_as_building_the_calendar_would(code):
    """A workflow's `holidays:` is checked in the registry of `holidays`, with the outcome
    (and the message) building the calendar has."""
    assert _outcome(check_holiday_code, code) == _outcome(holiday_calendar, code)


def test_a_markets_calendar_is_a_calendar():
    """`holidays: NYSE` (a market's calendar `holidays` has): Good Friday is no business day
    there, though it is one for the US calendar."""
    check_holiday_code("NYSE")
    good_friday = date(2026, 4, 3)
    assert not BusinessCalendar("NYSE").is_business_day(good_friday)
    assert BusinessCalendar("US").is_business_day(good_friday)


def test_a_name_holidays_has_that_is_no_calendar_is_reported():
    assert _outcome(check_holiday_code, "JAN") == (
        "unknown holiday calendar 'JAN' (Country JAN not available); use an ISO country code "
        "such as US, GB or DE, optionally with a subdivision: US-NY"
    )


def test_checking_a_country_code_loads_no_country():
    """Building a calendar loads every country's module (a tenth of a second); checking a
    workflow's `holidays: US` (`validate`, every run) loads none of them (issue 30)."""
    code = (
        "import sys\n"
        "from arflow.calendar import check_holiday_code\n"
        "check_holiday_code('US')\n"
        "print(sorted(m for m in sys.modules if m.startswith('holidays.countries')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.stdout == "[]\n", done.stderr
