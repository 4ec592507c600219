"""The action ledger summed up in SQL for the planner's past state, part of `StateDB`: the
settled action keys, each step's settled actions and the last day one was settled, and the
targets chased (`planner.past_state.read_past_state`). A ledger of years is summed up where it
is kept, not brought row by row into Python.

The rules are the ledger's own (`settled`, `carried_out`); `SETTLED_SQL` and `CARRIED_OUT_SQL`
stand for them in SQL and a test holds them to them for every state, reason and flag."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from arflow.state.base import StateBase
from arflow.state.errors import named_errors
from arflow.state.ledger import CARRIED_OUT, RETRIED_SKIPS


def _listed(values: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in sorted(values)) + ")"


CARRIED_OUT_SQL = f"a.state IN {_listed(CARRIED_OUT)}"
SETTLED_SQL = (
    "(CASE a.state WHEN 'failed' THEN a.permanent != 0 "
    f"WHEN 'skipped' THEN a.reason IS NULL OR a.reason NOT IN {_listed(RETRIED_SKIPS)} "
    f"ELSE {CARRIED_OUT_SQL} END)"
)

StepCounts = dict[tuple[str, str, str], list]  # (target, workflow, step) → [settled, last day]
ChasedRows = list[tuple[str, str, str, str | None]]  # (target, workflow, last day, invoices)


@named_errors
class PastRecords(StateBase):
    """What the planner reads of the action ledger, summed up in SQL."""

    def settled_keys(self) -> set[tuple[str, str, str, int]]:
        """Every action key never to be attempted again (as plain tuples: equal to the
        planner's `ActionKey`s)."""
        return set(
            self.conn.execute(
                f"SELECT target, workflow, step, action_index FROM actions AS a WHERE {SETTLED_SQL}"
            )
        )

    def settled_steps(
        self, steps: Mapping[tuple[str, str], int], campaigns: Mapping[str, int]
    ) -> StepCounts:
        """Per (target, workflow, step), the settled actions among the step's own (`steps`:
        (workflow, step) → its actions; `campaigns`: a campaign → its actions, each occurrence
        a step) and the last day one was settled."""
        sizes, args = _sizes(steps, campaigns)
        rows = self.conn.execute(
            f"{sizes} SELECT a.target, a.workflow, a.step, COUNT(*), MAX(a.as_of) "
            f"FROM actions AS a {_JOINS} WHERE {SETTLED_SQL} AND {_OWN} "
            "GROUP BY a.target, a.workflow, a.step",
            args,
        )
        return {(target, wid, step): [n, day] for target, wid, step, n, day in rows}

    def chased_rows(
        self, steps: Mapping[tuple[str, str], int], campaigns: Mapping[str, int]
    ) -> ChasedRows:
        """(target, workflow, last day, invoice list) of each target a workflow's step really
        chased (`carried_out`; a campaign chases nobody): one row per invoice list a
        sequence's steps listed, one per target for an invoice (its list is its own)."""
        sizes, args = _sizes(steps, campaigns)
        return self.conn.execute(
            f"{sizes} SELECT a.target, a.workflow, MAX(a.as_of), "
            "CASE WHEN a.target LIKE 'customer:%' THEN l.invoices END AS listed "
            f"FROM actions AS a {_JOINS} LEFT JOIN invoice_lists AS l ON l.id = a.invoice_list "
            f"WHERE {CARRIED_OUT_SQL} AND {_OWN} AND c.workflow IS NULL "
            "GROUP BY a.target, a.workflow, listed",
            args,
        ).fetchall()


_JOINS = (
    "LEFT JOIN sizes AS s ON s.workflow = a.workflow AND s.step = a.step "
    "LEFT JOIN campaign_sizes AS c ON c.workflow = a.workflow"
)
# an action index the step does not have (its workflow was edited) does not make it run
_OWN = "a.action_index < COALESCE(s.n, c.n, 0)"


def _sizes(steps: Mapping[tuple[str, str], int], campaigns: Mapping[str, int]) -> tuple[str, list]:
    """The WITH clause of the steps' and campaigns' sizes, and its arguments."""
    args: list = [value for (wid, step), n in steps.items() for value in (wid, step, n)]
    step_rows = ", ".join("(?, ?, ?)" for _ in steps) or None
    args += [value for wid, n in campaigns.items() for value in (wid, n)]
    campaign_rows = ", ".join("(?, ?)" for _ in campaigns) or None
    return (
        "WITH sizes(workflow, step, n) AS ("
        + (f"VALUES {step_rows}" if step_rows else "SELECT NULL, NULL, 0 WHERE 0")
        + "), campaign_sizes(workflow, n) AS ("
        + (f"VALUES {campaign_rows}" if campaign_rows else "SELECT NULL, 0 WHERE 0")
        + ")",
        args,
    )
