"""The library's templates read right for one invoice and for several (issue 27): a subject
never names one invoice above an email that lists two. Real runs of folders holding the
bundled templates, real CSV files, the file outbox; each message read back as its recipient
gets it."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import date
from pathlib import Path

import pytest

from arflow.scaffold import library, write_scaffold
from tests.conftest import make_folder

CONFIG = """\
company: {name: Acme Ltd, email: ar@acme.example, timezone: America/New_York, currency: USD,
          locale: en_US}
invoices: {path: invoices.csv}
customers: {path: customers.csv}
people:
  controller: {name: Chris Doe, email: controller@acme.example}
channels:
  email: {transport: outbox, dir: outbox}
  notify: {transport: email}
"""

# C1 owes one invoice; C2 two due the same day; C3 two due two days apart
INVOICES = """\
number,customer_id,issue_date,due_date,amount
A-1,C1,2026-02-08,2026-03-10,100.00
B-1,C2,2026-02-08,2026-03-10,200.00
B-2,C2,2026-02-08,2026-03-10,300.00
D-1,C3,2026-02-08,2026-03-10,400.00
D-2,C3,2026-02-10,2026-03-12,500.00
"""

CUSTOMERS = """\
customer_id,name,email,segment
C1,Alpha Ltd,ap@alpha.example,wholesale
C2,Beta Ltd,ap@beta.example,wholesale
C3,Gamma Ltd,ap@gamma.example,wholesale
"""


def bundled() -> dict[str, str]:
    return {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted((library() / "templates").iterdir())
    }


@pytest.fixture
def folder(tmp_path):
    def build(workflow: str) -> Path:
        return make_folder(
            tmp_path / "ar",
            invoices=INVOICES,
            workflows={"w": workflow},
            config=CONFIG + "default_workflow: w\n",
            templates=bundled(),
            extra_files={"customers.csv": CUSTOMERS},
        )

    return build


NAMED = re.compile(r"\d{4}-\d\d-\d\d-(?P<customer>[^-]+)-.+-(?P<index>\d+)-[0-9a-f]+\.eml")


def outbox(config: Path) -> dict[tuple[str, str], email.message.EmailMessage]:
    """The outbox's emails by (customer, action index): `DATE-CUSTOMER-WORKFLOW-STEP-INDEX-…`."""
    found = {}
    for path in sorted((config.parent / "outbox").glob("*.eml")):
        named = NAMED.fullmatch(path.name)
        assert named is not None, path.name
        found[(named["customer"], named["index"])] = email.message_from_bytes(
            path.read_bytes(), policy=email.policy.default
        )
    return found


def text_of(message: email.message.EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    return part.get_content()


def test_the_courtesy_subject_speaks_of_every_invoice_it_lists(folder, run_json):
    config = folder(
        """\
        anchor: due_date
        catch_up: latest
        steps:
          - {id: soon, day: -3, actions: [{email: courtesy}]}
        """
    )
    _code, doc = run_json(config, "2026-03-09")
    assert {a["customer_id"]: (a["invoices"], a["subject"]) for a in doc["actions"]} == {
        "C1": (["A-1"], "Acme Ltd: invoice A-1 is due on Mar 10, 2026"),
        "C2": (["B-1", "B-2"], "Acme Ltd: 2 invoices (B-1, B-2) are due on Mar 10, 2026"),
        "C3": (
            ["D-1", "D-2"],
            "Acme Ltd: 2 invoices (D-1, D-2) are due between Mar 10, 2026 and Mar 12, 2026",
        ),
    }


def test_past_due_says_how_late_each_message_s_invoices_are(folder, cli):
    config = folder(
        """\
        name: Late
        anchor: due_date
        catch_up: latest
        steps:
          - id: d30
            day: 30
            actions:
              - email: past-due
              - notify: {to: controller, template: internal-past-due}
        """
    )
    cli("run", "--as-of", "2026-04-11", "--config", config)  # A-1, B-1, B-2, D-1: 32 days
    sent = outbox(config)
    assert {key: message["Subject"] for key, message in sent.items()} == {
        ("C1", "0"): "Past due: invoice A-1 — 32 days past due",
        ("C1", "1"): "[AR] Alpha Ltd: 1 invoice 32 days past due (Late)",
        ("C2", "0"): "Past due: invoices B-1, B-2 — 32 days past due",
        ("C2", "1"): "[AR] Beta Ltd: 2 invoices 32 days past due (Late)",
        ("C3", "0"): "Past due: invoices D-1, D-2 — 30 to 32 days past due",
        ("C3", "1"): "[AR] Gamma Ltd: 2 invoices 30 to 32 days past due (Late)",
    }
    said = {
        "C1": "The following invoice is now 32 days past due",
        "C2": "The following invoices are now 32 days past due",
        "C3": "The following invoices are now 30 to 32 days past due",
    }
    problem = {
        "C1": "If there is a problem with the invoice, reply",
        "C2": "If there is a problem with one of these invoices, reply",
        "C3": "If there is a problem with one of these invoices, reply",
    }
    for customer, sentence in said.items():
        text = " ".join(text_of(sent[(customer, "0")], "plain").split())
        assert f"{sentence}:" in text and problem[customer] in text
        html = " ".join(text_of(sent[(customer, "0")], "html").split())
        assert (
            f"{sentence.replace(' now ', ' now <strong>')}</strong>." in html
            and problem[customer] in html
        )


def test_a_statement_of_one_invoice_or_several(folder, cli, tmp_path):
    config = folder(
        "anchor: due_date\nsteps:\n  - {id: later, day: 90, actions: [{email: reminder}]}\n"
    )
    (tmp_path / "ar" / "workflows" / "statement.yaml").write_text(
        "schedule: {every: month, day: 1}\n"
        "match: {segment: [wholesale]}\n"
        "actions:\n"
        "  - email: statement\n"
    )
    cli("run", "--as-of", "2026-04-01", "--config", config)
    sent = outbox(config)
    first = {
        customer: " ".join(text_of(sent[(customer, "0")], "plain").split()).split(".")[0]
        for customer in ("C1", "C2")
    }
    assert first == {
        "C1": "Dear Alpha Ltd, Here is your statement of account as of Apr 1, 2026: the invoice "
        "still open",
        "C2": "Dear Beta Ltd, Here is your statement of account as of Apr 1, 2026: the invoices "
        "still open, oldest first",
    }
    html = " ".join(text_of(sent[("C1", "0")], "html").split())
    assert "<strong>Apr 1, 2026</strong>: the invoice still open.</p>" in html
    html = " ".join(text_of(sent[("C2", "0")], "html").split())
    assert "<strong>Apr 1, 2026</strong>: the invoices still open, oldest first.</p>" in html


def test_the_example_s_courtesy_for_two_invoices_due_the_same_day(tmp_path, cli):
    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    invoices = tmp_path / "ar" / "invoices.csv"
    # Blue Harbor's two invoices (Net 30) both issued Feb 7: both due Mar 9
    text = invoices.read_text()
    assert "INV-1003,C002,2026-02-06," in text
    invoices.write_text(text.replace("INV-1003,C002,2026-02-06,", "INV-1003,C002,2026-02-07,"))
    doc = json.loads(
        cli("run", "--as-of", "2026-03-06", "--format", "json", "--config", config).stdout
    )
    [action] = [a for a in doc["actions"] if a["customer_id"] == "C002"]
    assert (action["step"], action["invoices"]) == ("courtesy", ["INV-1002", "INV-1003"])
    [path] = (tmp_path / "ar" / "outbox").glob("*-C002-net30-standard-courtesy-0-*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == (
        "Acme Supplies Ltd: 2 invoices (INV-1002, INV-1003) are due on Mar 9, 2026"
    )
    body = text_of(message, "plain")
    assert "the following invoices are due soon" in body
    assert "INV-1002" in body and "INV-1003" in body
