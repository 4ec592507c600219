"""What `arflow simulate` found (SPEC 4.11), apart from the replay that finds it
(`arflow.replay`): per workflow step its actions, the invoices it reached and how soon they
were paid, and the documents of both. The report's pages read these without running the
pipeline."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arflow.ledger import Invoice


@dataclass(slots=True)
class StepFigures:
    """What one workflow step did over a simulation, and what followed."""

    workflow: str
    step: str
    actions: int = 0
    reached: dict[str, date] = field(default_factory=dict)  # invoice → the first day it did
    paid_7: int = 0
    paid_14: int = 0
    paid_30: int = 0
    median_days_to_pay: float | None = None
    unpaid: int = 0
    fees: dict[str, Decimal] = field(default_factory=dict)  # currency → charged by the step

    @property
    def invoices(self) -> int:
        return len(self.reached)


@dataclass(slots=True)
class Simulation:
    first: date
    last: date
    steps: list[StepFigures]
    days: list[tuple[date, int]]  # actions per day
    errors: list = field(default_factory=list)


CAMPAIGN_STEP = "statement"  # a campaign's occurrences are counted together


def count_paid(step: StepFigures, invoices: dict[str, Invoice], last: date) -> None:
    """How soon the invoices `step` reached were paid (up to `last`), and how many were not."""
    waits = []
    for number, day in step.reached.items():
        inv = invoices.get(number)
        paid = inv.paid_date if inv is not None else None
        if paid is None or paid > last:
            step.unpaid += 1
            continue
        wait = max((paid - day).days, 0)
        waits.append(wait)
        step.paid_7 += wait <= 7
        step.paid_14 += wait <= 14
        step.paid_30 += wait <= 30
    step.median_days_to_pay = float(statistics.median(waits)) if waits else None


def simulation_document(sim: Simulation) -> dict:
    """SPEC 8's JSON."""
    return {
        "from": sim.first.isoformat(),
        "to": sim.last.isoformat(),
        "steps": [step_figures_document(s) for s in sim.steps],
        "days": [{"date": day.isoformat(), "actions": n} for day, n in sim.days],
    }


def step_figures_document(s: StepFigures) -> dict:
    return {
        "workflow": s.workflow,
        "step": s.step,
        "actions": s.actions,
        "invoices": s.invoices,
        "paid_7": s.paid_7,
        "paid_14": s.paid_14,
        "paid_30": s.paid_30,
        "median_days_to_pay": s.median_days_to_pay,
        "unpaid": s.unpaid,
        "fees": {cur: str(amount) for cur, amount in sorted(s.fees.items())},
    }
