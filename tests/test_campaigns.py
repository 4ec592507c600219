"""Who gets a campaign's statement on a day (SPEC 4.10), with plain values: the occurrence due,
`match:`, pauses, conditions per currency group, what is listed, consolidation parents first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arflow.ledger import Customer
from arflow.planner.campaigns import statements
from arflow.workflow import Workflow
from tests.conftest import inv

MONDAY = date(2026, 3, 2)  # the first Monday of March 2026
TOLERANCE = Decimal("0.01")


def campaign(**fields) -> Workflow:
    return Workflow.model_validate(
        {
            "schedule": {"every": "month", "week": 1, "weekday": "mon"},
            "actions": [{"email": "statement"}],
            **fields,
        }
    )


def run(wf: Workflow, invoices, customers=(), as_of: date = MONDAY, **state):
    by_customer: dict = {}
    for i in invoices:
        if i.is_open(as_of, TOLERANCE):
            by_customer.setdefault(i.customer_id, []).append(i)
    known = {c.customer_id: c for c in customers}
    for cid in by_customer:
        known.setdefault(cid, Customer(cid))
    found, skipped = statements("statement", wf, by_customer, known, as_of, TOLERANCE, **state)
    return (
        [
            (s.customer_id, s.occurrence.isoformat(), s.groups, [i.number for i in s.listed])
            for s in found
        ],
        [(s.customer_id, s.reason) for s in skipped],
    )


def test_every_customer_with_an_open_invoice_on_the_occurrence_and_up_to_three_days_late():
    invoices = [
        inv("A1", "C1", due="2026-02-20"),
        inv("A2", "C1", due="2026-02-10"),
        inv("B1", "C2", due="2026-04-01"),
        inv("X1", "C3", paid="2026-02-01"),
    ]
    expected = (
        [
            ("C1", "2026-03-02", ["USD"], ["A2", "A1"]),  # by due date, then number
            ("C2", "2026-03-02", ["USD"], ["B1"]),
        ],
        [],
    )
    assert run(campaign(), invoices) == expected
    assert run(campaign(), invoices, as_of=date(2026, 3, 5)) == expected
    assert run(campaign(), invoices, as_of=date(2026, 3, 6)) == ([], [])  # expired
    assert run(campaign(expires_after=4), invoices, as_of=date(2026, 3, 6))[0] == expected[0]
    assert run(campaign(), invoices, as_of=date(2026, 3, 1)) == ([], [])  # Feb's is long gone
    # an earlier run sent this occurrence already
    assert run(campaign(), invoices, sent_before={"C1"}.__contains__) == (expected[0][1:], [])


def test_paused_customers_are_skipped_and_paused_invoices_are_not_listed():
    invoices = [
        inv("A1", "C1", due="2026-02-10"),
        inv("A2", "C1", due="2026-02-11"),
        inv("B1", "C2"),
        inv("D1", "C4", due="2026-02-10"),
    ]
    found = run(
        campaign(),
        invoices,
        [Customer("C2", paused=True)],
        paused_customers={"C4"},
        paused_invoices={"A1"},
    )
    assert found == ([("C1", "2026-03-02", ["USD"], ["A2"])], [("C2", "paused"), ("C4", "paused")])
    # a customer whose every open invoice is paused has nothing to list
    assert run(campaign(), invoices[:2], paused_invoices={"A1", "A2"}) == (
        [],
        [("C1", "nothing-to-list")],
    )


def test_conditions_hold_per_currency_group_and_paused_invoices_count_in_the_totals():
    invoices = [
        inv("U1", "C1", amount="600.00", due="2026-02-01"),
        inv("U2", "C1", amount="400.00", due="2026-04-01"),
        inv("E1", "C1", amount="900.00", due="2026-02-01", currency="EUR"),
        inv("S1", "C2", amount="100.00", due="2026-02-01"),
    ]
    wf = campaign(conditions=["overdue >= 500", "overdue_pct >= 60"])
    # USD: 600 of 1000 overdue (60 %); EUR: 900 of 900; C2: 100 overdue only
    assert run(wf, invoices) == (
        [("C1", "2026-03-02", ["EUR", "USD"], ["E1", "U1", "U2"])],
        [("C2", "conditions")],
    )
    wf = campaign(conditions=["overdue >= 500", "overdue_pct < 100"])
    assert run(wf, invoices)[0] == [("C1", "2026-03-02", ["USD"], ["U1", "U2"])]
    # a paused invoice counts in the totals though it is not listed
    assert run(wf, invoices, paused_invoices={"U1"})[0] == [("C1", "2026-03-02", ["USD"], ["U2"])]


def test_match_takes_customer_fields_from_the_customer_and_invoice_fields_from_any_invoice():
    invoices = [
        inv("A1", "C1", product="hosting"),
        inv("A2", "C1", product="support"),
        inv("B1", "C2", product="support"),
        inv("D1", "C3", product="hosting"),
    ]
    customers = [
        Customer("C1", segment="wholesale"),
        Customer("C2", segment="wholesale"),
        Customer("C3", segment="retail"),
    ]
    wf = campaign(match={"segment": ["Wholesale"], "product": ["hosting"]})
    assert run(wf, invoices, customers) == ([("C1", "2026-03-02", ["USD"], ["A1", "A2"])], [])
    wf = campaign(match={"customer": ["C2", "C3"]})
    assert [s[0] for s in run(wf, invoices, customers)[0]] == ["C2", "C3"]


def test_consolidation_lists_descendants_parents_first_and_skips_their_own():
    mail = ("ap@x.example",)
    customers = [
        Customer("P", email=mail),
        Customer("K1", email=mail, parent_id="P"),
        Customer("K2", email=mail, parent_id="P"),
        Customer("G", email=mail, parent_id="K1"),
        Customer("Q", paused=True),
        Customer("Q1", email=mail, parent_id="Q"),
    ]
    invoices = [
        inv("K1-1", "K1", due="2026-02-01"),
        inv("G-1", "G", due="2026-01-15"),
        inv("K2-1", "K2", due="2026-02-05"),
        inv("Q1-1", "Q1", due="2026-02-01"),
    ]
    wf = campaign(consolidate=True)
    # P owes nothing itself, its descendants do: P's statement lists them all, by due date, and
    # they get none of their own; Q is paused, so Q1 (whose ancestor got nothing) gets its own
    consolidated = [("K1", "consolidated"), ("K2", "consolidated"), ("G", "consolidated")]
    assert run(wf, invoices, customers) == (
        [
            ("P", "2026-03-02", ["USD"], ["G-1", "K1-1", "K2-1"]),
            ("Q1", "2026-03-02", ["USD"], ["Q1-1"]),
        ],
        [("Q", "paused"), *consolidated],
    )
    # P's statement went out in an earlier run: its descendants still get none
    assert run(wf, invoices, customers, sent_before={"P"}.__contains__) == (
        [("Q1", "2026-03-02", ["USD"], ["Q1-1"])],
        [("Q", "paused"), *consolidated],
    )
    # without consolidation each customer gets its own, parents first
    assert [s[0] for s in run(campaign(), invoices, customers)[0]] == ["K1", "K2", "Q1", "G"]
    # a parent its email cannot reach covers nobody: K1 (reachable) covers G
    customers[0] = Customer("P")
    assert run(wf, invoices, customers)[0] == [
        ("P", "2026-03-02", ["USD"], ["G-1", "K1-1", "K2-1"]),
        ("K1", "2026-03-02", ["USD"], ["G-1", "K1-1"]),
        ("K2", "2026-03-02", ["USD"], ["K2-1"]),
        ("Q1", "2026-03-02", ["USD"], ["Q1-1"]),
    ]


def test_consolidated_conditions_count_the_family():
    customers = [Customer("P", email=("p@x.example",)), Customer("K", parent_id="P")]
    invoices = [
        inv("P-1", "P", amount="100.00", due="2026-02-01"),
        inv("K-1", "K", amount="900.00", due="2026-02-01"),
    ]
    wf = campaign(consolidate=True, conditions=["consolidated_overdue >= 1000", "overdue < 500"])
    assert run(wf, invoices, customers) == (
        [("P", "2026-03-02", ["USD"], ["K-1", "P-1"])],
        [("K", "consolidated")],
    )
    wf = campaign(conditions=["consolidated_overdue >= 1000"])  # the metric, without listing
    assert run(wf, invoices, customers) == (
        [("P", "2026-03-02", ["USD"], ["P-1"])],
        [("K", "conditions")],
    )


def test_credit_notes_reduce_the_totals_and_are_not_listed():
    from arflow.planner.campaigns import statements as make

    invoices = [inv("A1", "A", amount="1000.00", due="2026-02-01")]
    credit = [inv("CN1", "A", amount="-800.00", due="2026-02-10")]
    customers = {"A": Customer("A", email=("a@x.example",))}
    found, skipped = make(
        "statement",
        campaign(conditions=["outstanding >= 500"]),
        {"A": invoices},
        customers,
        MONDAY,
        TOLERANCE,
        credits={"A": credit},
    )
    assert (found, [(s.customer_id, s.reason) for s in skipped]) == ([], [("A", "conditions")])
    (statement,), _ = make(
        "statement",
        campaign(conditions=["overdue >= 100"]),
        {"A": invoices},
        customers,
        MONDAY,
        TOLERANCE,
        credits={"A": credit},
    )
    assert [i.number for i in statement.listed] == ["A1"]
    # (outstanding, overdue, days_past_due: A1's 29)
    assert statement.own["USD"] == (Decimal("200.00"), Decimal("200.00"), 29)
    assert statement.aging["USD"]["1-30"] == Decimal("200.00")  # 1000 (29 days) - 800 (20)


def _plan(workflows, invoices, customers, as_of, **state):
    from arflow.engine import plan
    from arflow.planner.plan_types import PastState
    from tests.conftest import ledger_of

    return plan(ledger_of(*invoices, customers=customers), workflows, PastState(**state), as_of)


def test_a_parent_whose_email_went_out_covers_its_branches_even_if_its_notice_failed():
    from arflow.planner.plan_types import ActionKey

    wf = campaign(
        consolidate=True,
        actions=[
            {"email": "statement"},
            {"notify": {"to": ["x@ourco.example"], "template": "internal"}},
        ],
    )
    customers = [
        Customer("P", email=("p@x.example",)),
        Customer("M", parent_id="P", email=("m@x.example",)),
    ]
    invoices = [inv("M1", "M", due="2026-02-01")]
    email_sent = {ActionKey("customer:P", "statement", "2026-03-02", 0)}
    # the next day: P's notice is tried again, M still gets none of its own
    result = _plan({"statement": wf}, invoices, customers, date(2026, 3, 3), settled=email_sent)
    assert [(a.customer_id, a.kind) for a in result.actions] == [("P", "notify")]
    assert [(s.customer_id, s.reason) for s in result.skipped] == [("M", "consolidated")]
    # and if P is paused meanwhile, M is still covered
    result = _plan(
        {"statement": wf},
        invoices,
        customers,
        date(2026, 3, 3),
        settled=email_sent,
        paused_customers={"P"},
    )
    assert result.actions == []
    assert [(s.customer_id, s.reason) for s in result.skipped] == [
        ("M", "consolidated"),
        ("P", "paused"),
    ]


def test_a_run_dated_back_sends_no_older_statement_and_promised_invoices_wait():
    wf = Workflow.model_validate(
        {"schedule": {"every": "week", "weekday": "mon"}, "actions": [{"email": "statement"}]}
    )
    customers = [Customer("A", email=("a@x.example",))]
    invoices = [inv("A1", "A", due="2026-02-01"), inv("A2", "A", due="2026-02-02")]
    # the statement of Monday 9 March went out; a run dated Tuesday 3 March sends no older one
    ran = {("customer:A", "weekly"): {"2026-03-09"}}
    assert _plan({"weekly": wf}, invoices, customers, date(2026, 3, 3), ran=ran).actions == []
    # a promise that holds keeps A1 out of the list (SPEC 4.6); broken, it is listed again
    promised = {"promises": {"A1": date(2026, 3, 20)}}
    (action,) = _plan({"weekly": wf}, invoices, customers, date(2026, 3, 9), **promised).actions
    assert action.invoices == ["A2"]
    (action,) = _plan({"weekly": wf}, invoices, customers, date(2026, 3, 23), **promised).actions
    assert action.invoices == ["A1", "A2"]
