"""Step dates and which steps are due (SPEC 4.1–4.3): a workflow's steps dated from an anchor,
in calendar or business days, with catch-up and expiry. (A campaign's `schedule:` of
occurrences is another thing.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import NamedTuple

from arflow.calendar import BusinessCalendar
from arflow.workflow import Action, Step, Workflow

# planning slots past a workflow's steps (see StepSchedule.slot)
ON_PAID = "on_paid"
FINISH_TEMPLATE, PAUSE_TEMPLATE = "workflow-finished", "workflow-paused"


class SlotActions(NamedTuple):
    """What a planning slot does: the step id the plan reports, and its actions."""

    step: str
    actions: list[Action]


class StepSchedule:
    """A workflow's ordered steps with their dates per anchor date, cached (anchors repeat)."""

    def __init__(self, wid: str, wf: Workflow):
        self.wid = wid
        self.wf = wf
        self.steps: list[Step] = wf.ordered_steps()
        self.ids = [s.step_id for s in self.steps]
        self.calendar = BusinessCalendar(wf.holidays) if wf.business_days else None
        self._dates: dict[date, list[date]] = {}

    def dates(self, anchor: date) -> list[date]:
        found = self._dates.get(anchor)
        if found is None:
            if self.calendar is None:
                found = [anchor + timedelta(days=s.day) for s in self.steps]
            else:
                found = [self.calendar.offset(anchor, s.day) for s in self.steps]
            self._dates[anchor] = found
        return found

    def slot(self, slot: int | str) -> SlotActions:
        """The step id and actions of a planning slot: a step index, `on_paid`, `finish`, or
        the `pause-N`/`promise-N` notice of one hold."""
        if isinstance(slot, int):
            return SlotActions(self.ids[slot], self.steps[slot].actions)
        if slot == ON_PAID:
            return SlotActions(slot, self.wf.on_paid)
        template = FINISH_TEMPLATE if slot == "finish" else PAUSE_TEMPLATE
        return SlotActions(slot, [_owner_notice(template)])

    def order(self, slot: int | str) -> int:
        if isinstance(slot, int):
            return slot
        if slot in self.ids:
            return self.ids.index(slot)
        return len(self.ids) + {"finish": 1, ON_PAID: 2}.get(slot, 0)

    def sends_on(self, as_of: date) -> bool:
        # SPEC 4.1: with business days nothing is sent on a non-business as-of date
        return self.calendar is None or self.calendar.is_business_day(as_of)


@cache
def _owner_notice(template: str) -> Action:
    return Action.model_validate({"notify": {"to": ["owner"], "template": template}})


class SkippedStep(NamedTuple):
    step: int  # the step's place in StepSchedule.steps
    reason: str  # expired | superseded


@dataclass(slots=True)
class StepDecision:
    """The steps of one target that run today, and those skipped (step indexes)."""

    run: list[int]
    skipped: list[SkippedStep]


def decide_steps(
    schedule: StepSchedule,
    step_dates: list[date],
    earliest: date,
    as_of: date,
    ran: set[str] | frozenset[str],
) -> StepDecision:
    """Which steps of one target run today and which are skipped, and why (SPEC 4.2, 4.3)."""
    ids = schedule.ids
    last_ran = max((i for i, sid in enumerate(ids) if sid in ran), default=-1) if ran else -1
    due = [
        i
        for i in range(last_ran + 1, len(ids))
        if step_dates[i] <= as_of and step_dates[i] >= earliest and ids[i] not in ran
    ]
    skipped: list[SkippedStep] = []
    live = []
    for i in due:
        expires = schedule.steps[i].expires_after
        if expires is not None and (as_of - step_dates[i]).days > expires:
            skipped.append(SkippedStep(i, "expired"))
        else:
            live.append(i)
    if schedule.wf.catch_up == "latest" and len(live) > 1:
        skipped += [SkippedStep(i, "superseded") for i in live[:-1]]
        live = live[-1:]
    skipped.sort()
    return StepDecision(live, skipped)
