"""A workflow's `match:` (SPEC 4.5), compiled once and checked per invoice: the workflows'
matching and a campaign's audience both ask it."""

from __future__ import annotations

from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from arflow.ledger import Customer, Invoice
from arflow.workflow import Match


class WorkflowChoice(NamedTuple):
    """The workflow an invoice follows before chains, and why (SPEC 4.5)."""

    workflow: str | None
    source: str  # assign | file | match | default


def _fold(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(v.casefold() for v in values)


class Matcher:
    """A workflow's `match:` compiled to sets, checked per invoice."""

    def __init__(self, wid: str, match: Match):
        self.wid = wid
        self.choice = WorkflowChoice(wid, "match")
        self.min_balance = match.min_balance
        self.fields = [
            (name, attrgetter(name), s)
            for name, s in (
                ("currency", _fold(match.currency)),
                ("product", _fold(match.product)),
                ("segment", _fold(match.segment)),
                ("location", _fold(match.location)),
                ("department", _fold(match.department)),
            )
            if s is not None
        ]
        self.customers = frozenset(match.customer) if match.customer is not None else None
        self.tags = _fold(match.tags)

    def fits(self, inv: Invoice, balance: Decimal, customer: Customer) -> bool:
        if self.min_balance is not None and balance < self.min_balance:
            return False
        for name, get, allowed in self.fields:
            value = get(inv)
            if name == "segment" and value is None:
                value = customer.segment
            if value is None or value.casefold() not in allowed:
                return False
        if self.customers is not None and inv.customer_id not in self.customers:
            return False
        return self.tags is None or any(t.casefold() in self.tags for t in inv.tags)
