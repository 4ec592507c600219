"""Where each customer stands in the workflows it follows (SPEC 4.5), for `arflow status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arflow.ledger import Ledger
from arflow.planner.campaigns import audience, next_statement
from arflow.planner.matching import sequence_since, sort_into_workflows, targets_of
from arflow.planner.plan_types import NOTHING_RAN, PastState, customer_target, invoice_numbers
from arflow.planner.schedule import StepSchedule, decide_steps
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
) -> list[Position]:
    """Every customer's position in each workflow it follows today, and in each campaign that
    reaches it (last and next occurrence), for `arflow status`. `step_dates` maps (target,
    workflow, step) to the day the step ran."""
    campaigns = sorted(wid for wid, wf in workflows.items() if wf.enabled and wf.is_campaign)
    by_workflow = sort_into_workflows(
        ledger, workflows, state, as_of, default_workflow, min_balance, keep_open=bool(campaigns)
    )
    found = []
    for (cid, wid), entry in sorted(by_workflow.following.items()):
        schedule = by_workflow.schedules[wid]
        pos = Position(cid, wid, entry.source, invoice_numbers(inv for inv, _ in entry.items))
        if schedule.wf.anchor == "assigned":
            pos.since = sequence_since(cid, wid, entry, state, as_of)
        for target, anchor, earliest, _ in targets_of(
            schedule, cid, wid, entry, entry.items, state, as_of
        ):
            ran = state.ran.get((target, wid), NOTHING_RAN)
            for sid in ran:
                day = step_dates.get((target, wid, sid))
                if day is not None and (
                    pos.last_date is None
                    or pos.last_step is None
                    or (day, schedule.ids.index(sid))
                    > (pos.last_date, schedule.ids.index(pos.last_step))
                ):
                    pos.last_step, pos.last_date = sid, day
            step, day = _next_step(schedule, schedule.dates(anchor), earliest, as_of, ran)
            if (
                step is not None
                and day is not None
                and (pos.next_date is None or day < pos.next_date)
            ):
                pos.next_step, pos.next_date = step, day
        found.append(pos)
    for wid in campaigns:
        wf = workflows[wid]
        for member in audience(wid, wf, by_workflow.open_invoices, by_workflow.customers, as_of):
            target = customer_target(member.customer_id)
            sent = state.ran.get((target, wid), NOTHING_RAN)
            pos = Position(member.customer_id, wid, "campaign", invoice_numbers(member.invoices))
            if sent:
                pos.last_step = max(sent)  # an occurrence date: the latest sorts last
                pos.last_date = step_dates.get((target, wid, pos.last_step))
            pos.next_date = next_statement(wf, as_of, sent)
            pos.next_step = pos.next_date.isoformat() if pos.next_date else None
            found.append(pos)
    found.sort(key=lambda p: p.customer_id)  # a customer's workflows, then its campaigns
    return found


class NextStep(NamedTuple):
    step: str | None  # None: no step is left
    day: date | None


def _next_step(
    schedule: StepSchedule,
    dates: list[date],
    earliest: date,
    as_of: date,
    ran: set[str] | frozenset[str],
) -> NextStep:
    decision = decide_steps(schedule, dates, earliest, as_of, ran)
    if decision.run:  # due now: it goes out with the next run
        return NextStep(schedule.ids[decision.run[0]], max(dates[decision.run[0]], as_of))
    last_ran = max((i for i, sid in enumerate(schedule.ids) if sid in ran), default=-1)
    for i in range(last_ran + 1, len(schedule.ids)):
        if dates[i] > as_of and dates[i] >= earliest:
            return NextStep(schedule.ids[i], dates[i])
    return NextStep(None, None)
