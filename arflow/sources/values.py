"""Parsing of raw source values: dates, money, emails, phones; each error says how to fix it."""

from __future__ import annotations

import datetime as dt
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from arflow.calendar import date_range_problem
from arflow.config import SourceConfig
from arflow.phones import e164, phone_problem

_ISO_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_SLASHED = re.compile(r"\d{1,2}([/.-])\d{1,2}\1\d{2,4}")
# Amounts arflow reads: below 10^15 (15 digits before the decimal point), so that totals of
# many invoices stay exact in Decimal's 28 digits instead of being rounded silently.
AMOUNT_DIGITS = 15
# a plain amount that needs no further check; anything else takes `ValueParser.money`'s way
PLAIN_AMOUNT = re.compile(rf"[+-]?\d{{1,{AMOUNT_DIGITS}}}(?:\.\d+)?")
_SYMBOLS = "$€£¥"
# A strict subset of what email-validator accepts (dot-atom local part, LDH labels, alphabetic
# TLD); anything else is checked by email-validator itself, so both always agree.
_SIMPLE_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")
_SPLIT_EMAILS = re.compile(r"[;,]")


class ValueParser:
    """Parses one source's values with its settings, caching repeated dates, emails and phones.
    With `checks_phones` false, a phone number is kept as given (stripped), for its customer's
    `phone` to check when a message needs it (`phones.GivenPhone`)."""

    def __init__(
        self, source: SourceConfig, setting: str, region: str | None, checks_phones: bool = True
    ):
        self.source = source
        self.checks_phones = checks_phones
        self.setting = setting  # "invoices" or "customers", for "add … under invoices:" hints
        self.region = region
        self._dates: dict[str, date | str] = {}
        self._emails: dict[str, str | tuple[str]] = {}
        self._phones: dict[str, str | tuple[str]] = {}
        dec = re.escape(source.decimal)
        if source.thousands:
            th = re.escape(source.thousands)
            self._amount = re.compile(rf"\d{{1,3}}(?:{th}\d{{3}})+(?:{dec}\d+)?|\d+(?:{dec}\d+)?")
        else:
            self._amount = re.compile(rf"\d+(?:{dec}\d+)?")

    # --- dates ------------------------------------------------------------------------------
    def date(self, raw: str) -> date:
        """A date, or ValueError with the fix; results are cached per distinct string."""
        found = self._dates.get(raw)
        if found is None:
            found = self._parse_date(raw)
            self._dates[raw] = found
        if isinstance(found, str):
            raise ValueError(found)
        return found

    def typed_date(self, raw: str) -> dt.date:
        """A date a person typed (a command's option): ISO `YYYY-MM-DD` always, else the
        source's `date_format`, with the same checks and messages as the data."""
        text = raw.strip()
        if self.source.date_format and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a real date") from None
            problem = date_range_problem(text, day)
            if problem:
                raise ValueError(problem)
            return day
        return self.date(text)

    def _parse_date(self, raw: str) -> dt.date | str:
        text = raw.strip()
        fmt = self.source.date_format
        if fmt:
            try:
                day = datetime.strptime(text, fmt).date()
            except ValueError as exc:
                if "out of range" in str(exc) or (
                    "unconverted" not in str(exc) and _looks_real(text, fmt)
                ):
                    return f"{text!r} is not a real date"
                return f"{text!r} does not match date_format {fmt!r}"
            return date_range_problem(text, day) or day
        m = _ISO_DATE.fullmatch(text)
        if m:
            try:
                day = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return f"{text!r} is not a real date"
            return date_range_problem(text, day) or day
        slashed = _SLASHED.fullmatch(text)
        if slashed:
            sep = slashed[1]
            year = "%Y" if len(text.rsplit(sep, 1)[1]) == 4 else "%y"
            return (
                f"{text!r} is not an ISO date (YYYY-MM-DD) and could be read two ways: add "
                f'date_format: "%m{sep}%d{sep}{year}" (or "%d{sep}%m{sep}{year}") under '
                f"{self.setting}: in arflow.yaml"
            )
        return (
            f"{text!r} is not a date: write YYYY-MM-DD, or add date_format: under "
            f"{self.setting}: in arflow.yaml"
        )

    # --- money ------------------------------------------------------------------------------
    def money(self, raw: str) -> Decimal:
        """A finite Decimal, or ValueError with the fix. Accepts `$1,234.56` and `(120.00)`."""
        if PLAIN_AMOUNT.fullmatch(raw) and self.source.decimal == ".":
            return Decimal(raw)
        text = raw.strip()
        negative = False
        if text.startswith("(") and text.endswith(")"):
            negative, text = True, text[1:-1].strip()
        if text.startswith(("+", "-")):
            negative, text = negative ^ (text[0] == "-"), text[1:].strip()
        text = text.strip(_SYMBOLS).strip()
        if text.startswith(("+", "-")) and not negative:
            negative, text = text[0] == "-", text[1:].strip()
        if self._amount.fullmatch(text):
            if self.source.thousands:
                text = text.replace(self.source.thousands, "")
            text = text.replace(self.source.decimal, ".")
            value = Decimal(text)
            if value.adjusted() >= AMOUNT_DIGITS:
                raise ValueError(
                    f"{raw.strip()!r} is too large: arflow reads amounts of up to "
                    f"{AMOUNT_DIGITS} digits before the decimal point; fix the "
                    "amount, or check that columns: maps the right column"
                )
            return -value if negative else value
        raise ValueError(self._money_hint(raw))

    def _money_hint(self, raw: str) -> str:
        text = raw.strip()
        low = text.lower()
        base = f"{text!r} is not an amount"
        if not text:
            return "empty amount: write a decimal number such as 1234.56"
        if low.lstrip("+-") in ("nan", "inf", "infinity", "snan"):
            return f"{base}: write a finite decimal number such as 1234.56"
        try:
            Decimal(text)
            if "e" in low:
                return f"{base}: exponent notation is not accepted; write the number out"
        except InvalidOperation:
            pass
        other = "," if self.source.decimal == "." else "."
        if other in text and self.source.thousands != other:
            return (
                f"{base} with decimal: {self.source.decimal!r}: if {other!r} separates "
                f"thousands add thousands: {other!r}, if it is the decimal mark add "
                f"decimal: {other!r} under {self.setting}: in arflow.yaml"
            )
        return f"{base}: write a decimal number such as 1234.56"

    # --- contacts ---------------------------------------------------------------------------
    def emails(self, raw: str) -> tuple[tuple[str, ...], list[str]]:
        """The valid addresses in `a@x; b@y`, and an error message for each invalid one."""
        good, bad = [], []
        for part in _SPLIT_EMAILS.split(raw):
            part = part.strip()
            if not part:
                continue
            found = self._emails.get(part)
            if found is None:
                found = self._check_email(part)
                self._emails[part] = found
            if isinstance(found, str):
                good.append(found)
            else:
                bad.append(found[0])
        return tuple(good), bad

    @staticmethod
    def _check_email(address: str) -> str | tuple[str]:
        if (
            len(address) <= 254
            and _SIMPLE_EMAIL.fullmatch(address)
            and len(address.partition("@")[0]) <= 64
            and address.rpartition(".")[2].lower() not in _SPECIAL_USE
        ):
            local, _, domain = address.partition("@")
            return f"{local}@{domain.lower()}"
        # email-validator only for the addresses the pattern cannot vouch for (20 ms to import)
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            return (
                f"{address!r} is not a valid email address ({exc}); fix it in the source — "
                "the invoice is kept, but no email can go to this address",
            )

    def contacts(
        self, raw_email: str, raw_phone: str
    ) -> tuple[tuple[str, ...], str | None, list[tuple[str, str, str]]]:
        """(emails, phone, problems): a bad address or number is left out and reported as
        (column, value, message); the row itself is kept (SPEC 2.4)."""
        problems: list[tuple[str, str, str]] = []
        emails: tuple[str, ...] = ()
        if raw_email:
            emails, bad = self.emails(raw_email)
            problems += [("email", raw_email, message) for message in bad]
        phone = None
        if raw_phone and not self.checks_phones:
            phone = raw_phone.strip() or None
        elif raw_phone:
            try:
                phone = self.phone(raw_phone)
            except ValueError as exc:
                problems.append(("phone", raw_phone, str(exc)))
        return emails, phone, problems

    def phone(self, raw: str) -> str:
        """E.164 form of a phone number, or ValueError with the fix."""
        text = raw.strip()
        found = self._phones.get(text)
        if found is None:
            found = self._check_phone(text)
            self._phones[text] = found
        if isinstance(found, tuple):
            raise ValueError(found[0])
        return found

    def _check_phone(self, text: str) -> str | tuple[str]:
        found = e164(text, self.region)
        return (phone_problem(text),) if found is None else found


def _looks_real(text: str, fmt: str) -> bool:
    """True when `text` has the shape of `fmt` but names a day that does not exist."""
    digits = re.sub(r"%[dmyYHMS]", r"\\d+", re.escape(fmt).replace("%%", "%"))
    return re.fullmatch(digits, text) is not None


def truthy(raw: str) -> bool:
    """`paused`-style flags: yes/true/1/y/x mean true; empty and no/false/0 mean false."""
    low = raw.strip().lower()
    if low in ("", "no", "false", "0", "n"):
        return False
    if low in ("yes", "true", "1", "y", "x"):
        return True
    raise ValueError(f"{raw!r} is not yes/no (use true or false)")
