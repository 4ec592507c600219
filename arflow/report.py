"""What a run prints: the SPEC 8 JSON document, a rich table, or plain lines under cron."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import IO, Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from arflow.errors import RowError
from arflow.planner.plan_types import Plan, PlannedAction
from arflow.render import MONEY
from arflow.rules import AGING_BUCKETS


def action_dict(a: PlannedAction) -> dict:
    found: dict[str, Any] = {
        "date": a.date.isoformat(),
        "workflow": a.workflow,
        "step": a.step,
        "action": a.kind,
        "customer_id": a.customer_id,
        "invoices": a.invoices,
        "to": a.to,
        "template": a.template,
        "subject": a.subject,
        "status": a.status,
    }
    if a.statement is not None:  # a campaign's (SPEC 4.10): the conditions it met
        found["conditions"] = [
            {
                "metric": m.metric,
                "op": m.op,
                "value": str(m.value),
                "actual": f"{m.actual:.2f}",
                "currency": m.currency,
            }
            for m in a.statement.met
        ]
    return found


def skip_dict(s) -> dict:
    found = {
        "workflow": s.workflow,
        "step": s.step,
        "customer_id": s.customer_id,
        "invoices": s.invoices,
        "reason": s.reason,
    }
    if s.until is not None:  # contact-gap: the first day it may go
        found["until"] = s.until.isoformat()
    return found


def summary(plan: Plan, errors: list[RowError]) -> dict:
    count = lambda status: sum(1 for a in plan.actions if a.status == status)  # noqa: E731
    return {
        "invoices": plan.invoices,
        "open": plan.open,
        "actions": len(plan.actions),
        "sent": count("sent"),
        "failed": count("failed"),
        "unknown": count("unknown"),
        "skipped": len(plan.skipped),
        "errors": len(errors),
    }


def plan_document(plan: Plan, errors: list[RowError], dry_run: bool) -> dict:
    """Exactly the document of SPEC 8: as_of, dry_run, actions, skipped, errors, summary."""
    return {
        "as_of": plan.as_of.isoformat(),
        "dry_run": dry_run,
        "actions": [action_dict(a) for a in plan.actions],
        "skipped": [skip_dict(s) for s in plan.skipped],
        "errors": [e.as_dict() for e in errors],
        "summary": summary(plan, errors),
    }


JSON_BATCH = 1_000  # items encoded at a time


def write_json(out: IO[str], plan: Plan, errors: list[RowError], dry_run: bool) -> None:
    """The same document, compact and written piece by piece: a large plan is never held as
    one string in memory."""
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    out.write(f'{{"as_of": {dumps(plan.as_of.isoformat())}, "dry_run": {dumps(dry_run)}')
    sections: list[tuple[str, Sequence[Any], Callable[[Any], dict]]] = [
        ("actions", plan.actions, action_dict),
        ("skipped", plan.skipped, skip_dict),
        ("errors", errors, RowError.as_dict),
    ]
    for key, items, as_dict in sections:
        out.write(f', "{key}": [')
        for n in range(0, len(items), JSON_BATCH):  # a list at a time: one call into C each
            batch = dumps([as_dict(item) for item in items[n : n + JSON_BATCH]])
            out.write((", " if n else "") + batch[1:-1])
        out.write("]")
    out.write(f', "summary": {dumps(summary(plan, errors))}}}\n')


STATUS_STYLE = {
    "sent": "green",
    "done": "green",
    "failed": "red",
    "unknown": "yellow",
    "sending": "yellow",
    "skipped": "dim",
    "baseline": "dim",
}


def money_text(amounts: dict[str, Decimal], locale: str) -> str:
    return ", ".join(MONEY(v, c, locale) for c, v in sorted(amounts.items()))


def _recipients(a: PlannedAction) -> str:
    shown = list(a.to) + [f"cc {x}" for x in a.cc]
    return ", ".join(shown) if shown else "—"


def _detail(a: PlannedAction) -> str:
    spec = a.action.spec
    if a.kind in ("email", "notify") and a.subject:
        return a.subject
    for attr in ("value", "title", "text", "specialist", "template"):
        if hasattr(spec, attr):
            return str(getattr(spec, attr))
    return ""


def outcome_text(
    plan: Plan, details: dict[int, str], *, dry_run: bool, baseline: bool = False
) -> str:
    """What happened to a run's actions, for its last line: `12 action(s): 2 sent, 10 failed
    (connection refused …)`, each failure's reason said once."""
    count = len(plan.actions)
    if dry_run or baseline:
        return f"{count} action(s) {'planned' if dry_run else 'marked baseline'}"
    parts = []
    for status in ("sent", "done", "failed", "unknown"):
        found = [a for a in plan.actions if a.status == status]
        if not found:
            continue
        text = f"{len(found)} {status}"
        reasons: dict[str, int] = {}
        for a in found:
            if id(a) in details:
                reasons[details[id(a)]] = reasons.get(details[id(a)], 0) + 1
        if len(reasons) == 1:
            text += f" ({next(iter(reasons))})"
        elif reasons:
            text += (
                " ("
                + "; ".join(
                    f"{n}: {why}" for why, n in sorted(reasons.items(), key=lambda r: -r[1])
                )
                + ")"
            )
        parts.append(text)
    return f"{count} action(s)" + (f": {', '.join(parts)}" if parts else "")


PLAIN_HEADER = "# date\tcustomer\tworkflow\tstep\taction\trecipients\tinvoices\tamount\tstatus"


STACK_BELOW = 110  # columns: a narrower terminal gets a block per action, not a table


def _print_actions(
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
                money_text(a.amounts, locale),
                ", ".join(a.invoices),
                "" if _recipients(a) == "—" else f"to {_recipients(a)}",
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
            _recipients(a),
            ", ".join(a.invoices),
            money_text(a.amounts, locale),
            _detail(a),
        ]
        if with_status:
            row.append(Text(a.status, style=STATUS_STYLE.get(a.status, "")))
        table.add_row(*row)
    console.print(table)


def print_plan(
    console: Console,
    plan: Plan,
    errors: list[RowError],
    locale: str,
    *,
    plain: bool,
    dry_run: bool,
    baseline: bool = False,
    details: dict[int, str] | None = None,
    quiet: bool = False,
    names: dict[str, str] | None = None,
) -> None:
    """A table in a terminal; one tab-separated line per action under cron (no colour codes).
    `names`: customer id → the name a person knows it by."""
    verb = "would run" if dry_run else "marked as done, sending nothing," if baseline else "ran"
    # a dry run's statuses are all `planned`, unless a message could not be handed over
    with_status = not dry_run or any(a.status != "planned" for a in plan.actions)

    def line(text: str) -> None:
        # written as-is: rich would expand the tabs that make plain output easy to cut
        console.file.write(text + "\n")

    shown, skipped = plan.actions, plan.skipped
    if quiet:  # what needs a person, then the summary; nothing when all went well
        shown = [a for a in plan.actions if a.status in ("failed", "unknown")]
        skipped = []
        if not shown and not errors:
            return
    if plain:
        if not quiet:
            line(PLAIN_HEADER)
        for a in shown:
            line(
                "\t".join(
                    [
                        a.date.isoformat(),
                        a.customer_id,
                        a.workflow,
                        a.step,
                        a.kind,
                        _recipients(a),
                        ",".join(a.invoices),
                        money_text(a.amounts, locale),
                        a.status,
                    ]
                )
            )
    elif shown:
        _print_actions(
            console,
            shown,
            f"arflow {verb} {len(plan.actions)} action(s) on {plan.as_of}",
            locale,
            with_status,
            names or {},
        )
    if skipped and not plain:
        console.print(f"Skipped ({len(skipped)}):", style="bold")
        for s in skipped:
            console.print(
                f"  {s.customer_id}  {s.workflow} › {s.step}: {s.why} ({', '.join(s.invoices)})",
                markup=False,
                highlight=False,
            )
    elif skipped:
        for s in skipped:
            line(
                f"skipped\t{s.customer_id}\t{s.workflow}\t{s.step}\t{s.why}\t{','.join(s.invoices)}"
            )
    for e in errors:
        where = f"{e.file}:{e.line}" + (f": {e.column}" if e.column else "")
        line(f"error\t{where}: {e.message}")
    line(
        f"{plan.as_of}: {plan.invoices} invoices, {plan.open} open, "
        f"{outcome_text(plan, details or {}, dry_run=dry_run, baseline=baseline)}, "
        f"{len(plan.skipped)} skipped, {len(errors)} error(s)"
    )


def print_history(console: Console, rows: list[dict], *, plain: bool) -> None:
    """The action ledger: a table in a terminal, tab-separated lines under cron."""
    if plain:
        for r in rows:
            console.file.write(
                "\t".join(
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
                + "\n"
            )
        return
    if not rows:
        console.print("No actions recorded.", markup=False)
        return

    def detail(r: dict) -> str:
        text = ", ".join(r["recipients"] or [])
        if r["subject"]:
            text += f" — {r['subject']}"
        if r.get("description"):
            text += f" — {r['description']}"
        if r["reason"] or r["error"]:
            text += f" ({r['reason'] or r['error']})"
        return text.strip(" —") or "—"

    if console.width < STACK_BELOW:  # a block per action
        console.print(f"arflow history: {len(rows)} action(s)", style="bold", markup=False)
        for r in rows:
            head = Text(
                f"{r['as_of']} {r['customer_id']} · {r['workflow']} › {r['step']} · {r['kind']} · "
            )
            head.append(r["state"], style=STATUS_STYLE.get(r["state"], ""))
            console.print(head)
            console.print(Padding(Text(detail(r)), (0, 0, 0, 2)))
            console.print(
                Padding(Text(f"{r['key']} · recorded {_recorded(r)}", style="dim"), (0, 0, 0, 2))
            )
        return
    table = Table(
        title=f"arflow history: {len(rows)} action(s)",
        title_justify="left",
        header_style="bold",
        title_style="bold",
    )
    for name in ("Date", "Customer", "Workflow", "Step", "Action", "State", "Recorded"):
        table.add_column(name, no_wrap=True)
    table.add_column("Recipients / detail", overflow="fold", ratio=1)
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
            detail(r),
            r["key"],
        )
    console.print(table)


def inbox_effect(event: dict, dry_run: bool) -> str:
    """What one incoming message did (or, in a dry run, would do), in words."""
    would = "would be " if dry_run else ""
    if event["kind"] == "reply":
        return f"customer {would}paused to {event['pause_until']}"
    if event["kind"] == "bounce":
        return (
            f"{event['address']} {would}marked bounced"
            if event.get("notice")
            else f"{event['address']} bounced before"
        )
    return "recorded only"


def print_inbox(console: Console, events: list[dict], *, plain: bool, dry_run: bool) -> None:
    """What the inbox held: one line per reply, auto-reply and bounce."""
    if plain:
        for e in events:
            console.file.write(
                "\t".join(
                    [
                        "inbox",
                        e["kind"],
                        e.get("customer_id") or "",
                        e.get("sender") or "",
                        e.get("subject") or "",
                        inbox_effect(e, dry_run),
                    ]
                )
                + "\n"
            )
        return
    if not events:
        console.print("Inbox: no new answers to arflow's emails.", markup=False)
        return
    console.print(
        f"Inbox: {len(events)} new answer(s) to arflow's emails", style="bold", markup=False
    )
    for e in events:
        console.print(
            Padding(
                Text(
                    f"{e['kind']} · {e.get('customer_id')} · "
                    f"{e.get('sender') or '—'} · {e.get('subject') or '—'} → "
                    f"{inbox_effect(e, dry_run)}"
                ),
                (0, 0, 0, 2),
            )
        )


def incoming_rows(rows: list[dict]) -> list[dict]:
    """The inbox's replies, auto-replies and bounces as lines of the history (SPEC 6.1): the
    sender in place of recipients, what arflow did in place of a reason."""
    found = []
    for r in rows:
        did = {
            "reply": f"paused to {r['pause_until']}" if r["pause_until"] else "recorded",
            "bounce": f"{r['address']} bounced",
            "auto-reply": "recorded only",
        }[r["kind"]]
        found.append(
            {
                "as_of": r["as_of"],
                "customer_id": r["customer_id"] or "",
                "workflow": "inbox",
                "step": r["kind"],
                "kind": r["kind"],
                "state": "received",
                "reason": did,
                "error": None,
                "recipients": [r["sender"]] if r["sender"] else [],
                "invoices": [],
                "key": r["message_id"],
                "updated_at": r["created_at"],
                "subject": r["subject"],
                "description": r["excerpt"],
            }
        )
    return found


def _recorded(row: dict) -> str:
    """When the action was really recorded (UTC): a run dated in the past catches up a missed
    night, but what it sent went out today."""
    return row["updated_at"][:16].replace("T", " ")


# --- the desk's lists: a table in a terminal, tab-separated lines under cron ------------------
def _print_rows(
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
    return step if step == day else f"{step} ({day})"  # a campaign's step is its date


def print_status(console: Console, rows: list[dict], locale: str, *, plain: bool) -> None:
    """`arflow status`: one line per customer and workflow."""
    lines = []
    for r in rows:
        holds = [
            f"paused{' to ' + p['until'] if p['until'] else ''}"
            + (f" ({p['reason']})" if p["reason"] else "")
            + ("" if p["kind"] == "customer" else f" {p['target']}")
            for p in r["pauses"]
        ]
        holds += [f"promise {p['invoice']} by {p['date']}: {p['state']}" for p in r["promises"]]
        holds += [f"bounced {address}" for address in r.get("bounced", ())]
        common = [
            money_text({k: Decimal(v) for k, v in r["open"].items()}, locale) or "—",
            money_text({k: Decimal(v) for k, v in r["overdue"].items()}, locale) or "—",
            r["status"] or "—",
            r["specialist"] or "—",
            "; ".join(holds) or "—",
        ]
        flows = r["workflows"] or [None]
        for w in flows:
            if w is None:
                where = ["—", "—", "—"]
            else:
                where = [
                    w["workflow"] + (f" ({w['source']})" if w["source"] != "default" else ""),
                    _step_text(w["last_step"], w["last_date"], "—"),
                    _step_text(
                        w["next_step"], w["next_date"], "finished" if w["finished"] else "—"
                    ),
                ]
            lines.append([r["customer_id"], r["name"], *where, *common])
    if not plain and console.width < STACK_BELOW and lines:  # one block per customer
        console.print(f"arflow status: {len(rows)} customer(s)", style="bold", markup=False)
        seen: set[str] = set()
        for cid, name, flow, last, following, owed, overdue, status, person, holds in lines:
            if cid not in seen:  # a customer's facts once, then each workflow it follows
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
        return
    wrap = {"overflow": "fold"}
    _print_rows(
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


def print_tasks(console: Console, rows: list[dict], today, *, plain: bool) -> None:
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
    _print_rows(
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
    _print_rows(
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


# --- aging ------------------------------------------------------------------------------------
AGING_STYLES = {
    "current": "green",
    "1-30": "yellow",
    "31-60": "dark_orange",
    "61-90": "red",
    "90+": "bold red",
}
BAR_WIDTH = 12


def _aging_bar(buckets: dict[str, Decimal], largest: Decimal) -> Text:
    """A small bar, as long as the account's total against the largest one, in the colours
    of its buckets: the worst accounts stand out."""
    bar = Text()
    total = sum((v for v in buckets.values() if v > 0), Decimal(0))
    if total <= 0 or largest <= 0:
        return bar
    width = max(1, round(BAR_WIDTH * total / largest))
    used = 0
    for n, (bucket, value) in enumerate(buckets.items()):
        if value <= 0:
            continue
        cells = (
            width - used
            if n == len(buckets) - 1 or all(v <= 0 for v in list(buckets.values())[n + 1 :])
            else round(width * value / total)
        )
        bar.append("█" * cells, style=AGING_STYLES[bucket])
        used += cells
    return bar


def print_aging(console: Console, report, locale: str, *, plain: bool) -> None:
    """`arflow aging`: a table with a bar per customer, then the totals per currency; plain
    tab-separated lines under cron."""

    def money(value: Decimal, currency: str) -> str:
        return MONEY(value, currency, locale)

    if plain:
        for r in report.customers:
            console.file.write(
                "\t".join(
                    [
                        r.customer_id,
                        r.name,
                        r.currency,
                        *(str(v) for v in r.buckets.values()),
                        str(r.total),
                    ]
                )
                + "\n"
            )
        return
    if not report.customers:
        console.print(f"Nothing owed on {report.as_of.isoformat()}.", markup=False)
        return
    largest = max(r.total for r in report.customers)
    rows = [
        [
            r.name,
            *(money(v, r.currency) if v else "·" for v in r.buckets.values()),
            money(r.total, r.currency),
        ]
        for r in report.customers
    ]
    totals = [
        [
            f"Total {c.currency} ({c.invoices} invoices)",
            *(money(v, c.currency) for v in c.buckets.values()),
            money(c.total, c.currency),
        ]
        for c in report.currencies
    ]
    headers = [b.replace("-", "–") for b in AGING_BUCKETS] + ["Total"]
    # amounts are never cut: their columns do not wrap, the customer column takes what is left
    # (folding long names), the bar goes first when it is tight, and below the width the
    # amounts need, each account is a block of its own
    widths = [
        max(len(h), *(len(row[n + 1]) for row in rows + totals)) for n, h in enumerate(headers)
    ]
    fixed = sum(w + 3 for w in widths) + 1  # padding and a border per column
    if console.width < fixed + 8 + 3:  # no room for a table: one block per account
        console.print(
            f"arflow aging as of {report.as_of.isoformat()}: {len(report.customers)} account(s)",
            style="bold",
            markup=False,
        )
        for cells in rows + totals:
            console.print(cells[0], style="bold", markup=False)
            line = ""
            for h, v in zip(headers, cells[1:], strict=True):
                if v == "·":
                    continue
                part = f"{h} {v}"  # an amount never leaves its bucket's name
                if line and len(line) + 3 + len(part) > console.width:
                    console.print(line, markup=False)
                    line = ""
                line = f"{line} · {part}" if line else f"  {part}"
            console.print(line, markup=False)
        return
    bar = console.width - fixed >= 14 + BAR_WIDTH + 3
    table = Table(
        title=f"arflow aging as of {report.as_of.isoformat()}: {len(report.customers)} account(s)",
        title_justify="left",
        header_style="bold",
        title_style="bold",
    )
    table.add_column("Customer", overflow="fold", ratio=1, min_width=8)
    for header in headers:
        table.add_column(
            header, justify="right", no_wrap=True, style="bold" if header == "Total" else ""
        )
    if bar:
        table.add_column("", no_wrap=True, min_width=BAR_WIDTH)
    for r, cells in zip(report.customers, rows, strict=True):
        table.add_row(*cells, *([_aging_bar(r.buckets, largest)] if bar else []))
    table.add_section()
    for cells in totals:
        table.add_row(Text(cells[0], style="bold"), *cells[1:], *([""] if bar else []))
    console.print(table)


# --- forecast and simulate --------------------------------------------------------------------
def print_forecast(console: Console, days: list, locale: str, *, plain: bool) -> None:
    """`arflow forecast`: per day, the actions per workflow and step with the customers they
    reach and the amount they chase (each customer's listed invoices counted once a step)."""
    rows: list[list] = []
    for day, result in days:
        groups: dict[tuple[str, str], dict] = {}
        for a in result.plan.actions:
            group = groups.setdefault((a.workflow, a.step), {"actions": 0, "customers": {}})
            group["actions"] += 1
            group["customers"].setdefault(a.customer_id, a.amounts)
        if not groups:
            rows.append([day.isoformat(), "—", "", "", "", ""])
        for n, ((wid, step), group) in enumerate(groups.items()):
            chased: dict[str, Decimal] = {}
            for amounts in group["customers"].values():
                for currency, value in amounts.items():
                    chased[currency] = chased.get(currency, Decimal(0)) + value
            rows.append(
                [
                    day.isoformat() if n == 0 else "",
                    wid,
                    step,
                    group["actions"],
                    len(group["customers"]),
                    money_text(chased, locale) or "—",
                ]
            )
    total = sum(len(r.plan.actions) for _, r in days)
    first, last = days[0][0].isoformat(), days[-1][0].isoformat()
    _print_rows(
        console,
        f"arflow forecast {first} to {last}: {total} action(s)",
        [
            ("Date", {"no_wrap": True}),
            ("Workflow", {"overflow": "fold"}),
            ("Step", {"overflow": "fold"}),
            ("Actions", {"justify": "right"}),
            ("Customers", {"justify": "right"}),
            ("Chased", {"justify": "right", "no_wrap": True}),
        ],
        rows,
        plain=plain,
        empty="Nothing planned.",
    )


SPARKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[int], width: int) -> str:
    """The values as one line of bars, `width` characters at most (several days a character
    when there are more days than room: each character shows the busiest of them)."""
    if not values:
        return ""
    per = max(1, -(-len(values) // width))
    peaks = [max(values[n : n + per]) for n in range(0, len(values), per)]
    top = max(peaks)
    return "".join(
        SPARKS[0 if not v else max(1, round(8 * v / top))] if top else " " for v in peaks
    )


def print_simulation(console: Console, sim, *, plain: bool) -> None:
    """`arflow simulate`: the figures per workflow step, then the actions per day."""

    def median(value) -> str:
        return "—" if value is None else f"{value:g}"

    rows = [
        [
            s.workflow,
            s.step,
            s.actions,
            s.invoices,
            s.paid_7,
            s.paid_14,
            s.paid_30,
            median(s.median_days_to_pay),
            s.unpaid,
        ]
        for s in sim.steps
    ]
    _print_rows(
        console,
        f"arflow simulate {sim.first.isoformat()} to {sim.last.isoformat()}",
        [
            ("Workflow", {"overflow": "fold"}),
            ("Step", {"overflow": "fold"}),
            ("Actions", {"justify": "right"}),
            ("Invoices", {"justify": "right"}),
            ("Paid ≤7d", {"justify": "right"}),
            ("≤14d", {"justify": "right"}),
            ("≤30d", {"justify": "right"}),
            ("Median days", {"justify": "right"}),
            ("Unpaid", {"justify": "right"}),
        ],
        rows,
        plain=plain,
        empty="No actions.",
    )
    counts = [n for _, n in sim.days]
    if plain:
        for day, n in sim.days:
            console.file.write(f"day\t{day.isoformat()}\t{n}\n")
        return
    width = max(10, console.width - 2)
    per = max(1, -(-len(counts) // width))
    console.print(
        f"Actions per day{f' ({per} days a mark)' if per > 1 else ''}, busiest "
        f"{max(counts, default=0)}:",
        markup=False,
    )
    console.print(sparkline(counts, width), markup=False, style="cyan")
    marks = -(-len(counts) // per)
    console.print(
        f"{sim.first.isoformat()}{sim.last.isoformat():>{max(10, marks - 10)}}",
        markup=False,
        style="dim",
    )


# --- preview ----------------------------------------------------------------------------------
def print_preview(console: Console, plan: Plan, composed: list) -> str | None:
    """`arflow preview`: each action of the step as its recipient gets it; returns the HTML
    part of the first email that has one (for --html)."""
    page = None
    for n, item in enumerate(composed, 1):
        action, message = item.action, item.message
        title = f"{action.kind} {n} of {len(composed)} · {action.workflow} › {action.step}"
        console.rule(title, align="left", style="dim")
        if message is not None:
            who = ", ".join(message.to)
            if message.cc:
                who += f"   Cc: {', '.join(message.cc)}"
            if message.bcc:
                who += f"   Bcc: {', '.join(message.bcc)}"
            console.print(f"To: {who}", markup=False)
            if message.subject is not None:
                console.print(f"Subject: {message.subject}", markup=False, style="bold")
            console.print()
            console.print(message.text if message.kind == "email" else message.body, markup=False)
            for attachment in message.attachments:
                console.print(
                    f"[attached: {attachment.filename}, {len(attachment.data):,} bytes]",
                    markup=False,
                    style="dim",
                )
            if message.html is not None:
                console.print(
                    "[and an HTML part: --html FILE writes it]", markup=False, style="dim"
                )
                page = page if page is not None else message.html
        if message is None and item.text is not None:  # a status, task, assign, note
            detail = item.text
            if action.kind == "task":
                detail += f"  (for {item.assignee or 'nobody'}, due {action.task_due})"
            console.print(detail, markup=False)
    if not composed:
        console.print(
            "Nothing to show: every action of this step was left out (see the errors).",
            markup=False,
        )
    return page


def print_customers(console: Console, rows: list[dict], locale: str, *, plain: bool) -> None:
    """`arflow customers`: one line each, what is missing in red."""
    lines = [
        [
            r["customer_id"],
            r["name"],
            ", ".join(r["email"]) or "—",
            r["phone"] or "—",
            r["open_invoices"],
            money_text({k: Decimal(v) for k, v in r["open"].items()}, locale) or "—",
            Text(", ".join(r["missing"]), style="red")
            if r["missing"] and not plain
            else ", ".join(r["missing"]) or "—",
        ]
        for r in rows
    ]
    _print_rows(
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
