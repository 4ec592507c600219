"""`digest:` in arflow.yaml (issue 34): who gets the weekly digest (the report's summary as an
internal email) and on which days, in the words of a campaign's calendar (`schedule:`,
`expires_after:`, `business_days:`, `holidays:`)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from arflow.calendar import MAX_OFFSET_DAYS, check_holiday_code
from arflow.modelcheck import STRICT, as_list
from arflow.workflow import Schedule

DIGEST = "digest"  # the workflow and step of the digest's action (no workflow file has them)


class Digest(BaseModel):
    model_config = STRICT

    to: list[str] = Field(min_length=1)  # keys of people:, each with an email
    schedule: Schedule
    # a missed occurrence may still go out this many days late (a campaign's; default 3)
    expires_after: int | None = Field(None, ge=0, le=MAX_OFFSET_DAYS)
    business_days: bool = False  # an occurrence on a weekend or holiday moves to the next day
    holidays: str | None = None

    _lists = field_validator("to", mode="before")(classmethod(lambda cls, v: as_list(v)))

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str | None) -> str | None:
        if value is not None:
            check_holiday_code(value)
        return value
