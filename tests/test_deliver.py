"""Real runs against real components: an SMTP server and HTTP servers on loopback, a real
SQLite state file. Every test asserts what reached the server and what the ledger says."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from arflow.state import SCHEMA_VERSION, StateDB, run_lock
from tests.conftest import SIMPLE_TEMPLATES, make_folder
from tests.servers import SmtpServer, twilio_created

INVOICES = """\
number,customer_id,customer_name,email,phone,issue_date,due_date,amount
INV-1,C1,Alpha Ltd,ap@alpha.example,+12025550101,2026-03-01,2026-03-10,100.00
INV-2,C2,Beta Ltd,ap@beta.example,,2026-03-01,2026-03-10,200.00
INV-3,C3,Gamma Ltd,ap@gamma.example,,2026-03-01,2026-03-10,300.00
"""

CHASE = """\
name: Chase
anchor: due_date
catch_up: latest
steps:
  - id: first
    day: 1
    actions:
      - email: reminder
  - id: second
    day: 10
    actions:
      - email: {template: reminder, cc: [controller]}
"""


def smtp_config(port: int, extra: str = "", email: str = "") -> str:
    return f"""\
company: {{name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD, locale: en_US}}
invoices: {{path: invoices.csv}}
default_workflow: chase
people:
  controller: {{name: Chris Doe, email: controller@acme.example}}
channels:
  email: {{transport: smtp, host: 127.0.0.1, port: {port}, timeout: 5{email}}}
{extra}"""


@pytest.fixture
def folder(tmp_path, smtp_server):
    def build(invoices=INVOICES, workflows=None, extra="", email="", templates=None):
        return make_folder(
            tmp_path / "ar",
            invoices=invoices,
            workflows=workflows or {"chase": CHASE},
            config=smtp_config(smtp_server.port, extra, email),
            templates=templates,
        )

    return build


@pytest.fixture
def real_run(cli):
    """`arflow run --format json` (a real run) → (exit code, document)."""

    def go(config: Path, as_of: str, expect: int | None = 0):
        result = cli("run", "--format", "json", "--as-of", as_of, "--config", config, expect=expect)
        return result.exit_code, json.loads(result.stdout)

    return go


def history(cli, config, *args) -> list[dict]:
    return json.loads(cli("history", "--format", "json", "--config", config, *args).stdout)[
        "actions"
    ]


def states(cli, config) -> dict[str, tuple]:
    return {r["key"]: (r["state"], r["permanent"], r["attempts"]) for r in history(cli, config)}


# --- the happy path ---------------------------------------------------------------------------
def test_a_run_sends_each_message_once_over_one_smtp_session(folder, smtp_server, real_run, cli):
    config = folder()
    _, doc = real_run(config, "2026-03-11")
    assert [(a["customer_id"], a["step"], a["status"]) for a in doc["actions"]] == [
        ("C1", "first", "sent"),
        ("C2", "first", "sent"),
        ("C3", "first", "sent"),
    ]
    assert doc["dry_run"] is False
    assert doc["summary"] == {
        "invoices": 3,
        "open": 3,
        "actions": 3,
        "sent": 3,
        "failed": 0,
        "unknown": 0,
        "skipped": 0,
        "errors": 0,
    }
    assert len(smtp_server.connections) == 1  # one session for the whole run
    got = [(m.mail_from, m.rcpt_tos, m.message["Subject"]) for m in smtp_server.messages]
    assert got == [
        ("ar@acme.example", ["ap@alpha.example"], "Reminder INV-1"),
        ("ar@acme.example", ["ap@beta.example"], "Reminder INV-2"),
        ("ar@acme.example", ["ap@gamma.example"], "Reminder INV-3"),
    ]
    first = smtp_server.messages[0].message
    assert first["To"] == "Alpha Ltd <ap@alpha.example>"
    assert first["From"] == "Acme Ltd <ar@acme.example>"
    # the Message-ID comes from the idempotency key and is stored with it
    rows = {r["key"]: r for r in history(cli, config)}
    row = rows["invoice:INV-1/chase/first/0"]
    assert (row["state"], row["message_id"], row["provider_id"]) == (
        "sent",
        first["Message-ID"],
        first["Message-ID"],
    )
    assert row["recipients"] == ["ap@alpha.example"] and row["subject"] == "Reminder INV-1"
    assert len({m.message["Message-ID"] for m in smtp_server.messages}) == 3

    # a rerun the same day sends nothing, and does not even connect
    _, doc = real_run(config, "2026-03-11")
    assert doc["actions"] == [] and len(smtp_server.messages) == 3
    assert len(smtp_server.connections) == 1

    # the next step, ten days later: once, with the cc; the first step is never repeated
    _code, doc = real_run(config, "2026-03-20")
    assert [(a["customer_id"], a["step"], a["status"]) for a in doc["actions"]] == [
        ("C1", "second", "sent"),
        ("C2", "second", "sent"),
        ("C3", "second", "sent"),
    ]
    assert smtp_server.messages[3].rcpt_tos == ["ap@alpha.example", "controller@acme.example"]
    assert smtp_server.messages[3].message["Cc"] == "Chris Doe <controller@acme.example>"
    assert len(smtp_server.messages) == 6 and len(smtp_server.connections) == 2


def test_emails_have_text_and_html_parts_and_the_html_is_escaped(folder, smtp_server, real_run):
    invoices = INVOICES.replace("Alpha Ltd", '"<script>alert(1)</script> & Co"')
    config = folder(invoices=invoices)
    real_run(config, "2026-03-11")
    message = smtp_server.messages[0].message
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.strip() == "Dear <script>alert(1)</script> & Co, you owe $100.00."
    assert html.strip() == "<p>Dear &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</p>"
    assert message["Auto-Submitted"] == "auto-generated"


def test_lines_starting_with_a_dot_arrive_whole(folder, smtp_server, real_run):
    # arflow writes the DATA itself (to read the reply later), so it must double leading dots
    # (RFC 5321 4.5.2); a lone "." line would otherwise end the message early
    templates = {
        **SIMPLE_TEMPLATES,
        "reminder.txt.j2": "Dear {{ customer.name }},\n.\n.. two dots\n.end\nBye",
        "reminder.html.j2": "<p>x</p>\n.\n<p>y</p>",
    }
    config = folder(templates=templates)
    _code, doc = real_run(config, "2026-03-11")
    assert [a["status"] for a in doc["actions"]] == ["sent"] * 3
    assert len(smtp_server.messages) == 3
    for received, name in zip(smtp_server.messages, ("Alpha", "Beta", "Gamma"), strict=True):
        message = received.message
        assert message.get_body(("plain",)).get_content().splitlines() == [
            f"Dear {name} Ltd,",
            ".",
            ".. two dots",
            ".end",
            "Bye",
        ]
        assert message.get_body(("html",)).get_content().splitlines() == [
            "<p>x</p>",
            ".",
            "<p>y</p>",
        ]


def test_dry_run_reads_the_state_and_writes_nothing(
    folder, smtp_server, real_run, run_json, tmp_path
):
    config = folder()
    _, doc = run_json(config, "2026-03-11")
    assert not (tmp_path / "ar" / "arflow.db").exists()
    assert [a["status"] for a in doc["actions"]] == ["planned"] * 3
    real_run(config, "2026-03-11")
    _, doc = run_json(config, "2026-03-11")
    assert doc["actions"] == []  # what would go out tonight: nothing, it went out already
    assert len(smtp_server.messages) == 3


# --- failures ---------------------------------------------------------------------------------
def test_a_4xx_reply_is_retried_by_the_next_run_and_a_5xx_is_not(
    folder, smtp_server, real_run, cli
):
    config = folder()
    smtp_server.handler.data_replies = {0: "451 4.3.0 try again later"}
    smtp_server.handler.rcpt_replies = {"ap@gamma.example": "550 5.1.1 no such user"}
    _, doc = real_run(config, "2026-03-11", expect=3)
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("C1", "failed"),
        ("C2", "sent"),
        ("C3", "failed"),
    ]
    assert doc["summary"]["failed"] == 2 and doc["summary"]["sent"] == 1
    assert states(cli, config) == {
        "invoice:INV-1/chase/first/0": ("failed", False, 1),
        "invoice:INV-2/chase/first/0": ("sent", False, 1),
        "invoice:INV-3/chase/first/0": ("failed", True, 1),
    }
    row = {r["key"]: r for r in history(cli, config)}["invoice:INV-3/chase/first/0"]
    assert row["error"] == "every recipient refused: 550 5.1.1 no such user"

    smtp_server.handler.rcpt_replies = {}
    _code, doc = real_run(config, "2026-03-12")
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [("C1", "sent")]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ap@beta.example"], ["ap@alpha.example"]]
    assert states(cli, config)["invoice:INV-1/chase/first/0"] == ("sent", False, 2)


def test_a_disconnect_after_data_is_unknown_and_never_resent(folder, smtp_server, real_run, cli):
    config = folder()
    smtp_server.handler.disconnect_on = {0}
    _, doc = real_run(config, "2026-03-11", expect=3)
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("C1", "unknown"),
        ("C2", "sent"),
        ("C3", "sent"),
    ]
    assert len(smtp_server.messages) == 3  # the server did get the first one
    assert len(smtp_server.connections) == 2  # the lost session was replaced once
    [row] = history(cli, config, "--unknown")
    assert row["key"] == "invoice:INV-1/chase/first/0"
    assert "may have been delivered" in row["error"]

    _, doc = real_run(config, "2026-03-12")
    assert doc["actions"] == [] and len(smtp_server.messages) == 3

    # a person checks with the customer: it did not arrive, so retry it
    result = cli("resolve", "invoice:INV-1/chase/first/0", "--retry", "--config", config)
    assert "will be retried" in result.output
    _code, doc = real_run(config, "2026-03-12")
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [("C1", "sent")]
    assert (
        smtp_server.messages[3].message["Message-ID"]
        == smtp_server.messages[0].message["Message-ID"]
    )  # the same reminder, the same id
    assert history(cli, config, "--unknown") == []


def test_a_bug_while_rendering_the_next_message_leaves_the_last_one_recorded(
    folder, smtp_server, real_run, cli, monkeypatch
):
    # the next message is rendered while the server reads the one before it; a bug there
    # (not a template error: those are reported and skipped) stops the run, but only after
    # the message in flight has its reply read and its outcome committed
    import arflow.compose

    real = arflow.compose._compose_one
    calls = []

    def second_fails(action, *args):
        calls.append(action.customer_id)
        if len(calls) == 2:
            raise RuntimeError("injected fault")
        return real(action, *args)

    monkeypatch.setattr(arflow.compose, "_compose_one", second_fails)
    config = folder()
    result = cli("run", "--as-of", "2026-03-11", "--config", config, expect=None)
    assert isinstance(result.exception, RuntimeError) and calls == ["C1", "C2"]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ap@alpha.example"]]
    assert {r["key"]: r["state"] for r in history(cli, config)} == {
        "invoice:INV-1/chase/first/0": "sent"
    }  # not left `sending`, so not `unknown`

    monkeypatch.setattr(arflow.compose, "_compose_one", real)
    _code, doc = real_run(config, "2026-03-11")
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("C2", "sent"),
        ("C3", "sent"),
    ]
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == [
        "ap@alpha.example",
        "ap@beta.example",
        "ap@gamma.example",
    ]


def test_resolve_sent_settles_it_for_good(folder, smtp_server, real_run, cli):
    config = folder()
    smtp_server.handler.disconnect_on = {0}
    real_run(config, "2026-03-11", expect=3)
    cli("resolve", "invoice:INV-1/chase/first/0", "--sent", "--config", config)
    assert states(cli, config)["invoice:INV-1/chase/first/0"][0] == "sent"
    real_run(config, "2026-03-12")
    assert len(smtp_server.messages) == 3
    result = cli("resolve", "invoice:INV-1/chase/first/0", "--sent", "--config", config, expect=1)
    assert "is sent, not unknown or failed" in result.output
    result = cli("resolve", "invoice:NOPE/chase/first/0", "--retry", "--config", config, expect=1)
    assert "no action with key 'invoice:NOPE/chase/first/0'" in result.output
    cli("resolve", "invoice:INV-1/chase/first/0", "--config", config, expect=2)


def test_an_unreachable_server_fails_every_email_transiently(tmp_path, cli, real_run):
    server = SmtpServer()
    port = server.port
    server.stop()  # nothing listens there now: connection refused
    config = make_folder(
        tmp_path / "ar", invoices=INVOICES, workflows={"chase": CHASE}, config=smtp_config(port)
    )
    _code, doc = real_run(config, "2026-03-11", expect=3)
    assert [a["status"] for a in doc["actions"]] == ["failed"] * 3
    assert {s[:2] for s in states(cli, config).values()} == {("failed", False)}
    row = history(cli, config)[0]
    assert row["error"].startswith(f"cannot reach SMTP server 127.0.0.1:{port}")


def test_bad_credentials_stop_the_run_before_anything_is_recorded(tmp_path, cli, monkeypatch):
    server = SmtpServer(login=("ar@acme.example", "right-password"))
    try:
        config = make_folder(
            tmp_path / "ar",
            invoices=INVOICES,
            workflows={"chase": CHASE},
            config=smtp_config(
                server.port,
                email=", username: ar@acme.example, password_env: ARFLOW_TEST_SMTP_PASSWORD",
            ),
        )
        monkeypatch.setenv("ARFLOW_TEST_SMTP_PASSWORD", "wrong-password-123")
        result = cli("run", "--as-of", "2026-03-11", "--config", config, expect=1)
        assert "SMTP login to 127.0.0.1" in result.output and "Nothing was sent" in result.output
        assert "wrong-password-123" not in result.output
        assert server.messages == [] and server.logins  # smtplib tries PLAIN, then LOGIN
        assert {outcome for _, outcome in server.logins} == {"refused"}
        assert history(cli, config) == []

        monkeypatch.setenv("ARFLOW_TEST_SMTP_PASSWORD", "right-password")
        result = cli("run", "--as-of", "2026-03-11", "--config", config)
        assert len(server.messages) == 3 and server.logins[-1] == ("ar@acme.example", "ok")
        assert [o for _, o in server.logins].count("ok") == 1  # one login for the whole run
        db_bytes = b"".join(p.read_bytes() for p in (tmp_path / "ar").glob("arflow.db*"))
        assert b"right-password" not in db_bytes and "right-password" not in result.output
    finally:
        server.stop()


def test_a_missing_secret_is_a_clear_error_before_anything_is_sent(
    folder, smtp_server, cli, monkeypatch
):
    monkeypatch.delenv("ARFLOW_TEST_SMTP_PASSWORD", raising=False)
    config = folder(email=", username: ar@acme.example, password_env: ARFLOW_TEST_SMTP_PASSWORD")
    result = cli("run", "--as-of", "2026-03-11", "--config", config, expect=1)
    assert "the environment variable ARFLOW_TEST_SMTP_PASSWORD is not set" in result.output
    assert smtp_server.messages == [] and smtp_server.connections == []


def test_a_secret_can_come_from_an_owner_only_file(folder, cli, tmp_path, monkeypatch):
    server = SmtpServer(login=("ar@acme.example", "from-a-file"))
    try:
        secret = tmp_path / "smtp-password"
        secret.write_text("from-a-file\n")
        secret.chmod(0o644)
        monkeypatch.delenv("ARFLOW_TEST_SMTP_PASSWORD", raising=False)
        monkeypatch.setenv("ARFLOW_TEST_SMTP_PASSWORD_FILE", str(secret))
        config = make_folder(
            tmp_path / "ar",
            invoices=INVOICES,
            workflows={"chase": CHASE},
            config=smtp_config(
                server.port,
                email=", username: ar@acme.example, password_env: ARFLOW_TEST_SMTP_PASSWORD",
            ),
        )
        result = cli("run", "--as-of", "2026-03-11", "--config", config, expect=1)
        assert "can be read by others; run `chmod 600" in result.output
        secret.chmod(0o600)
        cli("run", "--as-of", "2026-03-11", "--config", config)
        assert len(server.messages) == 3
    finally:
        server.stop()


# --- one run at a time ------------------------------------------------------------------------
def test_a_second_run_is_refused_while_one_holds_the_lock(folder, smtp_server, cli, tmp_path):
    config = folder()
    with run_lock(tmp_path / "ar" / "arflow.db"):
        result = cli("run", "--as-of", "2026-03-11", "--config", config, expect=1)
    assert "another arflow run is in progress" in result.output
    assert "nothing was sent" in result.output
    assert smtp_server.messages == []
    cli("run", "--as-of", "2026-03-11", "--config", config)  # the lock is free again
    assert len(smtp_server.messages) == 3


# --- hostile data -----------------------------------------------------------------------------
HOSTILE = """\
number,customer_id,customer_name,email,issue_date,due_date,amount
INV-1,C1,"Evil Ltd\r\nBcc: thief@evil.example",ap@evil1.example,2026-03-01,2026-03-10,100.00
INV-2,C2,=?utf-8?q?Evil=0ABcc:_thief@evil.example?=,ap@evil2.example,2026-03-01,2026-03-10,100.00
INV-3,C3,Honest Ltd,ap@honest.example,2026-03-01,2026-03-10,100.00
INV-4,C4,Script <script>x</script>,ap@script.example,2026-03-01,2026-03-10,100.00
INV-5,C5,Sneaky,"ap@sneaky.example
Bcc: thief@evil.example",2026-03-01,2026-03-10,100.00
"""


def test_hostile_names_never_reach_a_header_and_honest_customers_get_their_mail(
    folder, smtp_server, real_run, cli
):
    config = folder(
        invoices=HOSTILE,
        templates={
            "reminder.subject.j2": "Invoice for {{ customer.name }}",
            "reminder.txt.j2": "Dear {{ customer.name }}",
            "reminder.html.j2": "<p>Dear {{ customer.name }}</p>",
        },
    )
    _code, doc = real_run(config, "2026-03-11", expect=3)
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("C3", "sent"),
        ("C4", "sent"),
    ]
    rcpts = [r for m in smtp_server.messages for r in m.rcpt_tos]
    assert rcpts == ["ap@honest.example", "ap@script.example"]
    for received in smtp_server.messages:
        assert b"thief" not in received.data and b"Bcc" not in received.data
    script = smtp_server.messages[1].message
    assert script["Subject"] == "Invoice for Script <script>x</script>"
    assert (
        script.get_body(("html",)).get_content().strip()
        == "<p>Dear Script &lt;script&gt;x&lt;/script&gt;</p>"
    )
    errors = {(e["line"], e["column"]): e["message"] for e in doc["errors"]}
    assert "the name contains the control character U+000D" in errors[(2, "customer_name")]
    assert "the name contains an RFC 2047 encoded word" in errors[(4, "customer_name")]
    assert "not sent to customer C1" in errors[(2, "customer_name")]
    assert (7, "email") in errors  # the address with a line break never loads
    assert "C5" not in {a["customer_id"] for a in doc["actions"]}
    # nothing was recorded for the rejected ones: fixed data goes out with the next run;
    # the customer whose only address was refused is skipped for want of an address
    assert {r["key"]: (r["state"], r["reason"]) for r in history(cli, config)} == {
        "invoice:INV-3/chase/first/0": ("sent", None),
        "invoice:INV-4/chase/first/0": ("sent", None),
        "invoice:INV-5/chase/first/0": ("skipped", "no-email"),
    }


# --- SMS over a Twilio-compatible server ------------------------------------------------------
SMS_WORKFLOW = """\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - sms: reminder
"""

SMS_INVOICES = """\
number,customer_id,customer_name,phone,issue_date,due_date,amount
INV-1,C1,Alpha,(202) 555-0101,2026-03-01,2026-03-10,100.00
INV-2,C2,Beta,+1 202 555 0102,2026-03-01,2026-03-10,200.00
INV-3,C3,Gamma,+1 202 555 0103,2026-03-01,2026-03-10,300.00
INV-4,C4,Delta,+1 202 555 0104,2026-03-01,2026-03-10,400.00
INV-5,C5,Eps,+1 202 555 0105,2026-03-01,2026-03-10,500.00
"""


def twilio_folder(folder, url):
    return folder(
        invoices=SMS_INVOICES,
        workflows={"chase": SMS_WORKFLOW},
        extra=(
            "  sms: {transport: twilio, account_sid_env: ARFLOW_TEST_SID, auth_token_env: "
            f"ARFLOW_TEST_TOKEN, from: '+12025550100', base_url: '{url}', timeout: 5}}\n"
        ),
    )


def test_sms_go_through_twilio_with_its_error_codes_mapped(
    folder, http_server, real_run, cli, monkeypatch
):
    monkeypatch.setenv("ARFLOW_TEST_SID", "AC" + "1" * 32)
    monkeypatch.setenv("ARFLOW_TEST_TOKEN", "secret-token-xyz")
    http_server.replies = [
        (201, twilio_created),
        (
            400,
            {
                "code": 21211,
                "message": "The 'To' number is not a valid phone number.",
                "status": 400,
            },
        ),
        (
            400,
            {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400},
        ),
        (429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
        (500, {"code": 20500, "message": "Internal Server Error", "status": 500}),
    ]
    config = twilio_folder(folder, http_server.url)
    _, doc = real_run(config, "2026-03-11", expect=3)
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("C1", "sent"),
        ("C2", "failed"),
        ("C3", "failed"),
        ("C4", "failed"),
        ("C5", "unknown"),
    ]
    first = http_server.requests[0]
    assert first.path == f"/2010-04-01/Accounts/AC{'1' * 32}/Messages.json"
    assert first.form == {"To": "+12025550101", "From": "+12025550100", "Body": "Pay $100.00"}
    assert first.basic_auth == ("AC" + "1" * 32, "secret-token-xyz")
    got = {
        r["customer_id"]: (r["state"], r["permanent"], r["provider_id"])
        for r in history(cli, config)
    }
    assert got == {
        "C1": ("sent", False, twilio_created(first)["sid"]),
        "C2": ("failed", True, None),
        "C3": ("failed", True, None),
        "C4": ("failed", False, None),
        "C5": ("unknown", False, None),
    }
    errors = {r["customer_id"]: r["error"] for r in history(cli, config)}
    assert errors["C2"] == (
        "Twilio 400 error 21211: Unable to create record: The 'To' number "
        "is not a valid phone number."
    )
    assert "secret-token-xyz" not in json.dumps(history(cli, config))

    # the next night: only the rate-limited one is tried again
    _code, doc = real_run(config, "2026-03-12")
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [("C4", "sent")]
    assert len(http_server.requests) == 6


def test_twilio_without_its_secrets_stops_before_sending(folder, http_server, cli, monkeypatch):
    monkeypatch.delenv("ARFLOW_TEST_SID", raising=False)
    config = twilio_folder(folder, http_server.url)
    result = cli("run", "--as-of", "2026-03-11", "--config", config, expect=1)
    assert (
        "Twilio account SID: the environment variable ARFLOW_TEST_SID is not set" in result.output
    )
    assert http_server.requests == []


# --- webhooks and notify ----------------------------------------------------------------------
def test_webhook_actions_post_json_with_an_idempotency_key(folder, http_server, real_run, cli):
    workflow = f"""\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - webhook: {{url: "{http_server.url}/erp", template: erp}}
      - notify: {{to: controller, template: internal}}
"""
    templates = {
        "erp.json.j2": '{"customer": {{ customer.name|tojson }}, '
        '"invoices": {{ invoices|map(attribute="number")|list|tojson }}}',
        "internal.json.j2": '{"text": {{ (customer.name ~ " is late")|tojson }}}',
    }
    config = folder(
        invoices=INVOICES.replace("Beta Ltd", '"Beta ""Quoted"" Ltd"'),
        workflows={"chase": workflow},
        templates=templates,
        extra=f"  notify: {{transport: webhook, url: '{http_server.url}/chat'}}\n",
    )
    http_server.replies = [(200, {}), (200, {}), (503, {}), (200, {})]
    _, doc = real_run(config, "2026-03-11", expect=3)
    assert [(a["customer_id"], a["action"], a["status"]) for a in doc["actions"]] == [
        ("C1", "webhook", "sent"),
        ("C1", "notify", "sent"),
        ("C2", "webhook", "unknown"),
        ("C2", "notify", "sent"),
        ("C3", "webhook", "sent"),
        ("C3", "notify", "sent"),
    ]
    erp = [r for r in http_server.requests if r.path == "/erp"]
    assert [r.json for r in erp] == [
        {"customer": "Alpha Ltd", "invoices": ["INV-1"]},
        {"customer": 'Beta "Quoted" Ltd', "invoices": ["INV-2"]},
        {"customer": "Gamma Ltd", "invoices": ["INV-3"]},
    ]
    assert len({r.headers["Idempotency-Key"] for r in erp}) == 3
    chat = [r.json for r in http_server.requests if r.path == "/chat"]
    assert chat == [
        {"text": "Alpha Ltd is late"},
        {"text": 'Beta "Quoted" Ltd is late'},
        {"text": "Gamma Ltd is late"},
    ]
    _code, doc = real_run(config, "2026-03-12")
    assert doc["actions"] == [] and len(http_server.requests) == 6


# --- the outbox and the state file ------------------------------------------------------------
def test_the_example_folder_delivers_into_its_outbox_once(cli, tmp_path):
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    result = cli("run", "--format", "json", "--as-of", "2026-03-16", "--config", config)
    doc = json.loads(result.stdout)
    outbox = tmp_path / "ar" / "outbox"
    files = sorted(p.name for p in outbox.iterdir())
    statuses = [a["status"] for a in doc["actions"]]
    assert statuses.count("done") == 1 and statuses.count("sent") == len(files)
    assert sum(f.endswith(".eml") for f in files) == len(files) - 1  # and one SMS
    assert sum(f.endswith(".sms.txt") for f in files) == 1
    cli("run", "--as-of", "2026-03-16", "--config", config)
    assert sorted(p.name for p in outbox.iterdir()) == files
    sms = next(p for p in outbox.iterdir() if p.name.endswith(".sms.txt")).read_text()
    assert sms.startswith("To: +12025550122\n\n")


def test_the_state_file_is_wal_versioned_and_refuses_a_newer_schema(
    folder, smtp_server, real_run, cli, tmp_path
):
    config = folder()
    real_run(config, "2026-03-11")
    path = tmp_path / "ar" / "arflow.db"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "actions",
        "assignments",
        "statuses",
        "tasks",
        "notes",
        "pauses",
        "promises",
        "specialists",
        "runs",
    } <= tables
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    result = cli("run", "--as-of", "2026-03-12", "--config", config, expect=1)
    assert "was written by a newer arflow" in result.output


def test_a_file_that_is_not_a_state_database_is_a_clear_error(folder, cli, tmp_path):
    config = folder()
    (tmp_path / "ar" / "arflow.db").write_text("this is not sqlite\n" * 20)
    result = cli("run", "--as-of", "2026-03-11", "--config", config, expect=1)
    assert "is not an arflow state database" in result.output


def test_history_filters_and_prints_a_table(folder, smtp_server, real_run, cli):
    config = folder()
    real_run(config, "2026-03-11")
    real_run(config, "2026-03-20")
    assert [r["key"] for r in history(cli, config, "--customer", "C2")] == [
        "invoice:INV-2/chase/first/0",
        "invoice:INV-2/chase/second/0",
    ]
    assert [r["step"] for r in history(cli, config, "--since", "2026-03-15")] == ["second"] * 3
    result = cli("history", "--config", config)
    lines = result.stdout.splitlines()[1:-1]  # between the header line and the total
    assert len(lines) == 6 and lines[0].split("\t")[:6] == [
        "2026-03-11",
        "C1",
        "chase",
        "first",
        "email",
        "sent",
    ]


def test_past_state_is_read_with_one_query_per_table(folder, smtp_server, real_run, tmp_path):
    from arflow.planner.past_state import read_past_state
    from arflow.project import load_project

    config = folder()
    real_run(config, "2026-03-11")
    db = StateDB.open(tmp_path / "ar" / "arflow.db")
    statements = []
    db.conn.set_trace_callback(statements.append)
    workflows = {w.id: w.model for w in load_project(config).workflows.values()}
    from datetime import date

    past = read_past_state(db, workflows, date(2026, 3, 12))
    db.close()
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert [s.split(" FROM ")[1].split()[0] for s in selects] == [
        "actions",
        "assignments",
        "sequences",
        "pauses",
        "promises",
    ]
    assert past.ran == {(f"invoice:INV-{n}", "chase"): {"first"} for n in (1, 2, 3)}


def test_an_assigned_sequence_counts_from_the_stored_assignment_date(
    folder, smtp_server, real_run, cli, tmp_path
):
    workflow = """\
anchor: assigned
steps:
  - id: welcome
    day: 0
    actions:
      - email: reminder
  - id: follow-up
    day: 3
    actions:
      - email: reminder
"""
    config = folder(workflows={"chase": workflow})
    _, doc = real_run(config, "2026-03-11")
    assert [(a["customer_id"], a["step"], a["invoices"]) for a in doc["actions"]] == [
        ("C1", "welcome", ["INV-1"]),
        ("C2", "welcome", ["INV-2"]),
        ("C3", "welcome", ["INV-3"]),
    ]
    conn = sqlite3.connect(tmp_path / "ar" / "arflow.db")
    assert conn.execute(
        "SELECT customer_id, workflow, since, ended_on FROM sequences ORDER BY 1"
    ).fetchall() == [(f"C{n}", "chase", "2026-03-11", None) for n in (1, 2, 3)]
    assert conn.execute("SELECT count(*) FROM assignments").fetchone() == (0,)  # none by hand
    conn.close()
    assert real_run(config, "2026-03-13")[1]["actions"] == []  # day 2 of the sequence
    _code, doc = real_run(config, "2026-03-14")  # day 3, from the stored date
    assert [(a["customer_id"], a["step"]) for a in doc["actions"]] == [
        ("C1", "follow-up"),
        ("C2", "follow-up"),
        ("C3", "follow-up"),
    ]
    assert {r["key"] for r in history(cli, config, "--customer", "C1")} == {
        "customer:C1@2026-03-11/chase/welcome/0",
        "customer:C1@2026-03-11/chase/follow-up/0",
    }
    assert len(smtp_server.messages) == 6


def test_status_task_note_and_assign_are_recorded_once_and_report_done(
    smtp_server, real_run, tmp_path
):
    workflow = """\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - assign: dana
      - status: "In collections"
      - task: {kind: call, title: "Call {{ customer.name }}", assignee: dana, due_in: 2}
      - note: "Chased {{ invoices|length }} invoice(s)"
"""
    config = make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={"chase": workflow},
        config=smtp_config(smtp_server.port).replace(
            "people:\n",
            "people:\n  dana: {name: Dana Roe, email: dana@acme.example, specialist: true}\n",
        ),
    )
    _code, doc = real_run(config, "2026-03-11")
    assert [(a["customer_id"], a["action"], a["status"]) for a in doc["actions"]][:4] == [
        ("C1", "assign", "done"),
        ("C1", "status", "done"),
        ("C1", "task", "done"),
        ("C1", "note", "done"),
    ]
    # the note goes by email to the specialist the assign action set just before it
    assert len(doc["actions"]) == 12
    assert [m.rcpt_tos for m in smtp_server.messages] == [["dana@acme.example"]] * 3
    conn = sqlite3.connect(tmp_path / "ar" / "arflow.db")
    assert conn.execute("SELECT target, value FROM statuses ORDER BY 1").fetchall() == [
        (f"invoice:INV-{n}", "In collections") for n in (1, 2, 3)
    ]
    assert conn.execute(
        "SELECT customer_id, title, kind, assignee, due FROM tasks ORDER BY 1"
    ).fetchall() == [
        (f"C{n}", f"Call {name} Ltd", "call", "dana", "2026-03-13")
        for n, name in ((1, "Alpha"), (2, "Beta"), (3, "Gamma"))
    ]
    assert conn.execute("SELECT customer_id, text FROM notes ORDER BY 1").fetchall() == [
        (f"C{n}", "Chased 1 invoice(s)") for n in (1, 2, 3)
    ]
    assert conn.execute("SELECT customer_id, person FROM specialists ORDER BY 1").fetchall() == [
        (f"C{n}", "dana") for n in (1, 2, 3)
    ]
    conn.close()
    assert real_run(config, "2026-03-12")[1]["actions"] == []


def test_a_schema_1_database_is_upgraded_and_its_sequences_kept(
    folder, smtp_server, real_run, cli, tmp_path
):
    """A state file written before sequences had their own table: a dry run upgrades it, the
    by-hand assignments stay, the started sequences move over, nothing is resent."""
    from arflow.state import MIGRATIONS

    config = folder()
    path = tmp_path / "ar" / "arflow.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[1] + "PRAGMA user_version = 1;")
    conn.executemany(
        "INSERT INTO assignments VALUES (?, ?, ?, ?, '2026-03-01')",
        [("C1", "chase", "2026-03-05", "cli"), ("C2", "chase", "2026-03-06", "run")],
    )
    conn.commit()
    conn.close()
    cli("run", "--dry-run", "--as-of", "2026-03-11", "--config", config)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute(
        "SELECT customer_id, workflow, since, source FROM assignments"
    ).fetchall() == [("C1", "chase", "2026-03-05", "cli")]
    assert conn.execute(
        "SELECT customer_id, workflow, since, ended_on FROM sequences"
    ).fetchall() == [("C2", "chase", "2026-03-06", None)]
    conn.close()


def test_the_channel_known_before_rendering_is_the_one_each_message_takes(tmp_path):
    """A run logs in to every channel its actions need before anything is rendered or recorded
    (bad credentials stop it with nothing sent); `channel_kind` must agree with `compose`."""
    from datetime import date, timedelta

    from arflow.actions import channel_kind
    from arflow.compose import compose
    from arflow.config_location import find_config
    from arflow.planner.plan_types import Assignment, PastState
    from arflow.project import load_project
    from arflow.scaffold import write_scaffold
    from arflow.sources import load_ledger
    from arflow.tonight import plan_today

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    customers = tmp_path / "ar" / "customers.csv"  # C003 without a specialist: notes stay notes
    customers.write_text(
        customers.read_text().replace("contoso.example,,dana,", "contoso.example,,,")
    )
    (tmp_path / "ar" / "workflows" / "notes.yaml").write_text(
        "anchor: assigned\nsteps:\n  - {id: first, day: 0, actions: [{note: Called}]}\n"
    )
    project = load_project(find_config(tmp_path / "ar" / "arflow.yaml", tmp_path))
    ledger = load_ledger(project.config)
    # the example's AR Workflow (note, email, sms, task, status, notify, assign) for C002, a
    # note to nobody for C003,
    # the other example workflows for everyone else
    past = PastState(
        assignments={
            "C002": Assignment("ar-workflow", date(2026, 3, 2)),
            "C003": Assignment("notes", date(2026, 3, 2)),
        }
    )
    seen = set()
    for offset in range(0, 60, 3):
        result = plan_today(project, ledger, past, date(2026, 3, 2) + timedelta(days=offset))
        failed = []
        for item in compose(result, ledger, project, failed, b"key"):
            expected = channel_kind(item.action, project.config)
            assert expected == (item.message.kind if item.message else None), item.action
            seen.add((item.action.kind, expected))
        assert failed == []
    assert seen >= {
        ("email", "email"),
        ("sms", "sms"),
        ("notify", "email"),
        ("note", "email"),
        ("note", None),
        ("task", None),
        ("status", None),
        ("assign", None),
    }


# --- the dry run is the real pipeline (STYLE 4) -------------------------------------------------
ONLY_C2 = "{% if customer.id == 'C2' %}{{ invoice.extra.po_number }}{% endif %}"


def test_every_error_a_real_run_meets_the_dry_run_reports_first(tmp_path, http_server, cli):
    """A template that fails for one customer, in every part of every kind of action: the dry
    run reports exactly the errors the real run then meets, and the other messages go on."""
    workflow = f"""\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - email: mail
      - email: page
      - sms: text
      - webhook: {{url: "{http_server.url}/erp", template: erp}}
      - notify: {{to: controller, template: internal}}
      - task: {{kind: call, title: "Call {ONLY_C2}", due_in: 1}}
      - note: "Noted {ONLY_C2}"
      - status: "Chased {ONLY_C2}"
"""
    templates = {
        "mail.subject.j2": "Reminder",
        "mail.txt.j2": "Dear {{ customer.name }},\n" + ONLY_C2,
        "page.subject.j2": "Hello",
        "page.txt.j2": "Hello",
        "page.html.j2": "<p>Hello</p>\n\n" + ONLY_C2,
        "text.sms.j2": "Pay now " + ONLY_C2,
        "erp.json.j2": '{"c": {{ customer.id|tojson }}}' + ONLY_C2,
        "internal.subject.j2": "[AR] " + ONLY_C2,
        "internal.txt.j2": "Late",
    }
    invoices = INVOICES.replace("ap@beta.example,,", "ap@beta.example,+12025550102,")
    config = make_folder(
        tmp_path / "ar",
        invoices=invoices,
        workflows={"chase": workflow},
        templates=templates,
        config=smtp_config(0).replace(
            "  email: {transport: smtp, host: 127.0.0.1, port: 0, timeout: 5}",
            "  email: {transport: outbox, dir: outbox}\n  sms: {transport: outbox, dir: outbox}",
        ),
    )
    dry = cli(
        "run",
        "--dry-run",
        "--format",
        "json",
        "--as-of",
        "2026-03-11",
        "--config",
        config,
        expect=3,
    )
    real = cli("run", "--format", "json", "--as-of", "2026-03-11", "--config", config, expect=3)
    dry, real = json.loads(dry.stdout), json.loads(real.stdout)
    assert dry["errors"] == real["errors"]
    assert [(e["file"], e["line"]) for e in dry["errors"]] == [
        ("templates/mail.txt.j2", 2),
        ("templates/page.html.j2", 3),
        ("templates/text.sms.j2", 1),
        ("templates/erp.json.j2", 1),
        ("templates/internal.subject.j2", 1),
        ("workflows/chase.yaml", 11),
        ("workflows/chase.yaml", 12),
        ("workflows/chase.yaml", 13),
    ]
    assert all("C2" in e["message"] and "po_number" in e["message"] for e in dry["errors"])
    # the other customers' 15 actions (C3 has no phone) are planned, then delivered
    done = [(a["customer_id"], a["action"]) for a in real["actions"]]
    assert [(a["customer_id"], a["action"]) for a in dry["actions"]] == done
    kinds = ("email", "email", "sms", "webhook", "notify", "task", "note", "status")
    assert sorted(done) == sorted(
        [("C1", k) for k in kinds] + [("C3", k) for k in kinds if k != "sms"]
    )
    assert [a["status"] for a in dry["actions"]] == ["planned"] * 15
    assert [r.json for r in http_server.requests] == [{"c": "C1"}, {"c": "C3"}]


def test_the_dry_run_renders_what_the_real_run_sends(tmp_path, cli):
    """Every message the dry run hands to its recording channels is, byte for byte (but the
    Date header), what the real run then writes into the outbox: with the same Message-IDs,
    keyed by the state database's key (`arflow state init` made it; without a database a dry
    run keys them with a throwaway one: test_inbox_trust.py)."""
    import re
    from datetime import date

    from arflow.channels import RunChannels
    from arflow.channels.mime import email_bytes
    from arflow.deliver import run
    from arflow.project import load_project
    from arflow.scaffold import write_scaffold
    from arflow.sources import load_ledger

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    cli("state", "init", "--config", config)
    project = load_project(config)
    channels = RunChannels(project.config, dry_run=True, keep=True)
    email, sms = channels.get("email"), channels.get("sms")
    run(project, load_ledger(project.config), date(2026, 3, 16), channels, dry_run=True)
    cli("run", "--as-of", "2026-03-16", "--config", config)
    outbox = tmp_path / "ar" / "outbox"
    undated = lambda data: re.sub(rb"Date: [^\r]*\r\n", b"", data)  # noqa: E731
    assert email.kept and sms.kept
    assert {f"{m.name}.eml": undated(email_bytes(m, keep_bcc=True)) for m, _ in email.kept} == {
        p.name: undated(p.read_bytes()) for p in outbox.glob("*.eml")
    }
    assert {f"{m.name}.sms.txt": f"To: {', '.join(m.to)}\n\n{m.body}\n" for m, _ in sms.kept} == {
        p.name: p.read_text() for p in outbox.glob("*.sms.txt")
    }
    assert len(email.kept) == 10 and all(data for _, data in email.kept)


def test_an_appended_variable_the_source_lacks_fails_validate_with_file_and_line(tmp_path, cli):
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    for name in ("reminder", "past-due"):
        body = tmp_path / "ar" / "templates" / f"{name}.txt.j2"
        body.write_text(body.read_text() + "\n{{ invoice.extra.po_number }}")
    lines = {
        n: (tmp_path / "ar" / "templates" / f"{n}.txt.j2").read_text().count("\n") + 1
        for n in ("reminder", "past-due")
    }
    result = cli("validate", "--config", config, expect=1)
    assert [line.split(": ")[0] for line in result.stderr.splitlines()] == [
        f"templates/past-due.txt.j2:{lines['past-due']}",
        f"templates/reminder.txt.j2:{lines['reminder']}",
        "2 problem(s) found; nothing was done (2030-01-15T12:00:00Z).",
    ]
    cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", config, expect=1)
    # once the source has the column, both validate and the dry run pass
    invoices = tmp_path / "ar" / "invoices.csv"
    rows = invoices.read_text().splitlines()
    invoices.write_text("\n".join([rows[0] + ",po_number"] + [r + ",PO-7" for r in rows[1:]]))
    cli("validate", "--config", config)
    dry = cli("run", "--dry-run", "--format", "json", "--as-of", "2026-03-16", "--config", config)
    assert json.loads(dry.stdout)["errors"] == []
    assert (
        not (tmp_path / "ar" / "outbox").exists() and not (tmp_path / "ar" / "arflow.db").exists()
    )


# --- no real run in the future; a past one catches up --------------------------------------------
def test_a_real_run_dated_after_today_is_refused_and_a_dry_run_is_not(
    folder, smtp_server, cli, run_json, tmp_path, clock
):
    config = folder().parent / "arflow.yaml"
    config.write_text(config.read_text().replace("timezone: UTC", "timezone: America/New_York"))
    clock("2026-03-12T02:30:00")  # still the 11th in New York
    result = cli("run", "--as-of", "2026-03-12", "--config", config, expect=2)
    assert result.stderr.strip() == (
        "error: --as-of 2026-03-12 is after today (2026-03-11 in America/New_York): a real run "
        "cannot send tomorrow's reminders today. Use --dry-run to see them. (2026-03-12T02:30:00Z)"
    )
    assert smtp_server.messages == [] and not (tmp_path / "ar" / "arflow.db").exists()
    _, doc = run_json(config, "2026-03-12")
    assert len(doc["actions"]) == 3
    cli("run", "--config", config)  # today, the 11th: allowed
    assert len(smtp_server.messages) == 3


def test_a_past_date_catches_up_and_history_shows_when_it_really_went(
    folder, smtp_server, real_run, cli, clock, monkeypatch
):
    config = folder()
    clock("2026-03-25T12:00:00")
    monkeypatch.setattr("arflow.state.clock.utc_now", lambda: "2026-03-25T12:00:07+00:00")
    real_run(config, "2026-03-11")  # a missed night, run two weeks late
    rows = history(cli, config)
    assert [(r["as_of"], r["state"]) for r in rows] == [("2026-03-11", "sent")] * 3
    # recorded at the real moment, which the table shows beside the run's date
    assert {r["updated_at"] for r in rows} == {"2026-03-25T12:00:07+00:00"}
    line = cli("history", "--config", config).stdout.splitlines()[1].split("\t")
    assert line[0] == "2026-03-11" and line[10] == rows[0]["updated_at"][:16].replace("T", " ")


# --- adopting arflow on a ledger that was chased before -------------------------------------------
BACKLOG = """\
number,customer_id,customer_name,email,issue_date,due_date,amount
OLD-1,C1,Alpha Ltd,ap@alpha.example,2026-01-01,2026-01-31,100.00
OLD-2,C2,Beta Ltd,ap@beta.example,2026-02-20,2026-03-08,200.00
NEW-3,C3,Gamma Ltd,ap@gamma.example,2026-03-01,2026-03-25,300.00
"""


def test_baseline_marks_what_is_due_and_the_first_night_sends_only_what_comes_next(
    folder, smtp_server, real_run, cli
):
    config = folder(invoices=BACKLOG)
    result = cli(
        "run", "--baseline", "--format", "json", "--as-of", "2026-03-12", "--config", config
    )
    doc = json.loads(result.stdout)
    # OLD-1 is 40 days late (`second` due, `first` superseded), OLD-2 4 days (`first` due)
    assert [(a["invoices"], a["step"], a["status"]) for a in doc["actions"]] == [
        (["OLD-1"], "second", "baseline"),
        (["OLD-2"], "first", "baseline"),
    ]
    assert [(s["invoices"], s["step"], s["reason"]) for s in doc["skipped"]] == [
        (["OLD-1"], "first", "superseded")
    ]
    assert smtp_server.messages == []
    table = cli("run", "--baseline", "--as-of", "2026-03-12", "--config", config)
    assert "0 action(s) marked baseline" in table.stdout  # a second baseline: nothing left
    assert [(r["key"], r["state"]) for r in history(cli, config)] == [
        ("invoice:OLD-1/chase/first/0", "skipped"),
        ("invoice:OLD-1/chase/second/0", "baseline"),
        ("invoice:OLD-2/chase/first/0", "baseline"),
    ]
    assert "\tbaseline\tbaseline\t" in cli("history", "--config", config).stdout
    # the first real nights: OLD-2 gets its second reminder when due, NEW-3 its first; the
    # final notice of OLD-1 never goes out again
    real_run(config, "2026-03-13")
    assert smtp_server.messages == []
    _, doc = real_run(config, "2026-03-18")
    assert [(a["invoices"], a["step"]) for a in doc["actions"]] == [(["OLD-2"], "second")]
    _code, doc = real_run(config, "2026-03-26")
    assert [(a["invoices"], a["step"]) for a in doc["actions"]] == [(["NEW-3"], "first")]
    assert len(smtp_server.messages) == 2


def test_baseline_is_not_a_dry_run(folder, cli):
    result = cli("run", "--baseline", "--dry-run", "--config", folder(), expect=2)
    assert "--baseline records what is due; it cannot be a --dry-run" in result.output


# --- the rules each real fault checks ---------------------------------------------------------------
def test_a_webhook_408_or_429_is_retried_and_a_404_is_not(folder, http_server, real_run, cli):
    workflow = f"""\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - webhook: {{url: "{http_server.url}/erp", template: erp}}
"""
    config = folder(
        workflows={"chase": workflow}, templates={"erp.json.j2": '{"c": {{ customer.id|tojson }}}'}
    )
    http_server.replies = [(408, {}), (429, {}), (404, {})]
    real_run(config, "2026-03-11", expect=3)
    assert states(cli, config) == {
        "invoice:INV-1/chase/first/0": ("failed", False, 1),
        "invoice:INV-2/chase/first/0": ("failed", False, 1),
        "invoice:INV-3/chase/first/0": ("failed", True, 1),
    }
    _code, doc = real_run(config, "2026-03-12")
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("C1", "sent"),
        ("C2", "sent"),
    ]
    assert [json.loads(r.body)["c"] for r in http_server.requests] == ["C1", "C2", "C3", "C1", "C2"]


@pytest.mark.parametrize(
    "setting, what, problem",
    [
        ("subject", "subject", "contains the control character U+000A"),
        ("company", "company name", "contains an RFC 2047 encoded word (=?…?=)"),
        ("from", "from", "contains an RFC 2047 encoded word (=?…?=)"),
    ],
)
def test_unsafe_subject_sender_or_company_name_stops_the_message(
    folder, smtp_server, real_run, setting, what, problem
):
    templates = dict(SIMPLE_TEMPLATES)
    email = ""
    if setting == "subject":
        templates["reminder.subject.j2"] = (
            "Reminder{% if customer.id == 'C2' %}{{ '\\n' }}Bcc: x@evil.example{% endif %}"
        )
    elif setting == "from":
        email = ", from: '=?utf-8?q?ar?=@acme.example'"
    config = folder(templates=templates, email=email)
    if setting == "company":
        config.write_text(
            config.read_text().replace("name: Acme Ltd", "name: '=?utf-8?q?Acme=0ABcc:_x?='")
        )
    _code, doc = real_run(config, "2026-03-11", expect=3)
    sent = ["C1", "C3"] if setting == "subject" else []
    assert [a["customer_id"] for a in doc["actions"]] == sent
    assert len(smtp_server.messages) == len(sent)
    assert all(
        f"the {what} {problem}, which could forge mail headers" in e["message"]
        for e in doc["errors"]
    )
    assert len(doc["errors"]) == 3 - len(sent)


def test_one_refused_recipient_does_not_stop_the_others(folder, smtp_server, real_run, cli):
    invoices = INVOICES.replace("ap@alpha.example", '"ap@alpha.example; boss@alpha.example"')
    config = folder(invoices=invoices)
    smtp_server.handler.rcpt_replies = {"boss@alpha.example": "550 5.1.1 no such user"}
    _code, doc = real_run(config, "2026-03-11")
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("C1", "sent"),
        ("C2", "sent"),
        ("C3", "sent"),
    ]
    assert smtp_server.messages[0].rcpt_tos == ["ap@alpha.example"]
    row = {r["key"]: r for r in history(cli, config)}["invoice:INV-1/chase/first/0"]
    assert row["state"] == "sent" and "boss@alpha.example 550 5.1.1 no such user" in row["error"]


def test_a_sequence_s_status_action_sets_the_customer_s_status(
    folder, smtp_server, real_run, tmp_path
):
    workflow = """\
anchor: assigned
steps:
  - id: start
    day: 0
    actions:
      - status: "In collections"
"""
    config = folder(workflows={"chase": workflow})
    real_run(config, "2026-03-11")
    conn = sqlite3.connect(tmp_path / "ar" / "arflow.db")
    assert conn.execute("SELECT target, value FROM statuses ORDER BY 1").fetchall() == [
        ("customer:C1", "In collections"),
        ("customer:C2", "In collections"),
        ("customer:C3", "In collections"),
        ("invoice:INV-1", "In collections"),
        ("invoice:INV-2", "In collections"),
        ("invoice:INV-3", "In collections"),
    ]
    conn.close()


WEEKDAYS = """\
name: Chase in business days
anchor: due_date
business_days: true
steps:
  - id: first
    day: 1
    actions:
      - email: reminder
  - id: final
    day: 20
    actions:
      - email: reminder
      - sms: reminder
"""


def test_baseline_settles_every_due_step_whatever_holds_it_today(
    folder, smtp_server, real_run, cli
):
    """A weekend, a pause, a promise or a missing address does not keep a step out of the
    baseline: the first business day after it sends nothing old."""
    config = folder(invoices=BACKLOG, workflows={"chase": WEEKDAYS})
    cli("pause", "customer", "C2", "--as-of", "2026-03-14", "--config", config)
    cli("promise", "OLD-1", "--date", "2026-03-20", "--as-of", "2026-03-14", "--config", config)
    doc = json.loads(
        cli(
            "run", "--baseline", "--format", "json", "--as-of", "2026-03-14", "--config", config
        ).stdout
    )  # a Saturday
    assert [(a["invoices"], a["step"], a["action"]) for a in doc["actions"]] == [
        (["OLD-1"], "final", "email"),
        (["OLD-2"], "first", "email"),
    ]
    # OLD-1's customer has no phone: the SMS of its final step is settled as well
    assert [(s["invoices"], s["step"], s["reason"]) for s in doc["skipped"]] == [
        (["OLD-1"], "first", "superseded"),
        (["OLD-1"], "final", "baseline"),
    ]
    cli("resume", "customer", "C2", "--config", config)
    cli("resume", "invoice", "OLD-1", "--config", config)
    invoices = config.parent / "invoices.csv"  # C1's phone number arrives
    rows = invoices.read_text().splitlines()
    invoices.write_text(
        "\n".join([rows[0] + ",phone", rows[1] + ",+12025550101"] + [r + "," for r in rows[2:]])
        + "\n"
    )
    _, doc = real_run(config, "2026-03-16")  # Monday
    assert doc["actions"] == [] and smtp_server.messages == []


def test_baseline_is_refused_on_a_live_ledger_unless_forced(folder, smtp_server, real_run, cli):
    config = folder(invoices=BACKLOG)
    real_run(config, "2026-03-12")
    sent = len(smtp_server.messages)
    result = cli("run", "--baseline", "--as-of", "2026-03-20", "--config", config, expect=2)
    assert "already records actions carried out: this ledger is live" in result.stderr
    doc = json.loads(
        cli(
            "run",
            "--baseline",
            "--force",
            "--format",
            "json",
            "--as-of",
            "2026-03-20",
            "--config",
            config,
        ).stdout
    )
    assert [(a["invoices"], a["step"]) for a in doc["actions"]] == [(["OLD-2"], "second")]
    assert len(smtp_server.messages) == sent


def test_the_library_refuses_a_future_real_run_too(folder, smtp_server):
    from datetime import date

    from arflow.deliver import baseline, run
    from arflow.errors import Refused
    from arflow.project import load_project
    from arflow.sources import load_ledger

    project = load_project(folder())
    ledger = load_ledger(project.config)
    for call in (run, baseline):
        with pytest.raises(Refused, match="--as-of 2026-03-12 is after today"):
            call(project, ledger, date(2026, 3, 12), today=date(2026, 3, 11))
    assert smtp_server.messages == []
    assert run(
        project, ledger, date(2026, 3, 12), dry_run=True, today=date(2026, 3, 11)
    ).plan.actions  # a dry run may look ahead


def test_half_a_character_is_reported_for_its_message_and_the_last_one_stays_sent(
    folder, smtp_server, cli
):
    """A lone surrogate cannot be written as UTF-8: the message that renders it is reported
    (dry run and real run alike) before anything is recorded, and the message before it keeps
    its `sent` record instead of becoming `unknown`."""
    templates = {
        **SIMPLE_TEMPLATES,
        "reminder.subject.j2": "Reminder{% if customer.id == 'C2' %} {{ '\\ud83d' }}{% endif %}",
    }
    config = folder(templates=templates)
    args = ("--format", "json", "--as-of", "2026-03-11", "--config", config)
    dry = json.loads(cli("run", "--dry-run", *args, expect=3).stdout)
    real = json.loads(cli("run", *args, expect=3).stdout)
    assert dry["errors"] == real["errors"]
    [error] = real["errors"]
    assert (error["file"], error["value"]) == ("templates/reminder.subject.j2", "C2")
    assert "U+D83D, half of a character" in error["message"]
    assert [(a["customer_id"], a["status"]) for a in real["actions"]] == [
        ("C1", "sent"),
        ("C3", "sent"),
    ]
    assert {r["customer_id"]: r["state"] for r in history(cli, config)} == {
        "C1": "sent",
        "C3": "sent",
    }
    assert len(smtp_server.messages) == 2


def test_the_last_line_says_how_many_failed_and_why_once(folder, smtp_server, cli):
    config = folder()
    smtp_server.handler.data_replies = {
        n: "451 4.3.0 mailbox busy, try again later" for n in range(3)
    }
    out = cli("run", "--as-of", "2026-03-11", "--config", config, expect=3).stdout
    assert out.splitlines()[-1] == (
        "2026-03-11: 3 invoices, 3 open, 3 action(s): 3 failed (message refused: 451 4.3.0 "
        "mailbox busy, try again later), 0 skipped, 0 error(s)"
    )
    smtp_server.handler.data_replies = {3: "554 5.7.1 rejected as spam"}  # counted on
    out = cli("run", "--as-of", "2026-03-12", "--config", config, expect=3).stdout
    assert out.splitlines()[-1] == (
        "2026-03-12: 3 invoices, 3 open, 3 action(s): 2 sent, 1 failed (message refused: 554 "
        "5.7.1 rejected as spam), 0 skipped, 0 error(s)"
    )
