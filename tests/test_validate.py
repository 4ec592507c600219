"""`arflow validate`: every problem at once, as PATH:LINE: where: message."""

import pytest

from arflow.errors import InvalidFiles
from arflow.project import load_project
from tests.conftest import BASE_CONFIG, SIMPLE_TEMPLATES, make_folder

GOOD = """\
name: Good
steps:
  - id: d7
    day: 7
    actions:
      - email: reminder
"""


def problems(tmp_path, workflows, config=BASE_CONFIG, templates=None) -> list[str]:
    path = make_folder(
        tmp_path, invoices="number\n", workflows=workflows, config=config, templates=templates
    )
    with pytest.raises(InvalidFiles) as exc:
        load_project(path)
    return [str(p) for p in exc.value.problems]


def test_valid_folder_loads(tmp_path):
    path = make_folder(tmp_path, invoices="number\n", workflows={"good": GOOD})
    project = load_project(path)
    assert list(project.workflows) == ["good"]
    assert project.workflows["good"].model.steps[0].actions[0].email.template == "reminder"


def test_schema_errors_carry_the_line_of_the_yaml_node(tmp_path):
    found = problems(
        tmp_path,
        {
            "bad": """\
name: Bad
anchor: due_dat
steps:
  - id: d7
    day: seven
    actions:
      - emial: reminder
  - id: d7
    day: 10
    expires_after: -1
    actions:
      - sms: {template: reminder, extra: 1}
colour: blue
"""
        },
    )
    assert found == [
        "workflows/bad.yaml:2: anchor: Input should be 'due_date', 'issue_date' or 'assigned' (got 'due_dat')",
        "workflows/bad.yaml:5: steps.0.day: Input should be a valid integer, unable to parse string as an integer (got 'seven')",
        "workflows/bad.yaml:7: steps.0.actions.0.emial: unknown key 'emial'; did you mean 'email'?",
        "workflows/bad.yaml:10: steps.1.expires_after: Input should be greater than or equal to 0 (got -1)",
        "workflows/bad.yaml:12: steps.1.actions.0.sms.extra: unknown key 'extra'",
        "workflows/bad.yaml:13: colour: unknown key 'colour'",
    ]


def test_reference_errors_duplicate_ids_templates_people_workflows(tmp_path):
    found = problems(
        tmp_path,
        {
            "refs": """\
name: Refs
then: nowhere
steps:
  - id: a
    day: 1
    actions:
      - email: {template: missing, cc: [nobody, ok@x.example]}
  - id: a
    day: 2
    actions:
      - notify: {to: controller, template: reminder-internal}
      - task: {title: Call, assignee: ghost}
      - assign: dana
"""
        },
    )
    assert found == [
        "workflows/refs.yaml:8: steps.1.id: step id 'a' is used twice (also steps.0); give each step a unique id:",
        "workflows/refs.yaml:2: then: no workflow 'nowhere' (workflows: refs); the id is the file name without .yaml",
        "workflows/refs.yaml:7: steps.0.actions.0.email.template: template 'missing' needs missing.subject.j2 and missing.txt.j2 in templates/",
        "workflows/refs.yaml:7: steps.0.actions.0.email.cc.0: unknown person 'nobody': add it under people: in arflow.yaml (people: controller, dana)",
        "workflows/refs.yaml:11: steps.1.actions.0.notify.template: template 'reminder-internal' needs reminder-internal.subject.j2 and reminder-internal.txt.j2 in templates/",
        "workflows/refs.yaml:12: steps.1.actions.1.task.assignee: unknown person 'ghost': add it under people: in arflow.yaml (people: controller, dana)",
    ]


def test_then_cycles_are_rejected(tmp_path):
    found = problems(
        tmp_path,
        {
            "a": GOOD + "then: b\n",
            "b": GOOD + "then: c\n",
            "c": GOOD + "then: a\n",
            "self": GOOD + "then: self\n",
        },
    )
    assert found == [
        "workflows/a.yaml:7: then: makes a cycle: a → b → c → a; end the chain in a workflow without then:",
        "workflows/self.yaml:7: then: makes a cycle: self → self; end the chain in a workflow without then:",
    ]


def test_yaml_syntax_error_has_its_line(tmp_path):
    found = problems(
        tmp_path, {"broken": "name: x\nsteps:\n  - day: 1\n    actions: [email: a\n", "good": GOOD}
    )
    assert len(found) == 1
    assert found == [
        "workflows/broken.yaml:4: the [ on line 4 is not closed before the file ends; add ] where it ends"
    ]


def test_misspelt_template_variable_fails_with_the_template_line(tmp_path):
    templates = {
        "reminder.subject.j2": "Hi",
        "reminder.txt.j2": "Dear {{ customer.name }},\n\nYou owe {{ totals.overdeu }}.\n",
        "broken.txt.j2": "{% if %}",
        "inline.subject.j2": "x",
        "inline.txt.j2": "x",
    }
    found = problems(
        tmp_path,
        {
            "good": GOOD
            + '  - id: t\n    day: 9\n    actions:\n      - note: "{{ custmer.name }}"\n'
        },
        templates=templates,
    )
    assert found == [
        "templates/broken.txt.j2:1: template syntax error: Expected an expression, got 'end of statement block'",
        "templates/reminder.txt.j2:3: totals has no field 'overdeu'; its fields are by_currency, currency, fees, interest, listed, outstanding, overdue",
        "workflows/good.yaml:10: steps.1.actions.0.note.text: 'custmer' is undefined — check the spelling; templates see company, customer, invoices, invoice, totals, workflow, step, today, person, conditions, statement, payment_url",
    ]


def test_config_errors_are_all_reported_with_lines(tmp_path):
    config = """\
company:
  name: Acme
  timezone: Mars/Olympus
  currency: dollars
invoices: {path: invoices.csv, decimal: ";"}
default_workflow: nope
channels:
  email: {transport: smtp, host: smtp.x.example, password: hunter2}
"""
    found = problems(tmp_path, {"good": GOOD}, config=config)
    assert found == [
        "arflow.yaml:3: company.timezone: unknown time zone 'Mars/Olympus'; use an IANA name such as America/New_York or Europe/Berlin",
        "arflow.yaml:4: company.currency: 'dollars' is not an ISO 4217 currency code such as USD or EUR",
        "arflow.yaml:5: invoices.decimal: Input should be '.' or ',' (got ';')",
        "arflow.yaml:8: channels.email.password: secrets never go in YAML: remove 'password', put the value in an environment variable and name it with password_env",
    ]
    # the secret's value is never echoed back
    assert not any("hunter2" in p for p in found)


def test_default_workflow_must_exist(tmp_path):
    found = problems(tmp_path, {"good": GOOD}, config=BASE_CONFIG + "default_workflow: nope\n")
    assert found == [
        "arflow.yaml:7: default_workflow: no workflow 'nope' (workflows: good); the id is the file name without .yaml"
    ]


def test_shorthand_and_full_forms_are_the_same(tmp_path):
    from arflow.workflow import Workflow

    short = Workflow.model_validate(
        {
            "steps": [
                {
                    "day": 1,
                    "actions": [
                        {"email": "r"},
                        {"sms": "r"},
                        {"status": "Late"},
                        {"task": "Call"},
                        {"note": "N"},
                        {"assign": "dana"},
                    ],
                }
            ]
        }
    )
    full = Workflow.model_validate(
        {
            "steps": [
                {
                    "day": 1,
                    "actions": [
                        {"email": {"template": "r"}},
                        {"sms": {"template": "r"}},
                        {"status": {"value": "Late"}},
                        {"task": {"title": "Call"}},
                        {"note": {"text": "N"}},
                        {"assign": {"specialist": "dana"}},
                    ],
                }
            ]
        }
    )
    assert short == full
    assert short.steps[0].step_id == "day+1"


@pytest.mark.parametrize(
    "doc, message",
    [
        (
            {"steps": [{"day": 1, "actions": [{"email": "a", "sms": "b"}]}]},
            "one action per list item",
        ),
        (
            {"steps": [{"day": 1, "actions": [{"webhook": "https://x"}]}]},
            "webhook needs the full form",
        ),
        ({"steps": [{"day": 1, "actions": []}]}, "at least 1 item"),
        ({"steps": []}, "a workflow needs steps:"),
        (
            {"schedule": {"every": "month", "weekday": "mon"}, "actions": [{"email": "s"}]},
            "needs week: 1–5 or last",
        ),
        (
            {"schedule": {"every": "fortnight", "weekday": "fri"}, "actions": [{"email": "s"}]},
            "use week, 2 weeks or month",
        ),
        (
            {
                "schedule": {"every": "week", "weekday": "fri"},
                "actions": [{"email": "s"}],
                "conditions": ["overdue > 5"],
            },
            "write METRIC >= N or METRIC < N",
        ),
        (
            {"steps": [{"day": 1, "actions": [{"email": "a"}]}], "conditions": ["overdue >= 5"]},
            "belong to campaigns",
        ),
        (
            {"steps": [{"day": 1, "actions": [{"email": "a"}]}], "holidays": "XX"},
            "unknown holiday calendar 'XX'",
        ),
        (
            {"steps": [{"day": 1, "actions": [{"email": "a"}]}], "notify_on": ["finish"]},
            "notify_on: needs owner:",
        ),
        (
            {"schedule": {"every": "week", "weekday": "fri"}, "actions": [{"email": "s"}] * 101},
            "at most 100 items",
        ),
    ],
)
def test_workflow_model_rejects(doc, message):
    from pydantic import ValidationError

    from arflow.workflow import Workflow

    with pytest.raises(ValidationError, match=message):
        Workflow.model_validate(doc)


def test_campaign_is_parsed():
    from decimal import Decimal

    from arflow.workflow import Workflow

    # every N weeks counts from start: (SPEC 4.10), so it needs one
    c = Workflow.model_validate(
        {
            "schedule": {"every": "2 weeks", "weekday": "fri", "start": "2026-01-09"},
            "conditions": ["overdue >= 500", "overdue_pct < 10.5"],
            "consolidate": True,
            "actions": [{"email": "statement"}],
        }
    )
    assert c.is_campaign and [(x.metric, x.op, x.value) for x in c.conditions] == [
        ("overdue", ">=", Decimal("500")),
        ("overdue_pct", "<", Decimal("10.5")),
    ]


# --- every template in every shape of context it meets (issue: a dry run that renders all) -------
EXTRA = {
    **SIMPLE_TEMPLATES,
    "reminder.txt.j2": "Dear {{ customer.name }},\nyour order {{ invoice.extra.po_number }}",
}


def test_extra_columns_are_known_from_the_source_header(tmp_path):
    header = "number,customer_id,issue_date,amount"
    path = make_folder(
        tmp_path / "with",
        invoices=header + ",PO_Number ,po_number\n",
        workflows={"good": GOOD},
        templates=EXTRA,
    )
    load_project(path)  # the header has the column (its exact name): valid
    found = problems(tmp_path / "without", {"good": GOOD}, templates=EXTRA)
    assert found == [
        "templates/reminder.txt.j2:2: invoice.extra has no field 'po_number': the source has "
        "no such column (its other columns: none)"
    ]


def test_without_the_source_any_extra_column_is_taken(tmp_path):
    path = make_folder(tmp_path, invoices="number\n", workflows={"good": GOOD}, templates=EXTRA)
    (tmp_path / "invoices.csv").unlink()  # CI validates workflows without the data
    load_project(path)


def test_customer_extra_columns_come_from_the_customers_header(tmp_path):
    templates = {**SIMPLE_TEMPLATES, "reminder.txt.j2": "{{ customer.extra.account_manager }}"}
    config = BASE_CONFIG + "customers: {path: customers.csv}\n"
    path = make_folder(
        tmp_path,
        invoices="number,customer_id,issue_date,amount\n",
        workflows={"good": GOOD},
        config=config,
        templates=templates,
        extra_files={"customers.csv": "customer_id,name,account_manager\n"},
    )
    load_project(path)
    (tmp_path / "customers.csv").write_text("customer_id,name\n")
    with pytest.raises(InvalidFiles) as exc:
        load_project(path)
    assert [str(p) for p in exc.value.problems] == [
        "templates/reminder.txt.j2:1: customer.extra has no field 'account_manager': the source "
        "has no such column (its other columns: none)"
    ]


def test_person_is_only_there_for_internal_messages(tmp_path):
    templates = {
        **SIMPLE_TEMPLATES,
        "reminder.txt.j2": "Regards, {{ person.name }}",
        "internal.txt.j2": "For {{ person.name }}",
    }
    workflow = GOOD + "      - notify: {to: controller, template: internal}\n"
    found = problems(tmp_path, {"good": workflow}, templates=templates)
    assert found == [
        "templates/reminder.txt.j2:1: 'None' has no attribute 'name' — check the spelling; "
        "templates see company, customer, invoices, invoice, totals, workflow, step, today, "
        "person, conditions, statement, payment_url (in a customer message, where person is not set)"
    ]


def test_on_paid_templates_see_paid_invoices(tmp_path):
    templates = {
        **SIMPLE_TEMPLATES,
        "thanks.subject.j2": "Thanks",
        "thanks.txt.j2": "{% if invoice.balance == 0 %}{{ nothing_left }}{% endif %}",
    }
    workflow = GOOD + "on_paid:\n  - email: thanks\n"
    found = problems(tmp_path, {"good": workflow}, templates=templates)
    assert found == [
        "templates/thanks.txt.j2:1: 'nothing_left' is undefined — check the spelling; templates "
        "see company, customer, invoices, invoice, totals, workflow, step, today, person, "
        "conditions, statement, payment_url (in a customer message in on_paid: no person, invoices paid)"
    ]


def test_extra_columns_are_sampled_with_a_real_value_of_the_source(tmp_path):
    """`{{ invoice.extra.po_date|date }}` and `{{ invoice.extra.fee|money }}` render in
    validate with the values the source really holds, not a placeholder text."""
    templates = {
        **SIMPLE_TEMPLATES,
        "reminder.txt.j2": "PO of {{ invoice.extra.po_date|date }}, fee {{ invoice.extra.fee|money }}, "
        "note {{ invoice.extra.memo }}",
    }
    header = "number,customer_id,issue_date,amount,po_date,fee,memo\n"
    path = make_folder(
        tmp_path / "good",
        invoices=header + "A1,C1,2026-01-01,5,,,\nA2,C1,2026-01-01,5,2026-01-05,12.50,\n",
        workflows={"good": GOOD},
        templates=templates,
    )
    load_project(path)  # the first filled-in value of each column; none for memo: a text
    found = problems(tmp_path / "bad", {"good": GOOD}, templates=templates)  # no such columns
    assert [p.split(": ")[0] for p in found] == ["templates/reminder.txt.j2:1"]
    bad_value = make_folder(
        tmp_path / "value",
        invoices=header + "A1,C1,2026-01-01,5,soon,1,x\n",
        workflows={"good": GOOD},
        templates=templates,
    )
    with pytest.raises(InvalidFiles) as exc:  # a template that real data would break
        load_project(bad_value)
    assert "'soon' is not a date" in str(exc.value)
