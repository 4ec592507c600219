"""`arflow report --html` (issue 34): every number the page shows is the one the commands
print — the aging's buckets, the KPIs and their trend, the forecast, what arflow did, how soon
each step was followed by payment — read back from the page's own elements; and the page is
self-contained and escapes what the data says. (Its look in a real browser, print and phone:
tests/test_report_browser.py.)"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import BASE_CONFIG, example_after_nights, ibm_folder, make_folder
from tests.test_reports import CHASE, HISTORY, WEEKLY

CARRIED_OUT = {"sending", "sent", "unknown", "done"}


class Page(HTMLParser):
    """The page's elements with `data-*` attributes, and its tables' rows by class."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.marks: list[dict[str, str]] = []
        self.tables: dict[str, list[list[str]]] = defaultdict(list)
        self.tags: Counter[str] = Counter()
        self.urls: list[str] = []
        self._table: list[str] = []
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        found = {k: v or "" for k, v in attrs}
        self.urls += [v for k, v in found.items() if k in ("src", "href", "xlink:href")]
        data = {k[5:]: v for k, v in found.items() if k.startswith("data-")}
        if data:
            self.marks.append({"tag": tag, **data})
        if tag == "table":
            self._table.append(found.get("class", ""))
        elif tag == "tr" and self._table:
            self.tables[self._table[-1]].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table[-1]][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table.pop()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def report(cli, config: Path, day: str, *extra: str, expect: int = 0) -> Page:
    out = config.parent / "report.html"
    cli("report", "--html", out, "--as-of", day, *extra, "--config", config, expect=expect)
    return Page(out.read_text(encoding="utf-8"))


def doc_of(cli, *args: str) -> dict:
    return json.loads(cli(*args, "--format", "json").stdout)


def marks(page: Page, *keys: str) -> list[dict[str, str]]:
    return [m for m in page.marks if all(k in m for k in keys)]


# --- the example after three nights, a pause and a promise -------------------------------------
@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return example_after_nights(tmp_path_factory.mktemp("report") / "example")


@pytest.fixture(scope="module")
def example_money(tmp_path_factory):
    """The example after its nights, with a bank's payment of part of INV-1001 and a credit of
    1,000.00 agreed on INV-1008's dispute: each command counts them its own way (`kpi` not at
    all, `forecast` the payment, `aging` both)."""
    from typer.testing import CliRunner

    from arflow.cli import app

    config = example_after_nights(tmp_path_factory.mktemp("money") / "example")
    config.write_text(config.read_text() + "payments: {path: bank.csv}\n")
    (config.parent / "bank.csv").write_text(
        "date,amount,currency,reference,payer\n2026-03-20,250.00,USD,INV-1001,Northwind\n"
    )
    for args in (
        ("dispute", "INV-1008", "--reason", "pricing", "--as-of", "2026-03-20"),
        ("dispute", "resolve", "INV-1008", "--credit", "1000.00", "--as-of", "2026-03-27"),
    ):
        result = CliRunner().invoke(app, [*args, "--config", str(config)])
        assert result.exit_code == 0, result.output
    return config


@pytest.mark.parametrize("folder", ["example", "example_money"])
@pytest.mark.parametrize("day", ["2026-04-07", "2026-04-14", "2026-04-15", "2026-04-25"])
def test_the_page_shows_the_numbers_of_aging_kpi_forecast_and_history(cli, request, folder, day):
    example = request.getfixturevalue(folder)
    page = report(cli, example, day)
    config = str(example)
    aging = doc_of(cli, "aging", "--as-of", day, "--config", config)
    bars = {(m["currency"], m["bucket"]): Decimal(m["value"]) for m in marks(page, "bucket")}
    assert bars == {
        (row["currency"], b): Decimal(row[b])
        for row in aging["currencies"]
        for b in aging["buckets"]
        if Decimal(row[b]) > 0
    }
    assert len(bars) >= 3  # the example owes in several buckets
    kpi = doc_of(cli, "kpi", "--as-of", day, "--config", config)
    shown = {(m["currency"], m["kpi"]): m["value"] for m in marks(page, "kpi") if "month" not in m}
    assert shown == {
        (cur, name): "" if value is None else str(value)
        for cur, figures in kpi["currencies"].items()
        for name, value in figures.items()
        if name not in ("receivables", "current")
    }
    # the next 14 days: actions per day, amount chased per day and currency
    rows = cli("forecast", "--days", "14", "--as-of", day, "--format", "csv", "--config", config)
    actions: Counter[str] = Counter()
    chased: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    lines = list(csv.reader(io.StringIO(rows.stdout)))
    header = lines[0]
    for line in lines[1:]:
        row = dict(zip(header, line, strict=False))
        actions[row["date"]] += int(row["actions"] or 0)
        if row["currency"]:
            chased[(row["date"], row["currency"])] += Decimal(row["chased"] or 0)
    first = date.fromisoformat(day)
    days = [(first + timedelta(days=n)).isoformat() for n in range(14)]
    assert {m["date"]: int(m["actions"]) for m in marks(page, "actions")} == {
        d: actions[d] for d in days
    }
    assert {
        (m["date"], m["currency"]): Decimal(m["amount"])
        for m in marks(page, "amount")
        if Decimal(m["amount"])
    } == {k: v for k, v in chased.items() if v}
    assert sum(actions.values()) > 0
    # what arflow did in the 30 days up to the day, from `history`
    window = (first - timedelta(days=29)).isoformat(), day
    did: Counter[str] = Counter()
    for row in doc_of(cli, "history", "--config", config)["actions"]:
        if not row["keys"]:  # what arflow heard or a person decided: not an action
            continue
        if window[0] <= row["as_of"] <= window[1] and row["state"] in CARRIED_OUT:
            step = "statement" if row["workflow"] == "monthly-statement" else row["step"]
            did[f"{row['workflow']}/{step}/{row['kind']}"] += 1
    assert {m["activity"]: int(m["count"]) for m in marks(page, "activity")} == dict(did)
    assert did  # each day's window holds some of the example's actions


def test_promises_due_in_the_window_are_kept_or_broken_by_the_desks_rule(cli, example):
    """The example's promise on INV-1001 is for 20 April and the invoice stays open: not yet
    due in the window ending 14 April, broken in the one ending 25 April."""
    assert report(cli, example, "2026-04-14").tables["events"][-3:] == [
        ["promises due in these days: kept", "0"],
        ["promises due in these days: broken", "0"],
        ["promises due in these days: pending", "0"],
    ]
    assert report(cli, example, "2026-04-25").tables["events"][-3:] == [
        ["promises due in these days: kept", "0"],
        ["promises due in these days: broken", "1"],
        ["promises due in these days: pending", "0"],
    ]
    # 30 days on, its day is out of the window
    assert report(cli, example, "2026-05-20").tables["events"][-2] == [
        "promises due in these days: broken",
        "0",
    ]


def test_the_oldest_invoice_is_the_oldest_still_open(cli, tmp_path):
    """C1's January invoice was paid; its credit note, a void invoice and one settled but for
    a cent (the tolerance) are older still: the oldest open invoice is the February one."""
    config = make_folder(
        tmp_path,
        invoices="""\
            number,customer_id,email,issue_date,due_date,amount,balance,status,paid_date
            P1,C1,a@x.example,2026-01-01,2026-01-31,100.00,,open,2026-02-03
            CN,C1,a@x.example,2025-12-01,2025-12-01,-20.00,,open,
            V1,C1,a@x.example,2025-11-01,2025-12-01,999.00,,void,
            L1,C1,a@x.example,2025-10-01,2025-11-01,100.00,0.01,open,
            O1,C1,a@x.example,2026-01-10,2026-02-09,300.00,,open,
            """,
        workflows={},
    )
    rows = report(cli, config, "2026-02-20").tables["largest"]
    assert rows[1] == ["C1 C1", "$280.00", "$280.00", "O1, due 2026-02-09", "11"]
    assert len(rows) == 2


def test_the_largest_accounts_with_their_oldest_invoice(cli, example):
    page = report(cli, example, "2026-04-07")
    aging = doc_of(cli, "aging", "--as-of", "2026-04-07", "--config", str(example))
    rows = page.tables["largest"]
    assert rows[0] == ["Customer", "Owed", "Past due", "Oldest invoice", "Days past due"]
    assert [r[0] for r in rows[1:]] == [
        f"{c['name']} {c['customer_id']}" for c in aging["customers"]
    ]
    # Tailspin Toys owes INV-1008 alone, due 10 January: 87 days late on 7 April
    assert rows[1] == [
        "Tailspin Toys C006",
        "$2,150.00",
        "$2,150.00",
        "INV-1008, due 2026-01-10",
        "87",
    ]


# --- the trend, on a real ledger with paid dates ----------------------------------------------


def test_the_trend_is_the_kpis_at_each_months_end(cli, tmp_path):
    config = ibm_folder(tmp_path)
    page = report(cli, config, "2013-06-30")
    points = marks(page, "month")
    months = sorted({m["month"] for m in points})
    assert months == [f"2012-{m:02}" for m in range(7, 13)] + [f"2013-{m:02}" for m in range(1, 7)]
    for m in ("2012-07", "2013-02", "2013-06"):
        day = {p["day"] for p in points if p["month"] == m}
        assert len(day) == 1
        (end,) = day
        kpi = doc_of(cli, "kpi", "--as-of", end, "--config", str(config))["currencies"]["USD"]
        assert {p["kpi"]: p["value"] for p in points if p["month"] == m} == {
            k: "" if kpi[k] is None else str(kpi[k])
            for k in ("dso_countback", "dso_90", "add_90", "cei", "share_90_plus")
        }
    assert {p["day"] for p in points if p["month"] == "2013-02"} == {"2013-02-28"}
    # no run yet: nothing reached, said so
    assert "No step has reached an invoice yet." in (tmp_path / "report.html").read_text()


def test_without_paid_dates_the_page_says_why_there_is_no_trend(cli, example):
    page = report(cli, example, "2026-04-07")
    assert marks(page, "month") == []
    text = (example.parent / "report.html").read_text()
    assert "No trend: the invoices have no paid dates (a paid_date: column)." in text


# --- how soon each step was followed by payment ------------------------------------------------
def test_each_steps_payments_from_what_arflow_really_did(cli, tmp_path):
    """Real runs on 1, 6, 10 and 15 February: d1 reached I1 and I2 on the 1st (paid 2 and 14
    days later), I3 and I4 on the 6th (I4 paid in March, after the day: unpaid); d10 reached
    I2 on the 10th (paid 5 days later), I3 and I4 on the 15th. With `--backtest`, beside
    them, `simulate`'s figures over the 90 days before."""
    config = make_folder(
        tmp_path,
        invoices=HISTORY,
        workflows={"chase": CHASE, "weekly": WEEKLY},
        config=BASE_CONFIG + "default_workflow: chase\n",
    )
    for day in ("2026-02-01", "2026-02-06", "2026-02-10", "2026-02-15"):
        cli("run", "--as-of", day, "--config", config)
    head = [
        "Workflow",
        "Step",
        "Invoices",
        "Paid ≤ 7 days",
        "≤ 14",
        "≤ 30",
        "Median days",
        "Unpaid",
    ]
    # the weekly statement reached I2 on 1 and 6 Feb: counted from the first (paid 14
    # days later); as of 9 Feb, the runs after it are not there
    assert report(cli, config, "2026-02-09").tables["steps"] == [
        head,
        ["chase", "d1", "4", "1", "1", "1", "2.0", "3"],
        ["weekly", "statement", "1", "0", "0", "0", "—", "1"],
    ]
    page = report(cli, config, "2026-02-28", "--backtest")
    real, simulated = page.tables["steps"][:4], page.tables["steps"][4:]
    assert real == [
        head,
        ["chase", "d1", "4", "1", "2", "2", "8.0", "2"],
        ["weekly", "statement", "1", "0", "1", "1", "14.0", "0"],
        ["chase", "d10", "3", "1", "1", "1", "5.0", "2"],
    ]
    sim = doc_of(
        cli, "simulate", "--from", "2025-12-01", "--to", "2026-02-28", "--config", str(config)
    )
    assert simulated[1:] == [
        [
            s["workflow"],
            s["step"],
            str(s["invoices"]),
            str(s["paid_7"]),
            str(s["paid_14"]),
            str(s["paid_30"]),
            "—" if s["median_days_to_pay"] is None else str(s["median_days_to_pay"]),
            str(s["unpaid"]),
        ]
        for s in sim["steps"]
    ]
    assert len(simulated) == 4
    # what arflow did counts each message once, by step
    assert {m["activity"]: m["count"] for m in marks(page, "activity")} == {
        "chase/d1/email": "4",
        "chase/d10/email": "3",
        "weekly/statement/email": "2",
    }


# --- one file, nothing fetched, the data escaped ------------------------------------------------
def test_the_page_is_self_contained_and_escapes_the_data(cli, tmp_path):
    config = make_folder(
        tmp_path,
        invoices=(
            "number,customer_id,customer_name,email,issue_date,due_date,amount\n"
            'X1,C1,"<script>alert(1)</script> & ""Sons""",a@x.example,2026-01-01,2026-01-31,'
            "100.00\n"
        ),
        workflows={"chase": CHASE},
        config=BASE_CONFIG + "default_workflow: chase\n",
    )
    page = report(cli, config, "2026-03-01")
    text = (tmp_path / "report.html").read_text()
    assert page.tags["script"] == 0 and "<script>alert" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Sons&#34;" in text
    assert page.urls == []  # no link, no image, no stylesheet: nothing to fetch
    assert page.tags["link"] == page.tags["img"] == page.tags["iframe"] == 0
    assert "default-src 'none'" in text  # and the browser is told to fetch nothing
    # standard output: the same page
    out = cli("report", "--html", "-", "--as-of", "2026-03-01", "--config", config).stdout
    assert out == text


def test_the_report_is_written_into_the_file_a_link_names_keeping_its_permissions(cli, tmp_path):
    config = make_folder(tmp_path, invoices=HISTORY, workflows={"chase": CHASE})
    (tmp_path / "pub").mkdir()
    real = tmp_path / "pub" / "real.html"
    real.write_text("old")
    real.chmod(0o600)
    (tmp_path / "link.html").symlink_to(real)
    cli("report", "--html", tmp_path / "link.html", "--as-of", "2026-02-10", "--config", config)
    assert (tmp_path / "link.html").is_symlink()
    assert real.read_text().startswith("<!DOCTYPE html>")
    assert real.stat().st_mode & 0o777 == 0o600
    result = cli("report", "--html", tmp_path / "pub", "--config", config, expect=2)
    assert f"--html {tmp_path / 'pub'}: not a regular file" in result.output


def test_a_folder_that_does_not_exist_is_refused(cli, tmp_path):
    config = make_folder(tmp_path, invoices=HISTORY, workflows={"chase": CHASE})
    result = cli("report", "--html", tmp_path / "nope" / "r.html", "--config", config, expect=2)
    assert f"--html {tmp_path / 'nope' / 'r.html'}: no folder {tmp_path / 'nope'}" in result.output
    assert not (tmp_path / "nope").exists()


def test_bad_rows_are_said_and_the_page_is_written_without_them(cli, tmp_path):
    config = make_folder(
        tmp_path,
        invoices=HISTORY + "I5,C5,c5@x.example,2026-01-06,not a day,500.00,\n",
        workflows={"chase": CHASE},
        config=BASE_CONFIG + "default_workflow: chase\n",
    )
    result = cli(
        "report",
        "--html",
        tmp_path / "r.html",
        "--as-of",
        "2026-02-10",
        "--config",
        config,
        expect=3,
    )
    assert "not a day" in result.output
    page = Page((tmp_path / "r.html").read_text())
    assert {(m["bucket"], m["value"]) for m in marks(page, "bucket")} == {
        ("1-30", "900.00"),  # I2 (paid on the 15th), I3 and I4; I1 paid; I5 held back
    }


def test_what_arflow_recorded_disputes_opened_and_resolved(cli, tmp_path):
    config = make_folder(
        tmp_path,
        invoices=HISTORY,
        workflows={"chase": CHASE},
        config=BASE_CONFIG + "default_workflow: chase\n",
    )
    cli("run", "--as-of", "2026-02-01", "--config", config)
    for args in (
        ("dispute", "I3", "--reason", "quantity", "--as-of", "2026-02-02"),
        ("dispute", "I4", "--reason", "pricing", "--as-of", "2026-02-03"),
        ("dispute", "resolve", "I3", "--as-of", "2026-02-20"),
    ):
        cli(*args, "--config", config)
    events = report(cli, config, "2026-02-28").tables["events"]
    assert events[:3] == [
        ["What arflow heard and recorded", "Count"],
        ["disputes: disputed", "2"],
        ["disputes: resolved", "1"],
    ]
    # a window that ends before the resolution
    assert report(cli, config, "2026-02-10").tables["events"][1:3] == [
        ["disputes: disputed", "2"],
        ["promises due in these days: kept", "0"],
    ]
