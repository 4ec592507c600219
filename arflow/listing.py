"""How every report's list goes out, in one place: in a terminal a table whose ids, dates,
amounts, addresses and step names are never broken over lines (its free text wraps between
words; columns drop, or the list becomes a block per row, when the width runs out); in a pipe
a header line, tab-separated rows and the totals; with `--format csv` a spreadsheet's rows."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO

from rich.box import HEAVY_HEAD, Box
from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from arflow.plaintext import one_line

Cell = str | int | Decimal | Text | None


@dataclass(frozen=True)
class Col:
    """A column: its heading in the table, its name in the pipe's header line (`key`); a token
    column (an id, a date, an amount, an address) is never broken, a free-text one (`token`
    False) wraps between words; `drop` > 0: the column may go when the width runs out, the
    highest first."""

    name: str
    key: str
    token: bool = True
    right: bool = False
    drop: int = 0
    style: str = ""


@dataclass
class Listing:
    """A report's list: its title, columns, rows, and its totals (lines under the rows, their
    first cell `total` in a pipe)."""

    title: str
    columns: list[Col]
    rows: list[list[Cell]]
    totals: list[list[Cell]] = field(default_factory=list)
    empty: str = "Nothing to list."


def text_of(cell: Cell) -> str:
    if cell is None:
        return ""
    return cell.plain if isinstance(cell, Text) else str(cell)


def count_text(counts: dict[str, int]) -> str:
    """`open 2, late 1`: how many of each, in the order first met."""
    return ", ".join(f"{k} {n}" for k, n in counts.items())


def summed(amounts: Iterable[Mapping[str, str | Decimal]]) -> dict[str, Decimal]:
    """Amounts per currency (decimal strings or Decimals), added up."""
    total: dict[str, Decimal] = {}
    for each in amounts:
        for currency, value in each.items():
            total[currency] = total.get(currency, Decimal(0)) + Decimal(value)
    return total


# --- in a pipe: a header line, the rows, the totals -------------------------------------------
def plain_line(cells: Iterable[Cell]) -> str:
    """One line of tab-separated values, each value on one line (no tab or line break of its
    own to shift the columns)."""
    return "\t".join(one_line(text_of(c)) for c in cells)


def write_plain(
    out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Cell]], totals: Iterable = ()
) -> None:
    """The header line (`# ` then the column names, as `arflow run`'s), the rows as they come,
    then the totals."""
    out.write("# " + "\t".join(header) + "\n")
    for row in rows:
        out.write(plain_line(row) + "\n")
    for line in totals:
        out.write(plain_line(line) + "\n")


def write_csv(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A spreadsheet's rows: a header row, then the rows (their text made safe by the caller
    with `spreadsheet_text`), no totals (a spreadsheet sums)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


# --- in a terminal: a table that never breaks a token -----------------------------------------
def _widths(cells: Iterable[Cell], heading: str, token: bool) -> tuple[int, int]:
    """A column's natural width (its longest line) and the least it may take (the same for a
    token; the longest word for free text)."""
    lines = [heading, *(line for c in cells for line in text_of(c).split("\n"))]
    natural = max(cell_len(line) for line in lines)
    if token:
        return natural, natural
    return natural, max((cell_len(word) for line in lines for word in line.split()), default=1)


def fit(listing: Listing, width: int) -> dict[int, int] | None:
    """The columns kept (by index) and their widths, for a table no wider than `width`; None
    when even without every column that may drop the tokens do not fit."""
    cells = listing.rows + listing.totals
    sizes = [
        _widths((row[n] for row in cells), col.name, col.token)
        for n, col in enumerate(listing.columns)
    ]
    kept = list(range(len(listing.columns)))
    dropping = sorted(
        (n for n in kept if listing.columns[n].drop), key=lambda n: -listing.columns[n].drop
    )

    def room(chosen: dict[int, int]) -> int:  # each column: its padding and a border
        return width - sum(chosen.values()) - 3 * len(chosen) - 1

    dropped: list[int] = []
    while room({n: sizes[n][1] for n in kept}) < 0:
        if not dropping:
            return None
        dropped.append(dropping.pop(0))
        kept.remove(dropped[-1])
    for n in reversed(dropped[:-1]):  # one dropped before may fit where a wider one went
        if room({m: sizes[m][1] for m in [*kept, n]}) >= 0:
            kept = sorted([*kept, n])
    widths = {n: sizes[n][0] for n in kept}
    excess = -room(widths)
    while excess > 0:  # the widest free text gives a character at a time
        n = max((n for n in kept if widths[n] > sizes[n][1]), key=lambda n: widths[n])
        widths[n] -= 1
        excess -= 1
    return widths


def merged_steps(listing: Listing) -> Listing:
    """The listing with its columns `workflow` and `step` as one, `workflow › step`, for a
    table (a pipe keeps them apart, to cut them)."""
    at = [c.key for c in listing.columns].index("workflow")

    def merge(row: list[Cell]) -> list[Cell]:
        both = f"{text_of(row[at])} › {text_of(row[at + 1])}".strip(" ›")
        return [*row[:at], both, *row[at + 2 :]]

    return Listing(
        listing.title,
        [
            *listing.columns[:at],
            Col("Workflow › step", "step", token=False),
            *listing.columns[at + 2 :],
        ],
        [merge(row) for row in listing.rows],
        [merge(row) for row in listing.totals],
        listing.empty,
    )


def print_listing(
    console: Console,
    listing: Listing,
    *,
    plain: bool,
    blocks: Callable[[Console, Listing], None] | None = None,
    look: Box = HEAVY_HEAD,
) -> None:
    """The listing in a pipe (header, rows, totals) or a terminal (a table, or `blocks` — by
    default a block per row — when no table fits)."""
    if plain:
        write_plain(console.file, [c.key for c in listing.columns], listing.rows, listing.totals)
        return
    if not listing.rows:
        console.print(listing.empty, markup=False)
        return
    widths = fit(listing, console.width)
    if widths is None:
        (blocks or print_blocks)(console, listing)
        return
    console.print(Text(listing.title, style="bold"))
    table = Table(header_style="bold", box=look)
    for n, width in widths.items():
        col = listing.columns[n]
        table.add_column(
            col.name,
            width=width,
            no_wrap=col.token,
            overflow="fold",
            justify="right" if col.right else "left",
            style=col.style,
        )
    for row in listing.rows:
        table.add_row(*(_cell(row[n]) for n in widths))
    if listing.totals:
        table.add_section()
        for line in listing.totals:  # `total` in a pipe, `Total` in a table
            first, *rest = (_cell(line[n], "bold") for n in widths)
            table.add_row(Text("Total", style="bold") if first.plain == "total" else first, *rest)
    console.print(table)


def _cell(cell: Cell, style: str = "") -> Text:
    return cell if isinstance(cell, Text) else Text(text_of(cell), style=style)


def print_facts(console: Console, facts: Sequence[str], indent: int = 2) -> None:
    """Facts of a row, ` · ` between them, as many on a line as fit: a line breaks between
    facts, never inside one (a fact wider than the line wraps between its words)."""
    line = ""
    room = console.width - indent
    for fact in (f for f in facts if f):
        if line and cell_len(line) + 3 + cell_len(fact) > room:
            console.print(Padding(Text(line), (0, 0, 0, indent)))
            line = ""
        line = f"{line} · {fact}" if line else fact
    if line:
        console.print(Padding(Text(line), (0, 0, 0, indent)))


def print_blocks(console: Console, listing: Listing) -> None:
    """A listing too wide for the terminal: its first cell in bold, then each other column's
    heading and value."""
    console.print(Text(listing.title, style="bold"))
    for row in listing.rows + listing.totals:
        console.print(Text(text_of(row[0]), style="bold"))
        print_facts(
            console,
            [
                f"{col.name} {text_of(cell)}"
                for col, cell in zip(listing.columns[1:], row[1:], strict=True)
                if text_of(cell) not in ("", "—")
            ],
        )
