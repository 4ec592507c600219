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

import pytest
from rich.console import Console

from arflow.aging import aging_report
from arflow.charts import print_aging
from tests.conftest import BASE_CONFIG, ibm_folder, make_folder
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
P1,P,Poplar,2026-01-01,2026-02-01,75.00,,USD,paid,
"""
AS_OF = "2026-03-16"


def folder(tmp_path):
    return make_folder(tmp_path, invoices=INVOICES, workflows={})


def test_aging_buckets_customers_and_currencies(cli, tmp_path):
    config = folder(tmp_path)
    doc = json.loads(cli("aging", "--as-of", AS_OF, "--format", "json", "--config", config).stdout)
    assert doc == {
        "as_of": AS_OF,
        "buckets": ["current", "1-30", "31-60", "61-90", "90+"],
        "currencies": [
            {
                "currency": "EUR",
                "current": "0.00",
                "1-30": "80.00",
                "31-60": "0.00",
                "61-90": "0.00",
                "90+": "0.00",
                "total": "80.00",
                "invoices": 1,
            },
            # A's credit note (due 1 March, 15 days) takes 50 off 1-30; B2 is paid on the
            # 10th, B3 paid, B4 not issued yet, the draft and the void one never count
            {
                "currency": "USD",
                "current": "1100.00",
                "1-30": "270.00",
                "31-60": "400.00",
                "61-90": "500.00",
                "90+": "600.00",
                "total": "2870.00",
                "invoices": 8,
            },
        ],
        "customers": [
            # A: due 20 March is current; 1 March (15 days) and 14 Feb (30 days, 120 left)
            # are 1-30, less the credit note; 15 Jan 31-60; 16 Dec 90 days; 15 Dec 91
            {
                "customer_id": "A",
                "name": "Alder Ltd",
                "currency": "USD",
                "current": "100.00",
                "1-30": "270.00",
                "31-60": "400.00",
                "61-90": "500.00",
                "90+": "600.00",
                "total": "1870.00",
            },
            {
                "customer_id": "B",
                "name": "Birch Ltd",
                "currency": "USD",
                "current": "1000.00",
                "1-30": "0.00",
                "31-60": "0.00",
                "61-90": "0.00",
                "90+": "0.00",
                "total": "1000.00",
            },
            {
                "customer_id": "A",
                "name": "Alder Ltd",
                "currency": "EUR",
                "current": "0.00",
                "1-30": "80.00",
                "31-60": "0.00",
                "61-90": "0.00",
                "90+": "0.00",
                "total": "80.00",
            },
        ],
    }


def test_aging_reads_the_same_from_objects_as_from_the_frame(tmp_path):
    from arflow.config import load_config
    from arflow.ledger import Ledger
    from arflow.sources import load_ledger

    config = load_config(folder(tmp_path))
    ledger = load_ledger(config)  # a frame: objects are made for the rows asked for
    day = date(2026, 3, 16)
    loaded = load_ledger(config)
    objects = Ledger(loaded.invoices, loaded.customers, [])
    assert (
        [i.number for i in objects.owing(day)]
        == [i.number for i in ledger.owing(day)]
        == ["A1", "A2", "A3", "A4", "A5", "A6", "CN", "E1", "B1"]
    )  # no draft, void or paid one
    assert (
        [i.number for i in objects.credit_notes(day)]
        == [i.number for i in ledger.credit_notes(day)]
        == ["CN"]
    )
    assert ledger.credit_notes(date(2026, 2, 28)) == []  # not issued yet


def test_aging_is_a_replay_for_any_past_day(cli, tmp_path):
    config = folder(tmp_path)
    doc = json.loads(
        cli("aging", "--as-of", "2026-03-09", "--format", "json", "--config", config).stdout
    )
    # on the 9th B2 was not paid yet (36 days late), B1 not due
    birch = next(c for c in doc["customers"] if c["customer_id"] == "B")
    assert (birch["current"], birch["31-60"], birch["total"]) == ("1000.00", "999.00", "1999.00")


def test_aging_csv_is_for_a_spreadsheet(cli, tmp_path):
    config = folder(tmp_path)
    (tmp_path / "invoices.csv").write_text(INVOICES.replace("B,Birch Ltd", 'B,=HYPERLINK("x")'))
    out = cli("aging", "--as-of", AS_OF, "--format", "csv", "--config", config).stdout
    assert list(csv.reader(io.StringIO(out))) == [
        ["customer_id", "name", "currency", "current", "1-30", "31-60", "61-90", "90+", "total"],
        ["A", "Alder Ltd", "USD", "100.00", "270.00", "400.00", "500.00", "600.00", "1870.00"],
        ["B", '\'=HYPERLINK("x")', "USD", "1000.00", "0.00", "0.00", "0.00", "0.00", "1000.00"],
        ["A", "Alder Ltd", "EUR", "0.00", "80.00", "0.00", "0.00", "0.00", "80.00"],
    ]


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
        "Alder Ltd",
        "$100.00",
        "$270.00",
        "$400.00",
        "$500.00",
        "$600.00",
        "$1,870.00",
        "████████████",
    ]  # the largest account: the whole bar
    birch = next(line for line in lines if "Birch Ltd" in line)
    assert birch.split("│")[-2].strip() == "██████"  # 1000 of 1870: about half
    assert any("Total USD (8 invoices)" in line and "$2,870.00" in line for line in lines)


def test_aging_of_the_real_ledger_on_a_past_day(cli, tmp_path):
    """The real AR ledger as of 30 June 2013, against a count made here with the csv module."""
    config = ibm_folder(tmp_path)
    day = date(2013, 6, 30)
    doc = json.loads(
        cli("aging", "--as-of", day.isoformat(), "--format", "json", "--config", config).stdout
    )
    expected: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    count = 0
    with DATA.open(newline="") as handle:
        for row in csv.DictReader(handle):
            issued, due, settled = (
                datetime.strptime(row[k], "%m/%d/%Y").date()
                for k in ("InvoiceDate", "DueDate", "SettledDate")
            )
            if issued > day or settled <= day:
                continue
            late = (day - due).days
            bucket = (
                "current"
                if late <= 0
                else "1-30"
                if late <= 30
                else "31-60"
                if late <= 60
                else "61-90"
                if late <= 90
                else "90+"
            )
            expected[row["customerID"]][bucket] += Decimal(row["InvoiceAmount"])
            count += 1
    (usd,) = doc["currencies"]
    assert usd["invoices"] == count == 84
    assert (usd["current"], usd["1-30"], usd["31-60"], usd["total"]) == (
        "4284.29",
        "835.56",
        "0.00",
        "5119.85",
    )
    assert {
        c["customer_id"]: {b: Decimal(c[b]) for b in doc["buckets"] if Decimal(c[b])}
        for c in doc["customers"]
    } == {cid: dict(b) for cid, b in expected.items()}
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
    rows = json.loads(
        cli("history", "--customer", "C005", "--format", "json", "--config", config).stdout
    )["actions"]
    assert [
        (r["as_of"], r["step"], r["kind"], r["subject"], r["description"])
        for r in rows
        if r["workflow"] == "ar-workflow"
    ] == [
        ("2026-03-16", "kickoff", "assign", None, "specialist: dana"),
        (
            "2026-03-16",
            "kickoff",
            "note",
            None,
            "Litware Labs entered the AR Workflow with 2 open invoices; check the billing contact.",
        ),
        ("2026-03-16", "kickoff", "email", "Reminder: 2 invoices past due ($1,550.00)", None),
        ("2026-03-23", "call", "task", None, "task: Call Litware Labs about $1,550.00 overdue"),
        ("2026-03-23", "call", "status", None, "status: Contacted"),
        ("2026-03-23", "text", "sms", None, None),
    ]  # superseded by the call (catch_up: latest)
    table = cli("history", "--customer", "C005", "--config", config).stdout
    assert "task: Call Litware Labs about $1,550.00 overdue" in table
    assert "status: Contacted" in table


# --- simulate ---------------------------------------------------------------------------------
CHASE = """\
name: Chase
steps:
  - id: d1
    day: 1
    actions:
      - email: reminder
  - id: d10
    day: 10
    actions:
      - email: reminder
"""
HISTORY = """\
number,customer_id,email,issue_date,due_date,amount,paid_date
I1,C1,c1@x.example,2026-01-01,2026-01-31,100.00,2026-02-03
I2,C2,c2@x.example,2026-01-01,2026-01-31,200.00,2026-02-15
I3,C3,c3@x.example,2026-01-06,2026-02-05,300.00,
I4,C4,c4@x.example,2026-01-06,2026-02-05,400.00,2026-03-20
"""


WEEKLY = """\
schedule: {every: week, weekday: fri}
match: {customer: [C2]}
actions:
  - email: reminder
"""


def test_simulate_reports_each_step_and_how_soon_it_was_paid(cli, tmp_path):
    config = make_folder(
        tmp_path,
        invoices=HISTORY,
        workflows={"chase": CHASE, "weekly": WEEKLY},
        config=BASE_CONFIG + "default_workflow: chase\n",
    )
    # a state with history is not used: a simulation starts from an empty one
    cli("run", "--as-of", "2026-02-01", "--config", config)
    doc = json.loads(
        cli(
            "simulate",
            "--from",
            "2026-01-25",
            "--to",
            "2026-02-28",
            "--format",
            "json",
            "--config",
            config,
        ).stdout
    )
    assert doc["steps"] == [
        # d1 reached I1 and I2 on 1 Feb (paid 2 and 14 days later), I3 and I4 on 6 Feb
        # (I4 is paid in March, after the end: unpaid)
        {
            "workflow": "chase",
            "step": "d1",
            "actions": 4,
            "invoices": 4,
            "paid_7": 1,
            "paid_14": 2,
            "paid_30": 2,
            "median_days_to_pay": 8.0,
            "unpaid": 2,
            "fees": {},
        },
        # d10: I2 on 10 Feb (paid 5 days later), I3 and I4 on 15 Feb
        {
            "workflow": "chase",
            "step": "d10",
            "actions": 3,
            "invoices": 3,
            "paid_7": 1,
            "paid_14": 1,
            "paid_30": 1,
            "median_days_to_pay": 5.0,
            "unpaid": 2,
            "fees": {},
        },
        # the campaign reached I2 first on the 25th (Friday the 23rd's, two days late: paid
        # 21 days later), then on 30 Jan, 6 and 13 Feb: counted from the first day
        {
            "workflow": "weekly",
            "step": "statement",
            "actions": 4,
            "invoices": 1,
            "paid_7": 0,
            "paid_14": 0,
            "paid_30": 1,
            "median_days_to_pay": 21.0,
            "unpaid": 0,
            "fees": {},
        },
    ]
    busy = {d["date"]: d["actions"] for d in doc["days"] if d["actions"]}
    assert busy == {
        "2026-01-25": 1,
        "2026-01-30": 1,
        "2026-02-01": 2,
        "2026-02-06": 3,
        "2026-02-10": 1,
        "2026-02-13": 1,
        "2026-02-15": 2,
    }
    assert (doc["from"], doc["to"], len(doc["days"])) == ("2026-01-25", "2026-02-28", 35)
    table = cli("simulate", "--from", "2026-01-25", "--to", "2026-02-28", "--config", config).stdout
    assert "chase\td1\t4\t4\t1\t2\t2\t8\t2" in table
    assert "day\t2026-02-01\t2" in table


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ("simulate", "--from", "2026-03-01", "--to", "2026-02-01"),
            "--to 2026-02-01 is before --from 2026-03-01: give the first day, then the last",
        ),
        (
            ("simulate", "--from", "2000-01-01", "--to", "2026-02-01"),
            "9529 days from 2000-01-01 to 2026-02-01 is more than 3660; replay ten years at most",
        ),
        (("forecast", "--days", "0"), "--days 0: give 1 to 3660"),
        (("forecast", "--days", "-3"), "--days -3: give 1 to 3660"),
        (("forecast", "--days", "3661"), "--days 3661: give 1 to 3660"),
    ],
)
def test_days_out_of_range_or_in_the_wrong_order_are_usage_errors(cli, tmp_path, args, message):
    """A usage error (exit 2), as any value a person typed that makes no sense: nothing was
    read wrong, the command was asked wrong."""
    config = make_folder(
        tmp_path,
        invoices=HISTORY,
        workflows={"chase": CHASE},
        config=BASE_CONFIG + "default_workflow: chase\n",
    )
    result = cli(*args, "--config", config, expect=2)
    assert result.stderr.strip() == f"error: {message} (2030-01-15T12:00:00Z)"
    assert result.stdout == ""


def test_the_sparkline_shows_the_busiest_day_of_each_mark():
    from arflow.charts import sparkline

    assert sparkline([0, 1, 2, 4, 8], 10) == " ▁▂▄█"
    assert sparkline([0, 8, 0, 0, 4, 0], 3) == "█ ▄"
    assert sparkline([0, 0], 5) == "  "


# --- forecast ---------------------------------------------------------------------------------
def test_forecast_is_what_real_runs_on_a_copy_send_day_by_day(cli, tmp_path):
    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "a", date(2026, 3, 16))
    config = tmp_path / "a" / "arflow.yaml"
    cli("assign", "C005", "--workflow", "ar-workflow", "--date", "2026-03-20", "--config", config)
    for day in ("2026-03-16", "2026-03-26"):  # a state with history
        cli("run", "--as-of", day, "--config", config)
    cli(
        "pause",
        "invoice",
        "INV-1008",
        "--as-of",
        "2026-03-26",
        "--until",
        "2026-04-02",
        "--config",
        config,
    )
    # reminded on the 16th, paid since the last run: its on_paid is the forecast's first
    invoices = tmp_path / "a" / "invoices.csv"
    rows = invoices.read_text().splitlines()
    rows = [row.replace(",open,", ",paid,") if row.startswith("INV-1002,") else row for row in rows]
    invoices.write_text("\n".join(rows) + "\n")
    before = (tmp_path / "a" / "arflow.db").read_bytes()
    doc = json.loads(
        cli(
            "forecast",
            "--days",
            "14",
            "--as-of",
            "2026-03-27",
            "--format",
            "json",
            "--config",
            config,
        ).stdout
    )
    assert (tmp_path / "a" / "arflow.db").read_bytes() == before  # read, never written
    assert (doc["from"], doc["to"]) == ("2026-03-27", "2026-04-09")
    forecast = {d["date"]: [_shape(a) for a in d["actions"]] for d in doc["days"]}
    assert all(a["status"] == "planned" for d in doc["days"] for a in d["actions"])

    shutil.copytree(tmp_path / "a", tmp_path / "b")
    copy = tmp_path / "b" / "arflow.yaml"
    real = {}
    for day in forecast:
        run = json.loads(cli("run", "--as-of", day, "--format", "json", "--config", copy).stdout)
        real[day] = [_shape(a) for a in run["actions"]]
    assert forecast == real
    kinds = {(a[1], a[2]) for actions in real.values() for a in actions}
    # the assigned sequence, a chain, the statement campaign and a payment all show
    assert {
        ("ar-workflow", "call"),
        ("late-fee-warning", "warning"),
        ("monthly-statement", "2026-04-06"),
    } <= kinds
    assert ("C002", "net30-standard", "on_paid", "notify") in [a[:4] for a in real["2026-03-27"]]
    assert sum(len(a) for a in forecast.values()) >= 10


def _forecast_lines(cli, config, as_of: str, days: int) -> list[str]:
    doc = json.loads(
        cli(
            "forecast", "--days", days, "--as-of", as_of, "--format", "json", "--config", config
        ).stdout
    )
    return [
        f"{d['date']} {a['customer_id']} {a['workflow']} {a['step']} {a['action']} "
        + ",".join(a["to"])
        for d in doc["days"]
        for a in d["actions"]
    ]


def test_the_forecast_keeps_the_inbox_rules_a_run_keeps(cli, tmp_path, clock):
    """A state where C001's only address bounced, and `contact_gap: 7`: the forecast sends
    C001 no email (its SMS goes), tells the controller of the bounce, and spaces contacts as
    runs do: C005's statement waits for the gap after its 31 March reminder, C002's second
    overdue-30 email (another invoice, due a day later) for the gap after the first."""
    from arflow.scaffold import write_scaffold
    from tests import inbox_mail as mail
    from tests.test_inbox import Shop, with_inbox

    clock("2026-03-17T17:00:00")
    shops = {}
    for rules in (True, False):
        write_scaffold(tmp_path / str(rules), date(2026, 3, 16))
        shop = shops[rules] = Shop(tmp_path / str(rules))
        with_inbox(shop.config, "{transport: maildir, dir: mail}")
        if rules:
            shop.config.write_text(shop.config.read_text() + "contact_gap: 7\n")
        cli("run", "--as-of", "2026-03-16", "--config", shop.config)
        if rules:
            shop.deliver(mail.bounce(shop.sent()["C001"], "ap@northwind.example"))
        cli("inbox", "--config", shop.config)
    ours = _forecast_lines(cli, shops[True].config, "2026-03-17", 30)
    assert ours == [
        "2026-03-17 C001 inbox bounce-1 notify controller@acme.example",
        "2026-03-26 C001 net30-standard reminder sms +12025550111",
        "2026-03-31 C003 past-due-15-30-45 past-due-45 email accounts@contoso.example",
        "2026-03-31 C003 past-due-15-30-45 past-due-45 notify controller@acme.example",
        "2026-03-31 C005 past-due-15-30-45 past-due-30 email payables@litware.example",
        "2026-04-06 C007 monthly-statement 2026-04-06 email treasury@contoso-group.example",
        "2026-04-06 C007 monthly-statement 2026-04-06 notify controller@acme.example",
        "2026-04-07 C002 net30-standard overdue-30 email "
        "billing@blueharbor.example,owner@blueharbor.example",
        "2026-04-07 C002 net30-standard overdue-30 status ",
        "2026-04-07 C002 net30-standard overdue-30 task dana@acme.example",
        "2026-04-07 C005 monthly-statement 2026-04-06 email payables@litware.example",
        "2026-04-07 C005 monthly-statement 2026-04-06 notify controller@acme.example",
        "2026-04-08 C002 net30-standard overdue-30 status ",
        "2026-04-08 C002 net30-standard overdue-30 task dana@acme.example",
        "2026-04-14 C002 net30-standard overdue-30 email "
        "billing@blueharbor.example,owner@blueharbor.example",
        "2026-04-15 C005 past-due-15-30-45 past-due-45 email payables@litware.example",
        "2026-04-15 C005 past-due-15-30-45 past-due-45 notify controller@acme.example",
    ]
    # without the bounce and the gap, the same days as a plain forecast has them
    plain = _forecast_lines(cli, shops[False].config, "2026-03-17", 30)
    assert sorted(set(plain) - set(ours)) == [
        "2026-03-26 C001 net30-standard reminder email ap@northwind.example",
        "2026-04-06 C005 monthly-statement 2026-04-06 email payables@litware.example",
        "2026-04-06 C005 monthly-statement 2026-04-06 notify controller@acme.example",
        "2026-04-08 C002 net30-standard overdue-30 email "
        "billing@blueharbor.example,owner@blueharbor.example",
    ]
    # and real runs on a copy, night after night, do what the forecast said
    shutil.copytree(shops[True].folder, tmp_path / "copy")
    copy = tmp_path / "copy" / "arflow.yaml"
    real = []
    for day in sorted({line.split()[0] for line in ours} | {"2026-04-09", "2026-04-13"}):
        clock(f"{day}T17:00:00")
        run = json.loads(cli("run", "--as-of", day, "--format", "json", "--config", copy).stdout)
        real += [
            f"{day} {a['customer_id']} {a['workflow']} {a['step']} {a['action']} "
            + ",".join(a["to"])
            for a in run["actions"]
        ]
    assert real == ours


def _shape(action: dict) -> tuple:
    return (
        action["customer_id"],
        action["workflow"],
        action["step"],
        action["action"],
        tuple(action["invoices"]),
        tuple(action["to"]),
        action["subject"],
    )


def test_the_forecast_table_counts_per_day_workflow_and_step(cli, tmp_path):
    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "a", date(2026, 3, 16))
    config = tmp_path / "a" / "arflow.yaml"
    out = cli("forecast", "--days", "2", "--as-of", "2026-03-16", "--config", config).stdout
    # piped: a header line, every row with its date, a day with nothing, then the totals (the
    # customers reached counted once, the amounts chased added up)
    assert out.splitlines() == [
        "# date\tworkflow\tstep\tactions\tcustomers\tchased",
        "2026-03-16\tnet30-standard\tcourtesy\t1\t1\t$1,250.00",
        "2026-03-16\tnet30-standard\treminder\t2\t1\t$605.50",
        "2026-03-16\tpast-due-15-30-45\tpast-due-30\t1\t1\t$1,200.00",
        "2026-03-16\thosting-overdue\toverdue\t3\t1\t$89.00",
        "2026-03-16\tpast-due-15-30-45\tpast-due-15\t1\t1\t$640.00",
        "2026-03-16\tpast-due-15-30-45\tpast-due-45\t2\t1\t$910.00",
        "2026-03-16\tnet30-standard\tfinal-notice\t2\t1\t$2,150.00",
        "2026-03-17\t—\t\t\t\t",
        "total\t\t\t12\t6\t$6,844.50",
    ]


# --- preview ----------------------------------------------------------------------------------
def test_preview_shows_every_part_a_step_sends_for_a_real_customer(cli, tmp_path, monkeypatch):
    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "a", date(2026, 3, 16))
    config = tmp_path / "a" / "arflow.yaml"
    page = tmp_path / "email.html"
    out = cli(
        "preview",
        "net30-standard",
        "reminder",
        "--customer",
        "C002",
        "--as-of",
        "2026-03-16",
        "--html",
        page,
        "--config",
        config,
    ).stdout
    lines = out.splitlines()
    assert lines[0].startswith("email 1 of 2 · net30-standard › reminder ─")
    assert lines[1:4] == [
        "To: billing@blueharbor.example, owner@blueharbor.example",
        "Subject: Reminder: 2 invoices past due ($605.50)",
        "",
    ]
    assert "Dear Blue Harbor Cafe," in lines
    sms = lines.index(next(line for line in lines if line.startswith("sms 2 of 2")))
    assert lines[sms + 1 : sms + 4] == [
        "To: +12025550122",
        "",
        "Acme Supplies Ltd: 2 invoices past due, $605.50 in total. Pay at "
        "https://pay.acme.example/C002 or call +1 202 555 0100.",
    ]
    assert lines[-1] == f"HTML part written to {page}"
    assert "<p>Dear Blue Harbor Cafe,</p>" in page.read_text()
    # the same composing code as a run: the dry run's subject for that action is the same
    doc = json.loads(
        cli(
            "run", "--dry-run", "--format", "json", "--as-of", "2026-03-16", "--config", config
        ).stdout
    )
    assert {(a["customer_id"], a["step"], a["action"]): a["subject"] for a in doc["actions"]}[
        ("C002", "reminder", "email")
    ] == "Reminder: 2 invoices past due ($605.50)"
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where --open writes its page
    cli(
        "preview",
        "net30-standard",
        "reminder",
        "--customer",
        "C002",
        "--as-of",
        "2026-03-16",
        "--open",
        "--config",
        config,
    )
    (written,) = tmp_path.glob("arflow-preview-*.html")
    assert opened == [written.as_uri()]
    assert "<p>Dear Blue Harbor Cafe,</p>" in written.read_text()


def test_preview_of_notices_tasks_and_a_sample_customer(cli, tmp_path):
    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "a", date(2026, 3, 16))
    config = tmp_path / "a" / "arflow.yaml"
    out = cli(
        "preview", "net30-standard", "overdue-30", "--as-of", "2026-03-16", "--config", config
    ).stdout
    assert "To: ap@customer.example   Cc: controller@acme.example" in out
    # the sample invoices are both as late as the step's day
    assert "Subject: Past due: invoices INV-1001, INV-1002 — 30 days past due\n" in out
    assert "In collections\n" in out
    assert "Call Sample Customer Ltd about 2 overdue invoices  (for dana, due 2026-03-18)" in out
    out = cli(
        "preview",
        "net30-standard",
        "final-notice",
        "--customer",
        "C006",
        "--as-of",
        "2026-03-16",
        "--config",
        config,
    ).stdout
    assert "notify 2 of 2 · net30-standard › final-notice" in out
    assert "To: controller@acme.example" in out and "Hi Chris Doe," in out


def test_preview_as_json_gives_each_part_of_each_message(cli, tmp_path):
    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "a", date(2026, 3, 16))
    config = tmp_path / "a" / "arflow.yaml"
    args = ["--as-of", "2026-03-16", "--format", "json", "--config", config]
    doc = json.loads(
        cli("preview", "net30-standard", "reminder", "--customer", "C002", *args).stdout
    )
    assert (doc["notes"], doc["errors"]) == ([], [])
    email, sms = doc["actions"]
    assert {k: email[k] for k in ("kind", "customer_id", "date", "to", "cc", "subject")} == {
        "kind": "email",
        "customer_id": "C002",
        "date": "2026-03-16",
        "to": ["billing@blueharbor.example", "owner@blueharbor.example"],
        "cc": [],
        "subject": "Reminder: 2 invoices past due ($605.50)",
    }
    assert "Dear Blue Harbor Cafe," in email["text"]
    assert "<p>Dear Blue Harbor Cafe,</p>" in email["html"]
    assert (sms["kind"], sms["to"], sms["subject"], sms["html"]) == (
        "sms",
        ["+12025550122"],
        None,
        None,
    )
    assert sms["body"] == (
        "Acme Supplies Ltd: 2 invoices past due, $605.50 in total. Pay at "
        "https://pay.acme.example/C002 or call +1 202 555 0100."
    )
    sample = json.loads(cli("preview", "net30-standard", "overdue-30", *args).stdout)
    status, task = (a for a in sample["actions"] if a["kind"] in ("status", "task"))
    assert status["text"] == "In collections"
    assert (task["text"], task["assignee"], task["due"]) == (
        "Call Sample Customer Ltd about 2 overdue invoices",
        "dana",
        "2026-03-18",
    )
    # the HTML is in the document: --html and --open are for the table
    cli("preview", "net30-standard", "reminder", "--html", tmp_path / "p.html", *args, expect=2)
    assert not (tmp_path / "p.html").exists()
    # a step that does not exist: the error object, exit 2
    refused = cli("preview", "net30-standard", "no-such-step", *args, expect=2)
    assert json.loads(refused.stdout)["error"]["exit_code"] == 2


def test_preview_of_a_campaign_is_its_next_statement(cli, tmp_path):
    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "a", date(2026, 3, 16))
    config = tmp_path / "a" / "arflow.yaml"
    out = cli(
        "preview",
        "monthly-statement",
        "next",
        "--customer",
        "C007",
        "--as-of",
        "2026-03-16",
        "--config",
        config,
    ).stdout
    assert "email 1 of 2 · monthly-statement › 2026-04-06" in out
    assert "To: treasury@contoso-group.example   Cc: dana@acme.example" in out
    assert "[attached: statement.csv, 169 bytes]" in out
    assert "  consolidated_overdue >= 500 (USD 1200.00)" in out
    result = cli("preview", "monthly-statement", "2026-04-06", "--config", config, expect=2)
    assert result.stderr.strip() == (
        "error: monthly-statement is a campaign: its STEP is `next` (its next statement) (2030-01-15T12:00:00Z)"
    )
    result = cli(
        "preview",
        "monthly-statement",
        "next",
        "--customer",
        "C001",
        "--as-of",
        "2026-03-16",
        "--config",
        config,
        expect=2,
    )
    assert result.stderr.strip() == (
        "error: customer C001 gets no statement from monthly-statement on 2026-04-06: it does "
        "not fit the campaign's match: (2030-01-15T12:00:00Z)"
    )
    result = cli(
        "preview",
        "past-due-15-30-45",
        "past-due-15",
        "--customer",
        "C001",
        "--as-of",
        "2026-03-16",
        "--config",
        config,
        expect=2,
    )
    assert result.stderr.strip() == (  # its one open invoice is the Branch's, not HQ's
        "error: customer C001 has no open invoice that fits its match: on 2026-03-16 for "
        "workflow past-due-15-30-45; preview it without --customer to see a sample"
        " (2030-01-15T12:00:00Z)"
    )
    result = cli("preview", "net30-standard", "day9", "--config", config, expect=2)
    assert result.stderr.strip() == (
        "error: workflow net30-standard has no step 'day9' (steps: courtesy, reminder, "
        "overdue-30, final-notice, on_paid)"
        " (2030-01-15T12:00:00Z)"
    )


def test_a_window_of_the_ledger_keeps_what_runs_in_it_can_see(tmp_path):
    from arflow.config import load_config
    from arflow.ledger import Ledger
    from arflow.sources import load_ledger

    config = load_config(folder(tmp_path))
    ledger = load_ledger(config)  # a frame
    loaded = load_ledger(config)
    first, last = date(2026, 3, 10), date(2026, 3, 16)
    # B2 is paid on the 10th and B3 is paid: out, unless the state chased them; B4 is issued
    # after the window
    for source in (ledger, Ledger(loaded.invoices, loaded.customers, [])):
        window = source.window(first, last, {"B2"})  # B2 was chased, and paid on the 10th
        assert sorted(i.number for i in window.invoices) == [
            "A1",
            "A2",
            "A3",
            "A4",
            "A5",
            "A6",
            "B1",
            "B2",
            "CN",
            "D1",
            "D2",
            "E1",
        ]
        assert window.customer_ids() == {"A", "B", "D", "P"}  # the whole ledger's
        for day in (first, last):
            assert [i.number for i in window.current(day, Decimal("0.01"))] == [
                i.number for i in ledger.current(day, Decimal("0.01"))
            ]


def test_a_terminal_too_narrow_for_the_aging_table_gets_a_block_per_account(tmp_path):
    from arflow.config import load_config
    from arflow.sources import load_ledger

    ledger = load_ledger(load_config(folder(tmp_path)))
    report = aging_report(ledger.owing(date(2026, 3, 16)), ledger.customers, date(2026, 3, 16))
    console = Console(record=True, width=60, color_system=None)
    print_aging(console, report, "en_US", plain=False)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 60
    text = "\n".join(lines)
    assert lines[1:4] == [
        "Alder Ltd",
        "  current $100.00 · 1–30 $270.00 · 31–60 $400.00",
        "  61–90 $500.00 · 90+ $600.00 · Total $1,870.00",
    ]
    for label, amount in (("61–90", "$500.00"), ("Total", "$1,870.00"), ("1–30", "€80.00")):
        assert f"{label} {amount}" in text


def test_at_the_narrowest_table_width_amounts_keep_their_room(tmp_path):
    from arflow.config import load_config
    from arflow.sources import load_ledger

    ledger = load_ledger(load_config(folder(tmp_path)))
    report = aging_report(ledger.owing(date(2026, 3, 16)), ledger.customers, date(2026, 3, 16))
    for width in range(60, 90):
        console = Console(record=True, width=width, color_system=None)
        print_aging(console, report, "en_US", plain=False)
        text = console.export_text()
        assert "…" not in text, width
        assert max(len(line) for line in text.splitlines()) <= width
        assert "$1,870.00" in text and "$2,870.00" in text
