"""The state database under tampering and foreseeable faults, with real processes: `python -m
arflow` against a real folder, the state file emptied, deleted, swapped, garbled, made
read-only or its disk filled (a real tmpfs), between runs and in the middle of one; and secrets
that a server echoes back. Every case ends in one line naming the file and the fix, and the
exit code SPEC 8 gives it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_folder
from tests.servers import twilio_created
from tests.test_deliver import CHASE, smtp_config

ROOT = Path(__file__).resolve().parents[1]
DAY = "2026-03-11"
INVOICES = "number,customer_id,customer_name,email,phone,issue_date,due_date,amount\n" + "".join(
    f"INV-{n},C{n},Customer {n},ap@c{n}.example,+1202555010{n},2026-03-01,2026-03-10,{n}00.00\n"
    for n in range(1, 7))
OUTBOX_CONFIG = """\
company: {name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD, locale: en_US}
invoices: {path: invoices.csv}
default_workflow: chase
people:
  controller: {name: Chris Doe, email: controller@acme.example}
channels:
  email: {transport: outbox, dir: outbox}
"""

def arflow(config: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """One `python -m arflow` process, as cron would start it."""
    return subprocess.run([sys.executable, "-m", "arflow", *args, "--config", str(config)],
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def ar(tmp_path) -> Path:
    """An AR folder that writes its email to the outbox; returns its config."""
    return make_folder(tmp_path / "ar", invoices=INVOICES, workflows={"chase": CHASE},
                       config=OUTBOX_CONFIG)


# --- 2. secrets never reach history, the database or the terminal -------------------------------
SID = "AC" + "5e" * 16
TOKEN = "tok-" + "9" * 28
SMS_WORKFLOW = """\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - sms: reminder
"""


def twilio_folder(tmp_path: Path, url: str) -> Path:
    return make_folder(tmp_path / "ar", invoices=INVOICES, workflows={"chase": SMS_WORKFLOW},
                       config=OUTBOX_CONFIG + (
                           "  sms: {transport: twilio, account_sid_env: ARFLOW_TEST_SID, "
                           "auth_token_env: ARFLOW_TEST_TOKEN, from: '+12025550100', "
                           f"base_url: '{url}', timeout: 5}}\n"))


def everything_stored(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob("arflow.db*") if p.is_file())


def not_found(request) -> dict:
    """A gateway that quotes the URL it was asked for, as Twilio's 404 does."""
    return {"code": 20404, "message": f"The requested resource {request.path} was not found",
            "status": 404}


@pytest.mark.parametrize("how", ["env", "file"])
def test_a_twilio_sid_echoed_in_an_error_is_redacted_from_history(tmp_path, http_server, how):
    http_server.replies = [(201, twilio_created), (404, not_found)]
    config = twilio_folder(tmp_path, http_server.url)
    env = {"ARFLOW_TEST_SID": SID, "ARFLOW_TEST_TOKEN": TOKEN}
    if how == "file":  # read from an owner-only file instead
        secret_file = tmp_path / "sid"
        secret_file.write_text(SID + "\n")
        secret_file.chmod(0o600)
        env = {"ARFLOW_TEST_SID": "", "ARFLOW_TEST_SID_FILE": str(secret_file),
               "ARFLOW_TEST_TOKEN": TOKEN}
    done = arflow(config, "run", "--as-of", DAY, "--format", "json", env=env)
    assert done.returncode == 3, done.stderr
    assert http_server.requests[1].path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    shown = arflow(config, "history", "--format", "json")
    errors = {r["customer_id"]: r["error"] for r in json.loads(shown.stdout)["actions"]}
    assert errors["C2"] == ("Twilio 404 error 20404: Unable to create record: The requested "
                            "resource /2010-04-01/Accounts/***/Messages.json was not found")
    for text in (done.stdout, done.stderr, shown.stdout):
        assert SID not in text and TOKEN not in text
    assert SID.encode() not in everything_stored(config.parent)


def test_a_connection_error_that_quotes_the_sid_is_redacted(tmp_path):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = twilio_folder(tmp_path, f"http://127.0.0.1:{port}")
    done = arflow(config, "run", "--as-of", DAY, env={"ARFLOW_TEST_SID": SID,
                                                       "ARFLOW_TEST_TOKEN": TOKEN})
    assert done.returncode == 3, done.stderr
    shown = arflow(config, "history", "--format", "json")
    errors = [r["error"] for r in json.loads(shown.stdout)["actions"]]
    assert len(errors) == 6
    for error in errors:
        assert error.startswith(f"cannot connect to Twilio: HTTPConnectionPool(host='127.0.0.1', "
                                f"port={port}): Max retries exceeded with url: "
                                "/2010-04-01/Accounts/***/Messages.json")
    assert SID not in done.stdout + done.stderr + shown.stdout
    assert SID.encode() not in everything_stored(config.parent)


def test_the_cli_takes_every_secret_out_of_an_error_it_prints(capsys):
    import typer

    from arflow.channels import secret
    from arflow.cli import _fail
    from arflow.errors import ArflowError

    assert secret("X_SID", "Twilio account SID", {"X_SID": SID}) == SID
    with pytest.raises(typer.Exit) as stop:
        _fail(ArflowError(f"no answer from https://api/Accounts/{SID}/Messages.json"))
    assert stop.value.exit_code == 1
    assert capsys.readouterr().err == "error: no answer from https://api/Accounts/***/Messages.json\n"


# --- 3. secrets read from a file ---------------------------------------------------------------
@pytest.mark.parametrize("content, problem", [
    (b"\xffpass\n", "is not UTF-8 text (byte 0xff at offset 0); write the secret into it as "
                    "plain text"),
    (b"", "is empty; write the secret into it"),
    (b"  \n", "is empty; write the secret into it"),
], ids=["not-utf8", "empty", "blank"])
def test_a_bad_secret_file_is_one_clear_line(tmp_path, smtp_server, content, problem):
    config = make_folder(tmp_path / "ar", invoices=INVOICES, workflows={"chase": CHASE},
                         config=smtp_config(smtp_server.port, email=", username: ar, "
                                            "password_env: ARFLOW_TEST_PW"))
    secret_file = tmp_path / "pw"
    secret_file.write_bytes(content)
    secret_file.chmod(0o600)
    done = arflow(config, "run", "--as-of", DAY, env={"ARFLOW_TEST_PW_FILE": str(secret_file)})
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (f"error: SMTP password: {secret_file} (named by "
                           f"$ARFLOW_TEST_PW_FILE) {problem}. Nothing was sent.\n")
    assert smtp_server.messages == []


# --- 6. messages ------------------------------------------------------------------------------
def test_an_unknown_key_never_suggests_itself_but_says_what_the_section_takes(ar, cli):
    ar.write_text(ar.read_text().replace("controller: {", "controller: {timeout: 5, ")
                  + "  notify: {transport: email, timeout: 2}\n"
                    "  sms: {transport: outbox, tmeout: 2}\n")
    result = cli("validate", "--config", ar, expect=1)
    assert result.output == (
        "arflow.yaml:5: people.controller.timeout: unknown key 'timeout'; people.controller "
        "takes: name, email, phone, specialist, webhook\n"
        "arflow.yaml:9: channels.sms.tmeout: unknown key 'tmeout'; did you mean 'timeout'?\n"
        "arflow.yaml:8: channels.notify.timeout: unknown key 'timeout'; channels.notify takes: "
        "transport, url\n"
        "3 problem(s) found; nothing was done.\n")
