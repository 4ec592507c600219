"""No table splits a token (issue 29): every report a person reads in a terminal, at every width
from 60 to 160 columns, keeps each customer id, date, amount, address, workflow id and step name
whole on one line, cuts no heading and no word, and no line is wider than the terminal.

The reports are made once each by the real commands (on the bundled example after real runs
with its file outbox, a pause, a promise and a task); what each command hands to its printer is
kept, then printed in a terminal of each width in-process (a hundred widths of ten reports in a
few seconds)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime

import pytest
from rich.console import Console
from typer.testing import CliRunner

from arflow import source_view
from arflow.cli import app
from arflow.commands import common, desk, reports, run
from arflow.scaffold import write_scaffold
from tests.conftest import NOW, example_after_nights

WIDTHS = range(60, 161)
Printer = Callable[[int], str]


def _capture(mp: pytest.MonkeyPatch, module: object, name: str, kept: dict, key: str) -> None:
    """Replace a command's printer by one that keeps what it was handed (a generator read
    out: the state database closes after the command)."""
    real = getattr(module, name)

    def keep(_console: Console, *args: object, **kwargs: object) -> None:
        args = tuple(list(a) if isinstance(a, Iterator) else a for a in args)
        kept[key] = (real, args, kwargs)

    mp.setattr(module, name, keep)


def _invoke(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code in (0, 3), result.output


@pytest.fixture(scope="module")
def printers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Printer]:
    """Each report as its command made it, to print at any width."""
    root = tmp_path_factory.mktemp("widths") / "ar"
    write_scaffold(root, date(2026, 3, 16))
    config = str(root / "arflow.yaml")
    kept: dict[str, tuple] = {}
    with pytest.MonkeyPatch.context() as mp:
        moment = datetime.fromisoformat(NOW)
        mp.setattr(common, "now", lambda: moment)
        _capture(mp, run, "print_plan", kept, "run --dry-run")
        _invoke("run", "--dry-run", "--as-of", "2026-03-16", "--config", config)
        mp.undo()
        mp.setattr(common, "now", lambda: moment)
        example_after_nights(root)
        for module, name, key in (
            (desk, "print_status", "status"),
            (desk, "print_tasks", "tasks"),
            (reports, "print_history", "history"),
            (reports, "print_customers", "customers"),
            (reports, "print_workflows", "workflows"),
            (reports, "print_aging", "aging"),
            (reports, "print_forecast", "forecast"),
            (reports, "print_simulation", "simulate"),
            (source_view, "print_sources", "sources"),  # `sources` imports it when it runs
        ):
            _capture(mp, module, name, kept, key)
        day = ("--as-of", "2026-04-07", "--config", config)
        _invoke("status", *day)
        _invoke("tasks", "--all", "--config", config)
        _invoke("history", "--config", config)
        _invoke("customers", *day)
        _invoke("workflows", "--config", config)
        _invoke("aging", *day)
        _invoke("forecast", "--days", "21", *day)
        _invoke("simulate", "--from", "2026-03-01", "--to", "2026-04-30", "--config", config)
        _invoke("sources", *day)

    def printer(real: Callable, args: tuple, kwargs: dict, soft: bool) -> Printer:
        def show(width: int) -> str:
            console = Console(
                record=True, width=width, color_system=None, force_terminal=True, soft_wrap=soft
            )
            real(console, *args, **({**kwargs, "plain": False} if "plain" in kwargs else kwargs))
            return console.export_text()

        return show

    assert sorted(kept) == sorted(REPORTS)
    return {k: printer(*kept[k], soft=k == "sources") for k in kept}


REPORTS = [
    "run --dry-run",
    "status",
    "tasks",
    "history",
    "customers",
    "workflows",
    "aging",
    "forecast",
    "simulate",
    "sources",
]
# the tokens a report may not break: ISO dates, amounts, addresses, customer ids, invoices
TOKEN = re.compile(
    r"\d{4}-\d\d-\d\d|[$€£][\d,]+\.\d\d|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\bC\d{3}\b|\bINV-\d+\b"
)
STEP_NAMES = {
    "courtesy",
    "reminder",
    "overdue-30",
    "final-notice",
    "past-due-15",
    "past-due-30",
    "past-due-45",
    "overdue",
    "statement",
}
WORKFLOW_IDS = {
    "net30-standard",
    "past-due-15-30-45",
    "hosting-overdue",
    "monthly-statement",
    "ar-workflow",
    "late-fee-warning",
}
BOX = re.compile(r"[\s\u2500-\u257f]+")


SPARKS = re.compile("[ ▁▂▃▄▅▆▇█]+")  # simulate's line of bars, a mark a day or more


def words(text: str) -> set[str]:
    return {w.strip("()[],;:·\"'").lower() for w in BOX.split(text) if not SPARKS.fullmatch(w)} - {
        ""
    }


@pytest.mark.parametrize("report", REPORTS)
def test_no_report_splits_a_token_at_any_width_from_60_to_160(printers, report):
    wide = printers[report](400)
    whole = words(wide)
    tokens = set(TOKEN.findall(wide)) | {w for w in whole if w in STEP_NAMES | WORKFLOW_IDS}
    assert len(tokens) >= 4, tokens  # the report shows what it is about
    for width in WIDTHS:
        text = printers[report](width)
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= width, (report, width)
        # every word is one the wide report shows: nothing cut, folded or ellipsed
        assert words(text) <= whole | LABELS, (report, width, sorted(words(text) - whole))
        found = set(TOKEN.findall(text)) | (words(text) & (STEP_NAMES | WORKFLOW_IDS))
        assert found >= tokens - DROPPABLE.get(report, set()), (report, width, tokens - found)


# words a block of a narrow terminal adds before its values
LABELS = {
    "open",
    "overdue",
    "status",
    "specialist",
    "last",
    "next",
    "to",
    "recorded",
    "·",
    "›",
    "a",
    "mark",
}
# what only a column that goes first in a narrow terminal shows: the invoices of a task (its
# customer and title stay), a workflow's name ("Hosting overdue trigger")
DROPPABLE = {"tasks": {"INV-1003"}, "workflows": {"overdue", "statement"}}


def test_the_splits_the_issue_found_are_gone(printers):
    """At 120 columns `status` showed `(2026-12-0` / `5)` and the dry run `ap@northwind.exam` /
    `ple`; at 80 `forecast` `past-due-3` / `0`, `workflows` `Enabl…`, `simulate` `Workfl ow`."""
    status = printers["status"](120).splitlines()
    assert any("│ (2026-04-21)" in line for line in status)  # C001's next step, its date whole
    assert any(
        "ap@northwind.example" in line for line in printers["run --dry-run"](120).split("\n")
    )
    forecast = printers["forecast"](80).splitlines()
    assert forecast[2].split() == [
        "┃",
        "Date",
        "┃",
        "Workflow",
        "›",
        "step",
        "┃",
        "Actions",
        "┃",
        "Customers",
        "┃",
        "Chased",
        "┃",
    ]
    assert any("│ past-due-15-30-45 ›" in line for line in forecast)
    workflows = printers["workflows"](80).splitlines()
    assert [w for w in workflows[3].split() if w != "┃"] == [
        "Id",
        "Name",
        "Enabled",
        "schedule",
        "Steps",
        "Assigned",
    ]
    simulate = printers["simulate"](80).splitlines()
    assert next(w for w in simulate[2].split("┃") if w.strip()).strip() == "Workflow › step"


def test_the_lines_around_a_terminal_run_fit_it(tmp_path, cli, monkeypatch):
    """Beside the table, what a terminal run prints (the sample's title and not-due lines, a
    bad row's error, the skipped actions, the summary) wraps between words at the width; the
    error reads `error: …`, not a pipe's tab."""
    write_scaffold(tmp_path, date(2026, 3, 14))  # a Saturday: the sample's not-due lines
    with (tmp_path / "invoices.csv").open("a", encoding="utf-8") as f:
        f.write("INV-9999,C001,2026-02-31,Net 30,10.00,,open,consulting,Branch\n")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("NO_COLOR", "1")
    real = cli("run", "--dry-run", "--as-of", "2026-03-16", "--config", tmp_path, expect=3)
    sample = cli("run", "--dry-run", "--sample", "--as-of", "2026-03-14", "--config", tmp_path)
    for output in (real.stdout, sample.stdout):
        lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output).splitlines()
        assert [line for line in lines if len(line) > 60] == []
        assert not [line for line in lines if "\t" in line]
    assert "error: invoices.csv:" in real.stdout
    assert "  C" in real.stdout.split("Skipped")[1]  # the skipped entries are indented
