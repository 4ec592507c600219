"""Accounting packages' report exports read with one line of config (issue 17, item 2): title
rows above the header, customer headings, "Total for …" rows and footers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import make_folder

PRESETS = Path(__file__).parent / "data" / "presets"

WORKFLOW = """\
steps:
  - {id: reminder, day: 1, actions: [{email: reminder}]}
  - {id: overdue-30, day: 30, actions: [{email: reminder}]}
"""

QB_CUSTOMERS = """\
customer_id,name,email
Amy's Bird Sanctuary,Amy's Bird Sanctuary,birds@amy.example
Cool Cars,Cool Cars,cool@cars.example
Freeman Sporting Goods:55 Twin Lane,Freeman Sporting Goods,ap@freeman.example
Red Rock Diner,Red Rock Diner,qbwebsamplecompany@red-rock.example
Geeta Kalapatapu,Geeta Kalapatapu,geeta@kalapatapu.example
"""

XERO_CUSTOMERS = """\
customer_id,email
Bayside Club,accounts@bayside.example
City Limousines,billing@citylimo.example
Marine Systems,ap@marinesystems.example
"""


def preset_folder(tmp_path: Path, preset: str, customers: str, extra: str = "") -> Path:
    config = make_folder(
        tmp_path / "ar",
        invoices="",
        workflows={"net30": WORKFLOW},
        config=f"""\
        company: {{name: Acme Ltd, email: ar@acme.example, timezone: America/New_York,
                  currency: USD, locale: en_US, terms: Net 30}}
        invoices: {{path: export.csv, preset: {preset}{extra}}}
        customers: {{path: customers.csv}}
        default_workflow: net30
        """,
        extra_files={"customers.csv": customers},
    )
    shutil.copy(PRESETS / f"{preset}.csv", config.parent / "export.csv")
    return config


def plan(run_json, config: Path) -> tuple[dict, dict]:
    _, doc = run_json(config, "2026-11-28")
    sent = {(a["customer_id"], a["step"]): a["invoices"] for a in doc["actions"]}
    return doc, sent


def test_quickbooks_open_invoices_reads_as_its_rows_say(tmp_path, run_json):
    config = preset_folder(tmp_path, "quickbooks-open-invoices", QB_CUSTOMERS)
    doc, sent = plan(run_json, config)
    assert doc["errors"] == []
    # 1037 is not due yet; the credit memo 1040 is nobody's reminder
    assert sent == {
        ("Amy's Bird Sanctuary", "overdue-30"): ["1021"],
        ("Amy's Bird Sanctuary", "reminder"): ["1035"],
        ("Freeman Sporting Goods:55 Twin Lane", "overdue-30"): ["1010"],
        ("Red Rock Diner", "overdue-30"): ["1033"],
        ("Red Rock Diner", "reminder"): ["1038"],
    }
    recipients = {a["customer_id"]: a["to"] for a in doc["actions"]}
    assert recipients["Red Rock Diner"] == ["qbwebsamplecompany@red-rock.example"]


def test_quickbooks_ar_aging_detail_reads_as_its_rows_say(tmp_path, run_json):
    config = preset_folder(tmp_path, "quickbooks-ar-aging-detail", QB_CUSTOMERS)
    doc, sent = plan(run_json, config)
    assert doc["errors"] == []
    assert sent == {
        ("Amy's Bird Sanctuary", "overdue-30"): ["1021"],
        ("Amy's Bird Sanctuary", "reminder"): ["1035"],
        ("Freeman Sporting Goods:55 Twin Lane", "overdue-30"): ["1010"],
        ("Geeta Kalapatapu", "overdue-30"): ["1004"],
        ("Red Rock Diner", "overdue-30"): ["1033"],
        ("Red Rock Diner", "reminder"): ["1038"],
    }


def test_xero_aged_receivables_reads_as_its_rows_say(tmp_path, run_json):
    config = preset_folder(tmp_path, "xero-aged-receivables", XERO_CUSTOMERS)
    doc, sent = plan(run_json, config)
    assert doc["errors"] == []
    # INV-0027 is 29 days past due: still the reminder; INV-0036 is not due
    assert sent == {
        ("Bayside Club", "reminder"): ["INV-0031"],
        ("City Limousines", "overdue-30"): ["INV-0019"],
        ("Marine Systems", "reminder"): ["INV-0027"],
    }


def test_the_presets_read_amounts_and_headings_exactly(tmp_path):
    from arflow.config import load_config
    from arflow.sources import load_ledger

    config = load_config(preset_folder(tmp_path, "quickbooks-ar-aging-detail", QB_CUSTOMERS))
    ledger = load_ledger(config)
    by_number = {i.number: i for i in ledger.invoices}
    assert sorted(by_number) == ["1004", "1010", "1021", "1033", "1035", "1037", "1038"]
    geeta = by_number["1004"]
    assert (str(geeta.amount), str(geeta.balance), str(geeta.due_date), geeta.line) == (
        "629.10",
        "429.10",
        "2026-07-30",
        21,
    )
    xero = load_config(preset_folder(tmp_path / "x", "xero-aged-receivables", XERO_CUSTOMERS))
    by_number = {i.number: i for i in load_ledger(xero).invoices}
    assert {n: (i.customer_id, str(i.amount)) for n, i in by_number.items()} == {
        "INV-0031": ("Bayside Club", "234.00"),
        "INV-0036": ("Bayside Club", "1250.00"),
        "INV-0019": ("City Limousines", "4218.50"),
        "INV-0027": ("Marine Systems", "612.80"),
        "CN-0004": ("Marine Systems", "-120.00"),
    }
    assert by_number["CN-0004"].line == 16


def test_a_row_skip_if_would_drop_but_that_looks_like_an_invoice_is_reported(tmp_path, run_json):
    config = preset_folder(tmp_path, "quickbooks-open-invoices", QB_CUSTOMERS)
    export = config.parent / "export.csv"
    text = export.read_text().replace(",11/10/2026,Invoice,1038,", ",11/10/2026,Invoice,,")
    export.write_text(text)
    _, doc = run_json(config, "2026-11-28", expect=3)
    (error,) = doc["errors"]
    assert (error["file"], error["line"]) == ("export.csv", 19)
    assert (
        "skip_if: leaves out rows whose Num is '', but this one has an issue date "
        "(11/10/2026)" in error["message"]
    )
    # the other rows go on
    assert {(a["customer_id"], a["step"]) for a in doc["actions"]} == {
        ("Amy's Bird Sanctuary", "overdue-30"),
        ("Amy's Bird Sanctuary", "reminder"),
        ("Freeman Sporting Goods:55 Twin Lane", "overdue-30"),
        ("Red Rock Diner", "overdue-30"),
    }


PAYMENT = {
    "quickbooks-open-invoices": (
        ",10/21/2026,Invoice,1035,",
        ",11/12/2026,Payment,,,11/12/2026,-120.00\n",
    ),
    "quickbooks-ar-aging-detail": (
        ",10/21/2026,Invoice,1035,",
        ",11/12/2026,Payment,,Amy's Bird Sanctuary,11/12/2026,-120.00,-120.00\n",
    ),
}


@pytest.mark.parametrize("preset", sorted(PAYMENT))
def test_the_documented_rule_leaves_quickbooks_unapplied_payments_out(tmp_path, run_json, preset):
    """An unapplied payment has a date and no Num: the preset's `Num: ""` alone reports it;
    `skip_if: {Transaction Type: Payment}` beside the preset names it, and it is left out."""
    extra = ", skip_if: {Transaction Type: Payment}"
    config = preset_folder(tmp_path, preset, QB_CUSTOMERS, extra)
    export = config.parent / "export.csv"
    before, payment = PAYMENT[preset]
    lines = export.read_text().splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines) if line.startswith(before))
    export.write_text("".join([*lines[: at + 1], payment, *lines[at + 1 :]]))
    _, doc = run_json(config, "2026-11-28")
    assert doc["errors"] == []
    assert ("Amy's Bird Sanctuary", "reminder") in {
        (a["customer_id"], a["step"]) for a in doc["actions"]
    }
    config.write_text(config.read_text().replace(extra, ""))
    _, doc = run_json(config, "2026-11-28", expect=3)
    (error,) = doc["errors"]
    assert error["line"] == at + 2
    assert "rows whose Num is ''" in error["message"]


def test_an_open_invoices_export_with_a_customer_column_is_read(tmp_path, run_json):
    """Open Invoices customised to show a Customer column beside the customer headings: each
    row's own Customer is read (it wins over the heading); a row that leaves it empty takes
    its heading."""
    config = preset_folder(tmp_path, "quickbooks-open-invoices", QB_CUSTOMERS)
    export = config.parent / "export.csv"
    rows = []
    heading = ""
    for line in export.read_text().splitlines():
        cells = line.split(",")
        if line.startswith(",Date,"):
            line = ",Date,Transaction Type,Num,Customer," + line.split("Num,", 1)[1]
        elif len(cells) > 3 and cells[0] and not any(cells[1:]):
            heading = cells[0]
            line += ","
        elif line.startswith(",") and cells[1]:
            # 1038 leaves it to the heading; 1033 was billed to another customer
            own = {"1038": "", "1033": "Cool Cars"}.get(cells[3], heading)
            line = ",".join([*cells[:4], own, *cells[4:]])
        elif len(cells) > 3:
            line += ","
        rows.append(line)
    export.write_text("\n".join(rows) + "\n")
    doc, sent = plan(run_json, config)
    assert doc["errors"] == []
    assert sent == {
        ("Amy's Bird Sanctuary", "overdue-30"): ["1021"],
        ("Amy's Bird Sanctuary", "reminder"): ["1035"],
        ("Freeman Sporting Goods:55 Twin Lane", "overdue-30"): ["1010"],
        ("Cool Cars", "overdue-30"): ["1033"],
        ("Red Rock Diner", "reminder"): ["1038"],
    }


def test_header_row_and_skip_if_are_plain_settings_too(tmp_path, run_json):
    config = make_folder(
        tmp_path / "ar",
        invoices="""\
        Ledger export, printed;2026-11-28;for;all;customers
        (internal);;;;
        number;customer_id;issue_date;amount;kind
        A-1;C1;2026-10-01;100.00;invoice
        SUB;C1;2026-10-01;100.00;subtotal
        A-2;C2;2026-10-02;50.00;invoice
        ;C1;2026-10-03;70.00;invoice
        ;;;150.00;Total for the ledger
        """,
        workflows={"net30": WORKFLOW},
        config="""\
        company: {name: Acme Ltd, email: ar@acme.example, timezone: UTC, terms: Net 30}
        invoices: {path: invoices.csv, header_row: 3,
                   skip_if: {kind: [subtotal, "total*"], number: ""}}
        customers: {path: customers.csv}
        default_workflow: net30
        """,
        extra_files={"customers.csv": "customer_id,email\nC1,ap@c1.example\nC2,ap@c2.example\n"},
    )
    # title rows padded to the header's width, as spreadsheets save them; the delimiter is the
    # header's, not the title's
    _, doc = run_json(config, "2026-11-28", expect=3)
    assert sorted(a["invoices"][0] for a in doc["actions"] + doc["skipped"]) == ["A-1", "A-2"]
    # a row a rule names by its value (kind: subtotal) is left out, dated or not; a dated
    # row only an empty cell leaves out (no number: an invoice entered without one) is
    # reported, not dropped
    (error,) = doc["errors"]
    assert (error["line"], error["column"]) == (7, None)
    assert "skip_if: leaves out rows whose number is ''" in error["message"]
    config.write_text(config.read_text().replace("header_row: 3", "skip_rows: 2"))
    _, again = run_json(config, "2026-11-28", expect=3)
    assert again["errors"] == doc["errors"] and again["actions"] == doc["actions"]
    # a title row that reads as a header of the same width is no header either
    invoices = config.parent / "invoices.csv"
    invoices.write_text(invoices.read_text().replace("Ledger export, printed", "Ledger export"))
    _, again = run_json(config, "2026-11-28", expect=3)
    assert again["errors"] == doc["errors"] and again["actions"] == doc["actions"]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "preset: quickbooks",
            "no preset 'quickbooks'; presets are: quickbooks-open-invoices, "
            "quickbooks-ar-aging-detail, xero-aged-receivables",
        ),
        (
            "header_row: 2, skip_rows: 1",
            "give either header_row: (the line the header is on) or "
            "skip_rows: (the lines above it), not both",
        ),
        ("header_row: auto", "header_row: auto finds the header by the names in columns:"),
    ],
)
def test_bad_source_settings_are_named(tmp_path, cli, setting, message):
    config = make_folder(
        tmp_path / "ar",
        invoices="number\n",
        workflows={"net30": WORKFLOW},
        config=f"""\
        company: {{name: Acme Ltd}}
        invoices: {{path: invoices.csv, {setting}}}
        """,
    )
    result = cli("validate", config, expect=1)
    assert message in result.output
    assert "arflow.yaml:2: invoices" in result.output


def test_validate_checks_the_column_map_against_the_files_header(tmp_path, cli):
    config = preset_folder(
        tmp_path,
        "quickbooks-open-invoices",
        QB_CUSTOMERS,
        extra=", header_row: 5, columns: {due_date: Due}",
    )
    result = cli("validate", config, expect=1)
    assert (
        "export.csv: columns: maps due_date to 'Due', but there is no such column (columns "
        "are: , Date, Transaction Type, Num, Term, Due Date, Open Balance, Customer)"
    ) in result.output
    assert "arflow.yaml:3: invoices: export.csv" in result.output
    # a header_row: auto that cannot find the columns says so
    config.write_text(
        config.read_text().replace(
            "header_row: 5, columns: {due_date: Due}", "columns: {number: Invoice No}"
        )
    )
    result = cli("validate", config, expect=1)
    assert (
        "no header row in the first 50 lines has the columns 'Invoice No', 'Date', "
        "'Due Date', 'Open Balance'; set header_row: to the header's line number, or fix "
        "columns:"
    ) in result.output
    # without the data (CI checks workflows without the ledger) there is nothing to compare
    (config.parent / "export.csv").unlink()
    cli("validate", config.replace(config.parent / "arflow.yaml"))
    # a file with a column of the headings' name is read by that column
    shutil.copy(PRESETS / "quickbooks-ar-aging-detail.csv", config.parent / "export.csv")
    config.write_text(config.read_text().replace(", columns: {number: Invoice No}", ""))
    cli("validate", config)
