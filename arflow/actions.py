"""What each kind of workflow action means (SPEC 3, 5): one entry per kind.

An entry says who the action goes to (`recipients`), which channel carries its message
(`channel`), the skip reason when it has nobody to go to (`missing`), whether the customer sees
it (`customer_facing`: the contact gap counts it, a campaign's statement reaches the customer
through it), whether it is a notice to people (`notice`: in a campaign it tells of the
statement), what it records in the state besides its key (`records`), and the words `history`
puts before its text. Its composer is `arflow.compose.COMPOSERS[kind]`. Adding a kind means one
entry here, its spec model in `arflow.action_specs` and its composer (a test holds the three to
the same kinds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from arflow.config import Config, Person
from arflow.ledger import BILLING, Contact, Customer
from arflow.workflow import Action, Workflow


class Recipients(NamedTuple):
    to: list[str]
    cc: list[str]
    bcc: list[str]
    # issue 33: the customer's contacts a message goes to (the first: its greeting and
    # language), and the role it fell back to when the step's role had nobody (`ap` → billing)
    contacts: tuple[Contact, ...] = ()
    fallback: str | None = None


People = dict[str, Person]
Effect = Literal["status", "task", "note", "specialist", "fees"]


@dataclass(frozen=True, slots=True)
class ActionKind:
    name: str
    recipients: Callable[[Action, Customer, Workflow, People], Recipients]
    # the channel of its message, from the config and its recipients; None: no message
    channel: Callable[[Config, list[str]], str | None]
    missing: str | None = None  # skipped for this reason with no recipient; None: goes anyway
    customer_facing: bool = False
    records: Effect | None = None
    described_as: str = ""  # `history`: the words before its text
    contact: str | None = None  # the customer's field that reaches it (`email`, `phone`)
    # a message to people or systems, not the customer: in a campaign it tells of the
    # statement, and goes only once the statement went (`arflow.statement_notices`)
    notice: bool = False


def person_addresses(
    names: Iterable[str | None], customer: Customer, wf: Workflow, people: People
) -> list[str]:
    """The email addresses of `people:` names (or `specialist`, `owner`, or an address)."""
    found: list[str] = []
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


def _contacts_to(
    roles: list[str], customer: Customer, kind: str
) -> tuple[list[str], tuple[Contact, ...], str | None]:
    """(addresses, contacts, fallback) of the customer's contacts in `roles` (default
    `billing`) for an email or a text (`kind`); a role with nobody in it falls back to
    `billing`, said as such."""
    sms = kind == "sms"

    def reach(role: str) -> list[Contact]:
        return [c for c in customer.in_role(role, phone=sms) if (c.phone if sms else c.email)]

    wanted = [role.lower() for role in roles] or [BILLING]
    found = [c for role in wanted for c in reach(role)]
    fallback = None
    if not found and wanted != [BILLING]:
        found = reach(BILLING)
        fallback = f"{BILLING} (no {', '.join(wanted)} contact)" if found else None
    addresses = [c.phone for c in found if c.phone] if sms else [a for c in found for a in c.email]
    return list(dict.fromkeys(addresses)), tuple(dict.fromkeys(found)), fallback


def _copies(names: Iterable[str], customer: Customer, wf: Workflow, people: People) -> list[str]:
    """`cc`/`bcc`: a customer's role (its contacts' addresses) or a person (`people:`,
    `specialist`, `owner`, an address); the customer's role wins a name both could be."""
    found: list[str] = []
    for name in names:
        contacts = customer.in_role(name.lower())
        more = (
            [a for c in contacts for a in c.email]
            if contacts
            else person_addresses([name], customer, wf, people)
        )
        found += [a for a in more if a not in found]
    return found


def _email_to(action: Action, customer: Customer, wf: Workflow, people: People) -> Recipients:
    spec = action.spec
    to, contacts, fallback = _contacts_to(spec.to, customer, "email")
    cc = [a for a in _copies(spec.cc, customer, wf, people) if a not in to]
    bcc = [a for a in _copies(spec.bcc, customer, wf, people) if a not in to and a not in cc]
    return Recipients(to, cc, bcc, contacts, fallback)


def _sms_to(action: Action, customer: Customer, wf: Workflow, people: People) -> Recipients:
    to, contacts, fallback = _contacts_to(action.spec.to, customer, "sms")
    return Recipients(to[:1], [], [], contacts[:1], fallback)  # a text goes to one number


def _people_to(
    names: Callable[[Action], list[str | None]],
) -> Callable[[Action, Customer, Workflow, People], Recipients]:
    def to(action: Action, customer: Customer, wf: Workflow, people: People) -> Recipients:
        return Recipients(person_addresses(names(action), customer, wf, people), [], [])

    return to


def _webhook_to(action: Action, customer: Customer, wf: Workflow, people: People) -> Recipients:
    return Recipients([action.spec.url], [], [])


def _nobody(action: Action, customer: Customer, wf: Workflow, people: People) -> Recipients:
    return Recipients([], [], [])


def _always(channel: str | None) -> Callable[[Config, list[str]], str | None]:
    return lambda config, to: channel


def _notify_channel(config: Config, to: list[str]) -> str:
    return "webhook" if config.channels.notify.transport == "webhook" else "email"


def _note_channel(config: Config, to: list[str]) -> str | None:
    return "email" if to else None  # SPEC 5: emailed to the specialist, when there is one


KINDS: dict[str, ActionKind] = {
    kind.name: kind
    for kind in (
        ActionKind(
            "email", _email_to, _always("email"), "no-email", customer_facing=True, contact="email"
        ),
        ActionKind(
            "sms", _sms_to, _always("sms"), "no-phone", customer_facing=True, contact="phone"
        ),
        ActionKind(
            "notify",
            _people_to(lambda a: a.spec.to or ["owner"]),
            _notify_channel,
            "no-recipient",
            notice=True,
        ),
        ActionKind("webhook", _webhook_to, _always("webhook"), "no-recipient", notice=True),
        ActionKind("status", _nobody, _always(None), records="status", described_as="status: "),
        ActionKind(
            "task",
            _people_to(lambda a: [a.spec.assignee]),
            _always(None),
            records="task",
            described_as="task: ",
        ),
        ActionKind("note", _people_to(lambda a: ["specialist"]), _note_channel, records="note"),
        ActionKind(
            "assign",
            _nobody,
            _always(None),
            records="specialist",
            described_as="specialist: ",
        ),
        ActionKind("charge_fees", _nobody, _always(None), records="fees", described_as="fees: "),
    )
}
CUSTOMER_FACING = tuple(name for name, kind in KINDS.items() if kind.customer_facing)
NOTICES = tuple(name for name, kind in KINDS.items() if kind.notice)


# a customer's contact fields, as a sentence names them
CONTACT_WORDS = {"email": "an email address", "phone": "a phone number"}


def recipients(action: Action, customer: Customer, wf: Workflow, people: People) -> Recipients:
    """Who an action goes to: the customer's contacts, people from `people:`, or a URL."""
    return KINDS[action.kind].recipients(action, customer, wf, people)


class Addressed(Protocol):
    """A planned action, as far as its channel goes."""

    @property
    def kind(self) -> str: ...

    to: list[str]


def channel_kind(action: Addressed, config: Config) -> str | None:
    """The channel that carries a planned action's message (None: it has none), known before
    anything is rendered so a run can log in first; its composer makes that message."""
    if getattr(action, "digest", None) is not None:  # issue 34: an HTML email, whatever
        return "email"  # `channels.notify` says (a chat hook cannot show its charts)
    return KINDS[action.kind].channel(config, action.to)
