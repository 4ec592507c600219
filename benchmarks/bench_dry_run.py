"""Time `arflow run --dry-run --format json` against a bare csv.reader pass over the same file.

Both run as fresh processes in the same session, so interpreter start-up counts on both sides.
For each size N it prints the median wall time of R runs, the ratio to the floor, and arflow's
peak memory (max RSS); with several sizes, how the cost grows from one to the next.

`--steady` measures the nightly case instead: a real run on day D into the outbox (the backlog
is sent and recorded), then the dry run of day D + 1 against the state that run left, beside
its own floor: `plan_floor.py`, a plain polars script that reads the same files and computes
the same day's plan without state.

`--campaign` measures the day of the example's monthly statement campaign (the first Monday,
2026-03-02): the dry run with the campaign, then with it disabled, so the campaign's own cost
is the difference (statements to the wholesale customers, consolidated over parent accounts).

`--render-floor` also times the dry run's own floor (issue 30), `render_floor.py`, in each round
as a fresh process on the plan that round's dry run printed: a csv.reader pass, a plain jinja2
render of every part of every message and each email built with the `email` package; it
prints arflow's time over that floor.

`--jobs N [N ...]` runs arflow once per value of `--jobs` in each round and prints each one's
time and how much faster than the first value it is (`--jobs 1 2`: the pool's speed-up).

Usage: python benchmarks/bench_dry_run.py [N ...] [--repeat R] [--steady | --campaign]
       [--render-floor] [--jobs N ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

AS_OF = date(2026, 3, 16)
CAMPAIGN_DAY = date(2026, 3, 2)  # the first Monday of March: the statement campaign's day
FLOOR = "import csv,sys\nfor row in csv.reader(open(sys.argv[1], newline='')): pass\n"


def run_with_rss(cmd: list[str]) -> tuple[float, int, bytes]:
    """Wall time, peak memory (bytes, this process alone) and stdout of one fresh process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        before = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - before
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in (0, 3):
            sys.exit(f"{cmd[0]} failed ({proc.returncode}): {err.read().decode()[-2000:]}")
        return seconds, usage.ru_maxrss * 1024, out.read()


def arflow(folder: Path, as_of: date, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "arflow",
        "run",
        *extra,
        "--format",
        "json",
        "--as-of",
        as_of.isoformat(),
        "--config",
        str(folder / "arflow.yaml"),
    ]


def measure(
    folder: Path,
    as_of: date,
    repeat: int,
    render_floor: bool = False,
    jobs: list[int] | None = None,
    plan_floor: bool = False,
) -> dict:
    """Medians of `repeat` rounds; each round runs the csv.reader floor, arflow (once per
    `--jobs` value when given, the first one being the main figure) and, with `render_floor`,
    the render floor on the plan that round's dry run printed; with `plan_floor` (the steady
    state), the plain polars script that computes the day's plan without state."""
    csv_path = folder / "invoices.csv"
    variants = [["--jobs", str(j)] for j in jobs] if jobs else [[]]
    floor_times, render_times, plan_times, parts, rss, doc = [], [], [], [], 0, {}
    times: list[list[float]] = [[] for _ in variants]
    counts = None
    for _ in range(repeat):
        floor_times.append(run_with_rss([sys.executable, "-c", FLOOR, str(csv_path)])[0])
        for variant, took in zip(variants, times, strict=True):
            seconds, peak, out = run_with_rss(arflow(folder, as_of, "--dry-run", *variant))
            took.append(seconds)
            rss, doc = max(rss, peak), json.loads(out)
        if plan_floor:
            script = str(Path(__file__).resolve().parent / "plan_floor.py")
            plan_times.append(
                run_with_rss([sys.executable, script, str(folder), as_of.isoformat()])[0]
            )
        if render_floor:
            seconds, counts = run_render_floor(folder, out)
            render_times.append(seconds)
            parts.append(counts["seconds"])
    result = {
        "floor": statistics.median(floor_times),
        "arflow": statistics.median(times[0]),
        "ratio": statistics.median(t / f for t, f in zip(times[0], floor_times, strict=True)),
        "rss": rss,
        "summary": doc["summary"],
    }
    if plan_floor:
        result["plan_floor"] = statistics.median(plan_times)
        result["plan_ratio"] = statistics.median(
            t / f for t, f in zip(times[0], plan_times, strict=True)
        )
    if render_floor:
        result["render_floor"] = statistics.median(render_times)
        result["render_ratio"] = statistics.median(
            t / f for t, f in zip(times[0], render_times, strict=True)
        )
        result["render_counts"] = counts
        result["render_parts"] = {k: statistics.median(p[k] for p in parts) for k in parts[0]}
        result["render_ratio_no_email"] = statistics.median(
            t / (f - p["email"]) for t, f, p in zip(times[0], render_times, parts, strict=True)
        )
    if jobs:
        result["jobs"] = {
            j: (
                statistics.median(t),
                statistics.median(a / b for a, b in zip(times[0], t, strict=True)),
            )
            for j, t in zip(jobs, times, strict=True)
        }
    return result


def run_render_floor(folder: Path, plan: bytes) -> tuple[float, dict]:
    """The render floor (`render_floor.py`) as a fresh process, on the plan a dry run printed:
    its wall time and what it made."""
    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        handle.write(plan)
        handle.flush()
        script = str(Path(__file__).resolve().parent / "render_floor.py")
        seconds, _, out = run_with_rss([sys.executable, script, str(folder), handle.name])
    return seconds, json.loads(out)


def report(n: int, m: dict, repeat: int) -> None:
    s = m["summary"]
    print(
        f"{n:>9,} invoices  floor {m['floor']:6.2f}s  arflow {m['arflow']:6.2f}s  "
        f"ratio {m['ratio']:5.2f}x  peak {m['rss'] / 2**20:6.0f} MB  (median of {repeat}; "
        f"{s['open']:,} open, {s['actions']:,} actions, {s['skipped']:,} skipped, "
        f"{s['errors']:,} errors)",
        flush=True,
    )
    if "render_floor" in m:
        c = m["render_counts"]
        parts = ", ".join(f"{k} {v:.2f}s" for k, v in m["render_parts"].items())
        print(
            f"{'':>9} render floor (csv.reader + plain jinja2 + email.message) "
            f"{m['render_floor']:6.2f}s  arflow/render floor {m['render_ratio']:5.2f}x  "
            f"({c['renders']:,} renders, {c['emails']:,} emails; inside: {parts}); without "
            f"the email package's part: arflow/floor {m['render_ratio_no_email']:5.2f}x",
            flush=True,
        )
    if "plan_floor" in m:
        print(
            f"{'':>9} plan floor (a polars script computing the day's plan without state) "
            f"{m['plan_floor']:6.2f}s  arflow/plan floor {m['plan_ratio']:5.2f}x",
            flush=True,
        )
    for jobs, (took, ratio) in m.get("jobs", {}).items():
        print(
            f"{'':>9} --jobs {jobs}: {took:6.2f}s  ({ratio:4.2f}x as fast as the first)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steady", action="store_true")
    parser.add_argument("--campaign", action="store_true")
    parser.add_argument("--render-floor", action="store_true")
    parser.add_argument("--jobs", type=int, nargs="+", metavar="N")
    args = parser.parse_args()
    if args.render_floor and args.campaign:
        parser.error("--render-floor builds workflow contexts; a statement's are not in it")
    options = {"render_floor": args.render_floor, "jobs": args.jobs}
    print(
        f"{os.cpu_count()} cores; targets (issue 30): 1M dry run ≤ 2x its render floor, "
        "≤ 600 MB; steady state ≤ 2x the plan floor at 1M, ≤ 0.6 s at 100k; --jobs 2 ≥ 1.5x "
        "--jobs 1"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            folder = Path(tmp) / f"ar{n}"
            generate(n, folder, CAMPAIGN_DAY if args.campaign else AS_OF)
            if args.steady:
                seconds, _, out = run_with_rss(arflow(folder, AS_OF))
                sent = json.loads(out)["summary"]
                print(
                    f"real run on {AS_OF}: {sent['sent']:,} sent in {seconds:.1f}s; "
                    f"now the dry run of the next day",
                    flush=True,
                )
                results[n] = measure(
                    folder, AS_OF + timedelta(days=1), args.repeat, plan_floor=True, **options
                )
            elif args.campaign:
                campaign = folder / "workflows" / "monthly-statement.yaml"
                text = campaign.read_text()
                results[n] = measure(folder, CAMPAIGN_DAY, args.repeat, **options)
                report(n, results[n], args.repeat)
                campaign.write_text(text + "enabled: false\n")
                without = measure(folder, CAMPAIGN_DAY, args.repeat, **options)
                print("without the campaign:", end=" ")
                report(n, without, args.repeat)
                print(
                    f"the campaign adds {results[n]['arflow'] - without['arflow']:.2f}s: "
                    f"{results[n]['ratio'] - without['ratio']:.2f}x the floor",
                    flush=True,
                )
                continue
            else:
                results[n] = measure(folder, AS_OF, args.repeat, **options)
            report(n, results[n], args.repeat)
    sizes = sorted(results)
    for small, big in pairwise(sizes):
        print(
            f"{small:,} → {big:,} invoices ({big / small:.0f}x): arflow's time "
            f"{results[big]['arflow'] / results[small]['arflow']:.1f}x"
        )


if __name__ == "__main__":
    main()
