"""Real servers on loopback for delivery tests: SMTP (aiosmtpd), HTTP (Twilio, webhooks) and
IMAP (Dovecot, in its own process).

Each listens on a port the OS picks, in a thread of the test process, and records exactly what
reached it; faults are injected per message.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import imaplib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# a certificate for 127.0.0.1 signed by a test CA: arflow trusts it with SSL_CERT_FILE=TEST_CA
TLS = Path(__file__).resolve().parent / "data" / "tls"
TEST_CA = str(TLS / "ca.pem")


def server_tls() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "server.pem")
    return context


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
        self.data_replies: dict[int, str] = {}  # n-th DATA (from 0) → reply, e.g. "451 …"
        self.disconnect_on: set[int] = set()  # n-th DATA: close without a reply
        self.rcpt_replies: dict[str, str] = {}  # address → reply
        self.hold_on: int | None = None  # n-th DATA waits for `release`
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
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
            )
        )
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

    def __init__(
        self,
        handler: SmtpHandler | None = None,
        *,
        login: tuple[str, str] | None = None,
        without: tuple[str, ...] = (),  # AUTH mechanisms not offered, e.g. ("PLAIN",)
        tls: str | None = None,  # "implicit" (TLS from the first byte) or "starttls"
    ):
        self.handler = handler or SmtpHandler()
        self.connections: list[int] = []
        self.logins: list[tuple[str, str]] = []
        self.loop = asyncio.new_event_loop()
        kwargs = {}
        if login is not None:

            def authenticate(server, session, envelope, mechanism, auth_data):
                ok = (
                    isinstance(auth_data, LoginPassword)
                    and (auth_data.login.decode(), auth_data.password.decode()) == login
                )
                self.logins.append((auth_data.login.decode(), "ok" if ok else "refused"))
                return AuthResult(success=ok, handled=False)

            kwargs = {
                "authenticator": authenticate,
                "auth_required": True,
                "auth_require_tls": False,
                "auth_exclude_mechanism": without,
            }

        if tls == "starttls":
            kwargs = {**kwargs, "tls_context": server_tls(), "require_starttls": True}

        def factory():
            return _CountingSMTP(
                self.handler, counter=self.connections, loop=self.loop, hostname="mx.test", **kwargs
            )

        implicit = server_tls() if tls == "implicit" else None
        self.server = self.loop.run_until_complete(
            self.loop.create_server(factory, "127.0.0.1", 0, ssl=implicit)
        )
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
    tls: bool = False  # https://, with the test CA's certificate

    def __post_init__(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                outer.requests.append(
                    HttpRequest("POST", self.path, dict(self.headers), self.rfile.read(length))
                )
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
        if self.tls:
            self.httpd.socket = server_tls().wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def twilio_created(request: HttpRequest) -> dict:
    """What Twilio answers to a created message (the fields arflow reads)."""
    form = request.form
    return {
        "sid": "SM" + hashlib.md5(request.body).hexdigest(),
        "status": "queued",
        "to": form["To"],
        "from": form["From"],
        "body": form["Body"],
    }


DOVECOT = shutil.which("dovecot") or next(
    (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.path.exists(p)), None
)


class ImapServer:
    """A real Dovecot IMAP server on 127.0.0.1, started from a config of its own in `root`
    (no system service, no TLS): one user whose INBOX the test fills with IMAP APPEND."""

    USER, PASSWORD = "ar@acme.example", "s3cret-imap-pw"

    def __init__(self, password: str | None = None):
        self.PASSWORD = password or self.PASSWORD
        if DOVECOT is None:
            raise RuntimeError("Dovecot is not installed (Debian: apt-get install dovecot-imapd)")
        # its own folder, which Dovecot's login and mail processes (other users) can reach:
        # pytest's tmp_path sits in a folder only its owner may enter
        root = self.root = Path(tempfile.mkdtemp(prefix="arflow-dovecot-"))
        root.chmod(0o755)
        for name in ("run", "state", "home"):
            (root / name).mkdir(parents=True, exist_ok=True)
        # Dovecot refuses to serve mail as root: the mail user is `nobody` then
        uid, gid = (os.getuid(), os.getgid()) if os.getuid() else (65534, 65534)
        if not os.getuid():
            os.chown(root / "home", uid, gid)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        (root / "passwd").write_text(f"{self.USER}:{{PLAIN}}{self.PASSWORD}\n", encoding="utf-8")
        (root / "dovecot.conf").write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 0
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("Dovecot did not start: " + self.log()) from None
                time.sleep(0.05)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def fetched(self, sessions: int = 0) -> list[int]:
        """How many message bodies each finished session fetched, from Dovecot's log; waits
        (up to 10 s) until the log has at least `sessions` of them, as Dovecot writes a
        session's line after the client has gone."""
        deadline = time.monotonic() + 10
        while True:
            found = [int(n) for n in re.findall(r"Logged out .*? body_count=(\d+)", self.log())]
            if len(found) >= sessions or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def _login(self, client: imaplib.IMAP4) -> None:
        """AUTHENTICATE PLAIN: the password in UTF-8, whatever its characters."""
        token = f"\0{self.USER}\0{self.PASSWORD}".encode()
        client.authenticate("PLAIN", lambda _challenge: token)

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            self._login(client)
            for raw in messages:
                status, data = client.append(folder, None, None, raw)
                assert status == "OK", data
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        """Every message's flags (arflow must leave them as they were)."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            self._login(client)
            client.select(folder, readonly=True)
            _, data = client.fetch("1:*", "(FLAGS)")
            return [d for d in data if d]
        finally:
            client.logout()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
