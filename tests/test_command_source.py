"""`command:` sources (issue 35): a program's standard output read as the source's CSV file.
The programs are real Python scripts written in the AR folder and run by this interpreter."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import yaml

from arflow.scaffold import write_scaffold
from tests.conftest import make_folder, unstamped
from tests.test_schema import schema_errors

AS_OF = "2026-03-16"  # the scaffold's day
PYTHON = json.dumps(sys.executable)  # as YAML reads it
SHOWN = Path(sys.executable).name  # how messages name the interpreter: `python3 cat.py`
# prints the files named, as they are
CAT = (
    "import sys\nfor name in sys.argv[1:]:\n    sys.stdout.buffer.write(open(name, 'rb').read())\n"
)


def example(root: Path, **commands: str) -> Path:
    """The bundled example folder (its invoices and customers) with each source named in
    `commands` read from a command instead of its file: `invoices="[cat.py, invoices.csv]"`
    (the interpreter goes first)."""
    write_scaffold(root, date(2026, 3, 16))
    (root / "cat.py").write_text(CAT)
    config = root / "arflow.yaml"
    text = config.read_text()
    for setting, args in commands.items():
        old = f"{setting}:\n  path: {setting}.csv\n"
        assert old in text
        text = text.replace(old, f"{setting}:\n  command: [{PYTHON}, {args[1:]}\n")
    config.write_text(text)
    return config


def with_invoices_command(root: Path, script: str, extra: str = "") -> Path:
    """The example folder reading its invoices from `script` (written as run.py)."""
    config = example(root, invoices="[run.py]")
    (root / "run.py").write_text(script)
    if extra:
        config.write_text(config.read_text().replace("run.py]\n", f"run.py]\n  {extra}\n"))
    return config


@pytest.mark.parametrize(
    "commands",
    [
        {"invoices": "[cat.py, invoices.csv]"},
        {"customers": "[cat.py, customers.csv]"},
        {"invoices": "[cat.py, invoices.csv]", "customers": "[cat.py, customers.csv]"},
    ],
    ids=["invoices", "customers", "both"],
)
def test_a_command_plans_what_the_same_file_plans(tmp_path, run_json, commands):
    _, from_files = run_json(example(tmp_path / "files"), AS_OF)
    _, from_command = run_json(example(tmp_path / "command", **commands), AS_OF)
    assert from_command == from_files
    assert len(from_files["actions"]) == 12  # the example's night: something to compare
    # the customers' own file is where the addresses come from
    assert {"billing@blueharbor.example", "owner@blueharbor.example"} <= {
        r for a in from_command["actions"] for r in a.get("to", [])
    }


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A temporary folder of this test's own, where arflow keeps a command's output."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)  # taken from TMPDIR again
    return folder


def test_a_failing_command_refuses_the_night_with_its_last_lines(tmp_path, cli, private_tmp):
    config = with_invoices_command(
        tmp_path,
        "import sys\n"
        "for i in range(14):\n    print(f'fetching page {i}', file=sys.stderr)\n"
        "print('number,customer_id', flush=True)\n"  # output before failing: never read
        "print('401 Client Error: Unauthorized', file=sys.stderr)\n"
        "sys.exit(3)\n",
    )
    result = cli("run", "--as-of", AS_OF, "--config", config, expect=1)
    lines = "".join(f"  | fetching page {i}\n" for i in range(5, 14))
    assert unstamped(result.stderr) == (
        f"error: invoices: `{SHOWN} run.py` failed (exit status 3) after "
        f"{_seconds(result.stderr)} s; nothing was read from it; the last lines it wrote to "
        f"standard error:\n{lines}  | 401 Client Error: Unauthorized\n"
        "Fix: run it by hand in the folder of arflow.yaml to see why, and fix it.\n"
    )
    assert result.stdout == ""
    assert not (tmp_path / "outbox").exists()  # nothing sent
    assert list(private_tmp.iterdir()) == []  # the output it printed is gone


def _seconds(text: str) -> str:
    found = re.search(r"after (\d+\.\d) s", text)
    assert found, text
    return found[1]


def test_a_command_killed_by_a_signal_is_refused(tmp_path, cli):
    config = with_invoices_command(
        tmp_path, "import os, signal\nprint('number', flush=True)\nos.kill(os.getpid(), 15)\n"
    )
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=1)
    assert f"invoices: `{SHOWN} run.py` was killed by signal SIGTERM (15) after" in result.stderr
    assert "it wrote nothing to standard error. Fix: run it by hand" in result.stderr


def _running(pid: int) -> bool:
    """Whether the process runs: there, and not a zombie waiting for its parent (killed)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_command_past_its_timeout_is_killed_with_what_it_started(tmp_path, cli):
    config = with_invoices_command(
        tmp_path,
        "import os, subprocess, time\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "open('pids', 'w').write(f'{os.getpid()} {child.pid}')\n"
        "print('number,customer_id', flush=True)\n"
        "time.sleep(60)\n",
        "timeout: 1",
    )
    started = time.monotonic()
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=1)
    took = time.monotonic() - started
    assert unstamped(result.stderr) == (
        f"error: invoices: `{SHOWN} run.py` did not finish within timeout: 1 s and was "
        "stopped, with every program it started; nothing was read from it; it wrote nothing "
        "to standard error. Fix: make it faster, or raise timeout: under invoices: in "
        "arflow.yaml if it needs longer.\n"
    )
    assert took < 4  # 1 s, the script's start and arflow's work; not the script's 60
    script, child = map(int, (tmp_path / "pids").read_text().split())
    assert not _running(script)
    deadline = time.monotonic() + 5  # a killed process is gone at once; give a loaded box time
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


@pytest.mark.parametrize(
    "command, problem",
    [
        ("[./missing.sh]", "./missing.sh: no such file (a path in command: is taken from the "),
        ("[arflow-no-such-program, x]", "no program 'arflow-no-such-program' on PATH; give its "),
        ("[export.sh]", "no program 'export.sh' on PATH; the one in the folder of arflow.yaml is "),
        ("[./export.sh]", "./export.sh is not executable: make it so (chmod +x ./export.sh), "),
    ],
)
def test_a_program_that_cannot_be_started_is_named_with_the_fix(tmp_path, cli, command, problem):
    config = make_folder(
        tmp_path,
        invoices="number,customer_id,issue_date,amount\n",
        workflows={},
        config=f"company: {{name: Acme, currency: USD}}\ninvoices:\n  command: {command}\n",
        extra_files={"export.sh": "echo number,customer_id,issue_date,amount\n"},
    )
    run = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=1)
    assert unstamped(run.stderr).startswith(f"error: invoices: command: {problem}")
    assert "Traceback" not in run.output
    validate = cli("validate", tmp_path, expect=1)  # found without running anything
    assert re.match(rf"\S*arflow\.yaml:3: invoices: {re.escape(problem)}", validate.stderr)


@pytest.mark.parametrize(
    "source, problem",
    [
        ("command: python3 export.py", "invoices.command: 'python3 export.py' is one string; "
         "write it as a list: [python3, export.py] (arflow runs the program itself, never "
         "through a shell)"),
        ("command: []", "invoices.command: the list names no program; give the program first"),
        ("{path: a.csv, command: [x]}", "give either path: (a file) or command: (a program "
         "that prints CSV), not both"),
        ("{columns: {number: Num}}", "give path: (a file) or database: (a server's address), "
         "or command: (a program that prints CSV)"),
        ("{database: 'mysql://r@db.example/books', command: [x]}", "give either database: (a "
         "server's address) or command: (a program that prints CSV), not both"),
        ("{command: [x], table: t}", "table: and query: read a SQLite file at path: or a "
         "database:; a command's output is CSV"),
        ("{path: a.csv, format: csv}", "format: says what command: prints; give command: or "
         "drop format:"),
        ("{command: [x], format: json}", "invoices.format: Input should be 'csv'"),
        ("{command: [x], timeout: 3601}", "invoices.timeout: Input should be less than or "
         "equal to 3600"),
    ],
)  # fmt: skip
def test_a_command_written_wrong_is_refused_naming_the_key(tmp_path, cli, source, problem):
    text = f"company: {{name: Acme, currency: USD}}\ninvoices:\n  {source}\n".replace(
        "invoices:\n  {", "invoices: {"
    )
    (tmp_path / "arflow.yaml").write_text(text)
    result = cli("validate", tmp_path, expect=1)
    assert problem in result.stderr, result.stderr
    assert re.match(r"\S*arflow\.yaml:[23]: ", result.stderr)
    assert schema_errors("config", yaml.safe_load(text)) != []  # the schema refuses it too
    good = "company: {name: Acme, currency: USD}\ninvoices: {command: [x], format: csv}\n"
    assert schema_errors("config", yaml.safe_load(good)) == []


TOKEN = "tok-7f3a9-secret"
SECRET_SCRIPT = """\
import os, sys
token = os.environ["ARFLOW_TEST_TOKEN"]
rows = open("invoices.csv").read().splitlines()
print(rows[0] + ",note")
for row in rows[1:]:
    print(row + "," + token)
"""


def test_the_environment_reaches_the_program_and_is_never_shown(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("ARFLOW_TEST_TOKEN", TOKEN)
    config = with_invoices_command(tmp_path, SECRET_SCRIPT)
    sources = cli("sources", "--as-of", AS_OF, "--format", "json", "--config", config)
    [invoices] = [s for s in json.loads(sources.stdout)["sources"] if s["setting"] == "invoices"]
    assert (invoices["file"], invoices["rows"], invoices["ignored"]) == (
        f"{SHOWN} run.py (output)",
        10,
        ["note"],
    )
    samples = cli("sources", "--as-of", AS_OF, "--config", config).output
    run = cli("run", "--as-of", AS_OF, "--config", config)
    assert run.stdout.endswith(
        "2026-03-16: 10 invoices, 8 open, 12 action(s): 11 sent, 1 done, 7 skipped, 0 error(s)\n"
    )
    outbox = b"".join(p.read_bytes() for p in (tmp_path / "outbox").rglob("*") if p.is_file())
    assert outbox  # the night sent its emails
    state = (tmp_path / "arflow.db").read_bytes()
    for text in (sources.output, samples, run.output, outbox.decode(), state.decode("latin-1")):
        assert TOKEN not in text
    monkeypatch.delenv("ARFLOW_TEST_TOKEN")  # without it the script fails: it was read
    failed = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=1)
    assert "  | KeyError: 'ARFLOW_TEST_TOKEN'" in failed.stderr


def test_a_bad_row_in_the_output_is_held_back_and_named(tmp_path, run_json):
    config = with_invoices_command(
        tmp_path,
        "rows = open('invoices.csv').read().splitlines()\n"
        "rows[4] = rows[4].replace('3200.00', 'twelve hundred')\n"  # INV-1004, of C003
        "print('\\n'.join(rows))\n",
    )
    _, plan = run_json(config, AS_OF, expect=3)
    assert plan["errors"] == [
        {
            "file": f"{SHOWN} run.py (output)",
            "line": 5,
            "column": "amount",
            "value": "twelve hundred",
            "message": "'twelve hundred' is not an amount: write a decimal number such as 1234.56",
        }
    ]
    customers = sorted({a["customer_id"] for a in plan["actions"]})
    assert customers == ["C001", "C002", "C004", "C005", "C006"]  # C003's only invoice held


def test_its_standard_error_is_passed_on_when_it_succeeds(tmp_path, cli):
    config = with_invoices_command(
        tmp_path,
        "import sys\nprint('skipped 2 voided invoices', file=sys.stderr)\n"
        "sys.stdout.write(open('invoices.csv').read())\n",
    )
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--format", "json", "--config", config)
    assert result.stderr == f"{SHOWN} run.py: skipped 2 voided invoices\n"
    assert len(json.loads(result.stdout)["actions"]) == 12


COUNTING = """\
import sys
open("runs", "a").write("ran\\n")
sys.stdout.write(open("invoices.csv").read())
"""


def test_validate_does_not_run_it_and_doctor_runs_it_once(tmp_path, cli, run_json):
    config = with_invoices_command(tmp_path, COUNTING)
    cli("validate", config)
    # the hooks' dry run plans the bundled sample: a command (as a database) is not run there
    _, sample = run_json(config, AS_OF, "--sample-if-no-ledger")
    assert sample == run_json(config, AS_OF, "--sample")[1] and sample["actions"]
    assert not (tmp_path / "runs").exists()
    doctor = cli("doctor", "--format", "json", "--config", config, expect=None)
    texts = [c["text"] for c in json.loads(doctor.stdout)["checks"]]
    assert re.fullmatch(
        rf"invoices: ran `{SHOWN} run\.py` in \d+\.\d s, its output read \(9 columns\): "
        r"10 rows, 0 held back",
        texts[1],
    ), texts
    assert (tmp_path / "runs").read_text() == "ran\n"  # its header, then its rows: one run


def test_doctor_fails_a_command_that_fails(tmp_path, cli):
    config = with_invoices_command(tmp_path, "import sys\nsys.exit('no token')\n")
    doctor = cli("doctor", "--format", "json", "--config", config, expect=1)
    [check] = [c for c in json.loads(doctor.stdout)["checks"] if "invoices" in c["text"]]
    assert check["level"] == "fail"
    assert check["text"].startswith(f"invoices: `{SHOWN} run.py` failed (exit status 1)")
    assert check["text"].endswith("  | no token\nFix: run it by hand in the folder of "
                                  "arflow.yaml to see why, and fix it.")  # fmt: skip


PAYMENTS = """\
import sys
print("date,amount,reference")
print("2026-03-16,480.00,INV-1002")
print("2026-03-16,lots,INV-1003")
"""


def test_payments_from_a_command(tmp_path, cli):
    config = example(tmp_path)
    (tmp_path / "bank.py").write_text(PAYMENTS)
    config.write_text(config.read_text() + f"payments:\n  command: [{PYTHON}, bank.py]\n")
    result = cli("payments", "--as-of", AS_OF, "--format", "json", "--config", config, expect=3)
    rows = [(p["amount"], p["state"], p["invoices"]) for p in json.loads(result.stdout)["payments"]]
    assert rows == [("480.00", "matched", ["INV-1002"])]
    assert result.stderr == (
        f"error: {SHOWN} bank.py (output):3: amount: 'lots' is not an amount: write a decimal "
        "number such as 1234.56\n"
    )
    (tmp_path / "bank.py").write_text("import sys\nsys.exit(2)\n")
    failed = cli("payments", "--as-of", AS_OF, "--config", config, expect=1)
    assert f"error: payments: `{SHOWN} bank.py` failed (exit status 2)" in failed.stderr


def test_the_output_file_is_deleted_when_arflow_is_done(tmp_path, cli, private_tmp):
    import gc

    config = example(tmp_path / "ar", invoices="[cat.py, invoices.csv]")
    cli("run", "--dry-run", "--as-of", AS_OF, "--config", config)
    gc.collect()  # the config read is dropped: its command's output with it
    assert list(private_tmp.iterdir()) == []


def test_the_program_reads_no_input(tmp_path):
    """Its standard input is closed: a script that reads it gets nothing at once, even when
    arflow's own input is a pipe that stays open (a terminal, a wrapper's pipe)."""
    import subprocess

    config = with_invoices_command(
        tmp_path,
        "import sys\nsys.stdin.read()\nsys.stdout.write(open('invoices.csv').read())\n",
        "timeout: 20",
    )
    root = Path(__file__).resolve().parents[1]
    args = ["run", "--dry-run", "--as-of", AS_OF, "--format", "json", "--config", str(config)]
    with (tmp_path / "out").open("w+") as out, (tmp_path / "err").open("w+") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "arflow", *args],
            env={**os.environ, "PYTHONPATH": str(root)},
            stdin=subprocess.PIPE,  # open, never written to, closed only after it ends
            stdout=out,
            stderr=err,
        )
        try:
            code = process.wait(timeout=60)
        finally:
            process.kill()
            assert process.stdin is not None
            process.stdin.close()
    assert code == 0, (tmp_path / "err").read_text()
    assert len(json.loads((tmp_path / "out").read_text())["actions"]) == 12


def test_contacts_from_a_command_reach_whom_the_file_reaches(tmp_path, cli):
    from tests.test_contacts import folder, outbox

    def night(root: Path, command: bool) -> list:
        config = folder(root)
        if command:
            (config.parent / "cat.py").write_text(CAT)
            text = config.read_text().replace(
                "contacts: {path: contacts.csv}", f"contacts: {{command: [{PYTHON}, cat.py, "
                "contacts.csv]}"
            )  # fmt: skip
            config.write_text(text)
        for day in ("2026-03-03", "2026-03-18"):  # to billing, then to ap with the owner
            cli("run", "--as-of", day, "--config", config)
        return outbox(config)

    from_command = night(tmp_path / "command", True)
    assert from_command == night(tmp_path / "file", False)
    assert from_command[2][:2] == (
        ["ap@one.example"],
        ["owner@one.example", "controller@acme.example"],
    )


def test_a_commands_output_takes_the_fast_path_of_a_plain_file(tmp_path, run_json, monkeypatch):
    import arflow.sources

    read: list[str] = []
    fast = arflow.sources.plain_slices

    def spied(path, *args, **kwargs):
        read.append(path.name)
        return fast(path, *args, **kwargs)

    monkeypatch.setattr(arflow.sources, "plain_slices", spied)
    _, plan = run_json(example(tmp_path, invoices="[cat.py, invoices.csv]"), AS_OF)
    assert len(plan["actions"]) == 12
    assert len(read) == 1 and re.fullmatch(r"arflow-\w+\.csv", read[0])  # its output, by polars


def test_a_refused_command_is_not_run_again_for_its_columns(tmp_path, cli):
    config = with_invoices_command(
        tmp_path, "import sys\nopen('runs', 'a').write('ran\\n')\nsys.exit('no token')\n"
    )
    result = cli("sources", "--as-of", AS_OF, "--format", "json", "--config", config, expect=1)
    refused = json.loads(result.stdout)["refused"]
    assert refused.startswith(f"invoices: `{SHOWN} run.py` failed (exit status 1) after ")
    assert refused.endswith(
        "  | no token\nFix: run it by hand in the folder of arflow.yaml to see why, and fix it."
    )
    assert (tmp_path / "runs").read_text() == "ran\n"  # once, though `sources` asks twice


def test_a_program_the_system_cannot_start_is_refused(tmp_path, cli, private_tmp):
    config = make_folder(
        tmp_path,
        invoices="number,customer_id,issue_date,amount\n",
        workflows={},
        config="company: {name: Acme, currency: USD}\ninvoices:\n  command: [./export]\n",
        extra_files={"export": "echo number,customer_id,issue_date,amount\n"},  # no #! line
    )
    (tmp_path / "export").chmod(0o755)
    result = cli("run", "--dry-run", "--as-of", AS_OF, "--config", config, expect=1)
    assert unstamped(result.stderr) == (
        "error: invoices: `./export` could not be started: Exec format error; fix command: in "
        "arflow.yaml\n"
    )
    assert list(private_tmp.iterdir()) == []


def test_a_secret_a_failing_command_prints_is_hidden_before_any_secret_is_read(
    tmp_path, cli, monkeypatch
):
    """The program fails before arflow reads the SMTP password: its last lines are shown
    with that password hidden all the same (every secret the settings name is known from
    the start), in the plain output and in the JSON."""
    monkeypatch.setenv("ARFLOW_TEST_SMTP_PW", "smtp-S3cret-9")
    config = with_invoices_command(
        tmp_path,
        "import os, sys\nprint('login', os.environ['ARFLOW_TEST_SMTP_PW'], file=sys.stderr)\n"
        "sys.exit(2)\n",
    )
    config.write_text(
        config.read_text().replace(
            "email: {transport: outbox, dir: outbox}",
            "email: {transport: outbox, dir: outbox, password_env: ARFLOW_TEST_SMTP_PW}",
        )
    )
    for extra in ((), ("--format", "json")):
        result = cli("run", "--as-of", AS_OF, *extra, "--config", config, expect=1)
        assert "smtp-S3cret-9" not in result.output
        assert "login ***" in result.output
