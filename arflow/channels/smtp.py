"""Email over SMTP: ONE session per run (`smtplib`, opened and logged in here); arflow hands
each message over itself, so it knows exactly how far each one got.

Not a mail library's `send()` (yagmail's logs in again on every call, resends a message up to
three times when the server disconnects, after DATA a duplicate reminder, and its message
builder attaches any local file whose path a body happens to spell). Messages are built by
`arflow.channels.mime` instead, and each reply code is mapped here (SPEC 6):

- before DATA (MAIL, RCPT, connection refused or dropped): nothing was handed over, so a 4xx or
  a lost connection is a transient failure, a 5xx a permanent one;
- the reply to DATA: 2xx sent, 4xx transient, 5xx permanent;
- no reply to DATA (disconnect, timeout): the server may have the message: `unknown`.

Deadlines (`arflow.deadline`): logging in is one conversation, each message another (MAIL FROM
to the reply after the message), saying goodbye a third. A server that runs past a message's
deadline is not asked again this run: the rest of the run's emails fail as transient, and a
later run tries them again.

`ready()`, the commit of the message as `sending`, runs while the server answers MAIL FROM:
the recipients, DATA and the message go out only once it is durable. When it fails, the
session is closed with MAIL FROM open, and the server delivers nothing.

While the server works on each command after MAIL FROM (RCPT, DATA, the message), `send`
calls `meanwhile()`: `deliver` renders the next message, then builds its bytes and ledger rows,
so arflow's own work overlaps the server's instead of adding to it. Nothing is written to the
session in between.
"""

from __future__ import annotations

import base64
import re
import smtplib
import socket
import ssl
from collections.abc import Callable

from arflow.channels.message import Message, Outcome
from arflow.channels.mime import email_bytes
from arflow.config import EmailChannel
from arflow.deadline import Deadline, connect, tls_context
from arflow.errors import ArflowError
from arflow.secrets import secret


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}"


def _refused(code: int, text: bytes | str, stage: str) -> Outcome:
    permanent = 500 <= code < 600
    return Outcome("failed", permanent=permanent, error=f"{stage} refused: {_reply(code, text)}")


class _Session(smtplib.SMTP):
    """An SMTP session whose socket (and TLS layer) keep `deadline`; with `implicit`, TLS from
    the first byte (port 465)."""

    def __init__(self, deadline: Deadline, implicit: ssl.SSLContext | None):
        self.deadline = deadline
        self._implicit = implicit
        super().__init__(timeout=deadline.timeout)

    def start(self, host: str, port: int) -> None:
        """Connect and read the greeting."""
        self._host = host  # STARTTLS checks the certificate against it
        code, text = self.connect(host, port)
        if code != 220:
            raise smtplib.SMTPConnectError(code, text)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = connect((host, port), self.deadline)
        if self._implicit is not None:
            return self._implicit.wrap_socket(sock, server_hostname=host)
        return sock


def _login(session: smtplib.SMTP, user: str, password: str, where: str, env: str | None) -> None:
    """Log in; a user name or password beyond ASCII goes as UTF-8 with AUTH PLAIN (RFC 4616),
    which `smtplib` cannot send."""
    if user.isascii() and password.isascii():
        session.login(user, password)
        return
    session.ehlo_or_helo_if_needed()
    offered = session.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in offered:
        raise ArflowError(
            f"SMTP login to {where}: the user name or the password in ${env} has characters "
            "beyond ASCII, and the server does not offer AUTH PLAIN to send them as UTF-8 "
            f"(it offers: {', '.join(offered) or 'nothing'}); use an ASCII password. "
            "Nothing was sent."
        )
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    code, text = session.docmd("AUTH", "PLAIN " + token)
    if code == 334:  # the server asks for the credentials on their own line
        code, text = session.docmd(token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, text)


class SmtpChannel:
    def __init__(self, cfg: EmailChannel, sender: str):
        self.cfg = cfg
        self.sender = sender
        self.name = f"email:smtp {cfg.host}"
        self.port = cfg.port or (465 if cfg.ssl else 587 if cfg.starttls else 25)
        self.where = f"{cfg.host}:{self.port}"
        self.smtp: smtplib.SMTP | None = None
        self.deadline = Deadline(cfg.timeout)  # the session's: restarted for each message
        self.down: str | None = None  # why the server cannot be reached this run
        self.sessions = 0
        # MAIL FROM's argument, and the next message's bytes and RCPT TO arguments: smtplib
        # parses an address again on every call (8 µs each), here they are made once
        self._mail_from = f"FROM:{smtplib.quoteaddr(sender)}"
        self._prepared: tuple[Message, bytes, list[str]] | None = None

    # --- the session -----------------------------------------------------------------------------
    def open(self) -> None:
        """Log in before anything is recorded: bad credentials stop the run with nothing sent."""
        password = (
            secret(self.cfg.password_env, "SMTP password")
            if self.cfg.username and self.cfg.password_env
            else None
        )
        if self.cfg.username and not password:
            raise ArflowError(
                "channels.email has username: but no password_env: naming the "
                "environment variable that holds the password. Nothing was sent."
            )
        self._password = password
        self._connect()

    def _connect(self) -> None:
        """Connect, greet, STARTTLS and log in: one conversation, within one deadline."""
        cfg = self.cfg
        where = self.where
        deadline = self.deadline = Deadline(cfg.timeout)
        # the CA bundle takes 20 ms to load: only for a session that uses TLS
        tls = tls_context(deadline) if cfg.ssl or cfg.starttls else None
        session = _Session(deadline, tls if cfg.ssl else None)
        try:
            session.start(cfg.host or "", self.port)
            if cfg.starttls:
                session.ehlo()
                session.starttls(context=tls)
                session.ehlo()
            if cfg.username:
                _login(session, cfg.username, self._password or "", where, cfg.password_env)
        except ArflowError:
            session.close()
            raise
        except smtplib.SMTPAuthenticationError as exc:
            session.close()
            raise ArflowError(
                f"SMTP login to {where} as {cfg.username} failed "
                f"({_reply(exc.smtp_code, exc.smtp_error)}); check the user name "
                f"and ${cfg.password_env}. Nothing was sent."
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            session.close()
            raise ArflowError(
                f"SMTP server {where}: {exc}; check starttls:/ssl: in "
                "channels.email. Nothing was sent."
            ) from None
        except ssl.SSLError as exc:
            session.close()
            raise ArflowError(
                f"TLS with {where} failed ({exc.reason or exc}); check "
                "starttls:/ssl: and the port. Nothing was sent."
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            session.close()
            # unreachable tonight: every email fails as transient and a later run retries
            self.down = (
                f"SMTP server {where} did not greet and log in within {deadline}"
                if deadline.expired
                else f"cannot reach SMTP server {where}: {exc}"
            )
            return
        self.smtp = session
        self.sessions += 1

    def close(self) -> None:
        if self.smtp is not None:
            self.deadline.restart()  # saying goodbye is a conversation of its own
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def _drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    # --- one message -----------------------------------------------------------------------
    def prepare(self, message: Message) -> None:
        """Build the bytes of the next message (as they follow DATA) and its RCPT TO arguments
        while the server still works on the last one."""
        try:
            self._prepared = (message, _dot_stuffed(email_bytes(message)), _rcpt_to(message))
        except ValueError:
            self._prepared = None  # `send` builds it again and reports the problem

    def send(
        self,
        message: Message,
        ready: Callable[[], None],
        meanwhile: Callable[[], None] | None = None,
    ) -> Outcome:
        """The envelope, then the message; `meanwhile()` runs while the server works."""
        if self.smtp is None and self.down is None:
            self._connect()  # the last message lost the session: one new one
        if self.smtp is None:
            ready()
            return Outcome("failed", error=self.down)
        self.deadline.restart()  # each message is a conversation of its own
        prepared, self._prepared = self._prepared, None
        if prepared is None or prepared[0] is not message:
            prepared = (message, _dot_stuffed(email_bytes(message)), _rcpt_to(message))
        _, data, rcpt_to = prepared
        smtp = self.smtp
        try:
            smtp.ehlo_or_helo_if_needed()
            smtp.putcmd("mail", self._mail_from)
        except (OSError, smtplib.SMTPException) as exc:
            return self._lost_before(exc)
        try:
            ready()  # `sending` is committed while the server answers MAIL FROM
        except BaseException:
            self._drop()  # nothing was handed over; the run stops
            raise
        try:
            refused = _envelope(smtp, message, rcpt_to, meanwhile)
        except (OSError, smtplib.SMTPException) as exc:
            return self._lost_before(exc)
        if isinstance(refused, Outcome):
            return refused
        return self._data(smtp, message, data, refused, meanwhile)

    def _data(
        self,
        smtp: smtplib.SMTP,
        message: Message,
        data: bytes,
        refused: dict[str, tuple[int, bytes]],
        meanwhile: Callable[[], None] | None,
    ) -> Outcome:
        """DATA and the message, once the envelope has a recipient (`refused`: those without)."""
        try:
            smtp.putcmd("data")
            if meanwhile is not None:
                meanwhile()
            code, text = smtp.getreply()
            if code != 354:
                return _refused(code, text, "message")
            smtp.send(data)
            if meanwhile is not None:
                meanwhile()
            code, text = smtp.getreply()
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            self._drop()
            if self._late():
                return _lost(f"no reply within {self.deadline}")
            return _lost(f"no reply ({exc or type(exc).__name__})")
        if code != 250:
            return _refused(code, text, "message")
        note = None
        if refused:
            note = "refused: " + "; ".join(f"{a} {_reply(c, t)}" for a, (c, t) in refused.items())
        return Outcome("sent", provider_id=message.message_id, error=note)

    def _lost_before(self, exc: BaseException) -> Outcome:
        """The session failed before DATA: nothing was handed over, a later run tries again."""
        self._drop()
        if self._late():
            late = f"SMTP server {self.where} did not answer within {self.deadline}"
            return Outcome("failed", error=late)
        return Outcome("failed", error=f"SMTP session lost before DATA: {exc}")

    def _late(self) -> bool:
        """Whether the server ran past a message's deadline: then it is not asked again this
        run (a server that trickles would hold the run one deadline per message)."""
        if self.deadline.expired:
            self.down = (
                f"SMTP server {self.where} stopped answering in time earlier in this run; "
                "a later run tries again"
            )
        return self.deadline.expired


def _envelope(
    smtp: smtplib.SMTP,
    message: Message,
    rcpt_to: list[str],
    meanwhile: Callable[[], None] | None,
) -> Outcome | dict[str, tuple[int, bytes]]:
    """The reply to MAIL FROM, then RCPT TO for each recipient: the recipients the server
    refused, or the Outcome when it takes none (the envelope is reset)."""
    code, text = smtp.getreply()
    if code != 250:
        smtp.rset()
        return _refused(code, text, "sender")
    accepted, refused = [], {}
    for rcpt, to in zip(message.recipients, rcpt_to, strict=True):
        smtp.putcmd("rcpt", to)
        if meanwhile is not None:
            meanwhile()
        code, text = smtp.getreply()
        if code in (250, 251):
            accepted.append(rcpt)
        else:
            refused[rcpt] = (code, text)
    if not accepted:
        smtp.rset()
        worst = max(refused.values())  # any 5xx makes it permanent
        return _refused(worst[0], worst[1], "every recipient")
    return refused


def _lost(what: str) -> Outcome:
    """The message was handed over and its reply never came: it may have been delivered."""
    return Outcome(
        "unknown", error=f"{what} after the message was handed over; it may have been delivered"
    )


def _rcpt_to(message: Message) -> list[str]:
    return [f"TO:{smtplib.quoteaddr(rcpt)}" for rcpt in message.recipients]


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _dot_stuffed(data: bytes) -> bytes:
    """What follows DATA, as `smtplib.SMTP.data` sends it: leading dots doubled (RFC 5321
    4.5.2), a final CRLF, then the lone dot that ends the message."""
    if data.startswith(b".") or b"\n." in data:  # rare; the search costs a fifth of the sub
        data = _LEADING_DOT.sub(b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"
