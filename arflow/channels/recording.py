"""A dry run's channel: takes each message exactly as a real channel would, sends nothing.

An email's bytes are built as the SMTP and outbox channels build them, so a message that a real
run could not hand over fails here first.
"""

from __future__ import annotations

from collections.abc import Callable

from arflow.channels.message import Message, Outcome
from arflow.channels.mime import email_bytes

PLANNED = Outcome("planned")
SENT = Outcome("sent")


class RecordingChannel:
    def __init__(self, channel: str, keep: bool = False, delivered: bool = False):
        self.name = f"{channel}:dry-run"
        # a forecast's and a simulation's: every message counts as delivered (SPEC 4.11)
        self.outcome = SENT if delivered else PLANNED
        # with `keep`, (message, its email bytes) of each message, for a caller that shows them
        self.kept: list[tuple[Message, bytes | None]] | None = [] if keep else None

    def open(self) -> None:
        pass

    def send(
        self,
        message: Message,
        ready: Callable[[], None],
        meanwhile: Callable[[], None] | None = None,
    ) -> Outcome:
        ready()
        data = email_bytes(message) if message.kind == "email" else None
        if self.kept is not None:
            self.kept.append((message, data))
        return self.outcome

    def close(self) -> None:
        pass
