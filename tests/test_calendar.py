from datetime import date

import pytest

from arflow.calendar import BusinessCalendar, parse_terms

D = date.fromisoformat


@pytest.mark.parametrize("terms, issue, due", [
    ("Net 30", "2026-01-15", "2026-02-14"),
    ("net 30", "2026-01-15", "2026-02-14"),
    ("NET30", "2026-01-15", "2026-02-14"),
    ("Net 0", "2026-01-15", "2026-01-15"),
    ("Due on receipt", "2026-01-15", "2026-01-15"),
    ("due ON receipt", "2026-03-31", "2026-03-31"),
    ("EOM", "2026-01-15", "2026-01-31"),
    ("EOM", "2026-02-03", "2026-02-28"),
    ("EOM", "2028-02-03", "2028-02-29"),          # leap year
    ("Net 30 EOM", "2026-01-15", "2026-03-02"),   # Jan 31 + 30 days
    ("Net 15 EOM", "2026-12-05", "2027-01-15"),
    (" Net 45 ", "2026-11-20", "2027-01-04"),
])
def test_terms_give_due_date(terms, issue, due):
    assert parse_terms(terms).due_date(D(issue)) == D(due)


@pytest.mark.parametrize("bad", ["Net", "Net -5", "2/10 Net 30", "30 days", "", "EOM 30"])
def test_unknown_terms_say_what_is_accepted(bad):
    with pytest.raises(ValueError, match="use 'Net N', 'Due on receipt', 'EOM' or 'Net N EOM'"):
        parse_terms(bad)


@pytest.mark.parametrize("anchor, days, expected", [
    ("2026-03-02", 0, "2026-03-02"),   # Monday stays
    ("2026-03-07", 0, "2026-03-09"),   # Saturday → Monday (SPEC 4.1)
    ("2026-03-08", 0, "2026-03-09"),   # Sunday → Monday
    ("2026-03-06", 1, "2026-03-09"),   # Friday + 1 → Monday
    ("2026-03-02", 5, "2026-03-09"),   # a business week
    ("2026-03-02", 10, "2026-03-16"),
    ("2026-03-07", 1, "2026-03-10"),   # Saturday rolls to Monday, +1 → Tuesday
    ("2026-03-09", -1, "2026-03-06"),  # Monday − 1 → Friday
    ("2026-03-09", -3, "2026-03-04"),
    ("2026-03-07", -1, "2026-03-06"),  # Saturday rolls to Monday, −1 → Friday
])
def test_business_day_offsets(anchor, days, expected):
    assert BusinessCalendar().offset(D(anchor), days) == D(expected)


@pytest.mark.parametrize("anchor, days, expected", [
    ("2026-07-02", 1, "2026-07-06"),   # Jul 3 2026 is the observed Independence Day (US)
    ("2026-11-25", 1, "2026-11-27"),   # Thanksgiving Thursday skipped
    ("2026-12-24", 1, "2026-12-28"),   # Christmas Friday and the weekend skipped
    ("2026-12-25", 0, "2026-12-28"),   # day 0 on a holiday → next business day
])
def test_business_days_skip_us_holidays(anchor, days, expected):
    assert BusinessCalendar("US").offset(D(anchor), days) == D(expected)


def test_subdivision_holidays_differ():
    # Lincoln's Birthday (Feb 12) is a holiday in New York state but not federally
    assert BusinessCalendar("US").is_business_day(D("2026-02-12"))
    assert not BusinessCalendar("US-NY").is_business_day(D("2026-02-12"))


def test_unknown_holiday_calendar_is_an_error():
    with pytest.raises(ValueError, match="unknown holiday calendar 'XX'"):
        BusinessCalendar("XX")
