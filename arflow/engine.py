"""The planner (SPEC 4): a pure function from ledger, workflows, past state and a date to a Plan.

No clock, no files, no network: every schedule rule is decided here and tested with plain values.

Words used in the planner, each with one meaning:

- target: what a workflow's steps run for, and the first part of an action key: an invoice
  (`invoice:NUMBER`, for `due_date`/`issue_date` workflows), or one `assigned` sequence of a
  customer (`customer:ID@SINCE`); a customer's pause notice goes to `customer:ID`.
- sequence: a workflow's steps as they run for one target. An `assigned` sequence belongs to
  the customer: it counts from the day the workflow was assigned (or a chain or broken promise
  brought the customer there) and ends when none of the customer's invoices is open (SPEC 4.1,
  4.7); `PastState.sequences` holds the active ones.
- settled: an action key never to be attempted again: sending, sent, unknown, done, skipped
  (except for a missing contact) or failed for good (SPEC 6).
- ran: a step has run for a target once every one of its action keys is settled, whatever the
  outcome; it is never due again for that target (SPEC 4.2, 4.3).
- chased: a target has been chased in a workflow when an action of one of its steps really
  happened (sending, sent, unknown or done); only a chased target gets `on_paid` once it is
  paid (SPEC 4.7).
- finished: a workflow is finished for a target once its last step has run; a still open
  target then moves to the `then:` workflow the next day (SPEC 4.8).
- on hold: an invoice that is paused, or under a promise-to-pay whose date has not passed; it
  still follows its workflow but is left out of messages (SPEC 4.6).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
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
    since: date | None  # None: an `assigned` sequence starts with the next run


@dataclass(frozen=True, slots=True)
class Hold:
    """An active pause or promise, for `notify_on: [pause]` (SPEC 4.6)."""

    kind: str        # customer | invoice | promise
    id: int
    target_id: str   # the customer id, or the invoice number
    reason: str | None = None
    until: date | None = None
    since: date | None = None

    @property
    def step(self) -> str:
        return f"{'promise' if self.kind == 'promise' else 'pause'}-{self.id}"


@dataclass(slots=True)
class PastState:
    """What the state database knows, read in bulk before planning; empty for a dry run."""

    ran: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (target, wf) → steps
    # (target, wf) → the day its last step was settled: the workflow is finished (SPEC 4.8)
    finished: dict[tuple[str, str], date] = field(default_factory=dict)
    # (target, wf) → (the last day a step really ran, the invoices it listed) (SPEC 4.7)
    chased: dict[tuple[str, str], tuple[date, frozenset[str]]] = field(default_factory=dict)
    assignments: dict[str, Assignment] = field(default_factory=dict)   # `arflow assign`
    sequences: dict[tuple[str, str], date] = field(default_factory=dict)  # active `assigned`
    ended: dict[tuple[str, str], date] = field(default_factory=dict)   # last paid-up end
    paused_customers: set[str] = field(default_factory=set)
    paused_invoices: set[str] = field(default_factory=set)
    promises: dict[str, date] = field(default_factory=dict)            # invoice → promised date
    promised_amounts: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    holds: list[Hold] = field(default_factory=list)
    # action keys never to be attempted again (sent, unknown, done, skipped, failed for good);
    # a step in `ran` has all its keys here, a step partly done has only some
    settled: set[ActionKey] = field(default_factory=set)


def sequence_target(customer_id: str, since: date) -> str:
    """An `assigned` sequence is its own target: a customer that pays and falls behind again
    later starts a new sequence with new keys (SPEC 4.7)."""
    return f"customer:{customer_id}@{since.isoformat()}"


def customer_of(target: str) -> str | None:
    if not target.startswith("customer:"):
        return None
    return target[len("customer:"):].rsplit("@", 1)[0]


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
    assignee: str | None = None  # a task's person (their key in `people:`)

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
    # `assigned` sequences that start today, and those that end: (customer, workflow) → day
    started: dict[tuple[str, str], date] = field(default_factory=dict)
    ended: dict[tuple[str, str], str] = field(default_factory=dict)  # → why (paid)
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

    def slot(self, slot: int | str) -> tuple[str, list[Action]]:
        """(step id, actions) of a planning slot: a step index, `on_paid`, `finish`, or the
        `pause-N`/`promise-N` notice of one hold."""
        if isinstance(slot, int):
            return self.ids[slot], self.steps[slot].actions
        if slot == ON_PAID:
            return slot, self.wf.on_paid
        template = FINISH_TEMPLATE if slot == "finish" else PAUSE_TEMPLATE
        return slot, [_owner_notice(template)]

    def order(self, slot: int | str) -> int:
        if isinstance(slot, int):
            return slot
        if slot in self.ids:
            return self.ids.index(slot)
        return len(self.ids) + {"finish": 1, ON_PAID: 2}.get(slot, 0)

    def sends_on(self, as_of: date) -> bool:
        # SPEC 4.1: with business days nothing is sent on a non-business as-of date
        return self.calendar is None or self.calendar.is_business_day(as_of)


@lru_cache(maxsize=None)
def _owner_notice(template: str) -> Action:
    return Action.model_validate({"notify": {"to": ["owner"], "template": template}})


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


# --- following: which workflow each open invoice is in today (SPEC 4.5–4.8) -----------------
@dataclass(slots=True)
class FollowedInvoices:
    """One customer's open invoices in one workflow today, before pauses are applied."""

    items: list[tuple[Invoice, Decimal]] = field(default_factory=list)
    hints: list[date] = field(default_factory=list)   # days a chain or broken promise began
    source: str = ""                                  # assign | file | match | default | chain


@dataclass(slots=True)
class OpenInvoicesByWorkflow:
    """The ledger's open invoices sorted into the workflows they follow today, with what the
    rest of planning looks up beside them: the first half of planning, shared by `plan` and
    `positions`."""

    active: dict[str, Workflow]
    schedules: dict[str, _Schedule]
    customers: dict[str, Customer]
    following: dict[tuple[str, str], FollowedInvoices]
    open_customers: set[str]
    open_count: int
    min_balance: Decimal


def sort_into_workflows(ledger: Ledger, workflows: dict[str, Workflow], state: PastState,
                        as_of: date, default_workflow: str | None,
                        min_balance: Decimal) -> OpenInvoicesByWorkflow:
    active = {wid: wf for wid, wf in workflows.items() if wf.enabled and not wf.is_campaign}
    schedules = {wid: _Schedule(wid, wf) for wid, wf in active.items()}
    matchers = [_Matcher(wid, active[wid].match) for wid in
                sorted((w for w in active if active[w].match is not None),
                       key=lambda w: (active[w].priority, w))]
    default = default_workflow if default_workflow in active else None
    customers = dict(ledger.customers)
    # workflows an invoice can leave today: `then:` after the last step, `on_broken_promise:`
    movable = {wid for wid, wf in active.items() if wf.then or wf.on_broken_promise}
    following: dict[tuple[str, str], FollowedInvoices] = {}
    open_customers: set[str] = set()
    open_count = 0
    # Invoice.is_open, inlined: these two passes touch every invoice of the ledger
    current = [inv for inv in ledger.invoices
               if (inv.paid_date is None or inv.paid_date > as_of) and inv.issue_date <= as_of]
    for inv in current:
        if inv.status in NOT_CHASED:
            continue
        balance = inv.amount if inv.balance is None else inv.balance
        if balance <= min_balance:
            continue
        open_count += 1
        cid = inv.customer_id
        open_customers.add(cid)
        customer = customers.get(cid)
        if customer is None:
            customer = customers[cid] = Customer(cid)
        wid, source = _workflow_for(inv, balance, customer, state, matchers, default)
        if wid is None or wid not in active:
            continue
        hint = None
        if wid in movable:
            wid, hint = _moved(inv, balance, wid, state, active, as_of)
            if wid is None:
                continue
            if hint is not None:
                source = "chain"
        entry = following.get((cid, wid))
        if entry is None:
            entry = following[(cid, wid)] = FollowedInvoices(source=source)
        entry.items.append((inv, balance))
        if hint is not None:
            entry.hints.append(hint)
    return OpenInvoicesByWorkflow(active, schedules, customers, following, open_customers,
                                  open_count, min_balance)


def _moved(inv: Invoice, balance: Decimal, wid: str, state: PastState,
           active: dict[str, Workflow], as_of: date) -> tuple[str | None, date | None]:
    """Where an invoice is today after `then:` chains (the day after the last step, SPEC 4.8)
    and a broken promise (the day after the promised date, SPEC 4.6)."""
    broken = _broken_promise(inv, balance, state, as_of)
    hint = None
    seen = set()
    while wid not in seen:
        seen.add(wid)
        wf = active.get(wid)
        if wf is None:
            return None, None  # chained into a disabled workflow: nothing more happens
        if wf.anchor == "assigned":
            since = state.sequences.get((inv.customer_id, wid))
            target = None if since is None else sequence_target(inv.customer_id, since)
        else:
            target = invoice_target(inv.number)
        done = state.finished.get((target, wid)) if target is not None else None
        if done is not None and wf.then and done < as_of:
            wid, hint = wf.then, done + timedelta(days=1)
        elif broken is not None and wf.on_broken_promise:
            wid, hint, broken = wf.on_broken_promise, broken + timedelta(days=1), None
        else:
            return wid, hint
    return wid, hint


def _broken_promise(inv: Invoice, balance: Decimal, state: PastState, as_of: date) -> date | None:
    """The promised day, when it has passed with the invoice still open and the promised
    amount (if one was given) not paid."""
    promised = state.promises.get(inv.number)
    if promised is None or as_of <= promised:
        return None
    terms = state.promised_amounts.get(inv.number)
    if terms is not None and balance <= terms[1] - terms[0]:
        return None  # the promised part was paid: kept, the rest is chased as before
    return promised


def _workflow_for(inv: Invoice, balance: Decimal, customer: Customer, state: PastState,
                  matchers: list[_Matcher], default: str | None) -> tuple[str | None, str]:
    """SPEC 4.5: explicit assignment, else the first matching workflow, else the default."""
    explicit = state.assignments.get(inv.customer_id)
    if explicit is not None:
        return explicit.workflow, "assign"
    if customer.workflow:
        return customer.workflow, "file"
    for matcher in matchers:
        if matcher.fits(inv, balance, customer):
            return matcher.wid, "match"
    return default, "default"


def _on_hold(inv: Invoice, state: PastState, as_of: date) -> bool:
    """The invoice is paused, or under a promise-to-pay that still holds (SPEC 4.6)."""
    if inv.number in state.paused_invoices:
        return True
    promised = state.promises.get(inv.number)
    return promised is not None and as_of <= promised


def _sequence_since(cid: str, wid: str, entry: FollowedInvoices, state: PastState,
                    as_of: date) -> date:
    """The day an `assigned` sequence counts from: the stored one, else the day a chain or a
    broken promise brought the customer here, else the `arflow assign --date` day (unless a
    sequence since then has already ended), else today."""
    since = state.sequences.get((cid, wid))
    if since is not None:
        return since
    if entry.hints:
        return min(entry.hints)
    explicit = state.assignments.get(cid)
    ended = state.ended.get((cid, wid))
    if explicit is not None and explicit.workflow == wid and explicit.since is not None and (
            ended is None or explicit.since > ended):
        return explicit.since
    return as_of


def _targets(schedule: _Schedule, cid: str, wid: str, entry: FollowedInvoices, items,
             state: PastState, as_of: date):
    """(target, anchor date, earliest date, its invoices) for what follows a workflow: one
    sequence for the customer (`assigned`, SPEC 4.1), else one per invoice."""
    if schedule.wf.anchor == "assigned":
        since = _sequence_since(cid, wid, entry, state, as_of)
        return [(sequence_target(cid, since), since, since, items)]
    by_due = schedule.wf.anchor == "due_date"
    return [(invoice_target(inv.number), inv.due_date if by_due else inv.issue_date,
             inv.issue_date, [(inv, bal)]) for inv, bal in items]


# --- the planner ------------------------------------------------------------------------------
ON_PAID = "on_paid"
FINISH_TEMPLATE, PAUSE_TEMPLATE = "workflow-finished", "workflow-paused"


def plan(ledger: Ledger, workflows: dict[str, Workflow], state: PastState, as_of: date, *,
         default_workflow: str | None = None, min_balance: Decimal = Decimal("0.01"),
         people: dict[str, Person] | None = None) -> Plan:
    """Everything that is due on `as_of`, grouped per customer, workflow and step (SPEC 4)."""
    people = people or {}
    result = Plan(as_of=as_of, invoices=len(ledger.invoices))
    by_workflow = sort_into_workflows(ledger, workflows, state, as_of, default_workflow,
                                      min_balance)
    schedules, customers = by_workflow.schedules, by_workflow.customers
    result.open = by_workflow.open_count

    # (customer, workflow, slot) → [(invoice, balance, target)]; a slot is a step index, or
    # one past the steps for on_paid, finish and pause notices (see _Schedule.slot)
    groups: dict[tuple[str, str, int | str], list[tuple[Invoice, Decimal, str]]] = \
        defaultdict(list)
    skips: dict[tuple[str, str, int, str], list[tuple[Invoice, str]]] = defaultdict(list)
    _pause_notices(by_workflow, state, groups)
    for (cid, wid), entry in by_workflow.following.items():
        schedule = schedules[wid]
        if not schedule.sends_on(as_of):
            continue
        customer = customers[cid]
        if customer.paused or cid in state.paused_customers:
            continue  # SPEC 4.6: a paused customer gets no messages
        items = [(inv, bal) for inv, bal in entry.items if not _on_hold(inv, state, as_of)]
        if not items:
            continue
        last = len(schedule.steps) - 1
        if schedule.wf.anchor == "assigned" and (cid, wid) not in state.sequences:
            result.started[(cid, wid)] = _sequence_since(cid, wid, entry, state, as_of)
        for target, anchor, earliest, members in _targets(schedule, cid, wid, entry, items,
                                                          state, as_of):
            decision = decide_steps(schedule, schedule.dates(anchor), earliest, as_of,
                                    state.ran.get((target, wid), NOTHING_RAN))
            for i in decision.run:
                groups[(cid, wid, i)].extend((inv, bal, target) for inv, bal in members)
                if i == last and "finish" in schedule.wf.notify_on:
                    groups[(cid, wid, "finish")].extend(
                        (inv, bal, target) for inv, bal in members)
            for i, reason in decision.skipped:
                skips[(cid, wid, i, reason)].extend((inv, target) for inv, _ in members)
    if state.chased or state.sequences:
        _paid(ledger, by_workflow, state, as_of, result, groups)

    for cid, wid, slot in sorted(groups, key=lambda g: (g[0], g[1], schedules[g[1]].order(g[2]))):
        step_id, actions = schedules[wid].slot(slot)
        customers[cid] = _add_actions(result, customers[cid], wid, schedules[wid].wf, step_id,
                                      actions, groups[(cid, wid, slot)], people, as_of,
                                      state.settled)
    for cid, wid, i, reason in sorted(skips):
        entries = skips[(cid, wid, i, reason)]
        sid = schedules[wid].ids[i]
        keys = [ActionKey(t, wid, sid, n) for _, t in entries
                for n in range(len(schedules[wid].steps[i].actions))]
        result.skipped.append(Skip(wid, sid, cid, _numbers(inv for inv, _ in entries), reason,
                                   keys))
    result.skipped.sort(key=lambda s: (s.customer_id, s.workflow,
                                       schedules[s.workflow].order(s.step), s.reason))
    return result


def _pause_notices(by_workflow: OpenInvoicesByWorkflow, state: PastState, groups) -> None:
    """`notify_on: [pause]`: the owner hears once of each pause or promise that holds one of
    the workflow's customers or invoices (SPEC 3; seeds' "alerts once paused")."""
    if not state.holds:
        return
    by_customer: dict[str, list[Hold]] = defaultdict(list)
    by_invoice: dict[str, list[Hold]] = defaultdict(list)
    for hold in state.holds:
        (by_customer if hold.kind == "customer" else by_invoice)[hold.target_id].append(hold)
    for (cid, wid), entry in by_workflow.following.items():
        if "pause" not in by_workflow.active[wid].notify_on:
            continue
        for hold in by_customer.get(cid, ()):
            groups[(cid, wid, hold.step)].extend(
                (inv, bal, customer_target(cid)) for inv, bal in entry.items)
        for inv, bal in entry.items:
            for hold in by_invoice.get(inv.number, ()):
                groups[(cid, wid, hold.step)].append((inv, bal, invoice_target(inv.number)))


def _paid(ledger: Ledger, by_workflow: OpenInvoicesByWorkflow, state: PastState, as_of: date,
          result: Plan, groups) -> None:
    """SPEC 4.7: a target that had a step run and is now fully paid gets its workflow's
    `on_paid` actions once, and its sequence ends."""
    # per invoice, and per customer for `assigned` sequences: the workflow that chased it last
    # (a chain's earlier workflows stay quiet: one thank-you, not one per workflow)
    last_of: dict[str, tuple[date, str, str]] = {}
    for (target, wid), (day, _) in state.chased.items():
        cid = customer_of(target)
        who = target if cid is None else "customer:" + cid
        if who not in last_of or (day, wid) > last_of[who][:2]:
            last_of[who] = (day, wid, target)
    latest = {target: (day, wid, state.chased[(target, wid)][1])
              for day, wid, target in last_of.values()}
    # only targets whose workflow has an on_paid still to do (most were thanked long ago)
    latest = {target: (day, wid, numbers) for target, (day, wid, numbers) in latest.items()
              if wid in by_workflow.active and not all(
                  ActionKey(target, wid, ON_PAID, n) in state.settled
                  for n in range(len(by_workflow.active[wid].on_paid)))}
    with_invoices = {inv.customer_id for inv in ledger.invoices} \
        if state.sequences or any(t.startswith("customer:") for t in latest) else set()
    paid_targets: dict[str, tuple[str, str, frozenset[str]]] = {}  # target → (cid, wid, numbers)
    for target, (_, wid, numbers) in latest.items():
        cid = customer_of(target)
        if cid is not None:  # an `assigned` sequence: paid when none of the invoices is open
            if cid in with_invoices and cid not in by_workflow.open_customers:
                paid_targets[target] = (cid, wid, numbers)
        else:
            paid_targets[target] = ("", wid, numbers)
    wanted = {target[len("invoice:"):] for target, (cid, _, _) in paid_targets.items() if not cid}
    wanted.update(n for cid, _, numbers in paid_targets.values() if cid for n in numbers)
    found = {inv.number: inv for inv in ledger.invoices if inv.number in wanted} if wanted else {}
    for cid, wid in state.sequences:
        if cid in with_invoices and cid not in by_workflow.open_customers and not (
                cid in state.paused_customers or cid not in by_workflow.customers
                or by_workflow.customers[cid].paused):
            result.ended[(cid, wid)] = "paid"
    for target, (cid, wid, numbers) in sorted(paid_targets.items()):
        if cid:
            invoices = [found[n] for n in sorted(numbers) if n in found]
        else:
            inv = found.get(target[len("invoice:"):])
            if inv is None or not _settled_by_payment(inv, as_of, by_workflow.min_balance):
                continue  # gone from the source, voided or still open: not a payment
            invoices, cid = [inv], inv.customer_id
        customer = by_workflow.customers.get(cid)
        if customer is None or customer.paused or cid in state.paused_customers:
            continue
        groups[(cid, wid, ON_PAID)].extend((inv, inv.amount, target) for inv in invoices)


def _settled_by_payment(inv: Invoice, as_of: date, min_balance: Decimal) -> bool:
    """Closed by payment: not open any more, and not voided or turned back into a draft."""
    return inv.status not in ("draft", "void") and not inv.is_open(as_of, min_balance)


def _by_due(inv: Invoice) -> tuple:
    return inv.due_date, inv.number


def _numbers(invoices) -> list[str]:
    return sorted({inv.number for inv in invoices})


def _add_actions(result: Plan, customer: Customer, wid: str, wf: Workflow, sid: str,
                 actions: list[Action], entries: list[tuple[Invoice, Decimal, str]],
                 people: dict[str, Person], as_of: date, settled: set[ActionKey]) -> Customer:
    """SPEC 4.4: each action of the step happens once for the customer, listing the invoices.
    An `assign` action takes effect for the actions after it: the customer is returned with
    its new specialist."""
    for n, action in enumerate(actions):
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
        to, cc, bcc = recipients(action, customer, wf, people)
        if action.kind in MESSAGE_ACTIONS and not to:
            reason = {"email": "no-email", "sms": "no-phone"}.get(action.kind, "no-recipient")
            result.skipped.append(Skip(wid, sid, customer.customer_id, invoices, reason, keys))
            continue
        planned = PlannedAction(
            date=as_of, workflow=wid, step=sid, action_index=n, action=action,
            customer_id=customer.customer_id, invoices=invoices, keys=keys, to=to, cc=cc,
            bcc=bcc, amounts=dict(amounts), items=items)
        if action.kind == "task":
            planned.assignee = {"specialist": customer.specialist, "owner": wf.owner}.get(
                action.spec.assignee, action.spec.assignee)
        elif action.kind == "assign":
            customer = replace(customer, specialist=action.spec.specialist)
        result.actions.append(planned)
    return customer


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


# --- position (SPEC 4.5) ----------------------------------------------------------------------
@dataclass(slots=True)
class Position:
    """Where one customer stands in one workflow: the last step that ran, the next one."""

    customer_id: str
    workflow: str
    source: str                       # assign | file | match | default | chain
    invoices: list[str]
    since: date | None = None         # an `assigned` sequence's first day
    last_step: str | None = None
    last_date: date | None = None
    next_step: str | None = None
    next_date: date | None = None

    @property
    def finished(self) -> bool:
        return self.last_step is not None and self.next_step is None


def positions(ledger: Ledger, workflows: dict[str, Workflow], state: PastState, as_of: date,
              step_dates: dict[tuple[str, str, str], date], *,
              default_workflow: str | None = None,
              min_balance: Decimal = Decimal("0.01")) -> list[Position]:
    """Every customer's position in each workflow it follows today (for `arflow status`).
    `step_dates` maps (target, workflow, step) to the day the step ran."""
    by_workflow = sort_into_workflows(ledger, workflows, state, as_of, default_workflow,
                                      min_balance)
    found = []
    for (cid, wid), entry in sorted(by_workflow.following.items()):
        schedule = by_workflow.schedules[wid]
        pos = Position(cid, wid, entry.source, _numbers(inv for inv, _ in entry.items))
        if schedule.wf.anchor == "assigned":
            pos.since = _sequence_since(cid, wid, entry, state, as_of)
        for target, anchor, earliest, _ in _targets(schedule, cid, wid, entry, entry.items,
                                                    state, as_of):
            ran = state.ran.get((target, wid), NOTHING_RAN)
            for sid in ran:
                day = step_dates.get((target, wid, sid))
                if day is not None and (pos.last_date is None or (day, schedule.ids.index(sid))
                                        > (pos.last_date, schedule.ids.index(pos.last_step))):
                    pos.last_step, pos.last_date = sid, day
            step, day = _next_step(schedule, schedule.dates(anchor), earliest, as_of, ran)
            if step is not None and (pos.next_date is None or day < pos.next_date):
                pos.next_step, pos.next_date = step, day
        found.append(pos)
    return found


def _next_step(schedule: _Schedule, dates: list[date], earliest: date, as_of: date,
               ran) -> tuple[str | None, date | None]:
    decision = decide_steps(schedule, dates, earliest, as_of, ran)
    if decision.run:  # due now: it goes out with the next run
        return schedule.ids[decision.run[0]], max(dates[decision.run[0]], as_of)
    last_ran = max((i for i, sid in enumerate(schedule.ids) if sid in ran), default=-1)
    for i in range(last_ran + 1, len(schedule.ids)):
        if dates[i] > as_of and dates[i] >= earliest:
            return schedule.ids[i], dates[i]
    return None, None
