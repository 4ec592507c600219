"""`arflow validate` names files as the user typed them: relative to the working directory,
in text, JSON and GitHub's annotations alike; each folder's problems by its own path."""

import json

from tests.conftest import BASE_CONFIG, make_folder, unstamped

GOOD = """\
name: Good
steps:
  - id: d7
    day: 7
    actions:
      - email: reminder
"""
BROKEN = GOOD.replace("day: 7", "day: seven")
INVOICES = "number,customer_id,customer_name,email,amount,issue_date,due_date\n"
SEVEN = (
    "steps.0.day: Input should be a valid integer, unable to parse string as an integer "
    "(got 'seven')"
)


def folder(root, workflows, **kw):
    return make_folder(root, invoices=INVOICES, workflows=workflows, **kw)


def test_github_annotations_name_the_file_from_the_working_directory(cli, tmp_path, monkeypatch):
    folder(tmp_path / "ar", {"net30-standard": BROKEN})
    monkeypatch.chdir(tmp_path)
    out = cli("validate", "--format", "github", "ar", expect=1).stdout
    assert out == f"::error file=ar/workflows/net30-standard.yaml,line=4::{SEVEN}\n"


def test_each_folder_s_problems_are_named_by_its_own_path_in_every_format(
    cli, tmp_path, monkeypatch
):
    folder(tmp_path / "ar", {"net30": BROKEN})
    folder(tmp_path / "m1", {"net30": BROKEN})
    folder(tmp_path / "ok", {"net30": GOOD})
    monkeypatch.chdir(tmp_path)
    text = cli("validate", "ar", "m1", "ok", expect=1)
    assert text.stderr.splitlines()[:2] == [
        f"ar/workflows/net30.yaml:4: {SEVEN}",
        f"m1/workflows/net30.yaml:4: {SEVEN}",
    ]
    assert text.stdout.startswith("ok/arflow.yaml: valid (1 workflows, ")
    github = cli("validate", "--format", "github", "ar", "m1", "ok", expect=1).stdout
    assert [line.split(",")[0] for line in github.splitlines()] == [
        "::error file=ar/workflows/net30.yaml",
        "::error file=m1/workflows/net30.yaml",
    ]
    doc = json.loads(cli("validate", "--format", "json", "ar", "m1", "ok", expect=1).stdout)
    assert [p["file"] for p in doc["problems"]] == [
        "ar/workflows/net30.yaml",
        "m1/workflows/net30.yaml",
    ]
    # `checked` uses the same form as `problems`, even when the folder is given absolute
    doc = json.loads(cli("validate", "--format", "json", tmp_path / "ok", expect=0).stdout)
    assert doc["checked"] == ["ok/arflow.yaml"]
    doc = json.loads(cli("validate", "--format", "json", "ar", "m1", "ok", expect=1).stdout)
    assert doc["checked"] == ["ar/arflow.yaml", "m1/arflow.yaml", "ok/arflow.yaml"]


def test_a_path_is_named_as_typed_from_where_arflow_runs(cli, tmp_path, monkeypatch):
    folder(tmp_path / "ar", {"net30": BROKEN})
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli("validate", "../ar", expect=1).stderr.startswith("../ar/workflows/net30.yaml:4:")
    # given absolute and outside the working directory: named from the AR folder
    out = cli("validate", "--format", "github", tmp_path / "ar", expect=1).stdout
    assert out.startswith("::error file=workflows/net30.yaml,line=4::")
    # among several folders given so, each by its own (absolute) path
    out = cli("validate", "--format", "github", tmp_path / "ar", "../ar", expect=1).stdout
    assert [line.split(",")[0] for line in out.splitlines()] == [
        f"::error file={tmp_path}/ar/workflows/net30.yaml",
        "::error file=../ar/workflows/net30.yaml",
    ]
    # found from inside the folder, and a workflow file typed from there
    monkeypatch.chdir(tmp_path / "ar" / "workflows")
    assert cli("validate", expect=1).stderr.startswith("net30.yaml:4:")
    assert cli("validate", "net30.yaml", expect=1).stderr.startswith("net30.yaml:4:")
    monkeypatch.chdir(tmp_path / "ar")
    (tmp_path / "ar" / "arflow.yaml").write_text(
        (tmp_path / "ar" / "arflow.yaml").read_text() + "bogus: 1\n"
    )
    doc = json.loads(cli("validate", "--format", "json", expect=1).stdout)
    assert [p["file"] for p in doc["problems"]] == ["arflow.yaml", "workflows/net30.yaml"]


def test_text_shows_every_path_s_outcome(cli, tmp_path, monkeypatch):
    folder(tmp_path / "ar", {"net30": BROKEN, "good": GOOD})
    monkeypatch.chdir(tmp_path)
    # a missing file does not hide the other's problem
    result = cli("validate", "ar/workflows/net30.yaml", "missing.yaml", expect=1)
    assert result.stderr.splitlines()[:2] == [
        f"ar/workflows/net30.yaml:4: {SEVEN}",
        "missing.yaml: config file missing.yaml not found",
    ]
    # a valid file checked alone says so
    alone = tmp_path / "solo" / "chase.yaml"
    alone.parent.mkdir()
    alone.write_text(GOOD)
    assert cli("validate", "solo/chase.yaml").stdout == "solo/chase.yaml: valid\n"
    # errors in arflow.yaml do not hide the workflows'
    config = tmp_path / "ar" / "arflow.yaml"
    config.write_text(config.read_text() + "bogus: 1\n")
    errors = cli("validate", "ar", expect=1).stderr.splitlines()
    assert [line.split(":")[0] for line in errors[:2]] == [
        "ar/arflow.yaml",
        "ar/workflows/net30.yaml",
    ]
    # and when arflow.yaml is not YAML at all, workflows/ is still checked
    config.write_text("name: [\n")
    errors = cli("validate", "ar", expect=1).stderr.splitlines()
    assert [line.split(":")[0] for line in errors[:2]] == [
        "ar/arflow.yaml",
        "ar/workflows/net30.yaml",
    ]


# files named inside a problem's message (issue 29): as the folder was typed, like its path
MISSING_TEMPLATE = GOOD.replace("email: reminder", "email: chase")
BAD_COLUMNS = BASE_CONFIG.replace(
    "invoices: {path: invoices.csv}",
    "invoices: {path: invoices.csv, columns: {number: Num}}",
)


def _messages(cli, *args):
    return unstamped(cli("validate", *args, expect=1).stderr).splitlines()[:-1]


def test_files_inside_messages_are_named_as_the_folder_was_typed(cli, tmp_path, monkeypatch):
    folder(tmp_path / "x" / "ar", {"net30": MISSING_TEMPLATE})
    (tmp_path / "other").mkdir()
    needs = "steps.0.actions.0.email.template: template 'chase' needs chase.subject.j2 and "
    monkeypatch.chdir(tmp_path / "x")
    assert _messages(cli, "ar") == [
        f"ar/workflows/net30.yaml:6: {needs}chase.txt.j2 in ar/templates/"
    ]
    monkeypatch.chdir(tmp_path / "other")
    assert _messages(cli, "../x/ar") == [
        f"../x/ar/workflows/net30.yaml:6: {needs}chase.txt.j2 in ../x/ar/templates/"
    ]
    # a workflow file or a template given: named the same way
    assert _messages(cli, "../x/ar/workflows/net30.yaml") == _messages(cli, "../x/ar")
    assert _messages(cli, "../x/ar/templates/reminder.txt.j2") == _messages(cli, "../x/ar")
    # a lone folder given absolute, outside the working directory: named from that folder
    assert _messages(cli, tmp_path / "x" / "ar") == [
        f"workflows/net30.yaml:6: {needs}chase.txt.j2 in templates/"
    ]


def test_a_source_file_inside_a_message_is_named_as_the_folder_was_typed(
    cli, tmp_path, monkeypatch
):
    folder(tmp_path / "x" / "ar", {"net30": GOOD}, config=BAD_COLUMNS)
    (tmp_path / "x" / "workflows").mkdir()
    monkeypatch.chdir(tmp_path / "x")
    lines = _messages(cli, "ar")
    assert lines[0].startswith("ar/arflow.yaml:3: invoices: ar/invoices.csv: columns: maps ")
    monkeypatch.chdir(tmp_path)
    assert _messages(cli, "x/ar")[0].startswith(
        "x/ar/arflow.yaml:3: invoices: x/ar/invoices.csv: columns: maps "
    )
    # a lone folder given absolute, outside the working directory: named from that folder
    monkeypatch.chdir(tmp_path / "x" / "workflows")
    assert _messages(cli, tmp_path / "x" / "ar")[0].startswith(
        "arflow.yaml:3: invoices: invoices.csv: columns: maps "
    )
    monkeypatch.chdir(tmp_path)
    # a dry run of the folder by its path names them the same way
    result = cli("run", "--dry-run", "x/ar", expect=1)
    assert (
        unstamped(result.stderr)
        .splitlines()[0]
        .startswith("x/ar/arflow.yaml: x/ar/invoices.csv: columns: maps ")
    )
