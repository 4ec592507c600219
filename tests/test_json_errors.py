"""A command given `--format json` that stops on an error still prints JSON on stdout: an
`{"error": ...}` object with the message and the exit code, the text message on stderr."""

from __future__ import annotations

import json

import pytest

from tests.conftest import BASE_CONFIG, make_folder

# every command with `--format json` (validate has its own document), with what it needs
JSON_COMMANDS = [
    ["run", "--dry-run", "--as-of", "2026-03-16"],
    ["history"],
    ["status"],
    ["tasks"],
    ["aging", "--as-of", "2026-03-16"],
    ["forecast", "--as-of", "2026-03-16"],
    ["simulate", "--from", "2026-03-01", "--to", "2026-03-16"],
    ["customers", "--as-of", "2026-03-16"],
    ["sources", "--as-of", "2026-03-16"],
    ["workflows"],
    ["doctor"],
    ["inbox"],
    ["preview", "net30-standard", "reminder"],
]
# the commands that read the invoices
READING = ["run", "aging", "forecast", "simulate", "customers"]

INVOICES = """\
number,customer_id,issue_date,due_date,amount
INV-1,C1,2026-01-01,2026-01-31,100.00
"""


def _error(result, code: int) -> dict:
    assert result.exit_code == code, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"error"}
    assert doc["error"]["exit_code"] == code
    return doc["error"]


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=lambda a: a[0])
def test_a_missing_config_is_a_json_error(cli, tmp_path, args):
    missing = tmp_path / "nowhere.yaml"
    result = cli(*args, "--format", "json", "--config", missing, expect=None)
    error = _error(result, 1)
    assert "not found" in error["message"] and error["problems"] == []
    assert "not found" in result.stderr  # the text message as before


@pytest.mark.parametrize("args", [a for a in JSON_COMMANDS if a[0] in READING], ids=lambda a: a[0])
def test_an_unreadable_source_is_a_json_error(cli, tmp_path, args):
    config = make_folder(tmp_path, invoices=INVOICES, workflows={})
    (tmp_path / "invoices.csv").unlink()
    error = _error(cli(*args, "--format", "json", "--config", config, expect=None), 1)
    assert "invoices.csv" in error["message"]


def test_the_format_may_come_before_the_config_and_as_one_word(cli, tmp_path):
    missing = tmp_path / "nowhere.yaml"
    _error(cli("--config", missing, "aging", "--format=json", expect=None), 1)
    _error(cli("workflows", "--format=json", "--config", missing, expect=None), 1)


def test_invalid_files_list_their_problems(cli, tmp_path):
    config = make_folder(
        tmp_path, invoices=INVOICES, workflows={}, config=BASE_CONFIG + "no_such_key: 1\n"
    )
    error = _error(cli("aging", "--format", "json", "--config", config, expect=None), 1)
    assert error["message"] == "1 problem(s) found; nothing was done"
    assert len(error["problems"]) == 1 and "no_such_key" in error["problems"][0]


def test_sources_reports_a_refused_source_in_its_own_document(cli, tmp_path):
    config = make_folder(tmp_path, invoices=INVOICES, workflows={})
    (tmp_path / "invoices.csv").unlink()
    result = cli("sources", "--format", "json", "--config", config, expect=1)
    assert json.loads(result.stdout)["refused"]


def test_a_refused_value_keeps_exit_2(cli, tmp_path):
    config = make_folder(tmp_path, invoices=INVOICES, workflows={})
    args = ["--from", "2026-03-16", "--to", "2026-03-01", "--format", "json", "--config", config]
    assert "before --from" in _error(cli("simulate", *args, expect=None), 2)["message"]


def test_without_json_stdout_stays_empty(cli, tmp_path):
    missing = tmp_path / "nowhere.yaml"
    for args in (["aging"], ["aging", "--format", "table"], ["workflows"]):
        result = cli(*args, "--config", missing, expect=1)
        assert result.stdout == ""
