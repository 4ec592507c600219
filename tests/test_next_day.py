"""What arflow says of a step's day is the day it really goes (issue 27): `status` gives the
day the planner would run the next step (business days, holidays, pauses, promises, the
contact gap). Real folders, real commands; each date `status` gives is checked against real
runs, night after night, with the clock set to each night."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.conftest import BASE_CONFIG, make_folder

CONFIG = (
    BASE_CONFIG
    + "default_workflow: by-due\n"
    + "contact_gap: 5\n"
    + "channels: {email: {transport: outbox}, sms: {transport: outbox}}\n"
)

# A-1 is due Thursday 2026-03-12: `first` is dated Friday 03-13, `second` Tuesday 03-17.
# J-1 is due Wednesday 2026-07-01: `first` is dated Thursday 07-02 (Friday 07-03 is the
# observed Independence Day), `second` Tuesday 07-07.
INVOICES = """\
number,customer_id,customer_name,email,issue_date,due_date,amount
A-1,C1,Alpha Ltd,ap@alpha.example,2026-02-12,2026-03-12,100.00
J-1,C2,Beta Ltd,ap@beta.example,2026-06-01,2026-07-01,200.00
"""

BY_DUE = """\
anchor: due_date
business_days: true
holidays: US
steps:
  - {id: first, day: 1, actions: [{email: reminder}]}
  - {id: second, day: 3, actions: [{email: reminder}]}
"""

STATEMENT = """\
schedule: {every: month, day: 5}
expires_after: 10
actions:
  - email: reminder
"""


@pytest.fixture
def folder(tmp_path):
    def build(**extra: str):
        return make_folder(
            tmp_path / "ar", invoices=INVOICES, config=CONFIG, workflows={"by-due": BY_DUE, **extra}
        )

    return build


def status_next(cli, config, customer: str, as_of: str) -> dict[str, tuple]:
    """Workflow → (next step, next date) from `status --format json`, and the same from the
    text lines (workflow → the next-step column)."""
    doc = json.loads(
        cli("status", customer, "--as-of", as_of, "--format", "json", "--config", config).stdout
    )
    (row,) = doc["customers"]
    found = {w["workflow"]: (w["next_step"], w["next_date"]) for w in row["workflows"]}
    lines = cli("status", customer, "--as-of", as_of, "--config", config).stdout.splitlines()
    shown = {line.split("\t")[2].split(" ")[0]: line.split("\t")[4] for line in lines}
    return {wid: (*found[wid], shown[wid]) for wid in found}


def sent(cli, clock, config, customer: str, first: str, last: str) -> list[tuple[str, str]]:
    """A real run each night from `first` to `last`; the customer's emails that went out then:
    (day, step)."""
    day = date.fromisoformat(first)
    while day <= date.fromisoformat(last):
        clock(f"{day.isoformat()}T23:00:00")
        cli("run", "--as-of", day.isoformat(), "--config", config)
        day += timedelta(days=1)
    rows = json.loads(
        cli("history", "--customer", customer, "--format", "json", "--config", config).stdout
    )["actions"]
    return [
        (r["as_of"], r["step"])
        for r in rows
        if r["state"] == "sent" and first <= r["as_of"] <= last and r["kind"] == "email"
    ]


# --- status -------------------------------------------------------------------------------------
def test_on_a_saturday_status_gives_the_monday_the_step_goes(folder, cli, clock):
    config = folder()
    assert status_next(cli, config, "C1", "2026-03-14") == {
        "by-due": ("first", "2026-03-16", "first (2026-03-16)")
    }
    assert sent(cli, clock, config, "C1", "2026-03-14", "2026-03-16") == [("2026-03-16", "first")]


def test_a_holiday_pushes_the_step_to_the_next_business_day(folder, cli, clock):
    config = folder()
    assert status_next(cli, config, "C2", "2026-07-02")["by-due"][:2] == ("first", "2026-07-02")
    assert status_next(cli, config, "C2", "2026-07-03") == {
        "by-due": ("first", "2026-07-06", "first (2026-07-06)")
    }
    assert sent(cli, clock, config, "C2", "2026-07-03", "2026-07-06") == [("2026-07-06", "first")]


def test_a_paused_customer_s_step_goes_the_business_day_after_the_pause(folder, cli, clock):
    config = folder()
    cli(
        "pause",
        "customer",
        "C1",
        "--until",
        "2026-03-17",
        "--as-of",
        "2026-03-13",
        "--config",
        config,
    )
    # paused through Tuesday: on Wednesday both steps are due, the latest goes (catch-up)
    assert status_next(cli, config, "C1", "2026-03-13") == {
        "by-due": ("second", "2026-03-18", "second (2026-03-18)")
    }
    assert sent(cli, clock, config, "C1", "2026-03-13", "2026-03-18") == [("2026-03-18", "second")]


def test_a_promise_holds_the_step_until_the_business_day_after_it(folder, cli, clock):
    config = folder()
    cli("promise", "A-1", "--date", "2026-03-20", "--as-of", "2026-03-13", "--config", config)
    # promised for Friday 03-20: chasing resumes the day after, a Saturday, so Monday
    assert status_next(cli, config, "C1", "2026-03-13") == {
        "by-due": ("second", "2026-03-23", "second (2026-03-23)")
    }
    assert sent(cli, clock, config, "C1", "2026-03-13", "2026-03-23") == [("2026-03-23", "second")]


def test_the_contact_gap_holds_the_next_message_until_it_is_over(folder, cli, clock):
    config = folder()
    assert sent(cli, clock, config, "C1", "2026-03-13", "2026-03-13") == [("2026-03-13", "first")]
    # `second` is dated Tuesday 03-17; five days after the 03-13 email is Wednesday 03-18
    assert status_next(cli, config, "C1", "2026-03-16") == {
        "by-due": ("second", "2026-03-18", "second (2026-03-18)")
    }
    assert sent(cli, clock, config, "C1", "2026-03-16", "2026-03-18") == [("2026-03-18", "second")]


def test_a_pause_without_an_end_gives_no_date(folder, cli):
    config = folder()
    cli("pause", "customer", "C1", "--as-of", "2026-03-13", "--config", config)
    assert status_next(cli, config, "C1", "2026-03-16") == {
        "by-due": ("first", None, "first (when resumed)")
    }


def test_a_due_statement_is_dated_the_day_it_goes_not_its_occurrence(folder, cli, clock):
    config = folder(statement=STATEMENT)
    cli(
        "pause",
        "customer",
        "C1",
        "--until",
        "2026-03-09",
        "--as-of",
        "2026-03-07",
        "--config",
        config,
    )
    # the statement of 03-05 is still due (expires after 10 days); the pause ends on 03-09
    assert status_next(cli, config, "C1", "2026-03-07")["statement"] == (
        "2026-03-05",
        "2026-03-10",
        "2026-03-05 (2026-03-10)",
    )
    assert sent(cli, clock, config, "C1", "2026-03-07", "2026-03-10") == [
        ("2026-03-10", "2026-03-05")
    ]
