"""Payment plans (issue 32) as users run them: `arflow plan` splits the invoices' open balance
into instalments; real runs night by night with the file outbox chase each instalment with the
library's plan workflow on its days, a met instalment stops its chasing, a missed one breaks
the plan (the invoices resume in `on_broken_plan:` the day after the grace ends, the
specialist told once), nothing is sent twice; `plans`, `status` and `history` say so."""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from arflow.plans.schedule import add_months, instalment_days, split_evenly
from arflow.plans.standing import standing
from arflow.state.plans import PlanEvent, PlanRow
from tests.conftest import make_folder

LIBRARY = Path(__file__).resolve().parents[1]

CONFIG = """\
company: {name: Acme Supplies Ltd, email: ar@acme.example, timezone: UTC, currency: USD,
          locale: en_US}
invoices: {path: invoices.csv}
customers: {path: customers.csv}
default_workflow: standard
plan_workflow: payment-plan
on_broken_plan: chase
plan_grace_days: 7
people:
  dana: {name: Dana Roe, email: dana@acme.example, specialist: true}
channels:
  email: {transport: outbox, dir: outbox}
  notify: {transport: email}
"""
STANDARD = """\
name: Standard
anchor: due_date
steps:
  - id: reminder
    day: 7
    actions:
      - email: reminder
"""
CHASE = """\
name: Chase after a broken plan
anchor: assigned
steps:
  - id: demand
    day: 0
    actions:
      - email: demand
  - id: call
    day: 10
    actions:
      - email: demand
"""
CUSTOMERS = """\
customer_id,name,email,specialist
C1,Northwind Traders,ap@northwind.example,dana
C2,Blue Harbor Cafe,billing@blueharbor.example,dana
"""
INVOICES = """\
number,customer_id,issue_date,due_date,amount,balance
INV-1,C1,2026-01-01,2026-01-31,900.00,{balance}
INV-2,C1,2026-01-05,2026-02-04,300.00,
INV-3,C2,2026-01-05,2026-02-04,50.00,
"""
OWN = {
    "reminder.subject.j2": "Reminder: {{ invoices|map(attribute='number')|join(', ') }}",
    "reminder.txt.j2": "Please pay.",
    "demand.subject.j2": "Demand: {{ invoices|map(attribute='number')|join(', ') }}",
    "demand.txt.j2": "Please pay {{ totals.listed|money }}.",
}


def folder(tmp_path: Path) -> Path:
    """An AR folder with the library's payment-plan workflow and templates, a standard
    workflow and a `chase` one for broken plans."""
    config = make_folder(
        tmp_path / "ar",
        invoices=INVOICES.format(balance=""),
        workflows={"standard": STANDARD, "chase": CHASE},
        config=CONFIG,
        templates=OWN,
        extra_files={"customers.csv": CUSTOMERS},
    )
    shutil.copy(LIBRARY / "workflows" / "payment-plan.yaml", config.parent / "workflows")
    for path in (LIBRARY / "templates").iterdir():
        if path.name.startswith(("plan-", "_")):
            shutil.copy(path, config.parent / "templates")
    return config


def night(cli, config: Path, day: str, *extra: str) -> list[tuple[str, str, str, str]]:
    """A real run on `day`: what it sent, as (workflow, step, to, subject)."""
    result = cli("run", "--format", "json", "--as-of", day, "--config", config, *extra)
    doc = json.loads(result.stdout)
    assert all(a["status"] in ("sent", "done") for a in doc["actions"]), doc["actions"]
    return [(a["workflow"], a["step"], ",".join(a["to"]), a["subject"]) for a in doc["actions"]]


def days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(n)).isoformat() for n in range((end - start).days + 1)]


NOTE = "Payment plan: instalment {n} of 3 ($400.00) is due on {day}"
DUE = "Payment plan: instalment {n} of 3 ($400.00) is due today"
FINAL = "Final reminder: instalment {n} of your payment plan ($400.00) is past due"
C1 = "ap@northwind.example"


def test_a_three_instalment_plan_night_by_night(cli, tmp_path):
    config = folder(tmp_path)
    sent: dict[str, list] = {}
    for day in days("2026-02-07", "2026-02-09"):
        sent[day] = night(cli, config, day)
    made = cli(
        "plan", "INV-1", "INV-2", "--instalments", "3", "--every", "month",
        "--first", "2026-03-01", "--as-of", "2026-02-10", "--config", config,
    )  # fmt: skip
    assert made.stdout.splitlines() == [
        "Plan 1: INV-1, INV-2 (C1), $1,200.00 in 3 instalment(s):",
        "  2026-03-01  $400.00",
        "  2026-04-01  $400.00",
        "  2026-05-01  $400.00",
    ]
    for day in days("2026-02-10", "2026-05-10"):
        if day == "2026-03-03":  # instalment 1 paid: the ledger's balance of INV-1 is lower
            (config.parent / "invoices.csv").write_text(INVOICES.format(balance="500.00"))
        sent[day] = night(cli, config, day)
        if day == "2026-02-11":  # INV-2's reminder is due: the plan holds it back
            held = cli("run", "--dry-run", "--format", "json", "--as-of", day, "--config", config)
            assert json.loads(held.stdout)["skipped"] == [
                {
                    "workflow": "standard",
                    "step": "reminder",
                    "customer_id": "C1",
                    "invoices": ["INV-2"],
                    "reason": "plan",
                }
            ]
        if day == "2026-04-09":
            assert night(cli, config, day) == []  # the same night again sends nothing
    went = {day: actions for day, actions in sent.items() if actions}
    assert went == {
        # before the plan, INV-1 follows its own workflow
        "2026-02-07": [("standard", "reminder", C1, "Reminder: INV-1")],
        # INV-2's reminder never goes: the plan holds it; another customer's does
        "2026-02-11": [("standard", "reminder", "billing@blueharbor.example", "Reminder: INV-3")],
        "2026-02-26": [("payment-plan", "note", C1, NOTE.format(n=1, day="Mar 1, 2026"))],
        "2026-03-01": [("payment-plan", "reminder", C1, DUE.format(n=1))],
        # paid on 2026-03-03: instalment 1's final reminder (2026-03-06) is not sent
        "2026-03-29": [("payment-plan", "note", C1, NOTE.format(n=2, day="Apr 1, 2026"))],
        "2026-04-01": [("payment-plan", "reminder", C1, DUE.format(n=2))],
        "2026-04-06": [("payment-plan", "final", C1, FINAL.format(n=2))],  # cc the specialist
        # grace to 2026-04-08; the day after, the plan is broken: the specialist is told once
        # and the invoices resume in `chase`; instalment 3 is chased no more
        "2026-04-09": [
            ("chase", "demand", C1, "Demand: INV-1, INV-2"),
            ("plans", "broken", "dana@acme.example", "[AR] Northwind Traders: payment plan 1 broken"),
        ],
        "2026-04-19": [("chase", "call", C1, "Demand: INV-1, INV-2")],
    }  # fmt: skip
    assert len(list((config.parent / "outbox").glob("*.eml"))) == 10
    outbox = messages(config)
    assert outbox[FINAL.format(n=2)]["Cc"] == "Dana Roe <dana@acme.example>"
    assert outbox[NOTE.format(n=1, day="Mar 1, 2026")]["Cc"] is None

    history = cli("history", "--customer", "C1", "--format", "json", "--config", config)
    plan_lines = [
        (e["as_of"], e["description"])
        for e in json.loads(history.stdout)["actions"]
        if e["workflow"] == "plans" and e["kind"] != "notify"
    ]
    assert plan_lines == [
        (
            "2026-02-10",
            "plan 1 made: 3 instalment(s) of USD 1200.00: 400.00 on 2026-03-01, 400.00 on "
            "2026-04-01, 400.00 on 2026-05-01",
        ),
        ("2026-03-03", "plan 1 instalment 1 of 3 (USD 400.00, due 2026-03-01) met"),
        ("2026-04-09", "plan 1 instalment 2 of 3 (USD 400.00, due 2026-04-01) missed"),
        ("2026-04-09", "plan 1 broken: an instalment was missed"),
    ]


def messages(config: Path) -> dict[str, email.message.EmailMessage]:
    found = {}
    for path in sorted((config.parent / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found[str(message["Subject"])] = message
    return found


def test_the_messages_show_the_schedule(cli, tmp_path):
    config = folder(tmp_path)
    cli(
        "plan", "INV-1", "INV-2", "--amounts", "200,500,500",
        "--dates", "2026-03-01,2026-04-01,2026-05-01", "--as-of", "2026-02-10",
        "--config", config,
    )  # fmt: skip
    (config.parent / "invoices.csv").write_text(INVOICES.format(balance="650.00"))
    assert night(cli, config, "2026-03-29", "--customer", "C1") == [
        (
            "payment-plan",
            "note",
            C1,
            "Payment plan: instalment 2 of 3 ($450.00) is due on Apr 1, 2026",
        )
    ]
    message = next(iter(messages(config).values()))
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert (
        "A friendly note that instalment 2 of your payment plan, $450.00, is due on Apr 1, "
        "2026.\n\n"
        "Your payment plan 1 ($1,200.00 for INV-1, INV-2):\n\n"
        "  1   Mar 1, 2026  $200.00  paid $200.00  met\n"
        "  2   Apr 1, 2026  $500.00  paid $50.00  upcoming\n"
        "  3   May 1, 2026  $500.00  paid $0.00  upcoming\n\n"
        "  Paid so far: $250.00\n\n"
        "When you pay, please quote PLAN-1.2 so that we can count it toward your plan."
    ) in text
    html = re.sub(r' (style|class)="[^"]*"', "", message.get_body(("html",)).get_content())
    assert (
        "<tr><td>1</td><td>Mar 1, 2026</td><td>$200.00</td><td>$200.00</td><td>met</td></tr>\r\n"
        "<tr><td>2</td><td>Apr 1, 2026</td><td>$500.00</td><td>$50.00</td><td>upcoming</td></tr>"
    ) in html


def test_status_and_plans_show_where_a_plan_stands(cli, tmp_path):
    config = folder(tmp_path)
    cli(
        "plan", "INV-1", "INV-2", "--instalments", "3", "--every", "month",
        "--first", "2026-03-01", "--as-of", "2026-02-10", "--config", config,
    )  # fmt: skip
    (config.parent / "invoices.csv").write_text(INVOICES.format(balance="500.00"))
    status = json.loads(
        cli("status", "C1", "--as-of", "2026-03-10", "--format", "json", "--config", config).stdout
    )["customers"][0]
    assert status["plans"] == ["plan 1 on track: 1 of 3 met, next USD 400.00 on 2026-04-01"]
    # the instalments in the plan's workflow; the invoices held in theirs (no next day)
    assert [
        (w["workflow"], w["source"], w["next_step"], w["next_date"], w["invoices"])
        for w in status["workflows"]
    ] == [
        ("payment-plan", "plan", "note", "2026-03-29", ["PLAN-1.2", "PLAN-1.3"]),
        ("standard", "default", "reminder", None, ["INV-1", "INV-2"]),
    ]
    listed = json.loads(
        cli("plans", "--as-of", "2026-04-09", "--format", "json", "--config", config).stdout
    )["plans"]
    assert [(p["id"], p["state"], p["paid"], p["broken_on"]) for p in listed] == [
        (1, "broken", "400.00", "2026-04-09")
    ]
    assert [(i["number"], i["paid"], i["state"]) for i in listed[0]["instalments"]] == [
        (1, "400.00", "met"),
        (2, "0.00", "missed"),
        (3, "0.00", "upcoming"),
    ]
    csv_out = cli("plans", "--as-of", "2026-03-10", "--format", "csv", "--config", config).stdout
    assert csv_out.splitlines() == [
        "plan,customer_id,invoices,currency,total,paid,state,instalments_met,instalments,"
        "next_date,next_amount,made_on",
        "1,C1,INV-1 INV-2,USD,1200.00,400.00,on track,1,3,2026-04-01,400.00,2026-02-10",
    ]


def test_a_cancelled_plan_gives_the_invoices_back_to_their_workflow(cli, tmp_path):
    config = folder(tmp_path)
    cli(
        "plan", "INV-1", "INV-2", "--instalments", "2", "--every", "week",
        "--first", "2026-02-20", "--as-of", "2026-02-08", "--config", config,
    )  # fmt: skip
    # INV-2's reminder held by the plan
    assert night(cli, config, "2026-02-11", "--customer", "C1") == []
    ended = cli("plans", "cancel", "1", "--reason", "paid by cheque", "--as-of", "2026-02-12",
                "--config", config)  # fmt: skip
    assert ended.stdout == "Plan 1 cancelled from 2026-02-12.\n"
    assert night(cli, config, "2026-02-12", "--customer", "C1") == [
        ("standard", "reminder", C1, "Reminder: INV-1, INV-2")
    ]
    again = cli("plans", "cancel", "1", "--as-of", "2026-02-12", "--config", config)
    assert again.stdout == "Plan 1 had ended already.\n"
    unknown = cli("plans", "cancel", "7", "--config", config, expect=2)
    assert "no plan 7 (plans: 1); `arflow plans` lists them" in unknown.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["INV-9", "--instalments", "2", "--every", "week", "--first", "2026-03-01"],
            "no invoice 'INV-9' in the sources; invoice numbers are matched exactly, leading "
            "zeros included",
        ),
        (
            ["INV-1", "--amounts", "400,400", "--dates", "2026-03-01,2026-04-01"],
            "--amounts add up to 800, the invoices' open balance is 900.00: make them add up "
            "to 900.00",
        ),
        (
            ["INV-1", "--instalments", "2", "--every", "week", "--first", "2026-02-09"],
            "--first 2026-02-09 is before today (2026-02-10): an instalment is a day still to come",
        ),
        (
            ["INV-1", "INV-3", "--instalments", "2", "--every", "week", "--first", "2026-03-01"],
            "INV-1, INV-3 belong to 2 customers (C1, C2): a plan is one customer's; make one "
            "plan per customer",
        ),
        (
            ["INV-1", "--instalments", "2", "--every", "year", "--first", "2026-03-01"],
            "--every year: give week or month",
        ),
        (
            ["INV-1", "--instalments", "2"],
            "give --instalments N, --every week|month and --first DATE (or --amounts and --dates)",
        ),
        (
            ["INV-1", "--amounts", "900", "--dates", "2026-03-01", "--every", "week"],
            "give either --instalments, --every and --first, or --amounts and --dates",
        ),
        (
            ["INV-1", "--amounts", "500,400", "--dates", "2026-04-01,2026-03-01"],
            "--dates must be in order, one instalment per day",
        ),
    ],
)
def test_bad_plans_are_refused_with_the_fix(cli, tmp_path, args, message):
    config = folder(tmp_path)
    result = cli("plan", *args, "--as-of", "2026-02-10", "--config", config, expect=2)
    assert f"error: {message}" in result.output
    assert not list((config.parent).glob("arflow.db")) or "Plan" not in result.stdout


def test_a_paid_invoice_or_one_on_a_plan_is_refused(cli, tmp_path):
    config = folder(tmp_path)
    (config.parent / "invoices.csv").write_text(INVOICES.format(balance="0"))
    paid = cli(
        "plan", "INV-1", "--instalments", "2", "--every", "week", "--first", "2026-03-01",
        "--as-of", "2026-02-10", "--config", config, expect=2,
    )  # fmt: skip
    assert (
        "error: INV-1 is not open on 2026-02-10 (status open, balance 0): there is nothing "
        "to plan" in paid.output
    )
    cli(
        "plan", "INV-2", "--instalments", "2", "--every", "week", "--first", "2026-03-01",
        "--as-of", "2026-02-10", "--config", config,
    )  # fmt: skip
    twice = cli(
        "plan", "INV-2", "--instalments", "3", "--every", "week", "--first", "2026-03-01",
        "--as-of", "2026-02-11", "--config", config, expect=2,
    )  # fmt: skip
    assert "error: INV-2 is on plan 1 already; end it first with `arflow plans cancel 1`" in (
        twice.output
    )
    as_json = cli(
        "plan", "INV-9", "--instalments", "2", "--every", "week", "--first", "2026-03-01",
        "--as-of", "2026-02-11", "--format", "json", "--config", config, expect=2,
    )  # fmt: skip
    assert json.loads(as_json.stdout)["error"]["exit_code"] == 2
    status = cli("status", "C1", "--as-of", "2026-02-11", "--config", config).stdout
    assert "plan 1 on track: 0 of 2 met, next USD 150.00 on 2026-03-01" in status
    bad_amount = cli(
        "plan", "INV-2", "--amounts", "1e3", "--dates", "2026-03-01",
        "--as-of", "2026-02-11", "--config", config, expect=2,
    )  # fmt: skip
    assert "--amounts" in bad_amount.output


@pytest.mark.parametrize(
    ("total", "count", "parts"),
    [
        ("1000.00", 3, ["333.33", "333.33", "333.34"]),
        ("1200.00", 3, ["400.00", "400.00", "400.00"]),
        ("0.05", 2, ["0.02", "0.03"]),
        ("100", 1, ["100.00"]),
        ("605.50", 4, ["151.37", "151.37", "151.37", "151.39"]),
    ],
)
def test_the_split_is_to_the_cent_and_the_last_takes_the_remainder(total, count, parts):
    found = split_evenly(Decimal(total), count)
    assert [str(p) for p in found] == parts
    assert sum(found) == Decimal(total)


def test_month_ends_stay_month_ends():
    assert instalment_days(date(2026, 1, 31), 4, "month") == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)
    assert instalment_days(date(2026, 1, 31), 3, "week") == [
        date(2026, 1, 31),
        date(2026, 2, 7),
        date(2026, 2, 14),
    ]


PLAN = PlanRow(
    1,
    "C1",
    ("INV-1",),
    "USD",
    Decimal("900.00"),
    (
        (date(2026, 3, 1), Decimal("300.00")),
        (date(2026, 4, 1), Decimal("300.00")),
        (date(2026, 5, 1), Decimal("300.00")),
    ),
    date(2026, 2, 10),
    None,
    None,
)


@pytest.mark.parametrize(
    ("balance", "day", "states", "plan_state", "broken_on"),
    [
        ("900.00", "2026-02-20", ["upcoming", "upcoming", "upcoming"], "on track", None),
        ("900.00", "2026-03-08", ["due", "upcoming", "upcoming"], "on track", None),  # grace
        ("900.00", "2026-03-09", ["missed", "upcoming", "upcoming"], "broken", "2026-03-09"),
        ("600.00", "2026-03-09", ["met", "upcoming", "upcoming"], "on track", None),
        ("600.01", "2026-03-09", ["missed", "upcoming", "upcoming"], "broken", "2026-03-09"),
        ("0.00", "2026-03-09", ["met", "met", "met"], "complete", None),
        ("250.00", "2026-04-20", ["met", "met", "upcoming"], "on track", None),  # paid ahead
    ],
)
def test_an_instalment_is_met_when_the_paid_part_reaches_what_was_due(
    balance, day, states, plan_state, broken_on
):
    found = standing(PLAN, {"INV-1": Decimal(balance)}, [], date.fromisoformat(day), 7)
    assert [i.state for i in found.instalments] == states
    assert found.state == plan_state
    assert found.broken_on == (date.fromisoformat(broken_on) if broken_on else None)


def test_a_met_instalment_stays_met_and_events_are_new_once():
    day = date(2026, 3, 5)
    first = standing(PLAN, {"INV-1": Decimal("600.00")}, [], day, 7)
    assert first.new_events == [PlanEvent(1, 1, "met", day)]
    # the ledger shows the old balance again (a reversed payment): met stays met
    again = standing(PLAN, {"INV-1": Decimal("900.00")}, first.new_events, date(2026, 3, 20), 7)
    assert again.instalments[0].state == "met"
    assert again.new_events == []


def test_a_forecast_knows_the_plan_and_says_what_planning_everyone_says(cli, tmp_path):
    from tests.test_due_days import _same_every_day

    config = folder(tmp_path)
    cli(
        "plan", "INV-1", "INV-2", "--instalments", "2", "--every", "month",
        "--first", "2026-03-01", "--as-of", "2026-02-10", "--config", config,
    )  # fmt: skip
    days = _same_every_day(config, date(2026, 2, 10), date(2026, 3, 20))
    planned = [
        (day["date"], a["workflow"], a["step"], a["invoices"])
        for day, _ in days
        for a in day["actions"]
        if a["customer_id"] == "C1"
    ]
    assert planned == [
        ("2026-02-26", "payment-plan", "note", ["PLAN-1.1"]),
        ("2026-03-01", "payment-plan", "reminder", ["PLAN-1.1"]),
        ("2026-03-06", "payment-plan", "final", ["PLAN-1.1"]),
        ("2026-03-09", "chase", "demand", ["INV-1", "INV-2"]),
        ("2026-03-09", "plans", "broken", ["INV-1", "INV-2"]),
        ("2026-03-19", "chase", "call", ["INV-1", "INV-2"]),
    ]


def test_a_payment_from_the_bank_meets_an_instalment_before_the_ledger_shows_it(cli, tmp_path):
    config = folder(tmp_path)
    yaml = config.read_text() + (
        "payments: {path: bank.csv, columns: {date: Date, amount: Amount, reference: Reference, "
        "payer: Payer}}\n"
    )
    config.write_text(yaml)
    bank = config.parent / "bank.csv"
    bank.write_text("Date,Amount,Reference,Payer\n")
    cli(
        "plan", "INV-1", "INV-2", "--instalments", "3", "--every", "month",
        "--first", "2026-03-01", "--as-of", "2026-02-10", "--config", config,
    )  # fmt: skip
    assert night(cli, config, "2026-03-01", "--customer", "C1") == [
        ("payment-plan", "reminder", C1, DUE.format(n=1))
    ]
    bank.write_text("Date,Amount,Reference,Payer\n2026-03-02,400.00,INV-1,Northwind Traders\n")
    for day in days("2026-03-02", "2026-03-10"):  # the final reminder (03-06) is not sent
        assert night(cli, config, day, "--customer", "C1") == []
    listed = json.loads(
        cli("plans", "--as-of", "2026-03-10", "--format", "json", "--config", config).stdout
    )["plans"][0]
    assert (listed["paid"], [i["state"] for i in listed["instalments"]]) == (
        "400.00",
        ["met", "upcoming", "upcoming"],
    )
    history = json.loads(
        cli("history", "--customer", "C1", "--format", "json", "--config", config).stdout
    )["actions"]
    assert [(e["as_of"], e["kind"]) for e in history if e["workflow"] == "plans"] == [
        ("2026-02-10", "made"),
        ("2026-03-02", "met"),
    ]


def test_a_run_for_another_customer_leaves_the_plan_alone(cli, tmp_path):
    config = folder(tmp_path)
    config.write_text(
        config.read_text()
        + "payments: {path: bank.csv, columns: {date: Date, amount: Amount, reference: "
        "Reference, payer: Payer}}\n"
    )
    (config.parent / "bank.csv").write_text(
        "Date,Amount,Reference,Payer\n2026-03-02,400.00,INV-1,Northwind Traders\n"
    )
    cli(
        "plan", "INV-1", "INV-2", "--instalments", "3", "--every", "month",
        "--first", "2026-03-01", "--as-of", "2026-02-10", "--config", config,
    )  # fmt: skip
    # C2's run does not lower C1's balances: it must not judge C1's plan
    assert night(cli, config, "2026-03-09", "--customer", "C2") == [
        ("standard", "reminder", "billing@blueharbor.example", "Reminder: INV-3")
    ]
    assert night(cli, config, "2026-03-09", "--customer", "C1") == []
    history = json.loads(
        cli("history", "--customer", "C1", "--format", "json", "--config", config).stdout
    )["actions"]
    assert [(e["as_of"], e["kind"]) for e in history if e["workflow"] == "plans"] == [
        ("2026-02-10", "made"),
        ("2026-03-09", "met"),
    ]


def test_validate_names_a_missing_plan_workflow_and_notice_template(cli, tmp_path, monkeypatch):
    config = folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    for path in (config.parent / "templates").glob("plan-broken.*"):
        path.unlink()
    config.write_text(config.read_text().replace("on_broken_plan: chase", "on_broken_plan: nope"))
    result = cli("validate", "ar", expect=1)
    assert result.stderr.splitlines()[:2] == [
        "ar/arflow.yaml:7: on_broken_plan: no workflow 'nope' (workflows: chase, payment-plan, "
        "standard); the id is the file name without .yaml",
        "ar/arflow.yaml:6: plan_workflow: the specialist's notice of a broken payment plan uses "
        "the template 'plan-broken': add plan-broken.subject.j2 and plan-broken.txt.j2 to "
        "ar/templates/",
    ]


def test_init_workflow_payment_plan_brings_the_broken_plan_notice(cli, tmp_path):
    config = folder(tmp_path)
    for path in (config.parent / "templates").glob("plan-*"):
        path.unlink()
    (config.parent / "workflows" / "payment-plan.yaml").unlink()
    added = cli("init", "--workflow", "payment-plan", config.parent).stdout
    assert "templates/plan-broken.subject.j2" in added and "templates/plan-broken.txt.j2" in added
    assert "valid (3 workflows" in cli("validate", config).stdout


def test_an_invoice_paid_and_gone_from_the_export_counts_as_paid(cli, tmp_path):
    config = folder(tmp_path)
    cli(
        "plan", "INV-1", "INV-2", "--instalments", "3", "--every", "month",
        "--first", "2026-03-01", "--as-of", "2026-02-10", "--config", config,
    )  # fmt: skip
    without_inv1 = "\n".join(
        line for line in INVOICES.format(balance="").splitlines() if not line.startswith("INV-1,")
    )
    (config.parent / "invoices.csv").write_text(without_inv1 + "\n")
    # 900.00 paid: instalments 1 and 2 met, 100.00 of the third; the rest is chased
    assert night(cli, config, "2026-04-28", "--customer", "C1") == [
        (
            "payment-plan",
            "note",
            C1,
            "Payment plan: instalment 3 of 3 ($300.00) is due on May 1, 2026",
        )
    ]
