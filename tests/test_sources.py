import json
import re
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from arflow.config import load_config
from arflow.errors import ArflowError
from arflow.ledger import Invoice
from arflow.sources import load_ledger
from tests.conftest import BASE_CONFIG, ibm_folder, make_folder

HEADER = "number,customer_id,email,phone,issue_date,due_date,amount\n"
DATA = Path(__file__).resolve().parent / "data" / "ibm-late-payment-histories.csv"


def load(tmp_path, invoices: str, config: str = BASE_CONFIG, check_phones=False, **files):
    path = make_folder(tmp_path, invoices=invoices, workflows={}, config=config, extra_files=files)
    return load_ledger(load_config(path), check_phones=check_phones)


def errors_of(ledger):
    return [(e.line, e.column, e.value) for e in ledger.errors]


def test_good_rows_load_with_decimal_money_and_leading_zeros(tmp_path):
    ledger = load(tmp_path, HEADER + "0000611365,C1,ap@c1.example,,2026-01-02,2026-02-01,55.94\n")
    [invoice] = ledger.invoices
    assert invoice.number == "0000611365"
    assert invoice.amount == Decimal("55.94") and isinstance(invoice.amount, Decimal)
    assert invoice.due_date == date(2026, 2, 1)
    assert invoice.email == ("ap@c1.example",)
    assert ledger.errors == []


@pytest.mark.parametrize(
    "row, column, value, message",
    [
        ("A1,C1,,,2026-02-30,,10", "issue_date", "2026-02-30", "'2026-02-30' is not a real date"),
        (
            "A1,C1,,,03/04/2026,,10",
            "issue_date",
            "03/04/2026",
            'is not an ISO date (YYYY-MM-DD) and could be read two ways: add date_format: "%m/%d/%Y" '
            '(or "%d/%m/%Y") under invoices: in arflow.yaml',
        ),
        ("A1,C1,,,2026-01-01,,NaN", "amount", "NaN", "write a finite decimal number"),
        ("A1,C1,,,2026-01-01,,1e3", "amount", "1e3", "exponent notation is not accepted"),
        ("A1,C1,,,2026-01-01,,abc", "amount", "abc", "'abc' is not an amount"),
        ("A1,C1,,,2026-01-01,,Infinity", "amount", "Infinity", "write a finite decimal number"),
        ("A1,C1,,,2026-01-01,,", "amount", "", "empty amount"),
        (
            "A1,C1,,,2026-02-01,2026-01-15,10",
            "due_date",
            "2026-01-15",
            "due date 2026-01-15 is before the issue date 2026-02-01",
        ),
        (",C1,,,2026-01-01,,10", "number", "", "empty invoice number"),
        ("A1,,,,2026-01-01,,10", "customer_id", "", "empty customer id"),
        ("A1,C1,,,,,10", "issue_date", "", "empty issue date"),
        ('A1,C1,,,2026-01-01,,"1,234.56"', "amount", "1,234.56", "add thousands: ','"),
    ],
)
def test_bad_row_is_held_back_and_reported_good_rows_go_on(tmp_path, row, column, value, message):
    ledger = load(tmp_path, HEADER + "G1,C1,,,2026-01-01,,5\n" + row + "\nG2,C2,,,2026-01-01,,7\n")
    assert [i.number for i in ledger.invoices] == ["G1", "G2"]
    [error] = ledger.errors
    assert (error.file, error.line, error.column, error.value) == ("invoices.csv", 3, column, value)
    assert message in error.message


def test_every_copy_of_a_duplicate_number_is_held_back(tmp_path):
    ledger = load(
        tmp_path,
        HEADER + "D1,C1,,,2026-01-01,,5\nOK,C1,,,2026-01-01,,5\n"
        "D1,C2,,,2026-01-02,,6\nD1,C3,,,2026-01-03,,7\n",
    )
    assert [i.number for i in ledger.invoices] == ["OK"]
    assert errors_of(ledger) == [(2, "number", "D1"), (4, "number", "D1"), (5, "number", "D1")]
    assert "also on lines 4, 5" in ledger.errors[0].message


def test_duplicates_name_every_copy_even_bad_ones_and_across_blocks(tmp_path, monkeypatch):
    from arflow.sources import csvfile

    monkeypatch.setattr(csvfile, "BLOCK", 2)  # copies fall in different blocks
    ledger = load(
        tmp_path,
        HEADER + "D1,C1,,,2026-02-30,,5\nOK,C1,,,2026-01-01,,5\n"
        "D1,C2,,,2026-01-02,,abc\nX,C3,,,2026-01-03,,7\nD1,C4,,,2026-01-03,,7\n",
    )
    assert [i.number for i in ledger.invoices] == ["OK", "X"]
    dup_errors = [
        (e.line, e.column) for e in ledger.errors if "appears more than once" in e.message
    ]
    assert dup_errors == [(2, "number"), (4, "number"), (6, "number")]
    assert [(e.line, e.column) for e in ledger.errors if "more than once" not in e.message] == [
        (2, "issue_date"),
        (4, "amount"),
    ]


def test_bad_email_or_phone_keeps_the_invoice_without_that_channel(tmp_path):
    """Every number checked as the sources are read (`arflow sources`)."""
    ledger = load(
        tmp_path,
        HEADER + "A1,C1,not-an-email,+1 202 555 0111,2026-01-01,,5\n"
        "A2,C2,ok@c2.example; bad@@c2,12,2026-01-01,,5\n",
        check_phones=True,
    )
    a1, a2 = ledger.invoices
    assert (a1.email, a1.phone) == ((), "+12025550111")
    assert (a2.email, a2.phone) == (("ok@c2.example",), None)
    assert errors_of(ledger) == [
        (2, "email", "not-an-email"),
        (3, "email", "ok@c2.example; bad@@c2"),
        (3, "phone", "12"),
    ]
    assert "no email can go to this address" in ledger.errors[0].message
    assert "no SMS can go to this number" in ledger.errors[2].message


def test_a_phone_number_is_checked_when_first_asked_for(tmp_path):
    """A run reads the numbers as given and checks a customer's when something asks for it
    (an SMS planned, a notice showing it): a bad one is reported then, once, with its file,
    line, column and value, and the customer has no phone (issue 30)."""
    ledger = load(
        tmp_path,
        HEADER + "A1,C1,,+1 202 555 0111,2026-01-01,,5\nA2,C2,,12,2026-01-01,,5\n"
        "A3,C2,,+1 202 555 0133,2026-01-02,,5\n",
    )
    assert [i.phone for i in ledger.invoices] == ["+1 202 555 0111", "12", "+1 202 555 0133"]
    assert ledger.errors == []  # nothing asked yet, nothing checked
    assert ledger.customers["C1"].phone == "+12025550111"
    assert ledger.errors == []
    # its first row's number (line 3) is not valid: reported once, and the next row's wins,
    # as when every number is checked at load (`sources`)
    assert ledger.customers["C2"].phone == "+12025550133"
    assert ledger.customers["C2"].phone == "+12025550133"
    assert [(e.file, e.line, e.column, e.value) for e in ledger.errors] == [
        ("invoices.csv", 3, "phone", "12")
    ]
    assert ledger.errors[0].message == (
        "'12' is not a valid phone number (write it with its country code, e.g. +1 …); the "
        "invoice is kept, but no SMS can go to this number"
    )


@pytest.mark.parametrize("check_phones", [False, True])
def test_a_customer_has_the_first_valid_number_of_its_own_and_its_rows(tmp_path, check_phones):
    """The customers file's number, else the invoice rows' in file order: the first valid one
    wins, whether numbers are checked when asked for (a run) or all at load (`sources`)."""
    config = BASE_CONFIG + "customers: {path: customers.csv}\n"
    ledger = load(
        tmp_path,
        HEADER
        + "A1,C1,,12,2026-01-01,,5\nA2,C1,,+1 202 555 0102,2026-01-01,,5\n"  # file bad: row 3
        + "A3,C2,,99,2026-01-01,,5\nA4,C2,,+1 202 555 0104,2026-01-01,,5\n"  # file good
        + "A5,C3,,+1 202 555 0105,2026-01-01,,5\n"  # no number in the file
        + "A6,C4,,13,2026-01-01,,5\n",  # no valid number anywhere
        config=config,
        check_phones=check_phones,
        **{
            "customers.csv": "customer_id,phone\nC1,7\nC2,+1 202 555 0200\nC3,\nC4,8\n",
        },
    )
    assert {cid: c.phone for cid, c in sorted(ledger.customers.items())} == {
        "C1": "+12025550102",
        "C2": "+12025550200",
        "C3": "+12025550105",
        "C4": None,
    }
    reported = sorted((e.file, e.line, e.value) for e in ledger.errors)
    if check_phones:  # every number at load
        assert reported == [
            ("customers.csv", 2, "7"),
            ("customers.csv", 5, "8"),
            ("invoices.csv", 2, "12"),
            ("invoices.csv", 4, "99"),
            ("invoices.csv", 7, "13"),
        ]
    else:  # those looked at to find each customer's number
        assert reported == [
            ("customers.csv", 2, "7"),
            ("customers.csv", 5, "8"),
            ("invoices.csv", 2, "12"),
            ("invoices.csv", 7, "13"),
        ]


def test_email_fast_path_agrees_with_email_validator(tmp_path):
    from email_validator import EmailNotValidError, validate_email

    from arflow.config import SourceConfig
    from arflow.sources.values import ValueParser

    parser = ValueParser(SourceConfig(path="x"), "invoices", "US")
    samples = [
        "a@b.co",
        "A.B@Example.COM",
        "a..b@x.com",
        ".a@x.com",
        "a.@x.com",
        "a@-x.com",
        "a@x-.com",
        "a@x.c",
        "a@x.123",
        "a@x.test",
        "a@localhost",
        "x@y.local",
        "o'brien@x.ie",
        "a+tag@sub.domain.org",
        "a@x..com",
        "é@x.com",
        "a@bücher.de",
        "a" * 65 + "@x.com",
        "a@" + "b" * 64 + ".com",
        '"q"@x.com',
    ]
    for address in samples:
        try:
            expected = validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError:
            expected = None
        good, _bad = parser.emails(address)
        assert (good[0] if good else None) == expected, address


def test_missing_required_column_stops_the_file_with_one_clear_error(tmp_path):
    with pytest.raises(ArflowError) as exc:
        load(tmp_path, "number,customer_id,issue_date\nA1,C1,2026-01-01\n")
    assert str(exc.value) == (
        "invoices.csv: missing required column amount (columns are: number, customer_id, "
        "issue_date); rename the column or map it with columns: {amount: YOUR_HEADER} under "
        "invoices: in arflow.yaml"
    )


def test_mapped_column_that_does_not_exist_is_named(tmp_path):
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}", "invoices: {path: invoices.csv, columns: {number: Num}}"
    )
    with pytest.raises(
        ArflowError, match="columns: maps number to 'Num', but there is no such column"
    ):
        load(tmp_path, HEADER + "A1,C1,,,2026-01-01,,5\n", config=config)


def test_quickbooks_export_with_mapping_date_format_and_thousands(tmp_path):
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}",
        """\
invoices:
  path: invoices.csv
  columns: {number: Num, customer_id: Customer, issue_date: Date, due_date: Due Date,
            amount: Amount, balance: Open Balance}
  date_format: "%m/%d/%Y"
  thousands: ","
""",
    )
    ledger = load(
        tmp_path,
        "\ufeffDate;Num;Customer;Due Date;Amount;Open Balance;Memo\n"
        '03/04/2026;1001;Acme;04/03/2026;"$1,234.56";(120.00);first\n'
        "02/30/2026;1002;Acme;03/30/2026;10.00;10.00;bad date\n",
        config=config,
    )
    [invoice] = ledger.invoices
    assert invoice.issue_date == date(2026, 3, 4) and invoice.due_date == date(2026, 4, 3)
    assert invoice.amount == Decimal("1234.56") and invoice.balance == Decimal("-120.00")
    assert invoice.extra == {"Memo": "first"}
    # the error names the user's own header and the line
    assert errors_of(ledger) == [(3, "Date", "02/30/2026")]
    assert ledger.errors[0].message == "'02/30/2026' is not a real date"


def test_european_decimal_comma(tmp_path):
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}",
        "invoices: {path: invoices.csv, decimal: ',', thousands: '.'}",
    )
    ledger = load(
        tmp_path,
        "number;customer_id;issue_date;amount\nA1;C1;2026-01-01;1.234,50\nA2;C1;2026-01-01;7,5\n",
        config=config,
    )
    assert [i.amount for i in ledger.invoices] == [Decimal("1234.50"), Decimal("7.5")]


@pytest.mark.parametrize(
    "terms, customer_terms, expected",
    [
        ("Net 15", "", "2026-01-16"),  # the invoice's own terms
        ("", "Net 45 EOM", "2026-03-17"),  # the customer's terms
        ("", "", "2026-01-31"),  # the company default (Net 30)
        ("due on receipt", "Net 45", "2026-01-01"),
    ],
)
def test_due_date_from_terms_in_order_invoice_customer_company(
    tmp_path, terms, customer_terms, expected
):
    config = BASE_CONFIG + "customers: {path: customers.csv}\n"
    ledger = load(
        tmp_path,
        f"number,customer_id,issue_date,amount,terms\nA1,C1,2026-01-01,5,{terms}\n",
        config=config,
        **{"customers.csv": f"customer_id,terms\nC1,{customer_terms}\n"},
    )
    assert ledger.invoices[0].due_date == date.fromisoformat(expected)


def test_no_due_date_and_no_terms_anywhere_is_reported(tmp_path):
    config = BASE_CONFIG.replace(", terms: Net 30}", "}")
    ledger = load(
        tmp_path, "number,customer_id,issue_date,amount\nA1,C1,2026-01-01,5\n", config=config
    )
    assert ledger.invoices == []
    assert errors_of(ledger) == [(2, "due_date", "")]
    assert "set terms: under company:" in ledger.errors[0].message


@pytest.mark.parametrize(
    "paid, balance, as_of, open_balance",
    [
        ("2026-02-10", "", "2026-02-09", "100.00"),  # before paid_date: the amount is open
        ("2026-02-10", "", "2026-02-10", "0"),  # on paid_date: paid
        ("2026-02-10", "40", "2026-02-09", "40"),  # before it, the balance column is what is open
        ("2026-02-10", "40", "2026-03-01", "0"),  # after it, paid whatever balance says
        ("", "40", "2026-03-01", "40"),
        ("", "", "2026-03-01", "100.00"),
    ],
)
def test_paid_date_replay_semantics(tmp_path, paid, balance, as_of, open_balance):
    ledger = load(
        tmp_path,
        "number,customer_id,issue_date,amount,balance,paid_date\n"
        f"A1,C1,2026-01-01,100.00,{balance},{paid}\n",
    )
    assert ledger.invoices[0].open_balance(date.fromisoformat(as_of)) == Decimal(open_balance)


def test_status_values_and_status_map(tmp_path):
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}",
        "invoices: {path: invoices.csv, status_map: {Closed: open, Cancelled: void}}",
    )
    ledger = load(
        tmp_path,
        "number,customer_id,issue_date,amount,status\nA1,C1,2026-01-01,5,Closed\n"
        "A2,C1,2026-01-01,5,cancelled\nA3,C1,2026-01-01,5,DRAFT\nA4,C1,2026-01-01,5,weird\n",
        config=config,
    )
    assert [(i.number, i.status) for i in ledger.invoices] == [
        ("A1", "open"),
        ("A2", "void"),
        ("A3", "draft"),
    ]
    assert errors_of(ledger) == [(5, "status", "weird")]
    assert "status_map: {weird: open}" in ledger.errors[0].message


def test_line_numbers_count_multiline_quoted_fields_and_wrong_widths(tmp_path):
    ledger = load(
        tmp_path,
        'number,customer_id,issue_date,amount,memo\nA1,C1,2026-01-01,5,"two\nlines"\n'
        "A2,C1,2026-01-01,5\nA3,C1,2026-13-01,5,x\n\nA4,C1,2026-01-01,5,y\n",
    )
    assert [i.number for i in ledger.invoices] == ["A1", "A4"]
    assert errors_of(ledger) == [(4, None, None), (5, "issue_date", "2026-13-01")]
    assert ledger.errors[0].message == (
        "row has 4 values but the header has 5 columns; fix the "
        "quoting or the delimiter on this line"
    )


def test_customers_file_values_win_over_invoice_rows(tmp_path):
    config = BASE_CONFIG + "customers: {path: customers.csv}\n"
    ledger = load(
        tmp_path,
        "number,customer_id,customer_name,email,issue_date,amount\n"
        "A1,C1,Row Name,row@c1.example,2026-01-01,5\nA2,C2,Only Row,c2@c2.example,2026-01-01,5\n",
        config=config,
        **{
            "customers.csv": "customer_id,name,email,workflow,paused\n"
            "C1,File Name,file@c1.example,vip,yes\nC9,Bad,,,maybe\n"
        },
    )
    c1, c2 = ledger.customers["C1"], ledger.customers["C2"]
    assert (c1.name, c1.email, c1.workflow, c1.paused) == (
        "File Name",
        ("file@c1.example",),
        "vip",
        True,
    )
    assert (c2.name, c2.email) == ("Only Row", ("c2@c2.example",))
    assert [(e.file, e.line, e.column) for e in ledger.errors] == [("customers.csv", 3, "paused")]


@pytest.mark.parametrize("block", [1, 2, 10_000])
def test_sqlite_table_and_query(tmp_path, monkeypatch, block):
    from arflow.sources import sqlitedb

    monkeypatch.setattr(sqlitedb, "BLOCK", block)  # row numbers go on across blocks
    db = tmp_path / "ledger.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE inv (number TEXT, customer_id TEXT, issue_date TEXT, amount REAL, balance NUMERIC)"
        )
        conn.executemany(
            "INSERT INTO inv VALUES (?,?,?,?,?)",
            [
                ("007", "C1", "2026-01-01", 55.94, None),
                ("008", "C1", "2026-02-30", 10, 10),
                ("009", "C2", "2026-01-05", 12.5, 2),
            ],
        )
    for source in (
        "{path: ledger.db, table: inv}",
        '{path: ledger.db, query: "SELECT number, customer_id, issue_date, amount, balance FROM inv"}',
    ):
        config = BASE_CONFIG.replace("invoices: {path: invoices.csv}", f"invoices: {source}")
        path = make_folder(tmp_path, invoices="", workflows={}, config=config)
        ledger = load_ledger(load_config(path))
        assert [(i.number, i.amount, i.balance) for i in ledger.invoices] == [
            ("007", Decimal("55.94"), None),
            ("009", Decimal("12.5"), Decimal("2")),
        ]
        assert [(e.file, e.line, e.column, e.value) for e in ledger.errors] == [
            ("ledger.db", 2, "issue_date", "2026-02-30")
        ]


def test_sqlite_missing_table_is_a_clear_error(tmp_path):
    sqlite3.connect(tmp_path / "ledger.db").close()
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}", "invoices: {path: ledger.db, table: nope}"
    )
    path = make_folder(tmp_path, invoices="", workflows={}, config=config)
    with pytest.raises(
        ArflowError, match=re.escape("ledger.db: cannot read table 'nope': no such table: nope")
    ):
        load_ledger(load_config(path))


def test_missing_file_is_a_clear_error(tmp_path):
    path = make_folder(tmp_path, invoices="", workflows={})
    (tmp_path / "invoices.csv").unlink()
    with pytest.raises(
        ArflowError, match=re.escape("invoices.csv: file not found; check path: in arflow.yaml")
    ):
        load_ledger(load_config(path))


def test_real_ibm_ledger_loads_every_row(tmp_path):
    """The real AR ledger: 2,466 invoices with settled dates, US month/day/year dates."""
    path = ibm_folder(tmp_path)
    ledger = load_ledger(load_config(path))
    assert ledger.errors == []
    assert len(ledger.invoices) == 2466
    first = ledger.invoices[0]
    assert (
        first.number,
        first.customer_id,
        first.issue_date,
        first.due_date,
        first.paid_date,
        first.amount,
    ) == (
        "0000611365",
        "0379-NEVHP",
        date(2013, 1, 2),
        date(2013, 2, 1),
        date(2013, 1, 15),
        Decimal("55.94"),
    )
    assert first.extra["Disputed"] == "No" and first.extra["DaysLate"] == "0"
    # replaying: open on its due date only if settled after it
    late = [i for i in ledger.invoices if i.paid_date > i.due_date]
    assert all(i.open_balance(i.due_date) == i.amount for i in late)
    assert sum(1 for i in ledger.invoices if i.open_balance(i.due_date) > 0) == len(late)


def test_customers_file_errors_name_its_own_headers_and_duplicates(tmp_path):
    config = (
        BASE_CONFIG
        + "customers: {path: customers.csv, columns: {customer_id: Account, phone: Mobile}}\n"
    )
    ledger = load(
        tmp_path,
        HEADER + "A1,C1,,,2026-01-01,,5\n",
        config=config,
        **{
            "customers.csv": "Account,Mobile,name\nC1,+1 202 555 0111,One\nC2,99,Two\n"
            "C3,,Three\nC3,,Three again\n"
        },
    )
    assert [(e.file, e.line, e.column, e.value) for e in ledger.errors] == [
        ("customers.csv", 4, "Account", "C3"),
        ("customers.csv", 5, "Account", "C3"),
    ]
    assert ledger.customers["C1"].phone == "+12025550111"
    assert ledger.customers["C2"].phone is None and ledger.customers["C2"].name == "Two"
    # the bad number, once asked for, named by the file's own header
    assert (ledger.errors[-1].file, ledger.errors[-1].line, ledger.errors[-1].column) == (
        "customers.csv",
        3,
        "Mobile",
    )
    assert ledger.errors[-1].value == "99" and len(ledger.errors) == 3
    assert "C3" not in ledger.customers


def test_an_unreadable_csv_row_does_not_stop_the_rows_after_it(tmp_path):
    huge = "x" * 200_000  # over the csv module's 128 KiB field limit
    ledger = load(
        tmp_path,
        HEADER + f"A1,C1,,,2026-01-01,,5\nA2,{huge},,,2026-01-01,,5\nA3,C1,,,2026-01-01,,5\n",
    )
    assert [i.number for i in ledger.invoices] == ["A1", "A3"]
    assert [(e.line, e.column) for e in ledger.errors] == [(3, None)]
    assert ledger.errors[0].message.startswith("unreadable CSV row (field larger than field limit")


@pytest.mark.parametrize("block", [1, 2, 3, 7, 10_000])
def test_blocks_read_exactly_what_csv_reader_reads_row_by_row(tmp_path, monkeypatch, block):
    """Rows are read a block of lines at a time; whatever the block size, quoted line breaks
    (also across a block's end), blank lines, CR endings and unreadable rows come out with the
    same values and starting lines as csv.reader gives row by row."""
    import csv
    import random

    from arflow.config import SourceConfig
    from arflow.sources import csvfile

    rng = random.Random(block)
    pieces = [
        "A1,C1,5\n",
        "A2,C2,6\r\n",
        "A3,C3,7\r",
        "\n",
        "\r\n",
        'A4,"C 4",8\n',
        'A5,"two\nlines",9\n',
        'A6,"three\r\n\nlines",1\n',
        'A7,"say ""hi""",2\n',
        "A8,C8\n",
        f"A9,{'x' * 140_000},3\n",
        f'A10,"{"y" * 140_000}",4\n',
    ]
    text = "number,customer_id,amount\n" + "".join(rng.choice(pieces) for _ in range(60))
    path = tmp_path / "inv.csv"
    path.write_bytes(text.encode())

    expected, start = [], 2
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                values = ("unreadable", str(exc))
            expected.append((start, values))
            start = reader.line_num + 1

    monkeypatch.setattr(csvfile, "BLOCK", block)
    header, blocks = csvfile.read_csv(path, SourceConfig(path="inv.csv", delimiter=","), "inv.csv")
    got = []
    for lines, rows in blocks:
        assert len(lines) == len(rows)
        for line, values in zip(lines, rows, strict=True):
            if isinstance(values, csvfile.BadRow):
                values = ("unreadable", values.message.split("(", 1)[1].rsplit(")", 1)[0])
            got.append((line, values))
    assert header == ["number", "customer_id", "amount"]
    assert got == expected
    assert any(isinstance(v, tuple) for _, v in expected)  # the file did have an unreadable row
    assert any(len(v) == 3 and "\n" in v[1] for _, v in expected)  # and a quoted line break


def test_an_unclosed_quote_names_the_lines_it_swallowed(tmp_path):
    ledger = load(
        tmp_path,
        HEADER + 'A1,C1,,,2026-01-01,,5\nA2,"C1,,,2026-01-01,,5\n'
        "A3,C1,,,2026-01-01,,5\nA4,C1,,,2026-01-01,,5\n",
    )
    assert [i.number for i in ledger.invoices] == ["A1"]
    [error] = ledger.errors
    assert error.line == 3
    assert error.message == (
        "row has 2 values but the header has 7 columns; fix the quoting or "
        "the delimiter on this line (the next 2 lines were read into this "
        "row: look for an unclosed quote)"
    )


@pytest.mark.parametrize(
    "number, customer, column",
    [("A\x002", "C1", "number"), ("A2", "C\x001", "customer_id"), ("A2", "C\t1", "customer_id")],
)
def test_control_characters_in_ids_are_rejected(tmp_path, number, customer, column):
    ledger = load(
        tmp_path, HEADER + f"A1,C1,,,2026-01-01,,5\n{number},{customer},,,2026-01-01,,5\n"
    )
    assert [i.number for i in ledger.invoices] == ["A1"]
    assert [(e.line, e.column) for e in ledger.errors] == [(3, column)]
    assert "contains a control character" in ledger.errors[0].message


@pytest.mark.parametrize("bom, ending", [(b"", b"\n"), (b"\xef\xbb\xbf", b"\r\n")])
def test_bytes_that_are_not_utf8_deep_in_a_file_are_named_by_line(tmp_path, bom, ending):
    path = make_folder(tmp_path, invoices="", workflows={})
    rows = [f"A{i},C1,2026-01-01,5".encode() for i in range(30_000)]  # far past the first read
    rows[24_998] = "A24998,C1,Café,2026-01-01,5".encode("latin-1")  # on line 25,000
    data = bom + ending.join([b"number,customer_id,issue_date,amount", *rows]) + ending
    (tmp_path / "invoices.csv").write_bytes(data)
    with pytest.raises(ArflowError) as err:
        load_ledger(load_config(path))
    assert str(err.value) == (
        "invoices.csv: not UTF-8 text (byte 0xE9 at line 25000, column 14); "
        "save it as UTF-8, or add encoding: cp1252 to this source in arflow.yaml if that is how it "
        "was saved (the byte reads as 'é' in cp1252)"
    )


def test_crlf_cr_and_bom_files_read_alike(tmp_path):
    for ending in ("\r\n", "\r", "\n"):
        text = "\ufeffnumber,customer_id,issue_date,amount" + ending + "A1,C1,2026-01-01,5" + ending
        path = make_folder(tmp_path, invoices="", workflows={})
        (tmp_path / "invoices.csv").write_bytes(text.encode("utf-8"))
        ledger = load_ledger(load_config(path))
        assert [(i.number, i.customer_id) for i in ledger.invoices] == [("A1", "C1")], repr(ending)
        assert ledger.errors == []


def test_a_column_arflow_reads_may_not_appear_twice(tmp_path):
    with pytest.raises(
        ArflowError,
        match=re.escape(
            "invoices.csv: the header has two 'amount' columns; "
            "arflow cannot tell which one holds the amount: rename one of them"
        ),
    ):
        load(tmp_path, "number,customer_id,issue_date,amount,Amount\nA1,C1,2026-01-01,5,6\n")
    # a repeated column arflow does not read is no problem: it stays an extra column
    ledger = load(
        tmp_path, "number,customer_id,issue_date,amount,memo,memo\nA1,C1,2026-01-01,5,x,y\n"
    )
    assert [i.number for i in ledger.invoices] == ["A1"]


def test_progress_is_reported_in_bytes_up_to_the_whole_file(tmp_path, monkeypatch):
    from arflow.sources import csvfile, frames

    monkeypatch.setattr(csvfile, "BLOCK", 2)
    monkeypatch.setattr(frames, "SLICE_BYTES", 60)  # polars reads a few lines at a time
    rows = "".join(f"A{i},C1,,,2026-01-01,,5\n" for i in range(7))
    path = make_folder(tmp_path, invoices=HEADER + rows, workflows={})
    seen = []
    ledger = load_ledger(load_config(path), lambda done, total: seen.append((done, total)))
    size = (tmp_path / "invoices.csv").stat().st_size
    assert len(ledger.invoices) == 7
    assert seen[-1] == (size, size) and len(seen) >= 4
    assert all(total == size and 0 < done <= size for done, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_fast_and_careful_paths_build_identical_invoices(tmp_path):
    """Clean rows take the column-wise fast path; the careful per-row path must agree on every
    field, for every mix of optional columns."""
    import random

    from arflow.config import SourceConfig
    from arflow.ledger import Customer, invoices_from_frame
    from arflow.sources.frames import from_blocks
    from arflow.sources.invoices import InvoiceBuilder
    from arflow.sources.values import ValueParser

    rng = random.Random(5)
    header = [
        "number",
        "customer_id",
        "customer_name",
        "email",
        "phone",
        "issue_date",
        "due_date",
        "terms",
        "amount",
        "balance",
        "paid_date",
        "currency",
        "status",
        "product",
        "location",
        "segment",
        "tags",
        "memo",
    ]
    rows = []
    for n in range(400):
        issued = date(2026, 1, 1).toordinal() + rng.randrange(90)
        rows.append(
            [
                f"{n:07d}",
                f"C{rng.randrange(30)}",
                rng.choice(["", "Acme Ltd", " Beta "]),
                rng.choice(["", "ap@acme.example", "a@x.example; b@y.example"]),
                rng.choice(["", "+1 202 555 0111", "(202) 555-0122"]),
                date.fromordinal(issued).isoformat(),
                rng.choice(["", date.fromordinal(issued + rng.randrange(60)).isoformat()]),
                rng.choice(["", "Net 30", "net 15 eom", "EOM", "Due on receipt"]),
                rng.choice(["10", "1234.56", "-20.00", "0.01"]),
                rng.choice(["", "5.5", "0"]),
                rng.choice(["", date.fromordinal(issued + rng.randrange(90)).isoformat()]),
                rng.choice(["", "usd", "EUR"]),
                rng.choice(["", "open", "Paid", "draft"]),
                rng.choice(["", "hosting"]),
                rng.choice(["", "HQ"]),
                rng.choice(["", "retail"]),
                rng.choice(["", "a, b", "x;y"]),
                rng.choice(["", "memo text"]),
            ]
        )
    customers = {
        "C3": Customer("C3", terms="Net 45", currency="CAD"),
        "C4": Customer("C4", terms="EOM"),
    }
    source = SourceConfig(path="x.csv")

    def builder():
        return InvoiceBuilder(
            source, "x.csv", ValueParser(source, "invoices", "US"), customers, "USD", "Net 30"
        )

    def build(b, blocks):
        # as load_ledger reads a source: the frame, then its invoices as the ledger gives them
        frame = b.build_frame(header, lambda plain: iter([from_blocks(header, blocks)]))
        return invoices_from_frame(frame, b.extra_names)

    fast_builder = builder()
    careful_calls = []
    fast_builder._invoice = lambda *args: careful_calls.append(args)  # must not be needed
    fast = build(fast_builder, [(range(2, len(rows) + 2), rows)])
    assert careful_calls == []
    assert fast_builder.errors == [] and len(fast) == len(rows)
    careful_builder = builder()
    build(careful_builder, [])  # sets up column positions
    idx = {f: header.index(f) for f in header if f != "memo"}
    extra = [(header.index("memo"), "memo")]
    careful = [careful_builder._invoice(i + 2, r, idx, extra) for i, r in enumerate(rows)]
    fields = [f for f in Invoice.__dataclass_fields__]
    for a, b in zip(fast, careful, strict=True):
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields], a.number


# --- dates and amounts too far off to work with ------------------------------------------------
FAR_FUTURE = (
    "'9999-12-31' is too far in the future to schedule: arflow reads dates from "
    "1900-01-01 to 2199-12-31; write the real date"
)
FAR_PAST = (
    "'0001-01-01' is too far in the past to schedule: arflow reads dates from "
    "1900-01-01 to 2199-12-31; write the real date"
)
FAR_HEADER = "number,customer_id,issue_date,due_date,paid_date,terms,amount\n"


@pytest.mark.parametrize(
    "row, column, value, message",
    [
        ("F1,C1,9999-12-31,,,Net 30,5", "issue_date", "9999-12-31", FAR_FUTURE),
        ("F1,C1,0001-01-01,,,,5", "issue_date", "0001-01-01", FAR_PAST),
        ("F1,C1,2026-01-01,9999-12-31,,,5", "due_date", "9999-12-31", FAR_FUTURE),
        ("F1,C1,2026-01-01,0001-01-01,,,5", "due_date", "0001-01-01", FAR_PAST),
        ("F1,C1,2026-01-01,,9999-12-31,,5", "paid_date", "9999-12-31", FAR_FUTURE),
        (
            "F1,C1,1899-12-31,,,,5",
            "issue_date",
            "1899-12-31",
            "'1899-12-31' is too far in the past to schedule: arflow reads dates from 1900-01-01 to "
            "2199-12-31; write the real date",
        ),
        (
            "F1,C1,2026-01-01,2200-01-01T00:00:00Z,,,5",
            "due_date",
            "2200-01-01T00:00:00Z",
            "'2200-01-01T00:00:00Z' is too far in the future to schedule: arflow reads dates from "
            "1900-01-01 to 2199-12-31; write the real date",
        ),
    ],
)
def test_a_date_too_far_off_holds_back_only_its_row(tmp_path, row, column, value, message):
    ledger = load(
        tmp_path, FAR_HEADER + "G1,C1,2026-01-01,,,,5\n" + row + "\nG2,C2,2026-01-01,,,,7\n"
    )
    assert [i.number for i in ledger.invoices] == ["G1", "G2"]
    assert [(e.file, e.line, e.column, e.value, e.message) for e in ledger.errors] == [
        ("invoices.csv", 3, column, value, message)
    ]


def test_dates_on_the_bounds_are_read_and_far_terms_still_give_a_date(tmp_path):
    ledger = load(
        tmp_path,
        FAR_HEADER + "B1,C1,1900-01-01,,,,5\nB2,C1,2199-12-31,,,Net 9999 EOM,5\n"
        "B3,C1,2026-01-01,2199-12-31,2199-12-31,,5\n",
    )
    assert [(i.number, i.issue_date, i.due_date) for i in ledger.invoices] == [
        ("B1", date(1900, 1, 1), date(1900, 1, 31)),
        ("B2", date(2199, 12, 31), date(2227, 5, 18)),
        ("B3", date(2026, 1, 1), date(2199, 12, 31)),
    ]
    assert ledger.errors == []


def test_a_date_too_far_off_with_date_format_and_from_sqlite(tmp_path):
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}", 'invoices: {path: invoices.csv, date_format: "%m/%d/%Y"}'
    )
    ledger = load(
        tmp_path,
        "number,customer_id,issue_date,amount\nA1,C1,12/31/9999,5\nA2,C1,01/02/2026,5\n",
        config=config,
    )
    assert [i.number for i in ledger.invoices] == ["A2"]
    assert [(e.line, e.column, e.value, e.message) for e in ledger.errors] == [
        (
            2,
            "issue_date",
            "12/31/9999",
            "'12/31/9999' is too far in the future to schedule: arflow "
            "reads dates from 1900-01-01 to 2199-12-31; write the real date",
        )
    ]

    db = tmp_path / "ledger.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE inv (number TEXT, customer_id TEXT, issue_date TEXT, "
            "due_date TEXT, amount NUMERIC)"
        )
        conn.executemany(
            "INSERT INTO inv VALUES (?,?,?,?,?)",
            [
                ("S1", "C1", "2026-01-01", "9999-12-31", 5),
                ("S2", "C1", "0001-01-01", None, 5),
                ("S3", "C1", "2026-01-01", None, 10**18),
                ("S4", "C1", "2026-01-01", None, 5),
            ],
        )
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}", "invoices: {path: ledger.db, table: inv}"
    )
    ledger = load_ledger(
        load_config(make_folder(tmp_path, invoices="", workflows={}, config=config))
    )
    assert [i.number for i in ledger.invoices] == ["S4"]
    assert [(e.file, e.line, e.column, e.value) for e in ledger.errors] == [
        ("ledger.db", 1, "due_date", "9999-12-31"),
        ("ledger.db", 2, "issue_date", "0001-01-01"),
        ("ledger.db", 3, "amount", "1000000000000000000"),
    ]


TOO_LARGE = (
    "is too large: arflow reads amounts of up to 15 digits before the decimal point; fix "
    "the amount, or check that columns: maps the right column"
)


@pytest.mark.parametrize(
    "amount",
    [
        "1000000000000000000000000000000",  # 1e30, written out
        "9" * 100 + ".99",
        "1000000000000000",  # 16 digits
        "-1000000000000000.00",
        "(1000000000000000)",
    ],
)
def test_an_amount_too_large_to_add_up_exactly_holds_back_its_row(tmp_path, amount):
    ledger = load(
        tmp_path,
        "number,customer_id,issue_date,amount,balance\n"
        "G1,C1,2026-01-01,5,\n"
        f'A1,C1,2026-01-01,5,"{amount}"\n',
    )
    assert [i.number for i in ledger.invoices] == ["G1"]
    assert [(e.line, e.column, e.value, e.message) for e in ledger.errors] == [
        (3, "balance", amount, f"{amount!r} {TOO_LARGE}")
    ]


def test_the_largest_amounts_add_up_exactly(tmp_path):
    rows = "".join(f"A{n},C1,2026-01-01,999999999999999.99\n" for n in range(3))
    ledger = load(
        tmp_path,
        "number,customer_id,issue_date,amount\n"
        + rows
        + "B1,C1,2026-01-01,0000000000000000001.5\nB2,C1,2026-01-01,-999999999999999\n",
    )
    assert ledger.errors == []
    assert sum(i.amount for i in ledger.invoices) == Decimal("2000000000000002.47")


def test_amounts_too_large_with_thousands_separators(tmp_path):
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}", "invoices: {path: invoices.csv, thousands: ','}"
    )
    ledger = load(
        tmp_path,
        "number,customer_id,issue_date,amount\n"
        'A1,C1,2026-01-01,"$999,999,999,999,999.00"\n'
        'A2,C1,2026-01-01,"$1,000,000,000,000,000.00"\n',
        config=config,
    )
    assert [i.amount for i in ledger.invoices] == [Decimal("999999999999999.00")]
    assert [e.message for e in ledger.errors] == [f"'$1,000,000,000,000,000.00' {TOO_LARGE}"]


def test_terms_too_long_are_a_row_error_in_invoices_and_customers(tmp_path):
    config = BASE_CONFIG + "customers: {path: customers.csv}\n"
    ledger = load(
        tmp_path,
        "number,customer_id,issue_date,amount,terms\nA1,C1,2026-01-01,5,Net 99999\n"
        "A2,C2,2026-01-01,5,\n",
        config=config,
        **{"customers.csv": "customer_id,terms\nC2,Net 100000 EOM\n"},
    )
    assert [(e.file, e.line, e.column, e.value, e.message) for e in ledger.errors] == [
        (
            "customers.csv",
            2,
            "terms",
            "Net 100000 EOM",
            "payment terms 'Net 100000 EOM' are "
            "longer than 9999 days; write the real terms, or a due_date",
        ),
        (
            "invoices.csv",
            2,
            "terms",
            "Net 99999",
            "payment terms 'Net 99999' are longer than 9999 "
            "days; write the real terms, or a due_date",
        ),
    ]
    # C2's own terms were held back with its row: the company's Net 30 applies
    assert [(i.number, i.due_date) for i in ledger.invoices] == [("A2", date(2026, 1, 31))]


FAR_WORKFLOW = """\
anchor: due_date
steps:
  - {id: courtesy, day: -3, actions: [{email: reminder}]}
  - {id: late, day: 10, actions: [{email: reminder}]}
"""


def test_cli_run_and_status_go_on_past_a_date_too_far_off_and_exit_3(tmp_path, cli, run_json):
    config = make_folder(
        tmp_path,
        workflows={"std": FAR_WORKFLOW},
        config=BASE_CONFIG + "default_workflow: std\n",
        invoices=(
            "number,customer_id,email,issue_date,due_date,paid_date,amount\n"
            "A1,C1,a@c1.example,2026-01-01,2026-02-01,,100\n"
            "NEVER,C1,a@c1.example,2026-01-01,9999-12-31,,50\n"
            "OLD,C2,b@c2.example,0001-01-01,,,70\n"
            "A2,C2,b@c2.example,2026-01-01,2026-02-05,9999-12-31,80\n"
            "A3,C2,b@c2.example,2026-01-01,2026-02-01,,90\n"
        ),
    )
    code, doc = run_json(config, "2026-02-11", expect=3)
    assert code == 3
    assert [(a["customer_id"], a["step"], a["invoices"]) for a in doc["actions"]] == [
        ("C1", "late", ["A1"]),
        ("C2", "late", ["A3"]),
    ]
    assert doc["errors"] == [
        {
            "file": "invoices.csv",
            "line": 3,
            "column": "due_date",
            "value": "9999-12-31",
            "message": FAR_FUTURE,
        },
        {
            "file": "invoices.csv",
            "line": 4,
            "column": "issue_date",
            "value": "0001-01-01",
            "message": FAR_PAST,
        },
        {
            "file": "invoices.csv",
            "line": 5,
            "column": "paid_date",
            "value": "9999-12-31",
            "message": FAR_FUTURE,
        },
    ]
    assert doc["summary"]["invoices"] == 2 and doc["summary"]["errors"] == 3

    result = cli(
        "status", "--as-of", "2026-02-11", "--format", "json", "--config", config, expect=3
    )
    import json

    rows = json.loads(result.stdout)["customers"]
    assert [(r["customer_id"], r["open"], r["workflows"][0]["invoices"]) for r in rows] == [
        ("C1", {"USD": "100"}, ["A1"]),
        ("C2", {"USD": "90"}, ["A3"]),
    ]
    assert result.stderr.splitlines() == [
        f"error: invoices.csv:3: due_date: {FAR_FUTURE}",
        f"error: invoices.csv:4: issue_date: {FAR_PAST}",
        f"error: invoices.csv:5: paid_date: {FAR_FUTURE}",
    ]
    # a date typed on the command line is held to the same range
    assert FAR_FUTURE in " ".join(
        cli("status", "--as-of", "9999-12-31", "--config", config, expect=2).stderr.split()
    )


def test_status_of_clean_sources_still_exits_0(tmp_path, cli):
    config = make_folder(
        tmp_path,
        workflows={"std": FAR_WORKFLOW},
        config=BASE_CONFIG + "default_workflow: std\n",
        invoices="number,customer_id,issue_date,amount\nA1,C1,2026-01-01,5\n",
    )
    assert cli("status", "--as-of", "2026-02-11", "--config", config).stderr == ""


# --- bytes that are not UTF-8 in the first 64 KiB ----------------------------------------------
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("rows_before", [1, 2_000])  # a tiny file; one that fills the first read
def test_bytes_that_are_not_utf8_in_a_small_file_are_named_by_line(
    tmp_path, bom, ending, rows_before
):
    path = make_folder(tmp_path, invoices="", workflows={})
    rows = [f"A{i},C1,Acme,2026-01-01,5".encode() for i in range(rows_before)]
    rows.append("B1,C1,Café,2026-01-01,5".encode("latin-1"))
    rows += [b"B2,C1,Acme,2026-01-01,5"] * 3
    data = (
        bom + ending.join([b"number,customer_id,customer_name,issue_date,amount", *rows]) + ending
    )
    assert len(data) < 65536
    (tmp_path / "invoices.csv").write_bytes(data)
    with pytest.raises(ArflowError) as err:
        load_ledger(load_config(path))
    assert str(err.value) == (
        f"invoices.csv: not UTF-8 text (byte 0xE9 at line {rows_before + 2}, column 10); "
        "save it as UTF-8, or add encoding: cp1252 to this source in arflow.yaml if that is how it "
        "was saved (the byte reads as 'é' in cp1252)"
    )


def test_bytes_that_are_not_utf8_in_a_small_customers_file_are_named_by_line(tmp_path):
    config = BASE_CONFIG + "customers: {path: customers.csv}\n"
    path = make_folder(
        tmp_path, invoices="number,customer_id,issue_date,amount\n", workflows={}, config=config
    )
    data = "customer_id,name\r\nC1,Acme\r\nC2,Société\r\n".encode("latin-1")
    (tmp_path / "customers.csv").write_bytes(data)
    with pytest.raises(ArflowError) as err:
        load_ledger(load_config(path))
    assert str(err.value) == (
        "customers.csv: not UTF-8 text (byte 0xE9 at line 3, column 8); "
        "save it as UTF-8, or add encoding: cp1252 to this source in arflow.yaml if that is how it "
        "was saved (the byte reads as 'é' in cp1252)"
    )


@pytest.mark.parametrize("typed", ["9999-12-31", "12/31/9999"])
def test_a_typed_date_too_far_off_is_a_usage_error_with_date_format_too(tmp_path, cli, typed):
    config = make_folder(
        tmp_path,
        workflows={},
        invoices="number,customer_id,issue_date,amount\n",
        config=BASE_CONFIG.replace(
            "invoices: {path: invoices.csv}",
            'invoices: {path: invoices.csv, date_format: "%m/%d/%Y"}',
        ),
    )
    result = cli("pause", "customer", "C1", "--until", typed, "--config", config, expect=2)
    assert (
        f"Invalid value for --until: {typed!r} is too far in the future to schedule: arflow "
        "reads dates from 1900-01-01 to 2199-12-31; write the real date"
    ) in " ".join(result.stderr.replace("│", "").split())


def _example_with_phones(root: Path, phones: dict[str, str]) -> Path:
    """The bundled example (dated 2026-03-16) with some customers' numbers replaced."""
    from arflow.scaffold import write_scaffold

    write_scaffold(root, date(2026, 3, 16))
    path = root / "customers.csv"
    text = path.read_text()
    for old, new in phones.items():
        assert old in text
        text = text.replace(old, new)
    path.write_text(text)
    return root / "arflow.yaml"


def _dry_run(cli, config: Path, expect: int) -> list[str]:
    result = cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", config, expect=expect)
    return result.stdout.splitlines()[1:]  # the first line says when it started


def test_a_bad_phone_nobody_texts_tonight_stops_nothing_and_is_not_checked(
    cli, tmp_path, monkeypatch
):
    """C001 gets an email tonight, no SMS, and no message shows its number; C007 gets
    nothing: their bad numbers change nothing in the run and are never checked (issue 30);
    `sources` still reports both."""
    from arflow import phones

    clean = _dry_run(cli, _example_with_phones(tmp_path / "clean", {}), 0)
    checked = []
    check = phones.e164
    monkeypatch.setattr(
        phones, "e164", lambda text, region: checked.append(text) or check(text, region)
    )
    config = _example_with_phones(
        tmp_path / "bad",
        {
            "+1 202 555 0111": "77",
            "treasury@contoso-group.example,": "treasury@contoso-group.example,88",
        },
    )
    assert _dry_run(cli, config, 0) == clean
    assert (
        clean[-1] == "2026-03-16: 10 invoices, 8 open, 12 action(s) planned, 7 skipped, 0 error(s)"
    )
    # C002's for its SMS; C004's and C006's for the internal notices that show them
    assert sorted(checked) == ["+1 202 555 0122", "+1 202 555 0144", "+1 202 555 0166"]
    result = cli(
        "sources", "--as-of", "2026-03-16", "--format", "json", "--config", config, expect=3
    )
    assert json.loads(result.stdout)["errors"] == [
        {
            "file": "customers.csv",
            "line": 2,
            "column": "phone",
            "value": "77",
            "message": "'77' is not a valid phone number (write it with its country code, e.g. "
            "+1 …); the invoice is kept, but no SMS can go to this number",
        },
        {
            "file": "customers.csv",
            "line": 8,
            "column": "phone",
            "value": "88",
            "message": "'88' is not a valid phone number (write it with its country code, e.g. "
            "+1 …); the invoice is kept, but no SMS can go to this number",
        },
    ]


def test_a_customer_texted_tonight_with_a_bad_phone_is_skipped_and_reported(cli, tmp_path):
    """The SMS planned for C002 needs its number: the number is checked then, the SMS is
    skipped `no-phone` and the bad value reported with its file, line and fix (exit 3), as
    when every number was checked while reading. C001's bad number, which nothing tonight
    needs, is not (not even to see whether any customer has a number at all)."""
    config = _example_with_phones(tmp_path, {"+1 202 555 0122": "12", "+1 202 555 0111": "77"})
    lines = _dry_run(cli, config, 3)
    assert "skipped\tC002\tnet30-standard\treminder\tno-phone\tINV-1002,INV-1003" in lines
    assert not any("\tsms\t" in line for line in lines)
    assert lines[-2:] == [
        "error\tcustomers.csv:3: phone: '12' is not a valid phone number (write it with its "
        "country code, e.g. +1 …); the invoice is kept, but no SMS can go to this number",
        "2026-03-16: 10 invoices, 8 open, 11 action(s) planned, 8 skipped, 1 error(s)",
    ]


def test_errors_of_one_cause_are_shown_by_their_first_line_whatever_order_they_came_in():
    """Phone numbers are reported as they are checked, in no line order; the summary of a
    cause still names its lines in order and shows the first one."""
    from arflow.errors import RowError
    from arflow.reading import group_errors

    def bad(line: int, value: str) -> RowError:
        return RowError("customers.csv", line, "phone", value, f"{value!r} is not valid")

    (group,) = group_errors([bad(7, "99"), bad(3, "12")])
    assert group.text() == (
        "customers.csv: 2 rows (lines 3, 7): e.g. line 3: phone: '12' is not valid"
    )
