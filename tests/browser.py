"""A real browser for the tests: Debian's headless Chromium, driven over the DevTools protocol.

Standard library only. Chromium is started with `--remote-debugging-pipe`: it reads commands
from its fd 3 and writes replies and events to its fd 4, each JSON message ended by a NUL byte.
Every wait has a deadline (a hung browser fails the test saying what it waited for, within
`timeout` seconds, never hangs the suite) and the browser's processes are killed at exit.

    with Browser() as browser:
        visit = browser.visit(path, width=1100, height=900)
        visit.messages      # console calls, uncaught exceptions, the browser's log entries
        visit.requests      # every URL the page asked for, other than its own
        visit.evaluate("document.title")
        visit.screenshot(png)
        visit.print_pdf(pdf, paper="A4")
        visit.phone_problems()            # [] when a 390 px phone needs no sideways scrolling
        cut_tables(visit, pages_text(pdf))  # [] when no printed table row or header is cut

A request is what the page asked its network stack for: http(s), file:// other than the page
itself, ws, and so on. data: and blob: URLs are not requests: their bytes are already in the page
(Chromium reports them in Network.requestWillBeSent all the same; they are kept apart, in
`visit.inline`), so a self-contained file may use them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMEOUT = 30.0
PAPERS = {"A4": (8.27, 11.69), "Letter": (8.5, 11.0)}  # inches, as Page.printToPDF takes them
PHONE = (390, 844)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-device-scale-factor=1",
    "--remote-debugging-pipe",
]
# the child puts the pipes' ends on fds 3 and 4, then becomes Chromium (no preexec_fn: that is
# not safe while the test runs threads, e.g. an HTTP server)
_TRAMPOLINE = """\
import fcntl, os, sys
r, w = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])
os.dup2(r, 3, inheritable=True)
os.dup2(w, 4, inheritable=True)
os.execv(sys.argv[3], sys.argv[3:])
"""


def find_chromium() -> str | None:
    """Debian's `chromium` (or another Chromium on PATH), else None."""
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next((path for name in names if (path := shutil.which(name))), None)


class BrowserError(AssertionError):
    """The browser did not do what the test asked, in time or at all (fails the test)."""


@dataclass(frozen=True)
class Message:
    """What the page said: `kind` is console (console.log/error/…), exception (uncaught) or
    log (the browser's own entries: a failed load, a blocked request, …)."""

    kind: str
    level: str
    text: str
    url: str = ""


@dataclass
class Table:
    """A table as printed: its name (caption, aria-label or the heading before it), its
    header's cell texts and each row's cell texts (only what print shows)."""

    name: str
    header: list[str]
    rows: list[list[str]]


class Browser:
    """One headless Chromium for many visits; a context manager that always kills it."""

    def __init__(self, executable: str | None = None, timeout: float = TIMEOUT) -> None:
        found = executable or find_chromium()
        if found is None:
            raise BrowserError("Chromium is not installed here (Debian: apt-get install chromium)")
        self.executable = found
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._profile = ""
        self._buffer = b""
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._visits: dict[str, Visit] = {}

    def __enter__(self) -> Browser:
        self._profile = tempfile.mkdtemp(prefix="arflow-chromium-")
        self._stderr = Path(self._profile) / "stderr.txt"
        to_child, self._commands = os.pipe()
        self._events, from_child = os.pipe()
        argv = [self.executable, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"]
        try:
            with self._stderr.open("wb") as stderr:
                self.process = subprocess.Popen(
                    [sys.executable, "-c", _TRAMPOLINE, str(to_child), str(from_child), *argv],
                    pass_fds=(to_child, from_child),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,  # its own process group: killed whole at exit
                )
        finally:
            os.close(to_child)
            os.close(from_child)
        try:
            self.send("Browser.getVersion")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Ask Chromium to quit, then kill its process group whatever it did; never raises."""
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(BrowserError, OSError):
                self._write({"id": -1, "method": "Browser.close"})
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for fd in ("_commands", "_events"):
            with contextlib.suppress(AttributeError, OSError):
                os.close(getattr(self, fd))
                delattr(self, fd)
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = ""

    # the protocol: one JSON object per message, each ended by a NUL byte

    def _write(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\0"
        while data:
            _, ready, _ = select.select([], [self._commands], [], self.timeout)
            if not ready:
                raise BrowserError(f"Chromium did not read {message.get('method')} in time")
            data = data[os.write(self._commands, data[:65536]) :]

    def _read(self, deadline: float, waiting_for: str) -> None:
        """Read what Chromium wrote (at least one message), routing each to its place."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready = select.select([self._events], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                raise BrowserError(
                    f"Chromium did not answer within {self.timeout:g} s: waited for {waiting_for}"
                )
            chunk = os.read(self._events, 1 << 20)
            if not chunk:
                said = self._stderr.read_text(errors="replace").strip().splitlines()[-3:]
                raise BrowserError(
                    f"Chromium quit while the test waited for {waiting_for}"
                    + "".join(f"\n  {line}" for line in said)
                )
            self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        for raw in messages:
            message = json.loads(raw)
            if "id" in message:
                self._replies[message["id"]] = message
            elif message.get("sessionId") in self._visits:
                self._visits[message["sessionId"]].on_event(message["method"], message["params"])

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; a protocol error fails the test."""
        if self.process is None:
            raise BrowserError("the browser is closed")
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._write(message)
        deadline = time.monotonic() + self.timeout
        while ident not in self._replies:
            self._read(deadline, method)
        reply = self._replies.pop(ident)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def wait_for(self, visit: Visit, event: str) -> dict[str, Any]:
        """Wait for `event` in the visit's tab (one seen already counts) and return its params."""
        deadline = time.monotonic() + self.timeout
        while event not in visit.events:
            self._read(deadline, event)
        return visit.events[event]

    def visit(
        self,
        page: str | Path,
        *,
        width: int = 1100,
        height: int = 900,
        media: str | None = None,
        mobile: bool = False,
    ) -> Visit:
        """Open `page` (a file path or a URL) in a new tab of that size and wait until it has
        loaded; `media="print"` shows it as print media. The visit before it is closed."""
        url = Path(page).resolve().as_uri() if not re.match(r"^[a-z]+:", str(page)) else str(page)
        for earlier in list(self._visits.values()):  # one tab at a time: a tab holds ~150 MB
            earlier.close()
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        visit = self._visits[session] = Visit(self, session, target, url, media=media or "")
        for domain in ("Page", "Runtime", "Log", "Network"):
            visit.send(f"{domain}.enable")
        visit.resize(width, height, mobile=mobile)
        if media is not None:
            visit.send("Emulation.setEmulatedMedia", media=media)
        navigated = visit.send("Page.navigate", url=url)
        if navigated.get("errorText"):
            raise BrowserError(f"{url} could not be opened: {navigated['errorText']}")
        self.wait_for(visit, "Page.loadEventFired")
        visit.evaluate("new Promise(r => requestAnimationFrame(() => r(true)))")
        return visit


@dataclass
class Visit:
    """One page in one tab: what it said and asked for while loading (and after)."""

    browser: Browser
    session: str
    target: str
    url: str
    messages: list[Message] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)  # data: and blob: URLs (not requests)
    media: str = ""  # the media it is shown as ("" for screen)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        if self.session not in self.browser._visits:
            raise BrowserError(f"{method}: the visit of {self.url} is over (a new one began)")
        return self.browser.send(method, self.session, **params)

    def close(self) -> None:
        """Close its tab (the next visit does)."""
        if self.browser._visits.pop(self.session, None) is not None:
            self.browser.send("Target.closeTarget", targetId=self.target)

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        self.events[method] = params
        if method == "Runtime.consoleAPICalled":
            frames = (params.get("stackTrace") or {}).get("callFrames") or [{}]
            text = " ".join(_remote_text(arg) for arg in params.get("args", []))
            self.messages.append(Message("console", params["type"], text, frames[0].get("url", "")))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details["text"]
            self.messages.append(Message("exception", "error", text, details.get("url", "")))
        elif method == "Log.entryAdded":
            entry = params["entry"]
            self.messages.append(
                Message("log", entry["level"], entry["text"], entry.get("url", ""))
            )
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if url.startswith(("data:", "blob:")):
                self.inline.append(url)
            elif url != self.url:
                self.requests.append(url)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited); an
        exception fails the test with its text."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details["text"]
            raise BrowserError(f"{expression[:80]!r} failed in the page: {text}")
        return result["result"].get("value")

    def resize(self, width: int, height: int, *, mobile: bool = False) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    def screenshot(self, png: str | Path, *, full_page: bool = False) -> Path:
        """A PNG of the viewport (or of the whole page) written to `png`."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["captureBeyondViewport"] = True
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
            params["clip"]["scale"] = 1
        data = self.send("Page.captureScreenshot", **params)["data"]
        return _write_base64(png, data)

    def print_pdf(self, pdf: str | Path, *, paper: str = "A4") -> Path:
        """The page printed to `pdf` on A4 or Letter paper (its print stylesheet applies; the
        paper is the one asked for whatever an @page size says)."""
        width, height = PAPERS[paper]
        data = self.send(
            "Page.printToPDF",
            paperWidth=width,
            paperHeight=height,
            preferCSSPageSize=False,
            printBackground=True,
        )["data"]
        return _write_base64(pdf, data)

    def phone_problems(self, width: int = PHONE[0], height: int = PHONE[1]) -> list[str]:
        """[] when the page, shown on a phone `width` CSS px wide, needs no sideways scrolling;
        else what is wrong, naming the widest elements that stick out."""
        self.resize(width, height, mobile=True)
        self.evaluate("new Promise(r => requestAnimationFrame(() => r(true)))")
        seen = self.evaluate(f"({_PHONE_JS})({width})")
        if not seen["fits"]:
            return [
                f"on a phone {width} px wide the page is laid out {seen['layout']} px wide "
                '(no <meta name="viewport" content="width=device-width">)'
            ]
        if seen["scroll"] > width:
            return [
                f"on a phone {width} px wide the page is {seen['scroll']} px wide: it scrolls "
                "sideways (" + ", ".join(seen["wide"]) + ")"
            ]
        return []

    def tables(self) -> list[Table]:
        """Every table as print shows it, read from the DOM under print media."""
        self.send("Emulation.setEmulatedMedia", media="print")
        try:
            found = self.evaluate(_TABLES_JS)
        finally:
            self.send("Emulation.setEmulatedMedia", media=self.media)
        return [Table(t["name"], t["header"], t["rows"]) for t in found]


def _remote_text(arg: dict[str, Any]) -> str:
    if "value" in arg:
        return str(arg["value"])
    return str(arg.get("description") or arg.get("unserializableValue") or arg.get("type"))


def _write_base64(path: str | Path, data: str) -> Path:
    import base64

    out = Path(path)
    out.write_bytes(base64.b64decode(data))
    return out


_PHONE_JS = """(width => {
  const meta = document.querySelector('meta[name=viewport]');
  const fits = !!meta && /width\\s*=\\s*device-width/.test(meta.content);
  const scroll = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
  const out = e => e.getBoundingClientRect().right > width + 0.5;
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => out(e) && !(e.parentElement && out(e.parentElement)))
    .sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right)
    .slice(0, 3)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
         + (e.classList.length ? '.' + [...e.classList].join('.') : '')
         + ' reaches ' + Math.round(e.getBoundingClientRect().right) + ' px');
  return {fits, layout: window.innerWidth, scroll, wide};
})"""

_TABLES_JS = """(() => {
  const shown = e => e.checkVisibility() && getComputedStyle(e).visibility !== 'hidden';
  const cells = row => [...row.cells].filter(shown).map(c => c.innerText.trim());
  const heading = table => {
    let e = table;
    while (e) {
      let p = e.previousElementSibling;
      while (p) {
        const h = p.matches('h1,h2,h3,h4,h5,h6') ? p : [...p.querySelectorAll('h1,h2,h3,h4,h5,h6')].pop();
        if (h) return h.innerText.trim();
        p = p.previousElementSibling;
      }
      e = e.parentElement;
    }
    return '';
  };
  return [...document.querySelectorAll('table')].filter(shown).map((t, i) => ({
    name: (t.caption && t.caption.innerText.trim()) || t.getAttribute('aria-label')
          || heading(t) || 'table ' + (i + 1),
    header: t.tHead ? [...t.tHead.rows].flatMap(cells) : [],
    rows: [...t.tBodies].flatMap(b => [...b.rows]).filter(shown).map(cells),
  }));
})()"""


def pages_text(pdf: str | Path) -> list[str]:
    """The text of each page of a PDF, read by poppler's pdftotext in the order Chromium drew it
    (`-raw`: no columns guessed, no words joined over a line's end: a cell's
    "past-due-15-30-" and "45" stay as drawn; pages end with a form feed)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        raise BrowserError(
            "pdftotext is not installed here (Debian: apt-get install poppler-utils)"
        )
    done = subprocess.run(
        [tool, "-raw", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode:
        raise BrowserError(f"pdftotext could not read {pdf}: {done.stderr.decode().strip()}")
    pages = done.stdout.decode().split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


# a word is cut where a line may break: at spaces and after hyphens and dashes
_WORD = re.compile(r"[^\s\-\u2010\u2011\u2013\u2014]+")


def _words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def cut_tables(tables: Visit | list[Table], pages: list[str]) -> list[str]:
    """The printed tables' cuts: every row's cells on one page, and every page holding rows of a
    table also holding its header (a repeated thead). Tables and their rows are found in the
    page's order, by their words (a cell wrapped over lines is still whole), each row taking
    its words out of its page's: what is left must hold each table's header (a row cut in two
    gives the header the benefit of the doubt: it is a problem already). Returns plain
    problems, [] when none."""
    found = tables.tables() if isinstance(tables, Visit) else tables
    left = [_words(page) for page in pages]  # each page's words not yet taken by a row
    problems: list[str] = []
    holding: list[list[int]] = []
    cursor = 0
    for table in found:
        pages_of, cursor = _place_rows(table, left, cursor, problems)
        holding.append(pages_of)
    for table, pages_of in zip(found, holding, strict=True):
        header = _words(" ".join(table.header))
        if not header:
            if table.rows:
                problems.append(
                    f"table {table.name!r} has no header (thead) to repeat on each page"
                )
            continue
        for p in pages_of:
            if header <= left[p]:
                left[p] -= header
            else:
                problems.append(f"table {table.name!r}: page {p + 1} holds rows without the header")
    return problems


def _place_rows(
    table: Table, left: list[Counter[str]], cursor: int, problems: list[str]
) -> tuple[list[int], int]:
    """Find each row from the page of the one before; → the pages holding rows, the cursor."""
    header = _words(" ".join(table.header))
    holding: set[int] = set()
    for cells in table.rows:
        row = _words(" ".join(cells))
        name = next((c for c in cells if c.strip()), "(empty)").splitlines()[0]
        whole = next((p for p in range(cursor, len(left)) if row <= left[p]), None)
        if whole is not None:
            left[whole] -= row
            holding.add(cursor := whole)
            continue
        span = range(cursor, len(left) - 1)
        split = next((p for p in span if row <= left[p] + left[p + 1]), None)
        if split is None:
            missing = " ".join((row - sum(left[cursor:], Counter())).elements())
            problems.append(
                f"table {table.name!r}: row {name!r} is not in the PDF whole "
                f"(missing {missing!r}: cut off at the page's edge?)"
            )
            continue
        problems.append(
            f"table {table.name!r}: row {name!r} split over pages {split + 1} and {split + 2}"
        )
        for page in (split, split + 1):  # its words count against the header last
            take = Counter({w: min(n, max(left[page][w] - header[w], 0)) for w, n in row.items()})
            left[page] -= take
            row -= take
        holding |= {split, split + 1}
        cursor = split + 1
    return sorted(holding), cursor
