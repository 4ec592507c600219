"""The planner's data (SPEC 4, 6): what it knows of the past (PastState), what it returns (Plan),
and the targets and idempotency keys both speak of. The words are explained in engine.py."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from arflow.fees.accrual import FeeCharge
from arflow.ledger import Contact, Invoice
from arflow.rules import Totals
from arflow.state.holds import HoldEvent
from arflow.workflow import Action


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


def notice_key(row: dict) -> ActionKey:
    """The idempotency key of the notice about an incoming message (SPEC 6.1): `row` is the
    inbox's record of it (its customer_id, kind and id)."""
    return ActionKey(customer_target(row["customer_id"]), "inbox", f"{row['kind']}-{row['id']}", 0)


@dataclass(frozen=True, slots=True)
class Assignment:
    workflow: str
    since: date | None  # None: an `assigned` sequence starts with the next run


@dataclass(frozen=True, slots=True)
class Hold:
    """An active pause or promise, for `notify_on: [pause]` (SPEC 4.6)."""

    kind: str  # customer | invoice | promise
    id: int
    target_id: str  # the customer id, or the invoice number
    reason: str | None = None
    until: date | None = None
    since: date | None = None

    @property
    def step(self) -> str:
        return f"{'promise' if self.kind == 'promise' else 'pause'}-{self.id}"


class Chase(NamedTuple):
    """When a target was last chased in a workflow (SPEC 4.7)."""

    day: date  # the last day a step of it really ran
    invoices: frozenset[str]  # the invoices a sequence's steps listed; empty for an invoice


class PromisedAmount(NamedTuple):
    """A promise-to-pay's amount, and the invoice's balance when the promise was made."""

    amount: Decimal
    balance: Decimal


class Route(NamedTuple):
    """Where a payment plan sends an item (issue 32), and the day it began there (None: its
    own dates count)."""

    workflow: str
    began: date | None = None


@dataclass(slots=True)
class PastState:
    """What the state database knows, read in bulk before planning (`arflow.planner.past_state`).
    A dry run reads the database as it is; it is empty where there is no state database yet."""

    ran: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (target, wf) → steps
    # (target, wf) → the day its last step was settled: the workflow is finished (SPEC 4.8)
    finished: dict[tuple[str, str], date] = field(default_factory=dict)
    chased: dict[tuple[str, str], Chase] = field(default_factory=dict)  # (target, wf) → Chase
    assignments: dict[str, Assignment] = field(default_factory=dict)  # `arflow assign`
    sequences: dict[tuple[str, str], date] = field(default_factory=dict)  # active `assigned`
    ended: dict[tuple[str, str], date] = field(default_factory=dict)  # last paid-up end
    paused_customers: set[str] = field(default_factory=set)
    paused_invoices: set[str] = field(default_factory=set)
    promises: dict[str, date] = field(default_factory=dict)  # invoice → promised date
    promised_amounts: dict[str, PromisedAmount] = field(default_factory=dict)  # by invoice
    holds: list[Hold] = field(default_factory=list)
    # action keys never to be attempted again (sent, unknown, done, skipped, failed for good);
    # a step in `ran` has all its keys here, a step partly done has only some
    settled: set[ActionKey] = field(default_factory=set)
    # issue 32, payment plans (`arflow.plans.night`): the invoices a plan on track holds, and
    # number → where an item follows instead of its own workflow (an instalment: the plan's
    # workflow; a broken plan's invoice: `on_broken_plan:`, from the day it resumed)
    on_plan: set[str] = field(default_factory=set)
    routed: dict[str, Route] = field(default_factory=dict)
    # issue 33 (`arflow.disputes.night`): the invoices a dispute holds (whole, or a credit
    # covering them until the ledger shows it): never chased, still counted
    disputed: set[str] = field(default_factory=set)


def sequence_target(customer_id: str, since: date) -> str:
    """An `assigned` sequence is its own target: a customer that pays and falls behind again
    later starts a new sequence with new keys (SPEC 4.7)."""
    return f"customer:{customer_id}@{since.isoformat()}"


def customer_of(target: str) -> str | None:
    if not target.startswith("customer:"):
        return None
    return target[len("customer:") :].rsplit("@", 1)[0]


# --- a campaign's statement (SPEC 4.10) ------------------------------------------------------
class Met(NamedTuple):
    """A condition that held, with the value it held with, for one currency group."""

    metric: str
    op: str
    value: Decimal
    actual: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value} ({self.currency} {self.actual:.2f})"


# the most invoice lines, or accounts, a statement's message lists: past it the message shows
# the totals only (`Statement.totals_only`), and its CSV attachment still has every line; a
# statement in full stays far below the 1 MB a render may make (sandbox.MAX_OUTPUT)
STATEMENT_LINES = 2_000


@dataclass(slots=True)
class Statement:
    """One customer's statement for one occurrence."""

    customer_id: str
    occurrence: date
    groups: list[str]  # the currency groups whose conditions all held
    listed: list[Invoice]  # open, not paused, in those groups; by due date, number
    own: dict[str, Totals]
    consolidated: dict[str, Totals]
    consolidate: bool = False  # the campaign consolidates: its totals are `consolidated`
    # currency → aging bucket → open balance, over every invoice the statement covers
    aging: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    # consolidating: currency → [(customer id, its own Totals)], the customer first
    accounts: dict[str, list[tuple[str, Totals]]] = field(default_factory=dict)
    met: list[Met] = field(default_factory=list)  # the conditions, for each listed group

    @property
    def shown(self) -> dict[str, Totals]:
        """The totals the statement shows: the family's when the campaign consolidates."""
        return self.consolidated if self.consolidate else self.own

    @property
    def totals_only(self) -> bool:
        """Too long to list in a message (`STATEMENT_LINES`): its totals are shown instead."""
        accounts = max((len(a) for a in self.accounts.values()), default=0)
        return max(len(self.listed), accounts) > STATEMENT_LINES

    def description(self) -> str:
        """What `history` says of it (seed 004: the conditions met; totals only)."""
        text = f"statement of {self.occurrence.isoformat()}"
        if self.totals_only:
            text += f", totals only ({len(self.listed)} invoices)"
        return f"{text}; conditions met: {'; '.join(map(str, self.met))}" if self.met else text


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
    text: str | None = None  # a status's value, a task's title, a note, as rendered
    status: str = "planned"
    items: list[Invoice] = field(default_factory=list)  # the invoices, by due date then number
    assignee: str | None = None  # a task's person (their key in `people:`)
    statement: Statement | None = None  # a campaign's: what it lists, totals, conditions met
    incoming: dict | None = None  # an inbox notice's: the reply or bounce it tells of
    # a campaign's notice: the keys of its statement's customer-facing messages that go in
    # this run; it goes only once they all went (`campaigns.notices_wait`)
    waits_for: Sequence[ActionKey] = ()  # (a shared empty tuple: most actions wait for none)
    fees: list[FeeCharge] | None = None  # a charge_fees action's charges, once worked out
    # issue 33: the customer's contact it speaks to (greeting, language), and the role it fell
    # back to when the step's role had nobody
    contact: Contact | None = None
    fallback: str | None = None
    plan: dict | None = None  # a payment plan's (issue 32): `plan` in its templates
    hold: dict | None = None  # a credit hold's event (issue 33): `hold` in its templates
    # issue 34: the weekly digest's message, made when planned (`subject`, `html`, `text`):
    # an email to people through the email channel, no template rendered
    digest: dict | None = None

    @property
    def kind(self) -> str:
        return self.action.kind

    @property
    def template(self) -> str | None:
        return getattr(self.action.spec, "template", None)

    @property
    def task_due(self) -> datetime.date:
        """A task's due day: `due_in` days after the action's."""
        return self.date + timedelta(days=self.action.spec.due_in)


@dataclass(slots=True)
class Skip:
    workflow: str
    step: str
    customer_id: str
    invoices: list[str]
    reason: str
    keys: list[ActionKey] = field(default_factory=list)
    until: date | None = None  # contact-gap: the first day it may go

    @property
    def why(self) -> str:
        """The reason as a person reads it: `contact-gap (may go 2026-03-19)`."""
        return f"{self.reason} (may go {self.until})" if self.until else self.reason


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
    # issue 33: the customers who enter credit hold tonight and those who leave it
    holds: list[HoldEvent] = field(default_factory=list)


def invoice_numbers(invoices: Iterable[Invoice]) -> list[str]:
    """The distinct numbers of `invoices`, sorted: how a plan lists an action's invoices."""
    return sorted({inv.number for inv in invoices})
