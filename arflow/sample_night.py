"""`arflow run --dry-run --sample` (issue 29): the dry run of a night against the sample ledger
(`arflow.sample_ledger`) and a state in memory holding the sample's past. No source is read,
and the state database is neither read nor created: the sample's customers are made up, so
nothing the real state says is about them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from arflow.deliver import RunResult, dry_run_in
from arflow.errors import RowError
from arflow.planner.campaigns import calendar_of, occurrence_due
from arflow.planner.plan_types import ActionKey, invoice_target, sequence_target
from arflow.project import Project
from arflow.sample_ledger import SampleHistory, SampleLedger, anchor_for, sample_ledger
from arflow.state import DryRunState, StateDB, marks
from arflow.workflow import Action, Workflow

SUPERSEDED = "superseded"  # how the sample's earlier steps are recorded: run, nothing sent


WINDOW = 400  # days searched for the first day a step not due on the as-of day can be


@dataclass
class SampleDay:
    """The sample planned and rendered on one day: on the as-of day every enabled workflow;
    on a later day (`only`) the workflows with a step that could not be due before it."""

    as_of: date
    sample: SampleLedger
    result: RunResult
    only: list[str] | None = None


@dataclass
class SampleNight:
    sample: SampleLedger
    result: RunResult
    later: list[SampleDay] = field(default_factory=list)  # by day, the as-of day's after it

    @property
    def errors(self) -> list[RowError]:
        """The errors of every day: any of them fails the sample."""
        return [*self.result.errors, *(e for day in self.later for e in day.result.errors)]


def sample_night(project: Project, as_of: date) -> SampleNight:
    """The sample's dry run on `as_of`: every message planned and rendered, nothing recorded;
    a step that cannot be due on `as_of` (a business day's, a campaign's statement) is planned
    and rendered on the first day after it when it can be, within `WINDOW` days."""
    first = _sample_day(project, as_of, None)
    days, never = later_days(project.models, as_of)
    later = [_sample_day(project, day, wids) for day, wids in sorted(days.items())]
    first.sample.not_due = _annotated(first.sample.not_due, later, never)
    return SampleNight(first.sample, first.result, later)


def _sample_day(project: Project, as_of: date, only: list[str] | None) -> SampleDay:
    """The sample of `only` (None: every enabled workflow) planned and rendered on `as_of`."""
    cfg = project.config
    models = project.models
    specialist = next((name for name, p in cfg.people.items() if p.specialist), None)
    sample = sample_ledger(
        models,
        as_of,
        currency=cfg.company.currency,
        default_workflow=cfg.default_workflow,
        languages=languages(project),
        specialist=specialist,
        only=only,
    )
    sample.not_due += campaigns_not_due(models, as_of, only)
    path = cfg.resolve(cfg.state)
    db = StateDB.in_memory(path, cfg.display(path), copy=False)
    try:
        _write_past(db, sample.history, models, as_of)
        dry = DryRunState(db.conn, db.path, db.shown)  # from here on, every write is dropped
        return SampleDay(as_of, sample, dry_run_in(project, sample.ledger, as_of, dry), only)
    finally:
        db.close()


def later_days(
    workflows: dict[str, Workflow], as_of: date
) -> tuple[dict[date, list[str]], list[str]]:
    """The first day after `as_of` when each enabled workflow's steps (a campaign's statement)
    that cannot be due on `as_of` can be, with the workflows of each such day; and the
    workflows with no such day within `WINDOW` days."""
    days: dict[date, list[str]] = {}
    never = []
    for wid, wf in sorted(workflows.items()):
        due = _due_test(wf, as_of) if wf.enabled else None
        if due is None:
            continue
        ahead = (as_of + timedelta(days=n) for n in range(1, WINDOW + 1))
        day = next((d for d in ahead if due(d)), None)
        if day is None:
            never.append(wid)
        else:
            days.setdefault(day, []).append(wid)
    return days, never


def _due_test(wf: Workflow, as_of: date) -> Callable[[date], bool] | None:
    """Whether a day is one when the steps of `wf` that cannot be due on `as_of` can be (None:
    every step can be due on `as_of`, or the ones that cannot never can)."""
    if wf.is_campaign:
        if _campaign_why(wf, as_of) is None:
            return None
        return lambda day: _campaign_why(wf, day) is None
    waiting = [s.day for s in wf.steps if anchor_for(wf, s.day, as_of) is None]
    if not waiting:
        return None
    return lambda day: all(anchor_for(wf, n, day) is not None for n in waiting)


def _annotated(not_due: list[str], later: list[SampleDay], never: list[str]) -> list[str]:
    """Each `not due` reason of the as-of day with the day its step was rendered as of, or
    saying that no day within `WINDOW` days could have it."""
    rendered: dict[str, date] = {}
    for day in later:  # a later day is one when its campaigns have an occurrence due
        for wid, step in day.sample.covers:  # a campaign is named alone, a step with its id
            for key in (wid, f"{wid}/{step}"):
                rendered.setdefault(key, day.as_of)
    found = []
    for why in not_due:
        key = why.split(": ", 1)[0]
        if key in rendered:
            why += f", rendered as of {rendered[key]}"
        elif key.split("/")[0] in never:
            why += f", nor on any of the {WINDOW} days after: not rendered"
        found.append(why)
    return found


def languages(project: Project) -> list[str]:
    """The languages the folder's templates speak besides the company's, in order."""
    found = {code for codes in project.templates.languages.values() for code in codes}
    return sorted(found)


def campaigns_not_due(
    workflows: dict[str, Workflow], as_of: date, only: list[str] | None = None
) -> list[str]:
    """The enabled campaigns (of `only`, when given) with no occurrence due on `as_of`, each
    with the reason."""
    found = []
    for wid, wf in sorted(workflows.items()):
        if wf.enabled and wf.is_campaign and (only is None or wid in only):
            why = _campaign_why(wf, as_of)
            if why is not None:
                found.append(f"{wid}: {why}")
    return found


def _campaign_why(wf: Workflow, day: date) -> str | None:
    """Why the campaign has no occurrence due on `day` (None: it has one)."""
    calendar = calendar_of(wf)
    if calendar is not None and not calendar.is_business_day(day):
        return "a campaign, and not a business day"
    if occurrence_due(wf, day) is None:
        return "a campaign with no occurrence due"
    return None


def _write_past(
    db: StateDB, history: list[SampleHistory], models: dict[str, Workflow], as_of: date
) -> None:
    """The sample's past, as real runs and `arflow assign` would have written it."""
    for item in history:
        if item.since is not None:
            db.assign([item.customer_id], item.workflow, item.since, as_of)
    db.record_skips(_ran_rows(history, models, as_of))
    chased = list(_chased_rows(history, models, as_of))
    if chased:
        with db.transaction() as conn:
            db.write_marks(conn, marks(chased, "sent"))


def _target(item: SampleHistory) -> str:
    if item.invoice is not None:
        return invoice_target(item.invoice)
    assert item.since is not None
    return sequence_target(item.customer_id, item.since)


def _actions(wf: Workflow, step: str) -> list[Action]:
    return next(s.actions for s in wf.steps if s.step_id == step)


def _row(item: SampleHistory, wf: Workflow, step: str, n: int, day: date) -> dict:
    key = ActionKey(_target(item), item.workflow, step, n)
    return {
        "key": str(key),
        "target": key.target,
        "workflow": item.workflow,
        "step": step,
        "action_index": n,
        "kind": _actions(wf, step)[n].kind,
        "customer_id": item.customer_id,
        "invoices": json.dumps([n for n in (item.invoice or item.about,) if n]),
        "as_of": day.isoformat(),
    }


def _ran_rows(
    history: list[SampleHistory], models: dict[str, Workflow], as_of: date
) -> Iterator[dict]:
    """The steps that ran before today, recorded as a run records a superseded step."""
    for item in history:
        wf = models[item.workflow]
        if item.invoice is None and item.ran == ("*",):
            continue
        steps = [s.step_id for s in wf.steps] if item.ran == ("*",) else item.ran
        for step in steps:
            for n in range(len(_actions(wf, step))):
                row = _row(item, wf, step, n, as_of - timedelta(days=1))
                yield {**row, "reason": SUPERSEDED}


def _chased_rows(
    history: list[SampleHistory], models: dict[str, Workflow], as_of: date
) -> Iterator[dict]:
    """The first action of a step that went out before: the target was chased."""
    for item in history:
        if item.chased is None:
            continue
        row = _row(item, models[item.workflow], item.chased, 0, as_of - timedelta(days=5))
        yield {
            **row,
            "channel": None,
            "recipients": "[]",
            "subject": None,
            "message_id": None,
            "description": None,
        }
