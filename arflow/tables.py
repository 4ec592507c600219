"""The rich tables a person reads in a terminal (the run's actions, history, status, tasks,
workflows, customers), each with its tab-separated lines under cron, and the words they share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from arflow.planner.plan_types import PlannedAction
from arflow.render import MONEY
from arflow.secrets import redact

STATUS_STYLE = {
    "sent": "green",
    "done": "green",
    "failed": "red",
    "unknown": "yellow",
    "sending": "yellow",
    "skipped": "dim",
    "baseline": "dim",
}


def amounts_text(amounts: dict[str, Decimal], locale: str) -> str:
    return ", ".join(MONEY(v, c, locale) for c, v in sorted(amounts.items()))


def recipients_text(a: PlannedAction) -> str:
    shown = list(a.to) + [f"cc {x}" for x in a.cc]
    return redact(", ".join(shown)) if shown else "—"  # a webhook's address


def _detail(a: PlannedAction) -> str:
    spec = a.action.spec
    if a.kind in ("email", "notify") and a.subject:
        return redact(a.subject)
    for attr in ("value", "title", "text", "specialist", "template"):
        if hasattr(spec, attr):
            return str(getattr(spec, attr))
    return ""


STACK_BELOW = 110  # columns: a narrower terminal gets a block per action, not a table


def print_actions(
    console: Console,
    actions: list[PlannedAction],
    title: str,
    locale: str,
    with_status: bool,
    names: dict[str, str],
) -> None:
    """The run's actions for a person: a table whose dates and amounts are never cut (the
    date is the title; names, recipients and subjects fold), or below STACK_BELOW columns one
    block per action."""
    console.print(title, style="bold", markup=False)
    if console.width < STACK_BELOW:
        for a in actions:
            head = Text(f"{names.get(a.customer_id, a.customer_id)}", style="bold")
            head.append(f" · {a.workflow} › {a.step} · {a.kind}")
            if with_status:
                head.append(f" · {a.status}", style=STATUS_STYLE.get(a.status, ""))
            console.print(head)
            # the amount first: a long list of recipients wraps after it
            facts = [
                amounts_text(a.amounts, locale),
                ", ".join(a.invoices),
                "" if recipients_text(a) == "—" else f"to {recipients_text(a)}",
            ]
            # indented, wrapped lines included
            console.print(Padding(Text(" · ".join(f for f in facts if f)), (0, 0, 0, 2)))
            if _detail(a):
                console.print(Padding(Text(_detail(a), style="dim"), (0, 0, 0, 2)))
        return
    table = Table(header_style="bold")
    table.add_column("Customer", overflow="fold", ratio=2)
    table.add_column("Workflow › step", overflow="fold", ratio=2)
    table.add_column("Action", no_wrap=True)
    table.add_column("To", overflow="fold", ratio=2)
    table.add_column("Invoices", overflow="fold", ratio=1)
    table.add_column("Amount", justify="right", no_wrap=True)
    table.add_column("Subject / detail", overflow="fold", ratio=3)
    if with_status:
        table.add_column("Status", no_wrap=True)
    for a in actions:
        row: list[str | Text] = [
            names.get(a.customer_id, a.customer_id),
            f"{a.workflow} › {a.step}",
            a.kind,
            recipients_text(a),
            ", ".join(a.invoices),
            amounts_text(a.amounts, locale),
            _detail(a),
        ]
        if with_status:
            row.append(Text(a.status, style=STATUS_STYLE.get(a.status, "")))
        table.add_row(*row)
    console.print(table)


def print_history(console: Console, entries: Iterable[dict], *, plain: bool) -> None:
    """The action ledger: a table in a terminal, tab-separated lines under cron (written as
    they come)."""
    if plain:
        for r in entries:
            console.file.write(_history_line(r) + "\n")
        return
    rows = list(entries)
    if not rows:
        console.print("No actions recorded.", markup=False)
        return
    if console.width < STACK_BELOW:  # a block per action
        _print_history_blocks(console, rows)
        return
    table = Table(
        title=f"arflow history: {len(rows)} action(s)",
        title_justify="left",
        header_style="bold",
        title_style="bold",
    )
    for name in ("Date", "Customer", "Workflow", "Step", "Action", "State", "Recorded"):
        table.add_column(name, no_wrap=True)
    table.add_column("Invoices · recipients / detail", overflow="fold", ratio=1)
    table.add_column("Key", overflow="fold", style="dim")
    for r in rows:
        table.add_row(
            r["as_of"],
            r["customer_id"],
            r["workflow"],
            r["step"],
            r["kind"],
            Text(r["state"], style=STATUS_STYLE.get(r["state"], "")),
            _recorded(r),
            _history_about(r),
            r["key"],
        )
    console.print(table)


def _history_line(r: dict) -> str:
    """One recorded message (or other action) as a tab-separated line: its invoices as in
    `run`'s lines (INV-1,INV-2), the first of its keys (any of them settles it)."""
    return "\t".join(
        [
            r["as_of"],
            r["customer_id"],
            r["workflow"],
            r["step"],
            r["kind"],
            r["state"],
            r["reason"] or r["error"] or "",
            ",".join(r["recipients"] or []),
            ",".join(r["invoices"]),
            r["key"],
            _recorded(r),
            " — ".join(filter(None, [r["subject"], r.get("description")])),
        ]
    )


def _history_detail(r: dict) -> str:
    """Recipients, subject, description and reason of a recorded action, in one text."""
    text = ", ".join(r["recipients"] or [])
    if r["subject"]:
        text += f" — {r['subject']}"
    if r.get("description"):
        text += f" — {r['description']}"
    if r["reason"] or r["error"]:
        text += f" ({r['reason'] or r['error']})"
    return text.strip(" —") or "—"


def _history_about(r: dict) -> str:
    """The invoices a recorded message was about (all of them: one message, one entry), then
    its recipients and detail."""
    return " · ".join(filter(None, [", ".join(r["invoices"]), _history_detail(r)]))


def _print_history_blocks(console: Console, rows: list[dict]) -> None:
    """The history in a narrow terminal: a block of three lines per action (its invoices
    first on the second)."""
    console.print(f"arflow history: {len(rows)} action(s)", style="bold", markup=False)
    for r in rows:
        head = Text(
            f"{r['as_of']} {r['customer_id']} · {r['workflow']} › {r['step']} · {r['kind']} · "
        )
        head.append(r["state"], style=STATUS_STYLE.get(r["state"], ""))
        console.print(head)
        console.print(Padding(Text(_history_about(r)), (0, 0, 0, 2)))
        console.print(
            Padding(Text(f"{r['key']} · recorded {_recorded(r)}", style="dim"), (0, 0, 0, 2))
        )


def _recorded(row: dict) -> str:
    """When the action was really recorded (UTC): a run dated in the past catches up a missed
    night, but what it sent went out today."""
    return row["updated_at"][:16].replace("T", " ")


# --- the desk's lists: a table in a terminal, tab-separated lines under cron ------------------
def print_rows(
    console: Console,
    title: str,
    columns: list[tuple[str, dict]],
    rows: list[list],
    *,
    plain: bool,
    empty: str,
) -> None:
    if plain:
        for row in rows:
            console.file.write("\t".join(str(v) for v in row) + "\n")
        return
    if not rows:
        console.print(empty, markup=False)
        return
    table = Table(title=title, title_justify="left", header_style="bold", title_style="bold")
    for name, options in columns:
        table.add_column(name, **options)
    for row in rows:
        table.add_row(*[v if isinstance(v, Text) else str(v) for v in row])
    console.print(table)


def _step_text(step: str | None, day: str | None, none: str) -> str:
    if not step:
        return none
    if day is None:  # held by a pause without an end
        return f"{step} (when resumed)"
    return step if step == day else f"{step} ({day})"  # a campaign's step is its date


def print_status(console: Console, rows: list[dict], locale: str, *, plain: bool) -> None:
    """`arflow status`: one line per customer and workflow."""
    lines = [line for r in rows for line in _status_lines(r, locale)]
    if not plain and console.width < STACK_BELOW and lines:  # one block per customer
        _print_status_blocks(console, len(rows), lines)
        return
    wrap = {"overflow": "fold"}
    print_rows(
        console,
        f"arflow status: {len(rows)} customer(s)",
        [
            ("Customer", {"no_wrap": True}),
            ("Name", wrap),
            ("Workflow", wrap),
            ("Last step", wrap),
            ("Next step", wrap),
            ("Open", {"justify": "right"}),
            ("Overdue", {"justify": "right"}),
            ("Status", wrap),
            ("Specialist", wrap),
            ("Pauses / promises", {"overflow": "fold", "ratio": 1}),
        ],
        lines,
        plain=plain,
        empty="No customers with open invoices or assignments.",
    )


def _status_lines(r: dict, locale: str) -> list[list]:
    """A customer's lines of the status: one per workflow it follows (one when none), with
    its amounts, status, specialist, pauses and promises on each."""
    holds = [
        f"paused{' to ' + p['until'] if p['until'] else ''}"
        + (f" ({p['reason']})" if p["reason"] else "")
        + ("" if p["kind"] == "customer" else f" {p['target']}")
        for p in r["pauses"]
    ]
    holds += [f"promise {p['invoice']} by {p['date']}: {p['state']}" for p in r["promises"]]
    holds += [f"bounced {address}" for address in r.get("bounced", ())]
    common = [
        amounts_text({k: Decimal(v) for k, v in r["open"].items()}, locale) or "—",
        amounts_text({k: Decimal(v) for k, v in r["overdue"].items()}, locale) or "—",
        r["status"] or "—",
        r["specialist"] or "—",
        "; ".join(holds) or "—",
    ]
    lines = []
    for w in r["workflows"] or [None]:
        if w is None:
            where = ["—", "—", "—"]
        else:
            where = [
                w["workflow"] + (f" ({w['source']})" if w["source"] != "default" else ""),
                _step_text(w["last_step"], w["last_date"], "—"),
                _step_text(w["next_step"], w["next_date"], "finished" if w["finished"] else "—"),
            ]
        lines.append([r["customer_id"], r["name"], *where, *common])
    return lines


def _print_status_blocks(console: Console, customers: int, lines: list[list]) -> None:
    """The status in a narrow terminal: a customer's facts once, then each workflow it
    follows."""
    console.print(f"arflow status: {customers} customer(s)", style="bold", markup=False)
    seen: set[str] = set()
    for cid, name, flow, last, following, owed, overdue, status, person, holds in lines:
        if cid not in seen:
            seen.add(cid)
            console.print(Text(f"{name} ({cid})" if name != cid else cid, style="bold"))
            facts = [
                f"open {owed}",
                f"overdue {overdue}",
                f"status {status}",
                f"specialist {person}",
            ] + ([holds] if holds != "—" else [])
            console.print(Padding(Text(" · ".join(facts)), (0, 0, 0, 2)))
        if flow != "—":
            console.print(Padding(Text(f"{flow}: last {last}, next {following}"), (0, 0, 0, 2)))


def print_tasks(console: Console, rows: list[dict], today: date, *, plain: bool) -> None:
    lines = []
    for r in rows:
        late = r["done_at"] is None and r["due"] < today.isoformat()
        due = Text(r["due"], style="red") if late and not plain else r["due"]
        lines.append(
            [
                r["id"],
                due,
                r["customer_id"],
                r["kind"],
                r["title"],
                r["assignee"] or "—",
                ", ".join(r["invoices"]),
                "done" if r["done_at"] else ("late" if late else "open"),
            ]
        )
    print_rows(
        console,
        f"arflow tasks: {len(rows)}",
        [
            ("#", {"justify": "right"}),
            ("Due", {"no_wrap": True}),
            ("Customer", {"no_wrap": True}),
            ("Kind", {}),
            ("Title", {"overflow": "fold", "ratio": 1}),
            ("Assignee", {}),
            ("Invoices", {"overflow": "fold"}),
            ("State", {}),
        ],
        lines,
        plain=plain,
        empty="No open tasks.",
    )


def print_workflows(console: Console, rows: list[dict], *, plain: bool) -> None:
    lines = [
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
    print_rows(
        console,
        f"arflow workflows: {len(rows)}",
        [
            ("Id", {"no_wrap": True}),
            ("Name", {"overflow": "fold"}),
            ("Enabled", {}),
            ("Anchor / schedule", {"overflow": "fold"}),
            ("Steps", {"justify": "right"}),
            ("Then", {}),
            ("Assigned", {"justify": "right"}),
            ("Customers", {"overflow": "fold", "ratio": 1}),
        ],
        lines,
        plain=plain,
        empty="No workflows.",
    )


def print_customers(console: Console, rows: list[dict], locale: str, *, plain: bool) -> None:
    """`arflow customers`: one line each, what is missing in red."""
    lines = [
        [
            r["customer_id"],
            r["name"],
            ", ".join(r["email"]) or "—",
            r["phone"] or "—",
            r["open_invoices"],
            amounts_text({k: Decimal(v) for k, v in r["open"].items()}, locale) or "—",
            Text(", ".join(r["missing"]), style="red")
            if r["missing"] and not plain
            else ", ".join(r["missing"]) or "—",
        ]
        for r in rows
    ]
    print_rows(
        console,
        f"arflow customers: {len(rows)}",
        [
            ("Customer", {"no_wrap": True}),
            ("Name", {"overflow": "fold"}),
            ("Email", {"overflow": "fold"}),
            ("Phone", {"no_wrap": True}),
            ("Open", {"justify": "right"}),
            ("Owed", {"justify": "right", "no_wrap": True}),
            ("Missing", {"overflow": "fold"}),
        ],
        lines,
        plain=plain,
        empty="No customers.",
    )
