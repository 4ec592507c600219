"""CSV sources: sniffed or configured delimiter, UTF-8 with or without BOM (SPEC 2.3)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Generator, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import Any, TextIO

from arflow.config import SourceConfig
from arflow.errors import ArflowError
from arflow.textfile import bad_bytes, legacy_encoding

_DELIMITERS = ",;\t|"


class BadRow(list):
    """A row the csv module could not read; the rows after it are read on."""

    def __init__(self, message: str):
        super().__init__()
        self.message = message


class _CountedFile(io.BufferedReader):
    """Counts the bytes the text layer has taken, for a progress bar."""

    consumed = 0

    def read1(self, size: int = -1) -> bytes:
        data = super().read1(size)
        self.consumed += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data


Progress = Callable[[int, int], None]  # (bytes done, bytes in all)
BLOCK = 10_000  # lines read at a time; progress is reported after each block
# (line numbers, rows), in file order; closing the generator closes the file or database
Blocks = Generator[tuple[Sequence[int], list[list[str]]], None, None]


def no_rows() -> Blocks:
    """The blocks of a header-only read: none."""
    yield from ()


def read_csv(
    path: Path,
    source: SourceConfig,
    display: str,
    progress: Progress | None = None,
    *,
    header_only: bool = False,
) -> tuple[list[str], Blocks]:
    """The header and an iterator of blocks of rows, each with the line where every row starts
    (no rows with `header_only`)."""
    counted, handle, sample, total = _open(path, source, display)
    at = header_line(source, sample)
    if at is None:
        handle.close()
        names = ", ".join(map(repr, header_names(source)))
        raise ArflowError(
            f"{display}: no header row in the first {HEADER_SEARCH} lines has the "
            f"columns {names}; set header_row: to the header's line number, or "
            "fix columns:"
        )
    delimiter = delimiter_of(source, sample, at)
    reader = csv.reader(handle, delimiter=delimiter)
    header = _header(reader, handle, at, display)
    if header_only:
        handle.close()
        return header, no_rows()

    def not_text(exc: UnicodeDecodeError, start: int) -> ArflowError:
        return _not_text(path, source, display, exc, start)

    # csv.reader takes one line at a time from `handle`, so the header row was all it read
    blocks = _blocks(handle, counted, total, reader.line_num + 1, delimiter, progress, not_text)
    return header, started(blocks)


def _open(path: Path, source: SourceConfig, display: str) -> tuple[_CountedFile, TextIO, str, int]:
    """The file opened as text, its first 64 KiB (the handle is back at the start) and its
    size in bytes."""
    try:
        counted = _CountedFile(io.FileIO(path, "r"))
        handle = io.TextIOWrapper(counted, encoding=source.encoding, newline="")
        sample = handle.read(65536)
        handle.seek(0)
        total = path.stat().st_size
    except FileNotFoundError:
        raise ArflowError(f"{display}: file not found; check path: in arflow.yaml") from None
    except (OSError, LookupError) as exc:
        raise ArflowError(f"{display}: cannot read: {exc}") from None
    except UnicodeDecodeError as exc:
        handle.close()
        # the first read decodes up to 64 KiB: the bytes may sit on any line of it
        raise _not_text(path, source, display, exc, 1) from None
    return counted, handle, sample, total


def _header(reader: Any, handle: TextIO, at: int, display: str) -> list[str]:
    """The header row, on line `at` (the handle is closed when there is none); `reader` is the
    csv module's reader over `handle`."""
    try:
        while reader.line_num < at - 1:  # title rows above the header
            next(reader)
        header: list[str] = next(reader)
    except StopIteration:
        handle.close()
        raise ArflowError(
            f"{display}: the file is empty; it needs a header row"
            if at == 1
            else f"{display}: the file ends before line {at}, where header_row: says the header is"
        ) from None
    except csv.Error as exc:
        handle.close()
        raise ArflowError(
            f"{display}: unreadable header row ({exc}); fix line {reader.line_num}"
        ) from None
    return header


def _blocks(
    handle: TextIO,
    counted: _CountedFile,
    total: int,
    start: int,
    delimiter: str,
    progress: Progress | None,
    not_text: Callable[[UnicodeDecodeError, int], ArflowError],
) -> Blocks:
    """The rows from line `start` on, BLOCK lines at a time; the file is closed at the end."""
    try:
        yield range(0), []  # taken by `started`: from here on, closing closes the file
        while block := list(islice(handle, BLOCK)):
            if '"' not in "".join(block):
                # no quotes: every line is one row (a blank line reads as []), parsed in C
                try:
                    rows = list(csv.reader(block, delimiter=delimiter))
                except csv.Error:
                    rows = [one_row(line, delimiter) for line in block]
                yield range(start, start + len(block)), rows
                start += len(block)
            else:
                lines, rows, used = _quoted_rows(block, handle, delimiter, start)
                yield lines, rows
                start += used
            if progress is not None:
                progress(min(counted.consumed, total), total)
    except UnicodeDecodeError as exc:
        raise not_text(exc, start) from None
    finally:
        handle.close()
        if progress is not None:
            progress(total, total)


def delimiter_of(source: SourceConfig, sample: str, line: int = 1) -> str:
    """The configured delimiter, else the one the header line uses (comma if unsure)."""
    if source.delimiter is not None:
        return source.delimiter
    lines = sample.split("\n", line)
    try:
        return (
            csv.Sniffer().sniff(lines[min(line, len(lines)) - 1], delimiters=_DELIMITERS).delimiter
        )
    except csv.Error:
        return ","


HEADER_SEARCH = 50  # lines `header_row: auto` looks through


def header_names(source: SourceConfig) -> list[str]:
    """The names `columns:` expects in the file's header (a `headings:` column is made by
    arflow, not found in the file)."""
    made = (source.headings or "").strip().casefold()
    return [
        name for name in dict.fromkeys(source.columns.values()) if name.strip().casefold() != made
    ]


def header_line(source: SourceConfig, sample: str) -> int | None:
    """The line the header is on: 1, `header_row:`, the line after `skip_rows:`, or for
    `header_row: auto` the first line holding every name in `columns:` (None if none does)."""
    if isinstance(source.header_row, int):
        return source.header_row
    if source.header_row is None:
        return source.skip_rows + 1
    wanted = {name.strip().casefold() for name in header_names(source)}
    for number, line in enumerate(sample.split("\n")[:HEADER_SEARCH], start=1):
        cells = {
            cell.strip().casefold() for cell in re.split(f"[{_DELIMITERS}]", line.replace('"', ""))
        }
        if wanted <= cells:
            return number
    return None


def started(blocks: Blocks) -> Blocks:
    """A block generator run up to its first (empty) block, inside its `try`: closed or
    dropped unread (a missing column stops a file before its rows), it still closes its
    file or database."""
    next(blocks)
    return blocks


def _unreadable(exc: csv.Error) -> BadRow:
    # e.g. a field over the csv module's 128 KiB limit: this row only
    return BadRow(f"unreadable CSV row ({exc}); fix this line")


def one_row(line: str, delimiter: str) -> list[str]:
    """One line read alone; a line the csv module refuses is a BadRow."""
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except csv.Error as exc:
        return _unreadable(exc)


def _not_text(
    path: Path, source: SourceConfig, display: str, exc: UnicodeDecodeError, start: int
) -> ArflowError:
    """The error for bytes that do not decode, naming their line and byte in the file, and
    the `encoding:` they may be in. The text layer decodes in chunks, so its error says
    neither: the file is read again to find them."""
    data = path.read_bytes()
    bad = bad_bytes(data, source.encoding)
    where = (
        bad.describe(_encoding_name(source))
        if bad
        else f"not {_encoding_name(source)} text near line {start} ({exc.reason})"
    )
    hint = "save it as UTF-8"
    if _encoding_name(source) == "UTF-8":
        legacy = legacy_encoding(data)
        hint += (
            f", or add encoding: {legacy} to this source in arflow.yaml if that is how it "
            f"was saved (the byte reads as {data[bad.offset : bad.offset + 1].decode(legacy)!r}"
            f" in {legacy})"
            if bad
            else f", or set encoding: {legacy} under the source"
        )
    else:
        hint += " or fix encoding: under the source"
    return ArflowError(f"{display}: {where}; {hint}")


def _quoted_rows(
    block: list[str], more: Iterator[str], delimiter: str, start: int
) -> tuple[list[int], list[list[str]], int]:
    """A block with quotes, row by row: a quoted value may hold line breaks, and the block's
    last row may go on past its end (those lines are taken from `more`). Returns the line
    where each row starts, the rows, and how many lines were read."""
    reader = csv.reader(chain(block, more), delimiter=delimiter)
    lines: list[int] = []
    rows: list[list[str]] = []
    while reader.line_num < len(block):
        at = start + reader.line_num
        try:
            rows.append(next(reader))
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append(_unreadable(exc))
        lines.append(at)
    return lines, rows, reader.line_num


def _encoding_name(source: SourceConfig) -> str:
    return (
        "UTF-8"
        if source.encoding.lower().replace("_", "-") in ("utf-8-sig", "utf-8", "utf8")
        else source.encoding
    )


# a spreadsheet runs a cell that starts with one of these as a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """A text value for a CSV file arflow writes: shown by a spreadsheet as it is, never run
    as a formula (a leading `'`)."""
    return "'" + value if value.startswith(_FORMULA_START) else value
