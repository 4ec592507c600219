"""What reading a source found beside its good rows (SPEC 2.4): how many rows it had, how many
were held back or empty, which columns it did not use, and its bad values grouped by cause, so
that 3,000 rows with the same bad date read as one line with its fix."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from arflow.errors import RowError


@dataclass
class SourceRead:
    """One source as arflow read it."""

    setting: str  # "invoices" or "customers": where it is set in arflow.yaml
    display: str  # the file (or table) as a person names it
    fields: dict[str, str] = field(default_factory=dict)  # field → the column it is read from
    ignored: tuple[str, ...] = ()  # the columns no field uses (`extra.NAME` in templates)
    rows: int = 0  # rows read, empty ones aside
    kept: int = 0  # rows arflow acts on
    empty: int = 0  # rows with every value empty: not rows at all, counted once

    @property
    def held_back(self) -> int:
        return self.rows - self.kept


@dataclass(frozen=True)
class ErrorGroup:
    """Bad values with the same cause in one file: the first one stands for them all."""

    first: RowError
    lines: tuple[int, ...]  # every line, in order
    alike: bool = True  # every message word for word the first's (else it is shown as an e.g.)

    @property
    def count(self) -> int:
        return len(self.lines)

    def text(self, shown: int = 5) -> str:
        """`FILE:LINE: COLUMN: message` for one; for many, how many, the first lines and the
        first one's message (which names its value and the fix)."""
        e = self.first
        column = f" {e.column}:" if e.column else ""
        if self.count == 1:
            return f"{e.place}:{column} {e.message}"
        first = ", ".join(str(n) for n in self.lines[:shown])
        more = f" and {self.count - shown:,} more" if self.count > shown else ""
        example = "" if self.alike else f" e.g. line {e.place.partition(':')[2]}:"
        return f"{e.file}: {self.count:,} rows (lines {first}{more}):{example}{column} {e.message}"

    def as_dict(self) -> dict:
        return {
            "file": self.first.file,
            "column": self.first.column,
            "count": self.count,
            "lines": list(self.lines[:20]),
            "example": self.first.as_dict(),
        }


_NUMBERS = re.compile(r"\d+")


def cause(error: RowError) -> tuple[str, str | None, str]:
    """What makes errors the same: the file, the column and the message with its value and
    numbers taken out (`'11/28/2026' does not match …` and `'12/30/2026' does not match …`
    are one cause; so are duplicates of different numbers)."""
    message = error.message
    if error.value:  # as messages quote it: a bare value may be part of the fix (status_map)
        for shown in (repr(error.value.strip()), repr(error.value)):
            message = message.replace(shown, "…")
    return error.file, error.column, _NUMBERS.sub("#", message)


def group_errors(errors: Iterable[RowError]) -> list[ErrorGroup]:
    """The errors grouped by cause, the groups in the order of their first line, each shown by
    its first line's error (a phone number is reported when it is checked, in no line order)."""
    lines: dict[tuple[str, str | None, str], list[int]] = {}
    first: dict[tuple[str, str | None, str], RowError] = {}
    alike: dict[tuple[str, str | None, str], bool] = {}
    for e in sorted(errors, key=lambda e: (e.file, e.line)):
        key = cause(e)
        if key not in first:
            first[key] = e
            lines[key] = []
            alike[key] = True
        lines[key].append(e.line)
        alike[key] = alike[key] and e.message == first[key].message
    groups = [ErrorGroup(first[k], tuple(sorted(set(v))), alike[k]) for k, v in lines.items()]
    return sorted(groups, key=lambda g: (g.first.file, g.lines[0]))


def unused_columns(reads: Sequence[SourceRead]) -> list[str]:
    """Each source's columns no field uses, named once: templates can still use them."""
    return [
        f"{r.display}: columns arflow does not use: {', '.join(r.ignored)} "
        f"(templates can: {'invoice' if r.setting == 'invoices' else 'customer'}.extra.NAME)"
        for r in reads
        if r.ignored
    ]
