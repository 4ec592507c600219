"""What payments from the bank do to the ledger (issue 32, "What a matched payment does"): the
payments source read and matched against the open invoices, each payment recorded once (a real
run), and the ledger's balances lowered by what the sources do not show yet — before anything
is planned, so every message, total, condition, fee and aging figure sees them. An invoice the
payments cover is `payment-received`: not chased, and no `on_paid` before the sources confirm.

`unconfirmed` is the one rule of "until the ledger shows it"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arflow.config import Config
from arflow.ledger import Ledger
from arflow.payments.match import ZERO, Applied, Match, OpenItem, match_all
from arflow.payments.source import PaymentsRead, read_payments
from arflow.state import StateDB
from arflow.state.payments import AppliedRow, PaymentRecord


@dataclass(slots=True)
class Heard:
    """The payments as of a day, and what they did to the ledger."""

    records: list[PaymentRecord] = field(default_factory=list)  # dated up to the day
    balances: dict[str, Decimal] = field(default_factory=dict)  # invoice → lowered balance
    received: dict[str, Decimal] = field(default_factory=dict)  # covered → its source balance
    sources: dict[str, Decimal] = field(default_factory=dict)  # lowered → its source balance
    read: PaymentsRead | None = None  # the source as read: its counts of rows passed over
    new: list[PaymentRecord] = field(default_factory=list)  # read for the first time now

    @property
    def matches(self) -> list[Match]:
        return [as_match(r) for r in self.records]

    def news(self) -> str | None:
        """What a run heard from the bank tonight, in a line (None: nothing new)."""
        if not self.new or self.read is None:
            return None
        left = sum(r.rule is None for r in self.new)
        text = (
            f"Payments: {len(self.new)} new in {self.read.file}: "
            f"{len(self.new) - left} matched, {left} unmatched"
        )
        return text + (" (they wait for a person: arflow payments --unmatched)" if left else "")

    def unapplied(self) -> dict[str, Decimal]:
        """currency → cash no invoice takes: unmatched payments and over-payments."""
        found: dict[str, Decimal] = {}
        for r in self.records:
            left = r.payment.amount if r.rule is None else r.over
            if left:
                found[r.payment.currency] = found.get(r.payment.currency, ZERO) + left
        return found


def payers_of(ledger: Ledger) -> dict[str, list[str]]:
    """customer id → the names it pays under: its name, and the `payer` column of the
    customers file (accounts and names, separated by `;`)."""
    found: dict[str, list[str]] = {}
    for cid, customer in ledger.customers.items():
        names = [customer.display_name]
        extra = customer.extra or {}
        names += [n.strip() for n in extra.get("payer", "").split(";") if n.strip()]
        found[cid] = names
    return found


def unconfirmed(applied: Iterable[AppliedRow], source_balance: Decimal) -> Decimal:
    """What payments pay of one invoice that its balance in the sources does not show yet:
    what they pay, less how far that balance fell since the first of them was matched."""
    rows = list(applied)
    if not rows:
        return ZERO
    shown = max(ZERO, rows[0].source_balance - source_balance)
    return max(ZERO, sum((a.amount for a in rows), ZERO) - shown)


def as_match(record: PaymentRecord) -> Match:
    applied = tuple(Applied(a.invoice, a.amount) for a in record.applied)
    return Match(record.payment, record.rule, applied, record.why, record.over)


def hear_payments(
    cfg: Config, db: StateDB | None, ledger: Ledger, as_of: date, *, record: bool = False
) -> Heard:
    """The payments up to `as_of` (those recorded, and the source's new ones matched now; the
    unmatched tried again unless a person settled them), recorded when `record`, and the
    ledger lowered by them. A folder without `payments:` costs nothing."""
    if cfg.payments is None:
        return Heard()
    known = db.payment_records() if db is not None else {}
    read = read_payments(cfg, cfg.payments)
    ledger.errors.extend(read.errors)
    new = [p for p in read.payments if p.id not in known]
    kept = [r for r in known.values() if r.payment.date <= as_of]
    settled = [r for r in kept if r.rule is not None or r.by_hand]
    lowered = _lowered(settled, ledger, as_of)
    items, source = [], {}
    for inv in ledger.current(as_of, cfg.min_balance):
        source[inv.number] = balance = inv.open_balance(as_of)
        balance = lowered.get(inv.number, balance)
        items.append(OpenItem(inv.number, inv.customer_id, inv.due_date, balance, inv.currency))
    tried = [r.payment for r in kept if r.rule is None and not r.by_hand]
    tried += [p for p in new if p.date <= as_of]
    owners = {i.number: i.customer_id for i in items}
    fresh = [_record(m, owners, source) for m in match_all(tried, items, payers_of(ledger))]
    if record and fresh:
        assert db is not None
        db.save_payments(fresh, as_of)
    records = sorted(settled + fresh, key=lambda r: r.payment.date)
    new_ids = {p.id for p in new}
    heard = Heard(records, read=read, new=[r for r in fresh if r.payment.id in new_ids])
    _lower(heard, ledger, as_of, cfg.min_balance)
    return heard


def _record(
    match: Match, owners: Mapping[str, str], source: Mapping[str, Decimal]
) -> PaymentRecord:
    applied = tuple(
        AppliedRow(a.invoice, owners[a.invoice], a.amount, source[a.invoice]) for a in match.applied
    )
    return PaymentRecord(match.payment, match.rule, match.why, match.over, False, applied)


def _lowered(records: Iterable[PaymentRecord], ledger: Ledger, as_of: date) -> dict[str, Decimal]:
    """invoice → its open balance once `records` count (only the invoices they pay)."""
    by_invoice: dict[str, list[AppliedRow]] = {}
    for r in records:
        for a in r.applied:
            by_invoice.setdefault(a.invoice, []).append(a)
    found = ledger.find(by_invoice)
    lowered = {}
    for number, applied in by_invoice.items():
        inv = found.get(number)
        now = inv.open_balance(as_of) if inv is not None else ZERO
        lowered[number] = max(ZERO, now - unconfirmed(applied, now))
    return lowered


def _lower(heard: Heard, ledger: Ledger, as_of: date, min_balance: Decimal) -> None:
    lowered = _lowered(heard.records, ledger, as_of)
    found = ledger.find(lowered)
    for number, balance in lowered.items():
        inv = found.get(number)
        if inv is None or balance == inv.open_balance(as_of):
            continue
        heard.balances[number] = balance
        heard.sources[number] = inv.open_balance(as_of)
        if balance <= min_balance and inv.is_open(as_of, min_balance):
            heard.received[number] = inv.open_balance(as_of)
    ledger.lower(heard.balances, heard.received)
