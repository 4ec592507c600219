"""Who gets a campaign's statement on a day (SPEC 4.10), with plain values: the occurrence due,
`match:`, pauses, conditions per currency group, what is listed, consolidation parents first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arflow.campaigns import statements
from arflow.ledger import Customer
from arflow.workflow import Workflow
from tests.conftest import inv

MONDAY = date(2026, 3, 2)  # the first Monday of March 2026
TOLERANCE = Decimal("0.01")


def campaign(**fields) -> Workflow:
    return Workflow.model_validate({"schedule": {"every": "month", "week": 1, "weekday": "mon"},
                                    "actions": [{"email": "statement"}], **fields})


def run(wf: Workflow, invoices, customers=(), as_of: date = MONDAY, **state):
    by_customer: dict = {}
    for i in invoices:
        if i.is_open(as_of, TOLERANCE):
            by_customer.setdefault(i.customer_id, []).append(i)
    known = {c.customer_id: c for c in customers}
    for cid in by_customer:
        known.setdefault(cid, Customer(cid))
    found, skipped = statements("statement", wf, by_customer, known, as_of, TOLERANCE, **state)
    return ([(s.customer_id, s.occurrence.isoformat(), s.groups, [i.number for i in s.listed])
             for s in found],
            [(s.customer_id, s.reason) for s in skipped])


def test_every_customer_with_an_open_invoice_on_the_occurrence_and_up_to_three_days_late():
    invoices = [inv("A1", "C1", due="2026-02-20"), inv("A2", "C1", due="2026-02-10"),
                inv("B1", "C2", due="2026-04-01"), inv("X1", "C3", paid="2026-02-01")]
    expected = ([("C1", "2026-03-02", ["USD"], ["A2", "A1"]),  # by due date, then number
                 ("C2", "2026-03-02", ["USD"], ["B1"])], [])
    assert run(campaign(), invoices) == expected
    assert run(campaign(), invoices, as_of=date(2026, 3, 5)) == expected
    assert run(campaign(), invoices, as_of=date(2026, 3, 6)) == ([], [])  # expired
    assert run(campaign(expires_after=4), invoices, as_of=date(2026, 3, 6))[0] == expected[0]
    assert run(campaign(), invoices, as_of=date(2026, 3, 1)) == ([], [])  # Feb's is long gone
    # an earlier run sent this occurrence already
    assert run(campaign(), invoices, sent_before={"C1"}.__contains__) == (expected[0][1:], [])


def test_paused_customers_are_skipped_and_paused_invoices_are_not_listed():
    invoices = [inv("A1", "C1", due="2026-02-10"), inv("A2", "C1", due="2026-02-11"),
                inv("B1", "C2"), inv("D1", "C4", due="2026-02-10")]
    found = run(campaign(), invoices, [Customer("C2", paused=True)],
                paused_customers={"C4"}, paused_invoices={"A1"})
    assert found == ([("C1", "2026-03-02", ["USD"], ["A2"])], [("C2", "paused"), ("C4", "paused")])
    # a customer whose every open invoice is paused has nothing to list
    assert run(campaign(), invoices[:2], paused_invoices={"A1", "A2"}) == (
        [], [("C1", "nothing-to-list")])


def test_conditions_hold_per_currency_group_and_paused_invoices_count_in_the_totals():
    invoices = [inv("U1", "C1", amount="600.00", due="2026-02-01"),
                inv("U2", "C1", amount="400.00", due="2026-04-01"),
                inv("E1", "C1", amount="900.00", due="2026-02-01", currency="EUR"),
                inv("S1", "C2", amount="100.00", due="2026-02-01")]
    wf = campaign(conditions=["overdue >= 500", "overdue_pct >= 60"])
    # USD: 600 of 1000 overdue (60 %); EUR: 900 of 900; C2: 100 overdue only
    assert run(wf, invoices) == ([("C1", "2026-03-02", ["EUR", "USD"], ["E1", "U1", "U2"])],
                                 [("C2", "conditions")])
    wf = campaign(conditions=["overdue >= 500", "overdue_pct < 100"])
    assert run(wf, invoices)[0] == [("C1", "2026-03-02", ["USD"], ["U1", "U2"])]
    # a paused invoice counts in the totals though it is not listed
    assert run(wf, invoices, paused_invoices={"U1"})[0] == [("C1", "2026-03-02", ["USD"], ["U2"])]


def test_match_takes_customer_fields_from_the_customer_and_invoice_fields_from_any_invoice():
    invoices = [inv("A1", "C1", product="hosting"), inv("A2", "C1", product="support"),
                inv("B1", "C2", product="support"), inv("D1", "C3", product="hosting")]
    customers = [Customer("C1", segment="wholesale"), Customer("C2", segment="wholesale"),
                 Customer("C3", segment="retail")]
    wf = campaign(match={"segment": ["Wholesale"], "product": ["hosting"]})
    assert run(wf, invoices, customers) == ([("C1", "2026-03-02", ["USD"], ["A1", "A2"])], [])
    wf = campaign(match={"customer": ["C2", "C3"]})
    assert [s[0] for s in run(wf, invoices, customers)[0]] == ["C2", "C3"]


def test_consolidation_lists_descendants_parents_first_and_skips_their_own():
    customers = [Customer("P"), Customer("K1", parent_id="P"), Customer("K2", parent_id="P"),
                 Customer("G", parent_id="K1"), Customer("Q", paused=True),
                 Customer("Q1", parent_id="Q")]
    invoices = [inv("K1-1", "K1", due="2026-02-01"), inv("G-1", "G", due="2026-01-15"),
                inv("K2-1", "K2", due="2026-02-05"), inv("Q1-1", "Q1", due="2026-02-01")]
    wf = campaign(consolidate=True)
    # P owes nothing itself, its descendants do: P's statement lists them all, by due date, and
    # they get none of their own; Q is paused, so Q1 (whose ancestor got nothing) gets its own
    consolidated = [("K1", "consolidated"), ("K2", "consolidated"), ("G", "consolidated")]
    assert run(wf, invoices, customers) == (
        [("P", "2026-03-02", ["USD"], ["G-1", "K1-1", "K2-1"]),
         ("Q1", "2026-03-02", ["USD"], ["Q1-1"])], [("Q", "paused"), *consolidated])
    # P's statement went out in an earlier run: its descendants still get none
    assert run(wf, invoices, customers, sent_before={"P"}.__contains__) == (
        [("Q1", "2026-03-02", ["USD"], ["Q1-1"])], [("Q", "paused"), *consolidated])
    # without consolidation each customer gets its own, parents first
    assert [s[0] for s in run(campaign(), invoices, customers)[0]] == ["K1", "K2", "Q1", "G"]


def test_consolidated_conditions_count_the_family():
    customers = [Customer("P"), Customer("K", parent_id="P")]
    invoices = [inv("P-1", "P", amount="100.00", due="2026-02-01"),
                inv("K-1", "K", amount="900.00", due="2026-02-01")]
    wf = campaign(consolidate=True, conditions=["consolidated_overdue >= 1000", "overdue < 500"])
    assert run(wf, invoices, customers) == (
        [("P", "2026-03-02", ["USD"], ["K-1", "P-1"])], [("K", "consolidated")])
    wf = campaign(conditions=["consolidated_overdue >= 1000"])  # the metric, without listing
    assert run(wf, invoices, customers) == (
        [("P", "2026-03-02", ["USD"], ["P-1"])], [("K", "conditions")])
