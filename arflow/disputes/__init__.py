"""Disputes (issue 33): an invoice a customer contests, whole or in part, with a reason code.

A disputed invoice (or its disputed part) is never chased and still counts in totals and aging;
the dispute starts `disputes.workflow:` when set, else one task for the customer's specialist.
Resolving it with a credit lowers what is owed by the credit while the invoice is open
(`unconfirmed_credit`: a falling balance may be a payment, never taken for the credit note).
The settings model, the reason codes and the words that flag a reply as a possible dispute
live here, with the pure rules; `night` puts disputes into tonight's plan, `listing` is
`arflow disputes`.

Words: a dispute is *open* on a day from its `since` up to the day before it was resolved;
*whole* when no amount was given (or the amount reaches the balance); its *disputed part* is
the amount given, and what is chased of the invoice is its balance less that part.
"""

from __future__ import annotations

import re
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

from arflow.modelcheck import STRICT

DEFAULT_REASONS = ["pricing", "quantity", "quality", "not-received", "duplicate", "other"]
# what flags a customer's reply as a possible dispute: whole words (or phrases), any case
DEFAULT_WORDS = [
    "dispute",
    "disputed",
    "disputing",
    "contest",
    "incorrect",
    "wrong",
    "damaged",
    "defective",
    "overcharged",
    "not received",
    "never received",
    "credit note",
    "refund",
]
CODE = re.compile(r"[a-z0-9][a-z0-9-]*")
ZERO = Decimal(0)
DISPUTES = "disputes"  # the workflow name of a dispute's own actions (no workflow file has it)
DISPUTED = "disputed"  # the skip reason of a step a dispute holds back
CREDITED = "credited"  # … and of one a credit covers, until the ledger shows the credit note


class DisputeSettings(BaseModel):
    """`disputes:` in arflow.yaml: the reason codes a dispute may give, and the workflow a
    dispute starts (None: a task for the customer's specialist)."""

    model_config = STRICT

    reasons: list[str] = Field(default_factory=lambda: list(DEFAULT_REASONS), min_length=1)
    workflow: str | None = None

    @field_validator("reasons")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        bad = [code for code in value if not CODE.fullmatch(code)]
        if bad:
            raise ValueError(
                f"{', '.join(map(repr, bad))}: a reason code is lower-case letters, digits "
                "and hyphens (not-received)"
            )
        if len(set(value)) != len(value):
            raise ValueError("a reason code is listed twice")
        return value


def words_pattern(words: list[str]) -> re.Pattern[str] | None:
    """One pattern matching any of `words` as whole words, any case; a phrase's spaces match
    any white space (None: no words)."""
    parts = [r"\s+".join(map(re.escape, w.split())) for w in words if w.split()]
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def dispute_words_in(text: str, words: list[str]) -> list[str]:
    """The words of `words` that `text` holds (as whole words, any case), in their order in
    `words`: a reply that holds one is flagged as a possible dispute, never decided."""
    found = []
    for word in words:
        pattern = words_pattern([word])
        if pattern is not None and pattern.search(text):
            found.append(word)
    return found


def chased_part(balance: Decimal, disputed: Decimal | None) -> Decimal:
    """What is chased of an invoice with a dispute open: its balance less the disputed part
    (nothing of a whole dispute)."""
    if disputed is None:
        return ZERO
    return max(ZERO, balance - disputed)


def unconfirmed_credit(credit: Decimal, balance_now: Decimal) -> Decimal:
    """What a credit agreed when a dispute was resolved takes off the invoice while it is
    open: all of it (at most the balance). The sources' balance cannot tell a credit note
    from a payment (900 with a credit of 300: 300 left is the credit not booked and 600 paid,
    or the credit booked and 300 paid), so a falling balance never counts as the credit
    note: what is chased is the balance less the credit, never money not owed."""
    return min(credit, max(ZERO, balance_now))
