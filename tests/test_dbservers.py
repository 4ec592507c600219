"""The database servers the database sources' tests stand on (tests/dbservers.py): real
PostgreSQL and MariaDB on 127.0.0.1, each in a folder of its own, never run as root; the
administrator writes, the read-only role reads and cannot write (the base of "arflow never
writes to a user's database"); the URL a test hands to arflow names the server, the role and
the database; a stopped server leaves neither process nor folder.

Through the servers' own clients (no driver needed) and through arflow's drivers, psycopg and
PyMySQL (the `test` extra)."""

from __future__ import annotations

import os
import socket
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from tests import dbservers

ROWS = [("INV-1", "C1", "100.50"), ("INV-2", "Müller 株式会社", "NULL"), ("INV-3", "C1", "-20.00")]
SCHEMA = """\
CREATE TABLE invoices (number varchar(20) PRIMARY KEY, customer varchar(20), balance numeric(12, 2));
INSERT INTO invoices VALUES ('INV-1', 'C1', 100.50), ('INV-2', 'Müller 株式会社', NULL), ('INV-3', 'C1', -20.00);
"""


@pytest.fixture(params=["postgres_server", "mariadb_server"])
def server(request) -> dbservers.DatabaseServer:
    return request.getfixturevalue(request.param)


def _shop(server: dbservers.DatabaseServer, name: str) -> tuple[dbservers.Database, str, str]:
    db = server.create_database(name)
    db.sql(SCHEMA)
    user, password = db.readonly_user()
    return db, user, password


def test_the_administrator_writes_and_the_reader_reads_the_same_rows(server):
    db, user, password = _shop(server, "reads")
    order = "SELECT number, customer, balance FROM invoices ORDER BY number"
    assert db.sql(order) == ROWS
    assert server.sql(order, database="reads", login=(user, password)) == ROWS
    # a table made after the role still reads (the ERP tests make tables in any order)
    db.sql("CREATE TABLE customers (id varchar(20)); INSERT INTO customers VALUES ('C1')")
    assert server.sql("SELECT id FROM customers", database="reads", login=(user, password)) == [
        ("C1",)
    ]
    assert user == "reads_reader"


# what each server answers the reader's writes, as its client prints it
DENIED = {
    "postgresql": {
        "INSERT INTO invoices VALUES ('X', 'C9', 1)": "ERROR:  cannot execute INSERT in a read-only transaction",
        "UPDATE invoices SET balance = 0": "ERROR:  cannot execute UPDATE in a read-only transaction",
        "DELETE FROM invoices": "ERROR:  cannot execute DELETE in a read-only transaction",
        "CREATE TABLE notes (a int)": "ERROR:  cannot execute CREATE TABLE in a read-only transaction",
        # the role lifts its own read-only default: the grants refuse all the same
        "SET default_transaction_read_only = off; INSERT INTO invoices VALUES ('X', 'C9', 1)": "ERROR:  permission denied for table invoices",
        "SET default_transaction_read_only = off; UPDATE invoices SET balance = 0": "ERROR:  permission denied for table invoices",
        "SET default_transaction_read_only = off; CREATE TABLE notes (a int)": "ERROR:  permission denied for schema public",
        "SET default_transaction_read_only = off; CREATE TEMP TABLE notes (a int)": 'ERROR:  permission denied to create temporary tables in database "denied"',
    },
    "mysql": {
        "INSERT INTO invoices VALUES ('X', 'C9', 1)": "ERROR 1142 (42000) at line 1: INSERT command denied to user 'denied_reader'@'127.0.0.1' for table `denied`.`invoices`",
        "UPDATE invoices SET balance = 0": "ERROR 1142 (42000) at line 1: UPDATE command denied to user 'denied_reader'@'127.0.0.1' for table `denied`.`invoices`",
        "DELETE FROM invoices": "ERROR 1142 (42000) at line 1: DELETE command denied to user 'denied_reader'@'127.0.0.1' for table `denied`.`invoices`",
        "CREATE TABLE notes (a int)": "ERROR 1142 (42000) at line 1: CREATE command denied to user 'denied_reader'@'127.0.0.1' for table `denied`.`notes`",
        "CREATE TEMPORARY TABLE notes (a int)": "ERROR 1044 (42000) at line 1: Access denied for user 'denied_reader'@'%' to database 'denied'",
        "CREATE DATABASE other": "ERROR 1044 (42000) at line 1: Access denied for user 'denied_reader'@'%' to database 'other'",
    },
}


def test_the_reader_cannot_write_and_the_rows_stay_as_they_were(server):
    db, user, password = _shop(server, "denied")
    for statement, error in DENIED[server.scheme].items():
        with pytest.raises(dbservers.ServerError) as denied:
            server.sql(statement, database="denied", login=(user, password))
        assert str(denied.value).replace("psql:<stdin>:1: ", "") == error, statement
    assert db.sql("SELECT number, customer, balance FROM invoices ORDER BY number") == ROWS
    assert db.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'notes'") == [
        ("0",)
    ]


def test_the_url_names_the_server_the_role_and_the_database(server):
    db = server.create_database("url_shop")
    user, password = db.readonly_user(password="p@ss/w:rd %é'\\")
    url = db.url(user, password)
    parts = urllib.parse.urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == (
        server.scheme,
        "127.0.0.1",
        server.port,
        "/url_shop",
    )
    assert urllib.parse.unquote(parts.username) == "url_shop_reader"
    assert urllib.parse.unquote(parts.password) == "p@ss/w:rd %é'\\"
    assert url == (
        f"{server.scheme}://url_shop_reader:p%40ss%2Fw%3Ard%20%25%C3%A9%27%5C@127.0.0.1:{server.port}/url_shop"
    )
    # the password as parsed back logs in
    assert server.sql("SELECT 7", database="url_shop", login=(user, password)) == [("7",)]
    # without a password (arflow's password_env gives it), and the administrator's
    assert db.url(user) == f"{server.scheme}://url_shop_reader@127.0.0.1:{server.port}/url_shop"
    assert db.url() == f"{server.scheme}://admin@127.0.0.1:{server.port}/url_shop"


def test_a_wrong_password_is_refused(server):
    db = server.create_database("wrong_pw")
    user, _ = db.readonly_user(password="right")
    with pytest.raises(dbservers.ServerError) as refused:
        server.sql("SELECT 1", database="wrong_pw", login=(user, "wrong"))
    assert {
        "postgresql": 'password authentication failed for user "wrong_pw_reader"',
        "mysql": "ERROR 1045 (28000): Access denied for user 'wrong_pw_reader'@'127.0.0.1' (using password: YES)",
    }[server.scheme] in str(refused.value)


def _owner(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        lines = status.read().splitlines()
    return int(next(line.split()[1] for line in lines if line.startswith("Uid:")))


@pytest.mark.parametrize("kind", ["PostgresServer", "MariadbServer"])
def test_a_server_runs_unprivileged_and_stopping_leaves_nothing(kind):
    missing = (
        dbservers.postgres_missing() if kind == "PostgresServer" else dbservers.mariadb_missing()
    )
    if missing:
        pytest.skip(missing)
    server = getattr(dbservers, kind)()
    assert server.process is not None
    pid, root, port = server.process.pid, server.root, server.port
    try:
        assert _owner(pid) == (os.getuid() or 65534)
        # the server's own log, where a test reads what it was sent
        assert {
            "PostgresServer": "database system is ready to accept connections",
            "MariadbServer": "ready for connections",
        }[kind] in server.log()
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        server.stop()
    assert server.process.returncode == 0  # a clean shutdown
    assert not root.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize("kind", ["PostgresServer", "MariadbServer"])
def test_a_port_taken_before_the_server_binds_it_is_given_up_for_another(kind, monkeypatch):
    missing = (
        dbservers.postgres_missing() if kind == "PostgresServer" else dbservers.mariadb_missing()
    )
    if missing:
        pytest.skip(missing)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = [taken.getsockname()[1]]
    free = dbservers._free_port
    monkeypatch.setattr(dbservers, "_free_port", lambda: ports.pop(0) if ports else free())
    with taken:
        server = getattr(dbservers, kind)()
        try:
            assert server.port != taken.getsockname()[1]
            assert "already in use" in server.log()
            assert server.sql("SELECT 1 + 1") == [("2",)]
        finally:
            server.stop()


def test_a_temporary_folder_closed_to_others_is_passed_over_for_tmp(tmp_path, monkeypatch):
    """As root the server runs as `nobody`, who must pass through its folder's parents: a
    TMPDIR that only root may enter (pytest's own folders, say) gives way to /tmp."""
    if os.getuid():
        pytest.skip("the server runs as this user: any temporary folder of its own will do")
    if dbservers.postgres_missing():
        pytest.skip(dbservers.postgres_missing())
    reachable = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        reachable.chmod(0o755)
        monkeypatch.setattr(dbservers.tempfile, "tempdir", str(reachable))
        assert dbservers._reachable_temp() == str(reachable)
    finally:
        reachable.rmdir()
    monkeypatch.setattr(dbservers.tempfile, "tempdir", str(tmp_path))  # drwx------ parents
    assert dbservers._reachable_temp() == "/tmp"
    server = dbservers.PostgresServer()
    try:
        assert server.root.parent == Path("/tmp")
        assert server.sql("SELECT current_user") == [("admin",)]
    finally:
        server.stop()


def test_without_the_programs_the_tests_are_told_what_to_install(monkeypatch):
    monkeypatch.setattr(dbservers, "POSTGRES_BIN", None)
    monkeypatch.setattr(dbservers, "MARIADBD", None)
    assert dbservers.postgres_missing() == "PostgreSQL is not installed: apt-get install postgresql"
    assert dbservers.mariadb_missing() == "MariaDB is not installed: apt-get install mariadb-server"
    with pytest.raises(dbservers.ServerError) as refused:
        dbservers.PostgresServer()
    assert str(refused.value) == "PostgreSQL is not installed: apt-get install postgresql"


# what a driver reads back: the client wrote the text in UTF-8 and it arrives as it was
DRIVER_ROWS = [
    ("INV-1", "C1", "100.50"),
    ("INV-2", "Müller 株式会社", "None"),
    ("INV-3", "C1", "-20.00"),
]


# --- through arflow's drivers -------------------------------------------------------------------
def test_psycopg_reads_as_the_reader_and_every_write_is_refused(postgres_server):
    psycopg = pytest.importorskip(
        "psycopg", reason="psycopg is in the test extra: pip install -e '.[test]'"
    )
    _, user, password = _shop(postgres_server, "driver_pg")
    url = postgres_server.url("driver_pg", user, password)
    with psycopg.connect(url, connect_timeout=10) as connection:
        rows = connection.execute(
            "SELECT number, customer, balance FROM invoices ORDER BY number"
        ).fetchall()
        assert [(n, c, str(b)) for n, c, b in rows] == DRIVER_ROWS
        assert connection.execute("SHOW transaction_read_only").fetchone() == ("on",)
        connection.rollback()
        refused = []
        for statement in (
            "INSERT INTO invoices VALUES ('X', 'C9', 1)",
            "SET default_transaction_read_only = off",  # the role lifts its own default…
            "UPDATE invoices SET balance = 0",  # …and its grants refuse all the same
            "CREATE TABLE notes (a int)",
            "CREATE TEMP TABLE notes (a int)",
        ):
            try:
                connection.execute(statement)
                connection.commit()
            except psycopg.Error as error:
                refused.append((type(error).__name__, error.diag.message_primary))
                connection.rollback()
    assert refused == [
        ("ReadOnlySqlTransaction", "cannot execute INSERT in a read-only transaction"),
        ("InsufficientPrivilege", "permission denied for table invoices"),
        ("InsufficientPrivilege", "permission denied for schema public"),
        (
            "InsufficientPrivilege",
            'permission denied to create temporary tables in database "driver_pg"',
        ),
    ]
    assert postgres_server.sql("SELECT count(*) FROM invoices", database="driver_pg") == [("3",)]


def test_pymysql_reads_as_the_reader_and_every_write_is_refused(mariadb_server):
    pymysql = pytest.importorskip(
        "pymysql", reason="PyMySQL is in the test extra: pip install -e '.[test]'"
    )
    _, user, password = _shop(mariadb_server, "driver_my")
    parts = urllib.parse.urlsplit(mariadb_server.url("driver_my", user, password))
    connection = pymysql.connect(
        host=parts.hostname,
        port=parts.port,
        user=urllib.parse.unquote(parts.username),
        password=urllib.parse.unquote(parts.password),
        database=parts.path.lstrip("/"),
        connect_timeout=10,
    )
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT number, customer, balance FROM invoices ORDER BY number")
        assert [(n, c, str(b)) for n, c, b in cursor.fetchall()] == DRIVER_ROWS
        for statement, verb, table in (
            ("INSERT INTO invoices VALUES ('X', 'C9', 1)", "INSERT", "invoices"),
            ("UPDATE invoices SET balance = 0", "UPDATE", "invoices"),
            ("CREATE TABLE notes (a int)", "CREATE", "notes"),
        ):
            with pytest.raises(pymysql.err.OperationalError) as denied:
                cursor.execute(statement)
            assert denied.value.args == (
                1142,
                f"{verb} command denied to user 'driver_my_reader'@'127.0.0.1' for table `driver_my`.`{table}`",
            )
    assert mariadb_server.sql("SELECT count(*) FROM invoices", database="driver_my") == [("3",)]


# --- arflow itself, through the reader ----------------------------------------------------------
def test_arflow_reads_its_ledger_through_the_reader(server, tmp_path, monkeypatch):
    """What an ERP preset's test is made of: a database, its rows, the reader, arflow.yaml."""
    from arflow.config import load_config
    from arflow.sources import load_ledger
    from tests.conftest import BASE_CONFIG, make_folder

    db = server.create_database("books")
    db.sql("""\
CREATE TABLE inv (number varchar(20), customer_id varchar(20), issue_date date, amount numeric(12, 2));
INSERT INTO inv VALUES ('7', 'C1', '2026-01-01', 55.94), ('8', 'C2', '2026-02-01', -10.00);""")
    user, password = db.readonly_user()
    monkeypatch.setenv("ARFLOW_TEST_DB", password)
    source = f"{{database: '{db.url(user)}', table: inv, password_env: ARFLOW_TEST_DB}}"
    config = BASE_CONFIG.replace("invoices: {path: invoices.csv}", f"invoices: {source}")
    ledger = load_ledger(
        load_config(make_folder(tmp_path, invoices="", workflows={}, config=config))
    )
    assert [
        (i.number, i.customer_id, str(i.issue_date), str(i.amount)) for i in ledger.invoices
    ] == [
        ("7", "C1", "2026-01-01", "55.94"),
        ("8", "C2", "2026-02-01", "-10.00"),
    ]
