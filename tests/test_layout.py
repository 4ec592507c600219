"""The layout: workflows/, templates/ and examples/ kept once at the top of the repository,
carried inside the wheel, and `arflow init` from the wheel makes the example's folder."""

from __future__ import annotations

import filecmp
import subprocess
import sys
import zipfile
from pathlib import Path

from arflow.scaffold import LIBRARY_LINES, own_config

ROOT = Path(__file__).resolve().parents[1]


def test_init_from_the_built_wheel_makes_the_example_folder(tmp_path):
    # built offline, with the backend the test extra installs
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(ROOT),
            "-w",
            str(tmp_path / "dist"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("arflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("workflows", "templates"):
        mine = sorted(p.name for p in (ROOT / folder).iterdir())
        assert (
            sorted(n.rsplit("/", 1)[1] for n in names if n.startswith(f"arflow/library/{folder}/"))
            == mine
        )
        # once: nowhere else in the wheel
        assert [n for n in names if n.endswith(f"/{mine[0]}")] == [
            f"arflow/library/{folder}/{mine[0]}"
        ]
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    made = tmp_path / "made"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, arflow.scaffold as s, datetime as d; "
            "assert s.__file__.startswith(sys.argv[1]), s.__file__; "
            "s.write_scaffold(__import__('pathlib').Path(sys.argv[2]), d.date(2026, 3, 16))",
            str(tmp_path / "site"),
            str(made),
        ],
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    example = ROOT / "examples"
    assert (made / "arflow.yaml").read_text() == own_config((example / "arflow.yaml").read_text())
    assert LIBRARY_LINES in (example / "arflow.yaml").read_text()
    # an editor's YAML support finds the schema beside the file, in the repository as here
    assert (
        (made / "arflow.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=schemas/arflow.schema.json\n")
    )
    for path in (made / "workflows").glob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/workflow.schema.json", path
        assert (path.parent / first.split("=", 1)[1]).resolve().is_file()
    for name in ("customers.csv", "invoices.csv"):
        assert filecmp.cmp(made / name, example / name, shallow=False), name
    for folder in ("workflows", "templates", "schemas"):
        compared = filecmp.dircmp(made / folder, ROOT / folder)
        assert (compared.left_only, compared.right_only, compared.diff_files) == ([], [], [])


def test_the_example_runs_as_it_is(cli, monkeypatch):
    # a dry run in examples/ (as of the day its invoices are dated for) writes nothing there
    result = cli(
        "run", "--dry-run", "--as-of", "2026-03-16", "--config", ROOT / "examples" / "arflow.yaml"
    )
    assert result.stdout.splitlines()[-1] == (
        "2026-03-16: 10 invoices, 8 open, 12 action(s) planned, 7 skipped, 0 error(s)"
    )
    assert not (ROOT / "examples" / "arflow.db").exists()
    monkeypatch.chdir(ROOT)  # named from here, as typed
    assert cli("validate", ROOT / "examples").stdout.startswith(
        "examples/arflow.yaml: valid (7 workflows"
    )


def test_init_workflow_adds_a_ready_workflow_with_exactly_the_templates_it_uses(cli, tmp_path):
    from datetime import date

    from arflow.scaffold import write_scaffold

    folder = tmp_path / "ar"
    write_scaffold(folder, date(2026, 3, 16))
    (folder / "workflows" / "past-due-15-30-45.yaml").unlink()
    for path in (folder / "templates").glob("past-due.*"):
        path.unlink()
    (folder / "schemas" / "workflow.schema.json").unlink()
    result = cli("init", "--workflow", "past-due-15-30-45", folder)
    lines = result.stdout.splitlines()
    assert lines[0] == f"Added past-due-15-30-45 to {folder}/ (5 files):"
    assert lines[1:6] == [
        "  workflows/past-due-15-30-45.yaml",
        "  schemas/workflow.schema.json",
        "  templates/past-due.html.j2",
        "  templates/past-due.subject.j2",
        "  templates/past-due.txt.j2",
    ]
    # what the workflow's templates include is there already, and left as it is
    assert "  templates/_layout.html.j2 (already there; left as it is)" in lines
    assert "  templates/internal-paid.txt.j2 (already there; left as it is)" in lines
    assert not any("net30" in line or "statement" in line for line in lines)
    cli("validate", folder)
    # into a folder of its own: the partials its templates include come along
    bare = tmp_path / "bare"
    (bare / "workflows").mkdir(parents=True)
    (bare / "arflow.yaml").write_text(
        "company: {name: Acme}\ninvoices: {path: invoices.csv}\n"
        "people: {controller: {name: C, email: c@acme.example}}\n"
    )
    cli("init", "-w", "monthly-statement", bare)
    assert sorted(p.name for p in (bare / "templates").iterdir()) == [
        "_layout.html.j2",
        "_signature.txt.j2",
        "statement-internal.subject.j2",
        "statement-internal.txt.j2",
        "statement.html.j2",
        "statement.subject.j2",
        "statement.txt.j2",
    ]
    refused = cli("init", "--workflow", "net-31", bare, expect=1)
    assert refused.stderr.startswith("error: no ready workflow 'net-31'; they are: ar-workflow, ")
    assert cli("init", "-w", "net30-standard", tmp_path / "none", expect=1).stderr.startswith(
        f"error: {tmp_path / 'none'} has no arflow.yaml: run `arflow init"
    )
