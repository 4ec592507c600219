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
from arflow.state import StateDB
from tests.conftest import make_folder
from tests.servers import SmtpServer

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
    config.write_text(
        config.read_text()
        .replace("default_workflow: net30-standard", "")
        .replace("plan_workflow: payment-plan", "")
        .replace("on_broken_plan: net30-standard", "")
    )
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


# a template of its own that lists every invoice, whatever their number
LISTS_ALL = (
    "{% for inv in statement.invoices %}{{ inv.number }} due {{ inv.due_date }}\n{% endfor %}"
)


def test_a_statement_too_large_to_make_is_reported_and_no_notice_says_it_went(cli, tmp_path):
    config = statement_folder(tmp_path / "ar", branches=False)
    templates = tmp_path / "ar" / "templates"
    (templates / "statement.txt.j2").write_text(LISTS_ALL * 4)
    (templates / "statement.html.j2").unlink()
    for _night in range(2):  # the next run finds it as it was: tried again, the same
        result = cli(
            "run", "--as-of", FIRST_MONDAY, "--format", "json", "--config", config, expect=3
        )
        run = json.loads(result.stdout)
        [error] = run["errors"]
        assert error["file"] == "templates/statement.txt.j2" and error["value"] == "P0"
        assert error["message"] == (
            "cannot render for customer P0: too large (over 1 MB); look for a loop that prints "
            "more than it should; a statement of 20000 invoices is too long to list: show its "
            "totals when `statement.totals_only` is true (past 2,000 invoices or accounts), as "
            "the statement templates of `arflow init` do"
        )
        assert run["actions"] == []
        assert [(s["customer_id"], s["reason"]) for s in run["skipped"]] == [
            ("P0", "statement-not-sent")
        ]
        assert sent(tmp_path / "ar" / "outbox") == []
    # nothing recorded: the statement and its notice go together once it can be made
    (templates / "statement.txt.j2").write_text(
        "{% if statement.totals_only %}{{ statement.invoices|length }} open{% endif %}"
    )
    run = json.loads(
        cli("run", "--as-of", FIRST_MONDAY, "--format", "json", "--config", config).stdout
    )
    assert [(a["action"], a["status"]) for a in run["actions"]] == [
        ("email", "sent"),
        ("notify", "sent"),
    ]


SMALL = """\
number,customer_id,issue_date,due_date,amount
A1,A,2026-01-02,2026-02-01,600.00
"""
# the notice first: it still goes after the statement, once the statement went
NOTICE_FIRST = """\
schedule: {every: month, week: 1, weekday: mon}
actions:
  - notify: {to: controller, template: internal}
  - email: {template: statement}
"""
SMTP_CONFIG = """\
company: {{name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD, locale: en_US}}
invoices: {{path: invoices.csv}}
customers: {{path: customers.csv}}
people:
  controller: {{name: Chris Doe, email: controller@acme.example}}
channels:
  email: {{transport: smtp, host: 127.0.0.1, port: {port}, timeout: 3}}
"""


@pytest.fixture
def smtp_folder(tmp_path):
    server = SmtpServer()
    config = make_folder(
        tmp_path / "ar",
        invoices=SMALL,
        workflows={"statement": NOTICE_FIRST},
        templates={
            "statement.subject.j2": "Statement {{ statement.occurrence }}",
            "statement.txt.j2": "{{ statement.invoices|length }} open",
            "internal.subject.j2": "[AR] statement sent to {{ customer.name }}",
            "internal.txt.j2": "sent",
        },
        config=SMTP_CONFIG.format(port=server.port),
        extra_files={"customers.csv": "customer_id,name,email\nA,Alder Ltd,a@alder.example\n"},
    )
    yield server, config
    server.stop()


def night(cli, config, day: str, expect: int | None = 0) -> dict:
    result = cli("run", "--as-of", day, "--format", "json", "--config", config, expect=expect)
    return json.loads(result.stdout)


@pytest.mark.parametrize("outcome", ["failed", "unknown"])
def test_a_statement_settled_without_going_has_no_notice_ever(cli, smtp_folder, outcome):
    server, config = smtp_folder
    if outcome == "failed":
        server.handler.data_replies = {0: "550 5.7.1 refused"}  # for good
    else:
        server.handler.disconnect_on = {0}  # it arrived; arflow never heard so
    run = night(cli, config, FIRST_MONDAY, expect=3)
    assert [(a["action"], a["status"]) for a in run["actions"]] == [("email", outcome)]
    assert [s["reason"] for s in run["skipped"]] == ["statement-not-sent"]
    assert server.handler.data_calls == 1  # the statement alone
    db = StateDB.open_readonly(config.parent / "arflow.db", "arflow.db")
    assert db is not None
    assert [(e["kind"], e["state"], e["reason"]) for e in db.history()] == [
        ("notify", "skipped", "statement-not-sent"),
        ("email", outcome, None),
    ]
    db.close()
    # settled both: the next night sends neither
    run = night(cli, config, "2026-03-03")
    assert run["actions"] == [] and run["skipped"] == []
    assert server.handler.data_calls == 1


def test_a_notice_waits_while_its_statement_is_tried_again(cli, smtp_folder):
    server, config = smtp_folder
    server.handler.data_replies = {0: "451 4.3.0 try again later"}
    run = night(cli, config, FIRST_MONDAY, expect=3)
    assert [(a["action"], a["status"]) for a in run["actions"]] == [("email", "failed")]
    assert [s["reason"] for s in run["skipped"]] == ["statement-not-sent"]
    # the notice is not recorded: it goes with the statement, after it
    run = night(cli, config, "2026-03-03")
    assert [(a["action"], a["status"]) for a in run["actions"]] == [
        ("email", "sent"),
        ("notify", "sent"),
    ]
    assert [m.rcpt_tos for m in server.messages] == [
        ["a@alder.example"],
        ["controller@acme.example"],
    ]
    run = night(cli, config, "2026-03-04")
    assert run["actions"] == [] and server.handler.data_calls == 3


def test_a_dry_run_shows_the_notice_after_its_statement(run_json, smtp_folder):
    server, config = smtp_folder
    _code, doc = run_json(config, FIRST_MONDAY)
    assert [(a["action"], a["status"]) for a in doc["actions"]] == [
        ("email", "planned"),
        ("notify", "planned"),
    ]
    assert doc["skipped"] == [] and server.handler.data_calls == 0
