"""What the commands share: the exit codes, the options and formats, the clock, parsing what a
person types, and the few ways a command prints beside its report. Light on purpose: the
folder, its sources and the state are opened in `commands/session.py`, and the libraries a
parser or a console needs are imported when one is made, so `validate` and `init` load only
what they use.

The clock is `now()`, always called as `common.now()`: tests set the moment here, once for
every command.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, overload

import typer

from arflow.commands.options import (  # noqa: F401 (the commands read them here)
    EXIT_NOTHING_DONE,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    GLOBAL_CONFIG,
    HELP,
    ConfigOption,
)
from arflow.config_location import find_config
from arflow.errors import Problem
from arflow.secrets import redact

if TYPE_CHECKING:
    from rich.console import Console

    from arflow.config import Config
    from arflow.sources.values import ValueParser

T = TypeVar("T")


class Format(StrEnum):
    table = "table"
    json = "json"


class TableFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def own_paths(paths: list[Path] | None) -> list[Path]:
    """`--ar-files-only`: the AR folders' own files among the PATHs given (the hooks')."""
    from arflow.validation import own_files

    if not paths:
        raise typer.BadParameter("--ar-files-only goes with PATHs (the hook's files)")
    return own_files(paths)


def as_of_option(what: str) -> Any:
    """A command's `--as-of YYYY-MM-DD`, its help saying `what` the day is for that command."""
    return typer.Option(
        "--as-of",
        metavar="YYYY-MM-DD",
        help=f"{what} (default: today in the company time zone).",
    )


FormatOption = Annotated[Format, typer.Option("--format", help="table or json.")]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Do not connect to database sources (CI, where they cannot be reached); files "
        "are checked as always.",
    ),
]
ArFilesOnlyOption = Annotated[
    bool,
    typer.Option(
        "--ar-files-only",
        help="Of the PATHs, take only an AR folder's own files (its arflow.yaml, workflows and "
        "templates) and pass over the rest, as the pre-commit hooks do: a repository's other "
        "workflows/ and templates/ folders (.github/workflows) are not arflow's.",
    ),
]
ListFormatOption = Annotated[
    TableFormat, typer.Option("--format", help="table, json or csv.")
]  # a listing's: `--format csv` writes a spreadsheet's rows
JobsOption = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        metavar="N",
        help="Compose messages in N processes (default: the machine's cores; 1: in this one).",
    ),
]  # a run's, a forecast's and a simulation's (`compose_pool`)
IdsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--file", metavar="FILE", help="A file of customer ids, one per line.", dir_okay=False
    ),
]


def config_path(explicit: Path | None) -> Path:
    """The command's --config, else the one given before the command, else as found."""
    return find_config(
        explicit if explicit is not None else (GLOBAL_CONFIG[0] if GLOBAL_CONFIG else None),
        Path.cwd(),
    )


def now() -> datetime:
    return datetime.now(UTC)


def journald() -> bool:
    """Whether output goes to systemd's journal, which stamps each line with its time."""
    return bool(os.environ.get("JOURNAL_STREAM"))


def stamp(moment: datetime) -> str:
    """A moment as logs write it: UTC, to the second (`2026-11-28T21:40:12Z`)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _typed(config: Config) -> ValueParser:
    """What a person types goes through the parser of the invoices' own values (SPEC 2.4):
    the same dates (ISO, or the source's date_format) and amounts (decimal:, thousands:)."""
    from arflow.sources.values import ValueParser

    return ValueParser(config.invoices, "invoices", config.company.region)


@overload
def parse_day(config: Config, value: str, option: str, base: date | None = None) -> date: ...
@overload
def parse_day(config: Config, value: None, option: str, base: date | None = None) -> None: ...
@overload
def parse_day(
    config: Config, value: str | None, option: str, base: date | None = None
) -> date | None: ...
def parse_day(
    config: Config, value: str | None, option: str, base: date | None = None
) -> date | None:
    """A day typed as a date, or as `+N` / `-N`: N days after / before `base` (the day the
    command counts from: a pause's or a promise's), else today. `--until +30` or `--since -30`
    means the same on whatever day it is typed, so an example stays right when copied."""
    if value is None:
        return None
    text = value.strip()
    day = base or config.today(now())
    if _RELATIVE.fullmatch(text):
        return day + timedelta(days=int(text))
    if _RELATIVE_ANY.fullmatch(text):  # +N with more digits than a day count has
        return _parsed(value, option, _too_far)

    def typed(text: str) -> date:
        try:
            return _typed(config).typed_date(text)
        except ValueError as exc:
            if text.startswith(("+", "-")):
                raise ValueError(f"{exc}; or +N / -N for N days after / before {day}") from None
            raise

    return _parsed(value, option, typed)


_RELATIVE = re.compile(r"[+-]\d{1,4}")
_RELATIVE_ANY = re.compile(r"[+-]\d+")


def _too_far(text: str) -> date:
    raise ValueError(f"{text} days is too far: +N / -N counts at most 9999 days")


def parse_amount(config: Config, value: str | None, option: str) -> Decimal | None:
    return _parsed(value, option, _typed(config).money)


def _parsed(value: str | None, option: str, parse: Callable[[str], T]) -> T | None:
    """An option's value through its parser; the parser's message is the usage error."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def errors_console() -> Console:
    """stderr, as every message beside a report goes out: plain text, lines never broken."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def warn(problems: list[Problem]) -> None:
    """Warnings on stderr (`redact`ed, as every error); they never change the exit code."""
    if problems:
        console = errors_console()
        for problem in problems:
            console.print(redact(f"warning: {problem}"), markup=False)


def say(text: str) -> None:
    from rich.console import Console

    Console(highlight=False, soft_wrap=True).print(text, markup=False)


def plain() -> bool:
    """Whether stdout is a pipe or a file (cron, a script) rather than a person's terminal.
    `TTY_COMPATIBLE=1` (rich's own setting) asks for the tables anyway, `| less -R` with its
    width in `COLUMNS`; `TTY_COMPATIBLE=0` for the plain lines in a terminal."""
    forced = os.environ.get("TTY_COMPATIBLE")
    if forced in ("0", "1"):
        return forced == "0"
    return not sys.stdout.isatty()


def error_object(message: str, exit_code: int, problems: list[str] | None = None) -> dict:
    """An error as `--format json` prints it (docs/commands.md, Exit codes)."""
    return {"message": message, "problems": problems or [], "exit_code": exit_code}


def print_json(document: dict[str, Any]) -> None:
    sys.stdout.write(
        json.dumps(document, indent=2 if sys.stdout.isatty() else None, ensure_ascii=False) + "\n"
    )
