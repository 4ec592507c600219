"""What `arflow plans` shows of each payment plan (issue 32), and the line `arflow status`
gives a customer's plans: as rows, JSON and CSV."""

from __future__ import annotations

from datetime import date

from arflow.plans.standing import Standing

CSV_HEADER = [
    "plan",
    "customer_id",
    "invoices",
    "currency",
    "total",
    "paid",
    "state",
    "instalments_met",
    "instalments",
    "next_date",
    "next_amount",
    "made_on",
]


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def plan_document(as_of: date, standings: list[Standing]) -> dict:
    """`arflow plans --format json`: amounts as decimal strings, dates ISO."""
    return {
        "as_of": as_of.isoformat(),
        "plans": [
            {
                "id": s.plan.plan_id,
                "customer_id": s.plan.customer_id,
                "invoices": list(s.plan.invoices),
                "currency": s.plan.currency,
                "total": str(s.plan.total),
                "paid": str(s.paid),
                "state": s.state,
                "made_on": s.plan.made_on.isoformat(),
                "cancelled_on": _day(s.plan.cancelled_on),
                "broken_on": _day(s.broken_on),
                "instalments": [
                    {
                        "number": i.n,
                        "date": i.due.isoformat(),
                        "amount": str(i.amount),
                        "paid": str(i.paid),
                        "state": i.state,
                    }
                    for i in s.instalments
                ],
            }
            for s in standings
        ],
    }


def plan_rows(standings: list[Standing]) -> list[list[object]]:
    """One row per plan, in CSV_HEADER's order (amounts as Decimal, dates ISO)."""
    rows: list[list[object]] = []
    for s in standings:
        upcoming = s.next if s.state not in ("cancelled", "complete") else None
        rows.append(
            [
                s.plan.plan_id,
                s.plan.customer_id,
                " ".join(s.plan.invoices),
                s.plan.currency,
                s.plan.total,
                s.paid,
                s.state,
                sum(i.state == "met" for i in s.instalments),
                len(s.instalments),
                upcoming.due.isoformat() if upcoming else "",
                upcoming.unpaid if upcoming else "",
                s.plan.made_on.isoformat(),
            ]
        )
    return rows


def status_line(s: Standing) -> str:
    """A plan as `arflow status` says it: `plan 3 on track: 1 of 3 met, next USD 400.00 on
    2026-02-15`."""
    met = sum(i.state == "met" for i in s.instalments)
    text = f"plan {s.plan.plan_id} {s.state}: {met} of {len(s.instalments)} met"
    upcoming = s.next
    if s.state == "broken" and s.broken_on is not None:
        return f"{text}, invoices chased again from {s.broken_on}"
    if upcoming is not None and s.state == "on track":
        return f"{text}, next {s.plan.currency} {upcoming.unpaid} on {upcoming.due}"
    return text
