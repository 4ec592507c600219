"""Channel building blocks: the MIME writer against the standard parser, header checks."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from arflow.channels import Message, header_problem
from arflow.channels.mime import domain_of, email_bytes


def parse(data: bytes):
    return message_from_bytes(data, policy=policy.default)


@pytest.mark.parametrize(
    "name, subject",
    [
        ("Plain Name", "Reminder INV-1"),
        ("Müller & Söhne GmbH", "Zahlungserinnerung: Rechnung 4711 über 1.234,50 €"),
        (
            'O\'Brien, "The" Builders',
            "A subject that is rather long because it lists invoices "
            "INV-0001, INV-0002, INV-0003, INV-0004 and INV-0005",
        ),
        ("山田商事", "請求書のお知らせ"),
        # folded and encoded by arflow itself: long text, several encoded words, 4-byte characters
        ("Zoë", "Past due: invoice 0000047623 — 63 days " * 4),
        ("Zoë", "😀 " * 40 + "done"),
        ("Plain", "x" * 60 + " then words after a long one " * 3),
    ],
)
def test_the_mime_writer_round_trips_through_the_standard_parser(name, subject):
    text = (
        "Dear customer,\n\n.a line starting with a dot\nequals = sign and trailing space \n"
        + "x" * 300
        + "\nÜmlaut ✓"
    )
    html = "<p>Dear &lt;customer&gt;</p>\n<p>" + "y" * 400 + "</p>"
    message = Message(
        "email",
        "n",
        ["ap@customer.example", "boss@customer.example"],
        subject=subject,
        text=text,
        html=html,
        cc=["cc@acme.example"],
        bcc=["audit@acme.example"],
        names={"ap@customer.example": name, "cc@acme.example": "Chris Doe"},
        sender="ar@acme.example",
        sender_name="Acme Ltd",
        message_id="<abc.arflow@acme.example>",
    )
    data = email_bytes(message)
    assert data.isascii()
    lines = data.split(b"\r\n")
    assert all(len(line) <= 78 for line in lines) and b"\n" not in data.replace(b"\r\n", b"")
    parsed = parse(data)
    assert parsed["Subject"] == subject
    assert parsed["To"].addresses[0].display_name == name
    assert parsed["To"].addresses[0].addr_spec == "ap@customer.example"
    assert [a.addr_spec for a in parsed["To"].addresses] == [
        "ap@customer.example",
        "boss@customer.example",
    ]
    assert str(parsed["Cc"]) == "Chris Doe <cc@acme.example>"
    assert str(parsed["From"]) == "Acme Ltd <ar@acme.example>"
    assert parsed["Message-ID"] == "<abc.arflow@acme.example>"
    assert parsed["Bcc"] is None  # never on the wire

    def content(kind):  # the parser keeps the wire's CRLF line ends
        return parsed.get_body((kind,)).get_content().replace("\r\n", "\n")

    assert content("plain") == text + "\n"
    assert content("html") == html + "\n"
    assert not parsed.defects and all(not p.defects for p in parsed.walk())
    outbox_copy = parse(email_bytes(message, keep_bcc=True))
    assert str(outbox_copy["Bcc"]) == "audit@acme.example"


def test_a_text_only_email_has_one_part():
    message = Message(
        "email",
        "n",
        ["ap@x.example"],
        subject="s",
        text="hello",
        sender="ar@acme.example",
        message_id="<1@acme.example>",
    )
    parsed = parse(email_bytes(message))
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain"]


def test_the_writer_refuses_a_line_break_that_slipped_through():
    message = Message(
        "email",
        "n",
        ["ap@x.example"],
        subject="s\r\nBcc: x@evil.example",
        text="t",
        sender="ar@acme.example",
        message_id="<1@acme.example>",
    )
    with pytest.raises(ValueError, match="line break in the Subject header"):
        email_bytes(message)


def test_a_dry_run_channel_builds_each_email_as_a_real_one_would():
    from arflow.channels import Outcome
    from arflow.channels.recording import RecordingChannel

    channel = RecordingChannel("email")
    good = Message(
        "email",
        "n",
        ["ap@x.example"],
        subject="s",
        text="t",
        sender="ar@acme.example",
        message_id="<1@acme.example>",
    )
    calls = []
    assert channel.send(good, lambda: calls.append("ready")) == Outcome("planned")
    assert calls == ["ready"]
    bad = Message(
        "email",
        "n",
        ["ap@x.example"],
        subject="s\nBcc: x@evil.example",
        text="t",
        sender="ar@acme.example",
        message_id="<1@acme.example>",
    )
    with pytest.raises(ValueError, match="line break in the Subject header"):
        channel.send(bad, lambda: None)


@pytest.mark.parametrize(
    "value, problem",
    [
        ("Acme Ltd", None),
        ("Müller & Söhne", None),
        ('O\'Brien, Ltd ("main")', None),
        ("a=b?c", None),
        ("Evil\r\nBcc: x@evil.example", "contains the control character U+000D"),
        ("Evil\nBcc: x@evil.example", "contains the control character U+000A"),
        ("nul\x00byte", "contains the control character U+0000"),
        ("tab\there", "contains the control character U+0009"),
        ("del\x7f", "contains the control character U+007F"),
        ("line\u2028separator", "contains the control character U+2028"),
        ("bidi\u202eoverride", "contains the control character U+202E"),
        ("=?utf-8?q?Evil=0ABcc:_x@evil.example?=", "contains an RFC 2047 encoded word (=?…?=)"),
        ("x =?UTF-8?B?RXZpbAo=?= y", "contains an RFC 2047 encoded word (=?…?=)"),
    ],
)
def test_header_values_are_checked(value, problem):
    assert header_problem(value) == problem


@pytest.mark.parametrize(
    "address, domain",
    [
        ("ar@acme.example", "acme.example"),
        ("noat", "arflow.invalid"),
        ("a@", "arflow.invalid"),
        ("a@bücher.example", "arflow.invalid"),
    ],
)
def test_message_id_domains(address, domain):
    assert domain_of(address) == domain
