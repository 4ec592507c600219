"""Real servers on loopback for delivery tests: SMTP (aiosmtpd) and HTTP (Twilio, webhooks).

Each listens on a port the OS picks, in a thread of the test process, and records exactly what
reached it; faults are injected per message.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self):
        return message_from_bytes(self.data, policy=policy.default)


class SmtpHandler:
    """Accepts mail and records it; `data_replies`/`rcpt_replies` inject failures."""

    def __init__(self):
        self.messages: list[Received] = []
        self.data_calls = 0
        self.data_replies: dict[int, str] = {}    # n-th DATA (from 0) → reply, e.g. "451 …"
        self.disconnect_on: set[int] = set()      # n-th DATA: close without a reply
        self.rcpt_replies: dict[str, str] = {}    # address → reply
        self.hold_on: int | None = None           # n-th DATA waits for `release`
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = self.data_calls
        self.data_calls += 1
        if n in self.data_replies:
            return self.data_replies[n]
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content))
        if self.delay:
            await asyncio.sleep(self.delay)
        if n == self.hold_on:
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        if n in self.disconnect_on:
            server.transport.abort()  # the message arrived; the client never hears so
        return "250 OK queued"


class _CountingSMTP(SMTP):
    def __init__(self, *args, counter, **kwargs):
        super().__init__(*args, **kwargs)
        self._counter = counter

    def connection_made(self, transport):
        self._counter.append(1)
        super().connection_made(transport)


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 in its own thread and event loop."""

    def __init__(self, handler: SmtpHandler | None = None, *, login: tuple[str, str] | None = None):
        self.handler = handler or SmtpHandler()
        self.connections: list[int] = []
        self.logins: list[tuple[str, str]] = []
        self.loop = asyncio.new_event_loop()
        kwargs = {}
        if login is not None:
            def authenticate(server, session, envelope, mechanism, auth_data):
                ok = isinstance(auth_data, LoginPassword) and \
                    (auth_data.login.decode(), auth_data.password.decode()) == login
                self.logins.append((auth_data.login.decode(), "ok" if ok else "refused"))
                return AuthResult(success=ok, handled=False)
            kwargs = {"authenticator": authenticate, "auth_required": True,
                      "auth_require_tls": False}

        def factory():
            return _CountingSMTP(self.handler, counter=self.connections, loop=self.loop,
                                 hostname="mx.test", **kwargs)

        self.server = self.loop.run_until_complete(
            self.loop.create_server(factory, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def stop(self) -> None:
        self.handler.release.set()

        async def shutdown():
            self.server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            await self.server.wait_closed()
        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        value = self.headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        return user, password


@dataclass
class HttpServer:
    """A threading HTTP server on 127.0.0.1; `replies` is a queue of (status, JSON body)."""

    replies: list[tuple[int, dict]] = field(default_factory=list)
    default: tuple[int, dict] = (200, {"ok": True})
    requests: list[HttpRequest] = field(default_factory=list)

    def __post_init__(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                outer.requests.append(HttpRequest("POST", self.path, dict(self.headers),
                                                  self.rfile.read(length)))
                status, body = outer.replies.pop(0) if outer.replies else outer.default
                if callable(body):
                    body = body(outer.requests[-1])
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # recorded: a test may check that nothing was fetched
                outer.requests.append(HttpRequest("GET", self.path, dict(self.headers), b""))
                data = b"p { color: red; }"
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def twilio_created(request: HttpRequest) -> dict:
    """What Twilio answers to a created message (the fields arflow reads)."""
    form = request.form
    return {"sid": "SM" + hashlib.md5(request.body).hexdigest(), "status": "queued", "to": form["To"],
            "from": form["From"], "body": form["Body"]}
