"""The rules arflow asks in more than one place, each held to one answer.

- Every polars filter of `arflow.ledger` that stands for an object rule (`may_be_open` for
  `Invoice.is_open`, `may_owe` for `open_balance`, the filters of `owing`, `credit_notes`,
  `of_customers(owing_on=)` and `window`) answers as the rule does, over random ledgers drawn
  from a fixed seed: a ledger held in a frame and the same ledger held as objects agree.
- An account's totals are one answer everywhere: the review's case ($100 forty days past due
  and a −$30 credit note of the same due date) reads 70.00 overdue and 70.00 outstanding in a
  template's `totals`, in a campaign condition, in `status --format json` and in
  `aging --format json`.
- The holds of SPEC 4.6: a promise holds through its day, a paused invoice or customer.
"""

from __future__ import annotations

import email
import email.policy
import json
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from arflow.ledger import Customer, Invoice, Ledger, may_be_open, may_owe
from arflow.rules import (
    account_aging,
    account_totals,
    customer_paused,
    invoices_on_hold,
    promise_holds,
    promised_part_paid,
)
from arflow.scaffold import write_scaffold

START = date(2026, 1, 1)
AMOUNTS = ["100.00", "0.01", "0.02", "-30.00", "0", "12.345", "0.0100000000000000000000001", "5"]
STATUSES = ["open", "open", "open", "paid", "draft", "void"]


def _random_invoice(rng: random.Random, n: int) -> Invoice:
    issued = START + timedelta(days=rng.randrange(60))
    amount = rng.choice(AMOUNTS)
    balance = rng.choice([None, None, amount, "0.01", "0", "-5.00", "40.00"])
    paid = rng.choice([None, None, issued + timedelta(days=rng.randrange(-5, 60))])
    return Invoice(
        f"N{n}",
        f"C{rng.randrange(8)}",
        issued,
        issued + timedelta(days=rng.randrange(-10, 45)),
        Decimal(amount),
        None if balance is None else Decimal(balance),
        paid,
        rng.choice(["USD", "EUR"]),
        rng.choice(STATUSES),
        n + 2,
    )


def _ledgers(seed: int) -> tuple[Ledger, Ledger, list[Invoice]]:
    rng = random.Random(seed)
    invoices = [_random_invoice(rng, n) for n in range(rng.randrange(1, 80))]
    objects = Ledger(invoices, {}, [])
    frame = Ledger(customers={}, errors=[], frame=objects.frame)
    assert frame._objects is None  # answered from the frame, through the filters
    return objects, frame, invoices


def _numbers(found) -> list[str]:
    return [inv.number for inv in found]


DAYS = [START + timedelta(days=d) for d in (0, 10, 25, 40, 61, 90, 120)]
TOLERANCES = [Decimal("0.01"), Decimal("0"), Decimal("5"), Decimal("0.009999999999999999999999")]


@pytest.mark.parametrize("seed", range(40))
def test_the_frame_filters_answer_as_the_object_rules(seed):
    objects, frame, invoices = _ledgers(seed)
    for as_of in DAYS:
        for tolerance in TOLERANCES:  # `current`: `may_be_open` then `Invoice.is_open`
            expected = [i.number for i in invoices if i.is_open(as_of, tolerance)]
            assert _numbers(frame.current(as_of, tolerance)) == expected
            assert _numbers(objects.current(as_of, tolerance)) == expected
        owed = [i.number for i in invoices if i.owed(as_of)]
        assert _numbers(frame.owing(as_of)) == _numbers(objects.owing(as_of)) == owed
        credits = [i.number for i in invoices if i.owed(as_of) < 0]
        assert _numbers(frame.credit_notes(as_of)) == _numbers(objects.credit_notes(as_of))
        assert _numbers(frame.credit_notes(as_of)) == credits
        for cid in {i.customer_id for i in invoices}:
            # `of_customers(owing_on=)` keeps at least every invoice with an open balance
            kept = set(_numbers(frame.of_customers([cid], owing_on=as_of)[cid]))
            assert {
                i.number for i in invoices if i.customer_id == cid and i.open_balance(as_of)
            } <= kept


@pytest.mark.parametrize("seed", range(40))
def test_may_be_open_and_may_owe_keep_every_row_the_rule_keeps(seed):
    """The filters may keep more (the rule decides on the objects), never less."""
    _, frame, invoices = _ledgers(seed)
    for as_of in DAYS:
        owing = set(frame.frame.filter(may_owe(as_of)).get_column("number").to_list())
        assert {i.number for i in invoices if i.open_balance(as_of)} <= owing
        for tolerance in TOLERANCES:
            kept = set(
                frame.frame.filter(may_be_open(as_of, tolerance)).get_column("number").to_list()
            )
            assert {i.number for i in invoices if i.is_open(as_of, tolerance)} <= kept


@pytest.mark.parametrize("seed", range(40))
def test_a_window_of_a_frame_is_the_window_of_the_objects(seed):
    objects, frame, invoices = _ledgers(seed)
    rng = random.Random(seed)
    chased = {i.number for i in invoices if rng.random() < 0.1}
    for first in DAYS[:4]:
        last = first + timedelta(days=14)
        expected = _numbers(objects.window(first, last, chased).invoices)
        assert _numbers(frame.window(first, last, chased).invoices) == expected
        # every invoice open or owing on a day of the window is in it
        for day in (first, first + timedelta(days=7), last):
            assert {i.number for i in invoices if i.owed(day)} <= set(expected)


# --- an account's totals: one answer -----------------------------------------------------------
def _doc(number: str, amount: str, due: date) -> Invoice:
    return Invoice(
        number, "C1", date(2026, 1, 1), due, Decimal(amount), None, None, "USD", "open", 2
    )


AS_OF = date(2026, 3, 16)
DUE = AS_OF - timedelta(days=40)
CASE = [_doc("INV-1", "100.00", DUE), _doc("CN-1", "-30.00", DUE)]


def test_the_review_case_reads_70_overdue_and_70_outstanding():
    totals = account_totals(CASE, AS_OF, Decimal("0.01"))
    assert {c: (str(t.outstanding), str(t.overdue)) for c, t in totals.items()} == {
        "USD": ("70.00", "70.00")
    }
    assert account_aging(CASE, AS_OF, Decimal("0.01")) == {
        "USD": {
            "current": Decimal(0),
            "1-30": Decimal(0),
            "31-60": Decimal("70.00"),
            "61-90": Decimal(0),
            "90+": Decimal(0),
        }
    }


def test_a_credit_note_not_yet_due_reduces_outstanding_only():
    docs = [_doc("INV-1", "100.00", DUE), _doc("CN-1", "-30.00", AS_OF)]
    (totals,) = account_totals(docs, AS_OF, Decimal("0.01")).values()
    assert (totals.outstanding, totals.overdue) == (Decimal("70.00"), Decimal("100.00"))


@pytest.fixture
def shop_of_the_case(tmp_path):
    """The example folder with one customer holding the review's case, and a template and a
    campaign that show what they see."""
    folder = tmp_path / "ar"
    write_scaffold(folder, AS_OF)
    (folder / "customers.csv").write_text(
        "customer_id,name,email\nC1,Case Co,ap@case.example\n", encoding="utf-8"
    )
    (folder / "invoices.csv").write_text(
        "number,customer_id,issue_date,due_date,amount,currency\n"
        f"INV-1,C1,2026-01-01,{DUE},100.00,USD\n"
        f"CN-1,C1,2026-01-01,{DUE},-30.00,USD\n",
        encoding="utf-8",
    )
    return folder


def _campaign(folder, condition: str) -> None:
    (folder / "workflows" / "totals-check.yaml").write_text(
        "name: Totals check\n"
        "schedule: {every: week, weekday: mon}\n"
        f"conditions: ['{condition}']\n"
        "actions:\n  - email: totals-check\n",
        encoding="utf-8",
    )
    templates = folder / "templates"
    (templates / "totals-check.subject.j2").write_text("Totals", encoding="utf-8")
    (templates / "totals-check.txt.j2").write_text(
        "outstanding={{ totals.outstanding }} overdue={{ totals.overdue }}\n", encoding="utf-8"
    )


@pytest.mark.parametrize("condition, reaches", [("overdue >= 70", True), ("overdue >= 100", False)])
def test_templates_campaigns_status_and_aging_agree_on_the_case(
    shop_of_the_case, cli, clock, condition, reaches
):
    folder, config = shop_of_the_case, shop_of_the_case / "arflow.yaml"
    _campaign(folder, condition)
    clock("2026-03-16T17:00:00")
    doc = json.loads(
        cli(
            "run", "--dry-run", "--format", "json", "--as-of", str(AS_OF), "--config", config
        ).stdout
    )
    statements = [a for a in doc["actions"] if a["workflow"] == "totals-check"]
    assert [(a["customer_id"], a["to"]) for a in statements] == (
        [("C1", ["ap@case.example"])] if reaches else []
    )
    if reaches:  # the template's totals
        cli("run", "--as-of", str(AS_OF), "--config", config)
        (sent,) = [p for p in (folder / "outbox").glob("*.eml") if "-totals-check-" in p.name]
        message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
        assert message.get_body(("plain",)).get_content().strip() == (
            "outstanding=70.00 overdue=70.00"
        )
    status = json.loads(
        cli("status", "--format", "json", "--as-of", str(AS_OF), "--config", config).stdout
    )
    (row,) = status["customers"]
    assert (row["open"], row["overdue"]) == ({"USD": "70.00"}, {"USD": "70.00"})
    assert (row["open_invoices"], row["overdue_invoices"]) == (1, 1)
    aging = json.loads(
        cli("aging", "--format", "json", "--as-of", str(AS_OF), "--config", config).stdout
    )
    (customer,) = aging["customers"]
    assert (customer["total"], customer["31-60"]) == ("70.00", "70.00")


# --- holds (SPEC 4.6) ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "as_of, holds", [("2026-02-09", True), ("2026-02-10", True), ("2026-02-11", False)]
)
def test_a_promise_holds_through_its_day(as_of, holds):
    day = date.fromisoformat(as_of)
    assert promise_holds(date(2026, 2, 10), day) is holds
    promises = {"A": date(2026, 2, 10)}
    assert ("A" in invoices_on_hold(set(), promises, day)) is holds
    assert invoices_on_hold({"P"}, promises, day) == ({"A", "P"} if holds else {"P"})
    assert promise_holds(None, day) is False


def test_a_paused_invoice_or_customer_is_held():
    assert invoices_on_hold({"P"}, {}, date(2026, 2, 1)) == {"P"}
    assert customer_paused(Customer("C1", paused=True), set()) is True
    assert customer_paused(Customer("C1"), {"C1"}) is True
    assert customer_paused(Customer("C1"), {"C2"}) is False


@pytest.mark.parametrize(
    "balance, kept", [("150.00", True), ("149.99", True), ("150.01", False), ("200.00", False)]
)
def test_a_promised_part_is_paid_once_the_balance_came_down_by_it(balance, kept):
    # promised 50 when 200 was open
    assert promised_part_paid(Decimal(balance), Decimal("50"), Decimal("200")) is kept


def test_status_counts_open_and_overdue_invoices_and_reduces_both_totals_by_credits():
    """`status`'s balances: three open invoices (one not yet due, one paid down to below the
    tolerance) and a credit note past due."""
    from arflow.accounts import balances

    docs = [
        *CASE,
        _doc("INV-2", "50.00", AS_OF),  # due today: open, not overdue
        Invoice(
            "INV-3",
            "C1",
            date(2026, 1, 1),
            DUE,
            Decimal("9"),
            Decimal("0.01"),
            None,
            "USD",
            "open",
            2,
        ),
    ]
    (found,) = balances(Ledger(docs, {}, []), AS_OF, Decimal("0.01")).values()
    assert found.shown() == {
        "open": {"USD": "120.00"},
        "overdue": {"USD": "70.00"},
        "open_invoices": 2,
        "overdue_invoices": 1,
    }


# --- the action registry ------------------------------------------------------------------------
def test_every_kind_has_one_entry_its_model_and_its_composer():
    """Adding a kind means an entry in `actions.KINDS`, its model and its composer: the three
    name the same kinds."""
    from arflow.action_specs import ACTION_MODELS
    from arflow.actions import CUSTOMER_FACING, KINDS
    from arflow.compose import COMPOSERS

    assert set(KINDS) == set(ACTION_MODELS) == set(COMPOSERS)
    assert len(KINDS) == len(ACTION_MODELS) == len(COMPOSERS) == 9
    assert CUSTOMER_FACING == ("email", "sms")
    assert {k: v.missing for k, v in KINDS.items() if v.missing} == {
        "email": "no-email",
        "sms": "no-phone",
        "notify": "no-recipient",
        "webhook": "no-recipient",
    }
    assert {k: v.records for k, v in KINDS.items() if v.records} == {
        "status": "status",
        "task": "task",
        "note": "note",
        "assign": "specialist",
        "charge_fees": "fees",
    }


def test_aging_counts_what_the_totals_count():
    """A remainder within the tolerance is settled for `aging` as for the totals; a credit
    note counts."""
    from arflow.aging import aging_document, aging_report

    residue = Invoice(
        "INV-9", "C1", date(2026, 1, 1), DUE, Decimal("50"), Decimal("0.01"), None, "USD", "open", 2
    )
    report = aging_report([*CASE, residue], {}, AS_OF, Decimal("0.01"))
    (customer,) = aging_document(report)["customers"]
    assert (customer["total"], customer["31-60"]) == ("70.00", "70.00")
    assert [c["invoices"] for c in aging_document(report)["currencies"]] == [2]


@pytest.mark.parametrize(
    "promised, held", [("2026-03-16", True), ("2026-03-20", True), ("2026-03-15", False)]
)
def test_the_past_state_holds_an_invoice_only_while_its_promise_holds(promised, held):
    from arflow.planner.past_state import past_state

    past = past_state(
        actions=[],
        assignments=[],
        sequences=[],
        pauses=[],
        promises=[{"id": 1, "invoice": "INV-1", "date": promised, "amount": None, "balance": None}],
        workflows={},
        as_of=AS_OF,
    )
    assert past.promises == {"INV-1": date.fromisoformat(promised)}
    assert [(h.kind, h.target_id) for h in past.holds] == ([("promise", "INV-1")] if held else [])
