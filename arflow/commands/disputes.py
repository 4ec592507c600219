"""`arflow dispute` and `arflow disputes` (issue 33): disputes opened, resolved and listed."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console

from arflow.commands import common, session
from arflow.commands.common import ConfigOption, TableFormat, say
from arflow.config import Config
from arflow.disputes.listing import (
    CSV_HEADER,
    csv_rows,
    dispute_document,
    dispute_rows,
    shown,
)
from arflow.disputes.making import new_dispute, resolving
from arflow.disputes.night import owed_after_credits
from arflow.errors import Refused
from arflow.listing import Cell, Col, Listing, print_listing, write_csv
from arflow.plans.night import standings_on
from arflow.plans.standing import ON_TRACK
from arflow.sources.csvfile import spreadsheet_text
from arflow.state.disputes import DisputeRow
from arflow.tables import amounts_text

RESOLVE = "resolve"
COLUMNS = [
    Col("Invoice", "invoice"),
    Col("Customer", "customer_id"),
    Col("Reason", "reason"),
    Col("Disputed", "amount", right=True),
    Col("Since", "since"),
    Col("State", "state"),
    Col("Note", "note", token=False, drop=1),
]


def dispute(
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="INVOICE | resolve INVOICE",
            help="The invoice disputed, or `resolve` and the invoice whose dispute ends.",
        ),
    ],
    reason: Annotated[
        str | None,
        typer.Option("--reason", metavar="CODE", help="A code of disputes: reasons:."),
    ] = None,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT", help="What was said, for history.")
    ] = None,
    amount: Annotated[
        str | None,
        typer.Option("--amount", metavar="A", help="The disputed part (default: all of it)."),
    ] = None,
    credit: Annotated[
        str | None,
        typer.Option("--credit", metavar="A", help="resolve: the credit agreed, if any."),
    ] = None,
    as_of: Annotated[str | None, common.as_of_option("The day of the dispute")] = None,
    config: ConfigOption = None,
) -> None:
    """Record a dispute on an invoice, or resolve one.

    A disputed invoice (or with --amount the disputed part) is not chased from that day on
    and still counts in totals and aging; the next run gives the customer's specialist a
    task (or starts disputes: workflow:). `arflow dispute resolve INVOICE` ends it: chasing
    resumes; with --credit what is chased is lowered by the credit while the invoice is
    open (a falling balance may be a payment: it is never taken for the credit note).

    \b
    Example: arflow dispute INV-1002 --reason quantity --note "3 of 10 boxes damaged"
    Example: arflow dispute resolve INV-1002 --credit 45.00
    """
    with session.desk_session(config, checked=False) as s:
        cfg = s.project.config
        day = common.parse_day(cfg, as_of, "--as-of") or s.today
        session.heard_payments(cfg, s.ledger, day, s.db)  # what the bank says was paid
        rows = s.db.disputes()
        if words[0] == RESOLVE and len(words) == 1:
            raise Refused("name the invoice whose dispute ends: arflow dispute resolve INVOICE")
        if words[0] == RESOLVE and len(words) == 2:
            if reason is not None or amount is not None:
                raise Refused(
                    "dispute resolve takes --credit and --note; --reason and --amount "
                    "are for opening a dispute"
                )
            owed_after_credits(s.db, s.ledger, day)
            credited = common.parse_amount(cfg, credit, "--credit")
            d, balance = resolving(s.ledger, rows, words[1], credited, day, cfg)
            s.db.resolve_dispute(d.dispute_id, day, credited, note, balance)
            text = f" with a credit of {credited}" if credited else ""
            say(f"Dispute on {d.invoice} resolved on {day}{text}: chasing resumes.")
            return
        _open(s, cfg, words, reason, note, amount, credit, day)


def _open(
    s: session.Session,
    cfg: Config,
    words: list[str],
    reason: str | None,
    note: str | None,
    amount: str | None,
    credit: str | None,
    day: date,
) -> None:
    if len(words) != 1:
        raise Refused(
            f"{' '.join(words)}: name one invoice (arflow dispute INVOICE --reason CODE), or "
            "resolve one (arflow dispute resolve INVOICE)"
        )
    if credit is not None:
        raise Refused("--credit is for resolving: arflow dispute resolve INVOICE --credit A")
    if reason is None:
        raise Refused(
            f"--reason is needed: one of {', '.join(cfg.disputes.reasons)} "
            "(disputes: reasons: in arflow.yaml)"
        )
    part = common.parse_amount(cfg, amount, "--amount")
    on_plan = {
        n: st.plan.plan_id
        for st in standings_on(s.db, s.ledger, day, cfg).values()
        if st.state == ON_TRACK
        for n in st.plan.invoices
    }
    made = new_dispute(s.ledger, s.db.disputes(), words[0], reason, part, day, cfg, on_plan)
    s.db.add_dispute(made.invoice.number, made.invoice.customer_id, reason, note, made.amount, day)
    what = "" if made.amount is None else f" ({made.invoice.currency} {made.amount} of it)"
    say(
        f"{made.invoice.number}{what} disputed from {day} ({reason}): it is not chased until "
        f"arflow dispute resolve {made.invoice.number}."
    )


def disputes(
    every: Annotated[bool, typer.Option("--all", help="Resolved disputes too.")] = False,
    as_of: Annotated[str | None, common.as_of_option("The disputes open on this day")] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """The disputes open on a day.

    Each disputed invoice with its customer, reason code, the amount disputed (the invoice's
    balance when it is disputed whole), the day it began and its state. Reads the sources and
    the state; writes nothing.

    \b
    Example: arflow disputes --format json
    """
    with session.desk_session(config, write=False, checked=False) as s:
        cfg = s.project.config
        day = common.parse_day(cfg, as_of, "--as-of") or s.today
        session.heard_payments(cfg, s.ledger, day, s.state)
        rows = shown(s.state.disputes() if s.state is not None else [], day, every=every)
    if fmt is TableFormat.json:
        common.print_json(dispute_document(rows, s.ledger, day))
    elif fmt is TableFormat.csv:
        found = csv_rows(rows, s.ledger, day)
        write_csv(sys.stdout, CSV_HEADER, [[spreadsheet_text(v) for v in r] for r in found])
    else:
        _table(rows, s, cfg, day)
    session.report_held_back(s.ledger)


def _table(rows: list[DisputeRow], s: session.Session, cfg: Config, day: date) -> None:
    table: list[list[Cell]] = []
    for inv, cid, reason, cur, amount, since, state, _, _, _, note in dispute_rows(
        rows, s.ledger, day
    ):
        assert isinstance(amount, Decimal)
        money = amounts_text({str(cur): amount}, cfg.company.locale) if cur else str(amount)
        table.append([str(inv), str(cid), str(reason), money, str(since), str(state), str(note)])
    listing = Listing(
        f"arflow disputes as of {day}: {len(rows)} dispute(s)", COLUMNS, table, [], "No disputes."
    )
    print_listing(Console(highlight=False), listing, plain=common.plain())
