"""The tables a person reads in a terminal of the run's actions, the history and the status
(each with its lines for a pipe), and the words they share; `desk_lists` has the tasks,
workflows and customers, `listing` how every one of them goes out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from arflow.listing import (
    Cell,
    Col,
    Listing,
    count_text,
    fit,
    plain_line,
    print_facts,
    print_listing,
    summed,
    write_plain,
)
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
    if a.text is not None:  # rendered (a failed render leaves the template's own words)
        return redact(a.text)
    for attr in ("value", "title", "text", "specialist", "template"):
        if hasattr(spec, attr):
            return str(getattr(spec, attr))
    return ""


STACK_BELOW = 110  # columns: a narrower terminal gets a block per action, not a table

ACTION_COLUMNS = [
    Col("Customer", "customer", token=False),
    Col("Workflow › step", "step", token=False),
    Col("Action", "action"),
    Col("To", "to", token=False),
    Col("Invoices", "invoices", token=False),
    Col("Amount", "amount", right=True),
    Col("Subject / detail", "detail", token=False, drop=1),
    Col("Status", "status"),
]


def print_actions(
    console: Console,
    actions: list[PlannedAction],
    title: str,
    locale: str,
    with_status: bool,
    names: dict[str, str],
) -> None:
    """The run's actions for a person: a table whose ids, dates, addresses and amounts are
    never cut (names, recipients and subjects wrap between words), or below STACK_BELOW
    columns (or when no table fits) one block per action."""
    rows: list[list[Cell]] = [
        [
            names.get(a.customer_id, a.customer_id),
            f"{a.workflow} › {a.step}",
            a.kind,
            recipients_text(a),
            ", ".join(a.invoices),
            amounts_text(a.amounts, locale),
            _detail(a),
            *([Text(a.status, style=STATUS_STYLE.get(a.status, ""))] if with_status else []),
        ]
        for a in actions
    ]
    columns = ACTION_COLUMNS if with_status else ACTION_COLUMNS[:-1]
    widths = (
        None if console.width < STACK_BELOW else fit(Listing(title, columns, rows), console.width)
    )
    if widths is None:
        console.print(title, style="bold", markup=False)
        _print_action_blocks(console, actions, locale, with_status, names)
        return
    print_listing(console, Listing(title, columns, rows), plain=False)


def _print_action_blocks(
    console: Console,
    actions: list[PlannedAction],
    locale: str,
    with_status: bool,
    names: dict[str, str],
) -> None:
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


HISTORY_KEYS = [
    "date",
    "customer",
    "workflow",
    "step",
    "action",
    "state",
    "reason",
    "recipients",
    "invoices",
    "key",
    "recorded",
    "subject",
]
HISTORY_COLUMNS = [
    Col("Date", "date"),
    Col("Customer", "customer"),
    Col("Workflow", "workflow"),
    Col("Step", "step"),
    Col("Action", "action"),
    Col("State", "state", token=False),
    Col("Recorded", "recorded", token=False),  # its date and time may go on two lines
    Col("Invoices · recipients / detail", "about", token=False),
    Col("Key", "key", style="dim"),
]


def print_history(console: Console, entries: Iterable[dict], *, plain: bool) -> None:
    """The action ledger: a table in a terminal; under cron a header line, tab-separated lines
    (written as they come) and a total of each state."""
    states: dict[str, int] = {}

    def counted(rows: Iterable[dict]) -> Iterator[dict]:
        for r in rows:
            states[r["state"]] = states.get(r["state"], 0) + 1
            yield r

    if plain:
        lines = (_history_line(r) for r in counted(entries))
        write_plain(console.file, HISTORY_KEYS, lines)
        total = sum(states.values())
        console.file.write(
            plain_line(["total", f"{total} action(s)", "", "", "", count_text(states), *[""] * 6])
            + "\n"
        )
        return
    rows = list(counted(entries))
    if not rows:
        console.print("No actions recorded.", markup=False)
        return
    listing = Listing(
        f"arflow history: {len(rows)} action(s)",
        HISTORY_COLUMNS,
        [
            [
                r["as_of"],
                r["customer_id"],
                r["workflow"],
                r["step"],
                r["kind"],
                Text(r["state"], style=STATUS_STYLE.get(r["state"], "")),
                _recorded(r),
                _history_about(r),
                r["key"],
            ]
            for r in rows
        ],
        [["total", "", "", "", "", count_text(states), "", f"{len(rows)} action(s)", ""]],
    )
    if console.width < STACK_BELOW:  # a block per action
        _print_history_blocks(console, rows)
        return
    print_listing(console, listing, plain=False, blocks=lambda c, _: _print_history_blocks(c, rows))


def _history_line(r: dict) -> list[Cell]:
    """One recorded message (or other action) as a pipe's line, in HISTORY_KEYS' columns: its
    invoices as in `run`'s lines (INV-1,INV-2), the first of its keys (any settles it)."""
    return [
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


# --- the desk's lists: a table in a terminal, a header, lines and totals in a pipe ------------
def _step_text(step: str | None, day: str | None, none: str) -> str:
    if not step:
        return none
    if day is None:  # held by a pause without an end
        return f"{step} (when resumed)"
    return step if step == day else f"{step} ({day})"  # a campaign's step is its date


STATUS_COLUMNS = [
    Col("Customer", "customer"),
    Col("Name", "name", token=False, drop=1),
    Col("Workflow", "workflow", token=False),
    Col("Last step", "last_step", token=False),
    Col("Next step", "next_step", token=False),
    Col("Open", "open", right=True),
    Col("Overdue", "overdue", right=True),
    Col("Status", "status", token=False, drop=2),
    Col("Specialist", "specialist", token=False, drop=3),
    Col("Pauses / promises", "holds", token=False),
]


def status_listing(rows: list[dict], locale: str) -> Listing:
    lines = [line for r in rows for line in _status_lines(r, locale)]
    return Listing(
        f"arflow status: {len(rows)} customer(s)",
        STATUS_COLUMNS,
        lines,
        [
            [
                "total",
                f"{len(rows)} customer(s)",
                "",
                "",
                "",
                amounts_text(summed(r["open"] for r in rows), locale) or "—",
                amounts_text(summed(r["overdue"] for r in rows), locale) or "—",
                "",
                "",
                "",
            ]
        ],
        "No customers with open invoices or assignments.",
    )


def print_status(console: Console, rows: list[dict], locale: str, *, plain: bool) -> None:
    """`arflow status`: one line per customer and workflow."""
    listing = status_listing(rows, locale)
    if not plain and console.width < STACK_BELOW and rows:  # one block per customer
        _print_status_blocks(console, listing)
        return
    print_listing(console, listing, plain=plain, blocks=_print_status_blocks)


def status_holds(r: dict) -> list[str]:
    """What holds a customer: its pauses, promises and bounced addresses, in words."""
    holds = [
        f"paused{' to ' + p['until'] if p['until'] else ''}"
        + (f" ({p['reason']})" if p["reason"] else "")
        + ("" if p["kind"] == "customer" else f" {p['target']}")
        for p in r["pauses"]
    ]
    holds += [f"promise {p['invoice']} by {p['date']}: {p['state']}" for p in r["promises"]]
    holds += [f"bounced {address}" for address in r.get("bounced", ())]
    holds += r.get("plans", [])  # issue 32: payment plans
    hold = r.get("hold")  # issue 33: credit hold
    holds += [f"credit hold since {hold['since']} ({hold['why']})"] if hold else []
    holds += r.get("disputes", [])  # issue 33: disputes
    return holds


def _status_lines(r: dict, locale: str) -> list[list[Cell]]:
    """A customer's lines of the status: one per workflow it follows (one when none), with
    its amounts, status, specialist, pauses and promises on each."""
    holds = status_holds(r)
    common = [
        amounts_text({k: Decimal(v) for k, v in r["open"].items()}, locale) or "—",
        amounts_text({k: Decimal(v) for k, v in r["overdue"].items()}, locale) or "—",
        r["status"] or "—",
        r["specialist"] or "—",
        "; ".join(holds) or "—",
    ]
    lines: list[list[Cell]] = []
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


def _print_status_blocks(console: Console, listing: Listing) -> None:
    """The status in a narrow terminal: a customer's facts once, then each workflow it
    follows."""
    console.print(Text(listing.title, style="bold"))
    seen: set[str] = set()
    for line in listing.rows:
        cid, name, flow, last, following, owed, overdue, status, person, holds = map(str, line)
        if cid not in seen:
            seen.add(cid)
            console.print(Text(f"{name} ({cid})" if name != cid else cid, style="bold"))
            print_facts(
                console,
                [
                    f"open {owed}",
                    f"overdue {overdue}",
                    f"status {status}",
                    f"specialist {person}",
                ]
                + ([holds] if holds != "—" else []),
            )
        if flow != "—":
            console.print(Padding(Text(f"{flow}: last {last}, next {following}"), (0, 0, 0, 2)))
    for line in listing.totals:
        console.print(Text(f"Total: {line[1]}", style="bold"))
        print_facts(console, [f"open {line[5]}", f"overdue {line[6]}"])
