"""Deadlines for network conversations: a server that answers slowly, or one byte at a time,
cannot hold a run (and its lock) for longer than its `timeout:` allows.

A socket's timeout bounds one wait for one read; a server that trickles a byte now and then
satisfies every read and keeps the conversation going for ever. So every conversation arflow
holds with a server has a **deadline**, derived from the same `timeout:`:

    a conversation may keep arflow waiting on the network at most FACTOR × timeout in all,
    and each single wait at most timeout.

Only the time spent waiting on the network counts: arflow's own work in between (recording a
message as `sending`, rendering the next one while the server reads the last) is not the
server's time. With `timeout: 30`, a conversation gets 90 s of the server's time. A healthy
server answers each exchange in a fraction of `timeout:`; three timeouts in all leave room for
a slow TLS handshake, a slow login and a slow final reply to DATA in one conversation, while a
trickle is cut off at a bound a person can read from the config.

What a conversation is: logging in to an SMTP server; each email handed over in that session
(MAIL FROM to the reply after the message); saying goodbye; an IMAP session (log in, read the
folder); one HTTP request and its answer (a webhook, a Twilio message, the healthcheck ping).

The conversation's sockets (and their TLS layers) check the deadline before each read and write
and raise `DeadlineExpired` (a `TimeoutError`) once it has passed; the caller then decides what
did not finish means (SPEC 6: a message whose DATA was under way is `unknown`, one never
started a transient failure). Name lookups (DNS) are left to the system resolver's own limits.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any, TypeVar, cast

FACTOR = 3  # a conversation may take FACTOR × timeout of the server's time
BODY_LIMIT = 1024 * 1024  # what is read of an HTTP answer's body

T = TypeVar("T")


class DeadlineExpired(TimeoutError):
    """A conversation went on past its deadline."""


class Deadline:
    """The time one conversation may keep arflow waiting: `FACTOR × timeout` in all, spent by
    the waits of the sockets that hold it; `restart()` begins the next conversation."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.limit = FACTOR * timeout
        self.spent = 0.0
        self.expired = False

    def restart(self) -> None:
        self.spent = 0.0
        self.expired = False

    def __str__(self) -> str:
        return f"{self.limit:g} s ({FACTOR} × timeout: {self.timeout:g})"

    def next_wait(self) -> float:
        """The timeout of the next wait: `timeout`, or what is left when that is less."""
        left = self.limit - self.spent
        if left <= 0:
            self.expired = True
            raise DeadlineExpired(f"not finished within {self}")
        return min(self.timeout, left)

    def wait(self, sock: socket.socket, call: Callable[..., T], *args: Any) -> T:
        """`call(*args)`, a wait on `sock`, bounded by what is left of the deadline."""
        sock.settimeout(self.next_wait())
        start = time.monotonic()
        try:
            return call(*args)
        except TimeoutError:
            if self.limit - self.spent - (time.monotonic() - start) <= 0:
                self.expired = True
                raise DeadlineExpired(f"not finished within {self}") from None
            raise
        finally:
            self.spent += time.monotonic() - start


# --- sockets that keep the deadline ------------------------------------------------------------
class _Socket(socket.socket):
    deadline: Deadline

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        return self.deadline.wait(self, super().recv, bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        return self.deadline.wait(self, super().recv_into, buffer, nbytes, flags)

    def send(self, data: Any, flags: int = 0) -> int:
        return self.deadline.wait(self, super().send, data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.deadline.wait(self, super().sendall, data, flags)


class _TlsSocket(ssl.SSLSocket):
    """TLS over a connection with a deadline (the context carries it: the handshake runs while
    the socket is made)."""

    def _deadline(self) -> Deadline:
        return cast(_TlsContext, self.context).deadline

    def do_handshake(self, block: bool = False) -> None:
        self._deadline().wait(self, super().do_handshake, block)

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        return self._deadline().wait(self, super().read, len, buffer)

    def write(self, data: Any) -> int:
        return self._deadline().wait(self, super().write, data)

    def send(self, data: Any, flags: int = 0) -> int:  # sendall calls it for each part
        return self._deadline().wait(self, super().send, data, flags)


class _TlsContext(ssl.SSLContext):
    sslsocket_class = _TlsSocket
    deadline: Deadline


def tls_context(deadline: Deadline) -> ssl.SSLContext:
    """What `ssl.create_default_context()` makes (certificates and host names checked), for
    connections that keep `deadline`."""
    context = _TlsContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if not context.cert_store_stats()["x509_ca"]:
        # a machine without a system store: the bundle `requests` brings, when it is here
        with contextlib.suppress(ImportError, OSError):
            import certifi

            context.load_verify_locations(certifi.where())
    context.deadline = deadline
    return context


def connect(address: tuple[str, int], deadline: Deadline) -> socket.socket:
    """A TCP connection to `address` whose reads and writes keep `deadline` (the connecting
    counts too)."""
    start = time.monotonic()
    try:
        plain = socket.create_connection(address, timeout=deadline.next_wait())
    finally:
        deadline.spent += time.monotonic() - start
    sock = _Socket(fileno=plain.detach())
    sock.deadline = deadline
    return sock


# --- one HTTP request ---------------------------------------------------------------------------
class Unreached(Exception):
    """The request never reached the server (refused, no route, unknown host, not a URL)."""


class NoAnswer(Exception):
    """The request went out; its answer did not come (in time, or whole)."""


@dataclass
class Answer:
    status: int
    reason: str
    headers: Message
    body: bytes


def request(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    *,
    method: str = "POST",
    limit: int = BODY_LIMIT,
) -> Answer:
    """One HTTP(S) request (redirects and proxies as `urllib` follows them) within one
    deadline; any status is an `Answer`. Raises `Unreached` or `NoAnswer`."""
    deadline = Deadline(timeout)
    opener = urllib.request.build_opener(_HttpHandler(deadline), _HttpsHandler(deadline))
    try:
        prepared = urllib.request.Request(url, data=body, method=method, headers=headers)
    except ValueError as exc:
        raise Unreached(str(exc)) from None
    try:
        response = opener.open(prepared, timeout=timeout)
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, str(exc.reason), exc.headers, _body(exc, limit, quiet=True))
    except urllib.error.URLError as exc:  # before the request was out: connecting, TLS
        raise Unreached(_reason(exc.reason)) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise NoAnswer(_reason(exc)) from None
    with response:
        return Answer(response.status, response.reason, response.headers, _body(response, limit))


def _body(response: Any, limit: int, *, quiet: bool = False) -> bytes:
    try:
        return cast(bytes, response.read(limit))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if quiet:  # an error's status says enough
            return b""
        raise NoAnswer(_reason(exc)) from None


def _reason(exc: BaseException | str) -> str:
    if isinstance(exc, DeadlineExpired):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__


class _HttpConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, deadline: Deadline, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._create_connection = lambda address, *_: connect(address, deadline)


class _HttpsConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, deadline: Deadline, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._create_connection = lambda address, *_: connect(address, deadline)


class _HttpHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HttpConnection, req, deadline=self.deadline)  # type: ignore[arg-type]


class _HttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline):
        super().__init__()
        self.deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # the certificates load only for an https:// URL (20 ms)
        context = tls_context(self.deadline)
        return self.do_open(
            _HttpsConnection,  # type: ignore[arg-type]
            req,
            context=context,
            deadline=self.deadline,
        )
