"""Phone numbers (SPEC 2.1): E.164, the one form arflow stores and sends SMS to."""

from __future__ import annotations

import phonenumbers


def e164(text: str, region: str | None) -> str | None:
    """A phone number in E.164 form (+12025550123), or None when it is not a valid number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def for_people(number: str) -> str:
    """A stored (E.164) number as a person reads it: +1 202-555-0123, +44 20 7946 0018."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
