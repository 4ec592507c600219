"""The files other repositories' CI uses: the pre-commit hooks and the GitHub Action run the
commands they name, on the files they should. (.ci/run tries the hook for real with
`pre-commit try-repo`.)"""

from __future__ import annotations

import json
import re
import shlex
from datetime import date
from pathlib import Path

import pytest
import yaml

from arflow.scaffold import write_scaffold
from tests.conftest import unstamped

ROOT = Path(__file__).resolve().parents[1]


def test_the_hooks_run_on_arflow_files_and_name_real_commands(cli):
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"arflow-validate", "arflow-dry-run"}
    for hook in hooks.values():
        pattern = re.compile(hook["files"])
        for path in (
            "arflow.yaml",
            "ar/arflow.yaml",
            "workflows/net30.yaml",
            "ar/workflows/x.yml",
            "templates/reminder.txt.j2",
        ):
            assert pattern.search(path), (hook["id"], path)
        for path in ("README.md", "workflows/notes.txt", "src/arflow.yaml.bak", "invoices.csv"):
            assert not pattern.search(path), (hook["id"], path)
        program, command, *options = shlex.split(hook["entry"])
        assert program == "arflow"
        help_text = cli(command, "--help").stdout
        assert all(option in help_text for option in options), hook["entry"]
    assert hooks["arflow-validate"]["pass_filenames"] is True
    assert hooks["arflow-dry-run"]["pass_filenames"] is True
    # one process (pre-commit splits files over the cores): each folder's problems once
    assert hooks["arflow-validate"]["require_serial"] is hooks["arflow-dry-run"]["require_serial"]
    assert hooks["arflow-dry-run"]["require_serial"] is True
    assert hooks["arflow-dry-run"]["entry"] == (
        "arflow run --dry-run --quiet --sample-if-no-ledger --ar-files-only"
    )
    assert hooks["arflow-validate"]["entry"] == "arflow validate --offline --ar-files-only"


def test_the_action_validates_with_annotations_then_dry_runs():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    commands = [step.get("run", "") for step in action["runs"]["steps"]]
    assert any(c.startswith("arflow validate --offline --format github") for c in commands)
    assert any(c.startswith("arflow run --dry-run --quiet --sample-if-no-ledger") for c in commands)
    assert set(action["inputs"]) == {"folder", "as-of"}


def _hook(name: str) -> list[str]:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    return shlex.split(hooks[name]["entry"])[1:]


# what pre-commit passes for a repository whose AR folder is ar/ (templates included)
CHANGED = [
    "ar/arflow.yaml",
    "ar/workflows/net30-standard.yaml",
    "ar/templates/reminder.txt.j2",
    "ar/templates/courtesy.subject.j2",
]


@pytest.fixture
def repository(tmp_path, monkeypatch):
    """A repository holding the bundled example in ar/, without its ledger, worked in."""
    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    for csv in (tmp_path / "ar").glob("*.csv"):
        csv.unlink()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_hooks_pass_on_an_ar_folder_in_a_subfolder_without_its_ledger(repository, cli):
    result = cli(*_hook("arflow-validate"), *CHANGED)
    assert result.stdout.splitlines() == [  # the templates: with their folder, once
        "ar/arflow.yaml: valid (7 workflows, 62 templates)",
        "ar/workflows/net30-standard.yaml: valid",
    ]
    result = cli(*_hook("arflow-dry-run"), "--as-of", "2026-03-16", *CHANGED)
    assert result.stdout == "" and result.stderr == ""  # --quiet: nothing when all is well
    assert not (repository / "ar" / "arflow.db").exists()


def test_the_hooks_fail_on_a_broken_workflow_naming_its_file_and_line(repository, cli):
    path = repository / "ar" / "workflows" / "net30-standard.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = lines.index("  - id: reminder\n")
    lines[at] = "  - idx: reminder\n"
    path.write_text("".join(lines), encoding="utf-8")
    problem = (
        f"ar/workflows/net30-standard.yaml:{at + 1}: steps.1.idx: unknown key 'idx'; "
        "did you mean 'id'?"
    )
    for hook in ("arflow-validate", "arflow-dry-run"):
        result = cli(*_hook(hook), *CHANGED, expect=1)
        assert unstamped(result.stderr).splitlines() == [
            problem,
            "1 problem(s) found; nothing was done.",
        ]


def test_a_broken_template_fails_both_hooks_at_its_line(repository, cli):
    (repository / "ar" / "templates" / "reminder.txt.j2").write_text(
        "Hello,\n{{ customer.nme|upper }}\n", encoding="utf-8"
    )
    for hook in ("arflow-validate", "arflow-dry-run"):
        result = cli(*_hook(hook), "ar/templates/reminder.txt.j2", expect=1)
        assert (
            unstamped(result.stderr).splitlines()[0].startswith("ar/templates/reminder.txt.j2:2: ")
        ), result.stderr


def test_a_template_in_no_ar_folder_is_named_with_what_to_do(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loose.txt.j2").write_text("Hi {{ customer.name }}\n", encoding="utf-8")
    for command in (["validate"], ["run", "--dry-run"]):
        result = cli(*command, "loose.txt.j2", expect=1)
        assert unstamped(result.stderr).splitlines()[0].startswith("loose.txt.j2: ")
        assert "in no AR folder: no arflow.yaml in its folder or any folder above it" in (
            result.stderr
        )


def test_the_hook_dry_runs_each_ar_folder_once(tmp_path, monkeypatch, cli):
    for name in ("eu", "us"):
        write_scaffold(tmp_path / name, date(2026, 3, 16))
    (tmp_path / "us" / "invoices.csv").unlink()  # this one has no ledger: the sample
    monkeypatch.chdir(tmp_path)
    result = cli(
        "run",
        "--dry-run",
        "--sample-if-no-ledger",
        "--as-of",
        "2026-03-16",
        "--format",
        "json",
        "eu/arflow.yaml",
        "eu/workflows/net30-standard.yaml",
        "us/templates/reminder.txt.j2",
    )
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d.get("sample", False) for d in documents] == [False, True]


def test_paths_go_with_a_dry_run_only(repository, cli):
    result = cli("run", "ar/arflow.yaml", expect=2)
    assert "it goes with --dry-run, and not with --config" in result.output


def test_a_template_that_fails_only_for_the_sample_s_values_fails_the_dry_run_hook(repository, cli):
    # validate's sample context has two invoices: this renders there, and fails for one
    (repository / "ar" / "templates" / "courtesy.txt.j2").write_text(
        "Hi\n{{ 100 // (invoices|length - 1) }}\n", encoding="utf-8"
    )
    cli(*_hook("arflow-validate"), "ar/templates/courtesy.txt.j2")
    result = cli(*_hook("arflow-dry-run"), "--as-of", "2026-03-16", *CHANGED, expect=3)
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("error")] == [
        "error\tar/templates/courtesy.txt.j2:2: cannot render for customer S012: division by zero"
    ]
    assert lines[-1].endswith(", 2 error(s)")  # S012, and S032 (the same step in German)


# files the hooks' patterns match that are not arflow's: a repository's CI workflows, another
# tool's templates, and files of an AR folder's own that are not its workflows or templates
OTHERS = [
    ".github/workflows/ci.yml",
    "roles/web/templates/nginx.conf.j2",
    "ar/docs/workflows/draft.yaml",
    "ar/docs/templates/draft.txt.j2",
]


def _others(repository: Path) -> None:
    for name in OTHERS:
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_text("on: push\njobs: {}\n{{ x }}\n", encoding="utf-8")


def test_the_hooks_pass_over_files_that_are_not_an_ar_folders(repository, cli):
    _others(repository)
    result = cli(*_hook("arflow-validate"), *OTHERS, *CHANGED)
    assert result.stdout.splitlines() == [
        "ar/arflow.yaml: valid (7 workflows, 62 templates)",
        "ar/workflows/net30-standard.yaml: valid",
    ]
    result = cli(*_hook("arflow-dry-run"), "--as-of", "2026-03-16", *OTHERS, *CHANGED)
    assert (result.stdout, result.stderr) == ("", "")
    result = cli(*_hook("arflow-validate"), *OTHERS)
    assert result.stdout == "Nothing to check: none of the 4 path(s) is an AR folder's file.\n"
    result = cli(*_hook("arflow-dry-run"), *OTHERS)
    assert (result.stdout, result.stderr) == ("", "")
    # without the option, the same files are problems (what the hooks used to print)
    result = cli("validate", ".github/workflows/ci.yml", expect=1)
    assert result.stderr.startswith(".github/workflows/ci.yml:4: YAML syntax error")


def test_in_an_ar_folder_at_the_root_the_ci_workflows_are_not_arflows(tmp_path, monkeypatch, cli):
    write_scaffold(tmp_path, date(2026, 3, 16))
    monkeypatch.chdir(tmp_path)
    _others(tmp_path)
    result = cli(
        *_hook("arflow-validate"), ".github/workflows/ci.yml", "workflows/ar-workflow.yaml"
    )
    assert result.stdout.splitlines() == ["workflows/ar-workflow.yaml: valid"]


def _system_step(
    tmp_path: Path,
    *,
    uid: int,
    have: tuple[str, ...] = (),
    broken: str = "",
    bare: bool = False,
):
    """.ci/run's step that installs the system's test programs, run by bash with stand-ins for
    apt-get (which logs its arguments, and fails for `broken`), id and the programs in `have`;
    `bare`: as on a machine without the programs in the system's own folders."""
    import subprocess

    script = (ROOT / ".ci" / "run").read_text()
    step = script[script.index("missing=()") : script.index("# the README's second quickstart")]
    if bare:
        for folder in ("/usr/sbin/", "/usr/lib/postgresql/"):
            assert folder in step
            step = step.replace(folder, f"{tmp_path}/none{folder}")
    bin_ = tmp_path / "bin"
    bin_.mkdir(parents=True)
    stubs = {
        "id": f"echo {uid}",
        "apt-get": f'echo "$*" >> {tmp_path}/apt.log; [ "$*" != "install -y -qq {broken}" ]',
        **{name: "true" for name in have},
    }
    for name, body in stubs.items():
        (bin_ / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_ / name).chmod(0o755)
    done = subprocess.run(
        ["/bin/bash", "-c", "set -euo pipefail\n" + step],
        env={"PATH": str(bin_)},
        capture_output=True,
        text=True,
        check=True,
    )
    log = tmp_path / "apt.log"
    return done.stdout, log.read_text().splitlines() if log.exists() else []


def _servers_absent() -> tuple[list[str], list[str]]:
    """The packages of the servers the tests start that this machine lacks (the step looks
    for them where Debian puts them): before chromium, after it."""
    import glob

    dovecot = [] if Path("/usr/sbin/dovecot").exists() else ["dovecot-imapd"]
    postgres = [] if glob.glob("/usr/lib/postgresql/*/bin/initdb") else ["postgresql"]
    mariadb = [] if Path("/usr/sbin/mariadbd").exists() else ["mariadb-server"]
    return dovecot, postgres + mariadb


def test_ci_installs_the_missing_test_programs_as_root_with_one_update(tmp_path):
    dovecot, databases = _servers_absent()
    out, apt = _system_step(tmp_path, uid=0, broken="chromium")
    assert apt == ["update -qq"] + [
        f"install -y -qq {p}" for p in [*dovecot, "chromium", "poppler-utils", *databases]
    ]
    assert out == "chromium could not be installed: the tests that need it will skip\n"


def test_ci_installs_every_server_on_a_bare_machine_after_one_update(tmp_path):
    out, apt = _system_step(tmp_path, uid=0, broken="mariadb-server", bare=True)
    assert apt == ["update -qq"] + [
        f"install -y -qq {p}"
        for p in ("dovecot-imapd", "chromium", "poppler-utils", "postgresql", "mariadb-server")
    ]
    assert out == "mariadb-server could not be installed: the tests that need it will skip\n"
    out, apt = _system_step(tmp_path / "user", uid=1000, bare=True)
    assert (out, apt) == (
        "dovecot-imapd chromium poppler-utils postgresql mariadb-server missing (installed only "
        "as root with apt-get): the tests that need them will skip\n",
        [],
    )


def test_ci_installs_nothing_when_the_programs_are_there_or_it_is_not_root(tmp_path):
    have = ("dovecot", "chromium", "pdftotext", "initdb", "mariadbd")
    assert _system_step(tmp_path / "a", uid=0, have=have) == ("", [])
    _, databases = _servers_absent()
    assert _system_step(tmp_path / "b", uid=1000, have=("dovecot",)) == (
        " ".join(["chromium", "poppler-utils", *databases])
        + " missing (installed only as root with apt-get): the tests that need them will skip\n",
        [],
    )
    assert _system_step(tmp_path / "c", uid=1000, have=("dovecot", "chromium", "pdftotext")) == (
        (
            " ".join(databases)
            + " missing (installed only as root with apt-get): the tests that need them will skip\n"
        )
        if databases
        else "",
        [],
    )
