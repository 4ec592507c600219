"""An ERP's books read with `preset: NAME` against the same invoices written by hand in a CSV:
two AR folders alike but for their sources, the same nights run in both (aging, a dry run, a
real run with the file outbox), the outputs compared with the sources' names made alike."""

from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path

from tests.conftest import make_folder

CONFIG = """\
company: {name: Acme SARL, email: ar@acme.example, timezone: Europe/Paris, currency: EUR,
          locale: en_IE, terms: Net 30}
invoices: {path: invoices.csv}
customers: {path: customers.csv}
default_workflow: chase
people:
  controller: {name: Chris Doe, email: controller@acme.example}
channels:
  email: {transport: outbox, dir: outbox}
"""
CHASE = """\
name: Chase
anchor: due_date
steps:
  - id: late
    day: 10
    actions:
      - email: reminder
      - notify: {to: controller, template: notice}
"""
TEMPLATES = {
    "reminder.subject.j2": "Reminder {{ invoices|map(attribute='number')|join(', ') }}",
    "reminder.txt.j2": (
        "Dear {{ customer.name }}, you owe {{ totals.outstanding|money }}:\n"
        "{% for i in invoices %}{{ i.number }} {{ i.balance|money }}\n{% endfor %}"
    ),
    "notice.subject.j2": "[AR] {{ customer.name }} ({{ customer.parent_id or '-' }})",
    "notice.txt.j2": "{{ customer.name }} owes {{ totals.outstanding|money }}.",
}
PASSWORD_ENV = "ERP_PASSWORD"


def folders(
    root: Path,
    url: str,
    preset: str,
    invoices_csv: str,
    customers_csv: str,
    contacts_csv: str | None = None,
) -> tuple[Path, Path]:
    """(the folder reading the ERP's database with `preset:`, the folder reading the CSVs);
    with `contacts_csv`, a contacts source too."""
    source = f"{{database: '{url}', preset: {preset}, password_env: {PASSWORD_ENV}}}"
    config = CONFIG
    files = {"customers.csv": customers_csv}
    if contacts_csv is not None:
        config += "contacts: {path: contacts.csv}\n"
        files["contacts.csv"] = contacts_csv
    served = make_folder(
        root / "served",
        invoices="",
        workflows={"chase": CHASE},
        config=config.replace("{path: invoices.csv}", source)
        .replace("{path: customers.csv}", source)
        .replace("{path: contacts.csv}", source),
        templates=TEMPLATES,
    )
    filed = make_folder(
        root / "filed",
        invoices=invoices_csv,
        workflows={"chase": CHASE},
        config=config,
        templates=TEMPLATES,
        extra_files=files,
    )
    return served, filed


def _alike(text: str) -> str:
    """Output with the sources named alike (`erp/query` and `invoices.csv` as `SOURCE`)."""
    return re.sub(r"\b[\w-]+/query\b|\b(invoices|customers|contacts)\.csv\b", "SOURCE", text)


def outbox(config: Path) -> list[tuple[str, str, str]]:
    """The messages a real run left in the outbox: (To, Subject, text), sorted."""
    found = []
    for path in sorted((config.parent / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content().replace("\r\n", "\n")
        found.append((str(message["To"]), str(message["Subject"]), text))
    return sorted(found)


def nights(cli, config: Path, as_of: str, *, expect: int = 0) -> dict:
    """aging and a dry run as JSON, then a real run: what each gave (sources named alike)."""
    aging = cli("aging", "--as-of", as_of, "--format", "json", "--config", config, expect=expect)
    dry = cli("run", "--dry-run", "--format", "json", "--as-of", as_of, "--config", config)
    real = cli("run", "--as-of", as_of, "--config", config, expect=None)
    return {
        "aging": json.loads(_alike(aging.stdout)),
        "dry_run": json.loads(_alike(dry.stdout)),
        "run": (real.exit_code, _alike(real.output)),
        "outbox": outbox(config),
    }


def csv_rows(text: str) -> str:
    """A CSV as a test writes it: its lines without the indentation."""
    return "\n".join(line.strip() for line in text.strip().splitlines()) + "\n"


def books(config: Path) -> tuple[list[tuple], list[tuple]]:
    """The invoices and customers a folder's sources give, as sorted tuples."""
    from arflow.config import load_config
    from arflow.sources import load_ledger

    ledger = load_ledger(load_config(config))
    invoices = sorted(
        (i.number, i.customer_id, i.amount, i.balance, i.currency, i.status, i.paid_date, i.email)
        for i in ledger.invoices
    )
    customers = sorted(
        (
            c.customer_id,
            c.name,
            c.email,
            c.parent_id,
            c.currency,
            c.language,
            sorted((p.role, p.name, p.email, p.phone, p.language) for p in c.contacts),
        )
        for c in ledger.customers.values()
    )
    return invoices, customers


def break_query(monkeypatch, preset: str, setting: str, old: str, new: str) -> None:
    """Replace `old` (which must be there) by `new` in a preset's query, for this test."""
    from arflow import erp

    settings = erp.ERP_PRESETS[preset][setting]
    query = settings["query"]
    texts = query if isinstance(query, dict) else {"": query}
    assert all(old in text for text in texts.values()), f"{old!r} is not in the query"
    broken = {kind: text.replace(old, new) for kind, text in texts.items()}
    monkeypatch.setitem(
        erp.ERP_PRESETS[preset],
        setting,
        {**settings, "query": broken if isinstance(query, dict) else broken[""]},
    )


def reader_of(db, tables: list[str]) -> tuple[str, str]:
    """A MariaDB user that may SELECT only `tables` of `db` (and nothing else): (user, password)."""
    user, password = f"{db.name}_narrow", "narrow-pw-4711"
    grants = "".join(f"GRANT SELECT ON `{db.name}`.`{t}` TO '{user}'@'%';" for t in tables)
    db.server.sql(
        f"DROP USER IF EXISTS '{user}'@'%'; "
        f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; {grants}"
    )
    return user, password
