"""A run is bounded in time whatever a server does (SPEC 6, `arflow.deadline`): servers on
loopback that answer one byte at a time (an SMTP `220-` tarpit, an HTTP answer that trickles)
hold arflow at most 3 × `timeout:` per conversation, and what did not finish is `unknown` or a
transient failure as SPEC 6 says. arflow runs as a separate process: without deadlines these
servers would hold it for hours; the test stops it after HUNG seconds and fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_folder
from tests.servers import TEST_CA, HttpServer, SmtpServer, server_tls, twilio_created
from tests.tarpits import ScriptServer, http_trickle, smtp_tarpit
from tests.test_deliver import CHASE, INVOICES, SMS_INVOICES, SMS_WORKFLOW, smtp_config

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 1  # `timeout:` in the configs below
DEADLINE = 3 * TIMEOUT  # the rule: a conversation may take 3 × timeout of the server's time
START = 8  # seconds for Python to start, read the folder and record the run, generously
HUNG = 60  # a run still going after this is held by a server (without deadlines: hours)


def arflow(config: Path, *args: str, env: dict[str, str] | None = None):
    """`python -m arflow ARGS --config CONFIG` as its own process → (result, seconds taken)."""
    start = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "arflow", *args, "--config", str(config)],
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            capture_output=True,
            text=True,
            timeout=HUNG,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"arflow {' '.join(args)} was still going after {HUNG} s")
    return result, time.monotonic() - start


def history(cli, config: Path) -> dict[str, dict]:
    doc = json.loads(cli("history", "--format", "json", "--config", config).stdout)
    return {r["key"]: r for r in doc["actions"]}


def outcomes(cli, config: Path) -> dict[str, tuple]:
    return {k: (r["state"], r["permanent"], r["attempts"]) for k, r in history(cli, config).items()}


@pytest.fixture
def tarpit():
    servers: list[ScriptServer] = []

    def start(talk) -> ScriptServer:
        servers.append(ScriptServer(talk))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def smtp_folder(root: Path, port: int, extra: str = "") -> Path:
    return make_folder(
        root,
        invoices=INVOICES,
        workflows={"chase": CHASE},
        config=smtp_config(port, extra).replace("timeout: 5", f"timeout: {TIMEOUT}"),
    )


FIRST = [f"invoice:INV-{n}/chase/first/0" for n in (1, 2, 3)]


# --- SMTP ------------------------------------------------------------------------------------
def test_an_smtp_server_greeting_one_byte_at_a_time_fails_the_night_transiently(
    tmp_path, cli, tarpit
):
    server = tarpit(smtp_tarpit("greeting"))
    config = smtp_folder(tmp_path / "ar", server.port)
    result, took = arflow(config, "run", "--as-of", "2026-03-11")
    assert result.returncode == 3, result.stderr
    assert took < DEADLINE + START
    assert server.connections == 1  # not once per email
    assert outcomes(cli, config) == {key: ("failed", False, 1) for key in FIRST}
    assert history(cli, config)[FIRST[0]]["error"] == (
        f"SMTP server 127.0.0.1:{server.port} did not greet and log in within {DEADLINE} s "
        f"(3 × timeout: {TIMEOUT})"
    )


def test_a_reply_to_data_that_trickles_is_unknown_and_the_rest_wait_for_the_next_run(
    tmp_path, cli, tarpit
):
    server = tarpit(smtp_tarpit("DATA"))
    config = smtp_folder(tmp_path / "ar", server.port)
    result, took = arflow(config, "run", "--as-of", "2026-03-11")
    assert result.returncode == 3, result.stderr
    # one deadline to log in (a moment), one for the first message; none for the others
    assert took < 2 * DEADLINE + START
    assert server.taken == 1 and server.connections == 1
    assert outcomes(cli, config) == {
        FIRST[0]: ("unknown", False, 1),  # handed over: it may have been delivered
        FIRST[1]: ("failed", False, 1),
        FIRST[2]: ("failed", False, 1),
    }
    rows = history(cli, config)
    assert rows[FIRST[0]]["error"] == (
        f"no reply within {DEADLINE} s (3 × timeout: {TIMEOUT}) after the message was handed "
        "over; it may have been delivered"
    )
    assert rows[FIRST[1]]["error"] == (
        f"SMTP server 127.0.0.1:{server.port} stopped answering in time earlier in this run; "
        "a later run tries again"
    )
    # the next night, with a server that answers: the two that never went, never the unknown
    good = SmtpServer()
    try:
        config.write_text(config.read_text().replace(f"port: {server.port}", f"port: {good.port}"))
        result, _ = arflow(config, "run", "--as-of", "2026-03-12")
        assert result.returncode == 0, result.stderr
        assert sorted(m.rcpt_tos[0] for m in good.messages) == [
            "ap@beta.example",
            "ap@gamma.example",
        ]
    finally:
        good.stop()
    assert outcomes(cli, config) == {
        FIRST[0]: ("unknown", False, 1),
        FIRST[1]: ("sent", False, 2),
        FIRST[2]: ("sent", False, 2),
    }


def test_a_reply_to_mail_from_that_trickles_is_a_transient_failure(tmp_path, cli, tarpit):
    server = tarpit(smtp_tarpit("MAIL"))
    config = smtp_folder(tmp_path / "ar", server.port)
    result, took = arflow(config, "run", "--as-of", "2026-03-11")
    assert result.returncode == 3, result.stderr
    assert took < 2 * DEADLINE + START
    assert getattr(server, "taken", 0) == 0
    assert outcomes(cli, config) == {key: ("failed", False, 1) for key in FIRST}
    assert history(cli, config)[FIRST[0]]["error"] == (
        f"SMTP server 127.0.0.1:{server.port} did not answer within {DEADLINE} s "
        f"(3 × timeout: {TIMEOUT})"
    )


def test_doctor_against_an_smtp_tarpit_fails_the_check_in_time(tmp_path, tarpit):
    server = tarpit(smtp_tarpit("greeting"))
    config = smtp_folder(tmp_path / "ar", server.port)
    result, took = arflow(config, "doctor")
    assert result.returncode == 1
    assert took < DEADLINE + START
    assert (
        f"FAIL  email: SMTP server 127.0.0.1:{server.port} did not greet and log in within "
        f"{DEADLINE} s" in result.stdout
    )


# --- HTTP: webhooks, notify, Twilio, the healthcheck ------------------------------------------
WEBHOOKS = """\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - webhook: {url: "URL/erp", template: erp}
      - notify: {to: controller, template: internal}
"""


def test_a_webhook_that_trickles_its_answer_is_unknown_in_time(tmp_path, cli, tarpit):
    server = tarpit(http_trickle)
    config = make_folder(
        tmp_path / "ar",
        invoices="".join(INVOICES.splitlines(keepends=True)[:2]),  # one customer
        workflows={"chase": WEBHOOKS.replace("URL", server.url)},
        templates={"erp.json.j2": "{}", "internal.json.j2": '{"text": "late"}'},
        config=smtp_config(1).replace(
            "  email: {transport: smtp, host: 127.0.0.1, port: 1, timeout: 5}",
            f"  notify: {{transport: webhook, url: '{server.url}/chat'}}\n"
            f"  webhook: {{timeout: {TIMEOUT}}}",
        ),
    )
    result, took = arflow(config, "run", "--as-of", "2026-03-11")
    assert result.returncode == 3, result.stderr
    assert took < 2 * DEADLINE + START  # the webhook and the notice: one deadline each
    assert server.requests == 2
    rows = history(cli, config)
    assert {k: r["state"] for k, r in rows.items()} == {
        "invoice:INV-1/chase/first/0": "unknown",  # it went out: the receiver may have it
        "invoice:INV-1/chase/first/1": "unknown",
    }
    assert rows["invoice:INV-1/chase/first/0"]["error"] == (
        f"no answer from {server.url}/***: not finished within {DEADLINE} s "
        f"(3 × timeout: {TIMEOUT})"
    )


def test_twilio_answering_one_byte_at_a_time_leaves_the_sms_unknown(
    tmp_path, cli, tarpit, http_server
):
    server = tarpit(http_trickle)
    config = make_folder(
        tmp_path / "ar",
        invoices="".join(SMS_INVOICES.splitlines(keepends=True)[:2]),
        workflows={"chase": SMS_WORKFLOW},
        config=smtp_config(1).replace(
            "  email: {transport: smtp, host: 127.0.0.1, port: 1, timeout: 5}",
            "  sms: {transport: twilio, account_sid_env: ARFLOW_TEST_SID, auth_token_env: "
            f"ARFLOW_TEST_TOKEN, from: '+12025550100', base_url: '{server.url}', "
            f"timeout: {TIMEOUT}}}",
        ),
    )
    env = {"ARFLOW_TEST_SID": "AC" + "1" * 32, "ARFLOW_TEST_TOKEN": "token"}
    result, took = arflow(config, "run", "--as-of", "2026-03-11", env=env)
    assert result.returncode == 3, result.stderr
    assert took < DEADLINE + START
    [row] = history(cli, config).values()
    assert (row["state"], row["error"]) == (
        "unknown",
        f"no answer from Twilio: not finished within {DEADLINE} s (3 × timeout: {TIMEOUT})",
    )
    # the same client against a server that answers: the message is created as before
    http_server.default = (201, twilio_created)
    config.write_text(config.read_text().replace(server.url, http_server.url))
    invoices = config.parent / "invoices.csv"
    invoices.write_text(invoices.read_text().replace("INV-1,C1,", "INV-9,C9,"))
    result, _ = arflow(config, "run", "--as-of", "2026-03-11", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    [request] = http_server.requests
    assert request.form["To"] == "+12025550101"
    assert request.basic_auth == ("AC" + "1" * 32, "token")


def test_a_healthcheck_monitor_that_trickles_is_a_warning_in_time(tmp_path, tarpit):
    from datetime import date

    from arflow.scaffold import write_scaffold

    server = tarpit(http_trickle)
    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    config.write_text(
        config.read_text()
        + f"healthcheck_url: {server.url}/ping/abc-123\nhealthcheck_timeout: {TIMEOUT}\n"
    )
    result, took = arflow(config, "run", "--as-of", "2026-03-16")
    assert result.returncode == 0, result.stderr  # the monitor never changes the outcome
    assert took < DEADLINE + START
    assert server.requests == 1
    assert (
        "warning: arflow.yaml: healthcheck_url: no answer from "
        f"http://127.0.0.1:{server.port}/*** (not finished within {DEADLINE} s (3 × timeout: "
        f"{TIMEOUT}))"
    ) in result.stderr


# --- TLS: the same conversations, certificates checked, deadlines kept -------------------------
def test_tls_sessions_check_the_certificate_and_send(tmp_path, cli, monkeypatch):
    for tls, setting in (("implicit", "ssl: true"), ("starttls", "starttls: true")):
        server = SmtpServer(tls=tls)
        try:
            config = make_folder(
                tmp_path / tls,
                invoices=INVOICES,
                workflows={"chase": CHASE},
                config=smtp_config(server.port, email=f", {setting}"),
            )
            # a certificate nobody vouches for: refused, nothing sent
            monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))
            result = cli("run", "--as-of", "2026-03-11", "--config", config, expect=1)
            assert "CERTIFICATE_VERIFY_FAILED" in result.stderr and server.messages == []
            monkeypatch.setenv("SSL_CERT_FILE", TEST_CA)
            cli("run", "--as-of", "2026-03-11", "--config", config)
            assert len(server.messages) == 3
        finally:
            server.stop()


def test_an_https_webhook_that_trickles_is_unknown_in_time(tmp_path, cli):
    good = HttpServer(tls=True)
    slow = ScriptServer(http_trickle, tls=server_tls())
    try:
        workflow = WEBHOOKS.replace("URL/erp", f"{good.url}/erp")
        config = make_folder(
            tmp_path / "ar",
            invoices="".join(INVOICES.splitlines(keepends=True)[:2]),
            workflows={"chase": workflow},
            templates={"erp.json.j2": "{}", "internal.json.j2": '{"text": "late"}'},
            config=smtp_config(1).replace(
                "  email: {transport: smtp, host: 127.0.0.1, port: 1, timeout: 5}",
                f"  notify: {{transport: webhook, url: '{slow.url}/chat'}}\n"
                f"  webhook: {{timeout: {TIMEOUT}}}",
            ),
        )
        result, took = arflow(
            config, "run", "--as-of", "2026-03-11", env={"SSL_CERT_FILE": TEST_CA}
        )
    finally:
        good.stop()
        slow.stop()
    assert result.returncode == 3, result.stderr
    assert took < DEADLINE + START
    assert [r.path for r in good.requests] == ["/erp"]
    rows = history(cli, config)
    assert {k: r["state"] for k, r in rows.items()} == {
        "invoice:INV-1/chase/first/0": "sent",
        "invoice:INV-1/chase/first/1": "unknown",
    }
    assert rows["invoice:INV-1/chase/first/1"]["error"] == (
        f"no answer from {slow.url}/***: not finished within {DEADLINE} s (3 × timeout: {TIMEOUT})"
    )


def test_a_slow_but_steady_server_gets_a_deadline_for_each_email(tmp_path, cli):
    """Each email is a conversation of its own: a server that takes 0.4 s over each message
    delivers a night that takes longer than one deadline in all."""
    server = SmtpServer()
    server.handler.delay = 0.4
    invoices = INVOICES.splitlines(keepends=True)[0] + "".join(
        f"INV-{n},C{n},Customer {n},ap@c{n}.example,,2026-03-01,2026-03-10,{n}00.00\n"
        for n in range(1, 11)
    )
    try:
        config = make_folder(
            tmp_path / "ar",
            invoices=invoices,
            workflows={"chase": CHASE},
            config=smtp_config(server.port).replace("timeout: 5", f"timeout: {TIMEOUT}"),
        )
        start = time.monotonic()
        cli("run", "--as-of", "2026-03-11", "--config", config)
        assert time.monotonic() - start > DEADLINE  # longer than one deadline in all
        assert len(server.messages) == 10
    finally:
        server.stop()
