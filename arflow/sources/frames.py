"""A source's rows as frames of text columns, with the line where each row starts.

Two ways in, one result. A plain UTF-8 CSV file (no quote characters, NUL bytes or lone carriage
returns) is read by polars a slice of whole lines at a time (`SLICE_BYTES`, so that the text of
a large file is never held whole, issue 30): each of its lines is one row, so a slice's rows are
numbered on from its first line, and only the rows whose last value is missing are looked at
again, line by line, to tell an empty last value from a short row. Anything else (quoted values
that may span lines, other encodings, SQLite) comes through the block readers of
`csvfile`/`sqlitedb`, which know where every row starts. Both give the same frames: columns c0,
c1, … (text, never null) and `LINE`, and the rows that do not have the header's width, as
(line, message).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import BinaryIO, NamedTuple

import polars as pl

from arflow.config import SourceConfig
from arflow.sources.csvfile import Blocks, Progress, delimiter_of, one_row
from arflow.sources.rows import shape_problem

LINE = "__line"
_UTF8 = ("utf-8", "utf-8-sig", "utf8", "utf8-sig")
# bytes of whole lines polars reads at a time (about 100,000 invoice rows): the slices' text
# frames come and go, only their typed rows stay (issue 30: the 1M dry run under 600 MB)
SLICE_BYTES = 8 << 20
SLICE_BLOCKS = 10  # the block reader's blocks (csvfile.BLOCK rows each) in one slice


class NotPlain(Exception):
    """The file is not plain enough for polars to read as it is: the block reader reads it."""


class TextRows(NamedTuple):
    frame: pl.DataFrame  # c0 … c{n-1} as text, and LINE
    problems: list[tuple[int, str]]  # rows without the header's width: (line, message)
    empty: int = 0  # rows with every value empty (a spreadsheet's trailing `,,,,`): no rows


# how a source's rows are read, slice by slice: `read(True)` polars' way where the file allows
# it (NotPlain, possibly after some slices, where it does not), `read(False)` the block reader's
Slices = Callable[[bool], Iterator["TextRows"]]


def without_empty(rows: TextRows) -> TextRows:
    """The rows without those whose every value is empty or blank (SPEC 2.4: not rows, so
    not errors); they are counted in `empty`."""
    frame = rows.frame
    values = [c for c in frame.columns if c != LINE]
    if not len(frame) or not values:
        return rows
    # the first column decides for nearly every row; only rows empty there are looked at whole
    maybe = (frame.get_column(values[0]).str.strip_chars() == "").arg_true()
    if not len(maybe):
        return rows
    whole = frame[maybe].select(pl.all_horizontal(pl.col(values).str.strip_chars() == ""))
    at = maybe.filter(whole.to_series())
    found = len(at)
    if not found:
        return rows
    empty = pl.repeat(False, len(frame), dtype=pl.Boolean, eager=True).scatter(at, True)
    return TextRows(frame.filter(~empty), rows.problems, rows.empty + found)


def names(width: int) -> list[str]:
    return [f"c{i}" for i in range(width)]


def from_blocks(
    header: Sequence[str], blocks: Iterable[tuple[Sequence[int], list[list[str]]]]
) -> TextRows:
    """The rows of a block reader (csv module or SQLite) as a text frame."""
    width = len(header)
    schema = {**dict.fromkeys(names(width), pl.String), LINE: pl.Int64}
    parts: list[pl.DataFrame] = [pl.DataFrame(schema=schema)]
    problems: list[tuple[int, str]] = []
    blank = 0
    for lines, rows in blocks:
        good_lines: Sequence[int] = lines
        good = rows
        if set(map(len, rows)) != {width}:  # a BadRow has no values: it lands here too
            good_lines, good = [], []
            for line, values in zip(lines, rows, strict=True):
                problem = shape_problem(values, width)
                if problem is None:
                    good_lines.append(line)
                    good.append(values)
                elif problem:
                    problems.append((line, problem))
                else:
                    blank += 1
        if good:
            columns = dict(zip(names(width), map(list, zip(*good, strict=True)), strict=True))
            columns[LINE] = list(good_lines)
            parts.append(pl.DataFrame(columns, schema=schema))
    return without_empty(TextRows(pl.concat(parts, rechunk=True), problems, blank))


def block_slices(header: Sequence[str], blocks: Blocks) -> Iterator[TextRows]:
    """The rows of a block reader as text frames of SLICE_BLOCKS blocks each (at least one)."""
    first = True
    while (part := list(islice(blocks, SLICE_BLOCKS))) or first:
        first = False
        yield from_blocks(header, iter(part))


def _lines(data: bytes, count: int) -> pl.Series:
    """The file's `count` physical lines, without their line breaks (the file has no NUL, so
    polars reads each line as one value)."""
    lines = (
        pl.read_csv(
            data,
            has_header=False,
            separator="\x00",
            quote_char=None,
            new_columns=["line"],
            infer_schema=False,
            raise_if_empty=False,
        )
        .get_column("line")
        .fill_null("")
    )
    if len(lines) == count:
        return lines
    return pl.Series(data.decode("utf-8").split("\n")[:count], dtype=pl.String)


def plain_csv(
    path: Path,
    source: SourceConfig,
    header: Sequence[str],
    progress: Progress | None = None,
    size: int | None = None,
) -> TextRows | None:
    """The file read by polars (`plain_slices`) as one frame, or None when it is not plain
    enough for that (then the block reader reads it)."""
    try:
        parts = list(plain_slices(path, source, header, progress, size))
    except NotPlain:
        return None
    return TextRows(
        pl.concat([p.frame for p in parts], rechunk=True),
        [problem for p in parts for problem in p.problems],
        sum(p.empty for p in parts),
    )


def plain_slices(
    path: Path,
    source: SourceConfig,
    header: Sequence[str],
    progress: Progress | None = None,
    size: int | None = None,
) -> Iterator[TextRows]:
    """The file's rows read by polars, about `size` bytes of whole lines at a time (issue 30:
    the text of a large file is never held whole), each slice's rows numbered by the lines
    they are on; NotPlain, possibly after some slices, when the file is not plain enough for
    polars (then the block reader reads it whole). `header` is the header as the csv module
    read it."""
    if source.encoding.lower().replace("_", "-") not in _UTF8:
        raise NotPlain
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        chunks = _chunks(handle, size or SLICE_BYTES)
        first = next(chunks, b"")
        if first.startswith(b"\xef\xbb\xbf"):
            if not source.encoding.lower().replace("_", "-").endswith("sig"):
                raise NotPlain  # the csv module would keep the BOM in the first column's name
            first, done = first[3:], 3
        end = first.find(b"\n")
        head = first[: end + 1] if end >= 0 else first
        delimiter = delimiter_of(source, head.decode("utf-8", "replace")[:65536])
        if len(delimiter.encode()) != 1:
            raise NotPlain
        line = 2  # where the slice's first row is
        data: bytes | None = first
        first, prefix = b"", b""
        while data is not None:
            # each slice is read as a file of its own: the header, then its lines
            rows, line = _slice(prefix + data, len(header), delimiter, line)
            done += len(data)
            data = None  # the slice's bytes go before the next are read
            if progress is not None:
                progress(min(done, total), total)
            yield rows
            prefix, data = head, next(chunks, None)
    if progress is not None:
        progress(total, total)


def _chunks(handle: BinaryIO, size: int) -> Iterator[bytes]:
    """The file in pieces of about `size` bytes, each ending with a line break (the last one
    may not)."""
    rest = b""
    while block := handle.read(size):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        if cut:
            yield block[:cut]
    if rest:
        yield rest


def _slice(data: bytes, width: int, delimiter: str, line: int) -> tuple[TextRows, int]:
    """The rows of a slice (its first line is the header, the next one line `line` of the
    file), and the line where the next slice's rows start; NotPlain when polars may not
    read it as it is: a quote character, NUL byte or lone carriage return, bytes that are not
    UTF-8, a value longer than the csv module reads."""
    if (
        b'"' in data
        or b"\x00" in data
        or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n"))
    ):
        raise NotPlain
    read = _read_frame(data, delimiter)
    if read is None:
        raise NotPlain
    frame, ragged = read
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if frame.width != width or len(frame) + 1 != lines:
        raise NotPlain  # polars saw the rows otherwise than one per line: take the careful way
    frame.columns = names(width)
    longest = frame.select(pl.max_horizontal(pl.all().str.len_chars().max())).item()
    if longest is not None and longest > csv.field_size_limit():
        raise NotPlain  # the csv module refuses such a row: the block reader says so
    frame = frame.with_columns(pl.int_range(line, len(frame) + line, dtype=pl.Int64).alias(LINE))
    frame, problems, blank = _without_short_rows(
        frame, width, data, (lines, line), delimiter, ragged
    )
    rows = TextRows(frame.with_columns(pl.col(names(width)).fill_null("")), problems, blank)
    return without_empty(rows), line + lines - 1


def _read_frame(data: bytes, delimiter: str) -> tuple[pl.DataFrame, bool] | None:
    """The rows as polars reads them, and whether some line had more values than the header
    (then polars cut them off: `ragged`); None when polars cannot read the bytes."""

    def read(ragged: bool) -> pl.DataFrame:
        return pl.read_csv(
            data,
            separator=delimiter,
            has_header=True,
            infer_schema=False,
            quote_char=None,
            truncate_ragged_lines=ragged,
            encoding="utf8",
            raise_if_empty=False,
        )

    ragged = False
    try:
        try:
            frame = read(ragged)
        except pl.exceptions.ComputeError as exc:
            if "more fields" not in str(exc):
                raise
            ragged = True  # a row with too many values: every line's values are counted
            frame = read(ragged)
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, ValueError, OSError):
        return None  # bytes that are not UTF-8, …: the block reader names them
    return frame, ragged


def _without_short_rows(
    frame: pl.DataFrame,
    width: int,
    data: bytes,
    at_line: tuple[int, int],
    delimiter: str,
    ragged: bool,
) -> tuple[pl.DataFrame, list[tuple[int, str]], int]:
    """The frame without the rows that do not have the header's width, those rows as
    (line, message), and how many of them were blank lines. `at_line`: how many lines the
    slice has, and the line its first row is on."""
    lines, first = at_line
    problems: list[tuple[int, str]] = []
    # a null in the last column: an empty last value, or a line with fewer values than the
    # header (polars pads those silently); the line's own count of delimiters tells which.
    # When a line has too many values, every line is counted; and the last line always, when
    # no line break ends it (polars drops one value too many there).
    maybe_short = frame.get_column(f"c{width - 1}").is_null() | ragged
    if len(frame) and not data.endswith(b"\n"):
        maybe_short = maybe_short.scatter(len(frame) - 1, True)
    if not maybe_short.any():
        return frame, problems, 0
    at = maybe_short.arg_true()
    texts = _lines(data, lines).gather(at + 1)
    short = texts.str.count_matches(delimiter, literal=True) != width - 1
    if not short.any():
        return frame, problems, 0
    blank = 0
    for k, text in zip(at.filter(short).to_list(), texts.filter(short).to_list(), strict=True):
        values = one_row(text, delimiter)  # a BadRow if the csv module refuses it
        problem = shape_problem(values, width)
        if problem:
            problems.append((k + first, problem))
        else:
            blank += 1
    drop = pl.repeat(False, len(frame), dtype=pl.Boolean, eager=True)
    drop = drop.scatter(at.filter(short), True)
    return frame.filter(~drop), problems, blank
