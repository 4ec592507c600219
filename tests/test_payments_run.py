"""Payments from the bank in real runs (issue 32, "What a matched payment does"): read before
anything is planned, each once; a customer who paid today gets no reminder although the ledger
still shows the invoice open (`payment-received`), and `on_paid` waits for the ledger; a partial
payment lowers the balance in the email's text and HTML; a person matches and unmatches."""

from __future__ import annotations

import email
import email.policy
import json
import sqlite3
import textwrap
from pathlib import Path

from tests.conftest import make_folder
from tests.test_fee_charges import run

DUN = """\
name: Dun
anchor: due_date
steps:
  - id: reminder
    day: 5
    actions:
      - email: reminder
  - id: final
    day: 15
    actions:
      - email: reminder
on_paid:
  - email: thanks
"""
TEMPLATES = {
    "reminder.subject.j2": "Reminder {{ invoices|map(attribute='number')|join(', ') }}",
    "reminder.txt.j2": (
        "{% for inv in invoices %}{{ inv.number }}: {{ inv.balance|money }} of "
        "{{ inv.amount|money }} open\n{% endfor %}you owe {{ totals.outstanding|money }}"
    ),
    "reminder.html.j2": (
        "<ul>{% for inv in invoices %}<li>{{ inv.number }}: {{ inv.balance|money }}</li>"
        "{% endfor %}</ul><p>You owe {{ totals.outstanding|money }}</p>"
    ),
    "thanks.subject.j2": "Thank you for paying {{ invoices|map(attribute='number')|join(', ') }}",
    "thanks.txt.j2": "Thanks.",
}
CONFIG = """\
company: {name: Acme GmbH, email: ar@acme.example, timezone: UTC, currency: EUR, locale: en_IE}
invoices: {path: invoices.csv}
default_workflow: dun
channels:
  email: {transport: outbox, dir: outbox}
payments: {path: bank.csv, columns: {date: Date, amount: Amount, reference: Reference, payer: Payer}}
"""
INVOICES = """\
number,customer_id,customer_name,email,issue_date,due_date,amount,balance,currency
INV-1,C1,One GmbH,ap@one.example,2026-02-01,2026-03-01,1000.00,,EUR
INV-2,C2,Two Ltd,ap@two.example,2026-02-01,2026-03-01,800.00,,EUR
INV-3,C3,Three SA,ap@three.example,2026-02-01,2026-03-01,500.00,,EUR
"""
BANK_HEADER = "Date,Amount,Reference,Payer\n"


def folder(tmp_path: Path, bank: str = "") -> Path:
    return make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={"dun": DUN},
        config=CONFIG,
        templates=TEMPLATES,
        extra_files={"bank.csv": BANK_HEADER + textwrap.dedent(bank).lstrip()},
    )


def messages(config: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted((config.parent / "outbox").glob("*.eml"))
    ]


def sent(config: Path) -> list[tuple[str, str]]:
    return [(m["To"].addresses[0].addr_spec, m["Subject"]) for m in messages(config)]


def payments_table(config: Path) -> list[tuple]:
    conn = sqlite3.connect(config.parent / "arflow.db")
    try:
        return conn.execute(
            "SELECT p.day, p.amount, p.rule, a.invoice, a.amount, a.source_balance FROM payments "
            "p LEFT JOIN payment_applications a ON a.payment_id = p.id ORDER BY p.day, p.rowid"
        ).fetchall()
    finally:
        conn.close()


def set_invoices(config: Path, text: str) -> None:
    (config.parent / "invoices.csv").write_text(text)


def test_a_customer_who_paid_today_gets_no_reminder_and_on_paid_waits_for_the_ledger(tmp_path, cli):
    config = folder(tmp_path, "2026-03-06,1000.00,INV-1,One GmbH\n")
    night = run(cli, config, "2026-03-06")
    # C1's transfer arrived today: the ledger still shows INV-1 open, no reminder goes
    assert sent(config) == [
        ("ap@two.example", "Reminder INV-2"),
        ("ap@three.example", "Reminder INV-3"),
    ]
    assert [
        (s["customer_id"], s["step"], s["invoices"], s["reason"]) for s in night["skipped"]
    ] == [("C1", "reminder", ["INV-1"], "payment-received")]
    assert payments_table(config) == [
        ("2026-03-06", "1000.00", "reference", "INV-1", "1000.00", "1000.00")
    ]
    # read again, and night after night: the payment is recorded once, INV-1 is not chased,
    # and no thank-you goes before the ledger shows the payment
    assert run(cli, config, "2026-03-06")["actions"] == []
    assert [a["customer_id"] for a in run(cli, config, "2026-03-16")["actions"]] == ["C2", "C3"]
    assert len(payments_table(config)) == 1
    assert len(messages(config)) == 4
    # it was never chased, so the ledger's confirmation thanks no one either
    set_invoices(config, INVOICES.replace("1000.00,,EUR", "1000.00,0,EUR"))
    assert run(cli, config, "2026-03-17")["actions"] == []


def test_on_paid_fires_once_when_the_ledger_confirms_a_payment_heard_from_the_bank(tmp_path, cli):
    config = folder(tmp_path)
    run(cli, config, "2026-03-06")  # INV-1, INV-2, INV-3: their first reminders
    bank = config.parent / "bank.csv"
    bank.write_text(BANK_HEADER + "2026-03-10,800.00,,Two Ltd\n")  # by amount, the payer fits
    # the invoices file names the payer by the customer's name: no reference needed
    night = run(cli, config, "2026-03-16")
    assert [a["customer_id"] for a in night["actions"]] == ["C1", "C3"]  # C2 paid
    assert [(s["customer_id"], s["reason"]) for s in night["skipped"]] == [
        ("C2", "payment-received")
    ]
    assert payments_table(config) == [
        ("2026-03-10", "800.00", "amount", "INV-2", "800.00", "800.00")
    ]
    assert run(cli, config, "2026-03-17")["actions"] == []  # still waiting for the ledger
    set_invoices(config, INVOICES.replace("800.00,,EUR", "800.00,0,EUR"))
    thanks = run(cli, config, "2026-03-18")
    assert [(a["customer_id"], a["step"]) for a in thanks["actions"]] == [("C2", "on_paid")]
    assert run(cli, config, "2026-03-19")["actions"] == []
    assert sent(config)[-1] == ("ap@two.example", "Thank you for paying INV-2")


def test_a_partial_payment_lowers_the_balance_in_the_emails_text_and_html(tmp_path, cli):
    config = folder(tmp_path, "2026-03-05,300.00,Invoice INV-1 part 1,One GmbH\n")
    dry = run(cli, config, "2026-03-06", "--dry-run")
    assert [a["customer_id"] for a in dry["actions"]] == ["C1", "C2", "C3"]
    assert not (config.parent / "arflow.db").exists()  # the dry run recorded nothing
    run(cli, config, "2026-03-06")
    (one,) = [m for m in messages(config) if "ap@one.example" in m["To"]]
    text = one.get_body(("plain",)).get_content().replace("\r\n", "\n").strip()
    html = one.get_body(("html",)).get_content()
    assert text == "INV-1: €700.00 of €1,000.00 open\nyou owe €700.00"
    assert "<li>INV-1: €700.00</li>" in html and "You owe €700.00" in html
    # the ledger shows the payment: the balance is the ledger's, nothing is taken off twice
    set_invoices(config, INVOICES.replace("1000.00,,EUR", "1000.00,700.00,EUR"))
    run(cli, config, "2026-03-16")
    final = messages(config)[-3].get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert final.strip() == "INV-1: €700.00 of €1,000.00 open\nyou owe €700.00"
    # a second part arrives before the ledger shows it: 700.00 less 200.00
    bank = config.parent / "bank.csv"
    bank.write_text(bank.read_text() + "2026-03-20,200.00,INV-1,One GmbH\n")
    aging = json.loads(
        cli("aging", "--as-of", "2026-03-20", "--format", "json", "--config", config).stdout
    )
    assert [(c["customer_id"], c["total"]) for c in aging["customers"]] == [
        ("C2", "800.00"),
        ("C1", "500.00"),
        ("C3", "500.00"),
    ]


def test_aging_shows_cash_no_invoice_takes(tmp_path, cli):
    config = folder(
        tmp_path,
        """\
        2026-03-05,1100.00,INV-1,One GmbH
        2026-03-05,42.00,thanks,Stranger
        """,
    )
    aging = json.loads(
        cli("aging", "--as-of", "2026-03-06", "--format", "json", "--config", config).stdout
    )
    assert [(c["customer_id"], c["total"]) for c in aging["customers"]] == [
        ("C2", "800.00"),
        ("C3", "500.00"),
    ]
    assert aging["unapplied"] == {"EUR": "142.00"}  # 100.00 over INV-1, 42.00 unmatched
    table = cli("aging", "--as-of", "2026-03-06", "--config", config).stdout
    assert table.splitlines()[-1] == "unapplied\tEUR\t142.00"


def test_a_person_matches_and_unmatches_a_payment(tmp_path, cli):
    config = folder(tmp_path, "2026-03-05,500.00,our order 77,Someone Else\n")
    listed = json.loads(
        cli("payments", "--as-of", "2026-03-05", "--format", "json", "--config", config).stdout
    )
    (payment,) = listed["payments"]
    assert (payment["state"], payment["rule"]) == ("unmatched", None)
    cli("run", "--as-of", "2026-03-05", "--config", config)
    short = payment["id"][:6]
    done = cli("payments", "match", short, "INV-3", "--config", config)
    assert done.stdout.strip() == f"{payment['id']}: pays INV-3 500.00"
    assert payments_table(config) == [
        ("2026-03-05", "500.00", "manual", "INV-3", "500.00", "500.00")
    ]
    night = run(cli, config, "2026-03-06")
    assert [a["customer_id"] for a in night["actions"]] == ["C1", "C2"]
    # undone: INV-3 is chased again, and arflow does not match the payment by itself
    undone = cli("payments", "unmatch", payment["id"], "--config", config)
    assert undone.stdout.strip() == f"{payment['id']}: unmatched; it waits for a person"
    again = run(cli, config, "2026-03-07")
    assert [(a["customer_id"], a["step"]) for a in again["actions"]] == [("C3", "reminder")]
    assert payments_table(config) == [("2026-03-05", "500.00", None, None, None, None)]
    wrong = cli("payments", "match", payment["id"], "INV-9", "--config", config, expect=2)
    assert "no invoice INV-9 in the invoices source" in wrong.output


def test_a_payment_leaving_the_tolerance_covers_the_invoice(tmp_path, cli):
    """A balance of exactly `min_balance` counts as settled: a payment leaving 0.01 of 500.00
    open is `payment-received`; one leaving 0.02 is a partial payment."""
    config = folder(
        tmp_path,
        """\
        2026-03-05,499.99,INV-3,Three SA
        2026-03-05,799.98,INV-2,Two Ltd
        """,
    )
    night = run(cli, config, "2026-03-06")
    assert [a["customer_id"] for a in night["actions"]] == ["C1", "C2"]
    assert [(s["customer_id"], s["reason"]) for s in night["skipped"]] == [
        ("C3", "payment-received")
    ]


def test_payments_count_from_their_own_day(tmp_path, cli):
    """A payment recorded by a later night does not reach back: as of a day before it, the
    balance is the ledger's."""
    config = folder(tmp_path, "2026-03-10,1000.00,INV-1,One GmbH\n")
    run(cli, config, "2026-03-10")
    assert payments_table(config)[0][:3] == ("2026-03-10", "1000.00", "reference")

    def total(day: str) -> list[tuple[str, str]]:
        out = cli("aging", "--as-of", day, "--format", "json", "--config", config).stdout
        return [(c["customer_id"], c["total"]) for c in json.loads(out)["customers"]]

    assert total("2026-03-09") == [("C1", "1000.00"), ("C2", "800.00"), ("C3", "500.00")]
    assert total("2026-03-10") == [("C2", "800.00"), ("C3", "500.00")]


def test_a_payment_a_person_unmatched_is_never_matched_again_by_arflow(tmp_path, cli):
    config = folder(tmp_path, "2026-03-05,500.00,INV-3,Three SA\n")
    run(cli, config, "2026-03-05")
    assert payments_table(config)[0][2:4] == ("reference", "INV-3")
    (payment,) = json.loads(
        cli("payments", "--as-of", "2026-03-05", "--format", "json", "--config", config).stdout
    )["payments"]
    cli("payments", "unmatch", payment["id"], "--config", config)
    night = run(cli, config, "2026-03-06")
    assert [a["customer_id"] for a in night["actions"]] == ["C1", "C2", "C3"]
    assert payments_table(config) == [("2026-03-05", "500.00", None, None, None, None)]


def test_a_run_says_what_it_heard_from_the_bank(tmp_path, cli):
    config = folder(
        tmp_path,
        """\
        2026-03-05,1000.00,INV-1,One GmbH
        2026-03-05,42.00,thanks,Stranger
        """,
    )
    lines = cli("run", "--as-of", "2026-03-06", "--config", config).stdout.splitlines()
    assert (
        "Payments: 2 new in bank.csv: 1 matched, 1 unmatched (they wait for a person: "
        "arflow payments --unmatched)"
    ) in lines
    again = cli("run", "--as-of", "2026-03-06", "--config", config).stdout
    assert "Payments:" not in again  # nothing new: nothing to say


def test_forecast_counts_the_payments_heard(tmp_path, cli):
    """A forecast plans on the balances payments lowered: a paid customer is not chased in the
    coming days, a partly paid one is chased for what is left."""
    config = folder(
        tmp_path,
        """\
        2026-03-05,1000.00,INV-1,One GmbH
        2026-03-05,300.00,INV-2,Two Ltd
        """,
    )
    out = cli(
        "forecast", "--as-of", "2026-03-06", "--days", "11", "--format", "json", "--config", config
    ).stdout
    days = {
        d["date"]: [(a["customer_id"], a["step"]) for a in d["actions"]]
        for d in json.loads(out)["days"]
    }
    assert days["2026-03-06"] == [("C2", "reminder"), ("C3", "reminder")]
    assert days["2026-03-16"] == [("C2", "final"), ("C3", "final")]
    assert sum(len(v) for v in days.values()) == 4


def test_status_shows_the_balance_a_payment_left(tmp_path, cli):
    config = folder(tmp_path, "2026-03-05,300.00,INV-1,One GmbH\n")
    out = cli("status", "C1", "--as-of", "2026-03-06", "--format", "json", "--config", config)
    (customer,) = json.loads(out.stdout)["customers"]
    assert (customer["open"], customer["overdue"]) == ({"EUR": "700.00"}, {"EUR": "700.00"})


def test_an_over_payment_is_reported(tmp_path, cli):
    config = folder(tmp_path, "2026-03-05,1100.00,INV-1,One GmbH\n")
    lines = cli("payments", "--as-of", "2026-03-05", "--config", config).stdout.splitlines()
    (row,) = [line for line in lines if "\tINV-1\t" in line]
    assert row.split("\t")[-1] == "reference names INV-1; €100.00 over"
    listed = json.loads(
        cli("payments", "--as-of", "2026-03-05", "--format", "json", "--config", config).stdout
    )
    assert [(p["invoices"], p["over"]) for p in listed["payments"]] == [(["INV-1"], "100.00")]


def test_a_payment_the_ledger_shows_already_is_not_taken_off_twice(tmp_path, cli):
    """The bookkeeper booked the 300.00 before arflow first read the bank's file: the invoice
    owes what the ledger says, 700.00, not 400.00."""
    config = folder(tmp_path, "2026-03-06,300.00,INV-1,One GmbH\n")
    set_invoices(config, INVOICES.replace("1000.00,,EUR", "1000.00,700.00,EUR"))
    run(cli, config, "2026-03-08")
    (one,) = [m for m in messages(config) if "ap@one.example" in m["To"]]
    text = one.get_body(("plain",)).get_content().replace("\r\n", "\n").strip()
    assert text == "INV-1: €700.00 of €1,000.00 open\nyou owe €700.00"


def test_payments_count_from_the_balance_before_the_first_of_them(tmp_path, cli):
    """A payment matched by hand after a later one: what the ledger booked since the earlier
    payment's day is counted once against both (1000 − 300 − 200 = 500)."""
    config = folder(
        tmp_path,
        """\
        2026-03-06,300.00,thanks,Unknown Person
        2026-03-08,200.00,INV-1,One GmbH
        """,
    )
    run(cli, config, "2026-03-08")
    set_invoices(config, INVOICES.replace("1000.00,,EUR", "1000.00,800.00,EUR"))
    listed = json.loads(
        cli("payments", "--as-of", "2026-03-08", "--format", "json", "--config", config).stdout
    )
    (unmatched,) = [p["id"] for p in listed["payments"] if p["state"] == "unmatched"]
    cli("payments", "match", unmatched, "INV-1", "--config", config)
    out = cli("status", "C1", "--as-of", "2026-03-16", "--format", "json", "--config", config)
    assert json.loads(out.stdout)["customers"][0]["open"] == {"EUR": "500.00"}


def test_an_unmatched_payment_is_tried_again_by_reference_only(tmp_path, cli):
    """An ambiguous amount, later booked by the bookkeeper to one of the two invoices, is not
    matched to the other the next night: by then the ledger may hold it."""
    invoices = INVOICES + "INV-4,C1,One GmbH,ap@one.example,2026-02-01,2026-03-01,1000.00,,EUR\n"
    config = folder(tmp_path, "2026-03-06,1000.00,thanks,One GmbH\n")
    set_invoices(config, invoices)
    run(cli, config, "2026-03-06")
    assert payments_table(config) == [("2026-03-06", "1000.00", None, None, None, None)]
    set_invoices(
        config,
        invoices.replace(
            "INV-1,C1,One GmbH,ap@one.example,2026-02-01,2026-03-01,1000.00,,",
            "INV-1,C1,One GmbH,ap@one.example,2026-02-01,2026-03-01,1000.00,0,",
        ),
    )
    night = run(cli, config, "2026-03-16")
    assert [(a["customer_id"], a["step"], a["invoices"]) for a in night["actions"]] == [
        ("C1", "final", ["INV-4"]),
        ("C1", "on_paid", ["INV-1"]),  # the ledger shows INV-1 paid: thanked, once
        ("C2", "final", ["INV-2"]),
        ("C3", "final", ["INV-3"]),
    ]
    assert payments_table(config) == [("2026-03-06", "1000.00", None, None, None, None)]


def test_a_reference_to_an_invoice_the_ledger_shows_paid_is_matched_to_it(tmp_path, cli):
    """An overlapping bank export holds payments booked long ago: each is matched to the paid
    invoice it names, lowers nothing and is no unapplied cash."""
    config = folder(tmp_path, "2026-02-20,250.00,INV-0 thanks,Zero Ltd\n")
    set_invoices(
        config, INVOICES + "INV-0,C9,Zero Ltd,ap@zero.example,2026-01-01,2026-02-01,250.00,0,EUR\n"
    )
    run(cli, config, "2026-03-06")
    assert payments_table(config) == [("2026-02-20", "250.00", "reference", "INV-0", "250.00", "0")]
    aging = json.loads(
        cli("aging", "--as-of", "2026-03-06", "--format", "json", "--config", config).stdout
    )
    assert "unapplied" not in aging


def test_a_reference_naming_another_customers_invoice_waits_for_a_person(tmp_path, cli):
    """ "PO 2" from One GmbH names INV-2, Two Ltd's: the payer is known and is not Two Ltd's,
    so it is not guessed."""
    config = folder(tmp_path, "2026-03-05,800.00,PO 2,One GmbH\n")
    listed = json.loads(
        cli("payments", "--as-of", "2026-03-05", "--format", "json", "--config", config).stdout
    )
    assert [(p["state"], p["why"]) for p in listed["payments"]] == [
        (
            "unmatched",
            "reference names INV-2 of another customer than the payer's (C1): settle it by hand",
        )
    ]


def test_a_real_run_counts_every_payment_it_knows_whatever_its_day(tmp_path, cli):
    """A catch-up run dated before a payment arflow recorded does not chase the customer who
    paid: what it sends uses all it knows."""
    config = folder(tmp_path, "2026-03-08,1000.00,INV-1,One GmbH\n")
    run(cli, config, "2026-03-10")
    night = run(cli, config, "2026-03-07")
    assert "C1" not in [a["customer_id"] for a in night["actions"]]


def test_an_invoice_paid_in_part_before_counts_from_the_balance_a_run_saw(tmp_path, cli):
    """INV-1 was paid down to 600.00 before; a run saw it so on 03-06. The 300.00 of 03-08 is
    not in the ledger yet: 300.00 is owed (without that night's balance arflow could not tell
    the 300.00 from the earlier payments, and would count it only once the ledger shows it)."""
    config = folder(tmp_path)
    set_invoices(config, INVOICES.replace("1000.00,,EUR", "1000.00,600.00,EUR"))
    run(cli, config, "2026-03-06")
    (config.parent / "bank.csv").write_text(BANK_HEADER + "2026-03-08,300.00,INV-1,One GmbH\n")
    out = cli("status", "C1", "--as-of", "2026-03-09", "--format", "json", "--config", config)
    assert json.loads(out.stdout)["customers"][0]["open"] == {"EUR": "300.00"}


def test_matching_by_hand_refuses_what_cannot_be(tmp_path, cli):
    config = folder(tmp_path, "2026-03-05,500.00,our order 77,Someone Else\n")
    (payment,) = json.loads(
        cli("payments", "--as-of", "2026-03-05", "--format", "json", "--config", config).stdout
    )["payments"]
    twice = cli("payments", "match", payment["id"], "INV-3", "INV-3", "--config", config, expect=2)
    assert "INV-3 is given twice: name each invoice once" in twice.output
    used = cli("payments", "match", payment["id"], "INV-3", "INV-2", "--config", config, expect=2)
    assert "the payment is used up by INV-3: nothing of it is left for INV-2" in used.output
    assert payments_table(config) == [("2026-03-05", "500.00", None, None, None, None)]


def test_a_quiet_run_still_says_a_payment_waits_for_a_person(tmp_path, cli):
    config = folder(tmp_path, "2026-03-05,42.00,thanks,Stranger\n")
    out = cli("run", "--quiet", "--as-of", "2026-03-06", "--config", config).stdout
    assert (
        "Payments: 1 new in bank.csv: 0 matched, 1 unmatched (they wait for a person: "
        "arflow payments --unmatched)"
    ) in out.splitlines()
