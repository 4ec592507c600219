"""The payments source (issue 32): a bank's or a processor's CSV export read into payments, with
the invoices' rules for bad input — a row with a bad value is held back and named (file, line,
column, value, fix), the good rows are read; a file without the columns arflow needs is refused
whole. Values go through the invoices' parser (`date_format:`, `decimal:`, `thousands:`).

Fields (`columns:` maps each to the file's header; by default the field's own name, any case):
`date` and `amount` (required), `currency` (default: the company's), `reference`, `payer`,
`payer_account`, `id` (the file's own transaction id; else one made from the row, the same on
every reading). Only money in is a payment: a row with an amount of 0 or less (a debit) is
passed over and counted.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field

from arflow.config import Config, SourceConfig
from arflow.errors import RowError, SourceRefused
from arflow.payments.camt import read_camt
from arflow.payments.match import ZERO, Payment, payment_id
from arflow.payments.ofx import read_ofx
from arflow.sources.csvfile import delimiter_of
from arflow.sources.values import ValueParser

FIELDS = ("id", "date", "amount", "currency", "reference", "payer", "payer_account")
REQUIRED = ("date", "amount")


@dataclass(slots=True)
class PaymentsRead:
    payments: list[Payment] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    debits: int = 0  # rows of money out, passed over
    repeated: int = 0  # rows whose id came before in the file: one payment


def read_payments(config: Config, source: SourceConfig) -> PaymentsRead:
    """The payments of `source` (a CSV file)."""
    path = config.resolve(source.path)
    shown = config.display(path)
    if path.suffix.lower() in (".xml", ".ofx", ".qfx"):  # a camt.053 statement, OFX, QFX
        read = read_camt if path.suffix.lower() == ".xml" else read_ofx
        payments, errors, passed = read(path, shown, config.company.currency)
        return PaymentsRead(payments, errors, passed)
    try:
        with path.open(newline="", encoding=source.encoding) as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else f"it is not {source.encoding} text"
        raise SourceRefused("payments", f"{shown}: cannot read it: {detail}", "path") from None
    rows = list(csv.reader(text.splitlines(), delimiter=delimiter_of(source, text)))
    if not rows:
        raise SourceRefused("payments", f"{shown}: the file is empty; give a bank export", "path")
    where = _columns(rows[0], source, shown)
    parse = ValueParser(source, "payments", config.company.region)
    found = PaymentsRead()
    seen_ids: set[str] = set()
    alike: Counter[tuple] = Counter()
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        payment = _payment(cells, where, parse, config, shown, line, found, alike)
        if payment is None:
            continue
        if payment.id in seen_ids:
            found.repeated += 1
            continue
        seen_ids.add(payment.id)
        found.payments.append(payment)
    return found


def _columns(header: list[str], source: SourceConfig, shown: str) -> dict[str, int]:
    """field → its column's index; a required field without a column refuses the file."""
    index = {name.strip().lower(): n for n, name in enumerate(header)}
    where = {}
    for name in FIELDS:
        column = source.columns.get(name, name).strip().lower()
        if column in index:
            where[name] = index[column]
    missing = [name for name in REQUIRED if name not in where]
    if missing:
        raise SourceRefused(
            "payments",
            f"{shown}: no column for {', '.join(missing)} (columns are: {', '.join(header)}); "
            f"map it with columns: {{{missing[0]}: YOUR_HEADER}} under payments: in arflow.yaml",
            "columns",
        )
    return where


def _payment(
    cells: list[str],
    where: dict[str, int],
    parse: ValueParser,
    config: Config,
    shown: str,
    line: int,
    found: PaymentsRead,
    alike: Counter[tuple],
) -> Payment | None:
    def cell(name: str) -> str:
        at = where.get(name)
        return cells[at].strip() if at is not None and at < len(cells) else ""

    def bad(name: str, message: str) -> None:
        found.errors.append(RowError(shown, line, name, cell(name), message))

    try:
        day = parse.date(cell("date"))
    except ValueError as exc:
        bad("date", str(exc))
        return None
    try:
        amount = parse.money(cell("amount"))
    except ValueError as exc:
        bad("amount", str(exc))
        return None
    if amount <= ZERO:
        found.debits += 1
        return None
    currency = (cell("currency") or config.company.currency).upper()
    reference, payer = cell("reference"), cell("payer") or None
    key = (day, amount, currency, reference, payer)
    own = cell("id")
    pid = own or payment_id(day, amount, currency, reference, payer, alike[key])
    alike[key] += 1
    return Payment(pid, day, amount, currency, reference, payer, cell("payer_account") or None)
