"""`planner.next_due` on plain values: each case is a rule only it covers, the day it names is
the first day the planner (`engine.plan`) really acts for the customer, and on every day before
it from `since` the planner does nothing for it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from arflow.config import Person
from arflow.engine import plan
from arflow.ledger import Customer
from arflow.planner.matching import OpenInvoice, TargetDates
from arflow.planner.next_due import next_due, target_next_due
from arflow.planner.plan_types import Chase, Hold, PastState
from arflow.planner.schedule import StepSchedule
from arflow.planner.when import Holds
from arflow.rules import DEFAULT_MIN_BALANCE
from tests.conftest import inv, ledger_of
from tests.test_engine import wf

D = date.fromisoformat
PEOPLE = {"controller": Person(name="C", email="controller@x.example")}
EMAIL = [{"email": "reminder"}]
NOTICE = [{"notify": {"to": ["controller"], "template": "t"}}]
ONE_STEP = [{"id": "only", "day": 0, "actions": EMAIL}]


def _acts(ledger, flows, state, day: date) -> bool:
    """Whether the planner does anything for C1 on `day`: an action, a skip, a sequence
    started or ended."""
    found = plan(ledger, flows, state, day, default_workflow="std", people=PEOPLE)
    return bool(
        [a for a in found.actions if a.customer_id == "C1"]
        + [s for s in found.skipped if s.customer_id == "C1"]
        + [k for k in (*found.started, *found.ended) if k[0] == "C1"]
    )


CASES = {
    # a promise ends on the 15th; every step ran: the broken promise moves A1 on the 16th
    "promise-broken": (
        ledger_of(inv("A1", issue="2026-02-01", due="2026-03-01")),
        {
            "std": wf(ONE_STEP, on_broken_promise="other"),
            "other": wf([{"id": "late", "day": 0, "actions": EMAIL}]),
        },
        PastState(
            ran={("invoice:A1", "std"): {"only"}},
            promises={"A1": D("2026-03-15")},
            holds=[Hold("promise", 1, "A1", None, D("2026-03-15"))],
        ),
        "2026-03-16",
    ),
    # A1 was chased and paid on the 5th; its on_paid has not gone yet: it goes on the first day
    "on-paid-owed": (
        ledger_of(inv("A1", issue="2026-02-01", due="2026-03-01", paid="2026-03-05")),
        {"std": wf(ONE_STEP, on_paid=NOTICE)},
        PastState(
            ran={("invoice:A1", "std"): {"only"}},
            chased={("invoice:A1", "std"): Chase(D("2026-03-01"), frozenset())},
        ),
        "2026-03-12",
    ),
    # C1's sequence is open, and it owes nothing any more: the sequence ends
    "sequence-ends": (
        ledger_of(inv("A1", issue="2026-02-01", due="2026-03-01", paid="2026-03-05")),
        {"std": wf(ONE_STEP, anchor="assigned")},
        PastState(sequences={("C1", "std"): D("2026-02-01")}),
        "2026-03-12",
    ),
    # C1 is paused: the owner's notice of the pause is owed
    "pause-notice": (
        ledger_of(inv("A1", issue="2026-02-01", due="2026-03-01")),
        {"std": wf(ONE_STEP, owner="controller", notify_on=["pause"])},
        PastState(
            ran={("invoice:A1", "std"): {"only"}},
            paused_customers={"C1"},
            holds=[Hold("customer", 4, "C1")],
        ),
        "2026-03-12",
    ),
    # an `assigned` sequence not started yet starts on the first free day, whatever its steps
    "sequence-starts": (
        ledger_of(inv("A1", issue="2026-02-01", due="2026-03-01")),
        {"std": wf([{"id": "later", "day": 3, "actions": EMAIL}], anchor="assigned")},
        PastState(),
        "2026-03-12",
    ),
    # A2 is issued on the 14th: a step dated before it never runs, so it starts on its day
    "issued": (
        ledger_of(
            inv("A1", issue="2026-02-01", due="2026-03-01"),
            inv("A2", issue="2026-03-14", due="2026-03-14"),
        ),
        {"std": wf(ONE_STEP)},
        PastState(ran={("invoice:A1", "std"): {"only"}}),
        "2026-03-14",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_next_due_names_the_first_day_the_planner_acts(case):
    ledger, flows, state, expected = CASES[case]
    since, last = D("2026-03-12"), D("2026-04-30")
    found = next_due(
        ledger,
        flows,
        state,
        since,
        last,
        default_workflow="std",
        min_balance=DEFAULT_MIN_BALANCE,
    )
    assert found == {"C1": D(expected)}
    day = since
    while day < D(expected):
        assert not _acts(ledger, flows, state, day), day
        day += timedelta(days=1)
    assert _acts(ledger, flows, state, D(expected))


def test_a_step_that_expired_unrun_is_due_the_day_the_planner_skips_it():
    flow = wf([{"id": "nudge", "day": 0, "expires_after": 2, "actions": EMAIL}])
    schedule = StepSchedule("std", flow)
    a1 = inv("A1", issue="2026-02-01", due="2026-03-01")
    target = TargetDates("invoice:A1", a1.due_date, a1.issue_date, [OpenInvoice(a1, a1.amount)])
    holds = Holds(PastState())
    day = target_next_due(
        schedule, holds, Customer("C1"), target, frozenset(), D("2026-03-12"), D("2026-03-31")
    )
    assert day == D("2026-03-12")
    found = plan(ledger_of(a1), {"std": flow}, PastState(), day, default_workflow="std")
    assert [(s.step, s.reason) for s in found.skipped] == [("nudge", "expired")]
