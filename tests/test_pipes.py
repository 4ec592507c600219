"""Reports in a pipe and in a spreadsheet (issue 29): piped through `cat`, every report prints a
header line (`# ` and the column names, tab-separated), its rows and its totals; `--format csv`
on every listing writes a header row and a spreadsheet's rows (ISO dates, plain amounts with
their currency in a column of their own, no totals row).

All on the bundled example after three real nights, a pause, a promise and a task (made once
for the module); the expected lines were read and checked by hand against the example's
invoices (C001 $1,250.00 promised, C002 $605.50 with its call task, C003 paused, ...)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest

from arflow.commands import common
from tests.conftest import NOW, example_after_nights, make_folder


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> str:
    with pytest.MonkeyPatch.context() as mp:
        moment = datetime.fromisoformat(NOW)
        mp.setattr(common, "now", lambda: moment)
        return str(example_after_nights(tmp_path_factory.mktemp("pipes") / "ar"))


ARGS = {
    "status": ["status", "--as-of", "2026-04-07"],
    "tasks": ["tasks", "--all"],
    "customers": ["customers", "--as-of", "2026-04-07"],
    "workflows": ["workflows"],
    "aging": ["aging", "--as-of", "2026-04-07"],
    "forecast": ["forecast", "--days", "3", "--as-of", "2026-04-08"],
    "simulate": ["simulate", "--from", "2026-03-01", "--to", "2026-04-30"],
}
PIPED = {
    "status": [
        "# customer\tname\tworkflow\tlast_step\tnext_step\topen\toverdue\tstatus\tspecialist\tholds",
        "C001\tNorthwind Traders\tnet30-standard\treminder (2026-03-26)\toverdue-30 (2026-04-21)\t$1,250.00\t$1,250.00\t—\tdana\tpromise INV-1001 by 2026-04-20: pending",
        "C002\tBlue Harbor Cafe\tnet30-standard\toverdue-30 (2026-04-07)\toverdue-30 (2026-04-08)\t$605.50\t$605.50\tIn collections\tdana\t—",
        "C003\tContoso Builders\tpast-due-15-30-45 (match)\tpast-due-45 (2026-04-07)\tfinished\t$1,200.00\t$1,200.00\t—\tdana\tpaused to 2026-04-30 (disputed)",
        "C003\tContoso Builders\tmonthly-statement (campaign)\t—\t2026-05-04\t$1,200.00\t$1,200.00\t—\tdana\tpaused to 2026-04-30 (disputed)",
        "C004\tFabrikam Hosting Co\thosting-overdue (match)\toverdue (2026-03-16)\tfinished\t$89.00\t$89.00\tOverdue\tdana\t—",
        "C005\tLitware Labs\tpast-due-15-30-45 (match)\tpast-due-30 (2026-04-07)\tpast-due-45 (2026-04-15)\t$1,550.00\t$1,550.00\t—\tdana\t—",
        "C005\tLitware Labs\tmonthly-statement (campaign)\t2026-04-06 (2026-04-07)\t2026-05-04\t$1,550.00\t$1,550.00\t—\tdana\t—",
        "C006\tTailspin Toys\tnet30-standard\tfinal-notice (2026-03-16)\tfinished\t$2,150.00\t$2,150.00\t—\tdana\t—",
        "total\t6 customer(s)\t\t\t\t$6,844.50\t$6,844.50\t\t\t",
    ],
    "tasks": [
        "# id\tdue\tcustomer\tkind\ttitle\tassignee\tinvoices\tstate",
        "1\t2026-04-09\tC002\tcall\tCall Blue Harbor Cafe about 1 overdue invoice\tdana\tINV-1003\tlate",
        "total\t\t\t\t1 task(s)\t\t\tlate 1",
    ],
    "customers": [
        "# customer\tname\temail\tphone\topen_invoices\towed\tmissing",
        "C001\tNorthwind Traders\tap@northwind.example\t+12025550111\t1\t$1,250.00\t—",
        "C002\tBlue Harbor Cafe\tbilling@blueharbor.example, owner@blueharbor.example\t+12025550122\t2\t$605.50\t—",
        "C003\tContoso Builders\taccounts@contoso.example\t—\t1\t$1,200.00\tno phone, paused",
        "C004\tFabrikam Hosting Co\tfinance@fabrikam.example\t+12025550144\t1\t$89.00\t—",
        "C005\tLitware Labs\tpayables@litware.example\t—\t2\t$1,550.00\tno phone",
        "C006\tTailspin Toys\tap@tailspin.example\t+12025550166\t1\t$2,150.00\t—",
        "C007\tContoso Group\ttreasury@contoso-group.example\t—\t0\t—\tno phone",
        "total\t7 customer(s)\t\t\t8\t$6,844.50\t3 missing something",
    ],
    "workflows": [
        "# id\tname\tenabled\tanchor\tsteps\tthen\tassigned\tcustomers",
        "ar-workflow\tAR Workflow\tyes\tassigned\t4\tlate-fee-warning\t0\t",
        "hosting-overdue\tHosting overdue trigger\tyes\tdue_date\t1\t—\t0\t",
        "late-fee-warning\tOverdue - late fees added\tyes\tassigned\t3\t—\t0\t",
        "monthly-statement\tMonthly statement\tyes\tcampaign: first Monday of each month\t2\t—\t0\t",
        "net30-standard\tNet 30 standard\tyes\tdue_date\t4\t—\t0\t",
        "past-due-15-30-45\tPast due 15/30/45 (HQ billing location)\tyes\tdue_date\t3\t—\t0\t",
        "payment-plan\tPayment plan\tyes\tdue_date\t3\t—\t0\t",
        "total\t7 workflow(s)\t7 yes\t\t20\t\t0\t",
    ],
    "aging": [
        "# customer\tname\tcurrency\tcurrent\t1-30\t31-60\t61-90\t90+\ttotal",
        "C006\tTailspin Toys\tUSD\t0.00\t0.00\t0.00\t2150.00\t0.00\t2150.00",
        "C005\tLitware Labs\tUSD\t0.00\t0.00\t640.00\t910.00\t0.00\t1550.00",
        "C001\tNorthwind Traders\tUSD\t0.00\t1250.00\t0.00\t0.00\t0.00\t1250.00",
        "C003\tContoso Builders\tUSD\t0.00\t0.00\t1200.00\t0.00\t0.00\t1200.00",
        "C002\tBlue Harbor Cafe\tUSD\t0.00\t605.50\t0.00\t0.00\t0.00\t605.50",
        "C004\tFabrikam Hosting Co\tUSD\t0.00\t89.00\t0.00\t0.00\t0.00\t89.00",
        "total\t8 invoice(s)\tUSD\t0.00\t1944.50\t1840.00\t3060.00\t0.00\t6844.50",
    ],
    "forecast": [
        "# date\tworkflow\tstep\tactions\tcustomers\tchased",
        "2026-04-08\tnet30-standard\toverdue-30\t3\t1\t$480.00",
        "2026-04-09\t—\t\t\t\t",
        "2026-04-10\t—\t\t\t\t",
        "total\t\t\t3\t1\t$480.00",
    ],
    "simulate": [
        "# workflow\tstep\tactions\tinvoices\tpaid_7d\tpaid_14d\tpaid_30d\tmedian_days\tunpaid",
        "hosting-overdue\toverdue\t3\t1\t0\t0\t0\t—\t1",
        "monthly-statement\tstatement\t8\t3\t0\t0\t0\t—\t3",
        "net30-standard\tcourtesy\t3\t3\t0\t0\t0\t—\t3",
        "net30-standard\treminder\t6\t3\t0\t0\t0\t—\t3",
        "net30-standard\toverdue-30\t12\t4\t0\t0\t0\t—\t4",
        "net30-standard\tfinal-notice\t2\t1\t0\t0\t0\t—\t1",
        "past-due-15-30-45\tpast-due-15\t2\t2\t0\t0\t0\t—\t2",
        "past-due-15-30-45\tpast-due-30\t3\t3\t0\t0\t0\t—\t3",
        "past-due-15-30-45\tpast-due-45\t6\t3\t0\t0\t0\t—\t3",
        "total\t\t45\t23\t0\t0\t0\t\t23",
        "# day\tdate\tactions",
        "day\t2026-03-01\t5",
        "day\t2026-03-02\t4",
        "day\t2026-03-05\t1",
        "day\t2026-03-06\t1",
        "day\t2026-03-11\t2",
        "day\t2026-03-15\t2",
        "day\t2026-03-16\t10",
        "day\t2026-03-26\t2",
        "day\t2026-03-31\t3",
        "day\t2026-04-06\t4",
        "day\t2026-04-07\t3",
        "day\t2026-04-08\t3",
        "day\t2026-04-15\t2",
        "day\t2026-04-18\t3",
        "total\t14 of 61 days\t45",
    ],
}
CSV = {
    "status": [
        [
            "customer_id",
            "name",
            "workflow",
            "source",
            "last_step",
            "last_date",
            "next_step",
            "next_date",
            "finished",
            "currency",
            "open",
            "overdue",
            "status",
            "specialist",
            "holds",
        ],
        [
            "C001",
            "Northwind Traders",
            "net30-standard",
            "default",
            "reminder",
            "2026-03-26",
            "overdue-30",
            "2026-04-21",
            "no",
            "USD",
            "1250.00",
            "1250.00",
            "",
            "dana",
            "promise INV-1001 by 2026-04-20: pending",
        ],
        [
            "C002",
            "Blue Harbor Cafe",
            "net30-standard",
            "default",
            "overdue-30",
            "2026-04-07",
            "overdue-30",
            "2026-04-08",
            "no",
            "USD",
            "605.50",
            "605.50",
            "In collections",
            "dana",
            "",
        ],
        [
            "C003",
            "Contoso Builders",
            "past-due-15-30-45",
            "match",
            "past-due-45",
            "2026-04-07",
            "",
            "",
            "yes",
            "USD",
            "1200.00",
            "1200.00",
            "",
            "dana",
            "paused to 2026-04-30 (disputed)",
        ],
        [
            "C003",
            "Contoso Builders",
            "monthly-statement",
            "campaign",
            "",
            "",
            "2026-05-04",
            "2026-05-04",
            "no",
            "USD",
            "1200.00",
            "1200.00",
            "",
            "dana",
            "paused to 2026-04-30 (disputed)",
        ],
        [
            "C004",
            "Fabrikam Hosting Co",
            "hosting-overdue",
            "match",
            "overdue",
            "2026-03-16",
            "",
            "",
            "yes",
            "USD",
            "89.00",
            "89.00",
            "Overdue",
            "dana",
            "",
        ],
        [
            "C005",
            "Litware Labs",
            "past-due-15-30-45",
            "match",
            "past-due-30",
            "2026-04-07",
            "past-due-45",
            "2026-04-15",
            "no",
            "USD",
            "1550.00",
            "1550.00",
            "",
            "dana",
            "",
        ],
        [
            "C005",
            "Litware Labs",
            "monthly-statement",
            "campaign",
            "2026-04-06",
            "2026-04-07",
            "2026-05-04",
            "2026-05-04",
            "no",
            "USD",
            "1550.00",
            "1550.00",
            "",
            "dana",
            "",
        ],
        [
            "C006",
            "Tailspin Toys",
            "net30-standard",
            "default",
            "final-notice",
            "2026-03-16",
            "",
            "",
            "yes",
            "USD",
            "2150.00",
            "2150.00",
            "",
            "dana",
            "",
        ],
    ],
    "tasks": [
        ["id", "due", "customer_id", "kind", "title", "assignee", "invoices", "state"],
        [
            "1",
            "2026-04-09",
            "C002",
            "call",
            "Call Blue Harbor Cafe about 1 overdue invoice",
            "dana",
            "INV-1003",
            "late",
        ],
    ],
    "customers": [
        ["customer_id", "name", "email", "phone", "open_invoices", "currency", "open", "missing"],
        [
            "C001",
            "Northwind Traders",
            "ap@northwind.example",
            "'+12025550111",
            "1",
            "USD",
            "1250.00",
            "",
        ],
        [
            "C002",
            "Blue Harbor Cafe",
            "billing@blueharbor.example, owner@blueharbor.example",
            "'+12025550122",
            "2",
            "USD",
            "605.50",
            "",
        ],
        [
            "C003",
            "Contoso Builders",
            "accounts@contoso.example",
            "",
            "1",
            "USD",
            "1200.00",
            "no phone, paused",
        ],
        [
            "C004",
            "Fabrikam Hosting Co",
            "finance@fabrikam.example",
            "'+12025550144",
            "1",
            "USD",
            "89.00",
            "",
        ],
        ["C005", "Litware Labs", "payables@litware.example", "", "2", "USD", "1550.00", "no phone"],
        [
            "C006",
            "Tailspin Toys",
            "ap@tailspin.example",
            "'+12025550166",
            "1",
            "USD",
            "2150.00",
            "",
        ],
        ["C007", "Contoso Group", "treasury@contoso-group.example", "", "0", "", "", "no phone"],
    ],
    "workflows": [
        ["id", "name", "enabled", "anchor", "schedule", "steps", "then", "assigned", "customers"],
        ["ar-workflow", "AR Workflow", "yes", "assigned", "", "4", "late-fee-warning", "0", ""],
        ["hosting-overdue", "Hosting overdue trigger", "yes", "due_date", "", "1", "", "0", ""],
        ["late-fee-warning", "Overdue - late fees added", "yes", "assigned", "", "3", "", "0", ""],
        [
            "monthly-statement",
            "Monthly statement",
            "yes",
            "campaign",
            "first Monday of each month",
            "2",
            "",
            "0",
            "",
        ],
        ["net30-standard", "Net 30 standard", "yes", "due_date", "", "4", "", "0", ""],
        [
            "past-due-15-30-45",
            "Past due 15/30/45 (HQ billing location)",
            "yes",
            "due_date",
            "",
            "3",
            "",
            "0",
            "",
        ],
        ["payment-plan", "Payment plan", "yes", "due_date", "", "3", "", "0", ""],
    ],
    "aging": [
        ["customer_id", "name", "currency", "current", "1-30", "31-60", "61-90", "90+", "total"],
        ["C006", "Tailspin Toys", "USD", "0.00", "0.00", "0.00", "2150.00", "0.00", "2150.00"],
        ["C005", "Litware Labs", "USD", "0.00", "0.00", "640.00", "910.00", "0.00", "1550.00"],
        ["C001", "Northwind Traders", "USD", "0.00", "1250.00", "0.00", "0.00", "0.00", "1250.00"],
        ["C003", "Contoso Builders", "USD", "0.00", "0.00", "1200.00", "0.00", "0.00", "1200.00"],
        ["C002", "Blue Harbor Cafe", "USD", "0.00", "605.50", "0.00", "0.00", "0.00", "605.50"],
        ["C004", "Fabrikam Hosting Co", "USD", "0.00", "89.00", "0.00", "0.00", "0.00", "89.00"],
    ],
    "forecast": [
        ["date", "workflow", "step", "actions", "customers", "currency", "chased"],
        ["2026-04-08", "net30-standard", "overdue-30", "3", "1", "USD", "480.00"],
    ],
    "simulate": [
        [
            "workflow",
            "step",
            "actions",
            "invoices",
            "paid_7d",
            "paid_14d",
            "paid_30d",
            "median_days",
            "unpaid",
        ],
        ["hosting-overdue", "overdue", "3", "1", "0", "0", "0", "", "1"],
        ["monthly-statement", "statement", "8", "3", "0", "0", "0", "", "3"],
        ["net30-standard", "courtesy", "3", "3", "0", "0", "0", "", "3"],
        ["net30-standard", "reminder", "6", "3", "0", "0", "0", "", "3"],
        ["net30-standard", "overdue-30", "12", "4", "0", "0", "0", "", "4"],
        ["net30-standard", "final-notice", "2", "1", "0", "0", "0", "", "1"],
        ["past-due-15-30-45", "past-due-15", "2", "2", "0", "0", "0", "", "2"],
        ["past-due-15-30-45", "past-due-30", "3", "3", "0", "0", "0", "", "3"],
        ["past-due-15-30-45", "past-due-45", "6", "3", "0", "0", "0", "", "3"],
    ],
}


@pytest.mark.parametrize("report", sorted(PIPED))
def test_a_piped_report_has_a_header_line_its_rows_and_its_totals(cli, example, report):
    out = cli(*ARGS[report], "--config", example).stdout
    assert out.splitlines() == PIPED[report]


def test_simulate_piped_lists_only_the_days_something_happens(cli, example):
    lines = cli(*ARGS["simulate"], "--config", example).stdout.splitlines()
    days = lines[lines.index("# day\tdate\tactions") + 1 : -1]
    assert len(days) == 14 and all(int(line.split("\t")[2]) > 0 for line in days)
    assert lines[-1] == "total\t14 of 61 days\t45"  # 45: the steps' actions, added up


def test_history_piped_has_a_header_line_and_a_total_of_each_state(cli, example):
    lines = cli("history", "--since", "2026-04-07", "--config", example).stdout.splitlines()
    assert lines[0] == (
        "# date\tcustomer\tworkflow\tstep\taction\tstate\treason\trecipients\tinvoices\tkey\t"
        "recorded\tsubject"
    )
    assert lines[-1] == "total\t10 action(s)\t\t\t\tsent 8, done 2\t\t\t\t\t\t"
    task = lines[3].split("\t")
    assert task[:10] + task[11:] == [
        "2026-04-07",
        "C002",
        "net30-standard",
        "overdue-30",
        "task",
        "done",
        "",
        "dana@acme.example",
        "INV-1003",
        "invoice:INV-1003/net30-standard/overdue-30/2",
        "task: Call Blue Harbor Cafe about 1 overdue invoice",
    ]


@pytest.mark.parametrize("report", sorted(CSV))
def test_every_listing_writes_csv_for_a_spreadsheet(cli, example, report):
    out = cli(*ARGS[report], "--format", "csv", "--config", example).stdout
    assert list(csv.reader(io.StringIO(out))) == CSV[report]


def test_history_as_csv(cli, example):
    out = cli("history", "--since", "2026-04-07", "--format", "csv", "--config", example).stdout
    header, *rows = csv.reader(io.StringIO(out))
    assert header == [
        "date",
        "customer_id",
        "workflow",
        "step",
        "action",
        "state",
        "reason",
        "recipients",
        "invoices",
        "key",
        "recorded",
        "subject",
    ]
    assert len(rows) == 10
    email = rows[5]
    assert email[:10] + email[11:] == [
        "2026-04-07",
        "C005",
        "monthly-statement",
        "2026-04-06",
        "email",
        "sent",
        "",
        "payables@litware.example, dana@acme.example",
        "INV-1006, INV-1007",
        "customer:C005/monthly-statement/2026-04-06/0",
        "Acme Supplies Ltd: statement of account for Litware Labs, Apr 6, 2026 — statement of "
        "2026-04-06; conditions met: consolidated_overdue >= 500 (USD 1550.00)",
    ]
    # when it was really recorded (the machine's clock, so its form): ISO 8601 in UTC
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r[10]) for r in rows)


LISTINGS = ["aging", "status", "history", "customers", "forecast", "simulate", "workflows", "tasks"]


@pytest.mark.parametrize("name", LISTINGS)
def test_every_listing_offers_table_json_or_csv(cli, name):
    (line,) = [x for x in cli(name, "--help").stdout.splitlines() if "--format" in x[:12]]
    assert line.split() == [
        "--format",
        "<table|json|csv>",
        "table,",
        "json",
        "or",
        "csv.",
        "[default:",
        "table]",
    ]


def test_a_customer_owing_in_two_currencies_has_a_row_per_currency(cli, tmp_path):
    """CSV: a row per currency, amounts plain, a name that would be a formula made text; in a
    pipe: the amounts as the table shows them and a total line per currency for aging."""
    from tests.test_reports import INVOICES

    config = make_folder(
        tmp_path, invoices=INVOICES.replace("B,Birch Ltd", 'B,=HYPERLINK("x")'), workflows={}
    )
    day = ("--as-of", "2026-03-16", "--config", config)
    rows = list(csv.reader(io.StringIO(cli("status", *day, "--format", "csv").stdout)))
    assert [r[:2] + r[9:12] for r in rows] == [
        ["customer_id", "name", "currency", "open", "overdue"],
        ["A", "Alder Ltd", "EUR", "80.00", "80.00"],
        ["A", "Alder Ltd", "USD", "1870.00", "1770.00"],
        ["B", '\'=HYPERLINK("x")', "USD", "1000.00", "0.00"],
    ]
    assert list(csv.reader(io.StringIO(cli("customers", *day, "--format", "csv").stdout))) == [
        ["customer_id", "name", "email", "phone", "open_invoices", "currency", "open", "missing"],
        ["A", "Alder Ltd", "", "", "7", "EUR", "80.00", "no email, no phone"],
        ["A", "Alder Ltd", "", "", "", "USD", "1870.00", "no email, no phone"],
        ["B", '\'=HYPERLINK("x")', "", "", "1", "USD", "1000.00", "no email, no phone"],
        ["D", "Dogwood", "", "", "0", "", "", "no email, no phone"],
        ["P", "Poplar", "", "", "0", "", "", "no email, no phone"],
    ]
    assert cli("status", *day).stdout.splitlines()[-1] == (
        "total\t2 customer(s)\t\t\t\t€80.00, $2,870.00\t€80.00, $1,770.00\t\t\t"
    )
    assert cli("aging", *day).stdout.splitlines()[-2:] == [
        "total\t1 invoice(s)\tEUR\t0.00\t80.00\t0.00\t0.00\t0.00\t80.00",
        "total\t8 invoice(s)\tUSD\t1100.00\t270.00\t400.00\t500.00\t600.00\t2870.00",
    ]


def test_tty_compatible_asks_for_the_table_in_a_pipe_and_columns_for_its_width(
    cli, example, monkeypatch
):
    """`TTY_COMPATIBLE=1 COLUMNS=100 arflow workflows | less -R`: the table, 100 wide."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "100")
    shown = cli("workflows", "--config", example).stdout
    lines = re.sub("\x1b\\[[0-9;]*m", "", shown).splitlines()  # in colour, for less -R
    assert "\x1b[1m" in shown and lines[0] == "arflow workflows: 7"
    assert [cell.strip() for cell in lines[3].split("┃")[1:-1]] == [
        "Id",
        "Name",
        "Enabled",
        "schedule",  # under "Anchor /"
        "Steps",
        "Then",
        "Assigned",
    ]
    assert max(len(line) for line in lines) <= 100
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    assert cli("workflows", "--config", example).stdout.splitlines()[0].startswith("# id\t")


def test_a_step_chasing_two_currencies_counts_its_actions_once(cli, tmp_path):
    """forecast's CSV: a row per currency chased, the step's actions and customers on the
    first only, so summing the column gives the piped total."""
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path, date(2026, 3, 16))
    path = tmp_path / "invoices.csv"
    head, *rows = path.read_text(encoding="utf-8").splitlines()
    path.write_text(
        "\n".join(
            [f"{head},currency"]
            + [r + (",EUR" if r.startswith("INV-1003") else ",USD") for r in rows]
        )
        + "\n",
        encoding="utf-8",
    )
    day = ("--days", "1", "--as-of", "2026-03-16", "--config", tmp_path)
    rows = list(csv.reader(io.StringIO(cli("forecast", *day, "--format", "csv").stdout)))
    assert rows[2:4] == [
        ["2026-03-16", "net30-standard", "reminder", "2", "1", "EUR", "125.50"],
        ["2026-03-16", "net30-standard", "reminder", "", "", "USD", "480.00"],
    ]
    total = cli("forecast", *day).stdout.splitlines()[-1].split("\t")
    assert total[:5] == ["total", "", "", str(sum(int(r[3] or 0) for r in rows[1:])), "6"]
    assert total[3] == "12"
