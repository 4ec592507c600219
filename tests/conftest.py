"""Shared helpers: build a real AR folder on disk, invoices in memory, and run the CLI."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
import pytest
from typer.testing import CliRunner

from arflow.cli import app
from arflow.ledger import Customer, Invoice, Ledger

BASE_CONFIG = """\
company: {name: Acme Ltd, email: ar@acme.example, timezone: America/New_York, currency: USD,
          locale: en_US, terms: Net 30}
invoices: {path: invoices.csv}
people:
  controller: {name: Chris Doe, email: controller@acme.example}
  dana: {name: Dana Roe, email: dana@acme.example, specialist: true}
"""

SIMPLE_TEMPLATES = {
    "reminder.subject.j2": "Reminder {{ invoices|map(attribute='number')|join(',') }}",
    "reminder.txt.j2": "Dear {{ customer.name }}, you owe {{ totals.overdue|money }}.",
    "reminder.html.j2": "<p>Dear {{ customer.name }}</p>",
    "reminder.sms.j2": "Pay {{ totals.overdue|money }}",
    "internal.subject.j2": "[AR] {{ customer.name }}",
    "internal.txt.j2": "{{ customer.name }} is {{ invoice.days_past_due }} days late",
}


def make_folder(
    root: Path,
    *,
    invoices: str,
    workflows: dict[str, str],
    config: str = BASE_CONFIG,
    templates: dict[str, str] | None = None,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write arflow.yaml, invoices.csv, workflows/ and templates/; returns the config path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "arflow.yaml").write_text(textwrap.dedent(config))
    (root / "invoices.csv").write_text(textwrap.dedent(invoices).lstrip())
    (root / "workflows").mkdir(exist_ok=True)
    for name, text in workflows.items():
        (root / "workflows" / f"{name}.yaml").write_text(textwrap.dedent(text))
    (root / "templates").mkdir(exist_ok=True)
    for name, text in (SIMPLE_TEMPLATES if templates is None else templates).items():
        (root / "templates" / name).write_text(text)
    for name, text in (extra_files or {}).items():
        (root / name).write_text(textwrap.dedent(text).lstrip())
    return root / "arflow.yaml"


IBM = Path(__file__).resolve().parent / "data" / "ibm-late-payment-histories.csv"
IBM_SOURCE = """\
invoices:
  path: ibm.csv
  columns: {number: invoiceNumber, customer_id: customerID, issue_date: InvoiceDate,
            due_date: DueDate, amount: InvoiceAmount, paid_date: SettledDate}
  date_format: "%m/%d/%Y"
"""


def ibm_folder(root: Path, workflows: dict[str, str] | None = None) -> Path:
    """A folder reading the real IBM late-payment ledger (2,466 invoices with paid dates, US
    month/day/year dates); returns its arflow.yaml."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(IBM, root / "ibm.csv")
    config = BASE_CONFIG.replace("invoices: {path: invoices.csv}", IBM_SOURCE)
    return make_folder(root, invoices="", workflows=workflows or {}, config=config)


def inv(
    number: str,
    customer: str = "C1",
    *,
    issue: str = "2026-01-01",
    due: str | None = None,
    amount: str = "100.00",
    balance: str | None = None,
    paid: str | None = None,
    status: str = "open",
    currency: str = "USD",
    **fields,
) -> Invoice:
    issue_date = date.fromisoformat(issue)
    return Invoice(
        number=number,
        customer_id=customer,
        issue_date=issue_date,
        due_date=date.fromisoformat(due) if due else issue_date,
        amount=Decimal(amount),
        balance=Decimal(balance) if balance else None,
        paid_date=date.fromisoformat(paid) if paid else None,
        currency=currency,
        status=status,
        line=0,
        **fields,
    )


def ledger_of(*invoices: Invoice, customers: list[Customer] | None = None) -> Ledger:
    found = {c.customer_id: c for c in customers or []}
    for i in invoices:
        found.setdefault(
            i.customer_id, Customer(i.customer_id, email=(f"{i.customer_id.lower()}@x.example",))
        )
    return Ledger(list(invoices), found, [])


def example_after_nights(root: Path) -> Path:
    """The bundled example (dated 2026-03-16) after real runs with its file outbox on 16 and
    26 March and 7 April (a call task is made on the 7th), C003 paused to 30 April and a
    promise on INV-1001; returns its arflow.yaml. Called where the clock is fixed."""
    from arflow.scaffold import write_scaffold

    write_scaffold(root, date(2026, 3, 16))
    config = str(root / "arflow.yaml")
    runner = CliRunner()
    for args in (
        *(["run", "--as-of", day] for day in ("2026-03-16", "2026-03-26", "2026-04-07")),
        ["pause", "customer", "C003", "--until", "2026-04-30", "--reason", "disputed"],
        ["promise", "INV-1001", "--date", "2026-04-20"],
    ):
        as_of = [] if args[0] == "run" else ["--as-of", "2026-04-07"]
        result = runner.invoke(app, [*args, *as_of, "--config", config])
        assert result.exit_code == 0, result.output
    return root / "arflow.yaml"


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str, expect: int | None = 0):
        result = runner.invoke(app, [str(a) for a in args])
        if expect is not None:
            assert result.exit_code == expect, result.output
        return result

    return invoke


@pytest.fixture
def run_json(cli):
    """`arflow run --dry-run --format json` → (exit code, parsed document)."""

    def go(config: Path, as_of: str, *extra: str, expect: int | None = 0):
        result = cli(
            "run",
            "--dry-run",
            "--format",
            "json",
            "--as-of",
            as_of,
            "--config",
            config,
            *extra,
            expect=expect,
        )
        return result.exit_code, json.loads(result.stdout)

    return go


@pytest.fixture
def smtp_server():
    from tests.servers import SmtpServer

    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def http_server():
    from tests.servers import HttpServer

    server = HttpServer()
    yield server
    server.stop()


# --- real database servers on loopback (tests/dbservers.py), one of each per test session, started
# only when a test asks for it; where the server is not installed, its tests skip and say why
def _database_server(kind: str):
    from tests import dbservers

    server_class, missing = {
        "postgres": (dbservers.PostgresServer, dbservers.postgres_missing),
        "mariadb": (dbservers.MariadbServer, dbservers.mariadb_missing),
    }[kind]
    reason = missing()
    if reason:
        pytest.skip(reason)
    server = server_class()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """PostgreSQL on 127.0.0.1 (`.url(db, user, password)`, `.create_database(name)`,
    `.readonly_user(db)`, `.sql(script, database=…)`)."""
    yield from _database_server("postgres")


@pytest.fixture(scope="session")
def mariadb_server():
    """MariaDB on 127.0.0.1, the same helpers as postgres_server (URLs `mysql://…`)."""
    yield from _database_server("mariadb")


# Tests never read the machine's clock: "now" is a fixed moment after every date the tests use
# (a real run may not be dated after today). A test that needs another sets
# `arflow.commands.common.now` (every command asks it for the time).
NOW = "2030-01-15T12:00:00+00:00"
# a fatal error ends with when it happened (SPEC: cron mails it); a process started by a test
# runs on the real clock, so its errors are compared without the stamp
_STAMP = re.compile(r" \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)(?=\.?$)", re.MULTILINE)


def unstamped(text: str) -> str:
    """An error output with the moment each fatal error carries taken out."""
    return _STAMP.sub("", text)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    from datetime import datetime

    from arflow.commands import common

    moment = datetime.fromisoformat(NOW)
    monkeypatch.setattr(common, "now", lambda: moment)
    monkeypatch.delenv("ARFLOW_CONFIG", raising=False)  # the tester's own folder stays out


@pytest.fixture
def clock(monkeypatch):
    """Set the moment `arflow` takes as now (UTC)."""
    from datetime import UTC, datetime

    from arflow.commands import common

    def set_to(text: str) -> None:
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        monkeypatch.setattr(common, "now", lambda: moment)

    return set_to


def subcommands(group: click.Group) -> dict[str, click.Command]:
    """A click group's commands by name, each loaded (arflow's load when asked for)."""
    return {name: group.get_command(None, name) for name in group.list_commands(None)}


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session's tests (tests/browser.py); they skip, saying why,
    where none is installed."""
    from tests.browser import Browser, find_chromium

    if find_chromium() is None:
        pytest.skip("Chromium is not installed here (Debian: apt-get install chromium)")
    with Browser() as chromium:
        yield chromium


@pytest.fixture
def pdf_pages():
    """tests.browser.pages_text: a PDF's text page by page (skips where pdftotext is absent)."""
    import shutil

    from tests.browser import pages_text

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed here (Debian: apt-get install poppler-utils)")
    return pages_text
