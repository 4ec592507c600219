"""A forecast's and a simulation's later days plan only the customers something may be due for
(issue 30, forecast option (b): `planner.next_due`, `due_days.DueDays`), and say exactly what
planning every customer every day says: the same actions, skips, sequences started and ended,
on every day. Real folders (the example, and ledgers `benchmarks/generate.py` writes), real
state databases made by real runs and desk commands; the reference is the old path, every
customer every day (`every_day=True`)."""

from __future__ import annotations

import csv
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from arflow.project import load_project
from arflow.replay import days_between, forecast, replay, simulate, simulation_document
from arflow.report import action_dict
from arflow.sources import load_ledger

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from generate import generate


def _days(config: Path, first: date, last: date, *, copy_state: bool, every_day: bool) -> list:
    """Each day's plan, as the run recorded it: its actions, skips, sequences started and
    ended; and how many invoices the day planned over."""
    project = load_project(config)
    ledger = load_ledger(project.config)
    found = []
    for day, result in replay(
        project,
        ledger,
        days_between(first, last),
        copy_state=copy_state,
        every_day=every_day,
    ):
        plan = result.plan
        found.append(
            (
                {
                    "date": day.isoformat(),
                    "actions": [action_dict(a) for a in plan.actions],
                    "skipped": [
                        (
                            s.workflow,
                            s.step,
                            s.customer_id,
                            s.invoices,
                            s.why,
                            list(map(str, s.keys)),
                        )
                        for s in plan.skipped
                    ],
                    "started": sorted(plan.started.items()),
                    "ended": sorted(plan.ended.items()),
                },
                plan.invoices,
            )
        )
    return found


def _same_every_day(config: Path, first: date, last: date, *, copy_state: bool = True) -> list:
    """Both paths, compared day by day; returns the days (with their sizes) of the new one."""
    reference = _days(config, first, last, copy_state=copy_state, every_day=True)
    planned = _days(config, first, last, copy_state=copy_state, every_day=False)
    assert [d for d, _ in planned] == [d for d, _ in reference]
    for (ours, _), (theirs, _) in zip(planned, reference, strict=True):
        assert ours == theirs, ours["date"]
    return planned


def _open_invoices(folder: Path, as_of: date) -> dict[str, list[str]]:
    """Customer → its invoices open on `as_of` in a generated folder, by number."""
    found: dict[str, list[str]] = {}
    with (folder / "invoices.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            issued = date.fromisoformat(row["issue_date"])
            paid = date.fromisoformat(row["paid_date"]) if row["paid_date"] else None
            if issued <= as_of and (paid is None or paid > as_of):
                found.setdefault(row["customer_id"], []).append(row["number"])
    return {cid: sorted(numbers) for cid, numbers in sorted(found.items())}


def _generated_with_history(cli, folder: Path, n: int, seed: int, gap: bool, base: date) -> Path:
    """A folder generated as of `base`, after a real run ten days before, with assigned
    sequences (a chain follows them), paused customers and invoices, promises kept and
    broken, and optionally `contact_gap: 3`."""
    generate(n, folder, base, seed)
    config = folder / "arflow.yaml"
    if gap:
        config.write_text(config.read_text() + "contact_gap: 3\n")

    def day(offset: int) -> str:
        return (base + timedelta(days=offset)).isoformat()

    owing = list(_open_invoices(folder, base - timedelta(days=10)).items())
    for cid, _ in owing[:3]:
        cli("assign", cid, "--workflow", "ar-workflow", "--date", day(-24), "--config", config)
    cli("assign", owing[3][0], "--workflow", "ar-workflow", "--config", config)
    cli("run", "--as-of", day(-10), "--config", config)
    desk = [
        ("pause", "customer", owing[4][0], "--until", day(3)),
        ("pause", "customer", owing[5][0]),
        ("pause", "invoice", owing[6][1][0], "--until", day(5)),
        ("promise", owing[0][1][0], "--date", day(2)),  # broken: ar-workflow's chain
        ("promise", owing[7][1][0], "--date", day(6)),
        ("promise", owing[8][1][0], "--date", day(16)),
    ]
    for args in desk:
        cli(*args, "--as-of", day(-9), "--config", config)
    return config


APRIL_STATEMENT = ["2026-04-06", "2026-04-07", "2026-04-08", "2026-04-09"]


@pytest.mark.parametrize(
    ("n", "seed", "gap", "first", "days", "everyone"),
    [
        (300, 7, False, date(2026, 3, 9), 21, []),  # holds that end, a broken promise, a chain
        (300, 11, True, date(2026, 3, 16), 14, []),  # the contact gap
        (400, 3, False, date(2026, 3, 28), 14, APRIL_STATEMENT),  # the campaign's days
        (400, 5, True, date(2026, 6, 26), 10, []),  # Independence Day (observed 3 July)
    ],
)
def test_a_forecast_of_the_due_customers_is_a_forecast_of_everyone(
    cli, tmp_path, n, seed, gap, first, days, everyone
):
    base = date(2026, 7, 1) if first.month == 6 else date(2026, 3, 16)
    config = _generated_with_history(cli, tmp_path / "ar", n, seed, gap, base)
    planned = _same_every_day(config, first, first + timedelta(days=days - 1))
    # the later days planned fewer invoices (all of them on a campaign's days only), and
    # something happened on them
    whole = planned[0][1]
    assert whole > 0
    assert [day["date"] for day, size in planned[1:] if size == whole] == everyone
    assert sum(len(day["actions"]) for day, _ in planned[1:]) >= 10


def test_the_example_forecast_and_simulation_are_the_same_either_way(tmp_path):
    from tests.conftest import example_after_nights

    config = example_after_nights(tmp_path / "ex")
    for first in (date(2026, 4, 7), date(2026, 4, 20), date(2026, 4, 30)):
        _same_every_day(config, first, first + timedelta(days=20))
    planned = _same_every_day(config, date(2026, 2, 1), date(2026, 5, 31), copy_state=False)
    assert sum(len(day["actions"]) for day, _ in planned) >= 30
    project = load_project(config)
    ledger = load_ledger(project.config)
    ours = forecast(project, ledger, date(2026, 4, 8), 14)
    theirs = forecast(project, ledger, date(2026, 4, 8), 14, every_day=True)
    assert [[action_dict(a) for a in r.plan.actions] for _, r in ours] == [
        [action_dict(a) for a in r.plan.actions] for _, r in theirs
    ]
    assert simulation_document(
        simulate(project, ledger, date(2026, 1, 15), date(2026, 6, 30))
    ) == simulation_document(
        simulate(project, ledger, date(2026, 1, 15), date(2026, 6, 30), every_day=True)
    )


def test_a_simulation_of_a_generated_ledger_is_the_same_either_way(cli, tmp_path):
    generate(400, tmp_path / "ar", date(2026, 3, 16), 13)
    config = tmp_path / "ar" / "arflow.yaml"
    # invoices issued and paid along the way: each changes its customer on a known day
    planned = _same_every_day(config, date(2025, 11, 20), date(2026, 1, 10), copy_state=False)
    assert sum(len(day["actions"]) for day, _ in planned) >= 100
