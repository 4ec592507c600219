"""Servers on loopback that answer slowly, one byte at a time, or with garbage: an SMTP
tarpit, an HTTP server that trickles its answer, and a scripted IMAP server (its replies, or a
trickle, chosen per command). Each serves every connection in a thread of the test process and
stops its trickles when the test stops it.

A trickle sends one byte every `EVERY` seconds: well within any `timeout:` of a test config, so
only a deadline for the whole conversation ends it.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from typing import BinaryIO

EVERY = 0.2  # seconds between two bytes of a trickle
ENDLESS = 100_000  # bytes in a trickle: far more than any test waits for


class ScriptServer:
    """A TCP server on 127.0.0.1 that plays `talk(server, connection, reader)` for each client."""

    def __init__(
        self,
        talk: Callable[[ScriptServer, socket.socket, BinaryIO], None],
        tls: ssl.SSLContext | None = None,  # TLS from the first byte
    ):
        self.talk = talk
        self.tls = tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.connections = 0
        self.stopped = threading.Event()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._play, args=(conn,), daemon=True).start()

    def _play(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
                self._open.append(conn)
            with conn, conn.makefile("rb") as reader:
                self.talk(self, conn, reader)

    def trickle(self, conn: socket.socket, data: bytes) -> None:
        """Send `data` one byte at a time, until the client goes or the server stops."""
        for i in range(len(data)):
            if self.stopped.wait(EVERY):
                return
            conn.sendall(data[i : i + 1])

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.close()


# --- SMTP ------------------------------------------------------------------------------------
def smtp_tarpit(slow_on: str) -> Callable[[ScriptServer, socket.socket, BinaryIO], None]:
    """An SMTP server that trickles at one point: "greeting" (`220-` continuation lines), "MAIL"
    (the reply to MAIL FROM) or "DATA" (the reply after the message was handed over). It
    counts the messages it took whole in `server.taken`."""

    def talk(server: ScriptServer, conn: socket.socket, reader: BinaryIO) -> None:
        if slow_on == "greeting":
            server.trickle(conn, b"220-tarpit.test\r\n" * ENDLESS)
            return
        conn.sendall(b"220 tarpit.test ESMTP\r\n")
        while line := reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250-tarpit.test\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL" and slow_on == "MAIL":
                server.trickle(conn, b"250-wait\r\n" * ENDLESS)
                return
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                while reader.readline() not in (b".\r\n", b""):
                    pass
                server.taken = getattr(server, "taken", 0) + 1  # type: ignore[attr-defined]
                if slow_on == "DATA":
                    server.trickle(conn, b"250-queued\r\n" * ENDLESS)
                    return
                conn.sendall(b"250 queued\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                conn.sendall(b"250 ok\r\n")

    return talk


# --- HTTP ------------------------------------------------------------------------------------
def http_trickle(server: ScriptServer, conn: socket.socket, reader: BinaryIO) -> None:
    """Reads the whole request, then answers one byte at a time (the status line never ends)."""
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    reader.read(length)
    server.requests = getattr(server, "requests", 0) + 1  # type: ignore[attr-defined]
    server.trickle(conn, b"HTTP/1.1 200 " + b"O" * ENDLESS)


# --- IMAP ------------------------------------------------------------------------------------
class Imap:
    """What a scripted IMAP server holds and says: its messages by UID, and per step an
    answer to give instead of the right one (`b"trickle"` trickles an endless line)."""

    def __init__(self, messages: dict[int, bytes] | None = None):
        self.messages = messages or {}
        self.capabilities = b"IMAP4rev1 AUTH=PLAIN"
        self.greeting: bytes | None = None  # instead of "* OK ready"
        self.search: bytes | None = None  # the untagged SEARCH line, instead of the UIDs
        self.uidvalidity = b"7"
        self.fetch: dict[int, bytes] = {}  # UID → "NO", "NIL", "trickle" or raw lines
        self.logins: list[tuple[str, str]] = []  # (mechanism, the credentials as sent)

    def talk(self, server: ScriptServer, conn: socket.socket, reader: BinaryIO) -> None:
        if self.greeting == b"trickle":
            server.trickle(conn, b"* OK " + b"." * ENDLESS)
            return
        conn.sendall(self.greeting or b"* OK scripted IMAP ready\r\n")
        while line := reader.readline():
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            words = rest.split(b" ")
            verb = words[0].upper()
            if verb == b"UID":
                verb = b"UID " + words[1].upper()
            answer = self._answer(verb, words, reader, conn, server)
            if answer is None:
                return
            untagged, done = answer if isinstance(answer, tuple) else (answer, b"OK done")
            conn.sendall(untagged + tag + b" " + done + b"\r\n")
            if verb == b"LOGOUT":
                return

    def _answer(
        self,
        verb: bytes,
        words: list[bytes],
        reader: BinaryIO,
        conn: socket.socket,
        server: ScriptServer,
    ) -> bytes | tuple[bytes, bytes] | None:
        """The untagged lines before the tagged OK (or with another tagged answer); None ends
        the session."""
        if verb == b"CAPABILITY":
            return b"* CAPABILITY " + self.capabilities + b"\r\n"
        if verb == b"LOGIN":
            self.logins.append(("LOGIN", b" ".join(words[1:]).decode("utf-8", "replace")))
            return b""
        if verb == b"AUTHENTICATE":
            conn.sendall(b"+ \r\n")
            self.logins.append((words[1].decode(), reader.readline().strip().decode()))
            return b""
        if verb in (b"SELECT", b"EXAMINE"):
            return (
                f"* {len(self.messages)} EXISTS\r\n".encode()
                + b"* OK [UIDVALIDITY "
                + self.uidvalidity
                + b"] UIDs valid\r\n"
            )
        if verb == b"UID SEARCH":
            found = b" ".join(str(uid).encode() for uid in sorted(self.messages))
            return (self.search if self.search is not None else b"* SEARCH " + found) + b"\r\n"
        if verb == b"UID FETCH":
            return self._fetched(int(words[2]), conn, server)
        if verb == b"LOGOUT":
            return b"* BYE\r\n"
        return b""

    def _fetched(
        self, uid: int, conn: socket.socket, server: ScriptServer
    ) -> bytes | tuple[bytes, bytes] | None:
        special = self.fetch.get(uid)
        if special == b"trickle":
            server.trickle(conn, f"* {uid} FETCH (UID {uid} BODY[]<0> ".encode() + b"x" * ENDLESS)
            return None
        if special == b"NO":
            return b"", b"NO [UNAVAILABLE] the message store is busy"
        if special == b"NIL":
            return f"* {uid} FETCH (UID {uid} BODY[]<0> NIL)\r\n".encode()
        if special is not None:
            return special
        raw = self.messages[uid]
        return f"* {uid} FETCH (UID {uid} BODY[]<0> {{{len(raw)}}}\r\n".encode() + raw + b")\r\n"
