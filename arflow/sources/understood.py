"""Whether arflow understood a source before it acts on it (SPEC 2.4).

A wrong `date_format:` is not a few bad rows: with US dates read as `%d/%m/%Y`, the days over
12 fail and the others are read with day and month swapped, and a final notice goes out for an
invoice due next month. So a date column whose failing values (or all of them) read cleanly in
another common format refuses the whole source, and so does a source with more bad rows than
`max_bad_rows:` allows. A column arflow does not know but that looks like one it reads (`e-mail`)
is named with its fix, before any row is read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime

import polars as pl

from arflow.calendar import date_range_problem
from arflow.config import SourceConfig
from arflow.errors import RowError, SourceRefused
from arflow.reading import SourceRead, group_errors
from arflow.sources.frames import LINE

DATE_FIELDS = ("issue_date", "due_date", "paid_date")
DATE_VALUE = "value"  # a date column's value as written, beside its first LINE (`check_dates`)
# the formats exports write dates in; the first that reads a whole column is the one proposed
COMMON_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%m/%d/%y",
    "%d/%m/%y",
    "%d.%m.%y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%d-%b-%y",
    "%Y%m%d",
)
SAMPLES = 3  # values a refusal shows


def _reads(fmt: str) -> Callable[[str], bool]:
    """Whether a value reads as a date in `fmt`, in the years arflow schedules (a typo such as
    0206 reads no other way either)."""

    def reads(value: str) -> bool:
        try:
            day = datetime.strptime(value, fmt).date()
        except ValueError:
            return False
        return date_range_problem(value, day) is None

    return reads


def check_dates(
    dates: dict[str, pl.DataFrame],
    idx: dict[str, int],
    header: Sequence[str],
    source: SourceConfig,
    reads: Callable[[str], bool],
    display: str,
    setting: str,
) -> None:
    """Refuse the source (SourceRefused) when its date format is wrong rather than a few of its
    values: when a date column's values that `reads` (the source's own date parser) refuses read
    with day and month swapped (then the values it accepted may be swapped too), or when
    another format reads every date of the source. Anything else is a bad value, held back
    with its row. `dates`: each date column's distinct values as written (DATE_VALUE), in
    file order, with the first LINE of each."""
    distinct = {  # a date repeats: each distinct value is stripped and tried once
        field: [v for v in dict.fromkeys(x.strip() for x in values.get_column(DATE_VALUE)) if v]
        for field, values in dates.items()
    }
    every = [v for values in distinct.values() for v in values]
    swapped = _swapped(source.date_format)
    others = _others(source) + ([swapped] if swapped and swapped not in COMMON_FORMATS else [])
    for field, values in distinct.items():
        failing = [v for v in values if not reads(v)]
        if not failing:
            continue
        fits = [f for f in others if all(map(_reads(f), every))]  # one format per source
        if not fits and not (swapped and all(map(_reads(swapped), failing))):
            continue  # a bad value, not a wrong format: its row is held back
        written = dates[field]
        lines = _lines_of(
            written.get_column(DATE_VALUE).str.strip_chars(),
            written.get_column(LINE),
            failing[:SAMPLES],
        )
        raise SourceRefused(
            setting,
            _date_refusal(
                display,
                header[idx[field]].strip(),
                setting,
                source.date_format,
                (len(failing), len(values)),
                lines,
                fits or [swapped or ""],
                bool(fits),
            ),
            "date_format",
        )


def _swapped(date_format: str | None) -> str | None:
    """The format with day and month the other way round (None when it has not both)."""
    if not date_format or "%d" not in date_format or "%m" not in date_format:
        return None
    return date_format.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _others(source: SourceConfig) -> list[str]:
    configured = source.date_format or "%Y-%m-%d"  # without one, arflow reads ISO dates
    return [f for f in COMMON_FORMATS if f != configured]


def _lines_of(values: pl.Series, lines: pl.Series, wanted: list[str]) -> list[tuple[int, str]]:
    """The first line of each wanted value, in file order."""
    found = (
        pl.DataFrame({"v": values, "line": lines})
        .filter(pl.col("v").is_in(wanted))
        .group_by("v")
        .agg(pl.col("line").min())
        .sort("line")
    )
    return [(line, value) for value, line in found.iter_rows()]


def _date_refusal(
    display: str,
    column: str,
    setting: str,
    date_format: str | None,
    counts: tuple[int, int],
    samples: list[tuple[int, str]],
    fits: list[str],
    whole: bool,
) -> str:
    failing, distinct = counts
    reading = f"date_format {date_format!r}" if date_format else "an ISO date (YYYY-MM-DD)"
    example = ", ".join(f"line {line}: {value}" for line, value in samples)
    verb = "does" if failing == 1 else "do"
    head = (
        f"{display}: {column}: {failing:,} of its {distinct:,} distinct dates {verb} not read "
        f"as {reading} (e.g. {example}), but read as {fits[0]!r}"
    )
    if not whole:
        return (
            f"{head}, while others do not: the column mixes day-first and month-first dates, "
            "and arflow cannot tell which of them are right; nothing is read from this file "
            "until the export writes every date one way, then set date_format: under "
            f"{setting}: in arflow.yaml"
        )
    choice = f'date_format: "{fits[0]}"'
    if len(fits) > 1:
        alternatives = " or ".join(f'"{f}"' for f in fits[1:3])
        choice += f" (or {alternatives}: every date here reads either way; pick your export's)"
    return (
        f"{head}, as every date in the file does; nothing is read from this file until "
        f"it is clear: set {choice} under {setting}: in arflow.yaml"
    )


MIN_BAD_ROWS = 5  # a share never refuses this many bad rows or fewer (a short file's typos)


def bad_rows_allowed(source: SourceConfig, rows: int) -> int:
    """How many held-back rows a source of `rows` rows may have before it is refused."""
    limit = source.max_bad_rows
    if isinstance(limit, int):
        return limit
    share = float(limit[:-1]) / 100
    return max(MIN_BAD_ROWS, int(rows * share)) if share else 0  # 0% is none at all


def check_share(
    read: SourceRead,
    source: SourceConfig,
    errors: Iterable[RowError],
    kept: Callable[[], Collection[int]],
) -> None:
    """Refuse the source when more of its rows were held back than `max_bad_rows:` allows,
    with the counts by cause (of the held-back rows: `kept()` are the lines of the others)."""
    allowed = bad_rows_allowed(source, read.rows)
    if read.held_back <= allowed:
        return
    good = kept()
    causes = "".join(
        f"\n  {g.text(3)}"
        for g in group_errors(e for e in errors if e.file == read.display and e.line not in good)
    )
    raise SourceRefused(
        read.setting,
        f"{read.display}: {read.held_back:,} of its {read.rows:,} rows are bad, more than "
        f"max_bad_rows: {source.max_bad_rows} allows ({allowed:,}); an export this broken is not "
        f"acted on: fix it, or raise max_bad_rows: under {read.setting}: in arflow.yaml. "
        f"By cause:{causes}",
        "max_bad_rows",
    )
