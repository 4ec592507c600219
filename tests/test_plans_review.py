"""Payment plans (issue 32) against what a review found: a shortfall within min_balance meets
an instalment, a currency without cents splits in whole units, amounts finer than the
currency are refused, a broken plan cannot be cancelled nor undone by a later event, and a
plan workflow that cannot chase an instalment is named by validate and `arflow plan`. Real
runs night by night with the file outbox, as tests/test_plans.py does."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from arflow.payments.match import plan_references, reference_tokens
from arflow.plans.standing import standing
from arflow.state.plans import PLAN_ITSELF, PlanEvent
from tests.test_plans import C1, DUE, INVOICES, NOTE, PLAN, days, folder, messages, night


def make(cli, config, *args: str, day: str = "2026-02-10", expect: int = 0):
    return cli("plan", *args, "--as-of", day, "--config", config, expect=expect)


THREE = ["INV-1", "INV-2", "--instalments", "3", "--every", "month", "--first", "2026-03-01"]


def test_a_shortfall_within_min_balance_meets_the_instalment(cli, tmp_path):
    config = folder(tmp_path)
    make(cli, config, *THREE)
    sent = {}
    for day in days("2026-02-26", "2026-03-31"):
        if day == "2026-03-02":  # 399.99 of 400 paid: one cent short, min_balance is 0.01
            (config.parent / "invoices.csv").write_text(INVOICES.format(balance="500.01"))
        sent[day] = night(cli, config, day, "--customer", "C1")
    assert {day: s for day, s in sent.items() if s} == {
        "2026-02-26": [("payment-plan", "note", C1, NOTE.format(n=1, day="Mar 1, 2026"))],
        "2026-03-01": [("payment-plan", "reminder", C1, DUE.format(n=1))],
        "2026-03-29": [("payment-plan", "note", C1, NOTE.format(n=2, day="Apr 1, 2026"))],
    }
    listed = json.loads(
        cli("plans", "--as-of", "2026-03-31", "--format", "json", "--config", config).stdout
    )["plans"][0]
    assert (listed["state"], listed["paid"], listed["broken_on"]) == ("on track", "399.99", None)
    assert [i["state"] for i in listed["instalments"]] == ["met", "upcoming", "upcoming"]


JPY = """\
number,customer_id,issue_date,due_date,amount,balance,currency
INV-1,C1,2026-01-01,2026-01-31,10000,{balance},JPY
INV-3,C2,2026-01-05,2026-02-04,50.00,,USD
"""


def test_a_currency_without_cents_splits_in_whole_units(cli, tmp_path):
    config = folder(tmp_path)
    (config.parent / "invoices.csv").write_text(JPY.format(balance=""))
    made = make(cli, config, "INV-1", "--instalments", "3", "--every", "month",
                "--first", "2026-03-01")  # fmt: skip
    assert made.stdout.splitlines() == [
        "Plan 1: INV-1 (C1), ¥10,000 in 3 instalment(s):",
        "  2026-03-01  ¥3,333",
        "  2026-04-01  ¥3,333",
        "  2026-05-01  ¥3,334",
    ]
    (config.parent / "invoices.csv").write_text(JPY.format(balance="6667"))  # 3,333 paid
    sent = [
        s
        for day in days("2026-03-01", "2026-03-12")
        for s in night(cli, config, day, "--customer", "C1")
    ]
    assert sent == []  # met on its day: no reminder, no broken plan
    listed = json.loads(
        cli("plans", "--as-of", "2026-03-12", "--format", "json", "--config", config).stdout
    )["plans"][0]
    assert (listed["state"], listed["total"], listed["paid"]) == ("on track", "10000", "3333")
    assert [(i["amount"], i["state"]) for i in listed["instalments"]] == [
        ("3333", "met"),
        ("3333", "upcoming"),
        ("3334", "upcoming"),
    ]


def test_amounts_finer_than_the_currency_are_refused_and_stored_to_the_cent(cli, tmp_path):
    config = folder(tmp_path)
    finer = make(cli, config, "INV-1", "--amounts", "399.995,400.005,100",
                 "--dates", "2026-03-01,2026-04-01,2026-05-01", expect=2)  # fmt: skip
    assert (
        "--amounts 399.995: the currency has no smaller unit than 0.01; give each amount to "
        "0.01" in finer.output
    )
    made = make(cli, config, "INV-3", "--amounts", "20,30", "--dates", "2026-03-01,2026-04-01")
    assert made.stdout.splitlines()[1:] == ["  2026-03-01  $20.00", "  2026-04-01  $30.00"]
    listed = json.loads(
        cli("plans", "--as-of", "2026-02-10", "--format", "json", "--config", config).stdout
    )["plans"][0]
    assert (listed["total"], listed["paid"]) == ("50.00", "0.00")
    assert [i["amount"] for i in listed["instalments"]] == ["20.00", "30.00"]
    history = cli("history", "--customer", "C2", "--format", "json", "--config", config).stdout
    assert "made: 2 instalment(s) of USD 50.00: 20.00 on 2026-03-01, 30.00 on 2026-04-01" in history


def test_a_broken_plan_cannot_be_cancelled_and_stays_broken(cli, tmp_path):
    config = folder(tmp_path)
    make(cli, config, *THREE)
    for day in days("2026-03-08", "2026-03-09"):
        night(cli, config, day)  # 03-09: the plan broke (instalment 1 missed)
    refused = cli("plans", "cancel", "1", "--as-of", "2026-03-10", "--config", config, expect=2)
    assert (
        "Plan 1 had ended already: broken from 2026-03-09, its invoices are chased by "
        "on_broken_plan: (chase); `arflow plans` shows it" in refused.output
    )
    # the broken plan's route goes on: chase's call on day 10 of 03-09
    assert night(cli, config, "2026-03-19", "--customer", "C1") == [
        ("chase", "call", C1, "Demand: INV-1, INV-2")
    ]


def test_a_plan_cancelled_after_a_recorded_break_stays_broken():
    broke = [PlanEvent(1, 1, "missed", date(2026, 3, 9)), PlanEvent(1, PLAN_ITSELF, "broken",
                                                                    date(2026, 3, 9))]  # fmt: skip
    cancelled = PLAN._replace(cancelled_on=date(2026, 3, 12))
    found = standing(cancelled, {"INV-1": Decimal("900.00")}, broke, date(2026, 3, 20), 7)
    assert (found.state, found.broken_on) == ("broken", date(2026, 3, 9))
    before = PLAN._replace(cancelled_on=date(2026, 3, 5))  # cancelled before it broke
    found = standing(before, {"INV-1": Decimal("900.00")}, [], date(2026, 3, 20), 7)
    assert (found.state, found.broken_on) == ("cancelled", None)


def test_a_day_before_an_event_does_not_see_it(cli, tmp_path):
    config = folder(tmp_path)
    make(cli, config, *THREE)
    night(cli, config, "2026-03-09")  # records instalment 1 missed and the plan broken
    listed = json.loads(
        cli("plans", "--as-of", "2026-02-15", "--format", "json", "--config", config).stdout
    )["plans"][0]
    assert (listed["state"], listed["broken_on"]) == ("on track", None)
    assert [i["state"] for i in listed["instalments"]] == ["upcoming", "upcoming", "upcoming"]
    met = [PlanEvent(1, 1, "met", date(2026, 3, 5))]
    early = standing(PLAN, {"INV-1": Decimal("900.00")}, met, date(2026, 3, 2), 7)
    assert [i.state for i in early.instalments] == ["due", "upcoming", "upcoming"]


def test_validate_wants_a_plan_workflow_anchored_on_the_instalments_day(cli, tmp_path, monkeypatch):
    config = folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    path = config.parent / "workflows" / "payment-plan.yaml"
    path.write_text(path.read_text().replace("anchor: due_date ", "anchor: assigned "))
    result = cli("validate", "ar", expect=1)
    assert result.stderr.splitlines()[0] == (
        "ar/arflow.yaml:6: plan_workflow: 'payment-plan' must have anchor: due_date and steps: "
        "(no campaign): its steps count from each instalment's day; set anchor: due_date in "
        "ar/workflows/payment-plan.yaml or name the library's payment-plan"
    )


def test_plans_without_a_plan_workflow_are_refused_and_the_notice_is_checked(
    cli, tmp_path, monkeypatch
):
    config = folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    config.write_text(config.read_text().replace("plan_workflow: payment-plan\n", ""))
    refused = make(cli, config, *THREE, expect=2)
    assert (
        "plan_workflow: is not set, so no instalment would be chased; add `plan_workflow: "
        "payment-plan`" in refused.output
    )
    assert json.loads(cli("plans", "--format", "json", "--config", config).stdout)["plans"] == []
    for path in (config.parent / "templates").glob("plan-broken.*"):
        path.unlink()
    result = cli("validate", "ar", expect=1)
    assert result.stderr.splitlines()[0] == (
        "ar/arflow.yaml:6: on_broken_plan: the specialist's notice of a broken payment plan "
        "uses the template 'plan-broken': add plan-broken.subject.j2 and plan-broken.txt.j2 "
        "to ar/templates/"
    )


def plain_text(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_one_message_for_two_plans_names_both_instalments_and_their_sum(cli, tmp_path):
    config = folder(tmp_path)
    for number in ("INV-1", "INV-2"):
        make(cli, config, number, "--instalments", "2", "--every", "month",
             "--first", "2026-03-01")  # fmt: skip
    assert night(cli, config, "2026-03-01", "--customer", "C1") == [
        ("payment-plan", "reminder", C1, "Payment plan: 2 instalments ($600.00) are due")
    ]
    text = plain_text(next(iter(messages(config).values())))
    assert (
        "These instalments of your payment plan, $600.00 in all, are due:\n\n"
        "  PLAN-1.1  Mar 1, 2026  $450.00\n"
        "  PLAN-2.1  Mar 1, 2026  $150.00\n\n"
        "Your payment plan 1 ($900.00 for INV-1):\n\n"
        "  1   Mar 1, 2026  $450.00  paid $0.00  due\n"
        "  2   Apr 1, 2026  $450.00  paid $0.00  upcoming\n\n"
        "  Paid so far: $0.00\n\n"
        "Your payment plan 2 ($300.00 for INV-2):\n\n"
        "  1   Mar 1, 2026  $150.00  paid $0.00  due\n"
        "  2   Apr 1, 2026  $150.00  paid $0.00  upcoming\n\n"
        "  Paid so far: $0.00\n\n"
        "When you pay, please quote PLAN-1.1, PLAN-2.1 so that we can count it toward your "
        "plan. Please pay today"
    ) in text


def test_a_catch_up_night_names_every_instalment_it_covers(cli, tmp_path):
    config = folder(tmp_path)
    make(cli, config, "INV-1", "INV-2", "--amounts", "100,200,900",
         "--dates", "2026-03-01,2026-03-02,2026-03-03")  # fmt: skip
    assert night(cli, config, "2026-03-03", "--customer", "C1") == [
        ("payment-plan", "reminder", C1, "Payment plan: 3 instalments ($1,200.00) are due")
    ]
    text = plain_text(next(iter(messages(config).values())))
    assert (
        "These instalments of your payment plan, $1,200.00 in all, are due:\n\n"
        "  PLAN-1.1  Mar 1, 2026  $100.00\n"
        "  PLAN-1.2  Mar 2, 2026  $200.00\n"
        "  PLAN-1.3  Mar 3, 2026  $900.00\n\n"
    ) in text


def with_bank(config, rows: str = "") -> None:
    config.write_text(
        config.read_text()
        + "payments: {path: bank.csv, columns: {date: Date, amount: Amount, reference: "
        "Reference, payer: Payer}}\n"
    )
    (config.parent / "bank.csv").write_text("Date,Amount,Reference,Payer\n" + rows)


def payments_of(cli, config, day: str) -> list[tuple[str, str | None, list, str]]:
    doc = json.loads(cli("payments", "--as-of", day, "--format", "json", "--config", config).stdout)
    return [(p["amount"], p["rule"], p["invoices"], p["why"]) for p in doc["payments"]]


def test_instalments_paid_quoting_instalment_n_count_toward_the_plan(cli, tmp_path):
    config = folder(tmp_path)
    with_bank(config)
    make(cli, config, *THREE)
    rows = {  # the bank's export grows day by day
        "2026-02-27": "2026-02-27,400.00,Northwind instalment 1,Northwind Traders\n",
        "2026-03-13": "2026-03-13,400.00,Northwind instalment 2,Northwind Traders\n",
        "2026-04-20": "2026-04-20,400.00,Northwind installment no. 3,Northwind Traders\n",
    }
    sent, bank = {}, "Date,Amount,Reference,Payer\n"
    for day in days("2026-02-26", "2026-05-10"):
        bank += rows.get(day, "")
        (config.parent / "bank.csv").write_text(bank)
        sent[day] = night(cli, config, day, "--customer", "C1")
    assert {day: s for day, s in sent.items() if s} == {
        "2026-02-26": [("payment-plan", "note", C1, NOTE.format(n=1, day="Mar 1, 2026"))],
    }  # each instalment paid before its note: nothing else sent, the plan never broke
    plan = "the next instalment of payment plan 1:"
    assert payments_of(cli, config, "2026-05-10") == [
        (
            "400.00",
            "amount",
            ["INV-1"],
            f"amount 400.00 is {plan} INV-1, INV-2, and the payer fits",
        ),
        (
            "400.00",
            "amount",
            ["INV-1"],
            f"amount 400.00 is {plan} INV-1, INV-2, and the payer fits",
        ),
        (  # the last instalment is the customer's whole open balance too
            "400.00",
            "amount",
            ["INV-1", "INV-2"],
            "amount 400.00 is the whole open balance of INV-1, INV-2, and the payer fits",
        ),
    ]
    listed = json.loads(
        cli("plans", "--as-of", "2026-05-10", "--format", "json", "--config", config).stdout
    )["plans"][0]
    assert (listed["state"], listed["paid"]) == ("complete", "1200.00")


def test_a_payment_naming_one_invoice_of_a_plan_spills_over_its_others(cli, tmp_path):
    config = folder(tmp_path)
    make(cli, config, *THREE)
    with_bank(
        config,
        "2026-02-27,400.00,INV-2,Northwind Traders\n2026-03-30,400.00,PLAN-1.2,Someone Else\n",
    )
    assert night(cli, config, "2026-03-30", "--customer", "C1") == []  # both met
    assert payments_of(cli, config, "2026-03-30") == [
        (
            "400.00",
            "reference",
            ["INV-2", "INV-1"],
            "reference names INV-2, on payment plan 1 (any rest to INV-1)",
        ),
        ("400.00", "reference", ["INV-1"], "reference names INV-1"),
    ]
    listed = json.loads(
        cli("plans", "--as-of", "2026-03-30", "--format", "json", "--config", config).stdout
    )["plans"][0]
    assert (listed["paid"], [i["state"] for i in listed["instalments"]]) == (
        "800.00",
        ["met", "met", "upcoming"],
    )


def test_a_broken_plan_no_longer_takes_a_payment_of_an_instalment(cli, tmp_path):
    config = folder(tmp_path)
    make(cli, config, *THREE)
    with_bank(config)
    night(cli, config, "2026-03-09", "--customer", "C1")  # instalment 1 missed: broken
    (config.parent / "bank.csv").write_text(
        "Date,Amount,Reference,Payer\n2026-03-10,400.00,thanks,Northwind Traders\n"
    )
    assert payments_of(cli, config, "2026-03-10") == [
        (
            "400.00",
            None,
            [],
            "no open invoice named in its reference, nor one of its amount from this payer",
        )
    ]


def skipped_notices(cli, config, day: str) -> list[tuple[str, str]]:
    result = cli("run", "--format", "json", "--as-of", day, "--config", config, "--customer", "C1")
    return [
        (s["step"], s["reason"])
        for s in json.loads(result.stdout)["skipped"]
        if s["workflow"] == "plans"
    ]


def test_a_broken_plan_nobody_can_hear_of_is_reported_once(cli, tmp_path):
    config = folder(tmp_path)
    customers = config.parent / "customers.csv"
    customers.write_text(
        "customer_id,name,email\nC1,Northwind Traders,ap@northwind.example\n"
        "C2,Blue Harbor Cafe,billing@blueharbor.example\n"
    )
    make(cli, config, *THREE)
    found = {day: skipped_notices(cli, config, day) for day in days("2026-03-08", "2026-03-12")}
    assert {day: s for day, s in found.items() if s} == {"2026-03-09": [("broken", "no-recipient")]}


def test_a_later_plan_cancelled_gives_the_invoices_back_to_their_own_workflow(cli, tmp_path):
    config = folder(tmp_path)
    make(cli, config, *THREE)
    assert night(cli, config, "2026-03-09", "--customer", "C1")[0] == (
        "chase", "demand", C1, "Demand: INV-1, INV-2"
    )  # fmt: skip
    make(cli, config, "INV-1", "INV-2", "--instalments", "2", "--every", "week",
         "--first", "2026-03-20", day="2026-03-10")  # fmt: skip
    cli("plans", "cancel", "2", "--as-of", "2026-03-12", "--config", config)
    sent = {
        day: night(cli, config, day, "--customer", "C1") for day in days("2026-03-12", "2026-03-20")
    }
    assert {day: s for day, s in sent.items() if s} == {
        "2026-03-12": [("standard", "reminder", C1, "Reminder: INV-1, INV-2")]
    }  # not chase's call on 03-19: the broken plan's route ended with the later plan


def test_the_broken_notice_lists_only_the_invoices_still_owed(cli, tmp_path):
    config = folder(tmp_path)
    make(cli, config, *THREE)
    (config.parent / "invoices.csv").write_text(
        INVOICES.format(balance="").replace("2026-02-04,300.00,", "2026-02-04,300.00,0.00")
    )  # INV-2 paid: 300 of the first 400
    assert night(cli, config, "2026-03-09", "--customer", "C1") == [
        ("chase", "demand", C1, "Demand: INV-1"),
        ("plans", "broken", "dana@acme.example", "[AR] Northwind Traders: payment plan 1 broken"),
    ]
    notice = plain_text(messages(config)["[AR] Northwind Traders: payment plan 1 broken"])
    assert "INV-1" in notice and "INV-2" not in notice


def test_validate_warns_of_a_plan_step_after_the_grace(cli, tmp_path, monkeypatch):
    config = folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    config.write_text(config.read_text().replace("plan_grace_days: 7", "plan_grace_days: 2"))
    result = cli("validate", "ar")
    assert result.stderr.splitlines()[0] == (
        "warning: ar/arflow.yaml:8: plan_grace_days: step 'final' of 'payment-plan' is on day 5, after "
        "plan_grace_days: 2: by then the plan has broken, so it never goes; set "
        "plan_grace_days: 5 or more, or move the step"
    )


def test_the_run_counts_the_invoices_open_beside_a_plan(cli, tmp_path):
    config = folder(tmp_path)
    make(cli, config, *THREE)
    (config.parent / "invoices.csv").write_text(INVOICES.format(balance="500.01"))
    result = cli("run", "--dry-run", "--as-of", "2026-03-05", "--config", config)
    assert result.stdout.splitlines()[-1] == (
        "2026-03-05: 3 invoices, 3 open, 1 action(s) planned, 1 skipped, 0 error(s)"
    )  # the instalments are not invoices; the plan's three are open


@pytest.mark.parametrize(
    ("reference", "tokens", "plans"),
    [
        ("Northwind instalment 2", {"northwind", "instalment"}, []),
        ("installment no. 3 INV-7", {"installment", "inv7"}, []),
        ("Instalments #12, 1002", {"instalments", "1002"}, []),
        ("PLAN-3.2, plan 4", {"plan32", "plan", "4"}, [3, 4]),
        ("planet 5 INV-5", {"planet", "5", "inv5"}, []),
        ("workplan 6", {"workplan", "6"}, []),
    ],
)
def test_a_reference_says_which_invoices_and_plans_it_names(reference, tokens, plans):
    assert reference_tokens(reference) == tokens
    assert plan_references(reference) == plans


def test_validate_refuses_a_campaign_as_plan_workflow(cli, tmp_path, monkeypatch):
    config = folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    (config.parent / "workflows" / "statements.yaml").write_text(
        "name: Statements\nschedule: {every: month, day: 1}\nactions:\n  - email: reminder\n"
    )
    config.write_text(
        config.read_text().replace("plan_workflow: payment-plan", "plan_workflow: statements")
    )
    result = cli("validate", "ar", expect=1)
    assert result.stderr.splitlines()[0] == (
        "ar/arflow.yaml:6: plan_workflow: 'statements' must have anchor: due_date and steps: "
        "(no campaign): its steps count from each instalment's day; set anchor: due_date in "
        "ar/workflows/statements.yaml or name the library's payment-plan"
    )
