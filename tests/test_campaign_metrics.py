"""A campaign's metrics and conditions (SPEC 4.10) with plain values: per currency group, paused
and promised invoices counted, consolidated over parent accounts of any depth."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arflow.ledger import Customer
from arflow.planner.campaign_metrics import combined, descendants, groups_that_hold, holds
from arflow.rules import Totals, aging_bucket
from arflow.rules import account_aging as aging
from arflow.rules import account_totals as totals
from arflow.workflow import Condition
from tests.conftest import inv

D = date(2026, 3, 2)
TOLERANCE = Decimal("0.01")


def test_totals_per_currency_over_open_invoices_only():
    invoices = [
        inv("A", amount="100.00", due="2026-03-01"),  # overdue
        inv("B", amount="50.50", due="2026-03-02"),  # due today: not overdue
        inv("C", amount="200.00", due="2026-02-01", currency="EUR"),
        inv("D", amount="70.00", due="2026-02-01", paid="2026-03-02"),  # paid by D
        inv("E", amount="30.00", due="2026-02-01", status="void"),
        inv("F", amount="10.00", due="2026-02-01", balance="0.01"),  # at the tolerance
        inv("G", amount="10.00", issue="2026-03-03", due="2026-04-02"),  # not issued yet
        inv("H", amount="40.00", due="2026-02-15", balance="15.25"),  # part paid
    ]
    assert totals(invoices, D, TOLERANCE) == {
        "USD": Totals(Decimal("165.75"), Decimal("115.25"), 15),  # H: 15 days past due
        "EUR": Totals(Decimal("200.00"), Decimal("200.00"), 29),
    }


@pytest.mark.parametrize(
    "outstanding, overdue, pct",
    [("200", "50", Decimal(25)), ("0", "0", Decimal(0)), ("3", "1", Decimal(100) / 3)],
)
def test_overdue_pct_is_zero_when_nothing_is_outstanding(outstanding, overdue, pct):
    assert Totals(Decimal(outstanding), Decimal(overdue)).overdue_pct == pct


def test_descendants_at_any_depth_and_a_loop_does_not_hang():
    customers = {
        cid: Customer(cid, parent_id=parent)
        for cid, parent in [
            ("P", None),
            ("C1", "P"),
            ("C2", "P"),
            ("G1", "C1"),
            ("GG", "G1"),
            ("X", "Y"),
            ("Y", "X"),
            ("S", "S"),
        ]
    }
    found = descendants(customers)
    assert found["P"] == ["C1", "C2", "G1", "GG"]
    assert found["C1"] == ["G1", "GG"]
    assert found["X"] == ["Y"] and found["Y"] == ["X"]
    assert "S" not in found and "C2" not in found


def _conditions(*texts: str) -> list[Condition]:
    return [Condition.model_validate(t) for t in texts]


def test_all_conditions_must_hold_for_the_same_currency_group():
    own = {
        "USD": Totals(Decimal("1000"), Decimal("600")),  # overdue 600, 60 %
        "EUR": Totals(Decimal("400"), Decimal("400")),
    }  # overdue 400, 100 %
    assert groups_that_hold(_conditions("overdue >= 500", "overdue_pct >= 50"), own, own) == ["USD"]
    assert groups_that_hold(_conditions("overdue >= 500", "overdue_pct >= 70"), own, own) == []
    assert groups_that_hold(_conditions("overdue < 500"), own, own) == ["EUR"]
    assert groups_that_hold([], own, own) == ["EUR", "USD"]
    # the boundaries: >= includes the value, < excludes it
    assert groups_that_hold(_conditions("overdue >= 600"), own, own) == ["USD"]
    assert groups_that_hold(_conditions("overdue < 400"), own, own) == []


def test_consolidated_metrics_add_the_descendants():
    parent = {"USD": Totals(Decimal("100"), Decimal("0"))}
    children = [
        {"USD": Totals(Decimal("300"), Decimal("300"))},
        {"USD": Totals(Decimal("100"), Decimal("50")), "CAD": Totals(Decimal("5"), Decimal("0"))},
    ]
    family = combined([parent, *children])
    assert family == {
        "USD": Totals(Decimal("500"), Decimal("350")),
        "CAD": Totals(Decimal("5"), Decimal("0")),
    }
    assert groups_that_hold(
        _conditions("consolidated_overdue >= 300", "overdue < 1"), parent, family
    ) == ["USD"]
    assert groups_that_hold(_conditions("consolidated_overdue_pct >= 70"), parent, family) == [
        "USD"
    ]
    assert groups_that_hold(_conditions("consolidated_overdue_pct >= 71"), parent, family) == []
    assert holds(
        _conditions("consolidated_outstanding >= 5")[0],
        Totals(Decimal("0"), Decimal("0")),
        family["CAD"],
    )


@pytest.mark.parametrize(
    "days, bucket",
    [
        (-5, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
    ],
)
def test_aging_buckets_and_their_edges(days, bucket):
    assert aging_bucket(days) == bucket


def test_aging_per_currency_adds_up_to_outstanding():
    invoices = [
        inv("A", amount="10.00", due="2026-03-10"),
        inv("B", amount="20.00", due="2026-03-01"),
        inv("C", amount="40.00", due="2026-01-30", balance="35.00"),  # 31 days
        inv("E", amount="80.00", due="2025-11-01", currency="EUR"),
        inv("P", amount="99.00", due="2026-01-01", paid="2026-02-01"),
    ]
    found = aging(invoices, D, TOLERANCE)
    assert found == {
        "USD": {
            "current": Decimal("10.00"),
            "1-30": Decimal("20.00"),
            "31-60": Decimal("35.00"),
            "61-90": Decimal(0),
            "90+": Decimal(0),
        },
        "EUR": {
            "current": Decimal(0),
            "1-30": Decimal(0),
            "31-60": Decimal(0),
            "61-90": Decimal(0),
            "90+": Decimal("80.00"),
        },
    }
    for currency, t in totals(invoices, D, TOLERANCE).items():
        assert sum(found[currency].values()) == t.outstanding
