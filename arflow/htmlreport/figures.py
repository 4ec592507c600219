"""The report's figures as one document of plain data (decimal strings, ISO days): what the
page shows and nothing else. Each part reuses the rule a command already has: the aging is
`aging`'s, the KPIs `kpi`'s, the forecast `forecast`'s, the step figures `simulate`'s
(`replay.count_paid`), promises kept or broken the desk's (`accounts.promise_state`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arflow.accounts import promise_state
from arflow.aging import Aging, aging_document
from arflow.charts import forecast_chased, forecast_groups
from arflow.kpi import kpi_document, kpis, month_ends
from arflow.ledger import Invoice, money_text
from arflow.simulation import (
    CAMPAIGN_STEP,
    Simulation,
    StepFigures,
    count_paid,
    step_figures_document,
)
from arflow.state.ledger import carried_out

ACTIVITY_DAYS = 30  # "what arflow did": the last 30 days, the report's day included
TREND_MONTHS = 12
LARGEST = 10  # accounts listed, largest first
DIGEST_LARGEST = 5
# rows of `history` that are not actions: what arflow heard or recorded, by their workflow
EVENTS = {"inbox", "credit_hold", "disputes", "plans", "fees"}


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """What the report command read; the document is made from these alone."""

    company: str
    locale: str
    as_of: date
    aging: Aging
    invoices: list[Invoice]  # the sources' invoices, as `kpi` reads them: the KPIs, the trend
    aged: list[Invoice]  # as `aging` sees them (payments and agreed credits lowered)
    history: list[dict]  # `history`'s rows of runs up to the report's day, none later
    promises: list[dict]  # the desk's promises (not cancelled)
    forecast: list  # `forecast`'s days: (day, result)
    backtest: Simulation | None  # `simulate`'s, when asked for
    min_balance: Decimal
    campaigns: frozenset[str] = frozenset()  # their occurrences count as one step


def report_document(inputs: ReportInputs) -> dict:
    day = inputs.as_of
    return {
        "as_of": day.isoformat(),
        "company": inputs.company,
        "aging": aging_document(inputs.aging),
        "largest": largest_accounts(inputs.aging, inputs.aged, day, inputs.min_balance),
        "kpis": {k.currency: kpi_document(k) for k in kpis(inputs.invoices, day)},
        "trend": trend(inputs.invoices, day),
        "activity": activity(inputs, ACTIVITY_DAYS, inputs.as_of),
        "forecast": forecast_part(inputs.forecast),
        "effectiveness": effectiveness(inputs, day),
    }


def summary_document(inputs: ReportInputs, days: int) -> dict:
    """The weekly digest's part of the report: the KPIs, the aging, the five largest
    accounts, what arflow did in the `days` days before its day (no trend, forecast or step figures:
    a run makes it, and those replay or recount the whole ledger)."""
    day = inputs.as_of
    return {
        "as_of": day.isoformat(),
        "company": inputs.company,
        "aging": aging_document(inputs.aging),
        "largest": largest_accounts(inputs.aging, inputs.aged, day, inputs.min_balance)[
            :DIGEST_LARGEST
        ],
        "kpis": {k.currency: kpi_document(k) for k in kpis(inputs.invoices, day)},
        # the week before the digest's day: a run makes it before that night's sends
        "activity": activity(inputs, days, day - timedelta(days=1)),
    }


def largest_accounts(
    report: Aging, invoices: list[Invoice], day: date, min_balance: Decimal
) -> list[dict]:
    """The accounts owing most (the aging's order), each with its oldest open invoice (open:
    the ledger's one rule, so no void, draft or settled leftover)."""
    oldest: dict[tuple[str, str], Invoice] = {}
    for inv in invoices:
        if not inv.is_open(day, min_balance):
            continue
        key = (inv.customer_id, inv.currency)
        if key not in oldest or (inv.due_date, inv.number) < (
            oldest[key].due_date,
            oldest[key].number,
        ):
            oldest[key] = inv
    found = []
    for row in report.customers[:LARGEST]:
        first = oldest.get((row.customer_id or "", row.currency))
        found.append(
            {
                "customer_id": row.customer_id,
                "name": row.name,
                "currency": row.currency,
                "total": money_text(row.total),
                "past_due": money_text(row.total - row.buckets.get("current", Decimal(0))),
                "oldest": None
                if first is None
                else {
                    "invoice": first.number,
                    "due_date": first.due_date.isoformat(),
                    "days_past_due": max(first.days_past_due(day), 0),
                },
            }
        )
    return found


def trend(invoices: list[Invoice], day: date) -> dict:
    """The KPIs at each of the last 12 months' ends where the ledger's history allows: a past
    day's receivables need paid dates (`paid_date`), and a month before the first invoice
    tells nothing."""
    if not any(inv.paid_date is not None for inv in invoices):
        return {"months": [], "why": "the invoices have no paid dates (a paid_date: column)"}
    first = min((inv.issue_date for inv in invoices), default=day)
    ends = [d for d in month_ends(day, TREND_MONTHS) if d >= first]
    months = []
    for end in ends:
        months.append(
            {
                "month": end.strftime("%Y-%m"),
                "day": end.isoformat(),
                "currencies": {k.currency: kpi_document(k) for k in kpis(invoices, end)},
            }
        )
    return {"months": months, "why": None if months else "no invoice before the last month"}


def activity(inputs: ReportInputs, days: int, last: date) -> dict:
    """What arflow did in the `days` days up to `last`: the actions carried out by workflow,
    step and kind; what it heard and recorded (replies, bounces, holds, disputes, plans);
    promises whose day fell in the window, kept or broken."""
    first = last - timedelta(days=days - 1)
    actions: Counter[tuple[str, str, str]] = Counter()
    events: Counter[tuple[str, str]] = Counter()
    for row in inputs.history:
        if not first.isoformat() <= row["as_of"] <= last.isoformat():
            continue
        if heard(row):
            events[(row["workflow"], row["kind"])] += 1
        elif carried_out(row["state"]):
            actions[(row["workflow"], step_of(row, inputs.campaigns), row["kind"])] += 1
    by_number = {inv.number: inv for inv in inputs.aged}
    kept: Counter[str] = Counter()
    for p in inputs.promises:
        if first.isoformat() <= p["date"] <= last.isoformat():
            state = promise_state(p, by_number.get(p["invoice"]), last, inputs.min_balance)
            kept[state["state"]] += 1
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "actions": [
            {"workflow": w, "step": s, "kind": k, "count": n}
            for (w, s, k), n in sorted(actions.items())
        ],
        "events": [{"what": w, "kind": k, "count": n} for (w, k), n in sorted(events.items())],
        "promises": {s: kept[s] for s in ("kept", "broken", "pending")},
    }


def forecast_part(days: list) -> dict:
    """Per day of the forecast: its actions and the amount they chase per currency (each
    customer's listed invoices once a step: `forecast`'s own count)."""
    found = []
    for day, result in days:
        chased: dict[str, Decimal] = {}
        for d, _wid, _step, _actions, customers in forecast_groups([(day, result)]):
            assert d == day
            for currency, value in forecast_chased(customers).items():
                chased[currency] = chased.get(currency, Decimal(0)) + value
        found.append(
            {
                "date": day.isoformat(),
                "actions": len(result.plan.actions),
                "amounts": {c: money_text(v) for c, v in sorted(chased.items())},
            }
        )
    return {
        "from": found[0]["date"] if found else None,
        "to": found[-1]["date"] if found else None,
        "days": found,
    }


def heard(row: dict) -> bool:
    """A `history` row of something arflow heard or recorded (a reply, a hold, a dispute, a
    plan, a waiver): no action of a step."""
    return row["workflow"] in EVENTS and not row["keys"]


def step_of(row: dict, campaigns: frozenset[str]) -> str:
    """A recorded action's step; a campaign's occurrences are one step, as `simulate` counts."""
    return CAMPAIGN_STEP if row["workflow"] in campaigns else row["step"]


def effectiveness(inputs: ReportInputs, day: date) -> dict:
    """Per step, from what arflow really did: the invoices each step reached (the first day
    it did), how many were paid within 7, 14 and 30 days of it, the median days to pay, how
    many are still unpaid; `simulate`'s rule on the state's records instead of a replay."""
    figures: dict[tuple[str, str], StepFigures] = {}
    invoices, backtest = inputs.invoices, inputs.backtest
    for row in inputs.history:
        if heard(row):
            continue
        if not carried_out(row["state"]):
            continue
        key = (row["workflow"], step_of(row, inputs.campaigns))
        step = figures.setdefault(key, StepFigures(*key))
        step.actions += 1
        for number in row["invoices"]:
            step.reached.setdefault(number, date.fromisoformat(row["as_of"]))
    by_number = {inv.number: inv for inv in invoices}
    for step in figures.values():
        count_paid(step, by_number, day)
    return {
        "paid_dates": any(inv.paid_date is not None for inv in invoices),
        "steps": [step_figures_document(s) for s in sorted_steps(figures.values()) if s.reached],
        "backtest": None
        if backtest is None
        else {
            "from": backtest.first.isoformat(),
            "to": backtest.last.isoformat(),
            "steps": [step_figures_document(s) for s in backtest.steps if s.reached],
        },
    }


def sorted_steps(steps: Iterable[StepFigures]) -> list[StepFigures]:
    """In order of the first day each step reached an invoice, then by name."""
    return sorted(steps, key=lambda s: (min(s.reached.values(), default=date.max), s.workflow))
