"""Credit hold in tonight's plan (issue 33): who enters hold and who leaves it, from the
ledger as the run sees it (payments from the bank already lowered it), and the actions each
event owes.

A customer not on hold enters when every `enter` condition holds for one of its currency
groups (`campaign_metrics.groups_that_hold`, a campaign's rule); one on hold leaves when every
`release` condition holds for each of its groups (with nothing owed: for totals of zero);
between the two nothing changes. A run for one customer (`--customer`) sees only that one.

Each event's actions (`notify:`'s notice, then `on_hold:` or `on_release:`) are keyed once:
`hold:ID#SEQ/credit_hold/KIND/N`, SEQ the event's number among the customer's events (its
first is 1), so a customer entering again on the day it was released is told again. The
customer's latest event is acted on while its keys are unsettled and it is at most
`NOTICE_DAYS` old (a failed send is tried again on the next nights, a crash after the event
was recorded loses nothing); a rerun of a night finds no new event and the keys settled, and
sends nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal

from arflow.actions import KINDS
from arflow.config import Config
from arflow.holds import DROPPED, HOLD, HOLDS, NOTICE_DAYS, RELEASE, TEMPLATES
from arflow.holds.settings import CreditHold
from arflow.ledger import Customer, Invoice, Ledger
from arflow.planner.campaign_metrics import (
    combined,
    descendants,
    groups_that_hold,
    holds,
    metric_of,
)
from arflow.planner.plan_types import ActionKey, PastState, Plan, PlannedAction, Skip
from arflow.rules import NO_TOTALS, Totals, account_totals, is_overdue
from arflow.state import StateDB
from arflow.state.holds import HoldEvent
from arflow.workflow import Condition

CENT = Decimal("0.01")

Groups = dict[str, Totals]  # currency → totals


def account_groups(ledger: Ledger, as_of: date, min_balance: Decimal) -> dict[str, Groups]:
    """Customer → its totals per currency on `as_of` (`rules.account_totals`), for the
    customers owing something."""
    owing: dict[str, list[Invoice]] = {}
    for inv in ledger.owing(as_of):
        owing.setdefault(inv.customer_id, []).append(inv)
    return {cid: account_totals(invs, as_of, min_balance) for cid, invs in owing.items()}


def described(
    conditions: list[Condition], currency: str | None, own: Totals, family: Totals
) -> str:
    """Conditions with the values they held with: `USD: overdue 6000.00 >= 5000`."""
    parts = []
    for c in conditions:
        actual = metric_of(c.metric, own, family)
        shown = actual if c.metric.endswith("days_past_due") else actual.quantize(CENT)
        parts.append(f"{c.metric} {shown} {c.op} {c.value}")
    return f"{currency or 'nothing owed'}: {', '.join(parts)}"


def event_of(
    settings: CreditHold, cid: str, own: Groups, family: Groups, latest: HoldEvent | None, day: date
) -> HoldEvent | None:
    """The customer's event tonight, if any (hysteresis: between enter and release, none)."""
    if latest is None or latest.kind == RELEASE:
        groups = groups_that_hold(settings.enter, own, family)
        if not groups:
            return None
        why = "; ".join(
            described(settings.enter, g, own.get(g, NO_TOTALS), family.get(g, NO_TOTALS))
            for g in groups
        )
        return HoldEvent(cid, HOLD, day, why)
    currencies: list[str | None] = [*sorted(set(own) | set(family))]
    if not currencies:  # nothing owed: totals of zero
        currencies = [None]
    for g in currencies:
        mine, theirs = own.get(g or "", NO_TOTALS), family.get(g or "", NO_TOTALS)
        if not all(holds(c, mine, theirs) for c in settings.release):
            return None
    why = "; ".join(
        described(settings.release, g, own.get(g or "", NO_TOTALS), family.get(g or "", NO_TOTALS))
        for g in currencies
    )
    return HoldEvent(cid, RELEASE, day, why)


def seen_customers(
    ledger: Ledger, owing: Iterable[str], latest: Mapping[str, HoldEvent]
) -> set[str]:
    """The customers tonight's run judges and acts for: those of its ledger, and those on
    hold the sources no longer have (paid and gone: their totals are zero); a ledger cut to
    some customers (`--customer`, a forecast's day) leaves the others as they are."""
    whole = ledger.whole
    gone = {cid for cid, e in latest.items() if e.kind == HOLD and cid not in whole.customers}
    return set(ledger.customers) | set(owing) | gone


def tonight_events(
    settings: CreditHold,
    ledger: Ledger,
    latest: Mapping[str, HoldEvent],
    as_of: date,
    min_balance: Decimal,
) -> list[HoldEvent]:
    """Who enters hold and who leaves it on `as_of`, by customer id."""
    own = account_groups(ledger, as_of, min_balance)
    below = descendants(ledger.whole.customers)
    found = []
    for cid in sorted(seen_customers(ledger, own, latest)):
        family = combined([own.get(c, {}) for c in [cid, *below.get(cid, ())]])
        event = event_of(settings, cid, own.get(cid, {}), family, latest.get(cid), as_of)
        if event is not None:
            found.append(event)
    return found


def hold_target(customer_id: str, number: int) -> str:
    """The target of an event's actions: `hold:ID#SEQ`, SEQ the event's number among the
    customer's events."""
    return f"hold:{customer_id}#{number}"


def hold_owner(target: str) -> str | None:
    """The customer of a hold event's target, None for another target."""
    return target[len("hold:") :].rsplit("#", 1)[0] if target.startswith("hold:") else None


def hold_context(event: HoldEvent) -> dict:
    """`hold` in the templates of a hold's actions."""
    return {"event": event.kind, "since": event.as_of, "why": event.why}


def event_actions(
    planned: Plan,
    settings: CreditHold,
    events: Mapping[str, HoldEvent],
    sequence: Mapping[str, int],
    failed: set[str],
    past: PastState,
    config: Config,
    ledger: Ledger,
    seen: set[str],
) -> None:
    """The actions owed by the latest event of each customer `seen` tonight, into `planned`
    (or skipped `no-recipient`), those of events older than `NOTICE_DAYS` or settled left
    out; those of an older event whose sends kept failing (`failed`) are skipped `DROPPED`,
    recorded once and reported."""
    as_of = planned.as_of
    for cid, event in sorted(events.items()):
        if cid not in seen:
            continue
        actions = settings.actions(event.kind, TEMPLATES)
        if as_of - event.as_of > timedelta(days=NOTICE_DAYS):
            _dropped(planned, event, sequence[cid], len(actions), failed)
            continue
        if not actions:
            continue
        # one gone from the sources (paid, released) is told of by its id: the messages made
        # tonight find it in the ledger
        customer = ledger.customers.setdefault(
            cid, ledger.whole.customers.get(cid) or Customer(cid)
        )
        items = _overdue(ledger, cid, as_of)
        numbers = [inv.number for inv in items]
        for n, action in enumerate(actions):
            key = ActionKey(hold_target(cid, sequence[cid]), HOLDS, event.kind, n)
            if key in past.settled:
                continue
            kind = KINDS[action.kind]
            to = kind.recipients(action, customer, None, config.people).to  # type: ignore[arg-type]
            if not to:
                planned.skipped.append(
                    Skip(HOLDS, event.kind, cid, numbers, kind.missing or "", [key])
                )
                continue
            planned.actions.append(
                PlannedAction(
                    date=as_of,
                    workflow=HOLDS,
                    step=event.kind,
                    action_index=n,
                    action=action,
                    customer_id=cid,
                    invoices=numbers,
                    keys=[key],
                    to=to,
                    items=items,
                    hold=hold_context(event),
                )
            )


def _overdue(ledger: Ledger, cid: str, as_of: date) -> list[Invoice]:
    """The customer's overdue invoices still owed, by due date: what a hold's notice lists."""
    return sorted(
        (
            inv
            for inv in ledger.of_customers([cid], owing_on=as_of)[cid]
            if inv.owed(as_of) > 0 and is_overdue(inv, as_of)
        ),
        key=lambda inv: (inv.due_date, inv.number),
    )


def _dropped(planned: Plan, event: HoldEvent, number: int, actions: int, failed: set[str]) -> None:
    """The actions of an event past `NOTICE_DAYS` whose sends kept failing: skipped
    `DROPPED` (recorded: reported once)."""
    target = hold_target(event.customer_id, number)
    keys = [ActionKey(target, HOLDS, event.kind, n) for n in range(actions)]
    for key in keys:
        if str(key) in failed:
            planned.skipped.append(Skip(HOLDS, event.kind, event.customer_id, [], DROPPED, [key]))


def credit_hold_night(
    db: StateDB, config: Config, ledger: Ledger, past: PastState, planned: Plan
) -> None:
    """Tonight's entries and releases into `planned.holds` (a run records them; a dry run's
    state records nothing), and the actions the customers' latest events owe into
    `planned`."""
    settings = config.credit_hold
    if settings is None:
        return
    latest = db.holds_on(planned.as_of)
    sequence = db.hold_counts_on(planned.as_of)
    new = tonight_events(settings, ledger, latest, planned.as_of, config.min_balance)
    planned.holds = new  # recorded by the run once nothing stops it (`deliver._begin`)
    current = {**latest, **{e.customer_id: e for e in new}}
    sequence = {**sequence, **{e.customer_id: sequence.get(e.customer_id, 0) + 1 for e in new}}
    seen = seen_customers(ledger, (), latest)
    failed = db.failed_hold_keys()
    event_actions(planned, settings, current, sequence, failed, past, config, ledger, seen)


def hold_changes(config: Config, db: StateDB, ledger: Ledger, as_of: date) -> set[str]:
    """The customers whose hold changes on `as_of` (a forecast's day plans them)."""
    settings = config.credit_hold
    if settings is None:
        return set()
    latest = db.holds_on(as_of)
    return {
        e.customer_id for e in tonight_events(settings, ledger, latest, as_of, config.min_balance)
    }
