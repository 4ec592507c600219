"""The desk's other lists: `arflow tasks`, `arflow workflows` and `arflow customers`, each a
table in a terminal and a header line, tab-separated lines and its totals in a pipe."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rich.console import Console
from rich.text import Text

from arflow.listing import Cell, Col, Listing, count_text, print_listing, summed
from arflow.tables import amounts_text

TASK_COLUMNS = [
    Col("#", "id", right=True),
    Col("Due", "due"),
    Col("Customer", "customer"),
    Col("Kind", "kind"),
    Col("Title", "title", token=False),
    Col("Assignee", "assignee", token=False, drop=2),
    Col("Invoices", "invoices", token=False, drop=1),
    Col("State", "state", token=False),
]


def task_state(r: dict, today: date) -> str:
    if r["done_at"]:
        return "done"
    return "late" if r["due"] < today.isoformat() else "open"


def print_tasks(console: Console, rows: list[dict], today: date, *, plain: bool) -> None:
    states: dict[str, int] = {}
    lines: list[list[Cell]] = []
    for r in rows:
        state = task_state(r, today)
        states[state] = states.get(state, 0) + 1
        lines.append(
            [
                r["id"],
                Text(r["due"], style="red" if state == "late" else ""),
                r["customer_id"],
                r["kind"],
                r["title"],
                r["assignee"] or "—",
                ", ".join(r["invoices"]),
                state,
            ]
        )
    totals: list[Cell] = ["total", "", "", "", f"{len(rows)} task(s)", "", "", count_text(states)]
    print_listing(
        console,
        Listing(f"arflow tasks: {len(rows)}", TASK_COLUMNS, lines, [totals], "No open tasks."),
        plain=plain,
    )


WORKFLOW_COLUMNS = [
    Col("Id", "id"),
    Col("Name", "name", token=False, drop=2),
    Col("Enabled", "enabled", token=False),
    Col("Anchor / schedule", "anchor", token=False),
    Col("Steps", "steps", right=True),
    Col("Then", "then", drop=1),
    Col("Assigned", "assigned", right=True),
    Col("Customers", "customers", token=False, drop=3),
]


def print_workflows(console: Console, rows: list[dict], *, plain: bool) -> None:
    lines: list[list[Cell]] = [
        [
            r["id"],
            r["name"],
            "yes" if r["enabled"] else "no",
            f"campaign: {r['schedule']}" if r["schedule"] else r["kind"],
            r["steps"],
            r["then"] or "—",
            len(r["assigned"]),
            ", ".join(r["assigned"][:8]) + (" …" if len(r["assigned"]) > 8 else ""),
        ]
        for r in rows
    ]
    enabled = sum(1 for r in rows if r["enabled"])
    totals: list[Cell] = [
        "total",
        f"{len(rows)} workflow(s)",
        f"{enabled} yes",
        "",
        sum(r["steps"] for r in rows),
        "",
        sum(len(r["assigned"]) for r in rows),
        "",
    ]
    print_listing(
        console,
        Listing(
            f"arflow workflows: {len(rows)}", WORKFLOW_COLUMNS, lines, [totals], "No workflows."
        ),
        plain=plain,
    )


CUSTOMER_COLUMNS = [
    Col("Customer", "customer"),
    Col("Name", "name", token=False, drop=1),
    Col("Email", "email", token=False),
    Col("Phone", "phone", drop=2),
    Col("Open", "open_invoices", right=True),
    Col("Owed", "owed", right=True),
    Col("Missing", "missing", token=False),
]


def print_customers(console: Console, rows: list[dict], locale: str, *, plain: bool) -> None:
    """`arflow customers`: one line each, what is missing in red."""
    lines: list[list[Cell]] = [
        [
            r["customer_id"],
            r["name"],
            ", ".join(r["email"]) or "—",
            r["phone"] or "—",
            r["open_invoices"],
            amounts_text({k: Decimal(v) for k, v in r["open"].items()}, locale) or "—",
            Text(", ".join(r["missing"]) or "—", style="red" if r["missing"] else ""),
        ]
        for r in rows
    ]
    totals: list[Cell] = [
        "total",
        f"{len(rows)} customer(s)",
        "",
        "",
        sum(r["open_invoices"] for r in rows),
        amounts_text(summed(r["open"] for r in rows), locale) or "—",
        f"{sum(1 for r in rows if r['missing'])} missing something",
    ]
    print_listing(
        console,
        Listing(
            f"arflow customers: {len(rows)}", CUSTOMER_COLUMNS, lines, [totals], "No customers."
        ),
        plain=plain,
    )
