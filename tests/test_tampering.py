"""The state database under tampering and foreseeable faults, with real processes: `python -m
arflow` against a real folder, the state file emptied, deleted, swapped, garbled, made
read-only or its disk filled (a real tmpfs), between runs and in the middle of one; and secrets
that a server echoes back. Every case ends in one line naming the file and the fix, and the
exit code SPEC 8 gives it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import make_folder, unstamped
from tests.servers import twilio_created
from tests.test_deliver import CHASE, smtp_config

ROOT = Path(__file__).resolve().parents[1]
DAY = "2026-03-11"
INVOICES = "number,customer_id,customer_name,email,phone,issue_date,due_date,amount\n" + "".join(
    f"INV-{n},C{n},Customer {n},ap@c{n}.example,+1202555010{n},2026-03-01,2026-03-10,{n}00.00\n"
    for n in range(1, 7)
)
OUTBOX_CONFIG = """\
company: {name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD, locale: en_US}
invoices: {path: invoices.csv}
default_workflow: chase
people:
  controller: {name: Chris Doe, email: controller@acme.example}
channels:
  email: {transport: outbox, dir: outbox}
"""
RESTORE = "to start over on purpose run `arflow state init --force`"


def arflow(config: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """One `python -m arflow` process, as cron would start it."""
    done = subprocess.run(
        [sys.executable, "-m", "arflow", *args, "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    done.stderr = unstamped(done.stderr)
    return done


def start(config: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "arflow", "run", "--as-of", DAY, "--config", str(config), *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def states(config: Path) -> dict[str, str]:
    done = arflow(config, "history", "--format", "json")
    assert done.returncode == 0, done.stderr
    return {r["customer_id"]: r["state"] for r in json.loads(done.stdout)["actions"]}


def outbox(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "outbox").glob("*.eml"))


@pytest.fixture
def ar(tmp_path) -> Path:
    """An AR folder that writes its email to the outbox; returns its config."""
    return make_folder(
        tmp_path / "ar", invoices=INVOICES, workflows={"chase": CHASE}, config=OUTBOX_CONFIG
    )


def ran_once(config: Path) -> None:
    done = arflow(config, "run", "--as-of", DAY)
    assert done.returncode == 0, done.stderr
    assert len(outbox(config.parent)) == 6


# --- 1. the state's identity outlives the file ---------------------------------------------------
@pytest.mark.parametrize(
    "tamper, how",
    [
        (lambda db: db.write_bytes(b""), "empty"),  # `: > arflow.db`
        (lambda db: db.unlink(), "missing"),  # `rm arflow.db`
    ],
    ids=["emptied", "deleted"],
)
def test_an_emptied_or_deleted_state_database_is_refused_not_taken_for_a_fresh_start(
    ar, tamper, how
):
    ran_once(ar)
    db = ar.parent / "arflow.db"
    tamper(db)
    again = arflow(ar, "run", "--as-of", DAY)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == (
        f"error: arflow.db is {how}, but arflow.db.id shows this folder has run before: restore "
        f"arflow.db from your backup; {RESTORE}\n"
    )
    assert len(outbox(ar.parent)) == 6  # nothing was sent again
    assert (db.exists(), db.exists() and db.stat().st_size) == ((how == "empty"), 0)


def test_another_folders_state_database_is_refused(ar, tmp_path):
    other = make_folder(
        tmp_path / "other", invoices=INVOICES, workflows={"chase": CHASE}, config=OUTBOX_CONFIG
    )
    ran_once(ar)
    ran_once(other)
    (ar.parent / "arflow.db").write_bytes((other.parent / "arflow.db").read_bytes())
    ours = (ar.parent / "arflow.db.id").read_text().strip()
    theirs = (other.parent / "arflow.db.id").read_text().strip()
    assert ours != theirs
    again = arflow(ar, "run", "--as-of", "2026-03-20")
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == (
        f"error: arflow.db is another folder's state database (its id {theirs[:8]}… is not the "
        f"{ours[:8]}… in arflow.db.id): restore this folder's arflow.db from your backup; "
        f"{RESTORE}\n"
    )
    assert len(outbox(ar.parent)) == 6


def test_a_new_folder_starts_its_identity_on_the_first_run(ar):
    folder = ar.parent
    assert not (folder / "arflow.db.id").exists()
    ran_once(ar)
    state_id = (folder / "arflow.db.id").read_text()
    conn = sqlite3.connect(folder / "arflow.db")
    assert conn.execute("SELECT value FROM meta WHERE key = 'id'").fetchone()[0] + "\n" == state_id
    assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x4152464C
    conn.close()
    # the `.id` file is only a witness: lost on its own, the next run writes it again
    (folder / "arflow.db.id").unlink()
    again = arflow(ar, "run", "--as-of", DAY)
    assert again.returncode == 0, again.stderr
    assert (folder / "arflow.db.id").read_text() == state_id
    assert len(outbox(folder)) == 6


def test_state_init_force_starts_over_and_keeps_the_old_files_aside(ar, cli):
    folder = ar.parent
    ran_once(ar)
    old_id = (folder / "arflow.db.id").read_text()
    (folder / "arflow.db").write_bytes(b"")
    refused = cli("state", "init", "--config", ar, expect=1)
    assert unstamped(refused.output) == (
        "error: arflow.db already holds this folder's state (or arflow.db.id says it did); "
        "nothing was changed. To start over on purpose, add --force: the old files are kept "
        "aside, never deleted\n"
    )
    garbage = b"not a database\n" * 100
    (folder / "arflow.db").write_bytes(garbage)
    done = cli("state", "init", "--force", "--config", ar)
    stamp = "20300115T120000Z"  # the pinned clock
    assert done.output == (
        f"Kept arflow.db as arflow.db.archived-{stamp}.\n"
        f"Kept arflow.db.id as arflow.db.archived-{stamp}.id.\n"
        "Created an empty state database arflow.db: the next run sends whatever is due as if "
        "arflow had never run here (`arflow run --baseline` first marks it done instead).\n"
    )
    # nothing deleted: the garbled file and the old id sit beside, renamed
    assert (folder / f"arflow.db.archived-{stamp}").read_bytes() == garbage
    assert (folder / f"arflow.db.archived-{stamp}.id").read_text() == old_id
    assert (folder / "arflow.db.id").read_text() != old_id
    # starting over was asked for: what is due goes out again
    again = arflow(ar, "run", "--as-of", DAY)
    assert again.returncode == 0, again.stderr
    assert len(list((folder / "outbox").glob("*.eml"))) == 6  # same names: rewritten
    assert set(states(ar).values()) == {"sent"}


def test_state_init_archives_a_whole_database_that_can_still_be_read(ar, cli):
    folder = ar.parent
    ran_once(ar)
    cli("state", "init", "--force", "--config", ar)
    archived = folder / "arflow.db.archived-20300115T120000Z"
    conn = sqlite3.connect(archived)
    assert conn.execute("SELECT count(*) FROM actions WHERE state = 'sent'").fetchone() == (6,)
    conn.close()
    assert states(ar) == {}


def test_state_init_on_a_new_folder_creates_the_database_and_its_id(ar, cli):
    done = cli("state", "init", "--config", ar)
    assert done.output == (
        "Created an empty state database arflow.db: the next run sends whatever is due as if "
        "arflow had never run here (`arflow run --baseline` first marks it done instead).\n"
    )
    conn = sqlite3.connect(ar.parent / "arflow.db")
    [(state_id,)] = conn.execute("SELECT value FROM meta WHERE key = 'id'").fetchall()
    conn.close()
    assert (ar.parent / "arflow.db.id").read_text() == state_id + "\n"
    ran_once(ar)


@pytest.mark.parametrize("swap", ["deleted", "replaced"])
def test_a_state_database_deleted_or_replaced_during_a_run_stops_it_before_the_next_send(
    tmp_path, smtp_server, swap
):
    config = make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={"chase": CHASE},
        config=smtp_config(smtp_server.port),
    )
    folder = config.parent
    smtp_server.handler.hold_on = 2  # the third message waits inside DATA
    victim = start(config)
    assert smtp_server.handler.arrived.wait(60), victim.communicate()
    if swap == "deleted":
        (folder / "arflow.db").unlink()
    else:
        (folder / "new.db").write_bytes(b"")
        os.replace(folder / "new.db", folder / "arflow.db")
    smtp_server.handler.release.set()
    out, err = victim.communicate(timeout=60)
    [saved] = [
        p.name for p in folder.glob("arflow.db.rescued-*") if not p.name.endswith(("-wal", "-shm"))
    ]
    put_back = (
        f"put it back (`mv {saved} arflow.db`)"
        if swap == "deleted"
        else f"set the new arflow.db aside and put {saved} in its place"
    )
    assert (victim.returncode, out) == (3, "")
    assert unstamped(err) == (
        f"error: the run stopped after sending 3 message(s): arflow.db was {swap}"
        f"{' by another file' if swap == 'replaced' else ''} while arflow was using it; what "
        f"arflow had recorded is saved in {saved}: {put_back}, then run again. The last one's "
        "outcome could not be recorded: the next run marks it unknown (`arflow history "
        "--unknown`) and never resends it by itself. The messages not sent yet go with the next "
        "run.\n"
    )
    assert len(smtp_server.messages) == 3
    # the lost file's -wal and -shm went aside with it: SQLite cannot replay them elsewhere
    assert sorted(p.name for p in folder.glob("arflow.db*")) == sorted(
        [saved, f"{saved}.lost-wal", f"{saved}.lost-shm", "arflow.db.id", "arflow.db.lock"]
        + (["arflow.db"] if swap == "replaced" else [])
    )

    refused = arflow(config, "run", "--as-of", DAY)
    assert refused.returncode == 1 and len(smtp_server.messages) == 3
    assert refused.stderr == (
        f"error: arflow.db is {'missing' if swap == 'deleted' else 'empty'}, but arflow.db.id "
        "shows this folder has run before: restore arflow.db from your backup "
        f"({saved} holds what an interrupted run saved: move it back to arflow.db); {RESTORE}\n"
    )

    os.replace(folder / saved, folder / "arflow.db")
    rerun = arflow(config, "run", "--as-of", DAY)
    assert rerun.returncode == 3, rerun.stderr  # the one in flight is now unknown
    assert "1 message(s) of an interrupted run are now marked unknown" in rerun.stderr
    assert Counter(m.message["Message-ID"] for m in smtp_server.messages).most_common(1)[0][1] == 1
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == [
        f"ap@c{n}.example" for n in range(1, 7)
    ]
    assert states(config) == {
        "C1": "sent",
        "C2": "sent",
        "C3": "unknown",
        "C4": "sent",
        "C5": "sent",
        "C6": "sent",
    }


# --- 2. secrets never reach history, the database or the terminal -------------------------------
SID = "AC" + "5e" * 16
TOKEN = "tok-" + "9" * 28
SMS_WORKFLOW = """\
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - sms: reminder
"""


def twilio_folder(tmp_path: Path, url: str) -> Path:
    return make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={"chase": SMS_WORKFLOW},
        config=OUTBOX_CONFIG
        + (
            "  sms: {transport: twilio, account_sid_env: ARFLOW_TEST_SID, "
            "auth_token_env: ARFLOW_TEST_TOKEN, from: '+12025550100', "
            f"base_url: '{url}', timeout: 5}}\n"
        ),
    )


def everything_stored(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob("arflow.db*") if p.is_file())


def not_found(request) -> dict:
    """A gateway that quotes the URL it was asked for, as Twilio's 404 does."""
    return {
        "code": 20404,
        "message": f"The requested resource {request.path} was not found",
        "status": 404,
    }


@pytest.mark.parametrize("how", ["env", "file"])
def test_a_twilio_sid_echoed_in_an_error_is_redacted_from_history(tmp_path, http_server, how):
    http_server.replies = [(201, twilio_created), (404, not_found)]
    config = twilio_folder(tmp_path, http_server.url)
    env = {"ARFLOW_TEST_SID": SID, "ARFLOW_TEST_TOKEN": TOKEN}
    if how == "file":  # read from an owner-only file instead
        secret_file = tmp_path / "sid"
        secret_file.write_text(SID + "\n")
        secret_file.chmod(0o600)
        env = {
            "ARFLOW_TEST_SID": "",
            "ARFLOW_TEST_SID_FILE": str(secret_file),
            "ARFLOW_TEST_TOKEN": TOKEN,
        }
    done = arflow(config, "run", "--as-of", DAY, "--format", "json", env=env)
    assert done.returncode == 3, done.stderr
    assert http_server.requests[1].path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    shown = arflow(config, "history", "--format", "json")
    errors = {r["customer_id"]: r["error"] for r in json.loads(shown.stdout)["actions"]}
    assert errors["C2"] == (
        "Twilio 404 error 20404: Unable to create record: The requested "
        "resource /2010-04-01/Accounts/***/Messages.json was not found"
    )
    for text in (done.stdout, done.stderr, shown.stdout):
        assert SID not in text and TOKEN not in text
    assert SID.encode() not in everything_stored(config.parent)


def test_a_connection_error_that_quotes_the_sid_is_redacted(tmp_path):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = twilio_folder(tmp_path, f"http://127.0.0.1:{port}")
    done = arflow(
        config, "run", "--as-of", DAY, env={"ARFLOW_TEST_SID": SID, "ARFLOW_TEST_TOKEN": TOKEN}
    )
    assert done.returncode == 3, done.stderr
    shown = arflow(config, "history", "--format", "json")
    errors = [r["error"] for r in json.loads(shown.stdout)["actions"]]
    assert len(errors) == 6
    for error in errors:  # refused before anything went: the address is not even quoted
        assert error.startswith("cannot connect to Twilio: [Errno ")
        assert error.endswith("] Connection refused")
    assert SID not in done.stdout + done.stderr + shown.stdout
    assert SID.encode() not in everything_stored(config.parent)


def test_the_cli_takes_every_secret_out_of_an_error_it_prints(capsys):
    import typer

    from arflow.cli import _fail
    from arflow.errors import ArflowError
    from arflow.secrets import secret

    assert secret("X_SID", "Twilio account SID", {"X_SID": SID}) == SID
    with pytest.raises(typer.Exit) as stop:
        _fail(ArflowError(f"no answer from api.test at /Accounts/{SID}/Messages.json"))
    assert stop.value.exit_code == 1
    assert (
        unstamped(capsys.readouterr().err)
        == "error: no answer from api.test at /Accounts/***/Messages.json\n"
    )
    with pytest.raises(typer.Exit):  # in an address: its path goes whole
        _fail(ArflowError(f"no answer from https://api/Accounts/{SID}/Messages.json"))
    assert unstamped(capsys.readouterr().err) == "error: no answer from https://api/***\n"


# --- 3. foreseeable faults: one line naming the file and the fix ---------------------------------
@contextmanager
def read_only(*paths: Path):
    """Each path bind-mounted read-only onto itself: a real EROFS, which stops root too (chmod
    does not, and the tests run as root)."""
    mounted = []
    try:
        for path in paths:
            done = subprocess.run(
                f"mount --bind '{path}' '{path}' && mount -o remount,bind,ro '{path}'",
                shell=True,
                capture_output=True,
                text=True,
            )
            if done.returncode:
                pytest.skip(f"a read-only bind mount needs root: {done.stderr.strip()}")
            mounted.append(path)
        yield
    finally:
        for path in mounted:
            subprocess.run(["umount", "-l", str(path)], check=True)


def test_a_read_only_state_database_is_one_clear_line(ar):
    ran_once(ar)
    db = ar.parent / "arflow.db"
    with read_only(db):
        for args in (["run", "--as-of", "2026-03-20"], ["pause", "customer", "C1"]):
            done = arflow(ar, *args)
            assert (done.returncode, done.stdout) == (1, ""), args
            assert done.stderr == (
                "error: cannot write arflow.db: arflow.db is read-only for arflow (attempt to "
                "write a readonly database); check the permissions and that its disk is not "
                "mounted read-only, then run again\n"
            )
        # reading it is fine
        assert arflow(ar, "history").returncode == 0
    assert len(outbox(ar.parent)) == 6


def test_read_only_wal_and_shm_files_are_named_as_the_cause(ar):
    ran_once(ar)
    db = ar.parent / "arflow.db"
    # a process that dies with the database open (a crashed run) leaves -wal and -shm behind
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('UPDATE runs SET pid = pid'); c.commit(); os._exit(0)",
            str(db),
        ],
        check=True,
    )
    wal, shm = db.with_name("arflow.db-wal"), db.with_name("arflow.db-shm")
    assert wal.exists() and shm.exists()
    with read_only(wal, shm):
        done = arflow(ar, "run", "--as-of", "2026-03-20")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "error: cannot write arflow.db: arflow.db-wal and arflow.db-shm beside it are read-only "
        "for arflow (attempt to write a readonly database); a run as another user (or one that "
        "crashed) left them: give them to the user running arflow (chown, chmod u+w), then run "
        "again\n"
    )


@contextmanager
def tiny_disk(where: Path):
    """A real 1 MiB tmpfs mounted at `where`."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        pytest.skip(f"mounting a tmpfs needs root: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill(disk: Path) -> None:
    with open(disk / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 512)
        except OSError:
            pass  # no space left on the device


def test_a_full_disk_stops_the_run_with_how_many_were_sent_and_a_rerun_says_so_again(
    tmp_path, smtp_server
):
    config = make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={"chase": CHASE},
        config=smtp_config(smtp_server.port, "state: disk/arflow.db\n"),
    )
    with tiny_disk(config.parent / "disk") as disk:
        smtp_server.handler.hold_on = 3  # the fourth message waits inside DATA
        victim = start(config)
        assert smtp_server.handler.arrived.wait(60), victim.communicate()
        fill(disk)
        smtp_server.handler.release.set()
        out, err = victim.communicate(timeout=60)
        full = (
            "cannot write disk/arflow.db: the disk it is on is full (database or disk is "
            "full); free some space there, then run again"
        )
        assert (victim.returncode, out) == (3, "")
        assert unstamped(err) == (
            f"error: the run stopped after sending 4 message(s): {full}. The last one's outcome "
            "could not be recorded: the next run marks it unknown (`arflow history --unknown`) "
            "and never resends it by itself. The messages not sent yet go with the next run.\n"
        )
        assert len(smtp_server.messages) == 4

        still_full = arflow(config, "run", "--as-of", DAY)
        assert (still_full.returncode, still_full.stderr) == (1, f"error: {full}\n")
        assert len(smtp_server.messages) == 4

        (disk / "filler").unlink()
        rerun = arflow(config, "run", "--as-of", DAY)
        assert rerun.returncode == 3, rerun.stderr
        assert "1 message(s) of an interrupted run are now marked unknown" in rerun.stderr
        assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == [
            f"ap@c{n}.example" for n in range(1, 7)
        ]
        assert states(config) == {
            "C1": "sent",
            "C2": "sent",
            "C3": "sent",
            "C4": "unknown",
            "C5": "sent",
            "C6": "sent",
        }


BIG_REMINDER = "Dear {{ customer.name }}\n" + ("lorem ipsum dolor sit amet " * 20 + "\n") * 1400
FILE_LIMIT = 512 * 1024  # bytes: the state database stays under it, an email of BIG_REMINDER not


def limited(nbytes: int):
    """What a child process runs first: no file it writes may grow past `nbytes` (a write
    beyond fails with EFBIG, "File too large"; Python ignores the SIGXFSZ that comes with it)."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


@pytest.mark.parametrize("how", ["disk-full", "file-size-limit"])
def test_outbox_writes_that_fail_leave_no_files_and_go_with_the_next_run(tmp_path, how):
    """Each message a file written whole or not at all: a write that fails (a full disk, a
    file too large) leaves neither the message nor its temporary file, and the next run,
    with room again, writes each once."""
    if how == "disk-full":
        config = make_folder(
            tmp_path / "ar",
            invoices=INVOICES,
            workflows={"chase": CHASE},
            config=OUTBOX_CONFIG.replace("dir: outbox", "dir: disk/outbox"),
        )
        outbox = config.parent / "disk" / "outbox"
        disk = tiny_disk(config.parent / "disk")
    else:
        config = make_folder(
            tmp_path / "ar",
            invoices=INVOICES,
            workflows={"chase": CHASE},
            config=OUTBOX_CONFIG,
            templates={"reminder.subject.j2": "Reminder", "reminder.txt.j2": BIG_REMINDER},
        )
        outbox = config.parent / "outbox"
        disk = contextlib.nullcontext(config.parent)
    with disk as where:
        outbox.mkdir(parents=True)
        if how == "disk-full":
            fill(where)
        done = subprocess.run(
            [sys.executable, "-m", "arflow", "run", "--as-of", DAY, "--config", str(config)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=limited(FILE_LIMIT) if how == "file-size-limit" else None,
        )
        assert done.returncode == 3, done.stderr
        reason = "No space left on device" if how == "disk-full" else "File too large"
        summary = done.stdout.splitlines()[-1]
        assert "6 action(s): 6 failed (" in summary
        assert summary.count(f"cannot write {outbox}/") == summary.count(reason) == 6
        assert sorted(outbox.iterdir()) == []  # no message, no .tmp-* file
        assert set(states(config).values()) == {"failed"}
        if how == "disk-full":
            (where / "filler").unlink()
        rerun = arflow(config, "run", "--as-of", DAY)
        assert rerun.returncode == 0, rerun.stderr
        names = sorted(p.name for p in outbox.iterdir())
        assert len(names) == 6 and all(n.endswith(".eml") for n in names), names
        assert set(states(config).values()) == {"sent"}


def garble(db: Path) -> None:
    """Keep SQLite's header page, overwrite the rest with bytes no database has."""
    data = db.read_bytes()
    db.write_bytes(data[:4096] + bytes(range(7, 256)) * ((len(data) - 4096) // 249 + 1))


def garble_actions(db: Path) -> None:
    """Overwrite only the page that holds the action ledger's rows: the file opens, its tables
    are all there, and the damage shows when the first query reads the ledger."""
    conn = sqlite3.connect(db)
    [(page,)] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'actions'")
    [(size,)] = conn.execute("PRAGMA page_size")
    conn.close()
    with open(db, "r+b") as handle:
        handle.seek((page - 1) * size)
        handle.write(bytes(range(7, 256)) * (size // 249 + 1))


def drop_promises(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE promises")
    conn.commit()
    conn.close()


def another_program(db: Path) -> None:
    db.unlink()
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE contacts (name TEXT); CREATE TABLE notes (text TEXT);")
    conn.close()


BREAKAGES = {
    "not sqlite": (
        lambda db: db.write_text("id,amount\n1,2\n" * 400),
        "arflow.db is not an arflow state database: it is not a SQLite file at all "
        "(file is not a database); restore it from your backup, or point `state:` in "
        "arflow.yaml at another file",
    ),
    "garbled": (
        garble,
        "arflow.db is damaged (database disk image is malformed): it was changed outside "
        "arflow or by a failing disk; restore it from your backup",
    ),
    "garbled ledger": (
        garble_actions,
        "arflow.db is damaged (database disk image is malformed): it was changed "
        "outside arflow or by a failing disk; restore it from your backup",
    ),
    "dropped table": (
        drop_promises,
        "arflow.db has no table promises (arflow keeps it): the file was changed "
        "outside arflow; restore it from your backup",
    ),
    "deleted": (
        lambda db: db.unlink(),
        "arflow.db is missing, but arflow.db.id shows this folder has run before: "
        f"restore arflow.db from your backup; {RESTORE}",
    ),
    "emptied": (
        lambda db: db.write_bytes(b""),
        "arflow.db is empty, but arflow.db.id shows this folder has run before: restore "
        f"arflow.db from your backup; {RESTORE}",
    ),
    "another program's": (
        another_program,
        "arflow.db is another program's SQLite database (tables: contacts, notes), not an "
        "arflow state database: point `state:` in arflow.yaml at another file, or move it away",
    ),
}


# --- 4. run, dry run, history and status agree ---------------------------------------------------
@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_run_dry_run_history_and_status_refuse_a_broken_state_database_alike(ar, cli, breakage):
    ran_once(ar)
    tamper, message = BREAKAGES[breakage]
    tamper(ar.parent / "arflow.db")
    for args in (
        ["run", "--as-of", "2026-03-20"],
        ["run", "--dry-run", "--as-of", "2026-03-20"],
        ["history"],
        ["status"],
    ):
        result = cli(*args, "--config", ar, expect=1)
        assert unstamped(result.output) == f"error: {message}\n", args
        assert "Traceback" not in result.output
    assert len(outbox(ar.parent)) == 6


# --- 5. exit codes say what happened ----------------------------------------------------------
def test_a_run_that_finds_an_interrupted_message_exits_3(ar):
    ran_once(ar)
    db = ar.parent / "arflow.db"
    conn = sqlite3.connect(db)  # what a run killed in the middle of a hand-over leaves
    conn.execute("UPDATE actions SET state = 'sending' WHERE customer_id = 'C2'")
    conn.commit()
    conn.close()
    done = arflow(ar, "run", "--as-of", DAY)
    assert done.returncode == 3
    assert done.stderr == (
        "warning: 1 message(s) of an interrupted run are now marked unknown and will not be "
        "resent by themselves; see `arflow history --unknown`.\n"
    )
    assert states(ar)["C2"] == "unknown"


# --- 3. secrets read from a file ---------------------------------------------------------------
@pytest.mark.parametrize(
    "content, problem",
    [
        (
            b"\xffpass\n",
            "is not UTF-8 text (byte 0xff at offset 0); write the secret into it as plain text",
        ),
        (b"", "is empty; write the secret into it"),
        (b"  \n", "is empty; write the secret into it"),
    ],
    ids=["not-utf8", "empty", "blank"],
)
def test_a_bad_secret_file_is_one_clear_line(tmp_path, smtp_server, content, problem):
    config = make_folder(
        tmp_path / "ar",
        invoices=INVOICES,
        workflows={"chase": CHASE},
        config=smtp_config(smtp_server.port, email=", username: ar, password_env: ARFLOW_TEST_PW"),
    )
    secret_file = tmp_path / "pw"
    secret_file.write_bytes(content)
    secret_file.chmod(0o600)
    done = arflow(config, "run", "--as-of", DAY, env={"ARFLOW_TEST_PW_FILE": str(secret_file)})
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"error: SMTP password: {secret_file} (named by "
        f"$ARFLOW_TEST_PW_FILE) {problem}. Nothing was sent.\n"
    )
    assert smtp_server.messages == []


# --- 6. messages ------------------------------------------------------------------------------
def test_an_unknown_key_never_suggests_itself_but_says_what_the_section_takes(ar, cli):
    ar.write_text(
        ar.read_text().replace("controller: {", "controller: {timeout: 5, ")
        + "  notify: {transport: email, timeout: 2}\n"
        "  sms: {transport: outbox, tmeout: 2}\n"
    )
    result = cli("validate", "--config", ar, expect=1)
    assert result.output == (
        "arflow.yaml:5: people.controller.timeout: unknown key 'timeout'; people.controller "
        "takes: name, email, phone, specialist, webhook ('timeout' belongs under one of "
        "invoices, customers, contacts, payments, channels.email, channels.sms, "
        "channels.webhook, channels.inbox)\n"
        "arflow.yaml:9: channels.sms.tmeout: unknown key 'tmeout'; did you mean 'timeout'?\n"
        "arflow.yaml:8: channels.notify.timeout: unknown key 'timeout'; channels.notify takes: "
        "transport, url ('timeout' belongs under one of invoices, customers, contacts, "
        "payments, channels.email, channels.sms, channels.webhook, channels.inbox)\n"
        "3 problem(s) found; nothing was done (2030-01-15T12:00:00Z).\n"
    )
