"""The messages customers get: a template in the customer's language with money and dates
written its way, a payment link, and HTML with its CSS written into each tag."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import date
from pathlib import Path

import pytest

from arflow.render import split_name
from arflow.scaffold import write_scaffold
from tests.conftest import unstamped
from tests.servers import HttpServer

CUSTOMERS = """\
customer_id,name,email,phone,language
D1,Müller GmbH,buchhaltung@mueller.example,+49 30 1234567,de
D2,Huber AG,office@huber.example,,de-AT
E1,Northwind Traders,ap@northwind.example,,
F1,Dupont SARL,compta@dupont.example,,fr
"""

INVOICES = """\
number,customer_id,issue_date,terms,amount,currency,status,PayLink
R-1,D1,2026-02-07,Net 30,1234.56,EUR,open,https://pay.example/r1
R-2,D2,2026-02-07,Net 30,99.00,EUR,open,
R-3,E1,2026-02-07,Net 30,1234.56,USD,open,https://pay.example/r3
R-4,F1,2026-02-07,Net 30,1234.56,EUR,open,https://pay.example/r4
"""


@pytest.fixture
def shop(tmp_path) -> Path:
    """The example folder with the library's templates, and four customers: German, Austrian
    (de-AT), none and French; each has one invoice at its 7-day reminder on 2026-03-16."""
    folder = tmp_path / "a"
    write_scaffold(folder, date(2026, 3, 16))
    (folder / "customers.csv").write_text(CUSTOMERS)
    (folder / "invoices.csv").write_text(INVOICES)
    return folder / "arflow.yaml"


def set_payment_url(config: Path, value: str | None) -> None:
    text = config.read_text()
    line = next(line for line in text.splitlines() if line.startswith("payment_url:"))
    config.write_text(text.replace(line, f"payment_url: {value!r}" if value else ""))


def emails(config: Path) -> dict[str, email.message.EmailMessage]:
    """The outbox's emails by customer id."""
    found = {}
    for path in sorted((config.parent / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found[path.name.split("-")[3]] = message
    return found


def text_of(message, kind: str) -> str:
    return message.get_body((kind,)).get_content()


# --- per-language templates ------------------------------------------------------------------
def test_a_german_customer_gets_the_german_template_and_german_money(shop, cli):
    cli("run", "--as-of", "2026-03-16", "--config", shop)
    sent = emails(shop)
    assert sorted(sent) == ["D1", "D2", "E1", "F1"]
    german = sent["D1"]
    assert german["Subject"] == "Zahlungserinnerung: 1 Rechnung überfällig (1.234,56\xa0€)"
    assert text_of(german, "plain").splitlines()[:5] == [
        "Guten Tag Müller GmbH,",
        "",
        "laut unseren Unterlagen ist die folgende Rechnung überfällig:",
        "",
        "  R-1            fällig 09.03.2026  1.234,56\xa0€  (7 Tage überfällig)",
    ]
    html = text_of(german, "html")
    assert '<html lang="de">' in html and "<th" in html and ">Rechnung</th>" in html
    assert (
        ' style="border-bottom: 1px solid #e4e7eb;text-align: right;">1.234,56&nbsp;€</td>' in html
    )
    # de-AT has no file of its own: the German one, money written the Austrian way
    assert sent["D2"]["Subject"] == "Zahlungserinnerung: 1 Rechnung überfällig (€\xa099,00)"
    # no language: the default template, the company's locale
    assert sent["E1"]["Subject"] == "Reminder: 1 invoice past due ($1,234.56)"
    assert text_of(sent["E1"], "plain").startswith("Dear Northwind Traders,")
    assert '<html lang="en">' in text_of(sent["E1"], "html")
    # a language with no templates: the default template, money and dates in that language
    assert sent["F1"]["Subject"] == "Reminder: 1 invoice past due (1\u202f234,56\xa0€)"
    assert (
        "  R-4            due 9 mars 2026  1\u202f234,56\xa0€  (7 days past due)"
        in text_of(sent["F1"], "plain").splitlines()
    )
    # the SMS in German too
    (sms,) = (shop.parent / "outbox").glob("*-D1-*.sms.txt")
    assert sms.read_text().splitlines()[-1] == (
        "Acme Supplies Ltd: 1 Rechnung überfällig, insgesamt 1.234,56\xa0€. Bezahlen unter "
        "https://pay.acme.example/D1 oder rufen Sie +1 202 555 0100 an."
    )


def test_an_internal_notice_stays_in_the_companys_language(shop, cli):
    """A notify about a German customer goes to staff: the default template, not the
    customer's language file, even where one exists."""
    templates = shop.parent / "templates"
    (templates / "internal-past-due.de.subject.j2").write_text("DEUTSCH {{ customer.name }}")
    (templates / "internal-past-due.de.txt.j2").write_text("DEUTSCH")
    workflow = shop.parent / "workflows" / "net30-standard.yaml"
    workflow.write_text(
        workflow.read_text().replace(
            "      - sms: reminder\n",
            "      - sms: reminder\n"
            "      - notify: {to: controller, template: internal-past-due}\n",
        )
    )
    cli("run", "--as-of", "2026-03-16", "--config", shop)
    subjects = sorted(
        m["Subject"]
        for m in emails(shop).values()
        if m["To"] == "Chris Doe <controller@acme.example>"
    )
    assert len(subjects) == 4 and not any("DEUTSCH" in s for s in subjects)


def test_a_language_code_is_read_the_one_way_and_a_bad_one_is_reported(shop, cli):
    (shop.parent / "customers.csv").write_text(CUSTOMERS.replace(",de-AT\n", ",German\n"))
    result = cli("run", "--as-of", "2026-03-16", "--config", shop, expect=3)
    assert (
        "error\tcustomers.csv:3: language: 'German' is not a language code babel knows; "
        "write one such as de, fr or de_CH (language, then an optional country)"
    ) in result.stdout.splitlines()
    assert sorted(emails(shop)) == ["D1", "E1", "F1"]  # that customer is held back, only
    listed = cli("customers", "--config", shop, expect=3).stdout.splitlines()
    assert "D2\tD2\t—\t—\t1\t€99.00\tno email, no phone" in listed


def test_validate_renders_each_language_file_and_wants_all_its_parts(shop, cli):
    templates = shop.parent / "templates"
    (templates / "reminder.de.html.j2").unlink()
    (templates / "reminder.de.sms.j2").write_text("{{ customer.nmae }}")
    result = cli("validate", "--config", shop, expect=1)
    assert unstamped(result.stderr).splitlines() == [
        "templates/reminder.de.html.j2: missing: reminder.de.sms.j2 is there, so a customer "
        "whose language is de would get this part from reminder.html.j2, in the default "
        "language; add it",
        "templates/reminder.de.sms.j2:1: customer has no field 'nmae'; its fields are currency,"
        " customer_id, email, extra, id, language, name, parent_id, phone, segment, specialist",
        "2 problem(s) found; nothing was done.",
    ]


def test_a_template_file_name_says_its_language():
    assert split_name("reminder.txt.j2") == ("reminder", None, "txt")
    assert split_name("reminder.de.txt.j2") == ("reminder", "de", "txt")
    assert split_name("reminder.de_CH.subject.j2") == ("reminder", "de_CH", "subject")
    assert split_name("past-due.v2.txt.j2") == ("past-due.v2", None, "txt")  # not a language
    assert split_name("_invoices.de.txt.j2") == ("_invoices", "de", "txt")
    assert split_name("notes.md.j2") is None and split_name("reminder.txt") is None


# --- the payment link ------------------------------------------------------------------------
def test_the_payment_link_in_text_html_and_sms(shop, cli):
    cli("run", "--as-of", "2026-03-16", "--config", shop)
    english = emails(shop)["E1"]
    assert "  Pay online: https://pay.acme.example/E1" in text_of(english, "plain").splitlines()
    button = re.search(
        r'<a class="pay" href="([^"]+)" style="([^"]+)">Pay online</a>', text_of(english, "html")
    )
    assert button and button[1] == "https://pay.acme.example/E1"
    assert "background: #2f6fde" in button[2]


def test_values_printed_into_the_payment_link_are_percent_encoded(shop, cli):
    """QuickBooks keys customers by name: `{{ customer.id }}` of "Amy's Bird Sanctuary" makes
    a working link; a value printed at the link's start (a whole address) is left as is."""
    for name in ("customers.csv", "invoices.csv"):
        path = shop.parent / name
        path.write_text(path.read_text().replace("E1,", "Amy's Bird Sanctuary,"))
    set_payment_url(shop, "https://pay.acme.example/{{ customer.id }}?n={{ invoice.number }}&a=#")
    cli("run", "--as-of", "2026-03-16", "--config", shop)
    (amy,) = [m for m in emails(shop).values() if "ap@northwind.example" in m["To"]]
    link = "https://pay.acme.example/Amy%27s%20Bird%20Sanctuary?n=R-3&a=#"
    assert f"  Pay online: {link}" in text_of(amy, "plain").splitlines()
    assert f'<a class="pay" href="{link.replace("&", "&amp;")}"' in text_of(amy, "html")


def test_a_payment_link_per_invoice_from_a_column(shop, cli):
    """`payment_url: "{{ invoice.extra.PayLink }}"`: each invoice's own link; an invoice with
    none gets no link and no line."""
    set_payment_url(shop, "{{ invoice.extra.PayLink }}")
    with (shop.parent / "invoices.csv").open("a") as f:
        f.write("R-5,E1,2026-02-06,Net 30,10.00,USD,open,https://pay.example/r5\n")
    cli("run", "--as-of", "2026-03-16", "--config", shop)
    sent = emails(shop)
    assert "  Online bezahlen: https://pay.example/r1" in text_of(sent["D1"], "plain").splitlines()
    # two invoices: the message's link is the first invoice's (R-5, due first), the other's
    # is on its number
    html = text_of(sent["E1"], "html")
    assert re.findall(r'<a (?:class="pay" )?href="([^"]+)"[^>]*>([^<]+)</a>', html) == [
        ("https://pay.example/r3", "R-3"),
        ("https://pay.example/r5", "Pay online"),
        ("mailto:ar@acme.example", "ar@acme.example"),
    ]
    assert "bezahlen" not in text_of(sent["D2"], "plain")
    assert 'class="pay"' not in text_of(sent["D2"], "html")


def test_without_payment_url_no_link_is_shown(shop, cli):
    set_payment_url(shop, None)
    cli("run", "--as-of", "2026-03-16", "--config", shop)
    for message in emails(shop).values():
        assert "pay.acme.example" not in message.as_string()
        assert "Pay online" not in text_of(message, "plain")


def test_a_payment_link_that_is_no_address_stops_that_message_only(shop, cli):
    set_payment_url(shop, "{{ 'pay here' if customer.id == 'D1' else invoice.extra.PayLink }}")
    result = cli("run", "--as-of", "2026-03-16", "--config", shop, expect=3)
    line = next(
        n
        for n, text in enumerate(shop.read_text().splitlines(), 1)
        if text.startswith("payment_url:")
    )
    assert (
        f"error\tarflow.yaml:{line}: payment_url: cannot make the payment link for "
        "customer D1: it renders 'pay here', not a web address: it must start with "
        "https:// and hold no spaces"
    ) in result.stdout.splitlines()
    assert sorted(emails(shop)) == ["D2", "E1", "F1"]


def test_validate_reports_a_payment_url_that_fails(shop, cli):
    set_payment_url(shop, "https://pay.example/{{ customer.nmae }}")
    result = cli("validate", "--config", shop, expect=1)
    line = next(
        n
        for n, text in enumerate(shop.read_text().splitlines(), 1)
        if text.startswith("payment_url:")
    )
    assert (
        unstamped(result.stderr)
        .splitlines()[0]
        .startswith(f"arflow.yaml:{line}: payment_url: customer has no field 'nmae'")
    )


# --- HTML: CSS inlined, nothing fetched ------------------------------------------------------
def test_the_html_part_carries_its_css_in_each_tag_and_fetches_nothing(shop, cli):
    server = HttpServer()
    try:
        layout = shop.parent / "templates" / "_layout.html.j2"
        layout.write_text(
            layout.read_text().replace(
                "<style>", f'<link rel="stylesheet" href="{server.url}/x.css">\n<style>'
            )
        )
        cli("run", "--as-of", "2026-03-16", "--config", shop)
    finally:
        server.stop()
    assert server.requests == []
    html = text_of(emails(shop)["E1"], "html")
    assert "<style" not in html and "<link" not in html
    assert (
        '<td class="brand" style="padding: 20px 28px;border-bottom: 3px solid #2f6fde;'
        'font-size: 18px;font-weight: 600;">Acme Supplies Ltd</td>'
    ) in html


# --- a row's data costs its message, never the night -------------------------------------------
def validate_warnings(result) -> list[str]:
    return [
        line.removeprefix("warning: ")
        for line in unstamped(result.stderr).splitlines()
        if line.startswith("warning: ")
    ]


def test_a_bad_link_in_the_first_row_is_that_messages_error_not_the_nights(shop, cli):
    """validate's sample takes the first row's PayLink: "not a link" there is the data's
    fault, not payment_url's. validate warns naming the row; the run sends the others."""
    set_payment_url(shop, "{{ invoice.extra.PayLink }}")
    invoices = shop.parent / "invoices.csv"
    invoices.write_text(invoices.read_text().replace("https://pay.example/r1", "not a link"))
    line = next(
        n
        for n, text in enumerate(shop.read_text().splitlines(), 1)
        if text.startswith("payment_url:")
    )
    result = cli("validate", "--config", shop)
    assert validate_warnings(result) == [
        f"arflow.yaml:{line}: payment_url: template error: it renders 'not a link', not a web "
        "address: it must start with https:// and hold no spaces — with the values of "
        "invoices.csv line 2 (customer D1); it renders with other values, so a run does not "
        "stop for it: that message is not sent and is reported (exit 3), the others go"
    ]
    result = cli("run", "--as-of", "2026-03-16", "--config", shop, expect=3)
    assert (
        f"error\tarflow.yaml:{line}: payment_url: cannot make the payment link for "
        "customer D1: it renders 'not a link', not a web address: it must start with "
        "https:// and hold no spaces"
    ) in result.stdout.splitlines()
    assert sorted(emails(shop)) == ["D2", "E1", "F1"]


@pytest.mark.parametrize("rows", ["all", "one"])
def test_a_template_that_fails_for_one_customers_data_stops_only_its_messages(tmp_path, cli, rows):
    """`{{ 1/0 }}` guarded by the first row's customer (C001, as the sample customer is
    called too): the template is not broken, that customer's data breaks it. With only that
    row in the data, the sample without the data's values still renders it."""
    write_scaffold(tmp_path / "a", date(2026, 3, 16))
    config = tmp_path / "a" / "arflow.yaml"
    signature = tmp_path / "a" / "templates" / "_signature.txt.j2"
    signature.write_text(
        signature.read_text() + '{% if customer.id == "C001" %}{{ 1/0 }}{% endif %}\n'
    )
    line = len(signature.read_text().splitlines())
    if rows == "one":  # C001 alone, in the invoices and in the customers
        for source in ("invoices.csv", "customers.csv"):
            path = tmp_path / "a" / source
            path.write_text("\n".join(path.read_text().splitlines()[:2]) + "\n")
    result = cli("validate", "--config", config)
    assert validate_warnings(result) == [
        f"templates/_signature.txt.j2:{line}: template error: division by zero — with the "
        "values of invoices.csv line 2 (customer C001); it renders with other values, so a run "
        "does not stop for it: that message is not sent and is reported (exit 3), the others go"
    ]
    result = cli("run", "--as-of", "2026-03-16", "--format", "json", "--config", config, expect=3)
    doc = json.loads(result.stdout)
    errors = {(e["file"], e["line"], e["value"]) for e in doc["errors"]}
    assert errors == {("templates/_signature.txt.j2", line, "C001")}
    sent = {a["customer_id"] for a in doc["actions"] if a["status"] == "sent"}
    assert "C001" not in sent
    assert sent == (set() if rows == "one" else {"C002", "C003", "C004", "C005", "C006"})
    outbox = [p.name for p in (tmp_path / "a" / "outbox").iterdir()]
    assert not any("-C001-" in name for name in outbox)
    assert len(outbox) == len([a for a in doc["actions"] if a["status"] == "sent"])


def test_a_template_broken_for_every_row_still_refuses_the_night(shop, cli):
    """`{{ 1/0 }}` with no guard fails for every row and without the data: the template is
    broken, and nothing is done."""
    reminder = shop.parent / "templates" / "reminder.txt.j2"
    reminder.write_text(reminder.read_text() + "{{ 1/0 }}\n")
    line = len(reminder.read_text().splitlines())
    result = cli("validate", "--config", shop, expect=1)
    assert f"templates/reminder.txt.j2:{line}: template error: division by zero" in (
        unstamped(result.stderr).splitlines()
    )
    result = cli("run", "--as-of", "2026-03-16", "--config", shop, expect=1)
    assert "problem(s) found; nothing was done" in result.stderr
    assert not (shop.parent / "outbox").exists() or not any((shop.parent / "outbox").iterdir())
