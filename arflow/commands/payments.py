"""`arflow payments` (issue 32): the payments source, each payment with the invoices it pays."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from arflow.commands import common, session
from arflow.commands.common import EXIT_PROBLEMS, ConfigOption, TableFormat, errors_console
from arflow.config import load_config
from arflow.errors import Refused
from arflow.listing import Cell, Col, Listing, print_listing, write_csv
from arflow.payments.listing import CSV_HEADER, matched, payment_document, payment_rows
from arflow.payments.match import Match
from arflow.payments.source import PaymentsRead, read_payments
from arflow.secrets import redact
from arflow.sources import load_ledger
from arflow.sources.csvfile import spreadsheet_text
from arflow.tables import amounts_text

COLUMNS = [
    Col("Payment", "id"),
    Col("Date", "date"),
    Col("Amount", "amount", right=True),
    Col("Reference", "reference", token=False),
    Col("Payer", "payer", token=False, drop=1),
    Col("State", "state"),
    Col("Rule", "rule"),
    Col("Invoices", "invoices", token=False),
    Col("Why", "why", token=False, drop=2),
]


def payments_list(
    unmatched: Annotated[
        bool, typer.Option("--unmatched", help="Only the payments no invoice was found for.")
    ] = False,
    as_of: Annotated[
        str | None, common.as_of_option("Match against the invoices open on this day")
    ] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """Payments from the bank, and the invoices each pays.

    Reads the `payments:` source (a bank's or processor's CSV export) and matches each
    payment to the open invoices: by the invoice numbers its reference names, else by an
    amount equal to one open balance (or a customer's whole) of a payer arflow knows; an
    ambiguous or unknown payment stays unmatched for a person. Reads the sources only.

    \b
    Example: arflow payments --unmatched
    """
    cfg = load_config(common.config_path(config))
    if cfg.payments is None:
        raise Refused(
            "no payments: source in arflow.yaml; add payments: {path: bank.csv} (see docs)"
        )
    day = common.parse_day(cfg, as_of, "--as-of") or cfg.today(common.now())
    ledger = load_ledger(cfg)
    read = read_payments(cfg, cfg.payments)
    matches = matched(read, ledger, day, cfg.min_balance)
    if unmatched:
        matches = [m for m in matches if not m.matched]
    if fmt is TableFormat.json:
        common.print_json(payment_document(matches))
    elif fmt is TableFormat.csv:
        write_csv(
            sys.stdout,
            CSV_HEADER,
            [[spreadsheet_text(v) for v in r] for r in payment_rows(matches)],
        )
    else:
        _print(matches, cfg.company.locale)
    _report_passed_over(read)
    _report_errors(read)
    session.report_held_back(ledger)


def _print(matches: list[Match], locale: str) -> None:
    """The table (or piped lines): amounts as money, a total of matched and unmatched."""
    rows: list[list[Cell]] = [
        [
            m.payment.id,
            m.payment.date.isoformat(),
            amounts_text({m.payment.currency: m.payment.amount}, locale),
            m.payment.reference or "—",
            m.payment.payer or "—",
            "matched" if m.matched else "unmatched",
            m.rule or "—",
            ", ".join(a.invoice for a in m.applied) or "—",
            m.why,
        ]
        for m in matches
    ]
    done = sum(m.matched for m in matches)
    listing = Listing(
        f"arflow payments: {len(matches)} payment(s)",
        COLUMNS,
        rows,
        [
            [
                "total",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                f"{done} matched, {len(matches) - done} unmatched",
            ]
        ]
        if matches
        else [],
        "No payments.",
    )
    print_listing(Console(highlight=False), listing, plain=common.plain())


def _report_passed_over(read: PaymentsRead) -> None:
    """The rows a filter (`keep_if:`, `skip_if:`: a preset's) left out, counted on stderr with
    those of money out: nothing is passed over silently."""
    if read.filtered:
        errors_console().print(
            f"note: {read.file}: {read.filtered} row(s) left out by keep_if:/skip_if: (not "
            f"money received), {read.debits} of money out",
            markup=False,
        )


def _report_errors(read: PaymentsRead) -> None:
    """Each row held back, on stderr: exit 3."""
    if read.errors:
        console = errors_console()
        for e in read.errors:
            console.print(
                redact(f"error: {e.file}:{e.line}: {e.column} {e.value!r}: {e.message}"),
                markup=False,
            )
        raise typer.Exit(EXIT_PROBLEMS)
