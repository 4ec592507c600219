"""N reminder emails to a local aiosmtpd server: `arflow run` against a bare smtplib loop.

The server (aiosmtpd's Sink handler) runs as its own process. The floor sends exactly the bytes
arflow writes for the same run (taken from a first run into the outbox) over ONE smtplib session,
with no state, no templates and no planning. Both sides run as fresh processes, so interpreter
start-up counts on both; the floor's send loop alone is printed too.

Ratio = floor time / arflow time (1.0 means arflow sends as fast as the bare loop). A second
ratio leaves out what neither side pays per message: the floor's loop alone against arflow's time
minus a rerun of the same day, which sends nothing (start-up, loading, planning).

Usage: python benchmarks/bench_send.py [N] [--repeat R]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2026, 3, 16)
FLOOR = """\
import smtplib, sys, time
from pathlib import Path
messages = [p.read_bytes() for p in sorted(Path(sys.argv[2]).glob("*.eml"))]
start = time.perf_counter()
smtp = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
for data in messages:
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
        out.writelines(f"C{i:06d},Customer {i} Ltd,ap{i}@customer{i % 97}.example\n"
                       for i in range(n))
    with open(folder / "invoices.csv", "w") as out:
        out.write("number,customer_id,issue_date,due_date,amount\n")
        out.writelines(f"INV-{i:07d},C{i:06d},{issue},{due},{100 + i % 900}.50\n"
                       for i in range(n))
    config = (folder / "arflow.yaml").read_text()
    (folder / "outbox.yaml").write_text(config.replace("state: arflow.db",
                                                       "state: outbox.db"))
    smtp = f"email: {{transport: smtp, host: 127.0.0.1, port: {port}, timeout: 30}}"
    (folder / "arflow.yaml").write_text(config.replace("email: {transport: outbox, dir: outbox}",
                                                       smtp))


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l",
                               f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "ar"
            build(folder, args.n, port)
            run = [sys.executable, "-m", "arflow", "run", "--as-of", AS_OF.isoformat()]
            timed([*run, "--config", str(folder / "outbox.yaml")])
            outbox = folder / "outbox"
            count = len(list(outbox.glob("*.eml")))
            size = sum(p.stat().st_size for p in outbox.glob("*.eml")) / count
            print(f"{count:,} emails of {size / 1024:.1f} KB on average (text + HTML)")
            floors, loops, arflows, reruns = [], [], [], []
            for _ in range(args.repeat):
                seconds, out = timed([sys.executable, "-c", FLOOR, str(port), str(outbox)])
                floors.append(seconds)
                loops.append(float(out))
                # a fresh state each time: the database, its journal and its id marker
                for name in ("arflow.db", "arflow.db-wal", "arflow.db-shm", "arflow.db.id"):
                    (folder / name).unlink(missing_ok=True)
                seconds, _ = timed([*run, "--config", str(folder / "arflow.yaml")])
                arflows.append(seconds)
                # the same run again sends nothing: what is left is arflow's fixed cost
                # (start-up, loading, planning against the ledger), paid once a night
                seconds, _ = timed([*run, "--config", str(folder / "arflow.yaml")])
                reruns.append(seconds)
            shutil.rmtree(outbox)
    finally:
        server.terminate()
        server.wait()
    floor, loop, arflow, rerun = min(floors), min(loops), min(arflows), min(reruns)
    print(f"floor (bare smtplib, one session, fresh process): {floor:6.2f} s "
          f"({count / floor:,.0f} msg/s; the loop alone {loop:.2f} s)")
    print(f"arflow run (plan, render, ledger, send):           {arflow:6.2f} s "
          f"({count / arflow:,.0f} msg/s)")
    print(f"ratio floor/arflow: {floor / arflow:.2f}   (target >= 0.9)")
    print(f"arflow's fixed cost (the same run again, nothing to send): {rerun:.2f} s; "
          f"per message, the loop alone against arflow minus that: "
          f"{loop / (arflow - rerun):.2f}")


if __name__ == "__main__":
    main()
