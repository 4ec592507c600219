"""The collections desk (SPEC 4.5–4.8, 8): assignment, pauses, promises, tasks and workflow
housekeeping (each customer's account, as `status` shows it, is in `accounts`). Library
functions over the state database; the CLI only prints.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from arflow.errors import ArflowError, Refused
from arflow.ledger import Invoice, Ledger
from arflow.planner.occurrences import in_words
from arflow.project import Project
from arflow.state import StateDB
from arflow.workflow import WORKFLOW_ID


@dataclass
class Unknown:
    """Ids a command was given that the sources do not know: reported, the rest go on."""

    ids: list[str]
    what: str  # customer | invoice


def _known(ids: list[str], known: Container[str], what: str) -> tuple[list[str], Unknown | None]:
    good = [i for i in dict.fromkeys(ids) if i in known]
    bad = [i for i in dict.fromkeys(ids) if i not in known]
    return good, (Unknown(bad, what) if bad else None)


def read_ids(path: Path) -> list[str]:
    """A file of customer ids: one per line; blank lines and `#` comments are ignored."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ArflowError(f"cannot read {path}: {exc.strerror}") from None
    return [
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    ]


# --- assignment (SPEC 4.5) ----------------------------------------------------------------------
def assign(
    db: StateDB,
    project: Project,
    ledger: Ledger,
    customers: list[str],
    workflow: str,
    since: date | None,
    today: date,
) -> tuple[list[str], Unknown | None]:
    """Assign customers to a workflow by hand. A customer moving to another workflow leaves
    its `assigned` sequences (they end, `reassigned`); `--date` restarts the sequence there."""
    wf = project.workflows.get(workflow)
    if wf is None:
        raise ArflowError(f"no workflow {workflow!r}; `arflow workflows` lists them")
    if wf.model.is_campaign:
        raise ArflowError(
            f"{workflow} is a campaign (schedule:); campaigns pick customers by "
            "their conditions, not by assignment"
        )
    good, unknown = _known(customers, ledger.customers, "customer")
    db.assign(good, workflow, since, today)
    return good, unknown


def unassign(db: StateDB, customers: list[str], today: date) -> tuple[list[str], list[str]]:
    """Remove assignments made by hand: (removed, not assigned). The customer falls back to
    the customers file, a match or the default workflow; its sequences end (`unassigned`)."""
    removed = db.unassign(customers, today)
    return removed, [c for c in dict.fromkeys(customers) if c not in removed]


# --- pauses and promises (SPEC 4.6) -------------------------------------------------------------
def pause(
    db: StateDB,
    ledger: Ledger,
    kind: str,
    target_id: str,
    until: date | None,
    reason: str | None,
    today: date,
) -> int:
    _check_target(ledger, kind, target_id)
    if until is not None and until < today:
        raise Refused(
            f"--until {until} is before today ({today}): a pause holds through the "
            "day --until names; give a later day, or none to pause until "
            "`arflow resume`"
        )
    return db.add_pause(kind, target_id, until, reason, today)


def resume(db: StateDB, kind: str, target_id: str) -> tuple[int, int]:
    """End the pauses of a customer or an invoice (and an invoice's open promises):
    (pauses ended, promises cancelled)."""
    return db.resume(kind, target_id)


def promise(
    db: StateDB,
    ledger: Ledger,
    invoice: str,
    day: date,
    amount: Decimal | None,
    today: date,
    min_balance: Decimal,
) -> int:
    """A promise-to-pay: chasing of the invoice holds until `day` (SPEC 4.6)."""
    found = _invoice(ledger, invoice)
    if not found.is_open(today, min_balance):
        raise Refused(
            f"{invoice} is not open on {today} (status {found.status}, balance "
            f"{found.open_balance(today)}): there is nothing to promise"
        )
    if day < today:
        raise Refused(
            f"--date {day} is before today ({today}): a promise is to pay by a day still to come"
        )
    balance = found.open_balance(today)
    if amount is not None and amount <= 0:
        raise Refused(f"--amount {amount} must be more than zero")
    return db.add_promise(invoice, day, amount, balance, today)


def _check_target(ledger: Ledger, kind: str, target_id: str) -> None:
    if kind == "invoice":
        _invoice(ledger, target_id)
    elif target_id not in ledger.customers:
        raise Refused(
            f"no customer {target_id!r} in the sources; check the id "
            "(`arflow status` lists customers)"
        )


def _invoice(ledger: Ledger, target_id: str) -> Invoice:
    found = ledger.find([target_id]).get(target_id)
    if found is not None:
        return found
    raise Refused(
        f"no invoice {target_id!r} in the sources; invoice numbers are matched "
        "exactly, leading zeros included"
    )


# --- tasks (SPEC 5) ----------------------------------------------------------------------------
def tasks(
    db: StateDB | None, project: Project, assignee: str | None, include_done: bool
) -> list[dict]:
    if assignee is not None and assignee not in project.config.people:
        known = ", ".join(sorted(project.config.people)) or "none defined"
        raise Refused(f"--assignee {assignee!r} is nobody in people: (people: {known})")
    return [] if db is None else db.tasks(assignee, include_done)


def task_done(db: StateDB, task_id: int) -> dict:
    row = db.task(task_id)
    if row is None:
        raise Refused(f"no task {task_id}; `arflow tasks` lists the open ones")
    if row["done_at"] is not None:
        raise Refused(f"task {task_id} was already done at {row['done_at']}: {row['title']}")
    db.finish_task(task_id)
    return db.task(task_id) or row


# --- workflow housekeeping (seed 001: clone, delete only when nobody is assigned) --------------
def workflow_rows(project: Project, ledger: Ledger, db: StateDB | None) -> list[dict]:
    assigned = assigned_customers(project, ledger, db)
    rows = []
    for wid in sorted(project.workflows):
        m = project.workflows[wid].model
        rows.append(
            {
                "id": wid,
                "name": m.name or wid,
                "enabled": m.enabled,
                "kind": "campaign" if m.is_campaign else m.anchor,
                "schedule": in_words(m.schedule) if m.schedule else None,
                "steps": len(m.actions if m.is_campaign else m.steps),
                "then": m.then,
                "assigned": assigned.get(wid, []),
            }
        )
    return rows


def assigned_customers(project: Project, ledger: Ledger, db: StateDB | None) -> dict[str, list]:
    """workflow → customers assigned to it: by hand, in the customers file, or in the middle
    of one of its `assigned` sequences."""
    found: dict[str, set[str]] = {}
    for c in ledger.customers.values():
        if c.workflow:
            found.setdefault(c.workflow, set()).add(c.customer_id)
    if db is not None:
        for cid, wid in db.assigned():
            found.setdefault(wid, set()).add(cid)
    return {wid: sorted(c) for wid, c in found.items()}


def clone_workflow(project: Project, source: str, new: str) -> Path:
    """A carbon copy of SRC as NEW, its name followed by "copy"; comments are kept."""
    wf = project.workflows.get(source)
    if wf is None:
        raise ArflowError(f"no workflow {source!r}; `arflow workflows` lists them")
    if not WORKFLOW_ID.match(new):
        raise ArflowError(f"{new!r} cannot be a workflow id: use letters, digits, '-', '_', '.'")
    target = wf.path.with_name(f"{new}.yaml")
    if new in project.workflows or target.exists():
        raise ArflowError(f"workflow {new!r} already exists ({target})")
    text = wf.path.read_text(encoding="utf-8")
    name = f"{wf.model.name or source} copy"
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    line = re.compile(r"^name:[^\n]*$", re.M)
    if line.search(text):
        text = line.sub(lambda _: f"name: {quoted}", text, count=1)
    else:
        text = f"name: {quoted}\n" + text
    target.write_text(text, encoding="utf-8")
    return target


def delete_workflow(project: Project, ledger: Ledger, db: StateDB | None, wid: str) -> Path:
    """Remove a workflow file, only when no customer is assigned to it and nothing refers to
    it (the default workflow, another's then: or on_broken_promise:)."""
    wf = project.workflows.get(wid)
    if wf is None:
        raise ArflowError(f"no workflow {wid!r}; `arflow workflows` lists them")
    assigned = assigned_customers(project, ledger, db).get(wid, [])
    if assigned:
        shown = ", ".join(assigned[:20]) + (
            f" and {len(assigned) - 20} more" if len(assigned) > 20 else ""
        )
        raise ArflowError(
            f"{wid} has {len(assigned)} customer(s) assigned: {shown}. "
            f"Unassign them first: arflow unassign {' '.join(assigned[:3])}"
            f"{' …' if len(assigned) > 3 else ''}"
        )
    if project.config.default_workflow == wid:
        raise ArflowError(f"{wid} is default_workflow in arflow.yaml; change that first")
    users = sorted(
        other
        for other, w in project.workflows.items()
        if wid in (w.model.then, w.model.on_broken_promise) and other != wid
    )
    if users:
        raise ArflowError(
            f"{wid} is continued into by {', '.join(users)} (then: or "
            "on_broken_promise:); change those first"
        )
    wf.path.unlink()
    return wf.path
