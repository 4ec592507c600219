"""How a command gets the state database: one run at a time (`run_lock`), the database opened
in a mode and closed after (`open_state`), and a new one to start over (`start_over`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Literal, overload

from arflow.errors import ArflowError
from arflow.state import clock
from arflow.state.db import StateDB
from arflow.state.identity import archive_aside


def lock_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock")


@contextmanager
def run_lock(state_path: Path) -> Iterator[None]:
    """One run at a time (SPEC 6): an flock on a file beside the database, released by the OS
    when the process dies, so a crash never leaves a stale lock behind."""
    import fcntl

    path = lock_path(state_path)
    try:
        handle = open(path, "a+")  # noqa: SIM115 - held open for as long as the run lasts
    except OSError as exc:
        raise ArflowError(f"cannot create the lock file {path}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            raise ArflowError(
                f"another arflow run is in progress ({holder or 'lock ' + str(path)}); "
                "nothing was sent. Wait for it to finish, then run again."
            ) from None
        # who holds it, for the message above; the flock is what counts (a full disk may
        # refuse these few bytes and the run still goes on, to report its own problem)
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {clock.utc_now()}\n")
            handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):  # the holder text that could not be written
            handle.close()


StateMode = Literal["run", "write", "read", "dry"]


@overload
def open_state(
    path: Path, shown: str, mode: Literal["run", "write", "dry"]
) -> AbstractContextManager[StateDB]: ...
@overload
def open_state(
    path: Path, shown: str, mode: Literal["read"]
) -> AbstractContextManager[StateDB | None]: ...
def open_state(path: Path, shown: str, mode: StateMode) -> AbstractContextManager[StateDB | None]:
    """The state database opened in a mode and closed after, whatever happens:

    - `run`: for writing, under the run lock (a run, a baseline, the inbox, `resolve`);
    - `write`: for writing, without the lock (the desk's small writes, SQLite serialises them);
    - `read`: as it is, read-only; None when there is none yet (reports, history);
    - `dry`: what a dry run plans against; every write is dropped."""
    return _opened(path, shown, mode)


@contextmanager
def _opened(path: Path, shown: str, mode: StateMode) -> Iterator[StateDB | None]:
    with run_lock(path) if mode == "run" else contextlib.nullcontext():
        if mode in ("run", "write"):
            db: StateDB | None = StateDB.open(path, shown)
        elif mode == "read":
            db = StateDB.open_readonly(path, shown)
        else:
            db = StateDB.for_dry_run(path, shown)
        try:
            yield db
        finally:
            if db is not None:
                db.close()


def start_over(
    path: Path, stamp: str, force: bool, shown: str | None = None
) -> list[tuple[Path, Path]]:
    """`arflow state init`, under the run lock: a new, empty state database with a new id.
    With `force`, the old database (with its -wal and -shm files) and its `.id` file are first
    renamed aside with an `.archived-STAMP` suffix, which keeps them a complete state database:
    nothing is deleted. Returns the (old, new) names."""
    shown = shown or str(path)
    with run_lock(path):
        present = archive_aside(path, stamp, force, shown)
        StateDB.open(path, shown).close()
    return present
