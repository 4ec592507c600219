"""What a channel is handed and answers (SPEC 5): a `Message` (with its `Attachment`s), the
`Outcome`, the `Channel` protocol, and the checks every header value passes. The transports
and the registry import this module; it imports none of them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from arflow.config import Config
from arflow.errors import ArflowError
from arflow.plaintext import CONTROL


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an email (a campaign's statement.csv or statement.pdf)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class Message:
    """One rendered message, ready for a channel."""

    kind: str  # email | sms | webhook
    name: str  # a file-safe name, unique per idempotency key
    to: list[str]
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # address → display name
    sender: str | None = None  # email: the From address
    sender_name: str | None = None
    message_id: str | None = None  # email: derived from the idempotency key
    idempotency_key: str | None = None
    url: str | None = None  # webhook
    body: str | None = None  # sms text or webhook JSON
    attachments: list[Attachment] = field(default_factory=list)  # email
    reply_to: str | None = None  # email: Reply-To
    list_id: str | None = None  # email: List-Id (RFC 2919), for mail filters
    # email: (keep_bcc, the bytes before the Date's value, after it), built ahead by a
    # worker of the composing pool (`mime.build_ahead`); None: built when sent
    mime: tuple[bool, bytes, bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def recipients(self) -> list[str]:
        return list(dict.fromkeys(self.to + self.cc + self.bcc))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a channel says about one message (SPEC 6)."""

    state: str  # sent | failed | unknown; planned in a dry run
    permanent: bool = False  # a failure that no later run should retry
    provider_id: str | None = None
    error: str | None = None


class Channel(Protocol):
    """What `deliver` needs from a transport."""

    name: str

    def open(self) -> None:
        """Connect and log in; raise ArflowError when the run must stop (bad credentials)."""

    def send(
        self,
        message: Message,
        ready: Callable[[], None],
        meanwhile: Callable[[], None] | None = None,
    ) -> Outcome:
        """Hand one message over; never raise for a delivery problem, say it in the Outcome.

        `ready()` commits the message as `sending` and must be called before anything of it
        is handed over (the SMTP recipients, the HTTP request): it returns once that record is
        durable, and raises when it could not be written, in which case nothing may be handed
        over. A request written just before it (SMTP MAIL FROM) is answered by the server while
        the commit runs. `deliver` calls it after `send` if the channel did not.

        `meanwhile()`, when given, does a slice of `deliver`'s own work (rendering the next
        message); a channel may call it, as often as it likes, while it waits for its server.
        It never raises."""

    def close(self) -> None: ...


# --- header safety (SPEC 6) -------------------------------------------------------------------
# CR, LF and every other control character (`arflow.plaintext.CONTROL`); and RFC 2047 encoded
# words, which a mail reader would decode into anything (`=?utf-8?q?x=0ABcc:_...?=`) although
# Python's email package lets them through.
_UNSAFE_CHAR = CONTROL
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?]*\?=")


def header_problem(value: str) -> str | None:
    """Why `value` may not go into a mail header, or None when it is safe."""
    m = _UNSAFE_CHAR.search(value)
    if m:
        return f"contains the control character U+{ord(m.group()):04X}"
    if _ENCODED_WORD.search(value):
        return "contains an RFC 2047 encoded word (=?…?=)"
    return None


_ESCAPES = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def visible(value: str) -> str:
    """`value` as a report shows it: the characters `header_problem` refuses written as
    escapes (`Acme\\r\\nBcc: x`), everything else as it is."""
    return _UNSAFE_CHAR.sub(
        lambda m: (
            _ESCAPES.get(m.group())
            or (
                f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
            )
        ),
        value,
    )


def sender_address(config: Config) -> str:
    address = config.channels.email.sender or config.company.email
    if not address:
        raise ArflowError(
            "emails need a sender: set channels.email.from (or company.email) "
            "in arflow.yaml. Nothing was sent."
        )
    return address
