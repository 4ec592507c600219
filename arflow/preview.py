"""`arflow preview` (seed 001's Preview button): the messages one step of a workflow would
send, for a customer's real open invoices or for a sample customer, composed by the same code
as a run (`compose`). Nothing is read from or written to the state database: pauses, promises
and what already ran do not apply; the step is shown as if it were due today."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from arflow.engine import SlotInvoice, add_actions
from arflow.errors import ArflowError, Refused
from arflow.ledger import Customer, Invoice, Ledger
from arflow.planner.campaigns import next_statement, statements
from arflow.planner.match import Matcher
from arflow.planner.plan_types import Plan, customer_target, invoice_target
from arflow.planner.schedule import ON_PAID
from arflow.project import Project
from arflow.workflow import Workflow

NEXT = "next"  # a campaign's STEP: its next statement
SAMPLE_ID = "SAMPLE"


def preview_plan(
    project: Project,
    ledger: Ledger | None,
    wid: str,
    step: str,
    customer_id: str | None,
    as_of: date,
) -> tuple[Plan, Ledger]:
    """The actions of step `step` of workflow `wid` for the customer (None: a sample one), and
    the ledger to compose them against."""
    loaded = project.workflows.get(wid)
    if loaded is None:
        raise Refused(f"no workflow {wid!r} (workflows: {', '.join(sorted(project.workflows))})")
    wf = loaded.model
    cfg = project.config
    if ledger is None or customer_id is None:
        ledger = _sample_ledger(project, wid, step, as_of)
        customer_id = SAMPLE_ID
    elif customer_id not in ledger.customers:
        raise Refused(f"--customer {customer_id!r}: no such customer in the sources")
    customer = ledger.customers[customer_id]
    result = Plan(as_of=as_of)
    if wf.is_campaign:
        if step != NEXT:
            raise Refused(f"{wid} is a campaign: its STEP is `next` (its next statement)")
        _statement(project, ledger, wid, customer, as_of, result)
        return result, ledger
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
    invoices = _invoices(ledger, wid, wf, customer, as_of, cfg.min_balance, paid=step == ON_PAID)
    by_invoice = wf.anchor != "assigned"
    add_actions(
        result,
        customer,
        wid,
        wf,
        step,
        actions,
        [
            SlotInvoice(
                inv,
                inv.open_balance(as_of) if step != ON_PAID else inv.amount,
                invoice_target(inv.number) if by_invoice else customer_target(customer.customer_id),
            )
            for inv in invoices
        ],
        cfg.people,
        as_of,
        set(),
    )
    return result, ledger


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


def _sample_ledger(project: Project, wid: str, step: str, as_of: date) -> Ledger:
    """A sample customer with two invoices, the first one as late as the step's day."""
    cfg = project.config
    wf = project.workflows[wid].model
    day = next((s.day for s in wf.steps if s.step_id == step), 30)
    due = as_of - timedelta(days=max(day, 0))
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
        due - timedelta(days=30),
        due,
        Decimal("1250.00"),
        None,
        None,
        cfg.company.currency,
        "open",
        0,
        customer_name=customer.name,
        email=customer.email,
        phone=customer.phone,
        terms="Net 30",
        product="hosting",
        segment="retail",
    )
    second = replace(
        first,
        number="INV-1002",
        due_date=due + timedelta(days=14),
        issue_date=due - timedelta(days=16),
        amount=Decimal("89.50"),
    )
    if step == ON_PAID:
        first = replace(first, status="paid")
        second = replace(second, status="paid")
    return Ledger([first, second], {SAMPLE_ID: customer}, [])
