"""A report export read as a table: `headings:` gives each heading row's text (a customer's
name above its invoices) to the rows below it as a column, and `skip_if:` leaves out the rows it
names (group headings, "Total for …" rows, a footer). A row that `skip_if:` leaves out only
for an empty cell (`Num: ""`) but that has an issue date, as an invoice has, is reported
instead: nothing is dropped silently. A rule that names a value the row has (`Transaction Type:
Payment`) leaves it out as asked, whatever its date."""

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
    filled = None  # the headings' column: a new one, last; or the file's own of that name
    if source.headings:
        filled = at.get(source.headings.strip().casefold(), width)
        if filled == width:
            header = [*header, source.headings]
    rows = _rows(blocks, filled, width, rules, dated, is_date)
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
    filled: int | None,
    width: int,
    rules: list[Rule],
    dated: int | None,
    is_date: Callable[[str], bool],
) -> Blocks:
    """The blocks reshaped: each row below a heading given the heading in column `filled` (a
    new last column, or the file's own where the row leaves it empty), the rows `rules` name
    left out (reported instead when only an empty cell names them and they have an issue
    date, at `dated`)."""
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
                if filled is not None:
                    if row[0].strip() and not any(v.strip() for v in row[1:]):
                        heading = row[0].strip()  # a heading: the rows below are its
                        continue
                    if len(row) == width:
                        row = _with_heading(row, filled, heading)
                rule = _skipped(row, rules)
                if rule is not None:
                    if rule[2] or dated is None or dated >= len(row) or not is_date(row[dated]):
                        continue
                    row = BadRow(
                        f"skip_if: leaves out rows whose {rule[0]} is {rule[1]!r}, but this "
                        f"one has an issue date ({row[dated].strip()}) as an invoice has; "
                        f"give it a {rule[0]}, or leave it out on purpose with a skip_if: "
                        "rule that names a value it has (Transaction Type: Payment)"
                    )
                kept_lines.append(line)
                kept.append(row)
            yield kept_lines, kept
    finally:
        getattr(blocks, "close", lambda: None)()  # a header-only read has no rows


def _with_heading(row: list[str], filled: int, heading: str) -> list[str]:
    if filled == len(row):
        return [*row, heading]
    if row[filled].strip():
        return row  # the row's own value
    return [*row[:filled], heading, *row[filled + 1 :]]


def _skipped(row: Sequence[str], rules: list[Rule]) -> tuple[str, str, bool] | None:
    """(column, value, named) of the `skip_if:` rule that leaves the row out: the first rule
    that names a value the row has (`named`), else the first that matches an empty cell."""
    empty: tuple[str, str, bool] | None = None
    for column, i, patterns in rules:
        value = row[i].strip() if i < len(row) else ""
        folded = value.casefold()
        if value and any(p and fnmatchcase(folded, p) for p in patterns):
            return column, value, True
        if empty is None and any(fnmatchcase(folded, p) for p in patterns):
            empty = (column, value, False)
    return empty
