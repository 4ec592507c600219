"""Composing a run's messages (arflow/compose.py) and checking templates in `validate`: a
template that fails for one customer costs that message only, JSON bodies are JSON-escaped,
and header-unsafe values are reported against the file they come from."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SIMPLE_TEMPLATES, make_folder
from tests.test_deliver import smtp_config

INVOICES = """\
number,customer_id,customer_name,email,issue_date,due_date,amount,note
INV-1,C1,Alpha Ltd,ap@alpha.example,2026-03-01,2026-03-10,100.00,first
INV-2,C2,Beta Ltd,ap@beta.example,2026-03-01,2026-03-10,200.00,second
INV-3,C3,Gamma Ltd,ap@gamma.example,2026-03-01,2026-03-10,300.00,third
"""

CHASE = """\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - email: reminder
"""


@pytest.fixture
def folder(tmp_path, smtp_server):
    def build(templates=None, invoices=INVOICES, workflows=None):
        return make_folder(
            tmp_path / "ar",
            invoices=invoices,
            workflows=workflows or {"chase": CHASE},
            config=smtp_config(smtp_server.port),
            templates={**SIMPLE_TEMPLATES, **(templates or {})},
        )

    return build


def run(cli, config, *args, expect=0) -> dict:
    result = cli(
        "run", *args, "--format", "json", "--as-of", "2026-03-11", "--config", config, expect=expect
    )
    return json.loads(result.stdout)


def only_c2(text: str) -> str:
    """A template part that runs for customer C2 only."""
    return "{% if customer.id == 'C2' %}" + text + "{% endif %}"


# --- 1. limits and 2. exceptions inside a template: that message only, exit 3 --------------------
@pytest.mark.parametrize(
    "body, line, message",
    [
        ("{{ 9**(9**9) }}", 3, "the ** or * operands are too large"),
        ("{{ 'x' * 10**10 }}", 3, "the ** or * operands are too large"),
        (
            "{% for i in range(1000) %}\n{% for j in range(1000) %}{{ 'abcdefgh' }}{% endfor %}\n"
            "{% endfor %}",
            4,
            "too large (over 1 MB); look for a loop that prints more than it should",
        ),
        (
            "{% for i in range(100000) %}{{ i }}{% endfor %}",
            3,
            "range() of 100,000 numbers: at most 10,000",
        ),
        ("{{ 1/0 }}", 3, "division by zero"),
        ("{{ totals.overdue / 0 }}", 3, "division by zero"),
        (
            "{{ 'garbage'|date }}",
            3,
            "'garbage' is not a date (the date filter formats dates, or text written YYYY-MM-DD)",
        ),
        (
            "{{ customer.name|money }}",
            3,
            "'Beta Ltd' is not an amount (money formats numbers, e.g. {{ invoice.balance|money }})",
        ),
        ("{{ undefined_name|money }}", 3, "'undefined_name' is undefined"),
        (
            "{% macro again(n) %}{{ again(n) }}{% endmacro %}{{ again(1) }}",
            3,
            "a macro or include calls itself without end (maximum recursion depth exceeded)",
        ),
    ],
)
def test_a_failing_template_costs_one_message_and_the_run_goes_on(
    folder, smtp_server, cli, body, line, message
):
    config = folder({"reminder.txt.j2": "Dear {{ customer.name }},\n\n" + only_c2(body)})
    doc = run(cli, config, expect=3)
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("C1", "sent"),
        ("C3", "sent"),
    ]
    assert [r for m in smtp_server.messages for r in m.rcpt_tos] == [
        "ap@alpha.example",
        "ap@gamma.example",
    ]
    assert doc["errors"] == [
        {
            "file": "templates/reminder.txt.j2",
            "line": line,
            "column": None,
            "value": "C2",
            "message": f"cannot render for customer C2: {message}",
        }
    ]


def test_a_template_that_runs_too_long_is_stopped_for_that_message(
    folder, smtp_server, cli, monkeypatch
):
    """A loop that prints nothing, and a macro calling itself twice over: the time limit (here
    shortened) stops both while the template runs."""
    monkeypatch.setattr("arflow.sandbox.MAX_SECONDS", 0.05)
    loop = "{% set r = range(10000) %}{% for i in r %}\n{% for j in r %}{% endfor %}\n{% endfor %}"
    macro = "{% macro m(n) %}{% if n %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}{% endmacro %}{{ m(60) }}"
    config = folder(
        {
            "reminder.txt.j2": "Dear {{ customer.name }},\n" + only_c2(loop),
            "reminder.html.j2": "<p>Hello</p>\n"
            + "{% if customer.id == 'C3' %}"
            + macro
            + "{% endif %}",
        }
    )
    doc = run(cli, config, expect=3)
    assert [a["customer_id"] for a in doc["actions"]] == ["C1"]
    slow = "too slow (over 2 s); look for a loop or macro that runs more often than it should"
    assert [(e["file"], e["line"], e["message"]) for e in doc["errors"]] == [
        ("templates/reminder.txt.j2", 3, f"cannot render for customer C2: {slow}"),
        ("templates/reminder.html.j2", 2, f"cannot render for customer C3: {slow}"),
    ]


def test_an_inline_template_that_fails_costs_that_action_only(folder, cli):
    workflow = CHASE + (
        "      - task: {kind: call, due_in: 1, title: "
        "\"Call {{ 1 // (invoice.number != 'INV-2')|int }}\"}\n"
    )
    config = folder(workflows={"chase": workflow})
    doc = run(cli, config, "--dry-run", expect=3)
    assert [(a["customer_id"], a["action"]) for a in doc["actions"]] == [
        ("C1", "email"),
        ("C1", "task"),
        ("C2", "email"),
        ("C3", "email"),
        ("C3", "task"),
    ]
    assert [(e["file"], e["line"], e["value"]) for e in doc["errors"]] == [
        ("workflows/chase.yaml", 7, "C2")
    ]
    assert doc["errors"][0]["message"].endswith(
        "cannot render \"Call {{ 1 // (invoice.number != 'INV-2')|int }}\" for customer C2: "
        "division by zero"
    )


@pytest.mark.parametrize(
    "body, line, message",
    [
        ("{{ 9**(9**9) }}", 2, "the ** or * operands are too large"),
        (
            "{% for i in range(100) %}{{ 'x' * 100000 }}{% endfor %}",
            2,
            "too large (over 1 MB); look for a loop that prints more than it should",
        ),
        ("{{ 1/0 }}", 2, "template error: division by zero"),
        (
            "{{ 'garbage'|date }}",
            2,
            "template error: 'garbage' is not a date (the date filter "
            "formats dates, or text written YYYY-MM-DD)",
        ),
        (
            "{{ customer.name|money }}",
            2,
            "template error: 'Sample Customer Ltd' is not an amount "
            "(money formats numbers, e.g. {{ invoice.balance|money }})",
        ),
        (
            "{{ undefined_name|money }}",
            2,
            "'undefined_name' is undefined — check the spelling; "
            "templates see company, customer, invoices, invoice, totals, workflow, step, today, person, "
            "conditions, statement, payment_url",
        ),
        (
            "{% macro again(n) %}{{ again(n) }}{% endmacro %}{{ again(1) }}",
            2,
            "template error: a "
            "macro or include calls itself without end (maximum recursion depth exceeded)",
        ),
    ],
)
def test_validate_reports_a_failing_template_once_with_its_line(folder, cli, body, line, message):
    config = folder({"reminder.txt.j2": "Dear {{ customer.name }},\n" + body})
    result = cli("validate", "--config", config, expect=1)
    assert result.stderr.splitlines() == [
        f"templates/reminder.txt.j2:{line}: {message}",
        "1 problem(s) found; nothing was done (2030-01-15T12:00:00Z).",
    ]


def test_validate_stops_a_slow_template_once_not_once_per_use(folder, cli, monkeypatch):
    """The template is used in two shapes of context (a customer email, a notify); once it is
    too slow in one, it is not rendered again."""
    from arflow.render import Templates

    monkeypatch.setattr("arflow.sandbox.MAX_SECONDS", 0.05)
    rendered = []
    render = Templates.render

    def counted(self, name, kind, context, language=None):
        rendered.append((name, kind))
        return render(self, name, kind, context, language)

    monkeypatch.setattr(Templates, "render", counted)
    workflow = CHASE + "      - notify: {to: controller, template: reminder}\n"
    config = folder(
        {
            "reminder.txt.j2": "{% set r = range(10000) %}{% for i in r %}{% for j in r %}"
            "{% endfor %}{% endfor %}"
        },
        workflows={"chase": workflow},
    )
    result = cli("validate", "--config", config, expect=1)
    assert result.stderr.splitlines() == [
        "templates/reminder.txt.j2:1: too slow (over 2 s); look for a loop or macro that runs "
        "more often than it should",
        "1 problem(s) found; nothing was done (2030-01-15T12:00:00Z).",
    ]
    assert rendered.count(("reminder", "txt")) == 1


# --- 3. JSON bodies are JSON-escaped ---------------------------------------------------------
HOSTILE_NAME = 'Tail", "overdue": "0'


def test_a_name_with_quotes_cannot_rewrite_a_webhook_body(tmp_path, http_server, cli):
    workflow = f"""\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - webhook: {{url: "{http_server.url}/erp", template: erp}}
"""
    templates = {
        "erp.json.j2": """\
{"customer": {{ customer.name }}, "overdue": {{ totals.overdue }},
 "due": {{ invoice.due_date }}, "shown": {{ totals.overdue|money }},
 "again": {{ customer.name|tojson }}, "numbers": {{ invoices|map(attribute='number')|list }},
 "raw": {{ '{"a": 1}'|safe }}, "phone": {{ customer.phone }}, "paid": {{ invoice.balance == 0 }}}
"""
    }
    invoices = INVOICES.replace("Beta Ltd", '"' + HOSTILE_NAME.replace('"', '""') + '"')
    config = make_folder(
        tmp_path / "ar",
        invoices=invoices,
        workflows={"chase": workflow},
        config=smtp_config(1),
        templates=templates,
    )
    doc = run(cli, config)
    assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [
        ("C1", "sent"),
        ("C2", "sent"),
        ("C3", "sent"),
    ]
    bodies = [json.loads(r.body) for r in http_server.requests]
    assert bodies[1] == {
        "customer": HOSTILE_NAME,
        "overdue": 200.0,
        "due": "2026-03-10",
        "shown": "$200.00",
        "again": HOSTILE_NAME,
        "numbers": ["INV-2"],
        "raw": {"a": 1},
        "phone": None,
        "paid": False,
    }
    assert [b["customer"] for b in bodies] == ["Alpha Ltd", HOSTILE_NAME, "Gamma Ltd"]
    assert b'"overdue": 200.00,' in http_server.requests[1].body  # the amount's own digits


def test_validate_reports_a_json_template_that_quotes_a_value(folder, cli):
    workflow = CHASE + '      - webhook: {url: "http://127.0.0.1:1/erp", template: erp}\n'
    config = folder(
        {"erp.json.j2": '{"customer": "{{ customer.name }}"}'}, workflows={"chase": workflow}
    )
    result = cli("validate", "--config", config, expect=1)
    assert result.stderr.splitlines() == [
        "templates/erp.json.j2: renders invalid JSON (Expecting ',' delimiter: line 1 column "
        "16 (char 15)); every {{ value }} prints as JSON (a text with its quotes), so write "
        '{{ customer.name }}, not "{{ customer.name }}"',
        "1 problem(s) found; nothing was done (2030-01-15T12:00:00Z).",
    ]


# --- 4. subjects are one header line; unsafe values are named where they come from ------------
@pytest.mark.parametrize(
    "subject, message",
    [
        (
            "Reminder\n{{ invoice.number }}",
            "subject renders a line break; a mail header must be one "
            "line (trim the template's line breaks with {%- -%})",
        ),
        (
            "Reminder{{ '\\r\\n' }}Bcc: x@evil.example",
            "subject renders a line break; a mail header "
            "must be one line (trim the template's line breaks with {%- -%})",
        ),
        (
            "Reminder{{ '\\t' }}{{ invoice.number }}",
            "the rendered subject contains the control "
            "character U+0009; a mail header must be one line of text",
        ),
    ],
)
def test_validate_reports_a_subject_that_renders_more_than_one_line(folder, cli, subject, message):
    config = folder({"reminder.subject.j2": subject})
    result = cli("validate", "--config", config, expect=1)
    assert result.stderr.splitlines() == [
        f"templates/reminder.subject.j2: {message}",
        "1 problem(s) found; nothing was done (2030-01-15T12:00:00Z).",
    ]


def test_validate_accepts_a_subject_written_over_lines_that_renders_one(folder, cli):
    config = folder(
        {"reminder.subject.j2": "Reminder\n{%- for i in invoices %} {{ i.number }}{%- endfor %}\n"}
    )
    cli("validate", "--config", config)


def test_an_unsafe_subject_names_the_template_and_shows_the_value(folder, smtp_server, cli):
    """A CRLF in an extra column printed into the subject: the subject template is named, the
    value shown with its control characters escaped."""
    invoices = INVOICES.replace(",second\n", ',"Acme\r\nBcc: x@evil.example"\n')
    config = folder(
        {"reminder.subject.j2": "Reminder: {{ invoice.extra.note }}"}, invoices=invoices
    )
    doc = run(cli, config, expect=3)
    assert [a["customer_id"] for a in doc["actions"]] == ["C1", "C3"]
    assert doc["errors"] == [
        {
            "file": "templates/reminder.subject.j2",
            "line": 0,
            "column": None,
            "value": "Reminder: Acme\\r\\nBcc: x@evil.example",
            "message": "not sent to customer C2 (chase › first): the subject contains the control "
            "character U+000D, which could forge mail headers; fix the template, or the "
            "value it prints and the next run sends it",
        }
    ]
    assert all(b"evil" not in m.data for m in smtp_server.messages)


def test_an_unsafe_name_names_its_source_cell(folder, smtp_server, cli):
    """The customer's name with a line break, also when it reaches the header only through an
    internal message's subject: the source file, line and column are named."""
    workflow = CHASE + "      - notify: {to: controller, template: internal}\n"
    invoices = INVOICES.replace("Beta Ltd", '"Beta\nBcc: x@evil.example"')
    config = folder(invoices=invoices, workflows={"chase": workflow})
    doc = run(cli, config, expect=3)
    assert [(a["customer_id"], a["action"]) for a in doc["actions"]] == [
        ("C1", "email"),
        ("C1", "notify"),
        ("C3", "email"),
        ("C3", "notify"),
    ]
    message = (
        "not sent to customer C2 (chase › first): the {} contains the control character "
        "U+000A, which could forge mail headers; fix the value in the source and the next "
        "run sends it"
    )
    assert doc["errors"] == [
        {
            "file": "invoices.csv",
            "line": 3,
            "column": "customer_name",
            "value": "Beta\\nBcc: x@evil.example",
            "message": message.format("name"),
        },
        {
            "file": "invoices.csv",
            "line": 3,
            "column": "customer_name",
            "value": "[AR] Beta\\nBcc: x@evil.example",
            "message": message.format("subject"),
        },
    ]


def test_an_unsafe_company_name_names_arflow_yaml(folder, cli):
    config = folder()
    config.write_text(config.read_text().replace("name: Acme Ltd", 'name: "Acme\\x00Ltd"'))
    doc = run(cli, config, "--dry-run", expect=3)
    assert doc["actions"] == []
    assert {(e["file"], e["line"], e["value"]) for e in doc["errors"]} == {
        ("arflow.yaml", 1, "Acme\\x00Ltd")
    }
    assert doc["errors"][0]["message"].endswith(
        "the company name contains the control character U+0000, which could forge mail "
        "headers; fix company: in arflow.yaml and the next run sends it"
    )


# --- 5. the dry run reports what the real run reports ------------------------------------------
def test_the_dry_run_reports_a_name_with_a_line_break_as_the_real_run_does(
    folder, smtp_server, cli
):
    invoices = INVOICES.replace("Beta Ltd", '"Beta\nLtd"')
    config = folder(invoices=invoices)
    dry = run(cli, config, "--dry-run", expect=3)
    assert [(a["customer_id"], a["status"]) for a in dry["actions"]] == [
        ("C1", "planned"),
        ("C3", "planned"),
    ]
    real = run(cli, config, expect=3)
    assert [(a["customer_id"], a["status"]) for a in real["actions"]] == [
        ("C1", "sent"),
        ("C3", "sent"),
    ]
    assert (
        dry["errors"]
        == real["errors"]
        == [
            {
                "file": "invoices.csv",
                "line": 3,
                "column": "customer_name",
                "value": "Beta\\nLtd",
                "message": "not sent to customer C2 (chase › first): the name contains the control "
                "character U+000A, which could forge mail headers; fix the value in the "
                "source and the next run sends it",
            }
        ]
    )
    assert [r for m in smtp_server.messages for r in m.rcpt_tos] == [
        "ap@alpha.example",
        "ap@gamma.example",
    ]


# --- speed without a change of output (issue 14, item 3) ----------------------------------------
MANY = (
    CHASE
    + """\
      - status: "Chased {{ customer.name }}"
      - task: {kind: call, title: "Call {{ customer.name }}", assignee: controller, due_in: 1}
      - notify: {to: controller, template: internal}
"""
)


def test_a_customers_context_is_built_once_for_all_its_messages(tmp_path, monkeypatch):
    from datetime import date

    import arflow.contexts
    from arflow.compose import compose
    from arflow.planner.plan_types import PastState
    from arflow.project import load_project
    from arflow.sources import load_ledger
    from arflow.tonight import plan_today
    from tests.conftest import BASE_CONFIG, make_folder

    invoices = INVOICES.replace(
        "INV-3,C3,Gamma Ltd,ap@gamma.example", "INV-3,C1,Alpha Ltd,ap@alpha.example"
    )
    config = make_folder(
        tmp_path / "ar",
        invoices=invoices,
        workflows={"chase": MANY},
        config=BASE_CONFIG + "default_workflow: chase\n",
        templates=SIMPLE_TEMPLATES,
    )
    project = load_project(config)
    ledger = load_ledger(project.config)
    plan = plan_today(project, ledger, PastState(), date(2026, 3, 11))
    built = []
    for name in ("customer_context", "invoice_context"):
        real = getattr(arflow.contexts, name)
        monkeypatch.setattr(
            arflow.contexts, name, lambda *a, real=real, name=name: built.append(name) or real(*a)
        )
    failed: list = []
    composed = list(compose(plan, ledger, project, failed, b"key"))
    assert not failed and [(c.action.customer_id, c.action.kind) for c in composed] == [
        (cid, kind) for cid in ("C1", "C2") for kind in ("email", "status", "task", "notify")
    ]
    assert [c.text for c in composed if c.text] == [
        "Chased Alpha Ltd",
        "Call Alpha Ltd",
        "Chased Beta Ltd",
        "Call Beta Ltd",
    ]
    # C1's two invoices and C2's one: once each, not once per message
    assert sorted(built) == ["customer_context"] * 2 + ["invoice_context"] * 3


def test_a_runs_contexts_share_a_customers_parts_and_equal_contexts_made_alone(tmp_path):
    from dataclasses import replace
    from datetime import date

    from arflow.compose import contexts
    from arflow.planner.plan_types import PastState
    from arflow.project import load_project
    from arflow.sources import load_ledger
    from arflow.tonight import plan_today
    from tests.conftest import BASE_CONFIG, make_folder

    invoices = INVOICES.replace(
        "INV-3,C3,Gamma Ltd,ap@gamma.example", "INV-3,C1,Alpha Ltd,ap@alpha.example"
    )
    config = make_folder(
        tmp_path / "ar",
        invoices=invoices,
        workflows={"chase": MANY},
        config=BASE_CONFIG + "default_workflow: chase\n",
        templates=SIMPLE_TEMPLATES,
    )
    project = load_project(config)
    ledger = load_ledger(project.config)
    as_of = date(2026, 3, 11)
    plan = plan_today(project, ledger, PastState(), as_of)
    c1 = [a for a in plan.actions if a.customer_id == "C1"]
    c2 = [a for a in plan.actions if a.customer_id == "C2"]
    assert len(c1[0].items) == 2 and c2
    # C1 with both invoices, C1 again, C2, back to C1 with one, and a message listing none
    actions = [c1[0], c1[1], c2[0], replace(c1[2], items=c1[2].items[:1]), replace(c1[3], items=[])]
    made = [context for _, context in contexts(actions, as_of, ledger, project)]
    assert made == [next(contexts([a], as_of, ledger, project))[1] for a in actions]
    assert (
        made[0]["customer"] is made[1]["customer"]
        and made[0]["invoices"][1] is made[1]["invoices"][1]
    )
    assert made[2]["customer"]["id"] == "C2" and made[3]["customer"]["id"] == "C1"
    assert made[4]["invoice"] is None and made[4]["invoices"] == []


def test_the_date_header_is_formatdates_text_at_every_instant(monkeypatch):
    from email.utils import formatdate
    from types import SimpleNamespace

    import arflow.channels.mime as mime

    for now in (
        1_773_650_000.0,
        1_773_650_000.4,
        1_773_650_000.9999996,
        1_773_650_001.2,
        1_773_650_000.5,
        1_773_653_600.0,
    ):
        monkeypatch.setattr(mime, "time", SimpleNamespace(time=lambda now=now: now))
        assert mime._date() == formatdate(now, usegmt=True)


def test_encoded_words_are_filled_greedily_without_splitting_a_character():
    import base64
    import random

    from arflow.channels.mime import _encoded_words

    rng = random.Random(14)
    for used in [*range(0, 70, 3), 79, 120]:
        for _ in range(40):
            value = "".join(rng.choice("ab é€東😀 ") for _ in range(rng.randrange(1, 90)))
            words = [
                base64.b64decode(w[len("=?utf-8?b?") : -2]).decode("utf-8")  # whole chars
                for w in _encoded_words(used, value).split("\r\n ")
            ]
            assert "".join(words) == value and all(words)
            room = (76 - used - 12) // 4 * 3
            for word, after in zip(words, [*words[1:], None], strict=True):
                size = len(word.encode())
                assert size <= room or len(word) == 1  # a character too big has its own word
                if after is not None:  # and the next character would not have fitted
                    assert size + len(after[0].encode()) > room
                room = (76 - 1 - 12) // 4 * 3


@pytest.mark.parametrize(
    "subject", ["s\nBcc: x@evil.example", "s\rBcc: x@evil.example", "s\r\n\nBcc: x@evil.example"]
)
def test_the_writer_refuses_a_lone_line_break(subject):
    from arflow.channels import Message
    from arflow.channels.mime import email_bytes

    message = Message(
        "email",
        "n",
        ["ap@x.example"],
        subject="s",
        text="t",
        names={"ap@x.example": subject},
        sender="ar@acme.example",
        message_id="<1@acme.example>",
    )
    with pytest.raises(ValueError, match="line break in the To header"):
        email_bytes(message)
    message.names, message.subject = {}, subject
    with pytest.raises(ValueError, match="line break in the Subject header"):
        email_bytes(message)
