"""Database sources on real servers (issue 35): the same invoices in a PostgreSQL or MariaDB
table as in a CSV give the same aging and the same dry run; a bad value is named by its source,
row and column; a missing table, a wrong password, a query past its deadline refuse the source
with the fix and no secret; `validate` checks the columns without reading a row (`--offline`:
not at all); and the server's own log shows arflow sent nothing but reads."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import BASE_CONFIG, make_folder

INVOICES = """\
number,customer_id,customer_name,email,issue_date,due_date,amount,balance,currency,status
A1,C1,Alder Ltd,ap@alder.example,2026-01-01,2026-01-31,100.00,100.00,USD,open
A2,C1,Alder Ltd,ap@alder.example,2026-01-10,2026-02-09,250.50,50.25,USD,open
CN,C1,Alder Ltd,ap@alder.example,2026-02-01,2026-02-01,-30.00,-30.00,USD,open
B1,C2,Birch GmbH,ap@birch.example,2026-01-05,2026-02-04,900.00,900.00,EUR,open
B2,C2,Birch GmbH,ap@birch.example,2026-01-05,2026-02-04,80.00,0.00,EUR,paid
"""
CHASE = """\
name: Chase
steps:
  - id: reminder
    day: 7
    actions:
      - email: reminder
"""
TABLE = """\
CREATE TABLE inv (number varchar(20) PRIMARY KEY, customer_id varchar(20),
  customer_name varchar(80), email varchar(80), issue_date date, due_date date,
  amount numeric(12, 2), balance numeric(12, 2), currency char(3), status varchar(10));
"""


def rows_sql(text: str) -> str:
    values = []
    for line in text.splitlines()[1:]:
        cells = line.split(",")
        quoted = [f"'{c}'" if n not in (6, 7) else c for n, c in enumerate(cells)]
        values.append(f"({', '.join(quoted)})")
    return f"INSERT INTO inv VALUES {', '.join(values)};"


def reader_db(server, name: str, monkeypatch, sql: str = "", reader: str | None = None):
    """A database `name` holding `sql` (the invoices in `inv` by default), a reader that may
    only SELECT, its password in BOOKS_PASSWORD; (database, reader)."""
    db = server.create_database(name)
    db.sql(sql or TABLE + rows_sql(INVOICES))
    user, password = db.readonly_user(reader)
    monkeypatch.setenv("BOOKS_PASSWORD", password)
    return db, user


def served_folder(root: Path, url: str, settings: str) -> Path:
    """A folder reading its invoices from `url` with `settings` (YAML lines under
    `invoices:`, as `table: inv`), the reader's password from BOOKS_PASSWORD."""
    source = f"invoices:\n  database: '{url}'\n  password_env: BOOKS_PASSWORD\n"
    return make_folder(
        root,
        invoices="",
        workflows={"chase": CHASE},
        config=(BASE_CONFIG + "default_workflow: chase\n").replace(
            "invoices: {path: invoices.csv}\n", source + textwrap.indent(settings, "  ") + "\n"
        ),
    )


@pytest.fixture(params=["postgres_server", "mariadb_server"])
def books(request, tmp_path, monkeypatch):
    """A database `books` with the invoices in table `inv`, a reader that may only SELECT;
    (database, its folder's config, the same invoices as a CSV folder's config)."""
    db, user = reader_db(request.getfixturevalue(request.param), "books", monkeypatch)
    served = served_folder(tmp_path / "served", db.url(user), "table: inv")
    config = BASE_CONFIG + "default_workflow: chase\n"
    filed = make_folder(
        tmp_path / "filed", invoices=INVOICES, workflows={"chase": CHASE}, config=config
    )
    return db, served, filed


def test_a_table_reads_as_the_same_invoices_in_a_csv(cli, books):
    _db, served, filed = books
    for args in (
        ("aging", "--as-of", "2026-02-20", "--format", "json"),
        ("run", "--dry-run", "--as-of", "2026-02-20", "--format", "json"),
    ):
        got = json.loads(cli(*args, "--config", served).stdout)
        want = json.loads(cli(*args, "--config", filed).stdout)
        assert got == want
    aging = json.loads(
        cli("aging", "--as-of", "2026-02-20", "--format", "json", "--config", served).stdout
    )
    # A2 partly paid: its balance; the credit note lowers C1; B2 paid: not there
    assert [(c["customer_id"], c["currency"], c["total"]) for c in aging["customers"]] == [
        ("C2", "EUR", "900.00"),
        ("C1", "USD", "120.25"),
    ]


def test_a_bad_value_is_named_by_source_row_and_column(cli, books):
    db, served, _ = books
    db.sql("UPDATE inv SET email = 'not-an-address' WHERE number = 'A2'")
    result = cli("aging", "--as-of", "2026-02-20", "--config", served, expect=3)
    # a table's rows have no order of their own: the row is named by its number too
    assert re.search(
        r"books/inv:\d+ \(A2\): email: .not-an-address. is not a valid email", result.output
    )


def test_a_missing_table_or_wrong_password_refuses_the_source(cli, books, monkeypatch):
    _db, served, _ = books
    text = served.read_text()
    served.write_text(text.replace("table: inv", "table: nope"))
    result = cli("aging", "--config", served, expect=1)
    assert "books/nope: cannot read table 'nope' from " in result.output
    assert "check database:, table:/query: and password_env: in arflow.yaml" in result.output
    served.write_text(text)
    monkeypatch.setenv("BOOKS_PASSWORD", "wrong-password-42")
    result = cli("aging", "--config", served, expect=1)
    assert "books/inv: cannot read table 'inv' from " in result.output
    assert "wrong-password-42" not in result.output


def test_validate_checks_the_columns_without_reading_rows_and_offline_not_at_all(cli, books):
    _db, served, _ = books
    text = served.read_text()
    served.write_text(
        text.replace("table: inv", 'query: "SELECT number, customer_id, amount, no_such FROM inv"')
    )
    result = cli("validate", served, expect=1)
    assert "books/query: cannot read query: from " in result.output
    assert "no_such" in result.output
    assert "valid" in cli("validate", "--offline", served).output


def test_a_query_past_its_deadline_refuses_the_source(cli, books, request):
    db, served, _ = books
    sleep = "pg_sleep(5)" if db.server.scheme.startswith("postgres") else "SLEEP(5)"
    served.write_text(
        served.read_text().replace(
            "table: inv",
            f'query: "SELECT number, customer_id, issue_date, amount, {sleep} AS z FROM inv"\n'
            "  timeout: 1",
        )
    )
    began = time.monotonic()
    result = cli("aging", "--config", served, expect=None)
    assert time.monotonic() - began < 4
    assert result.exit_code == 1, result.output
    # the server's own limit, or the session's read deadline, stops it (the columns were all
    # there: the rows were asked for); which one comes first depends on the machine's load
    assert re.search(r"books/query: (reading failed|cannot read query: from)", result.output)
    assert re.search(r"statement timeout|max_statement_time|timed out|interrupted", result.output)
    assert "raise timeout: in arflow.yaml, or read less" in result.output


# a statement as PostgreSQL logs it: sent as text, or through the extended protocol
STATEMENT = re.compile(r"LOG:\s+(?:statement|execute [^:]*): (.*)")


def test_the_server_log_shows_arflow_only_reads(cli, postgres_server, tmp_path, monkeypatch):
    """Every statement of arflow's sessions, as PostgreSQL logs them (`log_statement = all`
    for its role): a read-only session's settings, the SELECT, the cursor's fetches."""
    db, user = reader_db(postgres_server, "logged", monkeypatch, reader="logged_arflow")
    db.sql(f"ALTER ROLE {user} SET log_statement = 'all'")
    config = served_folder(tmp_path, db.url(user), "table: inv")
    before = len(postgres_server.log())
    cli("run", "--as-of", "2026-02-20", "--quiet", "--config", config)
    middle = len(postgres_server.log())
    cli("validate", config)
    # validate asks for the columns alone first (no row), then reads the rows as a run does
    checked = STATEMENT.findall(postgres_server.log()[middle:])
    assert 'DECLARE "arflow_source" CURSOR FOR SELECT * FROM (SELECT * FROM "inv"' in checked
    assert ") AS arflow_columns LIMIT 0" in postgres_server.log()[middle:]
    logged = STATEMENT.findall(postgres_server.log()[before:])
    assert logged, "the server logged no statement of arflow's"
    allowed = re.compile(
        r"(BEGIN READ ONLY|BEGIN|COMMIT|ROLLBACK|CLOSE .*|FETCH FORWARD \d+ FROM .*"
        r"|DECLARE \"arflow_source\" CURSOR FOR SELECT .*)",
        re.I,
    )
    assert [s for s in logged if not allowed.fullmatch(s.strip())] == []


def test_even_an_administrators_login_cannot_write_through_arflow(cli, books, monkeypatch):
    """The session itself is read-only: a `query:` that would delete, run with a login that
    may delete, is refused by the server and every row is still there."""
    db, served, _ = books
    server = db.server
    monkeypatch.setenv("BOOKS_PASSWORD", server.ADMIN_PASSWORD)
    if server.scheme.startswith("postgres"):
        db.sql("CREATE FUNCTION wipe() RETURNS int AS 'DELETE FROM inv; SELECT 1' LANGUAGE sql")
        delete = "SELECT number, customer_id, issue_date, amount, wipe() AS w FROM inv"
    else:
        delete = "DELETE FROM inv"
    text = served.read_text()
    url = re.search(r"database: '([^']+)'", text)[1]
    served.write_text(
        text.replace(url, db.url(server.ADMIN).replace(f":{server.ADMIN_PASSWORD}@", "@")).replace(
            "table: inv", f'query: "{delete}"'
        )
    )
    result = cli("aging", "--config", served, expect=1)
    assert "read-only" in result.output.lower() or "read only" in result.output.lower()
    assert db.sql("SELECT count(*) FROM inv") == [("5",)]


def test_doctor_and_sources_read_the_table(cli, books):
    _db, served, _ = books
    doctor = cli("doctor", "--config", served).output
    assert "ok    invoices: books/inv can be read (10 columns): 5 rows, 0 held back" in doctor
    sources = cli("sources", "--as-of", "2026-02-20", "--config", served).output
    assert "books/inv  (invoices:)" in sources
    assert "rows:     5 read, 5 kept, 0 held back" in sources


class FreezingProxy:
    """A TCP proxy on 127.0.0.1 to `port` that forwards both ways until `freeze()`: then it
    holds every connection open and passes nothing on (a network that drops a connection
    mid-query, a firewall, a failover)."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.frozen = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if self.frozen.is_set():
                    return  # what comes after the freeze is never passed on
                sink.sendall(data)

    def freeze(self) -> None:
        self.frozen.set()

    def stop(self) -> None:
        self.listener.close()
        for s in self.open:
            with contextlib.suppress(OSError):
                s.close()


def test_a_server_that_stops_answering_mid_query_is_given_up_at_the_deadline(
    cli, postgres_server, tmp_path, monkeypatch
):
    """PostgreSQL's driver has no read deadline of its own: without arflow's, a network that
    stalls after the query was sent keeps the night waiting for ever."""
    _db, user = reader_db(postgres_server, "frozen", monkeypatch, reader="frozen_reader")
    proxy = FreezingProxy(postgres_server.port)
    url = f"postgresql://{user}@127.0.0.1:{proxy.port}/frozen"
    config = served_folder(
        tmp_path, url, "query: 'SELECT inv.* FROM inv, pg_sleep(1.5)'\ntimeout: 3"
    )
    timer = threading.Timer(0.8, proxy.freeze)
    timer.start()
    try:
        began = time.monotonic()
        result = cli("aging", "--config", config, expect=1)
        took = time.monotonic() - began
    finally:
        timer.cancel()
        proxy.stop()
    assert took < 15, took
    assert "frozen/query: the server did not answer in time (waited past timeout: 3 s)" in (
        result.output
    )


def test_sslmode_is_passed_on(cli, books):
    """PostgreSQL's `?sslmode=require` is the driver's: the test server has no TLS, so it
    refuses; a MySQL/MariaDB address takes no option, and says so."""
    db, served, _ = books
    text = served.read_text()
    url = re.search(r"database: '([^']+)'", text)[1]
    served.write_text(text.replace(url, url + "?sslmode=require"))
    result = cli("aging", "--config", served, expect=1)
    if db.server.scheme.startswith("postgres"):
        assert "server does not support SSL" in result.output
    else:
        assert "the option 'sslmode' is not one arflow passes on" in result.output


@pytest.mark.parametrize("server_name", ["postgres_server", "mariadb_server"])
def test_a_query_ending_in_a_comment_is_checked_and_read(
    cli, request, server_name, tmp_path, monkeypatch
):
    server = request.getfixturevalue(server_name)
    db, user = reader_db(server, "commented", monkeypatch, reader="commented_reader")
    config = served_folder(
        tmp_path, db.url(user), "query: |\n  SELECT * FROM inv  -- every invoice"
    )
    assert "valid" in cli("validate", config).output
    day = ("--as-of", "2026-02-20", "--format", "json", "--config", config)
    aging = json.loads(cli("aging", *day).stdout)
    assert [c["total"] for c in aging["currencies"]] == ["900.00", "120.25"]


def test_a_timestamp_with_its_zone_falls_on_the_companys_day(
    postgres_server, tmp_path, monkeypatch
):
    """8 p.m. in New York on 1 January is 2 January in UTC: the company's day is the 1st."""
    from arflow.config import load_config
    from arflow.sources import load_ledger

    zoned = (
        "CREATE TABLE inv (number text, customer_id text, email text, issue_date timestamptz,"
        " due_date timestamptz, amount numeric(12, 2));"
        "INSERT INTO inv VALUES ('Z1', 'C1', 'a@x.example', '2026-01-01 20:00-05',"
        " '2026-01-31 21:00-05', 100.00);"
    )
    db, user = reader_db(postgres_server, "zoned", monkeypatch, zoned, "zoned_reader")
    config = served_folder(tmp_path, db.url(user), "table: inv")
    (inv,) = load_ledger(load_config(config)).invoices
    assert (inv.issue_date.isoformat(), inv.due_date.isoformat()) == ("2026-01-01", "2026-01-31")
