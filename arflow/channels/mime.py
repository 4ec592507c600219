"""One email as MIME bytes: plain text and HTML alternatives, safe headers, a stable Message-ID.

Written directly rather than through `email.generator`: the standard library re-folds every
header through its policy machinery and costs 3–4 ms a message, more than the SMTP exchange
itself. The shape is fixed and simple (multipart/alternative, two quoted-printable UTF-8
parts), so it is built here and checked against the standard parser in the tests.

Header values were checked by `compose` (no control characters, no encoded words) before they
get here, and are checked again below; non-ASCII text is RFC 2047-encoded here.
"""

from __future__ import annotations

import binascii
import hashlib
from email.utils import formataddr, formatdate

from arflow.channels import Message

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
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    room = (_FOLD_AT - used - 12) // 4 * 3  # bytes that fit in this line's =?utf-8?b?…?=
    for ch in value:
        n = len(ch.encode("utf-8"))
        if size + n > room and chunk:
            words.append("".join(chunk))
            chunk, size, room = [], 0, (_FOLD_AT - 1 - 12) // 4 * 3
        chunk.append(ch)
        size += n
    words.append("".join(chunk))
    return "\r\n ".join(
        f"=?utf-8?b?{binascii.b2a_base64(w.encode('utf-8'), newline=False).decode()}?="
        for w in words)


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


def _address(address: str, name: str | None) -> str:
    return formataddr((name, address), charset="utf-8") if name else address


def _addresses(addresses: list[str], names: dict[str, str]) -> str:
    return ",\r\n ".join(_address(a, names.get(a)) for a in addresses)


def _qp(text: str) -> bytes:
    """A body as quoted-printable UTF-8 with CRLF line ends (7-bit clean, short lines)."""
    crlf = "\r\n".join(text.splitlines()) + "\r\n"
    return binascii.b2a_qp(crlf.encode("utf-8"), istext=True)


def email_bytes(message: Message, keep_bcc: bool = False) -> bytes:
    """The message as SMTP wants it; `keep_bcc` adds the Bcc header (the outbox's copy only)."""
    headers = [("From", _address(message.sender or "", message.sender_name)),
               ("To", _addresses(message.to, message.names))]
    if message.cc:
        headers.append(("Cc", _addresses(message.cc, message.names)))
    if keep_bcc and message.bcc:
        headers.append(("Bcc", ", ".join(message.bcc)))
    headers += [("Subject", _header("Subject", message.subject or "")),
                ("Date", formatdate(usegmt=True)),
                ("Message-ID", message.message_id or ""),
                ("Auto-Submitted", "auto-generated"),  # RFC 3834: no auto-replies
                ("MIME-Version", "1.0")]
    for name, value in headers:
        # a second line of defence: only folding (CRLF + space) may break a header line
        if "\n" in value.replace("\r\n ", "").replace("\r\n\t", "") or \
                "\r" in value.replace("\r\n", ""):
            raise ValueError(f"refusing a line break in the {name} header")
        if not value.isascii():
            raise ValueError(f"the {name} header is not ASCII after encoding")
    # '=_' never appears in quoted-printable output, so this boundary cannot occur in a part
    boundary = "=_arflow_" + hashlib.sha256((message.message_id or "").encode()).hexdigest()[:24]
    parts = [("plain", message.text or "")]
    if message.html:
        parts.append(("html", message.html))
    out = [f"{name}: {value}\r\n".encode() for name, value in headers]
    out.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'.encode())
    for subtype, body in parts:
        out.append(f"--{boundary}\r\nContent-Type: text/{subtype}; charset=\"utf-8\"\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode())
        out.append(_qp(body) + b"\r\n")  # that CRLF belongs to the boundary (RFC 2046)
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def domain_of(address: str) -> str:
    """The domain of a (validated) address, for Message-IDs."""
    local, at, domain = address.rpartition("@")
    domain = domain.strip(" >")
    return domain if at and local and domain and domain.isascii() else "arflow.invalid"
