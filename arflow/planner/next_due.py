"""When the planner may next act for a target, and so for a customer (issue 30, forecast
option (b)): `forecast` and `simulate` plan each later day only the customers something may be
due for.

The answer is conservative: it may name a day on which, in the end, the planner does nothing
(the planner decides then), but never a day later than the first one on which it would act. It
asks what the night asks (`when.free_items`, `schedule.decide_steps`) day after day from a
given day, jumping from one day that may matter to the next: a step's date, a business day, the
end of a pause or a promise. A day counts when a step runs or is skipped (expired, superseded:
those settle keys too). What changes a customer's invoices or their workflow on a known day
counts for the whole customer: an invoice issued or paid, a pause or a promise that ends (a
broken promise moves an invoice), the day after a workflow finished (its `then:`). The contact
gap is not asked: a step it holds back stays due, and is planned (and spaced again) each day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from arflow.ledger import Customer, Invoice, Ledger
from arflow.planner.matching import FollowedInvoices, TargetDates, sort_into_workflows, targets_of
from arflow.planner.plan_types import (
    NOTHING_RAN,
    ActionKey,
    PastState,
    customer_of,
    customer_target,
    invoice_target,
)
from arflow.planner.schedule import ON_PAID, StepSchedule, decide_steps
from arflow.planner.when import Holds, free_after, free_items
from arflow.workflow import Workflow

_DAY = timedelta(days=1)


def target_next_due(
    schedule: StepSchedule,
    holds: Holds,
    customer: Customer,
    target: TargetDates,
    ran: set[str] | frozenset[str],
    since: date,
    last: date,
) -> date | None:
    """The first day from `since` to `last` on which the planner may run or skip a step of
    one target, its past as `ran` says (None: none in those days)."""
    dates = schedule.dates(target.anchor)
    day: date | None = since
    while day is not None and day <= last:
        if not free_items(schedule, holds, customer, target.items, day):
            day = free_after(schedule, holds, customer, target.items, day)
            continue
        decision = decide_steps(schedule, dates, target.earliest, day, ran)
        if decision.run or decision.skipped:
            return day
        day = min(
            (
                dates[i]
                for i in range(len(schedule.ids))
                if schedule.ids[i] not in ran and dates[i] > day and dates[i] >= target.earliest
            ),
            default=None,
        )
    return None


def first_free_day(
    schedule: StepSchedule,
    holds: Holds,
    customer: Customer,
    entry: FollowedInvoices,
    since: date,
    last: date,
) -> date | None:
    """The first day from `since` to `last` on which something of the customer in this
    workflow may go: an `assigned` sequence not started yet starts then (its first day is
    that day's)."""
    day: date | None = since
    while day is not None and day <= last:
        if free_items(schedule, holds, customer, entry.items, day):
            return day
        day = free_after(schedule, holds, customer, entry.items, day)
    return None


def next_due(
    ledger: Ledger,
    workflows: dict[str, Workflow],
    state: PastState,
    since: date,
    last: date,
    *,
    default_workflow: str | None,
    min_balance: Decimal,
) -> dict[str, date]:
    """Customer → the first day from `since` to `last` on which the planner may act for it
    (a customer with nothing in those days is left out). `state` is the past as of `since`;
    campaigns are not asked (a forecast plans everyone on a campaign's days)."""
    by_workflow = sort_into_workflows(
        ledger, workflows, state, since, default_workflow, min_balance
    )
    holds = Holds(state)
    found: dict[str, date] = {}

    def due(cid: str, day: date | None) -> None:
        if day is not None and day <= last and (cid not in found or day < found[cid]):
            found[cid] = day

    for (cid, wid), entry in by_workflow.following.items():
        schedule = by_workflow.schedules[wid]
        customer = by_workflow.customers[cid]
        if schedule.wf.anchor == "assigned" and (cid, wid) not in state.sequences:
            due(cid, first_free_day(schedule, holds, customer, entry, since, last))
            continue
        for target in targets_of(schedule, cid, wid, entry, entry.items, state, since):
            ran = state.ran.get((target.target, wid), NOTHING_RAN)
            due(cid, target_next_due(schedule, holds, customer, target, ran, since, last))
        if _notice_owed(schedule, wid, cid, entry, state):
            due(cid, since)
    invoices = {inv.number: inv for inv in ledger.invoices}
    owners = {number: inv.customer_id for number, inv in invoices.items()}
    for cid in _owed_on_paid(
        workflows, state, invoices, by_workflow.open_customers, since, min_balance
    ):
        due(cid, since)
    # the past may hold other customers' sequences and holds: only this ledger's are asked
    mine = set(ledger.customers) | set(owners.values())
    for cid, _ in state.sequences:  # a sequence whose customer owes nothing may end
        if cid in mine and cid not in by_workflow.open_customers:
            due(cid, since)
    for cid, day in _known_changes(ledger.invoices, state, owners, since):
        if cid in mine:
            due(cid, day)
    return found


def _notice_owed(
    schedule: StepSchedule, wid: str, cid: str, entry: FollowedInvoices, state: PastState
) -> bool:
    """`notify_on: [pause]`: a hold of the customer or of one of its invoices whose notice
    has not been settled yet (it goes, or is tried again, on the next day planned)."""
    if "pause" not in schedule.wf.notify_on:
        return False
    numbers = {item.invoice.number for item in entry.items}
    for hold in state.holds:
        if hold.kind == "customer" and hold.target_id == cid:
            target = customer_target(cid)
        elif hold.kind != "customer" and hold.target_id in numbers:
            target = invoice_target(hold.target_id)
        else:
            continue
        if ActionKey(target, wid, hold.step, 0) not in state.settled:
            return True
    return False


def _owed_on_paid(
    workflows: dict[str, Workflow],
    state: PastState,
    invoices: dict[str, Invoice],
    open_customers: set[str],
    since: date,
    min_balance: Decimal,
) -> Iterable[str]:
    """The customers a target chased and now paid (or gone) may owe an `on_paid` to: its
    keys are not all settled yet (SPEC 4.7)."""
    for (target, wid), _ in state.chased.items():
        wf = workflows.get(wid)
        if wf is None or not wf.on_paid:
            continue
        if all(ActionKey(target, wid, ON_PAID, n) in state.settled for n in range(len(wf.on_paid))):
            continue
        cid = customer_of(target)
        if cid is not None:
            if cid not in open_customers:
                yield cid
            continue
        inv = invoices.get(target.removeprefix("invoice:"))
        if inv is not None and not inv.is_open(since, min_balance):
            yield inv.customer_id


def _known_changes(
    invoices: Iterable[Invoice], state: PastState, owners: dict[str, str], since: date
) -> Iterable[tuple[str, date]]:
    """(customer, day) for what changes on a known day from `since` on: an invoice issued or
    paid, a pause or a promise that ends (the day after it: a broken promise may move its
    invoice to another workflow; the past state holds a promise that holds as a hold)."""
    for inv in invoices:
        for day in (inv.issue_date, inv.paid_date):
            if day is not None and day >= since:
                yield inv.customer_id, day
    for hold in state.holds:
        if hold.until is None or hold.until + _DAY < since:
            continue
        cid = hold.target_id if hold.kind == "customer" else owners.get(hold.target_id)
        if cid is not None:
            yield cid, hold.until + _DAY
