"""Which open invoices a payment pays (issue 32, "Matching, explained"), each match with why.

1. **Reference.** A payment pays the open invoices its reference names: an invoice's number
   itself, or its digits when the number is letters then digits (`INV-1002` → `1002`), as a
   whole token of the reference, ignoring case, punctuation and leading zeros. A reference
   naming several invoices pays them in order of due date. A token that names two open
   invoices (`1001` with both `INV-1001` and `CN-1001` open) is ambiguous: unmatched.
2. **Amount.** Else, when the amount equals one open invoice's balance, or one customer's
   whole open balance, of a customer whose name or a payer account (`payer` on the customers
   file: IBANs, account names) fits the payment's payer: that one. Two candidates: unmatched.
3. Else **unmatched**: it waits for a person (`arflow payments match`).

Only invoices in the payment's currency can be paid by it. Pure: the caller gives the open
invoices with their balances and each customer's names and payer accounts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZERO = Decimal(0)
# what separates the tokens of a reference: white space and list punctuation (a hyphen, a dot
# or a `#` stays inside its token, and is then ignored: `INV-1001` is one token, `inv1001`)
_SEPARATORS = re.compile(r"[\s,;/|+&()\[\]]+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")
_LETTERS_THEN_DIGITS = re.compile(r"[a-z]+[^a-z0-9]*(\d+)")


@dataclass(frozen=True, slots=True)
class Payment:
    id: str  # stable: the file's own id, or `payment_id` of its fields
    date: date
    amount: Decimal
    currency: str
    reference: str = ""
    payer: str | None = None
    payer_account: str | None = None


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An open invoice as matching sees it."""

    number: str
    customer_id: str
    due_date: date
    balance: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Applied:
    invoice: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Match:
    payment: Payment
    rule: str | None  # "reference", "amount", or None: unmatched
    applied: tuple[Applied, ...]
    why: str  # in words, for `arflow payments` and history
    over: Decimal = ZERO  # what is left once every matched invoice is paid

    @property
    def matched(self) -> bool:
        return self.rule is not None


def payment_id(
    day: date, amount: Decimal, currency: str, reference: str, payer: str | None, seen: int
) -> str:
    """A payment's id when its file gives none: its fields and how many identical rows came
    before it in the file, so reading the same export again gives the same ids."""
    text = "\x1f".join([day.isoformat(), str(amount), currency, reference, payer or "", str(seen)])
    return "p-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(text: str) -> str:
    """A token without case or punctuation; digits without leading zeros."""
    found = _NOT_ALNUM.sub("", text.lower())
    return found.lstrip("0") or found if found.isdigit() else found


def reference_tokens(reference: str) -> set[str]:
    return {plain for token in _SEPARATORS.split(reference) if (plain := _plain(token))}


def names_of(number: str) -> set[str]:
    """The tokens that name an invoice: its number, and its digits when it is letters then
    digits."""
    found = {_plain(number)}
    digits = _LETTERS_THEN_DIGITS.fullmatch(number.lower())
    if digits:
        found.add(_plain(digits.group(1)))
    found.discard("")
    return found


def _fits(payment: Payment, names: Sequence[str]) -> bool:
    given = {_plain(v) for v in (payment.payer, payment.payer_account) if v}
    return bool(given & {_plain(n) for n in names})


def match_payment(
    payment: Payment, items: Iterable[OpenItem], payers: Mapping[str, Sequence[str]]
) -> Match:
    """`payment` matched against the open invoices `items`; `payers`: customer id → the names
    and payer accounts it pays from."""
    mine = [i for i in items if i.currency == payment.currency and i.balance > ZERO]
    by_name: dict[str, list[OpenItem]] = {}
    for item in mine:
        for name in names_of(item.number):
            by_name.setdefault(name, []).append(item)
    named: dict[str, OpenItem] = {}
    for token in sorted(reference_tokens(payment.reference)):
        found = by_name.get(token, [])
        if len(found) > 1:
            numbers = ", ".join(sorted(i.number for i in found))
            return Match(payment, None, (), f"reference {token!r} names {numbers}: ambiguous")
        if found:
            named[found[0].number] = found[0]
    if named:
        chosen = sorted(named.values(), key=lambda i: (i.due_date, i.number))
        return _paying(payment, chosen, "reference", f"reference names {_numbers(chosen)}")
    return _by_amount(payment, mine, payers)


def _by_amount(
    payment: Payment, items: list[OpenItem], payers: Mapping[str, Sequence[str]]
) -> Match:
    fitting = [i for i in items if _fits(payment, payers.get(i.customer_id, ()))]
    candidates: list[list[OpenItem]] = [[i] for i in fitting if i.balance == payment.amount]
    by_customer: dict[str, list[OpenItem]] = {}
    for item in fitting:
        by_customer.setdefault(item.customer_id, []).append(item)
    for owed in by_customer.values():
        if len(owed) > 1 and sum((i.balance for i in owed), ZERO) == payment.amount:
            candidates.append(sorted(owed, key=lambda i: (i.due_date, i.number)))
    if len(candidates) == 1:
        chosen = candidates[0]
        what = "the balance of" if len(chosen) == 1 else "the whole open balance of"
        why = f"amount {payment.amount} is {what} {_numbers(chosen)}, and the payer fits"
        return _paying(payment, chosen, "amount", why)
    if candidates:
        numbers = "; ".join(_numbers(c) for c in candidates)
        return Match(payment, None, (), f"amount {payment.amount} fits {numbers}: ambiguous")
    why = "no open invoice named in its reference" + (
        ", nor one of its amount from this payer" if fitting else ", and the payer is not known"
    )
    return Match(payment, None, (), why)


def _paying(payment: Payment, items: list[OpenItem], rule: str, why: str) -> Match:
    """The payment applied to `items` in order, each up to its balance."""
    left = payment.amount
    applied = []
    for item in items:
        part = min(left, item.balance)
        if part <= ZERO:
            break
        applied.append(Applied(item.number, part))
        left -= part
    return Match(payment, rule, tuple(applied), why, over=left)


def _numbers(items: Sequence[OpenItem]) -> str:
    return ", ".join(i.number for i in items)


def match_all(
    payments: Iterable[Payment], items: Iterable[OpenItem], payers: Mapping[str, Sequence[str]]
) -> list[Match]:
    """Each payment matched in order of its day (then as its file lists them), each against
    the balances the payments before it left: two transfers for one invoice pay it once, then
    the rest."""
    left = {item.number: item for item in items}
    found = []
    for payment in sorted(payments, key=lambda p: p.date):
        match = match_payment(payment, list(left.values()), payers)
        for part in match.applied:
            item = left[part.invoice]
            left[part.invoice] = OpenItem(
                item.number,
                item.customer_id,
                item.due_date,
                item.balance - part.amount,
                item.currency,
            )
        found.append(match)
    return found
