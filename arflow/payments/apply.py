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
from arflow.ledger import Invoice, Ledger
from arflow.payments.match import (
    ZERO,
    Applied,
    Match,
    OpenItem,
    Payment,
    PlanGroup,
    match_all,
    reference_tokens,
)
from arflow.payments.named import named_invoices
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


def unconfirmed(paid: Decimal, before: Decimal, source_balance: Decimal) -> Decimal:
    """What payments pay of one invoice (`paid`) that its balance in the sources does not show
    yet: less how far that balance (`source_balance`) fell from what it was the last night
    before the first of them (`before`)."""
    return max(ZERO, paid - max(ZERO, before - source_balance))


def balance_before(db: StateDB | None, inv: Invoice, day: date) -> Decimal:
    """`inv`'s balance in the sources the last night before `day` that a run with payments saw
    it; when none did, its amount: whatever the sources took off it may be this payment (a
    payment is never taken off twice; one on an invoice paid in part before arflow first saw
    it may be counted only once the sources show it)."""
    seen = db.source_balance_before(inv.number, day) if db is not None else None
    return seen if seen is not None else max(inv.amount, inv.open_balance(day))


def as_match(record: PaymentRecord) -> Match:
    applied = tuple(Applied(a.invoice, a.amount) for a in record.applied)
    return Match(record.payment, record.rule, applied, record.why, record.over)


def hear_payments(
    cfg: Config,
    db: StateDB | None,
    ledger: Ledger,
    as_of: date,
    *,
    record: bool = False,
    upto: date | None = None,
) -> Heard:
    """The payments known (those recorded and the source's new ones, matched now against the
    invoices open on `as_of`; with `upto`, only those dated up to it), recorded when `record`
    (with the open invoices' balances in the sources, for later nights), and the ledger lowered
    by them. A payment first read is matched by reference or amount; one left unmatched is
    tried again each night by reference only (by then the sources may have booked it), unless
    a person settled it. A folder without `payments:` costs nothing."""
    if cfg.payments is None:
        return Heard()
    known = db.payment_records() if db is not None else {}
    read = read_payments(cfg, cfg.payments)
    ledger.errors.extend(read.errors)
    last = upto or date.max
    kept = [r for r in known.values() if r.payment.date <= last]
    settled = [r for r in kept if r.rule is not None or r.by_hand]
    opened = ledger.current(as_of, cfg.min_balance)
    source = {inv.number: inv.open_balance(as_of) for inv in opened}
    lowered = _lowered(settled, ledger, as_of, db)
    items = [
        OpenItem(
            i.number, i.customer_id, i.due_date, lowered.get(i.number, source[i.number]), i.currency
        )
        for i in opened
    ]
    retried = [r.payment for r in kept if r.rule is None and not r.by_hand]
    tried = retried + [p for p in read.payments if p.id not in known and p.date <= last]
    paid = _paid_named(ledger, tried, source, as_of)
    owners = {i.number: i.customer_id for i in [*items, *paid]}
    matches = match_all(
        tried,
        items,
        payers_of(ledger),
        paid=paid,
        reference_only={p.id for p in retried},
        plans=plans_on_track(db, as_of),
    )
    fresh = [_record(m, owners, source) for m in matches]
    if record:
        assert db is not None
        _save(db, fresh, source, as_of)
    records = sorted(settled + fresh, key=lambda r: r.payment.date)
    heard = Heard(records, read=read, new=[r for r in fresh if r.payment.id not in known])
    _lower(heard, ledger, as_of, cfg.min_balance, db)
    return heard


def plans_on_track(db: StateDB | None, as_of: date) -> list[PlanGroup]:
    """The payment plans made by `as_of`, not cancelled nor broken by then, as matching sees
    them (what a payment pays of one of their invoices counts toward the plan)."""
    if db is None:
        return []
    broken = {e.plan_id for e in db.plan_events() if e.kind == "broken" and e.as_of <= as_of}
    return [
        PlanGroup(
            p.plan_id,
            p.customer_id,
            p.currency,
            p.total,
            p.invoices,
            tuple(amount for _, amount in p.instalments),
        )
        for p in db.plans()
        if p.made_on <= as_of
        and (p.cancelled_on is None or p.cancelled_on > as_of)
        and p.plan_id not in broken
    ]


def _paid_named(
    ledger: Ledger, payments: list[Payment], source: Mapping[str, Decimal], as_of: date
) -> list[OpenItem]:
    """The invoices the sources show paid (not open) that these payments' references name."""
    tokens = set().union(*(reference_tokens(p.reference) for p in payments))
    return [
        OpenItem(inv.number, inv.customer_id, inv.due_date, ZERO, inv.currency)
        for inv in named_invoices(ledger, tokens)
        if inv.number not in source and inv.open_balance(as_of) <= ZERO
    ]


def _save(db: StateDB, fresh: list[PaymentRecord], source: dict[str, Decimal], day: date) -> None:
    """The payments matched now, and the open invoices' balances that changed since the last
    night a run saw them."""
    if fresh:
        db.save_payments(fresh, day)
    seen = db.source_balances()
    db.save_source_balances(((n, b) for n, b in source.items() if seen.get(n) != b), day)


def _record(
    match: Match, owners: Mapping[str, str], source: Mapping[str, Decimal]
) -> PaymentRecord:
    applied = tuple(
        AppliedRow(a.invoice, owners[a.invoice], a.amount, source.get(a.invoice, ZERO))
        for a in match.applied
    )
    return PaymentRecord(match.payment, match.rule, match.why, match.over, False, applied)


def _lowered(
    records: Iterable[PaymentRecord], ledger: Ledger, as_of: date, db: StateDB | None
) -> dict[str, Decimal]:
    """invoice → its open balance once `records` count (only the invoices they pay)."""
    by_invoice: dict[str, tuple[Decimal, date]] = {}  # → what they pay, the first one's day
    for r in records:
        for a in r.applied:
            paid, first = by_invoice.get(a.invoice, (ZERO, r.payment.date))
            by_invoice[a.invoice] = (paid + a.amount, min(first, r.payment.date))
    found = ledger.find(by_invoice)
    lowered = {}
    for number, (paid, first) in by_invoice.items():
        inv = found.get(number)
        if inv is None:
            continue
        now = inv.open_balance(as_of)
        lowered[number] = max(ZERO, now - unconfirmed(paid, balance_before(db, inv, first), now))
    return lowered


def _lower(
    heard: Heard, ledger: Ledger, as_of: date, min_balance: Decimal, db: StateDB | None
) -> None:
    lowered = _lowered(heard.records, ledger, as_of, db)
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
