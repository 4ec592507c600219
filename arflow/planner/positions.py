"""Where each customer stands in the workflows it follows (SPEC 4.5), for `arflow status`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arflow.ledger import Ledger
from arflow.planner.campaigns import audience
from arflow.planner.matching import sequence_since, sort_into_workflows, targets_of
from arflow.planner.plan_types import NOTHING_RAN, PastState, customer_target, invoice_numbers
from arflow.planner.schedule import StepSchedule
from arflow.planner.when import Contact, Holds, next_statement_day, runs_ahead
from arflow.rules import DEFAULT_MIN_BALANCE
from arflow.workflow import Workflow


@dataclass(slots=True)
class Position:
    """Where one customer stands in one workflow: the last step that ran, the next one."""

    customer_id: str
    workflow: str
    source: str  # assign | file | match | default | chain | campaign
    invoices: list[str]
    since: date | None = None  # an `assigned` sequence's first day
    last_step: str | None = None
    last_date: date | None = None
    next_step: str | None = None
    next_date: date | None = None

    @property
    def finished(self) -> bool:
        return self.last_step is not None and self.next_step is None


def positions(
    ledger: Ledger,
    workflows: dict[str, Workflow],
    state: PastState,
    as_of: date,
    step_dates: dict[tuple[str, str, str], date],
    *,
    default_workflow: str | None = None,
    min_balance: Decimal = DEFAULT_MIN_BALANCE,
    last_contacts: Mapping[str, date] | None = None,
    contact_gap: int | None = None,
) -> list[Position]:
    """Every customer's position in each workflow it follows today, and in each campaign that
    reaches it (last and next occurrence), for `arflow status`. `step_dates` maps (target,
    workflow, step) to the day the step ran. The next step's date is the day the planner
    would really run it (`when.runs_ahead`): a day the workflow sends on, past pauses and
    promises, and past the contact gap from the customer's last contact (`last_contacts`)."""
    campaigns = sorted(wid for wid, wf in workflows.items() if wf.enabled and wf.is_campaign)
    by_workflow = sort_into_workflows(
        ledger, workflows, state, as_of, default_workflow, min_balance, keep_open=bool(campaigns)
    )
    holds = Holds(state)
    contacts = last_contacts or {}
    found = []
    for (cid, wid), entry in sorted(by_workflow.following.items()):
        schedule = by_workflow.schedules[wid]
        pos = Position(cid, wid, entry.source, invoice_numbers(inv for inv, _ in entry.items))
        if schedule.wf.anchor == "assigned":
            pos.since = sequence_since(cid, wid, entry, state, as_of)
        contact = Contact(contacts.get(cid), contact_gap)
        customer = by_workflow.customers[cid]
        for dated in targets_of(schedule, cid, wid, entry, entry.items, state, as_of):
            ran = state.ran.get((dated.target, wid), NOTHING_RAN)
            _last_step(pos, schedule, ran, step_dates, dated.target)
            run = next(runs_ahead(schedule, holds, customer, dated, ran, as_of, contact), None)
            if run is not None and run.steps:
                _earlier_next(pos, schedule.ids[run.steps[0]], run.day)
        found.append(pos)
    for wid in campaigns:
        wf = workflows[wid]
        for member in audience(wid, wf, by_workflow.open_invoices, by_workflow.customers, as_of):
            cid = member.customer_id
            target = customer_target(cid)
            sent = state.ran.get((target, wid), NOTHING_RAN)
            pos = Position(cid, wid, "campaign", invoice_numbers(member.invoices))
            if sent:
                pos.last_step = max(sent)  # an occurrence date: the latest sorts last
                pos.last_date = step_dates.get((target, wid, pos.last_step))
            contact = Contact(contacts.get(cid), contact_gap)
            upcoming = next_statement_day(wf, holds, member.customer, as_of, sent, contact)
            if upcoming is not None:
                pos.next_step, pos.next_date = upcoming.occurrence.isoformat(), upcoming.day
            found.append(pos)
    found.sort(key=lambda p: p.customer_id)  # a customer's workflows, then its campaigns
    return found


def _last_step(
    pos: Position,
    schedule: StepSchedule,
    ran: Collection[str],
    step_dates: dict[tuple[str, str, str], date],
    target: str,
) -> None:
    """The target's last step that ran, when it ran after the position's last one."""
    for sid in ran:
        day = step_dates.get((target, schedule.wid, sid))
        if day is not None and (
            pos.last_date is None
            or pos.last_step is None
            or (day, schedule.ids.index(sid)) > (pos.last_date, schedule.ids.index(pos.last_step))
        ):
            pos.last_step, pos.last_date = sid, day


def _earlier_next(pos: Position, step: str, day: date | None) -> None:
    """A target's next step, when it goes before the position's next one (a step held until
    a pause is resumed, dated None, comes after every dated one)."""
    if pos.next_step is None or (
        day is not None and (pos.next_date is None or day < pos.next_date)
    ):
        pos.next_step, pos.next_date = step, day
