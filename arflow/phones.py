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
