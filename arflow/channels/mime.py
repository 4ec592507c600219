"""One email as MIME: plain text and HTML alternatives, safe headers, a stable Message-ID."""

from __future__ import annotations

from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from arflow.channels import Message

# SMTP wants CRLF and lines of at most 998 octets; quoted-printable keeps any body under that
# and 7bit bodies (quoted-printable or base64) reach even a server without 8BITMIME
_POLICY = policy.SMTP.clone(cte_type="7bit", raise_on_defect=True)
_LONGEST_LINE = 900


def _address(address: str, name: str | None) -> str:
    return formataddr((name, address)) if name else address


def _set_body(msg: EmailMessage, text: str, html: str | None) -> None:
    def cte(body: str) -> str | None:
        return "quoted-printable" if any(len(line) > _LONGEST_LINE
                                         for line in body.splitlines()) else None
    msg.set_content(text + "\n", cte=cte(text))
    if html:
        msg.add_alternative(html + "\n", subtype="html", cte=cte(html))


def build_email(message: Message, keep_bcc: bool = False) -> EmailMessage:
    """The email; its header values were checked by `compose` and are checked again by the
    email package (which refuses CR and LF)."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = _address(message.sender, message.sender_name)
    msg["To"] = ", ".join(_address(a, message.names.get(a)) for a in message.to)
    if message.cc:
        msg["Cc"] = ", ".join(_address(a, message.names.get(a)) for a in message.cc)
    if keep_bcc and message.bcc:
        msg["Bcc"] = ", ".join(message.bcc)
    msg["Subject"] = message.subject or ""
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message.message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to reminders
    _set_body(msg, message.text or "", message.html)
    return msg


def domain_of(address: str) -> str:
    try:
        return Address(addr_spec=address).domain or "arflow.invalid"
    except (ValueError, IndexError):
        return "arflow.invalid"
