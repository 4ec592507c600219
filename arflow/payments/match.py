"""Which open invoices a payment pays (issue 32, "Matching, explained"), each match with why.

1. **Reference.** A payment pays the open invoices its reference names: an invoice's number
   itself, or its digits when the number is letters then digits (`INV-1002` → `1002`), as a
   whole token of the reference, ignoring case, punctuation and leading zeros. A reference
   naming several invoices pays them in order of due date. A token that names two open
   invoices (`1001` with both `INV-1001` and `CN-1001` open) is ambiguous: unmatched.
   A bare number right after the word *instalment* (`instalment 2`, as a payment plan's
   messages say) names no invoice; `PLAN-3` or `PLAN-3.2` (a plan's reference, which its
   messages ask the customer to quote) names the invoices of payment plan 3.
2. **Amount.** Else, when the amount equals one open invoice's balance, or one customer's
   whole open balance, or the unpaid part of the next instalment of a customer's payment plan,
   of a customer whose name or a payer account (`payer` on the customers file: IBANs, account
   names) fits the payment's payer: that one. Two candidates: unmatched.
3. Else **unmatched**: it waits for a person (`arflow payments match`).

A payment that pays an invoice of a payment plan on track counts toward the plan: what is
left once that invoice is paid goes to the plan's other invoices, in order of due date.

Only invoices in the payment's currency can be paid by it. Pure: the caller gives the open
invoices with their balances and each customer's names and payer accounts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

ZERO = Decimal(0)
# what separates the tokens of a reference: white space and list punctuation (a hyphen, a dot
# or a `#` stays inside its token, and is then ignored: `INV-1001` is one token, `inv1001`)
_SEPARATORS = re.compile(r"[\s,;/|+&()\[\]]+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")
_LETTERS_THEN_DIGITS = re.compile(r"[a-z]+[^a-z0-9]*([0-9]+)")
# `instalment 2`, `installment no. 2`: the number is the instalment's, not an invoice's
_INSTALMENT_NUMBER = re.compile(r"\b(instal+ments?)\b[\s#:.]*(?:no\b\.?\s*)?[0-9]+\b", re.I)
# `PLAN-3`, `plan 3`, `PLAN-3.2`: payment plan 3 (the id, then maybe an instalment's number)
_PLAN_REFERENCE = re.compile(r"\bplan[\s#:-]*([0-9]+)(?:\.[0-9]+)?\b", re.I)


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
class PlanGroup:
    """A payment plan on track as matching sees it: its invoices and its instalments'
    amounts; what was paid on it is its total less its invoices' balances."""

    plan_id: int
    customer_id: str
    currency: str
    total: Decimal
    invoices: tuple[str, ...]
    amounts: tuple[Decimal, ...]


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
    before it in the file, so reading the same export again gives the same ids — however a
    spreadsheet wrote the amount (`300`, `300.00`) or spaced the words."""
    fields = [day.isoformat(), *map(str, identity(amount, currency, reference, payer)), str(seen)]
    return "p-" + hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:16]


def identity(amount: Decimal, currency: str, reference: str, payer: str | None) -> tuple:
    """What tells two rows of a day apart: the amount however written, the words however
    spaced."""
    words = " ".join(reference.split()), " ".join((payer or "").split())
    return format(amount.normalize(), "f"), currency.upper(), *words


def with_ids(payments: Iterable[Payment]) -> list[Payment]:
    """`payments` (in file order), each without an id given one by `payment_id`."""
    alike: dict[tuple, int] = {}
    found = []
    for p in payments:
        if not p.id:
            key = (p.date, *identity(p.amount, p.currency, p.reference, p.payer))
            seen = alike[key] = alike.get(key, -1) + 1
            p = replace(p, id=payment_id(p.date, p.amount, p.currency, p.reference, p.payer, seen))
        found.append(p)
    return found


def _plain(text: str) -> str:
    """A token without case or punctuation; digits without leading zeros."""
    found = _NOT_ALNUM.sub("", text.lower())
    return found.lstrip("0") or found if found.isdigit() else found


def reference_tokens(reference: str) -> set[str]:
    """The tokens of a reference that may name invoices (an instalment's number left out)."""
    words = _INSTALMENT_NUMBER.sub(r"\1", reference)
    return {plain for token in _SEPARATORS.split(words) if (plain := _plain(token))}


def plan_references(reference: str) -> list[int]:
    """The payment plans a reference names (`PLAN-3`, `PLAN-3.2`), by id."""
    return sorted({int(found) for found in _PLAN_REFERENCE.findall(reference)})


def names_of(number: str) -> set[str]:
    """The tokens that name an invoice: its number, and its digits when it is letters then
    digits."""
    found = {_plain(number)}
    digits = _LETTERS_THEN_DIGITS.fullmatch(number.lower())
    if digits:
        found.add(_plain(digits.group(1)))
    found.discard("")
    return found


class Matcher:
    """The open invoices indexed once — by the tokens that name them, by customer, and each
    customer by the names it pays under — so that each payment is matched without going
    through every open invoice; balances go down as payments are applied (`apply`)."""

    def __init__(
        self,
        items: Iterable[OpenItem],
        payers: Mapping[str, Sequence[str]],
        paid: Iterable[OpenItem] = (),
        plans: Iterable[PlanGroup] = (),
    ):
        self.items = {item.number: item for item in items}
        self.plans = {group.plan_id: group for group in plans}  # payment plans on track
        self.plan_of = {n: group.plan_id for group in self.plans.values() for n in group.invoices}
        self.by_name: dict[str, list[str]] = {}
        self.by_customer: dict[str, list[str]] = {}
        for item in self.items.values():
            for name in names_of(item.number):
                self.by_name.setdefault(name, []).append(item.number)
            self.by_customer.setdefault(item.customer_id, []).append(item.number)
        # invoices the sources show paid, that a reference may name (`named_invoices`)
        self.paid_by_name: dict[str, list[OpenItem]] = {}
        for item in paid:
            for name in names_of(item.number):
                self.paid_by_name.setdefault(name, []).append(item)
        self.by_payer: dict[str, set[str]] = {}  # a payer name or account, plain → customers
        for cid, names in payers.items():
            for name in names:
                if plain := _plain(name):
                    self.by_payer.setdefault(plain, set()).add(cid)

    def _open(self, numbers: Iterable[str], currency: str) -> list[OpenItem]:
        found = (self.items[n] for n in numbers)
        return [i for i in found if i.currency == currency and i.balance > ZERO]

    def match(self, payment: Payment, *, by_amount: bool = True) -> Match:
        """`payment` matched: by reference, else (`by_amount`) by amount, else unmatched."""
        named: dict[str, OpenItem] = {}
        tokens = sorted(reference_tokens(payment.reference))
        for token in tokens:
            found = self._open(self.by_name.get(token, ()), payment.currency)
            if len(found) > 1:
                numbers = ", ".join(sorted(i.number for i in found))
                return Match(payment, None, (), f"reference {token!r} names {numbers}: ambiguous")
            if found:
                named[found[0].number] = found[0]
        for pid in plan_references(payment.reference):
            if pid in self.plans:
                named.update((i.number, i) for i in self._plan_items(self.plans[pid], payment))
        if named:
            chosen = sorted(named.values(), key=lambda i: (i.due_date, i.number))
            payers = self._payer_customers(payment)
            if payers and not any(i.customer_id in payers for i in chosen):
                why = (
                    f"reference names {_numbers(chosen)} of another customer than the payer's "
                    f"({', '.join(sorted(payers))}): settle it by hand"
                )
                return Match(payment, None, (), why)
            why = f"reference names {_numbers(chosen)}"
            return _paying(payment, *self._spilled(chosen, payment, why), "reference")
        paid = {i.number: i for t in tokens for i in self.paid_by_name.get(t, ())}
        mine = sorted(n for n, i in paid.items() if i.currency == payment.currency)
        if mine:  # booked in the sources already: nothing to lower, no unapplied cash
            why = f"reference names {', '.join(mine)}, which the invoices source shows paid"
            return Match(payment, "reference", (Applied(mine[0], payment.amount),), why)
        by_sum = self._by_amount(payment) if by_amount else None
        if by_sum is not None and by_sum.matched:
            return by_sum
        foreign = sorted(  # named, but in another currency: say so
            {n for t in tokens for n in self.by_name.get(t, ()) if self.items[n].balance > ZERO}
        )
        if foreign:
            currencies = ", ".join(sorted({self.items[n].currency for n in foreign}))
            why = f"reference names {', '.join(foreign)}, in {currencies}; the payment is in "
            return Match(payment, None, (), why + payment.currency)
        return by_sum or Match(payment, None, (), "no open invoice named in its reference")

    def _payer_customers(self, payment: Payment) -> set[str]:
        """The customers whose names or payer accounts fit the payment's payer."""
        customers: set[str] = set()
        for name in {_plain(v) for v in (payment.payer, payment.payer_account) if v}:
            customers |= self.by_payer.get(name, set())
        return customers

    def _fitting(self, payment: Payment) -> dict[str, list[OpenItem]]:
        """customer → its open invoices in the payment's currency, for the customers whose
        names or payer accounts fit the payment's payer."""
        found = {
            cid: self._open(self.by_customer.get(cid, ()), payment.currency)
            for cid in sorted(self._payer_customers(payment))
        }
        return {cid: items for cid, items in found.items() if items}

    def _plan_items(self, group: PlanGroup, payment: Payment) -> list[OpenItem]:
        """A plan's open invoices in the payment's currency, in order of due date."""
        found = self._open((n for n in group.invoices if n in self.items), payment.currency)
        return sorted(found, key=lambda i: (i.due_date, i.number))

    def _next_unpaid(self, group: PlanGroup) -> Decimal | None:
        """The unpaid part of a plan's first instalment not paid yet (None: all are)."""
        owed = sum((self.items[n].balance for n in group.invoices if n in self.items), ZERO)
        paid, upto = group.total - owed, ZERO
        for amount in group.amounts:
            upto += amount
            if upto > paid:
                return upto - paid
        return None

    def _spilled(
        self, chosen: list[OpenItem], payment: Payment, why: str
    ) -> tuple[list[OpenItem], str]:
        """`chosen`, then the other open invoices of the plans on track they are on (what
        is left once they are paid counts toward the plan), and why."""
        plans = dict.fromkeys(self.plan_of[i.number] for i in chosen if i.number in self.plan_of)
        numbers = {i.number for i in chosen}
        rest = [
            i
            for pid in plans
            for i in self._plan_items(self.plans[pid], payment)
            if i.number not in numbers
        ]
        if not rest:
            return chosen, why
        ids = ", ".join(map(str, plans))
        return chosen + rest, f"{why}, on payment plan {ids} (any rest to {_numbers(rest)})"

    def _candidates(self, payment: Payment) -> list[tuple[list[OpenItem], str]]:
        """What the amount may pay, each with what it is: one open invoice's balance, a
        customer's whole open balance, a plan's next instalment (a plan's the once)."""
        fitting = self._fitting(payment)
        found: list[tuple[list[OpenItem], str]] = [
            ([i], "the balance of") for owed in fitting.values() for i in owed
            if i.balance == payment.amount
        ]  # fmt: skip
        for owed in fitting.values():
            if len(owed) > 1 and sum((i.balance for i in owed), ZERO) == payment.amount:
                found.append(
                    (
                        sorted(owed, key=lambda i: (i.due_date, i.number)),
                        "the whole open balance of",
                    )
                )
        for group in self.plans.values():
            if group.customer_id in fitting and self._next_unpaid(group) == payment.amount:
                what = f"the next instalment of payment plan {group.plan_id}:"
                found.append((self._plan_items(group, payment), what))
        kept: dict[frozenset[str], tuple[list[OpenItem], str]] = {}
        for items, what in found:  # an invoice on a plan, or the plan: the plan's
            numbers = frozenset(n for i in items for n in self._with_plan(i.number))
            kept.setdefault(numbers, (items, what))
        return list(kept.values())

    def _with_plan(self, number: str) -> set[str]:
        pid = self.plan_of.get(number)
        return set(self.plans[pid].invoices) if pid is not None else {number}

    def _by_amount(self, payment: Payment) -> Match:
        fitting = self._fitting(payment)
        found = self._candidates(payment)
        candidates = [items for items, _ in found]
        if len(candidates) == 1:
            chosen, what = found[0]
            why = f"amount {payment.amount} is {what} {_numbers(chosen)}, and the payer fits"
            return _paying(payment, *self._spilled(chosen, payment, why), "amount")
        if candidates:
            numbers = "; ".join(_numbers(c) for c in candidates)
            return Match(payment, None, (), f"amount {payment.amount} fits {numbers}: ambiguous")
        why = "no open invoice named in its reference" + (
            ", nor one of its amount from this payer" if fitting else ", and the payer is not known"
        )
        return Match(payment, None, (), why)

    def apply(self, match: Match) -> None:
        """What `match` pays taken off its invoices' balances."""
        for part in match.applied:
            item = self.items.get(part.invoice)
            if item is not None:  # not one the sources show paid
                self.items[part.invoice] = replace(item, balance=item.balance - part.amount)


def match_payment(
    payment: Payment, items: Iterable[OpenItem], payers: Mapping[str, Sequence[str]]
) -> Match:
    """`payment` matched against the open invoices `items`; `payers`: customer id → the names
    and payer accounts it pays from."""
    return Matcher(items, payers).match(payment)


def _paying(payment: Payment, items: list[OpenItem], why: str, rule: str) -> Match:
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
    payments: Iterable[Payment],
    items: Iterable[OpenItem],
    payers: Mapping[str, Sequence[str]],
    *,
    paid: Iterable[OpenItem] = (),
    reference_only: Collection[str] = (),
    plans: Iterable[PlanGroup] = (),
) -> list[Match]:
    """Each payment matched in order of its day (then as its file lists them), each against
    the balances the payments before it left: two transfers for one invoice pay it once, then
    the rest. `paid`: invoices the sources show paid that references may name; the payments
    whose ids are in `reference_only` are matched by reference only; `plans`: the payment
    plans on track."""
    matcher = Matcher(items, payers, paid, plans)
    found = []
    for payment in sorted(payments, key=lambda p: p.date):
        match = matcher.match(payment, by_amount=payment.id not in reference_only)
        matcher.apply(match)
        found.append(match)
    return found
