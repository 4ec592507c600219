"""The file outbox: each email as an `.eml` file, each SMS or webhook body as a text file.

The default of `arflow init`, so a new folder works with no mail server; also what a person
opens to see exactly what a real run would send.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from arflow.channels.message import Message, Outcome
from arflow.channels.mime import email_bytes
from arflow.errors import ArflowError


class OutboxChannel:
    def __init__(self, directory: Path, channel: str):
        self.directory = directory
        self.name = f"{channel}:outbox"

    def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArflowError(
                f"cannot create the outbox folder {self.directory}: "
                f"{exc.strerror}. Nothing was sent."
            ) from None

    def send(
        self,
        message: Message,
        ready: Callable[[], None],
        meanwhile: Callable[[], None] | None = None,
    ) -> Outcome:
        ready()
        if message.kind == "email":
            data = email_bytes(message, keep_bcc=True)
            path = self.directory / f"{message.name}.eml"
        elif message.kind == "sms":
            data = f"To: {', '.join(message.to)}\n\n{message.body}\n".encode()
            path = self.directory / f"{message.name}.sms.txt"
        else:
            data = f"POST {message.url}\n\n{message.body}\n".encode()
            path = self.directory / f"{message.name}.webhook.txt"
        try:
            _write_whole(self.directory, path, data)
        except OSError as exc:
            return Outcome("failed", error=f"cannot write {path}: {exc.strerror}")
        return Outcome("sent", provider_id=path.name)

    def close(self) -> None:
        pass


def _write_whole(directory: Path, path: Path, data: bytes) -> None:
    """`data` as the file `path`, whole or not at all: written beside, then renamed (a crash
    never leaves half a message in the outbox); a write that fails (the disk full) takes its
    temporary file away with it."""
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
