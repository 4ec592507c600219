"""What goes wrong with the state database, in words: StateError and StateMoved, and what a
SQLite error means for the file and what to do (`describe`).

A SQLite error never reaches a user as it is: every public method of the state database turns
it into a StateError that names the file and the fix (`named_errors`), and opening a database
closes its connection whatever goes wrong (`closed_on_failure`)."""

from __future__ import annotations

import functools
import os
import sqlite3
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from arflow.errors import ArflowError

T = TypeVar("T")


class StateError(ArflowError):
    """The state database cannot be used as it is; the message names the file and the fix."""


class StateMoved(StateError):
    """The state database's path no longer names the file a command opened (deleted or
    replaced while in use)."""


def _read_only(path: Path, shown: str) -> list[str]:
    """Which of the database, its -wal and -shm files and their folder arflow cannot write."""
    names = []
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists() and not os.access(candidate, os.W_OK):
            names.append(shown + suffix)
    if not os.access(path.parent, os.W_OK):
        names.append(f"the folder of {shown}")
    return names


def _read_only_message(path: Path, shown: str, text: str) -> str:
    stuck = _read_only(path, shown)
    if any(name.endswith(("-wal", "-shm")) for name in stuck):
        return (
            f"cannot write {shown}: {' and '.join(stuck)} beside it "
            f"{'is' if len(stuck) == 1 else 'are'} read-only for arflow ({text}); a run "
            "as another user (or one that crashed) left them: give them to the user "
            "running arflow (chown, chmod u+w), then run again"
        )
    return (
        f"cannot write {shown}: {' and '.join(stuck) or 'it'} "
        f"{'are' if len(stuck) > 1 else 'is'} read-only for arflow ({text}); check the "
        "permissions and that its disk is not mounted read-only, then run again"
    )


def describe(exc: sqlite3.Error, path: Path, shown: str) -> str:
    """What a SQLite error on the state database means, and what to do: one line."""
    code = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if code.startswith("SQLITE_FULL"):
        return (
            f"cannot write {shown}: the disk it is on is full ({text}); free some space "
            "there, then run again"
        )
    if code.startswith("SQLITE_READONLY"):
        return _read_only_message(path, shown, text)
    if code == "SQLITE_NOTADB":
        return (
            f"{shown} is not an arflow state database: it is not a SQLite file at all "
            f"({text}); restore it from your backup, or point `state:` in arflow.yaml at "
            "another file"
        )
    if code.startswith("SQLITE_CORRUPT"):
        return (
            f"{shown} is damaged ({text}): it was changed outside arflow or by a failing "
            "disk; restore it from your backup"
        )
    if code.startswith("SQLITE_CANTOPEN"):
        return (
            f"cannot open {shown} ({text}): check that its folder exists and that arflow "
            "may write there"
        )
    if code.startswith("SQLITE_IOERR"):
        return f"cannot read or write {shown} ({text}): check the disk it is on, then run again"
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return (
            f"{shown} is locked by another program ({text}): close it (a sqlite3 shell, a "
            "backup tool), then run again"
        )
    return (
        f"{shown} is not as arflow wrote it ({text}): it was changed outside arflow; "
        "restore it from your backup"
    )


def named_errors(cls: type[T]) -> type[T]:
    """Every public method of `cls` turns a SQLite error into a StateError that names the file
    and the fix (a damaged page is only found when a query reaches it). The methods' `self`
    has the database's `path` and how messages name it (`shown`)."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not isinstance(member, types.FunctionType):
            continue

        def guarded(
            self: Any, *args: Any, _method: Callable[..., Any] = member, **kwargs: Any
        ) -> Any:
            try:
                return _method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise StateError(describe(exc, self.path, self.shown)) from None

        setattr(cls, name, functools.wraps(member)(guarded))
    return cls


@contextmanager
def closed_on_failure(conn: sqlite3.Connection, path: Path, shown: str) -> Iterator[None]:
    """Opening a database: whatever goes wrong closes the connection; a SQLite error becomes
    a StateError that names the file."""
    try:
        yield
    except sqlite3.Error as exc:
        conn.close()
        raise StateError(describe(exc, path, shown)) from None
    except BaseException:
        conn.close()
        raise
