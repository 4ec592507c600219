"""Database server sources (issue 35): a PostgreSQL or MySQL/MariaDB table or SELECT, read in
a read-only session, its rows as text through the same parser and checks as a CSV file's.

Drivers, both maintained and on PyPI, imported only when such a source is read (extras
`arflow[postgres]`, `arflow[mysql]`): psycopg 3 for PostgreSQL (the project's own successor
to psycopg2; `psycopg[binary]` ships libpq, nothing to compile), PyMySQL for MySQL and MariaDB
(pure Python, no client library to install).

Read-only, twice over: the session is opened read-only (PostgreSQL `default_transaction_read_
only` and a read-only transaction; MySQL/MariaDB `START TRANSACTION READ ONLY`), and arflow
sends nothing but that one SELECT — so a role with SELECT rights alone is all it needs.
`timeout:` bounds connecting, each statement on the server, and the whole read."""

from __future__ import annotations

import contextlib
import importlib
import math
import re
import signal
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from arflow.database_url import Address, parse_database_url
from arflow.errors import ArflowError
from arflow.secrets import secret
from arflow.source_settings import SourceConfig
from arflow.sources.csvfile import BLOCK, Blocks, no_rows, started

EXTRAS = {"postgresql": ("psycopg", "postgres"), "mysql": ("pymysql", "mysql")}


def read_database(
    source: SourceConfig, display: str, *, header_only: bool = False, zone: str = "UTC"
) -> tuple[list[str], Blocks]:
    """Column names and blocks of rows as text, numbered from 1 (no rows with
    `header_only`); a PostgreSQL session in the company's time `zone`, so a timestamp with
    its zone falls on the company's day."""
    assert source.database is not None
    address = parse_database_url(source.database)
    password = (
        secret(source.password_env, f"{display}: password_env") if source.password_env else None
    )
    reader = _postgres if address.kind == "postgresql" else _mysql
    deadline = time.monotonic() + source.timeout
    try:
        with _bounded(source.timeout + GRACE):
            conn, cursor, header = reader(address, password, source, display, header_only, zone)
    except Stalled:
        raise ArflowError(_stalled(display, source.timeout)) from None
    if header_only:
        _close(conn, cursor)
        return header, no_rows()

    def blocks() -> Blocks:
        start = 1
        try:
            yield range(0), []  # taken by `started`: from here on, closing closes the session
            for rows in _fetched(cursor, deadline, source.timeout, display):
                yield range(start, start + len(rows)), [[cell(v, source) for v in r] for r in rows]
                start += len(rows)
        except Stalled:
            raise ArflowError(_stalled(display, source.timeout)) from None
        except Exception as exc:  # the driver's errors: the server went away, a timeout
            if isinstance(exc, ArflowError):
                raise
            said = _first_line(exc)
            raise ArflowError(f"{display}: reading failed: {said}{_timeout_hint(said)}") from None
        finally:
            _close(conn, cursor)

    return header, started(blocks())


def _close(conn: Any, cursor: Any) -> None:
    """The cursor, then the session: psycopg's cursor on the server warns (ResourceWarning)
    when its session closes under it. A cursor that cannot close (the server went away) goes
    with its session."""
    if cursor is not None:
        with contextlib.suppress(Exception), _bounded(GRACE):  # a frozen server: give up on it
            cursor.close()
    conn.close()


class Stalled(Exception):
    """The server, or the network to it, stopped answering mid-conversation."""


GRACE = 1.0  # seconds past `timeout:` before arflow gives up on a server that stopped answering


@contextlib.contextmanager
def _bounded(seconds: float) -> Iterator[None]:
    """The block cut short (`Stalled`) once `seconds` have passed: libpq has no read deadline
    of its own, and a network that drops a connection mid-query (a firewall, a failover) would
    keep the night waiting for ever. An interval timer, in the main thread (elsewhere, and
    where there is none, the drivers' own limits hold alone)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def expired(_signum: int, _frame: object) -> None:
        raise Stalled

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)


def _stalled(display: str, timeout: float) -> str:
    return (
        f"{display}: the server did not answer in time (waited past timeout: {timeout:g} s); "
        "check the network and the server, or raise timeout: in arflow.yaml"
    )


def _fetched(cursor: Any, deadline: float, timeout: float, display: str) -> Iterator[list]:
    while True:
        with _bounded(max(deadline - time.monotonic(), 0) + GRACE):
            rows = cursor.fetchmany(BLOCK)
        if not rows:
            return
        yield rows
        if time.monotonic() > deadline:
            raise ArflowError(
                f"{display}: reading took longer than timeout: {timeout:g} s; raise timeout: "
                "or read less (a query: with a WHERE)"
            )


def cell(value: object, source: SourceConfig) -> str:
    """A database value as the text a CSV cell would hold: dates in `date_format:` (ISO
    without one), numbers with `decimal:`'s point, NULL empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime(source.date_format) if source.date_format else value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | float | int):
        text = format(value, "f") if isinstance(value, Decimal) else str(value)
        return text.replace(".", ",") if source.decimal == "," else text
    return str(value)


def _driver(kind: str, display: str, part: str = "") -> Any:
    """The driver's module (`part`: one of its submodules), imported now: a folder without
    database sources never loads one."""
    module, extra = EXTRAS[kind]
    try:
        return importlib.import_module(module + part)
    except ImportError:
        raise ArflowError(
            f"{display}: reading {kind} needs its driver: pip install 'arflow[{extra}]'"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _refused(display: str, address: Address, exc: BaseException, source: SourceConfig) -> str:
    what = f"table {source.table!r}" if source.table else "query:"
    said = _first_line(exc)
    fix = "; check database:, table:/query: and password_env: in arflow.yaml"
    return f"{display}: cannot read {what} from {address.shown()}: {said}" + (
        _timeout_hint(said) or fix
    )


# how the servers and the drivers say a deadline passed
_TIMED_OUT = re.compile(
    r"timeout|timed out|max_statement_time|max_execution_time|canceling statement", re.I
)


def _timeout_hint(said: str) -> str:
    """The fix when a server's or a driver's words say `timeout:` ran out."""
    if not _TIMED_OUT.search(said):
        return ""
    return "; raise timeout: in arflow.yaml, or read less (a query: with a WHERE)"


def _postgres(
    address: Address,
    password: str | None,
    source: SourceConfig,
    display: str,
    none: bool,
    zone: str,
) -> tuple[Any, Any, list[str]]:
    """A session, the open cursor and its column names (`none`: the columns only: the query
    runs with no row to return, so its tables and columns are checked and nothing is read)."""
    psycopg = _driver("postgresql", display)
    sql = _driver("postgresql", display, ".sql")

    millis = max(1, int(source.timeout * 1000))  # 0 would be no limit at all
    try:
        conn = psycopg.connect(
            host=address.host,
            port=address.port,
            user=address.user,
            password=password,
            dbname=address.name,
            connect_timeout=max(1, math.ceil(source.timeout)),
            application_name="arflow",
            **({"sslmode": address.sslmode} if address.sslmode else {}),
            options=f"-c default_transaction_read_only=on -c statement_timeout={millis} "
            f"-c TimeZone={zone}",
        )
    except psycopg.Error as exc:
        raise ArflowError(_refused(display, address, exc, source)) from None
    cursor = None
    try:
        conn.read_only = True
        cursor = conn.cursor(name="arflow_source")  # on the server: rows come a block at a time
        query = (
            sql.SQL("SELECT * FROM {}").format(sql.Identifier(*source.table.split(".")))
            if source.table
            else sql.SQL(_query(source))
        )
        if none:
            # on a line of its own: a query ending in a `-- comment` stays closed
            query = sql.SQL("SELECT * FROM ({}\n) AS arflow_columns LIMIT 0").format(query)
        cursor.execute(query)
        if cursor.description is None:
            raise ArflowError(f"{display}: query: returns no rows; it must be a SELECT")
        return conn, cursor, [d.name for d in cursor.description]
    except psycopg.Error as exc:
        _close(conn, cursor)
        raise ArflowError(_refused(display, address, exc, source)) from None
    except BaseException:
        _close(conn, cursor)
        raise


def _mysql(
    address: Address,
    password: str | None,
    source: SourceConfig,
    display: str,
    none: bool,
    zone: str,
) -> tuple[Any, Any, list[str]]:
    """As `_postgres`, for MySQL and MariaDB."""
    pymysql = _driver("mysql", display)
    cursors = _driver("mysql", display, ".cursors")

    seconds = max(1, math.ceil(source.timeout))
    try:
        conn = pymysql.connect(
            host=address.host,
            port=address.port,
            user=address.user or "",
            password=password or "",
            database=address.name,
            connect_timeout=seconds,
            read_timeout=seconds,
            write_timeout=seconds,
            charset="utf8mb4",
            cursorclass=cursors.SSCursor,  # unbuffered: a block at a time
            autocommit=False,
        )
    except pymysql.Error as exc:
        raise ArflowError(_refused(display, address, exc, source)) from None
    try:
        cursor = conn.cursor()
        _statement_deadline(cursor, pymysql, source.timeout)
        cursor.execute("START TRANSACTION READ ONLY")
        query = f"SELECT * FROM {_mysql_name(source.table)}" if source.table else _query(source)
        if none:
            query = f"SELECT * FROM ({query}\n) AS arflow_columns LIMIT 0"
        cursor.execute(query or "")
        if cursor.description is None:
            raise ArflowError(f"{display}: query: returns no rows; it must be a SELECT")
        return conn, cursor, [d[0] for d in cursor.description]
    except pymysql.Error as exc:
        conn.close()
        raise ArflowError(_refused(display, address, exc, source)) from None
    except BaseException:
        conn.close()
        raise


def _statement_deadline(cursor: Any, pymysql: Any, timeout: float) -> None:
    """The server's own limit on a statement: MariaDB's `max_statement_time` (seconds), else
    MySQL's `max_execution_time` (milliseconds, SELECTs only)."""
    for statement in (
        f"SET SESSION max_statement_time = {timeout:g}",
        f"SET SESSION max_execution_time = {int(timeout * 1000)}",
    ):
        try:
            cursor.execute(statement)
            return
        except pymysql.Error:
            continue


def _query(source: SourceConfig) -> str:
    """`query:` as the server runs it (a trailing `;` left out: it is wrapped to read the
    columns alone)."""
    return (source.query or "").strip().rstrip(";").strip()


def _mysql_name(table: str) -> str:
    return ".".join("`" + part.replace("`", "``") + "`" for part in table.split("."))
