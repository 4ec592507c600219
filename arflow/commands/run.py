"""The nightly run: `arflow run`, `arflow inbox`, and `arflow resolve` for what a run left
unknown."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from arflow import healthcheck
from arflow.commands import common
from arflow.commands.common import EXIT_OK, EXIT_PROBLEMS, ConfigOption, Format
from arflow.compose_pool import jobs_default
from arflow.config import CONFIG_NAME, Config, load_config
from arflow.deliver import RunResult, refuse_future
from arflow.deliver import baseline as deliver_baseline
from arflow.deliver import run as deliver_run
from arflow.errors import ArflowError, InvalidFiles, Problem
from arflow.inbox import read_inbox, require_inbox
from arflow.ledger import Ledger
from arflow.project import Project, history_warnings, load_project
from arflow.report import (
    inbox_rows,
    later_document,
    outcome_text,
    plan_document,
    print_inbox,
    print_plan,
    write_json,
)
from arflow.sample_ledger import SampleLedger
from arflow.sample_night import SampleDay, SampleNight, sample_night
from arflow.secrets import redact
from arflow.sources import load_ledger
from arflow.state import open_state
from arflow.validation import ar_folder, configs_above, in_folder, naming, shown


@dataclass(frozen=True)
class _Output:
    """How a run prints: its format, to a person or a pipe, what kind of run it is and when
    it started."""

    console: Console
    fmt: Format
    plain: bool
    quiet: bool
    dry_run: bool
    baseline: bool
    started: str  # when the run started, as logs write it
    sample: bool | None = False  # the sample ledger (None: when the invoices file is missing)
    jobs: int | None = None  # processes that compose the messages (None: every core)


DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Plan, render every message and print; send and record nothing."
    ),
]
RunAsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="Run as of this date (default: today in the company time zone). A real run takes "
        "no date after today.",
    ),
]
CustomerOption = Annotated[
    str | None, typer.Option("--customer", metavar="ID", help="Only this customer.")
]
BaselineOption = Annotated[
    bool,
    typer.Option(
        "--baseline",
        help="Adopt arflow on a ledger chased before: record every step already due "
        "as done, send nothing.",
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="With --baseline: mark even though arflow has sent from this state before.",
    ),
]
SampleOption = Annotated[
    bool,
    typer.Option(
        "--sample",
        help="With --dry-run: plan and render every enabled workflow against a made-up "
        "ledger (a customer due for each step, in each language); no source and no state "
        "database is read or written.",
    ),
]
SampleIfNoLedgerOption = Annotated[
    bool,
    typer.Option(
        "--sample-if-no-ledger",
        help="With --dry-run: use the made-up ledger of --sample when the file invoices: "
        "names is not there (customer data kept out of git), the real one when it is.",
    ),
]
PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        help="With --dry-run: files or folders inside AR folders; each distinct folder holding "
        "arflow.yaml (the nearest above each) is dry-run in turn, files named as typed.",
        metavar="[PATH]...",
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Print only what needs a person (failed or unknown messages, "
        "errors) and then the summary; nothing when all went well.",
    ),
]


def run(
    dry_run: DryRunOption = False,
    as_of: RunAsOfOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    customer: CustomerOption = None,
    baseline: BaselineOption = False,
    force: ForceOption = False,
    quiet: QuietOption = False,
    sample: SampleOption = False,
    sample_if_no_ledger: SampleIfNoLedgerOption = False,
    config: ConfigOption = None,
    paths: PathsArgument = None,
    ar_files_only: common.ArFilesOnlyOption = False,
    jobs: common.JobsOption = None,
) -> None:
    """The nightly job: deliver what is due today.

    The nightly job: work out what is due today and (without --dry-run) deliver it.

    A dry run goes through the same pipeline as a real run: every message is rendered and
    checked, then handed to nobody. --baseline, once, on a ledger that was chased before
    arflow: what is due now is marked done (`baseline` in history) and nothing is sent.

    Exit 0 all good; 1 nothing was done; 2 usage error (a real run dated in the future);
    3 the run completed with problems (rejected rows, failed or unknown sends).

    Under cron (no terminal) it prints a line saying when it started, a header, then one
    tab-separated line per action; --quiet keeps cron silent unless something needs a person.

    --sample (with --dry-run) plans and renders every enabled workflow against a made-up
    ledger, a customer due for each step: CI checks what a night would render without the
    customer data. --sample-if-no-ledger does so only when the invoices file is missing.
    Paths given (the pre-commit hook's files) dry-run each AR folder that holds them.

    \b
    Example: arflow run --dry-run --as-of +1 --format json
    """
    _check_options(dry_run, baseline, sample, sample_if_no_ledger, customer)
    if paths and (not dry_run or config is not None):
        raise typer.BadParameter(
            "PATH names the AR folders to dry-run (as the pre-commit hook passes its files): "
            "it goes with --dry-run, and not with --config"
        )
    started = common.stamp(common.now())
    out = _Output(
        Console(highlight=False),
        fmt,
        common.plain(),
        quiet,
        dry_run,
        baseline,
        started,
        sample=None if sample_if_no_ledger else sample,
        jobs=jobs,
    )
    if ar_files_only and not (paths := common.own_paths(paths)):
        raise typer.Exit(EXIT_OK)  # none of the files is arflow's: nothing to dry-run
    if paths:
        raise typer.Exit(_run_folders(paths, out, as_of))
    raise typer.Exit(_run_config(common.config_path(config), out, as_of, customer, force))


def _run_config(
    config_file: Path, out: _Output, as_of: str | None, customer: str | None, force: bool
) -> int:
    """The run of one AR folder, printed; its exit code."""
    monitor: Config | None = None  # its healthcheck_url is told how a real run ended
    try:
        project = load_project(config_file)
        if out.sample is False:  # the sample never reads the state database
            common.warn(history_warnings(project, unreadable=False))  # a run reports it broken
        monitor = None if out.dry_run or out.baseline else project.config
        run_result, day = _run(project, out, as_of, customer, force)
    except ArflowError as err:
        if monitor is not None:
            _ping(monitor, False, redact(f"error: {err}"))
        raise
    if monitor is not None:
        _ping(
            monitor,
            not run_result.problems,
            f"{day}: "
            + outcome_text(run_result.plan, run_result.details, dry_run=False)
            + f", {len(run_result.errors)} error(s)",
        )
    return EXIT_PROBLEMS if run_result.problems else EXIT_OK


def _run_folders(paths: list[Path], out: _Output, as_of: str | None) -> int:
    """`arflow run --dry-run PATH...`: each distinct AR folder holding the paths dry-run in
    turn, its problems named as the paths were typed; every folder's problems are reported
    together at the end (exit 1), else the worst exit code."""
    problems: list[Problem] = []
    code = EXIT_OK
    for config_file, typed in configs_above(paths, problems):
        folder = ar_folder(config_file, typed, alone=False)
        try:
            with naming(folder):
                code = max(code, _run_config(config_file, out, as_of, None, False))
        except InvalidFiles as err:
            problems += in_folder(err.problems, folder)
        except ArflowError as err:
            problems.append(Problem(shown(folder, CONFIG_NAME), None, "", str(err)))
    if problems:
        raise InvalidFiles(problems)
    return code


def _check_options(
    dry_run: bool, baseline: bool, sample: bool, sample_if_no_ledger: bool, customer: str | None
) -> None:
    """Options that do not go together: a usage error (exit 2)."""
    if dry_run and baseline:
        raise typer.BadParameter(
            "--baseline records what is due; it cannot be a --dry-run "
            "(run --dry-run first to see what it would mark)"
        )
    for given, name in ((sample, "--sample"), (sample_if_no_ledger, "--sample-if-no-ledger")):
        if given and not dry_run:
            raise typer.BadParameter(
                f"{name} plans against a made-up ledger: it only goes with --dry-run "
                f"(arflow run --dry-run {name})"
            )
        if given and customer is not None:
            raise typer.BadParameter(
                f"{name} makes up its own customers: --customer does not go with it"
            )
    if sample and sample_if_no_ledger:
        raise typer.BadParameter("give one of --sample and --sample-if-no-ledger")


def _run(
    project: Project, out: _Output, as_of: str | None, customer: str | None, force: bool
) -> tuple[RunResult, date]:
    """The run (or baseline) as of its day, printed; returns what it did and the day."""
    cfg = project.config
    today = cfg.today(common.now())
    day = common.parse_day(cfg, as_of, "--as-of") or today
    if not out.dry_run:  # refused before a large ledger is read
        refuse_future(day, today, cfg.company.timezone)
    if out.sample or (out.sample is None and not _ledger_in_folder(cfg)):
        night = sample_night(project, day)
        _print_run_result(out, night.result, night.sample.ledger, cfg, day, night)
        return replace(night.result, errors=night.errors), day  # any day's errors count
    ledger = _read_ledger(cfg, out)
    if customer is not None:
        ledger = ledger.only_known(customer)
    if out.baseline:
        run_result = deliver_baseline(project, ledger, day, force=force, today=today)
    else:
        jobs = out.jobs or jobs_default()
        run_result = deliver_run(project, ledger, day, dry_run=out.dry_run, today=today, jobs=jobs)
    _print_run_result(out, run_result, ledger, cfg, day)
    return run_result, day


def _read_ledger(cfg: Config, out: _Output) -> Ledger:
    """The sources, with a progress bar when a person watches a table."""
    if out.fmt is not Format.table or out.plain:
        return load_ledger(cfg)
    with Progress(
        TextColumn("Reading invoices"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=out.console,
        transient=True,
    ) as bar:
        task = bar.add_task("read", total=None)
        return load_ledger(cfg, lambda done, total: bar.update(task, completed=done, total=total))


def _print_run_result(
    out: _Output,
    run_result: RunResult,
    ledger: Ledger,
    cfg: Config,
    day: date,
    night: SampleNight | None = None,
) -> None:
    """What a run did: the warning about an interrupted run, the line saying when it started
    (under cron), the inbox's events, then the plan (of the sample ledger: said first, its
    later days after)."""
    _warn_recovered(run_result.recovered, out.dry_run)
    if out.fmt is Format.table and out.plain and not out.quiet and not common.journald():
        kind = "dry run" if out.dry_run else "baseline" if out.baseline else "run"
        sys.stdout.write(f"# arflow {kind} started {out.started}, as of {day}\n")
    not_due = None if night is None else night.sample.not_due
    if night is not None and out.fmt is Format.table and not out.quiet:
        _print_sample_title(out, night.sample, day)
    if run_result.inbox and out.fmt is Format.table and not out.quiet:
        print_inbox(out.console, run_result.inbox, plain=out.plain, dry_run=False)
    heard = run_result.payments
    news = heard and heard.news()
    # quiet: only when a payment waits for a person
    waiting = heard and any(r.rule is None for r in heard.new)
    if news and out.fmt is Format.table and (waiting or not out.quiet):
        out.console.print(news, markup=False, highlight=False, soft_wrap=True)
    if out.fmt is Format.json:
        later = None if night is None else _later_documents(night)
        args = (run_result.plan, run_result.errors, out.dry_run, not_due, later)
        if out.plain:  # a pipe or a file: compact, streamed
            write_json(sys.stdout, *args)
        else:  # a person: indented
            document = plan_document(*args)
            sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    _print_plan(out, run_result, ledger, cfg)
    for later_day in [] if night is None else night.later:
        if not out.quiet:
            _print_later_title(out, later_day, day)
        _print_plan(out, later_day.result, later_day.sample.ledger, cfg)


def _print_plan(out: _Output, run_result: RunResult, ledger: Ledger, cfg: Config) -> None:
    print_plan(
        out.console,
        run_result.plan,
        run_result.errors,
        cfg.company.locale,
        plain=out.plain,
        dry_run=out.dry_run,
        baseline=out.baseline,
        details=run_result.details,
        quiet=out.quiet,
        names={cid: c.display_name for cid, c in ledger.customers.items()},
        reads=ledger.reads,
    )


def _later_documents(night: SampleNight) -> list[dict]:
    """The JSON of the sample's later days (`"later"`), in order."""
    return [later_document(d.result.plan, d.result.errors, d.only or []) for d in night.later]


def _print_later_title(out: _Output, later: SampleDay, day: date) -> None:
    """The title of a later day of the sample: the workflows with a step not due on `day`."""
    _say(
        out,
        [
            f"sample ledger as of {later.as_of}, for the steps not due on {day}: "
            f"{len(later.sample.ledger.customers)} made-up customers of "
            f"{', '.join(later.only or [])}"
        ],
    )


def _say(out: _Output, lines: list[str]) -> None:
    """Lines about the run: `# `-marked in a pipe, wrapped between words in a terminal."""
    if out.plain:
        sys.stdout.write("".join(f"# {line}\n" for line in lines))
        sys.stdout.flush()
        return
    for line in lines:
        out.console.print(line, markup=False, highlight=False)


def _print_sample_title(out: _Output, sample: SampleLedger, day: date) -> None:
    """What the sample is, and each step no customer can be due for on the day."""
    lines = [
        f"sample ledger: {len(sample.ledger.customers)} made-up customers, one for each "
        f"step on {day} (no source read, nothing recorded)"
    ]
    _say(out, lines + [f"not due on {day}: {why}" for why in sample.not_due])


def _ping(config: Config, ok: bool, summary: str) -> None:
    if config.healthcheck_url is None:
        return
    problem = healthcheck.ping(config.healthcheck_url, ok, summary, config.healthcheck_timeout)
    if problem:
        common.warn([Problem("arflow.yaml", None, "", problem)])


def _warn_recovered(count: int, dry_run: bool = False) -> None:
    if count:
        now = "will be marked unknown by the real run" if dry_run else "are now marked unknown"
        common.errors_console().print(
            f"warning: {count} message(s) of an interrupted run {now} and will not be resent "
            "by themselves; see `arflow history --unknown`.",
            markup=False,
        )


def inbox(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what the new messages would do; record nothing.")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    config: ConfigOption = None,
) -> None:
    """Read customers' replies and bounces now.

    Read customers' replies and bounces now (a real `arflow run` does this first).

    A reply to an email arflow sent pauses that customer for replies.pause_days (reason
    `replied`); a bounce stops emails to that address until the customers file gives the
    customer another; an auto-reply (out of office) is only recorded. Every other message is
    left alone. Mail is never deleted, moved or marked read, and each message counts once.
    The notice to replies.notify goes with the next run.

    Exit 0 all good; 1 nothing was done (bad config); 3 the inbox could not be read.
    --format json prints {"dry_run", "events": [{"kind", "customer_id", ...}], "error"}.

    \b
    Example: arflow inbox --dry-run --format json
    """
    project = load_project(common.config_path(config))
    cfg = project.config
    require_inbox(cfg)
    ledger = load_ledger(cfg)
    today = cfg.today(common.now())
    emails = {cid: c.email for cid, c in ledger.customers.items()}
    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "dry" if dry_run else "run") as db:
        heard = read_inbox(cfg, db, today, emails)
    if fmt is Format.json:
        error = heard.error and common.error_object(heard.error, EXIT_PROBLEMS)
        rows = inbox_rows(heard.events, dry_run)
        common.print_json({"dry_run": dry_run, "events": rows, "error": error or None})
    else:
        print_inbox(Console(highlight=False), heard.events, plain=common.plain(), dry_run=dry_run)
    if heard.error:
        common.errors_console().print(
            f"error: {heard.error} ({common.stamp(common.now())})", markup=False
        )
        raise typer.Exit(EXIT_PROBLEMS)


def resolve(
    key: Annotated[
        str,
        typer.Argument(
            help="The action key, as `arflow history` shows it (any of its message's).",
            metavar="KEY",
        ),
    ],
    sent: Annotated[
        bool, typer.Option("--sent", help="It did arrive: never send it again.")
    ] = False,
    retry: Annotated[
        bool, typer.Option("--retry", help="It did not arrive: the next run may send it again.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Settle a message whose outcome is unknown or that failed.

    Settle a message whose outcome is unknown (or that failed): mark it sent, or retry it.

    A retried message goes out with the next run while its step is still due. A message about
    several invoices is settled for all of them.

    \b
    Example: arflow resolve invoice:INV-1001/net30-standard/overdue-30/0 --sent
    """
    if sent == retry:
        raise typer.BadParameter("give exactly one of --sent or --retry")
    cfg = load_config(common.config_path(config))
    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "run") as db:
        row = db.resolve(key, sent=sent)
    verb = "marked sent" if sent else "will be retried by the next run (while its step is due)"
    about = f" (the message about {', '.join(row['invoices'])})" if len(row["keys"]) > 1 else ""
    Console(highlight=False).print(f"{row['key']}: {verb}{about}.", markup=False)


def _ledger_in_folder(cfg: Config) -> bool:
    """Whether the invoices are a file of the folder (`--sample-if-no-ledger` runs on the
    sample otherwise: a database is never in the repository the hooks check)."""
    return cfg.invoices.path is not None and not cfg.source_missing(cfg.invoices)
