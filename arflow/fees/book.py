"""One command's view of late fees (issue 31): each workflow's `late_fees:` over arflow.yaml's,
the rate tables they read (made once), and what the state says was charged and waived."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arflow.config import Config
from arflow.fees.accrual import ZERO, Accrual, FeeCharge, Invoiced, accrue, rounded
from arflow.fees.rates import RateTable
from arflow.fees.reference import rate_table
from arflow.fees.settings import NO_FEES, Fixed, LateFees, Percent
from arflow.state.fees import ChargeRow
from arflow.workflow import Workflow


@dataclass(slots=True)
class Charged:
    """What was charged on one invoice so far."""

    interest: Decimal = ZERO
    compensation: Decimal = ZERO
    fee: Decimal = ZERO
    waived: bool = False
    workflow: str | None = None  # the workflow of the last charge

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
            if wf.is_campaign:  # a statement lists invoices of every workflow: arflow.yaml's
                continue
            own = wf.late_fees
            self._settings[wid] = config.late_fees if own is None else own.over(config.late_fees)
        self.enabled = any(s.charges_anything for s in self._settings.values())
        self._tables: dict[tuple[str | None, str | None], RateTable | None] = {}
        self.charged: dict[str, Charged] = {}
        for row in charges:
            charged = self.charged.setdefault(row.invoice, Charged())
            charged.add(row.kind, row.amount)
            parts = row.key.rsplit("/", 3)  # target/workflow/step/action
            charged.workflow = parts[1] if len(parts) == 4 else charged.workflow
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

    def pending(self, inv: Invoiced, workflow: str, as_of: date) -> list[FeeCharge]:
        """What a `charge_fees` step of `workflow` charges `inv` on `as_of`: the interest
        accrued since the last charge, the compensation the first time, the step's fee
        (raises `MissingRate`)."""
        charged = self.of(inv.number)
        if charged.waived:
            return []
        found = self.accrual(inv, workflow, as_of)
        charges = []
        if found.interest > charged.interest:
            text = "; ".join(
                f"{p.start} to {p.end}, {p.days} days at {p.rate}% on {p.principal}"
                for p in found.periods
            )
            extra = found.interest - charged.interest
            if charged.interest:  # the charge is the part accrued since the last one
                text += f": {found.interest}, less {charged.interest} charged before"
            charges.append(
                FeeCharge(inv.number, "interest", extra, inv.currency, text, found.interest)
            )
        if found.compensation and not charged.compensation:
            charges.append(FeeCharge(inv.number, "compensation", found.compensation, inv.currency))
        fee = self._step_fee(workflow, found)
        if fee:
            charges.append(FeeCharge(inv.number, "fee", fee, inv.currency))
        return charges

    def _step_fee(self, workflow: str, found: Accrual) -> Decimal:
        rule = self.settings(workflow).fee
        if not found.late:
            return ZERO
        if isinstance(rule, Fixed):
            return rounded(rule.fixed, found.currency)
        if isinstance(rule, Percent):
            return rounded(found.principal * rule.percent / 100, found.currency)
        return ZERO

    def apply(self, charges: Iterable[FeeCharge]) -> None:
        """Count these charges as made (tonight's, planned before anything is composed)."""
        for c in charges:
            self.charged.setdefault(c.invoice, Charged()).add(c.kind, c.amount)

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
