"""What `validate` says of late fees (issue 31): a `reference_rates:` file that cannot be read
is an error with its line; a `charge_fees` step in a workflow whose `late_fees:` charge
nothing is a warning (it would charge nothing, every night)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from arflow.config import Config
from arflow.errors import InvalidFiles, Problem
from arflow.fees.book import FeeBook
from arflow.fees.settings import STATUTORY
from arflow.workflow import LoadedWorkflow, Workflow


def fee_problems(
    config: Config, workflows: Mapping[str, LoadedWorkflow], warnings: list[Problem] | None
) -> list[Problem]:
    book = FeeBook(config, {wid: wf.model for wid, wf in workflows.items()})
    problems: list[Problem] = []
    seen: set[tuple[str | None, str | None]] = set()
    for wid in [None, *workflows]:
        settings = book.settings(wid)
        if settings.reference_rates and settings.table is None:
            where = config.display(config.path) if wid is None else workflows[wid].display
            line = config.line("late_fees", "reference_rates") if wid is None else None
            problems.append(
                Problem(
                    where,
                    line,
                    "late_fees.reference_rates",
                    "reference_rates: extends a statutory rule's rate table; give interest: "
                    f"{', '.join(STATUTORY)}, or remove reference_rates:",
                )
            )
            continue
        if (settings.table, settings.reference_rates) in seen:
            continue
        seen.add((settings.table, settings.reference_rates))
        try:
            book.table(settings)
        except InvalidFiles as exc:
            problems += exc.problems
    for wid, wf in workflows.items():
        if book.settings(wid).charges_anything or warnings is None:
            continue
        for step in wf.model.steps:
            for index, action in enumerate(step.actions):
                if action.kind == "charge_fees":
                    warnings.append(
                        Problem(
                            wf.display,
                            wf.action_line(step.step_id, index),
                            f"step {step.step_id}",
                            "charge_fees charges nothing: late_fees: in arflow.yaml (or in "
                            "this workflow) sets no interest, compensation or fee",
                        )
                    )
    return problems


def stale_tables(config: Config, models: Mapping[str, Workflow], today: date) -> list[Problem]:
    """A warning for each rate table a rule reads that ends before `today`: the rule fails for
    days after it until rates are added (an error then, never a guess)."""
    book = FeeBook(config, models)
    found: list[Problem] = []
    seen: set[str] = set()
    for wid in [None, *models]:
        settings = book.settings(wid)
        try:
            table = book.table(settings)
        except InvalidFiles:
            continue  # `validate` names it as an error
        if table is None or table.name in seen or table.known_to >= today:
            continue
        seen.add(table.name)
        found.append(
            Problem(
                config.display(config.path),
                config.line("late_fees"),
                "late_fees",
                f"{table.title} is known up to {table.known_to}, before today ({today}): "
                "interest for later days fails until you add the rates to a reference_rates: "
                "file (see docs/fees.md)",
            )
        )
    return found
