"""What the ERP presets' tests share (tests/test_erp_*.py): two AR folders alike but for their
sources — one reading an ERP's database through `preset:` as a read-only role, one reading the
same invoices, customers and contacts written by hand as CSV files — and the comparison of
what arflow makes of each: `aging`, `run --dry-run` and a real run with the file outbox."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import make_folder

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-03-31"
PASSWORD_ENV = "ERP_READER_PASSWORD"
SOURCES = ("invoices", "customers", "contacts")

WORKFLOW = """\
name: Dun
anchor: due_date
steps:
  - id: late
    day: 1
    actions:
      - email: reminder
"""
TEMPLATES = {
    "reminder.subject.j2": "Reminder {{ invoices|map(attribute='number')|join(', ') }}",
    "reminder.txt.j2": (
        "Dear {{ contact.name if contact else customer.name }} ({{ customer.language or '-' }},"
        " parent {{ customer.parent_id or '-' }}):\n"
        "{% for inv in invoices %}{{ inv.number }} {{ inv.balance|money(inv.currency) }} due {{ inv.due_date }}"
        "\n{% endfor %}outstanding {{ totals.outstanding|money }}"
    ),
}
CONFIG = """\
company: {{name: Books Ltd, email: ar@books.example, timezone: UTC, currency: {currency},
          locale: en_IE}}
{sources}
default_workflow: dun
channels:
  email: {{transport: outbox, dir: outbox}}
"""


def folder(root: Path, sources: dict[str, str], currency: str, files: dict[str, str]) -> Path:
    """An AR folder whose arflow.yaml reads `sources` (setting → its YAML flow map)."""
    text = "\n".join(f"{name}: {value}" for name, value in sources.items())
    return make_folder(
        root,
        invoices=files.pop("invoices.csv", ""),
        workflows={"dun": WORKFLOW},
        config=CONFIG.format(currency=currency, sources=text),
        templates=TEMPLATES,
        extra_files=files,
    )


def erp_folder(root: Path, url: str, preset: str, currency: str) -> Path:
    """Every source from the ERP's database through `preset:`, the password from the
    environment (the address holds none)."""
    source = f"{{database: '{url}', preset: {preset}, password_env: {PASSWORD_ENV}}}"
    return folder(root, {name: source for name in SOURCES}, currency, {})


def csv_folder(root: Path, currency: str, csvs: dict[str, str]) -> Path:
    """The same books by hand: `csvs` maps each source to its CSV text."""
    sources = {name: f"{{path: {name}.csv}}" for name in SOURCES}
    return folder(root, sources, currency, {f"{k}.csv": v for k, v in csvs.items()})


def normalised(text: str, config: Path) -> Any:
    """A command's JSON with the folder's own paths and the sources' names made alike."""
    found = json.loads(text.replace(str(config.parent), "FOLDER"))
    return _names_out(found)


def _names_out(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _names_out(v) for k, v in value.items() if k not in ("source", "sources")}
    if isinstance(value, list):
        return [_names_out(v) for v in value]
    return value


def arflow(config: Path, *args: str) -> str:
    """An arflow command as cron runs it: a process of its own; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "arflow", *args, "--as-of", AS_OF, "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def outbox(config: Path) -> list[tuple[list[str], str, str]]:
    """The messages a real run wrote to the file outbox: (to, subject, plain body)."""
    found = []
    for path in sorted((config.parent / "outbox").glob("*.eml")):
        m = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        to = [a.addr_spec for a in m["To"].addresses]
        found.append(
            (
                to,
                str(m["Subject"]),
                m.get_body(("plain",)).get_content().strip().replace("\r\n", "\n"),
            )
        )
    return found


def three_commands(config: Path) -> dict[str, Any]:
    """`aging`, `run --dry-run` and a real run (then its outbox), each normalised."""
    return {
        "aging": normalised(arflow(config, "aging", "--format", "json"), config),
        "dry run": normalised(arflow(config, "run", "--dry-run", "--format", "json"), config),
        "run": normalised(arflow(config, "run", "--format", "json"), config),
        "outbox": outbox(config),
    }
