"""Workflow files (SPEC 3): strict pydantic models (the actions' are in action_specs), loaded
with every problem at once; the steps' keys checked against the history."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from arflow.action_specs import Action
from arflow.calendar import MAX_OFFSET_DAYS, check_holiday_code
from arflow.errors import InvalidFiles, Problem
from arflow.fees.settings import LateFees
from arflow.modelcheck import STRICT, as_list, parse_model
from arflow.yamlfile import Located, load_located

WORKFLOW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Strict(BaseModel):
    model_config = STRICT


# --- steps, matching, campaigns ------------------------------------------------------------
class Step(Strict):
    id: str | None = None
    day: int
    expires_after: int | None = Field(None, ge=0)
    actions: list[Action] = Field(min_length=1)

    @field_validator("day")
    @classmethod
    def _day(cls, value: int) -> int:
        # the step date is the anchor plus `day`: it must stay a date arflow can work with
        if abs(value) > MAX_OFFSET_DAYS:
            raise ValueError(
                f"{value} days is more than {MAX_OFFSET_DAYS} (ten years) from "
                f"the anchor; a step's day: is between -{MAX_OFFSET_DAYS} and "
                f"{MAX_OFFSET_DAYS}"
            )
        return value

    @property
    def step_id(self) -> str:
        return self.id if self.id is not None else f"day{self.day:+d}"


class Match(Strict):
    min_balance: Decimal | None = None
    currency: list[str] | None = None
    product: list[str] | None = None
    segment: list[str] | None = None
    location: list[str] | None = None
    department: list[str] | None = None
    customer: list[str] | None = None
    tags: list[str] | None = None

    _lists = field_validator(
        "currency",
        "product",
        "segment",
        "location",
        "department",
        "customer",
        "tags",
        mode="before",
    )(classmethod(lambda cls, v: [str(x) for x in as_list(v)] if v is not None else v))


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Schedule(Strict):
    """A campaign's calendar (SPEC 3, 4.10): weekly or every N weeks on a weekday, monthly or
    every N months on the N-th or last weekday or on a day of the month."""

    every: str
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] | None = None
    week: int | Literal["last"] | None = None
    day: int | Literal["last"] | None = None
    start: date | None = None

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        if not re.fullmatch(r"(?:(?:[1-9]\d?) )?(?:week|weeks|month|months)", value.strip()):
            raise ValueError(f"every: {value!r}: use week, 2 weeks or month")
        return value.strip()

    @field_validator("day")
    @classmethod
    def _day(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and not 1 <= value <= 28:
            raise ValueError(
                f"day: {value}: "
                + (
                    "not every month has it; use day: last for the month's last day"
                    if 29 <= value <= 31
                    else "must be 1 to 28, or last"
                )
            )
        return value

    @property
    def interval(self) -> int:
        """N of `every: N weeks` (1 for `every: week`)."""
        first = self.every.split()[0]
        return int(first) if first.isdigit() else 1

    @property
    def monthly(self) -> bool:
        return self.every.endswith(("month", "months"))

    @model_validator(mode="after")
    def _check(self) -> Schedule:
        if self.monthly:
            if self.week is not None and self.day is not None:
                raise ValueError("give week: (with weekday:) or day:, not both")
            if self.day is None and (self.week is None or self.weekday is None):
                raise ValueError(
                    "a monthly schedule needs week: 1–5 or last with weekday:, or day: 1–28 or last"
                )
            if self.day is not None and self.weekday is not None:
                raise ValueError("weekday: goes with week:; with day: leave it out")
        else:
            if self.week is not None or self.day is not None:
                raise ValueError("week: and day: only go with every: month")
            if self.weekday is None:
                raise ValueError(f"every: {self.every} needs weekday: (mon … sun)")
        if isinstance(self.week, int) and not 1 <= self.week <= 5:
            raise ValueError("week: must be 1 to 5, or last")
        if self.interval > 1 and self.start is None:
            unit = "months" if self.monthly else "weeks"
            raise ValueError(
                f"every: {self.every} needs start: (the first occurrence; every "
                f"{self.interval} {unit} are counted from it)"
            )
        if (
            self.start is not None
            and not self.monthly
            and WEEKDAYS[self.start.weekday()] != self.weekday
        ):
            raise ValueError(
                f"start: {self.start} is a {self.start.strftime('%A')}, not a "
                f"{self.weekday}: start: is the first occurrence"
            )
        return self


CONDITION = re.compile(
    r"^\s*(outstanding|overdue|overdue_pct|days_past_due|consolidated_outstanding|"
    r"consolidated_overdue|consolidated_overdue_pct|consolidated_days_past_due)\s*(>=|<)\s*"
    r"(-?\d+(?:\.\d+)?)\s*$"
)


class Condition(Strict):
    metric: Literal[
        "outstanding",
        "overdue",
        "overdue_pct",
        "days_past_due",
        "consolidated_outstanding",
        "consolidated_overdue",
        "consolidated_overdue_pct",
        "consolidated_days_past_due",
    ]
    op: Literal[">=", "<"]
    value: Decimal

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, data: Any) -> Any:
        if isinstance(data, str):
            m = CONDITION.match(data)
            if not m:
                raise ValueError(
                    f"condition {data!r}: write METRIC >= N or METRIC < N with a metric of "
                    "outstanding, overdue, overdue_pct, days_past_due and their "
                    "consolidated_ forms (consolidated_overdue …)"
                )
            return {"metric": m[1], "op": m[2], "value": m[3]}
        return data

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value}"


# what only a workflow with steps: has (a campaign runs on its calendar, and chases nothing)
STEP_KEYS = frozenset(
    {"anchor", "catch_up", "priority", "on_paid", "then", "on_broken_promise", "notify_on", "owner"}
)


class Workflow(Strict):
    name: str | None = None
    description: str = ""
    enabled: bool = True
    anchor: Literal["due_date", "issue_date", "assigned"] = "due_date"
    business_days: bool = False
    holidays: str | None = None
    catch_up: Literal["latest", "all"] = "latest"
    priority: int = 100
    match: Match | None = None
    steps: list[Step] = []
    on_paid: list[Action] = []
    then: str | None = None
    on_broken_promise: str | None = None
    notify_on: list[Literal["finish", "pause"]] = []
    owner: str | None = None
    schedule: Schedule | None = None
    # a campaign's missed occurrence may still go out this many days late (SPEC 4.10)
    expires_after: int | None = Field(None, ge=0, le=MAX_OFFSET_DAYS)
    conditions: list[Condition] = []
    consolidate: bool = False
    actions: list[Action] = Field([], max_length=100)
    late_fees: LateFees | None = None  # over arflow.yaml's, for this workflow's invoices

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str | None) -> str | None:
        if value is not None:
            check_holiday_code(value)
        return value

    @model_validator(mode="after")
    def _shape(self) -> Workflow:
        if self.schedule is not None:
            if self.steps:
                raise ValueError("a campaign (schedule:) has actions:, not steps:")
            if not self.actions:
                raise ValueError("a campaign (schedule:) needs actions:")
            given = sorted(STEP_KEYS & self.model_fields_set)
            if given:
                raise ValueError(
                    f"{', '.join(given)}: belong to workflows with steps:; a "
                    "campaign (schedule:) sends a statement on its days and has "
                    "none of them"
                )
        else:
            if self.expires_after is not None:
                raise ValueError(
                    "expires_after: at the top of a workflow belongs to campaigns; "
                    "in a workflow with steps: give it to a step"
                )
            if self.actions or self.conditions or self.consolidate:
                raise ValueError(
                    "actions:, conditions: and consolidate: belong to campaigns; "
                    "add schedule: or put the actions in steps:"
                )
            if not self.steps:
                raise ValueError(
                    "a workflow needs steps: (or schedule: and actions: for a campaign)"
                )
        if self.notify_on and not self.owner:
            raise ValueError("notify_on: needs owner: (the person to tell)")
        return self

    @property
    def is_campaign(self) -> bool:
        return self.schedule is not None

    def ordered_steps(self) -> list[Step]:
        """Steps in schedule order: by day, then as written."""
        return sorted(self.steps, key=lambda s: s.day)


class LoadedWorkflow:
    """A workflow with its id (file stem), file and the line locator for its errors."""

    def __init__(self, wid: str, path: Path, display: str, model: Workflow, located: Located):
        self.id = wid
        self.path = path
        self.display = display
        self.model = model
        self.located = located

    def action_line(self, step_id: str, action_index: int) -> int:
        """The line of an action in the file, for errors about its inline templates."""
        if step_id == "on_paid":
            loc: tuple = ("on_paid", action_index)
        else:
            index = next((n for n, s in enumerate(self.model.steps) if s.step_id == step_id), None)
            if index is None:
                return 0
            loc = ("steps", index, "actions", action_index)
        return (self.located.line(loc) or 0) if self.located is not None else 0


def workflow_actions(wf: LoadedWorkflow) -> Iterator[tuple[tuple, Action]]:
    """(location, action) for every action in the workflow."""
    m = wf.model
    for i, step in enumerate(m.steps):
        for j, action in enumerate(step.actions):
            yield ("steps", i, "actions", j), action
    for j, action in enumerate(m.on_paid):
        yield ("on_paid", j), action
    for j, action in enumerate(m.actions):
        yield ("actions", j), action


DERIVED_STEP_ID = re.compile(r"day[+-]\d{1,9}")


def step_key_warnings(wf: LoadedWorkflow, history: set[str]) -> list[Problem]:
    """Steps without `id:` in a workflow that has run: their key comes from `day:`, so
    changing the day would send the step again (`history`: the step ids the action ledger
    has for this workflow). Warnings, never errors."""
    if not history:
        return []
    current = {s.step_id for s in wf.model.steps}
    gone = sorted(
        (sid for sid in history if DERIVED_STEP_ID.fullmatch(sid) and sid not in current),
        key=lambda sid: int(sid[3:]),
    )
    warnings = []
    for i, step in enumerate(wf.model.steps):
        if step.id is not None:
            continue
        key = step.step_id
        said = f"this step has no id: and its key comes from day: {step.day}"
        if key in history:
            message = (
                f"{said}; workflow {wf.id} has run before, so changing day: would send "
                f"it again — give it an id: (id: {key} keeps its history)"
            )
        elif len(gone) == 1:
            message = (
                f"{said}, which has no history; workflow {wf.id} has history for "
                f"{gone[0]}, which no step has now: if this step was day: "
                f"{int(gone[0][3:])}, give it id: {gone[0]} so it is not sent again"
            )
        elif gone:
            message = (
                f"{said}, which has no history; workflow {wf.id} has history for "
                f"{', '.join(gone)}, which no step has now: if this step had one of those "
                "days, give it that id: so it is not sent again"
            )
        else:
            message = (
                f"{said}; workflow {wf.id} has run before, so changing day: later would "
                f"send it again — give it an id: (such as id: {key})"
            )
        warnings.append(
            Problem(wf.display, wf.located.line(("steps", i, "day")), f"steps.{i}", message)
        )
    return warnings


def load_workflows(
    directory: Path, display_of: Callable[[Path], str] = str
) -> tuple[dict[str, LoadedWorkflow], list[Problem]]:
    """Every `*.yaml`/`*.yml` in `directory`, keyed by file stem; all problems at once."""
    workflows: dict[str, LoadedWorkflow] = {}
    problems: list[Problem] = []
    if not directory.is_dir():
        return workflows, [
            Problem(
                display_of(directory),
                None,
                "",
                "workflows folder not found; create it or set workflows: in arflow.yaml",
            )
        ]
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in files:
        display = display_of(path)
        wid = path.stem
        if not WORKFLOW_ID.match(wid):
            problems.append(
                Problem(
                    display,
                    None,
                    "",
                    f"workflow id {wid!r} (the file name) may "
                    "use only letters, digits, '-', '_' and '.'",
                )
            )
            continue
        if wid in workflows:
            problems.append(
                Problem(
                    display,
                    None,
                    "",
                    f"workflow {wid!r} is defined twice "
                    f"(also {workflows[wid].display}); keep one file",
                )
            )
            continue
        try:
            located = load_located(path, display)
        except InvalidFiles as exc:
            problems += exc.problems
            continue
        model, found = parse_model(Workflow, located, display)
        problems += found
        if model is not None:
            workflows[wid] = LoadedWorkflow(wid, path, display, model, located)
    return workflows, problems
