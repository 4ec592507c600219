"""`command:` sources (issue 35): a program the user owns (an export from an accounting API, a
database client) whose standard output is the source's CSV.

The program is run without a shell (`command:` is a list: the program, then its arguments), in
the folder of arflow.yaml, with arflow's environment (so the secrets the deployment keeps there
reach it; arflow never prints the environment), standard input closed, and in a session of its
own: at `timeout:` the whole session is killed — every program it started too — and whatever it
left running when it exits is stopped as well. Its standard output goes to a private temporary
file (mode 0600, deleted when arflow is done with the source), which is then read exactly as a
CSV file is (the same settings, the same fast path, bad rows named by line); the program is
run once per source per arflow command, however many times the source is read.

A program that cannot be started, exits non-zero, is killed by a signal or runs past its
deadline refuses the source whole (SourceRefused, exit 1 as any unreadable source: the run
stops before it sends anything), with the last lines it wrote to standard error. When it
succeeds, what it wrote to standard error is passed on to arflow's, each line led by the
command: a warning the script gives (a page of the API it skipped) reaches the cron mail rather
than being lost."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from arflow.config import Config, SourceConfig
from arflow.errors import SourceRefused
from arflow.secrets import redact

STDERR_LINES = 10  # the lines of standard error a refusal quotes
STDERR_KEPT = 65536  # the bytes of standard error read back: its end
SETTINGS = ("invoices", "customers", "contacts", "payments")


@dataclass(frozen=True)
class CommandOutput:
    """A command's run: its standard output in a file, and how long it took."""

    path: Path
    seconds: float


# by id() of the source, dropped with it: its output, or why it was refused
_OUTPUTS: dict[int, CommandOutput | SourceRefused] = {}


def setting_of(config: Config, source: SourceConfig) -> str:
    """The key of arflow.yaml a source is under ("invoices", "customers", ...)."""
    return next((s for s in SETTINGS if getattr(config, s) is source), "invoices")


def source_file(config: Config, source: SourceConfig) -> Path:
    """The file to read for a file or command source: its own, or its command's output (run
    now unless it ran before in this process)."""
    if source.command is not None:
        return command_output(config, source).path
    assert source.path is not None  # the model requires a file, a database or a command
    return config.resolve(source.path)


def command_output(config: Config, source: SourceConfig) -> CommandOutput:
    """The output of the source's command, which runs once per source: a source read twice
    (its header, then its rows; or read again after a refusal, for its columns) reads the
    same output, or is refused again without running the program again."""
    key = id(source)
    known = _OUTPUTS.get(key)
    if known is None:
        try:
            known = _run(config, source)
        except SourceRefused as exc:
            known = exc
        _OUTPUTS[key] = known
        weakref.finalize(
            source, _forget, key, known.path if isinstance(known, CommandOutput) else None
        )
    if isinstance(known, SourceRefused):
        raise SourceRefused(known.setting, str(known), known.key)
    return known


def ran(source: SourceConfig) -> CommandOutput | None:
    """The source's command's run, if it ran in this process and succeeded."""
    known = _OUTPUTS.get(id(source))
    return known if isinstance(known, CommandOutput) else None


def _forget(key: int, path: Path | None) -> None:
    _OUTPUTS.pop(key, None)
    if path is not None:
        path.unlink(missing_ok=True)


def program_problem(config: Config, source: SourceConfig) -> str | None:
    """What stops the source's program from being started (not found, not executable), found
    without running it; None when it can be."""
    return _program(config, source)[1]


def _program(config: Config, source: SourceConfig) -> tuple[str, str | None]:
    """The program to start (its path) and None, or what stops it."""
    assert source.command  # a command source
    program = source.command[0]
    folder = config.base_dir
    if "/" not in program:  # a name, looked for on PATH as a shell would
        found = shutil.which(program)
        if found is not None:
            return found, None
        here = (folder / program).is_file()
        return program, (
            f"no program {program!r} on PATH"
            + (
                f"; the one in the folder of arflow.yaml is written ./{program}"
                if here
                else "; give its path (from the folder of arflow.yaml), or install it"
            )
        )
    path = folder / Path(program).expanduser()
    if not path.is_file():
        return program, (
            f"{program}: no such file (a path in command: is taken from the folder of "
            f"arflow.yaml, {folder})"
        )
    if not os.access(path, os.X_OK):
        return program, (
            f"{program} is not executable: make it so (chmod +x {program}), or run it through "
            f"its interpreter: [python3, {program}]"
        )
    return str(path), None


def _run(config: Config, source: SourceConfig) -> CommandOutput:
    assert source.command  # a command source
    setting = setting_of(config, source)
    shown = f"`{source.command_text}`"
    program, problem = _program(config, source)
    if problem is not None:
        raise SourceRefused(setting, f"{setting}: command: {problem}", "command")
    fd, name = tempfile.mkstemp(prefix="arflow-", suffix=".csv")  # readable by this user only
    output = Path(name)
    with os.fdopen(fd, "wb") as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                source.command,
                executable=program,
                cwd=config.base_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group: killed whole at the deadline
            )
        except OSError as exc:
            output.unlink(missing_ok=True)
            raise SourceRefused(
                setting,
                f"{setting}: {shown} could not be started: {exc.strerror or exc}; "
                "fix command: in arflow.yaml",
                "command",
            ) from None
        try:
            code = _wait(process, source.timeout)
        except BaseException:  # arflow interrupted (Ctrl-C): the program is killed, its output
            output.unlink(missing_ok=True)  # gone
            raise
        seconds = time.monotonic() - started
        lines = _last_lines(err)
    if code is None or code != 0:
        output.unlink(missing_ok=True)
        raise SourceRefused(setting, _failure(setting, source, code, seconds, lines), "command")
    if lines:
        _pass_on(source, lines)
    return CommandOutput(output, seconds)


def _wait(process: subprocess.Popen, timeout: float) -> int | None:
    """The program's exit status (negative: the signal that killed it), None past `timeout`;
    its process group is killed either way (what it left running, or all of it)."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:  # at the deadline, after it exits, or when arflow itself is interrupted
        with contextlib.suppress(ProcessLookupError, PermissionError):  # none of it is left
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _last_lines(err: IO[bytes]) -> list[str]:
    """The end of what the program wrote to standard error, as lines."""
    size = err.seek(0, os.SEEK_END)
    err.seek(max(0, size - STDERR_KEPT))
    text = err.read().decode("utf-8", "replace")
    lines = text.splitlines()
    if size > STDERR_KEPT and lines:
        lines = lines[1:]  # the first one read is cut
    return [line.rstrip() for line in lines if line.strip()]


def _failure(
    setting: str, source: SourceConfig, code: int | None, seconds: float, lines: list[str]
) -> str:
    """The refusal of a command that failed: what ran, what happened, its last words, the fix."""
    shown = f"`{source.command_text}`"
    if code is None:
        what = (
            f"did not finish within timeout: {source.timeout:g} s and was stopped, with "
            "every program it started"
        )
        fix = (
            f"make it faster, or raise timeout: under {setting}: in arflow.yaml if it needs longer"
        )
    else:
        what = (
            f"was killed by signal {_signal_name(-code)} after {seconds:.1f} s"
            if code < 0
            else f"failed (exit status {code}) after {seconds:.1f} s"
        )
        fix = "run it by hand in the folder of arflow.yaml to see why, and fix it"
    said = (
        "; the last lines it wrote to standard error:\n"
        + "\n".join(f"  | {line}" for line in lines[-STDERR_LINES:])
        + "\n"
        if lines
        else "; it wrote nothing to standard error. "
    )
    return f"{setting}: {shown} {what}; nothing was read from it{said}Fix: {fix}."


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} ({number})"
    except ValueError:
        return str(number)


def _pass_on(source: SourceConfig, lines: list[str]) -> None:
    """A succeeding program's standard error, on arflow's: each line led by the command."""
    for line in lines:
        sys.stderr.write(redact(f"{source.command_text}: {line}") + "\n")
    sys.stderr.flush()
