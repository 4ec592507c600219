"""Templates (SPEC 5): sandboxed Jinja2, undefined variables are errors, HTML auto-escaped,
values in JSON bodies JSON-encoded, and every render limited in size and time."""

from __future__ import annotations

import decimal
import json
import re
from collections import defaultdict
from collections.abc import Callable, Generator, Mapping, MutableMapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from time import monotonic
from typing import Any, cast

import css_inline
from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision
from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateRuntimeError,
    TemplateSyntaxError,
    Undefined,
    nodes,
    pass_context,
)
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from arflow.config import Config
from arflow.ledger import ZERO, Customer, Invoice
from arflow.locales import fallbacks, locale_code
from arflow.phones import for_people
from arflow.planner.plan_types import Met, Statement
from arflow.rules import AGING_BUCKETS, Totals, account_aging, account_totals
from arflow.textfile import bad_bytes

CENT = Decimal("0.01")

KINDS = ("subject", "txt", "html", "sms", "json")
_PROBES = (Decimal("5"), Decimal("1234.5"), Decimal("1234567.891"), Decimal("0.125"))

# --- limits --------------------------------------------------------------------------------
# A template is code a person writes; a slip (a loop over the wrong thing, `10**10` for `10*10`)
# must cost one message, not the night's run. The limits are far above any real message.
MAX_OUTPUT = 1_000_000  # characters one render may produce ("1 MB")
MAX_SECONDS = 2.0  # time one render may take
MAX_RANGE = 10_000  # numbers one range() may hold
MAX_INT_BITS = 12_000  # an integer `*` or `**` may make: 3,600 digits (Python prints 4,300)
_SURROGATE = re.compile("[\ud800-\udfff]")
TOO_LARGE = "too large (over 1 MB); look for a loop that prints more than it should"
TOO_SLOW = "too slow (over 2 s); look for a loop or macro that runs more often than it should"
TOO_BIG_OPERANDS = "the ** or * operands are too large"


class LimitExceeded(TemplateRuntimeError):
    """A render went over one of the limits above."""


class RenderError(Exception):
    """A template could not be rendered, for whatever reason (syntax, an undefined name, a
    limit, an exception in an expression or filter): `line` in the template where known, and
    a message a person can act on. `cause` is the original exception."""

    def __init__(self, cause: BaseException):
        self.cause = cause
        self.file, self.line, self.message = template_error(cause)
        super().__init__(self.message)


class _Deadline:
    """When the render under way must end; shared by a Templates' environments."""

    __slots__ = ("at",)

    def __init__(self):
        self.at = float("inf")  # no render under way: Jinja's own render runs unlimited


# the filter every loop's iterable passes through; a name no template can write
_LOOP_GUARD = "arflow loop guard"


class _LoopGuardCodeGenerator(CodeGenerator):
    """Compiles every `{% for x in ITERABLE %}` as `{% for x in ITERABLE|guard %}` with the
    filter `_Sandbox.guard_loop`: a loop that prints nothing, so that no output reaches
    `_generate`'s check, still ends at the time limit. (A filter is called directly by the
    compiled code; a call would go through the sandbox's checks, ~1 µs a loop.)"""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in node.find_all(nodes.For):
            loop.iter = nodes.Filter(
                loop.iter, _LOOP_GUARD, [], [], None, None, lineno=loop.iter.lineno
            )
        super().visit_Template(node, frame)


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with limits: `**` and `*` (the sandbox docs' own example of
    intercepted operators), range(), and the loops' time."""

    intercepted_binops = frozenset(["*", "**"])
    code_generator_class = _LoopGuardCodeGenerator

    def __init__(self, **options):
        super().__init__(**options)
        self.deadline = _Deadline()
        self.globals["range"] = _limited_range
        self.filters[_LOOP_GUARD] = self.guard_loop

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if (
                _is_int(left)
                and _is_int(right)
                and right > 0
                and right * max(abs(left).bit_length() - 1, 0) > MAX_INT_BITS
            ):
                raise LimitExceeded(TOO_BIG_OPERANDS)
        elif _is_int(left) and _is_int(right):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise LimitExceeded(TOO_BIG_OPERANDS)
        else:
            seq, times = (left, right) if _is_int(right) else (right, left)
            if (
                isinstance(seq, str | list | tuple)
                and _is_int(times)
                and len(seq) * times > MAX_OUTPUT
            ):
                raise LimitExceeded(TOO_BIG_OPERANDS)
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # `invoice.number` on a context's dict: Jinja tries the attribute first, and a dict has
        # none of that name, so the AttributeError raised and caught costs more than the item
        # lookup; a name that is a dict attribute (`items`, `__class__`) goes the sandbox's way
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # each template's globals as a plain dict rather than Jinja's ChainMap over the
        # environment's: every render, include and layout copies them into a new context, and
        # iterating a ChainMap costs more than that copy. The environment's globals are set once
        # in __init__ and never changed, so nothing a ChainMap would show later is missed.
        return {**self.globals, **(d or {})}

    def call(__self, __context, __obj, *args, **kwargs):
        # every call a template makes (a macro, a method) checks the clock: a macro that
        # calls itself twice over runs long without a loop or any output
        if monotonic() > __self.deadline.at:
            raise LimitExceeded(TOO_SLOW)
        return super().call(__context, __obj, *args, **kwargs)

    def guard_loop(self, iterable):
        deadline = self.deadline
        for item in iterable:
            if monotonic() > deadline.at:
                raise LimitExceeded(TOO_SLOW)
            yield item


_DICT_ATTRIBUTES = frozenset(dir({}))


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _limited_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise LimitExceeded(f"range() of {len(numbers):,} numbers: at most {MAX_RANGE:,}")
    return numbers


# --- JSON bodies ---------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    """What `{{ value }}` prints in a NAME.json.j2 template: its JSON encoding, so a customer
    name with a quote cannot rewrite the body. Markup (the output of `tojson` and `safe`) is
    JSON text already and printed as it is; numbers print their own digits (a JSON number);
    dates print as "YYYY-MM-DD"; in lists and dicts, amounts print as decimal strings."""
    if isinstance(value, Markup) or (
        isinstance(value, int | float | Decimal | Undefined) and not isinstance(value, bool)
    ):
        return value  # an Undefined raises its error when printed
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)  # a Decimal's digits; an Undefined raises here


class MoneyFormatter:
    """babel's currency format, compiled once per (currency, locale): babel's own
    `format_currency` costs ~200 µs a call, and a run formats money for every message. Each
    text is kept per (amount, currency, locale): a run prints the same balances and totals in
    a message's subject, text and HTML and in its internal notice."""

    CACHED = 65_536  # texts kept; the cache starts again when full

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, str], tuple | None] = {}
        self._texts: dict[tuple, str] = {}

    def __call__(self, value: Decimal, currency: str, locale: str) -> str:
        # equal amounts print alike, except zero's sign: f"{Decimal('-0'):.2f}" is "-0.00"
        key = (value, value.is_signed(), currency, locale)
        text = self._texts.get(key)
        if text is None:
            if len(self._texts) >= self.CACHED:
                self._texts.clear()
            text = self._texts[key] = self._format(value, currency, locale)
        return text

    def _format(self, value: Decimal, currency: str, locale: str) -> str:
        key = (currency, locale)
        if key not in self._compiled:
            self._compiled[key] = self._compile(currency, locale)
        fmt = self._compiled[key]
        if fmt is None or value < 0:
            return format_currency(value, currency, locale=locale)
        return self._apply(fmt, value)

    @staticmethod
    def _apply(fmt: tuple, value: Decimal) -> str:
        prefix, suffix, table, digits = fmt
        return prefix + f"{value:,.{digits}f}".translate(table) + suffix

    def _compile(self, currency: str, locale: str) -> tuple | None:
        digits = get_currency_precision(currency)
        probe = format_currency(_PROBES[2], currency, locale=locale)
        m = re.search(r"1(?P<group>\D?)234(?P=group)567(?:(?P<decimal>\D)\d+)?", probe)
        if m is None:
            return None
        table = str.maketrans({",": m["group"], ".": m["decimal"] or "."})
        fmt = (probe[: m.start()], probe[m.end() :], table, digits)
        # only used where it reproduces babel exactly; otherwise babel formats every value
        if all(self._apply(fmt, v) == format_currency(v, currency, locale=locale) for v in _PROBES):
            return fmt
        return None


MONEY = MoneyFormatter()
# which template files each use of a template needs (html is optional for email)
NEEDS = {"email": ("subject", "txt"), "sms": ("sms",), "json": ("json",)}


def split_name(filename: str) -> tuple[str, str | None, str] | None:
    """(name, language, kind) of a template file: `reminder.txt.j2` → ("reminder", None,
    "txt"), `reminder.de.txt.j2` → ("reminder", "de", "txt"); None when it is no template
    file (a partial `_invoices.txt.j2` is one, though no workflow names it)."""
    if not filename.endswith(".j2"):
        return None
    parts = filename[:-3].rsplit(".", 2)
    if len(parts) < 2 or parts[-1] not in KINDS:
        return None
    if len(parts) == 3:
        try:
            locale_code(parts[1])
        except ValueError:
            return f"{parts[0]}.{parts[1]}", None, parts[2]
        return parts[0], parts[1], parts[2]
    return parts[0], None, parts[1]


class NotText(TemplateSyntaxError):
    """A template file that is not UTF-8: its message says where and what to do as it is."""


class _Loader(FileSystemLoader):
    """Jinja's file loader; a file that is not UTF-8 is a syntax error at its first bad byte."""

    def get_source(self, environment, template):
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError:
            path = Path(self.searchpath[0]) / template
            bad = bad_bytes(path.read_bytes())
            raise NotText(
                f"{bad.describe() if bad else 'not UTF-8 text'}; save the file as UTF-8",
                bad.line if bad else 1,
                template,
                str(path),
            ) from None


class Templates:
    """The templates folder: which NAME.KIND.j2 files exist, and a shared sandboxed environment
    (NAME.json.j2 files: an overlay of it that JSON-encodes every printed value)."""

    def __init__(self, directory: Path, locale: str, currency: str):
        self.directory = directory
        self.locale = locale
        self.currency = currency
        self.env = _Sandbox(
            loader=_Loader(str(directory)),
            undefined=StrictUndefined,
            autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
            keep_trailing_newline=False,
            auto_reload=False,  # one run reads each template once, not once per message
            # a plain dict of compiled templates: every include and layout is looked up in it,
            # and Jinja's LRU cache takes a lock and reorders a queue on each look-up; a
            # templates folder is small, so nothing needs evicting
            cache_size=-1,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["money"] = self._money
        self.env.filters["date"] = self._date
        self.env.filters["days"] = _days
        self.env.filters["phone"] = _phone
        # shares the loader, filters, globals and deadline; its own cache of compiled templates
        self.json_env = self.env.overlay(finalize=_json_value)
        self._loaded: dict[tuple[str, str, str | None], Template] = {}
        self._inline: dict[str, Template] = {}
        self._dates: dict[tuple, str] = {}
        self.kinds: dict[str, set[str]] = defaultdict(set)
        # NAME.LANG.KIND.j2: name → language code → its kinds, for customers of that language
        self.languages: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._spelled: dict[tuple[str, str], str] = {}  # (name, code) → LANG as the file has it
        if directory.is_dir():
            for path in sorted(directory.glob("*.j2")):
                found = split_name(path.name)
                if found is None:
                    continue
                name, language, kind = found
                if language is None:
                    self.kinds[name].add(kind)
                else:
                    code = locale_code(language)
                    self.languages[name][code].add(kind)
                    self._spelled[(name, code)] = language

    def filename(self, name: str, kind: str, language: str | None = None) -> str:
        if language is not None:
            return f"{name}.{self._spelled.get((name, language), language)}.{kind}.j2"
        return f"{name}.{kind}.j2"

    def missing(self, name: str, use: str) -> list[str]:
        """File names that `use` ("email", "sms", "json") of template `name` needs but lacks."""
        have = self.kinds.get(name, set())
        return [self.filename(name, k) for k in NEEDS[use] if k not in have]

    def has(self, name: str, kind: str) -> bool:
        return kind in self.kinds.get(name, ())

    def count(self) -> int:
        """How many template files there are, in every language."""
        return sum(len(k) for k in self.kinds.values()) + sum(
            len(k) for variants in self.languages.values() for k in variants.values()
        )

    def language_of(self, name: str, kind: str, language: str | None) -> str | None:
        """The language of the NAME.LANG.KIND.j2 a customer of `language` gets: its own
        (`de_CH`), else its language's (`de`); None for the default NAME.KIND.j2."""
        if language and name in self.languages:
            variants = self.languages[name]
            for code in fallbacks(language):
                if kind in variants.get(code, ()):
                    return code
        return None

    def render(self, name: str, kind: str, context: dict, language: str | None = None) -> str:
        """NAME.KIND.j2 rendered with `context`, in `language` where a NAME.LANG.KIND.j2 is
        there for it; any failure is a RenderError."""
        code = self.language_of(name, kind, language)
        key = (name, kind, code)
        try:
            template = self._loaded.get(key)
            if template is None:
                env = self.json_env if kind == "json" else self.env
                template = self._loaded[key] = env.get_template(self.filename(name, kind, code))
            return self._generate(template, context)
        except Exception as exc:
            raise RenderError(exc) from exc

    def render_string(self, text: str, context: dict) -> str:
        """An inline template from a workflow (task title, note text, status value), compiled
        once per run (compiling costs ~0.5 ms; a run renders the same few texts many times)."""
        try:
            template = self._inline.get(text)
            if template is None:
                template = self._inline[text] = self.env.from_string(text)
            return self._generate(template, context)
        except Exception as exc:
            raise RenderError(exc) from exc

    def _generate(self, template: Template, variables: dict) -> str:
        """Render piece by piece, stopping at MAX_OUTPUT characters; loops and calls inside
        the template stop it at MAX_SECONDS (`_Sandbox`).

        Only Jinja's public API: `Template.generate` yields the output piece by piece. A limit
        is thrown into that generator, so the error carries the template line that printed the
        piece going over it; `generate` rewrites a failing render's traceback to template
        lines, as `Template.render` does (so no failing render runs twice).

        Cost (benchmarks/bench_render.py, 20,000 renders, 2 cores, ratio to a plain
        `jinja2.Environment`'s `template.render` in the same run): reminder.txt 0.49,
        reminder.subject 0.57; Jinja's own `render` of the same sandboxed template, without the
        limits, 0.45 and 0.43. Both are below the plain environment because `_Sandbox` gives
        templates plain-dict globals and looks a context's `invoice.number` up as an item
        first (see there). `generate` is the only public way to stop a render as it grows."""
        deadline = self.env.deadline
        deadline.at = monotonic() + MAX_SECONDS
        chunks: list[str] = []
        size = 0
        pieces = cast(Generator[str, None, None], template.generate(variables))
        try:
            for chunk in pieces:
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_OUTPUT:
                    pieces.throw(LimitExceeded(TOO_LARGE))
        finally:
            deadline.at = float("inf")
        text = "".join(chunks).strip()
        if not text.isascii():
            try:
                text.encode()  # fails only on a surrogate; 5× faster than searching for one
            except UnicodeEncodeError:
                # half of a character (an emoji split in a source, `"\\ud83d"` in a template):
                # no mail, SMS or file can carry it, so it fails here, before anything is
                # recorded
                odd = cast(re.Match, _SURROGATE.search(text))
                raise ValueError(
                    f"it renders U+{ord(odd.group()):04X}, half of a character, "
                    "which cannot be written as UTF-8; fix the text it comes "
                    "from"
                ) from None
        return text

    @pass_context
    def _money(self, ctx, value, currency: str | None = None) -> str:
        amount = value if type(value) is Decimal and value.is_finite() else _amount(value)
        customer = ctx.get("customer") or {}
        if currency is None:
            currency = ctx.get("currency") or customer.get("currency") or self.currency
        return MONEY(amount, currency, customer.get("language") or self.locale)

    @pass_context
    def _date(self, ctx, value, fmt: str = "medium") -> str:
        locale = (ctx.get("customer") or {}).get("language") or self.locale
        day = value if type(value) is date else _day(value)
        key = (day, fmt, locale)
        text = self._dates.get(key)
        if text is None:  # babel takes ~0.1 ms a date; a run formats the same few again and again
            text = self._dates[key] = format_date(day, fmt, locale=locale)
        return text


def _days(value: Any) -> str:
    """`{{ n|days }}`: "1 day", "30 days" (a count of days as people write it)."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if not isinstance(value, int) or isinstance(value, bool):
        raise TemplateRuntimeError(
            f"{value!r} is not a number of days (the days filter "
            "writes e.g. {{ invoice.days_past_due|days }})"
        )
    return f"{value} day" if abs(value) == 1 else f"{value} days"


def _phone(value: Any) -> str:
    """`{{ customer.phone|phone }}`: a stored E.164 number as people read it."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return for_people(value) if isinstance(value, str) and value else ""


def _amount(value: Any) -> Decimal:
    """The `money` filter's value as a Decimal, or a readable error."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            amount = Decimal(value.strip() if isinstance(value, str) else value)
        except (decimal.InvalidOperation, ValueError):
            amount = Decimal("NaN")
    else:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise TemplateRuntimeError(
            f"{value!r} is not an amount (money formats numbers, "
            "e.g. {{ invoice.balance|money }})"
        )
    return amount


def _day(value: Any) -> date:
    """The `date` filter's value as a date, or a readable error."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise TemplateRuntimeError(
        f"{value!r} is not a date (the date filter formats dates, or text written YYYY-MM-DD)"
    )


def templates_for(config: Config) -> Templates:
    return Templates(
        config.resolve(config.templates), config.company.locale, config.company.currency
    )


# --- contexts ------------------------------------------------------------------------------
def invoice_context(inv: Invoice, as_of: date) -> dict:
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


def customer_context(customer: Customer) -> dict:
    return {
        "id": customer.customer_id,
        "customer_id": customer.customer_id,
        "name": customer.display_name,
        "email": list(customer.email),
        "phone": customer.phone,
        "specialist": customer.specialist,
        "segment": customer.segment,
        "currency": customer.currency,
        "language": customer.language,
        "parent_id": customer.parent_id,
        "extra": dict(customer.extra or {}),
    }


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
    buckets and, consolidating, each account's subtotal; the totals include paused invoices."""

    def name(cid: str) -> str:
        customer = customers.get(cid)
        return customer.display_name if customer is not None else cid

    invoices = [
        {**invoice_context(inv, as_of), "customer_name": name(inv.customer_id)}
        for inv in statement.listed
    ]
    groups = []
    for currency in statement.groups:
        shown = statement.shown.get(currency, Totals(ZERO, ZERO))
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
    return {**totals, "listed": listed}


def company_context(config: Config) -> dict:
    c = config.company
    return {"name": c.name, "email": c.email, "phone": c.phone, "currency": c.currency}


class _SampleExtra(dict):
    """`extra.ANYTHING` renders in the sample context when the source's columns are unknown
    (its file cannot be read where `validate` runs)."""

    def __missing__(self, key):
        return f"<{key}>"


def _sample_extra(samples: dict[str, str] | None) -> dict:
    return _SampleExtra() if samples is None else dict(samples)


SAMPLE_AS_OF = date(2026, 3, 16)


def sample_context(
    config: Config,
    *,
    invoice_extra: dict[str, str] | None = None,
    customer_extra: dict[str, str] | None = None,
    person: bool = True,
    paid: bool = False,
    statement: bool = True,
    as_of: date = SAMPLE_AS_OF,
) -> dict:
    """A full context with plausible values, to render every template in `validate`, in the
    shape of one use: `person` only for internal messages (notify), paid invoices for
    `on_paid`, `statement` and `conditions` only for campaigns; `extra` holds exactly the
    extra columns of the sources, with a real value of each (None: any name, as `<NAME>`)."""

    def sample(number: str, issue: date, due: date, amount: str) -> Invoice:
        return Invoice(
            number=number,
            customer_id="C001",
            issue_date=issue,
            due_date=due,
            amount=Decimal(amount),
            balance=ZERO if paid else None,
            paid_date=None,
            currency=config.company.currency,
            status="open",
            line=2,
            customer_name="Sample Customer Ltd",
            email=("ap@customer.example",),
            phone="+12025550123",
            terms="Net 30",
            product="hosting",
            segment="retail",
        )

    invs = [
        sample("INV-1001", date(2026, 1, 15), date(2026, 2, 14), "1250.00"),
        sample("INV-1002", date(2026, 2, 1), date(2026, 3, 3), "89.50"),
    ]
    items = [invoice_context(inv, as_of) for inv in invs]
    for item in items:
        item["extra"] = _sample_extra(invoice_extra)
    customer = customer_context(
        Customer(
            "C001",
            "Sample Customer Ltd",
            ("ap@customer.example",),
            "+12025550123",
            specialist="dana",
        )
    )
    customer["extra"] = _sample_extra(customer_extra)
    first = next(iter(config.people.values()), None)
    return {
        "company": company_context(config),
        "customer": customer,
        "invoices": items,
        "invoice": items[0],
        "totals": with_listed(
            totals_context(invs, as_of, invs[0].currency, config.min_balance), items
        ),
        "workflow": {"id": "sample", "name": "Sample workflow", "description": ""},
        "step": {"id": "overdue-30", "day": 30},
        "today": as_of,
        "person": (
            {
                "name": first.name if first else "Chris Doe",
                "email": first.email if first else "controller@company.example",
                "webhook": None,
            }
            if person
            else None
        ),
        "conditions": [
            {
                "metric": "overdue",
                "op": ">=",
                "value": Decimal("500"),
                "actual": Decimal("1250.00"),
                "currency": invs[0].currency,
                "held": True,
            }
        ]
        if statement
        else [],
        "statement": _sample_statement(invs, as_of) if statement else None,
        "currency": invs[0].currency,
        "payment_url": None,
        "reply": reply_context(
            {
                "kind": "reply",
                "sender": "Pat Lee <ap@customer.example>",
                "subject": "Re: Reminder: 2 invoices past due",
                "excerpt": "We paid INV-1001 yesterday, please check.",
                "received": "Mon, 16 Mar 2026 09:12:00 +0000",
                "pause_until": (as_of + timedelta(days=7)).isoformat(),
                "address": None,
            }
        ),
    }


def _sample_statement(invoices: list[Invoice], as_of: date) -> dict:
    """A consolidated statement of the sample customer and one branch account."""
    branch = [replace(inv, customer_id="C002", number=inv.number + "-B") for inv in invoices[1:]]
    listed = sorted([*invoices, *branch], key=lambda inv: (inv.due_date, inv.number))
    own, theirs = account_totals(invoices, as_of, CENT), account_totals(branch, as_of, CENT)
    family = {
        cur: Totals(t.outstanding + theirs[cur].outstanding, t.overdue + theirs[cur].overdue)
        for cur, t in own.items()
    }
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


_WEB_ADDRESS = re.compile(r"https?://[^\s/?#]+[^\s]*")


# no <link> stylesheet is fetched: a template's own <style> rules only
_INLINER = css_inline.CSSInliner(
    keep_style_tags=False, keep_link_tags=False, load_remote_stylesheets=False
)


def inline_css(html: str) -> str:
    """An HTML email with its <style> rules written into each tag's style="" (many email
    clients drop a <style> block); a tag's own style="" wins over a rule, as in a browser."""
    if "<style" not in html:
        return html
    return _INLINER.inline(html)


def payment_link(templates: Templates, text: str, context: dict) -> str | None:
    """`payment_url:` rendered with `context`, as a link: None when it renders empty (that
    invoice has no link), else an http(s) address with no space in it; or RenderError."""
    link = templates.render_string(text, context)
    if not link:
        return None
    if not _WEB_ADDRESS.fullmatch(link):
        raise RenderError(
            ValueError(
                f"it renders {link[:80]!r}, not a web address: it must start with https:// and "
                "hold no spaces"
            )
        )
    return link


def with_payment_links(context: dict, link: Callable[[dict], str | None]) -> dict:
    """`context` with `payment_url` set, and each invoice's: `link` renders `payment_url:`
    with the message's context and `invoice` set to the one invoice."""
    invoices = [
        {**item, "payment_url": link({**context, "invoice": item})} for item in context["invoices"]
    ]
    return {
        **context,
        "invoices": invoices,
        "invoice": invoices[0] if invoices else None,
        "payment_url": link(context),
    }


def reply_context(row: dict) -> dict:
    """`reply` in an inbox notice: the customer's message and what arflow did about it."""
    until = row.get("pause_until")
    return {
        "kind": row["kind"],
        "sender": row.get("sender") or "",
        "subject": row.get("subject") or "",
        "text": row.get("excerpt") or "",
        "received": row.get("received") or "",
        "address": row.get("address"),
        "paused_until": date.fromisoformat(until) if until else None,
    }


def template_error(exc: BaseException) -> tuple[str | None, int | None, str]:
    """(file, line, message) for an exception raised while rendering a template, for `PATH:LINE:
    message` reports: Jinja's errors, the limits, and any exception inside an expression or
    filter (`1/0`, a recursive macro), with a message a person can read. `file` is the
    template file the error is in (an included partial's, when it is there), None for an
    inline template."""
    line = getattr(exc, "lineno", None)
    file = getattr(exc, "name", None) if isinstance(exc, TemplateSyntaxError) else None
    if line is None:
        # runtime errors carry no line; Jinja rewrites the traceback to template lines
        tb = exc.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename.endswith(".j2") or filename == "<template>":
                line = tb.tb_lineno
                file = Path(filename).name if filename.endswith(".j2") else None
            tb = tb.tb_next
    return file, line, _describe(exc)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TemplateError):
        return exc.message or str(exc)
    if isinstance(exc, ZeroDivisionError):  # also Decimal's DivisionByZero and 0/0
        return "division by zero"
    if isinstance(exc, decimal.Overflow | OverflowError):
        return "a number is too large"
    if isinstance(exc, decimal.DecimalException):
        return "invalid arithmetic on an amount"
    if isinstance(exc, RecursionError):
        return "a macro or include calls itself without end (maximum recursion depth exceeded)"
    if isinstance(exc, MemoryError):
        return "out of memory"
    return str(exc) or type(exc).__name__


class MessageContexts:
    """The contexts of one run's messages (SPEC 5), each as `message_context` describes it,
    with the parts messages share built once: the company's, and a customer's own and its
    invoices' for as long as the messages are about that customer (a plan lists a customer's
    actions together, so this keeps one customer's parts at a time). A template cannot change
    a context (the sandbox is immutable), so one dict may serve several messages."""

    def __init__(self, config: Config, as_of: date):
        self.as_of = as_of
        self.company = company_context(config)
        self._customer: tuple[Customer, dict] | None = None
        self._invoices: dict[int, tuple[Invoice, dict]] = {}  # id → (invoice, its context)

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
        for inv in invoices:
            hit = known.get(id(inv))
            if hit is None or hit[0] is not inv:
                hit = known[id(inv)] = (inv, invoice_context(inv, self.as_of))
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
        }


def message_context(
    config: Config,
    customer: Customer,
    invoices: list[Invoice],
    totals: dict,
    as_of: date,
    workflow: dict,
    step: dict,
    person: dict | None = None,
) -> dict:
    """The context of one message (SPEC 5): `invoices` it is about, `totals` of the customer."""
    return MessageContexts(config, as_of)(customer, invoices, totals, workflow, step, person)
