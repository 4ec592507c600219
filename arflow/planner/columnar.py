"""The columnar half of planning: which open invoices nothing can happen to tonight, decided
in polars over the whole ledger, so that the object planner (`engine.plan`) makes objects
only for the rest.

An open invoice is *quiet* on a day when it follows a workflow counted from its own dates
(`due_date`, `issue_date`) and every step dated between its issue date and the day has run
for it (SPEC 4.2, 4.3): the object planner would find no step due and none to skip. Anything
this half cannot decide as surely as the object planner is left to it, whole: an invoice
whose balance the column type may not hold exactly, one of a customer assigned by hand, on
hold or under a promise, one in an `assigned` workflow (its sequence speaks of all of the
customer's invoices), one in a `then:` chain it could still move along, one whose matched
values are not plain ASCII (`str.casefold` and polars' lower case differ beyond it).

Quiet invoices still count: they are open (`Plan.open`) and keep their customers open (an
`assigned` sequence is paid up only when none of the customer's invoices is). The rules
themselves stay where they are (`Invoice.is_open`, `Matcher.fits`, `decide_steps`,
`matching._moved`): the columns here stand for them, and a randomised test holds the plans
made with and without this half to be identical.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

import polars as pl

from arflow.ledger import Ledger
from arflow.ledger_columns import may_be_open, money_fits, surely_open
from arflow.planner.matching import active_workflows
from arflow.planner.plan_types import PastState
from arflow.planner.schedule import StepSchedule
from arflow.planner.step_actions import speaks_several
from arflow.workflow import Match, Workflow

_MATCHED = ("currency", "product", "segment", "location", "department")
_BUSY = "__busy"
_WID = "__workflow"


class QuietInvoices(NamedTuple):
    """The ledger less its quiet invoices (what the object planner still plans over), and how
    many open invoices were left out, with their customers."""

    rest: Ledger
    left_out: int
    customers: set[str]


def quiet_invoices(
    ledger: Ledger,
    workflows: dict[str, Workflow],
    state: PastState,
    as_of: date,
    default_workflow: str | None,
    min_balance: Decimal,
) -> QuietInvoices | None:
    """The open invoices nothing can happen to on `as_of`, taken out of the ledger; None when
    this ledger is not held in columns or a workflow asks what columns cannot decide."""
    if not ledger.columnar:
        return None
    active = active_workflows(workflows)
    matchers = sorted((wf.priority, wid) for wid, wf in active.items() if wf.match is not None)
    if any(not _plain_money(active[wid].match) for _, wid in matchers):
        return None
    frame = ledger.frame
    rows = frame.filter(surely_open(as_of, min_balance)).with_columns(_customer_values(ledger))
    rows = rows.with_columns(_chosen(active, matchers, default_workflow).alias(_WID))
    rows = _after_chains(rows, active, state, as_of)
    several = {cid for cid, c in ledger.customers.items() if c.contacts and speaks_several(c)}
    rows = rows.with_columns(_held_back(state, active, several).alias(_BUSY))
    busy = _steps_due(rows.filter(~pl.col(_BUSY)), active, state, as_of)
    quiet = rows.filter(~pl.col(_BUSY) & ~pl.col("number").is_in(busy.implode())).select(
        "number", "customer_id"
    )
    if quiet.height == 0:
        return QuietInvoices(ledger, 0, set())
    rest = ledger.cut(
        may_be_open(as_of, min_balance)
        & ~pl.col("number").is_in(quiet.get_column("number").implode())
    )
    return QuietInvoices(rest, quiet.height, set(quiet.get_column("customer_id").unique()))


def _plain_money(match: Match | None) -> bool:
    return match is None or match.min_balance is None or money_fits(match.min_balance)


def _customer_values(ledger: Ledger) -> list[pl.Expr]:
    """Each row's customer's `workflow:` and segment (for `match: segment`), from the customers
    the sources gave."""
    workflow = {c.customer_id: c.workflow for c in ledger.customers.values() if c.workflow}
    segment = {c.customer_id: c.segment for c in ledger.customers.values() if c.segment}
    cid = pl.col("customer_id")
    return [
        cid.replace_strict(workflow, default=None, return_dtype=pl.String).alias("__file"),
        pl.coalesce(
            pl.col("segment"), cid.replace_strict(segment, default=None, return_dtype=pl.String)
        ).alias("__segment"),
    ]


def _ascii(expr: pl.Expr) -> pl.Expr:
    return expr.is_null() | expr.str.contains(r"^[\x00-\x7f]*$")


def _fits(match: Match) -> pl.Expr:
    """`Matcher.fits` in columns, for values in plain ASCII (see the module)."""
    fits = pl.lit(True)
    if match.min_balance is not None:
        fits &= _balance() >= pl.lit(match.min_balance, pl.Decimal(38, 20))
    for name in _MATCHED:
        allowed = getattr(match, name)
        if allowed is not None:
            value = pl.col("__segment" if name == "segment" else name)
            fits &= value.str.to_lowercase().is_in([a.casefold() for a in allowed]).fill_null(False)
    if match.customer is not None:
        fits &= pl.col("customer_id").is_in(list(match.customer))
    if match.tags is not None:
        tags = [t.casefold() for t in match.tags]
        fits &= (
            pl.col("tags").list.eval(pl.element().str.to_lowercase().is_in(tags)).list.any()
        ).fill_null(False)
    return fits


def _balance() -> pl.Expr:
    return pl.coalesce(pl.col("balance"), pl.col("amount")).cast(pl.Decimal(38, 20))


def _chosen(
    active: dict[str, Workflow], matchers: list[tuple[int, str]], default: str | None
) -> pl.Expr:
    """SPEC 4.5 in columns: the customer's `workflow:`, else the first workflow whose `match:`
    fits, else the default (null: none, or one not enabled: the invoice follows nothing)."""
    fallback = pl.lit(default if default in active else None, pl.String)
    chosen: pl.Expr = fallback
    for _, wid in reversed(matchers):
        match = active[wid].match
        assert match is not None
        chosen = pl.when(_fits(match)).then(pl.lit(wid)).otherwise(chosen)
    return pl.when(pl.col("__file").is_not_null()).then(pl.col("__file")).otherwise(chosen)


def _finished(state: PastState, as_of: date) -> pl.DataFrame:
    """(number, workflow) of the invoice targets whose workflow finished before `as_of`."""
    numbers, wids = [], []
    for (target, wid), day in state.finished.items():
        if target.startswith("invoice:") and day < as_of:
            numbers.append(target[len("invoice:") :])
            wids.append(wid)
    return pl.DataFrame(
        {"number": numbers, _WID: wids}, schema={"number": pl.String, _WID: pl.String}
    )


def _after_chains(
    rows: pl.DataFrame, active: dict[str, Workflow], state: PastState, as_of: date
) -> pl.DataFrame:
    """`then:` (SPEC 4.8), one step along: an invoice whose workflow finished before today
    follows the next one; one that could move on again is left to the object planner (busy)."""
    finished = _finished(state, as_of).with_columns(pl.lit(True).alias("__done"))
    # an `assigned` workflow finishes for a sequence, not an invoice: its rows are busy anyway
    then = {wid: wf.then for wid, wf in active.items() if wf.then and wf.anchor != "assigned"}
    rows = rows.join(finished, on=["number", _WID], how="left")
    moved = pl.col("__done").fill_null(False) & pl.col(_WID).is_in(list(then))
    rows = rows.with_columns(
        pl.when(moved)
        .then(pl.col(_WID).replace_strict(then, default=None, return_dtype=pl.String))
        .otherwise(pl.col(_WID))
        .alias(_WID),
        moved.alias("__moved"),
    ).drop("__done")
    rows = rows.with_columns(
        pl.when(pl.col(_WID).is_in(list(active))).then(pl.col(_WID)).otherwise(None).alias(_WID)
    )
    again = rows.filter(pl.col("__moved")).join(finished, on=["number", _WID], how="semi")
    return rows.with_columns(
        (pl.col("__moved") & pl.col("number").is_in(again.get_column("number").implode())).alias(
            "__again"
        )
    )


def _held_back(state: PastState, active: dict[str, Workflow], several: set[str]) -> pl.Expr:
    """The rows the object planner decides alone (see the module); `several`: customers whose
    contacts speak several languages (issue 33: a message of a step that ran may be due)."""
    invoice_held = set(state.paused_invoices) | set(state.promises) | state.on_plan
    invoice_held.update(state.disputed)  # issue 33
    invoice_held.update(state.routed)  # issue 32: a payment plan's items
    customer_held = set(state.paused_customers) | set(state.assignments) | several
    for hold in state.holds:
        (customer_held if hold.kind == "customer" else invoice_held).add(hold.target_id)
    assigned = [wid for wid, wf in active.items() if wf.anchor == "assigned"]
    plain = _ascii(pl.col("__segment"))
    for name in ("currency", "product", "location", "department"):
        plain &= _ascii(pl.col(name))
    plain &= pl.col("tags").list.eval(_ascii(pl.element())).list.all().fill_null(True)
    return (
        pl.col("number").is_in(list(invoice_held))
        | pl.col("customer_id").is_in(list(customer_held))
        | pl.col(_WID).is_in(assigned).fill_null(False)
        | pl.col("__again")
        | ~plain
    )


def _ran(state: PastState, wids: set[str]) -> pl.DataFrame:
    """(number, workflow, step) of every step that ran for an invoice target."""
    numbers, workflow, steps = [], [], []
    for (target, wid), ran in state.ran.items():
        if wid in wids and target.startswith("invoice:"):
            number = target[len("invoice:") :]
            for step in ran:
                numbers.append(number)
                workflow.append(wid)
                steps.append(step)
    return pl.DataFrame(
        {"number": numbers, _WID: workflow, "__step": steps},
        schema={"number": pl.String, _WID: pl.String, "__step": pl.String},
    )


def _steps_due(
    rows: pl.DataFrame, active: dict[str, Workflow], state: PastState, as_of: date
) -> pl.Series:
    """The numbers of the rows with a step dated from its issue date up to `as_of` that has
    not run for it: something is due, or to be skipped, tonight (`decide_steps`)."""
    found = []
    for wid, wf in active.items():
        if wf.anchor == "assigned" or not wf.steps:
            continue
        mine = rows.filter(pl.col(_WID) == wid).select(
            "number",
            "issue_date",
            pl.col("due_date" if wf.anchor == "due_date" else "issue_date").alias("__anchor"),
        )
        if mine.height:
            found.append(
                _dated(mine, wid, StepSchedule(wid, wf)).with_columns(pl.lit(wid).alias(_WID))
            )
    if not found:
        return pl.Series("number", [], pl.String)
    dated = pl.concat(found).filter(
        (pl.col("__date") <= as_of) & (pl.col("__date") >= pl.col("issue_date"))
    )
    due = dated.join(_ran(state, set(active)), on=["number", _WID, "__step"], how="anti")
    return due.get_column("number").unique()


def _dated(rows: pl.DataFrame, wid: str, schedule: StepSchedule) -> pl.DataFrame:
    """Each row once per step, with the step's id and date (`StepSchedule.dates`)."""
    steps = pl.DataFrame(
        {
            "__step": schedule.ids,
            "__index": list(range(len(schedule.ids))),
            "__day": [s.day for s in schedule.steps],
        },
        schema={"__step": pl.String, "__index": pl.Int64, "__day": pl.Int64},
    )
    crossed = rows.join(steps, how="cross")
    if schedule.calendar is None:
        return crossed.with_columns(
            (pl.col("__anchor") + pl.duration(days=pl.col("__day"))).alias("__date")
        )
    anchors = rows.get_column("__anchor").unique().to_list()
    table = pl.DataFrame(
        {
            "__anchor": [a for a in anchors for _ in schedule.ids],
            "__index": [i for _ in anchors for i in range(len(schedule.ids))],
            "__date": [d for a in anchors for d in schedule.dates(a)],
        },
        schema={"__anchor": pl.Date, "__index": pl.Int64, "__date": pl.Date},
    )
    return crossed.join(table, on=["__anchor", "__index"], how="left")
