"""What the inbox changes in tonight's plan (SPEC 6.1): emails to bounced addresses are
skipped, a customer is contacted at most once per `contact_gap` days, and `replies.notify`
hears of each reply and new bounce.

Each works on the planner's result, before anything is recorded: a skipped action is recorded
as skipped (`bounced`, `contact-gap`), a reason that is tried again on the next run, so its
step stays due."""

from __future__ import annotations

from datetime import date, timedelta

from arflow.actions import CONTACT_WORDS, CUSTOMER_FACING, KINDS
from arflow.config import Config
from arflow.disputes import dispute_words_in
from arflow.ledger import Customer, Ledger
from arflow.planner.plan_types import Plan, PlannedAction, Skip, notice_key
from arflow.workflow import Action

# the templates of the notices to `replies.notify`
REPLY_TEMPLATE, BOUNCE_TEMPLATE = "customer-replied", "address-bounced"


def _skip(plan: Plan, action: PlannedAction, reason: str, until: date | None = None) -> None:
    plan.skipped.append(
        Skip(
            action.workflow,
            action.step,
            action.customer_id,
            action.invoices,
            reason,
            list(action.keys),
            until,
        )
    )


def unreached(plan: Plan, ledger: Ledger) -> str | None:
    """Why tonight's customer messages of a kind reach nobody, when no customer in the sources
    can be reached by it (no email address anywhere, or no phone): the data is not what
    arflow thinks it is, and a night of skips would hide it (the internal notices would go
    out alone). None when every kind reaches someone."""
    for name, kind in KINDS.items():
        if kind.contact is None:
            continue
        skipped = [s for s in plan.skipped if s.reason == kind.missing]
        customers = ledger.whole.customers.values()  # all of them, under `run --customer` too
        if not skipped or any(_given(c, kind.contact) for c in customers):
            continue
        steps = sorted({f"{s.workflow}/{s.step}" for s in skipped})
        where = " or ".join(r.display for r in ledger.reads) or "the sources"
        column = f"{'an' if kind.contact == 'email' else 'a'} {kind.contact} column"
        return (
            f"no customer in {where} has {CONTACT_WORDS[kind.contact]}"
            f", so tonight's {name} to {len({s.customer_id for s in skipped})} customer(s) "
            f"({', '.join(steps[:3])}{', …' if len(steps) > 3 else ''}) would reach nobody: add "
            f"{column} (or map yours with columns: {{{kind.contact}: YOUR_HEADER}}), or take "
            f"the {name} actions out of those workflows"
        )
    return None


def _given(customer: Customer, contact: str) -> bool:
    """Whether the sources give the customer this contact at all: a column there and filled,
    on the customer or one of its contacts (issue 33) (a phone number is not checked for
    this: it is when a message needs it)."""
    if contact == "phone":
        return bool(customer.given_phone) or any(c.phone for c in customer.contacts)
    return bool(getattr(customer, contact)) or any(getattr(c, contact) for c in customer.contacts)


def drop_bounced(plan: Plan, bounced: dict[str, set[str]]) -> None:
    """An email leaves out the customer's addresses that bounced; with none left it is
    skipped as `bounced`."""
    if not bounced:
        return
    kept = []
    for action in plan.actions:
        dead = bounced.get(action.customer_id)
        if action.kind == "email" and dead:
            action.to = [a for a in action.to if a.lower() not in dead]
            if not action.to:
                _skip(plan, action, "bounced")
                continue
        kept.append(action)
    plan.actions = kept


def contact_waits(last: date | None, gap: int | None, day: date) -> date | None:
    """`contact_gap: N` (SPEC 6.1): the first day a customer last contacted on `last` may be
    contacted again, when that is after `day`; None when a message may go on `day`."""
    if not gap or last is None:
        return None
    free = last + timedelta(days=gap)
    return free if day < free else None


def space_contacts(plan: Plan, last: dict[str, date], gap: int | None) -> None:
    """`contact_gap: N`: a customer gets one contact per N days across workflows and
    campaigns; the first of the plan goes, a later one waits (`contact-gap`, until the first
    day it may go, `contact_waits`). Notices, tasks, notes and statuses never wait."""
    if not gap:
        return
    going: set[tuple[str, str, str]] = set()  # (customer, workflow, step) contacting today
    latest = dict(last)
    kept = []
    for action in plan.actions:
        if action.kind in CUSTOMER_FACING:
            group = (action.customer_id, action.workflow, action.step)
            waits = contact_waits(latest.get(action.customer_id), gap, plan.as_of)
            if group not in going and waits is not None:
                _skip(plan, action, "contact-gap", waits)
                continue
            going.add(group)
            latest[action.customer_id] = plan.as_of
        kept.append(action)
    plan.actions = kept


def inbox_notices(
    plan: Plan, rows: list[dict], config: Config, ledger: Ledger, invoices_of: dict[str, list[str]]
) -> None:
    """A notice to `replies.notify` of each reply and new bounce not yet told of (its key is
    `customer:ID/inbox/reply-N/0`); `invoices_of` holds the invoices of the email each
    answers, by its action key."""
    person = config.people.get(config.replies.notify or "")
    if person is None or not person.email or not rows:
        return
    owed = ledger.of_customers({row["customer_id"] for row in rows})  # one pass for all
    for row in rows:
        cid = row["customer_id"]
        customer = ledger.customers.setdefault(cid, Customer(cid))
        numbers = invoices_of.get(row["action_key"] or "", [])
        items = sorted(
            (inv for inv in owed.get(cid, ()) if inv.number in numbers),
            key=lambda inv: (inv.due_date, inv.number),
        )
        template = REPLY_TEMPLATE if row["kind"] == "reply" else BOUNCE_TEMPLATE
        if row["kind"] == "reply":  # issue 33: flagged as a possible dispute, never decided
            text = f"{row.get('subject') or ''}\n{row.get('excerpt') or ''}"
            row = {**row, "possible_dispute": dispute_words_in(text, config.dispute_words)}
        key = notice_key(row)
        plan.actions.append(
            PlannedAction(
                date=plan.as_of,
                workflow="inbox",
                step=key.step,
                action_index=0,
                action=_notice(config.replies.notify or "", template),
                customer_id=customer.customer_id,
                invoices=[inv.number for inv in items],
                keys=[key],
                to=[person.email],
                items=items,
                incoming=row,
            )
        )


def _notice(person: str, template: str) -> Action:
    return Action.model_validate({"notify": {"to": [person], "template": template}})
