"""`arflow run --dry-run --sample` (issue 29): every step of every enabled workflow planned and
rendered against a made-up ledger, without the sources and without the state database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from arflow.config import load_config
from arflow.phones import e164
from arflow.project import load_project
from arflow.sample_ledger import anchor_for
from arflow.scaffold import write_scaffold
from arflow.sources.values import ValueParser
from arflow.workflow import Workflow
from tests.conftest import unstamped

FIRST_MONDAY = "2026-03-02"  # the monthly statement's day
THIRD_MONDAY = "2026-03-16"
# every (workflow, step) of the bundled example's enabled workflows, on_paid where it has one
EVERY_STEP = {
    ("ar-workflow", "kickoff"),
    ("ar-workflow", "text"),
    ("ar-workflow", "call"),
    ("ar-workflow", "escalate"),
    ("ar-workflow", "finish"),  # notify_on: [finish], with the last step
    ("ar-workflow", "on_paid"),
    ("hosting-overdue", "overdue"),
    ("late-fee-warning", "warning"),
    ("late-fee-warning", "fee"),
    ("late-fee-warning", "final"),
    ("late-fee-warning", "finish"),
    ("late-fee-warning", "on_paid"),
    ("net30-standard", "courtesy"),
    ("net30-standard", "reminder"),
    ("net30-standard", "overdue-30"),
    ("net30-standard", "final-notice"),
    ("net30-standard", "on_paid"),
    ("past-due-15-30-45", "past-due-15"),
    ("past-due-15-30-45", "past-due-30"),
    ("past-due-15-30-45", "past-due-45"),
    ("past-due-15-30-45", "on_paid"),
    ("payment-plan", "note"),  # its templates render without a plan too
    ("payment-plan", "reminder"),
    ("payment-plan", "final"),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The bundled example as `arflow init` writes it, without its ledger."""
    ar = tmp_path / "ar"
    write_scaffold(ar, date(2026, 3, 16))
    for csv in ar.glob("*.csv"):
        csv.unlink()
    return ar


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_every_step_of_every_workflow_is_planned_without_a_ledger(folder, run_json):
    before = _files(folder)
    _, document = run_json(folder, FIRST_MONDAY, "--sample")
    assert document["sample"] is True and document["not_due"] == [] and document["later"] == []
    planned = {(a["workflow"], a["step"]) for a in document["actions"]}
    assert planned == EVERY_STEP | {("monthly-statement", FIRST_MONDAY)}
    assert document["errors"] == [] and document["skipped"] == []
    assert {a["status"] for a in document["actions"]} == {"planned"}
    # the channels the steps use, each planned
    kinds = {a["action"] for a in document["actions"]}
    assert kinds == {"assign", "note", "email", "sms", "task", "status", "notify", "charge_fees"}
    # nothing written: no state database, no outbox, every file as it was
    assert _files(folder) == before
    assert not (folder / "arflow.db").exists() and not (folder / "outbox").exists()


def test_each_step_has_its_own_customer_once_in_each_language(folder, run_json):
    _, document = run_json(folder, FIRST_MONDAY, "--sample")
    steps_of: dict[str, set[tuple[str, str]]] = {}
    for a in document["actions"]:
        if a["step"] != "finish":  # the owner's notice goes with the last step's customer
            steps_of.setdefault(a["customer_id"], set()).add((a["workflow"], a["step"]))
    assert all(len(steps) == 1 for steps in steps_of.values())
    # the templates speak English and German (reminder.de.*): each step twice
    assert len(steps_of) == 2 * (len(EVERY_STEP) - 2 + 1)
    reminders = sorted(
        a["subject"]
        for a in document["actions"]
        if a["workflow"] == "net30-standard" and a["step"] == "reminder" and a["action"] == "email"
    )
    assert reminders == [
        "Reminder: 1 invoice past due ($1,250.00)",
        "Zahlungserinnerung: 1 Rechnung überfällig (1.250,00\xa0$)",
    ]


def test_a_campaign_not_due_today_is_rendered_on_its_next_occurrence(folder, run_json):
    _, document = run_json(folder, THIRD_MONDAY, "--sample")
    assert document["not_due"] == [
        "monthly-statement: a campaign with no occurrence due, rendered as of 2026-04-06"
    ]
    assert {(a["workflow"], a["step"]) for a in document["actions"]} == EVERY_STEP
    # the first Monday of April: the statement, once in each language, nothing else
    assert [
        (a["date"], a["workflow"], a["step"], a["customer_id"], a["action"], a["to"])
        for a in document["later"][0].pop("actions")
    ] == [
        ("2026-04-06", "monthly-statement", "2026-04-06", c, action, [to])
        for c in ("S001", "S002")
        for action, to in (
            ("email", f"ap-{c.lower()}@sample.example"),
            ("notify", "controller@acme.example"),
        )
    ]
    assert document["later"] == [
        {
            "as_of": "2026-04-06",
            "workflows": ["monthly-statement"],
            "skipped": [],
            "errors": [],
            "summary": {
                "invoices": 2,
                "open": 2,
                "actions": 4,
                "sent": 0,
                "failed": 0,
                "unknown": 0,
                "skipped": 0,
                "errors": 0,
            },
        }
    ]


def test_a_campaign_with_no_occurrence_in_the_window_is_named_not_rendered(folder, run_json):
    path = folder / "workflows" / "monthly-statement.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("weekday: mon}", "weekday: mon, start: 2027-04-05}"), "utf-8")
    _, document = run_json(folder, THIRD_MONDAY, "--sample")  # 385 days after: found
    assert [(d["as_of"], d["workflows"]) for d in document["later"]] == [
        ("2027-04-05", ["monthly-statement"])
    ]
    # from the next day on, the first occurrence is May's first Monday: 413 days after
    path.write_text(text.replace("weekday: mon}", "weekday: mon, start: 2027-04-06}"), "utf-8")
    _, document = run_json(folder, THIRD_MONDAY, "--sample")
    assert document["later"] == []
    assert document["not_due"] == [
        "monthly-statement: a campaign with no occurrence due, nor on any of the 400 days "
        "after: not rendered"
    ]


def test_on_a_weekend_every_step_is_rendered_on_the_next_day_it_can_be(folder, run_json):
    _, document = run_json(folder, "2026-03-14", "--sample")  # a Saturday
    planned = {(a["workflow"], a["step"]) for a in document["actions"]}
    # counted in business days, the assigned workflows send nothing on a Saturday but the
    # thank-you of on_paid
    business = {"ar-workflow", "late-fee-warning"}
    assert planned == {(w, s) for w, s in EVERY_STEP if w not in business or s == "on_paid"}
    monday, statement = "rendered as of 2026-03-16", "rendered as of 2026-04-06"
    assert document["not_due"] == [
        f"ar-workflow/call: not a business day, {monday}",
        f"ar-workflow/escalate: not a business day, {monday}",
        f"ar-workflow/kickoff: not a business day, {monday}",
        f"ar-workflow/text: not a business day, {monday}",
        f"late-fee-warning/fee: not a business day, {monday}",
        f"late-fee-warning/final: not a business day, {monday}",
        f"late-fee-warning/warning: not a business day, {monday}",
        f"monthly-statement: a campaign, and not a business day, {statement}",
    ]
    # the next Monday for the business-day workflows, April's first Monday for the statement
    later = document["later"]
    assert [(d["as_of"], d["workflows"]) for d in later] == [
        ("2026-03-16", ["ar-workflow", "late-fee-warning"]),
        ("2026-04-06", ["monthly-statement"]),
    ]
    assert [{a["date"] for a in d["actions"]} for d in later] == [{"2026-03-16"}, {"2026-04-06"}]
    assert all(d["errors"] == [] and d["skipped"] == [] for d in later)
    # over the days, every step of every enabled workflow, exactly
    rendered = planned | {(a["workflow"], a["step"]) for d in later for a in d["actions"]}
    assert rendered == EVERY_STEP | {("monthly-statement", "2026-04-06")}
    assert {a["status"] for d in later for a in d["actions"]} == {"planned"}


def test_a_broken_business_day_template_fails_a_saturday_sample(folder, run_json, cli):
    # it fails only when rendered for a customer (the sample's invoices): on a Saturday the
    # step is not due, and the sample renders it as of the next Monday
    (folder / "templates" / "late-fee-warning.txt.j2").write_text(
        'Dear {{ customer.name }},\n{% if "SAMPLE-" in invoices[0].number %}{{ 1 // 0 }}'
        "{% endif %}\n",
        encoding="utf-8",
    )
    _, document = run_json(folder, "2026-03-14", "--sample", expect=3)
    assert document["errors"] == []
    assert [d["errors"] for d in document["later"]] == [
        [
            {
                "file": "templates/late-fee-warning.txt.j2",
                "line": 2,
                "column": None,
                "value": customer,
                "message": f"cannot render for customer {customer}: division by zero",
            }
            for customer in ("S006", "S015")  # in English, then in German
        ],
        [],
    ]
    result = cli(
        "run", "--dry-run", "--sample", "--as-of", "2026-03-14", "--config", folder, expect=3
    )
    assert (
        "error\ttemplates/late-fee-warning.txt.j2:2: cannot render for customer S006: "
        "division by zero"
    ) in result.stdout.splitlines()


def test_the_table_shows_each_later_day_with_its_title(folder, cli):
    result = cli("run", "--dry-run", "--sample", "--as-of", "2026-03-14", "--config", folder)
    lines = result.stdout.splitlines()
    titles = [line for line in lines if line.startswith("# sample ledger")]
    assert titles == [
        "# sample ledger: 32 made-up customers, one for each step on 2026-03-14 "
        "(no source read, nothing recorded)",
        "# sample ledger as of 2026-03-16, for the steps not due on 2026-03-14: 18 made-up "
        "customers of ar-workflow, late-fee-warning",
        "# sample ledger as of 2026-04-06, for the steps not due on 2026-03-14: 2 made-up "
        "customers of monthly-statement",
    ]
    kickoff = (
        "2026-03-16\tS001\tar-workflow\tkickoff\tassign\t\u2014\tSAMPLE-0001\t$1,250.00\tplanned"
    )
    assert kickoff in lines[lines.index(titles[1]) :]
    days = ("#", "2026-03-14\tS", "2026-03-16\tS", "2026-04-06\tS")
    assert [line for line in lines if not line.startswith(days)] == [
        "2026-03-14: 32 invoices, 24 open, 44 action(s) planned, 0 skipped, 0 error(s)",
        "2026-03-16: 18 invoices, 14 open, 40 action(s) planned, 0 skipped, 0 error(s)",
        "2026-04-06: 2 invoices, 2 open, 4 action(s) planned, 0 skipped, 0 error(s)",
    ]


def test_the_table_says_it_is_a_sample(folder, cli):
    result = cli("run", "--dry-run", "--sample", "--as-of", THIRD_MONDAY, "--config", folder)
    lines = result.stdout.splitlines()
    assert lines[1] == (
        "# sample ledger: 46 made-up customers, one for each step on 2026-03-16 "
        "(no source read, nothing recorded)"
    )
    assert (
        lines[2]
        == "# not due on 2026-03-16: monthly-statement: a campaign with no occurrence due, "
        "rendered as of 2026-04-06"
    )
    assert (
        "2026-03-16\tS013\tnet30-standard\treminder\tsms\t+12025550113\tSAMPLE-0013\t$1,250.00\tplanned"
        in lines
    )


def test_made_up_values_pass_the_sources_parsers(folder):
    from arflow.sample_night import sample_night

    project = load_project(folder / "arflow.yaml")
    night = sample_night(project, date(2026, 3, 2))
    parser = ValueParser(load_config(folder / "arflow.yaml").invoices, "invoices", "US")
    for customer in night.sample.ledger.customers.values():
        assert parser.emails("; ".join(customer.email)) == (customer.email, [])
        assert customer.phone is not None and e164(customer.phone, None) == customer.phone
    for invoice in night.sample.ledger.invoices:
        assert parser.money(str(invoice.amount)) == invoice.amount
        assert invoice.issue_date <= date(2026, 3, 2) and invoice.issue_date <= invoice.due_date


def test_a_broken_template_fails_naming_its_file_and_line(folder, cli):
    (folder / "templates" / "courtesy.txt.j2").write_text(
        "Hello {{ customer.name }},\n{{ invoices|nosuch }}\n", encoding="utf-8"
    )
    result = cli(
        "run", "--dry-run", "--sample", "--as-of", THIRD_MONDAY, "--config", folder, expect=1
    )
    assert unstamped(result.stderr).splitlines()[0] == (
        "templates/courtesy.txt.j2:2: template syntax error: No filter named 'nosuch'."
    )


def test_sample_needs_dry_run(folder, cli):
    result = cli("run", "--sample", "--config", folder, expect=2)
    assert "--sample plans against a made-up ledger: it only goes with --dry-run" in result.output
    result = cli("run", "--sample-if-no-ledger", "--config", folder, expect=2)
    assert "--sample-if-no-ledger plans against a made-up ledger" in result.output
    result = cli("run", "--dry-run", "--sample", "--customer", "C001", "-c", folder, expect=2)
    assert "--sample makes up its own customers: --customer does not go with it" in result.output


def test_a_disabled_workflow_has_no_sample_customer(folder, run_json):
    path = folder / "workflows" / "hosting-overdue.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "enabled: false\n", encoding="utf-8")
    _, document = run_json(folder, THIRD_MONDAY, "--sample")
    planned = {(a["workflow"], a["step"]) for a in document["actions"]}
    assert planned == EVERY_STEP - {("hosting-overdue", "overdue")}
    assert document["skipped"] == [] and document["summary"]["invoices"] == 44  # 2 × 22


def test_sample_if_no_ledger_reads_the_ledger_when_it_is_there(tmp_path, run_json):
    ar = tmp_path / "ar"
    write_scaffold(ar, date(2026, 3, 16))
    _, real = run_json(ar, THIRD_MONDAY, "--sample-if-no-ledger")
    assert "sample" not in real
    assert {a["customer_id"] for a in real["actions"]} <= {f"C00{n}" for n in range(1, 8)}
    (ar / "invoices.csv").unlink()
    _, made_up = run_json(ar, THIRD_MONDAY, "--sample-if-no-ledger")
    assert made_up["sample"] is True
    assert {(a["workflow"], a["step"]) for a in made_up["actions"]} == EVERY_STEP


@pytest.mark.parametrize(
    ("business", "day", "as_of", "anchor"),
    [
        (False, 7, date(2026, 3, 16), date(2026, 3, 9)),
        (False, -3, date(2026, 3, 16), date(2026, 3, 19)),
        (True, 0, date(2026, 3, 16), date(2026, 3, 16)),
        (True, 2, date(2026, 3, 16), date(2026, 3, 12)),  # Thu, Fri → Mon
        (True, 5, date(2026, 3, 16), date(2026, 3, 9)),
        (True, 2, date(2026, 3, 14), None),  # a Saturday: nothing counts to it
    ],
)
def test_the_anchor_of_a_step_due_on_the_day(business, day, as_of, anchor):
    wf = Workflow.model_validate(
        {"business_days": business, "steps": [{"id": "s", "day": day, "actions": [{"note": "x"}]}]}
    )
    assert anchor_for(wf, day, as_of) == anchor


def test_the_indented_json_holds_the_later_days_as_the_compact_one(folder, run_json, monkeypatch):
    _, compact = run_json(folder, "2026-03-14", "--sample")  # a pipe: written piece by piece
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # a person's terminal: indented
    _, indented = run_json(folder, "2026-03-14", "--sample")
    assert indented == compact
    assert [d["as_of"] for d in indented["later"]] == ["2026-03-16", "2026-04-06"]


def test_a_disabled_business_day_workflow_has_no_later_day(folder, run_json):
    path = folder / "workflows" / "late-fee-warning.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "enabled: false\n", encoding="utf-8")
    _, document = run_json(folder, "2026-03-14", "--sample")
    assert [(d["as_of"], d["workflows"]) for d in document["later"]] == [
        ("2026-03-16", ["ar-workflow"]),
        ("2026-04-06", ["monthly-statement"]),
    ]
    assert [line for line in document["not_due"] if "late-fee" in line] == []


def test_tasks_notes_and_statuses_show_their_rendered_text(folder, run_json, cli, monkeypatch):
    _, document = run_json(folder, THIRD_MONDAY, "--sample")
    texts = {
        (a["customer_id"], a["step"], a["action"]): a["text"]
        for a in document["actions"]
        if "text" in a
    }
    assert (
        texts[("S003", "call", "task")]
        == "Call Sample 3 (ar-workflow/call) about $1,250.00 overdue"
    )
    assert texts[("S001", "kickoff", "note")] == (
        "Sample 1 (ar-workflow/kickoff) entered the AR Workflow with 1 open invoice; check the "
        "billing contact."
    )
    assert texts[("S003", "call", "status")] == "Contacted"
    assert not [t for t in texts.values() if "{" in t]
    # the table a person reads shows the same words, not the template's
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "200")
    table = cli("run", "--dry-run", "--sample", "--as-of", THIRD_MONDAY, "--config", folder).stdout
    assert "│ Call Sample 3 (ar-workflow/call) about" in table  # the rest wraps
    assert "{{" not in table
