"""The `arflow.yaml` configuration (SPEC 7): strict models, paths relative to the file."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import babel
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from arflow.calendar import parse_terms
from arflow.config_location import CONFIG_NAME
from arflow.database_url import parse_database_url
from arflow.digest_settings import Digest
from arflow.disputes import DEFAULT_WORDS, DisputeSettings
from arflow.erp import erp_settings
from arflow.errors import InvalidFiles
from arflow.fees.settings import NO_FEES, LateFees
from arflow.holds.settings import CreditHold
from arflow.locales import locale_code
from arflow.modelcheck import (
    STRICT,
    EnvName,
    Matching,
    Needs,
    NotBoth,
    PublicPrefix,
    Rule,
    WebAddress,
    check_rules,
    parse_model,
)
from arflow.secrets import known_secrets, public_urls
from arflow.source_settings import PAYMENT_FIELDS as PAYMENT_FIELDS
from arflow.source_settings import PaymentsSource, SourceConfig
from arflow.yamlfile import Located, load_located

# how a command names an AR folder's files inside messages (None: relative to the folder)
NAMED_AS: ContextVar[Callable[[str], str] | None] = ContextVar("NAMED_AS", default=None)
INVOICE_FIELDS = (
    "number",
    "customer_id",
    "customer_name",
    "email",
    "phone",
    "issue_date",
    "due_date",
    "terms",
    "amount",
    "balance",
    "paid_date",
    "currency",
    "status",
    "product",
    "location",
    "department",
    "segment",
    "tags",
)
CUSTOMER_FIELDS = (
    "customer_id",
    "name",
    "email",
    "phone",
    "workflow",
    "specialist",
    "parent_id",
    "currency",
    "language",
    "timezone",
    "terms",
    "segment",
    "paused",
)
# issue 33: a customer's contacts, each in a role (`billing` by convention)
CONTACT_FIELDS = ("customer_id", "name", "email", "phone", "role", "language")
INVOICE_STATUSES = ("draft", "open", "paid", "void")


class Strict(BaseModel):
    model_config = STRICT


class Company(Strict):
    name: str
    email: str | None = None
    phone: str | None = None
    timezone: str = "UTC"
    currency: Annotated[
        str,
        Matching(r"[A-Za-z]{3}", "{value!r} is not an ISO 4217 currency code such as USD or EUR"),
    ] = "USD"
    locale: str = "en_US"
    terms: str | None = None
    country: str | None = Field(None, description="default region for phone numbers; from locale")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as "
                "America/New_York or Europe/Berlin"
            ) from None
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return value.upper()

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        return locale_code(value)

    @field_validator("terms")
    @classmethod
    def _terms(cls, value: str | None) -> str | None:
        if value is not None:
            parse_terms(value)
        return value

    @property
    def region(self) -> str | None:
        """Region for phone numbers written without a country code."""
        if self.country:
            return self.country.upper()
        return babel.Locale.parse(self.locale).territory


class Person(Strict):
    name: str
    email: str | None = None
    phone: str | None = None
    specialist: bool = False
    webhook: WebAddress | None = None


MAX_TIMEOUT = 3600  # a network call that may wait longer is a mistake, not a setting


class EmailChannel(Strict):
    transport: Literal["smtp", "outbox"] = "outbox"
    dir: str = "outbox"
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password_env: EnvName | None = None
    timeout: float = Field(30.0, gt=0, le=MAX_TIMEOUT)  # seconds, for each network call
    sender: str | None = Field(None, alias="from")
    reply_to: str | None = None  # where a customer's reply goes (else From)
    bcc_archive: str | None = None  # a copy of every email sent, for your records
    return_path: str | None = None  # the envelope sender: where bounces go (else From)

    RULES: ClassVar[tuple[Rule, ...]] = (
        Needs("transport", "smtp", ("host",)),
        NotBoth(
            "ssl",
            "starttls",
            "choose ssl: true (implicit TLS, port 465) or starttls: true, not both",
        ),
    )
    _rules = model_validator(mode="after")(check_rules)

    @field_validator("reply_to", "bcc_archive", "return_path")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"{value!r} is not an email address ({exc})") from None


class SmsChannel(Strict):
    transport: Literal["twilio", "outbox"] = "outbox"
    dir: str = "outbox"
    account_sid_env: EnvName | None = None
    auth_token_env: EnvName | None = None
    sender: str | None = Field(None, alias="from")
    base_url: str | None = None
    timeout: float = Field(30.0, gt=0, le=MAX_TIMEOUT)  # seconds, for each network call

    RULES: ClassVar[tuple[Rule, ...]] = (
        Needs("transport", "twilio", ("account_sid_env", "auth_token_env", "sender")),
    )
    _rules = model_validator(mode="after")(check_rules)


class NotifyChannel(Strict):
    transport: Literal["email", "webhook"] = "email"
    url: WebAddress | None = None

    RULES: ClassVar[tuple[Rule, ...]] = (
        Needs("transport", "webhook", ("url",), hint=" (or a webhook: on each person)"),
    )
    _rules = model_validator(mode="after")(check_rules)


class WebhookChannel(Strict):
    """Every POST to a webhook: `webhook` actions, and `notify` through a webhook."""

    timeout: float = Field(30.0, gt=0, le=MAX_TIMEOUT)  # seconds, for each network call


class InboxChannel(Strict):
    """Where customers' replies and bounces arrive: an IMAP folder, or a Maildir on this
    machine. arflow only reads it: mail is never deleted, moved or marked read."""

    transport: Literal["imap", "maildir"]
    dir: str | None = None  # maildir: the Maildir folder (with cur/ and new/)
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    ssl: bool = True  # implicit TLS (port 993); `starttls: true` (port 143) wins
    starttls: bool = False
    username: str | None = None
    password_env: EnvName | None = None
    # no line break or double quote (IMAP quotes the name), and not blank
    folder: Annotated[
        str, Matching(r'[^\r\n"]*[^\s"][^\r\n"]*', "folder: {value!r} is not a folder name")
    ] = "INBOX"
    timeout: float = Field(30.0, gt=0, le=MAX_TIMEOUT)  # seconds, for each network call

    RULES: ClassVar[tuple[Rule, ...]] = (
        Needs("transport", "maildir", ("dir",), hint=" (the Maildir folder)"),
        Needs("transport", "imap", ("host", "username", "password_env")),
    )
    _rules = model_validator(mode="after")(check_rules)


class Channels(Strict):
    email: EmailChannel = EmailChannel()
    sms: SmsChannel = SmsChannel()
    notify: NotifyChannel = NotifyChannel()
    webhook: WebhookChannel = WebhookChannel()
    inbox: InboxChannel | None = None


class Replies(Strict):
    """What a customer's reply does: a pause, and a notice to a person."""

    pause_days: int = Field(7, ge=1, le=365)
    notify: str | None = None  # a key of people:, told of each reply and bounce


class Config(Strict):
    company: Company
    invoices: SourceConfig
    customers: SourceConfig | None = None
    contacts: SourceConfig | None = None  # issue 33: contacts in roles
    payments: PaymentsSource | None = None  # issue 32: a bank's or processor's export
    state: str = "arflow.db"
    workflows: str = "workflows"
    templates: str = "templates"
    default_workflow: str | None = None
    min_balance: Decimal = Field(Decimal("0.01"), ge=0)
    people: dict[str, Person] = {}
    channels: Channels = Channels()
    healthcheck_url: WebAddress | None = None
    healthcheck_timeout: float = Field(10.0, gt=0, le=MAX_TIMEOUT)  # seconds, for the ping
    # web addresses arflow prints and stores whole (others: scheme and host only, SPEC 7), by
    # the start of each: "https://erp.example.com/api/"
    public_urls: list[PublicPrefix] = []
    # a template of the link where a customer pays, e.g.
    # "https://pay.example.com/{{ customer.id }}/{{ invoice.number }}" or, from a column of
    # the invoices, "{{ invoice.extra.PayLink }}"
    payment_url: str | None = None
    replies: Replies = Replies()
    # at most one customer-facing contact (a step's emails and SMS) per customer per N days
    contact_gap: int | None = Field(None, ge=1, le=365)
    late_fees: LateFees = NO_FEES  # issue 31: interest, compensation and fees
    # issue 32: payment plans: the workflow that chases each instalment (its steps count from
    # the instalment's day), the one a broken plan's invoices resume in (None: their own), and
    # the days after an instalment's day before an unpaid one breaks the plan
    plan_workflow: str | None = None
    on_broken_plan: str | None = None
    plan_grace_days: int = Field(7, ge=0, le=365)
    # issue 33: who is on credit hold, entered and released by conditions each run
    credit_hold: CreditHold | None = None
    # issue 33: the reason codes of disputes and the workflow a dispute starts (else a task for
    # the specialist); the words that flag a customer's reply as a possible dispute
    disputes: DisputeSettings = DisputeSettings()
    dispute_words: list[str] = Field(default_factory=lambda: list(DEFAULT_WORDS))
    # issue 34: the weekly digest, emailed to these people on the schedule's days
    digest: Digest | None = None

    _path: Path = PrivateAttr(default=Path(CONFIG_NAME))
    _located: Located | None = PrivateAttr(default=None)

    @field_validator("invoices", "customers", "contacts", "payments", mode="before")
    @classmethod
    def _erp_preset(cls, value: object, info: ValidationInfo) -> object:
        """Issue 35: `preset: odoo` (an ERP's) beside `database:` fills in its query."""
        return erp_settings(value, info.field_name or "")

    @field_validator("invoices")
    @classmethod
    def _invoice_columns(cls, value: SourceConfig) -> SourceConfig:
        return _check_columns(value, INVOICE_FIELDS)

    @field_validator("customers")
    @classmethod
    def _customer_columns(cls, value: SourceConfig | None) -> SourceConfig | None:
        return value if value is None else _check_columns(value, CUSTOMER_FIELDS)

    @field_validator("contacts")
    @classmethod
    def _contact_columns(cls, value: SourceConfig | None) -> SourceConfig | None:
        return value if value is None else _check_columns(value, CONTACT_FIELDS)

    @model_validator(mode="after")
    def _replies(self) -> Config:
        name = self.replies.notify
        if name is not None:
            person = self.people.get(name)
            if person is None:
                raise ValueError(
                    f"replies.notify: {name!r} is not a key of people: (they are: "
                    f"{', '.join(sorted(self.people)) or 'none'})"
                )
            if not person.email:
                raise ValueError(f"replies.notify: {name!r} has no email: under people:")
        return self

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: Digest | None, info: ValidationInfo) -> Digest | None:
        """Issue 34: each of `digest.to` is a key of people: with an email."""
        people = info.data.get("people")
        if value is None or people is None:  # people: itself was refused
            return value
        for name in value.to:
            person = people.get(name)
            if person is None:
                raise ValueError(
                    f"to: {name!r} is not a key of people: (they are: "
                    f"{', '.join(sorted(people)) or 'none'}); add them under people: with "
                    "an email, or name one of them"
                )
            if not person.email:
                raise ValueError(
                    f"to: {name!r} has no email: under people: (the digest is an email)"
                )
        return value

    @property
    def path(self) -> Path:
        return self._path

    @property
    def base_dir(self) -> Path:
        return self._path.parent

    def line(self, *keys: str) -> int | None:
        """The line of a key in arflow.yaml (`line("invoices", "columns")`), for `PATH:LINE`
        messages."""
        return self._located.line(keys) if self._located is not None else None

    def resolve(self, relative: str) -> Path:
        """A path from the config, taken relative to the config file's folder."""
        return (self.base_dir / Path(relative).expanduser()).resolve()

    def source_name(self, source: SourceConfig) -> str:
        """A source as messages name it: its file, a database's name and table (`books/
        account_move`, `books/query`: the password and the server are in no message), or a
        command's output (`python3 export.py (output)`)."""
        if source.database is not None:
            what = source.table or "query"
            return f"{parse_database_url(source.database).name}/{what}"
        if source.command is not None:
            return f"{source.command_text} (output)"
        assert source.path is not None  # the model requires one of the three
        return self.display(self.resolve(source.path))

    def source_missing(self, source: SourceConfig) -> bool:
        """A file source whose file is not there (CI checks workflows without the ledger); a
        database or a command is there until connecting or running says otherwise."""
        return source.path is not None and not self.resolve(source.path).exists()

    def display(self, path: Path) -> str:
        """How a file is named in messages: relative to the config folder when inside it."""
        try:
            return str(path.resolve().relative_to(self.base_dir.resolve()))
        except ValueError:
            return str(path)

    def named(self, path: Path) -> str:
        """A file named inside a message's text (not its PATH:LINE, which the command names):
        as `display`, then as the command names the folder's files (`NAMED_AS`, set by
        `validate` to name them as the user typed the folder)."""
        shown = self.display(path)
        rename = NAMED_AS.get()
        return shown if rename is None else rename(shown)

    def today(self, now: datetime) -> date:
        """The as-of date: `now` seen in the company's time zone (SPEC 4.9)."""
        return now.astimezone(ZoneInfo(self.company.timezone)).date()


def _check_columns(source: SourceConfig, fields: tuple[str, ...]) -> SourceConfig:
    unknown = sorted(set(source.columns) - set(fields))
    if unknown:
        raise ValueError(
            f"columns: {', '.join(unknown)} not a known field; columns maps arflow's "
            f"names ({', '.join(fields)}) to your file's headers"
        )
    return source


def load_config(path: Path) -> Config:
    """Load and validate `arflow.yaml`; raises InvalidFiles listing every problem."""
    # files are named relative to the AR folder, the config file included
    display = path.name
    located = load_located(path, display)
    config, problems = parse_model(Config, located, display)
    if problems or config is None:
        raise InvalidFiles(problems)
    config._path = path.resolve()
    config._located = located
    public_urls(config.public_urls)  # what this process prints and stores, it prints whole
    known_secrets(env_names(config))  # every secret hidden before anything is read or run
    return config


def env_names(model: BaseModel) -> list[str]:
    """The environment variables the settings name for secrets (`password_env:`,
    `auth_token_env:` …), anywhere in them."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name.endswith("_env") and isinstance(value, str):
            found.append(value)
        for part in (
            value.values()
            if isinstance(value, dict)
            else value
            if isinstance(value, list)
            else [value]
        ):
            if isinstance(part, BaseModel):
                found += env_names(part)
    return found
