"""`arflow payments` (issue 32): the payments source, each payment with the invoices it pays."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console

from arflow.commands import common, session
from arflow.commands.common import ConfigOption, TableFormat
from arflow.config import Config
from arflow.errors import Refused
from arflow.listing import Cell, Col, Listing, print_listing, write_csv
from arflow.payments.apply import Heard, hear_payments
from arflow.payments.by_hand import find_record, matched_by_hand, unmatched_by_hand
from arflow.payments.listing import CSV_HEADER, payment_document, payment_rows
from arflow.payments.match import Match
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
    ctx: typer.Context,
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
    if ctx.invoked_subcommand is not None:
        return
    with session.desk_session(config, write=False) as s:
        cfg = s.project.config
        _require_payments(cfg)
        day = common.parse_day(cfg, as_of, "--as-of") or s.today
        heard = session.heard_payments(cfg, s.ledger, day, s.state)
        matches = heard.matches
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
    _report_passed_over(heard)
    session.report_held_back(s.ledger)


def payments_match(
    payment: Annotated[
        str, typer.Argument(metavar="PAYMENT", help="The payment's id (or its start).")
    ],
    invoices: Annotated[
        list[str], typer.Argument(metavar="INVOICE...", help="The invoices it pays, in order.")
    ],
    config: ConfigOption = None,
) -> None:
    """Match a payment to invoices by hand.

    The payment pays the invoices in the order given, each up to what is open on it; what
    is left is reported as over-payment. arflow never matches it again by itself. A payment
    new in the payments source is recorded first, as tonight's run would.

    \b
    Example: arflow payments match p-3f2a INV-1001 INV-1002
    """
    with session.desk_session(config) as s:
        heard = _heard(s)
        record = find_record(heard.records, payment)
        found = s.ledger.find(invoices)
        missing = [n for n in invoices if n not in found]
        if missing:
            raise Refused(
                f"no invoice {missing[0]} in the invoices source; give an invoice's number"
            )
        settled = matched_by_hand(record, [found[n] for n in invoices], heard, s.today)
        s.db.save_payments([settled], s.today)
    over = f"; {settled.over} {record.payment.currency} over" if settled.over else ""
    paid = ", ".join(f"{a.invoice} {a.amount}" for a in settled.applied)
    common.say(f"{record.payment.id}: pays {paid}{over}")


def payments_unmatch(
    payment: Annotated[
        str, typer.Argument(metavar="PAYMENT", help="The payment's id (or its start).")
    ],
    config: ConfigOption = None,
) -> None:
    """Undo a payment's match.

    The payment pays no invoice and waits for a person (`arflow payments match`); arflow
    never matches it again by itself. Its invoices are chased again from the next run, unless
    the sources show them paid.

    \b
    Example: arflow payments unmatch p-3f2a
    """
    with session.desk_session(config) as s:
        record = find_record(_heard(s).records, payment)
        s.db.save_payments([unmatched_by_hand(record)], s.today)
    common.say(f"{record.payment.id}: unmatched; it waits for a person")


def _heard(s: session.Session) -> Heard:
    """The payments up to today, the source's new ones recorded as a run would."""
    cfg = s.project.config
    _require_payments(cfg)
    return hear_payments(cfg, s.db, s.ledger, s.today, record=True)


def _report_passed_over(heard: Heard) -> None:
    """The rows a filter (`keep_if:`, `skip_if:`: a preset's) left out, counted on stderr with
    those of money out: nothing is passed over silently."""
    read = heard.read
    if read is not None and read.filtered:
        common.errors_console().print(
            f"note: {read.file}: {read.filtered} row(s) left out by keep_if:/skip_if: (not "
            f"money received), {read.debits} of money out",
            markup=False,
        )


def _require_payments(cfg: Config) -> None:
    if cfg.payments is None:
        raise Refused(
            "no payments: source in arflow.yaml; add payments: {path: bank.csv} (see docs)"
        )


def _money(amount: Decimal, currency: str, locale: str) -> str:
    return amounts_text({currency: amount}, locale)


def _print(matches: list[Match], locale: str) -> None:
    """The table (or piped lines): amounts as money, a total of matched and unmatched."""
    rows: list[list[Cell]] = [
        [
            m.payment.id,
            m.payment.date.isoformat(),
            _money(m.payment.amount, m.payment.currency, locale),
            m.payment.reference or "—",
            m.payment.payer or "—",
            "matched" if m.matched else "unmatched",
            m.rule or "—",
            ", ".join(a.invoice for a in m.applied) or "—",
            m.why + (f"; {_money(m.over, m.payment.currency, locale)} over" if m.over else ""),
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
