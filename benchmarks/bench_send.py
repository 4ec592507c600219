"""N reminder emails to a local aiosmtpd server: `arflow run` against two floors, in one run.

The server (aiosmtpd's Sink handler) runs as its own process. Both floors send exactly the bytes
arflow writes for the same run (taken from a first run into the outbox) over ONE smtplib
session, with no templates and no planning:

- the bare floor: nothing else;
- the durable floor: the same loop plus, before each message, one committed SQLite transaction
  that inserts the message's row into a small table like arflow's action ledger, with the
  pragmas arflow's state database uses (WAL, synchronous=FULL: every commit is fdatasync'd).
  That is the physical limit of at-most-once delivery (SPEC 6): one durable write per message.

Every side runs as a fresh process, so interpreter start-up counts on each; the loops alone are
printed too. Ratio = floor time / arflow time (1.0: arflow as fast as the floor). The
per-message ratio leaves out what the floors do not pay per message: the floor's loop alone
against arflow's time minus a rerun of the same day, which sends nothing (start-up, loading,
planning). Medians of --repeat runs; the sides alternate within each repeat, so a noisy
neighbour hits them alike.

Usage: python benchmarks/bench_send.py [N] [--repeat R]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2026, 3, 16)
TARGET_DURABLE, TARGET_BARE = 0.95, 0.8
# argv: port, outbox folder, state database ("" for the bare floor)
FLOOR = """\
import smtplib, sqlite3, sys, time
from datetime import UTC, datetime
from pathlib import Path
paths = sorted(Path(sys.argv[2]).glob("*.eml"))
messages = [p.read_bytes() for p in paths]
start = time.perf_counter()
conn = None
if sys.argv[3]:
    conn = sqlite3.connect(sys.argv[3], isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")   # as arflow/state/db.py opens the state database
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS actions (key TEXT PRIMARY KEY, "
                 "state TEXT NOT NULL, message_id TEXT, updated_at TEXT NOT NULL)")
smtp = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
for path, data in zip(paths, messages):
    if conn is not None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO actions VALUES (?, 'sending', ?, ?)",
                     (path.stem, None, datetime.now(UTC).isoformat()))
        conn.execute("COMMIT")
    smtp.sendmail("ar@acme.example", ["ap@customer.example"], data)
smtp.quit()
print(time.perf_counter() - start)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(folder: Path, n: int, port: int) -> None:
    from arflow.scaffold import write_scaffold

    write_scaffold(folder, AS_OF)
    due = (AS_OF + timedelta(days=3)).isoformat()  # net30-standard's courtesy step is due
    issue = (AS_OF - timedelta(days=27)).isoformat()
    with open(folder / "customers.csv", "w") as out:
        out.write("customer_id,name,email\n")
        out.writelines(
            f"C{i:06d},Customer {i} Ltd,ap{i}@customer{i % 97}.example\n" for i in range(n)
        )
    with open(folder / "invoices.csv", "w") as out:
        out.write("number,customer_id,issue_date,due_date,amount\n")
        out.writelines(f"INV-{i:07d},C{i:06d},{issue},{due},{100 + i % 900}.50\n" for i in range(n))
    config = (folder / "arflow.yaml").read_text()
    (folder / "outbox.yaml").write_text(config.replace("state: arflow.db", "state: outbox.db"))
    smtp = f"email: {{transport: smtp, host: 127.0.0.1, port: {port}, timeout: 30}}"
    (folder / "arflow.yaml").write_text(
        config.replace("email: {transport: outbox, dir: outbox}", smtp)
    )


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, proc.stdout


def fresh(db: Path) -> None:
    """No state: the database, its journal and its id marker."""
    for suffix in ("", "-wal", "-shm", ".id"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ]
    )
    times: dict[str, list[float]] = {
        k: [] for k in ("bare", "bare_loop", "durable", "durable_loop", "arflow", "rerun")
    }
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        # on disk, beside the state database arflow writes (a tmpfs would make fsync free)
        with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as tmp:
            folder = Path(tmp) / "ar"
            build(folder, args.n, port)
            run = [sys.executable, "-m", "arflow", "run", "--as-of", AS_OF.isoformat()]
            timed([*run, "--config", str(folder / "outbox.yaml")])
            outbox = folder / "outbox"
            count = len(list(outbox.glob("*.eml")))
            size = sum(p.stat().st_size for p in outbox.glob("*.eml")) / count
            print(
                f"{count:,} emails of {size / 1024:.1f} KB on average (text + HTML); "
                f"medians of {args.repeat}"
            )
            floor_db = folder / "floor.db"
            for _ in range(args.repeat):
                seconds, out = timed([sys.executable, "-c", FLOOR, str(port), str(outbox), ""])
                times["bare"].append(seconds)
                times["bare_loop"].append(float(out))
                fresh(floor_db)
                seconds, out = timed(
                    [sys.executable, "-c", FLOOR, str(port), str(outbox), str(floor_db)]
                )
                times["durable"].append(seconds)
                times["durable_loop"].append(float(out))
                fresh(folder / "arflow.db")
                seconds, _ = timed([*run, "--config", str(folder / "arflow.yaml")])
                times["arflow"].append(seconds)
                # the same run again sends nothing: what is left is arflow's fixed cost
                # (start-up, loading, planning against the ledger), paid once a night
                seconds, _ = timed([*run, "--config", str(folder / "arflow.yaml")])
                times["rerun"].append(seconds)
            shutil.rmtree(outbox)
    finally:
        server.terminate()
        server.wait()
    m = {k: statistics.median(v) for k, v in times.items()}
    per_message = m["arflow"] - m["rerun"]

    def line(label: str, seconds: float) -> str:
        return f"  {label:<52} {seconds:7.2f} s  {count / seconds:8,.0f} msg/s"

    print("whole process (fresh interpreter):")
    print(line("bare floor (smtplib loop, one session)", m["bare"]))
    print(line("durable floor (the loop + one fdatasync'd commit each)", m["durable"]))
    print(line("arflow run (plan, render, ledger, send)", m["arflow"]))
    print(f"  {'arflow fixed cost (the same day again, nothing to send)':<52} {m['rerun']:7.2f} s")
    print("per message (the loop alone; arflow minus its fixed cost):")
    print(line("bare floor", m["bare_loop"]))
    print(line("durable floor", m["durable_loop"]))
    print(line("arflow", per_message))
    print(
        f"ratios (floor / arflow; 1.0 = as fast as the floor; targets at 20,000 emails: "
        f">= {TARGET_DURABLE} durable, >= {TARGET_BARE} bare):"
    )
    for label, whole, loop, target in (
        ("durable", m["durable"], m["durable_loop"], TARGET_DURABLE),
        ("bare", m["bare"], m["bare_loop"], TARGET_BARE),
    ):
        w, p = whole / m["arflow"], loop / per_message
        verdict = "met" if min(w, p) >= target else "NOT met"
        print(
            f"  {label:<8} whole process {w:5.2f}   per message {p:5.2f}   "
            f"(target >= {target}: {verdict})"
        )


if __name__ == "__main__":
    main()
