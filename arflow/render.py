"""Templates (SPEC 5): sandboxed Jinja2, undefined variables are errors, HTML auto-escaped,
values in JSON bodies JSON-encoded, and every render limited in size and time."""

from __future__ import annotations

import decimal
import json
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import css_inline
from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateRuntimeError,
    TemplateSyntaxError,
    Undefined,
    pass_context,
)
from jinja2.runtime import Context
from markupsafe import Markup

from arflow.config import Config
from arflow.locales import fallbacks, locale_code
from arflow.phones import for_people
from arflow.sandbox import Sandbox
from arflow.textfile import bad_bytes

KINDS = ("subject", "txt", "html", "sms", "json")
_PROBES = (Decimal("5"), Decimal("1234.5"), Decimal("1234567.891"), Decimal("0.125"))


class RenderError(Exception):
    """A template could not be rendered, for whatever reason (syntax, an undefined name, a
    limit, an exception in an expression or filter): `line` in the template where known, and
    a message a person can act on. `cause` is the original exception."""

    def __init__(self, cause: BaseException):
        self.cause = cause
        self.file, self.line, self.message = template_error(cause)
        super().__init__(self.message)


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

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
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
        self.env = Sandbox(
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
        # `payment_url:`: every printed value marked, to be percent-encoded where it lands
        self.url_env = self.env.overlay(finalize=_url_value)
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
            return self.env.render_limited(template, context)
        except Exception as exc:
            raise RenderError(exc) from exc

    def render_string(self, text: str, context: dict) -> str:
        """An inline template from a workflow (task title, note text, status value), compiled
        once per run (compiling costs ~0.5 ms; a run renders the same few texts many times)."""
        try:
            template = self._inline.get(text)
            if template is None:
                template = self._inline[text] = self.env.from_string(text)
            return self.env.render_limited(template, context)
        except Exception as exc:
            raise RenderError(exc) from exc

    def render_url(self, text: str, context: dict) -> str:
        """`text` rendered as a link: a value printed after the link's start is
        percent-encoded (`Amy's Bird Sanctuary` → `Amy%27s%20Bird%20Sanctuary`; a `%XX` in it
        is kept), one printed at its very start (`{{ invoice.extra.PayLink }}`) is as is."""
        try:
            template = self._inline.get("\0url" + text)
            if template is None:
                template = self._inline["\0url" + text] = self.url_env.from_string(text)
            rendered = self.env.render_limited(template, context)
        except Exception as exc:
            raise RenderError(exc) from exc
        link = ""
        for n, part in enumerate(_MARKED.split(rendered)):
            link += _percent_encoded(part) if n % 2 and link else part
        return link

    @pass_context
    def _money(self, ctx: Context, value: Any, currency: str | None = None) -> str:
        amount = value if type(value) is Decimal and value.is_finite() else _amount(value)
        customer = ctx.get("customer") or {}
        if currency is None:
            currency = ctx.get("currency") or customer.get("currency") or self.currency
        return MONEY(amount, currency, _language(ctx) or self.locale)

    @pass_context
    def _date(self, ctx: Context, value: Any, fmt: str = "medium") -> str:
        locale = _language(ctx) or self.locale
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


_MARKED = re.compile("\ue000(.*?)\ue001", re.S)
_NOT_IN_A_SEGMENT = re.compile(r"%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~%]")


def _url_value(value: Any) -> str:
    text = "" if value is None else str(value)
    return "\ue000" + text.replace("\ue000", "").replace("\ue001", "") + "\ue001"


def _percent_encoded(text: str) -> str:
    """`text` safe in a link's path segment or query value: every byte but letters, digits,
    `-._~` and a `%XX` already there written `%XX`."""
    return _NOT_IN_A_SEGMENT.sub(lambda m: quote(m[0], safe=""), text)


def payment_link(templates: Templates, text: str, context: dict) -> str | None:
    """`payment_url:` rendered with `context`, as a link: None when it renders empty (that
    invoice has no link), else an http(s) address with no space in it; or RenderError."""
    link = templates.render_url(text, context)
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


def _language(ctx: Context) -> str | None:
    """The language money and dates are written in: the contact's the message speaks to
    (issue 33), else the customer's."""
    contact = ctx.get("contact") or {}
    return contact.get("language") or (ctx.get("customer") or {}).get("language")
