"""`arflow run --dry-run --sample` (issue 29): the dry run of a night against the sample ledger
(`arflow.sample_ledger`) and a state in memory holding the sample's past. No source is read,
and the state database is neither read nor created: the sample's customers are made up, so
nothing the real state says is about them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from arflow.deliver import RunResult, dry_run_in
from arflow.planner.campaigns import calendar_of, occurrence_due
from arflow.planner.plan_types import ActionKey, invoice_target, sequence_target
from arflow.project import Project
from arflow.sample_ledger import SampleHistory, SampleLedger, sample_ledger
from arflow.state import DryRunState, StateDB, marks
from arflow.workflow import Action, Workflow

SUPERSEDED = "superseded"  # how the sample's earlier steps are recorded: run, nothing sent


@dataclass
class SampleNight:
    sample: SampleLedger
    result: RunResult


def sample_night(project: Project, as_of: date) -> SampleNight:
    """The sample's dry run on `as_of`: every message planned and rendered, nothing recorded."""
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
    )
    sample.not_due += campaigns_not_due(models, as_of)
    path = cfg.resolve(cfg.state)
    db = StateDB.in_memory(path, cfg.display(path), copy=False)
    try:
        _write_past(db, sample.history, models, as_of)
        dry = DryRunState(db.conn, db.path, db.shown)  # from here on, every write is dropped
        return SampleNight(sample, dry_run_in(project, sample.ledger, as_of, dry))
    finally:
        db.close()


def languages(project: Project) -> list[str]:
    """The languages the folder's templates speak besides the company's, in order."""
    found = {code for codes in project.templates.languages.values() for code in codes}
    return sorted(found)


def campaigns_not_due(workflows: dict[str, Workflow], as_of: date) -> list[str]:
    """The enabled campaigns with no occurrence due on `as_of`, each with the reason."""
    found = []
    for wid, wf in sorted(workflows.items()):
        if not (wf.enabled and wf.is_campaign):
            continue
        calendar = calendar_of(wf)
        if calendar is not None and not calendar.is_business_day(as_of):
            found.append(f"{wid}: a campaign, and not a business day")
        elif occurrence_due(wf, as_of) is None:
            found.append(f"{wid}: a campaign with no occurrence due")
    return found


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
