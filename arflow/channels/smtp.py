"""Email over SMTP: yagmail opens and logs in ONE session per run; arflow hands each message
over itself, so it knows exactly how far each one got.

Why not `yagmail.SMTP.send()`: it logs in again on every call, resends a message up to three
times when the server disconnects (after DATA that is a duplicate reminder), and its message
builder attaches any local file whose path a body happens to spell. Messages are built by
`arflow.channels.mime` instead, and each reply code is mapped here (SPEC 6):

- before DATA (MAIL, RCPT, connection refused or dropped): nothing was handed over, so a 4xx or
  a lost connection is a transient failure, a 5xx a permanent one;
- the reply to DATA: 2xx sent, 4xx transient, 5xx permanent;
- no reply to DATA (disconnect, timeout): the server may have the message: `unknown`.

`ready()`, the commit of the message as `sending`, runs while the server answers MAIL FROM:
the recipients, DATA and the message go out only once it is durable. When it fails, the
session is closed with MAIL FROM open, and the server delivers nothing.

While the server works on each command after MAIL FROM (RCPT, DATA, the message), `send`
calls `meanwhile()`: `deliver` renders the next message, then builds its bytes and ledger rows,
so arflow's own work overlaps the server's instead of adding to it. Nothing is written to the
session in between.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable

from arflow.channels.message import Message, Outcome
from arflow.channels.mime import email_bytes
from arflow.config import EmailChannel
from arflow.errors import ArflowError
from arflow.secrets import secret


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}"


def _refused(code: int, text: bytes | str, stage: str) -> Outcome:
    permanent = 500 <= code < 600
    return Outcome("failed", permanent=permanent, error=f"{stage} refused: {_reply(code, text)}")


class SmtpChannel:
    def __init__(self, cfg: EmailChannel, sender: str):
        self.cfg = cfg
        self.sender = sender
        self.name = f"email:smtp {cfg.host}"
        self.smtp: smtplib.SMTP | None = None
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
        import yagmail  # 0.15 s to import: only runs that send over SMTP pay for it

        cfg = self.cfg
        port = cfg.port or (465 if cfg.ssl else 587 if cfg.starttls else 25)
        # the CA bundle takes 20 ms to load: only for a session that uses TLS
        context = ssl.create_default_context() if cfg.ssl or cfg.starttls else None
        kwargs: dict = {"timeout": cfg.timeout}
        if cfg.ssl:
            kwargs["context"] = context
        client = yagmail.SMTP(
            user=cfg.username or self.sender,
            password=self._password,
            host=cfg.host,
            port=port,
            smtp_ssl=cfg.ssl,
            smtp_starttls={"context": context} if cfg.starttls else False,
            smtp_skip_login=not cfg.username,
            soft_email_validation=False,
            **kwargs,
        )
        client.set_logging(None)
        where = f"{cfg.host}:{port}"
        try:
            client.login()
        except smtplib.SMTPAuthenticationError as exc:
            raise ArflowError(
                f"SMTP login to {where} as {cfg.username} failed "
                f"({_reply(exc.smtp_code, exc.smtp_error)}); check the user name "
                f"and ${cfg.password_env}. Nothing was sent."
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ArflowError(
                f"SMTP server {where}: {exc}; check starttls:/ssl: in "
                "channels.email. Nothing was sent."
            ) from None
        except ssl.SSLError as exc:
            raise ArflowError(
                f"TLS with {where} failed ({exc.reason or exc}); check "
                "starttls:/ssl: and the port. Nothing was sent."
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            # unreachable tonight: every email fails as transient and a later run retries
            self.down = f"cannot reach SMTP server {where}: {exc}"
            return
        self.smtp = client.smtp
        client.is_closed = True  # the session is arflow's now; yagmail must not close it
        self.sessions += 1

    def close(self) -> None:
        if self.smtp is not None:
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
        prepared, self._prepared = self._prepared, None
        if prepared is None or prepared[0] is not message:
            prepared = (message, _dot_stuffed(email_bytes(message)), _rcpt_to(message))
        _, data, rcpt_to = prepared
        smtp = self.smtp
        try:
            smtp.ehlo_or_helo_if_needed()
            smtp.putcmd("mail", self._mail_from)
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()  # nothing handed over yet: a later run may try again
            return Outcome("failed", error=f"SMTP session lost before DATA: {exc}")
        try:
            ready()  # `sending` is committed while the server answers MAIL FROM
        except BaseException:
            self._drop()  # nothing was handed over; the run stops
            raise
        try:
            refused = _envelope(smtp, message, rcpt_to, meanwhile)
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()  # nothing handed over yet: a later run may try again
            return Outcome("failed", error=f"SMTP session lost before DATA: {exc}")
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
            return self._lost(exc)
        if code != 250:
            return _refused(code, text, "message")
        note = None
        if refused:
            note = "refused: " + "; ".join(f"{a} {_reply(c, t)}" for a, (c, t) in refused.items())
        return Outcome("sent", provider_id=message.message_id, error=note)

    @staticmethod
    def _lost(exc: BaseException) -> Outcome:
        return Outcome(
            "unknown",
            error=f"no reply after the message was handed over "
            f"({exc or type(exc).__name__}); it may have been "
            "delivered",
        )


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
