"""What arflow says of a step's day is the day it really goes (issue 27): `status` gives the
day the planner would run the next step (business days, holidays, pauses, promises, the
contact gap), and `preview` shows a step on a day it is due, never with a negative "days past
due". Real folders, real commands; each date `status` gives is checked against real runs,
night after night, with the clock set to each night."""

from __future__ import annotations

import json
import re
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


# --- preview ------------------------------------------------------------------------------------
NEGATIVE_DAYS = re.compile(r"(?<![\w-])-\d+ days?\b|\(-\d")


@pytest.fixture
def example(tmp_path):
    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    return tmp_path / "ar" / "arflow.yaml"


def _previews(config, as_of: date, customers: list[str | None]):
    """(workflow, step, customer, what `arflow preview` prints or the refusal) for every step
    of every workflow, through what the command calls (the project loaded once: the command
    line's part is tested below)."""
    from rich.console import Console

    from arflow.compose import compose
    from arflow.errors import Refused
    from arflow.preview import preview_plan
    from arflow.project import load_project
    from arflow.report import print_preview
    from arflow.sources import load_ledger

    project = load_project(config)
    ledger = load_ledger(project.config)
    for wid, loaded in sorted(project.workflows.items()):
        wf = loaded.model
        steps = ["next"] if wf.is_campaign else [s.step_id for s in wf.steps]
        for step in steps + (["on_paid"] if wf.on_paid else []):
            for customer in customers:
                try:
                    shown = preview_plan(
                        project, ledger if customer else None, wid, step, customer, as_of
                    )
                except Refused as exc:
                    yield wid, step, customer, f"refused: {exc}"
                    continue
                failed: list = []
                console = Console(record=True, width=100, color_system=None)
                print_preview(
                    console,
                    shown.plan,
                    list(compose(shown.plan, shown.ledger, project, failed, b"key")),
                )
                assert failed == []
                yield wid, step, customer, console.export_text()


def test_preview_never_shows_a_negative_days_past_due(example):
    refusals = ("has no open invoice", "has no paid invoice", "gets no statement")
    customers = [None, "C001", "C002", "C003", "C004", "C005", "C006", "C007"]
    shown: dict[str | None, int] = {}
    for as_of in (date(2026, 3, 16), date(2026, 3, 21)):  # a Monday and a Saturday
        for wid, step, customer, out in _previews(example, as_of, customers):
            if out.startswith("refused: "):
                assert customer is not None and any(r in out for r in refusals), out
                continue
            assert " of " in out and not NEGATIVE_DAYS.search(out), (wid, step, customer, as_of)
            shown[customer] = shown.get(customer, 0) + 1
    assert shown[None] == 46  # the example's 23 steps (and on_paid), on both days
    assert sum(shown.values()) == 246  # and those real customers have invoices for


def test_the_sample_customer_s_invoices_are_as_the_step_expects(cli, example):
    def preview(step: str) -> str:
        return cli(
            "preview", "net30-standard", step, "--as-of", "2026-03-16", "--config", example
        ).stdout

    out = preview("reminder")  # day 7: both invoices a week late
    assert "Subject: Reminder: 2 invoices past due ($1,339.50)" in out
    assert "  INV-1001       due Mar 9, 2026  $1,250.00  (7 days past due)" in out
    assert "  INV-1002       due Mar 9, 2026  $89.50  (7 days past due)" in out
    out = preview("overdue-30")
    assert "Subject: Past due: invoices INV-1001, INV-1002 — 30 days past due" in out
    out = preview("courtesy")  # day -3: due in three days, not past due
    assert "  INV-1001       due Mar 19, 2026  $1,250.00\n" in out
    assert "past due" not in out


def test_preview_of_a_step_not_due_for_the_customer_says_when_it_is(cli, example):
    result = cli(
        "preview", "net30-standard", "overdue-30", "--customer", "C001", "--as-of", "2026-03-16",
        "--config", example,
    )  # fmt: skip
    assert result.stderr.splitlines() == [
        "note: overdue-30 is not due for C001 on 2026-03-16; it is due on 2026-04-18, and is "
        "shown as it would go then"
    ]
    assert "Subject: Past due: invoice INV-1001 — 30 days past due" in result.stdout
    assert "  INV-1001       due Mar 19, 2026  $1,250.00  (30 days past due)" in result.stdout
    # the step lists the invoices it lists that day: INV-1003's is due a day before INV-1002's
    result = cli(
        "preview", "net30-standard", "overdue-30", "--customer", "C002", "--as-of", "2026-03-16",
        "--config", example,
    )  # fmt: skip
    assert "it is due on 2026-04-07" in result.stderr
    assert "Subject: Past due: invoice INV-1003 — 30 days past due" in result.stdout
    assert "INV-1002" not in result.stdout
    # due today: no note
    result = cli(
        "preview", "net30-standard", "reminder", "--customer", "C002", "--as-of", "2026-03-16",
        "--config", example,
    )  # fmt: skip
    assert result.stderr == ""


def test_preview_on_a_day_a_business_days_workflow_sends_nothing(cli, example):
    result = cli("preview", "ar-workflow", "text", "--as-of", "2026-03-21", "--config", example)
    assert result.stderr.splitlines() == [
        "note: ar-workflow counts business days and sends nothing on 2026-03-21; shown as it "
        "would go on 2026-03-23"
    ]


def test_preview_and_status_agree_on_the_day_a_held_step_goes(folder, cli):
    config = folder()
    cli("promise", "A-1", "--date", "2026-03-20", "--as-of", "2026-03-13", "--config", config)
    result = cli(
        "preview", "by-due", "second", "--customer", "C1", "--as-of", "2026-03-13",
        "--config", config,
    )  # fmt: skip
    assert result.stderr.splitlines() == [
        "note: second is not due for C1 on 2026-03-13; it is due on 2026-03-23, and is shown "
        "as it would go then"
    ]
    assert status_next(cli, config, "C1", "2026-03-13")["by-due"][:2] == ("second", "2026-03-23")


def test_preview_of_a_step_that_will_not_go_says_why_and_shows_its_day(folder, cli, clock):
    config = folder()
    assert sent(cli, clock, config, "C1", "2026-03-13", "2026-03-13") == [("2026-03-13", "first")]
    result = cli(
        "preview", "by-due", "first", "--customer", "C1", "--as-of", "2026-03-16",
        "--config", config,
    )  # fmt: skip
    assert result.stderr.splitlines() == [
        "note: first will not go to C1: it already ran; shown as it would have gone on "
        "2026-03-13, its day on the schedule"
    ]
    assert "Reminder A-1" in result.stdout
