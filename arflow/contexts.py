"""The contexts templates render with (SPEC 5): a message's customer, invoices, totals,
company, statement and reply, and the sample context `validate` renders every template with."""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from arflow.config import Config
from arflow.fees.book import FeeBook
from arflow.fees.contexts import FEE_KEYS, WithFees, sample_fees, with_values
from arflow.ledger import BILLING, ZERO, Contact, Customer, Invoice
from arflow.plaintext import one_line
from arflow.planner.plan_types import Met, Statement
from arflow.plans.sample import sample_plan
from arflow.rules import AGING_BUCKETS, NO_TOTALS, account_aging, account_totals

CENT = Decimal("0.01")


def invoice_context(
    inv: Invoice, as_of: date, fees: FeeBook | None = None, workflow: str | None = None
) -> dict:
    """An invoice as a template sees it; its fees from `fees` (none charged without one)."""
    values = _invoice_values(inv, as_of)
    if fees is None:
        balance = values["balance"]
        values.update(
            days_late=max(inv.days_past_due(as_of), 0),
            interest=ZERO,
            compensation=ZERO,
            fees_charged=ZERO,
            amount_due=balance,
        )
        return values
    return WithFees(values, FEE_KEYS, lambda: fees.figures(inv, workflow, as_of))


def _invoice_values(inv: Invoice, as_of: date) -> dict:
    return {
        "number": inv.number,
        "customer_id": inv.customer_id,
        "issue_date": inv.issue_date,
        "due_date": inv.due_date,
        "amount": inv.amount,
        "balance": inv.open_balance(as_of),
        "currency": inv.currency,
        "days_past_due": inv.days_past_due(as_of),
        "status": inv.status,
        "terms": inv.terms,
        "product": inv.product,
        "location": inv.location,
        "department": inv.department,
        "segment": inv.segment,
        "tags": list(inv.tags),
        "extra": dict(inv.extra or {}),
        "payment_url": None,
    }


class CustomerContext(dict[str, object]):
    """A message's `customer`: its phone number is checked (`Customer.phone`) only when the
    template reads it (`customer.phone`, or the whole mapping), so an email that never shows
    the number neither checks it nor reports it bad (issue 30)."""

    __slots__ = ("_customer",)

    def __init__(self, customer: Customer, values: dict[str, object]):
        super().__init__(values)
        self._customer = customer

    def _phone(self) -> object:
        if not dict.__contains__(self, "phone"):
            dict.__setitem__(self, "phone", self._customer.phone)
        return dict.__getitem__(self, "phone")

    def __missing__(self, key: str) -> object:
        if key == "phone":
            return self._phone()
        raise KeyError(key)

    def get(self, key: str, default: object = None) -> object:
        return self._phone() if key == "phone" else dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        return key == "phone" or dict.__contains__(self, key)

    def whole(self) -> dict[str, object]:
        """Every value, the number checked and in its place after `email`: what iterating,
        copying, printing or pickling it sees."""
        phone = self._phone()
        found: dict[str, object] = {}
        for key, value in dict.items(self):
            if key != "phone":
                found[key] = value
            if key == "email":
                found["phone"] = phone
        return found

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        return self.whole().keys()

    def items(self) -> ItemsView[str, object]:  # type: ignore[override]
        return self.whole().items()

    def values(self) -> ValuesView[object]:  # type: ignore[override]
        return self.whole().values()

    def __iter__(self) -> Iterator[str]:
        return iter(self.whole())

    def __len__(self) -> int:  # (`customer or {}` asks this: no need to check the number)
        return dict.__len__(self) + (not dict.__contains__(self, "phone"))

    def copy(self) -> dict[str, object]:
        return self.whole()

    def __repr__(self) -> str:  # `{{ customer }}`: a dict prints itself without asking items()
        return repr(self.whole())

    __str__ = __repr__

    def __reduce__(self) -> tuple[type, tuple[dict[str, object]]]:
        return (dict, (self.whole(),))


def customer_context(customer: Customer) -> dict:
    return CustomerContext(
        customer,
        {
            "id": customer.customer_id,
            "customer_id": customer.customer_id,
            "name": customer.display_name,
            "email": list(customer.email),
            "specialist": customer.specialist,
            "segment": customer.segment,
            "currency": customer.currency,
            "language": customer.language,
            "parent_id": customer.parent_id,
            "extra": dict(customer.extra or {}),
        },
    )


def totals_context(
    invoices: list[Invoice], as_of: date, currency: str, min_balance: Decimal
) -> dict:
    """`totals`: the account's outstanding and overdue (`rules.account_totals`) in the
    message's currency, and per currency."""
    by_currency = {
        cur: {"outstanding": t.outstanding, "overdue": t.overdue}
        for cur, t in account_totals(invoices, as_of, min_balance).items()
    }
    main = by_currency.get(currency, {"outstanding": ZERO, "overdue": ZERO})
    return {
        "outstanding": main["outstanding"],
        "overdue": main["overdue"],
        "currency": currency,
        "by_currency": by_currency,
    }


def statement_context(statement: Statement, customers: Mapping[str, Customer], as_of: date) -> dict:
    """`statement` (SPEC 4.10): the listed invoices, and per currency group its totals, aging
    buckets and, consolidating, each account's subtotal; the totals include paused invoices.
    `totals_only`: too long to list in a message (`Statement.totals_only`)."""

    def name(cid: str) -> str:
        customer = customers.get(cid)
        return customer.display_name if customer is not None else cid

    invoices = [
        {**invoice_context(inv, as_of), "customer_name": name(inv.customer_id)}
        for inv in statement.listed
    ]
    groups = []
    for currency in statement.groups:
        shown = statement.shown.get(currency, NO_TOTALS)
        groups.append(
            {
                "currency": currency,
                "outstanding": shown.outstanding,
                "overdue": shown.overdue,
                "overdue_pct": shown.overdue_pct.quantize(CENT),
                "aging": dict(statement.aging.get(currency, dict.fromkeys(AGING_BUCKETS, ZERO))),
                "accounts": [
                    {
                        "customer_id": cid,
                        "name": name(cid),
                        "outstanding": t.outstanding,
                        "overdue": t.overdue,
                    }
                    for cid, t in statement.accounts.get(currency, ())
                ],
                "invoices": [item for item in invoices if item["currency"] == currency],
            }
        )
    return {
        "occurrence": statement.occurrence,
        "consolidated": statement.consolidate,
        "totals_only": statement.totals_only,
        "invoices": invoices,
        "groups": groups,
    }


def conditions_context(statement: Statement) -> list[dict]:
    """`conditions`: each condition of the campaign with the value it held with, per group."""
    return [
        {
            "metric": m.metric,
            "op": m.op,
            "value": m.value,
            "actual": m.actual.quantize(CENT),
            "currency": m.currency,
            "held": True,
        }
        for m in statement.met
    ]


def with_listed(totals: dict, items: list[dict]) -> dict:
    """`totals` with `listed`: the open balance of the invoices the message lists, in the
    totals' currency (what a subject may say the message is about), next to the customer's
    `outstanding`, which may include invoices on hold or followed by another workflow."""
    currency = totals["currency"]
    listed = sum((item["balance"] for item in items if item["currency"] == currency), ZERO)
    return with_values(totals, listed=listed)


def company_context(config: Config) -> dict:
    c = config.company
    return {"name": c.name, "email": c.email, "phone": c.phone, "currency": c.currency}


class _SampleExtra(dict):
    """`extra.ANYTHING` renders in the sample context when the source's columns are unknown
    (its file cannot be read where `validate` runs)."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def _sample_extra(samples: dict[str, str] | None) -> dict:
    return _SampleExtra() if samples is None else dict(samples)


SAMPLE_AS_OF = date(2026, 3, 16)


def contact_context(contact: Contact | None) -> dict | None:
    """`contact` in a template (issue 33): the customer's contact a message speaks to."""
    if contact is None:
        return None
    return {"name": contact.name, "role": contact.role, "language": contact.language}


def sample_context(
    config: Config,
    *,
    invoice_extra: dict[str, str] | None = None,
    customer_extra: dict[str, str] | None = None,
    person: bool = True,
    paid: bool = False,
    statement: bool = True,
    as_of: date = SAMPLE_AS_OF,
    customer_id: str = "C001",
) -> dict:
    """A full context with plausible values, to render every template in `validate`, in the
    shape of one use: `person` only for internal messages (notify), paid invoices for
    `on_paid`, `statement` and `conditions` only for campaigns; `extra` holds exactly the
    extra columns of the sources, with a real value of each (None: any name, as `<NAME>`);
    the customer's id may be a real one's."""
    invs = _sample_invoices(config.company.currency, paid, customer_id)
    items = [invoice_context(inv, as_of) for inv in invs]
    for inv, item in zip(invs, items, strict=True):
        item["extra"] = _sample_extra(invoice_extra)
        item.update(sample_fees(config, inv, as_of))
    customer = customer_context(
        Customer(
            customer_id,
            "Sample Customer Ltd",
            ("ap@customer.example",),
            "+12025550123",
            specialist="dana",
        )
    )
    customer["extra"] = _sample_extra(customer_extra)
    return {
        "company": company_context(config),
        "customer": customer,
        "invoices": items,
        "invoice": items[0],
        "totals": {
            **with_listed(totals_context(invs, as_of, invs[0].currency, config.min_balance), items),
            "interest": sum((item["interest"] for item in items), ZERO),
            "fees": ZERO,
        },
        "workflow": {"id": "sample", "name": "Sample workflow", "description": ""},
        "step": {"id": "overdue-30", "day": 30},
        "today": as_of,
        "person": _sample_person(config) if person else None,
        "conditions": _sample_conditions(invs[0].currency) if statement else [],
        "statement": _sample_statement(invs, as_of) if statement else None,
        "currency": invs[0].currency,
        "payment_url": None,
        "reply": _sample_reply(as_of),
        "plan": sample_plan(invs, as_of),
        # issue 33: a credit hold's event
        "hold": {"event": "hold", "since": as_of, "why": f"{invs[0].currency}: overdue >= 5000"},
        "contact": contact_context(Contact(BILLING, "Sam Sample", ("ap@sample.example",))),
    }


def _sample_invoices(currency: str, paid: bool, customer_id: str) -> list[Invoice]:
    """The sample customer's two invoices, open (or paid, for `on_paid`)."""

    def sample(number: str, issue: date, due: date, amount: str) -> Invoice:
        return Invoice(
            number=number,
            customer_id=customer_id,
            issue_date=issue,
            due_date=due,
            amount=Decimal(amount),
            balance=ZERO if paid else None,
            paid_date=None,
            currency=currency,
            status="open",
            line=2,
            customer_name="Sample Customer Ltd",
            email=("ap@customer.example",),
            phone="+12025550123",
            terms="Net 30",
            product="hosting",
            segment="retail",
        )

    return [
        sample("INV-1001", date(2026, 1, 15), date(2026, 2, 14), "1250.00"),
        sample("INV-1002", date(2026, 2, 1), date(2026, 3, 3), "89.50"),
    ]


def _sample_person(config: Config) -> dict:
    """`person` of an internal message: the first of `people:`, else a made-up controller."""
    first = next(iter(config.people.values()), None)
    return {
        "name": first.name if first else "Chris Doe",
        "email": first.email if first else "controller@company.example",
        "webhook": None,
    }


def _sample_conditions(currency: str) -> list[dict]:
    """`conditions` of a campaign's message: one condition, held."""
    return [
        {
            "metric": "overdue",
            "op": ">=",
            "value": Decimal("500"),
            "actual": Decimal("1250.00"),
            "currency": currency,
            "held": True,
        }
    ]


def _sample_reply(as_of: date) -> dict:
    """`reply` of an inbox notice: a customer's answer that paused it for a week."""
    return reply_context(
        {
            "kind": "reply",
            "sender": "Pat Lee <ap@customer.example>",
            "subject": "Re: Reminder: 2 invoices past due",
            "excerpt": "We paid INV-1001 yesterday, please check.",
            "received": "Mon, 16 Mar 2026 09:12:00 +0000",
            "pause_until": (as_of + timedelta(days=7)).isoformat(),
            "address": None,
        }
    )


def _sample_statement(invoices: list[Invoice], as_of: date) -> dict:
    """A consolidated statement of the sample customer and one branch account."""
    branch = [replace(inv, customer_id="C002", number=inv.number + "-B") for inv in invoices[1:]]
    listed = sorted([*invoices, *branch], key=lambda inv: (inv.due_date, inv.number))
    own, theirs = account_totals(invoices, as_of, CENT), account_totals(branch, as_of, CENT)
    family = {cur: t.plus(theirs[cur]) for cur, t in own.items()}
    currency = invoices[0].currency
    sample = Statement(
        "C001",
        as_of,
        [currency],
        listed,
        own,
        family,
        True,
        account_aging(listed, as_of, CENT),
        {currency: [("C001", own[currency]), ("C002", theirs[currency])]},
        [Met("overdue", ">=", Decimal(500), family[currency].overdue, currency)],
    )
    return statement_context(
        sample,
        {
            "C001": Customer("C001", "Sample Customer Ltd"),
            "C002": Customer("C002", "Sample Customer Branch"),
        },
        as_of,
    )


def with_payment_links(context: dict, link: Callable[[dict], str | None]) -> dict:
    """`context` with `payment_url` set, and each invoice's: `link` renders `payment_url:`
    with the message's context and `invoice` set to the one invoice."""
    invoices = [
        with_values(item, payment_url=link({**context, "invoice": item}))
        for item in context["invoices"]
    ]
    return {
        **context,
        "invoices": invoices,
        "invoice": invoices[0] if invoices else None,
        "payment_url": link(context),
    }


def reply_context(row: dict) -> dict:
    """`reply` in an inbox notice: the customer's message (its text as data, `one_line`: a
    row an older arflow recorded may hold line breaks) and what arflow did about it."""
    until = row.get("pause_until")
    return {
        "kind": row["kind"],
        "sender": one_line(row.get("sender")),
        "subject": one_line(row.get("subject")),
        "text": one_line(row.get("excerpt")),
        "received": one_line(row.get("received")),
        "address": row.get("address"),
        "paused_until": date.fromisoformat(until) if until else None,
        # issue 33: the `dispute_words:` the reply holds (a possible dispute; none: [])
        "possible_dispute": list(row.get("possible_dispute") or []),
    }


class MessageContexts:
    """The contexts of one run's messages (SPEC 5), each with the names SPEC 5 lists,
    with the parts messages share built once: the company's, and a customer's own and its
    invoices' for as long as the messages are about that customer (a plan lists a customer's
    actions together, so this keeps one customer's parts at a time). A template cannot change
    a context (the sandbox is immutable), so one dict may serve several messages."""

    def __init__(self, config: Config, as_of: date, fees: FeeBook | None = None):
        self.as_of = as_of
        self.fees = fees if fees is not None and fees.enabled else None
        self.company = company_context(config)
        self._customer: tuple[Customer, dict] | None = None
        # (id, workflow) → (invoice, its context)
        self._invoices: dict[tuple[int, str], tuple[Invoice, dict]] = {}

    def __call__(
        self,
        customer: Customer,
        invoices: list[Invoice],
        totals: dict,
        workflow: dict,
        step: dict,
        person: dict | None = None,
    ) -> dict:
        if self._customer is None or self._customer[0] is not customer:
            self._customer = (customer, customer_context(customer))
            self._invoices = {}
        known = self._invoices
        items = []
        wid = str(workflow["id"])  # its fees follow its workflow's late_fees:
        for inv in invoices:
            hit = known.get((id(inv), wid))
            if hit is None or hit[0] is not inv:
                context = invoice_context(inv, self.as_of, self.fees, wid)
                hit = known[(id(inv), wid)] = (inv, context)
            items.append(hit[1])
        return {
            "company": self.company,
            "customer": self._customer[1],
            "invoices": items,
            "invoice": items[0] if items else None,
            "totals": with_listed(totals, items),
            "workflow": workflow,
            "step": step,
            "today": self.as_of,
            "person": person,
            "conditions": [],
            "statement": None,
            "currency": totals["currency"],
            "payment_url": None,
            "reply": None,
            "plan": None,
            "hold": None,
            "contact": None,
        }
