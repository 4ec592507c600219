"""Time composing a plan's messages and building their email bytes against floors in the same run.

Writes a generated ledger (benchmarks/generate.py) into a temporary folder, plans it as a dry
run does, and keeps the first N actions. Then, for those actions:

- compose: `arflow.compose.compose` (contexts, every render in the sandbox with its limits,
  header checks), and `email_bytes` of each email, as a dry run's recording channel builds it;
- floor: plain Jinja, outside the sandbox and without limits: `jinja2.Template.render` of the
  same templates, compiled once in a plain `jinja2.Environment`, with contexts built before the
  clock starts (Jinja's own cost of those renders), plus a bare join of each email's parts;
- sandbox: the same, with arflow's own compiled (sandboxed) templates and Jinja's
  `Template.render`, i.e. without the limits: what contexts, limits, header checks and MIME
  add is the difference to `compose`.

Prints seconds (medians of R rounds), µs per action, and the ratio to the floor. Loading and
planning are not timed. The cyclic garbage collector is off, as in the CLI.

Usage: python benchmarks/bench_compose.py [N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import jinja2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

from arflow.channels.mime import email_bytes
from arflow.compose import _person, compose, contexts
from arflow.planner.plan_types import PastState
from arflow.project import load_project
from arflow.render import _json_value
from arflow.sources import load_ledger
from arflow.tonight import plan_today

AS_OF = date(2026, 3, 16)
INVOICES_PER_ACTION = 12  # a generated ledger plans about one action per 11 invoices


def plain_renders(
    plan, ledger, project, sandbox: bool = False
) -> list[tuple[jinja2.Template, dict]]:
    """(template, context) of every render `compose` makes for these actions, in plain Jinja
    (`sandbox`: arflow's own environments)."""
    if sandbox:
        env, json_env = project.templates.env, project.templates.json_env
    else:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(project.templates.directory)),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        )
        json_env = env.overlay(finalize=_json_value)
        ours = set(project.templates.env.filters) - set(jinja2.filters.FILTERS)  # money, days, …
        for name in ours:
            env.filters[name] = json_env.filters[name] = project.templates.env.filters[name]
    cache: dict[str, jinja2.Template] = {}

    def template(name: str, inline: bool = False) -> jinja2.Template:
        if name not in cache:
            cache[name] = (
                env.from_string(name)
                if inline
                else (json_env if name.endswith(".json.j2") else env).get_template(name)
            )
        return cache[name]

    renders = []
    webhook = project.config.channels.notify.transport == "webhook"
    for action, context in contexts(plan.actions, plan.as_of, ledger, project):
        spec, kind = action.action.spec, action.kind
        if kind in ("status", "task", "assign", "note"):
            source = {"status": "value", "task": "title", "assign": "specialist", "note": "text"}[
                kind
            ]
            renders.append((template(getattr(spec, source), inline=True), context))
            continue
        if kind == "notify":
            context = {**context, "person": _person(project, action)}
        if kind == "sms":
            kinds = ["sms"]
        elif kind == "webhook" or (kind == "notify" and webhook):
            kinds = ["json"]
        else:
            kinds = ["subject", "txt"] + (
                ["html"] if project.templates.has(spec.template, "html") else []
            )
        renders += [(template(f"{spec.template}.{k}.j2"), context) for k in kinds]
    return renders


def run_compose(plan, actions, ledger, project) -> int:
    plan.actions = list(actions)
    failed: list = []
    size = 0
    for item in compose(plan, ledger, project, failed, b"bench"):
        if item.message is not None and item.message.kind == "email":
            size += len(email_bytes(item.message))
    if failed:
        sys.exit(f"{len(failed)} message(s) failed: {failed[0]}")
    return size


def run_floor(renders, emails) -> int:
    size = 0
    for template, context in renders:
        size += len(template.render(context))
    for message in emails:
        size += len(
            "\r\n".join((message.subject or "", message.text or "", message.html or "")).encode()
        )
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    gc.disable()  # as the CLI runs (arflow/cli.py `main`): a run's data holds no cycles
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(args.n * INVOICES_PER_ACTION, folder, AS_OF)
        project = load_project(folder / "arflow.yaml")
        ledger = load_ledger(project.config)
        plan = plan_today(project, ledger, PastState(), AS_OF)
        actions = plan.actions[: args.n]
        plan.actions = list(actions)
        renders = plain_renders(plan, ledger, project)
        sandboxed = plain_renders(plan, ledger, project, sandbox=True)
        emails = [
            c.message
            for c in compose(plan, ledger, project, [], b"bench")
            if c.message is not None and c.message.kind == "email"
        ]
        ways = {
            "floor": lambda: run_floor(renders, emails),
            "sandbox": lambda: run_floor(sandboxed, emails),
            "compose": lambda: run_compose(plan, actions, ledger, project),
        }
        times: dict[str, list[float]] = {label: [] for label in ways}
        for _ in range(args.repeat):
            for label, way in ways.items():
                start = time.perf_counter()
                way()
                times[label].append(time.perf_counter() - start)
    base = statistics.median(times["floor"])
    print(
        f"{len(actions):,} actions, {len(renders):,} renders, {len(emails):,} emails "
        f"(medians of {args.repeat})"
    )
    for label, runs in times.items():
        median = statistics.median(runs)
        print(
            f"{label:8s} {median:7.3f} s  {median / len(actions) * 1e6:7.1f} µs/action  "
            f"ratio {median / base:.2f}"
        )


if __name__ == "__main__":
    main()
