"""arflow's YAML loading against broken and hostile files: each problem is one located line, with
libyaml's parser and the pure-Python one, and through `arflow validate` and `arflow run`."""

from __future__ import annotations

import codecs
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from arflow import yamlfile
from arflow.errors import InvalidFiles
from arflow.yamlfile import load_located
from tests.conftest import BASE_CONFIG, make_folder, unstamped
from tests.test_validate import GOOD

ROOT = Path(__file__).resolve().parents[1]
ALIASES = (
    "YAML anchors and aliases (&name / *name) are not accepted in arflow's files; "
    "write the values out"
)


@pytest.fixture(params=["libyaml", "pure-python"])
def loader(request, monkeypatch):
    """Run the test with libyaml's parser, then with the pure-Python one (no libyaml)."""
    if request.param == "libyaml":
        assert yamlfile._FAST_LOADER is not yamlfile._PureLoader, "PyYAML built without libyaml"
    else:
        monkeypatch.setattr(yamlfile, "_FAST_LOADER", yamlfile._PureLoader)
    return request.param


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


def alias_bomb(levels: int) -> str:
    """A few hundred bytes that expand to 10**levels values."""
    lines = ["name: Bomb", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


# --- 1. anchors and aliases --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: &x 1\nb: *x\n", 1),  # an anchor, then its alias
        ("a: 1\nb: &x 2\n", 2),  # an anchor nobody uses
        ("a: 1\nb: *x\n", 2),  # an alias to no anchor
        ("a: &a [*a]\n", 1),  # a list that holds itself
        ("a: 1\nb: &m {c: 1}\nd:\n  <<: *m\n", 2),  # a merge key needs an alias
        (alias_bomb(3), 2),  # (the real bomb runs in a subprocess below)
    ],
)
def test_anchors_and_aliases_are_refused_at_the_first_one(tmp_path, loader, text, line):
    assert problems_of(tmp_path, text) == [f"x.yaml:{line}: {ALIASES}"]


def test_an_anchor_on_the_whole_document_is_refused(tmp_path, loader):
    assert problems_of(tmp_path, "--- &top\na: 1\n") == [f"x.yaml:1: {ALIASES}"]


def test_ampersand_and_star_inside_values_are_only_text(tmp_path, loader):
    located = loaded(tmp_path, "a: 'R&D *now*'\nb: \"&x\"\nc: x&y *z\n")
    assert located.data == {"a": "R&D *now*", "b": "&x", "c": "x&y *z"}


def test_an_alias_bomb_is_refused_without_growing_the_process(tmp_path):
    """The 446-byte file that took 15 s and 2.2 GB: a subprocess held to 1 GB of address space
    (a normal validate uses under 100 MB) reports it at once instead of dying of MemoryError."""
    path = make_folder(
        tmp_path, invoices="number\n", workflows={"good": GOOD, "bomb": alias_bomb(7)}
    )

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    result = subprocess.run(
        [sys.executable, "-m", "arflow", "validate", "--config", str(path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        preexec_fn=limit_memory,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert unstamped(result.stderr) == (
        f"workflows/bomb.yaml:2: {ALIASES}\n1 problem(s) found; nothing was done.\n"
    )


def test_nesting_deeper_than_any_arflow_file_is_refused(tmp_path, loader):
    depth = yamlfile.MAX_DEPTH
    assert loaded(tmp_path, "[" * depth + "]" * depth).data is not None
    assert problems_of(tmp_path, "[" * (depth + 1) + "]" * (depth + 1)) == [
        f"x.yaml:1: YAML nested more than {depth} levels deep; arflow's files need only a few"
    ]
    # a hundred thousand levels: no RecursionError
    assert problems_of(tmp_path, "a:\n  b: " + "[" * 100_000 + "]" * 100_000) == [
        f"x.yaml:2: YAML nested more than {depth} levels deep; arflow's files need only a few"
    ]


# --- 2. duplicate keys ---------------------------------------------------------------------------


def test_every_duplicate_key_at_every_depth_is_reported_at_once(tmp_path, loader):
    found = problems_of(
        tmp_path,
        """\
name: Twice
steps:
  - id: a
    day: 1
    day: 2
    actions:
      - email: {template: reminder, template: past-due}
steps:
  - id: b
    id: c
    day: 3
name: Thrice
name: Again
""",
    )
    assert found == [
        "x.yaml:5: steps.0.day: duplicate key 'day' (also on line 4); keep one",
        "x.yaml:7: steps.0.actions.0.email.template: duplicate key 'template' (also on line 7); "
        "keep one",
        "x.yaml:8: steps: duplicate key 'steps' (also on line 2); keep one",
        "x.yaml:10: steps.0.id: duplicate key 'id' (also on line 9); keep one",
        "x.yaml:12: name: duplicate key 'name' (also on line 1); keep one",
        "x.yaml:13: name: duplicate key 'name' (also on line 1); keep one",
    ]


def test_keys_that_load_as_the_same_value_are_duplicates(tmp_path, loader):
    # YAML 1.1 reads `on` and `yes` as True, `2` and `0x2` as 2: the mapping would keep one
    assert problems_of(tmp_path, "on: a\nyes: b\n2: c\n0x2: d\n'2': e\n") == [
        "x.yaml:2: yes: duplicate key 'yes' (also on line 1); keep one",
        "x.yaml:4: 0x2: duplicate key '0x2' (also on line 3); keep one",
    ]


def test_a_key_beside_a_merge_is_not_a_duplicate(tmp_path, loader):
    # `<<:` with an inline mapping (no alias) folds it in, and the key written beside it wins
    located = loaded(tmp_path, "a:\n  <<: {b: 1, c: 2}\n  b: 3\n")
    assert located.data == {"a": {"b": 3, "c": 2}}


def test_same_keys_in_different_mappings_are_fine(tmp_path, loader):
    located = loaded(tmp_path, "steps:\n  - {id: a, day: 1}\n  - {id: b, day: 2}\nx: {id: a}\n")
    assert located.data["steps"][1] == {"id": "b", "day": 2}
    assert located.line(("steps", 1, "day")) == 3
    assert located.line(("x", "id")) == 4


# --- 3. not UTF-8 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name: Caf\xe9\n", "x.yaml:1: not UTF-8 text (byte 0xE9 at line 1, column 10)"),
        # the column counts characters: the two bytes of the UTF-8 'ï' are one column
        (
            b"name: ok\ndescription: na\xc3\xafve caf\xe9\n",
            "x.yaml:2: not UTF-8 text (byte 0xE9 at line 2, column 23)",
        ),
        (
            codecs.BOM_UTF8 + b"name: \x80\n",
            "x.yaml:1: not UTF-8 text (byte 0x80 at line 1, column 7)",
        ),
        (b"name: a\r\nb: \xff\r\n", "x.yaml:2: not UTF-8 text (byte 0xFF at line 2, column 4)"),
    ],
)
def test_a_byte_that_is_not_utf8_names_its_line_and_column(tmp_path, content, expected):
    assert problems_of(tmp_path, content) == [f"{expected}; save the file as UTF-8"]


def test_utf8_with_or_without_bom_loads(tmp_path):
    assert loaded(tmp_path, codecs.BOM_UTF8 + "name: Café\n".encode()).data == {"name": "Café"}
    assert loaded(tmp_path, "name: Café\n".encode()).data == {"name": "Café"}


# --- other broken text -----------------------------------------------------------------------------


def test_a_control_character_names_its_line_and_column(tmp_path, loader):
    assert problems_of(tmp_path, "name: ok\nb: a\x00b\n") == [
        "x.yaml:2: character U+0000 at line 2, column 5 is not allowed in YAML; remove it"
    ]


def test_a_date_that_does_not_exist_is_a_located_problem(tmp_path, loader):
    assert problems_of(tmp_path, "name: ok\nholidays: [2026-01-01, 2026-02-30]\n") == [
        "x.yaml:2: '2026-02-30' is not a date (day is out of range for month); write a real one "
        "as YYYY-MM-DD"
    ]
    assert problems_of(tmp_path, "2026-13-01: x\n") == [
        "x.yaml:1: '2026-13-01' is not a date (month must be in 1..12); write a real one as "
        "YYYY-MM-DD"
    ]


# --- 4. end to end: validate, run --dry-run and run ------------------------------------------------

LATIN1 = b"name: Caf\xe9\nsteps:\n  - id: d7\n    day: 7\n    actions:\n      - email: reminder\n"
TWO_STEPS = GOOD + "steps:\n  - {id: d9, day: 9, actions: [{email: reminder}]}\n"
BAD_KEY = GOOD + "colour: blue\n"

CASES = {
    "alias bomb in a workflow": (  # small: the real one runs in a memory-limited subprocess
        {"wf": alias_bomb(3)},
        None,
        [f"workflows/wf.yaml:2: {ALIASES}"],
    ),
    "recursive alias in a workflow": (
        {"wf": "a: &a [*a]\n"},
        None,
        [f"workflows/wf.yaml:1: {ALIASES}"],
    ),
    "alias in arflow.yaml": (
        {},
        BASE_CONFIG + "owner: &o controller\nsecond: *o\n",
        [f"arflow.yaml:7: {ALIASES}"],
    ),
    "two steps: blocks": (
        {"wf": TWO_STEPS},
        None,
        ["workflows/wf.yaml:7: steps: duplicate key 'steps' (also on line 2); keep one"],
    ),
    "two company: blocks": (
        {},
        BASE_CONFIG + "company: {name: Other Ltd}\n",
        ["arflow.yaml:7: company: duplicate key 'company' (also on line 1); keep one"],
    ),
    "Latin-1 workflow, beside another broken one": (
        {"wf": LATIN1, "other": BAD_KEY},
        None,
        [
            "workflows/other.yaml:7: colour: unknown key 'colour'",
            "workflows/wf.yaml:1: not UTF-8 text (byte 0xE9 at line 1, column 10); save the file "
            "as UTF-8",
        ],
    ),
    "a date that does not exist in a workflow": (
        {"wf": GOOD + "holidays: [2026-02-30]\n"},
        None,
        [
            "workflows/wf.yaml:7: '2026-02-30' is not a date (day is out of range for month); "
            "write a real one as YYYY-MM-DD"
        ],
    ),
    "a NUL character in arflow.yaml": (
        {},
        BASE_CONFIG + "# a\x00b\n",
        ["arflow.yaml:7: character U+0000 at line 7, column 4 is not allowed in YAML; remove it"],
    ),
    "Latin-1 arflow.yaml": (
        {},
        BASE_CONFIG.encode() + b"# r\xe9sum\xe9\n",
        ["arflow.yaml:7: not UTF-8 text (byte 0xE9 at line 7, column 4); save the file as UTF-8"],
    ),
}


@pytest.mark.parametrize(
    "command",
    [
        ("validate",),
        ("run", "--dry-run", "--as-of", "2026-03-11"),
        ("run", "--as-of", "2026-03-11"),
    ],
)
@pytest.mark.parametrize("case", CASES)
def test_the_cli_reports_each_problem_and_exits_1(tmp_path, cli, command, case):
    workflows, config, expected = CASES[case]
    path = make_folder(
        tmp_path, invoices="number,customer_id,amount,due_date\n", workflows={"good": GOOD}
    )
    for name, content in workflows.items():
        target = tmp_path / "workflows" / f"{name}.yaml"
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    if config is not None:
        path.write_bytes(config if isinstance(config, bytes) else config.encode())
    result = cli(*command, "--config", path, expect=1)
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a traceback
    assert result.stdout == ""
    assert (
        result.stderr
        == "".join(f"{line}\n" for line in expected)
        + f"{len(expected)} problem(s) found; nothing was done (2030-01-15T12:00:00Z).\n"
    )
    assert not (tmp_path / "arflow.db").exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "company:\n  name: Acme\n\tphone: 1\n",
            "x.yaml:3: line 3 is indented with a tab; YAML indents with spaces only",
        ),
        (
            'company:\n  name: "Acme\n  phone: 1\n',
            "x.yaml:2: the quoted value that starts on line 2 is never closed; add its closing quote",
        ),
        (
            "company:\n  name: Acme\n   phone: 1\n",
            "x.yaml:3: line 3 is indented more than the line above it; keys of one section line up "
            "under each other",
        ),
        (
            "steps:\n  - id: a\n    day: 3\n   actions: []\n",
            "x.yaml:4: line 4 is indented out of step with the lines above it; keys of one section "
            "line up under each other, and a list's items under its first",
        ),
        (
            "company: {name: Acme\ninvoices: {path: x}\n",
            "x.yaml:1: the { on line 1 is not closed before line 2; add } where it ends",
        ),
        (
            "steps:\n  - actions: [email: a\n  - day: 3\n",
            "x.yaml:2: the [ on line 2 is not closed before line 3; add ] where it ends",
        ),
        (
            "steps: []\nx: [\n",
            "x.yaml:2: the [ on line 2 is not closed before the file ends; add ] where it ends",
        ),
        (
            "company:\n  name: Acme: Ltd\n",
            "x.yaml:2: the value of name holds ': ', which YAML reads as a new key; quote it: "
            'name: "Acme: Ltd"',
        ),
    ],
)
def test_yaml_syntax_errors_in_a_persons_words_at_the_line_to_fix(tmp_path, loader, text, problem):
    assert problems_of(tmp_path, text) == [problem]
