"""Channels (SPEC 5): one protocol, a plain registry, one module per transport.

`deliver` is their only caller. A channel never retries by itself: whether a message is tried
again is decided from the state database, so a resend can never hide inside a channel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from arflow.channels.message import (
    Attachment,
    Channel,
    Message,
    Outcome,
    header_problem,
    sender_address,
    visible,
)
from arflow.config import Config

__all__ = [
    "TRANSPORTS",
    "Attachment",
    "Channel",
    "Message",
    "Outcome",
    "RunChannels",
    "channel_for",
    "header_problem",
    "sender_address",
    "visible",
]


# --- the registry -----------------------------------------------------------------------------
def _outbox(config: Config, channel: str) -> Channel:
    from arflow.channels.outbox import OutboxChannel

    return OutboxChannel(config.resolve(getattr(config.channels, channel).dir), channel)


def _smtp(config: Config, channel: str) -> Channel:
    from arflow.channels.smtp import SmtpChannel

    # bounces go to the envelope sender: return_path when set, else the From address
    return SmtpChannel(
        config.channels.email, config.channels.email.return_path or sender_address(config)
    )


def _twilio(config: Config, channel: str) -> Channel:
    from arflow.channels.twilio import TwilioChannel

    return TwilioChannel(config.channels.sms, config.company.region)


def _http(config: Config, channel: str) -> Channel:
    from arflow.channels.http import HttpChannel

    return HttpChannel(timeout=config.channels.webhook.timeout)


TRANSPORTS: dict[str, Callable[[Config, str], Channel]] = {
    "outbox": _outbox,
    "smtp": _smtp,
    "twilio": _twilio,
    "http": _http,
}


def channel_for(kind: str, config: Config) -> tuple[str, str]:
    """(channel, transport) that carries a message of `kind`."""
    if kind == "sms":
        return "sms", config.channels.sms.transport
    if kind == "webhook":
        return "webhook", "http"
    return "email", config.channels.email.transport


class RunChannels:
    """The channels one run uses, opened on first need and closed together. A dry run's are
    recording channels: the same messages, handed to nobody."""

    def __init__(
        self, config: Config, *, dry_run: bool = False, keep: bool = False, delivered: bool = False
    ):
        self.config = config
        self.dry_run = dry_run
        self.keep = keep  # a dry run's channels keep what they were handed
        self.delivered = delivered  # ... and say each was delivered (forecast, simulate)
        self._open: dict[str, Channel] = {}

    def get(self, kind: str) -> Channel:
        name, transport = channel_for(kind, self.config)
        channel = self._open.get(name)
        if channel is None:
            if self.dry_run:
                from arflow.channels.recording import RecordingChannel

                channel = RecordingChannel(name, keep=self.keep, delivered=self.delivered)
            else:
                channel = TRANSPORTS[transport](self.config, name)
            channel.open()
            self._open[name] = channel
        return channel

    def keeps_bcc(self) -> bool:
        """Whether the email channel writes the Bcc header into its copy (the outbox's)."""
        return not self.dry_run and channel_for("email", self.config)[1] == "outbox"

    def close(self) -> None:
        for channel in self._open.values():
            with contextlib.suppress(Exception):  # closing must not hide the run's outcome
                channel.close()
        self._open.clear()
