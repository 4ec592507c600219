"""CSV sources: sniffed or configured delimiter, UTF-8 with or without BOM (SPEC 2.3)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

from arflow.config import SourceConfig
from arflow.errors import ArflowError

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
PROGRESS_EVERY = 10_000  # rows


def read_csv(path: Path, source: SourceConfig, display: str,
             progress: Progress | None = None) -> tuple[list[str], Iterator]:
    """The header and an iterator of (line number where the row starts, values)."""
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
        raise ArflowError(f"{display}: not {_encoding_name(source)} text ({exc.reason} at byte "
                          f"{exc.start}); save it as UTF-8 or set encoding: under the source") from None
    delimiter = source.delimiter
    if delimiter is None:
        first = sample.split("\n", 1)[0]
        try:
            delimiter = csv.Sniffer().sniff(first, delimiters=_DELIMITERS).delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise ArflowError(f"{display}: the file is empty; it needs a header row") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        start = reader.line_num + 1
        count = 0
        try:
            while True:
                count += 1
                if progress is not None and count % PROGRESS_EVERY == 0:
                    progress(min(counted.consumed, total), total)
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    # e.g. a field over the csv module's 128 KiB limit: this row only
                    values = BadRow(f"unreadable CSV row ({exc}); fix this line")
                yield start, values
                start = reader.line_num + 1
        except UnicodeDecodeError as exc:
            raise ArflowError(f"{display}: not {_encoding_name(source)} text near line {start} "
                              f"({exc.reason}); save it as UTF-8") from None
        finally:
            handle.close()
            if progress is not None:
                progress(total, total)

    return header, rows()


def _encoding_name(source: SourceConfig) -> str:
    return "UTF-8" if source.encoding.lower().replace("_", "-") in ("utf-8-sig", "utf-8", "utf8") \
        else source.encoding
