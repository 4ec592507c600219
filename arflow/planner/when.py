"""When a step really goes (SPEC 4.1, 4.2, 4.6, 6.1).

The planner decides on each night which steps of a target run (`schedule.decide_steps`),
given what may go that night: nothing on a day the workflow does not send on (business days,
its holidays), nothing to a paused customer, and nothing about an invoice on hold (paused, or
under a promise-to-pay). `Holds` and `free_items` say what may go on a day; the planner asks
them each night, and `runs_ahead` asks the same of the days after a date, one after the other,
for `arflow status` and `arflow preview`: the first day it yields is the day the planner would
really run the next step. The contact gap (`contacts.contact_waits`) is asked the same way.
`next_statement_day` does the same for a campaign's statement (SPEC 4.10).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from arflow.actions import CUSTOMER_FACING
from arflow.contacts import contact_waits
from arflow.ledger import Customer
from arflow.planner.campaigns import calendar_of, occurrence_due
from arflow.planner.matching import OpenInvoice, TargetDates
from arflow.planner.occurrences import next_occurrence
from arflow.planner.plan_types import PastState
from arflow.planner.schedule import StepSchedule, decide_steps
from arflow.rules import customer_paused, pause_holds, promise_holds
from arflow.workflow import Action, Workflow

FOREVER = date.max  # the last day of a pause without one: it holds until `arflow resume`
_DAY = timedelta(days=1)


@dataclass(slots=True)
class Holds:
    """What holds a customer or an invoice back from messages on a day (SPEC 4.6), from the
    past state: a pause up to its last day (`rules.pause_holds`), a promise up to its date
    (`rules.promise_holds`), a customer paused in the source for good."""

    state: PastState
    _ends: dict[tuple[str, str], date] = field(default_factory=dict)  # (kind, id) → last day

    def __post_init__(self) -> None:
        for hold in self.state.holds:
            if hold.kind != "promise":
                key = (hold.kind, hold.target_id)
                self._ends[key] = max(self._ends.get(key, date.min), hold.until or FOREVER)

    def _pause_end(self, kind: str, target_id: str) -> date | None:
        """The last day the pauses of a customer or invoice hold (None: until resumed)."""
        end = self._ends.get((kind, target_id), FOREVER)
        return None if end == FOREVER else end

    def customer_held(self, customer: Customer, day: date) -> bool:
        """Paused on `day`: it gets no messages (SPEC 4.6)."""
        if not customer_paused(customer, self.state.paused_customers):
            return False
        return customer.paused or pause_holds(
            self._pause_end("customer", customer.customer_id), day
        )

    def invoice_held(self, number: str, day: date) -> bool:
        """On hold on `day`: left out of messages, still counted (SPEC 4.6)."""
        paused = number in self.state.paused_invoices and pause_holds(
            self._pause_end("invoice", number), day
        )
        return (
            paused
            or promise_holds(self.state.promises.get(number), day)
            or number in self.state.on_plan  # issue 32: a payment plan on track
            or number in self.state.disputed  # issue 33: a dispute
        )

    def customer_free_after(self, customer: Customer, day: date) -> date | None:
        """The first day after `day` the customer's pauses may have ended (None: never before
        `arflow resume`)."""
        if customer.paused:
            return None
        return _after(self._ends.get(("customer", customer.customer_id), FOREVER), day)

    def invoice_free_after(self, number: str, day: date) -> date | None:
        """The first day after `day` the invoice's pause and promise may have ended."""
        if number in self.state.on_plan or number in self.state.disputed:
            return None  # while the plan is on track, the dispute open
        last = self.state.promises.get(number) or date.min
        if number in self.state.paused_invoices:
            last = max(last, self._ends.get(("invoice", number), FOREVER))
        return _after(last, day)


def _after(last: date, day: date) -> date | None:
    return None if last == FOREVER else max(last, day) + _DAY


def free_items(
    schedule: StepSchedule,
    holds: Holds,
    customer: Customer,
    items: Sequence[OpenInvoice],
    day: date,
) -> list[OpenInvoice]:
    """What of one customer's invoices in a workflow its steps may speak of on `day`: nothing
    on a day the workflow does not send on (SPEC 4.1) or while the customer is paused, else
    the invoices not on hold (SPEC 4.6)."""
    if not schedule.sends_on(day) or holds.customer_held(customer, day):
        return []
    return [item for item in items if not holds.invoice_held(item.invoice.number, day)]


def free_after(
    schedule: StepSchedule,
    holds: Holds,
    customer: Customer,
    items: Sequence[OpenInvoice],
    day: date,
) -> date | None:
    """On a day nothing of the target may go: the first later day that may be free (None:
    not before a pause is resumed)."""
    if not schedule.sends_on(day):
        assert schedule.calendar is not None  # only a business calendar has days off
        return schedule.calendar.roll_forward(day)
    if holds.customer_held(customer, day):
        return holds.customer_free_after(customer, day)
    frees = [holds.invoice_free_after(item.invoice.number, day) for item in items]
    return min((free for free in frees if free is not None), default=None)


def faces_customer(actions: Sequence[Action]) -> bool:
    """Whether some of these actions reach the customer: they keep the contact gap."""
    return any(action.kind in CUSTOMER_FACING for action in actions)


class Contact(NamedTuple):
    """A customer's last contact (None: none yet) and the `contact_gap:` (None: no gap)."""

    last: date | None = None
    gap: int | None = None


NO_GAP = Contact()


class Run(NamedTuple):
    """A day the planner runs steps of a target, and those steps (indexes); `day` None: the
    target is held until a pause is resumed, and `steps` holds the step that would be next."""

    day: date | None
    steps: list[int]


def runs_ahead(
    schedule: StepSchedule,
    holds: Holds,
    customer: Customer,
    target: TargetDates,
    ran: Collection[str],
    since: date,
    contact: Contact = NO_GAP,
) -> Iterator[Run]:
    """The days from `since` on which the planner would run steps of one target, each with
    the steps it runs, as if each went as planned: each day asks what the night asks
    (`free_items`, `decide_steps`, the contact gap)."""
    dates = schedule.dates(target.anchor)
    done = set(ran)
    last = contact.last
    day: date | None = since
    while day is not None:
        if not free_items(schedule, holds, customer, target.items, day):
            later = free_after(schedule, holds, customer, target.items, day)
            if later is None:
                yield Run(None, _pending(schedule, dates, target.earliest, done))
            day = later
            continue
        decision = decide_steps(schedule, dates, target.earliest, day, done)
        went, waits = [], []
        for i in decision.run:
            wait = (
                contact_waits(last, contact.gap, day)
                if faces_customer(schedule.steps[i].actions)
                else None
            )
            if wait is not None:
                waits.append(wait)  # SPEC 6.1: it stays due and waits for the gap to end
                continue
            if faces_customer(schedule.steps[i].actions):
                last = day
            went.append(i)
        if went:
            done.update(schedule.ids[i] for i in went)
            yield Run(day, went)
        later_steps = [
            dates[i]
            for i in range(len(schedule.ids))
            if schedule.ids[i] not in done and dates[i] > day and dates[i] >= target.earliest
        ]
        day = min([*waits, *later_steps], default=None)


def _pending(
    schedule: StepSchedule, dates: list[date], earliest: date, done: Collection[str]
) -> list[int]:
    """The step a held target would take up next: the first after the last that ran."""
    last_ran = max((i for i, sid in enumerate(schedule.ids) if sid in done), default=-1)
    return [i for i in range(last_ran + 1, len(schedule.ids)) if dates[i] >= earliest][:1]


class Occurrence(NamedTuple):
    """A campaign's occurrence and the day its statement really goes (None: not before a
    pause is resumed)."""

    occurrence: date
    day: date | None


def next_statement_day(
    wf: Workflow,
    holds: Holds,
    customer: Customer,
    since: date,
    sent: Collection[str],
    contact: Contact = NO_GAP,
) -> Occurrence | None:
    """The next statement a campaign sends the customer from `since` on: the occurrence due
    on a day (`campaigns.occurrence_due`, on a day the campaign sends on) that it has not
    been sent, to a customer not paused, once the contact gap is over (SPEC 4.10, 6.1)."""
    assert wf.schedule is not None  # a campaign
    calendar = calendar_of(wf)
    latest_sent = max(sent, default="")  # an occurrence counts once a later one went out
    day = since
    while True:
        occurrence = occurrence_due(wf, day)
        if calendar is not None and not calendar.is_business_day(day):
            day = calendar.roll_forward(day)
        elif holds.customer_held(customer, day):
            free = holds.customer_free_after(customer, day)
            if free is None:
                upcoming = occurrence or next_occurrence(wf.schedule, day, calendar)
                return None if upcoming is None else Occurrence(upcoming, None)
            day = free
        elif occurrence is not None and occurrence.isoformat() > latest_sent:
            wait = contact_waits(contact.last, contact.gap, day)
            if wait is None or not faces_customer(wf.actions):
                return Occurrence(occurrence, day)
            day = wait
        else:
            following = next_occurrence(wf.schedule, day, calendar)
            if following is None:
                return None
            day = following
