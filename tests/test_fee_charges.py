"""`- charge_fees: true` (issue 31) as users run it: each charge once per step and invoice,
across reruns, a catch-up over missed nights, two steps in one night, a waiver, and a
process killed with SIGKILL mid-run; the messages show the fees; the journal lists each
charge once."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_folder
from tests.test_faults import ROOT, start

DUN = """\
name: Dun
anchor: due_date
catch_up: {catch_up}
steps:
  - id: first
    day: 10
    actions:
      - charge_fees: true
      - email: dunning
  - id: second
    day: 20
    actions:
      - charge_fees: true
      - email: dunning
"""
TEMPLATES = {
    "dunning.subject.j2": "Fees on {{ invoices|map(attribute='number')|join(', ') }}",
    "dunning.txt.j2": (
        "{% for inv in invoices %}{{ inv.number }}: {{ inv.days_late }} days late, interest "
        "{{ inv.interest }}, compensation {{ inv.compensation }}, charged {{ inv.fees_charged }},"
        " due {{ inv.amount_due }}\n{% endfor %}"
        "account: interest {{ totals.interest }}, fees {{ totals.fees }}"
    ),
}
CONFIG = """\
company: {{name: Acme GmbH, email: ar@acme.example, timezone: UTC, currency: EUR, locale: de_DE}}
invoices: {{path: invoices.csv}}
default_workflow: dun
channels:
  email: {email}
late_fees:
  interest: {{annual: 10}}
  compensation: {{fixed: 40}}
  fee: {{fixed: 5}}
"""
OUTBOX = "{transport: outbox, dir: outbox}"
INVOICES = """\
number,customer_id,customer_name,email,issue_date,due_date,amount,currency
INV-1,C1,Customer One,ap@c1.example,2026-02-01,2026-03-10,1000.00,EUR
"""


def folder(tmp_path: Path, catch_up: str = "latest", invoices: str = INVOICES, email=OUTBOX):
    return make_folder(
        tmp_path / "ar",
        invoices=invoices,
        workflows={"dun": DUN.format(catch_up=catch_up)},
        config=CONFIG.format(email=email),
        templates=TEMPLATES,
    )


def charges(config: Path) -> list[tuple]:
    conn = sqlite3.connect(config.parent / "arflow.db")
    try:
        return conn.execute(
            "SELECT key, invoice, kind, amount, as_of FROM fee_charges ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def run(cli, config: Path, day: str, *extra: str) -> dict:
    """`arflow run` as cron runs it: a process of its own."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "arflow",
            "run",
            "--format",
            "json",
            "--as-of",
            day,
            "--config",
            str(config),
            *extra,
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def bodies(config: Path) -> list[str]:
    found = []
    for path in sorted((config.parent / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found.append(message.get_body(("plain",)).get_content().replace("\r\n", "\n").strip())
    return found


FIRST, SECOND = "invoice:INV-1/dun/first/0", "invoice:INV-1/dun/second/0"


def test_each_step_charges_once_and_its_email_shows_the_charge(tmp_path, cli):
    config = folder(tmp_path)
    dry = run(cli, config, "2026-03-20", "--dry-run")
    # 10 days of 10 % on 1,000.00: 2.7397 → 2.74; 40.00 once; the step's 5.00
    assert [a["fees"] for a in dry["actions"] if a["action"] == "charge_fees"] == [
        [
            {
                "invoice": "INV-1",
                "kind": "interest",
                "amount": "2.74",
                "currency": "EUR",
                "detail": "2026-03-11 to 2026-03-20, 10 days at 10% on 1000.00",
            },
            {
                "invoice": "INV-1",
                "kind": "compensation",
                "amount": "40.00",
                "currency": "EUR",
                "detail": None,
            },
            {
                "invoice": "INV-1",
                "kind": "fee",
                "amount": "5.00",
                "currency": "EUR",
                "detail": None,
            },
        ]
    ]
    assert not (config.parent / "arflow.db").exists()  # a dry run records nothing

    first = run(cli, config, "2026-03-20")
    assert [(a["action"], a["status"]) for a in first["actions"]] == [
        ("charge_fees", "done"),
        ("email", "sent"),
    ]
    assert charges(config) == [
        (FIRST, "INV-1", "interest", "2.74", "2026-03-20"),
        (FIRST, "INV-1", "compensation", "40.00", "2026-03-20"),
        (FIRST, "INV-1", "fee", "5.00", "2026-03-20"),
    ]
    assert run(cli, config, "2026-03-20")["actions"] == []  # a rerun charges nothing
    assert run(cli, config, "2026-03-25")["actions"] == []
    # day 20: 20 days accrued (5.4795 → 5.48), less the 2.74 charged; no second compensation
    second = run(cli, config, "2026-03-30")
    assert [a["action"] for a in second["actions"]] == ["charge_fees", "email"]
    assert charges(config)[3:] == [
        (SECOND, "INV-1", "interest", "2.74", "2026-03-30"),
        (SECOND, "INV-1", "fee", "5.00", "2026-03-30"),
    ]
    # each email shows the interest to its day and what its own step charged
    assert bodies(config) == [
        "INV-1: 10 days late, interest 2.74, compensation 40.00, charged 47.74, due 1047.74\n"
        "account: interest 2.74, fees 47.74",
        "INV-1: 20 days late, interest 5.48, compensation 40.00, charged 55.48, due 1055.48\n"
        "account: interest 5.48, fees 55.48",
    ]
    fees = json.loads(
        cli("fees", "--as-of", "2026-03-30", "--format", "json", "--config", config).stdout
    )
    assert [(i["interest"], i["compensation"], i["charged"]) for i in fees["invoices"]] == [
        ("5.48", "40.00", "55.48")
    ]


def test_a_catch_up_over_missed_nights_charges_once_to_the_day_it_runs(tmp_path, cli):
    config = folder(tmp_path)
    assert run(cli, config, "2026-03-19")["actions"] == []
    # the nights of 20–26 March were missed: the first step runs late, once, on the 27th
    assert [a["action"] for a in run(cli, config, "2026-03-27")["actions"]] == [
        "charge_fees",
        "email",
    ]
    assert run(cli, config, "2026-03-27")["actions"] == []
    # 17 days: 4.6575 → 4.66
    assert [c[2:4] for c in charges(config)] == [
        ("interest", "4.66"),
        ("compensation", "40.00"),
        ("fee", "5.00"),
    ]
    # ten days missed past the second step too: catch_up latest runs the second only
    fresh = folder(tmp_path / "late")
    assert [(a["step"], a["action"]) for a in run(cli, fresh, "2026-04-09")["actions"]] == [
        ("second", "charge_fees"),
        ("second", "email"),
    ]
    # 30 days: 8.2192 → 8.22
    assert [c[0:4] for c in charges(fresh)] == [
        (SECOND, "INV-1", "interest", "8.22"),
        (SECOND, "INV-1", "compensation", "40.00"),
        (SECOND, "INV-1", "fee", "5.00"),
    ]


def test_two_steps_in_one_night_never_charge_the_same_interest_twice(tmp_path, cli):
    config = folder(tmp_path, catch_up="all")
    doc = run(cli, config, "2026-03-31")
    fees = [a["fees"] for a in doc["actions"] if a["action"] == "charge_fees"]
    # 21 days: 5.7534 → 5.75, charged by the first; the second charges its fee only
    assert [[(f["kind"], f["amount"]) for f in each] for each in fees] == [
        [("interest", "5.75"), ("compensation", "40.00"), ("fee", "5.00")],
        [("fee", "5.00")],
    ]
    assert [c[0:4] for c in charges(config)] == [
        (FIRST, "INV-1", "interest", "5.75"),
        (FIRST, "INV-1", "compensation", "40.00"),
        (FIRST, "INV-1", "fee", "5.00"),
        (SECOND, "INV-1", "fee", "5.00"),
    ]


def test_a_waived_invoice_is_charged_nothing_more(tmp_path, cli):
    config = folder(tmp_path)
    run(cli, config, "2026-03-20")
    out = cli(
        "fees",
        "waive",
        "INV-1",
        "--reason",
        "goodwill",
        "--as-of",
        "2026-03-21",
        "--config",
        config,
    ).stdout
    assert out == "INV-1: fees waived from 2026-03-21\n"
    again = cli("fees", "waive", "INV-1", "--config", config).stdout
    assert again == "INV-1: fees were waived already\n"
    doc = run(cli, config, "2026-03-30")
    assert [a["fees"] for a in doc["actions"] if a["action"] == "charge_fees"] == [[]]
    assert len(charges(config)) == 3  # the first step's only
    fees = json.loads(
        cli("fees", "--as-of", "2026-03-30", "--format", "json", "--config", config).stdout
    )["invoices"][0]
    assert (fees["interest"], fees["compensation"], fees["charged"], fees["waived"]) == (
        "0.00",
        "0.00",
        "47.74",
        True,
    )
    entries = json.loads(cli("history", "--format", "json", "--config", config).stdout)["actions"]
    assert [(e["as_of"], e["kind"], e["state"], e["description"]) for e in entries] == [
        (
            "2026-03-20",
            "charge_fees",
            "done",
            "fees: INV-1 interest 2.74 EUR, compensation 40.00 EUR, fee 5.00 EUR",
        ),
        ("2026-03-20", "email", "sent", None),
        ("2026-03-21", "waive", "done", "fees waived: goodwill"),
        ("2026-03-30", "charge_fees", "done", "fees: nothing"),
        ("2026-03-30", "email", "sent", None),
    ]
    result = cli("fees", "waive", "INV-404", "--config", config, expect=2)
    assert "no invoice INV-404 in the invoices source" in result.output


def test_the_journal_lists_each_charge_once_as_sales_invoices(tmp_path, cli):
    config = folder(tmp_path)
    run(cli, config, "2026-03-20")
    run(cli, config, "2026-03-30")
    out = cli(
        "fees", "--journal", "--account", "4050", "--tax-type", "Tax Exempt", "--config", config
    ).stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [
        [
            "ContactName",
            "InvoiceNumber",
            "Reference",
            "InvoiceDate",
            "DueDate",
            "Description",
            "Quantity",
            "UnitAmount",
            "AccountCode",
            "TaxType",
            "Currency",
        ],
        [
            "Customer One",
            "LF-C1-20260320-EUR",
            "INV-1",
            "20/03/2026",
            "20/03/2026",
            "Compensation for the late payment of INV-1",
            "1",
            "40.00",
            "4050",
            "Tax Exempt",
            "EUR",
        ],
        [
            "Customer One",
            "LF-C1-20260320-EUR",
            "INV-1",
            "20/03/2026",
            "20/03/2026",
            "Late fee on INV-1",
            "1",
            "5.00",
            "4050",
            "Tax Exempt",
            "EUR",
        ],
        [
            "Customer One",
            "LF-C1-20260320-EUR",
            "INV-1",
            "20/03/2026",
            "20/03/2026",
            "Late payment interest on INV-1 (2026-03-11 to 2026-03-20, 10 days at 10% on 1000.00)",
            "1",
            "2.74",
            "4050",
            "Tax Exempt",
            "EUR",
        ],
        [
            "Customer One",
            "LF-C1-20260330-EUR",
            "INV-1",
            "30/03/2026",
            "30/03/2026",
            "Late fee on INV-1",
            "1",
            "5.00",
            "4050",
            "Tax Exempt",
            "EUR",
        ],
        [
            "Customer One",
            "LF-C1-20260330-EUR",
            "INV-1",
            "30/03/2026",
            "30/03/2026",
            "Late payment interest on INV-1 (2026-03-11 to 2026-03-30, 20 days at 10% on 1000.00: "
            "5.48, less 2.74 charged before)",
            "1",
            "2.74",
            "4050",
            "Tax Exempt",
            "EUR",
        ],
    ]
    bare = cli("fees", "--journal", "--config", config)
    assert bare.stderr == (
        "warning: Xero asks each line for an AccountCode and a TaxType: give --account and "
        "--tax-type (or fill them in before importing)\n"
    )
    since = cli(
        "fees", "--journal", "--since", "2026-03-25", "--layout", "quickbooks", "--config", config
    ).stdout
    assert list(csv.reader(io.StringIO(since)))[1:] == [
        [
            "LF-C1-20260330-EUR",
            "Customer One",
            "30/03/2026",
            "30/03/2026",
            "Late fees on INV-1",
            "Late fees",
            "Late fee on INV-1",
            "1",
            "5.00",
            "5.00",
            "EUR",
        ],
        [
            "LF-C1-20260330-EUR",
            "Customer One",
            "30/03/2026",
            "30/03/2026",
            "Late fees on INV-1",
            "Late fees",
            "Late payment interest on INV-1 (2026-03-11 to 2026-03-30, 20 days at 10% on 1000.00: "
            "5.48, less 2.74 charged before)",
            "1",
            "2.74",
            "2.74",
            "EUR",
        ],
    ]


def test_kill_9_mid_run_then_rerun_never_charges_twice(tmp_path, smtp_server):
    invoices = "number,customer_id,customer_name,email,issue_date,due_date,amount,currency\n" + (
        "".join(
            f"INV-{n},C{n},Customer {n},ap@c{n}.example,2026-02-01,2026-03-01,{n}00.00,EUR\n"
            for n in range(1, 6)
        )
    )
    email = f"{{transport: smtp, host: 127.0.0.1, port: {smtp_server.port}, timeout: 5}}"
    config = folder(tmp_path, invoices=invoices, email=email)
    smtp_server.handler.hold_on = 2  # the third email waits inside DATA
    victim = start(config)  # a real process, as of 2026-03-11: the first step, 10 days late
    assert smtp_server.handler.arrived.wait(60), victim.communicate()
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    smtp_server.handler.release.set()
    # C1–C3 were charged (each charge went with its key, before its email); C4 and C5 not yet
    assert sorted({c[1] for c in charges(config)}) == ["INV-1", "INV-2", "INV-3"]

    rerun = start(config, "--format", "json")
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 3, err  # the email in flight is unknown
    assert [(a["customer_id"], a["action"]) for a in json.loads(out)["actions"]] == [
        ("C4", "charge_fees"),
        ("C4", "email"),
        ("C5", "charge_fees"),
        ("C5", "email"),
    ]
    again = start(config)
    again.communicate(timeout=60)
    assert again.returncode == 0
    # every invoice charged exactly once of each kind: 10 days of 10 %, 40.00, 5.00
    interest = {1: "0.27", 2: "0.55", 3: "0.82", 4: "1.10", 5: "1.37"}  # n00.00 × 10 % × 10/365
    found = sorted((c[1], c[2], c[3]) for c in charges(config))
    assert found == sorted(
        (f"INV-{n}", kind, amount)
        for n in range(1, 6)
        for kind, amount in (("interest", interest[n]), ("compensation", "40.00"), ("fee", "5.00"))
    )


@pytest.mark.parametrize("bad", ["charge_fees: false", "charge_fees: yes please"])
def test_charge_fees_takes_true_only(tmp_path, cli, bad):
    config = folder(tmp_path)
    wf = config.parent / "workflows" / "dun.yaml"
    wf.write_text(wf.read_text().replace("charge_fees: true", bad, 1))
    result = cli("validate", "--config", config, expect=1)
    assert "charge_fees: true, not" in result.stderr


def test_validate_warns_of_a_charge_that_charges_nothing_and_names_a_bad_rates_line(tmp_path, cli):
    config = folder(tmp_path)
    text = config.read_text()
    config.write_text(text[: text.index("late_fees:")])
    result = cli("validate", "--config", config)
    assert result.stderr.splitlines() == [
        "warning: workflows/dun.yaml:8: step first: charge_fees charges nothing: late_fees: in "
        "arflow.yaml (or in this workflow) sets no interest, compensation or fee",
        "warning: workflows/dun.yaml:13: step second: charge_fees charges nothing: late_fees: "
        "in arflow.yaml (or in this workflow) sets no interest, compensation or fee",
    ]
    config.write_text(
        text[: text.index("late_fees:")]
        + "late_fees: {interest: de-bgb, reference_rates: rates.csv}\n"
    )
    (config.parent / "rates.csv").write_text("date,rate\n2026-07-01,one\n")
    result = cli("validate", "--config", config, expect=1)
    assert result.stderr.splitlines()[0] == (
        "rates.csv:2: rate: rate 'one' is not a percentage: write it as a number such as 3.75 or "
        "-0.88"
    )


def test_a_charge_is_written_against_the_state_inside_its_transaction():
    """What `rows_to_record` writes when the state holds more than the plan knew (another
    charge recorded meanwhile): interest less what is charged by now, no second compensation,
    nothing on a waived invoice."""
    from datetime import date
    from decimal import Decimal as D

    from arflow.fees.accrual import FeeCharge
    from arflow.fees.charging import rows_to_record

    planned = [
        FeeCharge("INV-1", "interest", D("5.75"), "EUR", "…", D("5.75")),
        FeeCharge("INV-1", "compensation", D("40.00"), "EUR"),
        FeeCharge("INV-1", "fee", D("5.00"), "EUR"),
        FeeCharge("INV-2", "interest", D("1.00"), "EUR", None, D("1.00")),
    ]
    charged = {"INV-1": {"interest": D("2.74"), "compensation": D("40.00")}}
    rows = rows_to_record(planned, charged, {"INV-2"}, "k", "C1", date(2026, 3, 31))
    assert [(r.invoice, r.kind, r.amount) for r in rows] == [
        ("INV-1", "interest", D("3.01")),
        ("INV-1", "fee", D("5.00")),
    ]


def test_aging_adds_the_fees_charged_on_request(tmp_path, cli):
    config = folder(tmp_path)
    run(cli, config, "2026-03-20")
    run(cli, config, "2026-03-30")
    doc = json.loads(
        cli(
            "aging", "--fees", "--as-of", "2026-03-30", "--format", "json", "--config", config
        ).stdout
    )
    assert [(c["customer_id"], c["total"], c["fees"]) for c in doc["customers"]] == [
        ("C1", "1000.00", "55.48")
    ]
    assert doc["currencies"][0]["fees"] == "55.48"
    before = cli("aging", "--fees", "--as-of", "2026-03-25", "--format", "csv", "--config", config)
    assert before.stdout.splitlines() == [
        "customer_id,name,currency,current,1-30,31-60,61-90,90+,total,fees",
        "C1,Customer One,EUR,0.00,1000.00,0.00,0.00,0.00,1000.00,47.74",
    ]
    piped = cli("aging", "--as-of", "2026-03-25", "--config", config).stdout.splitlines()
    assert piped[0] == "# customer\tname\tcurrency\tcurrent\t1-30\t31-60\t61-90\t90+\ttotal"


def test_forecast_and_simulate_charge_each_step_once(tmp_path, cli):
    config = folder(tmp_path)
    doc = json.loads(
        cli(
            "forecast",
            "--as-of",
            "2026-03-20",
            "--days",
            "11",
            "--format",
            "json",
            "--config",
            config,
        ).stdout
    )
    charged = {
        day["date"]: [(f["kind"], f["amount"]) for a in day["actions"] for f in a.get("fees", [])]
        for day in doc["days"]
        if day["actions"]
    }
    # the forecast's days record their charges in memory: the 30th charges since the 20th
    assert charged == {
        "2026-03-20": [("interest", "2.74"), ("compensation", "40.00"), ("fee", "5.00")],
        "2026-03-30": [("interest", "2.74"), ("fee", "5.00")],
    }
    assert not (config.parent / "arflow.db").exists()
    sim = json.loads(
        cli(
            "simulate",
            "--from",
            "2026-03-11",
            "--to",
            "2026-04-10",
            "--format",
            "json",
            "--config",
            config,
        ).stdout
    )
    assert [(s["step"], s["fees"]) for s in sim["steps"]] == [
        ("first", {"EUR": "47.74"}),
        ("second", {"EUR": "7.74"}),
    ]
    # the tables and spreadsheets add a fees column when a step charged
    csv_forecast = cli(
        "forecast", "--as-of", "2026-03-20", "--days", "11", "--format", "csv", "--config", config
    ).stdout.splitlines()
    assert csv_forecast == [
        "date,workflow,step,actions,customers,currency,chased,fees",
        "2026-03-20,dun,first,2,1,EUR,1000.00,47.74",
        "2026-03-30,dun,second,2,1,EUR,1000.00,7.74",
    ]
    piped = cli(
        "simulate", "--from", "2026-03-11", "--to", "2026-04-10", "--config", config
    ).stdout.splitlines()
    assert piped[:4] == [
        "# workflow\tstep\tactions\tinvoices\tpaid_7d\tpaid_14d\tpaid_30d\tmedian_days\tunpaid"
        "\tfees",
        "dun\tfirst\t2\t1\t0\t0\t0\t—\t1\t47,74 €",
        "dun\tsecond\t2\t1\t0\t0\t0\t—\t1\t7,74 €",
        "total\t\t4\t2\t0\t0\t0\t\t2\t55,48 €",
    ]


def test_the_bundled_late_fee_warning_shows_what_it_will_charge(tmp_path, cli):
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path, date(2026, 3, 16))
    out = cli(
        "preview",
        "late-fee-warning",
        "warning",
        "--as-of",
        "2026-03-16",
        "--config",
        tmp_path / "arflow.yaml",
    ).stdout.splitlines()
    # the sample's invoices are 30 days past due; the example charges 12 % a year and 25.00:
    # 1,250.00 × 12 % × 30/365 = 12.33, 89.50 → 0.88
    at = out.index("Under our terms, late payment costs:")
    assert out[at + 1 : at + 3] == [
        "  INV-1001       interest so far $12.33, compensation $25.00",
        "  INV-1002       interest so far $0.88, compensation $25.00",
    ]


def test_a_workflows_own_late_fees_and_the_interest_up_to_the_payment(tmp_path, cli):
    config = folder(tmp_path)
    text = config.read_text()
    config.write_text(text[: text.index("late_fees:")])  # arflow.yaml charges nothing…
    wf = config.parent / "workflows" / "dun.yaml"
    wf.write_text(  # … the workflow does, and charges again once the invoice is paid
        wf.read_text()
        + "late_fees: {interest: {annual: 10}, compensation: {fixed: 40}, fee: {fixed: 5}}\n"
        + "on_paid:\n  - charge_fees: true\n"
    )
    run(cli, config, "2026-03-20")
    invoices = config.parent / "invoices.csv"
    invoices.write_text(
        "number,customer_id,customer_name,email,issue_date,due_date,amount,currency,paid_date\n"
        "INV-1,C1,Customer One,ap@c1.example,2026-02-01,2026-03-10,1000.00,EUR,2026-03-26\n"
    )
    doc = run(cli, config, "2026-03-27")
    # paid on the 26th: interest to the 25th, 15 days (4.1096 → 4.11), less the 2.74 charged;
    # no second compensation, no step fee on a paid invoice
    assert [(a["step"], a["fees"]) for a in doc["actions"]] == [
        (
            "on_paid",
            [
                {
                    "invoice": "INV-1",
                    "kind": "interest",
                    "amount": "1.37",
                    "currency": "EUR",
                    "detail": "2026-03-11 to 2026-03-25, 15 days at 10% on 1000.00: 4.11, "
                    "less 2.74 charged before",
                }
            ],
        )
    ]

    def fees_on(day: str) -> list[tuple]:
        out = cli("fees", "--as-of", day, "--format", "json", "--config", config).stdout
        return [(i["number"], i["interest"], i["charged"]) for i in json.loads(out)["invoices"]]

    assert fees_on("2026-03-27") == [("INV-1", "4.11", "49.11")]  # paid, still listed
    assert fees_on("2026-03-20") == [("INV-1", "2.74", "47.74")]  # as it stood that day


def test_preview_shows_a_step_against_what_was_charged_before(tmp_path, cli):
    config = folder(tmp_path)
    run(cli, config, "2026-03-20")
    out = cli(
        "preview", "dun", "second", "--customer", "C1", "--as-of", "2026-03-30", "--config", config
    ).stdout.splitlines()
    # the compensation was charged on the 20th: the second step charges interest and fee only
    assert out[1] == "INV-1 interest 2.74 EUR, fee 5.00 EUR"
    assert out[-2:] == [
        "INV-1: 20 days late, interest 5.48, compensation 40.00, charged 55.48, due 1055.48",
        "account: interest 5.48, fees 55.48",
    ]
