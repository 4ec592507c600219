"""Database server sources (issue 35): the address in arflow.yaml (no password in it, a
table or a query), `sqlite:///` as the SQLite file, and the values a server returns turned into
the text a CSV cell holds. (Real PostgreSQL and MariaDB servers: tests/test_database_servers.py.)"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from datetime import date, datetime
from decimal import Decimal

import pytest

from arflow.config import load_config
from arflow.errors import ArflowError
from arflow.source_settings import SourceConfig
from arflow.sources import load_ledger
from arflow.sources.database import cell
from tests.conftest import BASE_CONFIG, make_folder


def folder_with(tmp_path, source: str):
    config = BASE_CONFIG.replace("invoices: {path: invoices.csv}", f"invoices: {source}")
    return make_folder(tmp_path, invoices="", workflows={}, config=config)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{database: 'postgresql://reader:s3cret@db.example/books', table: inv}",
            "database: the address holds a password; take it out and name the environment "
            "variable that holds it with password_env:",
        ),
        (
            "{database: 'oracle://reader@db.example/books', table: inv}",
            "database: 'oracle' is not a database arflow reads; write "
            "postgresql:// or mysql:// then user@host:port/name, or sqlite:/// then the file",
        ),
        (
            "{database: 'postgresql://reader@db.example', table: inv}",
            "database: 'postgresql://reader@db.example' needs a host and a database name",
        ),
        (
            "{database: 'mysql://reader@db.example/books'}",
            "database: needs table: (a table or view) or query: (a SELECT)",
        ),
        (
            "{database: 'mysql://reader@db.example/books', path: x.csv, table: inv}",
            "give either path: (a file) or database: (a server's address), not both",
        ),
        (
            "{database: 'mysql://reader@db.example/books', table: inv, skip_if: {a: b}}",
            "skip_if: read CSV files only",
        ),
        ("{table: inv}", "give path: (a file) or database: (a server's address)"),
        (
            "{database: 'postgresql://r@h/books?password=s3cret', table: inv}",
            "database: the address holds a password",
        ),
        (
            "{database: 'postgresql://r@h/books?sslcert=x.pem', table: inv}",
            "database: the option 'sslcert' is not one arflow passes on; PostgreSQL addresses "
            "take ?sslmode= only",
        ),
        (
            "{database: 'mysql://r@h/books?ssl=1', table: inv}",
            "database: the option 'ssl' is not one arflow passes on; MySQL/MariaDB addresses "
            "take none",
        ),
        (
            "{database: 'postgresql://r@h/books?sslmode=always', table: inv}",
            "database: sslmode 'always' is none of disable, allow, prefer, require",
        ),
        (
            "{database: 'sqlite://books.db', table: inv}",
            "write a SQLite file as sqlite:///books.db",
        ),
    ],
)
def test_a_bad_address_is_refused_with_the_fix(tmp_path, source, message):
    with pytest.raises(ArflowError) as found:
        load_config(folder_with(tmp_path, source))
    assert message in str(found.value)
    assert "s3cret" not in str(found.value)


def test_the_address_is_named_without_its_server_or_password(tmp_path):
    cfg = load_config(
        folder_with(
            tmp_path,
            "{database: 'postgres://reader@db.example:5433/books', table: public.inv, "
            "password_env: BOOKS_PW}",
        )
    )
    assert cfg.invoices.is_database and not cfg.invoices.is_sqlite
    assert cfg.source_name(cfg.invoices) == "books/public.inv"
    assert not cfg.source_missing(cfg.invoices)


def test_sqlite_url_is_the_sqlite_file(tmp_path):
    with sqlite3.connect(tmp_path / "ledger.db") as conn:
        conn.execute("CREATE TABLE inv (number TEXT, customer_id TEXT, issue_date TEXT, amount)")
        conn.execute("INSERT INTO inv VALUES ('7', 'C1', '2026-01-01', 55.94)")
    conn.close()
    cfg = load_config(folder_with(tmp_path, "{database: 'sqlite:///ledger.db', table: inv}"))
    assert cfg.invoices.path == "ledger.db" and cfg.invoices.database is None
    ledger = load_ledger(cfg)
    assert [(i.number, i.amount) for i in ledger.invoices] == [("7", Decimal("55.94"))]


@pytest.mark.parametrize(
    ("value", "settings", "text"),
    [
        (None, {}, ""),
        (date(2026, 3, 1), {}, "2026-03-01"),
        (datetime(2026, 3, 1, 23, 59), {}, "2026-03-01"),
        (date(2026, 3, 1), {"date_format": "%d/%m/%Y"}, "01/03/2026"),
        (Decimal("1234.50"), {}, "1234.50"),
        (Decimal("1E+2"), {}, "100"),
        (Decimal("1234.50"), {"decimal": ","}, "1234,50"),
        (12, {}, "12"),
        (True, {}, "true"),
        (b"caf\xc3\xa9", {}, "café"),
        ("as is", {}, "as is"),
    ],
)
def test_server_values_become_what_a_csv_cell_holds(value, settings, text):
    source = SourceConfig(database="postgresql://r@h/db", table="t", **settings)
    assert cell(value, source) == text


ERP = {
    "invoices": {
        "query": {"postgresql": "SELECT 1 AS pg", "mysql": "SELECT 1 AS my"},
        "columns": {"number": "name", "balance": "residual"},
        "status_map": {"posted": "open", "cancel": "void"},
    },
    "customers": {"query": "SELECT 2"},
}


def test_an_erp_preset_fills_in_its_query_and_a_persons_settings_win(tmp_path, monkeypatch):
    from arflow import erp

    monkeypatch.setitem(erp.ERP_PRESETS, "books", ERP)
    cfg = load_config(
        folder_with(
            tmp_path,
            "{database: 'mariadb://r@h/erp', preset: books, columns: {due_date: x_due}, "
            "status_map: {cancel: draft}}",
        )
    )
    assert cfg.invoices.query == "SELECT 1 AS my"
    assert cfg.invoices.columns == {"number": "name", "balance": "residual", "due_date": "x_due"}
    assert cfg.invoices.status_map == {"posted": "open", "cancel": "draft"}
    for source, message in (
        (
            "{path: x.csv, preset: books}",
            "preset 'books' reads that ERP's database: give database:",
        ),
        ("{database: 'sqlite:///x.db', preset: books}", "preset 'books' reads that ERP's database"),
    ):
        with pytest.raises(ArflowError, match=re.escape(message)):
            load_config(folder_with(tmp_path, source))
    monkeypatch.setitem(erp.ERP_PRESETS, "books", {"invoices": {"query": {"mysql": "SELECT 1"}}})
    with pytest.raises(ArflowError, match="preset 'books' reads mysql databases, not postgresql"):
        load_config(folder_with(tmp_path, "{database: 'postgresql://r@h/erp', preset: books}"))


def test_the_hooks_check_a_database_folder_offline_on_the_sample(cli, tmp_path):
    """CI reaches no database: `validate --offline` and the dry-run hook's
    `--sample-if-no-ledger` (a database is never in the repository: the sample) connect to
    none — a server that accepts and never answers counts every try; `validate` without
    `--offline` gives up on it at `timeout:` and says so."""
    from arflow.scaffold import write_scaffold
    from tests.tarpits import ScriptServer

    silent = ScriptServer(lambda server, conn, reader: server.stopped.wait(30))
    try:
        write_scaffold(tmp_path, date(2026, 3, 16))
        config = tmp_path / "arflow.yaml"
        config.write_text(
            config.read_text().replace(
                "invoices:\n  path: invoices.csv\n",
                f"invoices:\n  database: postgresql://reader@127.0.0.1:{silent.port}/books\n"
                "  table: inv\n  timeout: 1\n",
            )
        )
        assert "valid" in cli("validate", "--offline", config).output
        found = cli(
            "run",
            "--dry-run",
            "--sample-if-no-ledger",
            "--as-of",
            "2026-03-16",
            "--format",
            "json",
            "--config",
            config,
        )
        assert json.loads(found.stdout)["sample"] is True
        assert silent.connections == 0
        began = time.monotonic()
        refused = cli("validate", config, expect=1).output
        assert time.monotonic() - began < 8
        assert (
            "invoices: books/inv: the server did not answer in time (waited past timeout: 1 s)"
            in (refused)
        )
        assert silent.connections >= 1
    finally:
        silent.stop()
