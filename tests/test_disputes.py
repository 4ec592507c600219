"""Disputes (issue 33) as users run them: `arflow dispute` takes an invoice (or part of it) out
of chasing; real runs night by night with the file outbox leave it out of the customer's
reminder while the undisputed invoice is chased, give the specialist one task, and resume
chasing of what is left once `arflow dispute resolve --credit` ends it; `aging`, `disputes`,
`status`, `history`, `forecast`, `preview` and the dry run say so; a reply holding the
`dispute_words:` is flagged in the notice as a possible dispute."""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from arflow.disputes import chased_part, dispute_words_in, unconfirmed_credit
from arflow.scaffold import write_scaffold
from tests import inbox_mail as mail
from tests.conftest import make_folder
from tests.test_inbox import Shop, with_inbox

CONFIG = """\
company: {name: Acme Supplies Ltd, email: ar@acme.example, timezone: UTC, currency: USD,
          locale: en_US}
invoices: {path: invoices.csv}
customers: {path: customers.csv}
default_workflow: standard
people:
  dana: {name: Dana Roe, email: dana@acme.example, specialist: true}
  chris: {name: Chris Doe, email: chris@acme.example}
channels:
  email: {transport: outbox, dir: outbox}
  notify: {transport: email}
"""
STANDARD = """\
name: Standard
anchor: due_date
steps:
  - id: reminder
    day: 7
    actions:
      - email: reminder
  - id: second
    day: 21
    actions:
      - email: reminder
"""
DESK = """\
name: Dispute desk
anchor: due_date
steps:
  - id: look
    day: 0
    actions:
      - task: {kind: dispute, title: "Look into {{ invoice.number }}", assignee: specialist}
  - id: escalate
    day: 7
    actions:
      - notify: {to: chris, template: internal}
"""
CUSTOMERS = """\
customer_id,name,email,specialist
C1,Northwind Traders,ap@northwind.example,dana
"""
INVOICES = """\
number,customer_id,issue_date,due_date,amount,balance
INV-1,C1,2026-01-01,2026-01-31,900.00,{balance}
INV-2,C1,2026-01-05,2026-02-04,300.00,
"""
TEMPLATES = {
    "reminder.subject.j2": "Reminder: {{ invoices|map(attribute='number')|join(', ') }}",
    "reminder.txt.j2": (
        "{% for inv in invoices %}{{ inv.number }} {{ inv.balance|money }}\n{% endfor %}"
        "Please pay {{ totals.listed|money }}."
    ),
    "internal.subject.j2": "[AR] {{ customer.name }}",
    "internal.txt.j2": "Still disputed: {{ invoices|map(attribute='number')|join(', ') }}",
}


def folder(tmp_path: Path, extra: str = "", workflows: dict[str, str] | None = None) -> Path:
    return make_folder(
        tmp_path / "ar",
        invoices=INVOICES.format(balance=""),
        workflows={"standard": STANDARD, **(workflows or {})},
        config=CONFIG + extra,
        templates=TEMPLATES,
        extra_files={"customers.csv": CUSTOMERS},
    )


def night(cli, config: Path, day: str, *extra: str) -> dict:
    """A real run on `day`: its JSON document."""
    result = cli("run", "--format", "json", "--as-of", day, "--config", config, *extra)
    doc = json.loads(result.stdout)
    assert all(a["status"] in ("sent", "done") for a in doc["actions"]), doc["actions"]
    return doc


def did(doc: dict) -> list[tuple]:
    return [
        (a["workflow"], a["step"], a["action"], a["invoices"], a["status"]) for a in doc["actions"]
    ]


def skipped(doc: dict) -> list[tuple]:
    return [(s["workflow"], s["step"], s["invoices"], s["reason"]) for s in doc["skipped"]]


def emails(config: Path, day: str) -> list[tuple[str, str, str]]:
    """The emails in the outbox of `day`: (to, subject, text)."""
    found = []
    for path in sorted((config.parent / "outbox").glob(f"{day}-*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        found.append(
            (message["To"], message["Subject"], body.get_content().strip().replace("\r\n", "\n"))
        )
    return found


def dispute(cli, config: Path, *args: str, expect: int = 0):
    return cli("dispute", *args, "--config", config, expect=expect)


def test_a_disputed_invoice_is_left_out_the_specialist_gets_a_task_a_credit_resumes_chasing(
    cli, tmp_path
):
    config = folder(tmp_path)
    made = dispute(cli, config, "INV-1", "--reason", "quantity", "--note", "3 boxes damaged",
                   "--as-of", "2026-02-05")  # fmt: skip
    assert made.stdout == (
        "INV-1 disputed from 2026-02-05 (quantity): it is not chased until arflow dispute "
        "resolve INV-1.\n"
    )
    # INV-1 reaches its reminder: held back, the specialist's task instead
    first = night(cli, config, "2026-02-07")
    assert did(first) == [("disputes", "dispute-1", "task", ["INV-1"], "done")]
    assert first["actions"][0]["text"] == "Dispute on INV-1 (quantity)"
    assert skipped(first) == [("standard", "reminder", ["INV-1"], "disputed")]
    assert emails(config, "2026-02-07") == []
    assert did(night(cli, config, "2026-02-08")) == []  # the task went once
    # INV-2 reaches its reminder: the email lists it alone
    third = night(cli, config, "2026-02-11")
    assert did(third) == [("standard", "reminder", "email", ["INV-2"], "sent")]
    assert emails(config, "2026-02-11") == [
        (
            "Northwind Traders <ap@northwind.example>",
            "Reminder: INV-2",
            "INV-2 $300.00\nPlease pay $300.00.",
        )
    ]
    tasks = json.loads(cli("tasks", "--all", "--format", "json", "--config", config).stdout)
    assert [
        (t["assignee"], t["kind"], t["title"], t["invoices"], t["due"]) for t in tasks["tasks"]
    ] == [("dana", "dispute", "Dispute on INV-1 (quantity)", ["INV-1"], "2026-02-09")]
    # still counted: in the total and in the disputed column
    aging = aging_json(cli, config, "2026-02-11")
    assert aging["customers"] == [
        {"customer_id": "C1", "name": "Northwind Traders", "currency": "USD",
         "current": "0.00", "1-30": "1200.00", "31-60": "0.00", "61-90": "0.00", "90+": "0.00",
         "total": "1200.00", "disputed": "900.00"}
    ]  # fmt: skip
    assert aging["currencies"][0]["disputed"] == "900.00"
    # resolved with a credit: INV-1 is chased again, for what is left
    resolved = dispute(cli, config, "resolve", "INV-1", "--credit", "100.00", "--note", "agreed",
                       "--as-of", "2026-02-12")  # fmt: skip
    assert resolved.stdout == (
        "Dispute on INV-1 resolved on 2026-02-12 with a credit of 100.00: chasing resumes.\n"
    )
    fourth = night(cli, config, "2026-02-12")
    assert did(fourth) == [("standard", "reminder", "email", ["INV-1"], "sent")]
    assert emails(config, "2026-02-12") == [
        (
            "Northwind Traders <ap@northwind.example>",
            "Reminder: INV-1",
            "INV-1 $800.00\nPlease pay $800.00.",
        )
    ]
    assert did(night(cli, config, "2026-02-12")) == []  # nothing twice
    assert aging_json(cli, config, "2026-02-12")["customers"][0]["total"] == "1100.00"
    # the balance falls by 100: the credit note booked, or 100 paid; arflow cannot tell, so
    # the credit is still taken off: it chases 700, never money not owed
    (config.parent / "invoices.csv").write_text(INVOICES.format(balance="800.00"))
    later = aging_json(cli, config, "2026-02-13")["customers"][0]
    assert (later["total"], later["disputed"]) == ("1000.00", "0.00")
    assert did(night(cli, config, "2026-02-21")) == [
        ("standard", "second", "email", ["INV-1"], "sent")
    ]
    assert emails(config, "2026-02-21")[0][2] == "INV-1 $700.00\nPlease pay $700.00."
    # the credit note comes in the export as a document of its own: the credit is the
    # ledger's now, and INV-1 is chased for all it owes
    (config.parent / "invoices.csv").write_text(
        INVOICES.format(balance="800.00") + "CN-1,C1,2026-02-20,2026-02-20,-100.00,0\n"
    )
    assert aging_json(cli, config, "2026-02-22")["customers"][0]["total"] == "1100.00"


def aging_json(cli, config: Path, day: str) -> dict:
    return json.loads(cli("aging", "--as-of", day, "--format", "json", "--config", config).stdout)


def test_a_disputed_part_chases_the_rest_and_shows_in_aging_disputes_status_history(cli, tmp_path):
    config = folder(tmp_path)
    dispute(cli, config, "INV-1", "--reason", "pricing", "--amount", "200", "--as-of",
            "2026-02-05")  # fmt: skip
    assert did(night(cli, config, "2026-02-07")) == [
        ("standard", "reminder", "email", ["INV-1"], "sent"),
        ("disputes", "dispute-1", "task", ["INV-1"], "done"),
    ]
    assert emails(config, "2026-02-07") == [
        (
            "Northwind Traders <ap@northwind.example>",
            "Reminder: INV-1",
            "INV-1 $700.00\nPlease pay $700.00.",
        )
    ]
    row = aging_json(cli, config, "2026-02-07")["customers"][0]
    assert (row["total"], row["disputed"]) == ("1200.00", "200.00")
    listed = cli("disputes", "--as-of", "2026-02-07", "--format", "json", "--config", config)
    assert json.loads(listed.stdout) == {
        "disputes": [
            {"invoice": "INV-1", "customer_id": "C1", "reason": "pricing", "amount": "200.00",
             "since": "2026-02-05", "state": "open", "currency": "USD", "whole": False,
             "note": None, "resolved_on": None, "credit": None}
        ]
    }  # fmt: skip
    csv = cli("disputes", "--as-of", "2026-02-07", "--format", "csv", "--config", config).stdout
    assert csv.splitlines() == [
        "invoice,customer_id,reason,currency,amount,since,state,whole,resolved_on,credit,note",
        "INV-1,C1,pricing,USD,200.00,2026-02-05,open,no,,,",
    ]
    before = cli("disputes", "--as-of", "2026-02-04", "--format", "json", "--config", config)
    assert json.loads(before.stdout) == {"disputes": []}
    status = json.loads(
        cli("status", "C1", "--as-of", "2026-02-07", "--format", "json", "--config", config).stdout
    )
    assert status["customers"][0]["disputes"] == [
        "INV-1 disputed since 2026-02-05 (pricing): USD 200.00 of it not chased"
    ]
    piped = cli("status", "C1", "--as-of", "2026-02-07", "--config", config).stdout.splitlines()
    assert piped[1].endswith(
        "\tdana\tINV-1 disputed since 2026-02-05 (pricing): USD 200.00 of it not chased"
    )
    dispute(cli, config, "resolve", "INV-1", "--as-of", "2026-02-09")
    assert json.loads(
        cli("disputes", "--all", "--as-of", "2026-02-09", "--format", "json", "--config",
            config).stdout
    )["disputes"][0]["state"] == "resolved"  # fmt: skip
    history = json.loads(cli("history", "--format", "json", "--config", config).stdout)
    assert [
        (h["as_of"], h["workflow"], h["kind"], h["description"])
        for h in history["actions"]
        if h["workflow"] == "disputes"
    ] == [
        ("2026-02-05", "disputes", "disputed",
         "dispute 1: INV-1 disputed (200.00 of it), reason pricing"),
        ("2026-02-07", "disputes", "task", "task: Dispute on INV-1 (pricing)"),
        ("2026-02-09", "disputes", "resolved", "dispute 1: INV-1 dispute resolved"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["INV-9", "--reason", "quantity"],
            "no invoice 'INV-9' in the sources; invoice numbers are matched exactly, leading "
            "zeros included",
        ),
        (
            ["INV-1", "--reason", "late"],
            "--reason 'late' is not a reason code; the codes are pricing, quantity, quality, "
            "not-received, duplicate, other (disputes: reasons: in arflow.yaml)",
        ),
        (
            ["INV-1", "--reason", "pricing", "--amount", "-5"],
            "--amount -5: the disputed part is more than 0; leave --amount out to dispute the "
            "whole invoice",
        ),
        (
            ["INV-1", "--reason", "pricing", "--amount", "0"],
            "--amount 0: the disputed part is more than 0; leave --amount out to dispute the "
            "whole invoice",
        ),
        (
            ["INV-1", "--reason", "pricing", "--amount", "45.005"],
            "--amount 45.005: USD has no smaller unit than 0.01; give the disputed part to 0.01",
        ),
        (
            ["INV-1", "--reason", "pricing", "--amount", "900.01"],
            "--amount 900.01 is more than INV-1's open balance on 2026-02-05 (USD 900.00); "
            "leave --amount out to dispute the whole invoice",
        ),
        (
            ["INV-1"],
            "--reason is needed: one of pricing, quantity, quality, not-received, "
            "duplicate, other (disputes: reasons: in arflow.yaml)",
        ),
        (
            ["resolve", "INV-2"],
            "INV-2 has no open dispute to resolve; `arflow disputes` lists the open ones",
        ),
        (
            ["resolve", "INV-1", "--credit", "5"],
            "INV-1 has no open dispute to resolve; `arflow disputes` lists the open ones",
        ),
        (["resolve"], "name the invoice whose dispute ends: arflow dispute resolve INVOICE"),
        (
            ["INV-1", "--reason", "pricing", "--credit", "5"],
            "--credit is for resolving: arflow dispute resolve INVOICE --credit A",
        ),
    ],
)
def test_a_dispute_that_makes_no_sense_is_refused_with_the_fix(cli, tmp_path, args, message):
    config = folder(tmp_path)
    result = dispute(cli, config, *args, "--as-of", "2026-02-05", expect=2)
    assert f"error: {message}" in result.output
    assert "Traceback" not in result.output
    listed = cli("disputes", "--all", "--as-of", "2026-02-05", "--format", "json", "--config",
                 config)  # fmt: skip
    assert json.loads(listed.stdout) == {"disputes": []}


def test_a_second_dispute_a_credit_too_large_and_a_resolve_before_it_began_are_refused(
    cli, tmp_path
):
    config = folder(tmp_path)
    dispute(cli, config, "INV-1", "--reason", "quality", "--as-of", "2026-02-05")
    again = dispute(cli, config, "INV-1", "--reason", "pricing", "--as-of", "2026-02-06", expect=2)
    assert (
        "error: INV-1 is disputed already (since 2026-02-05, reason quality); resolve it "
        "first: arflow dispute resolve INV-1" in again.output
    )
    big = dispute(cli, config, "resolve", "INV-1", "--credit", "1000", "--as-of", "2026-02-06",
                  expect=2)  # fmt: skip
    assert "error: --credit 1000 is more than INV-1's open balance on 2026-02-06 (900.00)" in (
        big.output
    )
    early = dispute(cli, config, "resolve", "INV-1", "--as-of", "2026-02-04", expect=2)
    assert "error: --as-of 2026-02-04 is before INV-1 was disputed (2026-02-05)" in early.output
    as_json = cli("dispute", "INV-1", "--reason", "pricing", "--as-of", "2026-02-06",
                  "--config", config, expect=2)  # fmt: skip
    assert "Traceback" not in as_json.output


def test_disputes_workflow_chases_the_dispute_itself_and_the_forecast_agrees(cli, tmp_path):
    config = folder(tmp_path, "disputes: {workflow: desk}\n", {"desk": DESK})
    dispute(cli, config, "INV-1", "--reason", "pricing", "--amount", "200", "--as-of",
            "2026-02-05")  # fmt: skip
    forecast = json.loads(
        cli("forecast", "--as-of", "2026-02-05", "--days", "10", "--format", "json",
            "--config", config).stdout
    )  # fmt: skip
    planned = [
        (d["date"], a["workflow"], a["step"], a["invoices"])
        for d in forecast["days"]
        for a in d["actions"]
    ]
    assert planned == [
        ("2026-02-05", "desk", "look", ["DISPUTE-1"]),
        ("2026-02-07", "standard", "reminder", ["INV-1"]),
        ("2026-02-11", "standard", "reminder", ["INV-2"]),
        ("2026-02-12", "desk", "escalate", ["DISPUTE-1"]),
    ]
    sent = []
    for day in ("2026-02-05", "2026-02-06", "2026-02-07", "2026-02-11", "2026-02-12", "2026-02-13"):
        sent += [(day, *row) for row in did(night(cli, config, day))]
    assert sent == [
        ("2026-02-05", "desk", "look", "task", ["DISPUTE-1"], "done"),
        ("2026-02-07", "standard", "reminder", "email", ["INV-1"], "sent"),
        ("2026-02-11", "standard", "reminder", "email", ["INV-2"], "sent"),
        ("2026-02-12", "desk", "escalate", "notify", ["DISPUTE-1"], "sent"),
    ]
    assert emails(config, "2026-02-07")[0][2] == "INV-1 $700.00\nPlease pay $700.00."
    assert emails(config, "2026-02-12") == [
        ("Chris Doe <chris@acme.example>", "[AR] Northwind Traders", "Still disputed: DISPUTE-1")
    ]
    dispute(cli, config, "resolve", "INV-1", "--as-of", "2026-02-13")
    assert did(night(cli, config, "2026-02-21")) == [
        ("standard", "second", "email", ["INV-1"], "sent")
    ]
    assert emails(config, "2026-02-21")[0][2] == "INV-1 $900.00\nPlease pay $900.00."


def test_the_dry_run_and_preview_know_a_dispute_and_record_nothing(cli, tmp_path, run_json):
    config = folder(tmp_path)
    dispute(cli, config, "INV-1", "--reason", "quantity", "--as-of", "2026-02-05")
    _, dry = run_json(config, "2026-02-07")
    assert did(dry) == [("disputes", "dispute-1", "task", ["INV-1"], "planned")]
    assert skipped(dry) == [("standard", "reminder", ["INV-1"], "disputed")]
    tasks = json.loads(cli("tasks", "--all", "--format", "json", "--config", config).stdout)
    assert tasks["tasks"] == []
    shown = cli("preview", "standard", "reminder", "--customer", "C1", "--as-of", "2026-02-11",
                "--config", config).stdout  # fmt: skip
    assert "Subject: Reminder: INV-2\n" in shown
    assert "INV-1" not in shown


def test_validate_names_an_unknown_disputes_workflow_and_a_bad_reason_code(cli, tmp_path):
    config = folder(tmp_path, "disputes: {workflow: desk, reasons: [pricing, Not Received]}\n")
    result = cli("validate", "--config", config, expect=1)
    assert "disputes.reasons" in result.output
    assert "'Not Received': a reason code is lower-case letters, digits and hyphens" in (
        result.output
    )
    config.write_text(CONFIG + "disputes: {workflow: desk}\n")
    result = cli("validate", "--config", config, expect=1)
    assert (
        "arflow.yaml:12: disputes.workflow: no workflow 'desk' (workflows: standard); the id "
        "is the file name without .yaml" in result.output
    )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("We dispute the quantity on INV-1003.", ["dispute"]),
        ("DISPUTED: the goods were Never  Received", ["disputed", "never received"]),
        ("Indisputable: we paid yesterday.", []),  # whole words only
        ("The amount is undisputed, we pay Friday.", []),
        ("The disputes team will call.", []),
        ("Please send a credit note", ["credit note"]),
    ],
)
def test_dispute_words_are_whole_words_in_any_case(text, found):
    from arflow.disputes import DEFAULT_WORDS

    assert dispute_words_in(text, DEFAULT_WORDS) == found


def test_the_rules_of_the_disputed_part_and_an_unconfirmed_credit():
    from decimal import Decimal as D

    assert chased_part(D("900"), None) == D(0)
    assert chased_part(D("900"), D("200")) == D("700")
    assert chased_part(D("100"), D("200")) == D(0)
    # a fall of the balance may be a payment: the credit is taken off whole while it is open
    assert unconfirmed_credit(D("100"), D("900")) == D("100")  # not booked yet
    assert unconfirmed_credit(D("100"), D("860")) == D("100")  # booked in part, or 40 paid
    assert unconfirmed_credit(D("100"), D("800")) == D("100")  # booked, or 100 paid
    assert unconfirmed_credit(D("100"), D("60")) == D("60")  # never more than the balance
    assert unconfirmed_credit(D("100"), D("0")) == D(0)  # paid


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("Hello,\n\nWe dispute the quantity: 3 boxes were damaged.\n\nPat\n", True),
        ("Hello,\n\nWe paid it yesterday by bank transfer.\n\nPat\n", False),
    ],
)
def test_a_reply_with_dispute_words_is_flagged_in_the_notice_never_decided(
    cli, clock, tmp_path, text, flagged
):
    clock("2026-03-16T17:00:00")
    root = tmp_path / "a"
    write_scaffold(root, date(2026, 3, 16))
    shop = Shop(root)
    with_inbox(shop.config, "{transport: maildir, dir: mail}")
    cli("run", "--as-of", "2026-03-16", "--config", shop.config)
    shop.deliver(mail.reply(shop.sent()["C002"], sender="billing@blueharbor.example", text=text))
    clock("2026-03-17T17:00:00")
    cli("run", "--as-of", "2026-03-17", "--config", shop.config)
    notices = [m for m in shop.outbox("2026-03-17") if "replied" in m["Subject"]]
    assert [m["Subject"] for m in notices] == ["Blue Harbor Cafe replied: Re: Reminder"]
    body = notices[0].get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    flag = (
        'Possible dispute: the reply says "dispute", "damaged". arflow decided\nnothing; to stop chasing '
        "the invoice while it is looked into:\narflow dispute INVOICE --reason CODE\n"
    )
    assert (flag in body) is flagged
    assert ("Possible dispute" in body) is flagged
    listed = cli("disputes", "--format", "json", "--as-of", "2026-03-17", "--config", shop.config)
    assert json.loads(listed.stdout) == {"disputes": []}  # flagged, never decided


def test_a_run_for_another_customer_leaves_the_dispute_and_its_task_alone(cli, tmp_path):
    config = folder(tmp_path)
    (config.parent / "customers.csv").write_text(
        CUSTOMERS + "C2,Blue Harbor Cafe,billing@blueharbor.example,dana\n"
    )
    (config.parent / "invoices.csv").write_text(
        INVOICES.format(balance="") + "INV-3,C2,2026-01-05,2026-01-31,50.00,\n"
    )
    dispute(cli, config, "INV-1", "--reason", "duplicate", "--as-of", "2026-02-05")
    other = night(cli, config, "2026-02-07", "--customer", "C2")
    assert did(other) == [("standard", "reminder", "email", ["INV-3"], "sent")]
    assert skipped(other) == []
    assert did(night(cli, config, "2026-02-07")) == [
        ("disputes", "dispute-1", "task", ["INV-1"], "done")
    ]


def test_the_forecast_gives_the_task_once_whoever_a_later_day_plans(cli, tmp_path):
    config = folder(tmp_path)
    (config.parent / "customers.csv").write_text(
        CUSTOMERS + "C2,Blue Harbor Cafe,billing@blueharbor.example,dana\n"
    )
    (config.parent / "invoices.csv").write_text(
        INVOICES.format(balance="") + "INV-3,C2,2026-01-05,2026-02-02,50.00,\n"
    )
    dispute(cli, config, "INV-1", "--reason", "duplicate", "--as-of", "2026-02-05")
    forecast = json.loads(
        cli("forecast", "--as-of", "2026-02-05", "--days", "7", "--format", "json",
            "--config", config).stdout
    )  # fmt: skip
    assert [
        (d["date"], a["workflow"], a["step"], a["customer_id"], a["invoices"])
        for d in forecast["days"]
        for a in d["actions"]
    ] == [
        ("2026-02-05", "disputes", "dispute-1", "C1", ["INV-1"]),
        ("2026-02-09", "standard", "reminder", "C2", ["INV-3"]),
        ("2026-02-11", "standard", "reminder", "C1", ["INV-2"]),
    ]


def test_a_credit_that_covers_the_balance_holds_the_invoice_until_the_ledger_shows_it(
    cli, tmp_path
):
    config = folder(tmp_path)
    dispute(cli, config, "INV-2", "--reason", "not-received", "--as-of", "2026-02-05")
    dispute(cli, config, "resolve", "INV-2", "--credit", "300", "--as-of", "2026-02-10")
    held = night(cli, config, "2026-02-11")
    assert did(held) == [("standard", "reminder", "email", ["INV-1"], "sent")]
    assert skipped(held) == [("standard", "reminder", ["INV-2"], "credited")]
    row = aging_json(cli, config, "2026-02-11")["customers"][0]
    assert (row["total"], row["disputed"]) == ("900.00", "0.00")
    status = json.loads(
        cli("status", "C1", "--as-of", "2026-02-11", "--format", "json", "--config", config).stdout
    )["customers"][0]
    assert status["disputes"] == ["INV-2 dispute resolved on 2026-02-10, credit 300"]


def test_aging_shows_the_disputed_column_in_a_table_a_pipe_and_csv(cli, tmp_path, monkeypatch):
    config = folder(tmp_path)
    plain = cli("aging", "--as-of", "2026-02-11", "--config", config).stdout.splitlines()
    assert plain[0].split("\t")[-1] == "total"  # no dispute yet: unchanged
    dispute(cli, config, "INV-1", "--reason", "quantity", "--as-of", "2026-02-05")
    plain = cli("aging", "--as-of", "2026-02-11", "--config", config).stdout.splitlines()
    assert plain == [
        "# customer\tname\tcurrency\tcurrent\t1-30\t31-60\t61-90\t90+\ttotal\tdisputed",
        "C1\tNorthwind Traders\tUSD\t0.00\t1200.00\t0.00\t0.00\t0.00\t1200.00\t900.00",
        "total\t2 invoice(s)\tUSD\t0.00\t1200.00\t0.00\t0.00\t0.00\t1200.00\t900.00",
    ]
    csv = cli("aging", "--as-of", "2026-02-11", "--format", "csv", "--config", config).stdout
    assert csv.splitlines() == [
        "customer_id,name,currency,current,1-30,31-60,61-90,90+,total,disputed",
        "C1,Northwind Traders,USD,0.00,1200.00,0.00,0.00,0.00,1200.00,900.00",
    ]
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "160")
    table = cli("aging", "--as-of", "2026-02-11", "--config", config).stdout
    assert "Disputed" in table
    row = next(line for line in table.splitlines() if "Northwind" in line)
    cells = [cell.strip() for cell in re.sub(r"\x1b\[[0-9;]*m", "", row).split("│")]
    assert cells[1:9] == ["Northwind Traders", "·", "$1,200.00", "·", "·", "·", "$1,200.00",
                          "$900.00"]  # fmt: skip


def test_once_the_undisputed_part_is_paid_the_invoice_is_held_whole(cli, tmp_path):
    config = folder(tmp_path)
    dispute(cli, config, "INV-1", "--reason", "pricing", "--amount", "200", "--as-of",
            "2026-02-05")  # fmt: skip
    (config.parent / "invoices.csv").write_text(INVOICES.format(balance="200.00"))
    first = night(cli, config, "2026-02-07")
    assert did(first) == [("disputes", "dispute-1", "task", ["INV-1"], "done")]
    assert skipped(first) == [("standard", "reminder", ["INV-1"], "disputed")]
    row = aging_json(cli, config, "2026-02-07")["customers"][0]
    assert (row["total"], row["disputed"]) == ("500.00", "200.00")


def test_a_plans_invoice_is_not_disputed_nor_a_disputed_invoice_planned(cli, tmp_path):
    library = Path(__file__).resolve().parents[1]
    plans = {"payment-plan": (library / "workflows" / "payment-plan.yaml").read_text()}
    config = folder(tmp_path, "plan_workflow: payment-plan\n", plans)
    for template in (library / "templates").glob("[p_]*"):
        shutil.copy(template, config.parent / "templates")
    cli("plan", "INV-1", "INV-2", "--instalments", "3", "--every", "month", "--first",
        "2026-02-10", "--as-of", "2026-02-01", "--config", config)  # fmt: skip
    refused = dispute(cli, config, "INV-1", "--reason", "quantity", "--as-of", "2026-02-03",
                      expect=2)  # fmt: skip
    assert (
        "error: INV-1 is on payment plan 1, on track: the plan would still chase it; cancel "
        "the plan first (arflow plans cancel 1), then dispute INV-1" in refused.output
    )
    assert "Traceback" not in refused.output
    cli("plans", "cancel", "1", "--as-of", "2026-02-03", "--config", config)
    dispute(cli, config, "INV-1", "--reason", "quantity", "--as-of", "2026-02-03")
    again = cli("plan", "INV-1", "INV-2", "--instalments", "2", "--every", "month", "--first",
                "2026-02-10", "--as-of", "2026-02-04", "--config", config, expect=2)  # fmt: skip
    assert (
        "error: INV-1 is disputed (since 2026-02-03, reason quantity): a plan would chase it; "
        "resolve the dispute first (arflow dispute resolve INV-1)" in again.output
    )
    listed = cli("plans", "--as-of", "2026-02-04", "--format", "json", "--config", config)
    assert [(p["id"], p["state"]) for p in json.loads(listed.stdout)["plans"]] == [(1, "cancelled")]


def test_the_commands_that_send_nothing_run_with_a_broken_template(cli, tmp_path):
    config = folder(tmp_path)
    (config.parent / "templates" / "reminder.txt.j2").write_text("{{ broken")
    refused = cli("run", "--dry-run", "--as-of", "2026-02-03", "--config", config, expect=1)
    assert "templates/reminder.txt.j2:1: template syntax error" in refused.output  # a run checks
    made = dispute(cli, config, "INV-1", "--reason", "quantity", "--as-of", "2026-02-03")
    assert made.output == (
        "INV-1 disputed from 2026-02-03 (quantity): it is not chased until arflow dispute "
        "resolve INV-1.\n"
    )
    listed = cli("disputes", "--as-of", "2026-02-03", "--format", "json", "--config", config)
    assert [(d["invoice"], d["state"]) for d in json.loads(listed.stdout)["disputes"]] == [
        ("INV-1", "open")
    ]
    ended = dispute(cli, config, "resolve", "INV-1", "--as-of", "2026-02-04")
    assert ended.output == "Dispute on INV-1 resolved on 2026-02-04: chasing resumes.\n"
    holds = cli("holds", "--as-of", "2026-02-04", "--format", "json", "--config", config)
    assert json.loads(holds.stdout) == {"holds": []}


def test_a_payment_before_the_credit_note_is_never_taken_for_it(cli, tmp_path):
    config = folder(tmp_path)
    dispute(cli, config, "INV-1", "--reason", "pricing", "--as-of", "2026-02-03")
    dispute(cli, config, "resolve", "INV-1", "--credit", "300", "--as-of", "2026-02-05")
    # the customer pays the 600 agreed; the credit note is not booked yet: 300 in the export
    (config.parent / "invoices.csv").write_text(INVOICES.format(balance="300.00"))
    listed = cli("disputes", "--all", "--as-of", "2026-02-07", "--format", "csv", "--config",
                 config)  # fmt: skip
    # amounts to the cent, `whole` as yes/no (the whole invoice's amount is its balance now)
    assert listed.stdout.splitlines()[1] == (
        "INV-1,C1,pricing,USD,300.00,2026-02-03,resolved,yes,2026-02-05,300.00,"
    )
    first = night(cli, config, "2026-02-07")
    assert did(first) == []  # INV-2's reminder is on the 11th
    assert skipped(first) == [("standard", "reminder", ["INV-1"], "credited")]
    assert emails(config, "2026-02-07") == []
    row = aging_json(cli, config, "2026-02-07")["customers"][0]
    assert (row["total"], row["disputed"]) == ("300.00", "0.00")  # INV-2 alone is owed
    # INV-2's reminder lists it alone, for 300
    assert emails(config, "2026-02-11") == [] and did(night(cli, config, "2026-02-11")) == [
        ("standard", "reminder", "email", ["INV-2"], "sent")
    ]
    assert emails(config, "2026-02-11")[0][1:] == (
        "Reminder: INV-2",
        "INV-2 $300.00\nPlease pay $300.00.",
    )
    # the credit note is booked: INV-1 is paid, nothing is chased
    (config.parent / "invoices.csv").write_text(INVOICES.format(balance="0.00"))
    last = night(cli, config, "2026-02-25")
    assert did(last) == [("standard", "second", "email", ["INV-2"], "sent")]
    assert skipped(last) == []
    assert emails(config, "2026-02-25")[0][2] == "INV-2 $300.00\nPlease pay $300.00."


def test_no_task_for_a_disputed_invoice_paid_before_the_run(cli, tmp_path):
    config = folder(tmp_path)
    dispute(cli, config, "INV-1", "--reason", "quantity", "--as-of", "2026-02-05")
    (config.parent / "invoices.csv").write_text(INVOICES.format(balance="0.00"))  # paid
    first = night(cli, config, "2026-02-07")
    assert did(first) == []
    assert skipped(first) == []
    tasks = json.loads(cli("tasks", "--all", "--format", "json", "--config", config).stdout)
    assert tasks["tasks"] == []
