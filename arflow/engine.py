"""The planner (SPEC 4): a pure function from ledger, workflows, past state and a date to a Plan.

No clock, no files, no network: every schedule rule is decided here and tested with plain values.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from arflow.calendar import BusinessCalendar
from arflow.config import Person
from arflow.ledger import NOT_CHASED, ZERO, Customer, Invoice, Ledger
from arflow.workflow import MESSAGE_ACTIONS, Action, Match, Step, Workflow


class ActionKey(NamedTuple):
    """The idempotency key of one action for one target (SPEC 6)."""

    target: str  # "invoice:NUMBER" or "customer:ID"
    workflow: str
    step: str
    action: int

    def __str__(self) -> str:
        return f"{self.target}/{self.workflow}/{self.step}/{self.action}"


NOTHING_RAN: frozenset[str] = frozenset()


def invoice_target(number: str) -> str:
    return f"invoice:{number}"


def customer_target(customer_id: str) -> str:
    return f"customer:{customer_id}"


@dataclass(frozen=True, slots=True)
class Assignment:
    workflow: str
    since: date


@dataclass(slots=True)
class PastState:
    """What the state database knows, read in bulk before planning; empty for a dry run."""

    ran: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (target, wf) → steps
    assignments: dict[str, Assignment] = field(default_factory=dict)   # customer → assignment
    paused_customers: set[str] = field(default_factory=set)
    paused_invoices: set[str] = field(default_factory=set)
    promises: dict[str, date] = field(default_factory=dict)            # invoice → promised date
    # action keys never to be attempted again (sent, unknown, done, skipped, failed for good);
    # a step in `ran` has all its keys here, a step partly done has only some
    settled: set[ActionKey] = field(default_factory=set)


@dataclass(slots=True)
class PlannedAction:
    date: date
    workflow: str
    step: str
    action_index: int
    action: Action
    customer_id: str
    invoices: list[str]
    keys: list[ActionKey]
    to: list[str]
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # open balance per currency
    subject: str | None = None
    status: str = "planned"
    items: list[Invoice] = field(default_factory=list)  # the invoices, by due date then number

    @property
    def kind(self) -> str:
        return self.action.kind

    @property
    def template(self) -> str | None:
        return getattr(self.action.spec, "template", None)


@dataclass(slots=True)
class Skip:
    workflow: str
    step: str
    customer_id: str
    invoices: list[str]
    reason: str
    keys: list[ActionKey] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    as_of: date
    actions: list[PlannedAction] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    started: dict[str, Assignment] = field(default_factory=dict)  # assignments first seen today
    invoices: int = 0
    open: int = 0


# --- matching and assignment (SPEC 4.5) -----------------------------------------------------
def _fold(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(v.casefold() for v in values)


class _Matcher:
    """A workflow's `match:` compiled to sets, checked per invoice."""

    def __init__(self, wid: str, match: Match):
        self.wid = wid
        self.min_balance = match.min_balance
        self.fields = [(name, attrgetter(name), s) for name, s in (
            ("currency", _fold(match.currency)), ("product", _fold(match.product)),
            ("segment", _fold(match.segment)), ("location", _fold(match.location)),
            ("department", _fold(match.department))) if s is not None]
        self.customers = frozenset(match.customer) if match.customer is not None else None
        self.tags = _fold(match.tags)

    def fits(self, inv: Invoice, balance: Decimal, customer: Customer) -> bool:
        if self.min_balance is not None and balance < self.min_balance:
            return False
        for name, get, allowed in self.fields:
            value = get(inv)
            if name == "segment" and value is None:
                value = customer.segment
            if value is None or value.casefold() not in allowed:
                return False
        if self.customers is not None and inv.customer_id not in self.customers:
            return False
        if self.tags is not None and not any(t.casefold() in self.tags for t in inv.tags):
            return False
        return True


# --- step dates (SPEC 4.1) --------------------------------------------------------------------
class _Schedule:
    """A workflow's ordered steps with their dates per anchor date, cached (anchors repeat)."""

    def __init__(self, wid: str, wf: Workflow):
        self.wid = wid
        self.wf = wf
        self.steps: list[Step] = wf.ordered_steps()
        self.ids = [s.step_id for s in self.steps]
        self.calendar = BusinessCalendar(wf.holidays) if wf.business_days else None
        self._dates: dict[date, list[date]] = {}

    def dates(self, anchor: date) -> list[date]:
        found = self._dates.get(anchor)
        if found is None:
            if self.calendar is None:
                found = [anchor + timedelta(days=s.day) for s in self.steps]
            else:
                found = [self.calendar.offset(anchor, s.day) for s in self.steps]
            self._dates[anchor] = found
        return found

    def sends_on(self, as_of: date) -> bool:
        # SPEC 4.1: with business days nothing is sent on a non-business as-of date
        return self.calendar is None or self.calendar.is_business_day(as_of)


@dataclass(slots=True)
class _Decision:
    run: list[int]
    skipped: list[tuple[int, str]]


def decide_steps(schedule: _Schedule, step_dates: list[date], earliest: date, as_of: date,
                 ran: set[str] | frozenset[str]) -> _Decision:
    """Which steps of one target run today and which are skipped, and why (SPEC 4.2, 4.3)."""
    ids = schedule.ids
    last_ran = max((i for i, sid in enumerate(ids) if sid in ran), default=-1) if ran else -1
    due = [i for i in range(last_ran + 1, len(ids))
           if step_dates[i] <= as_of and step_dates[i] >= earliest and ids[i] not in ran]
    skipped: list[tuple[int, str]] = []
    live = []
    for i in due:
        expires = schedule.steps[i].expires_after
        if expires is not None and (as_of - step_dates[i]).days > expires:
            skipped.append((i, "expired"))
        else:
            live.append(i)
    if schedule.wf.catch_up == "latest" and len(live) > 1:
        skipped += [(i, "superseded") for i in live[:-1]]
        live = live[-1:]
    skipped.sort()
    return _Decision(live, skipped)


# --- the planner ------------------------------------------------------------------------------
def plan(ledger: Ledger, workflows: dict[str, Workflow], state: PastState, as_of: date, *,
         default_workflow: str | None = None, min_balance: Decimal = Decimal("0.01"),
         people: dict[str, Person] | None = None) -> Plan:
    """Everything that is due on `as_of`, grouped per customer, workflow and step (SPEC 4)."""
    people = people or {}
    result = Plan(as_of=as_of, invoices=len(ledger.invoices))
    active = {wid: wf for wid, wf in workflows.items() if wf.enabled and not wf.is_campaign}
    schedules = {wid: _Schedule(wid, wf) for wid, wf in active.items()}
    matchers = [_Matcher(wid, active[wid].match) for wid in
                sorted((w for w in active if active[w].match is not None),
                       key=lambda w: (active[w].priority, w))]
    default = default_workflow if default_workflow in active else None
    customers = dict(ledger.customers)

    # (customer, workflow) → invoices following it today, with their open balance
    following: dict[tuple[str, str], list[tuple[Invoice, Decimal]]] = defaultdict(list)
    open_count = 0
    # Invoice.is_open, inlined: these two passes touch every invoice of the ledger
    current = [inv for inv in ledger.invoices
               if (inv.paid_date is None or inv.paid_date > as_of) and inv.issue_date <= as_of]
    for inv in current:
        if inv.status in NOT_CHASED:
            continue
        balance = inv.amount if inv.balance is None else inv.balance
        if balance < min_balance:
            continue
        open_count += 1
        customer = customers.get(inv.customer_id)
        if customer is None:
            customer = customers[inv.customer_id] = Customer(inv.customer_id)
        wid = _workflow_for(inv, balance, customer, state, matchers, default)
        if wid is not None and wid in active:
            following[(inv.customer_id, wid)].append((inv, balance))
    result.open = open_count

    groups: dict[tuple[str, str, int], list[tuple[Invoice, Decimal, str]]] = defaultdict(list)
    skips: dict[tuple[str, str, int, str], list[tuple[Invoice, str]]] = defaultdict(list)
    for (cid, wid), items in following.items():
        schedule = schedules[wid]
        if not schedule.sends_on(as_of):
            continue
        customer = customers[cid]
        if customer.paused or cid in state.paused_customers:
            continue  # SPEC 4.6: a paused customer gets no messages
        items = [(inv, bal) for inv, bal in items if _chased(inv, state, as_of)]
        if not items:
            continue
        if schedule.wf.anchor == "assigned":
            _plan_customer(cid, wid, schedule, items, state, as_of, result, groups, skips)
        else:
            for inv, bal in items:
                anchor = inv.due_date if schedule.wf.anchor == "due_date" else inv.issue_date
                target = invoice_target(inv.number)
                decision = decide_steps(schedule, schedule.dates(anchor), inv.issue_date, as_of,
                                        state.ran.get((target, wid), NOTHING_RAN))
                for i in decision.run:
                    groups[(cid, wid, i)].append((inv, bal, target))
                for i, reason in decision.skipped:
                    skips[(cid, wid, i, reason)].append((inv, target))

    for cid, wid, i in sorted(groups):
        _add_actions(result, customers[cid], wid, schedules[wid], i, groups[(cid, wid, i)],
                     people, as_of, state.settled)
    for cid, wid, i, reason in sorted(skips):
        entries = skips[(cid, wid, i, reason)]
        sid = schedules[wid].ids[i]
        keys = [ActionKey(t, wid, sid, n) for _, t in entries
                for n in range(len(schedules[wid].steps[i].actions))]
        result.skipped.append(Skip(wid, sid, cid, _numbers(inv for inv, _ in entries), reason,
                                   keys))
    result.skipped.sort(key=lambda s: (s.customer_id, s.workflow,
                                       schedules[s.workflow].ids.index(s.step), s.reason))
    return result


def _workflow_for(inv: Invoice, balance: Decimal, customer: Customer, state: PastState,
                  matchers: list[_Matcher], default: str | None) -> str | None:
    """SPEC 4.5: explicit assignment, else the first matching workflow, else the default."""
    explicit = state.assignments.get(inv.customer_id)
    if explicit is not None:
        return explicit.workflow
    if customer.workflow:
        return customer.workflow
    for matcher in matchers:
        if matcher.fits(inv, balance, customer):
            return matcher.wid
    return default


def _chased(inv: Invoice, state: PastState, as_of: date) -> bool:
    """Not paused, and not under a promise-to-pay that still holds (SPEC 4.6)."""
    if inv.number in state.paused_invoices:
        return False
    promised = state.promises.get(inv.number)
    return promised is None or as_of > promised


def _plan_customer(cid, wid, schedule, items, state, as_of, result, groups, skips) -> None:
    """An `assigned` sequence: one per customer, counted from the assignment date (SPEC 4.1)."""
    assignment = state.assignments.get(cid)
    if assignment is None or assignment.workflow != wid:
        assignment = result.started.setdefault(cid, Assignment(wid, as_of))
    target = customer_target(cid)
    decision = decide_steps(schedule, schedule.dates(assignment.since), assignment.since, as_of,
                            state.ran.get((target, wid), NOTHING_RAN))
    for i in decision.run:
        groups[(cid, wid, i)].extend((inv, bal, target) for inv, bal in items)
    for i, reason in decision.skipped:
        skips[(cid, wid, i, reason)].extend((inv, target) for inv, _ in items)


def _by_due(inv: Invoice) -> tuple:
    return inv.due_date, inv.number


def _numbers(invoices) -> list[str]:
    return sorted({inv.number for inv in invoices})


def _add_actions(result: Plan, customer: Customer, wid: str, schedule: _Schedule, i: int,
                 entries: list[tuple[Invoice, Decimal, str]], people: dict[str, Person],
                 as_of: date, settled: set[ActionKey]) -> None:
    """SPEC 4.4: each action of the step happens once for the customer, listing the invoices."""
    step = schedule.steps[i]
    sid = step.step_id
    for n, action in enumerate(step.actions):
        # SPEC 4.3: an action already settled for a target never happens again for it
        live = [e for e in entries if ActionKey(e[2], wid, sid, n) not in settled] \
            if settled else entries
        if not live:
            continue
        unique = {inv.number: (inv, bal) for inv, bal, _ in live}
        invoices = sorted(unique)
        items = sorted((inv for inv, _ in unique.values()), key=_by_due)
        amounts: dict[str, Decimal] = {}
        for inv, bal in unique.values():
            amounts[inv.currency] = amounts.get(inv.currency, ZERO) + bal
        keys = [ActionKey(t, wid, sid, n) for t in sorted({t for _, _, t in live})]
        to, cc, bcc = recipients(action, customer, schedule.wf, people)
        if action.kind in MESSAGE_ACTIONS and not to:
            reason = {"email": "no-email", "sms": "no-phone"}.get(action.kind, "no-recipient")
            result.skipped.append(Skip(wid, sid, customer.customer_id, invoices, reason, keys))
            continue
        result.actions.append(PlannedAction(
            date=as_of, workflow=wid, step=sid, action_index=n, action=action,
            customer_id=customer.customer_id, invoices=invoices, keys=keys, to=to, cc=cc,
            bcc=bcc, amounts=dict(amounts), items=items))


def _person_addresses(names, customer: Customer, wf: Workflow,
                      people: dict[str, Person]) -> list[str]:
    found = []
    for name in names:
        if name == "specialist":
            name = customer.specialist
        elif name == "owner":
            name = wf.owner
        person = people.get(name) if name else None
        value = person.email if person else (name if name and "@" in name else None)
        if value and value not in found:
            found.append(value)
    return found


def recipients(action: Action, customer: Customer, wf: Workflow,
               people: dict[str, Person]) -> tuple[list[str], list[str], list[str]]:
    """(to, cc, bcc) for an action: customer contacts, people from `people:`, or URLs."""
    kind, spec = action.kind, action.spec
    if kind == "email":
        return (list(customer.email), _person_addresses(spec.cc, customer, wf, people),
                _person_addresses(spec.bcc, customer, wf, people))
    if kind == "sms":
        return ([customer.phone] if customer.phone else []), [], []
    if kind == "notify":
        return _person_addresses(spec.to or ["owner"], customer, wf, people), [], []
    if kind == "webhook":
        return [spec.url], [], []
    if kind == "note":
        return _person_addresses(["specialist"], customer, wf, people), [], []
    if kind == "task":
        return _person_addresses([spec.assignee], customer, wf, people), [], []
    return [], [], []
