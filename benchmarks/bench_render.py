"""Time `Templates.render` against Jinja's plain `template.render(ctx)` on example templates.

Each render uses the sample context of the example folder (`arflow.render.sample_context`).
Prints µs per render and the ratio to plain `template.render` measured in the same run
(median of R rounds of N renders each).

Usage: python benchmarks/bench_render.py [N] [--repeat R] [--template NAME.KIND ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from arflow.config import load_config
from arflow.render import sample_context, templates_for

EXAMPLE = Path(__file__).resolve().parents[1] / "arflow" / "example" / "arflow.yaml"


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
    for spec in args.template:
        name, kind = spec.rsplit(".", 1)
        template = templates.env.get_template(templates.filename(name, kind))
        def plain(template=template) -> str:
            return template.render(context).strip()

        def arflow(name=name, kind=kind) -> str:
            return templates.render(name, kind, context)
        assert plain() == arflow()
        rounds = {"template.render": [], "Templates.render": []}
        for _ in range(args.repeat):
            rounds["template.render"].append(timed(plain, args.n))
            rounds["Templates.render"].append(timed(arflow, args.n))
        base = statistics.median(rounds["template.render"])
        for label, times in rounds.items():
            median = statistics.median(times)
            print(f"{spec:20s} {label:18s} {median / args.n * 1e6:7.2f} µs  "
                  f"ratio {median / base:.2f}")


if __name__ == "__main__":
    main()
