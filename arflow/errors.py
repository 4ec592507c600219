"""Errors arflow reports to users; `cli.py` turns them into messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass


class ArflowError(Exception):
    """A foreseeable problem that stops a command; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in a user's file: `PATH:LINE: where: message`."""

    path: str
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        line = f":{self.line}" if self.line else ""
        where = f" {self.where}:" if self.where else ""
        return f"{self.path}{line}:{where} {self.message}"


class SourceRefused(ArflowError):
    """A source arflow did not understand (SPEC 2.4): nothing is read from it."""

    def __init__(self, setting: str, message: str, key: str):
        self.setting = setting  # "invoices" or "customers"
        self.key = key  # the setting under it that fixes it (date_format, max_bad_rows)
        super().__init__(message)


class Refused(ArflowError):
    """A value a person typed that makes no sense (a pause ending in the past, a promise on a
    paid invoice): nothing was done, exit 2 like any usage error."""


class StoppedMidRun(ArflowError):
    """A run that had sent some messages could not go on (its state database failed): the run
    completed with problems, exit 3, not "nothing was done"."""


class InvalidFiles(ArflowError):
    """Configuration, workflow or template files failed validation."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad value in a source row (SPEC 2.4): the row or that value is held back."""

    file: str
    line: int
    column: str | None
    value: str | None
    message: str
    # issue 35: a database row's key (its invoice number, its customer id): a table's rows have
    # no lines of their own, their order is the server's
    key: str | None = None

    @property
    def place(self) -> str:
        """`FILE:LINE`, and the row's key where it has one: `books/inv:5 (A2)`."""
        return f"{self.file}:{self.line}" + (f" ({self.key})" if self.key else "")

    def as_dict(self) -> dict:
        found = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }
        return found if self.key is None else {**found, "key": self.key}
