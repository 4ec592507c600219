"""What the planner knows of the past (SPEC 4, 6): `PastState`, derived from the state
database's rows.

`read_past_state` is the one call: it reads the rows in bulk, one query per table (actions,
assignments, sequences, pauses, promises; never one per invoice), and `past_state` derives the
PastState from them, a pure function. The ledger's rules (`settled`, `carried_out`,
`step_ran`) are the state database's own; this module only applies them. (Summing the action
ledger up in SQL instead was measured and dropped: with the collector paused, reading its rows
in Python is faster, 1.2–1.4 s against 2.0–2.2 s for 178,000 rows.)
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arflow.planner.plan_types import (
    ActionKey,
    Assignment,
    Chase,
    Hold,
    PastState,
    PromisedAmount,
)
from arflow.rules import promise_holds
from arflow.state import (
    ActionRow,
    AssignmentRow,
    PauseRow,
    SequenceRow,
    StateDB,
    carried_out,
    settled,
    step_ran,
)
from arflow.workflow import Workflow

StepKey = tuple[str, str, str]  # (target, workflow, step)


def read_past_state(
    db: StateDB,
    workflows: dict[str, Workflow],
    as_of: date,
    step_dates: dict[StepKey, date] | None = None,
    actions: Iterable[ActionRow] | None = None,
) -> PastState:
    """Everything the planner needs from the state database on `as_of`, read in bulk: one
    query per table, the action ledger read row by row as it comes (never held whole).
    `step_dates`, when given, is filled with (target, workflow, step) → the day it ran.
    `actions`, when given, stands for the action ledger: the rows of the customers a forecast
    plans that day (it keeps them between days)."""
    return past_state(
        actions=db.action_rows() if actions is None else actions,
        assignments=db.assignment_rows(),
        sequences=db.sequence_rows(),
        pauses=db.pause_rows(as_of),
        promises=db.promises(),
        workflows=workflows,
        as_of=as_of,
        step_dates=step_dates,
    )


def past_state(
    *,
    actions: Iterable[ActionRow],
    assignments: list[AssignmentRow],
    sequences: list[SequenceRow],
    pauses: list[PauseRow],
    promises: list[dict],
    workflows: dict[str, Workflow],
    as_of: date,
    step_dates: dict[StepKey, date] | None = None,
) -> PastState:
    """The PastState the rows of the state database make on `as_of` (`pauses` are the ones
    that still hold then). `step_dates`, when given, is filled as `read_past_state` says."""
    sizes = _StepSizes.of(workflows)
    ledger = _read_ledger(actions, sizes)
    ran, finished = _runs(ledger.per_step, sizes, workflows, step_dates)
    past = PastState(ran=ran, finished=finished, chased=ledger.chased, settled=ledger.settled)
    for cid, wid, since in assignments:
        past.assignments[cid] = Assignment(wid, date.fromisoformat(since) if since else None)
    _add_sequences(past, sequences)
    _add_pauses(past, pauses)
    _add_promises(past, promises, as_of)
    return past


@dataclass(frozen=True, slots=True)
class _StepSizes:
    """How many actions each step has: (workflow, step) → actions; a campaign's steps are its
    occurrences, and each has all of the campaign's actions (workflow → actions)."""

    steps: dict[tuple[str, str], int]
    campaigns: dict[str, int]

    @classmethod
    def of(cls, workflows: dict[str, Workflow]) -> _StepSizes:
        return cls(
            {(wid, s.step_id): len(s.actions) for wid, wf in workflows.items() for s in wf.steps},
            {wid: len(wf.actions) for wid, wf in workflows.items() if wf.is_campaign},
        )

    def of_step(self, wid: str, step: str) -> int:
        """The actions of a step; 0 for one its workflow does not have."""
        return self.steps.get((wid, step), self.campaigns.get(wid, 0))


@dataclass(slots=True)
class _Ledger:
    """What the action ledger's rows say: the settled keys, per step the settled actions and
    the last day one was settled, and the targets chased."""

    settled: set[ActionKey] = field(default_factory=set)
    per_step: dict[StepKey, list] = field(default_factory=dict)  # → [settled actions, last day]
    chased: dict[tuple[str, str], Chase] = field(default_factory=dict)  # (target, wf) → Chase


def _read_ledger(actions: Iterable[ActionRow], sizes: _StepSizes) -> _Ledger:
    found = _Ledger()
    for target, wid, step, index, state, reason, permanent, day, invoices in actions:
        if not settled(state, reason, bool(permanent)):
            continue
        found.settled.add(ActionKey(target, wid, step, index))
        if index >= sizes.of_step(wid, step):
            # on_paid and notices are no step of the sequence; an action index the step no
            # longer has (its workflow was edited) does not make it run
            continue
        _count_settled(found.per_step, (target, wid, step), day)
        if carried_out(state) and wid not in sizes.campaigns:
            # a statement chases nobody: campaigns have no on_paid (SPEC 4.7, 4.10)
            _chase(found.chased, (target, wid), date.fromisoformat(day), invoices)
    return found


def _count_settled(per_step: dict[StepKey, list], key: StepKey, day: str) -> None:
    found = per_step.get(key)
    if found is None:
        per_step[key] = [1, day]
    else:
        found[0] += 1
        found[1] = max(found[1], day)


def _chase(
    chased: dict[tuple[str, str], Chase], key: tuple[str, str], day_ran: date, invoices: str | None
) -> None:
    """The target was chased on `day_ran`: its Chase keeps the last day and, for a sequence,
    every invoice its steps listed (`invoices`, which an invoice target, about its own invoice,
    has not: `ActionRow`)."""
    numbers = frozenset(json.loads(invoices)) if invoices is not None else frozenset()
    before = chased.get(key)
    if before is None:
        chased[key] = Chase(day_ran, numbers)
    else:
        chased[key] = Chase(max(before.day, day_ran), before.invoices | numbers)


def _runs(
    per_step: dict[StepKey, list],
    sizes: _StepSizes,
    workflows: dict[str, Workflow],
    step_dates: dict[StepKey, date] | None,
) -> tuple[dict[tuple[str, str], set[str]], dict[tuple[str, str], date]]:
    """(target, workflow) → the steps that ran, and → the day it finished: a step has run for a
    target once every one of its actions is settled; a workflow is finished for the target
    once its last step has."""
    last = {wid: wf.ordered_steps()[-1].step_id for wid, wf in workflows.items() if wf.steps}
    ran: dict[tuple[str, str], set[str]] = defaultdict(set)
    finished: dict[tuple[str, str], date] = {}
    for (target, wid, step), (n, day) in per_step.items():
        if step_ran(n, sizes.steps.get((wid, step)) or sizes.campaigns[wid]):
            ran[(target, wid)].add(step)
            if step_dates is not None:
                step_dates[(target, wid, step)] = date.fromisoformat(day)
            if last.get(wid) == step:
                finished[(target, wid)] = date.fromisoformat(day)
    return dict(ran), finished


def _add_sequences(past: PastState, sequences: list[SequenceRow]) -> None:
    for cid, wid, since, ended, why in sequences:
        if ended is None:
            past.sequences[(cid, wid)] = date.fromisoformat(since)
        elif why == "paid":  # a paid-up customer that falls behind again starts afresh
            past.ended[(cid, wid)] = date.fromisoformat(ended)


def _add_pauses(past: PastState, pauses: list[PauseRow]) -> None:
    for pause_id, kind, target_id, reason, until, since in pauses:
        (past.paused_customers if kind == "customer" else past.paused_invoices).add(target_id)
        past.holds.append(
            Hold(
                kind,
                pause_id,
                target_id,
                reason,
                date.fromisoformat(until) if until else None,
                date.fromisoformat(since),
            )
        )


def _add_promises(past: PastState, promises: list[dict], as_of: date) -> None:
    """Promises not cancelled, by date: the latest for an invoice is the one that counts."""
    for row in promises:
        invoice, amount, balance = row["invoice"], row["amount"], row["balance"]
        day = date.fromisoformat(row["date"])
        past.promises[invoice] = day  # the latest promise is the one that counts
        if amount is not None and balance is not None:
            past.promised_amounts[invoice] = PromisedAmount(Decimal(amount), Decimal(balance))
        else:
            past.promised_amounts.pop(invoice, None)
        if promise_holds(day, as_of):
            past.holds.append(Hold("promise", row["id"], invoice, None, day))
