"""The payments source (issue 32): a bank's or a processor's CSV export (or a SQLite table or
SELECT with the same fields) read into payments, with
the invoices' rules for bad input — a row with a bad value is held back and named (file, line,
column, value, fix), the good rows are read; a file without the columns arflow needs is refused
whole. Values go through the invoices' parser (`date_format:`, `decimal:`, `thousands:`).

Fields (`columns:` maps each to the file's header, or to a list of headers — see layout.py;
by default the field's own name, any case): `date` and `amount` (required), `refunded` (taken
off the amount), `currency` (default: the company's), `reference`, `payer`, `payer_account`,
`id` (the file's own transaction id; else one made from the row, the same on every reading).
Only money in is a payment: a row with an amount of 0 or less, or none (a debit beside a credit
column), is passed over and counted; so is a row `keep_if:` or `skip_if:` leaves out (a preset's
filter: a failed charge, a currency conversion). `preset:` reads a processor's export in one
line (presets.py).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from arflow.config import Config, PaymentsSource
from arflow.errors import ArflowError, RowError, SourceRefused
from arflow.payments.camt import read_camt
from arflow.payments.layout import Layout, layout
from arflow.payments.match import ZERO, Payment, identity, payment_id
from arflow.payments.ofx import read_ofx
from arflow.reading import group_errors
from arflow.sources.command import source_file
from arflow.sources.csvfile import Blocks, delimiter_of
from arflow.sources.database import read_database
from arflow.sources.rows import shape_problem
from arflow.sources.sqlitedb import read_sqlite
from arflow.sources.understood import bad_rows_allowed
from arflow.sources.values import ValueParser


@dataclass(slots=True)
class PaymentsRead:
    payments: list[Payment] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    debits: int = 0  # rows of money out, passed over
    repeated: int = 0  # rows whose id came before in the file: one payment
    filtered: int = 0  # rows `keep_if:` or `skip_if:` (a preset's filter) left out
    rows: int = 0  # rows read, blank lines aside
    file: str = ""  # the file, as messages name it


def read_payments(config: Config, source: PaymentsSource) -> PaymentsRead:
    """The payments of `source`: a CSV file, a SQLite table or SELECT, a camt.053 statement,
    an OFX or QFX download, or the CSV a command prints (SourceRefused when it fails)."""
    if source.is_database:  # issue 35: a database server's table or SELECT
        shown = config.source_name(source)
        rows = _table_rows(
            lambda: read_database(source, shown, zone=config.company.timezone), shown
        )
        return _read_rows(config, source, rows, shown)
    path = source_file(config, source)  # a file, or a command's output (CSV: its `format:`)
    shown = config.source_name(source)
    if source.command is None and path.suffix.lower() in (".xml", ".ofx", ".qfx"):
        read = read_camt if path.suffix.lower() == ".xml" else read_ofx
        payments, errors, passed = read(path, shown, config.company.currency)
        return PaymentsRead(payments, errors, passed, file=shown)
    rows = (
        _table_rows(lambda: read_sqlite(path, source, shown), shown)
        if source.is_sqlite
        else _csv_rows(path, source, shown)
    )
    return _read_rows(config, source, rows, shown)


def _read_rows(
    config: Config, source: PaymentsSource, rows: list[list[str]], shown: str
) -> PaymentsRead:
    """The payments of a source's rows (its header first), each bad row named and held back."""
    if not rows:
        raise SourceRefused("payments", f"{shown}: the file is empty; give a bank export", "path")
    where = layout(rows[0], source, shown)
    parse = ValueParser(source, "payments", config.company.region)
    found = PaymentsRead(file=shown)
    seen_ids: set[str] = set()
    alike: Counter[tuple] = Counter()
    for line, cells in enumerate(rows[1:], start=2):
        problem = shape_problem(cells, len(rows[0]))
        if problem == "":  # a blank line
            continue
        found.rows += 1
        if problem is not None:
            found.errors.append(RowError(shown, line, None, None, problem))
            continue
        if where.passed_over(cells):
            found.filtered += 1
            continue
        payment = _payment(cells, where, parse, config, shown, line, found, alike)
        if payment is None:
            continue
        if payment.id in seen_ids:
            found.repeated += 1
            continue
        seen_ids.add(payment.id)
        found.payments.append(payment)
    _refuse_if_broken(found, source)
    return found


def _refuse_if_broken(found: PaymentsRead, source: PaymentsSource) -> None:
    """The invoices' rule: more rows held back than `max_bad_rows:` allows, or every row,
    refuses the file whole — arflow does not chase on balances it could not check."""
    held = len(found.errors)
    if not held or (held <= bad_rows_allowed(source, found.rows) and held < found.rows):
        return
    causes = "".join(f"\n  {g.text(3)}" for g in group_errors(found.errors))
    raise SourceRefused(
        "payments",
        f"{found.file}: {held:,} of its {found.rows:,} rows are bad, more than max_bad_rows: "
        f"{source.max_bad_rows} allows; a bank file this broken is not acted on: fix it, or "
        f"raise max_bad_rows: under payments: in arflow.yaml. By cause:{causes}",
        "max_bad_rows",
    )


def _csv_rows(path: Path, source: PaymentsSource, shown: str) -> list[list[str]]:
    """The file's rows, its header first."""
    try:
        with path.open(newline="", encoding=source.encoding) as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else f"it is not {source.encoding} text"
        raise SourceRefused("payments", f"{shown}: cannot read it: {detail}", "path") from None
    return list(csv.reader(text.splitlines(), delimiter=delimiter_of(source, text)))


def _table_rows(read: Callable[[], tuple[list[str], Blocks]], shown: str) -> list[list[str]]:
    """A table's or SELECT's rows as text (SQLite or a database server), its column names
    first (as the invoices' sources read them); a row's line is its number from 2, as a CSV
    file's."""
    try:
        header, blocks = read()
        return [header, *(row for _, rows in blocks for row in rows)]
    except ArflowError as exc:
        raise SourceRefused("payments", str(exc), "path") from None


def _payment(
    cells: list[str],
    where: Layout,
    parse: ValueParser,
    config: Config,
    shown: str,
    line: int,
    found: PaymentsRead,
    alike: Counter[tuple],
) -> Payment | None:
    def cell(name: str) -> str:
        return where.cell(cells, name)

    def bad(name: str, message: str) -> None:
        found.errors.append(RowError(shown, line, name, cell(name), message))

    try:
        day = parse.date(cell("date"))
    except ValueError as exc:
        bad("date", str(exc))
        return None
    if not cell("amount"):  # nothing in the credit column: a debit beside it
        found.debits += 1
        return None
    amount = _money(parse, cell, "amount", bad)
    refunded = _money(parse, cell, "refunded", bad) if cell("refunded") else ZERO
    if amount is None or refunded is None:
        return None
    amount -= refunded  # what a processor gave back of it
    if amount <= ZERO:
        found.debits += 1
        return None
    currency = (cell("currency") or config.company.currency).upper()
    reference, payer = cell("reference"), cell("payer") or None
    key = (day, *identity(amount, currency, reference, payer))
    own = cell("id")
    pid = own or payment_id(day, amount, currency, reference, payer, alike[key])
    alike[key] += 1
    return Payment(pid, day, amount, currency, reference, payer, cell("payer_account") or None)


def _money(
    parse: ValueParser, cell: Callable[[str], str], name: str, bad: Callable[[str, str], None]
) -> Decimal | None:
    """The field's amount; None (and the row held back, named) when it is not one."""
    try:
        return parse.money(cell(name))
    except ValueError as exc:
        bad(name, str(exc))
        return None
