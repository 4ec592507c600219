"""Disputes in tonight's plan (issue 33).

Before planning (`before_planning`): an invoice whose dispute is open and whole goes on hold
(`PastState.disputed`: nothing from its workflow, still counted), an invoice disputed in part is
planned at its balance less the disputed part, and a credit agreed when a dispute was resolved
lowers the balance until the ledger shows the credit note (one that covers it holds the invoice,
skipped `credited`). The ledger the planner sees is a copy with those balances: the sources'
ledger (`Ledger.whole`) keeps its own, so totals and aging count the disputed part.

After planning (`after_planning`): the steps a dispute held back (skipped `disputed` or
`credited`, with no key: nothing is settled, as for a pause), and each open dispute's task for
the customer's specialist, once (its key `invoice:NUMBER/disputes/dispute-ID/0`), unless
`disputes.workflow:` is set: then the dispute is an item of its own (`DISPUTE-ID`: the
customer's, due on the dispute's day, the disputed amount as balance) routed to that workflow,
so its steps count from the dispute's day, each once, until it is resolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import polars as pl

from arflow.config import Config
from arflow.disputes import (
    CREDITED,
    DISPUTED,
    DISPUTES,
    ZERO,
    chased_part,
    unconfirmed_credit,
)
from arflow.engine import plan as engine_plan
from arflow.ledger import Invoice, Ledger, frame_from_invoices, money_text
from arflow.planner.plan_types import ActionKey, PastState, Plan, PlannedAction, Route, Skip
from arflow.state import StateDB
from arflow.state.disputes import DisputeRow
from arflow.workflow import Action, Workflow

TASK_DUE_IN = 2  # days the specialist has for a dispute's task


def item_number(dispute_id: int) -> str:
    """The number a dispute goes by as an item of `disputes.workflow:`: `DISPUTE-4`."""
    return f"DISPUTE-{dispute_id}"


def item_owners(db: StateDB) -> dict[str, str]:
    """The number of every dispute's item (`DISPUTE-ID`) → its customer."""
    return {item_number(d.dispute_id): d.customer_id for d in db.disputes()}


def task_key(d: DisputeRow) -> ActionKey:
    """The key of a dispute's task: recorded once, whatever the reruns."""
    return ActionKey(f"invoice:{d.invoice}", DISPUTES, f"dispute-{d.dispute_id}", 0)


@dataclass(slots=True)
class DisputeNight:
    """Tonight's disputes: the ledger the planner sees, the disputes open on the day (by
    invoice), the invoices held (→ skip reason) and the items of `disputes.workflow:`."""

    ledger: Ledger
    open: dict[str, DisputeRow] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)
    items: dict[str, DisputeRow] = field(default_factory=dict)


def credits_left(rows: list[DisputeRow], ledger: Ledger, as_of: date) -> dict[str, Decimal]:
    """invoice → what the credits of disputes resolved by `as_of` take off it while it is
    open (`unconfirmed_credit`), from its balance in `ledger`."""
    resolved = [
        d
        for d in rows
        if d.resolved_on is not None
        and d.resolved_on <= as_of
        and d.credit
        and d.balance_then is not None
    ]
    found = ledger.find({d.invoice for d in resolved})
    booked = credit_notes_booked(resolved, ledger)
    left: dict[str, Decimal] = {}
    for d in resolved:
        inv = found.get(d.invoice)
        if inv is None or d.dispute_id in booked:
            continue
        assert d.credit is not None and d.balance_then is not None
        take = unconfirmed_credit(d.credit, inv.open_balance(as_of))
        if take:
            left[d.invoice] = left.get(d.invoice, ZERO) + take
    return left


def credit_notes_booked(resolved: list[DisputeRow], ledger: Ledger) -> set[int]:
    """The disputes whose credit the sources show as a credit note of its own: a document of
    the customer with a negative amount of at least the credit, issued on or after the day the
    dispute was made, each credit note standing for one credit (earliest first). Then the
    credit is the ledger's, and is not taken off again."""
    by_customer = ledger.of_customers({d.customer_id for d in resolved})
    notes = {
        cid: sorted(
            (inv for inv in docs if inv.amount < ZERO), key=lambda i: (i.issue_date, i.number)
        )
        for cid, docs in by_customer.items()
    }
    booked: set[int] = set()
    for d in sorted(resolved, key=lambda d: (d.resolved_on or d.since, d.dispute_id)):
        assert d.credit is not None
        credit = d.credit
        note = next(
            (
                n
                for n in notes.get(d.customer_id, [])
                if n.issue_date >= d.since and -n.amount >= credit
            ),
            None,
        )
        if note is not None:
            notes[d.customer_id].remove(note)
            booked.add(d.dispute_id)
    return booked


def owed_after_credits(db: StateDB | None, ledger: Ledger, as_of: date) -> None:
    """`ledger`'s balances lowered in place by the credits it does not show yet (for the
    reports: `aging`, `status`): what is owed."""
    if db is None:
        return
    rows = [d for d in db.disputes() if d.since <= as_of]
    left = credits_left(rows, ledger, as_of)
    found = ledger.find(left)
    balances = {n: max(ZERO, found[n].open_balance(as_of) - take) for n, take in left.items()}
    ledger.lower(balances, ledger.received)


def disputed_parts(rows: list[DisputeRow], ledger: Ledger, as_of: date) -> dict[str, Decimal]:
    """invoice → what of it is disputed on `as_of` (the part given, else all it owes)."""
    opened = {d.invoice: d for d in rows if d.open_on(as_of)}
    parts = {}
    for number, inv in ledger.find(opened).items():
        part = opened[number].amount
        parts[number] = inv.owed(as_of) if part is None else min(part, inv.owed(as_of))
    return parts


def before_planning(
    db: StateDB, config: Config, ledger: Ledger, past: PastState, as_of: date
) -> DisputeNight:
    """Tonight's disputes put into `past` (holds, routes) and the ledger (balances, items)."""
    rows = [d for d in db.disputes() if d.since <= as_of]
    if not rows:
        return DisputeNight(ledger)
    night = DisputeNight(ledger, {d.invoice: d for d in rows if d.open_on(as_of)})
    left = credits_left(rows, ledger, as_of)
    found = ledger.find({*left, *night.open})
    # a ledger cut to some customers (`run --customer`, a forecast's day) plans theirs only;
    # an invoice paid before the run needs no task nor item
    night.open = {
        n: d
        for n, d in night.open.items()
        if n in found and found[n].is_open(as_of, config.min_balance)
    }
    balances: dict[str, Decimal] = {}
    for number, inv in found.items():
        if not inv.is_open(as_of, config.min_balance):
            continue
        balance = inv.open_balance(as_of) - left.get(number, ZERO)
        if balance <= config.min_balance:
            night.held[number] = CREDITED
            continue
        d = night.open.get(number)
        if d is not None:
            balance = chased_part(balance, d.amount)
            if balance <= config.min_balance:
                night.held[number] = DISPUTED
                continue
        if balance != inv.open_balance(as_of):
            balances[number] = balance
    past.disputed.update(night.held)
    items = _items(night, found, config, past)
    if balances or items:
        night.ledger = _planned_ledger(ledger, balances, items)
    return night


def _items(
    night: DisputeNight, found: Mapping[str, Invoice], config: Config, past: PastState
) -> list[Invoice]:
    """With `disputes.workflow:`, each open dispute as an item routed to it."""
    wid = config.disputes.workflow
    if wid is None:
        return []
    items = []
    for number, d in night.open.items():
        inv = found.get(number)
        if inv is None:
            continue
        disputed = inv.open_balance(d.since) if d.amount is None else d.amount
        item = replace(
            inv,
            number=item_number(d.dispute_id),
            issue_date=d.since,
            due_date=d.since,
            amount=disputed,
            balance=disputed,
            paid_date=None,
            status="open",
        )
        items.append(item)
        night.items[item.number] = d
        past.routed[item.number] = Route(wid, d.since)
    return items


def _planned_ledger(ledger: Ledger, balances: dict[str, Decimal], items: list[Invoice]) -> Ledger:
    """A copy of `ledger` with these balances and items; the sources' ledger keeps its own."""
    if not ledger.columnar:
        invoices = [
            replace(inv, balance=balances[inv.number]) if inv.number in balances else inv
            for inv in ledger.invoices
        ]
        return Ledger(
            [*invoices, *items],
            ledger.customers,
            ledger.errors,
            extra_names=ledger.extra_names,
            reads=ledger.reads,
            whole=ledger,
        )
    frame = ledger.frame
    if balances:
        texts = {number: money_text(value) for number, value in balances.items()}
        number = pl.col("number")
        frame = frame.with_columns(
            balance=pl.when(number.is_in(list(texts)))
            .then(number.replace(texts))
            .otherwise(pl.col("balance"))
        )
    if items:
        frame = pl.concat([frame, frame_from_invoices(items)])
    return ledger.with_frame(frame)


def after_planning(
    night: DisputeNight,
    planned: Plan,
    past: PastState,
    config: Config,
    models: dict[str, Workflow],
) -> None:
    """The steps disputes held back (skips), the tasks of new disputes, the counts."""
    _held_back(night, planned, past, config, models)
    planned.invoices -= len(night.items)
    planned.open -= len(night.items)
    if config.disputes.workflow is None:
        for d in night.open.values():
            _task(planned, d, past, night.ledger)


def _held_back(
    night: DisputeNight,
    planned: Plan,
    past: PastState,
    config: Config,
    models: dict[str, Workflow],
) -> None:
    """What the held invoices would have had from their workflows tonight, as skips
    `disputed` or `credited` (with no key): the planner asked again of those invoices alone,
    the disputes' holds left out."""
    if not night.held:
        return
    held = night.ledger.whole.find(night.held)
    if not held:
        return
    alone = Ledger(list(held.values()), night.ledger.customers, [])
    would = engine_plan(
        alone,
        models,
        replace(past, disputed=set()),
        planned.as_of,
        default_workflow=config.default_workflow,
        min_balance=config.min_balance,
        people=config.people,
    )
    for a in would.actions:
        if a.workflow not in models or models[a.workflow].is_campaign:
            continue  # statements go on
        for reason in sorted({night.held[n] for n in a.invoices if n in night.held}):
            numbers = [n for n in a.invoices if night.held.get(n) == reason]
            planned.skipped.append(Skip(a.workflow, a.step, a.customer_id, numbers, reason))


def _task(planned: Plan, d: DisputeRow, past: PastState, ledger: Ledger) -> None:
    """The specialist's task of a dispute, once."""
    key = task_key(d)
    customer = ledger.customers.get(d.customer_id)
    if key in past.settled or customer is None:
        return
    action = Action.model_validate(
        {
            "task": {
                "kind": "dispute",
                "title": f"Dispute on {{{{ invoice.number }}}} ({d.reason})",
                "assignee": "specialist",
                "due_in": TASK_DUE_IN,
            }
        }
    )
    items = list(ledger.whole.find([d.invoice]).values())
    planned.actions.append(
        PlannedAction(
            date=planned.as_of,
            workflow=DISPUTES,
            step=key.step,
            action_index=0,
            action=action,
            customer_id=d.customer_id,
            invoices=[d.invoice],
            keys=[key],
            to=[],
            items=items,
            assignee=customer.specialist,
        )
    )
