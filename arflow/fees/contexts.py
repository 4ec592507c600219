"""The late-fee figures of a message's context (issue 31): `invoice.interest`, …, and
`totals.interest`, `totals.fees`, worked out only when a template reads them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from arflow.config import Config
from arflow.errors import InvalidFiles
from arflow.fees.accrual import ZERO
from arflow.fees.book import FeeBook
from arflow.fees.rates import MissingRate
from arflow.ledger import Invoice

FEE_KEYS = ("days_late", "interest", "compensation", "fees_charged", "amount_due")


TOTAL_FEE_KEYS = ("interest", "fees")


class WithFees(dict[str, object]):
    """A context (an invoice's, the totals) whose late-fee figures (`keys`, issue 31) are
    worked out when a template first reads one: a rate the rule lacks fails only a message
    that shows fees, with the template's line."""

    __slots__ = ("_fees", "_keys")

    def __init__(
        self,
        values: dict[str, object],
        keys: tuple[str, ...],
        fees: Callable[[], dict[str, object]],
    ):
        super().__init__(values)
        self._keys, self._fees = keys, fees

    def __missing__(self, key: str) -> object:
        if key in self._keys:
            self.update(self._fees())
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def get(self, key: str, default: object = None) -> object:
        return self[key] if key in self._keys else dict.get(self, key, default)

    def carrying(self, values: dict[str, object]) -> WithFees:
        """Other values with the same figures to work out."""
        return WithFees(values, self._keys, self._fees)

    def __reduce__(self) -> tuple[type, tuple[dict[str, object]]]:
        return (dict, ({**self, **self._fees()},))


def with_fee_totals(
    totals: dict, invoices: list[Invoice], fees: FeeBook | None, workflow: str, as_of: date
) -> dict:
    """`totals.interest` (accrued to the day) and `totals.fees` (charged so far) over the
    account's invoices in the totals' currency."""
    currency = totals["currency"]
    mine = [inv for inv in invoices if inv.currency == currency]
    if fees is None:
        return {**totals, "interest": ZERO, "fees": ZERO}

    def summed() -> dict[str, object]:
        interest, charged = fees.totals(mine, workflow, as_of)
        return {"interest": interest, "fees": charged}

    return WithFees(totals, TOTAL_FEE_KEYS, summed)


def sample_fees(config: Config, inv: Invoice, as_of: date) -> dict[str, object]:
    """A sample invoice's fee figures under arflow.yaml's `late_fees:` (zeros where a rate the
    rule needs is not known: `validate` renders templates, it does not check the tables)."""
    try:
        return FeeBook(config, {}).figures(inv, None, as_of)
    except (MissingRate, InvalidFiles):
        return {}


def with_values(item: dict, **values: object) -> dict:
    """A copy of a context with these values set; fee figures not read yet stay to be read."""
    found = {**item, **values}
    return item.carrying(found) if isinstance(item, WithFees) else found
