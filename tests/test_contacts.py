"""Contacts in roles (issue 33, "The right person"): a contacts source gives each customer its
people in roles; an email or SMS step goes `to:` a role (default `billing`), `cc`/`bcc` take
roles beside people; a role with nobody falls back to `billing`, said as such; each message in
its contact's language; a customer with only its own `email` cell behaves as before; one
message never lists another customer's invoices."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

from tests.conftest import make_folder
from tests.test_fee_charges import run

DUN = """\
name: Dun
anchor: due_date
steps:
  - id: day-30
    day: 30
    actions:
      - email: reminder
  - id: day-45
    day: 45
    actions:
      - email: {template: reminder, to: [ap], cc: [owner, controller]}
"""
TEMPLATES = {
    "reminder.subject.j2": "Reminder {{ invoices|map(attribute='number')|join(', ') }}",
    "reminder.txt.j2": (
        "Dear {{ contact.name if contact else customer.name }} ({{ contact.role if contact "
        "else '-' }}), you owe {{ totals.outstanding|money }}."
    ),
    "reminder.de.subject.j2": "Zahlungserinnerung {{ invoices|map(attribute='number')|join(', ') }}",
    "reminder.de.txt.j2": "Guten Tag {{ contact.name }}, offen: {{ totals.outstanding|money }}.",
}
CONFIG = """\
company: {name: Acme GmbH, email: ar@acme.example, timezone: UTC, currency: EUR, locale: en_IE}
invoices: {path: invoices.csv}
contacts: {path: contacts.csv}
default_workflow: dun
people:
  controller: {name: Chris Doe, email: controller@acme.example}
channels:
  email: {transport: outbox, dir: outbox}
"""
INVOICES = """\
number,customer_id,customer_name,email,issue_date,due_date,amount,currency
INV-1,C1,One GmbH,old@one.example,2026-01-01,2026-02-01,1000.00,EUR
INV-2,C2,Two Ltd,ap@two.example,2026-01-01,2026-02-01,500.00,EUR
"""
CONTACTS = """\
customer_id,name,email,phone,role,language
C1,Bea Bill,billing@one.example,,billing,en
C1,Anna Ap,ap@one.example,,ap,de
C1,Otto Owner,owner@one.example,,Owner,
"""


def folder(tmp_path: Path, contacts: str = CONTACTS, invoices: str = INVOICES) -> Path:
    return make_folder(
        tmp_path / "ar",
        invoices=invoices,
        workflows={"dun": DUN},
        config=CONFIG,
        templates=TEMPLATES,
        extra_files={"contacts.csv": contacts},
    )


def outbox(config: Path) -> list[tuple[list[str], list[str], str, str]]:
    found = []
    for path in sorted((config.parent / "outbox").glob("*.eml")):
        m = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        to = [a.addr_spec for a in m["To"].addresses]
        cc = [a.addr_spec for a in m["Cc"].addresses] if m["Cc"] else []
        body = m.get_body(("plain",)).get_content().strip()
        found.append((to, cc, m["Subject"], body))
    return found


def test_each_step_reaches_its_role_in_the_contacts_language(tmp_path, cli):
    config = folder(tmp_path)
    run(cli, config, "2026-03-03")  # day 30
    assert outbox(config) == [
        (
            ["billing@one.example"],
            [],
            "Reminder INV-1",
            "Dear Bea Bill (billing), you owe €1,000.00.",
        ),
        # C2 has no contacts: its own email cell is its billing contact, as before
        (["ap@two.example"], [], "Reminder INV-2", "Dear Two Ltd (billing), you owe €500.00."),
    ]
    night = run(cli, config, "2026-03-18")  # day 45: to ap, the owner and the controller copied
    assert outbox(config)[2] == (
        ["ap@one.example"],
        ["owner@one.example", "controller@acme.example"],
        "Zahlungserinnerung INV-1",
        "Guten Tag Anna Ap, offen: 1.000,00\xa0€.",
    )
    # C2 has nobody in ap: its billing contact gets it, and the run says so
    assert outbox(config)[3][:3] == (
        ["ap@two.example"],
        ["controller@acme.example"],
        "Reminder INV-2",
    )
    assert [(a["customer_id"], a.get("fallback")) for a in night["actions"]] == [
        ("C1", None),
        ("C2", "billing (no ap contact)"),
    ]
    assert run(cli, config, "2026-03-18")["actions"] == []  # never twice


def test_without_a_contacts_source_nothing_changes(tmp_path, cli):
    config = folder(tmp_path)
    config.write_text(config.read_text().replace("contacts: {path: contacts.csv}\n", ""))
    run(cli, config, "2026-03-03")
    assert [(to, cc) for to, cc, _, _ in outbox(config)] == [
        (["old@one.example"], []),
        (["ap@two.example"], []),
    ]


def test_bad_contact_rows_are_named_and_the_good_ones_read(tmp_path, cli):
    contacts = CONTACTS + (
        "C9,Nobody,x@nine.example,,billing,\n"
        "C1,No Role,norole@one.example,,,\n"
        "C1,Bad Mail,not-an-address,,ap,\n"
        "C1,Bad Tongue,tongue@one.example,,ap,klingon-xx\n"
    )
    config = folder(tmp_path, contacts)
    result = cli(
        "run",
        "--dry-run",
        "--as-of",
        "2026-03-18",
        "--format",
        "json",
        "--config",
        config,
        expect=3,
    )
    errors = [(e["line"], e["column"], e["value"]) for e in json.loads(result.stdout)["errors"]]
    assert errors == [
        (5, "customer_id", "C9"),
        (6, "role", ""),
        (7, "email", "not-an-address"),
        (8, "language", "klingon-xx"),
    ]


def test_one_message_never_lists_another_customers_invoices(tmp_path, cli):
    """50 customers with a `billing` contact each, two of them sharing an address by a typo:
    each message lists its own customer's invoices only."""
    invoices = "number,customer_id,customer_name,issue_date,due_date,amount,currency\n" + "".join(
        f"INV-{n},C{n},Customer {n},2026-01-01,2026-02-01,{100 + n}.00,EUR\n" for n in range(50)
    )
    contacts = "customer_id,name,email,phone,role,language\n" + "".join(
        f"C{n},Person {n},{'ap@c7.example' if n == 8 else f'ap@c{n}.example'},,billing,\n"
        for n in range(50)
    )
    config = folder(tmp_path, contacts, invoices)
    run(cli, config, "2026-03-03")
    sent = outbox(config)
    assert len(sent) == 50
    for to, _, subject, body in sent:
        n = int(subject.removeprefix("Reminder INV-"))
        assert body == f"Dear Person {n} (billing), you owe €{100 + n}.00."
        assert to == ["ap@c7.example" if n == 8 else f"ap@c{n}.example"]


def test_validate_knows_the_roles_of_the_contacts_source(tmp_path, cli):
    config = folder(tmp_path)
    workflow = config.parent / "workflows" / "dun.yaml"
    assert cli("validate", "--config", config).exit_code == 0  # ap, owner: roles of the file
    workflow.write_text(DUN.replace("to: [ap]", "to: [accounts]"))
    warned = cli("validate", "--config", config)
    assert (
        "no contact has the role 'accounts' (roles: ap, billing, owner): the step goes to each "
        "customer's billing contact" in warned.output
    )
    workflow.write_text(DUN.replace("cc: [owner, controller]", "cc: [owner, nobody]"))
    refused = cli("validate", "--config", config, expect=1)
    assert "unknown person 'nobody': add it under people: in arflow.yaml" in refused.output
    (config.parent / "contacts.csv").unlink()  # CI without customer data: any name may be a role
    cli("validate", "--config", config)


def test_a_step_reaching_contacts_of_two_languages_sends_one_message_per_language(tmp_path, cli):
    contacts = CONTACTS + "C1,Bernd Buch,buch@one.example,,billing,de\n"
    config = folder(tmp_path, contacts)
    night = run(cli, config, "2026-03-03")
    assert [(to, subject) for to, _, subject, _ in outbox(config)] == [
        (["billing@one.example"], "Reminder INV-1"),
        (["buch@one.example"], "Zahlungserinnerung INV-1"),
        (["ap@two.example"], "Reminder INV-2"),
    ]
    assert [(a["customer_id"], a["to"]) for a in night["actions"]] == [
        ("C1", ["billing@one.example"]),
        ("C1", ["buch@one.example"]),
        ("C2", ["ap@two.example"]),
    ]
    assert run(cli, config, "2026-03-03")["actions"] == []  # each language's message once
    assert run(cli, config, "2026-03-10")["actions"] == []


def test_history_records_a_message_that_fell_back_to_billing(tmp_path, cli):
    config = folder(tmp_path)
    run(cli, config, "2026-03-18")
    out = cli("history", "--customer", "C2", "--format", "json", "--config", config).stdout
    rows = json.loads(out)["actions"]
    assert [(r["step"], r["state"], r["description"]) for r in rows] == [
        ("day-30", "skipped", None),
        ("day-45", "sent", "to billing (no ap contact)"),
    ]


def test_addresses_only_in_the_contacts_file_reach_those_who_have_one(tmp_path, cli):
    """No email column on the invoices: C1's address is in contacts.csv, C2 has none. C1 is
    reminded, C2 skipped `no-email`; the night is not refused as reaching nobody."""
    invoices = """\
number,customer_id,customer_name,issue_date,due_date,amount,currency
INV-1,C1,One GmbH,2026-01-01,2026-02-01,1000.00,EUR
INV-2,C2,Two Ltd,2026-01-01,2026-02-01,500.00,EUR
"""
    config = folder(tmp_path, invoices=invoices)
    night = run(cli, config, "2026-03-03")
    assert [to for to, _, _, _ in outbox(config)] == [["billing@one.example"]]
    assert [(s["customer_id"], s["reason"]) for s in night["skipped"]] == [("C2", "no-email")]


def test_a_languages_message_that_could_not_be_made_goes_the_next_night(tmp_path, cli):
    """Billing in English, ap in German, one step to both: the German template fails the first
    night; once it is fixed, the next night sends the German message, not the English again."""
    config = folder(tmp_path)
    workflow = config.parent / "workflows" / "dun.yaml"
    workflow.write_text(
        DUN.replace(
            "      - email: reminder\n",
            "      - email: {template: reminder, to: [billing, ap]}\n",
            1,
        )
    )
    german = config.parent / "templates" / "reminder.de.txt.j2"
    german.write_text("{% if customer.id == 'C1' %}{{ nope.x.y }}{% endif %}")
    first = cli("run", "--as-of", "2026-03-03", "--format", "json", "--config", config, expect=3)
    assert [a["to"] for a in json.loads(first.stdout)["actions"]] == [
        ["billing@one.example"],
        ["ap@two.example"],
    ]
    german.write_text(TEMPLATES["reminder.de.txt.j2"])
    again = run(cli, config, "2026-03-04")
    assert [(a["customer_id"], a["to"]) for a in again["actions"]] == [("C1", ["ap@one.example"])]
    assert [subject for _, _, subject, _ in outbox(config)] == [
        "Reminder INV-1",
        "Reminder INV-2",
        "Zahlungserinnerung INV-1",
    ]
    assert run(cli, config, "2026-03-05")["actions"] == []


def test_contacts_of_one_language_get_one_message(tmp_path, cli):
    """Billing without a language, ap in `en`, the company in `en_IE`: one language, one
    message to both."""
    contacts = CONTACTS.replace("billing,en", "billing,").replace("ap,de", "ap,en")
    config = folder(tmp_path, contacts)
    workflow = config.parent / "workflows" / "dun.yaml"
    workflow.write_text(
        DUN.replace(
            "      - email: reminder\n",
            "      - email: {template: reminder, to: [billing, ap]}\n",
            1,
        )
    )
    run(cli, config, "2026-03-03")
    assert [to for to, _, _, _ in outbox(config)] == [
        ["billing@one.example", "ap@one.example"],
        ["ap@two.example"],
    ]


def test_a_copy_to_an_address_already_in_to_is_left_out(tmp_path, cli):
    contacts = CONTACTS.replace("owner@one.example", "ap@one.example")
    config = folder(tmp_path, contacts)
    run(cli, config, "2026-03-18")
    (one,) = [m for m in outbox(config) if m[0] == ["ap@one.example"]]
    assert one[1] == ["controller@acme.example"]  # the owner's address is ap's: not twice
