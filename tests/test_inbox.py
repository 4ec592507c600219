"""The inbox (SPEC 6.1) against a real Maildir and a real IMAP server (Dovecot on loopback):
a reply pauses the right customer, a bounce marks the right address, an out-of-office does
neither, nothing odd in a mailbox stops a run, and each message counts once, across runs and
a kill."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from arflow.scaffold import write_scaffold
from tests import inbox_mail as mail
from tests.conftest import unstamped

ROOT = Path(__file__).resolve().parents[1]


class Shop:
    """The example folder after its real run of 2026-03-16 (file outbox), with an inbox."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.config = folder / "arflow.yaml"
        self.maildir = mailbox.Maildir(folder / "mail", create=True)

    def sent(self) -> dict[str, str]:
        """The Message-ID of the email each customer got on 2026-03-16."""
        found = {}
        for path in sorted((self.folder / "outbox").glob("2026-03-16-*-0-*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if "controller@" not in message["To"]:
                found[path.name.split("-")[3]] = message["Message-ID"]
        return found

    def deliver(self, *messages: bytes) -> None:
        for raw in messages:
            self.maildir.add(raw)

    def outbox(self, since: str) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((self.folder / "outbox").glob(f"{since}-*.eml"))
        ]


def with_inbox(
    config: Path, inbox: str, replies: str = "{pause_days: 30, notify: controller}"
) -> None:
    config.write_text(config.read_text() + f"  inbox: {inbox}\nreplies: {replies}\n")


@pytest.fixture
def shop(tmp_path, cli, clock) -> Shop:
    clock("2026-03-16T17:00:00")  # today is 2026-03-16 in New York
    folder = tmp_path / "a"
    write_scaffold(folder, date(2026, 3, 16))
    found = Shop(folder)
    with_inbox(found.config, "{transport: maildir, dir: mail}")
    cli("run", "--as-of", "2026-03-16", "--config", found.config)
    assert sorted(found.sent()) == ["C001", "C002", "C003", "C004", "C005", "C006"]
    return found


def lines(result) -> list[str]:
    return sorted(result.stdout.splitlines())


def everything(shop: Shop) -> None:
    """Into the inbox: a reply, a bounce, an out-of-office, and four that must change nothing:
    a reply naming a message arflow never sent, binary noise, a header in raw Latin-1 and a
    12 MB attachment."""
    sent = shop.sent()
    shop.deliver(
        mail.reply(sent["C002"], sender="Pat Lee <billing@blueharbor.example>"),
        mail.bounce(sent["C001"], "ap@northwind.example"),
        mail.out_of_office(sent["C004"], sender="finance@fabrikam.example"),
        mail.reply("<forged.arflow@acme.example>", sender="accounts@contoso.example"),
        mail.garbage(),
        mail.not_utf8_header("<nothing.arflow@acme.example>"),
        mail.huge("<scans.arflow@acme.example>", sender="payables@litware.example"),
    )


EXPECTED = [
    "inbox\tauto-reply\tC004\tfinance@fabrikam.example\tAutomatic reply: Reminder\trecorded only",
    "inbox\tbounce\tC001\tMail Delivery System <MAILER-DAEMON@mx.acme.example>\t"
    "Undelivered Mail Returned to Sender\tap@northwind.example marked bounced",
    "inbox\treply\tC002\tPat Lee <billing@blueharbor.example>\tRe: Reminder\t"
    "customer paused to 2026-04-15",
]


# --- Maildir ----------------------------------------------------------------------------------
def test_a_reply_pauses_a_bounce_marks_an_out_of_office_is_only_recorded(shop, cli):
    everything(shop)
    assert lines(cli("inbox", "--config", shop.config)) == EXPECTED
    status = {
        r["customer_id"]: r
        for r in json.loads(
            cli(
                "status", "--format", "json", "--as-of", "2026-03-16", "--config", shop.config
            ).stdout
        )["customers"]
    }
    assert [cid for cid, r in status.items() if r["paused"]] == ["C002"]
    assert [(p["until"], p["reason"]) for p in status["C002"]["pauses"]] == [
        ("2026-04-15", "replied")
    ]
    assert {cid: r["bounced"] for cid, r in status.items() if r["bounced"]} == {
        "C001": ["ap@northwind.example"]
    }
    history = json.loads(cli("history", "--format", "json", "--config", shop.config).stdout)[
        "actions"
    ]
    came_in = [
        (r["customer_id"], r["kind"], r["reason"], r["description"])
        for r in history
        if r["workflow"] == "inbox"
    ]
    assert came_in == [
        ("C001", "bounce", "ap@northwind.example bounced", None),
        (
            "C002",
            "reply",
            "paused to 2026-04-15",
            "Hello, We paid INV-1002 yesterday by bank transfer. INV-1003 is disputed: the goods "
            "never arrived. Best regards, Pat",  # its first lines, as one line
        ),
        ("C004", "auto-reply", "recorded only", None),
    ]
    # read again: each message counts once
    assert cli("inbox", "--config", shop.config).stdout == ""


def test_a_dry_run_shows_what_would_happen_and_records_nothing(shop, cli):
    everything(shop)
    assert lines(cli("inbox", "--dry-run", "--config", shop.config)) == [
        line.replace("marked bounced", "would be marked bounced").replace(
            "customer paused", "customer would be paused"
        )
        for line in EXPECTED
    ]
    assert lines(cli("inbox", "--config", shop.config)) == EXPECTED


def test_json_gives_each_event_as_data_and_a_dry_run_records_nothing(shop, cli):
    everything(shop)
    args = ["--format", "json", "--config", shop.config]
    dry = json.loads(cli("inbox", "--dry-run", *args).stdout)
    assert dry["dry_run"] is True and dry["error"] is None
    by_kind = {e["kind"]: e for e in dry["events"]}
    assert sorted(by_kind) == ["auto-reply", "bounce", "reply"]  # the four others change nothing
    reply = by_kind["reply"]
    assert {k: reply[k] for k in ("customer_id", "sender", "subject", "pause_until")} == {
        "customer_id": "C002",
        "sender": "Pat Lee <billing@blueharbor.example>",
        "subject": "Re: Reminder",
        "pause_until": "2026-04-15",
    }
    assert reply["excerpt"].startswith("Hello, We paid INV-1002 yesterday")
    assert reply["effect"] == "customer would be paused to 2026-04-15"
    assert by_kind["bounce"]["address"] == "ap@northwind.example"
    assert by_kind["bounce"]["effect"] == "ap@northwind.example would be marked bounced"
    assert (by_kind["auto-reply"]["customer_id"], by_kind["auto-reply"]["effect"]) == (
        "C004",
        "recorded only",
    )
    real = json.loads(cli("inbox", *args).stdout)
    assert real["dry_run"] is False
    assert [e["effect"] for e in real["events"]] == [
        e["effect"].replace("would be ", "") for e in dry["events"]
    ]
    assert json.loads(cli("inbox", *args).stdout)["events"] == []  # each message counts once


def test_json_names_an_inbox_that_could_not_be_read_and_exits_3(shop, cli):
    shutil.rmtree(shop.folder / "mail")
    result = cli("inbox", "--format", "json", "--config", shop.config, expect=3)
    doc = json.loads(result.stdout)
    assert doc["events"] == []
    assert doc["error"]["exit_code"] == 3
    assert doc["error"]["message"] in unstamped(result.stderr)


def test_a_reply_found_only_in_references_counts(shop, cli):
    shop.deliver(
        mail.reply(shop.sent()["C003"], sender="accounts@contoso.example", references=True)
    )
    assert cli("inbox", "--config", shop.config).stdout.splitlines() == [
        "inbox\treply\tC003\taccounts@contoso.example\tRe: Reminder\tcustomer paused to 2026-04-15"
    ]


def test_the_next_run_tells_the_controller_once_and_holds_back_what_the_inbox_stopped(
    shop, cli, clock
):
    everything(shop)
    clock("2026-04-20T17:00:00")
    # a real run reads the inbox first (the pause counts from its day), then sends the notices
    out = cli("run", "--as-of", "2026-03-17", "--config", shop.config).stdout.splitlines()
    assert sorted(line for line in out if line.startswith("inbox")) == [
        line.replace("2026-04-15", "2026-04-16") for line in EXPECTED
    ]
    notices = shop.outbox("2026-03-17")
    assert [(m["To"], m["Subject"]) for m in notices] == [
        (
            "Chris Doe <controller@acme.example>",
            "Bounced: ap@northwind.example (Northwind Traders)",
        ),
        ("Chris Doe <controller@acme.example>", "Blue Harbor Cafe replied: Re: Reminder"),
    ]
    told = notices[1].get_body(("plain",)).get_content().replace("\r\n", "\n")
    # the reply's first lines, as one line of data, wrapped
    assert (
        "  > Hello, We paid INV-1002 yesterday by bank transfer. INV-1003 is\n"
        "  > disputed: the goods never arrived. Best regards, Pat\n"
    ) in told
    assert "arflow sends this customer nothing more until Apr 16, 2026." in told
    assert "  INV-1003       $125.50 open\n  INV-1002       $480.00 open" in told
    # the same day again: nothing new, no second notice
    cli("run", "--as-of", "2026-03-17", "--config", shop.config)
    assert len(shop.outbox("2026-03-17")) == 2
    # C001's reminder falls due: its only address bounced, so the email waits; the SMS goes
    doc = json.loads(
        cli(
            "run", "--dry-run", "--format", "json", "--as-of", "2026-03-26", "--config", shop.config
        ).stdout
    )
    c001 = [(a["step"], a["action"]) for a in doc["actions"] if a["customer_id"] == "C001"]
    assert c001 == [("reminder", "sms")]
    assert [
        (s["step"], s["reason"])
        for s in doc["skipped"]
        if s["customer_id"] == "C001" and s["reason"] == "bounced"
    ] == [("reminder", "bounced")]
    # C002 replied: paused through 2026-04-16, so its overdue-30 step of 2026-04-08 waits
    doc = json.loads(
        cli(
            "run", "--dry-run", "--format", "json", "--as-of", "2026-04-08", "--config", shop.config
        ).stdout
    )
    assert [a for a in doc["actions"] if a["customer_id"] == "C002"] == []
    # the customers file gets C001 a new address: the mark ends, the email goes there
    customers = shop.folder / "customers.csv"
    customers.write_text(
        customers.read_text().replace("ap@northwind.example", "payables@northwind.example")
    )
    doc = json.loads(
        cli("run", "--format", "json", "--as-of", "2026-03-26", "--config", shop.config).stdout
    )
    assert [
        (a["step"], a["action"], a["to"]) for a in doc["actions"] if a["customer_id"] == "C001"
    ] == [
        ("reminder", "email", ["payables@northwind.example"]),
        ("reminder", "sms", ["+12025550111"]),
    ]
    assert (
        json.loads(
            cli(
                "status", "--format", "json", "--as-of", "2026-03-26", "--config", shop.config
            ).stdout
        )["customers"][0]["bounced"]
        == []
    )


def test_a_bounce_names_only_an_address_the_email_went_to(shop, cli):
    """A report naming the right message but another address, or a delay (not a failure),
    marks nothing."""
    sent = shop.sent()
    shop.deliver(
        mail.bounce(sent["C001"], "someone-else@northwind.example"),
        mail.bounce(sent["C003"], "accounts@contoso.example", action="delayed"),
    )
    assert cli("inbox", "--config", shop.config).stdout == ""


def test_an_inbox_that_cannot_be_read_is_a_problem_and_the_sending_goes_on(tmp_path, cli, clock):
    clock("2026-03-16T17:00:00")
    folder = tmp_path / "a"
    write_scaffold(folder, date(2026, 3, 16))
    with_inbox(folder / "arflow.yaml", "{transport: maildir, dir: no-such-mail}")
    result = cli("run", "--as-of", "2026-03-16", "--config", folder / "arflow.yaml", expect=3)
    assert len(list((folder / "outbox").glob("*.eml"))) == 10
    line = next(
        n
        for n, text in enumerate((folder / "arflow.yaml").read_text().splitlines(), 1)
        if text.startswith("  inbox:")
    )
    assert (
        f"error\tarflow.yaml:{line}: channels.inbox: {folder / 'no-such-mail'} is not a "
        "Maildir (it has no cur/ or new/ folder)"
    ) in result.stdout.splitlines()


def test_each_message_counts_once_across_a_kill(shop):
    """`arflow inbox` killed while it records 300 replies, then run again: every reply is
    recorded once, each with its pause: none lost, none twice."""
    answered = shop.sent()["C002"]
    shop.deliver(
        *(mail.reply(answered, sender=f"person{n}@blueharbor.example") for n in range(300))
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "arflow", "inbox", "--config", str(shop.config)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    db = shop.folder / "arflow.db"

    def counts() -> tuple[int, int]:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            return (
                conn.execute("SELECT count(*) FROM inbox WHERE kind = 'reply'").fetchone()[0],
                conn.execute("SELECT count(*) FROM pauses WHERE reason = 'replied'").fetchone()[0],
            )
        finally:
            conn.close()

    deadline = time.monotonic() + 60
    while counts()[0] < 20 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    replies, pauses = counts()
    assert 20 <= replies < 300 and pauses == replies  # killed midway; the two agree
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, unstamped(done.stderr)
    assert len(done.stdout.splitlines()) == 300 - replies
    assert counts() == (300, 300)


# --- IMAP: a real Dovecot on loopback ---------------------------------------------------------
@pytest.fixture
def imap():
    from tests.servers import DOVECOT, ImapServer

    if DOVECOT is None:
        pytest.skip(
            "Dovecot is not installed here (Debian: apt-get install dovecot-imapd); "
            "the Maildir tests cover the same handling"
        )
    server = ImapServer()
    yield server
    server.remove()


@pytest.fixture
def imap_shop(shop, imap, monkeypatch) -> Shop:
    text = shop.config.read_text().replace(
        "  inbox: {transport: maildir, dir: mail}",
        f"  inbox: {{transport: imap, host: 127.0.0.1, port: {imap.port}, ssl: false, "
        f"username: {imap.USER}, password_env: ARFLOW_TEST_IMAP, timeout: 10}}",
    )
    shop.config.write_text(text)
    monkeypatch.setenv("ARFLOW_TEST_IMAP", imap.PASSWORD)
    return shop


def test_imap_reply_bounce_and_out_of_office_leave_the_mailbox_as_it_was(imap_shop, imap, cli):
    sent = imap_shop.sent()
    imap.append(
        mail.reply(sent["C002"], sender="Pat Lee <billing@blueharbor.example>"),
        mail.bounce(sent["C001"], "ap@northwind.example"),
        mail.out_of_office(sent["C004"], sender="finance@fabrikam.example"),
        mail.reply("<forged.arflow@acme.example>", sender="accounts@contoso.example"),
        mail.garbage(),
        mail.huge("<scans.arflow@acme.example>", sender="payables@litware.example"),
    )
    flags = imap.flags()
    assert lines(cli("inbox", "--config", imap_shop.config)) == EXPECTED
    assert imap.flags() == flags  # nothing marked read, moved or deleted
    assert len(flags) == 6
    # the next read starts after the last UID: only the new message
    conn = sqlite3.connect(imap_shop.folder / "arflow.db")
    assert conn.execute("SELECT folder, last_uid FROM inbox_folders").fetchall() == [("INBOX", 6)]
    conn.close()
    before = imap.fetched(sessions=4)  # APPEND, flags, first read, flags
    assert cli("inbox", "--config", imap_shop.config).stdout == ""
    assert imap.fetched(sessions=len(before) + 1)[len(before) :] == [0]  # nothing read again
    imap.append(mail.reply(sent["C003"], sender="accounts@contoso.example"))
    assert cli("inbox", "--config", imap_shop.config).stdout.splitlines() == [
        "inbox\treply\tC003\taccounts@contoso.example\tRe: Reminder\tcustomer paused to 2026-04-15"
    ]


def test_imap_a_wrong_password_is_reported_and_never_printed(imap_shop, imap, cli, monkeypatch):
    monkeypatch.setenv("ARFLOW_TEST_IMAP", "not-the-password-7731")
    result = cli("inbox", "--config", imap_shop.config, expect=3)
    assert unstamped(result.stderr) == (
        f"error: channels.inbox: cannot log in to 127.0.0.1:{imap.port} as {imap.USER}: "
        "[AUTHENTICATIONFAILED] Authentication failed.\n"
    )
    assert "not-the-password-7731" not in result.output


def test_imap_down_the_run_reports_it_and_still_sends(imap_shop, imap, cli, clock):
    clock("2026-03-26T17:00:00")
    planned = json.loads(
        cli(
            "run",
            "--dry-run",
            "--format",
            "json",
            "--as-of",
            "2026-03-26",
            "--config",
            imap_shop.config,
        ).stdout
    )["actions"]
    assert planned  # the day has messages to send
    imap.stop()
    doc = json.loads(
        cli(
            "run",
            "--format",
            "json",
            "--as-of",
            "2026-03-26",
            "--config",
            imap_shop.config,
            expect=3,
        ).stdout
    )
    assert [e["message"] for e in doc["errors"]] == [
        f"channels.inbox: cannot log in to 127.0.0.1:{imap.port} as {imap.USER}: connection refused"
    ]
    assert [(a["customer_id"], a["step"], a["action"], a["status"]) for a in doc["actions"]] == [
        (
            a["customer_id"],
            a["step"],
            a["action"],
            "done" if a["action"] in ("status", "task") else "sent",
        )
        for a in planned
    ]


# --- what a message is ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers, kind",
    [
        ({"Auto-Submitted": "no"}, "reply"),  # "no" is a person writing
        ({"Auto-Submitted": "auto-generated"}, "auto-reply"),
        ({"X-Autoreply": "yes"}, "auto-reply"),
        ({"X-Autorespond": "Out of office"}, "auto-reply"),
        ({"Precedence": "bulk"}, "auto-reply"),
        ({"Precedence": "auto_reply"}, "auto-reply"),
        ({"Precedence": "first-class"}, "reply"),
    ],
)
def test_an_automatic_answer_is_told_by_its_headers(shop, cli, headers, kind):
    shop.deliver(
        mail.reply(shop.sent()["C003"], sender="accounts@contoso.example", headers=headers)
    )
    (line,) = cli("inbox", "--config", shop.config).stdout.splitlines()
    assert line.split("\t")[1:3] == [kind, "C003"]
    paused = json.loads(
        cli(
            "status", "C003", "--format", "json", "--as-of", "2026-03-16", "--config", shop.config
        ).stdout
    )["customers"][0]["paused"]
    assert paused is (kind == "reply")


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Paid today.\n\n-----Original Message-----\nFrom: Acme\nDear customer,\nplease pay",
            "Paid today.",
        ),
        ("Paid today.\n-- \nPat Lee\nAccounts payable", "Paid today."),
        (
            "Paid today.\n\nAm 16.03.2026 schrieb Acme <ar@acme.example>:\nSehr geehrte",
            "Paid today.",
        ),
        ("Paid today.\nFrom: Acme Supplies Ltd\nSent: Monday\nDear customer", "Paid today."),
        ("> quoted first\nOur answer, below the quote.", "Our answer, below the quote."),
        ("one\ntwo\nthree\nfour\nfive\nsix", "one two three four five"),  # one line
        ("x" * 600, "x" * 399 + "…"),
    ],
)
def test_the_notice_quotes_only_the_customers_own_first_lines(shop, cli, text, expected):
    shop.deliver(mail.reply(shop.sent()["C003"], sender="accounts@contoso.example", text=text))
    cli("inbox", "--config", shop.config)
    history = json.loads(
        cli("history", "--customer", "C003", "--format", "json", "--config", shop.config).stdout
    )["actions"]
    assert [r["description"] for r in history if r["workflow"] == "inbox"] == [expected]


def test_a_second_bounce_of_the_same_address_tells_nobody_again(shop, cli, clock):
    sent = shop.sent()
    shop.deliver(mail.bounce(sent["C001"], "ap@northwind.example"))
    clock("2026-04-20T17:00:00")
    cli("run", "--as-of", "2026-03-17", "--config", shop.config)
    shop.deliver(mail.bounce(sent["C001"], "ap@northwind.example"))
    out = cli("run", "--as-of", "2026-03-18", "--config", shop.config).stdout.splitlines()
    assert [line for line in out if line.startswith("inbox")] == [
        "inbox\tbounce\tC001\tMail Delivery System <MAILER-DAEMON@mx.acme.example>\t"
        "Undelivered Mail Returned to Sender\tap@northwind.example bounced before"
    ]
    assert [
        m["Subject"] for m in shop.outbox("2026-03-1?") if m["Subject"].startswith("Bounced")
    ] == ["Bounced: ap@northwind.example (Northwind Traders)"]


def test_a_reply_to_a_notice_to_your_staff_is_no_customer_reply(shop, cli):
    """Only emails to customers count: the controller answering a notice pauses nobody."""
    notice = next(
        m for m in shop.outbox("2026-03-16") if m["To"] == "Chris Doe <controller@acme.example>"
    )
    shop.deliver(mail.reply(notice["Message-ID"], sender="controller@acme.example"))
    assert cli("inbox", "--config", shop.config).stdout == ""


@pytest.mark.parametrize("reported", ["John.Doe@northwind.example", "john.doe@NORTHWIND.example"])
def test_a_bounced_address_with_capitals_is_not_emailed_again(tmp_path, cli, clock, reported):
    """The parser keeps an address's case (`John.Doe@…`); a mail server may report it in
    another. Either way the address that bounced gets no more email; the SMS still goes."""
    clock("2026-03-16T17:00:00")
    folder = tmp_path / "a"
    write_scaffold(folder, date(2026, 3, 16))
    customers = folder / "customers.csv"
    customers.write_text(
        customers.read_text().replace("ap@northwind.example", "John.Doe@northwind.example")
    )
    shop = Shop(folder)
    with_inbox(shop.config, "{transport: maildir, dir: mail}")
    cli("run", "--as-of", "2026-03-16", "--config", shop.config)
    shop.deliver(mail.bounce(shop.sent()["C001"], reported))
    assert cli("inbox", "--config", shop.config).stdout.splitlines() == [
        "inbox\tbounce\tC001\tMail Delivery System <MAILER-DAEMON@mx.acme.example>\t"
        f"Undelivered Mail Returned to Sender\t{reported.lower()} marked bounced"
    ]
    doc = json.loads(
        cli(
            "run", "--dry-run", "--format", "json", "--as-of", "2026-03-26", "--config", shop.config
        ).stdout
    )
    # the controller hears of the bounce; the reminder's email waits, its SMS goes
    assert [(a["step"], a["action"]) for a in doc["actions"] if a["customer_id"] == "C001"] == [
        ("reminder", "sms"),
        ("bounce-1", "notify"),
    ]
    assert [(s["step"], s["reason"]) for s in doc["skipped"] if s["customer_id"] == "C001"] == [
        ("reminder", "bounced")
    ]


def test_inbox_without_channels_inbox_is_a_config_problem(tmp_path, cli):
    """No inbox to read is a missing setting: nothing was done, exit 1 as docs/commands.md
    says (not 2, a usage error)."""
    folder = tmp_path / "a"
    write_scaffold(folder, date(2026, 3, 16))
    result = cli("inbox", "--config", folder / "arflow.yaml", expect=1)
    assert unstamped(result.stderr).startswith("error: arflow.yaml has no channels.inbox: add one")
