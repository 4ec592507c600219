"""Where a message's `sending` commit sits in its SMTP exchange (SPEC 6), and what `deliver`
does with a channel that calls `ready()` late, never, or ignores what it raised. Real SMTP
server on loopback, real state file."""

from __future__ import annotations

import contextlib
import smtplib
import sqlite3
from datetime import date

import pytest

from arflow.channels import Message, Outcome, RunChannels
from arflow.channels.smtp import SmtpChannel
from arflow.config import EmailChannel
from arflow.deliver import run
from arflow.errors import StoppedMidRun
from arflow.project import load_project
from arflow.sources import load_ledger
from arflow.state import StateError, StateMoved
from tests.conftest import make_folder
from tests.test_deliver import CHASE, INVOICES, smtp_config


def email(n: int) -> Message:
    return Message(
        "email",
        f"m{n}",
        [f"ap{n}@customer.example"],
        subject=f"Reminder {n}",
        text="Please pay.",
        sender="ar@acme.example",
        message_id=f"<{n}.arflow@acme.example>",
    )


def opened(port: int) -> SmtpChannel:
    channel = SmtpChannel(
        EmailChannel(transport="smtp", host="127.0.0.1", port=port, timeout=5), "ar@acme.example"
    )
    channel.open()
    return channel


def test_the_sending_commit_runs_once_mail_from_is_out_and_before_the_recipients(
    smtp_server, monkeypatch
):
    """The server answers MAIL FROM while `sending` is committed; nothing of the message (not
    even its recipients) goes out before that commit returns."""
    events: list[str] = []
    send = smtplib.SMTP.send

    def recorded(self, s):
        text = s.decode() if isinstance(s, bytes) else s
        events.append("message" if text.startswith("From: ") else text.split()[0].lower())
        return send(self, s)

    monkeypatch.setattr(smtplib.SMTP, "send", recorded)
    channel = opened(smtp_server.port)
    outcome = channel.send(
        email(1), lambda: events.append("ready"), lambda: events.append("meanwhile")
    )
    channel.close()
    assert outcome == Outcome("sent", provider_id="<1.arflow@acme.example>")
    # while the server works on each command after that, deliver makes the next message
    assert events[events.index("mail") :] == [
        "mail",
        "ready",
        "rcpt",
        "meanwhile",
        "data",
        "meanwhile",
        "message",
        "meanwhile",
        "quit",
    ]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ap1@customer.example"]]


def test_a_sending_commit_that_fails_hands_nothing_over_and_ends_the_session(smtp_server):
    channel = opened(smtp_server.port)

    def full() -> None:
        raise StateError("cannot write arflow.db: the disk it is on is full")

    with pytest.raises(StateError, match="disk it is on is full"):
        channel.send(email(1), full)
    assert channel.smtp is None  # closed with MAIL FROM open: the server delivers nothing
    assert smtp_server.messages == []
    # a later message has a session of its own
    assert channel.send(email(2), lambda: None).state == "sent"
    channel.close()
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ap2@customer.example"]]
    assert len(smtp_server.connections) == 2


class _Channel:
    """A channel with a bug: `how` says what it does with `ready()`."""

    name = "email:test"

    def __init__(self, how: str, state_file):
        self.how = how
        self.state_file = state_file
        self.sent: list[str] = []

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, message, ready, meanwhile=None) -> Outcome:
        if self.how == "never":
            return Outcome("failed", error="refused before anything was written")
        if self.sent:  # the second message: its commit fails, and the channel says "sent"
            self.state_file.unlink()
            with contextlib.suppress(StateMoved):
                ready()
        else:
            ready()
        self.sent.append(message.to[0])
        return Outcome("sent")


def _deliver_with(tmp_path, smtp_server, how: str):
    config = make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={"chase": CHASE},
        config=smtp_config(smtp_server.port),
    )
    project = load_project(config)
    channels = RunChannels(project.config)
    channel = _Channel(how, config.parent / "arflow.db")
    channels._open["email"] = channel
    return (
        config,
        channel,
        lambda: run(project, load_ledger(project.config), date(2026, 3, 11), channels),
    )


def test_a_channel_that_never_calls_ready_still_has_its_attempt_recorded(tmp_path, smtp_server):
    config, _, go = _deliver_with(tmp_path, smtp_server, "never")
    result = go()
    assert [a.status for a in result.plan.actions] == ["failed", "failed", "failed"]
    conn = sqlite3.connect(config.parent / "arflow.db")
    rows = conn.execute(
        "SELECT customer_id, state, attempts, error FROM actions ORDER BY customer_id"
    ).fetchall()
    conn.close()
    assert rows == [
        (c, "failed", 1, "refused before anything was written") for c in ("C1", "C2", "C3")
    ]


def test_a_failed_sending_commit_stops_the_run_even_when_the_channel_swallows_it(
    tmp_path, smtp_server
):
    _, channel, go = _deliver_with(tmp_path, smtp_server, "swallow")
    with pytest.raises(StoppedMidRun) as stopped:
        go()
    assert str(stopped.value).startswith(
        "the run stopped after sending 1 message(s): arflow.db was deleted while arflow was "
        "using it; "
    )
    assert "The last one's outcome could not be recorded" in str(stopped.value)
    assert channel.sent == ["ap@alpha.example", "ap@beta.example"]


def test_the_next_message_is_made_in_slices_a_channel_spreads_over_its_waits():
    """One `meanwhile()` renders the next message, the next builds its bytes; `take()` does
    whatever is left."""
    from arflow.compose import Composed
    from arflow.deliver import _Ahead

    log: list[str] = []

    def composed():
        for n in (1, 2):
            log.append(f"render {n}")
            yield Composed(None, message=email(n))  # type: ignore[arg-type]

    class Prepares:
        name = "email:test"

        def prepare(self, message: Message) -> None:
            log.append(f"bytes {message.name}")

    class Registry:
        def get(self, kind: str) -> Prepares:
            return Prepares()

    ahead = _Ahead(composed(), Registry(), records=False)  # type: ignore[arg-type]
    first = ahead.take()
    assert first is not None and first[0].message.name == "m1"
    assert log == ["render 1", "bytes m1"]
    ahead.work()  # while the server answers RCPT
    assert log[2:] == ["render 2"]
    ahead.work()  # DATA
    assert log[3:] == ["bytes m2"]
    ahead.work()  # the message: nothing is left to do
    second = ahead.take()
    assert second is not None and second[0].message.name == "m2"
    assert log[4:] == []
    assert ahead.take() is None
