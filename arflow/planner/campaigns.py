"""Who gets a campaign's statement on a day (SPEC 4.10), as a pure function: the occurrence
due, the customers it reaches, their metrics and conditions, what each statement lists, and
why a customer is skipped (`paused`, `conditions`, `nothing-to-list`, `consolidated`).
`engine.plan` turns each statement into the campaign's actions, its notices after the rest,
waiting for the statement to go (`notices_wait`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import NamedTuple

from arflow.actions import CUSTOMER_FACING, NOTICES, recipients
from arflow.calendar import BusinessCalendar
from arflow.ledger import Customer, Invoice
from arflow.planner.campaign_metrics import combined, descendants, groups_that_hold, metric_of
from arflow.planner.match import Matcher
from arflow.planner.occurrences import due_occurrence, next_occurrence
from arflow.planner.plan_types import ActionKey, Met, PlannedAction, Statement
from arflow.rules import NO_TOTALS, Totals, account_aging, account_totals, customer_paused
from arflow.workflow import Workflow


@dataclass(slots=True)
class StatementSkip:
    customer_id: str
    occurrence: date
    reason: str  # paused | conditions | nothing-to-list | consolidated


def _fits(wid: str, wf: Workflow, customer: Customer, invoices: list[Invoice], as_of: date) -> bool:
    """`match:`: the customer fields (`customer`, `segment`) fit the customer; the invoice
    fields fit at least one of the invoices its statement would cover (as `matching` checks an
    invoice)."""
    m = wf.match
    if m is None:
        return True
    if m.customer is not None and customer.customer_id not in m.customer:
        return False
    if m.segment is not None and (customer.segment or "").casefold() not in {
        s.casefold() for s in m.segment
    }:
        return False
    matcher = Matcher(wid, m.model_copy(update={"customer": None, "segment": None}))
    return any(matcher.fits(inv, inv.open_balance(as_of), customer) for inv in invoices)


def occurrence_due(wf: Workflow, as_of: date) -> date | None:
    """The campaign's occurrence due on `as_of`, if any (`occurrences.due_occurrence` with the
    campaign's own window and business calendar)."""
    assert wf.schedule is not None  # a campaign
    return due_occurrence(wf.schedule, as_of, wf.expires_after, calendar_of(wf))


def next_statement(wf: Workflow, as_of: date, sent: Collection[str]) -> date | None:
    """When a customer's next statement goes out: the occurrence due today unless it was
    `sent` (occurrence dates, ISO), else the next one."""
    assert wf.schedule is not None  # a campaign
    found = occurrence_due(wf, as_of)
    if found is None:
        found = next_occurrence(wf.schedule, as_of, calendar_of(wf))
    while found is not None and found.isoformat() in sent:  # a run dated ahead sent it
        found = next_occurrence(wf.schedule, found, calendar_of(wf))
    return found


def calendar_of(wf: Workflow) -> BusinessCalendar | None:
    """The campaign's business calendar (None: every day counts), one per holiday calendar:
    `status` asks for it once per customer."""
    return _business_calendar(wf.holidays) if wf.business_days else None


@cache
def _business_calendar(holidays: str | None) -> BusinessCalendar:
    return BusinessCalendar(holidays)


class Member(NamedTuple):
    """A customer a campaign reaches, with the accounts its statement covers."""

    customer_id: str
    customer: Customer
    covered: list[str]  # the customer, and consolidating its descendants
    invoices: list[Invoice]  # their open invoices
    parents: list[str]  # its ancestors
    family: list[str]  # the customer and its descendants (`consolidated_*` metrics)


def audience(
    wid: str,
    wf: Workflow,
    open_by_customer: Mapping[str, list[Invoice]],
    customers: Mapping[str, Customer],
    as_of: date,
) -> list[Member]:
    """Who a campaign reaches (SPEC 4.10): customers with an open invoice (consolidating, also
    those whose descendants have one) that fit `match:`; parents first, so that a consolidated
    statement is decided before its children's."""
    family = descendants(customers)
    parents: dict[str, list[str]] = {}
    for parent, below in family.items():
        for cid in below:
            parents.setdefault(cid, []).append(parent)
    candidates = {cid for cid, invs in open_by_customer.items() if invs}
    if wf.consolidate:  # a parent whose descendants owe gets a statement too
        candidates |= {p for cid in candidates for p in parents.get(cid, ()) if p in customers}
    found = []
    for cid in sorted(candidates, key=lambda c: (len(parents.get(c, ())), c)):
        customer = customers.get(cid) or Customer(cid)
        everyone = [cid, *family.get(cid, ())]
        covered = everyone if wf.consolidate else [cid]
        invoices = [inv for c in covered for inv in open_by_customer.get(c, ())]
        if _fits(wid, wf, customer, invoices, as_of):
            found.append(Member(cid, customer, covered, invoices, parents.get(cid, []), everyone))
    return found


def statements(
    wid: str,
    wf: Workflow,
    open_by_customer: Mapping[str, list[Invoice]],
    customers: Mapping[str, Customer],
    as_of: date,
    min_balance: Decimal,
    *,
    paused_customers: Collection[str] = (),
    paused_invoices: Collection[str] = (),
    sent_before: Callable[[str], bool] = lambda cid: False,
    reached_before: Callable[[str], bool] | None = None,
    credits: Mapping[str, list[Invoice]] | None = None,
) -> tuple[list[Statement], list[StatementSkip]]:
    """The statements a campaign sends on `as_of`, and the customers it skips. `open_by_customer`
    holds each customer's open invoices (paused and promised ones included), `credits` its
    credit notes (they reduce the totals, and are not listed). `sent_before` says whether a
    customer's statement for this occurrence is done (every action settled, or a later
    occurrence's); `reached_before` whether it reached the customer (a customer-facing action
    settled), which is what covers its descendants (default: `sent_before`)."""
    reached = reached_before or sent_before
    credit = credits or {}
    occurrence = occurrence_due(wf, as_of)
    if occurrence is None:
        return [], []
    own = _own_totals(open_by_customer, credit, as_of, min_balance)
    found: list[Statement] = []
    skipped: list[StatementSkip] = []
    messaged: set[str] = set()  # customers with this occurrence's statement, here or before
    for member in audience(wid, wf, open_by_customer, customers, as_of):
        cid = member.customer_id
        if reached(cid):
            messaged.add(cid)  # its descendants are covered
        if sent_before(cid):
            continue  # this occurrence went out in an earlier run
        if wf.consolidate and messaged.intersection(member.parents):
            skipped.append(StatementSkip(cid, occurrence, "consolidated"))
            continue
        if customer_paused(member.customer, paused_customers):
            skipped.append(StatementSkip(cid, occurrence, "paused"))
            continue
        made = _statement(wf, member, occurrence, own, credit, paused_invoices, as_of, min_balance)
        if isinstance(made, str):
            skipped.append(StatementSkip(cid, occurrence, made))
            continue
        found.append(made)
        # a statement covers the descendants once it can reach the customer (an address for
        # its email, a phone for its SMS); one that cannot leaves them their own
        if _reaches(wf, member.customer):
            messaged.add(cid)
    return found, skipped


def _own_totals(
    open_by_customer: Mapping[str, list[Invoice]],
    credit: Mapping[str, list[Invoice]],
    as_of: date,
    min_balance: Decimal,
) -> dict[str, dict[str, Totals]]:
    """Each customer's own totals: its open invoices and its credit notes."""
    own = {
        cid: account_totals([*invs, *credit.get(cid, ())], as_of, min_balance)
        for cid, invs in open_by_customer.items()
        if invs
    }
    own.update(
        (cid, account_totals(notes, as_of, min_balance))
        for cid, notes in credit.items()
        if cid not in own
    )
    return own


def _statement(
    wf: Workflow,
    member: Member,
    occurrence: date,
    own: dict[str, dict[str, Totals]],
    credit: Mapping[str, list[Invoice]],
    paused_invoices: Collection[str],
    as_of: date,
    min_balance: Decimal,
) -> Statement | str:
    """A member's statement, or why it gets none (`conditions`, `nothing-to-list`)."""
    mine = own.get(member.customer_id, {})
    family_totals = combined([own.get(c, {}) for c in member.family])
    groups = groups_that_hold(wf.conditions, mine, family_totals)
    if not groups:
        return "conditions"
    listed = sorted(
        (
            inv
            for inv in member.invoices
            if inv.currency in groups and inv.number not in paused_invoices
        ),
        key=lambda inv: (inv.due_date, inv.number),
    )
    if not listed:
        return "nothing-to-list"
    covered = member.covered
    return Statement(
        member.customer_id,
        occurrence,
        groups,
        listed,
        mine,
        family_totals,
        wf.consolidate,
        account_aging(
            [*member.invoices, *(n for c in covered for n in credit.get(c, ()))],
            as_of,
            min_balance,
        ),
        {cur: [(c, own[c][cur]) for c in covered if cur in own.get(c, {})] for cur in groups}
        if wf.consolidate
        else {},
        [
            Met(
                c.metric,
                c.op,
                c.value,
                metric_of(c.metric, mine.get(cur, NO_TOTALS), family_totals.get(cur, NO_TOTALS)),
                cur,
            )
            for cur in groups
            for c in wf.conditions
        ],
    )


def notices_wait(
    actions: list[PlannedAction],
    wid: str,
    wf: Workflow,
    target: str,
    occurrence: str,
    settled: Collection[ActionKey],
) -> list[PlannedAction]:
    """A statement's actions in the order they go: its notices (`actions.NOTICES`, which tell
    of the statement) after the rest, each waiting for the statement's customer-facing
    messages that were not settled before this run (`PlannedAction.waits_for`)."""
    waits = [
        key
        for n, action in enumerate(wf.actions)
        if action.kind in CUSTOMER_FACING
        and (key := ActionKey(target, wid, occurrence, n)) not in settled
    ]
    for planned in actions:
        if planned.kind in NOTICES:
            planned.waits_for = list(waits)
    return sorted(actions, key=lambda planned: bool(planned.waits_for))


def _reaches(wf: Workflow, customer: Customer) -> bool:
    """The campaign's customer-facing actions have somebody to go to (none: it reaches)."""
    facing = [a for a in wf.actions if a.kind in CUSTOMER_FACING]
    return not facing or any(recipients(a, customer, wf, {}).to for a in facing)


def campaigns_due(workflows: dict[str, Workflow], as_of: date) -> dict[str, date]:
    """The enabled campaigns with an occurrence due on `as_of` (SPEC 4.10): id → occurrence."""
    due = {}
    for wid in sorted(workflows):
        wf = workflows[wid]
        if not (wf.enabled and wf.is_campaign):
            continue
        calendar = calendar_of(wf)
        if calendar is not None and not calendar.is_business_day(as_of):
            continue  # SPEC 3: counting business days, nothing goes out on other days
        if occurrence := occurrence_due(wf, as_of):
            due[wid] = occurrence
    return due
