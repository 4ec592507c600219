"""One email as MIME bytes: plain text and HTML alternatives, safe headers, a stable Message-ID.

Written directly rather than through `email.generator`: the standard library re-folds every
header through its policy machinery and costs 3–4 ms a message, more than the SMTP exchange
itself. The shape is fixed and simple (multipart/alternative, two quoted-printable UTF-8
parts; with attachments, that inside a multipart/mixed with one base64 part per file), so it
is built here and checked against the standard parser in the tests.

Header values were checked by `compose` (no control characters, no encoded words) before they
get here, and are checked again below; non-ASCII text is RFC 2047-encoded here.
"""

from __future__ import annotations

import binascii
import hashlib
import time
import urllib.parse
from datetime import UTC, datetime
from email.utils import format_datetime, formataddr
from functools import lru_cache

from arflow.channels.message import Attachment, Message, header_problem

_FOLD_AT = 76


def _header(name: str, value: str) -> str:
    """A header value as ASCII: RFC 2047 for non-ASCII text, folded when long."""
    if not value.isascii():
        return _encoded_words(len(name) + 2, value)
    if len(name) + 2 + len(value) <= _FOLD_AT:
        return value
    return _fold(len(name) + 2, value)


def _encoded_words(used: int, value: str) -> str:
    """RFC 2047 `B` encoded words of UTF-8, each line within 76 characters and no character
    split between two words (`email.header` takes ~350 µs a subject to do the same)."""
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        for ch in value:  # the error of the first character UTF-8 cannot carry
            ch.encode("utf-8")
        raise
    words: list[bytes] = []
    start = 0
    room = (_FOLD_AT - used - 12) // 4 * 3  # bytes that fit in this line's =?utf-8?b?…?=
    while len(data) - start > room:
        cut = start + room
        if cut > start:
            while data[cut] & 0xC0 == 0x80:  # inside a character: it starts the next word
                cut -= 1
        if cut <= start:  # not even one character fits: it has a word of its own
            cut = start + 1
            while cut < len(data) and data[cut] & 0xC0 == 0x80:
                cut += 1
        words.append(data[start:cut])
        start, room = cut, (_FOLD_AT - 1 - 12) // 4 * 3
    if start < len(data) or not words:
        words.append(data[start:])
    return "\r\n ".join(
        f"=?utf-8?b?{binascii.b2a_base64(w, newline=False).decode()}?=" for w in words
    )


def _fold(used: int, value: str) -> str:
    """RFC 5322 folding of ASCII text: a CRLF before a space wherever a line would pass 76
    characters (a word longer than that keeps its line). Unfolding gives `value` back exactly;
    `email.header` does the same at ~150 µs a subject."""
    words = value.split(" ")
    lines, line = [], words[0]
    used += len(line)
    for word in words[1:]:
        if used + 1 + len(word) > _FOLD_AT and line.strip():
            lines.append(line)
            line, used = word, 1 + len(word)
        else:
            line += " " + word
            used += 1 + len(word)
    lines.append(line)
    return "\r\n ".join(lines)


@lru_cache(maxsize=4096)
def _address(address: str, name: str | None) -> str:
    # kept: a run writes the same sender, people and customer addresses into many messages
    return formataddr((name, address), charset="utf-8") if name else address


def _addresses(addresses: list[str], names: dict[str, str]) -> str:
    return ",\r\n ".join(_address(a, names.get(a)) for a in addresses)


def _qp(text: str) -> bytes:
    """A body as quoted-printable UTF-8 with CRLF line ends (7-bit clean, short lines)."""
    crlf = "\r\n".join(text.splitlines()) + "\r\n"
    return binascii.b2a_qp(crlf.encode("utf-8"), istext=True)


_dated: tuple[datetime | None, str] = (None, "")  # the last second a Date was written for


def _date() -> str:
    """`formatdate(usegmt=True)`, formatted once a second rather than once a message: the
    same clock reading, and the same text, since a Date has no fraction of a second."""
    global _dated
    now = datetime.fromtimestamp(time.time(), UTC).replace(microsecond=0)
    if now != _dated[0]:
        _dated = (now, format_datetime(now, usegmt=True))
    return _dated[1]


def email_bytes(message: Message, keep_bcc: bool = False) -> bytes:
    """The message as SMTP wants it; `keep_bcc` adds the Bcc header (the outbox's copy only).
    The Date is the moment of this call; the rest may have been built ahead (`build_ahead`)."""
    halves = message.mime if message.mime and message.mime[0] == keep_bcc else None
    before, after = halves[1:] if halves else email_halves(message, keep_bcc)
    return before + _date().encode() + after


def build_ahead(message: Message, keep_bcc: bool) -> None:
    """Build the email's bytes but its Date into `message.mime` (a worker of the composing
    pool does it); `email_bytes` then only adds the Date. One that cannot be built is left
    to `email_bytes`, which raises the same error where it would have without this."""
    try:
        message.mime = (keep_bcc, *email_halves(message, keep_bcc))
    except ValueError:
        message.mime = None


def email_halves(message: Message, keep_bcc: bool = False) -> tuple[bytes, bytes]:
    """The message's bytes before and after the Date header's value."""
    headers = [
        ("From", _address(message.sender or "", message.sender_name)),
        ("To", _addresses(message.to, message.names)),
    ]
    if message.cc:
        headers.append(("Cc", _addresses(message.cc, message.names)))
    if keep_bcc and message.bcc:
        headers.append(("Bcc", ", ".join(message.bcc)))
    if message.reply_to:
        headers.append(("Reply-To", message.reply_to))
    dated = len(headers) + 1  # the Date's place, after the Subject
    headers += [
        ("Subject", _header("Subject", message.subject or "")),
        ("Date", ""),
        ("Message-ID", message.message_id or ""),
        ("Auto-Submitted", "auto-generated"),  # RFC 3834: no auto-replies
        *([("List-Id", message.list_id)] if message.list_id else []),
        ("MIME-Version", "1.0"),
    ]
    _check(headers)
    # '=_' never appears in quoted-printable or base64 output, so these boundaries cannot
    # occur in a part
    digest = hashlib.sha256((message.message_id or "").encode()).hexdigest()
    boundary = "=_arflow_" + digest[:24]
    parts = [("plain", message.text or "")]
    if message.html:
        parts.append(("html", message.html))
    # every header is ASCII by now: one string, encoded once
    before = "".join(f"{name}: {value}\r\n" for name, value in headers[:dated]) + "Date: "
    head = ["\r\n", *(f"{name}: {value}\r\n" for name, value in headers[dated + 1 :])]
    mixed = "=_arflow_mixed_" + digest[24:48] if message.attachments else None
    if mixed:
        head.append(f'Content-Type: multipart/mixed;\r\n boundary="{mixed}"\r\n\r\n--{mixed}\r\n')
    head.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n')
    out = []
    for subtype, body in parts:
        head.append(
            f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
        out += ["".join(head).encode(), _qp(body), b"\r\n"]  # that CRLF belongs to the boundary
        head = []
    out.append(f"--{boundary}--\r\n".encode())
    if mixed:
        for attachment in message.attachments:
            out += [
                f"\r\n--{mixed}\r\n".encode(),
                _attachment_head(attachment),
                _base64(attachment.data),
            ]
        out.append(f"\r\n--{mixed}--\r\n".encode())
    return before.encode(), b"".join(out)


def _check(headers: list[tuple[str, str]]) -> None:
    for name, value in headers:
        # a second line of defence: only folding (CRLF + space) may break a header line
        if ("\r" in value or "\n" in value) and (
            "\n" in value.replace("\r\n ", "").replace("\r\n\t", "")
            or "\r" in value.replace("\r\n", "")
        ):
            raise ValueError(f"refusing a line break in the {name} header")
        if not value.isascii():
            raise ValueError(f"the {name} header is not ASCII after encoding")


def _attachment_head(attachment: Attachment) -> bytes:
    """An attachment's part headers; the file name plain when it can be, else RFC 2231."""
    name = attachment.filename
    problem = header_problem(name)
    if problem or not name:
        raise ValueError(f"refusing the attachment name {name!r}: {problem or 'it is empty'}")
    if name.isascii() and name.isprintable() and not any(c in name for c in '"\\;'):
        params = f'name="{name}"', f'filename="{name}"'
    else:
        quoted = "utf-8''" + urllib.parse.quote(name, safe="")
        params = f"name*={quoted}", f"filename*={quoted}"
    return (
        f"Content-Type: {attachment.content_type};\r\n {params[0]}\r\n"
        f"Content-Disposition: attachment;\r\n {params[1]}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()


def _base64(data: bytes) -> bytes:
    """Base64 in lines of 76 characters (57 bytes each), CRLF-ended."""
    return b"".join(
        binascii.b2a_base64(data[n : n + 57], newline=False) + b"\r\n"
        for n in range(0, len(data), 57)
    )


def domain_of(address: str) -> str:
    """The domain of a (validated) address, for Message-IDs."""
    local, at, domain = address.rpartition("@")
    domain = domain.strip(" >")
    return domain if at and local and domain and domain.isascii() else "arflow.invalid"
