"""SPEC 7: no secret in what arflow prints or stores. A web address's path and query are often a
secret (a Slack-style webhook, a monitor's check id, a payment link's token) and its user name
and password always are: every address arflow prints or stores is cut to its scheme and host by
one `redact`, unless `public_urls:` lists it; a password never shows. Checked where a user sees
it: the run's output (plain and JSON), `history` (text and JSON), the state database's bytes, the
healthcheck's warning and `doctor`."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from arflow.secrets import public_urls, redact
from tests.conftest import make_folder, unstamped

ROOT = Path(__file__).resolve().parents[1]
DAY = "2026-03-11"
INVOICES = "number,customer_id,customer_name,email,issue_date,due_date,amount\n" + "".join(
    f"INV-{n},C{n},Customer {n},ap@c{n}.example,2026-03-01,2026-03-10,{n}00.00\n"
    for n in range(1, 3)
)
# the secrets a URL carries
SLACK_PATH = "/services/T000/B000/XXXXslacksecret"
ERP_PATH = "/erp/hook-s3cretpath?key=q5ecret"
PASSWORD = "hunter2pw"
PAY_TOKEN = "t0kenforpay"
SECRETS = ("XXXXslacksecret", "s3cretpath", "q5ecret", PASSWORD, PAY_TOKEN)
CHASE = """\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - email: reminder
      - webhook: {{url: "{erp}", template: erp}}
      - notify: {{to: controller, template: internal}}
      - note: "Sent {{{{ payment_url }}}}"
"""
TEMPLATES = {
    "reminder.subject.j2": "Reminder: pay at {{ payment_url }}",
    "reminder.txt.j2": "Dear {{ customer.name }}",
    "erp.json.j2": '{"customer": {{ customer.id|tojson }}}',
    "internal.json.j2": '{"text": {{ customer.name|tojson }}}',
}


def arflow(config: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "arflow", *args, "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    done.stderr = unstamped(done.stderr)
    return done


def closed_port() -> int:
    with socket.socket() as closed:  # nobody listens there once it is closed
        closed.bind(("127.0.0.1", 0))
        return closed.getsockname()[1]


def folder(tmp_path: Path, http_server, extra: str = "") -> Path:
    """Webhooks to a receiver that refuses them (404) and to a Slack-style address nobody
    answers; a monitor with a user name and password in its address that fails (500)."""
    port = http_server.port
    return make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={"chase": CHASE.format(erp=f"http://127.0.0.1:{port}{ERP_PATH}")},
        templates=TEMPLATES,
        config=f"""\
company: {{name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD, locale: en_US}}
invoices: {{path: invoices.csv}}
default_workflow: chase
healthcheck_url: "http://monitor:{PASSWORD}@127.0.0.1:{port}/ping/check-uuid"
payment_url: "https://pay.example/{{{{ invoice.number }}}}?token={PAY_TOKEN}"
people:
  controller: {{name: Chris Doe, email: controller@acme.example}}
channels:
  email: {{transport: outbox, dir: outbox}}
  notify: {{transport: webhook, url: "http://127.0.0.1:{closed_port()}{SLACK_PATH}"}}
{extra}""",
    )


def stored(config: Path) -> bytes:
    return b"".join(p.read_bytes() for p in config.parent.glob("arflow.db*") if p.is_file())


def test_a_webhooks_secret_path_and_a_monitors_password_never_show(tmp_path, http_server):
    http_server.default = (404, {"error": "no such hook"})  # the ERP's webhook, the monitor
    config = folder(tmp_path, http_server)
    # the JSON document of a run (a dry run's: it lists the same actions)
    dry = arflow(config, "run", "--dry-run", "--as-of", DAY, "--format", "json")
    port = http_server.port
    assert [a["to"] for a in json.loads(dry.stdout)["actions"] if a["action"] == "webhook"] == [
        [f"http://127.0.0.1:{port}/***"]
    ] * 2
    # `preview` shows each message as it goes, its payment link too; a webhook's address,
    # where it goes, is arflow's to print
    preview = arflow(config, "preview", "chase", "first", "--as-of", DAY)
    assert f"To: http://127.0.0.1:{port}/***" in preview.stdout.splitlines()
    assert "Subject: Reminder: pay at https://pay.example/INV-1001?token=" in preview.stdout
    assert "s3cretpath" not in preview.stdout
    done = arflow(config, "run", "--as-of", DAY)
    assert done.returncode == 3, done.stderr
    assert PAY_TOKEN in (next((config.parent / "outbox").glob("*C1*.eml"))).read_text()
    lines = done.stdout.splitlines()
    assert f"2026-03-11\tC1\tchase\tfirst\twebhook\thttp://127.0.0.1:{port}/***\tINV-1" in (
        "\t".join(line.split("\t")[:7]) for line in lines
    )
    assert f"http://127.0.0.1:{port}/*** answered HTTP 404 Not Found" in lines[-1]
    assert "/***: [Errno 111] Connection refused" in lines[-1]
    assert done.stderr.startswith("warning: arflow.yaml: healthcheck_url: ")
    assert f"http://***@127.0.0.1:{port}/***" in done.stderr
    # the ERP was reached at its whole address all the same
    assert [r.path for r in http_server.requests if r.path.startswith("/erp")] == [ERP_PATH] * 2

    shown = arflow(config, "history")
    document = arflow(config, "history", "--format", "json")
    rows = json.loads(document.stdout)["actions"]
    hook = next(r for r in rows if r["kind"] == "webhook" and r["customer_id"] == "C1")
    assert hook["recipients"] == [f"http://127.0.0.1:{port}/***"]
    assert hook["error"] == f"http://127.0.0.1:{port}/*** answered HTTP 404 Not Found"
    note = next(r for r in rows if r["kind"] == "note" and r["customer_id"] == "C1")
    assert note["description"].endswith("Sent https://pay.example/***")
    email = next(r for r in rows if r["kind"] == "email" and r["customer_id"] == "C1")
    assert email["subject"] == "Reminder: pay at https://pay.example/***"
    notice = next(r for r in rows if r["kind"] == "notify" and r["customer_id"] == "C1")
    assert notice["error"].startswith("cannot reach http://127.0.0.1:")
    assert notice["error"].split(" ")[2].endswith("/***:")
    for text in (done.stdout, done.stderr, shown.stdout, document.stdout, dry.stdout):
        for secret in SECRETS:
            assert secret not in text
    for secret in SECRETS:
        assert secret.encode() not in stored(config)


def test_public_urls_show_whole_and_a_password_never(tmp_path, http_server):
    port = http_server.port
    http_server.default = (404, {})
    config = folder(tmp_path, http_server, extra=f'public_urls: ["http://127.0.0.1:{port}/erp/"]\n')
    done = arflow(config, "run", "--as-of", DAY, "--format", "json")
    hooks = [a["to"] for a in json.loads(done.stdout)["actions"] if a["action"] == "webhook"]
    assert hooks == [[f"http://127.0.0.1:{port}{ERP_PATH}"]] * 2
    assert "XXXXslacksecret" not in done.stdout
    assert f"http://***@127.0.0.1:{port}/***" in done.stderr  # the monitor is not under /erp/
    rows = json.loads(arflow(config, "history", "--format", "json").stdout)["actions"]
    assert {r["error"] for r in rows if r["kind"] == "webhook"} == {
        f"http://127.0.0.1:{port}{ERP_PATH} answered HTTP 404 Not Found"
    }
    assert b"s3cretpath" in stored(config) and b"XXXXslacksecret" not in stored(config)
    # a password is not shown even under a public address, nor taken as one
    config.write_text(
        config.read_text().replace(
            "public_urls: [", f'public_urls: ["http://u:{PASSWORD}@127.0.0.1:{port}/", '
        )
    )
    refused = arflow(config, "validate")
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        f"arflow.yaml:11: public_urls.0: 'http://***@127.0.0.1:{port}/' is not a web "
        "address without a user name and password"
    )
    assert PASSWORD not in refused.stderr


def test_history_cuts_an_address_an_older_arflow_stored_whole(tmp_path, http_server, cli):
    http_server.default = (404, {})
    config = folder(tmp_path, http_server)
    arflow(config, "run", "--as-of", DAY)
    whole = f"https://hooks.slack.com{SLACK_PATH}"
    with sqlite3.connect(config.parent / "arflow.db") as conn:  # as arflow 0.1 wrote them
        conn.execute(
            "UPDATE actions SET recipients = ?, error = ? WHERE kind = 'notify'",
            (json.dumps([whole]), f"cannot reach {whole}: timed out"),
        )
        conn.execute(f"UPDATE actions SET subject = 'Pay: https://pay.example/?t={PAY_TOKEN}'")
    conn.close()
    rows = json.loads(cli("history", "--format", "json", "--config", config).stdout)["actions"]
    notices = [r for r in rows if r["kind"] == "notify"]
    assert [(r["recipients"], r["error"]) for r in notices] == [
        (["https://hooks.slack.com/***"], "cannot reach https://hooks.slack.com/***: timed out")
    ] * 2
    assert {r["subject"] for r in rows} == {"Pay: https://pay.example/***"}
    shown = cli("history", "--config", config).stdout
    assert "XXXXslacksecret" not in shown and PAY_TOKEN not in shown


@pytest.fixture
def refusing_smtp():
    """An SMTP server that refuses every client at its greeting, pointing at a page whose
    address carries a token."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # closed: the test is over
            with client:
                client.sendall(
                    b"554 5.7.1 Blocked; see https://help.example/unblock?ip=1.2.3.4"
                    b"&token=SECRETTOKEN\r\n"
                )
                client.settimeout(2)
                with contextlib.suppress(OSError):
                    client.recv(100)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.close()


def test_doctor_cuts_an_address_a_server_answers_with(tmp_path, refusing_smtp):
    config = make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={},
        config=(
            "company: {name: Acme Ltd, email: ar@acme.example}\ninvoices: {path: invoices.csv}\n"
            f"channels:\n  email: {{transport: smtp, host: 127.0.0.1, port: {refusing_smtp}, "
            "timeout: 3}\n"
        ),
    )
    done = arflow(config, "doctor")
    assert done.returncode == 1
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("FAIL  email:")]
    assert line.endswith("5.7.1 Blocked; see https://help.example/***')")
    assert "SECRETTOKEN" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "text, shown",
    [
        (
            "cannot reach https://hooks.slack.com/services/T0/B0/XX: timed out",
            "cannot reach https://hooks.slack.com/***: timed out",
        ),
        ("(see https://pay.example/i/1?t=abc).", "(see https://pay.example/***)."),
        ("https://u:pw@monitor.example:8443/ping", "https://***@monitor.example:8443/***"),
        ("https://u:pw@monitor.example/", "https://***@monitor.example/"),
        ("no path: https://mail.example, and on", "no path: https://mail.example, and on"),
        ("an email ap@c1.example, a file /srv/ar/arflow.db", None),
        ("'http://[::1' is no address", None),
        ("https://erp.example/api/v1?x=1 is public", None),
        ("https://ERP.example/api is public", None),
        ("https://erp.example/apiary is not", "https://erp.example/*** is not"),
        ("https://erp.example.evil/api is not", "https://erp.example.evil/*** is not"),
        ("https://erp.example:444/api is not", "https://erp.example:444/*** is not"),
        ("https://me:pw@erp.example/api/x", "https://***@erp.example/api/x"),
    ],
)
def test_redact_cuts_each_address_to_its_scheme_and_host(text, shown):
    public_urls(["https://erp.example/api"])
    try:
        assert redact(text) == (text if shown is None else shown)
    finally:
        public_urls([])


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_validate_cuts_an_address_in_a_problem_in_every_format(tmp_path, cli, fmt):
    config = make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={},
        config=(
            "company: {name: Acme Ltd, email: ar@acme.example}\ninvoices: {path: invoices.csv}\n"
            f"healthcheck_url: 'ftp://monitor:{PASSWORD}@hc.example/ping/check-uuid'\n"
        ),
    )
    result = cli("validate", "--format", fmt, "--config", config, expect=1)
    assert "'ftp://***@hc.example/***' is not a web address" in result.output
    assert PASSWORD not in result.output and "check-uuid" not in result.output


def test_a_message_error_quoting_a_payment_link_is_cut(tmp_path, cli):
    """A link with a space is no address: that message's error quotes it, cut as printed."""
    config = make_folder(
        tmp_path / "ar",
        invoices=INVOICES.replace("amount\n", "amount,PayLink\n")
        .replace("100.00\n", f"100.00,https://pay.example/i/1?token={PAY_TOKEN} now\n")
        .replace("200.00\n", "200.00,https://pay.example/i/2\n"),
        workflows={
            "chase": "anchor: due_date\nsteps:\n  - day: 1\n    actions:\n      - email: r\n"
        },
        templates={"r.subject.j2": "Reminder", "r.txt.j2": "Pay at {{ payment_url }}"},
        config=(
            "company: {name: Acme Ltd, email: ar@acme.example}\ninvoices: {path: invoices.csv}\n"
            "default_workflow: chase\npayment_url: '{{ invoice.extra.PayLink }}'\n"
            "channels:\n  email: {transport: outbox, dir: outbox}\n"
        ),
    )
    plain = cli("run", "--dry-run", "--as-of", DAY, "--config", config, expect=3).stdout
    (error,) = [line for line in plain.splitlines() if line.startswith("error\t")]
    assert error.endswith(
        "it renders 'https://pay.example/*** now', not a web address: it must "
        "start with https:// and hold no spaces"
    )
    doc = json.loads(
        cli(
            "run", "--dry-run", "--as-of", DAY, "--format", "json", "--config", config, expect=3
        ).stdout
    )
    assert [e["message"].count("https://pay.example/*** now") for e in doc["errors"]] == [1]
    assert PAY_TOKEN not in plain + json.dumps(doc)
