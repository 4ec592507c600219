"""`--format csv` of each listing: a header row and a spreadsheet's rows (ISO dates, plain
decimal amounts with their currency in a column of its own, a row per currency where a
customer owes in several; text that would start a formula made safe), written by
`listing.write_csv`. No totals row: a spreadsheet sums."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from arflow.charts import forecast_chased, forecast_fees, forecast_groups
from arflow.desk_lists import task_state
from arflow.ledger import money_text
from arflow.sources.csvfile import spreadsheet_text
from arflow.tables import HISTORY_KEYS, status_holds

Rows = tuple[list[str], Iterable[list[object]]]


def _text(value: str | None) -> str:
    return spreadsheet_text(value or "")


def _per_currency(*amounts: dict[str, str]) -> list[tuple[str, list[str]]]:
    """A row's currencies, each with its amount in each of `amounts` (0.00 where none); one
    row without a currency or amounts when nothing is owed."""
    currencies = sorted({c for each in amounts for c in each})
    if not currencies:
        return [("", ["" for _ in amounts])]
    return [(c, [each.get(c, "0.00") for each in amounts]) for c in currencies]


STATUS_HEADER = [
    "customer_id",
    "name",
    "workflow",
    "source",
    "last_step",
    "last_date",
    "next_step",
    "next_date",
    "finished",
    "currency",
    "open",
    "overdue",
    "status",
    "specialist",
    "holds",
]


def status_csv(rows: list[dict]) -> Rows:
    def lines() -> Iterator[list[object]]:
        for r in rows:
            holds = "; ".join(status_holds(r))
            for w in r["workflows"] or [None]:
                where = (
                    ["", "", "", "", "", "", ""]
                    if w is None
                    else [
                        w["workflow"],
                        w["source"],
                        w["last_step"] or "",
                        w["last_date"] or "",
                        w["next_step"] or "",
                        w["next_date"] or "",
                        "yes" if w["finished"] else "no",
                    ]
                )
                for currency, (owed, overdue) in _per_currency(r["open"], r["overdue"]):
                    yield [
                        _text(r["customer_id"]),
                        _text(r["name"]),
                        *where,
                        currency,
                        owed,
                        overdue,
                        _text(r["status"]),
                        _text(r["specialist"]),
                        _text(holds),
                    ]

    return STATUS_HEADER, lines()


CUSTOMERS_HEADER = [
    "customer_id",
    "name",
    "email",
    "phone",
    "open_invoices",
    "currency",
    "open",
    "missing",
]


def customers_csv(rows: list[dict]) -> Rows:
    return CUSTOMERS_HEADER, (
        [
            _text(r["customer_id"]),
            _text(r["name"]),
            _text(", ".join(r["email"])),
            _text(r["phone"]),
            r["open_invoices"] if n == 0 else "",  # counted once: a column sums right
            currency,
            owed,
            ", ".join(r["missing"]),
        ]
        for r in rows
        for n, (currency, (owed,)) in enumerate(_per_currency(r["open"]))
    )


# the pipe's columns, the customer named as in every CSV
HISTORY_HEADER = ["date", "customer_id", *HISTORY_KEYS[2:]]


def history_csv(entries: Iterable[dict]) -> Rows:
    return HISTORY_HEADER, (
        [
            r["as_of"],
            _text(r["customer_id"]),
            r["workflow"],
            r["step"],
            r["kind"],
            r["state"],
            _text(r["reason"] or r["error"] or ""),
            _text(", ".join(r["recipients"] or [])),
            _text(", ".join(r["invoices"])),
            _text(r["key"]),
            r["updated_at"][:19] + "Z",  # ISO 8601, UTC (as JSON has it)
            _text(" — ".join(filter(None, [r["subject"], r.get("description")]))),
        ]
        for r in entries
    )


TASKS_HEADER = ["id", "due", "customer_id", "kind", "title", "assignee", "invoices", "state"]


def tasks_csv(rows: list[dict], today: date) -> Rows:
    return TASKS_HEADER, (
        [
            r["id"],
            r["due"],
            _text(r["customer_id"]),
            r["kind"],
            _text(r["title"]),
            _text(r["assignee"]),
            _text(", ".join(r["invoices"])),
            task_state(r, today),
        ]
        for r in rows
    )


WORKFLOWS_HEADER = [
    "id",
    "name",
    "enabled",
    "anchor",
    "schedule",
    "steps",
    "then",
    "assigned",
    "customers",
]


def workflows_csv(rows: list[dict]) -> Rows:
    return WORKFLOWS_HEADER, (
        [
            r["id"],
            _text(r["name"]),
            "yes" if r["enabled"] else "no",
            r["kind"],
            _text(r["schedule"]),
            r["steps"],
            r["then"] or "",
            len(r["assigned"]),
            _text(", ".join(r["assigned"])),
        ]
        for r in rows
    )


FORECAST_HEADER = ["date", "workflow", "step", "actions", "customers", "currency", "chased"]


def forecast_csv(days: list) -> Rows:
    """A row per day, workflow, step and currency chased (its actions and customers counted on
    the first, so a column sums right); days with nothing planned have no row. When a step
    charges late fees, a `fees` column: what it charges in the row's currency."""
    fees = forecast_fees(days)

    def lines() -> Iterator[list[object]]:
        for day, wid, step, actions, customers in forecast_groups(days):
            chased = forecast_chased(customers)
            charged = fees.get((day, wid, step), {})
            for n, currency in enumerate(sorted(set(chased) | set(charged)) or [""]):
                amount = chased.get(currency)
                yield [
                    day.isoformat(),
                    wid,
                    step,
                    *((actions, len(customers)) if n == 0 else ("", "")),  # counted once
                    currency,
                    "" if amount is None else money_text(amount),
                ] + ([money_text(charged[currency]) if currency in charged else ""] if fees else [])

    return FORECAST_HEADER + (["fees"] if fees else []), lines()


SIMULATE_HEADER = [
    "workflow",
    "step",
    "actions",
    "invoices",
    "paid_7d",
    "paid_14d",
    "paid_30d",
    "median_days",
    "unpaid",
]


def simulate_csv(steps: Iterable) -> Rows:
    """A row per workflow step (the actions per day are in --format json); when a step charged
    late fees, a `fees` column (`EUR 47.74; GBP 3.10`)."""
    steps = list(steps)
    charged = any(s.fees for s in steps)
    return SIMULATE_HEADER + (["fees"] if charged else []), (
        [
            s.workflow,
            s.step,
            s.actions,
            s.invoices,
            s.paid_7,
            s.paid_14,
            s.paid_30,
            "" if s.median_days_to_pay is None else f"{s.median_days_to_pay:g}",
            s.unpaid,
        ]
        + (
            ["; ".join(f"{cur} {money_text(v)}" for cur, v in sorted(s.fees.items()))]
            if charged
            else []
        )
        for s in steps
    )
