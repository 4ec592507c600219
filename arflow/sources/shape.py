"""A report export read as a table: `headings:` gives each heading row's text (a customer's
name above its invoices) to the rows below it as a column, and `skip_if:` leaves out the rows it
names (group headings, "Total for …" rows, a footer). A row that `skip_if:` would leave out but
that has an issue date, as an invoice has, is reported instead: nothing is dropped silently."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase

from arflow.config import SourceConfig
from arflow.errors import ArflowError
from arflow.sources.csvfile import BadRow, Blocks, started

# a `skip_if:` rule: (column as configured, its index in the row, case-folded patterns)
Rule = tuple[str, int, list[str]]


def reshape(
    header: list[str],
    blocks: Blocks,
    source: SourceConfig,
    display: str,
    setting: str,
    date_column: str | None,
    is_date: Callable[[str], bool],
) -> tuple[list[str], Blocks]:
    """The header (with the headings' column last) and the rows as `source` says to read them.
    `date_column` is the issue date's column, for invoices (None for customers); `is_date`
    says whether a value there reads as a date."""
    at = {name.strip().casefold(): i for i, name in reversed(list(enumerate(header)))}
    rules = _skip_rules(header, at, source, display, setting)
    dated = at.get(date_column.strip().casefold()) if date_column else None
    width = len(header)
    if source.headings:
        if source.headings.strip().casefold() in at:
            raise ArflowError(
                f"{display}: headings: {source.headings!r} is a column of the file "
                "already; give the headings' column a name the file does not use"
            )
        header = [*header, source.headings]
    rows = _rows(blocks, bool(source.headings), width, rules, dated, is_date)
    return header, started(rows)


def _skip_rules(
    header: list[str], at: dict[str, int], source: SourceConfig, display: str, setting: str
) -> list[Rule]:
    """`skip_if:`'s rules, each column found in the header (`at`: case-folded name → index)."""

    def index(name: str, key: str) -> int:
        found = at.get(name.strip().casefold())
        if found is None:
            raise ArflowError(
                f"{display}: {key} names {name!r}, but there is no such column "
                f"(columns are: {', '.join(header)}); fix {key} under {setting}: "
                "in arflow.yaml"
            )
        return found

    return [
        (
            column,
            index(column, "skip_if:"),
            [p.strip().casefold() for p in ([patterns] if isinstance(patterns, str) else patterns)],
        )
        for column, patterns in source.skip_if.items()
    ]


def _rows(
    blocks: Blocks,
    headings: bool,
    width: int,
    rules: list[Rule],
    dated: int | None,
    is_date: Callable[[str], bool],
) -> Blocks:
    """The blocks reshaped: each row below a heading given the heading (with `headings`), the
    rows `rules` name left out (reported instead when they have an issue date, at `dated`)."""
    heading = ""
    try:
        yield range(0), []
        for lines, block in blocks:
            kept_lines: list[int] = []
            kept: list[list[str]] = []
            for line, row in zip(lines, block, strict=True):
                if isinstance(row, BadRow) or not any(v.strip() for v in row):
                    kept_lines.append(line)  # reported as they are, or no row at all
                    kept.append(row)
                    continue
                if headings:
                    if row[0].strip() and not any(v.strip() for v in row[1:]):
                        heading = row[0].strip()  # a heading: the rows below are its
                        continue
                    if len(row) == width:
                        row = [*row, heading]
                rule = _skipped(row, rules)
                if rule is not None:
                    if dated is None or dated >= len(row) or not is_date(row[dated]):
                        continue
                    row = BadRow(
                        f"skip_if: leaves out rows whose {rule[0]} is {rule[1]!r}, but this "
                        f"one has an issue date ({row[dated].strip()}) as an invoice has; "
                        f"give it a {rule[0]}, or narrow skip_if: to keep it out on purpose"
                    )
                kept_lines.append(line)
                kept.append(row)
            yield kept_lines, kept
    finally:
        getattr(blocks, "close", lambda: None)()  # a header-only read has no rows


def _skipped(row: Sequence[str], rules: list[Rule]) -> tuple[str, str] | None:
    """(column, value) of the first `skip_if:` rule the row meets."""
    for column, i, patterns in rules:
        value = row[i].strip() if i < len(row) else ""
        if any(fnmatchcase(value.casefold(), p) for p in patterns):
            return column, value
    return None
