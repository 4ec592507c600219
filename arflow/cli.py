"""Command-line interface: the app, its commands registered, and the entry point.

The commands (arflow/commands/) parse options, call the library and print; no business rule
lives there. This is the one place that turns ArflowErrors into messages and exit codes
(SPEC 8): 0 all good; 1 nothing was done; 2 usage error; 3 the run completed with problems.
"""

from __future__ import annotations

import gc
import importlib
from typing import Annotated, Any, NoReturn

import typer

from arflow import __version__
from arflow.commands.options import (
    EXIT_NOTHING_DONE,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    GLOBAL_CONFIG,
    HELP,
    ConfigOption,
)
from arflow.errors import ArflowError, InvalidFiles, Refused, StoppedMidRun
from arflow.secrets import redact

# An argument's help line is its name (metavar) and what it is; typer would add the Python
# type it is declared with (`INVOICE <str>`), which a bookkeeper has no use for.
typer.core.TyperArgument.display_type_rich = (  # type: ignore[method-assign]
    lambda self, ctx: None if self.metavar else typer.core.TyperArgument.display_type(self, ctx)
)


def _exit_code(err: ArflowError) -> int:
    """1: nothing was done; 2 for a refused value; 3 for a run stopped after it sent some."""
    if isinstance(err, Refused):
        return EXIT_USAGE
    return EXIT_PROBLEMS if isinstance(err, StoppedMidRun) else EXIT_NOTHING_DONE


def _fail(err: ArflowError, as_json: bool = False) -> NoReturn:
    """Print a foreseeable problem to stderr, every secret arflow read taken out, and exit with
    its code; a command asked for `--format json` also prints it on stdout as
    `{"error": {"message", "problems", "exit_code"}}`, so a script reading stdout sees it."""
    from arflow.commands import common  # a command ran: it is loaded already

    stderr = common.errors_console()
    code = _exit_code(err)
    # when it happened, for the cron mail or log it lands in (problems keep PATH:LINE: first,
    # as editors and CI read them)
    # (journald stamps every line itself: systemd sets JOURNAL_STREAM)
    when = "" if common.journald() else f" ({common.stamp(common.now())})"
    problems = [redact(str(p)) for p in err.problems] if isinstance(err, InvalidFiles) else []
    if isinstance(err, InvalidFiles):
        message = f"{len(err.problems)} problem(s) found; nothing was done"
        for problem in problems:
            stderr.print(problem, markup=False)
        stderr.print(f"{message}{when}.", markup=False)
    else:
        message = redact(str(err))
        stderr.print(redact(f"error: {err}{when}"), markup=False)
    if as_json:
        common.print_json({"error": common.error_object(message, code, problems)})
    raise typer.Exit(code)


_INVOKED = "arflow.invoked"  # the command resolved and the arguments it was given, in ctx.meta


def _asked_json(ctx: Any) -> bool:
    """Whether the command that failed was given `--format json`: its arguments parsed again,
    leniently (nothing is checked or run), to read the value its `--format` has."""
    if _INVOKED not in ctx.meta:
        return False
    name, cmd, args = ctx.meta[_INVOKED]
    formats = [p.name for p in cmd.params if "--format" in getattr(p, "opts", ())]
    if not formats:
        return False
    sub = cmd.make_context(name, list(args), parent=ctx, resilient_parsing=True)
    return bool(sub.params.get(formats[0]) == "json")


class _Arflow(typer.core.TyperGroup):
    """arflow's commands, each loaded when it is asked for (`arflow --version` loads none of
    them), with an ArflowError raised in any of them turned into its message and exit code by
    `_fail` (and into JSON on stdout for a command given `--format json`)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = _load(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, cmd, rest = super().resolve_command(ctx, args)
        ctx.meta[_INVOKED] = (name, cmd, list(rest))
        return name, cmd, rest

    def invoke(self, ctx: Any) -> Any:  # a click Context (typer carries its own click)
        try:
            return super().invoke(ctx)
        except ArflowError as err:
            _fail(err, _asked_json(ctx))


# each command, in the order `arflow --help` lists them (groups last, as typer did): the module
# of arflow.commands holding it and its function; a group (tasks, workflows, state): its
# callback, its commands, and whether it runs with no command (`arflow tasks` lists them)
COMMANDS: dict[str, tuple[str, str] | tuple[str, str, dict[str, str], bool]] = {
    "init": ("setup", "init"),
    "validate": ("setup", "validate"),
    "run": ("run", "run"),
    "inbox": ("run", "inbox"),
    "history": ("reports", "history"),
    "resolve": ("run", "resolve"),
    "assign": ("desk", "assign"),
    "unassign": ("desk", "unassign"),
    "status": ("desk", "status"),
    "pause": ("desk", "pause"),
    "resume": ("desk", "resume"),
    "promise": ("desk", "promise"),
    "aging": ("reports", "aging"),
    "kpi": ("kpi", "kpi"),
    "report": ("report_html", "report"),
    "forecast": ("reports", "forecast"),
    "simulate": ("reports", "simulate"),
    "preview": ("reports", "preview"),
    "customers": ("reports", "customers"),
    "fees": ("fees", "fees_list", {"waive": "fees_waive"}, True),
    "payments": (
        "payments",
        "payments_list",
        {"match": "payments_match", "unmatch": "payments_unmatch"},
        True,
    ),
    "plan": ("plans", "plan"),
    "plans": ("plans", "plans_list", {"cancel": "plans_cancel"}, True),
    "holds": ("holds", "holds"),
    "dispute": ("disputes", "dispute"),
    "disputes": ("disputes", "disputes"),
    "doctor": ("setup", "doctor"),
    "sources": ("setup", "sources"),
    "schema": ("setup", "schema"),
    "tasks": ("desk", "tasks_list", {"done": "tasks_done"}, True),
    "workflows": (
        "reports",
        "workflows_list",
        {"clone": "desk.workflows_clone", "delete": "desk.workflows_delete"},
        True,
    ),
    "state": ("setup", "state_group", {"init": "state_init"}, False),
}


def _function(module: str, name: str) -> Any:
    """`name` of arflow.commands.`module` (or `other.name`: of arflow.commands.`other`)."""
    if "." in name:
        module, name = name.split(".")
    return getattr(importlib.import_module(f"arflow.commands.{module}"), name)


def _load(name: str) -> Any:
    """The click command `name`, its module imported now."""
    spec = COMMANDS[name]
    if len(spec) == 2:
        one = typer.Typer(rich_markup_mode=None, context_settings=HELP, add_completion=False)
        one.command(name)(_function(*spec))
        return typer.main.get_command(one)
    module, callback, commands, bare = spec
    group = typer.Typer(
        rich_markup_mode=None, no_args_is_help=not bare, context_settings=HELP, add_completion=False
    )
    group.callback(invoke_without_command=bare)(_function(module, callback))
    for command, function in commands.items():
        group.command(command)(_function(module, function))
    found = typer.main.get_group(group)
    found.name = name
    return found


app = typer.Typer(
    cls=_Arflow,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=HELP,
    help="arflow: accounts-receivable collections, each reminder sent exactly once.",
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
) -> None:
    """arflow: accounts-receivable collections, each reminder sent exactly once.

    The folder's arflow.yaml is found in the current folder or the nearest one above it;
    --config (here, for every command, or after a command) or $ARFLOW_CONFIG names another.
    """
    GLOBAL_CONFIG.clear()
    if config is not None:
        GLOBAL_CONFIG.append(config)


def main() -> None:
    # One command, then the process ends. Its data (invoices, plans, messages) holds no
    # reference cycles, so the cyclic collector would only rescan a large ledger again and
    # again (once as the ledger is read, once more after it, and once at exit: over a second
    # on a million invoices); reference counting frees everything as before.
    gc.disable()
    app()
