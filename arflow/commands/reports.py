"""The reports: what was done (history), what is owed (aging, customers), what goes out
(forecast, preview), what the workflows would have done (simulate), and the workflows."""

from __future__ import annotations

import os
import sys
import tempfile
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from arflow import accounts, desk
from arflow.aging import aging_csv_header, aging_csv_rows, aging_document
from arflow.charts import print_aging, print_forecast, print_simulation
from arflow.commands import common, session
from arflow.commands.common import (
    EXIT_PROBLEMS,
    ConfigOption,
    Format,
    FormatOption,
    TableFormat,
    say,
)
from arflow.compose import compose
from arflow.compose_pool import jobs_default
from arflow.config import Config, load_config
from arflow.csv_rows import (
    customers_csv,
    forecast_csv,
    history_csv,
    simulate_csv,
    workflows_csv,
)
from arflow.desk_lists import print_customers, print_workflows
from arflow.errors import ArflowError, Refused, RowError
from arflow.fees.book import FeeBook
from arflow.history import history_rows
from arflow.holds.listing import hold_part
from arflow.listing import write_csv
from arflow.preview import Preview, preview_plan
from arflow.project import Project, load_project
from arflow.replay import forecast as forecast_days
from arflow.replay import simulate as simulate_days
from arflow.replay import simulation_document
from arflow.report import action_dict, preview_parts, print_preview, write_json_list
from arflow.secrets import redact
from arflow.sources import load_ledger
from arflow.state import open_state
from arflow.tables import print_history


def history(
    customer: Annotated[
        str | None, typer.Option("--customer", metavar="ID", help="Only this customer.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="YYYY-MM-DD", help="Only actions of runs as of this date or later."
        ),
    ] = None,
    unknown: Annotated[
        bool, typer.Option("--unknown", help="Only messages whose outcome is unknown.")
    ] = False,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """The action ledger: everything arflow recorded.

    The action ledger: every message, status, task and note arflow recorded, with its state.

    \b
    Example: arflow history --customer C001 --since -30
    """
    cfg = load_config(common.config_path(config))
    day = common.parse_day(cfg, since, "--since")
    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "read") as db:
        # written out as they are read: a ledger of years is never held whole
        rows = history_rows(db, customer, day, unknown, lambda: load_ledger(cfg).customers)
        if fmt is TableFormat.json:
            write_json_list(sys.stdout, "actions", rows, indent=None if common.plain() else 2)
            return
        if fmt is TableFormat.csv:
            write_csv(sys.stdout, *history_csv(rows))
            return
        print_history(Console(highlight=False), rows, plain=common.plain())


def aging(
    as_of: Annotated[
        str | None,
        common.as_of_option(
            "Age the open balances as of this day: that day's book, its days past due"
        ),
    ] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    fees: Annotated[
        bool, typer.Option("--fees", help="Add the late fees charged on each account's invoices.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """What is owed and how late, by age bucket.

    What is owed and how late: open balances in the buckets current, 1-30, 31-60, 61-90
    and 90+ days past due, per customer (largest first) and per currency. Paused invoices
    count; credit notes reduce their customer's total. Reads the sources only.

    \b
    Example: arflow aging --format csv > aging.csv
    """
    cfg = load_config(common.config_path(config))
    day = common.parse_day(cfg, as_of, "--as-of") or cfg.today(common.now())
    ledger = load_ledger(cfg)
    report = session.aging_of(cfg, ledger, day, _fees_charged(cfg, day) if fees else None)
    if fmt is TableFormat.json:
        common.print_json(aging_document(report))
    elif fmt is TableFormat.csv:
        write_csv(sys.stdout, aging_csv_header(report), aging_csv_rows(report))
    else:
        print_aging(Console(highlight=False), report, cfg.company.locale, plain=common.plain())
    session.report_held_back(ledger)


def _fees_charged(cfg: Config, day: date) -> dict[str, Decimal]:
    """invoice → the late fees charged on it by `day` (`aging --fees`)."""
    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "read") as db:
        rows = db.fee_charges(until=day) if db is not None else []
    return {number: c.total for number, c in FeeBook(cfg, {}, rows).charged.items()}


@contextmanager
def _days_progress(
    console: Console, label: str, days: int, show: bool
) -> Iterator[Callable[[date], None] | None]:
    """A progress bar over the days of a forecast or simulation, in a terminal only: yields
    what to call after each day (None without a bar). It is drawn after each day, with no
    thread of its own: the composing workers are forked meanwhile, and a fork must not catch
    another thread holding the terminal's lock."""
    if not show:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        auto_refresh=False,
    ) as bar:
        task = bar.add_task(label, total=days)

        def advance(_day: date) -> None:
            bar.advance(task)
            bar.refresh()

        bar.refresh()
        yield advance


def forecast(
    days: Annotated[
        int, typer.Option("--days", metavar="N", help="How many days, from --as-of.")
    ] = 14,
    as_of: Annotated[str | None, common.as_of_option("The first day of the forecast")] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
    jobs: common.JobsOption = None,
) -> None:
    """What goes out in the coming days.

    What goes out in the coming days: each day's actions as a real run would take them,
    if every planned action were delivered and no invoice were paid. The state database is
    read, never written; nothing is sent.

    \b
    Example: arflow forecast --days 7
    """
    console = Console(highlight=False)
    project = load_project(common.config_path(config))
    cfg = project.config
    day = common.parse_day(cfg, as_of, "--as-of") or cfg.today(common.now())
    ledger = load_ledger(cfg)
    session.heard_payments(cfg, ledger, day)
    with _days_progress(
        console, "Forecasting", days, fmt is TableFormat.table and console.is_terminal
    ) as advance:
        found = forecast_days(
            project, ledger, day, days, progress=advance, jobs=jobs or jobs_default()
        )
    if fmt is TableFormat.csv:
        write_csv(sys.stdout, *forecast_csv(found))
    elif fmt is TableFormat.json:
        common.print_json(
            {
                "from": day.isoformat(),
                "to": found[-1][0].isoformat(),
                "days": [
                    {
                        "date": d.isoformat(),
                        "actions": [action_dict(a) for a in r.plan.actions],
                        **hold_part(r.plan.holds),  # issue 33: who enters and leaves hold
                    }
                    for d, r in found
                ],
            }
        )
    else:
        print_forecast(console, found, cfg.company.locale, plain=common.plain())
    session.report_held_back(ledger)


def simulate(
    first: Annotated[
        str, typer.Option("--from", metavar="YYYY-MM-DD", help="The first day replayed.")
    ],
    last: Annotated[str, typer.Option("--to", metavar="YYYY-MM-DD", help="The last day replayed.")],
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
    jobs: common.JobsOption = None,
) -> None:
    """Backtest the workflows on a historic ledger.

    Backtest the workflows on a historic ledger: replay it day by day from an empty state
    (invoices open until their paid_date) and report, per workflow step, its actions, the
    invoices it reached and how soon they were paid. Nothing is recorded or sent.

    \b
    Example: arflow simulate --from -90 --to -1
    """
    console = Console(highlight=False)
    project = load_project(common.config_path(config))
    cfg = project.config
    start, end = common.parse_day(cfg, first, "--from"), common.parse_day(cfg, last, "--to")
    ledger = load_ledger(cfg)
    total = (end - start).days + 1
    with _days_progress(
        console, "Simulating", total, fmt is TableFormat.table and console.is_terminal
    ) as advance:
        result = simulate_days(
            project, ledger, start, end, progress=advance, jobs=jobs or jobs_default()
        )
    if fmt is TableFormat.csv:
        write_csv(sys.stdout, *simulate_csv(result.steps))
    elif fmt is TableFormat.json:
        common.print_json(simulation_document(result))
    else:
        print_simulation(console, result, plain=common.plain(), locale=cfg.company.locale)
    session.report_held_back(ledger)


# preview's options, named here so that the command reads as what it does
_PreviewCustomer = Annotated[
    str | None,
    typer.Option(
        "--customer",
        metavar="ID",
        help="A customer's real open invoices (default: a sample customer).",
    ),
]
_PreviewDay = Annotated[
    str | None,
    common.as_of_option(
        "The day to preview the step on; with --customer, the first day to look from"
    ),
]
_HtmlFile = Annotated[
    Path | None,
    typer.Option(
        "--html",
        metavar="FILE",
        help="Write the customer email's HTML part to this file.",
        dir_okay=False,
    ),
]
_OpenIt = Annotated[
    bool,
    typer.Option("--open", help="Open that HTML in the browser (a temporary file without --html)."),
]


def preview(
    workflow: Annotated[str, typer.Argument(help="The workflow id.", metavar="WORKFLOW")],
    step: Annotated[
        str, typer.Argument(help="The step id, on_paid, or `next` for a campaign.", metavar="STEP")
    ],
    customer: _PreviewCustomer = None,
    as_of: _PreviewDay = None,
    html: _HtmlFile = None,
    open_it: _OpenIt = False,
    fmt: FormatOption = Format.table,
    config: ConfigOption = None,
) -> None:
    """What a step would send, rendered as a run would.

    What a step would send: every message (subject and text, SMS and JSON bodies, the
    notices to your people) and every status, task and note, rendered by the same code as a
    run, on the day the step would really go: for a sample customer whose invoices make it due
    that day, or for --customer on the day the step is due for it (a note on stderr says when
    that is not the day asked). Nothing is sent or recorded.

    --format json prints {"notes", "actions": [each message's parts, or a status's, task's or
    note's text], "errors"}.

    \b
    Example: arflow preview net30-standard overdue-30 --customer C001 --html /tmp/email.html
    """
    if fmt is Format.json and (html is not None or open_it):
        raise typer.BadParameter("--format json holds each HTML part; --html and --open are not")
    failed: list[RowError] = []
    project, shown = _preview(config, workflow, step, customer, as_of)
    for note in shown.notes:  # the step is not due on the day asked: said, and still shown
        common.errors_console().print(f"note: {note}", markup=False)
    # nothing previewed is sent and no Message-ID is shown: a throwaway key for them
    composed = list(compose(shown.plan, shown.ledger, project, failed, os.urandom(32)))
    if fmt is Format.json:
        errors = [{"file": e.file, "line": e.line, "message": redact(e.message)} for e in failed]
        parts = preview_parts(composed)
        common.print_json({"notes": shown.notes, "actions": parts, "errors": errors})
    else:
        page = print_preview(Console(highlight=False, soft_wrap=True), shown.plan, composed)
        if html is not None or open_it:
            _write_page(page, html, open_it)
    _report_failed(failed)


def _report_failed(failed: list[RowError]) -> None:
    """Messages a preview could not make: each on stderr, exit 3."""
    for e in failed:
        common.errors_console().print(
            redact(f"error: {e.file}:{e.line}: {e.message}"), markup=False
        )
    if failed:
        raise typer.Exit(EXIT_PROBLEMS)


def _preview(
    config: Path | None, workflow: str, step: str, customer: str | None, as_of: str | None
) -> tuple[Project, Preview]:
    """The project and the preview: for a sample customer neither the sources nor the state
    database are read; for a customer, both (the state as it is, to say when the step goes)."""
    if customer is None:
        project = load_project(common.config_path(config))
        cfg = project.config
        day = common.parse_day(cfg, as_of, "--as-of") or cfg.today(common.now())
        return project, preview_plan(project, None, workflow, step, None, day)
    with session.desk_session(config, write=False) as s:
        day = common.parse_day(s.project.config, as_of, "--as-of") or s.today
        return s.project, preview_plan(s.project, s.ledger, workflow, step, customer, day, s.state)


def _write_page(page: str | None, html: Path | None, open_it: bool) -> None:
    """The email's HTML part to --html (or a temporary file), opened in the browser with
    --open."""
    if page is None:
        raise Refused("this step sends no email with an HTML part; nothing to write")
    target = html or _temporary_page()
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ArflowError(f"cannot write {target}: {exc.strerror}") from None
    say(f"HTML part written to {target}")
    if open_it:
        webbrowser.open(target.resolve().as_uri())


def _temporary_page() -> Path:
    """A new file for `preview --open` to write the page into (kept: the browser reads it)."""
    handle, name = tempfile.mkstemp(prefix="arflow-preview-", suffix=".html")
    os.close(handle)
    return Path(name)


def customers(
    missing: Annotated[
        bool,
        typer.Option(
            "--missing",
            help="Only customers something is missing for (an email, a phone) or that are paused.",
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        common.as_of_option(
            "List open invoices, pauses and what holds each customer as of this day"
        ),
    ] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """Every customer, its contacts and what it lacks.

    Every customer: contacts, open invoices, and what is missing to chase it (no email,
    no phone) or holds it (paused).

    \b
    Example: arflow customers --missing
    """
    with session.desk_session(config, write=False) as s:
        day = common.parse_day(s.project.config, as_of, "--as-of") or s.today
        rows = accounts.customer_rows(s.project, s.ledger, s.state, day)
    if missing:
        rows = [r for r in rows if r["missing"]]
    session.show_customers(s, fmt, day, rows, print_customers, customers_csv)


def workflows_list(
    ctx: typer.Context,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """Every workflow, its steps and its customers.

    Every workflow with its enabled flag, step count and assigned customers; `clone` and
    `delete` subcommands.

    \b
    Example: arflow workflows clone net30-standard net30-strict
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = config
        return
    with session.desk_session(config, write=False) as s:
        rows = desk.workflow_rows(s.project, s.ledger, s.state)
    if fmt is TableFormat.json:
        common.print_json({"workflows": rows})
        return
    if fmt is TableFormat.csv:
        write_csv(sys.stdout, *workflows_csv(rows))
        return
    print_workflows(Console(highlight=False), rows, plain=common.plain())
