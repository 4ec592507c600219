"""SQLite sources: a table, or a SELECT whose columns are arflow's field names (SPEC 2.3)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from arflow.config import SourceConfig
from arflow.errors import ArflowError


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def read_sqlite(path: Path, source: SourceConfig, display: str) -> tuple[list[str], Iterator]:
    """Column names and an iterator of (row number, values as text); opened read-only."""
    if not path.is_file():
        raise ArflowError(f"{display}: database not found; check path: in arflow.yaml")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        if source.table:
            cursor = db.execute(f'SELECT * FROM "{source.table.replace(chr(34), chr(34) * 2)}"')
        else:
            cursor = db.execute(source.query)
    except sqlite3.Error as exc:
        what = f"table {source.table!r}" if source.table else "query:"
        raise ArflowError(f"{display}: cannot read {what}: {exc}") from None
    if cursor.description is None:
        raise ArflowError(f"{display}: query: returns no rows; it must be a SELECT")
    header = [d[0] for d in cursor.description]

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for n, row in enumerate(cursor, start=1):
                yield n, [_text(v) for v in row]
        except sqlite3.Error as exc:
            raise ArflowError(f"{display}: reading failed: {exc}") from None
        finally:
            db.close()

    return header, rows()
