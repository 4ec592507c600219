"""arflow's YAML loading against broken and hostile files: each problem is one located line, with
libyaml's parser and the pure-Python one, and through `arflow validate` and `arflow run`."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from arflow.errors import InvalidFiles
from arflow.yamlfile import load_located
from tests.conftest import BASE_CONFIG, make_folder

GOOD = """\
name: Good
steps:
  - id: d7
    day: 7
    actions:
      - email: reminder
"""


def problems_of(tmp_path: Path, content: str | bytes) -> list[str]:
    path = tmp_path / "x.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    with pytest.raises(InvalidFiles) as exc:
        load_located(path, "x.yaml")
    return [str(p) for p in exc.value.problems]


def loaded(tmp_path: Path, content: str | bytes):
    path = tmp_path / "x.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return load_located(path, "x.yaml")


# --- 3. not UTF-8 --------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "expected"), [
    (b"name: Caf\xe9\n", "x.yaml:1: not UTF-8 text (byte 0xE9 at line 1, column 10)"),
    # the column counts characters: the two bytes of the UTF-8 'ï' are one column
    (b"name: ok\ndescription: na\xc3\xafve caf\xe9\n",
     "x.yaml:2: not UTF-8 text (byte 0xE9 at line 2, column 23)"),
    (codecs.BOM_UTF8 + b"name: \x80\n", "x.yaml:1: not UTF-8 text (byte 0x80 at line 1, column 7)"),
    (b"name: a\r\nb: \xff\r\n", "x.yaml:2: not UTF-8 text (byte 0xFF at line 2, column 4)"),
])
def test_a_byte_that_is_not_utf8_names_its_line_and_column(tmp_path, content, expected):
    assert problems_of(tmp_path, content) == [f"{expected}; save the file as UTF-8"]


def test_utf8_with_or_without_bom_loads(tmp_path):
    assert loaded(tmp_path, codecs.BOM_UTF8 + "name: Café\n".encode()).data == {"name": "Café"}
    assert loaded(tmp_path, "name: Café\n".encode()).data == {"name": "Café"}


# --- 4. end to end: validate, run --dry-run and run ------------------------------------------------

LATIN1 = b"name: Caf\xe9\nsteps:\n  - id: d7\n    day: 7\n    actions:\n      - email: reminder\n"
BAD_KEY = GOOD + "colour: blue\n"

CASES = {
    "Latin-1 workflow, beside another broken one": (
        {"wf": LATIN1, "other": BAD_KEY}, None,
        ["workflows/other.yaml:7: colour: unknown key 'colour'",
         "workflows/wf.yaml:1: not UTF-8 text (byte 0xE9 at line 1, column 10); save the file "
         "as UTF-8"]),
    "Latin-1 arflow.yaml": (
        {}, BASE_CONFIG.encode() + b"# r\xe9sum\xe9\n",
        ["arflow.yaml:7: not UTF-8 text (byte 0xE9 at line 7, column 4); save the file as UTF-8"]),
}


@pytest.mark.parametrize("command", [
    ("validate",), ("run", "--dry-run", "--as-of", "2026-03-11"), ("run", "--as-of", "2026-03-11")])
@pytest.mark.parametrize("case", CASES)
def test_the_cli_reports_each_problem_and_exits_1(tmp_path, cli, command, case):
    workflows, config, expected = CASES[case]
    path = make_folder(tmp_path, invoices="number,customer_id,amount,due_date\n",
                       workflows={"good": GOOD})
    for name, content in workflows.items():
        target = tmp_path / "workflows" / f"{name}.yaml"
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    if config is not None:
        path.write_bytes(config if isinstance(config, bytes) else config.encode())
    result = cli(*command, "--config", path, expect=1)
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a traceback
    assert result.stdout == ""
    assert result.stderr == "".join(f"{line}\n" for line in expected) + \
        f"{len(expected)} problem(s) found; nothing was done.\n"
    assert not (tmp_path / "arflow.db").exists()
