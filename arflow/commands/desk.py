"""The desk (SPEC 4.5–4.8): assignment, position, pauses, promises, tasks, and the workflow
files (clone, delete)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from arflow import accounts, desk
from arflow.commands import common, session
from arflow.commands.common import (
    EXIT_PROBLEMS,
    ConfigOption,
    IdsFileOption,
    TableFormat,
    say,
)
from arflow.csv_rows import status_csv, tasks_csv
from arflow.desk_lists import print_tasks
from arflow.listing import write_csv
from arflow.tables import print_status


class PauseKind(StrEnum):
    customer = "customer"
    invoice = "invoice"


def _report_unknown(unknown: desk.Unknown | None) -> None:
    if unknown is not None:
        common.errors_console().print(
            f"error: no {unknown.what} {', '.join(unknown.ids)} in the sources; check the "
            "id(s) — nothing was done for them, the others were.",
            markup=False,
        )
        raise typer.Exit(EXIT_PROBLEMS)


def _customer_ids(customers: list[str] | None, from_file: Path | None) -> list[str]:
    ids = list(customers or [])
    if from_file is not None:
        ids += desk.read_ids(from_file)
    if not ids:
        raise typer.BadParameter("name at least one customer, or --file with their ids")
    return ids


def assign(
    workflow: Annotated[
        str, typer.Option("--workflow", "-w", metavar="ID", help="The workflow id.")
    ],
    customers: Annotated[
        list[str] | None, typer.Argument(help="Customer ids.", metavar="CUSTOMER")
    ] = None,
    on: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="The assignment date an `anchor: assigned` workflow "
            "counts from, or +N / -N days from today (default: the next run).",
        ),
    ] = None,
    from_file: IdsFileOption = None,
    config: ConfigOption = None,
) -> None:
    """Assign customers to a workflow.

    Assign customers to a workflow; it wins over the customers file and `match:`.

    Moving a customer to another workflow starts that workflow's sequence. With --date an
    `anchor: assigned` workflow counts its days from that date.

    \b
    Example: arflow assign C001 C002 --workflow ar-workflow --date -11
    """
    ids = _customer_ids(customers, from_file)
    with session.desk_session(config) as s:
        day = common.parse_day(s.project.config, on, "--date", s.today)
        done, unknown = desk.assign(s.db, s.project, s.ledger, ids, workflow, day, s.today)
    if done:
        since = f" from {day}" if day else ""
        say(f"Assigned {len(done)} customer(s) to {workflow}{since}: {', '.join(done)}")
    _report_unknown(unknown)


def unassign(
    customers: Annotated[
        list[str] | None, typer.Argument(help="Customer ids.", metavar="CUSTOMER")
    ] = None,
    from_file: IdsFileOption = None,
    config: ConfigOption = None,
) -> None:
    """Remove assignments made with `arflow assign`.

    The customer falls back to the customers file's workflow, a matching workflow or the
    default one.

    \b
    Example: arflow unassign C001 C002
    """
    ids = _customer_ids(customers, from_file)
    with session.desk_session(config, ledger=False) as s:
        removed, missing = desk.unassign(s.db, ids, s.today)
    if removed:
        say(f"Unassigned {len(removed)} customer(s): {', '.join(removed)}")
    if missing:
        say(f"Not assigned by hand, left as they were: {', '.join(missing)}")


def status(
    customer: Annotated[
        str | None, typer.Argument(help="Only this customer.", metavar="CUSTOMER")
    ] = None,
    as_of: Annotated[
        str | None,
        common.as_of_option(
            "Show the positions as of this day: overdue totals, next steps, pauses"
        ),
    ] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """Each customer's position in its workflow.

    Each customer's position: workflow, last and next step, open and overdue totals,
    collection status, specialist, pauses and promises. Exit 3 when the sources have bad rows
    or values: each is printed on stderr, as `arflow run` reports them.

    \b
    Example: arflow status C001 --format json
    """
    with session.desk_session(config, write=False) as s:
        day = common.parse_day(s.project.config, as_of, "--as-of") or s.today
        session.heard_payments(s.project.config, s.ledger, day, s.state)
        rows = accounts.status(s.project, s.ledger, s.state, day, customer)
    session.show_customers(s, fmt, day, rows, print_status, status_csv)


def pause(
    kind: Annotated[
        PauseKind, typer.Argument(help="customer or invoice.", metavar="customer|invoice")
    ],
    target: Annotated[str, typer.Argument(help="The customer id or invoice number.", metavar="ID")],
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="YYYY-MM-DD",
            help="Last paused day, or +N: N days after the pause is made "
            "(default: until `arflow resume`).",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for the record.")
    ] = None,
    as_of: Annotated[
        str | None, common.as_of_option("The day the pause is made; --until may not be before it")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Stop messages to a customer or about one invoice.

    Stop messages to a customer, or leave one invoice out of them (it still counts in the
    customer's totals).

    \b
    Example: arflow pause invoice INV-1001 --until +30 --reason "disputed"
    """
    with session.desk_session(config) as s:
        day = common.parse_day(s.project.config, as_of, "--as-of") or s.today
        last = common.parse_day(s.project.config, until, "--until", day)
        pause_id = desk.pause(s.db, s.ledger, kind.value, target, last, reason, day)
    say(
        f"Paused {kind.value} {target}"
        + (f" through {last}" if last else " until `arflow resume`")
        + f" (pause {pause_id})."
    )


def resume(
    kind: Annotated[
        PauseKind, typer.Argument(help="customer or invoice.", metavar="customer|invoice")
    ],
    target: Annotated[str, typer.Argument(help="The customer id or invoice number.", metavar="ID")],
    config: ConfigOption = None,
) -> None:
    """End the pauses of a customer or an invoice.

    End the pauses of a customer or an invoice (for an invoice, also its promises).

    Steps that fell due meanwhile follow the workflow's catch_up rule at the next run.

    \b
    Example: arflow resume customer C001
    """
    with session.desk_session(config, ledger=False) as s:
        paused, promised = desk.resume(s.db, kind.value, target)
    if not paused and not promised:
        say(f"{kind.value} {target} was not paused; nothing changed.")
        return
    extra = f" and cancelled {promised} promise(s)" if promised else ""
    say(f"Resumed {kind.value} {target}: ended {paused} pause(s){extra}.")


def promise(
    invoice: Annotated[str, typer.Argument(help="The invoice number.", metavar="INVOICE")],
    on: Annotated[
        str,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="The day the customer promised to pay by, or +N: N days after the promise "
            "is made.",
        ),
    ],
    amount: Annotated[
        str | None,
        typer.Option(
            "--amount", metavar="AMOUNT", help="The amount promised (default: the open balance)."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        common.as_of_option("The day the promise was made; the invoice must be open on it"),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Record a promise-to-pay on an invoice.

    Record a promise-to-pay: chasing of the invoice holds until --date; if it is not paid
    by then, chasing resumes the next day (in the workflow's on_broken_promise: when set).

    \b
    Example: arflow promise INV-1001 --date +14 --amount 500
    """
    with session.desk_session(config) as s:
        cfg = s.project.config
        made = common.parse_day(cfg, as_of, "--as-of") or s.today
        day = common.parse_day(cfg, on, "--date", made)
        value = common.parse_amount(cfg, amount, "--amount")
        promise_id = desk.promise(s.db, s.ledger, invoice, day, value, made, cfg.min_balance)
    say(
        f"Promise {promise_id}: {invoice} to be paid by {day}"
        + (f" ({value})" if value is not None else "")
        + "; chasing holds until then."
    )


def tasks_list(
    ctx: typer.Context,
    assignee: Annotated[
        str | None,
        typer.Option(
            "--assignee", metavar="PERSON", help="Only this person (their key in people:)."
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include finished tasks.")] = False,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """The task list (calls, reviews) by due date.

    The task list (calls, reviews) by due date; `arflow tasks done ID` finishes one.

    \b
    Example: arflow tasks --assignee dana
    """
    if ctx.invoked_subcommand is not None:
        return
    with session.desk_session(config, ledger=False, write=False) as s:
        rows = desk.tasks(s.state, s.project, assignee, all_)
    if fmt is TableFormat.json:
        common.print_json({"tasks": rows})
        return
    if fmt is TableFormat.csv:
        write_csv(sys.stdout, *tasks_csv(rows, s.today))
        return
    print_tasks(Console(highlight=False), rows, s.today, plain=common.plain())


def tasks_done(
    task_id: Annotated[
        int, typer.Argument(help="The task number, as `arflow tasks` shows it.", metavar="TASK")
    ],
    config: ConfigOption = None,
) -> None:
    """Mark a task done.

    \b
    Example: arflow tasks done 1
    """
    with session.desk_session(config, ledger=False) as s:
        row = desk.task_done(s.db, task_id)
    say(f"Task {task_id} done: {row['title']}")


def workflows_clone(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The workflow to copy.", metavar="WORKFLOW")],
    new: Annotated[
        str, typer.Argument(help="The new workflow's id (its file name).", metavar="NEW")
    ],
    config: ConfigOption = None,
) -> None:
    """Copy a workflow; the copy's name gets "copy" after it.

    \b
    Example: arflow workflows clone net30-standard net30-strict
    """
    with session.desk_session(config or ctx.obj, ledger=False, write=False) as s:
        path = desk.clone_workflow(s.project, source, new)
    say(f"Created {path} from {source}.")


def workflows_delete(
    ctx: typer.Context,
    wid: Annotated[str, typer.Argument(help="The workflow to delete.", metavar="WORKFLOW")],
    config: ConfigOption = None,
) -> None:
    """Delete a workflow file.

    Refused while customers are assigned to it.

    \b
    Example: arflow workflows delete net30-strict
    """
    with session.desk_session(config or ctx.obj, write=False) as s:
        path = desk.delete_workflow(s.project, s.ledger, s.state, wid)
    say(f"Deleted {path}.")
