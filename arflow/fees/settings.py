"""`late_fees:` in arflow.yaml and in a workflow (issue 31): which interest, which fixed
compensation, which fee per charging step, after how many days of grace."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from arflow.modelcheck import STRICT

STATUTORY = ("uk-late-payment", "de-bgb", "eu-late-payment")
# the reference rate table each statutory rule reads (`arflow/fees/rates/NAME.csv`)
TABLE_OF = {
    "uk-late-payment": "boe-bank-rate",
    "de-bgb": "bundesbank-basiszinssatz",
    "eu-late-payment": "ecb-main-refinancing",
}
Rule = Literal["uk-late-payment", "de-bgb", "eu-late-payment", "none"]


class Strict(BaseModel):
    model_config = STRICT


class Annual(Strict):
    """Contractual simple interest: this many percent a year, accrued daily (actual/365)."""

    annual: Decimal = Field(gt=0, le=100)


class Monthly(Strict):
    """Contractual simple interest: this many percent a month (12 × a year), accrued daily."""

    monthly: Decimal = Field(gt=0, le=10)


class Fixed(Strict):
    """A fixed sum in the invoice's currency."""

    fixed: Decimal = Field(gt=0, max_digits=15, decimal_places=4)


class Percent(Strict):
    """A percentage of the invoice's open balance."""

    percent: Decimal = Field(gt=0, le=100)


class LateFees(Strict):
    """What a late invoice owes besides its balance, and when arflow charges it."""

    interest: Rule | Annual | Monthly = "none"
    compensation: Rule | Fixed = "none"  # once per invoice
    fee: Literal["none"] | Fixed | Percent = "none"  # at each `charge_fees` step
    grace_days: int = Field(0, ge=0, le=3660)
    reference_rates: str | None = None  # CSV `date,rate`: extends the interest rule's table

    @property
    def charges_anything(self) -> bool:
        return (self.interest, self.compensation, self.fee) != ("none", "none", "none")

    @property
    def table(self) -> str | None:
        """The reference rate table the interest rule reads, if any."""
        return TABLE_OF.get(self.interest) if isinstance(self.interest, str) else None

    def over(self, base: LateFees) -> LateFees:
        """A workflow's `late_fees:` over arflow.yaml's: the keys it gives win."""
        given = {name: getattr(self, name) for name in self.model_fields_set}
        merged = base.model_copy(update=given)
        if "reference_rates" not in given and merged.table != base.table:
            # arflow.yaml's file extends another rule's table than the workflow's
            merged = merged.model_copy(update={"reference_rates": None})
        return merged


NO_FEES = LateFees()
