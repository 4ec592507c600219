"""Time `Templates.render` against Jinja's plain `template.render(ctx)` on example templates.

Each render uses the sample context of the example folder (`arflow.contexts.sample_context`).
Three ways, each template compiled once: `Environment` is a plain, unsandboxed
`jinja2.Environment` with the same options and filters (the floor); `template.render` is
Jinja's own render of arflow's sandboxed template, without the limits; `Templates.render` is
arflow's render with them. Prints µs per render and the ratio to the floor measured in the same
run (median of R rounds of N renders each).

Usage: python benchmarks/bench_render.py [N] [--repeat R] [--template NAME.KIND ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import jinja2

from arflow.config import load_config
from arflow.contexts import sample_context
from arflow.render import templates_for

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "arflow.yaml"


def timed(render, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        render()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--template", nargs="+", default=["reminder.txt", "reminder.subject"])
    args = parser.parse_args()
    config = load_config(EXAMPLE)
    context = sample_context(config)
    templates = templates_for(config)
    plain_env = jinja2.Environment(
        loader=templates.env.loader,
        undefined=jinja2.StrictUndefined,
        autoescape=templates.env.autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    ours = set(templates.env.filters) - set(jinja2.filters.FILTERS)  # money, date, days, …
    plain_env.filters.update({name: templates.env.filters[name] for name in ours})
    for spec in args.template:
        name, kind = spec.rsplit(".", 1)
        floor = plain_env.get_template(templates.filename(name, kind))
        template = templates.env.get_template(templates.filename(name, kind))
        ways = {
            "Environment": lambda floor=floor: floor.render(context).strip(),
            "template.render": lambda template=template: template.render(context).strip(),
            "Templates.render": lambda name=name, kind=kind: templates.render(name, kind, context),
        }
        assert len({render() for render in ways.values()}) == 1
        rounds: dict[str, list[float]] = {label: [] for label in ways}
        for _ in range(args.repeat):
            for label, render in ways.items():
                rounds[label].append(timed(render, args.n))
        base = statistics.median(rounds["Environment"])
        for label, times in rounds.items():
            median = statistics.median(times)
            print(
                f"{spec:20s} {label:18s} {median / args.n * 1e6:7.2f} µs  ratio {median / base:.2f}"
            )


if __name__ == "__main__":
    main()
