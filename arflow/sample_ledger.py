"""The sample ledger of `arflow run --dry-run --sample` (issue 29): made-up customers and
invoices in place of the sources, so CI can plan and render every workflow without customer
data. For each enabled workflow and each of its steps there is one customer due for exactly
that step on the day (in each language the templates speak), one customer whose invoices
were chased and are now paid (for `on_paid`), and for a campaign one customer its `match:`
and `conditions:` reach. Nothing is read: the ledger is made like a source makes one, and
`SampleHistory` says what the sample's past must hold (the steps before that step already
run, an `assigned` sequence's day, the chase before a payment) for the state it plans
against, which the run writes into a state in memory (`arflow.sample_night`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from arflow.calendar import BusinessCalendar
from arflow.ledger import Customer, Invoice, Ledger
from arflow.workflow import Match, Workflow

TERMS = 30  # days from an invoice's issue to its due date
AMOUNT = Decimal("1250.00")
DOMAIN = "sample.example"  # a made-up customer's address is at a reserved domain


@dataclass(frozen=True)
class SampleHistory:
    """What the sample's past holds for one target: an invoice (`invoice`) or a customer's
    `assigned` sequence (`since`, the day it counts from)."""

    customer_id: str
    workflow: str
    invoice: str | None = None
    since: date | None = None
    ran: tuple[str, ...] = ()  # step ids that ran before today (recorded as superseded)
    chased: str | None = None  # a step whose first action went out before: the target was chased
    about: str | None = None  # the invoice a sequence's chase was about


@dataclass
class SampleLedger:
    ledger: Ledger
    history: list[SampleHistory] = field(default_factory=list)
    # (workflow, step) the sample holds a customer for (on_paid and campaigns' `statement`)
    covers: list[tuple[str, str]] = field(default_factory=list)
    not_due: list[str] = field(default_factory=list)  # steps no customer can be due for today


class _Maker:
    """The sample's customers and invoices as they are made, numbered in order."""

    def __init__(self, as_of: date, currency: str, default: str | None, specialist: str | None):
        self.as_of = as_of
        self.currency = currency
        self.default = default
        self.specialist = specialist
        self.sample = SampleLedger(Ledger())
        self.invoices: list[Invoice] = []
        self.customers: dict[str, Customer] = {}

    def customer(self, label: str, language: str | None, wf: Workflow | None) -> Customer:
        n = len(self.customers) + 1
        cid = f"S{n:03d}"
        match = wf.match if wf is not None else None
        segment = match.segment[0] if match is not None and match.segment else None
        customer = Customer(
            cid,
            name=f"Sample {n} ({label}{', ' + language if language else ''})",
            email=(f"ap-{cid.lower()}@{DOMAIN}",),
            given_phone=f"+1202555{100 + n % 100:04d}",  # 555-0100 to 0199: fictional
            specialist=self.specialist,
            language=language,
            segment=segment,
            line=n + 1,
        )
        self.customers[cid] = customer
        return customer

    def invoice(
        self,
        customer: Customer,
        issued: date,
        due: date,
        match: Match | None,
        *,
        amount: Decimal = AMOUNT,
        paid: date | None = None,
    ) -> Invoice:
        n = len(self.invoices) + 1
        if match is not None and match.min_balance is not None:
            amount = max(amount, match.min_balance + 100)

        def first(values: list[str] | None) -> str | None:
            return values[0] if values else None

        invoice = Invoice(
            number=f"SAMPLE-{n:04d}",
            customer_id=customer.customer_id,
            issue_date=issued,
            due_date=due,
            amount=amount,
            balance=Decimal(0) if paid else None,
            paid_date=paid,
            currency=(first(match.currency) if match else None) or self.currency,
            status="paid" if paid else "open",
            line=n + 1,
            customer_name=customer.name,
            email=customer.email,
            phone=customer.phone,
            terms=f"Net {TERMS}",
            product=first(match.product) if match else None,
            location=first(match.location) if match else None,
            department=first(match.department) if match else None,
            tags=tuple(match.tags[:1]) if match and match.tags else (),
        )
        self.invoices.append(invoice)
        return invoice


def sample_ledger(
    workflows: dict[str, Workflow],
    as_of: date,
    *,
    currency: str,
    default_workflow: str | None = None,
    languages: list[str] | None = None,
    specialist: str | None = None,
    only: Collection[str] | None = None,
) -> SampleLedger:
    """The sample for these workflows on `as_of`: in the company's language, then in each of
    `languages` (the templates' other languages); every customer's specialist is
    `specialist` (a person of arflow.yaml). `only`: customers for these workflows alone
    (the others still say where a campaign customer's own invoice stands)."""
    maker = _Maker(as_of, currency, default_workflow, specialist)
    if default_workflow in workflows and workflows[default_workflow].anchor == "assigned":
        maker.default = None  # its steps count from an assignment, not from an invoice
    for language in [None, *(languages or [])]:
        for wid in sorted(workflows):
            wf = workflows[wid]
            if not wf.enabled or (only is not None and wid not in only):
                continue
            if wf.is_campaign:
                _campaign_customer(maker, wid, wf, language)
                continue
            for index in range(len(wf.steps)):
                _step_customer(maker, wid, wf, index, language)
            if wf.on_paid:
                _paid_customer(maker, wid, wf, language)
    sample = maker.sample
    sample.ledger = Ledger(maker.invoices, maker.customers)
    sample.covers = sorted(set(sample.covers))
    sample.not_due = sorted(set(sample.not_due))
    return sample


def anchor_for(wf: Workflow, day: int, as_of: date) -> date | None:
    """The anchor date whose step `day` falls on `as_of` (None: none does, as when the
    workflow counts business days and `as_of` is not one)."""
    if not wf.business_days:
        return as_of - timedelta(days=day)
    calendar = BusinessCalendar(wf.holidays)
    if not calendar.is_business_day(as_of):
        return None
    reach = 2 * abs(day) + 10
    found = [
        anchor
        for k in range(-reach, reach + 1)
        if calendar.offset(anchor := as_of - timedelta(days=day + k), day) == as_of
    ]
    return max(found) if found else None


def _explicit(maker: _Maker, wid: str, wf: Workflow) -> str | None:
    """The customers file's workflow for a customer of `wid`: none when the default or the
    workflow's own `match:` brings its invoices there (the match is what is exercised)."""
    if wid == maker.default or (wf.match is not None and wf.match.customer is None):
        return None
    return wid


def _step_customer(maker: _Maker, wid: str, wf: Workflow, index: int, language: str | None) -> None:
    """A customer due for the step at `index` of `wf` (in its order) on the day."""
    steps = wf.ordered_steps()
    step = steps[index]
    as_of = maker.as_of
    anchor = anchor_for(wf, step.day, as_of)
    if anchor is None or (wf.anchor != "due_date" and anchor > as_of):
        why = "not a business day" if anchor is None else "its day comes before the anchor"
        maker.sample.not_due.append(f"{wid}/{step.step_id}: {why}")
        return
    customer = maker.customer(f"{wid}/{step.step_id}", language, wf)
    ran = tuple(s.step_id for s in steps[:index])
    if wf.anchor == "assigned":
        maker.invoice(customer, as_of - timedelta(days=2 * TERMS), as_of - timedelta(TERMS), None)
        history = SampleHistory(customer.customer_id, wid, since=anchor, ran=ran)
    else:
        customer.workflow = _explicit(maker, wid, wf)
        if wf.anchor == "due_date":
            issued, due = min(anchor, as_of) - timedelta(days=TERMS), anchor
        else:
            issued, due = anchor, anchor + timedelta(days=TERMS)
        inv = maker.invoice(customer, issued, due, wf.match)
        history = SampleHistory(customer.customer_id, wid, invoice=inv.number, ran=ran)
    maker.sample.history.append(history)
    maker.sample.covers.append((wid, step.step_id))


def _paid_customer(maker: _Maker, wid: str, wf: Workflow, language: str | None) -> None:
    """A customer whose invoice the workflow chased and which was paid yesterday: `on_paid`."""
    as_of = maker.as_of
    customer = maker.customer(f"{wid}/on_paid", language, wf)
    issued, due = as_of - timedelta(days=TERMS + 10), as_of - timedelta(days=10)
    first = wf.ordered_steps()[0].step_id
    if wf.anchor == "assigned":
        inv = maker.invoice(customer, issued, due, None, paid=as_of - timedelta(days=1))
        since = as_of - timedelta(days=10)
        history = SampleHistory(
            customer.customer_id, wid, since=since, chased=first, about=inv.number
        )
    else:
        customer.workflow = _explicit(maker, wid, wf)
        inv = maker.invoice(customer, issued, due, wf.match, paid=as_of - timedelta(days=1))
        history = SampleHistory(customer.customer_id, wid, invoice=inv.number, chased=first)
    maker.sample.history.append(history)
    maker.sample.covers.append((wid, "on_paid"))


def _campaign_customer(maker: _Maker, wid: str, wf: Workflow, language: str | None) -> None:
    """A customer the campaign reaches (its `match:`, its conditions met with an overdue
    balance), whose own invoice's steps have all run: today it gets only the statement."""
    as_of = maker.as_of
    customer = maker.customer(f"{wid}/statement", language, wf)
    wanted = [c.value for c in wf.conditions if c.op == ">=" and not c.metric.endswith("_pct")]
    amount = max([AMOUNT, *(v + 100 for v in wanted)])
    issued, due = as_of - timedelta(days=TERMS + 20), as_of - timedelta(days=20)
    inv = maker.invoice(customer, issued, due, wf.match, amount=amount)
    default = maker.default
    if default is not None:  # its invoice follows the default workflow: all of it ran before
        customer.workflow = default
        maker.sample.history.append(
            SampleHistory(customer.customer_id, default, invoice=inv.number, ran=("*",))
        )
    maker.sample.covers.append((wid, "statement"))
