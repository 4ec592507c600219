"""Invoices and customers as loaded from a source: plain slotted dataclasses (SPEC 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arflow.errors import RowError

ZERO = Decimal(0)
NOT_CHASED = frozenset({"draft", "paid", "void"})


@dataclass(slots=True, eq=False)
class Invoice:
    number: str
    customer_id: str
    issue_date: date
    due_date: date
    amount: Decimal
    balance: Decimal | None
    paid_date: date | None
    currency: str
    status: str
    line: int
    customer_name: str | None = None
    email: tuple[str, ...] = ()
    phone: str | None = None
    terms: str | None = None
    product: str | None = None
    location: str | None = None
    department: str | None = None
    segment: str | None = None
    tags: tuple[str, ...] = ()
    # other columns, kept compactly: one shared tuple of names, one tuple of values per row
    extra_names: tuple[str, ...] = ()
    extra_values: tuple[str, ...] = ()

    @property
    def extra(self) -> dict[str, str]:
        """Columns arflow has no name for, reachable as `invoice.extra.NAME` (SPEC 2.1)."""
        return dict(zip(self.extra_names, self.extra_values, strict=True))

    def open_balance(self, as_of: date) -> Decimal:
        """What is open on `as_of`: nothing on or after `paid_date`, else balance (or amount)."""
        if self.status == "paid" or (self.paid_date is not None and self.paid_date <= as_of):
            return ZERO
        return self.amount if self.balance is None else self.balance

    def is_open(self, as_of: date, min_balance: Decimal) -> bool:
        """SPEC 2.1: exists, not draft/paid/void, and an open balance above the tolerance
        `min_balance` (a balance of exactly the tolerance counts as settled)."""
        return (self.issue_date <= as_of and self.status not in NOT_CHASED
                and self.open_balance(as_of) > min_balance)

    def days_past_due(self, as_of: date) -> int:
        return (as_of - self.due_date).days


@dataclass(slots=True, eq=False)
class Customer:
    customer_id: str
    name: str | None = None
    email: tuple[str, ...] = ()
    phone: str | None = None
    workflow: str | None = None
    specialist: str | None = None
    parent_id: str | None = None
    currency: str | None = None
    language: str | None = None
    timezone: str | None = None
    terms: str | None = None
    segment: str | None = None
    paused: bool = False
    extra: dict[str, str] | None = None
    line: int = 0  # where the customers file defines it; 0 when only invoice rows do

    @property
    def display_name(self) -> str:
        return self.name or self.customer_id


@dataclass(slots=True)
class Ledger:
    """Everything a source gave: good invoices, their customers, and every rejected value."""

    invoices: list[Invoice] = field(default_factory=list)
    customers: dict[str, Customer] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
