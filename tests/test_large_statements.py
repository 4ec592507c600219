"""Statements of very large accounts, and the notices that tell of a statement (issue 28): a
statement too long to list in a message shows its totals (its CSV still lists every line); a
parent with 20,000 branches gets one; a statement that is not sent has no notice saying it was.
Real runs of the example's folder (`arflow init`) over generated files, and an SMTP server on
loopback."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json

import pypdf
import pytest

from arflow.scaffold import write_scaffold

MANY = 20_000
FIRST_MONDAY = "2026-03-02"  # the example's statement campaign goes on the first Monday
CAMPAIGN = """\
name: Monthly statement
schedule: {every: month, week: 1, weekday: mon}
match: {segment: [wholesale]}
consolidate: true
actions:
  - email: {template: statement, attach: [statement.csv, statement.pdf]}
  - notify: {to: controller, template: statement-internal}
"""


def statement_folder(root, branches: bool):
    """The example folder with the campaign alone: P0 and its 20,000 invoices, or P0 and 20,000
    branches with one invoice each."""
    from datetime import date

    write_scaffold(root, date(2026, 3, 2))
    for path in (root / "workflows").iterdir():
        path.unlink()
    (root / "workflows" / "monthly-statement.yaml").write_text(CAMPAIGN)
    config = root / "arflow.yaml"
    config.write_text(config.read_text().replace("default_workflow: net30-standard", ""))
    with (root / "customers.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["customer_id", "name", "email", "segment", "parent_id"])
        out.writerow(["P0", "Parent", "ap@parent.example", "wholesale", ""])
        if branches:
            out.writerows(
                [f"B{i:05d}", f"Branch {i}", f"ap{i}@branch.example", "wholesale", "P0"]
                for i in range(MANY)
            )
    with (root / "invoices.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["number", "customer_id", "issue_date", "terms", "amount"])
        out.writerows(
            [f"INV-{i:05d}", f"B{i:05d}" if branches else "P0", "2026-01-01", "Net 30", "100.00"]
            for i in range(MANY)
        )
    return config


def sent(outbox) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(outbox.glob("*.eml"))
    ]


def attachment(message: email.message.EmailMessage, name: str) -> bytes:
    (part,) = [p for p in message.iter_attachments() if p.get_filename() == name]
    return part.get_payload(decode=True)


@pytest.mark.parametrize("branches", [False, True], ids=["own invoices", "branches"])
def test_a_statement_of_20000_invoices_shows_its_totals(cli, tmp_path, branches):
    config = statement_folder(tmp_path / "ar", branches)
    run = json.loads(
        cli("run", "--as-of", FIRST_MONDAY, "--format", "json", "--config", config).stdout
    )
    assert run["errors"] == []
    assert [(a["action"], a["customer_id"], a["status"]) for a in run["actions"]] == [
        ("email", "P0", "sent"),
        ("notify", "P0", "sent"),
    ]
    # the branches are covered by their parent's statement
    assert {s["reason"] for s in run["skipped"]} == ({"consolidated"} if branches else set())
    statement, notice = sent(tmp_path / "ar" / "outbox")
    text = statement.get_body(("plain",)).get_content().replace("\r\n", "\n")
    on = " on your accounts" if branches else ""
    assert (
        f"as of Mar 2, 2026: 20000 invoices still open{on}, too many to list in an email.\n"
        "It shows their totals; the CSV file attached lists every invoice."
    ) in text
    assert "Outstanding:  $2,000,000.00" in text
    assert "INV-" not in text and "By account" not in text and "Branch" not in text
    html = statement.get_body(("html",)).get_content()
    assert "INV-" not in html and "$2,000,000.00" in html and len(html) < 20_000
    # the CSV lists every invoice, the PDF the totals
    lines = attachment(statement, "statement.csv").decode().splitlines()
    assert len(lines) == MANY + 1 and lines[-1].startswith(
        f"{'B19999,Branch 19999' if branches else 'P0,Parent'},INV-19999,"
    )
    pdf = pypdf.PdfReader(io.BytesIO(attachment(statement, "statement.pdf")))
    words = "\n".join(page.extract_text() for page in pdf.pages)
    assert len(pdf.pages) == 1 and "20,000 open invoices: too many to list here" in words
    assert "USD: outstanding $2,000,000.00" in words and "INV-" not in words
    # the notice tells of the statement that went
    assert "a statement of 20000 open invoices" in notice.get_body(("plain",)).get_content()
    # history says which statement it was
    [entry] = [
        e
        for e in json.loads(cli("history", "--format", "json", "--config", config).stdout)[
            "actions"
        ]
        if e["kind"] == "email"
    ]
    assert entry["description"].startswith("statement of 2026-03-02, totals only (20000 invoices)")
