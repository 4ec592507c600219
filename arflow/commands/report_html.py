"""`arflow report --html FILE` (issue 34): the receivables on one self-contained page."""

from __future__ import annotations

import os
import sys
import webbrowser
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from arflow.commands import common, session
from arflow.commands.common import ConfigOption, say
from arflow.compose_pool import jobs_default
from arflow.errors import Refused
from arflow.history import history_rows
from arflow.htmlreport.figures import ReportInputs, report_document
from arflow.htmlreport.page import report_page
from arflow.ledger import Ledger
from arflow.project import Project, load_project
from arflow.replay import forecast as forecast_days
from arflow.replay import simulate as simulate_days
from arflow.sources import load_ledger
from arflow.state import open_state

FORECAST_DAYS = 14
BACKTEST_DAYS = 90  # `--backtest`: the workflows replayed over the 90 days up to the report's


def report(
    html: Annotated[
        str,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write the report to this HTML file (- for standard output).",
        ),
    ],
    as_of: Annotated[str | None, common.as_of_option("The report as of this day")] = None,
    open_it: Annotated[
        bool, typer.Option("--open", help="Open the report in the browser once written.")
    ] = False,
    backtest: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="Add simulate's figures per step over the 90 days up to the report's day.",
        ),
    ] = False,
    config: ConfigOption = None,
    jobs: common.JobsOption = None,
) -> None:
    """The receivables on one HTML page, to open, print or send.

    One self-contained HTML file (no script, nothing fetched): aging by bucket and currency,
    the largest accounts, the collections KPIs with their formulas and their trend over 12
    months, what arflow did in the last 30 days, the next 14 days' forecast, and how soon
    each step was followed by payment. Prints on A4 or Letter; reads on a phone. Reads the
    sources and the state database; writes nothing else.

    \b
    Example: arflow report --html receivables.html --open
    """
    project = load_project(common.config_path(config))
    cfg = project.config
    day = common.parse_day(cfg, as_of, "--as-of") or cfg.today(common.now())
    ledger = load_ledger(cfg)
    inputs = gather(project, ledger, day, backtest, jobs or jobs_default())
    page = report_page(report_document(inputs), cfg.company.locale)
    if html == "-":
        sys.stdout.write(page)
    else:
        target = Path(html)
        write_page(target, page)
        say(f"Wrote {target} (receivables as of {day.isoformat()}).")
        if open_it:
            webbrowser.open(target.resolve().as_uri())
    session.report_held_back(ledger)


def gather(project: Project, ledger: Ledger, day: date, backtest: bool, jobs: int) -> ReportInputs:
    """What the report shows, each part as its own command sees the ledger: the KPIs and the
    steps' payments as `kpi` (the sources' invoices), the forecast and the backtest as
    `forecast` and `simulate` (the bank's payments lowered), the aging, the largest accounts
    and the promises as `aging` (the payments and the credits agreed in disputes lowered)."""
    cfg = project.config
    sourced = ledger.copy(sourced=True)
    planned = ledger.copy(sourced=True)
    session.heard_payments(cfg, planned, day)
    aging = session.aging_of(cfg, ledger, day)
    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "read") as db:
        history = [
            row
            for row in history_rows(db, None, None, False, lambda: ledger.customers)
            if row["as_of"] <= day.isoformat()
        ]
        promises = db.promises() if db is not None else []
    days = forecast_days(project, planned, day, FORECAST_DAYS, jobs=jobs)
    simulated = (
        simulate_days(project, sourced, day - timedelta(days=BACKTEST_DAYS - 1), day, jobs=jobs)
        if backtest
        else None
    )
    return ReportInputs(
        company=cfg.company.name,
        locale=cfg.company.locale,
        as_of=day,
        aging=aging,
        invoices=sourced.invoices,
        aged=ledger.invoices,
        history=history,
        promises=promises,
        forecast=days,
        backtest=simulated,
        min_balance=cfg.min_balance,
        campaigns=frozenset(w.id for w in project.workflows.values() if w.model.is_campaign),
    )


def write_page(target: Path, page: str) -> None:
    """`page` as `target`, whole or not at all (a reader never sees half a report)."""
    folder = target.parent
    if not folder.is_dir():
        raise Refused(f"--html {target}: no folder {folder}; make it first or name another file")
    if target.is_symlink():
        target = target.resolve()  # the file it names is the report, the link stays
    if target.exists() and not target.is_file():
        raise Refused(f"--html {target}: not a regular file; name a file to write the report to")
    temp = folder / f".{target.name}.{os.getpid()}.arflow-tmp"
    try:
        temp.write_text(page, encoding="utf-8")
        if target.exists():  # the report keeps the file's permissions (a private one stays so)
            os.chmod(temp, target.stat().st_mode & 0o7777)
        os.replace(temp, target)
    except OSError as err:
        temp.unlink(missing_ok=True)
        raise Refused(f"--html {target}: cannot write it ({err.strerror})") from err
