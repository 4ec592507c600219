"""The rows a run writes into the action ledger (SPEC 6): one per action key, for a step
skipped (`skip_rows`) and for an action carried out or tried (`key_rows`), with what `history`
shows of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

from arflow.actions import KINDS
from arflow.compose import Composed
from arflow.planner.plan_types import PlannedAction, Skip
from arflow.project import Project
from arflow.secrets import redact


def skip_rows(skipped: list[Skip], project: Project, as_of: date) -> Iterator[dict]:
    kinds = {
        (w.id, step.step_id, n): action.kind
        for w in project.workflows.values()
        for step in w.model.steps
        for n, action in enumerate(step.actions)
    }
    kinds.update(
        ((w.id, "on_paid", n), action.kind)
        for w in project.workflows.values()
        for n, action in enumerate(w.model.on_paid)
    )
    # a campaign's step is an occurrence date: its actions are the campaign's
    campaign = {
        w.id: [action.kind for action in w.model.actions]
        for w in project.workflows.values()
        if w.model.is_campaign
    }
    for skip in skipped:
        invoices = json.dumps(skip.invoices)
        for key in skip.keys:
            kind = (
                campaign[key.workflow][key.action]
                if key.workflow in campaign
                else kinds.get((key.workflow, key.step, key.action), "notify")
            )
            yield {
                "key": str(key),
                "target": key.target,
                "workflow": key.workflow,
                "step": key.step,
                "action_index": key.action,
                "kind": kind,
                "customer_id": skip.customer_id,
                "invoices": invoices,
                "as_of": as_of.isoformat(),
                "reason": skip.reason,
            }


def description(action: PlannedAction, composed: Composed) -> str | None:
    """What the action was about, for `history`: a status's value, a task's title, a note's
    text, the specialist assigned; a statement and the conditions it met; a message that went
    to another role than its step's (`to billing (no ap contact)`)."""
    if action.statement is not None:
        return action.statement.description()
    if action.fallback:  # issue 33: the step's role had nobody: said, and recorded
        return f"to {action.fallback}"
    if composed.text is None:
        return None
    return KINDS[action.kind].described_as + composed.text


def key_rows(action: PlannedAction, composed: Composed, channel: str | None) -> list[dict]:
    message = composed.message
    common = {
        "workflow": action.workflow,
        "step": action.step,
        "action_index": action.action_index,
        "kind": action.kind,
        "customer_id": action.customer_id,
        "invoices": json.dumps(action.invoices),
        "as_of": action.date.isoformat(),
        "channel": channel,
        # stored as `history` shows them: a webhook's address cut to its host (SPEC 7)
        "recipients": json.dumps(
            [redact(r) for r in (message.recipients if message else action.to)]
        ),
        "subject": redact(action.subject) if action.subject else None,
        "message_id": message.message_id if message else None,
        "description": redact(description(action, composed) or "") or None,
    }
    return [{"key": str(k), "target": k.target, **common} for k in action.keys]
