"""`arflow fees` (issue 31): what late invoices owe under `late_fees:`, and waivers."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from arflow.commands import common, session
from arflow.commands.common import EXIT_PROBLEMS, ConfigOption, TableFormat, errors_console, say
from arflow.config import load_config
from arflow.errors import Refused
from arflow.fees.book import FeeBook
from arflow.fees.journal import LAYOUTS, day_format_of, journal_rows
from arflow.fees.report import CSV_HEADER, FeeReport, fee_document, fee_report, fee_rows
from arflow.listing import Cell, Col, Listing, print_listing, write_csv
from arflow.planner.past_state import read_past_state
from arflow.project import load_project
from arflow.secrets import redact
from arflow.sources import load_ledger
from arflow.sources.csvfile import spreadsheet_text
from arflow.state import open_state
from arflow.tables import amounts_text

COLUMNS = [
    Col("Invoice", "number"),
    Col("Customer", "customer_id"),
    Col("Days late", "days_late", right=True),
    Col("Principal", "principal", right=True),
    Col("Rate", "rates", token=False, drop=1),
    Col("Interest", "interest", right=True),
    Col("Compensation", "compensation", right=True),
    Col("Charged", "charged", right=True),
    Col("Total due", "total_due", right=True),
]


JournalOption = Annotated[
    bool,
    typer.Option("--journal", help="Print what was charged, as sales invoices to import (CSV)."),
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", metavar="YYYY-MM-DD", help="With --journal: charges from this day."),
]
LayoutOption = Annotated[
    str, typer.Option("--layout", metavar="xero|quickbooks", help="With --journal: whose import.")
]
AccountOption = Annotated[
    str, typer.Option("--account", metavar="CODE", help="With --journal: the income account.")
]
TaxTypeOption = Annotated[
    str, typer.Option("--tax-type", metavar="NAME", help="With --journal: Xero's tax rate.")
]


def fees_list(
    ctx: typer.Context,
    as_of: Annotated[str | None, common.as_of_option("Work the fees out as of this day")] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", metavar="ID", help="Only this customer.")
    ] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    journal: JournalOption = False,
    since: SinceOption = None,
    layout: LayoutOption = "xero",
    account: AccountOption = "",
    tax_type: TaxTypeOption = "",
    config: ConfigOption = None,
) -> None:
    """What late invoices owe: interest, compensation, charged so far.

    Per open invoice past its due date: its days late, principal, each interest period with
    its rate, the compensation owed once, what `charge_fees` steps charged so far, and the
    total due, under `late_fees:` in arflow.yaml (or the invoice's workflow). Reads the
    sources and the state; writes nothing.

    \b
    Example: arflow fees --as-of 2026-03-16 --format json
    """
    if ctx.invoked_subcommand is not None:
        return
    if journal:
        _journal(config, since, layout, account, tax_type)
        return
    project = load_project(common.config_path(config))
    cfg = project.config
    day = common.parse_day(cfg, as_of, "--as-of") or cfg.today(common.now())
    ledger = load_ledger(cfg)
    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "dry") as db:
        # what was charged and waived by that day
        charges = db.fee_charges(until=day)
        waived = [n for n, (_, since) in db.fee_waivers().items() if since <= day]
        book = FeeBook(cfg, project.models, charges, waived)
        past = read_past_state(db, project.models, day)
    report = fee_report(project, ledger, book, past, day, customer)
    if fmt is TableFormat.json:
        common.print_json(fee_document(report))
    elif fmt is TableFormat.csv:
        write_csv(sys.stdout, CSV_HEADER, fee_rows(report))
    else:
        _print(report, cfg.company.locale)
    _notes(report, FeeBook(cfg, project.models).enabled)
    _report_errors(report)
    session.report_held_back(ledger)


def _journal(
    config: Path | None, since: str | None, layout: str, account: str, tax_type: str
) -> None:
    """`--journal`: every charge (from `since` on) once, as the books import sales invoices."""
    if layout not in LAYOUTS:
        raise typer.BadParameter(f"{layout!r}: give xero or quickbooks", param_hint="--layout")
    cfg = load_config(common.config_path(config))
    first = common.parse_day(cfg, since, "--since")
    if layout == "xero" and not (account and tax_type):
        errors_console().print(
            "warning: Xero asks each line for an AccountCode and a TaxType: give --account and "
            "--tax-type (or fill them in before importing)",
            markup=False,
        )
    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "read") as db:
        charges = db.fee_charges(first) if db is not None else []
    ledger = load_ledger(cfg)
    header, rows = journal_rows(
        charges,
        ledger.customers,
        layout,
        day_format=day_format_of(cfg.company.locale),
        account=account,
        tax_type=tax_type,
    )
    write_csv(sys.stdout, header, [[spreadsheet_text(v) for v in row] for row in rows])
    session.report_held_back(ledger)


def _print(report: FeeReport, locale: str) -> None:
    def money(value: object, currency: str) -> str:
        assert isinstance(value, Decimal)
        return amounts_text({currency: value}, locale)

    rows: list[list[Cell]] = []
    for values in fee_rows(report):
        number, cid, cur, principal, days, rates, *amounts = values
        rows.append(
            [
                str(number),
                str(cid),
                str(days),
                money(principal, str(cur)),
                str(rates),
                *(money(v, str(cur)) for v in amounts),
            ]
        )
    totals = report.totals()
    listing = Listing(
        f"arflow fees as of {report.as_of}: {len(rows)} invoice(s)",
        COLUMNS,
        rows,
        [
            [
                "total",
                f"{len(rows)} invoice(s)",
                "",
                "",
                "",
                amounts_text({c: t["interest"] for c, t in totals.items()}, locale) or "—",
                amounts_text({c: t["compensation"] for c, t in totals.items()}, locale) or "—",
                amounts_text({c: t["charged"] for c, t in totals.items()}, locale) or "—",
                "",
            ]
        ]
        if rows
        else [],
        "No open invoice is past its due date.",
    )
    print_listing(Console(highlight=False), listing, plain=common.plain())


def _notes(report: FeeReport, enabled: bool) -> None:
    """Why a sum is not owed, and a folder that charges nothing, on stderr."""
    console = errors_console()
    if not enabled:
        console.print(
            "note: late_fees: is set neither in arflow.yaml nor in a workflow: nothing accrues",
            markup=False,
        )
    for line in report.lines:
        if line.accrual.note:
            console.print(f"note: {line.invoice.number}: {line.accrual.note}", markup=False)


def _report_errors(report: FeeReport) -> None:
    if not report.errors:
        return
    console = errors_console()
    for error in report.errors:
        console.print(
            redact(
                f"error: {error.file}:{error.line}: {error.column} {error.value}: {error.message}"
            ),
            markup=False,
        )
    raise typer.Exit(EXIT_PROBLEMS)


def fees_waive(
    invoice: Annotated[str, typer.Argument(metavar="INVOICE", help="The invoice's number.")],
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for history.")
    ] = None,
    as_of: Annotated[str | None, common.as_of_option("The day of the waiver")] = None,
    config: ConfigOption = None,
) -> None:
    """Charge an invoice no more fees.

    Records a waiver: later `charge_fees` steps charge the invoice nothing, and `arflow fees`
    shows it waived. What was charged before stays charged (book a credit note for it).

    \b
    Example: arflow fees waive INV-1002 --reason "goodwill"
    """
    project = load_project(common.config_path(config))
    cfg = project.config
    day = common.parse_day(cfg, as_of, "--as-of") or cfg.today(common.now())
    ledger = load_ledger(cfg)
    found = next((inv for inv in ledger.invoices if inv.number == invoice), None)
    if found is None:
        raise Refused(f"no invoice {invoice} in the invoices source; give an invoice's number")
    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "write") as db:
        new = db.waive_fees(invoice, found.customer_id, reason, day)
    say(f"{invoice}: fees waived from {day}" if new else f"{invoice}: fees were waived already")
