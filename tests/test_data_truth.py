"""arflow acts on a source only when it understood it (issue 27): a wrong date_format, a
misspelt column, a channel that reaches nobody and a broken export refuse the night whole;
Excel's empty rows are no rows; bad rows are told by cause; `arflow sources` shows what was read.
Every test works on real files in a real folder, through the CLI."""

from __future__ import annotations

import json
import sqlite3
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from tests.conftest import make_folder, unstamped

WORKFLOW = """\
steps:
  - id: reminder
    day: 1
    actions:
      - email: reminder
      - notify: {to: controller, template: internal}
  - id: final
    day: 60
    actions: [{email: reminder}]
"""

CONFIG = """\
company: {name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD,
          locale: en_US, terms: Net 30}
invoices: {path: invoices.csv%s}
customers: {path: customers.csv}
default_workflow: chase
people:
  controller: {name: Chris Doe, email: controller@acme.example}
channels: {email: {transport: outbox, dir: outbox}}
"""

CUSTOMERS = """\
customer_id,name,email
C1,Northwind,ap@northwind.example
C2,Blue Harbor,billing@blueharbor.example
"""

# US dates (month first). Read with "%d/%m/%Y", 11/08/2026 would be 11 August: past due since
# September, while the invoice (8 November, Net 30) is due on 8 December.
US_INVOICES = """\
number,customer_id,issue_date,amount
INV-1,C1,11/08/2026,100.00
INV-2,C2,11/28/2026,250.00
INV-3,C2,10/30/2026,80.00
"""

AS_OF = "2026-12-05"


def folder(
    tmp_path: Path,
    invoices: str = US_INVOICES,
    settings: str = "",
    customers: str = CUSTOMERS,
) -> Path:
    return make_folder(
        tmp_path / "ar",
        invoices=invoices,
        workflows={"chase": WORKFLOW},
        config=CONFIG % settings,
        extra_files={"customers.csv": customers},
    )


def sent(config: Path) -> list[str]:
    outbox = config.parent / "outbox"
    return sorted(p.name for p in outbox.iterdir()) if outbox.exists() else []


def recorded(config: Path) -> int:
    """How many actions the state database holds (0 when there is none)."""
    path = config.parent / "arflow.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM actions").fetchone()[0]


# --- a wrong date_format ---------------------------------------------------------------------
def test_us_dates_read_as_day_first_refuse_the_source_everywhere(cli, tmp_path):
    config = folder(tmp_path, settings=', date_format: "%d/%m/%Y"')
    checked = cli("validate", "--config", config, expect=1)
    assert checked.output.startswith("arflow.yaml:3: invoices: invoices.csv: issue_date: ")
    problem = json.loads(cli("validate", "--format", "json", "--config", config, expect=1).stdout)[
        "problems"
    ]
    assert [(p["file"], p["line"], p["where"]) for p in problem] == [("arflow.yaml", 3, "invoices")]
    assert 'date_format: "%m/%d/%Y"' in checked.output
    assert "line 3: 11/28/2026" in checked.output  # the value the format cannot read
    for dry in (["--dry-run"], []):
        result = cli("run", *dry, "--as-of", AS_OF, "--config", config, expect=1)
        (line,) = unstamped(result.output).strip().splitlines()  # one message
        assert line.startswith(
            "error: invoices.csv: issue_date: 2 of its 3 distinct dates do not read as "
            "date_format '%d/%m/%Y' (e.g. line 3: 11/28/2026, line 4: 10/30/2026), but read as "
            "'%m/%d/%Y', as every date in the file does"
        )
        assert 'set date_format: "%m/%d/%Y" under invoices: in arflow.yaml' in line
    assert sent(config) == [] and recorded(config) == 0
    # the same file with the format it is written in runs clean: nothing is due yet except
    # INV-3 (30 October, Net 30: due 29 November)
    config.write_text(config.read_text().replace("%d/%m/%Y", "%m/%d/%Y"))
    cli("validate", "--config", config)
    cli("run", "--as-of", AS_OF, "--config", config)
    assert recorded(config) == 2  # INV-3's reminder to C2 and the notice to the controller
    emails = [
        message_from_bytes((config.parent / "outbox" / n).read_bytes(), policy=default)
        for n in sent(config)
    ]
    assert sorted((e["To"].addresses[0].addr_spec, e["Subject"]) for e in emails) == [
        ("billing@blueharbor.example", "Reminder INV-3"),
        ("controller@acme.example", "[AR] Blue Harbor"),
    ]


def test_a_column_of_slashed_dates_without_a_format_asks_for_one(cli, tmp_path):
    # every day is 12 or less: both readings work, and arflow cannot choose
    ambiguous = "number,customer_id,issue_date,amount\nA,C1,03/04/2026,1\nB,C2,05/06/2026,2\n"
    config = folder(tmp_path, invoices=ambiguous)
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=1)
    assert 'set date_format: "%m/%d/%Y" (or "%d/%m/%Y": every date here reads either way' in (
        result.output
    )
    # a day over 12 settles it
    (config.parent / "invoices.csv").write_text(ambiguous + "C,C2,05/30/2026,3\n")
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=1)
    assert 'set date_format: "%m/%d/%Y" under invoices:' in result.output
    assert "either way" not in result.output


def test_a_date_that_reads_no_other_way_only_holds_its_row_back(run_json, tmp_path):
    invoices = "number,customer_id,issue_date,amount\nA,C1,2026-10-01,1\nB,C2,2026-02-30,2\n"
    _, doc = run_json(folder(tmp_path, invoices=invoices), AS_OF, expect=3)
    assert [(e["line"], e["value"]) for e in doc["errors"]] == [(3, "2026-02-30")]
    assert [a["invoices"] for a in doc["actions"] if a["action"] == "email"] == [["A"]]


def test_day_and_month_swapped_in_a_few_rows_of_an_iso_file_are_held_back(run_json, tmp_path):
    # an ISO column with one slashed date: no reading of the whole column but ISO, and ISO
    # reads no value wrongly; the odd row is held back with the fix
    invoices = (
        "number,customer_id,issue_date,amount\nA,C1,2026-10-01,1\nB,C2,2026-10-02,2\n"
        "C,C2,10/03/2026,3\n"
    )
    _, doc = run_json(folder(tmp_path, invoices=invoices), AS_OF, expect=3)
    assert [(e["line"], e["column"]) for e in doc["errors"]] == [(4, "issue_date")]
    assert "could be read two ways" in doc["errors"][0]["message"]


@pytest.mark.parametrize(
    ("settings", "invoices", "held"),
    [
        # one month-first date in a due_date column that is otherwise empty, in an ISO file:
        # no one format reads the file's dates, so it is that row's problem
        (
            "",
            "number,customer_id,issue_date,due_date,amount\nA,C1,2026-10-08,,1\n"
            "B,C1,2026-10-09,,1\nC,C2,2026-10-10,11/30/2026,1\n",
            [(4, "due_date", "11/30/2026")],
        ),
        # a year typo in a month-first file reads no other way in the years arflow schedules
        (
            ', date_format: "%m/%d/%Y"',
            "number,customer_id,issue_date,amount\nA,C1,11/08/2026,1\nB,C2,11/28/2026,1\n"
            "C,C2,10/06/0206,1\n",
            [(4, "issue_date", "10/06/0206")],
        ),
    ],
)
def test_a_bad_date_that_is_no_wrong_format_holds_back_its_row(
    run_json, tmp_path, settings, invoices, held
):
    _, doc = run_json(folder(tmp_path, invoices=invoices, settings=settings), AS_OF, expect=3)
    assert [(e["line"], e["column"], e["value"]) for e in doc["errors"]] == held


def test_a_format_with_dots_the_wrong_way_round_is_named(cli, tmp_path):
    invoices = (
        "number,customer_id,issue_date,amount\nA,C1,11.08.2026,1\nB,C2,11.28.2026,1\n"
        "C,C2,10.30.2026,1\n"
    )
    config = folder(tmp_path, invoices=invoices, settings=', date_format: "%d.%m.%Y"')
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=1)
    assert 'set date_format: "%m.%d.%Y" under invoices:' in result.output


def test_day_first_dates_mixed_with_month_first_ones_refuse_the_source(cli, tmp_path):
    # 28/11 cannot be month first; 11/28 cannot be day first: the column mixes both
    invoices = "number,customer_id,issue_date,amount\nA,C1,11/28/2026,1\nB,C2,28/11/2026,2\n"
    config = folder(tmp_path, invoices=invoices, settings=', date_format: "%d/%m/%Y"')
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=1)
    assert "the column mixes day-first and month-first dates" in result.output
    assert "line 2: 11/28/2026" in result.output


# --- columns arflow does not know ----------------------------------------------------------
E_MAIL = CUSTOMERS.replace("customer_id,name,email", "customer_id,name,e-mail")


def test_a_misspelt_column_is_named_with_its_fix(cli, tmp_path):
    config = folder(tmp_path, settings=', date_format: "%m/%d/%Y"', customers=E_MAIL)
    fix = "column 'e-mail' looks like `email`"
    for command in (["validate"], ["doctor"], ["run", "--quiet", "--as-of", AS_OF]):
        result = cli(*command, "--config", config, expect=1)
        assert fix in result.output, command
        assert "add columns: {email: e-mail}" in result.output
    assert sent(config) == [] and recorded(config) == 0
    # mapped, it is read
    config.write_text(
        config.read_text().replace("customers.csv}", "customers.csv, columns: {email: e-mail}}")
    )
    cli("run", "--as-of", AS_OF, "--config", config)
    assert len(sent(config)) == 2


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("ammount", "amount"),
        ("isue_date", "issue_date"),
        ("Due Date", "due_date"),
        ("Mobile", "phone"),
    ],
)
def test_a_slip_of_a_key_or_another_word_is_a_look_alike(cli, tmp_path, header, field):
    # the header is checked before any row is read: the misspelt column stands in for its field
    columns = ["number", "customer_id", "issue_date", "amount"]
    columns = [header if c == field else c for c in columns] + [header] * (field not in columns)
    invoices = ",".join(columns) + "\n" + ",".join(["x"] * len(columns)) + "\n"
    result = cli("validate", "--config", folder(tmp_path, invoices=invoices), expect=1)
    assert f"column {header!r} looks like `{field}`" in result.output


def test_not_fields_keeps_a_look_alike_as_an_extra_column(cli, run_json, tmp_path):
    invoices = "number,customer_id,issue_date,amount,Phone Number\nA,C1,2026-10-01,1,desk 4\n"
    config = folder(tmp_path, invoices=invoices)
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=1)
    assert "column 'Phone Number' looks like `phone`" in result.output
    config.write_text(
        config.read_text().replace("invoices.csv}", "invoices.csv, not_fields: [Phone Number]}")
    )
    _, doc = run_json(config, AS_OF)
    assert [a["to"] for a in doc["actions"] if a["action"] == "email"] == [["ap@northwind.example"]]


def test_the_fix_for_a_look_alike_can_be_pasted_as_it_is(cli, tmp_path):
    customers = "customer_id,name,Phone #,E-Mail\nC1,Northwind,+1 202 555 0111,ap@n.example\n"
    config = folder(tmp_path, customers=customers, settings=', date_format: "%m/%d/%Y"')
    result = cli("validate", "--config", config, expect=1)
    assert 'add columns: {phone: "Phone #"}' in result.output
    assert "add columns: {email: E-Mail}" in result.output
    config.write_text(
        config.read_text().replace(
            "customers.csv}", 'customers.csv, columns: {phone: "Phone #", email: E-Mail}}'
        )
    )
    cli("validate", "--config", config)


@pytest.mark.parametrize(
    "header", ["product_id", "department_id", "Email2", "Phone 2", "Parent", "Amount Due"]
)
def test_a_column_that_holds_a_field_s_name_and_more_is_another_column(run_json, tmp_path, header):
    invoices = f"number,customer_id,issue_date,amount,{header}\nA,C1,2026-10-01,1,x\n"
    _, doc = run_json(folder(tmp_path, invoices=invoices), AS_OF)
    assert [a["invoices"] for a in doc["actions"] if a["action"] == "email"] == [["A"]]


def test_columns_no_field_uses_are_named_once_in_a_run(cli, tmp_path):
    invoices = "number,customer_id,issue_date,amount,Notes,Region\nA,C1,2026-10-01,1,x,y\n"
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", folder(tmp_path, invoices))
    lines = [line for line in result.output.splitlines() if "does not use" in line]
    assert lines == [
        "# invoices.csv: columns arflow does not use: Notes, Region (templates can: "
        "invoice.extra.NAME)"
    ]
    config = tmp_path / "ar" / "arflow.yaml"
    assert cli("validate", "--config", config).output.splitlines()[1:] == [
        "  invoices.csv: columns arflow does not use: Notes, Region (templates can: "
        "invoice.extra.NAME)"
    ]
    assert "not used: Notes, Region" in cli("doctor", "--config", config).output


def test_a_run_whose_emails_reach_nobody_stops_before_anything_goes(cli, tmp_path):
    no_email = "customer_id,name\nC1,Northwind\nC2,Blue Harbor\n"
    config = folder(tmp_path, settings=', date_format: "%m/%d/%Y"', customers=no_email)
    result = cli("run", "--as-of", AS_OF, "--config", config, expect=1)
    (line,) = unstamped(result.output).strip().splitlines()
    assert line == (
        "error: no customer in invoices.csv or customers.csv has an email address, so "
        "tonight's email to 1 customer(s) (chase/reminder) would reach nobody: add an email "
        "column (or map yours with columns: {email: YOUR_HEADER}), or take the email actions "
        "out of those workflows"
    )
    # nothing went, not even the internal notice of the same step
    assert sent(config) == [] and recorded(config) == 0
    # one customer without an address, among others with one, is a skip, also alone
    (config.parent / "customers.csv").write_text(
        "customer_id,name,email\nC1,Northwind,a@x.example\nC2,Blue Harbor,\n"
    )
    result = cli("run", "--dry-run", "--customer", "C2", "--as-of", AS_OF, "--config", config)
    assert (
        result.output.strip()
        .splitlines()[-1]
        .endswith("1 action(s) planned, 1 skipped, 0 error(s)")
    )
    (config.parent / "customers.csv").write_text(no_email)
    doctor = cli("doctor", "--config", config, expect=1).output
    assert (
        "FAIL  email: none of the 2 customers with an open invoice has an email address; the "
        "workflows' email actions would reach nobody" in doctor
    )


# --- empty rows, many bad rows -------------------------------------------------------------
def test_excel_s_empty_trailing_rows_are_no_rows(cli, tmp_path):
    # three rows of the header's width, one short one (a spreadsheet trims trailing cells)
    invoices = "number,customer_id,issue_date,amount\nA,C1,2026-10-01,1\n" + ",,,\n" * 3 + ",,\n"
    config = folder(tmp_path, invoices=invoices)
    result = cli("run", "--as-of", AS_OF, "--config", config)  # exit 0
    assert not [line for line in result.output.splitlines() if line.startswith("error")]
    assert (
        result.output.strip()
        .splitlines()[-1]
        .endswith("0 skipped, 0 error(s), 4 empty row(s) ignored")
    )
    # the same in the customers file, and with quotes (the csv module's way)
    (config.parent / "customers.csv").write_text(CUSTOMERS + ',"",\n,\n')
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config)
    assert result.output.strip().splitlines()[-1].endswith("6 empty row(s) ignored")


def many_bad(count: int) -> str:
    good = "".join(f"G{n},C1,2026-10-01,1\n" for n in range(count))
    bad = "".join(f"B{n},C2,2026-10-{n}x,1\n" for n in range(count))  # each its own value
    return "number,customer_id,issue_date,amount\n" + good + bad


def test_three_thousand_rows_with_the_same_bad_date_are_one_line(cli, tmp_path):
    config = folder(tmp_path, invoices=many_bad(3000), settings=", max_bad_rows: 100%")
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=3)
    errors = [line for line in result.output.splitlines() if line.startswith("error")]
    assert errors == [
        "error\tinvoices.csv: 3,000 rows (lines 3002, 3003, 3004, 3005, 3006 and 2,995 more): "
        "e.g. line 3002: issue_date: '2026-10-0x' is not a date: write YYYY-MM-DD, or add date_format: under "
        "invoices: in arflow.yaml"
    ]
    assert len(result.output.splitlines()) < 10
    # JSON keeps every row
    result = cli(
        "run", "--dry-run", "--format", "json", "--as-of", AS_OF, "--config", config, expect=3
    )
    assert len(json.loads(result.stdout)["errors"]) == 3000


def test_each_unknown_status_is_its_own_cause_with_its_own_fix(cli, tmp_path):
    invoices = (
        "number,customer_id,issue_date,amount,status\nA,C1,2026-10-01,1,Overdue\n"
        "B,C1,2026-10-01,1,Sent\nC,C2,2026-10-01,1,Overdue\nD,C2,2026-10-01,1,open\n"
    )
    result = cli(
        "run", "--dry-run", "--as-of", AS_OF, "--config", folder(tmp_path, invoices), expect=3
    )
    assert [line for line in result.output.splitlines() if line.startswith("error")] == [
        "error\tinvoices.csv: 2 rows (lines 2, 4): status: unknown status 'Overdue': use draft, "
        "open, paid, void, or map it with status_map: {Overdue: open} under invoices: in "
        "arflow.yaml",
        "error\tinvoices.csv:3: status: unknown status 'Sent': use draft, open, paid, void, or "
        "map it with status_map: {Sent: open} under invoices: in arflow.yaml",
    ]


def test_a_source_with_more_bad_rows_than_max_bad_rows_is_refused_whole(cli, tmp_path):
    config = folder(tmp_path, invoices=many_bad(20))  # half of 40 rows: over the default 10%
    result = cli("run", "--as-of", AS_OF, "--config", config, expect=1)
    text = unstamped(result.output)
    assert "invoices.csv: 20 of its 40 rows are bad, more than max_bad_rows: 10% allows (5)" in (
        text
    )
    assert "invoices.csv: 20 rows (lines 22, 23, 24 and 17 more): e.g. line 22: issue_date:" in text
    assert sent(config) == [] and recorded(config) == 0
    # a count: 20 bad rows are allowed, and held back one cause at a time
    config.write_text(
        config.read_text().replace("invoices.csv}", "invoices.csv, max_bad_rows: 20}")
    )
    cli("run", "--as-of", AS_OF, "--config", config, expect=3)
    assert len(sent(config)) == 2  # C1's reminder (its 20 invoices in one) and the notice
    config.write_text(config.read_text().replace("max_bad_rows: 20", "max_bad_rows: 19"))
    cli("validate", "--config", config, expect=1)


def test_max_bad_rows_of_none_and_the_causes_of_the_rows_held_back(cli, tmp_path):
    customers = CUSTOMERS + "C3,Cyan,not-an-address\n,Nobody,n@x.example\n"
    config = folder(tmp_path, customers=customers, settings=', date_format: "%m/%d/%Y"')
    config.write_text(
        config.read_text().replace("customers.csv}", 'customers.csv, max_bad_rows: "0%"}')
    )
    text = unstamped(cli("validate", "--config", config, expect=1).output)
    assert "customers.csv: 1 of its 4 rows are bad, more than max_bad_rows: 0% allows (0)" in text
    # the causes are the held-back row's; C3 is kept (without its address)
    assert "customers.csv:5: customer_id: empty customer id" in text
    assert "not-an-address" not in text
    config.write_text(config.read_text().replace('max_bad_rows: "0%"', 'max_bad_rows: "1"'))
    cli("validate", "--config", config)


@pytest.mark.parametrize("value", ["-1", "ten", "120%"])
def test_max_bad_rows_is_a_count_or_a_share(cli, tmp_path, value):
    config = folder(tmp_path, settings=f", max_bad_rows: {value}")
    result = cli("validate", "--config", config, expect=1)
    assert "max_bad_rows" in result.output


# --- arflow sources ----------------------------------------------------------------------
def test_sources_shows_what_was_read(cli, tmp_path):
    invoices = (
        "number,customer_id,issue_date,amount,Notes\nA,C1,2026-10-01,1250.5,x\n"
        "B,C2,2026-10-0x,3,y\nC,C3,2026-10-03,7,z\n,,,,\n"
    )
    config = folder(tmp_path, invoices=invoices, customers=CUSTOMERS + ",Nobody,x@y.example\n")
    # a workflow switched off sends nothing: its SMS reach no one, and that is no problem
    (config.parent / "workflows" / "old.yaml").write_text(
        "enabled: false\nsteps:\n  - {id: text, day: 3, actions: [{sms: reminder}]}\n"
    )
    result = cli("sources", "--as-of", AS_OF, "--format", "json", "--config", config, expect=3)
    doc = json.loads(result.stdout)
    invoices_read, customers_read = doc["sources"]
    assert invoices_read["columns"] == {
        "number": "number",
        "customer_id": "customer_id",
        "issue_date": "issue_date",
        "amount": "amount",
    }
    assert invoices_read["ignored"] == ["Notes"]
    assert (invoices_read["rows"], invoices_read["kept"], invoices_read["empty"]) == (3, 2, 1)
    (problem,) = invoices_read["problems"]
    assert (problem["column"], problem["count"], problem["lines"]) == ("issue_date", 1, [3])
    assert (customers_read["rows"], customers_read["kept"]) == (3, 2)
    assert [p["example"]["message"] for p in customers_read["problems"]] == [
        "empty customer id; every row needs one"
    ]
    assert customers_read["columns"] == {
        "customer_id": "customer_id",
        "name": "name",
        "email": "email",
    }
    assert [
        (i["number"], i["due_date"], i["amount"], i["currency"], i["email"])
        for i in doc["first_invoices"]
    ] == [
        ("A", "2026-10-31", "1250.5", "USD", ["ap@northwind.example"]),
        ("C", "2026-11-02", "7", "USD", []),
    ]
    # C3 has an open invoice and no address; the workflows send no SMS
    assert doc["unreachable"] == {
        "email": {"customers": 2, "unreachable": 1, "contact": "email", "named": ["C3"]}
    }
    assert doc["refused"] is None
    text = cli("sources", "--as-of", AS_OF, "--config", config, expect=3).output
    assert "not used: Notes (templates: invoice.extra.NAME)" in text
    assert "rows:     3 read, 2 kept, 1 held back, 1 empty ignored" in text
    assert "email: 1 of 2 customers with an open invoice has no email: C3" in text


def test_sources_says_why_a_source_is_refused(cli, tmp_path):
    config = folder(tmp_path, settings=', date_format: "%d/%m/%Y"')
    result = cli("sources", "--format", "json", "--config", config, expect=1)
    doc = json.loads(result.stdout)
    assert 'date_format: "%m/%d/%Y"' in doc["refused"]
    assert list(doc["sources"][0]["columns"]) == ["number", "customer_id", "issue_date", "amount"]
    assert doc["first_invoices"] == [] and doc["errors"] == []
    assert [(r["rows"], r["kept"]) for r in doc["sources"]] == [(None, None), (None, None)]
