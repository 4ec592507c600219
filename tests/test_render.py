"""Templates are sandboxed, HTML-escaped and strict about undefined names (SPEC 5)."""

import json
from datetime import date
from decimal import Decimal

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError

from arflow.render import RenderError, Templates


@pytest.fixture
def templates(tmp_path):
    def make(**files):
        for name, text in files.items():
            (tmp_path / name).write_text(text)
        return Templates(tmp_path, "en_US", "USD")

    return make


def test_html_is_escaped_text_is_not(templates):
    t = templates(**{"m.html.j2": "<p>{{ customer.name }}</p>", "m.txt.j2": "{{ customer.name }}"})
    ctx = {"customer": {"name": "<script>alert(1)</script> & Co"}}
    assert t.render("m", "html", ctx) == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</p>"
    assert t.render("m", "txt", ctx) == "<script>alert(1)</script> & Co"


@pytest.mark.parametrize(
    "source",
    [
        "{{ customer.__class__.__mro__ }}",
        "{{ ''.__class__.__subclasses__() }}",
        "{{ customer.name.format.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_sandbox_blocks_python_internals(templates, source):
    t = templates(**{"x.txt.j2": source})
    with pytest.raises(RenderError) as info:
        t.render("x", "txt", {"customer": {"name": "A"}})
    assert isinstance(info.value.cause, SecurityError | UndefinedError)


def test_sandbox_is_immutable(templates):
    t = templates(**{"x.txt.j2": "{{ invoices.append(1) }}"})
    with pytest.raises(RenderError) as info:
        t.render("x", "txt", {"invoices": []})
    assert isinstance(info.value.cause, SecurityError)


def test_undefined_is_an_error(templates):
    t = templates(**{"x.txt.j2": "{{ totals.overdeu }}"})
    with pytest.raises(RenderError) as info:
        t.render("x", "txt", {"totals": {"overdue": 1}})
    assert isinstance(info.value.cause, UndefinedError)
    assert info.value.message == "'dict object' has no attribute 'overdeu'"


@pytest.mark.parametrize(
    "source, line",
    [
        ("{{ totals.overdeu }}", 1),
        ("Dear {{ customer.name }},\n\nyou owe:\n{{ totals.overdeu|upper }}\nThanks\n", 4),
        (
            "{% for inv in invoices %}\n{{ inv.number }}\n\n{% if inv.days_past_due %}\n"
            "  {{ inv.missing }}\n{% endif %}\n{% endfor %}",
            5,
        ),
    ],
)
def test_runtime_errors_report_the_templates_own_line(templates, source, line):
    t = templates(**{"x.txt.j2": source})
    ctx = {
        "customer": {"name": "A"},
        "totals": {"overdue": 1},
        "invoices": [{"number": "N1", "days_past_due": 3}],
    }
    for _ in range(2):  # the first render loads the template, the second reuses it
        with pytest.raises(RenderError) as info:
            t.render("x", "txt", ctx)
        assert info.value.line == line


@pytest.mark.parametrize(
    "locale, currency, expected",
    [
        ("en_US", "USD", "$1,234.50"),
        ("de_DE", "EUR", "1.234,50\xa0€"),
        ("en_GB", "GBP", "£1,234.50"),
    ],
)
def test_money_in_the_customers_currency_and_language(tmp_path, locale, currency, expected):
    (tmp_path / "m.txt.j2").write_text("{{ amount|money }}")
    t = Templates(tmp_path, "en_US", "USD")
    ctx = {"amount": Decimal("1234.5"), "customer": {"language": locale, "currency": currency}}
    assert t.render("m", "txt", ctx) == expected


def test_dates_are_formatted_for_the_locale(templates):
    t = templates(**{"d.txt.j2": "{{ day|date }}"})
    assert (
        t.render("d", "txt", {"day": date(2026, 3, 16), "customer": {"language": "en_US"}})
        == "Mar 16, 2026"
    )


@pytest.mark.parametrize(
    "currency, locale",
    [
        ("USD", "en_US"),
        ("EUR", "de_DE"),
        ("EUR", "fr_FR"),
        ("INR", "en_IN"),
        ("JPY", "ja_JP"),
        ("CHF", "de_CH"),
        ("EUR", "es_ES"),
        ("GBP", "en_GB"),
        ("BHD", "ar_BH"),
        ("SEK", "sv_SE"),
    ],
)
def test_compiled_money_format_is_exactly_babels(currency, locale):
    import random

    from babel.numbers import format_currency

    from arflow.render import MoneyFormatter

    rng = random.Random(currency + locale)
    values = [
        Decimal(v) for v in ("0", "0.005", "0.015", "12.345", "999.995", "1234", "-5", "-1234.5")
    ]
    values += [Decimal(rng.randrange(10**10)) / 1000 for _ in range(200)]
    money = MoneyFormatter()
    assert [money(v, currency, locale) for v in values] == [
        format_currency(v, currency, locale=locale) for v in values
    ]


# --- limits ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source, expected",
    [
        ("{{ 2**10 }} {{ 2**-1 }} {{ 1.5**2 }} {{ 10**3000 > 0 }}", "1024 0.5 2.25 True"),
        (
            "{{ '-' * 5 }}{{ 3 * 'ab' }}{{ [1] * 2 }} {{ 6 * 7 }} {{ amount * 2 }}",
            "-----ababab[1, 1] 42 2.50",
        ),
        (
            "{% for i in range(3) %}{{ loop.index }}/{{ loop.length }}{{ ',' if not loop.last }}"
            "{% endfor %} {{ range(10000)|length }}",
            "1/3,2/3,3/3 10000",
        ),
        ("{% for inv in invoices if inv %}{{ inv }}{% else %}none{% endfor %}", "none"),
    ],
)
def test_ordinary_arithmetic_and_loops_are_not_limited(templates, source, expected):
    t = templates(**{"x.txt.j2": source})
    assert t.render("x", "txt", {"amount": Decimal("1.25"), "invoices": []}) == expected


@pytest.mark.parametrize(
    "source, line, message",
    [
        ("{{ 9**(9**9) }}", 1, "the ** or * operands are too large"),
        ("\n{{ 2**20000 }}", 2, "the ** or * operands are too large"),
        ("{{ (10**3000) * (10**1000) }}", 1, "the ** or * operands are too large"),
        ("{{ 'x' * 10**10 }}", 1, "the ** or * operands are too large"),
        ("{{ 10**6 * ['x', 'y'] }}", 1, "the ** or * operands are too large"),
        ("{{ range(10001)|list }}", 1, "range() of 10,001 numbers: at most 10,000"),
        (
            "a\n{% for i in range(10000) %}\n{% for j in range(10000) %}x{% endfor %}\n{% endfor %}",
            3,
            "too large (over 1 MB); look for a loop that prints more than it should",
        ),
    ],
)
def test_limits_stop_a_render_at_its_line(templates, source, line, message):
    t = templates(**{"x.txt.j2": source})
    with pytest.raises(RenderError) as info:
        t.render("x", "txt", {})
    assert (info.value.line, info.value.message) == (line, message)


def test_a_render_that_runs_long_stops_at_the_time_limit(templates, monkeypatch):
    monkeypatch.setattr("arflow.sandbox.MAX_SECONDS", 0.05)
    t = templates(
        **{
            "x.txt.j2": "{% set r = range(10000) %}{% for i in r %}{% for j in r %}"
            "{% endfor %}{% endfor %}",
            "m.txt.j2": "{% macro m(n) %}{% if n %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}"
            "{% endmacro %}\n{{ m(60) }}",
        }
    )
    for name in ("x", "m"):
        with pytest.raises(RenderError) as info:
            t.render(name, "txt", {})
        assert info.value.message == (
            "too slow (over 2 s); look for a loop or macro that runs more often than it should"
        )
    # outside a limited render (Jinja's own Template.render) loops are not stopped
    assert t.env.deadline.at == float("inf")


def test_an_inline_template_has_the_same_limits(templates):
    t = templates()
    with pytest.raises(RenderError) as info:
        t.render_string("Call {{ 9**(9**9) }}", {})
    assert info.value.message == "the ** or * operands are too large"


# --- exceptions inside a template --------------------------------------------------------------
@pytest.mark.parametrize(
    "source, line, message",
    [
        ("a\n{{ 1/0 }}", 2, "division by zero"),
        ("a\nb\n{{ amount / 0 }}", 3, "division by zero"),
        ("{{ 1 // 0.0 }}", 1, "division by zero"),
        (
            "a\n{{ 'garbage'|date }}",
            2,
            "'garbage' is not a date (the date filter formats dates, or text written YYYY-MM-DD)",
        ),
        (
            "{{ 5|date }}",
            1,
            "5 is not a date (the date filter formats dates, or text written YYYY-MM-DD)",
        ),
        (
            "a\n{{ name|money }}",
            2,
            "'abc' is not an amount (money formats numbers, e.g. {{ invoice.balance|money }})",
        ),
        (
            "{{ none|money }}",
            1,
            "None is not an amount (money formats numbers, e.g. {{ invoice.balance|money }})",
        ),
        (
            "{{ 'NaN'|money }}",
            1,
            "'NaN' is not an amount (money formats numbers, e.g. {{ invoice.balance|money }})",
        ),
        ("a\n\n{{ undefined_name|money }}", 3, "'undefined_name' is undefined"),
        ("{{ undefined_name|date }}", 1, "'undefined_name' is undefined"),
        (
            "{% macro m() %}\n{{ m() }}\n{% endmacro %}\n{{ m() }}",
            2,
            "a macro or include calls itself without end (maximum recursion depth exceeded)",
        ),
        ("{{ 1 + 'a' }}", 1, "unsupported operand type(s) for +: 'int' and 'str'"),
        ("{% if %}", 1, "Expected an expression, got 'end of statement block'"),
    ],
)
def test_an_exception_inside_a_template_is_a_render_error_with_its_line(
    templates, source, line, message
):
    t = templates(**{"x.txt.j2": source})
    for _ in range(2):  # the first render loads the template, the second reuses it
        with pytest.raises(RenderError) as info:
            t.render("x", "txt", {"amount": Decimal("5"), "name": "abc", "none": None})
        assert (info.value.line, info.value.message) == (line, message)


def test_money_and_date_take_numbers_and_iso_dates_written_as_text(templates):
    t = templates(**{"x.txt.j2": "{{ '1234.5'|money }} {{ 7|money }} {{ '2026-03-16'|date }}"})
    assert t.render("x", "txt", {}) == "$1,234.50 $7.00 Mar 16, 2026"


# --- JSON bodies -------------------------------------------------------------------------------
def test_values_in_a_json_template_are_json_encoded_once(templates):
    t = templates(
        **{
            "x.json.j2": '{"name": {{ name }}, "again": {{ name|tojson }}, '
            '"amount": {{ amount }}, "day": {{ day }}, "none": {{ none }}, '
            '"yes": {{ yes }}, "list": {{ list }}, '
            '"raw": {{ \'[1, 2]\'|safe }}, "joined": {{ name ~ "!" }}}',
            "x.txt.j2": "{{ name }} {{ none }}",
        }
    )
    ctx = {
        "name": 'Tail", "overdue": "0 <b>',
        "amount": Decimal("12.50"),
        "none": None,
        "yes": True,
        "day": date(2026, 3, 16),
        "list": ["a", Decimal("1.5"), date(2026, 1, 2)],
    }
    body = t.render("x", "json", ctx)
    assert '"amount": 12.50,' in body  # a Decimal prints its own digits, a JSON number
    assert json.loads(body) == {
        "name": 'Tail", "overdue": "0 <b>',
        "again": 'Tail", "overdue": "0 <b>',
        "amount": 12.5,
        "day": "2026-03-16",
        "none": None,
        "yes": True,
        "list": ["a", "1.5", "2026-01-02"],
        "raw": [1, 2],
        "joined": 'Tail", "overdue": "0 <b>!',
    }
    # other kinds print values as they are
    assert t.render("x", "txt", ctx) == 'Tail", "overdue": "0 <b> None'


def test_an_undefined_name_in_a_json_template_is_still_an_error(templates):
    t = templates(**{"x.json.j2": '{"a": {{ customer.nmae }}}'})
    with pytest.raises(RenderError) as info:
        t.render("x", "json", {"customer": {"name": "A"}})
    assert info.value.message == "'dict object' has no attribute 'nmae'"


def test_header_values_are_shown_with_visible_escapes():
    from arflow.channels import visible

    assert visible("Acme\r\nBcc: x\x00\u2028 Café\t") == "Acme\\r\\nBcc: x\\x00\\u2028 Café\\t"


# --- speed without a change of output (issue 14, item 3) ----------------------------------------
@pytest.mark.parametrize(
    "source",
    [
        "{{ d.a }} {{ d['a'] }} {{ d.get('a') }} {{ d._hidden }} {{ d.items()|list }}",
        "{{ d['items'] }} {{ d.items is defined }} {{ d.keys()|list|length }}",
        "{{ d.nope }}",
        "{{ d.pop('a') }}",
        "{{ d.update }}",
        "{{ d.__class__ }}",
        "{{ d.__class__.__mro__ }}",
        "{{ e.anything }} {{ e.x }}",
        "{{ d.n.deeper }}",
    ],
)
def test_names_on_a_contexts_dicts_resolve_as_in_jinjas_own_sandbox(templates, source):
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from arflow.contexts import _SampleExtra

    def outcome(render):
        try:
            return render()
        except Exception as exc:
            cause = getattr(exc, "cause", exc)
            return type(cause), str(cause)

    ctx = {"d": {"a": "A", "_hidden": "h", "items": "mine", "n": {}}, "e": _SampleExtra(x="X")}
    reference = ImmutableSandboxedEnvironment(undefined=StrictUndefined).from_string(source)
    t = templates(**{"x.txt.j2": source})
    assert outcome(lambda: t.render("x", "txt", ctx)) == outcome(lambda: reference.render(ctx))


def test_includes_and_layouts_see_the_limited_range(templates):
    t = templates(
        **{
            "x.txt.j2": "a\n{% include 'inc.txt.j2' %}",
            "inc.txt.j2": "{{ range(3)|list }}\n{{ range(10001)|list }}",
            "y.txt.j2": "{% extends 'layout.txt.j2' %}{% block b %}{{ range(10001) }}"
            "{% endblock %}",
            "layout.txt.j2": "{{ range(2)|list }} {% block b %}{% endblock %}",
        }
    )
    for name, line in (("x", 2), ("y", 1)):
        with pytest.raises(RenderError) as info:
            t.render(name, "txt", {})
        assert (info.value.line, info.value.message) == (
            line,
            "range() of 10,001 numbers: at most 10,000",
        )
    assert type(t.env.get_template("inc.txt.j2").globals) is dict  # not a ChainMap to copy
    assert type(t.env.cache) is dict  # not an LRU cache that locks on each include


def test_babel_formats_each_amount_once_and_kept_texts_are_babels(monkeypatch):
    from babel.numbers import format_currency

    import arflow.render
    from arflow.render import MoneyFormatter

    calls = []
    monkeypatch.setattr(
        arflow.render,
        "format_currency",
        lambda *a, **k: calls.append(a) or format_currency(*a, **k),
    )
    money = MoneyFormatter()
    values = [
        Decimal(v)
        for v in (
            "-5",
            "-5.00",
            "-5",
            "0",
            "-0",
            "0.00",
            "-0.00",
            "1.1",
            "1.10",
            "1234.5",
            "-1E+3",
            "-1000",
        )
    ]
    texts = [money(v, c, loc) for v in values for c, loc in (("USD", "en_US"), ("EUR", "de_DE"))]
    negative = [a for a in calls if a[0] < 0]  # not the probes compiling each format
    fresh = [
        MoneyFormatter()(v, c, loc)
        for v in values
        for c, loc in (("USD", "en_US"), ("EUR", "de_DE"))
    ]
    assert texts == fresh
    assert texts[:2] == [
        format_currency(Decimal("-5"), "USD", locale="en_US"),
        format_currency(Decimal("-5"), "EUR", locale="de_DE"),
    ]
    # -5 and -1000 once per (currency, locale)
    assert negative == [
        (Decimal("-5"), "USD"),
        (Decimal("-5"), "EUR"),
        (Decimal("-1E+3"), "USD"),
        (Decimal("-1E+3"), "EUR"),
    ]


def test_money_and_date_filters_read_currency_and_language_from_the_context(templates):
    t = templates(**{"x.txt.j2": "{{ a|money }} {{ a|money('JPY') }} {{ d|date }}"})
    ctx = {
        "a": Decimal("1234.5"),
        "d": date(2026, 3, 16),
        "currency": "EUR",
        "customer": {"language": "de_DE", "currency": "CHF"},
    }
    assert t.render("x", "txt", ctx) == "1.234,50\xa0€ 1.234\xa0¥ 16.03.2026"
    assert (
        t.render("x", "txt", {**ctx, "currency": None}) == "1.234,50\xa0CHF 1.234\xa0¥ 16.03.2026"
    )
    assert t.render("x", "txt", {"a": 7, "d": "2026-03-16"}) == "$7.00 ¥7 Mar 16, 2026"


@pytest.mark.parametrize(
    "value, expected",
    [
        (
            "a\ud83d",
            "it renders U+D83D, half of a character, which cannot be written as UTF-8; fix "
            "the text it comes from",
        ),
        (
            "Zoë \U0001f600 \udc00",
            "it renders U+DC00, half of a character, which cannot be written "
            "as UTF-8; fix the text it comes from",
        ),
        ("Zoë \U0001f600 — ok", None),
    ],
)
def test_half_a_character_fails_its_render(templates, value, expected):
    t = templates(**{"x.txt.j2": "{{ v }}"})
    if expected is None:
        assert t.render("x", "txt", {"v": value}) == value
    else:
        with pytest.raises(RenderError) as info:
            t.render("x", "txt", {"v": value})
        assert info.value.message == expected


def test_a_customers_number_is_checked_only_when_a_template_reads_it(templates):
    """A message's `customer` checks its phone number (and reports a bad one) the first time
    the template reads it, by name or by the whole mapping; a template that never shows it
    leaves it unchecked (issue 30)."""
    import pickle

    from arflow.contexts import customer_context
    from arflow.ledger import Customer
    from arflow.phones import GivenPhone

    problems: list = []

    def customer(number: str) -> dict:
        given = GivenPhone(number, "US", ("customers.csv", 2, "Mobile"), problems)
        return customer_context(Customer("C1", "One", ("a@x.example",), given))

    t = templates(
        **{
            "name.txt.j2": "{{ customer.name }}{% if customer %}!{% endif %} {{ customer|length }}",
            "phone.txt.j2": "[{{ customer.phone }}] [{{ customer['phone'] }}]",
            "all.txt.j2": "{{ customer|tojson }}",
        }
    )
    bad = customer("12")
    assert t.render("name", "txt", {"customer": bad}) == "One! 11"
    assert problems == []
    assert t.render("phone", "txt", {"customer": bad}) == "[None] [None]"
    assert [(p.file, p.line, p.column, p.value) for p in problems] == [
        ("customers.csv", 2, "Mobile", "12")
    ]
    good = customer("+1 202 555 0111")
    assert json.loads(t.render("all", "txt", {"customer": good})) == {
        "id": "C1",
        "customer_id": "C1",
        "name": "One",
        "email": ["a@x.example"],
        "phone": "+12025550111",
        "specialist": None,
        "segment": None,
        "currency": None,
        "language": None,
        "parent_id": None,
        "extra": {},
    }
    assert list(customer("+1 202 555 0122"))[3:5] == ["email", "phone"]
    assert customer("+1 202 555 0133").get("phone") == "+12025550133"
    assert "phone" in customer("99") and len(problems) == 1  # asking whether it is there
    printed = templates(**{"print.txt.j2": "{{ customer }}"}).render(
        "print", "txt", {"customer": customer("+1 202 555 0155")}
    )
    assert "'email': ['a@x.example'], 'phone': '+12025550155', 'specialist'" in printed
    copied = pickle.loads(pickle.dumps(customer("+1 202 555 0144")))
    assert type(copied) is dict and copied["phone"] == "+12025550144"
    assert len(problems) == 1
