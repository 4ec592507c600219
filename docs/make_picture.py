"""Make docs/images/reminder.png: the example's reminder email as a mail client shows it.

It runs the bundled example for real (file outbox, 2026-03-16), takes the reminder arflow wrote
for Blue Harbor Cafe, and has headless Chromium draw its HTML part under the message's From,
To, Subject and Date, as a mail client's reading pane does. Nothing is drawn by hand: the
picture is the real message.

    python docs/make_picture.py            # needs Chromium (Debian: apt-get install chromium)
"""

from __future__ import annotations

import email
import email.policy
import html
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images" / "reminder.png"
AS_OF = date(2026, 3, 16)
CUSTOMER = "C002"

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #e9ebef; font-family: "DejaVu Sans", Arial, sans-serif; }}
.pane {{ margin: 16px; background: #fff; border: 1px solid #cfd4dc; border-radius: 6px;
         overflow: hidden; }}
.head {{ padding: 14px 20px; border-bottom: 1px solid #e1e4e8; font-size: 13px;
         color: #52606d; line-height: 1.7; }}
.head b {{ display: inline-block; width: 64px; color: #7b8794; font-weight: normal; }}
.subject {{ font-size: 18px; color: #1f2933; font-weight: 600; margin-bottom: 6px; }}
iframe {{ border: 0; width: 100%; height: {height}px; display: block; }}
</style></head><body><div class="pane">
<div class="head"><div class="subject">{subject}</div>
<div><b>From</b>{sender}</div><div><b>To</b>{to}</div><div><b>Date</b>{day}</div></div>
<iframe srcdoc="{body}"></iframe>
</div></body></html>
"""


def reminder(folder: Path) -> email.message.EmailMessage:
    from arflow.scaffold import write_scaffold

    write_scaffold(folder, AS_OF)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "arflow",
            "run",
            "--as-of",
            AS_OF.isoformat(),
            "--quiet",
            "--config",
            str(folder / "arflow.yaml"),
        ],
        check=True,
    )
    (path,) = (folder / "outbox").glob(f"*-{CUSTOMER}-*-reminder-0-*.eml")
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def chromium() -> str | None:
    """Chromium's program, or None (said on stderr)."""
    found = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if found is None:
        print("needs Chromium: apt-get install chromium", file=sys.stderr)
    return found


def screenshot(browser: str, page: Path, out: Path, window: tuple[int, int]) -> None:
    """`page` as headless Chromium draws it in a window of `window` pixels, into `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={window[0]},{window[1]}",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
    )


def main() -> int:
    browser = chromium()
    if browser is None:
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        message = reminder(Path(tmp) / "example")
        body = message.get_body(("html",)).get_content()
        page = Path(tmp) / "page.html"
        page.write_text(
            PAGE.format(
                subject=html.escape(message["Subject"]),
                sender=html.escape(message["From"]),
                to=html.escape(message["To"]),
                day=AS_OF.strftime("%a, %d %b %Y"),
                body=html.escape(body, quote=True),
                height=580,
            ),
            encoding="utf-8",
        )
        screenshot(browser, page, OUT, (720, 790))
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
