"""Which workflow each open invoice follows today (SPEC 4.5–4.8): explicit assignment, `match:`,
the default workflow, `then:` chains and broken promises; and the targets it follows it as."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from arflow.ledger import Customer, Invoice, Ledger
from arflow.planner.match import Matcher, WorkflowChoice
from arflow.planner.plan_types import PastState, invoice_target, sequence_target
from arflow.planner.schedule import StepSchedule
from arflow.rules import promise_holds, promised_part_paid
from arflow.workflow import Workflow


# --- matching and assignment (SPEC 4.5) -----------------------------------------------------
# --- following: which workflow each open invoice is in today (SPEC 4.5–4.8) -----------------
class OpenInvoice(NamedTuple):
    invoice: Invoice
    balance: Decimal  # its open balance


class Destination(NamedTuple):
    """Where an invoice is today after chains and a broken promise, and the day it got there
    (None when it stayed where assignment put it)."""

    workflow: str | None  # None: chained into a disabled workflow
    began: date | None


class TargetDates(NamedTuple):
    """One target of a workflow, the day its step dates count from, the earliest day a step
    may fall on, and its invoices (SPEC 4.1, 4.2)."""

    target: str
    anchor: date
    earliest: date
    items: list[OpenInvoice]


@dataclass(slots=True)
class FollowedInvoices:
    """One customer's open invoices in one workflow today, before pauses are applied."""

    items: list[OpenInvoice] = field(default_factory=list)
    hints: list[date] = field(default_factory=list)  # days a chain or broken promise began
    source: str = ""  # assign | file | match | default | chain | plan


@dataclass(slots=True)
class OpenInvoicesByWorkflow:
    """The ledger's open invoices sorted into the workflows they follow today, with what the
    rest of planning looks up beside them: the first half of planning, shared by `plan` and
    `positions`."""

    active: dict[str, Workflow]
    schedules: dict[str, StepSchedule]
    customers: dict[str, Customer]
    following: dict[tuple[str, str], FollowedInvoices]
    open_customers: set[str]
    open_count: int
    min_balance: Decimal
    # customer → its open invoices, whatever workflow they follow (for campaigns; filled only
    # when `sort_into_workflows` is asked to keep them)
    open_invoices: dict[str, list[Invoice]] = field(default_factory=dict)


def active_workflows(workflows: dict[str, Workflow]) -> dict[str, Workflow]:
    """The workflows invoices follow: enabled, and no campaign (SPEC 4.5, 4.10)."""
    return {wid: wf for wid, wf in workflows.items() if wf.enabled and not wf.is_campaign}


def sort_into_workflows(
    ledger: Ledger,
    workflows: dict[str, Workflow],
    state: PastState,
    as_of: date,
    default_workflow: str | None,
    min_balance: Decimal,
    keep_open: bool = False,
) -> OpenInvoicesByWorkflow:
    active = active_workflows(workflows)
    schedules = {wid: StepSchedule(wid, wf) for wid, wf in active.items()}
    matchers = [
        Matcher(wid, match)
        for wid in sorted(active, key=lambda w: (active[w].priority, w))
        if (match := active[wid].match) is not None
    ]
    default = WorkflowChoice(default_workflow if default_workflow in active else None, "default")
    customers = dict(ledger.customers)
    # workflows an invoice can leave today: `then:` after the last step, `on_broken_promise:`
    movable = {wid for wid, wf in active.items() if wf.then or wf.on_broken_promise}
    following: dict[tuple[str, str], FollowedInvoices] = {}
    open_customers: set[str] = set()
    open_count = 0
    open_invoices: dict[str, list[Invoice]] = {}
    for inv in ledger.current(as_of, min_balance):
        balance = inv.open_balance(as_of)
        open_count += 1
        cid = inv.customer_id
        open_customers.add(cid)
        if keep_open:
            open_invoices.setdefault(cid, []).append(inv)
        customer = customers.get(cid)
        if customer is None:
            customer = customers[cid] = Customer(cid)
        wid, source, hint = _followed(inv, balance, customer, state, matchers, default)
        if wid is None or wid not in active:
            continue
        if wid in movable:
            wid, moved = _moved(inv, balance, wid, state, active, as_of)
            if wid is None:
                continue
            if moved is not None:
                hint, source = moved, "chain"
        entry = following.get((cid, wid))
        if entry is None:
            entry = following[(cid, wid)] = FollowedInvoices(source=source)
        entry.items.append(OpenInvoice(inv, balance))
        if hint is not None:
            entry.hints.append(hint)
    return OpenInvoicesByWorkflow(
        active,
        schedules,
        customers,
        following,
        open_customers,
        open_count,
        min_balance,
        open_invoices,
    )


def _followed(
    inv: Invoice,
    balance: Decimal,
    customer: Customer,
    state: PastState,
    matchers: list[Matcher],
    default: WorkflowChoice,
) -> tuple[str | None, str, date | None]:
    """(workflow, source, the day it began there) before chains: a payment plan's route
    (issue 32), else `_workflow_for`."""
    route = state.routed.get(inv.number)
    if route is not None:
        return route.workflow, "plan", route.began
    wid, source = _workflow_for(inv, balance, customer, state, matchers, default)
    return wid, source, None


def _moved(
    inv: Invoice,
    balance: Decimal,
    wid: str,
    state: PastState,
    active: dict[str, Workflow],
    as_of: date,
) -> Destination:
    """Where an invoice is today after `then:` chains (the day after the last step, SPEC 4.8)
    and a broken promise (the day after the promised date, SPEC 4.6)."""
    broken = _broken_promise(inv, balance, state, as_of)
    hint = None
    seen = set()
    while wid not in seen:
        seen.add(wid)
        wf = active.get(wid)
        if wf is None:
            return Destination(None, None)  # chained into a disabled workflow: nothing more
        if wf.anchor == "assigned":
            since = state.sequences.get((inv.customer_id, wid))
            target = None if since is None else sequence_target(inv.customer_id, since)
        else:
            target = invoice_target(inv.number)
        done = state.finished.get((target, wid)) if target is not None else None
        if done is not None and wf.then and done < as_of:
            wid, hint = wf.then, done + timedelta(days=1)
        elif broken is not None and wf.on_broken_promise:
            wid, hint, broken = wf.on_broken_promise, broken + timedelta(days=1), None
        else:
            return Destination(wid, hint)
    return Destination(wid, hint)


def _broken_promise(inv: Invoice, balance: Decimal, state: PastState, as_of: date) -> date | None:
    """The promised day, when it has passed with the invoice still open and the promised
    amount (if one was given) not paid."""
    promised = state.promises.get(inv.number)
    if promised is None or promise_holds(promised, as_of):
        return None
    terms = state.promised_amounts.get(inv.number)
    if terms is not None:
        amount, balance_then = terms
        if promised_part_paid(balance, amount, balance_then):
            return None  # the promised part was paid: kept, the rest is chased as before
    return promised


def _workflow_for(
    inv: Invoice,
    balance: Decimal,
    customer: Customer,
    state: PastState,
    matchers: list[Matcher],
    default: WorkflowChoice,
) -> WorkflowChoice:
    """SPEC 4.5: explicit assignment, else the first matching workflow, else the default."""
    explicit = state.assignments.get(inv.customer_id)
    if explicit is not None:
        return WorkflowChoice(explicit.workflow, "assign")
    if customer.workflow:
        return WorkflowChoice(customer.workflow, "file")
    for matcher in matchers:
        if matcher.fits(inv, balance, customer):
            return matcher.choice
    return default


def sequence_since(
    cid: str, wid: str, entry: FollowedInvoices, state: PastState, as_of: date
) -> date:
    """The day an `assigned` sequence counts from: the stored one, else the day a chain or a
    broken promise brought the customer here, else the `arflow assign --date` day (unless a
    sequence since then has already ended), else today."""
    since = state.sequences.get((cid, wid))
    if since is not None:
        return since
    if entry.hints:
        return min(entry.hints)
    explicit = state.assignments.get(cid)
    ended = state.ended.get((cid, wid))
    if (
        explicit is not None
        and explicit.workflow == wid
        and explicit.since is not None
        and (ended is None or explicit.since > ended)
    ):
        return explicit.since
    return as_of


def targets_of(
    schedule: StepSchedule,
    cid: str,
    wid: str,
    entry: FollowedInvoices,
    items: list[OpenInvoice],
    state: PastState,
    as_of: date,
) -> list[TargetDates]:
    """The targets of what follows a workflow, with their dates: one sequence for the customer
    (`assigned`, SPEC 4.1), else one per invoice."""
    if schedule.wf.anchor == "assigned":
        since = sequence_since(cid, wid, entry, state, as_of)
        return [TargetDates(sequence_target(cid, since), since, since, items)]
    by_due = schedule.wf.anchor == "due_date"
    found = []
    for item in items:
        inv = item.invoice
        found.append(
            TargetDates(
                invoice_target(inv.number),
                inv.due_date if by_due else inv.issue_date,
                inv.issue_date,
                [item],
            )
        )
    return found
