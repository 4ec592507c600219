"""Make docs/images/report.png: the top of `arflow report --html` on the bundled example.

It runs the bundled example for real (file outbox) on 16 and 26 March and 7 April 2026, writes
the report as of 7 April, and has headless Chromium draw the page's top: the KPIs with their
formulas, the aging chart and the largest accounts. Nothing is drawn by hand: the picture is
the real report.

    python docs/make_report_picture.py     # needs Chromium (Debian: apt-get install chromium)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_picture import chromium, screenshot

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images" / "report.png"
NIGHTS = (date(2026, 3, 16), date(2026, 3, 26), date(2026, 4, 7))
WINDOW = (1000, 1340)  # the KPIs, the aging and the largest accounts


def arflow(config: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "arflow", *args, "--config", str(config)],
        check=True,
        cwd=ROOT,
    )


def report(folder: Path) -> Path:
    from arflow.scaffold import write_scaffold

    write_scaffold(folder, NIGHTS[0])
    config = folder / "arflow.yaml"
    for night in NIGHTS:
        arflow(config, "run", "--as-of", night.isoformat(), "--quiet")
    page = folder / "report.html"
    arflow(config, "report", "--html", str(page), "--as-of", NIGHTS[-1].isoformat())
    return page


def main() -> int:
    browser = chromium()
    if browser is None:
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        screenshot(browser, report(Path(tmp) / "example"), OUT, WINDOW)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
