"""Templates (SPEC 5): sandboxed Jinja2, undefined variables are errors, HTML auto-escaped."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision
from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateError, pass_context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from arflow.config import Config
from arflow.ledger import ZERO, Customer, Invoice

KINDS = ("subject", "txt", "html", "sms", "json")
_PROBES = (Decimal("5"), Decimal("1234.5"), Decimal("1234567.891"), Decimal("0.125"))


class MoneyFormatter:
    """babel's currency format, compiled once per (currency, locale): babel's own
    `format_currency` costs ~200 µs a call, and a run formats money for every message."""

    def __init__(self):
        self._compiled: dict[tuple[str, str], tuple | None] = {}

    def __call__(self, value: Decimal, currency: str, locale: str) -> str:
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
        fmt = (probe[:m.start()], probe[m.end():], table, digits)
        # only used where it reproduces babel exactly; otherwise babel formats every value
        if all(self._apply(fmt, v) == format_currency(v, currency, locale=locale) for v in _PROBES):
            return fmt
        return None


MONEY = MoneyFormatter()
# which template files each use of a template needs (html is optional for email)
NEEDS = {"email": ("subject", "txt"), "sms": ("sms",), "json": ("json",)}


class Templates:
    """The templates folder: which NAME.KIND.j2 files exist, and a shared sandboxed environment."""

    def __init__(self, directory: Path, locale: str, currency: str):
        self.directory = directory
        self.locale = locale
        self.currency = currency
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
            keep_trailing_newline=False,
            auto_reload=False,  # one run reads each template once, not once per message
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["money"] = self._money
        self.env.filters["date"] = self._date
        self._loaded: dict[tuple[str, str], tuple[Template, dict]] = {}
        self._inline: dict[str, Template] = {}
        self._dates: dict[tuple, str] = {}
        self.kinds: dict[str, set[str]] = defaultdict(set)
        if directory.is_dir():
            for path in sorted(directory.glob("*.j2")):
                parts = path.name[:-3].rsplit(".", 1)
                if len(parts) == 2 and parts[1] in KINDS:
                    self.kinds[parts[0]].add(parts[1])

    def filename(self, name: str, kind: str) -> str:
        return f"{name}.{kind}.j2"

    def missing(self, name: str, use: str) -> list[str]:
        """File names that `use` ("email", "sms", "json") of template `name` needs but lacks."""
        have = self.kinds.get(name, set())
        return [self.filename(name, k) for k in NEEDS[use] if k not in have]

    def has(self, name: str, kind: str) -> bool:
        return kind in self.kinds.get(name, ())

    def render(self, name: str, kind: str, context: dict) -> str:
        key = (name, kind)
        loaded = self._loaded.get(key)
        if loaded is None:
            template = self.env.get_template(self.filename(name, kind))
            # Template.render merges its globals (a ChainMap, read in Python) into every
            # context; merged once here, each render starts from a plain dict copy
            loaded = self._loaded[key] = (template, dict(template.globals))
        template, base = loaded
        # Only Jinja's documented high-level API (Template.make_module, .render, .globals).
        # make_module(vars, shared=True) renders with `vars` as the whole context: the globals
        # are merged in above once per template, not into every context as Template.render
        # does (dict() of a ChainMap, read in Python). Per render, 20,000 renders, median of
        # 3, as a ratio to template.render(ctx) in the same run (benchmarks/bench_render.py,
        # 2 cores): reminder.txt 0.89-0.92, reminder.subject 0.68-0.71; the low-level
        # root_render_func + new_context it replaces: 0.87-0.88 and 0.63; Template.generate,
        # timed the same way: 1.02-1.03. make_module does not rewrite a failing render's
        # traceback to template lines, so on an error the template is rendered again by
        # Template.render, which re-raises the same error with the template's own line
        # numbers (rendering has no side effects).
        try:
            return str(template.make_module({**base, **context}, shared=True)).strip()
        except Exception:
            pass
        return template.render(context).strip()

    def render_string(self, text: str, context: dict) -> str:
        """An inline template from a workflow (task title, note text, status value), compiled
        once per run (compiling costs ~0.5 ms; a run renders the same few texts many times)."""
        template = self._inline.get(text)
        if template is None:
            template = self._inline[text] = self.env.from_string(text)
        return template.render(context).strip()

    @pass_context
    def _money(self, ctx, value, currency: str | None = None) -> str:
        if currency is None:
            customer = ctx.get("customer") or {}
            currency = ctx.get("currency") or customer.get("currency") or self.currency
        locale = (ctx.get("customer") or {}).get("language") or self.locale
        return MONEY(Decimal(value), currency, locale)

    @pass_context
    def _date(self, ctx, value, fmt: str = "medium") -> str:
        locale = (ctx.get("customer") or {}).get("language") or self.locale
        if isinstance(value, str):
            value = date.fromisoformat(value)
        key = (value, fmt, locale)
        text = self._dates.get(key)
        if text is None:  # babel takes ~0.1 ms a date; a run formats the same few again and again
            text = self._dates[key] = format_date(value, fmt, locale=locale)
        return text


def templates_for(config: Config) -> Templates:
    return Templates(config.resolve(config.templates), config.company.locale,
                     config.company.currency)


# --- contexts ------------------------------------------------------------------------------
def invoice_context(inv: Invoice, as_of: date) -> dict:
    return {
        "number": inv.number, "customer_id": inv.customer_id, "issue_date": inv.issue_date,
        "due_date": inv.due_date, "amount": inv.amount, "balance": inv.open_balance(as_of),
        "currency": inv.currency, "days_past_due": inv.days_past_due(as_of),
        "status": inv.status, "terms": inv.terms, "product": inv.product,
        "location": inv.location, "department": inv.department, "segment": inv.segment,
        "tags": list(inv.tags), "extra": dict(inv.extra or {}),
    }


def customer_context(customer: Customer) -> dict:
    return {
        "id": customer.customer_id, "customer_id": customer.customer_id,
        "name": customer.display_name, "email": list(customer.email), "phone": customer.phone,
        "specialist": customer.specialist, "segment": customer.segment,
        "currency": customer.currency, "language": customer.language,
        "parent_id": customer.parent_id, "extra": dict(customer.extra or {}),
    }


def totals_context(invoices: list[Invoice], as_of: date, currency: str) -> dict:
    """Outstanding and overdue of all the customer's existing invoices, per currency."""
    by_currency: dict[str, dict[str, Decimal]] = {}
    for inv in invoices:
        if inv.issue_date > as_of or inv.status in ("draft", "void"):
            continue
        balance = inv.open_balance(as_of)
        if not balance:
            continue
        bucket = by_currency.setdefault(inv.currency, {"outstanding": ZERO, "overdue": ZERO})
        bucket["outstanding"] += balance
        if inv.due_date < as_of and balance > 0:
            bucket["overdue"] += balance
    main = by_currency.get(currency, {"outstanding": ZERO, "overdue": ZERO})
    return {"outstanding": main["outstanding"], "overdue": main["overdue"], "currency": currency,
            "by_currency": by_currency}


def company_context(config: Config) -> dict:
    c = config.company
    return {"name": c.name, "email": c.email, "phone": c.phone, "currency": c.currency}


class _SampleExtra(dict):
    """`extra.ANYTHING` renders in the sample context when the source's columns are unknown
    (its file cannot be read where `validate` runs)."""

    def __missing__(self, key):
        return f"<{key}>"


def _sample_extra(columns: list[str] | None) -> dict:
    if columns is None:
        return _SampleExtra()
    return {name: f"<{name}>" for name in columns}


SAMPLE_AS_OF = date(2026, 3, 16)


def sample_context(config: Config, *, invoice_extra: list[str] | None = None,
                   customer_extra: list[str] | None = None, person: bool = True,
                   paid: bool = False, as_of: date = SAMPLE_AS_OF) -> dict:
    """A full context with plausible values, to render every template in `validate`, in the
    shape of one use: `person` only for internal messages (notify), paid invoices for
    `on_paid`; `extra` holds exactly the extra columns of the sources (None: any name)."""
    def sample(number: str, issue: date, due: date, amount: str) -> Invoice:
        return Invoice(number=number, customer_id="C001", issue_date=issue, due_date=due,
                       amount=Decimal(amount), balance=ZERO if paid else None, paid_date=None,
                       currency=config.company.currency, status="open", line=2,
                       customer_name="Sample Customer Ltd", email=("ap@customer.example",),
                       phone="+12025550123", terms="Net 30", product="hosting",
                       segment="retail")
    invs = [sample("INV-1001", date(2026, 1, 15), date(2026, 2, 14), "1250.00"),
            sample("INV-1002", date(2026, 2, 1), date(2026, 3, 3), "89.50")]
    items = [invoice_context(inv, as_of) for inv in invs]
    for item in items:
        item["extra"] = _sample_extra(invoice_extra)
    customer = customer_context(Customer("C001", "Sample Customer Ltd", ("ap@customer.example",),
                                         "+12025550123", specialist="dana"))
    customer["extra"] = _sample_extra(customer_extra)
    first = next(iter(config.people.values()), None)
    return {
        "company": company_context(config), "customer": customer, "invoices": items,
        "invoice": items[0], "totals": totals_context(invs, as_of, invs[0].currency),
        "workflow": {"id": "sample", "name": "Sample workflow", "description": ""},
        "step": {"id": "overdue-30", "day": 30}, "today": as_of,
        "person": ({"name": first.name if first else "Chris Doe",
                    "email": first.email if first else "controller@company.example",
                    "webhook": None} if person else None),
        "conditions": [{"metric": "overdue", "op": ">=", "value": Decimal("500"),
                        "actual": Decimal("1250.00"), "held": True}],
        "currency": invs[0].currency,
    }


def template_error(exc: TemplateError) -> tuple[int | None, str]:
    """(line, message) for a Jinja error, for `PATH:LINE: message` reports."""
    line = getattr(exc, "lineno", None)
    if line is None:
        # runtime errors carry no line; Jinja rewrites the traceback to template lines
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.endswith(".j2") or \
                    tb.tb_frame.f_code.co_filename == "<template>":
                line = tb.tb_lineno
            tb = tb.tb_next
    return line, getattr(exc, "message", None) or str(exc)


def message_context(config: Config, customer: Customer, invoices: list[Invoice],
                    totals: dict, as_of: date, workflow: dict, step: dict,
                    person: dict | None = None) -> dict:
    """The context of one message (SPEC 5): `invoices` it is about, `totals` of the customer."""
    items = [invoice_context(inv, as_of) for inv in invoices]
    currency = totals["currency"]
    return {
        "company": company_context(config), "customer": customer_context(customer),
        "invoices": items, "invoice": items[0] if items else None,
        "totals": totals, "workflow": workflow,
        "step": step, "today": as_of, "person": person, "conditions": [], "currency": currency,
    }
