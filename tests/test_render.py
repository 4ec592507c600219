"""Templates are sandboxed, HTML-escaped and strict about undefined names (SPEC 5)."""

from datetime import date
from decimal import Decimal

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError

from arflow.render import Templates, template_error


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


@pytest.mark.parametrize("source", [
    "{{ customer.__class__.__mro__ }}",
    "{{ ''.__class__.__subclasses__() }}",
    "{{ customer.name.format.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
])
def test_sandbox_blocks_python_internals(templates, source):
    t = templates(**{"x.txt.j2": source})
    with pytest.raises((SecurityError, UndefinedError)):
        t.render("x", "txt", {"customer": {"name": "A"}})


def test_sandbox_is_immutable(templates):
    t = templates(**{"x.txt.j2": "{{ invoices.append(1) }}"})
    with pytest.raises(SecurityError):
        t.render("x", "txt", {"invoices": []})


def test_undefined_is_an_error(templates):
    t = templates(**{"x.txt.j2": "{{ totals.overdeu }}"})
    with pytest.raises(UndefinedError):
        t.render("x", "txt", {"totals": {"overdue": 1}})


@pytest.mark.parametrize("source, line", [
    ("{{ totals.overdeu }}", 1),
    ("Dear {{ customer.name }},\n\nyou owe:\n{{ totals.overdeu|upper }}\nThanks\n", 4),
    ("{% for inv in invoices %}\n{{ inv.number }}\n\n{% if inv.days_past_due %}\n"
     "  {{ inv.missing }}\n{% endif %}\n{% endfor %}", 5),
])
def test_runtime_errors_report_the_templates_own_line(templates, source, line):
    t = templates(**{"x.txt.j2": source})
    ctx = {"customer": {"name": "A"}, "totals": {"overdue": 1},
           "invoices": [{"number": "N1", "days_past_due": 3}]}
    for _ in range(2):  # the first render loads the template, the second reuses it
        with pytest.raises(UndefinedError) as info:
            t.render("x", "txt", ctx)
        assert template_error(info.value)[0] == line


@pytest.mark.parametrize("locale, currency, expected", [
    ("en_US", "USD", "$1,234.50"), ("de_DE", "EUR", "1.234,50\xa0€"), ("en_GB", "GBP", "£1,234.50"),
])
def test_money_in_the_customers_currency_and_language(tmp_path, locale, currency, expected):
    (tmp_path / "m.txt.j2").write_text("{{ amount|money }}")
    t = Templates(tmp_path, "en_US", "USD")
    ctx = {"amount": Decimal("1234.5"), "customer": {"language": locale, "currency": currency}}
    assert t.render("m", "txt", ctx) == expected


def test_dates_are_formatted_for_the_locale(templates):
    t = templates(**{"d.txt.j2": "{{ day|date }}"})
    assert t.render("d", "txt", {"day": date(2026, 3, 16), "customer": {"language": "en_US"}}) == "Mar 16, 2026"


@pytest.mark.parametrize("currency, locale", [
    ("USD", "en_US"), ("EUR", "de_DE"), ("EUR", "fr_FR"), ("INR", "en_IN"), ("JPY", "ja_JP"),
    ("CHF", "de_CH"), ("EUR", "es_ES"), ("GBP", "en_GB"), ("BHD", "ar_BH"), ("SEK", "sv_SE"),
])
def test_compiled_money_format_is_exactly_babels(currency, locale):
    import random

    from babel.numbers import format_currency

    from arflow.render import MoneyFormatter

    rng = random.Random(currency + locale)
    values = [Decimal(v) for v in ("0", "0.005", "0.015", "12.345", "999.995", "1234", "-5", "-1234.5")]
    values += [Decimal(rng.randrange(10**10)) / 1000 for _ in range(200)]
    money = MoneyFormatter()
    assert [money(v, currency, locale) for v in values] == [
        format_currency(v, currency, locale=locale) for v in values]
