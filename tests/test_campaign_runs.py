"""Campaigns over six weeks of real nightly runs (SPEC 4.10): every schedule kind, a holiday move,
expiry, two currencies, a three-level parent/child family, a paused customer, a paused invoice
left out of the list but counted in the totals, conditions failing and holding, and reruns that
send nothing. Each day's exact statements and skip reasons are asserted."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, timedelta

import pytest

from arflow.state import StateDB
from tests.conftest import BASE_CONFIG, make_folder
from tests.test_validate import GOOD, problems

INVOICES = """\
number,customer_id,issue_date,due_date,amount,currency,paid_date
A1,A,2026-01-02,2026-02-01,600.00,USD,
A2,A,2026-03-01,2026-04-20,200.00,USD,
AE,A,2026-01-02,2026-02-01,50.00,EUR,
B1,B,2026-01-02,2026-02-01,1000.00,USD,
C1,C,2026-01-02,2026-02-01,100.00,USD,
M1,M,2026-01-15,2026-02-15,300.00,USD,
L1,L,2026-01-20,2026-02-20,400.00,USD,
LE,L,2026-01-20,2026-02-20,900.00,EUR,
W1,W,2026-02-01,2026-03-01,50.00,USD,2026-04-09
"""
CUSTOMERS = """\
customer_id,name,email,segment,parent_id
A,Alder Ltd,a@alder.example,solo,
B,Birch Ltd,b@birch.example,solo,
C,Cedar Ltd,c@cedar.example,solo,
P,Pine Group,p@pine.example,family,
M,Pine Mills,m@pine.example,family,P
L,Pine Lumber,l@pine.example,family,M
W,Willow Ltd,w@willow.example,weekly,
"""
STATEMENT = "  - email: {template: statement, cc: [controller]}\n"
CAMPAIGNS = {
    # every Friday; Good Friday and Easter Monday (England) move 3 April to Tuesday 7 April
    "weekly": "schedule: {every: week, weekday: fri}\nbusiness_days: true\nholidays: GB-ENG\n"
    "match: {segment: [weekly]}\nactions:\n" + STATEMENT,
    "fortnightly": "schedule: {every: 2 weeks, weekday: wed, start: 2026-03-11}\n"
    "match: {customer: [C]}\nactions:\n" + STATEMENT,
    # the 15th (a Sunday in March: no business days here, so it stays there)
    "monthly-solo": "schedule: {every: month, day: 15}\nmatch: {segment: [solo]}\n"
    "conditions: [overdue >= 500]\nactions:\n"
    + STATEMENT
    + "  - notify: {to: controller, template: internal}\n",
    # the first Monday: 2 March is never run for (the runs start on the 6th: expired)
    "family": "schedule: {every: month, week: 1, weekday: mon}\nmatch: {segment: [family]}\n"
    "consolidate: true\n"
    "conditions: [consolidated_overdue >= 500, consolidated_overdue_pct >= 50]\n"
    "actions:\n" + STATEMENT,
    "quarterly": "schedule: {every: 3 months, day: last, start: 2025-12-31}\n"
    "match: {customer: [C]}\nconditions: [overdue < 500]\nactions:\n" + STATEMENT,
}
TEMPLATES = {
    "statement.subject.j2": "Statement {{ statement.occurrence }}",
    "statement.txt.j2": (
        "{% for g in statement.groups %}{{ g.currency }} outstanding {{ g.outstanding }} "
        "overdue {{ g.overdue }} ({{ g.overdue_pct }} %)"
        "{% for a in g.accounts %} [{{ a.customer_id }} {{ a.outstanding }}]{% endfor %}: "
        "{% for i in g.invoices %}{{ i.number }}@{{ i.customer_id }} {% endfor %}| "
        "{% endfor %}"
    ),
    "internal.subject.j2": "[AR] {{ customer.name }}",
    "internal.txt.j2": "{% for c in conditions %}{{ c.metric }} {{ c.actual }} {% endfor %}",
}

# day → the statements (campaign, customer, occurrence, invoices) sent that day
SENT = {
    "2026-03-06": [("weekly", "W", "2026-03-06", ["W1"])],
    "2026-03-11": [("fortnightly", "C", "2026-03-11", ["C1"])],
    "2026-03-13": [("weekly", "W", "2026-03-13", ["W1"])],
    "2026-03-15": [("monthly-solo", "A", "2026-03-15", ["A2"])],
    "2026-03-20": [("weekly", "W", "2026-03-20", ["W1"])],
    "2026-03-25": [("fortnightly", "C", "2026-03-25", ["C1"])],
    "2026-03-27": [("weekly", "W", "2026-03-27", ["W1"])],
    "2026-03-31": [("quarterly", "C", "2026-03-31", ["C1"])],
    "2026-04-06": [("family", "P", "2026-04-06", ["L1", "LE", "M1"])],
    "2026-04-07": [("weekly", "W", "2026-04-07", ["W1"])],
    "2026-04-08": [("fortnightly", "C", "2026-04-08", ["C1"])],
    "2026-04-15": [("monthly-solo", "A", "2026-04-15", ["A2"])],
}


def _skips(day: date) -> list[tuple[str, str, str]]:
    """(campaign, customer, reason) skipped on `day`: looked at again while an occurrence is
    due (it is not recorded), so they repeat for the days of its window."""
    found = []
    for start in (date(2026, 4, 6),):  # the family's occurrence: its children are consolidated
        if 0 <= (day - start).days <= 3:
            found += [("family", "L", "consolidated"), ("family", "M", "consolidated")]
    for start in (date(2026, 3, 15), date(2026, 4, 15)):
        if 0 <= (day - start).days <= 3:  # B is paused; C owes too little
            found += [("monthly-solo", "B", "paused"), ("monthly-solo", "C", "conditions")]
    return sorted(found, key=lambda s: (s[1], s[0]))


@pytest.fixture
def folder(tmp_path):
    return make_folder(
        tmp_path,
        invoices=INVOICES,
        workflows=CAMPAIGNS,
        templates=TEMPLATES,
        config="""\
            company: {name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD,
                      locale: en_US}
            invoices: {path: invoices.csv}
            customers: {path: customers.csv}
            people:
              controller: {name: Chris Doe, email: controller@acme.example}
            channels: {email: {transport: outbox, dir: outbox}}
            """,
        extra_files={"customers.csv": CUSTOMERS},
    )


def test_six_weeks_of_nightly_runs_send_each_statement_once(cli, folder):
    cli("pause", "customer", "B", "--as-of", "2026-03-06", "--config", folder)
    day = date(2026, 3, 6)
    while day <= date(2026, 4, 16):
        if day == date(2026, 3, 10):  # disputed: left out of statements, still in the totals
            cli("pause", "invoice", "A1", "--as-of", day.isoformat(), "--config", folder)
        doc = json.loads(
            cli("run", "--as-of", day.isoformat(), "--format", "json", "--config", folder).stdout
        )
        emails = [
            (a["workflow"], a["customer_id"], a["step"], a["invoices"])
            for a in doc["actions"]
            if a["action"] == "email"
        ]
        assert emails == SENT.get(day.isoformat(), []), day
        assert {a["status"] for a in doc["actions"]} <= {"sent"}
        skips = [(s["workflow"], s["customer_id"], s["reason"]) for s in doc["skipped"]]
        assert skips == _skips(day), day
        # a rerun the same night sends nothing and skips the same customers
        again = json.loads(
            cli("run", "--as-of", day.isoformat(), "--format", "json", "--config", folder).stdout
        )
        assert again["actions"] == []
        assert [(s["workflow"], s["customer_id"], s["reason"]) for s in again["skipped"]] == skips
        day += timedelta(days=1)

    outbox = folder.parent / "outbox"
    sent = sorted(p.name for p in outbox.glob("*.eml"))
    assert len(sent) == 14  # 12 statements, the notice of each monthly-solo one
    family = _email(outbox, "2026-04-06-P-family")
    assert (family["To"], family["Cc"]) == (
        "Pine Group <p@pine.example>",
        "Chris Doe <controller@acme.example>",
    )
    # per currency group, the family's totals and each account's subtotal; parents first
    assert _text(family) == (
        "EUR outstanding 900.00 overdue 900.00 (100.00 %) [L 900.00]: LE@L | "
        "USD outstanding 700.00 overdue 700.00 (100.00 %) [M 300.00] [L 400.00]: M1@M L1@L |"
    )
    # A1 is paused: not listed, but its 600 overdue counts (and EUR's 50 fails the condition)
    solo = _email(outbox, "2026-03-15-A-monthly-solo-2026-03-15-0")
    assert _text(solo) == "USD outstanding 800.00 overdue 600.00 (75.00 %): A2@A |"
    notice = _email(outbox, "2026-03-15-A-monthly-solo-2026-03-15-1")
    assert _text(notice) == "overdue 600.00"

    # history: one record per statement, with the conditions met in words
    db = StateDB.open_readonly(folder.parent / "arflow.db", "arflow.db")
    assert db is not None
    rows = [
        (
            r["as_of"],
            r["customer_id"],
            r["workflow"],
            r["step"],
            r["kind"],
            r["state"],
            r["description"],
        )
        for r in db.history(customer="P")
    ]
    db.close()
    assert rows == [
        (
            "2026-04-06",
            "P",
            "family",
            "2026-04-06",
            "email",
            "sent",
            "statement of 2026-04-06; conditions met: consolidated_overdue >= 500 "
            "(EUR 900.00); consolidated_overdue_pct >= 50 (EUR 100.00); "
            "consolidated_overdue >= 500 (USD 700.00); consolidated_overdue_pct >= 50 "
            "(USD 100.00)",
        )
    ]


def test_a_parent_paused_after_its_statement_went_out_still_covers_its_branches(cli, folder):
    cli("run", "--as-of", "2026-04-06", "--config", folder)
    cli("pause", "customer", "P", "--as-of", "2026-04-07", "--config", folder)
    doc = json.loads(
        cli("run", "--as-of", "2026-04-07", "--format", "json", "--config", folder).stdout
    )
    assert [(a["workflow"], a["customer_id"]) for a in doc["actions"]] == [("weekly", "W")]
    assert [(s["workflow"], s["customer_id"], s["reason"]) for s in doc["skipped"]] == [
        ("family", "L", "consolidated"),
        ("family", "M", "consolidated"),
    ]


def test_status_and_workflows_show_the_campaigns(cli, folder):
    cli("run", "--as-of", "2026-04-06", "--config", folder)
    doc = json.loads(
        cli("status", "P", "--as-of", "2026-04-08", "--format", "json", "--config", folder).stdout
    )
    (row,) = doc["customers"]
    assert [
        (w["workflow"], w["source"], w["last_step"], w["last_date"], w["next_step"], w["invoices"])
        for w in row["workflows"]
    ] == [("family", "campaign", "2026-04-06", "2026-04-06", "2026-05-04", ["L1", "LE", "M1"])]
    # C is in three campaigns; the fortnightly one is due today and has not gone out yet
    doc = json.loads(
        cli("status", "C", "--as-of", "2026-04-08", "--format", "json", "--config", folder).stdout
    )
    assert [
        (w["workflow"], w["last_step"], w["next_step"]) for w in doc["customers"][0]["workflows"]
    ] == [
        ("fortnightly", None, "2026-04-08"),
        ("monthly-solo", None, "2026-04-15"),
        ("quarterly", None, "2026-06-30"),
    ]
    doc = json.loads(cli("workflows", "--format", "json", "--config", folder).stdout)
    assert {w["id"]: w["schedule"] for w in doc["workflows"]} == {
        "family": "first Monday of each month",
        "fortnightly": "every other Wednesday from 2026-03-11",
        "monthly-solo": "the 15th of each month",
        "quarterly": "the last day of every 3 months from December 2025",
        "weekly": "every Friday",
    }


def _text(message: email.message.EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().rstrip()


def _email(outbox, prefix: str) -> email.message.EmailMessage:
    (path,) = outbox.glob(prefix + "*.eml")
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_the_run_json_reports_the_occurrence_and_the_conditions(run_json, folder):
    _code, doc = run_json(folder, "2026-04-07")
    assert doc["actions"] == [
        {
            "date": "2026-04-07",
            "workflow": "family",
            "step": "2026-04-06",
            "action": "email",
            "customer_id": "P",
            "invoices": ["L1", "LE", "M1"],
            "to": ["p@pine.example"],
            "template": "statement",
            "subject": "Statement 2026-04-06",
            "status": "planned",
            "conditions": [
                {
                    "metric": "consolidated_overdue",
                    "op": ">=",
                    "value": "500",
                    "actual": "900.00",
                    "currency": "EUR",
                },
                {
                    "metric": "consolidated_overdue_pct",
                    "op": ">=",
                    "value": "50",
                    "actual": "100.00",
                    "currency": "EUR",
                },
                {
                    "metric": "consolidated_overdue",
                    "op": ">=",
                    "value": "500",
                    "actual": "700.00",
                    "currency": "USD",
                },
                {
                    "metric": "consolidated_overdue_pct",
                    "op": ">=",
                    "value": "50",
                    "actual": "100.00",
                    "currency": "USD",
                },
            ],
        },
        {
            "date": "2026-04-07",
            "workflow": "weekly",
            "step": "2026-04-07",
            "action": "email",
            "customer_id": "W",
            "invoices": ["W1"],
            "to": ["w@willow.example"],
            "template": "statement",
            "subject": "Statement 2026-04-07",
            "status": "planned",
            "conditions": [],
        },
    ]


def test_validate_knows_which_templates_see_a_statement(tmp_path):
    templates = {
        **TEMPLATES,
        "reminder.subject.j2": "Hi",
        "reminder.txt.j2": "{{ statement.groups|length }} groups",
    }
    found = problems(
        tmp_path, {"good": GOOD, "monthly": CAMPAIGNS["monthly-solo"]}, templates=templates
    )
    assert found == [
        "templates/reminder.txt.j2:1: 'None' has no attribute 'groups' — check the spelling; "
        "templates see company, customer, invoices, invoice, totals, workflow, step, today, "
        "person, conditions, statement, payment_url (in a workflow's message, where statement is not set: "
        "campaigns have it)"
    ]
    # the campaign's own templates render against a sample statement: a misspelt key fails
    templates = {**TEMPLATES, "statement.txt.j2": "{{ statement.grups }}"}
    found = problems(tmp_path / "2", {"monthly": CAMPAIGNS["monthly-solo"]}, templates=templates)
    assert found == [
        "templates/statement.txt.j2:1: statement has no field 'grups'; its fields are "
        "consolidated, groups, invoices, occurrence, totals_only"
    ]


def test_attach_belongs_to_campaigns(tmp_path):
    steps = (
        "steps:\n  - id: d7\n    day: 7\n    actions:\n"
        "      - email: {template: internal, attach: [statement.csv]}\n"
    )
    found = problems(
        tmp_path, {"steps": steps, "monthly": CAMPAIGNS["monthly-solo"]}, templates=TEMPLATES
    )
    assert found == [
        "workflows/steps.yaml:5: steps.0.actions.0.email.attach.0: attach: statement.csv is a "
        "campaign's statement; a workflow with steps: has none to attach (move this email into "
        "a campaign, or remove attach:)"
    ]
    wrong = CAMPAIGNS["monthly-solo"].replace("cc: [controller]", "attach: [invoice.pdf]")
    found = problems(tmp_path / "2", {"monthly": wrong}, templates=TEMPLATES)
    assert len(found) == 1 and found[0].startswith(
        "workflows/monthly.yaml:5: actions.0.email.attach.0: Input should be 'statement.csv' or "
        "'statement.pdf'"
    ), found


def test_a_statement_to_a_customer_without_an_email_is_skipped_and_tried_again(cli, folder):
    customers = folder.parent / "customers.csv"
    customers.write_text(customers.read_text().replace("w@willow.example", ""))
    doc = json.loads(
        cli("run", "--as-of", "2026-03-06", "--format", "json", "--config", folder).stdout
    )
    assert [
        (s["workflow"], s["step"], s["customer_id"], s["invoices"], s["reason"])
        for s in doc["skipped"]
    ] == [("weekly", "2026-03-06", "W", ["W1"], "no-email")]
    db = StateDB.open_readonly(folder.parent / "arflow.db", "arflow.db")
    assert db is not None
    assert [(r["key"], r["kind"], r["state"], r["reason"]) for r in db.history("W")] == [
        ("customer:W/weekly/2026-03-06/0", "email", "skipped", "no-email")
    ]
    db.close()
    # the address is added: the statement goes out while the occurrence is due
    customers.write_text(
        customers.read_text().replace("Willow Ltd,,", "Willow Ltd,w@willow.example,")
    )
    # counting business days, the campaign sends nothing on Saturday; Monday is in the window
    doc = json.loads(
        cli("run", "--as-of", "2026-03-07", "--format", "json", "--config", folder).stdout
    )
    assert doc["actions"] == [] and doc["skipped"] == []
    doc = json.loads(
        cli("run", "--as-of", "2026-03-09", "--format", "json", "--config", folder).stdout
    )
    assert [(a["workflow"], a["step"], a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("weekly", "2026-03-06", "W", "sent")
    ]


def test_a_statement_does_not_hide_an_assigned_workflows_on_paid(cli, tmp_path):
    dun = (
        "anchor: assigned\nsteps:\n  - id: start\n    day: 0\n    actions:\n"
        "      - email: internal\non_paid:\n  - notify: {to: controller, template: internal}\n"
    )
    weekly = (
        "schedule: {every: week, weekday: mon}\nmatch: {customer: [A]}\nactions:\n"
        "  - email: statement\n"
    )
    invoices = "number,customer_id,issue_date,due_date,amount,paid_date\nA1,A,2026-02-01,2026-02-20,100.00,2026-03-09\n"
    config = make_folder(
        tmp_path,
        invoices=invoices,
        workflows={"dun": dun, "weekly": weekly},
        templates=TEMPLATES,
        config=BASE_CONFIG + "customers: {path: customers.csv}\n",
        extra_files={"customers.csv": "customer_id,email,workflow\nA,a@x.example,dun\n"},
    )
    first = json.loads(
        cli("run", "--as-of", "2026-03-02", "--format", "json", "--config", config).stdout
    )
    assert [(a["workflow"], a["step"]) for a in first["actions"]] == [
        ("dun", "start"),
        ("weekly", "2026-03-02"),
    ]
    paid = json.loads(
        cli("run", "--as-of", "2026-03-09", "--format", "json", "--config", config).stdout
    )
    assert [(a["workflow"], a["step"], a["action"]) for a in paid["actions"]] == [
        ("dun", "on_paid", "notify")
    ]


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            "{metric: bogus, op: '>=', value: 5}",
            "conditions.0.metric: Input should be 'outstanding'",
        ),
        ("{metric: overdue, op: '>', value: 5}", "conditions.0.op: Input should be '>=' or '<'"),
    ],
)
def test_a_condition_written_as_a_mapping_is_checked_too(tmp_path, condition, message):
    wf = CAMPAIGNS["monthly-solo"].replace(
        "conditions: [overdue >= 500]", f"conditions: [{condition}]"
    )
    (found,) = problems(tmp_path, {"monthly": wf}, templates=TEMPLATES)
    assert message in found and found.startswith("workflows/monthly.yaml:3: "), found


def test_a_campaign_has_none_of_a_workflows_step_keys(tmp_path):
    wf = CAMPAIGNS["weekly"] + "on_paid:\n  - email: statement\nthen: fortnightly\n"
    assert problems(tmp_path, {"weekly": wf}, templates=TEMPLATES) == [
        "workflows/weekly.yaml:1: on_paid, then: belong to workflows with steps:; a campaign "
        "(schedule:) sends a statement on its days and has none of them"
    ]


def test_a_campaign_cannot_be_where_invoices_go(tmp_path):
    steps = "steps:\n  - id: d7\n    day: 7\n    actions:\n      - email: internal\nthen: weekly\n"
    found = problems(
        tmp_path,
        {"steps": steps, "weekly": CAMPAIGNS["weekly"]},
        config=BASE_CONFIG + "default_workflow: weekly\n",
        templates=TEMPLATES,
    )
    message = (
        "'weekly' is a campaign: it reaches its customers by its own match: and "
        "calendar, and follows no invoice; name a workflow with steps:"
    )
    assert found == [
        f"arflow.yaml:7: default_workflow: {message}",
        f"workflows/steps.yaml:6: then: {message}",
    ]


def test_a_customer_assigned_to_a_campaign_in_the_file_is_reported(run_json, folder):
    customers = folder.parent / "customers.csv"
    rows = CUSTOMERS.splitlines()
    customers.write_text(
        "\n".join([rows[0] + ",workflow", rows[1] + ",weekly", *(row + "," for row in rows[2:])])
        + "\n"
    )
    _code, doc = run_json(folder, "2026-03-06", expect=3)
    assert [(e["line"], e["column"], e["value"]) for e in doc["errors"]] == [
        (2, "workflow", "weekly")
    ]
    assert doc["errors"][0]["message"].startswith("'weekly' is a campaign")
