"""The inbox (SPEC 6.1): customers' replies pause chasing, bounces stop dead addresses.

arflow reads the messages that arrived since the last run, from an IMAP folder (`imaplib`,
read-only, with `BODY.PEEK`: nothing is deleted, moved or marked read) or a Maildir
(`mailbox`). What each message is (a reply, an automatic answer, a bounce, or nothing of
arflow's) is `arflow.incoming.classify`'s to say. Every other message is ignored.

Each message is handled once: its Message-ID is recorded with what it did, in the same
transaction as the effect (a pause, a bounced address) and, for IMAP, the folder's last UID.
A crash before that commit leaves the message to the next run; after it, the message is done.

Nothing in a message can stop the run: a message that cannot be parsed, is huge, or has bytes
that are no text is read as far as it can be, and ignored when it names nothing arflow sent.
"""

from __future__ import annotations

import contextlib
import imaplib
import mailbox
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from arflow.config import Config, InboxChannel
from arflow.errors import ArflowError, Refused, RowError
from arflow.incoming import classify
from arflow.secrets import redact, secret
from arflow.state import StateDB

# what is read of one message: its headers and first text fit; a huge attachment is cut
MAX_BYTES = 256 * 1024


class InboxError(ArflowError):
    """The inbox could not be read: reported (exit 3), and sending goes on."""


@dataclass
class Incoming:
    """One message as read: its bytes (at most MAX_BYTES) and, from IMAP, its UID."""

    raw: bytes
    uid: int | None = None


@dataclass
class InboxResult:
    events: list[dict] = field(default_factory=list)  # what each new message was and did
    error: str | None = None  # the inbox could not be (fully) read


# --- reading ---------------------------------------------------------------------------------
def read_maildir(directory: Path) -> Iterator[Incoming]:
    if not (directory / "cur").is_dir() and not (directory / "new").is_dir():
        raise InboxError(
            f"channels.inbox: {directory} is not a Maildir (it has no cur/ or new/ folder)"
        )
    box = mailbox.Maildir(directory, factory=None, create=False)
    for key in sorted(box.keys()):
        try:
            with box.get_file(key) as handle:
                yield Incoming(handle.read(MAX_BYTES))
        except (OSError, KeyError):
            continue  # moved away by a mail client while arflow read the folder


class ImapReader:
    """One IMAP session: the folder opened read-only, the messages after the last UID read."""

    def __init__(self, cfg: InboxChannel):
        self.cfg = cfg
        try:
            password = secret(cfg.password_env or "", "channels.inbox: IMAP password")
        except ArflowError as exc:
            raise InboxError(str(exc).replace(" Nothing was sent.", "")) from None
        implicit = cfg.ssl and not cfg.starttls
        port = cfg.port or (993 if implicit else 143)
        conn: imaplib.IMAP4 | None = None
        try:
            if implicit:
                conn = imaplib.IMAP4_SSL(
                    cfg.host or "",
                    port,
                    ssl_context=ssl.create_default_context(),
                    timeout=cfg.timeout,
                )
            else:
                conn = imaplib.IMAP4(cfg.host or "", port, timeout=cfg.timeout)
                if cfg.starttls:
                    conn.starttls(ssl.create_default_context())
            conn.login(cfg.username or "", password)
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.shutdown()
            raise InboxError(
                f"channels.inbox: cannot log in to {cfg.host}:{port} as "
                f"{cfg.username}: {redact(_reason(exc))}"
            ) from None
        self.conn: imaplib.IMAP4 = conn

    def messages(self, position: tuple[str, int] | None) -> tuple[str, Iterator[Incoming]]:
        """The folder's UIDVALIDITY, and its messages after `position`'s UID (all of them
        when the folder is new to arflow or was recreated: a new UIDVALIDITY)."""
        folder = self.cfg.folder
        try:
            status, _ = self.conn.select(_quoted(folder), readonly=True)
            if status != "OK":
                raise InboxError(
                    f"channels.inbox: there is no folder {folder!r} on {self.cfg.host}"
                )
            validity = (self.conn.response("UIDVALIDITY")[1] or [b""])[0]
            uidvalidity = validity.decode() if isinstance(validity, bytes) else str(validity)
            last = position[1] if position and position[0] == uidvalidity else 0
            status, data = self.conn.uid("SEARCH", f"UID {last + 1}:*")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise InboxError(
                f"channels.inbox: reading {folder!r} failed: {redact(_reason(exc))}"
            ) from None
        # `N:*` always names the last message, even one at or below N: keep the new ones
        uids = sorted(u for u in (int(x) for x in (data[0] or b"").split()) if u > last)
        return uidvalidity, self._fetch(uids)

    def _fetch(self, uids: list[int]) -> Iterator[Incoming]:
        for uid in uids:
            try:
                _status, data = self.conn.uid("FETCH", str(uid), f"(BODY.PEEK[]<0.{MAX_BYTES}>)")
            except (OSError, imaplib.IMAP4.error) as exc:
                raise InboxError(
                    f"channels.inbox: fetching message {uid} failed: {redact(_reason(exc))}"
                ) from None
            raw = next((part[1] for part in data if isinstance(part, tuple)), b"")
            yield Incoming(raw, uid)

    def close(self) -> None:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self.conn.logout()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\") + '"'


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return str(text) or type(exc).__name__


def inbox_error(config: Config, message: str) -> RowError:
    """The inbox could not be read, as one of the run's problems (exit 3)."""
    return RowError(
        config.display(config.path), config.line("channels", "inbox") or 0, None, None, message
    )


def require_inbox(config: Config) -> None:
    """`arflow inbox` is refused on a config that names no inbox to read."""
    if config.channels.inbox is None:
        raise Refused(
            "arflow.yaml has no channels.inbox: add one, e.g. inbox: {transport: "
            "maildir, dir: mail/ar} under channels:"
        )


# --- one pass over the inbox -----------------------------------------------------------------
def read_inbox(
    config: Config, db: StateDB, as_of: date, emails_of: dict[str, tuple[str, ...]]
) -> InboxResult:
    """Read the messages that arrived since the last run and record what each does (a dry
    run's `db` drops the writes: it shows what would happen). `emails_of` holds each
    customer's addresses in the source, kept with a bounce so a new address ends the mark."""
    cfg = config.channels.inbox
    result = InboxResult()
    if cfg is None:
        return result
    reader: ImapReader | None = None
    try:
        if cfg.transport == "maildir":
            messages: Iterator[Incoming] = read_maildir(config.resolve(cfg.dir or ""))
            uidvalidity = ""
        else:
            reader = ImapReader(cfg)
            uidvalidity, messages = reader.messages(db.folder_position(cfg.folder))
        marked = {(cid, address) for _, cid, address, _ in db.bounced()}
        pause = timedelta(days=config.replies.pause_days)
        for incoming in messages:
            event = classify(incoming.raw, db, emails_of)
            position = (cfg.folder, uidvalidity, incoming.uid) if incoming.uid is not None else None
            if db.seen_incoming(event["message_id"]):
                if position is not None:  # known already: only the folder's place moves on
                    db.record_incoming({**event, "kind": "ignored"}, as_of, position)
                continue
            if event["kind"] == "reply":
                event["pause_until"] = (as_of + pause).isoformat()
                event["notice"] = True
            elif event["kind"] == "bounce":
                new = (event["customer_id"], event["address"]) not in marked
                event["notice"] = new
                marked.add((event["customer_id"], event["address"]))
            db.record_incoming(
                event, as_of, position, list(emails_of.get(event.get("customer_id") or "", ()))
            )
            if event["kind"] != "ignored":
                result.events.append(event)
    except InboxError as exc:
        result.error = str(exc)
    finally:
        if reader is not None:
            reader.close()
    return result
