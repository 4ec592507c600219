"""SQLite sources: a table, or a SELECT whose columns are arflow's field names (SPEC 2.3)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from arflow.config import SourceConfig
from arflow.errors import ArflowError
from arflow.sources.csvfile import BLOCK, Blocks, no_rows, started


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def read_sqlite(
    path: Path, source: SourceConfig, display: str, *, header_only: bool = False
) -> tuple[list[str], Blocks]:
    """Column names and blocks of rows as text, numbered from 1 (no rows with `header_only`);
    opened read-only."""
    if not path.is_file():
        raise ArflowError(f"{display}: database not found; check path: in arflow.yaml")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        if source.table:
            cursor = db.execute(f'SELECT * FROM "{source.table.replace(chr(34), chr(34) * 2)}"')
        else:
            cursor = db.execute(source.query or "")  # the config requires table: or query:
    except sqlite3.Error as exc:
        what = f"table {source.table!r}" if source.table else "query:"
        raise ArflowError(f"{display}: cannot read {what}: {exc}") from None
    if cursor.description is None:
        raise ArflowError(f"{display}: query: returns no rows; it must be a SELECT")
    header = [d[0] for d in cursor.description]
    if header_only:
        db.close()
        return header, no_rows()

    def blocks() -> Blocks:
        start = 1
        try:
            yield range(0), []  # taken by `started`: from here on, closing closes the file
            while rows := cursor.fetchmany(BLOCK):
                yield range(start, start + len(rows)), [[_text(v) for v in row] for row in rows]
                start += len(rows)
        except sqlite3.Error as exc:
            raise ArflowError(f"{display}: reading failed: {exc}") from None
        finally:
            db.close()

    return header, started(blocks())
