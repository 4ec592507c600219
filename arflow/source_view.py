"""`arflow sources`: what arflow read, for a person checking a new export before the first
night (and `doctor`'s checks of the data). Each source's columns as fields and the ones left
out, its first rows as parsed, its bad rows by cause, the customers each channel the workflows
use cannot reach, and, when a source is refused whole, why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from arflow.actions import CONTACT_WORDS, KINDS
from arflow.config import Config
from arflow.errors import ArflowError, RowError
from arflow.ledger import Ledger, invoices_from_frame, may_be_open
from arflow.listing import Cell, Col, Listing, print_listing
from arflow.project import Project
from arflow.reading import ErrorGroup, SourceRead, group_errors
from arflow.sources import SOURCE_FIELDS, header_read, load_ledger

FIRST_ROWS = 5  # rows shown as parsed
NAMED = 10  # customers named per channel they cannot be reached by


@dataclass
class SourcesView:
    """What `arflow sources` shows; `refused` is why a source was not read (then `reads` are
    the headers only)."""

    reads: list[SourceRead]
    errors: list[RowError] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)  # the first rows, as parsed
    customers: list[dict] = field(default_factory=list)
    unreachable: dict[str, dict] = field(default_factory=dict)  # channel → count, customers
    refused: str | None = None

    def as_dict(self) -> dict:
        return {
            "sources": [
                {
                    "setting": r.setting,
                    "file": r.display,
                    "columns": r.fields,
                    "ignored": list(r.ignored),
                    # a refused source's rows were not read: no counts, rather than zeros
                    **(
                        dict.fromkeys(("rows", "kept", "held_back", "empty"))
                        if self.refused
                        else {
                            "rows": r.rows,
                            "kept": r.kept,
                            "held_back": r.held_back,
                            "empty": r.empty,
                        }
                    ),
                    "problems": [
                        g.as_dict()
                        for g in group_errors(e for e in self.errors if e.file == r.display)
                    ],
                }
                for r in self.reads
            ],
            "first_invoices": self.invoices,
            "first_customers": self.customers,
            "unreachable": self.unreachable,
            "refused": self.refused,
            "errors": [e.as_dict() for e in self.errors],
        }


def view_sources(project: Project, as_of: date) -> SourcesView:
    """Read the sources as a run would and say what came of it."""
    cfg = project.config
    try:
        ledger = load_ledger(cfg, check_phones=True)  # every number: `sources` shows each bad one
    except ArflowError as exc:
        return SourcesView(_headers(cfg), refused=str(exc))
    return SourcesView(
        ledger.reads,
        ledger.errors,
        _first_invoices(ledger),
        _first_customers(ledger),
        unreachable(project, ledger, as_of),
    )


def _headers(config: Config) -> list[SourceRead]:
    """Each source's header as far as it can be read (a refused source's columns)."""
    found = []
    for setting in SOURCE_FIELDS:
        if getattr(config, setting) is None:
            continue
        try:
            found.append(header_read(config, setting))
        except ArflowError:
            continue
    return found


def _first_invoices(ledger: Ledger) -> list[dict]:
    rows = []
    for inv in invoices_from_frame(ledger.frame.head(FIRST_ROWS), ledger.extra_names):
        customer = ledger.customers.get(inv.customer_id)
        rows.append(
            {
                "line": inv.line,
                "number": inv.number,
                "customer_id": inv.customer_id,
                "issue_date": inv.issue_date.isoformat(),
                "due_date": inv.due_date.isoformat(),
                "amount": str(inv.amount),
                "balance": None if inv.balance is None else str(inv.balance),
                "currency": inv.currency,
                "status": inv.status,
                "email": list(customer.email) if customer else [],
                "phone": customer.phone if customer else None,
            }
        )
    return rows


def _first_customers(ledger: Ledger) -> list[dict]:
    from_file = sorted((c for c in ledger.customers.values() if c.line), key=lambda c: c.line or 0)[
        :FIRST_ROWS
    ]
    return [
        {
            "line": c.line,
            "customer_id": c.customer_id,
            "name": c.name,
            "email": list(c.email),
            "phone": c.phone,
            "workflow": c.workflow,
        }
        for c in from_file
    ]


def used_contacts(project: Project) -> dict[str, str]:
    """The customer-facing kinds the workflows use → the customer's field that reaches them."""
    kinds = {
        action.kind
        for w in project.workflows.values()
        if w.model.enabled
        for action in [
            *(a for step in w.model.steps for a in step.actions),
            *w.model.on_paid,
            *w.model.actions,
        ]
    }
    return {k: c for k in sorted(kinds) if (c := KINDS[k].contact) is not None}


def unreachable(project: Project, ledger: Ledger, as_of: date) -> dict[str, dict]:
    """Per channel the workflows use, the customers with an open invoice it cannot reach."""
    cfg = project.config
    owing = set(
        ledger.frame.filter(may_be_open(as_of, cfg.min_balance))
        .get_column("customer_id")
        .unique()
        .to_list()
    )
    found = {}
    for kind, contact in used_contacts(project).items():
        missing = sorted(
            cid for cid in owing if not getattr(ledger.customers.get(cid), contact, None)
        )
        found[kind] = {
            "customers": len(owing),
            "unreachable": len(missing),
            "contact": contact,
            "named": missing[:NAMED],
        }
    return found


def print_sources(console: Console, view: SourcesView) -> None:
    """The view for a person: a block per source, then who cannot be reached, then why a
    source was refused."""
    by_file: dict[str, list[ErrorGroup]] = {}
    for group in group_errors(view.errors):
        by_file.setdefault(group.first.file, []).append(group)
    for r in view.reads:
        console.print(Text(r.display, style="bold") + Text(f"  ({r.setting}:)", style="dim"))
        if r.fields:
            mapped = ", ".join(
                f + ("" if f == column else f" ← {column}") for f, column in r.fields.items()
            )
            _fact(console, "fields:", Text(mapped))
            if r.ignored:
                _fact(
                    console,
                    "not used:",
                    Text(
                        f"{', '.join(r.ignored)} (templates: "
                        f"{'invoice' if r.setting == 'invoices' else 'customer'}.extra.NAME)"
                    ),
                )
            empty = f", {r.empty:,} empty ignored" if r.empty else ""
            _fact(
                console,
                "rows:",
                Text(
                    "not read (a source is refused: below)"
                    if view.refused
                    else f"{r.rows:,} read, {r.kept:,} kept, {r.held_back:,} held back" + empty
                ),
            )
        for group in by_file.get(r.display, []):
            _fact(console, "bad:", Text(group.text()), "red")
    _print_rows(console, "First invoices, as read", view.invoices, INVOICE_COLUMNS)
    _print_rows(console, "First customers, as read", view.customers, CUSTOMER_COLUMNS)
    _print_unreachable(console, view)
    if view.refused:
        console.print(
            Text("refused: ", style="bold red") + Text(view.refused),
            soft_wrap=not console.is_terminal,
        )


def _print_unreachable(console: Console, view: SourcesView) -> None:
    """Per channel the workflows use, who among the customers owing it cannot reach."""
    for kind, reach in view.unreachable.items():
        if not reach["customers"]:
            continue  # no customer has an open invoice: nobody to reach
        if reach["unreachable"]:
            named = ", ".join(reach["named"]) + (
                ", …" if reach["unreachable"] > len(reach["named"]) else ""
            )
            console.print(
                Text(f"{kind}: ", style="yellow")
                + Text(
                    f"{reach_text(reach)} {'has' if reach['unreachable'] == 1 else 'have'} no "
                    f"{reach['contact']}: {named}"
                ),
                soft_wrap=not console.is_terminal,  # in a terminal, wrapped between words
            )
        else:
            console.print(
                f"{kind}: {reach_text(reach, every=True)} {CONTACT_WORDS[reach['contact']]}",
                markup=False,
                soft_wrap=not console.is_terminal,
            )


def _fact(console: Console, label: str, text: Text, style: str = "") -> None:
    """`  label:    text` (the texts of a source in a column): in a terminal the text wraps
    between words under itself; elsewhere the line is never broken."""
    if not console.is_terminal:
        console.print(Text(f"  {label:<10}", style=style) + text)
        return
    grid = Table.grid()
    grid.add_column(width=12, no_wrap=True)
    grid.add_column()
    grid.add_row(Text(f"  {label}", style=style), text)
    console.print(grid)


def reach_text(reach: dict, *, every: bool = False) -> str:
    """How many of the customers with an open invoice a channel misses (or, `every`, reaches),
    in words: "1 of 6 customers with an open invoice", "the one customer …", "all 6 …"."""
    total = reach["customers"]
    if total == 1:
        return "the one customer with an open invoice" + (" has" if every else "")
    if every:
        return f"all {total} customers with an open invoice have"
    return f"{reach['unreachable']} of {total} customers with an open invoice"


INVOICE_COLUMNS = (  # who an invoice reaches is in the customers' table
    ("line", "line"),
    ("number", "number"),
    ("customer", "customer_id"),
    ("issued", "issue_date"),
    ("due", "due_date"),
    ("open", "open"),
    ("status", "status"),
)
CUSTOMER_COLUMNS = (
    ("line", "line"),
    ("customer", "customer_id"),
    ("name", "name"),
    ("workflow", "workflow"),
    ("reached at", "to"),
)
# every cell but a name is one token (an id, a date, an amount, an address): never broken
UNBROKEN = {
    "line",
    "number",
    "customer_id",
    "issue_date",
    "due_date",
    "open",
    "status",
    "workflow",
    "to",
}


def _print_rows(
    console: Console, title: str, rows: list[dict], columns: tuple[tuple[str, str], ...]
) -> None:
    """The first rows as read: a table whose tokens are never broken (a name wraps between
    words; below the width they need, a block per row)."""
    if not rows:
        return
    lines: list[list[Cell]] = []
    for row in rows:
        shown = {
            **row,
            "open": f"{row.get('balance') or row.get('amount')} {row.get('currency')}",
            "to": "\n".join([*row["email"], *([row["phone"]] if row["phone"] else [])]) or "none",
        }
        lines.append([_cell(shown[key]) for _, key in columns])
    listing = Listing(
        title,
        [Col(heading, key, token=key in UNBROKEN, right=key == "open") for heading, key in columns],
        lines,
    )
    print_listing(console, listing, plain=False, look=box.SIMPLE_HEAD)


def _cell(value: object) -> str:
    return "—" if value is None else str(value)
