"""Tonight's plan for a folder: the planner (`engine.plan`) given the project's workflows and
settings, the past state read from the state database, the specialists the desk set, and what
the inbox changes in its answer (SPEC 6.1: bounced addresses, the contact gap, the notices to
`replies.notify`). A run, a baseline and a forecast's days plan through `plan_tonight`;
`plan_today` is the planner for a project against any past."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from arflow.actions import CUSTOMER_FACING
from arflow.collector import collector_paused
from arflow.contacts import drop_bounced, inbox_notices, space_contacts
from arflow.digest_night import digest_night
from arflow.disputes import night as disputes
from arflow.engine import plan
from arflow.holds.night import credit_hold_night
from arflow.ledger import Ledger
from arflow.planner.past_state import read_past_state
from arflow.planner.plan_types import PastState, Plan, Skip, notice_key
from arflow.planner.schedule import ON_PAID
from arflow.plans.night import after_planning, before_planning, plan_events
from arflow.project import Project
from arflow.state import ActionRow, StateDB


def plan_today(
    project: Project, ledger: Ledger, past: PastState, as_of: date, *, baseline: bool = False
) -> Plan:
    cfg = project.config
    return plan(
        ledger,
        project.models,
        past,
        as_of,
        default_workflow=cfg.default_workflow,
        min_balance=cfg.min_balance,
        people=cfg.people,
        baseline=baseline,
    )


def plan_tonight(
    db: StateDB,
    project: Project,
    ledger: Ledger,
    as_of: date,
    *,
    baseline: bool = False,
    actions: Iterable[ActionRow] | None = None,
) -> Plan:
    """What a run does tonight: the planner's answer over the past the state database holds
    (with the specialists the desk set), less what the inbox stopped (SPEC 6.1), plus the
    notices the inbox owes. `actions`: the action ledger's rows of the customers in `ledger`
    (a forecast's later days), else the state database's."""
    with collector_paused():  # the past and the plan hold no reference cycles
        past = read_past_state(db, project.models, as_of, actions=actions)
        plans = before_planning(db, project.config, ledger, past, as_of)  # issue 32
        disputed = disputes.before_planning(db, project.config, plans.ledger, past, as_of)
        planned = _planned(db, project, disputed.ledger, past, as_of, baseline)
        after_planning(plans, planned, past, project.config, project.models)
        disputes.after_planning(disputed, planned, past, project.config, project.models)
        db.record_plan_events(plan_events(plans))
        credit_hold_night(db, project.config, ledger, past, planned)  # issue 33
        if not baseline:  # issue 34: the weekly digest (a baseline sends nothing)
            digest_night(db, project, ledger, past, planned)
        if ledger.received and not baseline:
            planned.skipped += received_skips(project, ledger, past, as_of)
    if not baseline:  # SPEC 6.1: what the inbox changes
        cfg = project.config
        drop_bounced(planned, _bounced(db, ledger))
        if cfg.contact_gap:  # each customer's last contact, read only when it counts
            space_contacts(planned, db.last_contacts(CUSTOMER_FACING), cfg.contact_gap)
        rows = db.notices_due(notice_key)
        answered = {
            row["action_key"]: (db.action(row["action_key"]) or {}).get("invoices", [])
            for row in rows
            if row["action_key"]
        }
        inbox_notices(planned, rows, cfg, ledger, answered)
    return planned


def _planned(
    db: StateDB, project: Project, ledger: Ledger, past: PastState, as_of: date, baseline: bool
) -> Plan:
    # a specialist set by an `assign` action or command wins over the customers file
    for cid, person in db.specialists().items():
        customer = ledger.customers.get(cid)
        if customer is not None:
            customer.specialist = person
    return plan_today(project, ledger, past, as_of, baseline=baseline)


def received_skips(project: Project, ledger: Ledger, past: PastState, as_of: date) -> list[Skip]:
    """Issue 32: what tonight would have sent about the invoices payments from the bank cover
    (`Ledger.received`) had the sources' balances been all arflow knew, as skips
    `payment-received` (nothing recorded: the step goes if the payment is unmatched later)."""
    source = ledger.received
    cids = {inv.customer_id for inv in ledger.find(source).values()}
    invoices = [
        replace(inv, balance=source[inv.number]) if inv.number in source else inv
        for rows in ledger.of_customers(cids, owing_on=as_of).values()
        for inv in rows
    ]
    unpaid = plan_today(project, ledger.cut_to_customers(invoices, cids), past, as_of)
    found: dict[tuple[str, str, str], list[str]] = {}
    for action in unpaid.actions:
        numbers = [n for n in action.invoices if n in source]
        where = (action.workflow, action.step, action.customer_id)
        if numbers and action.step != ON_PAID:
            for n in numbers:
                if n not in found.setdefault(where, []):
                    found[where].append(n)
    return [
        Skip(wid, sid, cid, numbers, "payment-received")
        for (wid, sid, cid), numbers in found.items()
    ]


def _bounced(db: StateDB, ledger: Ledger) -> dict[str, set[str]]:
    """Customer → its addresses that bounced. A mark ends once the source gives the customer
    other addresses than it had when the address bounced."""
    found: dict[str, set[str]] = {}
    ended = []
    for row_id, cid, address, emails in db.bounced():
        customer = ledger.customers.get(cid)
        if customer is not None and sorted(a.lower() for a in customer.email) != sorted(
            a.lower() for a in emails
        ):
            ended.append(row_id)
            continue
        found.setdefault(cid, set()).add(address.lower())
    db.clear_bounces(ended)
    return found
