"""`arflow aging` (SPEC 8): what is owed on a day and how late, in the buckets current, 1–30,
31–60, 61–90 and 90+ days past due, per customer and currency (largest total first) and per
currency. What counts is what an account's totals count (`rules.in_totals`): open invoices,
paused and promised ones included, and credit notes, which reduce their customer's total in the
bucket of their own due date; a remainder within the tolerance `min_balance` is settled. Pure:
no state database, nothing sent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from babel.numbers import get_currency_precision

from arflow.ledger import ZERO, Customer, Invoice, money_text
from arflow.rules import AGING_BUCKETS, DEFAULT_MIN_BALANCE, aging_bucket, in_totals
from arflow.sources.csvfile import spreadsheet_text


@dataclass(slots=True)
class AgingRow:
    """One customer's (or one currency's) balance by bucket."""

    currency: str
    buckets: dict[str, Decimal] = field(default_factory=dict)
    invoices: int = 0
    customer_id: str | None = None
    name: str | None = None
    fees: Decimal = ZERO  # with `aging --fees`: the late fees charged on its invoices
    disputed: Decimal = ZERO  # issue 33: what of its total is disputed (counted in the total)

    def __post_init__(self) -> None:
        zero = ZERO.scaleb(-get_currency_precision(self.currency))
        if not self.buckets:  # an empty bucket reads 0.00 in USD, 0 in JPY
            self.buckets = dict.fromkeys(AGING_BUCKETS, zero)
        self.fees += zero  # so do no fees
        self.disputed += zero

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    def add(
        self,
        inv: Invoice,
        owed: Decimal,
        as_of: date,
        fees: Decimal = ZERO,
        disputed: Decimal = ZERO,
    ) -> None:
        self.buckets[aging_bucket(inv.days_past_due(as_of))] += owed
        self.invoices += 1
        self.fees += fees
        self.disputed += disputed


@dataclass(slots=True)
class Aging:
    as_of: date
    currencies: list[AgingRow]
    customers: list[AgingRow]  # largest total first, then by customer id
    with_fees: bool = False  # `--fees`: each row's fees charged
    # issue 32: currency → cash from the bank no invoice takes (unmatched, over-payments)
    unapplied: dict[str, Decimal] = field(default_factory=dict)
    with_disputed: bool = False  # issue 33: a folder with disputes: each row's disputed part


def aging_report(
    invoices: Iterable[Invoice],
    customers: Mapping[str, Customer],
    as_of: date,
    min_balance: Decimal = DEFAULT_MIN_BALANCE,
    fees: Mapping[str, Decimal] | None = None,
    disputed: Mapping[str, Decimal] | None = None,
) -> Aging:
    """The aging of `invoices` (a ledger's `owing(as_of)`) on `as_of`: what the account's
    totals count (`rules.in_totals`), by bucket; with `fees` (invoice → late fees charged on
    it), each row's fees too; with `disputed` (invoice → its disputed part, issue 33), each
    row's disputed part (counted in its buckets and total as well)."""
    by_customer: dict[tuple[str, str], AgingRow] = {}
    by_currency: dict[str, AgingRow] = {}
    for inv in invoices:
        if not in_totals(inv, as_of, min_balance):
            continue
        owed = inv.owed(as_of)
        key = (inv.customer_id, inv.currency)
        row = by_customer.get(key)
        if row is None:
            customer = customers.get(inv.customer_id)
            name = (
                customer.display_name
                if customer is not None
                else (inv.customer_name or inv.customer_id)
            )
            row = by_customer[key] = AgingRow(inv.currency, customer_id=inv.customer_id, name=name)
        charged = fees.get(inv.number, ZERO) if fees else ZERO
        contested = min(owed, disputed.get(inv.number, ZERO)) if disputed else ZERO
        row.add(inv, owed, as_of, charged, contested)
        total = by_currency.get(inv.currency)
        if total is None:
            total = by_currency[inv.currency] = AgingRow(inv.currency)
        total.add(inv, owed, as_of, charged, contested)
    return Aging(
        as_of,
        [by_currency[c] for c in sorted(by_currency)],
        sorted(by_customer.values(), key=lambda r: (-r.total, r.customer_id or "", r.currency)),
        fees is not None,
        with_disputed=disputed is not None,
    )


def aging_document(report: Aging) -> dict:
    """SPEC 8's JSON: amounts as decimal strings."""

    def amounts(row: AgingRow) -> dict[str, str]:
        found = {
            **{b: money_text(v) for b, v in row.buckets.items()},
            "total": money_text(row.total),
        }
        if report.with_fees:
            found["fees"] = money_text(row.fees)
        if report.with_disputed:
            found["disputed"] = money_text(row.disputed)
        return found

    unapplied = (
        {"unapplied": {c: money_text(v) for c, v in sorted(report.unapplied.items())}}
        if report.unapplied
        else {}
    )
    return {
        "as_of": report.as_of.isoformat(),
        "buckets": list(AGING_BUCKETS),
        "currencies": [
            {"currency": r.currency, **amounts(r), "invoices": r.invoices}
            for r in report.currencies
        ],
        "customers": [
            {"customer_id": r.customer_id, "name": r.name, "currency": r.currency, **amounts(r)}
            for r in report.customers
        ],
        **unapplied,
    }


CSV_HEADER = ["customer_id", "name", "currency", *AGING_BUCKETS, "total"]


def aging_csv_header(report: Aging) -> list[str]:
    return [*CSV_HEADER, *(["fees"] if report.with_fees else []), *extra_columns(report)]


def extra_columns(report: Aging) -> list[str]:
    """The columns after fees: `disputed` in a folder with disputes (issue 33)."""
    return ["disputed"] if report.with_disputed else []


def aging_csv_rows(report: Aging) -> list[list[str]]:
    """The customers' rows as a spreadsheet wants them: plain amounts, one currency a row."""
    return [
        [
            spreadsheet_text(r.customer_id or ""),
            spreadsheet_text(r.name or ""),
            r.currency,
            *(money_text(v) for v in r.buckets.values()),
            money_text(r.total),
            *([money_text(r.fees)] if report.with_fees else []),
            *([money_text(r.disputed)] if report.with_disputed else []),
        ]
        for r in report.customers
    ]
