"""The reports (issue 16): `arflow aging` on a small ledger and on the real ledger at a past
date, in its three formats."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from rich.console import Console

from arflow.aging import aging_report
from arflow.report import print_aging
from tests.conftest import BASE_CONFIG, make_folder
from tests.test_sources import DATA

INVOICES = """\
number,customer_id,customer_name,issue_date,due_date,amount,balance,currency,status,paid_date
A1,A,Alder Ltd,2026-01-01,2026-03-20,100.00,,USD,open,
A2,A,Alder Ltd,2026-01-01,2026-03-01,200.00,,USD,open,
A3,A,Alder Ltd,2026-01-01,2026-02-14,300.00,120.00,USD,open,
A4,A,Alder Ltd,2026-01-01,2026-01-15,400.00,,USD,open,
A5,A,Alder Ltd,2025-11-01,2025-12-16,500.00,,USD,open,
A6,A,Alder Ltd,2025-11-01,2025-12-15,600.00,,USD,open,
CN,A,Alder Ltd,2026-03-01,2026-03-01,-50.00,,USD,open,
E1,A,Alder Ltd,2026-01-01,2026-03-10,80.00,,EUR,open,
B1,B,Birch Ltd,2026-01-01,2026-03-16,1000.00,,USD,open,
B2,B,Birch Ltd,2026-01-01,2026-02-01,999.00,,USD,open,2026-03-10
B3,B,Birch Ltd,2026-01-01,2026-02-01,50.00,,USD,paid,
B4,B,Birch Ltd,2026-03-17,2026-04-16,70.00,,USD,open,
D1,D,Dogwood,2026-01-01,2026-02-01,900.00,,USD,draft,
D2,D,Dogwood,2026-01-01,2026-02-01,900.00,,USD,void,
"""
AS_OF = "2026-03-16"


def folder(tmp_path):
    return make_folder(tmp_path, invoices=INVOICES, workflows={})


def test_aging_buckets_customers_and_currencies(cli, tmp_path):
    config = folder(tmp_path)
    doc = json.loads(cli("aging", "--as-of", AS_OF, "--format", "json", "--config",
                         config).stdout)
    assert doc == {
        "as_of": AS_OF, "buckets": ["current", "1-30", "31-60", "61-90", "90+"],
        "currencies": [
            {"currency": "EUR", "current": "0.00", "1-30": "80.00", "31-60": "0.00",
             "61-90": "0.00", "90+": "0.00", "total": "80.00", "invoices": 1},
            # A's credit note (due 1 March, 15 days) takes 50 off 1-30; B2 is paid on the
            # 10th, B3 paid, B4 not issued yet, the draft and the void one never count
            {"currency": "USD", "current": "1100.00", "1-30": "270.00", "31-60": "400.00",
             "61-90": "500.00", "90+": "600.00", "total": "2870.00", "invoices": 8}],
        "customers": [
            # A: due 20 March is current; 1 March (15 days) and 14 Feb (30 days, 120 left)
            # are 1-30, less the credit note; 15 Jan 31-60; 16 Dec 90 days; 15 Dec 91
            {"customer_id": "A", "name": "Alder Ltd", "currency": "USD", "current": "100.00",
             "1-30": "270.00", "31-60": "400.00", "61-90": "500.00", "90+": "600.00",
             "total": "1870.00"},
            {"customer_id": "B", "name": "Birch Ltd", "currency": "USD", "current": "1000.00",
             "1-30": "0.00", "31-60": "0.00", "61-90": "0.00", "90+": "0.00",
             "total": "1000.00"},
            {"customer_id": "A", "name": "Alder Ltd", "currency": "EUR", "current": "0.00",
             "1-30": "80.00", "31-60": "0.00", "61-90": "0.00", "90+": "0.00",
             "total": "80.00"}]}


def test_aging_is_a_replay_for_any_past_day(cli, tmp_path):
    config = folder(tmp_path)
    doc = json.loads(cli("aging", "--as-of", "2026-03-09", "--format", "json", "--config",
                         config).stdout)
    # on the 9th B2 was not paid yet (36 days late), B1 not due
    birch = next(c for c in doc["customers"] if c["customer_id"] == "B")
    assert (birch["current"], birch["31-60"], birch["total"]) == ("1000.00", "999.00",
                                                                  "1999.00")


def test_aging_csv_is_for_a_spreadsheet(cli, tmp_path):
    config = folder(tmp_path)
    (tmp_path / "invoices.csv").write_text(
        INVOICES.replace("B,Birch Ltd", "B,=HYPERLINK(\"x\")"))
    out = cli("aging", "--as-of", AS_OF, "--format", "csv", "--config", config).stdout
    assert list(csv.reader(io.StringIO(out))) == [
        ["customer_id", "name", "currency", "current", "1-30", "31-60", "61-90", "90+", "total"],
        ["A", "Alder Ltd", "USD", "100.00", "270.00", "400.00", "500.00", "600.00", "1870.00"],
        ["B", "'=HYPERLINK(\"x\")", "USD", "1000.00", "0.00", "0.00", "0.00", "0.00",
         "1000.00"],
        ["A", "Alder Ltd", "EUR", "0.00", "80.00", "0.00", "0.00", "0.00", "80.00"]]


def test_the_aging_table_shows_every_amount_and_a_bar_per_account(cli, tmp_path):
    from arflow.config import load_config
    from arflow.sources import load_ledger
    ledger = load_ledger(load_config(folder(tmp_path)))
    report = aging_report(ledger.owing(date(2026, 3, 16)), ledger.customers, date(2026, 3, 16))
    console = Console(record=True, width=120, color_system=None)
    print_aging(console, report, "en_US", plain=False)
    lines = console.export_text().splitlines()
    assert lines[0].strip() == "arflow aging as of 2026-03-16: 3 account(s)"
    alder = next(line for line in lines if "Alder Ltd" in line and "$" in line)
    assert [cell.strip() for cell in alder.split("│")[1:-1]] == [
        "Alder Ltd", "$100.00", "$270.00", "$400.00", "$500.00", "$600.00", "$1,870.00",
        "████████████"]  # the largest account: the whole bar
    birch = next(line for line in lines if "Birch Ltd" in line)
    assert birch.split("│")[-2].strip() == "██████"  # 1000 of 1870: about half
    assert any("Total USD (8 invoices)" in line and "$2,870.00" in line for line in lines)


def test_aging_of_the_real_ledger_on_a_past_day(cli, tmp_path):
    """The real AR ledger as of 30 June 2013, against a count made here with the csv module."""
    shutil.copy(DATA, tmp_path / "ibm.csv")
    config = make_folder(tmp_path, invoices="", workflows={}, config=BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}", """\
invoices:
  path: ibm.csv
  columns: {number: invoiceNumber, customer_id: customerID, issue_date: InvoiceDate,
            due_date: DueDate, amount: InvoiceAmount, paid_date: SettledDate}
  date_format: "%m/%d/%Y"
"""))
    day = date(2013, 6, 30)
    doc = json.loads(cli("aging", "--as-of", day.isoformat(), "--format", "json", "--config",
                         config).stdout)
    expected: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    count = 0
    with DATA.open(newline="") as handle:
        for row in csv.DictReader(handle):
            issued, due, settled = (datetime.strptime(row[k], "%m/%d/%Y").date()
                                    for k in ("InvoiceDate", "DueDate", "SettledDate"))
            if issued > day or settled <= day:
                continue
            late = (day - due).days
            bucket = ("current" if late <= 0 else "1-30" if late <= 30 else "31-60"
                      if late <= 60 else "61-90" if late <= 90 else "90+")
            expected[row["customerID"]][bucket] += Decimal(row["InvoiceAmount"])
            count += 1
    (usd,) = doc["currencies"]
    assert usd["invoices"] == count == 84
    assert (usd["current"], usd["1-30"], usd["31-60"], usd["total"]) == (
        "4284.29", "835.56", "0.00", "5119.85")
    assert {c["customer_id"]: {b: Decimal(c[b]) for b in doc["buckets"] if Decimal(c[b])}
            for c in doc["customers"]} == {cid: dict(b) for cid, b in expected.items()}
    totals = [Decimal(c["total"]) for c in doc["customers"]]
    assert totals == sorted(totals, reverse=True)


def test_the_aging_table_cuts_no_amount_at_80_columns(tmp_path):
    from arflow.config import load_config
    from arflow.sources import load_ledger
    ledger = load_ledger(load_config(folder(tmp_path)))
    report = aging_report(ledger.owing(date(2026, 3, 16)), ledger.customers, date(2026, 3, 16))
    console = Console(record=True, width=80, color_system=None)
    print_aging(console, report, "en_US", plain=False)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for amount in ("$1,870.00", "$2,870.00", "$1,100.00", "€80.00", "$1,000.00"):
        assert amount in text
    assert "…" not in text and "█" not in text  # no room for the bar: it goes first


def test_history_says_what_each_action_was_about(cli, tmp_path):
    from arflow.scaffold import write_scaffold
    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    cli("assign", "C005", "--workflow", "ar-workflow", "--date", "2026-03-16", "--config", config)
    for day in ("2026-03-16", "2026-03-23"):
        cli("run", "--as-of", day, "--config", config)
    rows = json.loads(cli("history", "--customer", "C005", "--format", "json", "--config",
                          config).stdout)["actions"]
    assert [(r["as_of"], r["step"], r["kind"], r["subject"], r["description"]) for r in rows
            if r["workflow"] == "ar-workflow"] == [
        ("2026-03-16", "kickoff", "assign", None, "specialist: dana"),
        ("2026-03-16", "kickoff", "note", None, "Litware Labs entered the AR Workflow with 2 open invoice(s); check the billing "
         "contact."),
        ("2026-03-16", "kickoff", "email", "Reminder: 2 invoices past due ($1,550.00)", None),
        ("2026-03-23", "call", "task", None, "task: Call Litware Labs about $1,550.00 overdue"),
        ("2026-03-23", "call", "status", None, "status: Contacted"),
        ("2026-03-23", "text", "sms", None, None)]  # superseded by the call (catch_up: latest)
    table = cli("history", "--customer", "C005", "--config", config).stdout
    assert "task: Call Litware Labs about $1,550.00 overdue" in table
    assert "status: Contacted" in table
