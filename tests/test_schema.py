"""`arflow schema`: JSON Schema made from the models `arflow validate` uses, committed in
schemas/ for editors and CI; check-jsonschema agrees with `arflow validate`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from arflow.scaffold import example_dir, library
from arflow.schema import FILES, schema_text

ROOT = Path(__file__).resolve().parents[1]


def check(schema: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--schemafile",
            str(ROOT / "schemas" / FILES[schema]),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("kind", ["config", "workflow"])
def test_the_committed_schemas_are_what_the_models_say(cli, kind):
    committed = (ROOT / "schemas" / FILES[kind]).read_text(encoding="utf-8")
    assert committed == schema_text(kind), "run: arflow schema KIND > schemas/FILE"
    assert cli("schema", kind).stdout == committed


def test_every_shipped_file_is_valid_to_the_schema():
    workflows = sorted((library() / "workflows").glob("*.yaml"))
    assert len(workflows) >= 5
    done = check("workflow", *workflows)
    assert done.returncode == 0, done.stdout + done.stderr
    done = check("config", example_dir() / "arflow.yaml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_misspelt_key_is_flagged_by_the_schema_as_by_validate(cli, tmp_path):
    from datetime import date

    from arflow.scaffold import write_scaffold

    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    path = tmp_path / "ar" / "workflows" / "net30-standard.yaml"
    path.write_text(path.read_text().replace("expires_after: 2", "expires_afer: 2"))
    done = check("workflow", path)
    assert done.returncode == 1
    assert "'expires_afer' was unexpected" in done.stdout
    result = cli("validate", tmp_path / "ar", expect=1)
    assert "workflows/net30-standard.yaml:9: steps.0.expires_afer: unknown key" in result.output
    # and a short form arflow takes is no problem to the schema
    path.write_text(
        path.read_text()
        .replace("expires_afer: 2", "expires_after: 2")
        .replace("cc: [controller]", "cc: controller")
    )
    assert check("workflow", path).returncode == 0
    cli("validate", tmp_path / "ar")
    path.write_text(path.read_text().replace("cc: controller", "cc: {controller: 1}"))
    assert check("workflow", path).returncode == 1
