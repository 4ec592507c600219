"""One command's view of late fees (issue 31): each workflow's `late_fees:` over arflow.yaml's,
the rate tables they read (made once), and what the state says was charged and waived."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arflow.config import Config
from arflow.fees.accrual import ZERO, Accrual, Invoiced, accrue
from arflow.fees.rates import RateTable
from arflow.fees.reference import rate_table
from arflow.fees.settings import NO_FEES, LateFees
from arflow.state.fees import ChargeRow
from arflow.workflow import Workflow


@dataclass(slots=True)
class Charged:
    """What was charged on one invoice so far."""

    interest: Decimal = ZERO
    compensation: Decimal = ZERO
    fee: Decimal = ZERO
    waived: bool = False

    @property
    def total(self) -> Decimal:
        return self.interest + self.compensation + self.fee

    def add(self, kind: str, amount: Decimal) -> None:
        setattr(self, kind, getattr(self, kind) + amount)


class FeeBook:
    def __init__(
        self,
        config: Config,
        models: Mapping[str, Workflow],
        charges: Iterable[ChargeRow] = (),
        waived: Iterable[str] = (),
    ):
        self.config = config
        self._settings: dict[str | None, LateFees] = {None: config.late_fees}
        for wid, wf in models.items():
            own = wf.late_fees
            self._settings[wid] = config.late_fees if own is None else own.over(config.late_fees)
        self.enabled = any(s.charges_anything for s in self._settings.values())
        self._tables: dict[tuple[str | None, str | None], RateTable | None] = {}
        self.charged: dict[str, Charged] = {}
        for row in charges:
            self.charged.setdefault(row.invoice, Charged()).add(row.kind, row.amount)
        for number in waived:
            self.charged.setdefault(number, Charged()).waived = True

    def settings(self, workflow: str | None) -> LateFees:
        """The `late_fees:` an invoice following `workflow` (None: none) is charged under."""
        return self._settings.get(workflow, self.config.late_fees)

    def table(self, settings: LateFees) -> RateTable | None:
        key = (settings.table, settings.reference_rates)
        if key not in self._tables:
            self._tables[key] = rate_table(self.config, settings)
        return self._tables[key]

    def accrual(self, inv: Invoiced, workflow: str | None, as_of: date) -> Accrual:
        """`inv`'s fees on `as_of` (raises `MissingRate` for a rate the rule lacks)."""
        settings = self.settings(workflow)
        if settings is NO_FEES or not settings.charges_anything:
            return accrue(inv, NO_FEES, as_of, None)
        return accrue(inv, settings, as_of, self.table(settings))

    def of(self, number: str) -> Charged:
        return self.charged.get(number) or Charged()

    def totals(
        self, invoices: Iterable[Invoiced], workflow: str | None, as_of: date
    ) -> tuple[Decimal, Decimal]:
        """(interest accrued to the day, fees charged so far) over these invoices."""
        interest = charged = ZERO
        for inv in invoices:
            was = self.of(inv.number)
            charged += was.total
            if not was.waived:
                interest += self.accrual(inv, workflow, as_of).interest
        return interest, charged

    def figures(self, inv: Invoiced, workflow: str | None, as_of: date) -> dict[str, object]:
        """What a template reads of an invoice's fees (`inv.interest`, …)."""
        found = self.accrual(inv, workflow, as_of)
        charged = self.of(inv.number)
        owed = ZERO if charged.waived else found.compensation
        return {
            "days_late": found.days_late,
            "interest": ZERO if charged.waived else found.interest,
            "compensation": owed,
            "fees_charged": charged.total,
            "amount_due": found.principal + charged.total,
        }
