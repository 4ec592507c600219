"""Command-line interface: parse options, call the library, print. No business rule lives here.

This is the one place that turns ArflowErrors into messages and exit codes (SPEC 8):
0 all good; 1 nothing was done; 2 usage error; 3 the run completed with problems.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import sys
import tempfile
import webbrowser
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar, overload

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from arflow import __version__, accounts, desk, healthcheck
from arflow.aging import CSV_HEADER as AGING_CSV_HEADER
from arflow.aging import aging_csv_rows, aging_document, aging_report
from arflow.charts import print_aging, print_forecast, print_simulation
from arflow.compose import compose
from arflow.config import Config, find_config, load_config
from arflow.deliver import baseline as deliver_baseline
from arflow.deliver import refuse_future
from arflow.deliver import run as deliver_run
from arflow.doctor import Check
from arflow.doctor import checks as doctor_checks
from arflow.errors import ArflowError, InvalidFiles, Problem, Refused, StoppedMidRun
from arflow.inbox import read_inbox
from arflow.ledger import Ledger
from arflow.preview import preview_plan
from arflow.project import history_warnings, load_project
from arflow.replay import forecast as forecast_days
from arflow.replay import simulate as simulate_days
from arflow.replay import simulation_document
from arflow.report import (
    action_dict,
    incoming_rows,
    outcome_text,
    plan_document,
    print_inbox,
    print_plan,
    print_preview,
    write_json,
)
from arflow.scaffold import add_workflow, write_scaffold
from arflow.schema import schema_text
from arflow.secrets import redact
from arflow.sources import load_ledger, source_problems
from arflow.sources.values import ValueParser
from arflow.state import open_state, run_lock, start_over
from arflow.tables import print_customers, print_history, print_status, print_tasks, print_workflows
from arflow.workflow import load_workflows

T = TypeVar("T")
EXIT_OK, EXIT_NOTHING_DONE, EXIT_USAGE, EXIT_PROBLEMS = 0, 1, 2, 3

HELP = {"help_option_names": ["-h", "--help"]}
# An argument's help line is its name (metavar) and what it is; typer would add the Python
# type it is declared with (`INVOICE <str>`), which a bookkeeper has no use for.
typer.core.TyperArgument.display_type_rich = (  # type: ignore[method-assign]
    lambda self, ctx: None if self.metavar else typer.core.TyperArgument.display_type(self, ctx)
)

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=HELP,
    help="arflow: accounts-receivable collections, each reminder sent exactly once.",
)
_GLOBAL_CONFIG: list[Path] = []  # `arflow --config PATH COMMAND`: the default of every command


class Format(StrEnum):
    table = "table"
    json = "json"


class TableFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help="Path to arflow.yaml (default: the one here or in a folder above, or $ARFLOW_CONFIG).",
        dir_okay=False,
    ),
]


def _config_path(explicit: Path | None) -> Path:
    """The command's --config, else the one given before the command, else as found."""
    return find_config(
        explicit if explicit is not None else (_GLOBAL_CONFIG[0] if _GLOBAL_CONFIG else None),
        Path.cwd(),
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _journald() -> bool:
    """Whether output goes to systemd's journal, which stamps each line with its time."""
    return bool(os.environ.get("JOURNAL_STREAM"))


def _stamp(moment: datetime) -> str:
    """A moment as logs write it: UTC, to the second (`2026-11-28T21:40:12Z`)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _typed(config: Config) -> ValueParser:
    """What a person types goes through the parser of the invoices' own values (SPEC 2.4):
    the same dates (ISO, or the source's date_format) and amounts (decimal:, thousands:)."""
    return ValueParser(config.invoices, "invoices", config.company.region)


@overload
def _day(config: Config, value: str, option: str) -> date: ...
@overload
def _day(config: Config, value: None, option: str) -> None: ...
@overload
def _day(config: Config, value: str | None, option: str) -> date | None: ...
def _day(config: Config, value: str | None, option: str) -> date | None:
    return _parsed(value, option, _typed(config).typed_date)


def _amount(config: Config, value: str | None, option: str) -> Decimal | None:
    return _parsed(value, option, _typed(config).money)


def _parsed(value: str | None, option: str, parse: Callable[[str], T]) -> T | None:
    """An option's value through its parser; the parser's message is the usage error."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _fail(err: ArflowError) -> None:
    """Print a foreseeable problem to stderr, every secret arflow read taken out, and exit 1
    (nothing was done; 2 for a refused value, 3 for a run stopped after it sent some)."""
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    # when it happened, for the cron mail or log it lands in (problems keep PATH:LINE: first,
    # as editors and CI read them)
    # (journald stamps every line itself: systemd sets JOURNAL_STREAM)
    when = "" if _journald() else f" ({_stamp(_now())})"
    if isinstance(err, InvalidFiles):
        for problem in err.problems:
            stderr.print(redact(str(problem)), markup=False)
        stderr.print(f"{len(err.problems)} problem(s) found; nothing was done{when}.", markup=False)
    else:
        stderr.print(redact(f"error: {err}{when}"), markup=False)
    raise typer.Exit(
        EXIT_USAGE
        if isinstance(err, Refused)
        else EXIT_PROBLEMS
        if isinstance(err, StoppedMidRun)
        else EXIT_NOTHING_DONE
    )


@app.command()
def init(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Folder to create (with --workflow: the folder to add to).",
            file_okay=False,
            metavar="DIRECTORY",
        ),
    ] = Path("."),
    workflow: Annotated[
        str | None,
        typer.Option(
            "--workflow",
            "-w",
            metavar="NAME",
            help="Add this ready workflow and its templates to an existing folder.",
        ),
    ] = None,
):
    """Create a working folder with a config, workflows, templates and sample invoices; or,
    with --workflow, add one of arflow's ready workflows to a folder you have.

    The folder uses the file outbox, so it works with no mail server. An existing arflow.yaml
    is left untouched; so is every file --workflow finds already there.

    Example: arflow init ~/ar && cd ~/ar && arflow run --dry-run
    Example: arflow init --workflow past-due-15-30-45 ~/ar
    """
    console = Console(highlight=False, soft_wrap=True)  # paths are never broken
    if workflow is not None:
        try:
            added, kept = add_workflow(directory, workflow)
        except ArflowError as err:
            _fail(err)
        console.print(f"Added {workflow} to {directory}/ ({len(added)} files):", markup=False)
        for path in added:
            console.print(f"  {path.relative_to(directory)}", markup=False)
        for path in kept:
            console.print(
                f"  {path.relative_to(directory)} (already there; left as it is)", markup=False
            )
        console.print(f"Next: arflow validate {directory}", markup=False)
        return
    try:
        written = write_scaffold(directory, _now().date())
    except ArflowError as err:
        _fail(err)
    if not written:
        console.print(f"{directory}/arflow.yaml already exists; left unchanged.", markup=False)
        return
    console.print(f"Created {directory}/ with {len(written)} files:", markup=False)
    for path in written:
        console.print(f"  {path.relative_to(directory)}", markup=False)
    console.print(f"Next: arflow run --dry-run --config {directory / 'arflow.yaml'}", markup=False)


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Config files, folders holding arflow.yaml, or workflow files (default: --config "
            "or the arflow.yaml found from here).",
            metavar="PATH",
        ),
    ] = None,
    fmt: Annotated[
        CheckFormat,
        typer.Option(
            "--format", help="text; json (one document); github (annotations for a pull request)."
        ),
    ] = CheckFormat.text,
    config: ConfigOption = None,
):
    """Check config, workflows and templates; print every problem as PATH:LINE: where: message.

    Exit 0 when valid, 1 when not. Templates are rendered once against a sample context, so a
    misspelt variable fails here. A workflow file is checked within the folder it belongs to
    (the arflow.yaml above it), or on its own when there is none. Every path given is checked.

    Example: arflow validate --format github workflows/net30-standard.yaml
    """
    targets: list[Path | None] = []
    for given in list(paths) if paths else [None]:
        if given is not None and given.is_dir():
            given = given / "arflow.yaml"
        targets.append(given if given is not None else config)
    problems: list[Problem] = []
    valid: list[str] = []
    console = Console(highlight=False, soft_wrap=True)
    for target in targets:
        try:
            if target is not None and _is_workflow_file(target):
                problems += _check_workflow_file(target)
                continue
            project = load_project(_config_path(target))
            unreadable = source_problems(project.config)
            if unreadable:
                problems += unreadable
                continue
            valid.append(
                f"{project.config.path}: valid ({len(project.workflows)} workflows, "
                f"{project.templates.count()} templates)"
            )
            if fmt is CheckFormat.text:
                console.print(valid[-1], markup=False)
            _warn(history_warnings(project))
        except InvalidFiles as err:
            problems += err.problems
        except ArflowError as err:
            if fmt is CheckFormat.text:
                _fail(err)
            problems.append(Problem(str(target or "arflow.yaml"), None, "", str(err)))
    if fmt is CheckFormat.json:
        _print_json(
            {
                "valid": not problems,
                "checked": valid,
                "problems": [
                    {"file": q.path, "line": q.line, "where": q.where, "message": q.message}
                    for q in problems
                ],
            }
        )
    elif fmt is CheckFormat.github:
        for problem in problems:  # GitHub's workflow commands: one annotation a problem
            line = f",line={problem.line}" if problem.line else ""
            text = (f"{problem.where}: " if problem.where else "") + problem.message
            sys.stdout.write(f"::error file={_gh(problem.path)}{line}::{_gh(text)}\n")
    if problems:
        if fmt is CheckFormat.text:
            _fail(InvalidFiles(problems))
        raise typer.Exit(EXIT_NOTHING_DONE)


def _gh(text: str) -> str:
    """A value in a GitHub workflow command: %, CR and LF escaped as GitHub reads them."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _is_workflow_file(path: Path) -> bool:
    """A YAML file that is not arflow.yaml, in a workflows/ folder or with steps:/schedule:."""
    if path.name == "arflow.yaml" or path.suffix not in (".yaml", ".yml") or not path.is_file():
        return False
    if path.parent.name == "workflows":
        return True
    try:
        head = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.startswith(("steps:", "schedule:")) for line in head.splitlines())


def _check_workflow_file(path: Path) -> list[Problem]:
    """A workflow file's problems: within its folder's project when one is above it (only
    that file's, and the project's that name it), else the file on its own."""
    folder = path.resolve().parent
    config = next(
        (f / "arflow.yaml" for f in (folder, *folder.parents) if (f / "arflow.yaml").is_file()),
        None,
    )
    if config is not None:
        try:
            load_project(config)
        except InvalidFiles as err:
            return err.problems
        return []
    _, problems = load_workflows(path.parent, str)
    name = str(path)
    return [p for p in problems if p.path == name]


@app.command()
def run(
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Plan, render every message and print; send and record nothing."
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Run as of this date (default: today in the company time zone). A real run takes "
            "no date after today.",
        ),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    customer: Annotated[
        str | None, typer.Option("--customer", metavar="ID", help="Only this customer.")
    ] = None,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline",
            help="Adopt arflow on a ledger chased before: record every step already due "
            "as done, send nothing.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With --baseline: mark even though arflow has sent from this state before.",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print only what needs a person (failed or unknown messages, "
            "errors) and then the summary; nothing when all went well.",
        ),
    ] = False,
    config: ConfigOption = None,
):
    """The nightly job: work out what is due today and (without --dry-run) deliver it.

    A dry run goes through the same pipeline as a real run: every message is rendered and
    checked, then handed to nobody. --baseline, once, on a ledger that was chased before
    arflow: what is due now is marked done (`baseline` in history) and nothing is sent.

    Exit 0 all good; 1 nothing was done; 2 usage error (a real run dated in the future);
    3 the run completed with problems (rejected rows, failed or unknown sends).

    Under cron (no terminal) it prints a line saying when it started, a header, then one
    tab-separated line per action; --quiet keeps cron silent unless something needs a person.

    Example: arflow run --dry-run --as-of 2026-03-16 --format json
    """
    if dry_run and baseline:
        raise typer.BadParameter(
            "--baseline records what is due; it cannot be a --dry-run "
            "(run --dry-run first to see what it would mark)"
        )
    plain = not sys.stdout.isatty()
    console = Console(highlight=False)
    started = _stamp(_now())
    monitor: str | None = None  # healthcheck_url, told how a real run ended
    try:
        project = load_project(_config_path(config))
        _warn(history_warnings(project, unreadable=False))  # the run reports a broken state
        cfg = project.config
        monitor = None if dry_run or baseline else cfg.healthcheck_url
        today = cfg.today(_now())
        day = _day(cfg, as_of, "--as-of") or today
        if not dry_run:  # refused before a large ledger is read
            refuse_future(day, today, cfg.company.timezone)
        if fmt is Format.table and not plain:
            with Progress(
                TextColumn("Reading invoices"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("read", total=None)
                ledger = load_ledger(
                    cfg, lambda done, total: bar.update(task, completed=done, total=total)
                )
        else:
            ledger = load_ledger(cfg)
        if customer is not None:
            if customer not in ledger.customers:
                raise Refused(f"--customer {customer!r}: no such customer in the sources")
            ledger = _only_customer(ledger, customer)
        if baseline:
            outcome = deliver_baseline(project, ledger, day, force=force, today=today)
        else:
            outcome = deliver_run(project, ledger, day, dry_run=dry_run, today=today)
        result, errors = outcome.plan, outcome.errors
        _warn_recovered(outcome.recovered, dry_run)
        if fmt is Format.table and plain and not quiet and not _journald():
            kind = "dry run" if dry_run else "baseline" if baseline else "run"
            sys.stdout.write(f"# arflow {kind} started {started}, as of {day}\n")
        if outcome.inbox and fmt is Format.table and not quiet:
            print_inbox(console, outcome.inbox, plain=plain, dry_run=False)
        _print_run(
            result,
            errors,
            fmt,
            console,
            plain,
            cfg.company.locale,
            dry_run,
            baseline,
            outcome.details,
            quiet,
            {cid: c.display_name for cid, c in ledger.customers.items()},
        )
    except ArflowError as err:
        if monitor:
            _ping(monitor, False, redact(f"error: {err}"))
        _fail(err)
    # messages of an interrupted run now unknown are a problem of this run to report too
    problems = (
        errors
        or outcome.recovered
        or any(a.status in ("failed", "unknown") for a in result.actions)
    )
    if monitor:
        _ping(
            monitor,
            not problems,
            f"{day}: "
            + outcome_text(result, outcome.details, dry_run=False)
            + f", {len(errors)} error(s)",
        )
    raise typer.Exit(EXIT_PROBLEMS if problems else EXIT_OK)


@app.command()
def inbox(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what the new messages would do; record nothing.")
    ] = False,
    config: ConfigOption = None,
):
    """Read customers' replies and bounces now (a real `arflow run` does this first).

    A reply to an email arflow sent pauses that customer for replies.pause_days (reason
    `replied`); a bounce stops emails to that address until the customers file gives the
    customer another; an auto-reply (out of office) is only recorded. Every other message is
    left alone. Mail is never deleted, moved or marked read, and each message counts once.
    The notice to replies.notify goes with the next run.

    Exit 0 all good; 1 nothing was done (bad config); 3 the inbox could not be read.

    Example: arflow inbox --dry-run
    """
    try:
        project = load_project(_config_path(config))
        cfg = project.config
        if cfg.channels.inbox is None:
            raise Refused(
                "arflow.yaml has no channels.inbox: add one, e.g. inbox: {transport: "
                "maildir, dir: mail/ar} under channels:"
            )
        ledger = load_ledger(cfg)
        today = cfg.today(_now())
        emails = {cid: c.email for cid, c in ledger.customers.items()}
        path = cfg.resolve(cfg.state)
        with open_state(path, cfg.display(path), "dry" if dry_run else "run") as db:
            heard = read_inbox(cfg, db, today, emails)
    except ArflowError as err:
        _fail(err)
    print_inbox(
        Console(highlight=False), heard.events, plain=not sys.stdout.isatty(), dry_run=dry_run
    )
    if heard.error:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"error: {heard.error} ({_stamp(_now())})", markup=False
        )
        raise typer.Exit(EXIT_PROBLEMS)


def _temporary_page() -> Path:
    """A new file for `preview --open` to write the page into (kept: the browser reads it)."""
    handle, name = tempfile.mkstemp(prefix="arflow-preview-", suffix=".html")
    os.close(handle)
    return Path(name)


def _ping(url: str, ok: bool, summary: str) -> None:
    problem = healthcheck.ping(url, ok, summary)
    if problem:
        _warn([Problem("arflow.yaml", None, "", problem)])


def _warn(problems: list[Problem]) -> None:
    """Warnings on stderr; they never change the exit code."""
    if problems:
        console = Console(stderr=True, highlight=False, soft_wrap=True)
        for problem in problems:
            console.print(f"warning: {problem}", markup=False)


def _only_customer(ledger: Ledger, customer: str) -> Ledger:
    return ledger.only(customer)


def _warn_recovered(count: int, dry_run: bool = False) -> None:
    if count:
        now = "will be marked unknown by the real run" if dry_run else "are now marked unknown"
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"warning: {count} message(s) of an interrupted run {now} and will not be resent "
            "by themselves; see `arflow history --unknown`.",
            markup=False,
        )


def _print_run(
    result,
    errors,
    fmt,
    console,
    plain,
    locale,
    dry_run,
    baseline=False,
    details=None,
    quiet=False,
    names=None,
) -> None:
    if fmt is Format.json:
        if plain:  # a pipe or a file: compact, streamed
            write_json(sys.stdout, result, errors, dry_run=dry_run)
        else:  # a person: indented
            sys.stdout.write(
                json.dumps(
                    plan_document(result, errors, dry_run=dry_run), indent=2, ensure_ascii=False
                )
                + "\n"
            )
    else:
        print_plan(
            console,
            result,
            errors,
            locale,
            plain=plain,
            dry_run=dry_run,
            baseline=baseline,
            details=details,
            quiet=quiet,
            names=names,
        )


@app.command()
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
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    config: ConfigOption = None,
):
    """The action ledger: every message, status, task and note arflow recorded, with its state.

    Example: arflow history --customer C001 --since 2026-03-01
    """
    try:
        cfg = load_config(_config_path(config))
        day = _day(cfg, since, "--since")
        path = cfg.resolve(cfg.state)
        with open_state(path, cfg.display(path), "read") as db:
            rows = [] if db is None else db.history(customer, day, unknown)
            if db is not None and not unknown:  # SPEC 6.1: replies and bounces, in date order
                rows = sorted(
                    rows + incoming_rows(db.incoming(customer, day)),
                    key=lambda r: (r["as_of"], r["customer_id"]),
                )
            known = db is not None and db.knows_customer(customer) if customer else False
        if (
            customer is not None
            and not rows
            and not known
            and customer not in load_ledger(cfg).customers
        ):
            raise Refused(
                f"--customer {customer!r}: no such customer in the sources or the history"
            )
    except ArflowError as err:
        _fail(err)
    if fmt is Format.json:
        sys.stdout.write(
            json.dumps(
                {"actions": rows}, indent=None if not sys.stdout.isatty() else 2, ensure_ascii=False
            )
            + "\n"
        )
        return
    print_history(Console(highlight=False), rows, plain=not sys.stdout.isatty())


@app.command()
def resolve(
    key: Annotated[
        str, typer.Argument(help="The action key, as `arflow history` shows it.", metavar="KEY")
    ],
    sent: Annotated[
        bool, typer.Option("--sent", help="It did arrive: never send it again.")
    ] = False,
    retry: Annotated[
        bool, typer.Option("--retry", help="It did not arrive: the next run may send it again.")
    ] = False,
    config: ConfigOption = None,
):
    """Settle a message whose outcome is unknown (or that failed): mark it sent, or retry it.

    A retried message goes out with the next run while its step is still due.

    Example: arflow resolve invoice:INV-1001/net30-standard/overdue-30/0 --sent
    """
    if sent == retry:
        raise typer.BadParameter("give exactly one of --sent or --retry")
    try:
        cfg = load_config(_config_path(config))
        path = cfg.resolve(cfg.state)
        with open_state(path, cfg.display(path), "run") as db:
            row = db.resolve(key, sent=sent)
    except ArflowError as err:
        _fail(err)
    verb = "marked sent" if sent else "will be retried by the next run (while its step is due)"
    Console(highlight=False).print(f"{row['key']}: {verb}.", markup=False)


# --- the desk: assignment, position, pauses, promises, tasks, workflows (SPEC 4.5–4.8) -----
class PauseKind(StrEnum):
    customer = "customer"
    invoice = "invoice"


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="The day it happens (default: today in the company time zone).",
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", help="table or json.")]


@contextmanager
def _desk(config: Path | None, *, ledger: bool = True, write: bool = True):
    """(project, ledger, state database, today) for a desk command; ArflowErrors exit 1."""
    try:
        project = load_project(_config_path(config))
        cfg = project.config
        loaded = load_ledger(cfg) if ledger else None
        path = cfg.resolve(cfg.state)
        with open_state(path, cfg.display(path), "write" if write else "read") as db:
            yield project, loaded, db, cfg.today(_now())
    except ArflowError as err:
        _fail(err)


def _say(text: str) -> None:
    Console(highlight=False, soft_wrap=True).print(text, markup=False)


def _report_unknown(unknown) -> None:
    if unknown is not None:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"error: no {unknown.what} {', '.join(unknown.ids)} in the sources; check the "
            "id(s) — nothing was done for them, the others were.",
            markup=False,
        )
        raise typer.Exit(EXIT_PROBLEMS)


IdsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--file", metavar="FILE", help="A file of customer ids, one per line.", dir_okay=False
    ),
]


def _customer_ids(customers: list[str] | None, from_file: Path | None) -> list[str]:
    ids = list(customers or [])
    if from_file is not None:
        try:
            ids += desk.read_ids(from_file)
        except ArflowError as err:
            _fail(err)
    if not ids:
        raise typer.BadParameter("name at least one customer, or --file with their ids")
    return ids


@app.command()
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
            "counts from (default: the next run).",
        ),
    ] = None,
    from_file: IdsFileOption = None,
    config: ConfigOption = None,
):
    """Assign customers to a workflow; it wins over the customers file and `match:`.

    Moving a customer to another workflow starts that workflow's sequence. With --date an
    `anchor: assigned` workflow counts its days from that date.

    Example: arflow assign C001 C002 --workflow ar-workflow --date 2026-03-16
    """
    ids = _customer_ids(customers, from_file)
    with _desk(config) as (project, ledger, db, today):
        day = _day(project.config, on, "--date")
        done, unknown = desk.assign(db, project, ledger, ids, workflow, day, today)
    if done:
        since = f" from {day}" if day else ""
        _say(f"Assigned {len(done)} customer(s) to {workflow}{since}: {', '.join(done)}")
    _report_unknown(unknown)


@app.command()
def unassign(
    customers: Annotated[
        list[str] | None, typer.Argument(help="Customer ids.", metavar="CUSTOMER")
    ] = None,
    from_file: IdsFileOption = None,
    config: ConfigOption = None,
):
    """Remove assignments made with `arflow assign`.

    The customer falls back to the customers file's workflow, a matching workflow or the
    default one.

    Example: arflow unassign C001 C002
    """
    ids = _customer_ids(customers, from_file)
    with _desk(config, ledger=False) as (_project, _, db, today):
        removed, missing = desk.unassign(db, ids, today)
    if removed:
        _say(f"Unassigned {len(removed)} customer(s): {', '.join(removed)}")
    if missing:
        _say(f"Not assigned by hand, left as they were: {', '.join(missing)}")


@app.command()
def status(
    customer: Annotated[
        str | None, typer.Argument(help="Only this customer.", metavar="CUSTOMER")
    ] = None,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
    config: ConfigOption = None,
):
    """Each customer's position: workflow, last and next step, open and overdue totals,
    collection status, specialist, pauses and promises. Exit 3 when the sources have bad rows
    or values: each is printed on stderr, as `arflow run` reports them.

    Example: arflow status C001 --format json
    """
    with _desk(config, write=False) as (project, ledger, db, today):
        day = _day(project.config, as_of, "--as-of") or today
        rows = accounts.status(project, ledger, db, day, customer)
    if fmt is Format.json:
        _print_json({"as_of": day.isoformat(), "customers": rows})
    else:
        print_status(
            Console(highlight=False),
            rows,
            project.config.company.locale,
            plain=not sys.stdout.isatty(),
        )
    _report_held_back(ledger)


def _report_held_back(ledger: Ledger | None) -> None:
    """Bad source values (SPEC 2.4) are never passed over silently: each on stderr, exit 3."""
    if ledger is None or not ledger.errors:
        return
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    for e in ledger.errors:
        column = f" {e.column}:" if e.column else ""
        console.print(f"error: {e.file}:{e.line}:{column} {e.message}", markup=False)
    raise typer.Exit(EXIT_PROBLEMS)


def _print_json(document: dict) -> None:
    sys.stdout.write(
        json.dumps(document, indent=2 if sys.stdout.isatty() else None, ensure_ascii=False) + "\n"
    )


@app.command()
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
            help="Last paused day (default: until `arflow resume`).",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for the record.")
    ] = None,
    as_of: AsOfOption = None,
    config: ConfigOption = None,
):
    """Stop messages to a customer, or leave one invoice out of them (it still counts in the
    customer's totals).

    Example: arflow pause invoice INV-1001 --until 2026-04-30 --reason "disputed"
    """
    with _desk(config) as (project, ledger, db, today):
        last = _day(project.config, until, "--until")
        day = _day(project.config, as_of, "--as-of") or today
        pause_id = desk.pause(db, ledger, kind.value, target, last, reason, day)
    _say(
        f"Paused {kind.value} {target}"
        + (f" through {last}" if last else " until `arflow resume`")
        + f" (pause {pause_id})."
    )


@app.command()
def resume(
    kind: Annotated[
        PauseKind, typer.Argument(help="customer or invoice.", metavar="customer|invoice")
    ],
    target: Annotated[str, typer.Argument(help="The customer id or invoice number.", metavar="ID")],
    config: ConfigOption = None,
):
    """End the pauses of a customer or an invoice (for an invoice, also its promises).

    Steps that fell due meanwhile follow the workflow's catch_up rule at the next run.

    Example: arflow resume customer C001
    """
    with _desk(config, ledger=False) as (_project, _, db, _today):
        paused, promised = desk.resume(db, kind.value, target)
    if not paused and not promised:
        _say(f"{kind.value} {target} was not paused; nothing changed.")
        return
    extra = f" and cancelled {promised} promise(s)" if promised else ""
    _say(f"Resumed {kind.value} {target}: ended {paused} pause(s){extra}.")


@app.command()
def promise(
    invoice: Annotated[str, typer.Argument(help="The invoice number.", metavar="INVOICE")],
    on: Annotated[
        str,
        typer.Option(
            "--date", metavar="YYYY-MM-DD", help="The day the customer promised to pay by."
        ),
    ],
    amount: Annotated[
        str | None,
        typer.Option(
            "--amount", metavar="AMOUNT", help="The amount promised (default: the open balance)."
        ),
    ] = None,
    as_of: AsOfOption = None,
    config: ConfigOption = None,
):
    """Record a promise-to-pay: chasing of the invoice holds until --date; if it is not paid
    by then, chasing resumes the next day (in the workflow's on_broken_promise: when set).

    Example: arflow promise INV-1001 --date 2026-04-15 --amount 500
    """
    with _desk(config) as (project, ledger, db, today):
        cfg = project.config
        day = _day(cfg, on, "--date")
        made = _day(cfg, as_of, "--as-of") or today
        value = _amount(cfg, amount, "--amount")
        promise_id = desk.promise(db, ledger, invoice, day, value, made, cfg.min_balance)
    _say(
        f"Promise {promise_id}: {invoice} to be paid by {day}"
        + (f" ({value})" if value is not None else "")
        + "; chasing holds until then."
    )


tasks_app = typer.Typer(rich_markup_mode=None, context_settings=HELP)
app.add_typer(tasks_app, name="tasks")


@tasks_app.callback(invoke_without_command=True)
def tasks_list(
    ctx: typer.Context,
    assignee: Annotated[
        str | None,
        typer.Option(
            "--assignee", metavar="PERSON", help="Only this person (their key in people:)."
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include finished tasks.")] = False,
    fmt: FormatOption = Format.table,
    config: ConfigOption = None,
):
    """The task list (calls, reviews) by due date; `arflow tasks done ID` finishes one.

    Example: arflow tasks --assignee dana
    """
    if ctx.invoked_subcommand is not None:
        return
    with _desk(config, ledger=False, write=False) as (project, _, db, today):
        rows = desk.tasks(db, project, assignee, all_)
    if fmt is Format.json:
        _print_json({"tasks": rows})
        return
    print_tasks(Console(highlight=False), rows, today, plain=not sys.stdout.isatty())


@tasks_app.command("done")
def tasks_done(
    task_id: Annotated[
        int, typer.Argument(help="The task number, as `arflow tasks` shows it.", metavar="TASK")
    ],
    config: ConfigOption = None,
):
    """Mark a task done.

    Example: arflow tasks done 12
    """
    with _desk(config, ledger=False) as (_project, _, db, _today):
        row = desk.task_done(db, task_id)
    _say(f"Task {task_id} done: {row['title']}")


@app.command()
def aging(
    as_of: AsOfOption = None,
    fmt: Annotated[
        TableFormat, typer.Option("--format", help="table, json or csv.")
    ] = TableFormat.table,
    config: ConfigOption = None,
):
    """What is owed and how late: open balances in the buckets current, 1-30, 31-60, 61-90
    and 90+ days past due, per customer (largest first) and per currency. Paused invoices
    count; credit notes reduce their customer's total. Reads the sources only.

    Example: arflow aging --as-of 2026-03-31 --format csv > aging.csv
    """
    try:
        cfg = load_config(_config_path(config))
        day = _day(cfg, as_of, "--as-of") or cfg.today(_now())
        ledger = load_ledger(cfg)
    except ArflowError as err:
        _fail(err)
    report = aging_report(ledger.owing(day), ledger.customers, day)
    if fmt is TableFormat.json:
        _print_json(aging_document(report))
    elif fmt is TableFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(AGING_CSV_HEADER)
        writer.writerows(aging_csv_rows(report))
    else:
        print_aging(
            Console(highlight=False), report, cfg.company.locale, plain=not sys.stdout.isatty()
        )
    _report_held_back(ledger)


@contextmanager
def _days_progress(console: Console, label: str, days: int, show: bool):
    """A progress bar over the days of a forecast or simulation, in a terminal only: yields
    what to call after each day (None without a bar)."""
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
    ) as bar:
        task = bar.add_task(label, total=days)
        yield lambda _day: bar.advance(task)


@app.command()
def forecast(
    days: Annotated[
        int, typer.Option("--days", metavar="N", help="How many days, from --as-of.")
    ] = 14,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
    config: ConfigOption = None,
):
    """What goes out in the coming days: each day's actions as a real run would take them,
    if every planned action were delivered and no invoice were paid. The state database is
    read, never written; nothing is sent.

    Example: arflow forecast --days 7
    """
    console = Console(highlight=False)
    try:
        project = load_project(_config_path(config))
        cfg = project.config
        day = _day(cfg, as_of, "--as-of") or cfg.today(_now())
        ledger = load_ledger(cfg)
        with _days_progress(
            console, "Forecasting", days, fmt is Format.table and console.is_terminal
        ) as advance:
            found = forecast_days(project, ledger, day, days, progress=advance)
    except ArflowError as err:
        _fail(err)
    if fmt is Format.json:
        _print_json(
            {
                "from": day.isoformat(),
                "to": found[-1][0].isoformat(),
                "days": [
                    {"date": d.isoformat(), "actions": [action_dict(a) for a in r.plan.actions]}
                    for d, r in found
                ],
            }
        )
    else:
        print_forecast(console, found, cfg.company.locale, plain=not sys.stdout.isatty())
    _report_held_back(ledger)


@app.command()
def simulate(
    first: Annotated[
        str, typer.Option("--from", metavar="YYYY-MM-DD", help="The first day replayed.")
    ],
    last: Annotated[str, typer.Option("--to", metavar="YYYY-MM-DD", help="The last day replayed.")],
    fmt: FormatOption = Format.table,
    config: ConfigOption = None,
):
    """Backtest the workflows on a historic ledger: replay it day by day from an empty state
    (invoices open until their paid_date) and report, per workflow step, its actions, the
    invoices it reached and how soon they were paid. Nothing is recorded or sent.

    Example: arflow simulate --from 2013-01-01 --to 2013-12-31
    """
    console = Console(highlight=False)
    try:
        project = load_project(_config_path(config))
        cfg = project.config
        start, end = _day(cfg, first, "--from"), _day(cfg, last, "--to")
        ledger = load_ledger(cfg)
        total = (end - start).days + 1
        with _days_progress(
            console, "Simulating", total, fmt is Format.table and console.is_terminal
        ) as advance:
            result = simulate_days(project, ledger, start, end, progress=advance)
    except ArflowError as err:
        _fail(err)
    if fmt is Format.json:
        _print_json(simulation_document(result))
    else:
        print_simulation(console, result, plain=not sys.stdout.isatty())
    _report_held_back(ledger)


@app.command()
def preview(
    workflow: Annotated[str, typer.Argument(help="The workflow id.", metavar="WORKFLOW")],
    step: Annotated[
        str, typer.Argument(help="The step id, on_paid, or `next` for a campaign.", metavar="STEP")
    ],
    customer: Annotated[
        str | None,
        typer.Option(
            "--customer",
            metavar="ID",
            help="A customer's real open invoices (default: a sample customer).",
        ),
    ] = None,
    as_of: AsOfOption = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write the customer email's HTML part to this file.",
            dir_okay=False,
        ),
    ] = None,
    open_it: Annotated[
        bool,
        typer.Option(
            "--open", help="Open that HTML in the browser (a temporary file without --html)."
        ),
    ] = False,
    config: ConfigOption = None,
):
    """What a step would send: every message (subject and text, SMS and JSON bodies, the
    notices to your people) and every status, task and note, rendered by the same code as a
    run, as if the step were due today. Nothing is sent or recorded.

    Example: arflow preview net30-standard overdue-30 --customer C001 --html /tmp/email.html
    """
    console = Console(highlight=False, soft_wrap=True)
    failed: list = []
    try:
        project = load_project(_config_path(config))
        cfg = project.config
        day = _day(cfg, as_of, "--as-of") or cfg.today(_now())
        ledger = load_ledger(cfg) if customer is not None else None
        result, used = preview_plan(project, ledger, workflow, step, customer, day)
        composed = list(compose(result, used, project, failed))
        page = print_preview(console, result, composed)
        if (html is not None or open_it) and page is None:
            raise Refused("this step sends no email with an HTML part; nothing to write")
        if page is not None and (html is not None or open_it):
            target = html or _temporary_page()
            try:
                target.write_text(page, encoding="utf-8")
            except OSError as exc:
                raise ArflowError(f"cannot write {target}: {exc.strerror}") from None
            _say(f"HTML part written to {target}")
            if open_it:
                webbrowser.open(target.resolve().as_uri())
    except ArflowError as err:
        _fail(err)
    for e in failed:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"error: {e.file}:{e.line}: {e.message}", markup=False
        )
    if failed:
        raise typer.Exit(EXIT_PROBLEMS)


@app.command()
def customers(
    missing: Annotated[
        bool,
        typer.Option(
            "--missing",
            help="Only customers something is missing for (an email, a phone) or that are paused.",
        ),
    ] = False,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.table,
    config: ConfigOption = None,
):
    """Every customer: contacts, open invoices, and what is missing to chase it (no email,
    no phone) or holds it (paused).

    Example: arflow customers --missing
    """
    with _desk(config, write=False) as (project, ledger, db, today):
        day = _day(project.config, as_of, "--as-of") or today
        rows = accounts.customer_rows(project, ledger, db, day)
    if missing:
        rows = [r for r in rows if r["missing"]]
    if fmt is Format.json:
        _print_json({"as_of": day.isoformat(), "customers": rows})
    else:
        print_customers(
            Console(highlight=False),
            rows,
            project.config.company.locale,
            plain=not sys.stdout.isatty(),
        )
    _report_held_back(ledger)


@app.command()
def doctor(config: ConfigOption = None):
    """Check a deployment before tonight's run: the config, the sources, the state database
    (writable, backed up lately), the SMTP login (nothing is sent) and the time zone.

    Exit 0 when tonight's run can do its work, 1 when a check failed.

    Example: arflow doctor --config /srv/ar/arflow.yaml
    """
    console = Console(highlight=False, soft_wrap=True)
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    try:
        project = load_project(_config_path(config))
    except ArflowError as err:
        console.print(
            f"{marks['fail']}  config: cannot be used; `arflow validate` lists why", markup=False
        )
        _fail(err)
    cfg = project.config
    found = [
        Check(
            "ok", f"config: {cfg.display(cfg.path)} is valid ({len(project.workflows)} workflows)"
        ),
        *doctor_checks(cfg, _now()),
    ]
    for check in found:
        console.print(redact(f"{marks[check.level]}  {check.text}"), markup=False)
    if any(c.level == "fail" for c in found):
        raise typer.Exit(EXIT_NOTHING_DONE)


class SchemaKind(StrEnum):
    config = "config"
    workflow = "workflow"


@app.command()
def schema(
    kind: Annotated[
        SchemaKind,
        typer.Argument(
            help="config (arflow.yaml) or workflow (workflows/*.yaml).", metavar="config|workflow"
        ),
    ],
):
    """Print the JSON Schema of arflow.yaml or of a workflow file, made from the same models
    `arflow validate` checks with: for an editor's YAML support, or check-jsonschema in CI.

    Example: arflow schema workflow > workflow.schema.json
    """
    sys.stdout.write(schema_text(kind.value))


workflows_app = typer.Typer(rich_markup_mode=None, context_settings=HELP)
app.add_typer(workflows_app, name="workflows")


@workflows_app.callback(invoke_without_command=True)
def workflows_list(
    ctx: typer.Context, fmt: FormatOption = Format.table, config: ConfigOption = None
):
    """Every workflow with its enabled flag, step count and assigned customers; `clone` and
    `delete` subcommands.

    Example: arflow workflows clone net30-standard net30-strict
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = config
        return
    with _desk(config, write=False) as (project, ledger, db, _today):
        rows = desk.workflow_rows(project, ledger, db)
    if fmt is Format.json:
        _print_json({"workflows": rows})
        return
    print_workflows(Console(highlight=False), rows, plain=not sys.stdout.isatty())


@workflows_app.command("clone")
def workflows_clone(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The workflow to copy.", metavar="WORKFLOW")],
    new: Annotated[
        str, typer.Argument(help="The new workflow's id (its file name).", metavar="NEW")
    ],
    config: ConfigOption = None,
):
    """Copy a workflow; the copy's name gets "copy" after it.

    Example: arflow workflows clone net30-standard net30-strict
    """
    with _desk(config or ctx.obj, ledger=False, write=False) as (project, _, _db, _today):
        path = desk.clone_workflow(project, source, new)
    _say(f"Created {path} from {source}.")


@workflows_app.command("delete")
def workflows_delete(
    ctx: typer.Context,
    wid: Annotated[str, typer.Argument(help="The workflow to delete.", metavar="WORKFLOW")],
    config: ConfigOption = None,
):
    """Delete a workflow file; refused while customers are assigned to it.

    Example: arflow workflows delete net30-strict
    """
    with _desk(config or ctx.obj, write=False) as (project, ledger, db, _today):
        path = desk.delete_workflow(project, ledger, db, wid)
    _say(f"Deleted {path}.")


state_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, context_settings=HELP)
app.add_typer(state_app, name="state")


@state_app.callback()
def state_group():
    """The state database itself (arflow.db and arflow.db.id beside it).

    Example: arflow state init --force
    """


@state_app.command("init")
def state_init(
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Start over although this folder has run: the old files are kept "
            "aside (renamed with an .archived-TIME suffix), never deleted.",
        ),
    ] = False,
    config: ConfigOption = None,
):
    """Create a new, empty state database; with --force, start over on a folder that has run.

    After starting over, the next run sends whatever is due as if arflow had never run here;
    `arflow run --baseline` first marks what is due as done instead.

    Example: arflow state init --force
    """
    try:
        cfg = load_config(_config_path(config))
        path = cfg.resolve(cfg.state)
        shown = cfg.display(path)
        with run_lock(path):
            db, moved = start_over(path, _now().strftime("%Y%m%dT%H%M%SZ"), force, shown)
            db.close()
    except ArflowError as err:
        _fail(err)
    for old, new in moved:
        _say(f"Kept {cfg.display(old)} as {cfg.display(new)}.")
    _say(
        f"Created an empty state database {shown}: the next run sends whatever is due as if "
        "arflow had never run here (`arflow run --baseline` first marks it done instead)."
    )


def _version(value: bool) -> None:
    if value:
        print(f"arflow {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    config: ConfigOption = None,
):
    """arflow: accounts-receivable collections, each reminder sent exactly once.

    The folder's arflow.yaml is found in the current folder or the nearest one above it;
    --config (here, for every command, or after a command) or $ARFLOW_CONFIG names another.
    """
    _GLOBAL_CONFIG.clear()
    if config is not None:
        _GLOBAL_CONFIG.append(config)


def main() -> None:
    # One command, then the process ends. Its data (invoices, plans, messages) holds no
    # reference cycles, so the cyclic collector would only rescan a large ledger again and
    # again (once as the ledger is read, once more after it, and once at exit: over a second
    # on a million invoices); reference counting frees everything as before.
    gc.disable()
    app()
