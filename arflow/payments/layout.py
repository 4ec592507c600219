"""Where a payments CSV keeps each field, and which of its rows are money received: the header
read once against `columns:` (a header, or a list of them: the first with a value in the row is
read, and `reference` joins every one with a value), `keep_if:` and `skip_if:`. A file without a
column for a required field, or without a column a filter names, is refused whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from arflow.config import PAYMENT_FIELDS, PaymentsSource
from arflow.errors import SourceRefused

REQUIRED = ("date", "amount")
JOINED = ("reference",)  # fields that read every column named, not only the first

# a filter's rule: (column as configured, its index in the row, case-folded patterns)
Rule = tuple[str, int, list[str]]


@dataclass(frozen=True, slots=True)
class Layout:
    where: dict[str, list[int]]  # field → the indexes of its columns the file has, in order
    keep: list[Rule]  # `keep_if:`: a row is read when each rule matches it
    skip: list[Rule]  # `skip_if:`: a row is passed over when one rule matches it

    def cell(self, cells: Sequence[str], name: str) -> str:
        """The field's value in the row: its first column with a value (all of them joined by
        spaces, for a reference); "" when none has one."""
        values = [cells[i].strip() for i in self.where.get(name, ()) if i < len(cells)]
        present = [v for v in values if v]
        if name in JOINED:
            return " ".join(present)
        return present[0] if present else ""

    def passed_over(self, cells: Sequence[str]) -> bool:
        """Whether the filters leave the row out: `keep_if:` does not match it, or `skip_if:`
        does."""
        return not all(_matches(cells, rule) for rule in self.keep) or any(
            _matches(cells, rule) for rule in self.skip
        )


def layout(header: list[str], source: PaymentsSource, shown: str) -> Layout:
    """The layout of a file with this header; SourceRefused when it lacks what is needed."""
    at: dict[str, int] = {}
    for n, name in enumerate(header):
        at.setdefault(name.strip().casefold(), n)
    where: dict[str, list[int]] = {}
    for name in PAYMENT_FIELDS:
        found = [
            at[c.strip().casefold()] for c in _headers(source, name) if c.strip().casefold() in at
        ]
        if found:
            where[name] = found
    missing = [name for name in REQUIRED if name not in where]
    if missing:
        looked = "; ".join(f"{name}: {', '.join(_headers(source, name))}" for name in missing)
        raise SourceRefused(
            "payments",
            f"{shown}: no column for {', '.join(missing)} (columns are: {', '.join(header)}); "
            f"looked for {looked}{_preset_hint(source)}; map it with columns: "
            f"{{{missing[0]}: YOUR_HEADER}} under payments: in arflow.yaml",
            "columns",
        )
    return Layout(
        where,
        _rules(source.keep_if, "keep_if", at, header, source, shown),
        _rules(source.skip_if, "skip_if", at, header, source, shown),
    )


def _headers(source: PaymentsSource, name: str) -> list[str]:
    """The headers `columns:` gives a field (by default the field's own name)."""
    given = source.columns.get(name, name)
    return [given] if isinstance(given, str) else list(given)


def _rules(
    rules: dict[str, str | list[str]],
    key: str,
    at: dict[str, int],
    header: list[str],
    source: PaymentsSource,
    shown: str,
) -> list[Rule]:
    found = []
    for column, patterns in rules.items():
        index = at.get(column.strip().casefold())
        if index is None:
            raise SourceRefused(
                "payments",
                f"{shown}: {key}: names {column!r}, but there is no such column (columns are: "
                f"{', '.join(header)}){_preset_hint(source)}; fix {key}: under payments: in "
                "arflow.yaml",
                key,
            )
        listed = [patterns] if isinstance(patterns, str) else patterns
        found.append((column, index, [p.strip().casefold() for p in listed]))
    return found


def _preset_hint(source: PaymentsSource) -> str:
    if source.preset is None:
        return ""
    return f"; is it the export the preset {source.preset} reads?"


def _matches(cells: Sequence[str], rule: Rule) -> bool:
    """Whether the row's value in the rule's column is one of its patterns (`*` and `?` as in
    file names, any case; "" an empty cell)."""
    _, index, patterns = rule
    value = cells[index].strip().casefold() if index < len(cells) else ""
    return any(fnmatchcase(value, p) for p in patterns)
