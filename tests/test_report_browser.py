"""`arflow report --html` as a person's browser shows it (issue 34): headless Chromium opens the
file and says nothing, asks the network for nothing, and every number its charts carry (read
from the page's `data-*` attributes) equals the JSON or CSV of the command that owns it —
`aging`, `kpi`, `forecast`, and `kpi` again at each month's end for the trend; printed on A4
and Letter no table is cut, and on a phone nothing scrolls sideways."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.browser import Visit, cut_tables
from tests.conftest import example_after_nights, ibm_folder

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAY = "2026-04-07"
IBM_DAY = "2013-06-15"
TREND_KPIS = ("dso_countback", "dso_90", "add_90", "cei", "share_90_plus")


def write_report(config: Path, day: str) -> Path:
    """`arflow report --html report.html --as-of DAY` as its own process."""
    out = config.parent / "report.html"
    command = ["report", "--html", str(out), "--as-of", day, "--config", str(config)]
    done = subprocess.run(
        [sys.executable, "-m", "arflow", *command],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == f"Wrote {out} (receivables as of {day}).\n"
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The two reports, written once: the bundled example after three nights of real runs
    (history, a forecast, no paid dates) and the IBM ledger (paid dates: a trend)."""
    root = tmp_path_factory.mktemp("reports")
    example = example_after_nights(root / "example")
    ibm = ibm_folder(root / "ibm")
    return {
        "example": (example, EXAMPLE_DAY, write_report(example, EXAMPLE_DAY)),
        "ibm": (ibm, IBM_DAY, write_report(ibm, IBM_DAY)),
    }


def marks(visit: Visit, selector: str) -> list[dict[str, str]]:
    """The `data-*` attributes of every element `selector` finds, as the page holds them."""
    return visit.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})].map(e => ({{...e.dataset}}))"
    )


def command_json(cli, config: Path, *args: str) -> dict:
    return json.loads(cli(*args, "--format", "json", "--config", config).stdout)


@pytest.mark.parametrize("name", ["example", "ibm"])
def test_the_report_says_nothing_and_asks_for_nothing(browser, reports, name):
    _, _, page = reports[name]
    visit = browser.visit(page)
    assert visit.messages == []
    assert visit.requests == []
    assert visit.inline == []
    assert visit.evaluate("document.scripts.length") == 0


@pytest.mark.parametrize("name", ["example", "ibm"])
def test_the_aging_chart_holds_aging_s_totals(browser, reports, cli, name):
    config, day, page = reports[name]
    doc = command_json(cli, config, "aging", "--as-of", day)
    shown = {
        (m["currency"], m["bucket"]): Decimal(m["value"])
        for m in marks(browser.visit(page), "svg[data-chart=aging] [data-currency][data-bucket]")
    }
    # a bucket of nothing has no bar
    assert shown == {
        (row["currency"], bucket): Decimal(row[bucket])
        for row in doc["currencies"]
        for bucket in doc["buckets"]
        if Decimal(row[bucket]) > 0
    }
    assert len(shown) == {"example": 3, "ibm": 2}[name]


@pytest.mark.parametrize("name", ["example", "ibm"])
def test_the_kpi_figures_are_kpi_s(browser, reports, cli, name):
    config, day, page = reports[name]
    doc = command_json(cli, config, "kpi", "--as-of", day)
    shown = marks(browser.visit(page), "[data-kpi][data-currency][data-value]:not([data-month])")
    assert {(m["kpi"], m["currency"]): m["value"] for m in shown} == {
        (kpi, currency): "" if value is None else str(value)
        for currency, figures in doc["currencies"].items()
        for kpi, value in figures.items()
        if kpi not in ("receivables", "current")
    }
    assert len(shown) == 6


def test_the_forecast_chart_holds_forecast_s_days(browser, reports, cli):
    config, day, page = reports["example"]
    table = cli("forecast", "--days", "14", "--as-of", day, "--format", "csv", "--config", config)
    actions: dict[str, int] = defaultdict(int)
    amounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in csv.DictReader(io.StringIO(table.stdout)):
        actions[row["date"]] += int(row["actions"] or 0)
        if row["chased"]:
            amounts[(row["date"], row["currency"])] += Decimal(row["chased"])
    visit = browser.visit(page)
    chart = "svg[data-chart=forecast] "
    counted = {
        m["date"]: int(m["actions"]) for m in marks(visit, chart + "[data-date][data-actions]")
    }
    first = date.fromisoformat(day)
    assert list(counted) == [(first + timedelta(days=n)).isoformat() for n in range(14)]
    assert counted == {d: actions.get(d, 0) for d in counted}
    assert sum(counted.values()) == 5
    chased = {
        (m["date"], m["currency"]): Decimal(m["amount"])
        for m in marks(visit, chart + "[data-date][data-currency][data-amount]")
    }
    assert set(chased) == {(d, "USD") for d in counted}
    assert {k: v for k, v in chased.items() if v} == amounts
    assert amounts == {
        ("2026-04-08", "USD"): Decimal("480.00"),
        ("2026-04-15", "USD"): Decimal("640.00"),
    }


def test_the_trend_points_are_kpi_at_each_month_s_end(browser, reports, cli):
    config, _, page = reports["ibm"]
    selector = "svg[data-chart=trend] [data-kpi][data-currency][data-month][data-value]"
    points = marks(browser.visit(page), selector)
    ends = [
        *(f"2012-{m:02d}-{d}" for m, d in ((7, 31), (8, 31), (9, 30), (10, 31), (11, 30))),
        *(f"{y}-{m:02d}-{d}" for y, m, d in ((2012, 12, 31), (2013, 1, 31), (2013, 2, 28))),
        *(f"2013-{m:02d}-{d}" for m, d in ((3, 31), (4, 30), (5, 31))),
        IBM_DAY,  # the last point: the report's day
    ]
    assert sorted({(p["month"], p["day"]) for p in points}) == [(e[:7], e) for e in ends]
    expected = {}
    for end in ends:
        for currency, figures in command_json(cli, config, "kpi", "--as-of", end)[
            "currencies"
        ].items():
            for kpi in TREND_KPIS:
                if figures[kpi] is not None:
                    expected[(kpi, currency, end[:7])] = figures[kpi]
    assert {(p["kpi"], p["currency"], p["month"]): float(p["value"]) for p in points} == expected
    assert len(points) == 12 * len(TREND_KPIS)


def test_the_example_has_no_trend_and_says_why(browser, reports):
    from arflow.htmlreport.figures import trend

    _, day, page = reports["example"]
    visit = browser.visit(page)
    assert visit.evaluate("document.querySelectorAll('svg[data-chart=trend]').length") == 0
    why = trend([], date.fromisoformat(day))["why"]
    notes = visit.evaluate("[...document.querySelectorAll('#kpis p.note')].map(p => p.innerText)")
    assert f"No trend: {why}." in notes


@pytest.mark.parametrize("name", ["example", "ibm"])
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_printed_report_cuts_no_table(browser, reports, pdf_pages, tmp_path, name, paper):
    _, _, page = reports[name]
    visit = browser.visit(page)
    pages = pdf_pages(visit.print_pdf(tmp_path / "report.pdf", paper=paper))
    assert cut_tables(visit, pages) == []
    tables = visit.tables()
    assert [t.name for t in tables] == TABLES[name]
    assert all(t.header and t.rows for t in tables)


ACTIVITY = "What arflow did, {} to {}"
TABLES = {  # each named by the heading above it
    "example": [
        "Aging",
        "Largest accounts",
        *[ACTIVITY.format("2026-03-09", EXAMPLE_DAY)] * 2,  # the actions, what it heard
        "What arflow did",  # how soon each step was followed by payment
    ],
    "ibm": ["Aging", "Largest accounts", ACTIVITY.format("2013-05-17", IBM_DAY)],
}


@pytest.mark.parametrize("name", ["example", "ibm"])
def test_the_report_reads_on_a_phone(browser, reports, name):
    _, _, page = reports[name]
    assert browser.visit(page).phone_problems() == []
