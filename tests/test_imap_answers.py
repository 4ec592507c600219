"""The inbox's IMAP session against what a real server rarely says (a scripted server on
loopback, tests/tarpits.py): garbage, a FETCH that answers NO or a body NIL, no way to send a
password beyond ASCII; and Dovecot with such a password. None of it is a traceback: it is the
inbox's error (exit 3), the night's sending goes on, and the folder's position moves only past
a message that was read."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import threading
from datetime import date

import pytest

from arflow.scaffold import write_scaffold
from tests import inbox_mail as mail
from tests.conftest import unstamped
from tests.servers import SmtpServer
from tests.tarpits import Imap, ScriptServer
from tests.test_deadlines import DEADLINE, START, TIMEOUT, arflow
from tests.test_deliver import CHASE, INVOICES, smtp_config
from tests.test_inbox import Shop, with_inbox

MAILDIR = "  inbox: {transport: maildir, dir: mail}"


@pytest.fixture
def shop(tmp_path, cli, clock) -> Shop:
    """The example folder after its real run of 2026-03-16 (file outbox)."""
    clock("2026-03-16T17:00:00")
    folder = tmp_path / "a"
    write_scaffold(folder, date(2026, 3, 16))
    found = Shop(folder)
    with_inbox(found.config, MAILDIR.split(": ", 1)[1])
    cli("run", "--as-of", "2026-03-16", "--config", found.config)
    return found


@pytest.fixture
def scripted(shop, monkeypatch):
    """The shop's inbox on a scripted IMAP server holding three messages: a reply from C002
    (UID 1), a reply from C003 (UID 2) and an out-of-office from C004 (UID 3)."""
    sent = shop.sent()
    imap = Imap(
        {
            1: mail.reply(sent["C002"], sender="billing@blueharbor.example"),
            2: mail.reply(sent["C003"], sender="accounts@contoso.example"),
            3: mail.out_of_office(sent["C004"], sender="finance@fabrikam.example"),
        }
    )
    server = ScriptServer(imap.talk)
    shop.config.write_text(
        shop.config.read_text().replace(
            MAILDIR,
            f"  inbox: {{transport: imap, host: 127.0.0.1, port: {server.port}, ssl: false, "
            "username: ar@acme.example, password_env: ARFLOW_TEST_IMAP, timeout: 1}",
        )
    )
    monkeypatch.setenv("ARFLOW_TEST_IMAP", "s3cret")
    imap.port = server.port  # type: ignore[attr-defined]
    yield imap
    server.stop()


def position(shop: Shop) -> list[tuple]:
    conn = sqlite3.connect(shop.folder / "arflow.db")
    try:
        return conn.execute("SELECT folder, uidvalidity, last_uid FROM inbox_folders").fetchall()
    finally:
        conn.close()


def recorded(shop: Shop) -> list[tuple[str, str]]:
    conn = sqlite3.connect(shop.folder / "arflow.db")
    try:
        return conn.execute(
            "SELECT kind, coalesce(customer_id, '') FROM inbox ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


REPLY_C002 = (
    "inbox\treply\tC002\tbilling@blueharbor.example\tRe: Reminder\tcustomer paused to 2026-04-15"
)
REPLY_C003 = (
    "inbox\treply\tC003\taccounts@contoso.example\tRe: Reminder\tcustomer paused to 2026-04-15"
)
AWAY_C004 = (
    "inbox\tauto-reply\tC004\tfinance@fabrikam.example\tAutomatic reply: Reminder\trecorded only"
)


def test_the_scripted_server_is_read_like_a_real_one(scripted, shop, cli):
    out = cli("inbox", "--config", shop.config).stdout.splitlines()
    assert out == [REPLY_C002, REPLY_C003, AWAY_C004]
    assert position(shop) == [("INBOX", "7", 3)]
    assert scripted.logins == [("LOGIN", 'ar@acme.example "s3cret"')]


# --- item 3: the position moves only past what was read ---------------------------------------
@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (b"NO", "NO [UNAVAILABLE] the message store is busy"),
        (b"NIL", "no body: 2 (UID 2 BODY[]<0> NIL)"),
    ],
)
def test_a_message_the_server_does_not_give_is_read_again_next_run(
    scripted, shop, cli, answer, said
):
    scripted.fetch = {2: answer}
    result = cli("inbox", "--config", shop.config, expect=3)
    assert result.stdout.splitlines() == [REPLY_C002, AWAY_C004]  # the others are handled
    assert unstamped(result.stderr) == (
        f"error: channels.inbox: 127.0.0.1:{scripted.port} did not give message UID 2 "
        f"({said}) from 'INBOX'; it is read again next run\n"
    )
    assert position(shop) == [("INBOX", "7", 1)]  # not past UID 2
    assert recorded(shop) == [("reply", "C002"), ("auto-reply", "C004")]  # nothing "ignored"
    # the next run: the server gives it; UID 3 was handled already and only moves the position
    scripted.fetch = {}
    assert cli("inbox", "--config", shop.config).stdout.splitlines() == [REPLY_C003]
    assert position(shop) == [("INBOX", "7", 3)]
    assert recorded(shop)[:3] == [("reply", "C002"), ("auto-reply", "C004"), ("reply", "C003")]
    assert cli("inbox", "--config", shop.config).stdout == ""


# --- item 2: whatever the server answers, an inbox error ---------------------------------------
@pytest.mark.parametrize(
    ("step", "answer", "error"),
    [
        ("search", b"* SEARCH 1 two 3", "reading 'INBOX' failed: SEARCH answered 1 two 3, not message numbers"),
        ("search", b"* SEARCH 99999999999", "reading 'INBOX' failed: SEARCH answered 99999999999, not message numbers"),
        ("search", b"* SEARCH 0", "reading 'INBOX' failed: SEARCH answered a message number out of range"),
        ("search", b"* SEARCH \xff\xfe", "reading 'INBOX' failed: SEARCH answered ??, not message numbers"),
        ("uidvalidity", b"seven\xff", "reading 'INBOX' failed: SELECT answered UIDVALIDITY seven?"),
        ("fetch", b"* 1 FETCH (UID 1 BODY[]<0> {99999999999}\r\n", "fetching message 1 failed: the server announced 99,999,999,999 bytes for one answer"),
        ("capabilities", b"IMAP4rev1 \xff\xfe", "cannot log in to 127.0.0.1:PORT as ar@acme.example: the server answered with bytes that are no ASCII text"),
        ("greeting", b"* BYE \x00\x01 go away\r\n", "cannot log in to 127.0.0.1:PORT as ar@acme.example: * BYE ?? go away"),
    ],
)  # fmt: skip
def test_garbage_from_the_server_is_an_inbox_error(scripted, shop, cli, step, answer, error):
    if step == "search":
        scripted.search = answer
    elif step == "uidvalidity":
        scripted.uidvalidity = answer
    elif step == "fetch":
        scripted.fetch = {1: answer}
    elif step == "capabilities":
        scripted.capabilities = answer
    else:
        scripted.greeting = answer
    result = cli("inbox", "--config", shop.config, expect=3)
    assert unstamped(result.stderr) == (
        f"error: channels.inbox: {error.replace('PORT', str(scripted.port))}\n"
    )
    assert position(shop) == []


def test_a_run_with_garbage_in_the_inbox_still_sends_the_night(scripted, shop, cli, clock):
    clock("2026-03-26T17:00:00")
    scripted.search = b"* SEARCH 1 two 3"
    doc = json.loads(
        cli(
            "run", "--format", "json", "--as-of", "2026-03-26", "--config", shop.config, expect=3
        ).stdout
    )
    assert [e["message"] for e in doc["errors"]] == [
        "channels.inbox: reading 'INBOX' failed: SEARCH answered 1 two 3, not message numbers"
    ]
    assert doc["actions"] and {a["status"] for a in doc["actions"]} <= {"sent", "done"}


# --- passwords beyond ASCII ----------------------------------------------------------------
PASSWORD = "Pässwörd-Ωμέγα-パスワード"


def test_an_imap_password_beyond_ascii_goes_as_utf8_with_auth_plain(
    scripted, shop, cli, monkeypatch
):
    monkeypatch.setenv("ARFLOW_TEST_IMAP", PASSWORD)
    assert cli("inbox", "--config", shop.config).stdout.splitlines() == [
        REPLY_C002,
        REPLY_C003,
        AWAY_C004,
    ]
    [(mechanism, token)] = scripted.logins
    assert (mechanism, base64.b64decode(token).decode()) == (
        "PLAIN",
        f"\0ar@acme.example\0{PASSWORD}",
    )


def test_an_imap_password_beyond_ascii_without_auth_plain_is_an_inbox_error_and_the_night_goes_on(
    scripted, shop, cli, clock, monkeypatch
):
    monkeypatch.setenv("ARFLOW_TEST_IMAP", PASSWORD)
    scripted.capabilities = b"IMAP4rev1 AUTH=CRAM-MD5"
    clock("2026-03-26T17:00:00")
    doc = json.loads(
        cli(
            "run", "--format", "json", "--as-of", "2026-03-26", "--config", shop.config, expect=3
        ).stdout
    )
    assert [e["message"] for e in doc["errors"]] == [
        "channels.inbox: the user name or the password in $ARFLOW_TEST_IMAP has characters "
        "beyond ASCII, and 127.0.0.1 does not offer AUTH=PLAIN to send them as UTF-8; use an "
        "ASCII password"
    ]
    assert doc["actions"] and {a["status"] for a in doc["actions"]} <= {"sent", "done"}
    assert scripted.logins == []
    assert PASSWORD not in json.dumps(doc)


def test_dovecot_takes_a_password_beyond_ascii(shop, cli, monkeypatch):
    from tests.servers import DOVECOT, ImapServer

    if DOVECOT is None:
        pytest.skip("Dovecot is not installed here (Debian: apt-get install dovecot-imapd)")
    server = ImapServer(password=PASSWORD)
    try:
        server.append(mail.reply(shop.sent()["C002"], sender="billing@blueharbor.example"))
        shop.config.write_text(
            shop.config.read_text().replace(
                MAILDIR,
                f"  inbox: {{transport: imap, host: 127.0.0.1, port: {server.port}, ssl: false, "
                f"username: {server.USER}, password_env: ARFLOW_TEST_IMAP, timeout: 10}}",
            )
        )
        monkeypatch.setenv("ARFLOW_TEST_IMAP", PASSWORD)
        assert cli("inbox", "--config", shop.config).stdout.splitlines() == [REPLY_C002]
        assert (
            cli("doctor", "--config", shop.config, expect=None).stdout.count(
                f"ok    inbox: logged in to 127.0.0.1 as {server.USER} (nothing read)"
            )
            == 1
        )
    finally:
        server.remove()


def test_an_smtp_password_beyond_ascii_goes_as_utf8_with_auth_plain(tmp_path, cli, monkeypatch):
    from tests.conftest import make_folder

    monkeypatch.setenv("ARFLOW_TEST_SMTP_PASSWORD", PASSWORD)
    email = ", username: ar@acme.example, password_env: ARFLOW_TEST_SMTP_PASSWORD"
    server = SmtpServer(login=("ar@acme.example", PASSWORD))
    try:
        config = make_folder(
            tmp_path / "ar",
            invoices=INVOICES,
            workflows={"chase": CHASE},
            config=smtp_config(server.port, email=email),
        )
        cli("run", "--as-of", "2026-03-11", "--config", config)
        assert server.logins == [("ar@acme.example", "ok")]
        assert len(server.messages) == 3
    finally:
        server.stop()
    # a server that offers no AUTH PLAIN: a clear error before anything is sent
    server = SmtpServer(login=("ar@acme.example", PASSWORD), without=("PLAIN",))
    try:
        config = make_folder(
            tmp_path / "ar2",
            invoices=INVOICES,
            workflows={"chase": CHASE},
            config=smtp_config(server.port, email=email),
        )
        result = cli("run", "--as-of", "2026-03-11", "--config", config, expect=1)
        assert unstamped(result.stderr) == (
            f"error: SMTP login to 127.0.0.1:{server.port}: the user name or the password in "
            "$ARFLOW_TEST_SMTP_PASSWORD has characters beyond ASCII, and the server does not "
            "offer AUTH PLAIN to send them as UTF-8 (it offers: LOGIN); use an ASCII password. "
            "Nothing was sent.\n"
        )
        assert server.messages == [] and server.logins == []
        assert PASSWORD not in result.output
    finally:
        server.stop()


# --- deadlines: a server that trickles, a FIFO in the Maildir -----------------------------------
def test_an_imap_server_greeting_one_byte_at_a_time_cannot_hold_the_night(scripted, shop):
    scripted.greeting = b"trickle"
    result, took = arflow(shop.config, "run", "--as-of", "2026-03-26", "--format", "json")
    assert result.returncode == 3, result.stderr
    assert took < DEADLINE + START
    doc = json.loads(result.stdout)
    assert [e["message"] for e in doc["errors"]] == [
        f"channels.inbox: cannot log in to 127.0.0.1:{scripted.port} as ar@acme.example: "
        f"not finished within {DEADLINE} s (3 × timeout: {TIMEOUT})"
    ]
    assert doc["actions"] and {a["status"] for a in doc["actions"]} <= {"sent", "done"}


def undated(out: str) -> list[str]:
    """`arflow inbox`'s lines with the pause's end left out: a process of its own counts the
    pause from the real today."""
    return [re.sub(r"paused to \d{4}-\d\d-\d\d$", "paused to …", line) for line in out.splitlines()]


def test_a_fetch_that_trickles_stops_the_inbox_in_time_before_that_message(scripted, shop):
    scripted.fetch = {2: b"trickle"}
    result, took = arflow(shop.config, "inbox")
    assert result.returncode == 3, result.stderr
    assert took < DEADLINE + START
    assert undated(result.stdout) == undated(REPLY_C002)
    assert unstamped(result.stderr) == (
        "error: channels.inbox: fetching message 2 failed: not finished within "
        f"{DEADLINE} s (3 × timeout: {TIMEOUT})\n"
    )
    assert position(shop) == [("INBOX", "7", 1)]
    scripted.fetch = {}
    result, _ = arflow(shop.config, "inbox")
    assert undated(result.stdout) == undated(f"{REPLY_C003}\n{AWAY_C004}")
    assert position(shop) == [("INBOX", "7", 3)]


def test_doctor_logs_in_to_the_inbox_within_its_deadline(scripted, shop):
    result, _ = arflow(shop.config, "doctor")
    assert "ok    inbox: logged in to 127.0.0.1 as ar@acme.example (nothing read)" in result.stdout
    assert [verb for verb, _ in scripted.logins] == ["LOGIN"]
    scripted.greeting = b"trickle"
    result, took = arflow(shop.config, "doctor")
    assert result.returncode == 1
    assert took < DEADLINE + START
    assert (
        f"FAIL  inbox: cannot log in to 127.0.0.1:{scripted.port} as ar@acme.example: not "
        f"finished within {DEADLINE} s (3 × timeout: {TIMEOUT})"
    ) in result.stdout.splitlines()


def test_a_fifo_in_the_maildir_is_skipped_without_being_opened(shop):
    shop.deliver(mail.reply(shop.sent()["C002"], sender="billing@blueharbor.example"))
    fifo = shop.folder / "mail" / "new" / "0000000000.M1P1.fifo"  # sorts first
    os.mkfifo(fifo)
    (shop.folder / "mail" / "cur" / "1111.M1P1.dir").mkdir()
    # a writer waits on the FIFO: opening it would let the writer go on
    writer = threading.Thread(target=lambda: open(fifo, "wb").close(), daemon=True)
    writer.start()
    result, took = arflow(shop.config, "inbox")
    assert result.returncode == 0, result.stderr
    assert took < START
    assert undated(result.stdout) == undated(REPLY_C002)
    assert recorded(shop) == [("reply", "C002")]  # nothing read from the FIFO
    assert writer.is_alive()  # never opened
    os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # the test lets the writer go
    writer.join(5)


def test_doctor_fails_an_imap_login_that_fails_and_reads_nothing(shop, cli, monkeypatch):
    from tests.servers import DOVECOT, ImapServer

    if DOVECOT is None:
        pytest.skip("Dovecot is not installed here (Debian: apt-get install dovecot-imapd)")
    server = ImapServer()
    try:
        server.append(mail.reply(shop.sent()["C002"], sender="billing@blueharbor.example"))
        flags = server.flags()
        shop.config.write_text(
            shop.config.read_text().replace(
                MAILDIR,
                f"  inbox: {{transport: imap, host: 127.0.0.1, port: {server.port}, ssl: false, "
                f"username: {server.USER}, password_env: ARFLOW_TEST_IMAP, timeout: 10}}",
            )
        )
        monkeypatch.setenv("ARFLOW_TEST_IMAP", "not-the-password-7731")
        out = cli("doctor", "--config", shop.config, expect=1).stdout
        assert (
            f"FAIL  inbox: cannot log in to 127.0.0.1:{server.port} as {server.USER}: "
            "[AUTHENTICATIONFAILED] Authentication failed."
        ) in out.splitlines()
        assert "not-the-password-7731" not in out
        monkeypatch.setenv("ARFLOW_TEST_IMAP", server.PASSWORD)
        out = cli("doctor", "--config", shop.config).stdout
        assert f"ok    inbox: logged in to 127.0.0.1 as {server.USER} (nothing read)" in out
        assert server.flags() == flags
        # the sessions: append, flags, doctor's (no body fetched), flags again
        assert server.fetched(sessions=4)[2:] == [0, 0]
        assert cli("inbox", "--config", shop.config).stdout.count("inbox\treply\tC002") == 1
    finally:
        server.remove()


def test_doctor_checks_that_a_maildir_is_one(shop, cli):
    assert "ok    inbox: mail is a Maildir" in cli("doctor", "--config", shop.config).stdout
    shop.config.write_text(shop.config.read_text().replace("dir: mail}", "dir: no-mail}"))
    out = cli("doctor", "--config", shop.config, expect=1).stdout
    assert (
        f"FAIL  inbox: {shop.folder / 'no-mail'} is not a Maildir (it has no cur/ or new/ folder)"
    ) in out.splitlines()
