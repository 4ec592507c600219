"""What the inbox may believe (SPEC 6, 6.1), against a real Maildir, real runs and, for the
reports, a real Dovecot: a Message-ID of arflow's cannot be made up from public values (it is
keyed by the state database's secret), while a reply to an email sent before that key still
pauses; a bounce counts only when the mail system reports it, never when the customer writes
one; and what a stranger writes into a subject, a sender or a reply's text is data: one line
wherever arflow prints or quotes it."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import re
import sqlite3
from datetime import date

import pytest

from arflow.scaffold import write_scaffold
from tests import inbox_mail as mail
from tests import test_inbox
from tests.test_inbox import Shop

# the Maildir shop after its first night, and the Dovecot one, of test_inbox.py
shop, imap, imap_shop = test_inbox.shop, test_inbox.imap, test_inbox.imap_shop


def history(shop: Shop, cli) -> list[dict]:
    return json.loads(cli("history", "--format", "json", "--config", shop.config).stdout)["actions"]


def paused(shop: Shop, cli, as_of: str = "2026-03-16") -> list[str]:
    customers = json.loads(
        cli("status", "--format", "json", "--as-of", as_of, "--config", shop.config).stdout
    )["customers"]
    return [r["customer_id"] for r in customers if r["paused"]]


def bounced(shop: Shop, cli) -> dict[str, list[str]]:
    customers = json.loads(
        cli("status", "--format", "json", "--as-of", "2026-03-16", "--config", shop.config).stdout
    )["customers"]
    return {r["customer_id"]: r["bounced"] for r in customers if r["bounced"]}


def guessed(shop: Shop, cli, customer: str) -> str:
    """The Message-ID of `customer`'s email of 2026-03-16 as arflow made it before it had a key:
    the first 32 hex of sha256 of the email's idempotency keys, all of them public values (the
    customer's id and invoices, the workflow's and step's names). Checked against the outbox
    file's name, which still carries the first 10 of that hash."""
    (path,) = (shop.folder / "outbox").glob(f"2026-03-16-{customer}-*-0-*.eml")
    (row,) = [
        r
        for r in history(shop, cli)
        if r["customer_id"] == customer and r["kind"] == "email" and r["state"] == "sent"
    ]
    digest = hashlib.sha256("\n".join(row["keys"]).encode()).hexdigest()
    assert path.stem.endswith("-" + digest[:10])  # the hash the old Message-ID was made of
    return f"<{digest[:32]}.arflow@acme.example>"


def meta(shop: Shop) -> dict[str, str]:
    conn = sqlite3.connect(f"{(shop.folder / 'arflow.db').as_uri()}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT key, value FROM meta"))
    finally:
        conn.close()


# --- Message-IDs: keyed by the state database's secret ---------------------------------------
def test_a_reply_to_a_message_id_made_up_from_public_values_pauses_nobody(shop, cli, clock):
    """A stranger who knows Blue Harbor's customer id computes the Message-ID arflow used to
    give its reminder and "answers" it: nobody is paused. The customer's real reply still
    pauses it, read by the next run."""
    forged = guessed(shop, cli, "C002")
    assert shop.sent()["C002"] != forged
    shop.deliver(mail.reply(forged, sender="Mallory <mallory@elsewhere.example>"))
    assert cli("inbox", "--config", shop.config).stdout == ""
    assert paused(shop, cli) == []

    shop.deliver(mail.reply(shop.sent()["C002"], sender="Pat Lee <billing@blueharbor.example>"))
    clock("2026-03-17T17:00:00")
    out = cli("run", "--as-of", "2026-03-17", "--config", shop.config).stdout.splitlines()
    assert [line for line in out if line.startswith("inbox")] == [
        "inbox\treply\tC002\tPat Lee <billing@blueharbor.example>\tRe: Reminder\t"
        "customer paused to 2026-04-16"
    ]
    assert paused(shop, cli, "2026-03-17") == ["C002"]


def test_each_state_database_keys_its_own_message_ids(tmp_path, cli, clock):
    """Two folders, the same customers, the same night: the same reminders, under other
    Message-IDs (each state database has its own secret, made once, kept, never shown)."""
    clock("2026-03-16T17:00:00")
    ids = []
    for name in ("a", "b"):
        write_scaffold(tmp_path / name, date(2026, 3, 16))
        folder = Shop(tmp_path / name)
        cli("run", "--as-of", "2026-03-16", "--config", folder.config)
        ids.append(folder.sent())
        key = meta(folder)["message_key"]
        assert len(key) == 64
        shown = "".join(
            cli(*command, "--config", folder.config).stdout
            for command in (("history",), ("history", "--format", "json"), ("status",))
        )
        assert key not in shown
    assert sorted(ids[0]) == sorted(ids[1]) == ["C001", "C002", "C003", "C004", "C005", "C006"]
    assert not set(ids[0].values()) & set(ids[1].values())


def test_a_reply_to_an_email_sent_before_the_key_still_pauses(shop, cli, clock):
    """A state database an older arflow wrote: no key in `meta`, and Blue Harbor's reminder
    recorded under the Message-ID computed from public values (as the older arflow did). Its
    customer's reply still pauses it, as the inbox matches the ids the action ledger holds.
    A dry run reads it without writing (no key made); the first real open makes the key, and
    the emails after it carry ids no one can compute."""
    old = guessed(shop, cli, "C002")
    db = shop.folder / "arflow.db"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE actions SET message_id = ?, provider_id = ? WHERE message_id = ?",
            (old, old, shop.sent()["C002"]),
        )
        conn.execute("DELETE FROM meta WHERE key = 'message_key'")
    conn.close()
    shop.deliver(mail.reply(old, sender="Pat Lee <billing@blueharbor.example>"))

    before = db.read_bytes()
    assert cli("inbox", "--dry-run", "--config", shop.config).stdout.splitlines() == [
        "inbox\treply\tC002\tPat Lee <billing@blueharbor.example>\tRe: Reminder\t"
        "customer would be paused to 2026-04-15"
    ]
    assert db.read_bytes() == before and "message_key" not in meta(shop)
    # a dry run's emails (C001's reminder of 2026-03-26) get ids under a throwaway key
    doc = json.loads(
        cli(
            "run", "--dry-run", "--format", "json", "--as-of", "2026-03-26", "--config", shop.config
        ).stdout
    )
    assert ("C001", "email") in [(a["customer_id"], a["action"]) for a in doc["actions"]]
    assert db.read_bytes() == before and "message_key" not in meta(shop)

    assert cli("inbox", "--config", shop.config).stdout.splitlines() == [
        "inbox\treply\tC002\tPat Lee <billing@blueharbor.example>\tRe: Reminder\t"
        "customer paused to 2026-04-15"
    ]
    assert paused(shop, cli) == ["C002"]
    assert "message_key" in meta(shop)
    # the next reminders (C001's of 2026-03-26) are keyed: not the hash of their keys
    clock("2026-03-26T17:00:00")
    cli("run", "--as-of", "2026-03-26", "--config", shop.config)
    (later,) = (shop.folder / "outbox").glob("2026-03-26-C001-*-0-*.eml")
    message = email.message_from_bytes(later.read_bytes(), policy=email.policy.default)
    assert not message["Message-ID"].startswith("<" + later.stem.rsplit("-", 1)[1])


def test_a_dry_run_on_a_folder_without_a_state_database_writes_none(tmp_path, cli, clock):
    """Before the first run there is no key to show ids under: the dry run makes them with a
    throwaway key (its emails go to nobody) and leaves the folder as it was."""
    clock("2026-03-16T17:00:00")
    write_scaffold(tmp_path / "a", date(2026, 3, 16))
    before = sorted(p.name for p in (tmp_path / "a").iterdir())
    cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", tmp_path / "a" / "arflow.yaml")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == before


# --- bounces: reported by the mail system only -----------------------------------------------
_MAILER = b"From: Mail Delivery System <MAILER-DAEMON@mx.acme.example>\r\n"


def report(original: str, failed: str, *, sender: str, return_path: str | None) -> bytes:
    """A delivery-status report (RFC 3464) from `sender`, with the envelope sender the final
    server wrote as `Return-Path` (None: no such header, as a file dropped into a Maildir)."""
    raw = mail.bounce(original, failed).replace(_MAILER, f"From: {sender}\r\n".encode())
    return (f"Return-Path: {return_path}\r\n".encode() if return_path else b"") + raw


@pytest.mark.parametrize(
    "sender, return_path",
    [
        ("Northwind AP <ap@northwind.example>", None),  # the address itself "reports" it
        ("Northwind AP <ap@northwind.example>", "<ap@northwind.example>"),
        ("Northwind AP <ap@northwind.example>", "<>"),  # null sender, from its own address
        ("Mail Delivery System <MAILER-DAEMON@northwind.example>", "<ap@northwind.example>"),
        ("Accounts <accounts@northwind.example>", None),  # neither mail system nor null sender
        # a display name that decodes to the mail system's address is no address
        ("=?utf-8?q?MAILER-DAEMON=40mx=2Eacme=2Eexample?= <ap@northwind.example>", None),
        ("=?utf-8?q?MAILER-DAEMON=40mx=2Eacme=2Eexample?= <ar@northwind.example>", None),
    ],
)
def test_a_report_the_customer_writes_marks_nothing_bounced(shop, cli, sender, return_path):
    sent = shop.sent()
    shop.deliver(
        report(sent["C001"], "ap@northwind.example", sender=sender, return_path=return_path)
    )
    assert cli("inbox", "--config", shop.config).stdout == ""
    assert bounced(shop, cli) == {}


@pytest.mark.parametrize(
    "sender, return_path",
    [
        ("Mail Delivery System <MAILER-DAEMON@mx.acme.example>", "<>"),
        ("Mail Delivery System <MAILER-DAEMON@mx.acme.example>", None),
        ("Mail Delivery Subsystem <postmaster@mx.acme.example>", "<MAILER-DAEMON@mx.acme.example>"),
        ("Mail Delivery Subsystem <mail@mx.acme.example>", "< >"),
    ],
)
def test_a_report_of_the_mail_system_marks_the_address(shop, cli, sender, return_path):
    shop.deliver(
        report(shop.sent()["C001"], "ap@northwind.example", sender=sender, return_path=return_path)
    )
    (line,) = cli("inbox", "--config", shop.config).stdout.splitlines()
    assert line.split("\t")[:3] + line.split("\t")[-1:] == [
        "inbox",
        "bounce",
        "C001",
        "ap@northwind.example marked bounced",
    ]
    assert bounced(shop, cli) == {"C001": ["ap@northwind.example"]}


def test_imap_a_report_counts_only_from_the_mail_system(imap_shop, imap, cli):
    """Through a real IMAP server: the customer's own "report" first, then the mail system's."""
    sent = imap_shop.sent()
    imap.append(
        report(
            sent["C001"],
            "ap@northwind.example",
            sender="ap@northwind.example",
            return_path="<ap@northwind.example>",
        )
    )
    assert cli("inbox", "--config", imap_shop.config).stdout == ""
    assert bounced(imap_shop, cli) == {}
    imap.append(
        report(
            sent["C001"],
            "ap@northwind.example",
            sender="Mail Delivery System <MAILER-DAEMON@mx.acme.example>",
            return_path="<>",
        )
    )
    assert cli("inbox", "--config", imap_shop.config).stdout.splitlines() == [
        "inbox\tbounce\tC001\tMail Delivery System <MAILER-DAEMON@mx.acme.example>\t"
        "Undelivered Mail Returned to Sender\tap@northwind.example marked bounced"
    ]


# --- inbox text is data ----------------------------------------------------------------------
FORGED_LINE = "\r\ninbox\treply\tC001\tceo@acme.example\tPaid\tcustomer paused to 2099-01-01"


def encoded(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


def sneaky(answers: str) -> bytes:
    """A reply whose encoded Subject and sender's name carry a line break, tabs and a forged
    line of arflow's output, and whose text carries a terminal escape and odd line breaks."""
    raw = mail.reply(
        answers,
        sender="billing@blueharbor.example",
        subject="placeholder",
        text="Paid\x1b[2J today.\x0bAll of it.\u2028Thanks\x00",
    )
    raw = re.sub(rb"Message-ID: <[^>]*>", b"Message-ID: <a\x1b[2Jb@customer.example>", raw)
    return raw.replace(
        b"Subject: placeholder", f"Subject: {encoded('Re: x' + FORGED_LINE)}".encode()
    ).replace(
        b"From: billing@blueharbor.example",
        f"From: {encoded('Pat' + FORGED_LINE)} <billing@blueharbor.example>".encode(),
    )


FLAT = "inbox reply C001 ceo@acme.example Paid customer paused to 2099-01-01"


def test_a_subject_with_line_breaks_prints_as_one_line_everywhere(shop, cli, clock):
    shop.deliver(sneaky(shop.sent()["C002"]))
    line = f"inbox\treply\tC002\tPat {FLAT} <billing@blueharbor.example>\tRe: x {FLAT}\t"
    assert cli("inbox", "--dry-run", "--config", shop.config).stdout.splitlines() == [
        line + "customer would be paused to 2026-04-15"
    ]
    assert cli("inbox", "--config", shop.config).stdout.splitlines() == [
        line + "customer paused to 2026-04-15"
    ]
    # history: one line, its text as data
    (line,) = [
        line
        for line in cli("history", "--config", shop.config).stdout.splitlines()
        if "\tinbox\t" in line
    ]
    assert line.endswith(f"\tRe: x {FLAT} — Paid [2J today. All of it. Thanks")
    # its Message-ID, with an escape in it, is none: the message is known by its hash
    assert "\x1b" not in line and "\tsha256:" in line
    # the controller's notice goes (its subject is a safe header now) and quotes one line
    clock("2026-03-17T17:00:00")
    run = cli("run", "--as-of", "2026-03-17", "--config", shop.config)  # exit 0: no errors
    assert [line for line in run.stdout.splitlines() if line.startswith("error")] == []
    (notice,) = [m for m in shop.outbox("2026-03-17") if "replied" in m["Subject"]]
    assert notice["Subject"] == f"Blue Harbor Cafe replied: Re: x {FLAT}"
    told = notice.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert f"From:    Pat {FLAT} <billing@blueharbor.example>\n" in told
    assert "  > Paid [2J today. All of it. Thanks\n" in told
    assert "\x1b" not in told and "\t" not in told.split("The reminder was about")[0]


def test_a_reply_recorded_with_line_breaks_by_an_older_arflow_prints_as_one_line(shop, cli, clock):
    """A row an older arflow recorded kept the line breaks of the text (and its notice has not
    gone yet): `history` prints it on one line all the same, and the notice goes, quoting it
    as one line."""
    shop.deliver(mail.reply(shop.sent()["C002"], sender="billing@blueharbor.example"))
    cli("inbox", "--config", shop.config)
    conn = sqlite3.connect(shop.folder / "arflow.db")
    with conn:
        conn.execute(
            "UPDATE inbox SET subject = ?, excerpt = ?, sender = ?",
            ("Re: x" + FORGED_LINE, "one\ntwo\r\n\tthree", "Pat" + FORGED_LINE),
        )
    conn.close()
    (line,) = [
        line
        for line in cli("history", "--config", shop.config).stdout.splitlines()
        if "\tinbox\t" in line
    ]
    assert f"\tPat {FLAT}\t" in line and line.endswith(f"\tRe: x {FLAT} — one two three")
    clock("2026-03-17T17:00:00")
    cli("run", "--as-of", "2026-03-17", "--config", shop.config)  # exit 0: no errors
    (notice,) = [m for m in shop.outbox("2026-03-17") if "replied" in m["Subject"]]
    assert notice["Subject"] == f"Blue Harbor Cafe replied: Re: x {FLAT}"
    told = notice.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert f"From:    Pat {FLAT}\n" in told and "  > one two three\n" in told


def test_text_as_data_is_one_line_and_cut_where_asked():
    from arflow.plaintext import one_line

    assert one_line("a\r\nb\tc\x1b[31md\u2028e\u202ef\x00g\udcff") == "a b c [31md e f g\ufffd"
    assert one_line("  x  \n\n y ", 10) == "x y"
    assert one_line("x" * 20, 10) == "x" * 9 + "…"
    assert one_line(None) == ""
