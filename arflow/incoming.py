"""What an incoming message is (SPEC 6.1): a customer's reply, an automatic answer, a bounce,
or nothing of arflow's (ignored), and what of it is kept.

A message belongs to a customer when its `In-Reply-To` or `References` names the Message-ID
recorded for an email arflow sent that customer (never one computed again: an email's id is
keyed with the state database's secret, `message_names.message_id`). A bounce is a delivery-status
report (RFC 3464) from the mail system (an empty envelope sender, or MAILER-DAEMON or
postmaster; never one of the customer's own addresses) whose returned headers name such an
email and whose failed recipient is an address it went to. What a stranger wrote (the sender,
subject, date and first lines) is kept as data: one line each (`plaintext.one_line`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, HeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Any

from arflow.plaintext import CONTROL, one_line
from arflow.state import StateDB

EXCERPT_LINES = 5
EXCERPT_CHARS = 400
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
_AUTO_PRECEDENCE = ("auto_reply", "bulk", "junk", "list")
# the mail system's own senders (its delivery reports also go with an empty envelope sender:
# RFC 3464, RFC 5321 4.5.5)
_MAIL_SYSTEM = ("mailer-daemon", "postmaster")
# where a reply's own text ends and the quoted message or a signature begins
_QUOTE_START = re.compile(
    r"^(?:on .{0,200} wrote:|am .{0,200} schrieb .{0,100}:|-{2,}\s*original message\s*-{2,}|"
    r"-- ?|_{5,}|from:\s.*|von:\s.*|sent from my .*)$",
    re.IGNORECASE,
)


def _header(msg: Message, name: str) -> str:
    """A header as text, whatever its encoding; "" when absent or unreadable."""
    return _decoded(_raw(msg, name))


def _raw(msg: Message, name: str) -> str:
    """A header as written (its encoded words left as they are); "" when absent or
    unreadable."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:
        return ""


def _decoded(text: str) -> str:
    try:
        return str(make_header(decode_header(text))).strip()
    except Exception:  # a broken encoded word, an unknown charset: keep what can be read
        return text.encode("utf-8", "replace").decode().strip()


def _addresses(msg: Message, *names: str) -> list[str]:
    """The addresses in these headers, in lower case, read as written: an address is never an
    encoded word, and a display name that decodes to `x@y` must not pass for one."""
    return [
        address.lower() for _, address in getaddresses([_raw(msg, n) for n in names]) if address
    ]


def message_ids(text: str) -> list[str]:
    """The Message-IDs in a header; one with a control character is none."""
    return [found for found in _MESSAGE_ID.findall(text or "") if not CONTROL.search(found)]


def _is_auto_reply(msg: Message) -> bool:
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return True
    return _header(msg, "Precedence").lower() in _AUTO_PRECEDENCE


def _failed_recipients(msg: Any) -> tuple[list[str], list[str]]:
    """A delivery-status report's failed recipients, and the Message-IDs of the returned
    message's headers; ([], []) when `msg` is no such report."""
    if (
        msg.get_content_type() != "multipart/report"
        or str(msg.get_param("report-type") or "").lower() != "delivery-status"
    ):
        return [], []
    failed: list[str] = []
    original: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            blocks = part.get_payload()
            if isinstance(blocks, str):  # not split into blocks: parse the text
                blocks = [HeaderParser().parsestr(b) for b in blocks.split("\n\n")]
            for block in blocks if isinstance(blocks, list) else []:
                action = str(block.get("Action", "")).strip().lower()
                recipient = str(
                    block.get("Final-Recipient") or block.get("Original-Recipient") or ""
                )
                if action == "failed" and ";" in recipient:
                    failed.append(recipient.split(";", 1)[1].strip().strip("<>").lower())
        elif kind in ("text/rfc822-headers", "message/rfc822"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original += message_ids(str(inner[0].get("Message-ID", "")))
            else:
                payload = part.get_payload(decode=True) or b""
                headers = BytesHeaderParser().parsebytes(payload)
                original += message_ids(str(headers.get("Message-ID", "")))
    return failed, original


def excerpt(msg: Any) -> str:
    """The first lines of a reply's own text, as one line (`one_line`): quoted history and
    signatures left out."""
    body = ""
    for part in msg.walk():
        if part.get_content_maintype() == "multipart" or part.get_filename():
            continue
        if part.get_content_type() in ("text/plain", "text/html"):
            try:
                payload = part.get_payload(decode=True) or b""
                text = payload.decode(part.get_content_charset() or "utf-8", "replace")
            except (LookupError, ValueError):
                text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
            if part.get_content_type() == "text/html":
                text = re.sub(r"(?is)<(script|style).*?</\1>|<[^>]+>", " ", text)
                text = re.sub(r"(?i)&nbsp;", " ", text)
            body = text
            if part.get_content_type() == "text/plain":
                break
    lines: list[str] = []
    for line in body.splitlines():
        line = line.strip()
        if _QUOTE_START.match(line):
            break
        if line.startswith(">") or not line:
            continue
        lines.append(line)
        if len(lines) == EXCERPT_LINES:
            break
    return one_line(" ".join(lines), EXCERPT_CHARS)


def classify(
    raw: bytes, sent: StateDB, emails_of: Mapping[str, Iterable[str]] | None = None
) -> dict:
    """What one message is: `kind` reply, auto-reply, bounce or ignored, with the customer and
    the email of arflow's it answers (`emails_of`: each customer's addresses in the source).
    Its sender, subject and date are kept as data (`one_line`). Never raises."""
    message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        msg = message_from_bytes(raw, policy=compat32)
        own = message_ids(_header(msg, "Message-ID"))
        if own:
            message_id = own[0]
        event = {
            "message_id": message_id,
            "kind": "ignored",
            "sender": _sender(msg),
            "subject": one_line(_header(msg, "Subject"), 200),
            "received": one_line(_header(msg, "Date"), 100),
        }
        failed, original = _failed_recipients(msg)
        if failed or original:  # a delivery-status report
            bounce = _bounce(msg, failed, original, sent, emails_of or {})
            if bounce is not None:
                return {**event, **bounce}
            if _from_mail_system(msg, ()):
                return event  # a delay, another address, an email arflow never sent
            # a "report" someone wrote is their message like any other
        return _answer(msg, event, sent)
    except Exception:  # a message no parser makes sense of: ignored, never fatal
        return {"message_id": message_id, "kind": "ignored"}


def _bounce(
    msg: Message,
    failed: list[str],
    original: list[str],
    sent: StateDB,
    emails_of: Mapping[str, Iterable[str]],
) -> dict | None:
    """A delivery report's bounce: an address an email of arflow's went to, reported failed by
    the mail system (never by one of the customer's own addresses); None when it is none."""
    known = sent.sent_emails(original)
    for mid in original:
        email = known.get(mid)
        if email is None:
            continue
        recipients = {r.lower() for r in email["recipients"]}
        hit = next((a for a in failed if a in recipients), None)
        customer = email["customer_id"]
        own = recipients | {a.lower() for a in emails_of.get(customer, ())}
        if hit and _from_mail_system(msg, own):
            return {
                "kind": "bounce",
                "customer_id": customer,
                "action_key": email["key"],
                "address": hit,
            }
    return None


def _from_mail_system(msg: Message, own: Iterable[str]) -> bool:
    """A delivery report comes from the mail system (RFC 3464, RFC 5321 4.5.5): with an empty
    envelope sender (`Return-Path: <>`), or from MAILER-DAEMON or postmaster; never from one
    of the customer's addresses (`own`), which the customer can write any "report" from."""
    envelope = _raw(msg, "Return-Path")
    senders = _addresses(msg, "From", "Sender", "Return-Path")
    if set(senders) & set(own):
        return False
    return "".join(envelope.split()) == "<>" or any(
        address.partition("@")[0] in _MAIL_SYSTEM for address in senders
    )


def _answer(msg: Message, event: dict, sent: StateDB) -> dict:
    """A message that answers an email of arflow's to a customer (its `In-Reply-To` or
    `References` names one's recorded Message-ID): a reply or an auto-reply; else ignored."""
    answered = (
        message_ids(_header(msg, "In-Reply-To")) + message_ids(_header(msg, "References"))[::-1]
    )  # the nearest first
    known = sent.sent_emails(answered)
    email = next((known[mid] for mid in answered if mid in known), None)
    if email is None:
        return event  # names nothing arflow sent (a forged or unrelated message)
    event.update(customer_id=email["customer_id"], action_key=email["key"])
    if _is_auto_reply(msg):
        return {**event, "kind": "auto-reply"}
    return {**event, "kind": "reply", "excerpt": excerpt(msg)}


def _sender(msg: Message) -> str:
    """Who wrote, `Name <address>`: the address as written, the name decoded."""
    found = getaddresses([_raw(msg, "From")])
    if not found:
        return ""
    name, address = found[0]
    name = _decoded(name)
    return one_line(f"{name} <{address}>" if name else address, 200)
