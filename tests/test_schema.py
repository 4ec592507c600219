"""`arflow schema`: JSON Schema made from the models `arflow validate` uses, committed in
schemas/ for editors and CI; check-jsonschema agrees with `arflow validate`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from arflow.scaffold import example_dir, library
from arflow.schema import FILES, schema_text

ROOT = Path(__file__).resolve().parents[1]


def check(schema: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--schemafile",
            str(ROOT / "schemas" / FILES[schema]),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("kind", ["config", "workflow"])
def test_the_committed_schemas_are_what_the_models_say(cli, kind):
    committed = (ROOT / "schemas" / FILES[kind]).read_text(encoding="utf-8")
    assert committed == schema_text(kind), "run: arflow schema KIND > schemas/FILE"
    assert cli("schema", kind).stdout == committed


def test_every_shipped_file_is_valid_to_the_schema():
    workflows = sorted((library() / "workflows").glob("*.yaml"))
    assert len(workflows) >= 5
    done = check("workflow", *workflows)
    assert done.returncode == 0, done.stdout + done.stderr
    done = check("config", example_dir() / "arflow.yaml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_misspelt_key_is_flagged_by_the_schema_as_by_validate(cli, tmp_path):
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    path = tmp_path / "ar" / "workflows" / "net30-standard.yaml"
    path.write_text(path.read_text().replace("expires_after: 2", "expires_afer: 2"))
    done = check("workflow", path)
    assert done.returncode == 1
    assert "'expires_afer' was unexpected" in done.stdout
    result = cli("validate", tmp_path / "ar", expect=1)
    assert "workflows/net30-standard.yaml:9: steps.0.expires_afer: unknown key" in result.output
    # and a short form arflow takes is no problem to the schema
    path.write_text(
        path.read_text()
        .replace("expires_afer: 2", "expires_after: 2")
        .replace("cc: [controller]", "cc: controller")
    )
    assert check("workflow", path).returncode == 0
    cli("validate", tmp_path / "ar")
    path.write_text(path.read_text().replace("cc: controller", "cc: {controller: 1}"))
    assert check("workflow", path).returncode == 1


# --- the schema refuses what validate refuses --------------------------------------------------
GOOD = """\
company: {name: Acme Ltd, email: ar@acme.example}
invoices: {path: invoices.csv}
"""
INBOX = "channels:\n  inbox: {transport: imap, host: mail.example, username: ar, password_env: PW"
BAD_CONFIGS = {
    "an inbox folder with a quote": (
        INBOX + ', folder: "Inbox\\"x"}\n',
        "channels.inbox.folder: folder: 'Inbox\"x' is not a folder name",
    ),
    "a blank inbox folder": (
        INBOX + ', folder: "  "}\n',
        "channels.inbox.folder: folder: '  ' is not a folder name",
    ),
    "a timeout of 0": (INBOX + ", timeout: 0}\n", "channels.inbox.timeout: Input should be"),
    "a maildir without dir": (
        "channels:\n  inbox: {transport: maildir}\n",
        "channels.inbox: transport maildir needs dir: (the Maildir folder)",
    ),
    "an IMAP inbox without its login": (
        "channels:\n  inbox: {transport: imap, host: mail.example}\n",
        "channels.inbox: transport imap needs username:, password_env:",
    ),
    "SMTP without a host": (
        "channels:\n  email: {transport: smtp, host: ''}\n",
        "channels.email: transport smtp needs host:",
    ),
    "ssl and starttls": (
        "channels:\n  email: {transport: smtp, host: h, ssl: true, starttls: true}\n",
        "channels.email: choose ssl: true (implicit TLS, port 465) or starttls: true, not both",
    ),
    "Twilio without a sender": (
        "channels:\n  sms: {transport: twilio, account_sid_env: SID, auth_token_env: TOKEN}\n",
        "channels.sms: transport twilio needs from:",
    ),
    "a notify webhook without url": (
        "channels:\n  notify: {transport: webhook}\n",
        "channels.notify: transport webhook needs url: (or a webhook: on each person)",
    ),
    "a notify webhook that is no web address": (
        "channels:\n  notify: {transport: webhook, url: hooks.slack.com/services/T0}\n",
        "channels.notify.url: 'hooks.slack.com/services/T0' is not a web address",
    ),
    "a password_env that is no variable name": (
        "channels:\n  email: {transport: smtp, host: h, password_env: SMTP-PASSWORD}\n",
        "channels.email.password_env: 'SMTP-PASSWORD' is not an environment variable name",
    ),
    "a healthcheck_url that is no web address": (
        "healthcheck_url: ftp://monitor.example/ping\n",
        "healthcheck_url: 'ftp://monitor.example/***' is not a web address",
    ),
    "a person's webhook with a space": (
        "people:\n  dana: {name: Dana, webhook: 'https://chat.example/x y'}\n",
        "people.dana.webhook: 'https://chat.example/*** y' is not a web address",
    ),
    "a table and a query": (
        "customers: {path: ar.db, table: customers, query: SELECT 1}\n",
        "customers: give either table: or query:, not both",
    ),
    "header_row and skip_rows": (
        "customers: {path: c.csv, header_row: 3, skip_rows: 2}\n",
        "customers: give either header_row: (the line the header is on) or skip_rows:",
    ),
    "header_row auto without columns": (
        "customers: {path: c.csv, header_row: auto}\n",
        "customers: header_row: auto finds the header by the names in columns:",
    ),
    "a delimiter of two characters": (
        "customers: {path: c.csv, delimiter: ';;'}\n",
        "customers.delimiter: delimiter: ';;' must be one character",
    ),
    "a currency that is no code": (
        "company: {name: Acme Ltd, currency: DOLLARS}\n",
        "company.currency: 'DOLLARS' is not an ISO 4217 currency code",
    ),
    "port 0": ("channels:\n  email: {transport: smtp, host: h, port: 0}\n", "channels.email.port"),
    "a contact gap of 0 days": ("contact_gap: 0\n", "contact_gap: Input should be"),
    "a public URL with a password": (
        "public_urls: ['https://u:pw@erp.example/api']\n",
        "public_urls.0: 'https://***@erp.example/***' is not a web address without a user name",
    ),
}


def schema_errors(kind: str, document: dict) -> list[str]:
    """What the committed schema says of `document`, by a JSON Schema validator (the one
    check-jsonschema, in the test extra, runs on)."""
    import jsonschema

    found = json.loads((ROOT / "schemas" / FILES[kind]).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(found)
    return [e.message for e in validator.iter_errors(document)]


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_a_config_validate_refuses_the_schema_refuses(cli, tmp_path, case):
    extra, problem = BAD_CONFIGS[case]
    text = GOOD + extra
    if extra.startswith("company:"):  # in place of the good one
        text = extra + GOOD.split("\n", 1)[1]
    folder = tmp_path / "ar"
    folder.mkdir()
    (folder / "arflow.yaml").write_text(text)
    (folder / "invoices.csv").write_text(
        "number,customer_id,issue_date,amount\nA,C1,2026-03-01,5\n"
    )
    result = cli("validate", folder, expect=1)
    assert f": {problem}" in result.stderr, result.stderr
    assert schema_errors("config", yaml.safe_load(text)) != []
    # and the file without it is good to both
    assert schema_errors("config", yaml.safe_load(GOOD)) == []


def test_the_example_and_a_full_config_are_good_to_both(cli, tmp_path):
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    full = (
        config.read_text()
        + "healthcheck_url: https://hc-ping.com/5f0c-uuid\n"
        + "replies: {pause_days: 5}\ncontact_gap: 7\n"
    )
    full = full.replace("channels:\n", "channels:\n" + INBOX[len("channels:\n") :] + "}\n", 1)
    config.write_text(full)
    cli("validate", config)
    assert schema_errors("config", yaml.safe_load(full)) == []


def test_a_webhook_action_that_is_no_web_address_is_refused_by_both(cli, tmp_path):
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    path = tmp_path / "ar" / "workflows" / "hook.yaml"
    path.write_text(
        "steps:\n  - id: first\n    day: 1\n    actions:\n"
        "      - webhook: {url: 'erp.example/hook', template: erp}\n"
    )
    result = cli("validate", tmp_path / "ar", expect=1)
    assert "steps.0.actions.0.webhook.url: 'erp.example/hook' is not a web address" in result.stderr
    assert schema_errors("workflow", yaml.safe_load(path.read_text())) != []
