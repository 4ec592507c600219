"""The columnar planner (issue 30): the open invoices nothing can happen to are found in polars
(`planner.columnar`) and left out of the object planner; the object planner alone stays the
reference. On randomised ledgers, workflows and past states (pauses, promises, `then:` chains,
broken promises, hand assignments, `assigned` sequences, business days with holidays, `match:`
on every field, values beyond ASCII, balances too precise for the column type) both make the
same plan: every action, its invoices, keys, recipients and amounts, every skip and reason,
the sequences started and ended, and the open count."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from arflow.engine import plan
from arflow.ledger import Customer, Invoice, Ledger, frame_from_invoices
from arflow.ledger_columns import surely_open
from arflow.planner.columnar import quiet_invoices
from arflow.planner.past_state import past_state
from arflow.workflow import Workflow

START = date(2026, 1, 1)
PRODUCTS = ["hosting", "Hosting", "licence", "Ünïcode", None]
SEGMENTS = ["retail", "Wholesale", None, "straße"]
TAGS = [[], ["vip"], ["VIP", "late"], ["Ärger"], ["late"]]
STATES = ["sent", "sent", "sent", "done", "skipped", "failed", "unknown", "sending"]


def _workflow(rng: random.Random, wid: str, others: list[str]) -> dict:
    days = sorted(rng.sample(range(-5, 40), rng.randint(1, 4)))
    steps = []
    for n, day in enumerate(days):
        step: dict = {
            "id": f"s{n}",
            "day": day,
            "actions": [{"email": "reminder"}]
            + ([{"status": "Late"}] if rng.random() < 0.3 else []),
        }
        if rng.random() < 0.2:
            step["expires_after"] = rng.randint(0, 10)
        steps.append(step)
    spec: dict = {
        "steps": steps,
        "anchor": rng.choices(["due_date", "issue_date", "assigned"], [5, 2, 1])[0],
        "priority": rng.randint(1, 3) * 10,
        "catch_up": rng.choice(["all", "latest"]),
        "notify_on": rng.choice([[], ["finish"], ["pause"], ["finish", "pause"]]),
        "enabled": rng.random() < 0.9,
        "owner": "owner@x.example",
    }
    if rng.random() < 0.3:
        spec["business_days"] = True
        if rng.random() < 0.5:
            spec["holidays"] = "US"
    if rng.random() < 0.6:
        spec["match"] = _match(rng)
    if others and rng.random() < 0.6:
        spec["then"] = rng.choice(others)
    if others and rng.random() < 0.5:
        spec["on_broken_promise"] = rng.choice(others)
    if rng.random() < 0.3:
        spec["on_paid"] = [{"email": "thanks"}]
    return spec


def _match(rng: random.Random) -> dict:
    match: dict = {}
    for name, values in (
        ("product", ["hosting", "ünïcode", "licence"]),
        ("currency", ["usd", "EUR"]),
        ("segment", ["retail", "WHOLESALE", "STRASSE"]),
        ("tags", ["vip", "ärger"]),
        ("customer", ["C1", "C2", "C3"]),
    ):
        if rng.random() < 0.3:
            match[name] = rng.sample(values, rng.randint(1, len(values)))
    if rng.random() < 0.3:
        match["min_balance"] = rng.choice(["50", "100", "100.005", "0"])
    return match


def _invoice(rng: random.Random, n: int, customers: int) -> Invoice:
    issued = START + timedelta(days=rng.randint(0, 100))
    amount = rng.choice(
        [Decimal(rng.randint(1, 300)) + Decimal(rng.randint(0, 99)) / 100, Decimal("100.00")]
    )
    balance = rng.choice([None, None, amount / 2, Decimal("0.004"), Decimal("12." + "3" * 22)])
    paid = rng.random() < 0.15
    return Invoice(
        number=f"N{n:03d}",
        customer_id=f"C{rng.randint(1, customers)}",
        issue_date=issued,
        due_date=issued + timedelta(days=rng.choice([0, 14, 30, 45])),
        amount=amount,
        balance=balance,
        paid_date=issued + timedelta(days=rng.randint(1, 60)) if paid else None,
        currency=rng.choice(["USD", "usd", "EUR"]),
        status=rng.choices(["open", "partial", "paid", "draft", "void"], [12, 3, 1, 1, 1])[0],
        line=n + 2,
        product=rng.choice(PRODUCTS),
        segment=rng.choice(SEGMENTS),
        tags=tuple(rng.choice(TAGS)),
    )


def _customers(rng: random.Random, count: int, wids: list[str]) -> dict[str, Customer]:
    found = {}
    for n in range(1, count + 1):
        cid = f"C{n}"
        found[cid] = Customer(
            cid,
            email=(f"c{n}@x.example",) if rng.random() < 0.9 else (),
            workflow=rng.choice([*wids, "gone"]) if rng.random() < 0.15 else None,
            segment=rng.choice(SEGMENTS),
            paused=rng.random() < 0.05,
        )
    return found


def _day(rng: random.Random, last: date) -> str:
    return (START + timedelta(days=rng.randint(0, (last - START).days))).isoformat()


def _targets(invoices: list[Invoice], customers: list[str], rng: random.Random) -> list[str]:
    found = [f"invoice:{inv.number}" for inv in invoices]
    found += [f"customer:{cid}@{_day(rng, date(2026, 3, 1))}" for cid in customers]
    return found


def _action_rows(
    rng: random.Random, invoices: list[Invoice], specs: dict[str, dict], as_of: date
) -> list[tuple]:
    """Rows of an action ledger: every invoice target has some steps of some workflows
    settled (all their actions, or only some), in every state a row can be in."""
    rows = []
    targets = _targets(invoices, sorted({inv.customer_id for inv in invoices}), rng)
    for target in targets:
        for wid, spec in specs.items():
            if rng.random() < 0.5:
                continue
            steps = len(spec["steps"])
            upto = steps if rng.random() < 0.4 else rng.randint(0, steps)  # often finished
            for step in spec["steps"][:upto]:
                for index in range(len(step["actions"])):
                    if rng.random() < 0.1:
                        continue  # a step partly done
                    state = rng.choice(STATES)
                    reason = (
                        rng.choice(["expired", "missing_email", None])
                        if state == "skipped"
                        else None
                    )
                    invoices_json = (
                        json.dumps([rng.choice(invoices).number])
                        if target.startswith("customer:")
                        else None
                    )
                    day = _day(rng, as_of + timedelta(days=3))
                    rows.append(
                        (
                            target,
                            wid,
                            step["id"],
                            index,
                            state,
                            reason,
                            rng.randint(0, 1),
                            day,
                            invoices_json,
                        )
                    )
    return rows


def _state(
    rng: random.Random, invoices: list[Invoice], specs: dict[str, dict], as_of: date, workflows
):
    cids = sorted({inv.customer_id for inv in invoices})
    wids = list(specs)
    assignments = [
        (cid, rng.choice(wids), rng.choice([None, _day(rng, as_of)]))
        for cid in rng.sample(cids, min(2, len(cids)))
    ]
    sequences = [
        (cid, rng.choice(wids), _day(rng, as_of), rng.choice([None, _day(rng, as_of)]), "paid")
        for cid in rng.sample(cids, min(3, len(cids)))
    ]
    pauses = [
        (
            n,
            kind,
            target,
            "reason",
            rng.choice([None, _day(rng, as_of + timedelta(days=20))]),
            _day(rng, as_of),
        )
        for n, (kind, target) in enumerate(
            [("customer", rng.choice(cids)), ("invoice", rng.choice(invoices).number)]
        )
        if rng.random() < 0.5
    ]
    promises = [
        {
            "id": n,
            "invoice": rng.choice(invoices).number,
            "date": _day(rng, as_of + timedelta(days=10)),
            "amount": rng.choice([None, "10.00"]),
            "balance": rng.choice([None, "50.00"]),
        }
        for n in range(rng.randint(0, 10))
    ]
    return past_state(
        actions=_action_rows(rng, invoices, specs, as_of),
        assignments=assignments,
        sequences=sequences,
        pauses=pauses,
        promises=promises,
        workflows=workflows,
        as_of=as_of,
    )


def _case(seed: int):
    rng = random.Random(seed)
    wids = [f"w{n}" for n in range(rng.randint(1, 5))]
    specs = {wid: _workflow(rng, wid, [w for w in wids if w != wid] + ["missing"]) for wid in wids}
    for spec in specs.values():  # a `then:` or `on_broken_promise:` to no workflow is refused
        for key in ("then", "on_broken_promise"):
            if spec.get(key) == "missing":
                del spec[key]
    workflows = {wid: Workflow.model_validate(spec) for wid, spec in specs.items()}
    customers = rng.randint(3, 12)
    invoices = [_invoice(rng, n, customers) for n in range(rng.randint(10, 80))]
    as_of = START + timedelta(days=rng.randint(20, 130))
    state = _state(rng, invoices, specs, as_of, workflows)
    ledger = Ledger(frame=frame_from_invoices(invoices), customers=_customers(rng, customers, wids))
    default = rng.choice([*wids, None, "gone"])
    return ledger, workflows, state, as_of, default, rng.random() < 0.15


def _plan(case, columnar: bool) -> dict:
    ledger, workflows, state, as_of, default, baseline = case
    made = plan(
        ledger,
        workflows,
        state,
        as_of,
        default_workflow=default,
        min_balance=Decimal("0.005"),
        baseline=baseline,
        columnar=columnar,
    )
    return dataclasses.asdict(made)


@pytest.mark.parametrize("block", range(8))
def test_the_columnar_planner_makes_the_object_planners_plan(block: int) -> None:
    quiet_seen = 0
    for seed in range(block * 40, block * 40 + 40):
        case = _case(seed)
        assert _plan(case, columnar=True) == _plan(case, columnar=False), f"seed {seed}"
        ledger, workflows, state, as_of, default, _ = case
        quiet = quiet_invoices(ledger, workflows, state, as_of, default, Decimal("0.005"))
        quiet_seen += quiet.left_out if quiet else 0
    assert quiet_seen > 40  # the cases leave plenty of invoices to the columns


def test_the_open_count_and_every_open_invoice_are_kept() -> None:
    """Quiet invoices are still open: the plan counts them, and a customer with only quiet
    invoices is still open (its sequence is not paid up)."""
    totals = {"quiet": 0, "open": 0}
    for seed in range(40):
        case = _case(seed)
        ledger, workflows, state, as_of, default, _ = case
        quiet = quiet_invoices(ledger, workflows, state, as_of, default, Decimal("0.005"))
        assert quiet is not None
        rest = quiet.rest.current(as_of, Decimal("0.005"))
        everything = ledger.current(as_of, Decimal("0.005"))
        assert quiet.left_out + len(rest) == len(everything)
        assert {i.number for i in rest} < {i.number for i in everything} or quiet.left_out == 0
        totals["quiet"] += quiet.left_out
        totals["open"] += len(everything)
    assert 0 < totals["quiet"] < totals["open"]


def test_surely_open_stands_for_is_open() -> None:
    """`surely_open` keeps only rows `Invoice.is_open` holds open, and all of them whose balance
    the column type holds exactly."""
    rng = random.Random(7)
    invoices = [_invoice(rng, n, 5) for n in range(400)]
    frame = frame_from_invoices(invoices)
    for as_of in (date(2026, 1, 15), date(2026, 2, 20), date(2026, 4, 30)):
        for tolerance in (Decimal("0"), Decimal("0.005"), Decimal("50")):
            kept = set(frame.filter(surely_open(as_of, tolerance)).get_column("number"))
            exact = {i.number for i in invoices if i.is_open(as_of, tolerance)}
            precise = {
                i.number
                for i in invoices
                if i.balance is not None and -i.balance.as_tuple().exponent > 20
            }
            assert kept == exact - precise


def test_an_invoice_two_chains_along_is_planned_where_it_arrives() -> None:
    """A `then:` chain walked twice in one night (A finished, then B finished before today):
    the invoice is in C, whose step is due, though every step of B has run."""
    steps = [{"id": "s0", "day": 0, "actions": [{"email": "reminder"}]}]
    workflows = {
        "a": Workflow.model_validate({"steps": steps, "then": "b"}),
        "b": Workflow.model_validate({"steps": steps, "then": "c"}),
        "c": Workflow.model_validate({"steps": steps}),
    }
    invoice = Invoice(
        "N1",
        "C1",
        date(2026, 3, 1),
        date(2026, 3, 1),
        Decimal("80.00"),
        None,
        None,
        "USD",
        "open",
        2,
    )
    rows = [
        ("invoice:N1", wid, "s0", 0, "sent", None, 0, day, None)
        for wid, day in (("a", "2026-03-02"), ("b", "2026-03-03"))
    ]
    as_of = date(2026, 3, 10)
    state = past_state(
        actions=rows,
        assignments=[],
        sequences=[],
        pauses=[],
        promises=[],
        workflows=workflows,
        as_of=as_of,
    )
    ledger = Ledger(
        frame=frame_from_invoices([invoice]),
        customers={"C1": Customer("C1", email=("c1@x.example",))},
    )
    made = plan(ledger, workflows, state, as_of, default_workflow="a")
    assert [(a.workflow, a.step, a.invoices, a.keys) for a in made.actions] == [
        ("c", "s0", ["N1"], [("invoice:N1", "c", "s0", 0)])
    ]
    assert quiet_invoices(ledger, workflows, state, as_of, "a", Decimal("0.005")) == (
        ledger,
        0,
        set(),
    )


def test_a_ledgers_customers_follow_its_invoices_when_they_are_replaced() -> None:
    """`Ledger.customer_ids` is kept once asked; invoices set afresh are asked again."""
    rng = random.Random(3)
    invoices = [_invoice(rng, n, 6) for n in range(40)]
    ledger = Ledger(frame=frame_from_invoices(invoices), customers={})
    assert ledger.customer_ids() == {i.customer_id for i in invoices}
    ledger.invoices = [i for i in invoices if i.customer_id == "C1"]
    assert ledger.customer_ids() == {"C1"}


def _lowered(seed: int, in_columns: bool):
    """`_case(seed)` with payments from the bank heard (issue 32): a few open invoices'
    balances lowered (to nothing, to below the tolerance, by half, to a cent), those covered
    `received` — in the frame (`Ledger.lower`), or as objects given the lowered balances."""
    ledger, workflows, state, as_of, default, baseline = _case(seed)
    rng = random.Random(seed + 10_000)
    open_now = sorted(ledger.current(as_of, Decimal("0.005")), key=lambda i: i.number)
    chosen = rng.sample(open_now, k=min(len(open_now), rng.randint(1, 8)))
    balances = {
        inv.number: rng.choice(
            [Decimal(0), Decimal("0.004"), inv.open_balance(as_of) / 2, Decimal("0.01")]
        )
        for inv in chosen
    }
    received = {n: Decimal(1) for n, b in balances.items() if b <= Decimal("0.005")}
    if in_columns:
        ledger.lower(balances, received)
        return ledger, workflows, state, as_of, default, baseline
    objects = [
        dataclasses.replace(inv, balance=balances[inv.number]) if inv.number in balances else inv
        for inv in ledger.invoices
    ]
    made = Ledger(objects, ledger.customers)
    made.lower({}, received)
    return made, workflows, state, as_of, default, baseline


@pytest.mark.parametrize("block", range(2))
def test_balances_lowered_by_payments_plan_alike_in_columns_and_objects(block: int) -> None:
    """The columnar planner's polars filter sees the balances payments lowered, as the object
    planner sees them on invoices made with those balances; and the lowering changes plans."""
    changed = 0
    for seed in range(block * 40, block * 40 + 40):
        lowered = _plan(_lowered(seed, in_columns=True), columnar=True)
        assert lowered == _plan(_lowered(seed, in_columns=False), columnar=False), f"seed {seed}"
        changed += lowered != _plan(_case(seed), columnar=True)
    assert changed > 10
