"""The files other repositories' CI uses: the pre-commit hooks and the GitHub Action run the
commands they name, on the files they should. (.ci/run tries the hook for real with
`pre-commit try-repo`.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

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
    assert hooks["arflow-dry-run"]["pass_filenames"] is False


def test_the_action_validates_with_annotations_then_dry_runs():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    commands = [step.get("run", "") for step in action["runs"]["steps"]]
    assert any(c.startswith("arflow validate --format github") for c in commands)
    assert any(c.startswith("arflow run --dry-run --quiet") for c in commands)
    assert set(action["inputs"]) == {"folder", "as-of"}
