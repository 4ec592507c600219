"""One step's actions for one customer (SPEC 4.4): each action once for the customer, listing
its invoices, to the recipients its kind names (`actions.recipients`) — with contacts in
several languages (issue 33), one message per language."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from arflow.actions import KINDS, Recipients, recipients
from arflow.config import Person
from arflow.ledger import ZERO, Contact, Customer, Invoice
from arflow.planner.plan_types import ActionKey, Plan, PlannedAction, Skip
from arflow.workflow import Action, Workflow


class SlotInvoice(NamedTuple):
    """An invoice one slot's actions list, with its open balance and the target it is in."""

    invoice: Invoice
    balance: Decimal
    target: str


def _by_due(inv: Invoice) -> tuple:
    return inv.due_date, inv.number


@dataclass(frozen=True, slots=True)
class _Step:
    """Where the actions are: the customer's workflow and step, and the day."""

    wid: str
    wf: Workflow
    sid: str
    as_of: date
    settled: set[ActionKey]


def add_actions(
    result: Plan,
    customer: Customer,
    wid: str,
    wf: Workflow,
    sid: str,
    actions: list[Action],
    entries: list[SlotInvoice],
    people: dict[str, Person],
    as_of: date,
    settled: set[ActionKey],
) -> Customer:
    """SPEC 4.4: each action of the step happens once for the customer, listing the invoices.
    An `assign` action takes effect for the actions after it: the customer is returned with
    its new specialist. A customer message whose contacts speak several languages is one
    message per language (issue 33): the first language's under the action's keys, each
    other's under keys of its own (the target followed by `~LANGUAGE`)."""
    step = _Step(wid, wf, sid, as_of, settled)
    for n, action in enumerate(actions):
        found = recipients(action, customer, wf, people)
        for suffix, rec in language_groups(found, customer, action.kind):
            planned = _action(result, customer, step, n, action, entries, rec, suffix)
            if planned is None:
                continue
            if action.kind == "task":
                planned.assignee = {"specialist": customer.specialist, "owner": wf.owner}.get(
                    action.spec.assignee, action.spec.assignee
                )
            elif action.kind == "assign":
                customer = replace(customer, specialist=action.spec.specialist)
            result.actions.append(planned)
    return customer


def _action(
    result: Plan,
    customer: Customer,
    step: _Step,
    n: int,
    action: Action,
    entries: list[SlotInvoice],
    rec: Recipients,
    suffix: str,
) -> PlannedAction | None:
    """The action for the entries not settled yet (SPEC 4.3), or its skip when it has nobody
    to go to; None when there is nothing (left) to do."""
    wid, sid = step.wid, step.sid

    def key(target: str) -> ActionKey:
        return ActionKey(f"{target}~{suffix}" if suffix else target, wid, sid, n)

    live = [e for e in entries if key(e.target) not in step.settled] if step.settled else entries
    if not live:
        return None
    unique = {inv.number: (inv, bal) for inv, bal, _ in live}
    invoices = sorted(unique)
    amounts: dict[str, Decimal] = {}
    for inv, bal in unique.values():
        amounts[inv.currency] = amounts.get(inv.currency, ZERO) + bal
    keys = [key(t) for t in sorted({e.target for e in live})]
    missing = KINDS[action.kind].missing
    if missing and not rec.to:
        result.skipped.append(Skip(wid, sid, customer.customer_id, invoices, missing, keys))
        return None
    return PlannedAction(
        date=step.as_of,
        workflow=wid,
        step=sid,
        action_index=n,
        action=action,
        customer_id=customer.customer_id,
        invoices=invoices,
        keys=keys,
        to=rec.to,
        cc=rec.cc,
        bcc=rec.bcc,
        amounts=amounts,
        items=sorted((inv for inv, _ in unique.values()), key=_by_due),
        contact=rec.contacts[0] if rec.contacts else None,
        fallback=rec.fallback,
    )


def language_groups(
    found: Recipients, customer: Customer, kind: str
) -> list[tuple[str, Recipients]]:
    """A message's recipients per language of its contacts — a contact's own, else the
    customer's, else the company's (`Customer.company_language`), compared as languages (`de`
    for `de_CH`): ("", all of them) when they share one; else the first language's with the
    copies, then each other language's under its code."""
    by_language: dict[str, list[Contact]] = {}
    for contact in found.contacts:
        by_language.setdefault(_spoken(contact, customer), []).append(contact)
    if len(by_language) < 2:
        return [("", found)]
    groups = []
    for n, (language, contacts) in enumerate(by_language.items()):
        to = list(dict.fromkeys(a for c in contacts for a in _addresses(c, kind)))
        copies = (found.cc, found.bcc) if n == 0 else ([], [])
        suffix = "" if n == 0 else language or "default"
        groups.append((suffix, Recipients(to, *copies, tuple(contacts), found.fallback)))
    return groups


def _addresses(contact: Contact, kind: str) -> tuple[str, ...]:
    if kind == "sms":
        return (contact.phone,) if contact.phone else ()
    return contact.email


def _spoken(contact: Contact, customer: Customer) -> str:
    """The language a contact is written to in (`de` for `de_CH`; "" for the default)."""
    spoken = contact.language or customer.language or customer.company_language or ""
    return spoken.split("_")[0].lower()


def speaks_several(customer: Customer) -> bool:
    """Whether a customer's contacts speak more than one language: a step's message to it may
    be several (issue 33), and one that did not go is tried again while its step is the
    latest that ran (`engine`; the columnar planner leaves such customers to the objects)."""
    return len({_spoken(c, customer) for c in customer.contacts}) > 1


def latest_ran(ids: list[str], ran: Collection[str]) -> int | None:
    """The index of the latest of the steps that ran (None: none of the workflow's now)."""
    return max((i for i, step in enumerate(ids) if step in ran), default=None)
