"""What `validate` says of late fees (issue 31): a `reference_rates:` file that cannot be read
is an error with its line; a `charge_fees` step in a workflow whose `late_fees:` charge
nothing is a warning (it would charge nothing, every night)."""

from __future__ import annotations

from collections.abc import Mapping

from arflow.config import Config
from arflow.errors import InvalidFiles, Problem
from arflow.fees.book import FeeBook
from arflow.workflow import LoadedWorkflow


def fee_problems(
    config: Config, workflows: Mapping[str, LoadedWorkflow], warnings: list[Problem] | None
) -> list[Problem]:
    book = FeeBook(config, {wid: wf.model for wid, wf in workflows.items()})
    problems: list[Problem] = []
    seen: set[tuple[str | None, str | None]] = set()
    for wid in [None, *workflows]:
        settings = book.settings(wid)
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
