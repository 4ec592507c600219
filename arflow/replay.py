"""`arflow forecast` and `arflow simulate` (SPEC 4.11): the one planner and the real run's
pipeline, day after day, against a state kept in memory. The state database is read (forecast)
or not used at all (simulate), never written; nothing is sent.

- forecast: from the state as it is, each of N days as a real run would do it if every planned
  action were delivered and the ledger did not change (no invoice paid meanwhile).
- simulate: a historic ledger replayed from an empty state; what each workflow step did, and
  how soon the invoices it reached were paid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta

from arflow.deliver import RunResult, replay_day
from arflow.due_days import DueDays
from arflow.errors import Refused
from arflow.ledger import ZERO, Ledger
from arflow.planner.past_state import read_past_state
from arflow.planner.plan_types import PlannedAction
from arflow.project import Project
from arflow.simulation import CAMPAIGN_STEP as CAMPAIGN_STEP
from arflow.simulation import Simulation, StepFigures, count_paid
from arflow.simulation import simulation_document as simulation_document
from arflow.simulation import step_figures_document as step_figures_document
from arflow.state import StateDB

MAX_DAYS = 3660  # ten years: a longer replay is a typo


def days_between(first: date, last: date) -> list[date]:
    if last < first:
        raise Refused(f"--to {last} is before --from {first}: give the first day, then the last")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise Refused(
            f"{count} days from {first} to {last} is more than {MAX_DAYS}; replay ten years at most"
        )
    return [first + timedelta(days=n) for n in range(count)]


def replay(
    project: Project,
    ledger: Ledger,
    days: list[date],
    *,
    copy_state: bool,
    progress: Callable[[date], None] | None = None,
    every_day: bool = False,
    jobs: int = 1,
) -> Iterator[tuple[date, RunResult]]:
    """Each day's run, in order, against one state in memory (a copy of the state database
    with `copy_state`, else empty), its messages composed in `jobs` processes as a run's.
    After the first day, each day plans only the customers something may be due for
    (`DueDays`); `every_day` plans every customer every day (the reference the tests hold
    that to)."""
    cfg = project.config
    path = cfg.resolve(cfg.state)
    db = StateDB.in_memory(path, cfg.display(path), copy=copy_state)
    try:
        # each day is planned from the invoices that can matter in the window, made once
        chased = read_past_state(db, project.models, days[0]).chased if copy_state else {}
        numbers = {target.removeprefix("invoice:") for target, _ in chased} | {
            n for chase in chased.values() for n in chase.invoices
        }
        whole, ledger = ledger, ledger.window(days[0], days[-1], numbers)
        due = DueDays(project, ledger, db, days[-1], whole, jobs)
        for day in days:
            yield (
                day,
                replay_day(project, ledger, day, db, jobs=jobs) if every_day else due.run(day),
            )
            if progress is not None:
                progress(day)
    finally:
        db.close()


def forecast(
    project: Project,
    ledger: Ledger,
    as_of: date,
    count: int,
    progress: Callable[[date], None] | None = None,
    *,
    every_day: bool = False,
    jobs: int = 1,
) -> list[tuple[date, RunResult]]:
    """The actions of each of `count` days from `as_of` (SPEC 4.11); `every_day` and
    `jobs`: see `replay`."""
    if not 1 <= count <= MAX_DAYS:
        raise Refused(f"--days {count}: give 1 to {MAX_DAYS}")
    found = []
    for day, result in replay(
        project,
        ledger,
        days_between(as_of, as_of + timedelta(days=count - 1)),
        copy_state=True,
        progress=progress,
        every_day=every_day,
        jobs=jobs,
    ):
        for action in result.plan.actions:
            action.status = "planned"  # nothing is sent: each would be
        found.append((day, result))
    return found


# --- simulate -----------------------------------------------------------------------------------
def simulate(
    project: Project,
    ledger: Ledger,
    first: date,
    last: date,
    progress: Callable[[date], None] | None = None,
    *,
    every_day: bool = False,
    jobs: int = 1,
) -> Simulation:
    """SPEC 4.11: the ledger replayed from an empty state over each day from `first` to
    `last`; per workflow step its actions, the invoices it reached, and how many of those were
    paid within 7, 14 and 30 days of that day (payments up to `last`), the median days to pay
    and how many were still unpaid at `last`. `every_day` and `jobs`: see `replay`."""
    figures: dict[tuple[str, str], StepFigures] = {}
    per_day = []
    errors: list = []
    for day, result in replay(
        project,
        ledger,
        days_between(first, last),
        copy_state=False,
        progress=progress,
        every_day=every_day,
        jobs=jobs,
    ):
        per_day.append((day, len(result.plan.actions)))
        errors = result.errors
        for action in result.plan.actions:
            _count(figures, project, action, day)
    invoices = ledger.find({n for step in figures.values() for n in step.reached})
    for step in figures.values():
        count_paid(step, invoices, last)
    order = _step_order(project)
    return Simulation(
        first,
        last,
        sorted(
            figures.values(),
            key=lambda s: (s.workflow, order.get((s.workflow, s.step), len(order)), s.step),
        ),
        per_day,
        errors,
    )


def _count(
    figures: dict[tuple[str, str], StepFigures], project: Project, action: PlannedAction, day: date
) -> None:
    """One action of a simulated day, counted in its step's figures."""
    key = (action.workflow, _step(project, action))
    step = figures.get(key)
    if step is None:
        step = figures[key] = StepFigures(*key)
    step.actions += 1
    for number in action.invoices:
        step.reached.setdefault(number, day)
    for charge in action.fees or ():  # a charge_fees action's (issue 31)
        step.fees[charge.currency] = step.fees.get(charge.currency, ZERO) + charge.amount


def _step(project: Project, action: PlannedAction) -> str:
    wf = project.workflows.get(action.workflow)
    return CAMPAIGN_STEP if wf is not None and wf.model.is_campaign else action.step


def _step_order(project: Project) -> dict[tuple[str, str], int]:
    order = {}
    for wf in project.workflows.values():
        for n, step in enumerate(wf.model.ordered_steps()):
            order[(wf.id, step.step_id)] = n
    return order
