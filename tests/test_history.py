"""`arflow history` lists one entry per message (issue 27): a reminder about two invoices is
one email, recorded once per invoice (each its own action key), listed once with both. Real
runs: the example folder into its file outbox, and an SMTP server on loopback."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

from arflow.scaffold import write_scaffold
from tests.conftest import make_folder
from tests.test_deliver import smtp_config

MESSAGES = ("email", "sms", "notify")


@pytest.fixture
def example(tmp_path):
    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    return tmp_path / "ar" / "arflow.yaml"


def entries(cli, config, *args) -> list[dict]:
    return json.loads(cli("history", "--format", "json", "--config", config, *args).stdout)[
        "actions"
    ]


def test_the_first_night_lists_each_message_once(cli, example):
    run = json.loads(
        cli("run", "--as-of", "2026-03-16", "--format", "json", "--config", example).stdout
    )
    written = sorted((example.parent / "outbox").iterdir())
    assert len(written) == 11 and run["summary"]["actions"] == 12  # 11 messages and a status

    rows = entries(cli, example)
    went = [r for r in rows if r["kind"] in MESSAGES and r["state"] == "sent"]
    assert len(went) == len(written)
    assert sorted(r["provider_id"] for r in went) == [path.name for path in written]
    # every action of the run once, and each skipped action once (not once per invoice)
    assert len([r for r in rows if r["state"] != "skipped"]) == run["summary"]["actions"]
    assert len(rows) == 22
    assert not [k for k, n in Counter(k for r in rows for k in r["keys"]).items() if n > 1]

    # Blue Harbor (C002): one reminder email and one SMS, each about INV-1002 and INV-1003
    blue = [r for r in rows if r["customer_id"] == "C002" and r["step"] == "reminder"]
    assert [(r["kind"], r["state"], r["invoices"], r["keys"]) for r in blue] == [
        (
            "email",
            "sent",
            ["INV-1002", "INV-1003"],
            [
                "invoice:INV-1002/net30-standard/reminder/0",
                "invoice:INV-1003/net30-standard/reminder/0",
            ],
        ),
        (
            "sms",
            "sent",
            ["INV-1002", "INV-1003"],
            [
                "invoice:INV-1002/net30-standard/reminder/1",
                "invoice:INV-1003/net30-standard/reminder/1",
            ],
        ),
    ]
    assert blue[0]["key"] == "invoice:INV-1002/net30-standard/reminder/0"  # as before: the first

    # the lines under cron: one per entry, the reminder email once with both invoices
    header, *lines, total = cli("history", "--config", example).stdout.splitlines()
    assert len(lines) == len(rows)
    assert header == (
        "# date\tcustomer\tworkflow\tstep\taction\tstate\treason\trecipients\tinvoices\tkey\t"
        "recorded\tsubject"
    )
    assert total == "total\t22 action(s)\t\t\t\tsent 11, skipped 10, done 1\t\t\t\t\t\t"
    reminder = [
        line.split("\t") for line in lines if "\tC002\tnet30-standard\treminder\temail\t" in line
    ]
    assert [(f[1], f[5], f[8], f[9]) for f in reminder] == [
        ("C002", "sent", "INV-1002,INV-1003", "invoice:INV-1002/net30-standard/reminder/0")
    ]
    # a skip about two invoices is one entry too
    courtesy = [line.split("\t") for line in lines if "\tC002\tnet30-standard\tcourtesy\t" in line]
    assert [f[4:9] for f in courtesy] == [["email", "skipped", "expired", "", "INV-1002,INV-1003"]]


TWO = """\
number,customer_id,customer_name,email,issue_date,due_date,amount
INV-1,C1,Alpha Ltd,ap@alpha.example,2026-03-01,2026-03-10,100.00
INV-2,C1,Alpha Ltd,ap@alpha.example,2026-03-01,2026-03-10,200.00
"""

CHASE = """\
anchor: due_date
steps:
  - {id: first, day: 1, actions: [{email: reminder}]}
"""


@pytest.fixture
def two_invoices(tmp_path, smtp_server):
    def build(invoices: str = TWO):
        return make_folder(
            tmp_path / "ar",
            invoices=invoices,
            workflows={"chase": CHASE},
            config=smtp_config(smtp_server.port),
        )

    return build


def test_a_message_whose_outcome_is_unknown_is_settled_whole(two_invoices, smtp_server, cli):
    config = two_invoices()
    smtp_server.handler.disconnect_on = {0}
    cli("run", "--as-of", "2026-03-11", "--config", config, expect=3)
    assert len(smtp_server.messages) == 1
    [entry] = entries(cli, config, "--unknown")
    assert (entry["invoices"], entry["keys"]) == (
        ["INV-1", "INV-2"],
        ["invoice:INV-1/chase/first/0", "invoice:INV-2/chase/first/0"],
    )
    # any key of the message settles all of it
    said = cli("resolve", "invoice:INV-2/chase/first/0", "--sent", "--config", config).output
    assert said == "invoice:INV-2/chase/first/0: marked sent (the message about INV-1, INV-2).\n"
    assert entries(cli, config, "--unknown") == []
    [entry] = entries(cli, config)
    assert (entry["state"], entry["error"], entry["keys"]) == (
        "sent",
        "marked sent by hand",
        ["invoice:INV-1/chase/first/0", "invoice:INV-2/chase/first/0"],
    )
    cli("run", "--as-of", "2026-03-12", "--config", config)
    assert len(smtp_server.messages) == 1  # neither invoice is chased again


def test_a_message_tried_again_is_listed_with_the_invoices_it_was_about(
    two_invoices, smtp_server, cli, tmp_path
):
    config = two_invoices()
    smtp_server.handler.data_replies = {0: "451 4.3.0 try again later"}
    cli("run", "--as-of", "2026-03-11", "--config", config, expect=3)
    [entry] = entries(cli, config)
    assert (entry["state"], entry["invoices"]) == ("failed", ["INV-1", "INV-2"])

    # INV-2 is paid before the next night: the reminder goes about INV-1 alone
    (tmp_path / "ar" / "invoices.csv").write_text(
        "number,customer_id,customer_name,email,issue_date,due_date,amount,paid_date\n"
        "INV-1,C1,Alpha Ltd,ap@alpha.example,2026-03-01,2026-03-10,100.00,\n"
        "INV-2,C1,Alpha Ltd,ap@alpha.example,2026-03-01,2026-03-10,200.00,2026-03-11\n"
    )
    cli("run", "--as-of", "2026-03-12", "--config", config)
    assert len(smtp_server.messages) == 1
    assert [(r["as_of"], r["state"], r["invoices"], r["keys"]) for r in entries(cli, config)] == [
        ("2026-03-11", "failed", ["INV-1", "INV-2"], ["invoice:INV-2/chase/first/0"]),
        ("2026-03-12", "sent", ["INV-1"], ["invoice:INV-1/chase/first/0"]),
    ]


def test_a_skip_recorded_again_is_one_entry_about_its_invoices_of_then(cli, tmp_path):
    # no email for C1: the reminder about INV-1 is skipped, and the next night, when INV-2 is
    # due too, the one reminder about both is skipped again (C2 has an address, so the
    # source's emails reach someone; its invoice is not due yet)
    config = make_folder(
        tmp_path / "ar",
        invoices="""\
            number,customer_id,customer_name,email,issue_date,due_date,amount
            INV-1,C1,Alpha Ltd,,2026-03-01,2026-03-10,100.00
            INV-2,C1,Alpha Ltd,,2026-03-01,2026-03-11,200.00
            INV-3,C2,Beta Ltd,ap@beta.example,2026-03-01,2026-04-30,50.00
            """,
        workflows={
            "chase": "anchor: due_date\nsteps:\n  - {id: first, day: 1, actions: [{email: reminder}]}\n"
        },
        config="""\
            company: {name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD}
            invoices: {path: invoices.csv}
            default_workflow: chase
            channels: {email: {transport: outbox, dir: outbox}}
            """,
    )
    cli("run", "--as-of", "2026-03-11", "--config", config, expect=None)
    assert [(r["as_of"], r["reason"], r["invoices"]) for r in entries(cli, config)] == [
        ("2026-03-11", "no-email", ["INV-1"])
    ]
    cli("run", "--as-of", "2026-03-12", "--config", config, expect=None)
    assert [(r["as_of"], r["reason"], r["invoices"], r["keys"]) for r in entries(cli, config)] == [
        (
            "2026-03-12",
            "no-email",
            ["INV-1", "INV-2"],
            ["invoice:INV-1/chase/first/0", "invoice:INV-2/chase/first/0"],
        )
    ]
