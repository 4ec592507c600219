"""Every command example of README.md and docs/*.md runs, as written, in a folder made by
`arflow init`, and exits as the page says.

An example is a line of a ```sh block that runs arflow (the benchmarks' and pip's lines are
not arflow's examples; tests/test_benchmarks.py runs the benchmarks). Each page's examples run
in their order (an `assign` before its `status`), in a fresh folder written as `arflow init`
writes it, with "today" pinned to DAY (a Tuesday) for every command of the page, so the run is
the same on any day. The pages write their dates relative to today (`--until +30`, `--since
-30`), so a reader copying them gets what the page says on any business day. A line ending in a
comment `# exit N` must exit N; every other line must exit 0. A line that cannot run here is in
NOT_RUN with its reason, and nowhere else is a line skipped.

Simple lines run in this process (typer's CliRunner); a line that needs a shell (`&&`, `|`,
`>`, `cd`, `~`, `VAR=`) runs through /bin/sh with `arflow` on PATH: a script that runs this
checkout's arflow with the same pinned clock.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import click
import pytest
import typer.main
from typer.testing import CliRunner

from arflow.cli import app
from arflow.scaffold import write_scaffold
from tests.conftest import NOW, subcommands

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")))]
DAY = date.fromisoformat(NOW[:10])  # the day conftest's clock says it is, in New York too

# The lines not run, each with its reason. Nothing else is left out.
NOT_RUN = {
    "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/arflow init demo && "
    ".venv/bin/arflow run --config demo/arflow.yaml": "installs arflow into a new virtualenv "
    "(pip, minutes); its `init` and `run` are what this test runs on every page",
    "arflow inbox --dry-run": "reads a real mailbox: needs channels.inbox and an IMAP server",
    "arflow resolve invoice:INV-1001/net30-standard/overdue-30/0 --sent": "needs a message whose "
    "outcome is unknown: a mail server that dropped the connection after DATA",
}

# The server's AR folder the pages name stands for the page's folder here (and HOME is set so
# that ~/ar is that folder too)
SERVER_FOLDER = "/srv/ar"
# Files the examples write outside the folder, written inside it instead
ELSEWHERE = {"/tmp/email.html": "email.html"}

CALLS_ARFLOW = re.compile(r"(^|[\s;&|(/])arflow\s")
SHELL = re.compile(r"&&|\||>|<|;|\$|~|`|^cd |^[A-Z_]+=")
EXIT = re.compile(r"#.*\bexit (\d)\b")


@dataclass(frozen=True)
class Example:
    page: str
    line: int  # in the page, from 1
    text: str

    @property
    def expected(self) -> int:
        found = EXIT.search(self.text)
        return int(found.group(1)) if found else 0


def blocks(page: str) -> list[tuple[str, list[tuple[int, str]]]]:
    """The page's fenced code blocks: (info string, [(line number, text)])."""
    found: list[tuple[str, list[tuple[int, str]]]] = []
    inside: list[tuple[int, str]] | None = None
    for number, text in enumerate((ROOT / page).read_text(encoding="utf-8").splitlines(), 1):
        fence = re.match(r"\s*```(\S*)", text)
        if fence and inside is None:
            inside = []
            found.append((fence.group(1), inside))
        elif fence:
            inside = None
        elif inside is not None:
            inside.append((number, text))
    return found


def examples(page: str) -> list[Example]:
    return [
        Example(page, number, text.strip())
        for info, lines in blocks(page)
        if info == "sh"
        for number, text in lines
        if CALLS_ARFLOW.search(text) and not text.strip().startswith("#")
    ]


ALL = [example for page in PAGES for example in examples(page)]


def arflow_script(path: Path) -> Path:
    """An `arflow` program at `path`, as pip installs one: this checkout's arflow, with the
    clock at NOW."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"#!{sys.executable}\n"
        "import datetime, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from arflow.commands import common\n"
        f"common.now = lambda: datetime.datetime.fromisoformat({NOW!r})\n"
        "from arflow.cli import main\n"
        "main()\n"
    )
    path.chmod(0o755)
    return path


def environment(tmp_path: Path, *bin_dirs: Path) -> dict[str, str]:
    """A shell's environment: HOME in tmp, no ARFLOW_CONFIG, these folders first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("ARFLOW_CONFIG", "VIRTUAL_ENV")}
    path = [str(d) for d in bin_dirs] + [
        d for d in env.get("PATH", "").split(os.pathsep) if not Path(d, "arflow").exists()
    ]
    env.update(PATH=os.pathsep.join(path), HOME=str(tmp_path / "home"), COLUMNS="120")
    return env


@pytest.fixture
def shell_env(tmp_path):
    """PATH with an `arflow` that runs this checkout with the clock at NOW; HOME in tmp."""
    return environment(tmp_path, arflow_script(tmp_path / "bin" / "arflow").parent)


def run_example(example: Example, folder: Path, env: dict[str, str]) -> tuple[int, str]:
    text = example.text
    text = text.replace(SERVER_FOLDER, str(folder))
    for path, name in ELSEWHERE.items():
        text = text.replace(path, str(folder / name))
    if SHELL.search(re.sub(r"\s+#.*", "", text)):  # a comment's `quotes` need no shell
        done = subprocess.run(
            text, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=60
        )
        return done.returncode, done.stdout + done.stderr
    words = shlex.split(text, comments=True)
    assert words[0] == "arflow", f"{example.page}:{example.line}: not an arflow command"
    result = CliRunner().invoke(app, words[1:])
    return result.exit_code, result.output


@pytest.mark.parametrize("page", [p for p in PAGES if examples(p)])
def test_every_example_of_the_page_runs_as_written(page, shell_env, monkeypatch):
    folder = Path(shell_env["HOME"]) / "ar"  # what ~/ar and /srv/ar stand for
    assert write_scaffold(folder, DAY)
    monkeypatch.chdir(folder)
    failed = []
    for example in examples(page):
        if example.text in NOT_RUN:
            continue
        code, output = run_example(example, folder, shell_env)
        if code != example.expected:
            failed.append(f"{page}:{example.line}: {example.text} → exit {code}\n{output}")
    assert failed == [], "\n\n".join(failed)


def test_every_line_not_run_is_an_example_of_a_page():
    assert sorted(set(NOT_RUN) - {e.text for e in ALL}) == []


def test_every_example_outside_a_sh_block_is_a_synopsis():
    """An `arflow …` line outside a ```sh block is a synopsis (`[--as-of YYYY-MM-DD]`,
    `DIRECTORY`); an example there would escape this test: mark its block ```sh."""
    loose = [
        f"{page}:{number}: {text.strip()}"
        for page in PAGES
        for info, lines in blocks(page)
        if info in ("", "text", "bash", "console")
        for number, text in lines
        if text.strip().startswith("arflow ") and not re.search(r"\[|\||\b[A-Z]{3,}\b", text)
    ]
    assert loose == []


CRON = re.compile(r"^\s*([\d*/,-]+\s+){5}")


def test_every_cron_line_calls_arflow_by_its_full_path():
    """Cron runs with PATH=/usr/bin:/bin: a bare `arflow` there is `arflow: not found`."""
    bare = [
        f"{page}:{number}: {text.strip()}"
        for page in PAGES
        for _, lines in blocks(page)
        for number, text in lines
        if CRON.match(text) and re.search(r"(^|[\s;&|(])arflow\b", CRON.sub("", text))
    ]
    crontab = (ROOT / "deploy" / "crontab").read_text(encoding="utf-8").splitlines()
    bare += [line for line in crontab if CRON.match(line) and " arflow " in line]
    assert bare == []
    # the docs' line is the one deploy/ ships
    assert [line for line in crontab if CRON.match(line)] == [
        "15 6 * * *  cd /srv/ar && /opt/arflow/.venv/bin/arflow run --quiet"
    ]
    assert "\n15 6 * * *  cd /srv/ar && /opt/arflow/.venv/bin/arflow run --quiet\n" in (
        ROOT / "docs" / "commands.md"
    ).read_text(encoding="utf-8")


def commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    found = []
    for name, command in sorted(subcommands(group).items()):
        found.append(((*path, name), command.help or ""))
        if isinstance(command, click.Group):
            found += commands(command, (*path, name))
    return found


@pytest.mark.parametrize(
    "path,doc",
    [
        pytest.param(path, doc, id=" ".join(path))
        for path, doc in commands(typer.main.get_command(app))
    ],
)
def test_help_shows_each_example_on_a_line_of_its_own(path, doc):
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0
    shown = [line.strip() for line in result.output.splitlines()]
    wanted = [line.strip() for line in doc.splitlines() if line.strip().startswith("Example:")]
    assert [line for line in wanted if line not in shown] == []
    assert [line for line in shown if "Example:" in line and line not in wanted] == []


def _shell(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """`command` as a person types it in a new shell in `cwd`."""
    return subprocess.run(
        command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_init_names_arflow_as_a_new_shell_finds_it(tmp_path):
    """After the quickstart arflow is `.venv/bin/arflow`, not on PATH: init's hint says so, and
    runs as printed in a new shell; with arflow on PATH the hint says `arflow`."""
    arflow_script(tmp_path / ".venv" / "bin" / "arflow")
    env = environment(tmp_path)
    done = _shell(".venv/bin/arflow init demo", tmp_path, env)
    assert done.returncode == 0, done.stderr
    hint = done.stdout.splitlines()[-1]
    assert hint == "Next: .venv/bin/arflow run --dry-run --config demo/arflow.yaml"
    again = _shell(hint.removeprefix("Next: "), tmp_path, env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith(f"{DAY}: 10 invoices, 8 open, 12 action(s)")

    on_path = environment(tmp_path, tmp_path / ".venv" / "bin")
    done = _shell("arflow init other", tmp_path, on_path)
    assert done.stdout.splitlines()[-1] == "Next: arflow run --dry-run --config other/arflow.yaml"
    # init --workflow's hint too
    done = _shell(".venv/bin/arflow init --workflow net30-standard demo", tmp_path, env)
    assert done.stdout.splitlines()[-1] == "Next: .venv/bin/arflow validate demo"
