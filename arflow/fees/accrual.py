"""What a late invoice owes on a day under `late_fees:` (issue 31; docs/fees.md is the
reference): its interest, period by period, and its fixed compensation.

- Interest is simple, actual/365, on the open balance, from the day after the due date plus
  `grace_days` to the day asked about, both counted. A period is a stretch of days with one
  rate and one principal: a statutory rule's half-year (`de-bgb`, `eu-late-payment`: the rate
  follows the reference rate, period by period), the whole stretch (`uk-late-payment`: the rate
  of the reference day is fixed for the life of the debt; contractual rates), cut again where a
  payment with a known day lowers the principal. Each period's interest is rounded half-up to
  the currency's minor unit, and the periods are summed.
- Compensation is a fixed sum once per invoice, by the rule (UK: £40 / £70 / £100 by the
  invoice's amount, in pounds; DE and EU: €40, in euros) or `{fixed: AMOUNT}` in the invoice's
  currency; a statutory sum is owed only on invoices in its currency.
- Nothing on credit notes, drafts or void invoices, or before the grace is over. An invoice
  paid on a known day (`paid_date`) owes the interest up to the day before, on its amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Protocol

from arflow.fees.rates import RateTable
from arflow.fees.settings import Annual, Fixed, LateFees, Monthly

ZERO = Decimal(0)
YEAR = Decimal(365)
# statutory compensation: (currency, [(from amount, sum), …] highest first)
COMPENSATION: dict[str, tuple[str, tuple[tuple[Decimal, Decimal], ...]]] = {
    "uk-late-payment": (
        "GBP",
        ((Decimal(10000), Decimal(100)), (Decimal(1000), Decimal(70)), (ZERO, Decimal(40))),
    ),
    "de-bgb": ("EUR", ((ZERO, Decimal(40)),)),
    "eu-late-payment": ("EUR", ((ZERO, Decimal(40)),)),
}
# the numbers of the fee invoices `arflow fees --journal` books: no fees on fees
JOURNAL_PREFIX = "LF-"
POINTS = {"uk-late-payment": Decimal(8), "de-bgb": Decimal(9), "eu-late-payment": Decimal(8)}


@cache
def minor_unit(currency: str) -> Decimal:
    """The currency's smallest unit: 0.01 for EUR, 1 for JPY."""
    from babel.numbers import get_currency_precision

    return Decimal(1).scaleb(-get_currency_precision(currency))


def rounded(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # both counted
    rate: Decimal  # percent a year
    principal: Decimal
    interest: Decimal  # rounded to the currency's minor unit

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(slots=True)
class Accrual:
    """An invoice's fees as owed on `as_of` (before anything charged is taken off)."""

    as_of: date
    currency: str
    principal: Decimal
    days_late: int
    periods: list[Period] = field(default_factory=list)
    compensation: Decimal = ZERO
    note: str | None = None  # why a sum the rule names is not owed (currency, …)
    late: bool = False  # past its due date and grace, open, an invoice: fees may be charged

    @property
    def interest(self) -> Decimal:
        return sum((p.interest for p in self.periods), ZERO)


class Invoiced(Protocol):
    """What the rules read of an invoice (`arflow.ledger.Invoice` has all of it)."""

    number: str
    due_date: date
    amount: Decimal
    currency: str
    status: str
    paid_date: date | None

    def open_balance(self, as_of: date) -> Decimal: ...


def accrue(
    inv: Invoiced,
    settings: LateFees,
    as_of: date,
    table: RateTable | None,
    payments: Sequence[tuple[date, Decimal]] = (),
) -> Accrual:
    """`inv`'s interest and compensation on `as_of`. `table`: the interest rule's reference
    rates (None for a contractual rule); `payments`: (day, amount) paid towards it, when the
    days are known (the principal is then the amount less what was paid by each day; else
    the open balance). Raises `MissingRate` when a rate the rule needs is not known."""
    principal, end = inv.open_balance(as_of), as_of
    paid = inv.paid_date
    if principal <= ZERO and paid is not None and paid <= as_of:
        # paid: the interest ran until the day before the payment, on what was owed then
        principal, end = inv.amount, paid - timedelta(days=1)
    days_late = max((end - inv.due_date).days, 0)
    found = Accrual(as_of, inv.currency, principal, days_late)
    start = inv.due_date + timedelta(days=1 + settings.grace_days)
    if inv.amount <= ZERO or inv.status in ("draft", "void") or principal <= ZERO:
        return found
    if inv.number.startswith(JOURNAL_PREFIX):  # a fee invoice arflow's journal booked
        return found
    if end < start:
        return found
    found.late = end == as_of  # open and late: a step's fee may be charged
    found.compensation, found.note = _compensation(inv, settings.compensation)
    for first, last, rate in _rate_periods(inv, settings, start, end, table):
        for a, b, owed in _principal_periods(first, last, principal, inv.amount, payments):
            interest = rounded(owed * rate / 100 * (b - a + timedelta(1)).days / YEAR, inv.currency)
            found.periods.append(Period(a, b, rate, owed, interest))
    return found


def _compensation(inv: Invoiced, rule: object) -> tuple[Decimal, str | None]:
    if isinstance(rule, Fixed):
        return rounded(rule.fixed, inv.currency), None
    if not isinstance(rule, str) or rule not in COMPENSATION:
        return ZERO, None
    currency, steps = COMPENSATION[rule]
    if inv.currency != currency:
        return (
            ZERO,
            f"{rule} compensation is a sum in {currency}; this invoice is in {inv.currency}",
        )
    return rounded(next(s for floor, s in steps if inv.amount >= floor), currency), None


def _rate_periods(
    inv: Invoiced, settings: LateFees, start: date, end: date, table: RateTable | None
) -> list[tuple[date, date, Decimal]]:
    """(first day, last day, percent a year) of each stretch with one rate."""
    rule = settings.interest
    if isinstance(rule, Annual):
        return [(start, end, rule.annual)]
    if isinstance(rule, Monthly):
        return [(start, end, rule.monthly * 12)]
    if rule == "none":
        return []
    assert table is not None, f"{rule} reads a rate table"
    if rule == "uk-late-payment":
        late = inv.due_date + timedelta(days=1)  # the day the debt became late
        reference = date(late.year - 1, 12, 31) if late.month <= 6 else date(late.year, 6, 30)
        return [(start, end, table.on(reference) + POINTS[rule])]
    found = []
    first = start
    while first <= end:
        half = date(first.year, 1 if first.month <= 6 else 7, 1)
        after = date(half.year, 7, 1) if half.month == 1 else date(half.year + 1, 1, 1)
        last = min(end, after - timedelta(days=1))
        found.append((first, last, table.on(half) + POINTS[rule]))
        first = after
    return found


def _principal_periods(
    first: date,
    last: date,
    balance: Decimal,
    amount: Decimal,
    payments: Sequence[tuple[date, Decimal]],
) -> list[tuple[date, date, Decimal]]:
    """The stretch cut where a payment lowers the principal from its day on."""
    if not payments:
        return [(first, last, balance)]
    paid = sorted(payments)
    owed = amount - sum((a for d, a in paid if d <= first), ZERO)
    found = []
    for day, paid_amount in paid:
        if first < day <= last:
            found.append((first, day - timedelta(days=1), owed))
            owed -= paid_amount
            first = day
    found.append((first, last, owed))
    return [(a, b, max(o, ZERO)) for a, b, o in found if o > ZERO]


@dataclass(frozen=True, slots=True)
class FeeCharge:
    """One sum a `charge_fees` action charges an invoice, as composed. For interest,
    `accrued` is the whole interest to the day: what is recorded is that less what the state
    holds as charged when the charge is written (so two charges in one run never overlap)."""

    invoice: str
    kind: str  # interest, compensation or fee
    amount: Decimal
    currency: str
    detail: str | None = None
    accrued: Decimal | None = None  # interest: the whole interest to the day
