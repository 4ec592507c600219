"""`contact_gap: N` (SPEC 6.1): a customer gets one contact per N days across workflows and
campaigns; a later one waits with the first day it may go, its step still due. Day-by-day
real runs from 2026-03-03 to 2026-03-16 with two workflows and a monthly campaign."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.conftest import BASE_CONFIG, make_folder

INVOICES = """\
number,customer_id,customer_name,email,phone,issue_date,due_date,amount,product
H-1,C1,Alpha Ltd,ap@alpha.example,+12025550101,2026-02-01,2026-03-02,100.00,hosting
K-1,C1,Alpha Ltd,ap@alpha.example,+12025550101,2026-02-01,2026-03-03,200.00,consulting
H-2,C2,Beta Ltd,ap@beta.example,,2026-02-01,2026-03-02,300.00,hosting
"""

HOSTING = """\
match: {product: [hosting]}
anchor: due_date
steps:
  - {id: first, day: 1, actions: [{email: reminder}]}
  - {id: second, day: 5, actions: [{email: reminder}]}
"""

CONSULTING = """\
match: {product: [consulting]}
anchor: due_date
steps:
  - id: first
    day: 1
    actions:
      - email: reminder
      - sms: reminder
      - task: {title: "Call {{ customer.name }}", assignee: controller}
  - {id: second, day: 6, actions: [{email: reminder}]}
"""

STATEMENT = """\
schedule: {every: month, day: 5}
expires_after: 10
actions:
  - email: reminder
"""


@pytest.fixture
def folder(tmp_path):
    def build(gap: int | None):
        config = (
            BASE_CONFIG
            + (f"contact_gap: {gap}\n" if gap else "")
            + "channels: {email: {transport: outbox}, sms: {transport: outbox}}\n"
        )
        return make_folder(
            tmp_path / f"gap{gap}",
            invoices=INVOICES,
            config=config,
            workflows={"hosting": HOSTING, "consulting": CONSULTING, "statement": STATEMENT},
        )

    return build


def nightly(cli, clock, config, first: date, last: date) -> dict[str, list[tuple]]:
    """A real run each day; what went out, per customer: (day, workflow, step, action)."""
    day = first
    while day <= last:
        clock(f"{day.isoformat()}T23:00:00")
        cli("run", "--as-of", day.isoformat(), "--config", config)
        day += timedelta(days=1)
    rows = json.loads(cli("history", "--format", "json", "--config", config).stdout)["actions"]
    sent: dict[str, list[tuple]] = {}
    for r in rows:
        if r["state"] in ("sent", "done"):
            step = "occurrence" if r["workflow"] == "statement" else r["step"]
            sent.setdefault(r["customer_id"], []).append(
                (r["as_of"][5:], r["workflow"], step, r["kind"])
            )
    return sent


def test_three_days_between_contacts_across_two_workflows_and_a_campaign(folder, cli, clock):
    config = folder(3)
    sent = nightly(cli, clock, config, date(2026, 3, 3), date(2026, 3, 16))
    assert sent["C1"] == [
        ("03-03", "hosting", "first", "email"),
        ("03-04", "consulting", "first", "task"),  # a task never waits
        ("03-06", "consulting", "first", "email"),  # waited for 03-06; email and SMS are
        ("03-06", "consulting", "first", "sms"),  # one contact
        ("03-09", "consulting", "second", "email"),  # due 03-09, goes; the others wait
        ("03-12", "hosting", "second", "email"),  # due 03-07, waited to 03-12
        ("03-15", "statement", "occurrence", "email"),  # of 03-05, waited to 03-15
    ]
    # the other customer is spaced on its own dates: the campaign of 03-05 waits for 03-06
    # (three days after its 03-03 reminder), so its second reminder waits for 03-09
    assert sent["C2"] == [
        ("03-03", "hosting", "first", "email"),
        ("03-06", "statement", "occurrence", "email"),
        ("03-09", "hosting", "second", "email"),
    ]


def test_the_wait_is_reported_with_the_first_day_it_may_go(folder, cli, clock):
    config = folder(3)
    nightly(cli, clock, config, date(2026, 3, 3), date(2026, 3, 6))
    clock("2026-03-07T23:00:00")
    doc = json.loads(
        cli(
            "run", "--dry-run", "--format", "json", "--as-of", "2026-03-07", "--config", config
        ).stdout
    )
    assert [
        (s["customer_id"], s["workflow"], s["step"], s["reason"], s["until"])
        for s in doc["skipped"]
        if s["reason"] == "contact-gap"
    ] == [
        ("C1", "hosting", "second", "contact-gap", "2026-03-09"),
        ("C1", "statement", "2026-03-05", "contact-gap", "2026-03-09"),
        ("C2", "hosting", "second", "contact-gap", "2026-03-09"),
    ]
    table = cli("run", "--dry-run", "--as-of", "2026-03-07", "--config", config).stdout
    assert (
        "skipped\tC1\thosting\tsecond\tcontact-gap (may go 2026-03-09)\tH-1" in table.splitlines()
    )


def test_without_a_gap_everything_goes_the_day_it_is_due(folder, cli, clock):
    sent = nightly(cli, clock, folder(None), date(2026, 3, 3), date(2026, 3, 16))
    assert [s for s in sent["C1"] if s[3] != "task"] == [
        ("03-03", "hosting", "first", "email"),
        ("03-04", "consulting", "first", "email"),
        ("03-04", "consulting", "first", "sms"),
        ("03-05", "statement", "occurrence", "email"),
        ("03-07", "hosting", "second", "email"),
        ("03-09", "consulting", "second", "email"),
    ]


def test_an_sms_is_a_contact_too(tmp_path, cli, clock):
    """The gap counts every customer-facing kind (`actions.CUSTOMER_FACING`): after an SMS
    alone, the email of the next day waits."""
    config = make_folder(
        tmp_path / "sms",
        invoices=INVOICES,
        config=BASE_CONFIG
        + "contact_gap: 3\n"
        + "channels: {email: {transport: outbox}, sms: {transport: outbox}}\n",
        workflows={
            "hosting": """\
                match: {product: [hosting, consulting]}
                anchor: due_date
                steps:
                  - {id: text, day: 1, actions: [{sms: reminder}]}
                  - {id: mail, day: 2, actions: [{email: reminder}]}
                """
        },
    )
    sent = nightly(cli, clock, config, date(2026, 3, 3), date(2026, 3, 7))
    # one message about H-1 and K-1 is one entry of the history
    assert sent["C1"] == [
        ("03-03", "hosting", "text", "sms"),
        ("03-06", "hosting", "mail", "email"),  # due 03-04, waited three days after the SMS
    ]
    # C2 has no phone: its SMS is skipped, no contact, so its email goes the day it is due
    assert sent["C2"] == [("03-04", "hosting", "mail", "email")]
