"""Payment plans in the state (issue 32): each plan as `arflow plan` made it (its invoices,
instalments and total), its end by hand (`arflow plans cancel`), and what runs saw of it: an
instalment met or missed, the plan broken. An event is recorded once (plan, instalment, kind);
a dry run's transactions write nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arflow.state.base import StateBase
from arflow.state.errors import named_errors

PLAN_ITSELF = 0  # the instalment number of an event about the whole plan (broken)


class PlanRow(NamedTuple):
    plan_id: int
    customer_id: str
    invoices: tuple[str, ...]
    currency: str
    total: Decimal
    instalments: tuple[tuple[date, Decimal], ...]  # (due day, amount), by day
    made_on: date
    cancelled_on: date | None
    reason: str | None  # why it was cancelled


class PlanEvent(NamedTuple):
    plan_id: int
    instalment: int  # 1…N, or PLAN_ITSELF
    kind: str  # met | missed | broken
    as_of: date


@named_errors
class PlanRecords(StateBase):
    """Payment plans and their events, part of `StateDB`."""

    def add_plan(
        self,
        customer_id: str,
        invoices: list[str],
        currency: str,
        instalments: list[tuple[date, Decimal]],
        made_on: date,
    ) -> int:
        """Record a plan; its id."""
        total = sum((amount for _, amount in instalments), Decimal(0))
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO plans (customer_id, invoices, currency, total, instalments, "
                "made_on, created_at) VALUES (?, ?, ?, ?, ?, ?, datetime('now'))",
                (
                    customer_id,
                    json.dumps(invoices),
                    currency,
                    str(total),
                    json.dumps([[day.isoformat(), str(amount)] for day, amount in instalments]),
                    made_on.isoformat(),
                ),
            )
            return int(cursor.lastrowid or 0)

    def plans(self) -> list[PlanRow]:
        """Every plan, cancelled ones too, by id."""
        rows = self.conn.execute(
            "SELECT id, customer_id, invoices, currency, total, instalments, made_on, "
            "cancelled_on, reason FROM plans ORDER BY id"
        )
        return [
            PlanRow(
                pid,
                cid,
                tuple(json.loads(invoices)),
                currency,
                Decimal(total),
                tuple((date.fromisoformat(d), Decimal(a)) for d, a in json.loads(instalments)),
                date.fromisoformat(made),
                date.fromisoformat(cancelled) if cancelled else None,
                reason,
            )
            for pid, cid, invoices, currency, total, instalments, made, cancelled, reason in rows
        ]

    def cancel_plan(self, plan_id: int, day: date, reason: str | None) -> bool:
        """End a plan by hand from `day` on; False if it was ended already."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE plans SET cancelled_on = ?, reason = ? WHERE id = ? AND "
                "cancelled_on IS NULL",
                (day.isoformat(), reason, plan_id),
            )
            return bool(cursor.rowcount)

    def plan_events(self) -> list[PlanEvent]:
        """Every event recorded, by plan, instalment and day."""
        return [
            PlanEvent(pid, n, kind, date.fromisoformat(day))
            for pid, n, kind, day in self.conn.execute(
                "SELECT plan_id, instalment, kind, as_of FROM plan_events "
                "ORDER BY plan_id, as_of, instalment = 0, instalment, id"
            )
        ]

    def record_plan_events(self, events: Iterable[PlanEvent]) -> None:
        """Events a run saw, each once (one already recorded is left as it is)."""
        rows = [(e.plan_id, e.instalment, e.kind, e.as_of.isoformat()) for e in events]
        if not rows:
            return
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO plan_events (plan_id, instalment, kind, as_of, "
                "created_at) VALUES (?, ?, ?, ?, datetime('now'))",
                rows,
            )

    def plan_history_rows(self, customer: str | None, since: date | None) -> list[dict]:
        """Plans made and cancelled, and their events, as lines of `history` (of one customer,
        from `since` on), by day."""
        first = (since or date.min).isoformat()
        plans = {p.plan_id: p for p in self.plans() if customer in (None, p.customer_id)}
        found = []
        for plan in plans.values():
            found.append(_line(plan, plan.made_on, "made", _made(plan)))
            if plan.cancelled_on is not None:
                why = f": {plan.reason}" if plan.reason else ""
                found.append(_line(plan, plan.cancelled_on, "cancelled", f"cancelled{why}"))
        for event in self.plan_events():
            of = plans.get(event.plan_id)
            if of is not None:
                found.append(_line(of, event.as_of, event.kind, _described(of, event)))
        return sorted(
            (row for row in found if row["as_of"] >= first),
            key=lambda row: (row["as_of"], row["customer_id"]),
        )


def _made(plan: PlanRow) -> str:
    days = ", ".join(f"{amount} on {day}" for day, amount in plan.instalments)
    return f"made: {len(plan.instalments)} instalment(s) of {plan.currency} {plan.total}: {days}"


def _described(plan: PlanRow, event: PlanEvent) -> str:
    if event.instalment == PLAN_ITSELF:
        return "broken: an instalment was missed"
    day, amount = plan.instalments[event.instalment - 1]
    return (
        f"instalment {event.instalment} of {len(plan.instalments)} ({plan.currency} {amount}, "
        f"due {day}) {event.kind}"
    )


def _line(plan: PlanRow, day: date, kind: str, text: str) -> dict:
    return {
        "as_of": day.isoformat(),
        "customer_id": plan.customer_id,
        "workflow": "plans",
        "step": f"plan-{plan.plan_id}",
        "kind": kind,
        "state": "done",
        "reason": None,
        "error": None,
        "recipients": [],
        "invoices": list(plan.invoices),
        "key": f"plan:{plan.plan_id}/{kind}",
        "keys": [],  # no action key: what a person decided, or what a run saw
        "updated_at": day.isoformat(),
        "subject": None,
        "description": f"plan {plan.plan_id} {text}",
    }
