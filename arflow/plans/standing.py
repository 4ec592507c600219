"""Where a payment plan stands on a day (issue 32): a pure function of the plan, its invoices'
open balances that day, the events runs recorded and the grace days."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from arflow.state.plans import PLAN_ITSELF, PlanEvent, PlanRow

ZERO = Decimal(0)
ON_TRACK, BROKEN, COMPLETE, CANCELLED = "on track", "broken", "complete", "cancelled"


@dataclass(frozen=True, slots=True)
class Instalment:
    n: int  # 1…N
    due: date
    amount: Decimal
    paid: Decimal  # the part of it paid so far
    state: str  # met | missed | due (its day has come, the grace has not ended) | upcoming

    @property
    def unpaid(self) -> Decimal:
        return self.amount - self.paid


@dataclass(slots=True)
class Standing:
    plan: PlanRow
    paid: Decimal  # what was paid on the plan's invoices since it was made
    instalments: list[Instalment]
    state: str  # on track | broken | complete | cancelled
    broken_on: date | None = None  # broken: the first day its invoices resume
    new_events: list[PlanEvent] = field(default_factory=list)  # what a run records tonight

    @property
    def next(self) -> Instalment | None:
        """The first instalment not met."""
        return next((i for i in self.instalments if i.state != "met"), None)


def standing(
    plan: PlanRow,
    balances: Mapping[str, Decimal],
    recorded: Iterable[PlanEvent],
    as_of: date,
    grace_days: int,
    min_balance: Decimal = ZERO,
) -> Standing:
    """The plan on `as_of`: `balances` are its invoices' open balances that day (one missing
    is paid); an instalment met or a plan broken once stays so (`recorded`: what runs saw up
    to `as_of`, not later). An instalment is met once its unpaid part is at most
    `min_balance`, the tolerance under which an invoice is settled."""
    seen = {
        (e.instalment, e.kind): e.as_of
        for e in recorded
        if e.plan_id == plan.plan_id and e.as_of <= as_of
    }
    owed = sum((balances.get(n, ZERO) for n in plan.invoices), ZERO)
    paid = min(max(plan.total - owed, plan.total - plan.total), plan.total)
    grace = timedelta(days=grace_days)
    instalments, before = [], ZERO
    for n, (due, amount) in enumerate(plan.instalments, 1):
        toward = min(max(paid - before, amount - amount), amount)  # 0.00, not 0
        before += amount
        if amount - toward <= min_balance or (n, "met") in seen:
            state = "met"
        elif as_of > due + grace:
            state = "missed"
        else:
            state = "due" if as_of >= due else "upcoming"
        instalments.append(Instalment(n, due, amount, toward, state))
    found = Standing(plan, paid, instalments, ON_TRACK)
    missed = [i for i in instalments if i.state == "missed"]
    broken_on = seen.get((PLAN_ITSELF, "broken"))
    if broken_on is None and missed:
        broken_on = missed[0].due + grace + timedelta(1)
    cancelled = plan.cancelled_on
    if (
        cancelled is not None
        and cancelled <= as_of
        and (broken_on is None or cancelled < broken_on)
    ):
        found.state = CANCELLED  # ended by hand before it broke (a broken plan stays broken)
        return found
    if broken_on is not None:
        found.state = BROKEN
        found.broken_on = broken_on
    elif all(i.state == "met" for i in instalments):
        found.state = COMPLETE
    found.new_events = _new_events(found, seen, as_of, grace)
    return found


def _new_events(
    found: Standing, seen: dict[tuple[int, str], date], as_of: date, grace: timedelta
) -> list[PlanEvent]:
    """What a run records tonight that no run recorded before: each instalment met (that
    day) or missed (the day after its grace ended), and the plan broken."""
    if (PLAN_ITSELF, "broken") in seen:
        return []  # broken: what happens to it afterwards is the invoices' own story
    pid = found.plan.plan_id
    events = []
    for inst in found.instalments:
        if inst.state == "met" and (inst.n, "met") not in seen:
            events.append(PlanEvent(pid, inst.n, "met", as_of))
        elif inst.state == "missed" and (inst.n, "missed") not in seen:
            events.append(PlanEvent(pid, inst.n, "missed", inst.due + grace + timedelta(1)))
    if found.state == BROKEN and found.broken_on is not None:
        events.append(PlanEvent(pid, PLAN_ITSELF, "broken", found.broken_on))
    return events
