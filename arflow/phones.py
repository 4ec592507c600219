"""Phone numbers (SPEC 2.1): E.164, the one form arflow sends SMS to, and a number as a source
gave it, checked the first time something asks for it (`GivenPhone`)."""

from __future__ import annotations

from functools import lru_cache

from arflow.errors import RowError


@lru_cache(maxsize=65536)  # customers share numbers (a head office's switchboard)
def e164(text: str, region: str | None) -> str | None:
    """A phone number in E.164 form (+12025550123), or None when it is not a valid number.
    phonenumbers is imported by the first number checked: a command that checks none never
    loads it."""
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def for_people(number: str) -> str:
    """A stored (E.164) number as a person reads it: +1 202-555-0123, +44 20 7946 0018 (each
    number once: a night's notices repeat the same few)."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_problem(text: str) -> str:
    """What is wrong with a number `e164` refuses, and what becomes of it."""
    hint = "" if text.startswith("+") else " (write it with its country code, e.g. +1 …)"
    return (
        f"{text!r} is not a valid phone number{hint}; the invoice is kept, but no SMS can go "
        "to this number"
    )


class GivenPhone:
    """A customer's number as its source row gave it, checked the first time something asks
    for it (issue 30: a night texts a few customers of many, and phonenumbers takes ~85 µs a
    number). A bad one is reported then, once, among the ledger's errors, naming its file,
    line and column as a bad value found while reading is. `fallback`: the number the next
    place gives (a customer's own, then its invoice rows' in file order), taken when this one
    is not valid: the first valid number wins, as when every number is checked at load."""

    __slots__ = (
        "_checked",
        "_e164",
        "column",
        "fallback",
        "file",
        "line",
        "problems",
        "region",
        "text",
    )

    def __init__(
        self,
        text: str,
        region: str | None,
        where: tuple[str, int, str],
        problems: list[RowError],
    ):
        self.text = text
        self.region = region
        self.file, self.line, self.column = where  # the source file, its line, its header
        self.problems = problems  # the ledger's errors, where a bad number is reported
        self._checked = False
        self._e164: str | None = None
        self.fallback: GivenPhone | str | None = None

    def e164(self) -> str | None:
        """The number in E.164 form; when it is not a valid one (reported once), the
        fallback's; None when no place gives a valid one."""
        if not self._checked:
            self._e164 = e164(self.text, self.region)
            if self._e164 is None:
                self.problems.append(
                    RowError(self.file, self.line, self.column, self.text, phone_problem(self.text))
                )
            self._checked = True
        if self._e164 is None and self.fallback is not None:
            fallback = self.fallback
            return fallback.e164() if isinstance(fallback, GivenPhone) else fallback
        return self._e164


def first_of(numbers: list[GivenPhone | str | None]) -> GivenPhone | str | None:
    """The numbers of several places, in order, as one: the first valid one wins (a checked
    one, E.164 text, is valid; None is no number)."""
    found: GivenPhone | str | None = None
    for number in reversed(numbers):
        if number is None:
            continue
        if isinstance(number, GivenPhone):
            number.fallback = found
        found = number
    return found
