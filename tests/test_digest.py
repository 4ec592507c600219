"""The weekly digest (issue 34) as users run it: `digest:` in arflow.yaml, a month of nightly
real runs with the file outbox while the export changes between nights; the controller gets
the report's summary once per occurrence of the schedule (the KPIs `arflow kpi` gives that day,
the aging charts as inline SVG, a text part), nobody else does; a rerun sends nothing, a
refused send goes the next night once, one that keeps failing is dropped and reported once its
occurrence expires; `--customer` sends none; the dry run, forecast and history show it."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import SIMPLE_TEMPLATES, make_folder

CONFIG = """\
company: {name: Acme Supplies Ltd, email: ar@acme.example, timezone: UTC, currency: USD,
          locale: en_US}
invoices: {path: invoices.csv}
default_workflow: dunning
people:
  controller: {name: Carla Diaz, email: controller@acme.example}
  clerk: {name: Bob Lane, email: bob@acme.example}
channels:
  email: {transport: outbox, dir: outbox}
digest:
  to: controller
  schedule: {every: week, weekday: mon}
"""
DUNNING = """\
name: Dunning
steps:
  - id: reminder
    day: 7
    actions:
      - email: reminder
"""
HEADER = "number,customer_id,customer_name,email,issue_date,due_date,amount,balance,currency"


def ledger_on(day: date) -> str:
    """The export on the morning of `day`: C1 pays part on the 10th and the rest on the 20th,
    C2 is invoiced again on the 15th; C3 owes euros all month."""
    d = date.fromisoformat
    c1 = "6000.00" if day < d("2026-03-10") else "3000.00" if day < d("2026-03-20") else "0.00"
    rows = [
        f"INV-1,C1,Northwind,ap@northwind.example,2026-01-01,2026-02-01,6000.00,{c1},USD",
        "INV-2,C2,Blue Harbor,ap@blueharbor.example,2026-02-01,2026-03-03,4000.00,,USD",
        "INV-3,C3,Kranich,buchhaltung@kranich.example,2025-10-01,2025-11-01,3000.00,,EUR",
    ]
    if day >= d("2026-03-15"):
        rows.append("INV-4,C2,Blue Harbor,ap@blueharbor.example,2026-03-15,2026-04-14,2500.00,,USD")
    return "\n".join([HEADER, *rows]) + "\n"


def folder(tmp_path: Path, config: str = CONFIG) -> Path:
    return make_folder(
        tmp_path / "ar",
        invoices=ledger_on(date(2026, 3, 1)),
        workflows={"dunning": DUNNING},
        config=config,
        templates=SIMPLE_TEMPLATES,
    )


def outbox(config: Path) -> set[str]:
    box = config.parent / "outbox"
    return {p.name for p in box.iterdir()} if box.exists() else set()


def read(config: Path, name: str) -> EmailMessage:
    raw = (config.parent / "outbox" / name).read_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def night(cli, config: Path, day: str, *extra: str, expect: int = 0) -> list[str]:
    """A real run on `day` with that morning's export: the digests it put into the outbox
    (file names), sorted."""
    (config.parent / "invoices.csv").write_text(ledger_on(date.fromisoformat(day)))
    before = outbox(config)
    cli("run", "--as-of", day, "--config", config, *extra, expect=expect)
    return sorted(n for n in outbox(config) - before if "-digest-digest-" in n)


def days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(n)).isoformat() for n in range((end - start).days + 1)]


CTL = "Carla Diaz <controller@acme.example>"
SUBJECTS = {
    "2026-03-02": "€3,000.00, $10,000.00",
    "2026-03-09": "€3,000.00, $10,000.00",
    "2026-03-16": "€3,000.00, $9,500.00",
    "2026-03-23": "€3,000.00, $6,500.00",
    "2026-03-30": "€3,000.00, $6,500.00",
}


def kpi_cell(kpis: dict, currency: str, name: str) -> str:
    """How the digest's HTML holds one figure of `arflow kpi --format json`."""
    value = kpis["currencies"][currency][name]
    shown = "" if value is None else str(value)
    return f'data-value="{shown}" data-kpi="{name}" data-currency="{currency}"'


def test_a_month_of_nights_sends_the_controller_one_digest_each_monday(cli, tmp_path):
    config = folder(tmp_path)
    sent: dict[str, list[str]] = {}
    for day in days("2026-03-01", "2026-03-31"):
        found = night(cli, config, day)
        assert night(cli, config, day) == []  # the same night again: nothing more
        if found:
            sent[day] = found
    assert list(sent) == list(SUBJECTS)
    assert all(len(names) == 1 for names in sent.values())
    customers = {str(read(config, n)["To"]) for n in outbox(config) if "-digest-digest-" not in n}
    assert customers == {  # the customers' reminders went as usual
        "Northwind <ap@northwind.example>",
        "Blue Harbor <ap@blueharbor.example>",
        "Kranich <buchhaltung@kranich.example>",
    }
    for day, (name,) in sent.items():
        message = read(config, name)
        assert str(message["To"]) == CTL
        assert message["Cc"] is None and message["Bcc"] is None
        assert str(message["Subject"]) == (
            f"[AR] Receivables of Acme Supplies Ltd as of {day}: {SUBJECTS[day]} owed"
        )
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        text = plain.replace("\r\n", "\n")  # lines end CRLF on the wire
        (config.parent / "invoices.csv").write_text(ledger_on(date.fromisoformat(day)))
        kpis = json.loads(cli("kpi", "--as-of", day, "--format", "json", "--config", config).stdout)
        for currency, figure in (("USD", "dso_countback"), ("EUR", "share_90_plus")):
            assert kpi_cell(kpis, currency, figure) in html
        dso = kpis["currencies"]["USD"]["dso_countback"]
        assert f"  DSO, countback: {dso:.1f} days\n" in text
        assert html.count("<svg") == 2  # the aging of each currency
        assert f"Weekly digest as of {day}" in html
        assert text.startswith(f"Receivables of Acme Supplies Ltd as of {day}\n")
    history = json.loads(cli("history", "--format", "json", "--config", config).stdout)
    digests = [e for e in history["actions"] if e["workflow"] == "digest"]
    assert [(e["as_of"], e["key"], e["state"], e["recipients"]) for e in digests] == [
        (day, f"digest:{day}/digest/digest/0", "sent", ["controller@acme.example"])
        for day in SUBJECTS
    ]


def test_a_monthly_digest_on_the_first_goes_once_a_month(cli, tmp_path):
    monthly = CONFIG.replace("{every: week, weekday: mon}", "{every: month, day: 1}")
    config = folder(tmp_path, monthly)
    sent = {
        day: found for day in days("2026-03-01", "2026-04-01") if (found := night(cli, config, day))
    }
    assert [(day, len(names)) for day, names in sent.items()] == [
        ("2026-03-01", 1),
        ("2026-04-01", 1),
    ]


def test_a_missed_monday_goes_late_within_the_expiry_and_not_after(cli, tmp_path):
    config = folder(tmp_path)
    # no run on Monday the 2nd: Tuesday's run sends Monday's digest (dated as it sees it)
    (name,) = night(cli, config, "2026-03-03")
    assert name.startswith("2026-03-03--digest-digest-0-")
    assert str(read(config, name)["Subject"]).endswith(
        "as of 2026-03-03: €3,000.00, $10,000.00 owed"
    )
    assert night(cli, config, "2026-03-04") == []
    # no run from the 9th to the 12th: three days is the most a digest may be late
    assert night(cli, config, "2026-03-13") == []
    history = json.loads(cli("history", "--format", "json", "--config", config).stdout)
    assert [e["key"] for e in history["actions"] if e["workflow"] == "digest"] == [
        "digest:2026-03-02/digest/digest/0"
    ]
    expires = CONFIG.replace("weekday: mon}", "weekday: mon}\n  expires_after: 4")
    config.write_text(expires)
    (late,) = night(cli, config, "2026-03-13")
    assert read(config, late)["To"] == CTL


def test_to_names_several_people_in_one_message(cli, tmp_path):
    config = folder(tmp_path, CONFIG.replace("to: controller", "to: [controller, clerk]"))
    (name,) = night(cli, config, "2026-03-02")
    assert str(read(config, name)["To"]) == f"{CTL}, Bob Lane <bob@acme.example>"


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            "to: [controller, boss]",
            "arflow.yaml:10: digest: to: 'boss' is not a key of people: (they are: clerk, "
            "controller); add them under people: with an email, or name one of them",
        ),
        (
            "to: nobody",
            "arflow.yaml:10: digest: to: 'nobody' is not a key of people: (they are: clerk, "
            "controller); add them under people: with an email, or name one of them",
        ),
    ],
)
def test_to_an_unknown_person_is_refused_naming_the_key(cli, tmp_path, change, expected):
    config = folder(tmp_path, CONFIG.replace("to: controller", change))
    for command in (["validate"], ["run", "--as-of", "2026-03-02"]):
        result = cli(*command, "--config", config, expect=1)
        assert result.output.splitlines()[0] == expected
    assert outbox(config) == set()


def test_to_a_person_without_an_email_is_refused(cli, tmp_path):
    config = folder(
        tmp_path,
        CONFIG.replace("{name: Bob Lane, email: bob@acme.example}", "{name: Bob Lane}").replace(
            "to: controller", "to: [controller, clerk]"
        ),
    )
    result = cli("validate", "--config", config, expect=1)
    assert result.output.splitlines()[0] == (
        "arflow.yaml:10: digest: to: 'clerk' has no email: under people: (the digest is an email)"
    )


def smtp_config(port: int) -> str:
    return CONFIG.replace(
        "email: {transport: outbox, dir: outbox}",
        f"email: {{transport: smtp, host: 127.0.0.1, port: {port}, timeout: 5}}",
    )


def run_doc(cli, config: Path, day: str, *extra: str, expect: int = 0) -> dict:
    (config.parent / "invoices.csv").write_text(ledger_on(date.fromisoformat(day)))
    result = cli(
        "run", "--as-of", day, "--format", "json", "--config", config, *extra, expect=expect
    )
    return json.loads(result.stdout)


def digests(doc: dict) -> list[tuple[str, str]]:
    return [(a["date"], a["status"]) for a in doc["actions"] if a["workflow"] == "digest"]


def test_a_digest_the_server_refused_goes_the_next_night_once(cli, tmp_path, smtp_server):
    config = folder(tmp_path, smtp_config(smtp_server.port))
    # the two customers' reminders go first (day 7 of INV-1 and INV-3 passed), then the digest
    smtp_server.handler.data_replies = {2: "451 4.3.0 try again later"}
    assert digests(run_doc(cli, config, "2026-03-02", expect=3)) == [("2026-03-02", "failed")]
    assert digests(run_doc(cli, config, "2026-03-03")) == [("2026-03-03", "sent")]
    assert digests(run_doc(cli, config, "2026-03-04")) == []
    received = [m for m in smtp_server.messages if "Receivables" in str(m.message["Subject"])]
    assert len(received) == 1
    assert received[0].rcpt_tos == ["controller@acme.example"]
    assert str(received[0].message["Subject"]) == (
        "[AR] Receivables of Acme Supplies Ltd as of 2026-03-03: €3,000.00, $10,000.00 owed"
    )


def test_a_digest_whose_outcome_is_unknown_is_never_sent_again(cli, tmp_path, smtp_server):
    config = folder(tmp_path, smtp_config(smtp_server.port))
    smtp_server.handler.disconnect_on = {2}  # the digest arrives; arflow never hears so
    assert digests(run_doc(cli, config, "2026-03-02", expect=3)) == [("2026-03-02", "unknown")]
    assert digests(run_doc(cli, config, "2026-03-03")) == []
    received = [m for m in smtp_server.messages if "Receivables" in str(m.message["Subject"])]
    assert len(received) == 1


def test_a_digest_whose_sends_keep_failing_is_dropped_once_it_expires_and_reported(cli, tmp_path):
    config = folder(tmp_path, smtp_config(9))  # nothing listens on port 9
    for day in days("2026-03-02", "2026-03-05"):  # Monday and three days late: tried again
        assert digests(run_doc(cli, config, day, expect=3)) == [(day, "failed")]
    key = "digest:2026-03-02/digest/digest/0"
    (config.parent / "invoices.csv").write_text(ledger_on(date(2026, 3, 6)))
    dropped = cli("run", "--as-of", "2026-03-06", "--config", config, expect=3)
    lines = dropped.stdout.splitlines()
    assert [line for line in lines if line.startswith("error")] == [
        f"error\tthe digest of 2026-03-02 ({key}) was dropped: its sends kept failing until "
        "the occurrence expired (digest.expires_after:); fix channels.email (`arflow history` "
        "shows the failures); the next occurrence's digest goes as usual"
    ]
    history = json.loads(cli("history", "--format", "json", "--config", config).stdout)
    assert [
        (e["as_of"], e["state"], e["reason"]) for e in history["actions"] if e["key"] == key
    ] == [("2026-03-06", "skipped", "notice-dropped")]
    # reported once: the next night is quiet; the mail server back, the next Monday's goes
    # (the customers' reminders still fail: exit 3)
    quiet = cli("run", "--as-of", "2026-03-07", "--config", config, expect=3)
    assert [line for line in quiet.stdout.splitlines() if line.startswith("error")] == []
    assert quiet.stdout.splitlines()[-1].endswith(", 0 skipped, 0 error(s)")
    config.write_text(CONFIG)
    assert len(night(cli, config, "2026-03-09")) == 1


def test_a_customer_run_sends_no_digest_the_whole_run_does(cli, tmp_path):
    config = folder(tmp_path)
    assert night(cli, config, "2026-03-02", "--customer", "C1") == []
    assert len(night(cli, config, "2026-03-02")) == 1


def test_a_dry_run_shows_the_digest_and_records_nothing(cli, tmp_path, run_json):
    config = folder(tmp_path)
    _, doc = run_json(config, "2026-03-02")
    (action,) = [a for a in doc["actions"] if a["workflow"] == "digest"]
    assert action == {
        "date": "2026-03-02",
        "workflow": "digest",
        "step": "digest",
        "action": "notify",
        "customer_id": "",
        "invoices": [],
        "to": ["controller@acme.example"],
        "template": "digest",
        "subject": "[AR] Receivables of Acme Supplies Ltd as of 2026-03-02: €3,000.00, "
        "$10,000.00 owed",
        "status": "planned",
    }
    _, customer = run_json(config, "2026-03-02", "--customer", "C1")
    assert [a for a in customer["actions"] if a["workflow"] == "digest"] == []
    assert len(night(cli, config, "2026-03-02")) == 1  # the dry run recorded nothing


def test_a_forecast_shows_the_digest_on_each_monday(cli, tmp_path):
    config = folder(tmp_path)
    assert len(night(cli, config, "2026-03-02")) == 1  # so the 3rd has no late digest to send
    before = outbox(config)
    result = cli(
        "forecast", "--as-of", "2026-03-03", "--days", "14", "--format", "json", "--config", config
    )
    doc = json.loads(result.stdout)
    found = [
        (day["date"], a["to"])
        for day in doc["days"]
        for a in day["actions"]
        if a["workflow"] == "digest"
    ]
    assert found == [
        ("2026-03-09", ["controller@acme.example"]),
        ("2026-03-16", ["controller@acme.example"]),
    ]
    assert outbox(config) == before
    csv = cli(
        "forecast", "--as-of", "2026-03-03", "--days", "14", "--format", "csv", "--config", config
    ).stdout.splitlines()
    # the digest reaches no customer and chases nothing
    assert [line for line in csv if ",digest," in line] == [
        "2026-03-09,digest,digest,1,0,,",
        "2026-03-16,digest,digest,1,0,,",
    ]


def test_the_digest_goes_by_email_when_notices_go_to_a_webhook(cli, tmp_path, http_server):
    hooked = CONFIG.replace(
        "  email: {transport: outbox, dir: outbox}\n",
        f"  email: {{transport: outbox, dir: outbox}}\n"
        f"  notify: {{transport: webhook, url: 'http://127.0.0.1:{http_server.port}/hook'}}\n",
    )
    config = folder(tmp_path, hooked)
    (name,) = night(cli, config, "2026-03-02")
    assert str(read(config, name)["To"]) == CTL
    assert http_server.requests == []


def test_the_mail_server_is_logged_into_before_anything_is_recorded(
    cli, tmp_path, smtp_server, monkeypatch, run_json
):
    """The digest goes through the email channel even when notices go to a webhook: a run
    logs into the mail server first, so a missing password stops it with nothing recorded
    (not even the skip of a reminder to a customer without an address)."""
    hooked = smtp_config(smtp_server.port).replace(
        "timeout: 5}",
        "timeout: 5, username: ar@acme.example, password_env: ARFLOW_TEST_PW}\n"
        "  notify: {transport: webhook, url: 'http://127.0.0.1:9/hook'}",
    )
    config = folder(tmp_path, hooked)
    (config.parent / "invoices.csv").write_text(
        f"{HEADER}\n"
        "INV-1,C1,Northwind,ap@northwind.example,2026-02-01,2026-03-01,6000.00,,USD\n"
        "INV-3,C3,Kranich,,2025-10-01,2025-11-01,3000.00,,EUR\n"
    )
    monkeypatch.delenv("ARFLOW_TEST_PW", raising=False)
    result = cli("run", "--as-of", "2026-03-02", "--config", config, expect=1)
    assert "the environment variable ARFLOW_TEST_PW is not set" in result.output
    assert smtp_server.connections == []
    history = json.loads(cli("history", "--format", "json", "--config", config).stdout)
    assert history["actions"] == []
    # what it would have recorded: the skip, and the digest (a dry run logs in nowhere)
    _, doc = run_json(config, "2026-03-02")
    assert [(s["customer_id"], s["reason"]) for s in doc["skipped"]] == [("C3", "no-email")]
    assert [a["workflow"] for a in doc["actions"]] == ["digest"]


def test_counting_business_days_the_digest_moves_off_the_weekend(cli, tmp_path):
    """`business_days: true`, as a campaign's: an occurrence on a weekend goes the next
    business day, and nothing goes on a weekend, a late digest included."""
    monthly = CONFIG.replace(
        "{every: week, weekday: mon}",
        "{every: month, day: 1}\n  business_days: true\n  expires_after: 0",
    )
    # 1 March 2026 is a Sunday: the occurrence is Monday the 2nd, not a day late
    config = folder(tmp_path, monthly)
    sent = {day: n for day in days("2026-02-27", "2026-03-03") if (n := night(cli, config, day))}
    assert [(day, len(names)) for day, names in sent.items()] == [("2026-03-02", 1)]
    fridays = CONFIG.replace("weekday: mon}", "weekday: fri}\n  business_days: true")
    config = folder(tmp_path / "fri", fridays)
    # no run on Friday the 6th: not on the Saturday, late on the Monday (within 3 days)
    assert night(cli, config, "2026-03-07") == []
    assert night(cli, config, "2026-03-08") == []
    (late,) = night(cli, config, "2026-03-09")
    assert str(read(config, late)["Subject"]).startswith(
        "[AR] Receivables of Acme Supplies Ltd as of 2026-03-09:"
    )


def test_the_digest_counts_a_payment_the_bank_reported_before_the_export(cli, tmp_path):
    bank = CONFIG.replace(
        "digest:",
        "payments: {path: bank.csv, columns: {date: Date, amount: Amount, reference: Reference,"
        " payer: Payer}}\ndigest:",
    )
    config = folder(tmp_path, bank)
    (config.parent / "bank.csv").write_text(
        "Date,Amount,Reference,Payer\n2026-03-01,6000.00,INV-1,Northwind\n"
    )
    (name,) = night(cli, config, "2026-03-02")  # the export still shows INV-1 open
    assert str(read(config, name)["Subject"]) == (
        "[AR] Receivables of Acme Supplies Ltd as of 2026-03-02: €3,000.00, $4,000.00 owed"
    )


def test_a_baseline_records_no_digest_the_first_run_sends_it(cli, tmp_path):
    config = folder(tmp_path)
    cli("run", "--baseline", "--as-of", "2026-03-02", "--config", config)
    assert outbox(config) == set()
    history = json.loads(cli("history", "--format", "json", "--config", config).stdout)
    assert [e for e in history["actions"] if e["workflow"] == "digest"] == []
    assert len(night(cli, config, "2026-03-02")) == 1


def test_a_catch_up_run_dated_earlier_leaves_a_later_failed_digest_to_its_nights(cli, tmp_path):
    config = folder(tmp_path, smtp_config(9))
    assert digests(run_doc(cli, config, "2026-03-09", expect=3)) == [("2026-03-09", "failed")]
    config.write_text(CONFIG)  # the mail server back; a missed night of the 4th caught up
    doc = run_doc(cli, config, "2026-03-04")
    assert digests(doc) == [("2026-03-04", "sent")]  # the 2nd's, three days late
    assert [s for s in doc["skipped"] if s["workflow"] == "digest"] == []
    assert digests(run_doc(cli, config, "2026-03-10")) == [("2026-03-10", "sent")]  # the 9th's
    history = json.loads(cli("history", "--format", "json", "--config", config).stdout)
    assert [(e["key"], e["state"]) for e in history["actions"] if e["workflow"] == "digest"] == [
        ("digest:2026-03-02/digest/digest/0", "sent"),
        ("digest:2026-03-09/digest/digest/0", "sent"),
    ]


def test_the_digest_counts_as_kpi_and_aging_do_over_the_week_before_its_day(cli, tmp_path):
    """A bank payment and a credit agreed in a dispute: the digest's KPIs are `arflow kpi`'s
    (the sources'), its aging `arflow aging`'s (both lowered); its week is the seven days
    before its Monday (that night's own actions go in the next one)."""
    from tests.test_report_html import Page

    config = folder(tmp_path, CONFIG + "payments: {path: bank.csv}\n")
    (config.parent / "bank.csv").write_text(
        "date,amount,currency,reference,payer\n2026-03-04,1000.00,USD,INV-2,Blue Harbor\n"
    )
    for day in days("2026-03-01", "2026-03-08"):
        night(cli, config, day)
    cli("dispute", "INV-3", "--reason", "pricing", "--as-of", "2026-03-03", "--config", config)
    cli(
        "dispute",
        "resolve",
        "INV-3",
        "--credit",
        "500.00",
        "--as-of",
        "2026-03-05",
        "--config",
        config,
    )
    (name,) = night(cli, config, "2026-03-09")
    message = read(config, name)
    page = Page(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    day = ("--as-of", "2026-03-09", "--format", "json", "--config", config)
    kpis = json.loads(cli("kpi", *day).stdout)["currencies"]
    assert {(m["currency"], m["kpi"]): m["value"] for m in page.marks if "kpi" in m} == {
        (cur, k): "" if v is None else str(v)
        for cur, figures in kpis.items()
        for k, v in figures.items()
        if k not in ("receivables", "current")
    }
    aging = json.loads(cli("aging", *day).stdout)
    assert {(m["currency"], m["bucket"]): m["value"] for m in page.marks if "bucket" in m} == {
        (row["currency"], b): row[b]
        for row in aging["currencies"]
        for b in aging["buckets"]
        if float(row[b]) > 0
    }
    assert ("EUR", "90+") in {(row["currency"], "90+") for row in aging["currencies"]}
    assert [row["total"] for row in aging["currencies"] if row["currency"] == "EUR"] == [
        "2500.00"  # 3,000 less the credit of 500
    ]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "2026-03-02 to 2026-03-08: " in text
