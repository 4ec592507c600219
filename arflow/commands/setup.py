"""Setting a folder up and checking it: init, validate, doctor, schema, and `state init`."""

from __future__ import annotations

import shlex
import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from arflow.commands import common
from arflow.commands.common import EXIT_NOTHING_DONE, ConfigOption, say
from arflow.errors import ArflowError, InvalidFiles, Problem
from arflow.secrets import redact

if TYPE_CHECKING:
    from rich.console import Console

# Each command imports what it uses when it runs: `validate` needs the models, the sources and
# the templates, not the scaffold, the doctor's checks or the schema; `init` and `schema` need
# none of the sources, the state or the templates (issue 30: start-up).


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
) -> None:
    """Create a working folder, or add a ready workflow to one.

    Create a working folder with a config, workflows, templates and sample invoices; or,
    with --workflow, add one of arflow's ready workflows to a folder you have.

    The folder uses the file outbox, so it works with no mail server. An existing arflow.yaml
    is left untouched; so is every file --workflow finds already there.

    \b
    Example: arflow init ~/ar && cd ~/ar && arflow run --dry-run
    Example: arflow init --workflow past-due-15-30-45 ~/ar
    """
    from arflow.scaffold import write_scaffold

    if workflow is not None:
        _add_workflow(directory, workflow)
        return
    written = write_scaffold(directory, common.now().date())
    if not written:
        say(f"{directory}/arflow.yaml already exists; left unchanged.")
        return
    say(f"Created {directory}/ with {len(written)} files:")
    for path in written:
        say(f"  {path.relative_to(directory)}")
    say(f"Next: {_program()} run --dry-run --config {directory / 'arflow.yaml'}")


def _program() -> str:
    """arflow as the next command calls it: `arflow` when the shell finds this very program on
    PATH, else the path it was started by (`.venv/bin/arflow` after the quickstart), so the
    hint works as printed in a new shell too, where no virtualenv is active."""
    started = Path(sys.argv[0])
    if started.name != "arflow" or "/" not in sys.argv[0]:  # `python -m arflow`, or PATH's
        return "arflow"
    found = shutil.which("arflow")
    if found and Path(found).resolve() == started.resolve():
        return "arflow"
    return shlex.quote(sys.argv[0])


def _add_workflow(directory: Path, workflow: str) -> None:
    """`init --workflow`: one of arflow's ready workflows added to a folder."""
    from arflow.scaffold import add_workflow

    added, kept = add_workflow(directory, workflow)
    say(f"Added {workflow} to {directory}/ ({len(added)} files):")
    for path in added:
        say(f"  {path.relative_to(directory)}")
    for path in kept:
        say(f"  {path.relative_to(directory)} (already there; left as it is)")
    say(f"Next: {_program()} validate {directory}")


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


_CheckedPaths = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Config files, folders holding arflow.yaml, workflow files, or template files "
        "(checked with their AR folder) (default: --config or the arflow.yaml found from "
        "here).",
        metavar="PATH",
    ),
]
_CheckFormatOption = Annotated[
    CheckFormat,
    typer.Option(
        "--format", help="text; json (one document); github (annotations for a pull request)."
    ),
]


def validate(
    paths: _CheckedPaths = None,
    fmt: _CheckFormatOption = CheckFormat.text,
    config: ConfigOption = None,
    ar_files_only: common.ArFilesOnlyOption = False,
    offline: common.OfflineOption = False,
) -> None:
    """Check config, workflows and templates.

    Check config, workflows and templates; print every problem as PATH:LINE: where: message.

    Exit 0 when valid, 1 when not. Templates are rendered once against a sample context, so a
    misspelt variable fails here. A workflow file is checked within the folder it belongs to
    (the arflow.yaml above it), or on its own when there is none; a template file (.j2), with
    the whole folder that holds it. Every path given is checked.

    \b
    Example: arflow validate --format github workflows/net30-standard.yaml
    """
    problems: list[Problem] = []
    checked: list[str] = []  # each file checked, as the problems name files
    if ar_files_only:
        paths = _own_paths(paths, fmt)
    targets = _targets(paths, config) if paths or not ar_files_only else []
    for target in targets:
        found, name = _check(target, fmt, alone=len(targets) == 1, offline=offline)
        problems += [p for p in found if p not in problems]  # a folder's, once
        checked += [name] if name not in checked else []
    if fmt is CheckFormat.json:
        common.print_json(
            {
                "valid": not problems,
                "checked": checked,
                "problems": [
                    {"file": q.path, "line": q.line, "where": q.where, "message": redact(q.message)}
                    for q in problems
                ],
            }
        )
    elif fmt is CheckFormat.github:
        for problem in problems:  # GitHub's workflow commands: one annotation a problem
            line = f",line={problem.line}" if problem.line else ""
            text = redact((f"{problem.where}: " if problem.where else "") + problem.message)
            sys.stdout.write(f"::error file={_gh(problem.path)}{line}::{_gh(text)}\n")
    if problems:
        if fmt is CheckFormat.text:
            raise InvalidFiles(problems)
        raise typer.Exit(EXIT_NOTHING_DONE)


def _own_paths(paths: list[Path] | None, fmt: CheckFormat) -> list[Path]:
    """`--ar-files-only`: the AR folders' own files among `paths` (saying so when none is)."""
    own = common.own_paths(paths)
    if not own and fmt is CheckFormat.text:
        say(f"Nothing to check: none of the {len(paths or [])} path(s) is an AR folder's file.")
    return own


def _targets(paths: list[Path] | None, config: Path | None) -> list[Path | None]:
    """What to check: each path given (a folder: its arflow.yaml; a template: the arflow.yaml
    of its AR folder, as templates are checked in their folder's context, once), else --config
    or the arflow.yaml found from here (None)."""
    from arflow.validation import TEMPLATE_SUFFIX, config_above

    targets: list[Path | None] = []
    for given in list(paths) if paths else [None]:
        if given is not None and given.is_dir():
            given = given / "arflow.yaml"
        elif given is not None and given.suffix == TEMPLATE_SUFFIX:
            given = config_above(given) or given
            if any(t is not None and t.resolve() == given.resolve() for t in targets):
                continue  # its folder is checked already
        targets.append(given if given is not None else config)
    return targets


def _check(
    target: Path | None, fmt: CheckFormat, alone: bool, offline: bool
) -> tuple[list[Problem], str]:
    """One target's problems, named as the user sees them (`shown`), and its name so (a
    line says it is valid, printed at once as text)."""
    from arflow.config import CONFIG_NAME
    from arflow.validation import (
        NO_FOLDER,
        TEMPLATE_SUFFIX,
        in_folder,
        is_workflow_file,
        shown,
        workflow_file_problems,
    )

    if target is not None and target.suffix == TEMPLATE_SUFFIX:  # in no AR folder
        name = shown(Path(), str(target))
        return [Problem(name, None, "", f"a template, {NO_FOLDER}")], name
    try:
        if target is not None and is_workflow_file(target):
            found, folder = workflow_file_problems(target, alone)
            name = shown(Path(), str(target))
            if not found:
                _valid(f"{name}: valid", fmt)
            return in_folder(found, folder), name
        config_file = common.config_path(target)
    except ArflowError as err:
        if target is None and fmt is CheckFormat.text:
            raise  # no path given and none found: the error says where it looked
        name = shown(Path(), str(target or CONFIG_NAME))
        return [Problem(name, None, "", str(err))], name
    return _folder_problems(config_file, target, fmt, alone, offline)


def _folder_problems(
    config_file: Path, target: Path | None, fmt: CheckFormat, alone: bool, offline: bool
) -> tuple[list[Problem], str]:
    """An AR folder's problems (its config, workflows, templates, and what stops its
    sources), and its name; the line saying it is valid, the columns it does not use and
    its warnings printed."""
    from arflow.project import history_warnings
    from arflow.reading import unused_columns
    from arflow.sources import present_headers, source_problems
    from arflow.validation import ar_folder, checked_project, in_folder, naming, shown

    folder = ar_folder(config_file, target, alone)
    with naming(folder):
        project, found = checked_project(config_file)
        unreadable = [] if project is None else source_problems(project.config, offline=offline)
        unused = (
            unused_columns(present_headers(project.config, offline=offline))
            if project is not None and not unreadable
            else []
        )
    name = shown(folder, config_file.name)
    if project is None or unreadable:
        return in_folder(found or unreadable, folder), name
    _valid(
        f"{name}: valid ({len(project.workflows)} workflows, "
        f"{project.templates.count()} templates)",
        fmt,
    )
    if fmt is CheckFormat.text:
        for line in unused:
            _console().print(f"  {line}", markup=False)
    from arflow.fees.checks import stale_tables

    today = project.config.today(common.now())
    stale = stale_tables(project.config, project.models, today)
    common.warn(in_folder(project.warnings + history_warnings(project) + stale, folder))
    return [], name


def _valid(line: str, fmt: CheckFormat) -> None:
    """The line saying a target is valid, printed at once as text."""
    if fmt is CheckFormat.text:
        _console().print(line, markup=False)


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _gh(text: str) -> str:
    """A value in a GitHub workflow command: %, CR and LF escaped as GitHub reads them."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def doctor(fmt: common.FormatOption = common.Format.table, config: ConfigOption = None) -> None:
    """Check a deployment before tonight's run.

    Check a deployment before tonight's run: the config, the sources, the state database
    (writable, backed up lately), the SMTP login (nothing is sent) and the time zone.

    Exit 0 when tonight's run can do its work, 1 when a check failed. --format json prints
    {"checks": [{"level", "text"}], "ok"}.

    \b
    Example: arflow doctor --config /srv/ar/arflow.yaml
    """
    from arflow.doctor import Check
    from arflow.doctor import checks as doctor_checks
    from arflow.project import load_project

    as_json = fmt is common.Format.json
    console = _console()
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    try:
        project = load_project(common.config_path(config))
    except ArflowError:
        if not as_json:  # JSON: the error object, as every command's
            console.print(
                f"{marks['fail']}  config: cannot be used; `arflow validate` lists why",
                markup=False,
            )
        raise
    cfg = project.config
    found = [
        Check(
            "ok", f"config: {cfg.display(cfg.path)} is valid ({len(project.workflows)} workflows)"
        ),
        *doctor_checks(project, common.now()),
    ]
    failed = any(c.level == "fail" for c in found)
    if as_json:
        rows = [{"level": c.level, "text": redact(c.text)} for c in found]
        common.print_json({"checks": rows, "ok": not failed})
    else:
        for check in found:
            console.print(redact(f"{marks[check.level]}  {check.text}"), markup=False)
    if failed:
        raise typer.Exit(EXIT_NOTHING_DONE)


def sources(
    as_of: Annotated[
        str | None,
        common.as_of_option(
            "Count the unreachable customers among those with an invoice open on this day"
        ),
    ] = None,
    fmt: common.FormatOption = common.Format.table,
    config: ConfigOption = None,
) -> None:
    """Show what arflow reads from the invoices and customers.

    Show what arflow reads from the invoices and customers: each column and the field it
    fills (and the columns left out), the first rows as parsed, bad rows by cause, the customers
    with an open invoice that a channel the workflows use cannot reach, and why a source
    would be refused whole. For a new export, before the first night.

    Exit 0 when every row was read, 1 when a source is refused (nothing would be sent from it),
    3 when a row or a value in one is held back.

    \b
    Example: arflow sources --format json
    """
    from arflow.project import load_project
    from arflow.source_view import print_sources, view_sources

    project = load_project(common.config_path(config))
    cfg = project.config
    day = common.parse_day(cfg, as_of, "--as-of") or cfg.today(common.now())
    view = view_sources(project, day)
    if fmt is common.Format.json:
        common.print_json({"as_of": day.isoformat(), **view.as_dict()})
    else:
        print_sources(_console(), view)
    if view.refused:
        raise typer.Exit(EXIT_NOTHING_DONE)
    if view.errors:
        raise typer.Exit(common.EXIT_PROBLEMS)


class SchemaKind(StrEnum):
    config = "config"
    workflow = "workflow"


def schema(
    kind: Annotated[
        SchemaKind,
        typer.Argument(
            help="config (arflow.yaml) or workflow (workflows/*.yaml).", metavar="config|workflow"
        ),
    ],
) -> None:
    """Print the JSON Schema of arflow.yaml or a workflow file.

    Print the JSON Schema of arflow.yaml or of a workflow file, made from the same models
    `arflow validate` checks with: for an editor's YAML support, or check-jsonschema in CI.

    \b
    Example: arflow schema workflow > workflow.schema.json
    """
    from arflow.schema import schema_text

    sys.stdout.write(schema_text(kind.value))


def state_group() -> None:
    """The state database: arflow.db and arflow.db.id beside it.

    \b
    Example: arflow state init --force
    """


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
) -> None:
    """Create a new, empty state database.

    With --force, start over on a folder that has run.

    After starting over, the next run sends whatever is due as if arflow had never run here;
    `arflow run --baseline` first marks what is due as done instead.

    \b
    Example: arflow state init --force
    """
    from arflow.config import load_config
    from arflow.state import start_over

    cfg = load_config(common.config_path(config))
    path = cfg.resolve(cfg.state)
    shown = cfg.display(path)
    moved = start_over(path, common.now().strftime("%Y%m%dT%H%M%SZ"), force, shown)
    for old, new in moved:
        say(f"Kept {cfg.display(old)} as {cfg.display(new)}.")
    say(
        f"Created an empty state database {shown}: the next run sends whatever is due as if "
        "arflow had never run here (`arflow run --baseline` first marks it done instead)."
    )
