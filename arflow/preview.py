"""`arflow preview` (seed 001's Preview button): the messages one step of a workflow would
send, for a customer's real open invoices or for a sample customer, composed by the same code
as a run (`compose`), on the day the step would really go.

Without `--customer` the sample customer's invoices are made so that the step is due on the
day asked (past due by the step's offset, or due soon for a step before the due date); on a
day the workflow sends nothing (a weekend, a holiday, counting business days) the preview is
of the next day it sends. With `--customer` the day is the one the planner would run the step
for that customer (`planner.when.runs_ahead`, over the state database read as it is: what
ran, pauses, promises, the contact gap), and the preview lists the invoices the step lists
that day; when that is not the day asked, a note says so and when it is due. Nothing is
written to the state database."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from arflow.actions import CUSTOMER_FACING
from arflow.disputes import night as disputes
from arflow.errors import ArflowError, Refused
from arflow.fees.charging import plan_charges
from arflow.ledger import Customer, Invoice, Ledger
from arflow.planner.campaigns import next_statement, statements
from arflow.planner.match import Matcher
from arflow.planner.matching import (
    FollowedInvoices,
    OpenInvoice,
    TargetDates,
    sort_into_workflows,
    targets_of,
)
from arflow.planner.past_state import read_past_state
from arflow.planner.plan_types import (
    NOTHING_RAN,
    PastState,
    Plan,
    customer_target,
    invoice_target,
)
from arflow.planner.schedule import ON_PAID, StepSchedule
from arflow.planner.step_actions import SlotInvoice, add_actions
from arflow.planner.when import Contact, Holds, free_items, runs_ahead
from arflow.project import Project
from arflow.state import StateDB
from arflow.workflow import Action, Workflow

NEXT = "next"  # a campaign's STEP: its next statement
SAMPLE_ID = "SAMPLE"


@dataclass
class Preview:
    """What `preview` shows: the step's actions, the ledger to compose them against, and the
    notes that say why the day shown is not the day asked."""

    plan: Plan
    ledger: Ledger
    notes: list[str] = field(default_factory=list)


def preview_plan(
    project: Project,
    ledger: Ledger | None,
    wid: str,
    step: str,
    customer_id: str | None,
    as_of: date,
    db: StateDB | None = None,
) -> Preview:
    """The actions of step `step` of workflow `wid` for the customer (None: a sample one) on
    the day it would go, and the ledger to compose them against."""
    loaded = project.workflows.get(wid)
    if loaded is None:
        raise Refused(f"no workflow {wid!r} (workflows: {', '.join(sorted(project.workflows))})")
    wf = loaded.model
    notes: list[str] = []
    if ledger is None or customer_id is None:
        ledger, as_of = _sample_ledger(project, wid, step, as_of, notes)
        customer_id = SAMPLE_ID
    elif customer_id not in ledger.customers:
        raise Refused(f"--customer {customer_id!r}: no such customer in the sources")
    customer = ledger.customers[customer_id]
    result = Plan(as_of=as_of)
    if wf.is_campaign:
        if step != NEXT:
            raise Refused(f"{wid} is a campaign: its STEP is `next` (its next statement)")
        _statement(project, ledger, wid, customer, as_of, result)
        return Preview(result, ledger, notes)
    actions = _actions(wid, wf, step)
    if step == ON_PAID:  # the invoices paid, each with its amount
        paid = (
            ledger.invoices
            if customer_id == SAMPLE_ID
            else _invoices(ledger, wid, wf, customer, as_of, project.config.min_balance, True)
        )
        due = Due(as_of, [OpenInvoice(inv, inv.amount) for inv in paid], [])
    elif customer_id == SAMPLE_ID:  # made for the step: whatever its match:
        due = Due(as_of, [OpenInvoice(i, i.open_balance(as_of)) for i in ledger.invoices], [])
    else:
        due = _when_due(project, ledger, wid, step, customer, as_of, db)
    result.as_of = due.day
    by_invoice = wf.anchor != "assigned"
    listed = [
        SlotInvoice(
            inv,
            bal,
            invoice_target(inv.number) if by_invoice else customer_target(customer.customer_id),
        )
        for inv, bal in due.items
    ]
    add_actions(
        result, customer, wid, wf, step, actions, listed, project.config.people, due.day, set()
    )
    if db is not None:  # what was charged before: the step's charge and its emails' figures
        project.with_fees(db)
    missing = plan_charges(project.fee_book(), result.actions)
    if missing:  # a rate the rule lacks: the preview stops with the fix
        raise ArflowError(str(missing[0][1]))
    return Preview(result, ledger, notes + due.notes)


def _actions(wid: str, wf: Workflow, step: str) -> list[Action]:
    steps = {s.step_id: s for s in wf.steps}
    if step == ON_PAID:
        actions = wf.on_paid
    elif step in steps:
        actions = steps[step].actions
    else:
        known = ", ".join([*steps, *([ON_PAID] if wf.on_paid else [])])
        raise Refused(f"workflow {wid} has no step {step!r} (steps: {known})")
    if not actions:
        raise Refused(f"workflow {wid} has no {step} actions")
    return actions


class Due(NamedTuple):
    """The day a customer's step is shown as of, the invoices it lists that day, and the
    notes saying why that is not the day asked."""

    day: date
    items: list[OpenInvoice]
    notes: list[str]


def _when_due(
    project: Project,
    ledger: Ledger,
    wid: str,
    step: str,
    customer: Customer,
    as_of: date,
    db: StateDB | None,
) -> Due:
    """The first day from `as_of` on which the planner would run the step for the customer
    (`when.runs_ahead`, over the past the state database holds), with the invoices it lists
    then; when the step will not run for it, the step's own day on the schedule."""
    cfg = project.config
    cid = customer.customer_id
    past = read_past_state(db, project.models, as_of) if db is not None else PastState()
    if db is not None:  # issue 33: a disputed invoice is on hold, a disputed part not listed
        ledger = disputes.before_planning(db, cfg, ledger, past, as_of).ledger
    last = db.last_contacts(CUSTOMER_FACING).get(cid) if db is not None else None
    notes: list[str] = []
    entry, schedule = _followed(project, ledger, wid, customer, past, as_of, notes)
    holds = Holds(past)
    contact = Contact(last, cfg.contact_gap)
    index = schedule.ids.index(step)
    days: dict[date, list[OpenInvoice]] = {}
    why: set[str] = set()
    targets = targets_of(schedule, cid, wid, entry, entry.items, past, as_of)
    for dated in targets:
        ran = past.ran.get((dated.target, wid), NOTHING_RAN)
        day, reason = _step_day(schedule, holds, customer, dated, ran, as_of, contact, index)
        if day is None:
            why.add(reason)
        else:
            free = free_items(schedule, holds, customer, dated.items, day)
            days.setdefault(day, []).extend(free)
    if days:
        day = min(days)
        if day != as_of:
            notes.append(
                f"{step} is not due for {cid} on {as_of}; it is due on {day}, "
                "and is shown as it would go then"
            )
        return Due(day, days[day], notes)
    scheduled = {dated.target: _scheduled(schedule, dated, index) for dated in targets}
    day = min(scheduled.values())
    notes.append(
        f"{step} will not go to {cid}: {'; '.join(sorted(why))}; shown as it "
        + ("would have gone" if day < as_of else "would go")
        + f" on {day}, its day on the schedule"
    )
    return Due(day, [i for t in targets if scheduled[t.target] == day for i in t.items], notes)


def _followed(
    project: Project,
    ledger: Ledger,
    wid: str,
    customer: Customer,
    past: PastState,
    as_of: date,
    notes: list[str],
) -> tuple[FollowedInvoices, StepSchedule]:
    """The customer's invoices in the workflow as the planner sorts them; when it follows
    another, its open invoices that fit the workflow's `match:`, as if it followed this one
    (said in `notes`)."""
    cfg = project.config
    cid = customer.customer_id
    by_workflow = sort_into_workflows(
        ledger, project.models, past, as_of, cfg.default_workflow, cfg.min_balance
    )
    wf = project.workflows[wid].model
    schedule = by_workflow.schedules.get(wid) or StepSchedule(wid, wf)
    entry = by_workflow.following.get((cid, wid))
    if entry is not None:
        return entry, schedule
    fits = _invoices(ledger, wid, wf, customer, as_of, cfg.min_balance, False)
    others = sorted(w for c, w in by_workflow.following if c == cid)
    notes.append(
        f"{cid} does not follow {wid}"
        + (f" (it follows {', '.join(others)})" if others else "")
        + "; shown as if it did"
    )
    return FollowedInvoices([OpenInvoice(inv, inv.open_balance(as_of)) for inv in fits]), schedule


def _step_day(
    schedule: StepSchedule,
    holds: Holds,
    customer: Customer,
    dated: TargetDates,
    ran: frozenset[str] | set[str],
    as_of: date,
    contact: Contact,
    index: int,
) -> tuple[date | None, str]:
    """The day the planner would run step `index` for one target, or None and why not."""
    if schedule.ids[index] in ran:
        return None, "it already ran"
    for run in runs_ahead(schedule, holds, customer, dated, ran, as_of, contact):
        if run.day is None:
            return None, "a pause without an end holds it (`arflow resume`)"
        if index in run.steps:
            return run.day, ""
        if max(run.steps) > index:
            break
    return None, "its day has passed (a later step took its place, or it expired)"


def _scheduled(schedule: StepSchedule, dated: TargetDates, index: int) -> date:
    """A target's step day on the schedule, on a day the workflow sends on."""
    day = schedule.dates(dated.anchor)[index]
    return day if schedule.calendar is None else schedule.calendar.roll_forward(day)


def _invoices(
    ledger: Ledger,
    wid: str,
    wf: Workflow,
    customer: Customer,
    as_of: date,
    min_balance: Decimal,
    paid: bool,
) -> list[Invoice]:
    """The customer's invoices the step would list: open ones (that fit `match:`), or for
    `on_paid` its invoices that are paid."""
    mine = ledger.of_customers([customer.customer_id])[customer.customer_id]
    if paid:
        found = [inv for inv in mine if inv.issue_date <= as_of and not inv.open_balance(as_of)]
        what = "paid invoice"
    else:
        found = [inv for inv in mine if inv.is_open(as_of, min_balance)]
        if wf.match is not None and customer.workflow != wid:
            matcher = Matcher(wid, wf.match)
            found = [inv for inv in found if matcher.fits(inv, inv.open_balance(as_of), customer)]
        what = "open invoice" + (" that fits its match:" if wf.match is not None else "")
    if not found:
        raise Refused(
            f"customer {customer.customer_id} has no {what} on {as_of} for workflow "
            f"{wid}; preview it without --customer to see a sample"
        )
    return found[-20:] if paid else found


def _statement(
    project: Project, ledger: Ledger, wid: str, customer: Customer, as_of: date, result: Plan
) -> None:
    """A campaign's next statement to the customer (conditions checked on its day)."""
    wf = project.workflows[wid].model
    day = next_statement(wf, as_of, ())
    if day is None:
        raise ArflowError(f"campaign {wid} has no occurrence after {as_of}")
    open_by_customer: dict[str, list[Invoice]] = {}
    for inv in ledger.current(day, project.config.min_balance):
        open_by_customer.setdefault(inv.customer_id, []).append(inv)
    sample = customer.customer_id == SAMPLE_ID
    # the sample customer gets the statement whatever the campaign's match: and conditions
    shown = wf.model_copy(update={"conditions": [], "match": None}) if sample else wf
    found, skipped = statements(
        wid, shown, open_by_customer, ledger.customers, day, project.config.min_balance
    )
    mine = [s for s in found if s.customer_id == customer.customer_id]
    if not mine:
        why = next(
            (s.reason for s in skipped if s.customer_id == customer.customer_id),
            "it does not fit the campaign's match:",
        )
        raise Refused(
            f"customer {customer.customer_id} gets no statement from {wid} on {day}: {why}"
        )
    statement = mine[0]
    target = customer_target(customer.customer_id)
    add_actions(
        result,
        customer,
        wid,
        wf,
        day.isoformat(),
        wf.actions,
        [SlotInvoice(inv, inv.open_balance(day), target) for inv in statement.listed],
        project.config.people,
        day,
        set(),
    )
    for action in result.actions:
        action.statement = statement
    result.as_of = day


def _sample_ledger(
    project: Project, wid: str, step: str, as_of: date, notes: list[str]
) -> tuple[Ledger, date]:
    """A sample customer with two invoices for which the step is due on the day shown: as_of,
    or the next day the workflow sends on (said in `notes`); and that day."""
    cfg = project.config
    wf = project.workflows[wid].model
    schedule = StepSchedule(wid, wf)
    day = as_of
    if step in schedule.ids:
        if not schedule.sends_on(as_of):
            assert schedule.calendar is not None  # only a business calendar has days off
            day = schedule.calendar.roll_forward(as_of)
            notes.append(
                f"{wid} counts business days and sends nothing on {as_of}; "
                f"shown as it would go on {day}"
            )
        anchor = _anchor_on(schedule, schedule.ids.index(step), day)
    else:  # on_paid, a campaign's statement: invoices a month late
        anchor = as_of - timedelta(days=30)
    if wf.anchor == "issue_date":
        issue, due = anchor, anchor + timedelta(days=30)
    elif wf.anchor == "due_date":
        issue, due = min(anchor - timedelta(days=30), day), anchor
    else:  # `assigned`: a customer a month late when the sequence starts
        due = anchor - timedelta(days=30)
        issue = due - timedelta(days=30)
    specialist = next((key for key, p in cfg.people.items() if p.specialist), None)
    customer = Customer(
        SAMPLE_ID,
        "Sample Customer Ltd",
        ("ap@customer.example",),
        "+12025550123",
        specialist=specialist,
        segment="retail",
    )
    first = Invoice(
        "INV-1001",
        SAMPLE_ID,
        issue,
        due,
        Decimal("1250.00"),
        None,
        None,
        cfg.company.currency,
        "paid" if step == ON_PAID else "open",
        0,
        customer_name=customer.name,
        email=customer.email,
        phone=customer.phone,
        terms="Net 30",
        product="hosting",
        segment="retail",
    )
    # due the same day: the step lists both (SPEC 4.4)
    second = replace(first, number="INV-1002", amount=Decimal("89.50"))
    return Ledger([first, second], {SAMPLE_ID: customer}, []), day


def _anchor_on(schedule: StepSchedule, index: int, day: date) -> date:
    """The latest anchor date (due date, issue date or assignment day) from which the step's
    date (`StepSchedule.dates`, the planner's) is `day`, a day the workflow sends on."""
    reach = timedelta(days=2 * abs(schedule.steps[index].day) + 30)
    low, high = day - reach, day + reach  # dates(low)[index] <= day < dates(high)[index]
    while (high - low).days > 1:
        middle = low + timedelta(days=(high - low).days // 2)
        if schedule.dates(middle)[index] <= day:
            low = middle
        else:
            high = middle
    assert schedule.dates(low)[index] == day, (schedule.wid, index, day)
    return low
