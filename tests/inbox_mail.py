"""Messages as they arrive in arflow's inbox: a customer's reply, an out-of-office answer, a
delivery-status report (RFC 3464) and the odd ones a mailbox also holds."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid


def reply(
    answers: str,
    *,
    sender: str,
    subject: str = "Re: Reminder",
    text: str | None = None,
    headers: dict[str, str] | None = None,
    references: bool = False,
) -> bytes:
    """A reply to the email whose Message-ID is `answers` (by In-Reply-To, or only by
    References as some clients do)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "ar@acme.example"
    message["Subject"] = subject
    message["Date"] = "Mon, 16 Mar 2026 15:04:00 +0000"
    message["Message-ID"] = make_msgid(domain="customer.example")
    if references:
        message["References"] = f"<older@elsewhere.example> {answers}"
    else:
        message["In-Reply-To"] = answers
        message["References"] = answers
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(
        text
        or (
            "Hello,\n\nWe paid INV-1002 yesterday by bank transfer.\nINV-1003 is disputed: the "
            "goods never arrived.\n\nBest regards,\nPat\n\nOn Mon, 16 Mar 2026 at 09:00, Acme "
            "Supplies Ltd <ar@acme.example> wrote:\n> Dear Blue Harbor Cafe,\n> Our records show\n"
        )
    )
    return bytes(message)


def out_of_office(answers: str, *, sender: str) -> bytes:
    return reply(
        answers,
        sender=sender,
        subject="Automatic reply: Reminder",
        text="I am out of the office until 30 March.",
        headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )


def bounce(original: str, failed: str, *, action: str = "failed") -> bytes:
    """A mail server's delivery-status report: `failed` could not be reached; the returned
    headers carry the Message-ID `original`."""
    boundary = "report-boundary-1"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.acme.example>\r\n"
        "To: ar@acme.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Mon, 16 Mar 2026 09:01:00 +0000\r\n"
        f"Message-ID: {make_msgid(domain='mx.acme.example')}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is the mail system. Your message could not be delivered to <{failed}>.\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.acme.example\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\n"
        f"Action: {action}\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "From: Acme Supplies Ltd <ar@acme.example>\r\n"
        f"To: {failed}\r\n"
        "Subject: Friendly reminder\r\n"
        f"Message-ID: {original}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def garbage() -> bytes:
    """Not a message at all: binary noise with a header-looking start."""
    return b"From: \xff\xfe\x00\x01\r\nSubject: =?x-unknown?q?=FF?=\r\n\r\n" + bytes(range(256)) * 4


def not_utf8_header(answers: str) -> bytes:
    """A header in raw Latin-1 bytes, naming a message arflow never sent."""
    return (
        b"From: M\xfcller <m@customer.example>\r\nTo: ar@acme.example\r\n"
        b"Subject: R\xe9ponse \xe0 votre rappel\r\n"
        b"Message-ID: <latin1@customer.example>\r\n"
        b"In-Reply-To: " + answers.encode() + b"\r\n\r\nMerci.\r\n"
    )


def huge(answers: str, *, sender: str, megabytes: int = 12) -> bytes:
    """A message with a large attachment."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "ar@acme.example"
    message["Subject"] = "Scans"
    message["Message-ID"] = make_msgid(domain="customer.example")
    message["In-Reply-To"] = answers
    message.set_content("See the attached scans.")
    message.add_attachment(
        b"\x00" * (megabytes * 1024 * 1024),
        maintype="application",
        subtype="octet-stream",
        filename="scans.bin",
    )
    return bytes(message)
