"""Payment plans in tonight's plan (issue 32).

Before planning (`before_planning`): each plan's standing; the invoices of a plan on track go
on hold (`PastState.on_plan`: no reminders from their workflow); each instalment not met is
an item of its own in the ledger the planner sees (`PLAN-ID.N`: the customer's, due on the
instalment's day, its unpaid part as balance), routed to `plan_workflow:`, so the planner's
own machinery (steps, action keys, skips) chases it exactly once per step; a broken plan's
invoices follow `on_broken_plan:` from the day after the grace ended. A met instalment is no
item any more: its pending steps are not sent.

After planning (`after_planning`): the broken plans' notices to the specialist (once: the key
`plan:ID/plans/broken/0`), `plan` for the templates of the instalments' messages, the plan's
counts put right, and the events a run records (`StateDB.record_plan_events`; a dry run's
state writes nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import polars as pl

from arflow.actions import KINDS, person_addresses
from arflow.config import Config
from arflow.engine import plan as engine_plan
from arflow.ledger import Invoice, Ledger, frame_from_invoices
from arflow.planner.plan_types import ActionKey, PastState, Plan, PlannedAction, Route, Skip
from arflow.plans import BROKEN_TEMPLATE
from arflow.plans.standing import BROKEN, ON_TRACK, Standing, standing
from arflow.state import StateDB
from arflow.state.plans import PlanEvent, PlanRow
from arflow.workflow import Action, Workflow

PLANS = "plans"  # the workflow name of a plan's notices (no workflow file has it)
ON_PLAN = "plan"  # the skip reason of a step a plan on track holds back


def instalment_number(plan_id: int, n: int) -> str:
    """The number an instalment goes by in messages and action keys: `PLAN-3.1`."""
    return f"PLAN-{plan_id}.{n}"


def instalment_owners(db: StateDB) -> dict[str, str]:
    """The number of every plan's instalments, and the target of its notice (`plan:ID`) →
    its customer."""
    found = {}
    for p in db.plans():
        found[notice_target(p.plan_id)] = p.customer_id
        for n in range(1, len(p.instalments) + 1):
            found[instalment_number(p.plan_id, n)] = p.customer_id
    return found


def notice_target(plan_id: int) -> str:
    """The target of a plan's own actions (its broken notice)."""
    return f"plan:{plan_id}"


@dataclass(slots=True)
class PlanNight:
    """Tonight's plans: the ledger the planner sees, the standings, and by item number (an
    instalment's) its plan's id."""

    ledger: Ledger
    standings: dict[int, Standing] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)


def standings_on(db: StateDB, ledger: Ledger, as_of: date, config: Config) -> dict[int, Standing]:
    """Every plan made by `as_of`, where it stands that day (by plan id)."""
    plans = [p for p in db.plans() if p.made_on <= as_of]
    if not plans:
        return {}
    numbers = {n for p in plans for n in p.invoices}
    # the balances of the ledger given (payments from the bank lowered them); a plan none of
    # whose invoices it has is another customer's (`run --customer`, a forecast's day): left
    # out, unless the sources have none of them either (gone: paid)
    here = ledger.find(numbers)
    whole = ledger.whole.find(numbers) if ledger.whole is not ledger else {}
    plans = [
        p
        for p in plans
        if any(n in here for n in p.invoices) or not any(n in whole for n in p.invoices)
    ]
    balances = {n: inv.open_balance(as_of) for n, inv in {**whole, **here}.items()}
    events = db.plan_events()
    return {
        p.plan_id: standing(p, balances, events, as_of, config.plan_grace_days, config.min_balance)
        for p in plans
    }


def before_planning(
    db: StateDB, config: Config, ledger: Ledger, past: PastState, as_of: date
) -> PlanNight:
    """Tonight's plans put into `past` (holds, routes) and the ledger (the instalments)."""
    standings = standings_on(db, ledger, as_of, config)
    night = PlanNight(ledger, standings)
    items: list[Invoice] = []
    invoices = ledger.find({n for s in standings.values() for n in s.plan.invoices})
    latest = {n: pid for pid in sorted(standings) for n in standings[pid].plan.invoices}
    for s in standings.values():
        plan = s.plan
        if s.state == ON_TRACK:
            past.on_plan.update(plan.invoices)
            # (the first the ledger still has: a paid invoice may have left the export)
            first = next((invoices[n] for n in plan.invoices if n in invoices), None)
            if config.plan_workflow and first is not None:
                for inst in s.instalments:
                    if inst.state != "met":
                        item = _item(first, inst.n, inst.due, inst.unpaid, plan)
                        items.append(item)
                        night.items[item.number] = plan.plan_id
                        past.routed[item.number] = Route(config.plan_workflow)
        elif s.state == BROKEN and config.on_broken_plan:
            for number in plan.invoices:
                if latest.get(number) == plan.plan_id:  # not on a later plan since
                    past.routed[number] = Route(config.on_broken_plan, s.broken_on)
    if items:
        night.ledger = _with_items(ledger, items)
    return night


def _item(first: Invoice, n: int, due: date, unpaid: Decimal, plan: PlanRow) -> Invoice:
    """An instalment as an item of the ledger: the customer's, due on its day, its unpaid
    part as balance, its contacts those of the plan's first invoice."""
    return Invoice(
        number=instalment_number(plan.plan_id, n),
        customer_id=first.customer_id,
        issue_date=plan.made_on,
        due_date=due,
        amount=unpaid,
        balance=unpaid,
        paid_date=None,
        currency=first.currency,
        status="open",
        line=0,
        customer_name=first.customer_name,
        email=first.email,
        phone=first.phone,
    )


def _with_items(ledger: Ledger, items: list[Invoice]) -> Ledger:
    """`ledger` and the instalments, as one ledger (in columns when it was)."""
    if not ledger.columnar:
        return Ledger(
            [*ledger.invoices, *items],
            ledger.customers,
            ledger.errors,
            extra_names=ledger.extra_names,
            reads=ledger.reads,
            whole=ledger,
        )
    return ledger.with_frame(pl.concat([ledger.frame, frame_from_invoices(items)]))


def after_planning(
    night: PlanNight,
    planned: Plan,
    past: PastState,
    config: Config,
    models: dict[str, Workflow],
) -> None:
    """The steps a plan held back (skipped `plan`), the notices of broken plans, `plan` on
    the instalments' messages, and the counts."""
    _held_back(night, planned, past, config, models)
    added = night.ledger.find(night.items)
    planned.invoices -= len(added)
    planned.open -= sum(i.is_open(planned.as_of, config.min_balance) for i in added.values())
    for action in planned.actions:
        ids = sorted({night.items[n] for n in action.invoices if n in night.items})
        if ids:
            action.plan = covered_context([night.standings[i] for i in ids], action.invoices)
    for s in night.standings.values():
        if s.state == BROKEN and s.broken_on is not None and s.broken_on <= planned.as_of:
            _broken_notice(planned, s, past, config, models, night.ledger)


def _held_back(
    night: PlanNight,
    planned: Plan,
    past: PastState,
    config: Config,
    models: dict[str, Workflow],
) -> None:
    """What the invoices of plans on track would have had from their workflows tonight, as
    skips `plan` (with no key: nothing is settled, as for a pause): the planner asked again
    of those invoices alone, the plans' hold left out."""
    if not past.on_plan:
        return
    held = night.ledger.whole.find(past.on_plan)
    if not held:
        return
    alone = Ledger(list(held.values()), night.ledger.customers, [])
    unheld = replace(past, on_plan=set(), routed={})
    would = engine_plan(
        alone,
        models,
        unheld,
        planned.as_of,
        default_workflow=config.default_workflow,
        min_balance=config.min_balance,
        people=config.people,
    )
    planned.skipped += [
        Skip(a.workflow, a.step, a.customer_id, a.invoices, ON_PLAN)
        for a in would.actions
        if a.workflow in models and not models[a.workflow].is_campaign  # statements go on
    ]


def _broken_notice(
    planned: Plan,
    s: Standing,
    past: PastState,
    config: Config,
    models: dict[str, Workflow],
    ledger: Ledger,
) -> None:
    """The specialist (else the plan workflow's owner) hears once that the plan broke."""
    key = ActionKey(notice_target(s.plan.plan_id), PLANS, "broken", 0)
    if key in past.settled:
        return
    cid = s.plan.customer_id
    customer = ledger.customers.get(cid)
    if customer is None:
        return
    action = Action.model_validate(
        {"notify": {"to": ["specialist", "owner"], "template": BROKEN_TEMPLATE}}
    )
    wf = models.get(config.plan_workflow or "") or models.get(config.on_broken_plan or "")
    names: list[str | None] = ["specialist", "owner"] if wf is not None else ["specialist"]
    to = person_addresses(names, customer, wf, config.people)  # type: ignore[arg-type]
    invoices = list(s.plan.invoices)
    if not to:
        if any(e.kind == "broken" for e in s.new_events):  # said the night it broke, not after
            planned.skipped.append(
                Skip(PLANS, "broken", cid, invoices, KINDS["notify"].missing or "", [key])
            )
        return
    items = sorted(
        (
            inv
            for inv in ledger.find(invoices).values()
            if inv.is_open(planned.as_of, config.min_balance)
        ),
        key=lambda inv: (inv.due_date, inv.number),
    )  # the invoices still owed
    planned.actions.append(
        PlannedAction(
            date=planned.as_of,
            workflow=PLANS,
            step="broken",
            action_index=0,
            action=action,
            customer_id=cid,
            invoices=invoices,
            keys=[key],
            to=to,
            items=items,
            plan=plan_context(s, []),
        )
    )


def covered_context(standings: list[Standing], numbers: list[str]) -> dict:
    """`plan` of a message about instalments (`numbers`) of one plan or more (a customer's
    plans, a night catching up): the first plan's, `these` every instalment the message
    covers (each with its `plan`), `due` their unpaid parts together, `plans` each plan's."""
    found = [plan_context(s, numbers) for s in standings]
    first = dict(found[0])
    first["these"] = sorted(
        (row for p in found for row in p["these"]), key=lambda row: (row["date"], row["id"])
    )
    first["due"] = sum((row["unpaid"] for row in first["these"]), Decimal(0))
    first["plans"] = found
    return first


def plan_context(s: Standing, numbers: list[str]) -> dict:
    """`plan` in a template: the plan, its instalments (date, amount, paid, state), the ones
    this message is about (`these`, their unpaid parts together `due`; `instalment`: the
    first)."""
    plan = s.plan
    rows: list[dict] = [
        {
            "number": inst.n,
            "id": instalment_number(plan.plan_id, inst.n),
            "date": inst.due,
            "amount": inst.amount,
            "paid": inst.paid,
            "unpaid": inst.unpaid,
            "state": inst.state,
            "plan": plan.plan_id,
        }
        for inst in s.instalments
    ]
    these = [row for row in rows if row["id"] in numbers]
    due = sum(
        (i.unpaid for i in s.instalments if instalment_number(plan.plan_id, i.n) in numbers),
        Decimal(0),
    )
    return {
        "id": plan.plan_id,
        "invoices": list(plan.invoices),
        "currency": plan.currency,
        "total": plan.total,
        "paid": s.paid,
        "state": s.state,
        "made_on": plan.made_on,
        "broken_on": s.broken_on,
        "instalments": rows,
        "instalment": these[0] if these else None,
        "these": these,
        "due": due,
        "next": next((row for row in rows if row["state"] != "met"), None),
    }


def plan_events(night: PlanNight) -> list[PlanEvent]:
    """What tonight's run records of the plans."""
    return [e for s in night.standings.values() for e in s.new_events]
