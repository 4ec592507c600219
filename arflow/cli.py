"""Command-line interface: the app, its commands registered, and the entry point.

The commands (arflow/commands/) parse options, call the library and print; no business rule
lives there. This is the one place that turns ArflowErrors into messages and exit codes
(SPEC 8): 0 all good; 1 nothing was done; 2 usage error; 3 the run completed with problems.
"""

from __future__ import annotations

import gc
from typing import Annotated, Any, NoReturn

import typer

from arflow import __version__
from arflow.commands import common, desk, reports, run, setup
from arflow.commands.common import (
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
    """arflow's commands, with an ArflowError raised in any of them turned into its message
    and exit code by `_fail` (and into JSON on stdout for a command given `--format json`)."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, cmd, rest = super().resolve_command(ctx, args)
        ctx.meta[_INVOKED] = (name, cmd, list(rest))
        return name, cmd, rest

    def invoke(self, ctx: Any) -> Any:  # a click Context (typer carries its own click)
        try:
            return super().invoke(ctx)
        except ArflowError as err:
            _fail(err, _asked_json(ctx))


app = typer.Typer(
    cls=_Arflow,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=HELP,
    help="arflow: accounts-receivable collections, each reminder sent exactly once.",
)

app.command()(setup.init)
app.command()(setup.validate)
app.command()(run.run)
app.command()(run.inbox)
app.command()(reports.history)
app.command()(run.resolve)
app.command()(desk.assign)
app.command()(desk.unassign)
app.command()(desk.status)
app.command()(desk.pause)
app.command()(desk.resume)
app.command()(desk.promise)

tasks_app = typer.Typer(rich_markup_mode=None, context_settings=HELP)
app.add_typer(tasks_app, name="tasks")
tasks_app.callback(invoke_without_command=True)(desk.tasks_list)
tasks_app.command("done")(desk.tasks_done)

app.command()(reports.aging)
app.command()(reports.forecast)
app.command()(reports.simulate)
app.command()(reports.preview)
app.command()(reports.customers)
app.command()(setup.doctor)
app.command()(setup.sources)
app.command()(setup.schema)

workflows_app = typer.Typer(rich_markup_mode=None, context_settings=HELP)
app.add_typer(workflows_app, name="workflows")
workflows_app.callback(invoke_without_command=True)(reports.workflows_list)
workflows_app.command("clone")(desk.workflows_clone)
workflows_app.command("delete")(desk.workflows_delete)

state_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, context_settings=HELP)
app.add_typer(state_app, name="state")
state_app.callback()(setup.state_group)
state_app.command("init")(setup.state_init)


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
