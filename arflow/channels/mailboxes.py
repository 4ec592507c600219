"""Reading the inbox (SPEC 6.1): the messages that arrived, from a Maildir on this machine or
an IMAP folder. What each one is is `arflow.incoming`'s to say, what it does `arflow.inbox`'s.

Maildir (`mailbox`'s layout, new/ then cur/): only regular files are read; a FIFO, a socket or
a device in there is skipped without being opened (opening a FIFO waits for a writer for ever).

IMAP (`imaplib`): one session, read-only (SELECT read-only, `BODY.PEEK`: nothing is deleted,
moved or marked read), within one deadline from `channels.inbox.timeout` (`arflow.deadline`):
a server that trickles cannot hold the run. Whatever the server answers, the session ends in an
`InboxError` (reported, exit 3; the night's sending goes on), never a traceback.

The folder's position (its last UID handled) moves only past a message that was read: when a
FETCH answers NO, or a body NIL, that message and the position stay for the next run. The
messages after it are still read and handled (each once, by its Message-ID), without moving
the position; the next run reads them again and finds them handled.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import re
import socket
import ssl
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from arflow.config import InboxChannel
from arflow.deadline import Deadline, connect, tls_context
from arflow.errors import ArflowError
from arflow.secrets import redact, secret

# what is read of one message: its headers and first text fit; a huge attachment is cut
MAX_BYTES = 256 * 1024
# a literal a server announces beyond this is no answer to arflow's partial FETCH
MAX_LITERAL = 64 * 1024 * 1024
MAX_UID = 2**32 - 1  # RFC 3501: UIDs and UIDVALIDITY are 32-bit numbers
_NUMBERS = re.compile(rb"\d{1,10}(?: \d{1,10})*")
_IMAPLIB_PREFIX = re.compile(r"^command: [A-Z]+ => ")


class InboxError(ArflowError):
    """The inbox could not be (fully) read: reported (exit 3), and sending goes on."""


@dataclass
class Incoming:
    """One message as read: its bytes (at most MAX_BYTES) and the IMAP UID the folder counts
    as read once it is recorded (None for a Maildir, and after a message that could not be
    read: the position stays before that one)."""

    raw: bytes
    uid: int | None = None


# --- Maildir ---------------------------------------------------------------------------------
def check_maildir(directory: Path) -> None:
    if not (directory / "cur").is_dir() and not (directory / "new").is_dir():
        raise InboxError(
            f"channels.inbox: {directory} is not a Maildir (it has no cur/ or new/ folder)"
        )


def read_maildir(directory: Path) -> Iterator[Incoming]:
    check_maildir(directory)
    found: dict[str, Path] = {}
    for sub in ("new", "cur"):  # a key in both: cur/ wins, as `mailbox.Maildir` has it
        with contextlib.suppress(OSError):
            for entry in os.scandir(directory / sub):
                found[entry.name.split(":")[0]] = Path(entry.path)
    for key in sorted(found):
        raw = _regular_file(found[key])
        if raw is not None:
            yield Incoming(raw)


def _regular_file(path: Path) -> bytes | None:
    """The first MAX_BYTES of `path` when it is a regular file; None for anything else (never
    opened), or a file a mail client moved away while arflow read the folder."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return None
        # O_NONBLOCK: were it swapped for a FIFO since, opening it must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            return handle.read(MAX_BYTES)
    except OSError:
        return None


# --- IMAP ------------------------------------------------------------------------------------
class _Session(imaplib.IMAP4):
    """An IMAP session whose socket (and TLS layer) keep `deadline`; with `implicit`, TLS from
    the first byte (port 993)."""

    def __init__(self, host: str, port: int, deadline: Deadline, implicit: ssl.SSLContext | None):
        self.deadline = deadline
        self._implicit = implicit
        super().__init__(host, port, timeout=deadline.timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = connect((self.host, self.port), self.deadline)
        if self._implicit is not None:
            return self._implicit.wrap_socket(sock, server_hostname=self.host)
        return sock

    def read(self, size: int) -> bytes:
        if size > MAX_LITERAL:  # imaplib would make room for all of it first
            raise self.error(f"the server announced {size:,} bytes for one answer")
        return super().read(size)


class ImapReader:
    """One IMAP session: logged in, the folder opened read-only, the messages after the last
    UID read. Every step's failure (the server's refusal, garbage, silence past the deadline)
    is an `InboxError`."""

    def __init__(self, cfg: InboxChannel):
        self.cfg = cfg
        try:
            password = secret(cfg.password_env or "", "channels.inbox: IMAP password")
        except ArflowError as exc:
            raise InboxError(str(exc).replace(" Nothing was sent.", "")) from None
        implicit = cfg.ssl and not cfg.starttls
        port = cfg.port or (993 if implicit else 143)
        self.where = f"{cfg.host}:{port}"
        self.deadline = Deadline(cfg.timeout)  # the whole session is one conversation
        self.unread: list[str] = []  # the messages that could not be read, and why
        self.conn: imaplib.IMAP4 | None = None
        tls = tls_context(self.deadline) if cfg.ssl or cfg.starttls else None
        with self._talking(f"cannot log in to {self.where} as {cfg.username}"):
            self.conn = _Session(cfg.host or "", port, self.deadline, tls if implicit else None)
            if cfg.starttls:
                self.conn.starttls(tls)
            _login(self.conn, cfg.username or "", password, cfg.password_env or "")

    @contextlib.contextmanager
    def _talking(self, doing: str) -> Iterator[None]:
        """Any failure inside, whatever the server answered, as an InboxError saying what
        arflow was `doing`. The block holds only imaplib's calls: every error there comes
        from the server's answer (or its silence)."""
        try:
            yield
        except InboxError:
            self.close()
            raise
        except Exception as exc:  # see above
            self.close()
            if self.deadline.expired:
                reason = f"not finished within {self.deadline}"
            else:
                reason = redact(_reason(exc))
            raise InboxError(f"channels.inbox: {doing}: {reason}") from None

    def messages(self, position: tuple[str, int] | None) -> tuple[str, Iterator[Incoming]]:
        """The folder's UIDVALIDITY, and its messages after `position`'s UID (all of them
        when the folder is new to arflow or was recreated: a new UIDVALIDITY)."""
        folder = self.cfg.folder
        assert self.conn is not None
        with self._talking(f"reading {folder!r} failed"):
            status, _ = self.conn.select(_quoted(folder), readonly=True)
            if status != "OK":
                raise InboxError(
                    f"channels.inbox: there is no folder {folder!r} on {self.cfg.host}"
                )
            uidvalidity = _uidvalidity(self.conn.response("UIDVALIDITY")[1])
            last = position[1] if position and position[0] == uidvalidity else 0
            status, data = self.conn.uid("SEARCH", f"UID {last + 1}:*")
            if status != "OK":
                raise imaplib.IMAP4.error(f"SEARCH answered {status} {_text(data)}")
            # `N:*` always names the last message, even one at or below N: keep the new ones
            uids = sorted(u for u in _search_uids(data) if u > last)
        return uidvalidity, self._fetch(uids)

    def _fetch(self, uids: list[int]) -> Iterator[Incoming]:
        assert self.conn is not None
        for uid in uids:
            with self._talking(f"fetching message {uid} failed"):
                status, data = self.conn.uid("FETCH", str(uid), f"(BODY.PEEK[]<0.{MAX_BYTES}>)")
            raw = _body(data) if status == "OK" else None
            if raw is None:  # not read: the folder's position stays before it
                said = "no body:" if status == "OK" else status
                self.unread.append(f"{uid} ({said} {_text(data)})")
                continue
            yield Incoming(raw, None if self.unread else uid)

    def problem(self) -> str | None:
        """What could not be read in the last pass, for the inbox error (exit 3)."""
        if not self.unread:
            return None
        one = len(self.unread) == 1
        return (
            f"channels.inbox: {self.where} did not give {'message' if one else 'messages'} "
            f"UID {', '.join(self.unread)} from {self.cfg.folder!r}; "
            f"{'it is' if one else 'they are'} read again next run"
        )

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):  # logout ends the session whatever it hears
                self.conn.logout()
            self.conn = None


def _login(conn: imaplib.IMAP4, user: str, password: str, env: str) -> None:
    """LOGIN; a user name or password beyond ASCII goes as UTF-8 with AUTHENTICATE PLAIN
    (RFC 4616), which LOGIN cannot carry."""
    if user.isascii() and password.isascii():
        conn.login(user, password)
        return
    if "AUTH=PLAIN" not in conn.capabilities:
        raise InboxError(
            f"channels.inbox: the user name or the password in ${env} has characters beyond "
            f"ASCII, and {conn.host} does not offer AUTH=PLAIN to send them as UTF-8; use an "
            "ASCII password"
        )
    token = b"\0" + user.encode() + b"\0" + password.encode()
    conn.authenticate("PLAIN", lambda _challenge: token)


def _uidvalidity(data: list) -> str:
    """The folder's UIDVALIDITY as SELECT gave it ("" when the server gave none)."""
    value = (data or [None])[0]
    if value is None:
        return ""
    if isinstance(value, bytes) and value.isdigit() and 0 < int(value) <= MAX_UID:
        return value.decode()
    raise imaplib.IMAP4.error(f"SELECT answered UIDVALIDITY {_text([value])}")


def _search_uids(data: list) -> list[int]:
    """The UIDs a SEARCH answered; anything but numbers is an error."""
    uids: list[int] = []
    for chunk in data:
        if chunk is None or chunk == b"":
            continue
        if not isinstance(chunk, bytes) or not _NUMBERS.fullmatch(chunk.strip()):
            raise imaplib.IMAP4.error(f"SEARCH answered {_text([chunk])}, not message numbers")
        uids += [int(n) for n in chunk.split()]
    if any(not 0 < uid <= MAX_UID for uid in uids):
        raise imaplib.IMAP4.error("SEARCH answered a message number out of range")
    return uids


def _body(data: list) -> bytes | None:
    """The message's bytes in a FETCH answer; None when it holds none (`BODY[] NIL`)."""
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and b"BODY[" in part[0].upper():
            return part[1] if isinstance(part[1], bytes) else None
    return None


def _text(data: list) -> str:
    """A server's words, short and printable, for an error."""
    words = b" ".join(
        p if isinstance(p, bytes) else p[0] if isinstance(p, tuple) else b"" for p in data or []
    )
    return _printable(words.decode("utf-8", "replace"), 120)


def _printable(text: str, limit: int) -> str:
    """`text` on one line, with "?" for what is no printable character, cut at `limit`."""
    text = "".join(ch if ch.isprintable() and ch != "\ufffd" else "?" for ch in text)
    return text[:limit] + ("…" if len(text) > limit else "")


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\") + '"'


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, UnicodeError):
        return "the server answered with bytes that are no ASCII text"
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    text = _IMAPLIB_PREFIX.sub("", str(text))  # imaplib's "command: UID => …"
    return _printable(text, 200) or type(exc).__name__
