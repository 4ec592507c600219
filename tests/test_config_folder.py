"""`--config DIR` names the arflow.yaml in that folder, as `validate DIR` does, for every
command (and before the command, and in $ARFLOW_CONFIG)."""

from datetime import date

import pytest

from arflow.scaffold import write_scaffold


@pytest.fixture
def example(tmp_path):
    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    return tmp_path / "ar" / "arflow.yaml"


@pytest.mark.parametrize("command", ["validate", "workflows", "status", "aging", "doctor"])
def test_config_names_a_folder_holding_arflow_yaml(cli, example, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    folder = example.parent
    by_file = cli(command, "--config", example, expect=None)
    by_folder = cli(command, "--config", folder, expect=None)
    assert "is a directory" not in by_folder.output
    assert (by_folder.exit_code, by_folder.stdout) == (by_file.exit_code, by_file.stdout)
    before = cli("--config", folder, command, expect=None)
    assert (before.exit_code, before.stdout) == (by_file.exit_code, by_file.stdout)


def test_arflow_config_may_name_the_folder(cli, example, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARFLOW_CONFIG", str(example.parent))
    assert cli("validate").stdout.startswith("ar/arflow.yaml: valid")


def test_a_folder_without_arflow_yaml_is_named(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    result = cli("workflows", "--config", "empty", expect=1)
    assert "config file empty/arflow.yaml not found" in result.stderr
