"""What a bookkeeper, a cron job and a CI job meet in their first hour (issue 17)."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date

import pytest

from arflow.render import Templates
from arflow.scaffold import write_scaffold


@pytest.fixture
def example(tmp_path):
    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    return tmp_path / "ar" / "arflow.yaml"


@pytest.mark.parametrize(
    ("days", "text"), [(1, "1 day"), (0, "0 days"), (30, "30 days"), (-1, "-1 day")]
)
def test_a_count_of_days_reads_as_people_write_it(tmp_path, days, text):
    templates = Templates(tmp_path, "en_US", "USD")
    assert templates.render_string("{{ n|days }}", {"n": days}) == text


def test_phone_numbers_in_notices_are_written_for_people(tmp_path):
    templates = Templates(tmp_path, "en_US", "USD")
    assert templates.render_string("{{ p|phone }}", {"p": "+12025550122"}) == "+1 202-555-0122"
    assert templates.render_string("{{ p|phone }}", {"p": "+442079460018"}) == "+44 20 7946 0018"
    assert templates.render_string("[{{ p|phone }}]", {"p": None}) == "[]"


def test_a_subject_adds_up_what_the_message_lists_and_says_what_else_is_owed(cli, example):
    # C005 owes INV-1006 ($640) and INV-1007 ($910); a promise holds INV-1006
    cli("assign", "C005", "--workflow", "ar-workflow", "--date", "2026-03-16", "--config", example)
    cli("promise", "INV-1006", "--date", "2026-03-31", "--as-of", "2026-03-16", "--config", example)
    doc = json.loads(
        cli("run", "--as-of", "2026-03-16", "--format", "json", "--config", example).stdout
    )
    (reminder,) = [
        a for a in doc["actions"] if a["customer_id"] == "C005" and a["action"] == "email"
    ]
    assert (reminder["invoices"], reminder["subject"]) == (
        ["INV-1007"],
        "Reminder: 1 invoice past due ($910.00)",
    )
    (path,) = (example.parent / "outbox").glob("*-C005-ar-workflow-kickoff-2-*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "  INV-1007       due Jan 30, 2026  $910.00  (45 days past due)" in text
    assert "  Total:" not in text  # one invoice: its amount is the total
    assert "  Your account's balance with us, including invoices not listed here: $1,550.00" in text
    html = message.get_body(("html",)).get_content()
    assert "including invoices not listed here: $1,550.00" in html


def test_internal_notices_write_the_phone_for_people(cli, example):
    doc = json.loads(
        cli("run", "--as-of", "2026-03-16", "--format", "json", "--config", example).stdout
    )
    assert any(a["customer_id"] == "C006" and a["action"] == "notify" for a in doc["actions"])
    (path,) = (example.parent / "outbox").glob("*-C006-net30-standard-final-notice-1-*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert (
        "Billing contact: ap@tailspin.example, +1 202-555-0166."
        in message.get_body(("plain",)).get_content()
    )
    assert message["Subject"] == (
        "[AR] Tailspin Toys: 1 invoice 65 days past due (Net 30 standard)"
    )


def test_quiet_prints_nothing_when_all_went_well_and_only_problems_otherwise(
    cli, tmp_path, smtp_server
):
    from tests.conftest import make_folder
    from tests.test_deliver import CHASE as chase
    from tests.test_deliver import INVOICES, smtp_config

    config = make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={"chase": chase},
        config=smtp_config(smtp_server.port),
    )
    assert cli("run", "--quiet", "--as-of", "2026-03-11", "--config", config).stdout == ""
    assert len(smtp_server.messages) == 3
    smtp_server.handler.data_replies = {3: "451 4.3.0 mailbox busy"}
    out = cli("run", "-q", "--as-of", "2026-03-20", "--config", config, expect=3).stdout
    assert out.splitlines() == [
        "2026-03-20\tC1\tchase\tsecond\temail\tap@alpha.example, cc controller@acme.example\t"
        "INV-1\t$100.00\tfailed",
        "2026-03-20: 3 invoices, 3 open, 3 action(s): 2 sent, 1 failed (message refused: 451 "
        "4.3.0 mailbox busy), 0 skipped, 0 error(s)",
    ]


def test_no_color_and_a_dumb_terminal_get_no_colour_codes(example, tmp_path):
    """A real terminal (a pty), as a person at a console would run it."""
    import os
    import pty
    import re
    import subprocess
    import sys

    def on_a_terminal(**env) -> str:
        leader, follower = pty.openpty()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "arflow",
                "aging",
                "--as-of",
                "2026-03-16",
                "--config",
                str(example),
            ],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env={
                **{k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")},
                "COLUMNS": "160",
                **env,
            },
            timeout=60,
            check=False,
        )
        os.close(follower)
        out = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(leader)
        assert proc.returncode == 0
        return out.decode()

    colour = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7]|38;)[0-9;]*m")
    # the aging table's bars are coloured by bucket on a colour terminal ...
    assert colour.search(on_a_terminal(TERM="xterm-256color"))
    # ... and not with NO_COLOR (bold may stay), nor on a dumb terminal (no escapes at all)
    out = on_a_terminal(TERM="xterm-256color", NO_COLOR="1")
    assert "Tailspin Toys" in out and "█" in out and not colour.search(out)
    out = on_a_terminal(TERM="dumb")
    assert "Tailspin" in out and "$2,150.00" in out and "\x1b[" not in out


def test_the_config_is_found_above_the_current_folder_or_named_once(
    cli, example, tmp_path, monkeypatch
):
    deep = example.parent / "workflows"
    monkeypatch.chdir(deep)  # as git finds its repository from a subfolder
    assert "valid (7 workflows" in cli("validate").output
    monkeypatch.chdir(tmp_path)
    result = cli("validate", expect=1)
    assert result.stderr.strip() == (
        f"error: no arflow.yaml in {tmp_path} or any folder above it: run `arflow init DIR` to "
        "create a working folder, or pass --config PATH (or set ARFLOW_CONFIG) "
        "(2030-01-15T12:00:00Z)"
    )
    monkeypatch.setenv("ARFLOW_CONFIG", str(example))
    assert "valid (7 workflows" in cli("validate").output
    monkeypatch.setenv("ARFLOW_CONFIG", str(tmp_path / "nope.yaml"))
    assert cli("validate", expect=1).stderr.strip() == (
        f"error: ARFLOW_CONFIG={tmp_path / 'nope.yaml'}: no such file; point it at your "
        "arflow.yaml or unset it (2030-01-15T12:00:00Z)"
    )
    monkeypatch.delenv("ARFLOW_CONFIG")
    # --config before the command serves every command
    out = cli("--config", example, "workflows", "--format", "json").stdout
    assert "monthly-statement" in out


def test_short_help_and_shell_completion(cli):
    assert " run [OPTIONS]" in cli("run", "-h").output
    assert " tasks [OPTIONS]" in cli("tasks", "-h").output
    top = cli("-h").output
    assert "--install-completion" in top and "--config" in top


def test_a_broken_default_workflow_is_reported_once(cli, example, monkeypatch):
    monkeypatch.chdir(example.parent)  # paths are named from here
    (example.parent / "workflows" / "net30-standard.yaml").write_text("name: x\nsteps: 5\n")
    result = cli("validate", "--config", example, expect=1)
    assert result.stderr.splitlines() == [
        "workflows/net30-standard.yaml:2: steps: Input should be a valid list (got 5)",
        "1 problem(s) found; nothing was done (2030-01-15T12:00:00Z).",
    ]


def test_validate_a_workflow_file_and_tell_ci_in_its_own_words(cli, example, tmp_path, monkeypatch):
    monkeypatch.chdir(example.parent)  # paths are named from here
    workflow = example.parent / "workflows" / "hosting-overdue.yaml"
    # within its folder, which is valid
    assert cli("validate", workflow).stdout == "workflows/hosting-overdue.yaml: valid\n"
    # on its own (no arflow.yaml above it): its model is checked
    alone = tmp_path / "solo" / "chase.yaml"
    alone.parent.mkdir()
    alone.write_text("name: Chase\nsteps:\n  - day: seven\n    actions: []\n")
    result = cli("validate", alone, expect=1)
    assert result.stderr.splitlines()[0].startswith(f"{alone}:3: steps.0.day: Input should be")
    broken = example.parent / "workflows" / "late-fee-warning.yaml"
    broken.write_text(broken.read_text().replace("day: 0", "day: soon", 1))
    out = cli("validate", "--format", "github", "--config", example, expect=1).stdout
    assert out.splitlines() == [
        "::error file=workflows/late-fee-warning.yaml,line=13::steps.0.day: Input should be a "
        "valid integer, unable to parse string as an integer (got 'soon')"
    ]
    doc = json.loads(cli("validate", "--format", "json", "--config", example, expect=1).stdout)
    assert doc == {
        "valid": False,
        "checked": ["arflow.yaml"],  # every file checked, valid or not
        "problems": [
            {
                "file": "workflows/late-fee-warning.yaml",
                "line": 13,
                "where": "steps.0.day",
                "message": "Input should be a valid integer, unable to parse string as an integer "
                "(got 'soon')",
            }
        ],
    }


def test_history_reads_at_80_columns_and_in_a_wide_terminal(cli, example):
    from rich.console import Console

    from arflow.tables import print_history

    cli("run", "--as-of", "2026-03-16", "--config", example)
    rows = json.loads(
        cli("history", "--customer", "C002", "--format", "json", "--config", example).stdout
    )["actions"]
    # one entry per message: the reminder to Blue Harbor is about INV-1002 and INV-1003
    assert [(r["step"], r["kind"], r["invoices"]) for r in rows] == [
        ("courtesy", "email", ["INV-1002", "INV-1003"]),
        ("reminder", "email", ["INV-1002", "INV-1003"]),
        ("reminder", "sms", ["INV-1002", "INV-1003"]),
    ]
    for width in (80, 100, 160):
        console = Console(record=True, width=width, color_system=None)
        print_history(console, rows, plain=False)
        lines = [line.rstrip() for line in console.export_text().splitlines()]
        assert max(len(line) for line in lines) <= width
        if width < 110:
            text = " ".join(line.strip() for line in lines)
            assert (
                "INV-1002, INV-1003 · billing@blueharbor.example, owner@blueharbor.example — "
                "Reminder: 2 invoices past due ($605.50)"
            ) in text  # a block per action: what, then about what and to whom, then its key
            head = "  INV-1002, INV-1003 · billing@blueharbor.example, owner@blueharbor.example —"
            assert lines[4:6] == [
                "2026-03-16 C002 · net30-standard › reminder · email · sent",
                {
                    80: head,
                    100: f"{head} Reminder: 2 invoices",
                }[width],
            ]
            assert any(
                line.startswith("  invoice:INV-1002/net30-standard/reminder/0 · recorded")
                for line in lines
            )
        else:
            assert any(line.startswith("┃ Date") for line in lines)
            assert any("Reminder: 2 invoices" in line for line in lines)
            assert sum("│ INV-1002, INV-1003 · " in line for line in lines) == 3


def test_status_reads_at_80_columns(cli, example):
    from rich.console import Console

    from arflow.tables import print_status

    rows = json.loads(
        cli("status", "--as-of", "2026-03-16", "--format", "json", "--config", example).stdout
    )["customers"]
    console = Console(record=True, width=80, color_system=None)
    print_status(console, rows, "en_US", plain=False)
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert max(len(line) for line in lines) <= 80
    start = lines.index("Contoso Builders (C003)")
    assert lines[start + 1 : start + 4] == [
        "  open $1,200.00 · overdue $1,200.00 · status — · specialist dana",
        "  past-due-15-30-45 (match): last —, next past-due-30 (2026-03-16)",
        "  monthly-statement (campaign): last —, next 2026-04-06",
    ]
    assert lines.count("Contoso Builders (C003)") == 1


def test_template_errors_in_peoples_words(tmp_path):
    from tests.conftest import SIMPLE_TEMPLATES
    from tests.test_validate import GOOD, problems

    templates = {
        **SIMPLE_TEMPLATES,
        "reminder.txt.j2": "Dear {{ customer.contact_name }},\n{{ 5|mony }}\n",
    }
    found = problems(tmp_path, {"good": GOOD}, templates=templates)
    assert found == [
        "templates/reminder.txt.j2:2: template syntax error: No filter named "
        "'mony'; did you mean 'money'?"
    ]
    templates["reminder.txt.j2"] = "Dear {{ customer.contact_name }},\n"
    found = problems(tmp_path / "2", {"good": GOOD}, templates=templates)
    assert found == [
        "templates/reminder.txt.j2:1: customer has no field 'contact_name'; its fields are "
        "currency, customer_id, email, extra, id, language, name, parent_id, phone, segment, "
        "specialist"
    ]


def test_a_github_annotation_keeps_its_message_on_one_line():
    from arflow.commands.setup import _gh

    assert _gh("50% of\r\nthe line") == "50%25 of%0D%0Athe line"


def test_customers_lists_what_is_missing_to_chase_each_one(cli, example):
    cli("pause", "customer", "C004", "--as-of", "2026-03-16", "--config", example)
    doc = json.loads(
        cli("customers", "--as-of", "2026-03-16", "--format", "json", "--config", example).stdout
    )
    rows = {r["customer_id"]: r for r in doc["customers"]}
    assert (rows["C003"]["missing"], rows["C003"]["open_invoices"], rows["C003"]["open"]) == (
        ["no phone"],
        1,
        {"USD": "1200.00"},
    )
    assert rows["C004"]["missing"] == ["paused"]
    assert rows["C002"]["missing"] == [] and rows["C002"]["email"] == [
        "billing@blueharbor.example",
        "owner@blueharbor.example",
    ]
    assert rows["C007"]["open_invoices"] == 0  # a parent account with no invoices of its own
    out = cli("customers", "--missing", "--as-of", "2026-03-16", "--config", example).stdout
    header, *lines, total = out.splitlines()
    assert header.split("\t")[0] == "# customer"
    assert [line.split("\t")[0] for line in lines] == ["C003", "C004", "C005", "C007"]
    assert lines[0].split("\t")[-1] == "no phone"
    assert total == "total\t4 customer(s)\t\t\t4\t$2,839.00\t4 missing something"


def test_help_examples_name_workflows_the_example_has(cli):
    import re

    from arflow.scaffold import library

    have = {p.stem for p in (library() / "workflows").glob("*.yaml")}
    examples = []
    for command in ("assign", "preview", "validate", "resolve", "workflows", "run"):
        text = cli(command, "-h").output
        examples += re.findall(r"Example: (.+)", text)
    named = set()
    for line in examples:
        named |= set(re.findall(r"--workflow (\S+)", line))
        named |= set(re.findall(r"preview (\S+)", line))
        named |= set(re.findall(r"clone (\S+)", line))
        named |= set(re.findall(r"workflows/(\S+)\.yaml", line))
        named |= set(re.findall(r"/([\w-]+)/[\w-]+/\d", line))  # an action key's workflow
    assert named and named <= have, named - have


def test_a_mis_indented_key_says_where_it_belongs(cli, example, monkeypatch):
    monkeypatch.chdir(example.parent)  # paths are named from here
    text = example.read_text()
    example.write_text(text.replace("\n  terms: Net 30", "\nterms: Net 30"))
    result = cli("validate", "--config", example, expect=1)
    assert result.stderr.splitlines()[0] == (
        "arflow.yaml:11: terms: 'terms' belongs under company:; indent it there"
    )


def test_an_error_in_an_included_partial_is_reported_once_at_its_own_line(
    cli, example, monkeypatch
):
    monkeypatch.chdir(example.parent)  # paths are named from here
    partial = example.parent / "templates" / "_invoices.txt.j2"
    lines = partial.read_text().splitlines()
    lines.insert(1, "{{ invoices[0].numbr }}")
    partial.write_text("\n".join(lines) + "\n")
    result = cli("validate", example, expect=1)
    # eight templates include it; one problem, in the partial, at line 2
    assert result.output.count("numbr") == 1
    assert result.output.startswith("templates/_invoices.txt.j2:2: ")
    assert "1 problem(s) found" in result.output
    # a run checks the templates first, and says the same
    run = cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", example, expect=1)
    assert run.output.count("numbr") == 1 and "templates/_invoices.txt.j2:2: " in run.output


def test_a_template_that_is_not_utf8_is_named_at_its_line(cli, example, monkeypatch):
    monkeypatch.chdir(example.parent)  # paths are named from here
    (example.parent / "templates" / "reminder.txt.j2").write_bytes(
        b"Dear {{ customer.name }},\nCaf\xe9 \x93Bon\x94\n"
    )
    result = cli("validate", example, expect=1)
    assert result.output.splitlines()[0] == (
        "templates/reminder.txt.j2:2: not UTF-8 text (byte 0xE9 at line 2, column 4); save the "
        "file as UTF-8"
    )


def test_a_source_saved_by_excel_on_windows_reads_with_the_encoding_the_message_names(
    cli, example, run_json
):
    customers = example.parent / "customers.csv"
    text = customers.read_text().replace("Northwind Traders", "Société Générale “Nord”")
    customers.write_bytes(text.encode("cp1252"))
    result = cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", example, expect=1)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "Société" in row)
    assert (
        f"customers.csv: not UTF-8 text (byte 0xE9 at line {line}, column "
        f"{text.splitlines()[line - 1].index('é') + 1}); save it as UTF-8, or add encoding: "
        "cp1252 to this source in arflow.yaml if that is how it was saved (the byte reads "
        "as 'é' in cp1252)"
    ) in result.output
    config = example.read_text().replace(
        "  path: customers.csv", "  path: customers.csv\n  encoding: cp1252"
    )
    example.write_text(config)
    _, doc = run_json(example, "2026-03-16")
    assert doc["errors"] == []
    names = cli("customers", "--config", example).stdout
    assert "Société Générale “Nord”" in names


def test_every_fatal_error_carries_when_it_happened(cli, example, tmp_path, clock):
    clock("2026-11-28T06:15:09")  # cron's mail says when, whenever it is read
    (example.parent / "invoices.csv").unlink()
    result = cli("run", "--config", example, expect=1)
    assert result.stderr == (
        "error: invoices.csv: file not found; check path: in arflow.yaml (2026-11-28T06:15:09Z)\n"
    )
    example.write_text(
        example.read_text().replace("default_workflow: net30-standard", "default_workflow: nope")
    )
    result = cli("run", "--config", example, expect=1)
    assert result.stderr.splitlines()[-1] == (
        "1 problem(s) found; nothing was done (2026-11-28T06:15:09Z)."
    )


def test_no_usage_or_help_line_shows_a_python_type(cli):
    import click
    import typer.main

    from arflow.cli import app
    from tests.conftest import subcommands

    def commands(group: click.Group, path: tuple[str, ...] = ()):
        yield path
        for name, command in subcommands(group).items():
            if isinstance(command, click.Group):
                yield from commands(command, (*path, name))
            else:
                yield (*path, name)

    seen = 0
    for path in commands(typer.main.get_command(app)):
        text = cli(*path, "--help").output
        seen += 1
        for python in ("<str>", "<int>", "<file>", "<dir>", "<path>", "list[", "<float>"):
            assert python not in text, (path, python)
    assert seen >= 20  # every command and group, arflow itself included
    assert "Usage: root promise [OPTIONS] {INVOICE}" in cli("promise", "--help").output


def test_reply_to_an_archive_copy_and_a_list_id(cli, example, smtp_server):
    text = example.read_text().replace(
        "email: {transport: outbox, dir: outbox}",
        f"email: {{transport: smtp, host: 127.0.0.1, port: {smtp_server.port}, "
        "reply_to: Collections@Acme.Example, bcc_archive: archive@acme.example, "
        "return_path: bounces@acme.example}",
    )
    example.write_text(text)
    cli("run", "--as-of", "2026-03-16", "--config", example)
    assert len(smtp_server.messages) == 10  # the emails of the run (the SMS go to the outbox)
    for received in smtp_server.messages:
        assert received.rcpt_tos[-1] == "archive@acme.example"
        assert received.mail_from == "bounces@acme.example"  # bounces go there, not to From
        message = email.message_from_bytes(received.data, policy=email.policy.default)
        assert message["Reply-To"] == "Collections@acme.example"
        assert message["From"] == "Acme Supplies Ltd <ar@acme.example>"
        assert message["List-Id"] == "<arflow.acme.example>"
        assert message["Bcc"] is None  # a blind copy: no recipient sees it
        assert "archive@acme.example" not in received.data.decode()
    # a line break smuggled into the setting is no address (and never a header)
    example.write_text(
        text.replace(
            "bcc_archive: archive@acme.example",
            'bcc_archive: "archive@acme.example\\r\\nBcc: x@evil.example"',
        )
    )
    result = cli("validate", example, expect=1)
    assert (
        "channels.email.bcc_archive: 'archive@acme.example\\r\\nBcc: x@evil.example' is "
        "not an email address" in result.output
    )
