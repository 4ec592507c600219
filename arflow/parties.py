"""A customer and the people at it, as the sources give them (SPEC 2.2; contacts in roles,
issue 33). `arflow.ledger` holds them beside the invoices."""

from __future__ import annotations

from dataclasses import dataclass

from arflow.phones import GivenPhone

BILLING = "billing"  # the role a customer's own email and phone cells are (issue 33)


@dataclass(frozen=True, slots=True)
class Contact:
    """A person at a customer, in a role (issue 33: `billing` by convention)."""

    role: str
    name: str | None = None
    email: tuple[str, ...] = ()
    phone: str | None = None
    language: str | None = None


@dataclass(slots=True, eq=False)
class Customer:
    customer_id: str
    name: str | None = None
    email: tuple[str, ...] = ()
    # the number as the source gave it, checked when first asked for (`phone`); a str is one
    # checked already (E.164)
    given_phone: GivenPhone | str | None = None
    workflow: str | None = None
    specialist: str | None = None
    parent_id: str | None = None
    currency: str | None = None
    language: str | None = None
    timezone: str | None = None
    terms: str | None = None
    segment: str | None = None
    paused: bool = False
    extra: dict[str, str] | None = None
    line: int = 0  # where the customers file defines it; 0 when only invoice rows do
    contacts: tuple[Contact, ...] = ()  # issue 33: from the contacts source
    # with a contacts source, the company's language: contacts without one of their own (nor
    # their customer's) speak it, for one message per language (`planner.step_actions`)
    company_language: str | None = None

    def in_role(self, role: str, *, phone: bool = False) -> list[Contact]:
        """Its contacts in `role`; its own `email`/`phone` cells are its `billing` contact
        unless the contacts source gives it one (its number checked only when `phone` is
        asked for: a text is planned)."""
        found = [c for c in self.contacts if c.role == role]
        if not found and role == BILLING and (self.email or self.given_phone):
            number = self.phone if phone else None
            return [Contact(BILLING, self.name, self.email, number, self.language)]
        return found

    @property
    def display_name(self) -> str:
        return self.name or self.customer_id

    @property
    def phone(self) -> str | None:
        """The number in E.164 form; None when there is none or it is not valid (a bad one is
        reported among the ledger's errors the first time it is asked for)."""
        given = self.given_phone
        return given.e164() if isinstance(given, GivenPhone) else given

    @phone.setter
    def phone(self, value: GivenPhone | str | None) -> None:
        self.given_phone = value
