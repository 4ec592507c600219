"""Every schedule rule of SPEC 4.1–4.4 and 4.9, with plain values: no files, no clock."""

from datetime import date
from decimal import Decimal

import pytest

from arflow.engine import plan
from arflow.ledger import Customer
from arflow.planner.matching import sort_into_workflows
from arflow.planner.plan_types import ActionKey, Assignment, PastState
from arflow.workflow import Workflow
from tests.conftest import inv, ledger_of

D = date.fromisoformat


def wf(steps=None, **kw) -> Workflow:
    steps = (
        steps
        if steps is not None
        else [
            {"id": "courtesy", "day": -3, "actions": [{"email": "reminder"}]},
            {"id": "d7", "day": 7, "actions": [{"email": "reminder"}]},
            {
                "id": "d30",
                "day": 30,
                "actions": [{"email": "reminder"}, {"status": "In collections"}],
            },
        ]
    )
    return Workflow.model_validate({"steps": steps, **kw})


def run(ledger, workflows=None, as_of="2026-03-01", state=None, **kw):
    workflows = workflows if workflows is not None else {"std": wf()}
    return plan(
        ledger,
        workflows,
        state or PastState(),
        D(as_of),
        default_workflow=kw.pop("default", "std"),
        **kw,
    )


def steps_of(result):
    return [(a.customer_id, a.workflow, a.step, a.kind, a.invoices) for a in result.actions]


def skips_of(result):
    return [(s.customer_id, s.step, s.invoices, s.reason) for s in result.skipped]


# --- 4.1 step dates ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "as_of, expected",
    [
        ("2026-02-25", []),  # day −4: nothing yet
        ("2026-02-26", ["courtesy"]),  # due 03-01, day −3
        ("2026-03-01", ["courtesy"]),  # due today: not overdue, courtesy still latest
        ("2026-03-07", ["courtesy"]),
        ("2026-03-08", ["d7"]),  # day 7
        ("2026-03-31", ["d30"]),  # day 30
    ],
)
def test_step_date_is_anchor_plus_day(as_of, expected):
    ledger = ledger_of(inv("A1", issue="2026-01-30", due="2026-03-01"))
    assert [a.step for a in run(ledger, as_of=as_of).actions if a.kind == "email"] == expected


def test_issue_date_anchor_counts_from_the_invoice_date():
    ledger = ledger_of(inv("A1", issue="2026-02-01", due="2026-03-03"))
    flows = {
        "std": wf(
            [{"id": "d10", "day": 10, "actions": [{"email": "reminder"}]}], anchor="issue_date"
        )
    }
    assert steps_of(run(ledger, flows, as_of="2026-02-10")) == []
    assert [a.step for a in run(ledger, flows, as_of="2026-02-11").actions] == ["d10"]


@pytest.mark.parametrize(
    "due, as_of, expected",
    [
        ("2026-03-06", "2026-03-09", "d1"),  # Fri + 1 business day = Mon
        ("2026-03-06", "2026-03-07", None),  # Saturday: nothing is sent at all
        ("2026-03-06", "2026-03-08", None),  # Sunday either
        ("2026-03-07", "2026-03-09", "d0"),  # day 0 on a Saturday anchor → Monday
        ("2026-03-07", "2026-03-10", "d1"),  # Saturday rolls to Monday, +1 = Tuesday
        ("2026-07-02", "2026-07-03", None),  # Jul 3 2026: observed US holiday, nothing sent
        ("2026-07-02", "2026-07-06", "d1"),  # ... so day 1 falls on Monday
    ],
)
def test_business_days(due, as_of, expected):
    flows = {
        "std": wf(
            [
                {"id": "d0", "day": 0, "actions": [{"email": "reminder"}]},
                {"id": "d1", "day": 1, "actions": [{"email": "reminder"}]},
            ],
            business_days=True,
            holidays="US",
            catch_up="latest",
        )
    }
    ledger = ledger_of(inv("A1", issue="2026-02-01", due=due))
    result = run(ledger, flows, as_of=as_of)
    assert [a.step for a in result.actions] == ([expected] if expected else [])


def test_weekend_as_of_waits_and_the_step_runs_next_business_day():
    flows = {
        "std": wf([{"id": "d3", "day": 3, "actions": [{"email": "reminder"}]}], business_days=True)
    }
    ledger = ledger_of(inv("A1", issue="2026-02-01", due="2026-03-04"))  # Wed + 3 = Mon 03-09
    assert run(ledger, flows, as_of="2026-03-08").actions == []
    assert [a.step for a in run(ledger, flows, as_of="2026-03-09").actions] == ["d3"]


# --- 4.2 due ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "invoice, as_of, due",
    [
        (inv("A1", issue="2026-01-01", due="2026-01-31"), "2026-02-07", True),
        (inv("A1", issue="2026-01-01", due="2026-01-31", status="draft"), "2026-02-07", False),
        (inv("A1", issue="2026-01-01", due="2026-01-31", status="void"), "2026-02-07", False),
        (inv("A1", issue="2026-01-01", due="2026-01-31", status="paid"), "2026-02-07", False),
        (inv("A1", issue="2026-01-01", due="2026-01-31", balance="0"), "2026-02-07", False),
        (inv("A1", issue="2026-01-01", due="2026-01-31", balance="0.005"), "2026-02-07", False),
        # open means a balance above the tolerance (min_balance, default 0.01)
        (inv("A1", issue="2026-01-01", due="2026-01-31", balance="0.02"), "2026-02-07", True),
        (inv("A1", issue="2026-01-01", due="2026-01-31", balance="0.01"), "2026-02-07", False),
        (inv("A1", issue="2026-01-01", due="2026-01-31", balance="-50"), "2026-02-07", False),
        (inv("A1", issue="2026-01-01", due="2026-01-31", paid="2026-02-07"), "2026-02-07", False),
        (inv("A1", issue="2026-01-01", due="2026-01-31", paid="2026-02-08"), "2026-02-07", True),
        # exists only from its issue date: a replayed ledger doesn't chase the future
        (inv("A1", issue="2026-02-08", due="2026-01-31"), "2026-02-07", False),
    ],
)
def test_only_open_existing_invoices_are_chased(invoice, as_of, due):
    flows = {"std": wf([{"id": "d7", "day": 7, "actions": [{"email": "reminder"}]}])}
    assert bool(run(ledger_of(invoice), flows, as_of=as_of).actions) is due
    # the planner inlines Invoice.is_open for speed: both must say the same
    assert invoice.is_open(D(as_of), Decimal("0.01")) is due


def test_step_dated_before_the_issue_date_never_runs():
    # due on receipt: the courtesy step (day −3) would fall before the invoice existed
    ledger = ledger_of(inv("A1", issue="2026-03-01", due="2026-03-01"))
    result = run(ledger, as_of="2026-03-01")
    assert steps_of(result) == [] and skips_of(result) == []


def test_min_balance_setting_is_the_tolerance():
    ledger = ledger_of(inv("A1", issue="2026-01-01", due="2026-01-31", balance="0.50"))
    flows = {"std": wf([{"id": "d7", "day": 7, "actions": [{"email": "reminder"}]}])}
    assert run(ledger, flows, as_of="2026-02-07").open == 1
    assert run(ledger, flows, as_of="2026-02-07", min_balance=Decimal("1")).actions == []
    # exactly the tolerance is within it: settled, not chased
    assert run(ledger, flows, as_of="2026-02-07", min_balance=Decimal("0.50")).open == 0
    assert run(ledger, flows, as_of="2026-02-07", min_balance=Decimal("0.49")).open == 1


def test_step_that_already_ran_does_not_run_again():
    ledger = ledger_of(inv("A1", issue="2026-01-01", due="2026-01-31"))
    flows = {"std": wf([{"id": "d7", "day": 7, "actions": [{"email": "reminder"}]}])}
    state = PastState(ran={("invoice:A1", "std"): {"d7"}})
    assert run(ledger, flows, as_of="2026-02-07", state=state).actions == []
    assert len(run(ledger, flows, as_of="2026-02-07").actions) == 1


def test_earlier_step_is_not_run_after_a_later_one_ran():
    ledger = ledger_of(inv("A1", issue="2026-01-01", due="2026-01-31"))
    state = PastState(ran={("invoice:A1", "std"): {"d30"}})
    assert run(ledger, as_of="2026-03-05", state=state).actions == []


def test_paused_customer_and_paused_invoice():
    ledger = ledger_of(
        inv("A1", "C1", due="2026-01-31"),
        inv("A2", "C1", due="2026-01-31"),
        inv("B1", "C2", due="2026-01-31"),
        customers=[
            Customer("C1", email=("c1@x.example",)),
            Customer("C2", email=("c2@x.example",), paused=True),
        ],
    )
    flows = {"std": wf([{"id": "d7", "day": 7, "actions": [{"email": "reminder"}]}])}
    assert steps_of(run(ledger, flows, as_of="2026-02-07")) == [
        ("C1", "std", "d7", "email", ["A1", "A2"])
    ]
    state = PastState(paused_invoices={"A2"}, paused_customers=set())
    assert steps_of(run(ledger, flows, as_of="2026-02-07", state=state)) == [
        ("C1", "std", "d7", "email", ["A1"])
    ]
    state = PastState(paused_customers={"C1"})
    assert steps_of(run(ledger, flows, as_of="2026-02-07", state=state)) == []


@pytest.mark.parametrize("as_of, chased", [("2026-02-10", False), ("2026-02-11", True)])
def test_promise_holds_until_its_date(as_of, chased):
    ledger = ledger_of(inv("A1", due="2026-01-31"))
    flows = {"std": wf([{"id": "d7", "day": 7, "actions": [{"email": "reminder"}]}])}
    state = PastState(promises={"A1": D("2026-02-10")})
    assert bool(run(ledger, flows, as_of=as_of, state=state).actions) is chased


# --- 4.3 catch-up ---------------------------------------------------------------------------
def test_catch_up_latest_runs_only_the_latest_and_supersedes_the_rest():
    ledger = ledger_of(inv("A1", issue="2026-01-01", due="2026-01-31"))
    result = run(ledger, as_of="2026-03-05")
    assert steps_of(result) == [
        ("C1", "std", "d30", "email", ["A1"]),
        ("C1", "std", "d30", "status", ["A1"]),
    ]
    assert skips_of(result) == [
        ("C1", "courtesy", ["A1"], "superseded"),
        ("C1", "d7", ["A1"], "superseded"),
    ]
    assert result.skipped[0].keys == [ActionKey("invoice:A1", "std", "courtesy", 0)]


def test_catch_up_all_runs_them_all_in_order():
    ledger = ledger_of(inv("A1", issue="2026-01-01", due="2026-01-31"))
    result = run(ledger, {"std": wf(catch_up="all")}, as_of="2026-03-05")
    assert [(a.step, a.kind) for a in result.actions] == [
        ("courtesy", "email"),
        ("d7", "email"),
        ("d30", "email"),
        ("d30", "status"),
    ]
    assert result.skipped == []


@pytest.mark.parametrize(
    "as_of, runs, reason",
    [
        ("2026-02-02", ["c"], None),  # step date 01-31, 2 days late: within expires_after 2
        ("2026-02-03", [], "expired"),  # 3 days late: expired
    ],
)
def test_expires_after(as_of, runs, reason):
    flows = {
        "std": wf([{"id": "c", "day": 0, "expires_after": 2, "actions": [{"email": "reminder"}]}])
    }
    result = run(ledger_of(inv("A1", due="2026-01-31")), flows, as_of=as_of)
    assert [a.step for a in result.actions] == runs
    assert [s.reason for s in result.skipped] == ([reason] if reason else [])


def test_expired_latest_step_lets_the_previous_step_run():
    flows = {
        "std": wf(
            [
                {"id": "d7", "day": 7, "actions": [{"email": "reminder"}]},
                {"id": "d30", "day": 30, "expires_after": 1, "actions": [{"email": "reminder"}]},
            ]
        )
    }
    result = run(ledger_of(inv("A1", due="2026-01-31")), flows, as_of="2026-03-10")
    assert [a.step for a in result.actions] == ["d7"]
    assert skips_of(result) == [("C1", "d30", ["A1"], "expired")]


# --- 4.4 grouping ----------------------------------------------------------------------------
def test_one_message_per_customer_workflow_and_step_listing_its_invoices():
    ledger = ledger_of(
        inv("A2", "C1", due="2026-01-30"),
        inv("A1", "C1", due="2026-01-31"),
        inv("B1", "C2", due="2026-01-31"),
        inv("A3", "C1", due="2026-02-20"),
    )
    flows = {
        "std": wf(
            [{"id": "d7", "day": 7, "actions": [{"email": "reminder"}, {"status": "Overdue"}]}]
        )
    }
    result = run(ledger, flows, as_of="2026-02-07")
    assert steps_of(result) == [
        ("C1", "std", "d7", "email", ["A1", "A2"]),
        ("C1", "std", "d7", "status", ["A1", "A2"]),
        ("C2", "std", "d7", "email", ["B1"]),
        ("C2", "std", "d7", "status", ["B1"]),
    ]
    email = result.actions[0]
    assert email.keys == [
        ActionKey("invoice:A1", "std", "d7", 0),
        ActionKey("invoice:A2", "std", "d7", 0),
    ]
    assert email.to == ["c1@x.example"] and email.amounts == {"USD": Decimal("200.00")}


def test_different_steps_of_one_customer_are_separate_messages():
    ledger = ledger_of(inv("A1", due="2026-01-31"), inv("A2", due="2026-02-22"))
    result = run(ledger, as_of="2026-03-02")
    assert [(a.step, a.invoices) for a in result.actions if a.kind == "email"] == [
        ("d7", ["A2"]),
        ("d30", ["A1"]),
    ]


# --- 4.5 assignment -----------------------------------------------------------------------
FLOWS = {
    "std": wf([{"id": "s", "day": 1, "actions": [{"email": "reminder"}]}]),
    "hosting": wf(
        [{"id": "h", "day": 1, "actions": [{"email": "reminder"}]}],
        priority=5,
        match={"product": ["Hosting"]},
    ),
    "big": wf(
        [{"id": "b", "day": 1, "actions": [{"email": "reminder"}]}],
        priority=5,
        match={"min_balance": 1000},
    ),
    "vip": wf([{"id": "v", "day": 1, "actions": [{"email": "reminder"}]}]),
    "off": wf(
        [{"id": "o", "day": 1, "actions": [{"email": "reminder"}]}],
        enabled=False,
        match={"currency": "USD"},
        priority=1,
    ),
}


def assigned(ledger, state=None, default="std"):
    return {
        (a.customer_id, tuple(a.invoices)): a.workflow
        for a in run(ledger, FLOWS, as_of="2026-02-01", state=state, default=default).actions
    }


def test_match_min_balance_is_a_minimum_that_includes_its_own_value():
    ledger = ledger_of(
        inv("E1", due="2026-01-31", amount="1000"), inv("U1", due="2026-01-31", amount="999.99")
    )
    assert assigned(ledger) == {("C1", ("E1",)): "big", ("C1", ("U1",)): "std"}


def test_match_is_per_invoice_and_priority_then_id_breaks_ties():
    ledger = ledger_of(
        inv("H1", due="2026-01-31", product="hosting"),
        inv("C1", due="2026-01-31", product="consulting"),
        inv("X1", due="2026-01-31", product="hosting", amount="5000"),
    )
    # X1 fits both priority-5 workflows: "big" wins over "hosting" by id
    assert assigned(ledger) == {
        ("C1", ("H1",)): "hosting",
        ("C1", ("C1",)): "std",
        ("C1", ("X1",)): "big",
    }


def test_explicit_assignment_covers_all_invoices_and_beats_match():
    ledger = ledger_of(
        inv("H1", due="2026-01-31", product="hosting"),
        inv("C1", due="2026-01-31"),
        customers=[Customer("C1", email=("a@x.example",), workflow="vip")],
    )
    assert assigned(ledger) == {("C1", ("C1", "H1")): "vip"}
    state = PastState(assignments={"C1": Assignment("std", D("2026-01-01"))})
    assert assigned(ledger, state) == {("C1", ("C1", "H1")): "std"}  # arflow assign wins


def test_no_match_and_no_default_means_no_workflow():
    ledger = ledger_of(inv("C1", due="2026-01-31"))
    assert assigned(ledger, default=None) == {}


def test_disabled_workflow_never_runs_even_when_assigned():
    ledger = ledger_of(
        inv("C1", due="2026-01-31"),
        customers=[Customer("C1", email=("a@x.example",), workflow="off")],
    )
    assert assigned(ledger) == {}


def test_assigned_anchor_counts_from_the_assignment_date_for_the_whole_customer():
    flows = {
        "std": wf(
            [
                {"id": "a0", "day": 0, "actions": [{"email": "reminder"}]},
                {"id": "a3", "day": 3, "actions": [{"email": "reminder"}]},
            ],
            anchor="assigned",
        )
    }
    ledger = ledger_of(
        inv("A1", due="2026-01-31"),
        inv("A2", due="2026-03-31"),
        inv("A3", due="2026-01-31", balance="0"),
    )
    state = PastState(assignments={"C1": Assignment("std", D("2026-02-10"))})
    result = run(ledger, flows, as_of="2026-02-13", state=state)
    assert steps_of(result) == [("C1", "std", "a3", "email", ["A1", "A2"])]
    assert result.actions[0].keys == [ActionKey("customer:C1@2026-02-10", "std", "a3", 0)]
    # first seen today without a stored date: the sequence starts today and is reported
    result = run(ledger, flows, as_of="2026-02-13")
    assert steps_of(result) == [("C1", "std", "a0", "email", ["A1", "A2"])]
    assert result.started == {("C1", "std"): D("2026-02-13")}


# --- recipients ------------------------------------------------------------------------------
def test_missing_contact_is_a_skip_not_a_silent_drop():
    flows = {
        "std": wf([{"id": "d7", "day": 7, "actions": [{"email": "reminder"}, {"sms": "reminder"}]}])
    }
    ledger = ledger_of(inv("A1", due="2026-01-31"), customers=[Customer("C1")])
    result = run(ledger, flows, as_of="2026-02-07")
    assert result.actions == []
    assert skips_of(result) == [("C1", "d7", ["A1"], "no-email"), ("C1", "d7", ["A1"], "no-phone")]


def test_people_and_roles_resolve_to_addresses():
    from arflow.config import Person

    people = {
        "controller": Person(name="C", email="controller@x.example"),
        "dana": Person(name="D", email="dana@x.example"),
    }
    flows = {
        "std": wf(
            [
                {
                    "id": "d7",
                    "day": 7,
                    "actions": [
                        {
                            "email": {
                                "template": "reminder",
                                "cc": ["controller", "boss@x.example"],
                                "bcc": ["specialist"],
                            }
                        },
                        {"notify": {"to": ["owner"], "template": "internal"}},
                        {"task": {"title": "Call", "assignee": "specialist"}},
                    ],
                }
            ],
            owner="controller",
        )
    }
    ledger = ledger_of(
        inv("A1", due="2026-01-31"),
        customers=[Customer("C1", email=("ap@c1.example",), specialist="dana")],
    )
    email, notify, task = run(ledger, flows, as_of="2026-02-07", people=people).actions
    assert (email.to, email.cc, email.bcc) == (
        ["ap@c1.example"],
        ["controller@x.example", "boss@x.example"],
        ["dana@x.example"],
    )
    assert notify.to == ["controller@x.example"] and task.to == ["dana@x.example"]


def test_a_notify_without_to_goes_to_the_workflow_owner():
    from arflow.config import Person

    people = {"controller": Person(name="C", email="controller@x.example")}
    flows = {
        "std": wf([{"id": "d7", "day": 7, "actions": [{"notify": "internal"}]}], owner="controller")
    }
    ledger = ledger_of(inv("A1", due="2026-01-31"))
    (notify,) = run(ledger, flows, as_of="2026-02-07", people=people).actions
    assert (notify.kind, notify.to) == ("notify", ["controller@x.example"])


def test_plan_is_deterministic_and_counts_invoices():
    ledger = ledger_of(
        *[inv(f"N{i:03d}", f"C{i % 7}", due="2026-01-31") for i in range(50)],
        inv("P1", paid="2026-01-15"),
    )
    first = run(ledger, as_of="2026-02-07")
    again = run(ledger_of(*reversed(ledger.invoices)), as_of="2026-02-07")
    assert steps_of(first) == steps_of(again)
    assert (first.invoices, first.open, len(first.actions)) == (51, 50, 7)


# --- 4.6–4.8 promises, payment and chaining, with plain values --------------------------------
def _two_flows():
    return {
        "std": wf(on_broken_promise="late", then="late"),
        "late": wf([{"id": "l0", "day": 0, "actions": [{"email": "reminder"}]}], anchor="assigned"),
    }


@pytest.mark.parametrize(
    "balance, where",
    [
        ("150.00", "std"),  # 50 of the promised 50 paid: kept, the rest chased as before
        ("180.00", "late"),  # only 20 paid: broken → on_broken_promise, counted from the 16th
    ],
)
def test_a_promise_with_an_amount_is_kept_when_that_much_was_paid(balance, where):
    ledger = ledger_of(inv("B1", due="2026-03-01", amount="200.00", balance=balance))
    state = PastState(
        promises={"B1": D("2026-03-15")},
        promised_amounts={"B1": (Decimal("50"), Decimal("200.00"))},
    )
    assert [a[1] for a in steps_of(run(ledger, _two_flows(), "2026-03-15", state))] == []
    # while the promise holds, the invoice stays in its workflow (held back, not moved on)
    for day, follows in (("2026-03-15", "std"), ("2026-03-16", where)):
        sorted_in = sort_into_workflows(ledger, _two_flows(), state, D(day), "std", Decimal("0.01"))
        assert list(sorted_in.following) == [("C1", follows)]
    result = run(ledger, _two_flows(), "2026-03-16", state)
    assert [(a[1], a[2]) for a in steps_of(result)] == [
        {"std": ("std", "d7"), "late": ("late", "l0")}[where]
    ]
    if where == "late":
        assert result.started == {("C1", "late"): D("2026-03-16")}


def test_then_follows_the_day_after_the_last_step_was_settled():
    ledger = ledger_of(inv("A1", due="2026-01-01"))
    state = PastState(
        ran={("invoice:A1", "std"): {"courtesy", "d7", "d30"}},
        finished={("invoice:A1", "std"): D("2026-01-31")},
    )
    assert run(ledger, _two_flows(), "2026-01-31", state).actions == []  # the same day: not yet
    result = run(ledger, _two_flows(), "2026-02-01", state)
    assert steps_of(result) == [("C1", "late", "l0", "email", ["A1"])]
    assert result.started == {("C1", "late"): D("2026-02-01")}


def test_on_paid_needs_a_step_that_really_ran_and_a_payment():
    flows = {"std": wf(on_paid=[{"notify": {"to": ["x@acme.example"], "template": "t"}}])}
    chased = {
        ("invoice:A1", "std"): (D("2026-01-08"), frozenset({"A1"})),
        ("invoice:A2", "std"): (D("2026-01-08"), frozenset({"A2"})),
        ("invoice:A3", "std"): (D("2026-01-08"), frozenset({"A3"})),
    }
    ledger = ledger_of(
        inv("A1", paid="2026-02-01"),
        inv("A2", status="void"),
        inv("A3", balance="0"),
        inv("A4", paid="2026-02-01"),
    )
    result = run(ledger, flows, "2026-02-02", PastState(chased=chased))
    # A1 paid, A3 paid down to zero: one message for both; A2 voided and A4 never chased: none
    assert steps_of(result) == [("C1", "std", "on_paid", "notify", ["A1", "A3"])]
    settled = {ActionKey("invoice:A1", "std", "on_paid", 0)}
    result = run(ledger, flows, "2026-02-03", PastState(chased=chased, settled=settled))
    assert steps_of(result) == [("C1", "std", "on_paid", "notify", ["A3"])]


@pytest.mark.parametrize(
    "first, second, thanks",
    [
        ("2026-01-08", "2026-01-20", "late"),  # the chain moved on: the later workflow thanks
        ("2026-01-20", "2026-01-08", "std"),  # chased last by the first one: it thanks
        ("2026-01-08", "2026-01-08", "std"),  # the same day: by workflow id, the larger
    ],
)
def test_on_paid_comes_once_from_the_workflow_that_chased_last(first, second, thanks):
    """SPEC 4.7 for a `then:` chain: one thank-you for a paid invoice, from the workflow whose
    step ran last for it (a tie on the day goes to the larger workflow id)."""
    flows = {
        wid: wf(on_paid=[{"notify": {"to": [f"{wid}@acme.example"], "template": "t"}}])
        for wid in ("late", "std")
    }
    chased = {
        ("invoice:A1", "std"): (D(first), frozenset({"A1"})),
        ("invoice:A1", "late"): (D(second), frozenset({"A1"})),
    }
    ledger = ledger_of(inv("A1", paid="2026-02-01"))
    result = run(ledger, flows, "2026-02-02", PastState(chased=chased))
    assert steps_of(result) == [("C1", thanks, "on_paid", "notify", ["A1"])]
    assert result.actions[0].to == [f"{thanks}@acme.example"]


def test_the_planner_never_plans_an_action_key_already_settled():
    """SPEC 4.3 in the planner itself: a settled key is never planned again, even when the
    step does not count as run (one of its two actions still open)."""
    ledger = ledger_of(inv("A1", issue="2026-01-01", due="2026-01-31"))
    done = ActionKey("invoice:A1", "std", "d30", 0)
    result = run(ledger, as_of="2026-03-02", state=PastState(settled={done}))
    assert [(a.step, a.kind, a.keys) for a in result.actions] == [
        ("d30", "status", [ActionKey("invoice:A1", "std", "d30", 1)])
    ]
    assert [a.kind for a in run(ledger, as_of="2026-03-02").actions] == ["email", "status"]


# --- offsets too long for the dates arflow works with -------------------------------------------
@pytest.mark.parametrize("business_days", [False, True])
def test_steps_at_the_longest_offsets_from_the_farthest_dates_plan(business_days):
    flows = {
        "std": wf(
            [
                {"id": "early", "day": -3650, "actions": [{"email": "reminder"}]},
                {"id": "late", "day": 3650, "actions": [{"email": "reminder"}]},
            ],
            business_days=business_days,
            holidays="US" if business_days else None,
        )
    }
    ledger = ledger_of(
        inv("A1", issue="1900-01-01", due="2199-12-31"),
        inv("A2", "C2", issue="1900-01-01", due="1900-01-01"),
    )
    assert steps_of(run(ledger, flows, as_of="2026-03-02")) == [
        ("C2", "std", "late", "email", ["A2"])
    ]


@pytest.mark.parametrize(
    "field, value, where",
    [
        ("day", 3651, "steps.0.day"),
        ("day", -3651, "steps.0.day"),
        ("day", 10**7, "steps.0.day"),
        ("due_in", 3651, "steps.0.actions.0.task.due_in"),
    ],
)
def test_an_offset_of_more_than_ten_years_is_a_workflow_error(tmp_path, cli, field, value, where):
    from tests.conftest import BASE_CONFIG, make_folder

    step = {"day": f"day: {value}", "due_in": "day: 1"}[field]
    due_in = f", due_in: {value}" if field == "due_in" else ""
    config = make_folder(
        tmp_path,
        invoices="number,customer_id,issue_date,amount\nA1,C1,2026-01-01,5\n",
        config=BASE_CONFIG + "default_workflow: std\n",
        workflows={
            "std": f"""\
        steps:
          - {step}
            actions:
              - task: {{title: Call{due_in}}}
        """
        },
    )
    message = {
        "day": f"{value} days is more than 3650 (ten years) from the anchor; a step's "
        "day: is between -3650 and 3650",
        "due_in": f"{value} days is more than 3650 (ten years); a task is due in 0 to 3650 days",
    }[field]
    line = 2 if field == "day" else 4
    for command in (["validate"], ["run", "--dry-run", "--as-of", "2026-03-02"], ["status"]):
        result = cli(*command, "--config", config, expect=1)
        assert result.stderr.splitlines()[0] == f"workflows/std.yaml:{line}: {where}: {message}"


# --- steps whose key comes from day: (no id:) --------------------------------------------------
UNKEYED = """\
steps:
  - id: first
    day: 1
    actions: [{email: reminder}]
  - day: 7
    actions: [{email: reminder}]
  - day: 20
    actions: [{email: reminder}]
"""
NO_ID = "this step has no id: and its key comes from day:"


def _unkeyed_folder(tmp_path):
    from tests.conftest import BASE_CONFIG, make_folder

    return make_folder(
        tmp_path,
        workflows={"x": UNKEYED},
        config=BASE_CONFIG + "default_workflow: x\n",
        invoices="number,customer_id,email,issue_date,due_date,amount\n"
        "A1,C1,ap@c1.example,2026-01-01,2026-01-31,100\n",
    )


def test_steps_without_id_warn_once_the_workflow_has_run(tmp_path, cli, run_json):
    config = _unkeyed_folder(tmp_path)
    # a fresh folder: no state database, nothing to warn about, exit codes as ever
    assert cli("validate", "--config", config).stderr == ""
    assert run_json(config, "2026-02-08")[1]["actions"][0]["step"] == "day+7"
    assert cli("run", "--as-of", "2026-02-08", "--config", config).stderr == ""  # sends day+7

    result = cli("validate", "--config", config)  # exit 0: a warning is no error
    assert result.stderr.splitlines() == [
        f"warning: workflows/x.yaml:5: steps.1: {NO_ID} 7; workflow x has run before, so "
        "changing day: would send it again — give it an id: (id: day+7 keeps its history)",
        f"warning: workflows/x.yaml:7: steps.2: {NO_ID} 20; workflow x has run before, so "
        "changing day: later would send it again — give it an id: (such as id: day+20)",
    ]

    # day: 7 becomes day: 8: the key changes; the warning names the key that has the history
    workflow = tmp_path / "workflows" / "x.yaml"
    workflow.write_text(UNKEYED.replace("day: 7", "day: 8"))
    result = cli("validate", "--config", config)
    gone = (
        "which has no history; workflow x has history for day+7, which no step has now: if "
        "this step was day: 7, give it id: day+7 so it is not sent again"
    )
    assert result.stderr.splitlines() == [
        f"warning: workflows/x.yaml:5: steps.1: {NO_ID} 8, {gone}",
        f"warning: workflows/x.yaml:7: steps.2: {NO_ID} 20, {gone}",
    ]
    code, doc = run_json(config, "2026-02-09")
    assert code == 0  # a warning does not change the exit code
    assert [a["step"] for a in doc["actions"]] == ["day+8"]  # what the warning is about
    assert (
        cli("run", "--dry-run", "--as-of", "2026-02-09", "--config", config).stderr.splitlines()
        == result.stderr.splitlines()
    )

    # id: day+7 keeps the history: nothing is sent again, and that step no longer warns
    workflow.write_text(UNKEYED.replace("  - day: 7", "  - id: day+7\n    day: 8"))
    assert run_json(config, "2026-02-09")[1]["actions"] == []
    assert cli("validate", "--config", config).stderr.splitlines() == [
        f"warning: workflows/x.yaml:8: steps.2: {NO_ID} 20; workflow x has run before, so "
        "changing day: later would send it again — give it an id: (such as id: day+20)"
    ]


def test_step_key_warnings_only_for_the_workflow_with_history(tmp_path):
    from arflow.workflow import load_workflows, step_key_warnings

    for name in ("x", "y"):
        (tmp_path / f"{name}.yaml").write_text(UNKEYED)
    workflows, problems = load_workflows(tmp_path)
    assert problems == []
    assert step_key_warnings(workflows["y"], set()) == []
    found = step_key_warnings(workflows["x"], {"first", "day+14", "day+30", "on_paid"})
    assert [(p.line, p.where) for p in found] == [(5, "steps.1"), (7, "steps.2")]
    assert found[0].message == (
        f"{NO_ID} 7, which has no history; workflow x has history for day+14, day+30, which no "
        "step has now: if this step had one of those days, give it that id: so it is not sent "
        "again"
    )


def test_an_unreadable_state_database_is_a_warning_for_validate(tmp_path, cli):
    config = _unkeyed_folder(tmp_path)
    (tmp_path / "arflow.db").write_bytes(b"not a database at all" * 100)
    result = cli("validate", "--config", config)
    assert result.stderr.startswith("warning: arflow.db: ")
    assert "is not an arflow state database" in result.stderr
    assert result.stderr.rstrip().endswith("; step ids were not checked")


# --- other values too large to work with -------------------------------------------------------
@pytest.mark.parametrize("task_id", ["99999999999999999999999", "-5", "0"])
def test_a_task_number_sqlite_cannot_hold_is_no_task(tmp_path, cli, task_id):
    config = _unkeyed_folder(tmp_path)
    cli("run", "--as-of", "2026-02-08", "--config", config)
    assert cli("tasks", "done", "--config", config, "--", task_id, expect=2).stderr == (
        f"error: no task {task_id}; `arflow tasks` lists the open ones (2030-01-15T12:00:00Z)\n"
    )


@pytest.mark.parametrize(
    "setting, message",
    [
        (
            "port: 70000",
            "channels.email.port: Input should be less than or equal to 65535 (got 70000)",
        ),
        ("port: 0", "channels.email.port: Input should be greater than or equal to 1 (got 0)"),
        (
            "timeout: 1.0e+30",
            "channels.email.timeout: Input should be less than or equal to 3600 (got 1e+30)",
        ),
        (
            "timeout: .nan",
            "channels.email.timeout: Input should be less than or equal to 3600 (got nan)",
        ),
        ("timeout: -1", "channels.email.timeout: Input should be greater than 0 (got -1)"),
    ],
)
def test_a_channel_setting_no_socket_takes_is_a_config_error(tmp_path, cli, setting, message):
    from tests.conftest import BASE_CONFIG, make_folder

    config = make_folder(
        tmp_path,
        invoices="number,customer_id,issue_date,amount\n",
        workflows={},
        config=BASE_CONFIG + "channels:\n  email: {transport: smtp, host: "
        f"127.0.0.1, {setting}}}\n",
    )
    assert cli("validate", "--config", config, expect=1).stderr.splitlines()[0] == (
        f"arflow.yaml:8: {message}"
    )
