"""The commands as a user runs them: init, validate, run --dry-run; JSON shape and exit codes."""

import csv
import json
import os
import re
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from arflow import __version__
from arflow.cli import app
from arflow.config import load_config
from arflow.engine import plan
from arflow.planner.plan_types import PastState
from arflow.project import load_project
from arflow.scaffold import write_scaffold
from arflow.sources import load_ledger
from tests.conftest import make_folder, subcommands

AS_OF = date(2026, 3, 16)
ANSI = re.compile(r"\x1b\[")


@pytest.fixture
def example(tmp_path):
    write_scaffold(tmp_path / "ar", AS_OF)
    return tmp_path / "ar" / "arflow.yaml"


def test_init_writes_a_working_folder_and_leaves_an_existing_one_alone(cli, tmp_path):
    result = cli("init", tmp_path / "ar")
    assert "Created" in result.output
    for name in (
        "arflow.yaml",
        "invoices.csv",
        "customers.csv",
        "workflows/net30-standard.yaml",
        "workflows/past-due-15-30-45.yaml",
        "workflows/hosting-overdue.yaml",
        "templates/reminder.html.j2",
    ):
        assert (tmp_path / "ar" / name).is_file(), name
    (tmp_path / "ar" / "arflow.yaml").write_text("# mine\n")
    result = cli("init", tmp_path / "ar")
    assert "already exists; left unchanged" in result.output
    assert (tmp_path / "ar" / "arflow.yaml").read_text() == "# mine\n"


def test_example_validates(cli, example):
    result = cli("validate", "--config", example)
    assert "valid (7 workflows, 62 templates)" in result.output


def test_example_dry_run_shows_every_kind_of_step(run_json, example):
    _code, doc = run_json(example, AS_OF.isoformat())
    got = [
        (a["customer_id"], a["workflow"], a["step"], a["action"], a["invoices"], a["to"])
        for a in doc["actions"]
    ]
    assert got == [
        ("C001", "net30-standard", "courtesy", "email", ["INV-1001"], ["ap@northwind.example"]),
        (
            "C002",
            "net30-standard",
            "reminder",
            "email",
            ["INV-1002", "INV-1003"],
            ["billing@blueharbor.example", "owner@blueharbor.example"],
        ),
        ("C002", "net30-standard", "reminder", "sms", ["INV-1002", "INV-1003"], ["+12025550122"]),
        (
            "C003",
            "past-due-15-30-45",
            "past-due-30",
            "email",
            ["INV-1004"],
            ["accounts@contoso.example"],
        ),
        ("C004", "hosting-overdue", "overdue", "email", ["INV-1005"], ["finance@fabrikam.example"]),
        ("C004", "hosting-overdue", "overdue", "status", ["INV-1005"], []),
        ("C004", "hosting-overdue", "overdue", "notify", ["INV-1005"], ["controller@acme.example"]),
        (
            "C005",
            "past-due-15-30-45",
            "past-due-15",
            "notify",
            ["INV-1006"],
            ["controller@acme.example"],
        ),
        (
            "C005",
            "past-due-15-30-45",
            "past-due-45",
            "email",
            ["INV-1007"],
            ["payables@litware.example"],
        ),
        (
            "C005",
            "past-due-15-30-45",
            "past-due-45",
            "notify",
            ["INV-1007"],
            ["controller@acme.example"],
        ),
        ("C006", "net30-standard", "final-notice", "email", ["INV-1008"], ["ap@tailspin.example"]),
        (
            "C006",
            "net30-standard",
            "final-notice",
            "notify",
            ["INV-1008"],
            ["controller@acme.example"],
        ),
    ]
    assert doc["actions"][1]["subject"] == "Reminder: 2 invoices past due ($605.50)"
    assert doc["summary"] == {
        "invoices": 10,
        "open": 8,
        "actions": 12,
        "sent": 0,
        "failed": 0,
        "unknown": 0,
        "skipped": 7,
        "errors": 0,
    }


def test_json_document_has_exactly_the_spec_shape(run_json, example):
    with (example.parent / "invoices.csv").open("a") as invoices:
        invoices.write("INV-2000,C001,2026-02-30,Net 30,10,,open,x,HQ\n")
    _code, doc = run_json(example, "2026-03-16", expect=3)
    assert list(doc) == ["as_of", "dry_run", "actions", "skipped", "errors", "summary"]
    assert (doc["as_of"], doc["dry_run"]) == ("2026-03-16", True)
    assert doc["actions"][0] == {
        "date": "2026-03-16",
        "workflow": "net30-standard",
        "step": "courtesy",
        "action": "email",
        "customer_id": "C001",
        "invoices": ["INV-1001"],
        "to": ["ap@northwind.example"],
        "template": "courtesy",
        "subject": "Acme Supplies Ltd: invoice INV-1001 is due on Mar 19, 2026",
        "status": "planned",
    }
    assert doc["skipped"][0] == {
        "workflow": "net30-standard",
        "step": "courtesy",
        "customer_id": "C002",
        "invoices": ["INV-1002", "INV-1003"],
        "reason": "expired",
    }
    assert doc["errors"] == [
        {
            "file": "invoices.csv",
            "line": 12,
            "column": "issue_date",
            "value": "2026-02-30",
            "message": "'2026-02-30' is not a real date",
        }
    ]
    assert list(doc["summary"]) == [
        "invoices",
        "open",
        "actions",
        "sent",
        "failed",
        "unknown",
        "skipped",
        "errors",
    ]
    assert doc["summary"]["errors"] == 1


def test_seed_000_past_due_rules_replayed_day_by_day(example):
    """15 days: email the controller; 30: the billing contact; 45: both — each exactly once."""
    project = load_project(example)
    cfg = project.config
    ledger = load_ledger(cfg)
    ledger.invoices = [i for i in ledger.invoices if i.number == "INV-1004"]  # HQ, due 2026-02-14
    # the invoice workflows only: the monthly statement campaign is tested on its own
    flows = {w.id: w.model for w in project.workflows.values() if not w.model.is_campaign}
    state, sent = PastState(), []
    day = date(2026, 2, 14)
    while day <= date(2026, 4, 30):
        result = plan(
            ledger,
            flows,
            state,
            day,
            default_workflow=cfg.default_workflow,
            min_balance=cfg.min_balance,
            people=cfg.people,
        )
        for a in result.actions:
            sent.append(((day - date(2026, 2, 14)).days, a.step, a.kind, a.to))
            for key in a.keys:
                state.ran.setdefault((key.target, key.workflow), set()).add(key.step)
        day += timedelta(days=1)
    assert sent == [
        (15, "past-due-15", "notify", ["controller@acme.example"]),
        (30, "past-due-30", "email", ["accounts@contoso.example"]),
        (45, "past-due-45", "email", ["accounts@contoso.example"]),
        (45, "past-due-45", "notify", ["controller@acme.example"]),
    ]
    on_paid = project.workflows["past-due-15-30-45"].model.on_paid
    assert [(a.kind, a.spec.to, a.spec.template) for a in on_paid] == [
        ("notify", ["controller"], "internal-paid")
    ]


def test_seed_002_product_trigger_takes_only_that_products_invoices(tmp_path, run_json, example):
    csv = example.parent / "invoices.csv"
    csv.write_text(
        "number,customer_id,issue_date,terms,amount,product,location\n"
        "H1,C001,2026-02-13,Net 30,10,hosting,HQ\nK1,C001,2026-02-13,Net 30,10,consulting,Branch\n"
    )
    _, doc = run_json(example, "2026-03-16")
    assert [(a["workflow"], a["action"], a["invoices"]) for a in doc["actions"]] == [
        ("hosting-overdue", "email", ["H1"]),
        ("hosting-overdue", "status", ["H1"]),
        ("hosting-overdue", "notify", ["H1"]),
    ]
    # a week later the consulting invoice gets the default workflow's reminder (with no state,
    # the hosting step has not run yet, so a dry run still shows it)
    _code, doc = run_json(example, "2026-03-22")
    assert [(a["workflow"], a["step"], a["action"], a["invoices"]) for a in doc["actions"]] == [
        ("hosting-overdue", "overdue", "email", ["H1"]),
        ("hosting-overdue", "overdue", "status", ["H1"]),
        ("hosting-overdue", "overdue", "notify", ["H1"]),
        ("net30-standard", "reminder", "email", ["K1"]),
        ("net30-standard", "reminder", "sms", ["K1"]),
    ]


def test_plain_output_under_cron_has_no_colour_codes(cli, example):
    result = cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", example)
    assert not ANSI.search(result.output)
    lines = result.output.splitlines()
    # when it started (the wall clock: cron mail is read later), a header, one line an action
    assert lines[0] == "# arflow dry run started 2030-01-15T12:00:00Z, as of 2026-03-16"
    assert lines[1].split("\t") == [
        "# date",
        "customer",
        "workflow",
        "step",
        "action",
        "recipients",
        "invoices",
        "amount",
        "status",
    ]
    assert lines[2].split("\t") == [
        "2026-03-16",
        "C001",
        "net30-standard",
        "courtesy",
        "email",
        "ap@northwind.example",
        "INV-1001",
        "$1,250.00",
        "planned",
    ]
    assert lines[-1] == (
        "2026-03-16: 10 invoices, 8 open, 12 action(s) planned, 7 skipped, 0 error(s)"
    )


def test_customer_option_limits_the_run(run_json, example):
    _code, doc = run_json(example, "2026-03-16", "--customer", "C002")
    assert {a["customer_id"] for a in doc["actions"]} == {"C002"}
    assert doc["summary"]["invoices"] == 2


def test_bad_config_exits_1_with_located_problems(cli, example):
    example.write_text(
        example.read_text().replace("timezone: America/New_York", "timezone: Nowhere/Here")
    )
    result = cli("run", "--dry-run", "--config", example, expect=1)
    assert "arflow.yaml:8: company.timezone: unknown time zone 'Nowhere/Here'" in result.output
    assert "nothing was done" in result.output
    result = cli("validate", "--config", example, expect=1)
    assert "arflow.yaml:8: company.timezone" in result.output


def test_missing_column_exits_1(cli, example):
    (example.parent / "invoices.csv").write_text("number,customer_id,issue_date\nA,B,2026-01-01\n")
    result = cli("run", "--dry-run", "--config", example, expect=1)
    assert "error: invoices.csv: missing required column amount" in result.output
    assert "Traceback" not in result.output


def test_no_config_in_the_current_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("run", "--dry-run", expect=1)
    assert "no arflow.yaml in" in result.output and "arflow init DIR" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--as-of", "16/03/2026"],
        ["run", "--format", "xml"],
        ["run", "--as-of", "2026-02-30"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(cli, example, args):
    cli(*args, "--dry-run", "--config", example, expect=2)


def test_template_failing_at_run_time_is_reported_and_the_rest_goes_on(run_json, example):
    # a variable that only this customer's data reaches: fine in validate, fails here
    (example.parent / "templates" / "courtesy.subject.j2").write_text(
        "{% if customer.name == 'Northwind Traders' %}{{ invoice.extra.po_number }}{% endif %}"
    )
    _code, doc = run_json(example, "2026-03-16", expect=3)
    assert [a["customer_id"] for a in doc["actions"]][:2] == ["C002", "C002"]
    [error] = doc["errors"]
    assert (error["file"], error["line"], error["value"]) == (
        "templates/courtesy.subject.j2",
        1,
        "C001",
    )
    assert "'dict object' has no attribute 'po_number'" in error["message"]


def test_every_command_has_help_with_an_example(cli):
    import typer.main

    group = typer.main.get_command(app)
    for name, command in subcommands(group).items():
        assert command.help and "Example:" in command.help, name
        assert cli(name, "--help").exit_code == 0


@pytest.mark.parametrize("group", ["", "tasks", "workflows", "state"])
def test_every_commands_summary_in_help_is_a_whole_sentence(cli, group):
    """`arflow --help` lists each command with the first line of its help: a short sentence,
    whole, never cut off with "..."."""
    output = cli(*group.split(), "--help").output
    listed = output.split("Commands:\n", 1)[1].splitlines()
    summaries = [line.split(None, 1)[1] for line in listed if line.startswith("  ")]
    assert len(summaries) >= (20 if not group else 1)
    for summary in summaries:
        assert summary.endswith(".") and not summary.endswith("..."), summary


def test_each_commands_as_of_says_what_the_day_is_for_it(cli):
    """`--as-of` means a different day to each command (the day a pause is made, the first
    day of a forecast): each says which, none the vague "The day it happens"."""
    import typer.main

    group = typer.main.get_command(app)
    helps = {
        name: next(p.help for p in command.params if "--as-of" in getattr(p, "opts", ()))
        for name, command in subcommands(group).items()
        if any("--as-of" in getattr(p, "opts", ()) for p in command.params)
    }
    assert {"status", "pause", "promise", "aging", "forecast", "preview", "customers"} <= set(helps)
    assert len(set(helps.values())) == len(helps), helps
    for name, text in helps.items():
        assert "it happens" not in str(text), name
    help_text = " ".join(cli("forecast", "--help").output.split())
    assert "--as-of YYYY-MM-DD The first day of the forecast (default: today" in help_text


@pytest.mark.parametrize(
    "instant, expected",
    [
        ("2026-03-16T03:59:00+00:00", "2026-03-15"),  # still the 15th in New York
        ("2026-03-16T04:00:00+00:00", "2026-03-16"),
        ("2026-11-01T05:30:00+00:00", "2026-11-01"),  # DST ends: UTC−5
    ],
)
def test_today_is_taken_in_the_company_time_zone_not_the_machines(tmp_path, instant, expected):
    path = make_folder(tmp_path, invoices="number\n", workflows={})
    cfg = load_config(path)
    old = os.environ.get("TZ")
    try:
        for tz in ("Asia/Tokyo", "Pacific/Honolulu"):
            os.environ["TZ"] = tz
            time.tzset()
            assert cfg.today(datetime.fromisoformat(instant)) == date.fromisoformat(expected)
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_dry_run_writes_nothing_and_leaves_the_collector_as_it_was(cli, example):
    import gc

    before = sorted(p.name for p in example.parent.rglob("*"))
    cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", example)
    assert sorted(p.name for p in example.parent.rglob("*")) == before
    assert gc.isenabled() and gc.get_freeze_count() == 0


@pytest.mark.parametrize("batch", [1, 5, 1_000])
def test_streamed_json_is_the_same_document(example, tmp_path, monkeypatch, batch):
    import io

    from arflow import report
    from arflow.deliver import run
    from arflow.report import plan_document, write_json

    monkeypatch.setattr(report, "JSON_BATCH", batch)  # 12 actions: batches end mid-list or not

    project = load_project(example)
    with (example.parent / "invoices.csv").open("a") as invoices:
        invoices.write("BAD,C001,2026-13-01,Net 30,1,,open,x,HQ\n")
    outcome = run(project, load_ledger(project.config), AS_OF, dry_run=True)
    result, errors = outcome.plan, outcome.errors
    out = io.StringIO()
    write_json(out, result, errors, dry_run=True)
    assert json.loads(out.getvalue()) == plan_document(result, errors, dry_run=True)
    assert len(errors) == 1 and len(result.actions) == 12


def test_validate_takes_folders_and_reports_all_of_them(cli, tmp_path):
    write_scaffold(tmp_path / "good", AS_OF)
    write_scaffold(tmp_path / "bad", AS_OF)
    (tmp_path / "bad" / "workflows" / "net30-standard.yaml").write_text("name: x\nsteps: 5\n")
    result = cli("validate", tmp_path / "good", tmp_path / "bad", expect=1)
    assert "good/arflow.yaml: valid (7 workflows, 62 templates)" in result.output
    assert (
        "workflows/net30-standard.yaml:2: steps: Input should be a valid list (got 5)"
        in result.output
    )


def test_customer_assigned_to_a_missing_workflow_is_reported_not_silently_skipped(
    run_json, example
):
    customers = example.parent / "customers.csv"
    rows = list(csv.reader(customers.read_text().splitlines()))
    rows = [[*rows[0], "workflow"]] + [
        [*row, "vip-gentle" if row[0] == "C001" else ""] for row in rows[1:]
    ]
    customers.write_text("".join(",".join(row) + "\n" for row in rows))
    _code, doc = run_json(example, "2026-03-16", expect=3)
    assert "C001" not in {a["customer_id"] for a in doc["actions"]}
    assert doc["errors"] == [
        {
            "file": "customers.csv",
            "line": 2,
            "column": "workflow",
            "value": "vip-gentle",
            "message": "no workflow 'vip-gentle' (workflows: ar-workflow, hosting-overdue, "
            "late-fee-warning, monthly-statement, net30-standard, past-due-15-30-45, "
            "payment-plan); the id is the file name without .yaml; this customer is "
            "not chased until it is fixed",
        }
    ]


def test_terminal_table_has_the_columns_a_bookkeeper_reads(example):
    from rich.console import Console

    from arflow.deliver import run
    from arflow.report import print_plan

    project = load_project(example)
    ledger = load_ledger(project.config)
    result = run(project, ledger, AS_OF, dry_run=True).plan
    names = {cid: c.display_name for cid, c in ledger.customers.items()}
    for width in (80, 100, 160, 250):
        console = Console(record=True, width=width, force_terminal=True)
        print_plan(console, result, [], "en_US", plain=False, dry_run=True, names=names)
        text = console.export_text()
        lines = [line.rstrip() for line in text.splitlines()]
        assert lines[0] == "arflow would run 12 action(s) on 2026-03-16"  # the title
        assert max(len(line) for line in lines) <= width, width
        # every amount whole, every customer by name
        for amount in (
            "$1,250.00",
            "$605.50",
            "$1,200.00",
            "$89.00",
            "$640.00",
            "$910.00",
            "$2,150.00",
        ):
            assert amount in text, (width, amount)
        assert "Blue Harbor Cafe" in text and "Skipped (7):" in text
        if width >= 110:
            header = next(line for line in lines if "Customer" in line)
            assert [h.strip() for h in header.strip("┃ ").split("┃")] == [
                "Customer",
                "Workflow › step",
                "Action",
                "To",
                "Invoices",
                "Amount",
                "Subject / detail",
            ]
            assert "│ Blue Harbor Cafe" in text
        else:  # a block per action
            assert "Blue Harbor Cafe · net30-standard › reminder · email" in lines
            assert any(
                line.startswith("  $605.50 · INV-1002, INV-1003 · to billing@blueharbor.example,")
                for line in lines
            )
            assert "  Reminder: 2 invoices past due ($605.50)" in lines


def _imported_by(args: list[str], watched: str) -> list[str]:
    """What `arflow ARGS` printed, then which modules of `watched` (an expression of `m`, a
    module's name) it had imported by the end, in a process of its own as cron starts it."""
    code = (
        "import sys\n"
        "from arflow.cli import main\n"
        f"sys.argv = ['arflow', *{args!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in sys.modules if {watched}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    return done.stdout.splitlines()


def test_version_loads_no_command_and_no_heavy_library():
    """`arflow --version` loads no command (each is loaded when asked for), so none of the
    libraries the commands use: start-up is Python's and typer's (issue 30)."""
    heavy = "{'polars', 'jinja2', 'babel', 'phonenumbers', 'pydantic', 'yaml', 'sqlite3', 'rich'}"
    watched = f"m.split('.')[0] in {heavy} or m.startswith('arflow.')"
    assert _imported_by(["--version"], watched) == [
        f"arflow {__version__}",
        "['arflow.cli', 'arflow.commands', 'arflow.commands.options', 'arflow.errors', "
        "'arflow.secrets']",
    ]


def test_validate_loads_what_it_checks_with_and_nothing_else():
    """`arflow validate` on the example loads the models, the sources' reader (polars: it
    reads the files to see whether one would be refused), the templates (jinja2, babel;
    phonenumbers for the `phone` filter an internal notice uses) and `holidays` (whose
    registry checks the calendars its workflows name, no country loaded); none of the session, the run, the reports, the scaffold, the
    doctor's checks, the channels' mail libraries, or email-validator (every address in the
    example is plain) (issue 30)."""
    watched = (
        "m in {'polars', 'jinja2', 'babel', 'phonenumbers', 'pydantic', 'holidays', "
        "'email_validator', 'smtplib', 'imaplib', 'ssl', 'rich.table', 'rich.progress', "
        "'arflow.commands.session', 'arflow.commands.run', 'arflow.commands.desk', "
        "'arflow.commands.reports', 'arflow.deliver', 'arflow.engine', 'arflow.compose', "
        "'arflow.tonight', 'arflow.report', 'arflow.tables', 'arflow.listing', "
        "'arflow.scaffold', 'arflow.doctor', 'arflow.schema', 'arflow.source_view', "
        "'arflow.channels.smtp', 'arflow.channels.twilio', 'arflow.inbox'}"
    )
    assert _imported_by(["validate", "--config", "examples/arflow.yaml"], watched) == [
        "examples/arflow.yaml: valid (7 workflows, 62 templates)",
        "['babel', 'holidays', 'jinja2', 'phonenumbers', 'polars', 'pydantic']",
    ]
