"""Credit hold (issue 33) as users run it: `credit_hold:` in arflow.yaml, two weeks of nightly
real runs with the file outbox while the ledger export changes between nights; each day
`arflow holds` lists exactly the customers on hold and since when, the controller hears once
on entry and once on release, a rerun of a night sends nothing, between the enter and the
release thresholds nothing changes, conditions hold per currency; `history`, `status`, the
dry run and `validate` say so."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from arflow.holds.night import event_of
from arflow.holds.settings import CreditHold
from arflow.rules import Totals, account_totals
from arflow.state.holds import HoldEvent
from tests.conftest import inv, make_folder

LIBRARY = Path(__file__).resolve().parents[1]

CONFIG = """\
company: {name: Acme Supplies Ltd, email: ar@acme.example, timezone: UTC, currency: USD,
          locale: en_US}
invoices: {path: invoices.csv}
default_workflow: quiet
people:
  controller: {name: Carla Diaz, email: controller@acme.example}
channels:
  email: {transport: outbox, dir: outbox}
  notify: {transport: email}
credit_hold:
  enter: ["overdue >= 5000"]
  release: ["overdue < 1000"]
  notify: controller
"""
QUIET = """\
name: Quiet
steps:
  - id: late
    day: 400
    actions:
      - note: late
"""
HEADER = "number,customer_id,customer_name,issue_date,due_date,amount,balance,currency"
NAMES = {"C1": "Northwind", "C2": "Blue Harbor", "C3": "Kranich", "C4": "Bergmann"}


def ledger_on(day: date) -> str:
    """The export on the morning of `day`: balances rise and fall between nights."""
    d = date.fromisoformat

    def row(number: str, cid: str, due: str, amount: str, balance: str, cur: str) -> str:
        return f"{number},{cid},{NAMES[cid]},2026-01-01,{due},{amount},{balance},{cur}"

    # C1: 6000 overdue; part paid to 3000 (between the thresholds), then to 500 (released);
    # a new 5500 invoice due on the 11th puts it back on hold on the 12th
    c1 = "6000.00" if day < d("2026-03-05") else "3000.00" if day < d("2026-03-08") else "500.00"
    rows = [row("INV-1", "C1", "2026-02-01", "6000.00", c1, "USD")]
    if day >= d("2026-03-10"):
        rows.append(row("INV-6", "C1", "2026-03-11", "5500.00", "", "USD"))
    # C2: 4000 overdue from the 4th (between: not on hold), 5500 from the 6th (on hold)
    rows.append(row("INV-2", "C2", "2026-03-03", "4000.00", "", "USD"))
    rows.append(row("INV-5", "C2", "2026-03-05", "1500.00", "", "USD"))
    # C3: 3000 overdue in each of two currencies: never 5000 in one (never on hold)
    rows.append(row("INV-3", "C3", "2026-02-01", "3000.00", "", "USD"))
    rows.append(row("INV-7", "C3", "2026-02-01", "3000.00", "", "EUR"))
    # C4: EUR 5200 overdue (on hold); EUR down to 200 on the 9th while USD 1500 is still
    # overdue (on hold: release needs every currency); USD paid on the 11th (released)
    eur = "5200.00" if day < d("2026-03-09") else "200.00"
    usd = "1500.00" if day < d("2026-03-11") else "0.00"
    rows.append(row("INV-4", "C4", "2026-02-01", "5200.00", eur, "EUR"))
    rows.append(row("INV-8", "C4", "2026-02-10", "1500.00", usd, "USD"))
    return "\n".join([HEADER, *rows]) + "\n"


def folder(tmp_path: Path, config: str = CONFIG) -> Path:
    root = tmp_path / "ar"
    path = make_folder(
        root,
        invoices=ledger_on(date(2026, 3, 1)),
        workflows={"quiet": QUIET},
        config=config,
        templates={},
    )
    for template in (LIBRARY / "templates").iterdir():
        if template.name.startswith(("credit-", "_")):
            shutil.copy(template, root / "templates")
    return path


def outbox(config: Path) -> set[str]:
    box = config.parent / "outbox"
    return {p.name for p in box.iterdir()} if box.exists() else set()


def night(cli, config: Path, day: str) -> list[tuple[str, str]]:
    """A real run on `day` with that morning's export: the messages it put into the outbox,
    as (to, subject), sorted."""
    (config.parent / "invoices.csv").write_text(ledger_on(date.fromisoformat(day)))
    before = outbox(config)
    cli("run", "--as-of", day, "--config", config)
    found = []
    for name in sorted(outbox(config) - before):
        raw = (config.parent / "outbox" / name).read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        found.append((str(message["To"]), str(message["Subject"])))
    return sorted(found)


def holds(cli, config: Path, day: str) -> list[tuple[str, str, str]]:
    result = cli("holds", "--as-of", day, "--format", "json", "--config", config)
    doc = json.loads(result.stdout)
    assert set(doc) == {"holds"}
    assert all(set(h) == {"customer_id", "since", "why"} for h in doc["holds"])
    return [(h["customer_id"], h["since"], h["why"]) for h in doc["holds"]]


def days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(n)).isoformat() for n in range((end - start).days + 1)]


CTL = "Carla Diaz <controller@acme.example>"
C1_IN = ("C1", "2026-03-01", "USD: overdue 6000.00 >= 5000")
C4_IN = ("C4", "2026-03-01", "EUR: overdue 5200.00 >= 5000")
C2_IN = ("C2", "2026-03-06", "USD: overdue 5500.00 >= 5000")
C1_AGAIN = ("C1", "2026-03-12", "USD: overdue 6000.00 >= 5000")
EXPECTED_HOLDS = {
    **{day: [C1_IN, C4_IN] for day in days("2026-03-01", "2026-03-05")},
    **{day: [C1_IN, C2_IN, C4_IN] for day in days("2026-03-06", "2026-03-07")},
    **{day: [C2_IN, C4_IN] for day in days("2026-03-08", "2026-03-10")},
    "2026-03-11": [C2_IN],
    **{day: [C1_AGAIN, C2_IN] for day in days("2026-03-12", "2026-03-14")},
}
EXPECTED_MAIL = {
    "2026-03-01": [
        (CTL, "[AR] Bergmann is on credit hold"),
        (CTL, "[AR] Northwind is on credit hold"),
    ],
    "2026-03-06": [(CTL, "[AR] Blue Harbor is on credit hold")],
    "2026-03-08": [(CTL, "[AR] Northwind is released from credit hold")],
    "2026-03-11": [(CTL, "[AR] Bergmann is released from credit hold")],
    "2026-03-12": [(CTL, "[AR] Northwind is on credit hold")],
}


def test_two_weeks_of_nights_hold_and_release_each_once(cli, tmp_path):
    config = folder(tmp_path)
    for day in days("2026-03-01", "2026-03-14"):
        assert night(cli, config, day) == EXPECTED_MAIL.get(day, []), day
        assert holds(cli, config, day) == EXPECTED_HOLDS[day], day
        if day in ("2026-03-01", "2026-03-08", "2026-03-12"):
            assert night(cli, config, day) == [], day  # the same night again sends nothing
            assert holds(cli, config, day) == EXPECTED_HOLDS[day], day
    # the past stays as the runs saw it
    assert holds(cli, config, "2026-03-05") == [C1_IN, C4_IN]
    assert holds(cli, config, "2026-02-28") == []


def test_history_status_and_the_notice_say_why(cli, tmp_path):
    config = folder(tmp_path)
    for day in days("2026-03-01", "2026-03-08"):
        night(cli, config, day)
    history = json.loads(
        cli("history", "--customer", "C1", "--format", "json", "--config", config).stdout
    )["actions"]
    assert [
        (e["as_of"], e["workflow"], e["step"], e["kind"], e["description"]) for e in history
    ] == [
        ("2026-03-01", "credit_hold", "hold", "notify", None),
        ("2026-03-01", "credit_hold", "hold", "hold",
         "on credit hold: USD: overdue 6000.00 >= 5000"),
        ("2026-03-08", "credit_hold", "release", "notify", None),
        ("2026-03-08", "credit_hold", "release", "release",
         "released: USD: overdue 500.00 < 1000"),
    ]  # fmt: skip
    (sent,) = [
        p for p in (config.parent / "outbox").iterdir() if "C1" in p.name and "hold-0" in p.name
    ]
    body = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    text = body.get_body(("plain",)).get_content()
    assert "Northwind (C1) is on credit hold from Mar 1, 2026: USD: overdue 6000.00 >= 5000." in (
        text
    )
    assert "INV-1          due Feb 1, 2026  $6,000.00  (28 days past due)" in text


def test_a_dry_run_shows_who_would_enter_and_records_nothing(cli, tmp_path):
    config = folder(tmp_path)
    result = cli(
        "run", "--dry-run", "--format", "json", "--as-of", "2026-03-01", "--config", config
    )
    doc = json.loads(result.stdout)
    assert doc["holds"] == [
        {"customer_id": "C1", "event": "hold", "since": "2026-03-01", "why": C1_IN[2]},
        {"customer_id": "C4", "event": "hold", "since": "2026-03-01", "why": C4_IN[2]},
    ]
    assert [(a["workflow"], a["step"], a["customer_id"], a["to"]) for a in doc["actions"]] == [
        ("credit_hold", "hold", "C1", ["controller@acme.example"]),
        ("credit_hold", "hold", "C4", ["controller@acme.example"]),
    ]
    table = cli("run", "--dry-run", "--as-of", "2026-03-01", "--config", config).stdout
    assert "# credit hold: C1 would enter (USD: overdue 6000.00 >= 5000)" in table
    assert holds(cli, config, "2026-03-01") == []
    assert outbox(config) == set()


def hold_settings(**given) -> CreditHold:
    return CreditHold.model_validate(
        {"enter": ["overdue >= 5000"], "release": ["overdue < 1000"], **given}
    )


D = date(2026, 3, 10)
BEFORE = date(2026, 3, 1)


def usd(outstanding: str, overdue: str, days: int = 30) -> dict[str, Totals]:
    return {"USD": Totals(Decimal(outstanding), Decimal(overdue), days)}


@pytest.mark.parametrize(
    "latest, overdue, expected",
    [
        (None, "5000.00", ("hold", "USD: overdue 5000.00 >= 5000")),  # at the threshold
        (None, "4999.99", None),
        ("release", "6000.00", ("hold", "USD: overdue 6000.00 >= 5000")),  # again
        ("release", "3000.00", None),  # between: stays released
        ("hold", "3000.00", None),  # between: stays on hold
        ("hold", "999.99", ("release", "USD: overdue 999.99 < 1000")),
        ("hold", "1000.00", None),  # at the release threshold: not below it
        ("hold", "9000.00", None),  # on hold already: no second entry
    ],
)
def test_enter_and_release_with_hysteresis(latest, overdue, expected):
    before = None if latest is None else HoldEvent("C1", latest, BEFORE, "earlier")
    own = usd("20000.00", overdue)
    event = event_of(hold_settings(), "C1", own, own, before, D)
    assert (event and (event.kind, event.why)) == expected
    assert event is None or event.as_of == D


def test_enter_needs_every_condition_in_one_currency():
    settings = hold_settings(enter=["overdue >= 5000", "days_past_due >= 60"])
    own = {
        "USD": Totals(Decimal("6000"), Decimal("6000"), 45),  # enough money, not late enough
        "EUR": Totals(Decimal("900"), Decimal("900"), 75),  # late enough, not enough money
    }
    assert event_of(settings, "C1", own, own, None, D) is None
    own["EUR"] = Totals(Decimal("5100"), Decimal("5100"), 75)
    event = event_of(settings, "C1", own, own, None, D)
    assert event == HoldEvent(
        "C1", "hold", D, "EUR: overdue 5100.00 >= 5000, days_past_due 75 >= 60"
    )


def test_release_needs_every_currency_and_nothing_owed_releases():
    settings = hold_settings()
    on_hold = HoldEvent("C1", "hold", BEFORE, "earlier")
    own = {
        "EUR": Totals(Decimal("200"), Decimal("200"), 40),
        "USD": Totals(Decimal("1500"), Decimal("1500"), 30),
    }
    assert event_of(settings, "C1", own, own, on_hold, D) is None
    del own["USD"]
    assert event_of(settings, "C1", own, own, on_hold, D) == HoldEvent(
        "C1", "release", D, "EUR: overdue 200.00 < 1000"
    )
    assert event_of(settings, "C1", {}, {}, on_hold, D) == HoldEvent(
        "C1", "release", D, "nothing owed: overdue 0.00 < 1000"
    )
    assert event_of(settings, "C1", {}, {}, None, D) is None  # owes nothing: never enters


def test_consolidated_conditions_count_the_branches():
    settings = hold_settings(enter=["consolidated_overdue >= 5000"])
    own, family = usd("2000", "2000"), usd("7000", "7000")
    event = event_of(settings, "P1", own, family, None, D)
    assert event == HoldEvent("P1", "hold", D, "USD: consolidated_overdue 7000.00 >= 5000")


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            ('"overdue >= 5000"', '"overdue > 5000"'),
            "ar/arflow.yaml:11: credit_hold.enter.0: condition 'overdue > 5000': write METRIC "
            ">= N or METRIC < N with a metric of outstanding, overdue, overdue_pct, "
            "days_past_due and their consolidated_ forms (consolidated_overdue …)",
        ),
        (
            ("notify: controller", "notify: ctrl"),
            "ar/arflow.yaml:13: credit_hold.notify: 'ctrl' is not a key of people: (they are: "
            "controller); add them under people: with an email, or name one of them",
        ),
        (
            ("notify: controller", "notify: controller\n  on_hold:\n    - email: reminder"),
            "ar/arflow.yaml:15: credit_hold.on_hold.0: email: is not an action of a hold's "
            "event; it tells people (notify: {to: PERSON, template: NAME}) or a system "
            "(webhook: {url: URL, template: NAME})",
        ),
        (
            (
                "notify: controller",
                "notify: controller\n  on_release:\n"
                "    - notify: {to: [sales], template: credit-release}",
            ),
            "ar/arflow.yaml:15: credit_hold.on_release.0: to: 'sales' is not a key of people: "
            "(they are: controller) nor specialist (the customer's) nor an address",
        ),
        (
            (
                "notify: controller",
                "notify: controller\n  on_hold:\n"
                '    - webhook: {url: "https://erp.example.com/hold", template: erp-hold}',
            ),
            "ar/arflow.yaml:15: credit_hold.on_hold.0: the on_hold webhook uses the template "
            "'erp-hold': add erp-hold.json.j2 to ar/templates/",
        ),
    ],
)
def test_validate_names_file_line_and_fix(cli, tmp_path, monkeypatch, change, expected):
    config = folder(tmp_path)
    config.write_text(config.read_text().replace(*change))
    monkeypatch.chdir(tmp_path)
    result = cli("validate", "ar", expect=1)
    assert result.stderr.splitlines()[:-1] == [expected]


def test_validate_wants_the_notice_templates(cli, tmp_path, monkeypatch):
    config = folder(tmp_path)
    for path in (config.parent / "templates").glob("credit-release.*"):
        path.unlink()
    monkeypatch.chdir(tmp_path)
    result = cli("validate", "ar", expect=1)
    assert result.stderr.splitlines()[:-1] == [
        "ar/arflow.yaml:13: credit_hold.notify: the release notice uses the template "
        "'credit-release': add credit-release.subject.j2 and credit-release.txt.j2 to "
        "ar/templates/"
    ]


def test_status_shows_the_hold(cli, tmp_path):
    config = folder(tmp_path)
    night(cli, config, "2026-03-01")
    doc = json.loads(
        cli("status", "C1", "--as-of", "2026-03-02", "--format", "json", "--config", config).stdout
    )
    assert doc["customers"][0]["hold"] == {
        "customer_id": "C1",
        "since": "2026-03-01",
        "why": "USD: overdue 6000.00 >= 5000",
    }
    other = cli("status", "C3", "--as-of", "2026-03-02", "--format", "json", "--config", config)
    assert json.loads(other.stdout)["customers"][0]["hold"] is None
    table = cli("status", "C1", "--as-of", "2026-03-02", "--config", config).stdout
    assert "credit hold since 2026-03-01 (USD: overdue 6000.00 >= 5000)" in table


def test_a_forecast_shows_who_would_enter_each_day_and_records_nothing(cli, tmp_path):
    config = folder(tmp_path)
    result = cli(
        "forecast", "--as-of", "2026-03-01", "--days", "10", "--format", "json", "--config", config
    )
    days_ = json.loads(result.stdout)["days"]
    assert {d["date"]: d["holds"] for d in days_ if "holds" in d} == {
        "2026-03-01": [
            {"customer_id": "C1", "event": "hold", "since": "2026-03-01", "why": C1_IN[2]},
            {"customer_id": "C4", "event": "hold", "since": "2026-03-01", "why": C4_IN[2]},
        ],
        # INV-5 falls due on the 5th: C2 owes 5500 overdue from the 6th
        "2026-03-06": [
            {"customer_id": "C2", "event": "hold", "since": "2026-03-06", "why": C2_IN[2]},
        ],
    }
    assert [(d["date"], a["customer_id"], a["subject"]) for d in days_ for a in d["actions"]] == [
        ("2026-03-01", "C1", "[AR] Northwind is on credit hold"),
        ("2026-03-01", "C4", "[AR] Bergmann is on credit hold"),
        ("2026-03-06", "C2", "[AR] Blue Harbor is on credit hold"),
    ]
    assert holds(cli, config, "2026-03-10") == []
    assert outbox(config) == set()


ERP = """\
{"customer_id": {{ customer.id }}, "event": {{ hold.event }}, "since": {{ hold.since }},
 "why": {{ hold.why }}}
"""


def test_on_hold_and_on_release_webhooks_go_once_a_failed_one_next_night(
    cli, tmp_path, http_server
):
    hooks = f"""\
  on_hold:
    - webhook: {{url: "{http_server.url}/hold", template: erp}}
  on_release:
    - webhook: {{url: "{http_server.url}/release", template: erp}}
"""
    config = folder(tmp_path, CONFIG.replace("  notify: controller\n", hooks))
    (config.parent / "templates" / "erp.json.j2").write_text(ERP)
    http_server.replies = [(429, {"error": "slow down"})]  # the first fails: tried again
    sent: dict[str, list] = {}
    for day in days("2026-03-01", "2026-03-09"):
        (config.parent / "invoices.csv").write_text(ledger_on(date.fromisoformat(day)))
        before = len(http_server.requests)
        cli("run", "--as-of", day, "--config", config, expect=None)
        sent[day] = [
            (r.path, json.loads(r.body)["customer_id"], json.loads(r.body)["event"])
            for r in http_server.requests[before:]
        ]
    assert {day: calls for day, calls in sent.items() if calls} == {
        "2026-03-01": [("/hold", "C1", "hold"), ("/hold", "C4", "hold")],  # C1's failed
        "2026-03-02": [("/hold", "C1", "hold")],
        "2026-03-06": [("/hold", "C2", "hold")],
        "2026-03-08": [("/release", "C1", "release")],
    }
    assert json.loads(http_server.requests[-1].body) == {
        "customer_id": "C1",
        "event": "release",
        "since": "2026-03-08",
        "why": "USD: overdue 500.00 < 1000",
    }


def test_holds_as_a_table_and_as_csv(cli, tmp_path):
    config = folder(tmp_path)
    assert (
        cli("holds", "--as-of", "2026-03-01", "--config", config).stdout
        == "# customer_id\tsince\twhy\n"
    )  # before any run: no one, just the header
    night(cli, config, "2026-03-01")
    assert cli("holds", "--as-of", "2026-03-01", "--config", config).stdout.splitlines() == [
        "# customer_id\tsince\twhy",
        "C1\t2026-03-01\tUSD: overdue 6000.00 >= 5000",
        "C4\t2026-03-01\tEUR: overdue 5200.00 >= 5000",
    ]
    csv = cli("holds", "--as-of", "2026-03-01", "--format", "csv", "--config", config).stdout
    assert csv.splitlines() == [
        "customer_id,since,why",
        "C1,2026-03-01,USD: overdue 6000.00 >= 5000",
        "C4,2026-03-01,EUR: overdue 5200.00 >= 5000",
    ]


def test_a_customer_gone_from_the_export_is_released_and_customer_runs_judge_one(cli, tmp_path):
    config = folder(tmp_path)
    night(cli, config, "2026-03-01")
    cli("run", "--as-of", "2026-03-02", "--customer", "C2", "--config", config)
    assert holds(cli, config, "2026-03-02") == [C1_IN, C4_IN]  # C2's run leaves C1 and C4
    # C1 paid in full and gone from the export: released, as owing nothing
    gone = "\n".join(
        line for line in ledger_on(date(2026, 3, 3)).splitlines() if ",C1," not in line
    )
    (config.parent / "invoices.csv").write_text(gone + "\n")
    result = cli("run", "--as-of", "2026-03-03", "--format", "json", "--config", config)
    doc = json.loads(result.stdout)
    assert doc["holds"] == [
        {
            "customer_id": "C1",
            "event": "release",
            "since": "2026-03-03",
            "why": "nothing owed: overdue 0.00 < 1000",
        }
    ]
    assert [(a["customer_id"], a["subject"]) for a in doc["actions"]] == [
        ("C1", "[AR] C1 is released from credit hold")
    ]
    assert holds(cli, config, "2026-03-03") == [C4_IN]


def test_notices_older_than_a_week_are_not_sent_when_notify_is_added_later(cli, tmp_path):
    config = folder(tmp_path, CONFIG.replace("  notify: controller\n", ""))
    for day in days("2026-03-01", "2026-03-06"):
        assert night(cli, config, day) == []  # no one to tell
    config.write_text(CONFIG)
    # C4 entered on the 1st: 8 days ago on the 9th, old news; C2 on the 6th: told; C1 is
    # released tonight (its balance fell to 500 on the 8th): told
    assert night(cli, config, "2026-03-09") == [
        (CTL, "[AR] Blue Harbor is on credit hold"),
        (CTL, "[AR] Northwind is released from credit hold"),
    ]


def test_a_dry_run_after_real_nights_records_nothing(cli, tmp_path):
    config = folder(tmp_path)
    night(cli, config, "2026-03-01")
    (config.parent / "invoices.csv").write_text(ledger_on(date(2026, 3, 8)))
    result = cli(
        "run", "--dry-run", "--format", "json", "--as-of", "2026-03-08", "--config", config
    )
    assert [(h["customer_id"], h["event"]) for h in json.loads(result.stdout)["holds"]] == [
        ("C1", "release"),
        ("C2", "hold"),
    ]
    assert holds(cli, config, "2026-03-08") == [C1_IN, C4_IN]  # as the real night left them
    assert night(cli, config, "2026-03-08") == [
        (CTL, "[AR] Blue Harbor is on credit hold"),
        (CTL, "[AR] Northwind is released from credit hold"),
    ]


def test_days_past_due_is_the_latest_invoice_still_owed_not_a_credit_note():
    invoices = [
        inv("A", amount="100.00", due="2026-03-05"),  # 5 days past due
        inv("B", amount="-50.00", due="2025-12-10"),  # a credit note, 90 days old
        inv("C", amount="70.00", due="2026-01-01", paid="2026-03-01"),  # paid: not counted
        inv("D", amount="20.00", due="2026-02-08", currency="EUR"),  # 30 days
    ]
    assert account_totals(invoices, D, Decimal("0.01")) == {
        "USD": Totals(Decimal("50.00"), Decimal("50.00"), 5),
        "EUR": Totals(Decimal("20.00"), Decimal("20.00"), 30),
    }


def test_a_baseline_records_the_holds_and_tells_no_one(cli, tmp_path):
    config = folder(tmp_path)
    cli("run", "--baseline", "--as-of", "2026-03-01", "--config", config)
    assert holds(cli, config, "2026-03-01") == [C1_IN, C4_IN]
    assert outbox(config) == set()
    assert night(cli, config, "2026-03-02") == []  # adopted: not told now either
    assert night(cli, config, "2026-03-08") == [
        (CTL, "[AR] Blue Harbor is on credit hold"),
        (CTL, "[AR] Northwind is released from credit hold"),
    ]


def test_a_forecast_day_that_plans_a_customer_on_hold_does_not_tell_again(cli, tmp_path):
    config = folder(tmp_path)
    (config.parent / "workflows" / "quiet.yaml").write_text(
        QUIET.replace("day: 400", "day: 30").replace("note: late", "status: Late")
    )  # C1's INV-1 (due Feb 1) reaches it on Mar 3: that day plans C1 again
    result = cli(
        "forecast", "--as-of", "2026-03-01", "--days", "6", "--format", "json", "--config", config
    )
    assert [
        (d["date"], a["workflow"], a["customer_id"])
        for d in json.loads(result.stdout)["days"]
        for a in d["actions"]
    ] == [
        ("2026-03-01", "credit_hold", "C1"),
        ("2026-03-01", "credit_hold", "C4"),
        ("2026-03-03", "quiet", "C1"),
        ("2026-03-03", "quiet", "C3"),
        ("2026-03-03", "quiet", "C4"),
        ("2026-03-06", "credit_hold", "C2"),
    ]


def test_a_notice_that_failed_goes_the_next_night_and_the_hold_keeps_its_day(cli, tmp_path):
    closed = CONFIG.replace(
        "email: {transport: outbox, dir: outbox}",
        "email: {transport: smtp, host: 127.0.0.1, port: 9, timeout: 2}",
    )
    config = folder(tmp_path, closed)
    result = cli("run", "--as-of", "2026-03-01", "--format", "json", "--config", config, expect=3)
    assert [(a["customer_id"], a["status"]) for a in json.loads(result.stdout)["actions"]] == [
        ("C1", "failed"),
        ("C4", "failed"),
    ]
    assert holds(cli, config, "2026-03-01") == [C1_IN, C4_IN]
    config.write_text(CONFIG)  # the mail server is back: the next night tells, once
    assert night(cli, config, "2026-03-02") == [
        (CTL, "[AR] Bergmann is on credit hold"),
        (CTL, "[AR] Northwind is on credit hold"),
    ]
    assert night(cli, config, "2026-03-03") == []
    assert holds(cli, config, "2026-03-03") == [C1_IN, C4_IN]


def test_a_customer_entering_again_on_the_day_it_was_released_is_told_again(cli, tmp_path):
    config = folder(tmp_path)

    def c1_at(balance: str) -> list[tuple[str, str]]:
        (config.parent / "invoices.csv").write_text(
            f"{HEADER}\nINV-1,C1,Northwind,2026-01-01,2026-02-01,6000.00,{balance},USD\n"
        )
        before = outbox(config)
        cli("run", "--as-of", "2026-03-02", "--config", config)
        # `2026-03-02-C1-credit_hold-hold-0-DIGEST.eml`: the event and the action's index
        return sorted(
            n.split("-credit_hold-")[1].rsplit("-", 1)[0] for n in outbox(config) - before
        )

    assert c1_at("6000.00") == ["hold-0"]  # entered, told
    assert c1_at("500.00") == ["release-0"]  # corrected export: released, told
    assert c1_at("6000.00") == ["hold-0"]  # back over: on hold again, told again
    assert c1_at("6000.00") == []  # the same night again: nothing
    assert holds(cli, config, "2026-03-02") == [
        ("C1", "2026-03-02", "USD: overdue 6000.00 >= 5000")
    ]


def test_a_notice_whose_sends_keep_failing_is_dropped_after_a_week_and_reported(cli, tmp_path):
    hooks = '  on_hold:\n    - webhook: {url: "http://127.0.0.1:9/hold", template: erp}\n'
    config = folder(tmp_path, CONFIG.replace("  notify: controller\n", hooks))
    (config.parent / "templates" / "erp.json.j2").write_text(ERP)
    (config.parent / "invoices.csv").write_text(
        f"{HEADER}\nINV-1,C1,Northwind,2026-01-01,2026-02-01,6000.00,6000.00,USD\n"
    )
    key = "hold:C1#1/credit_hold/hold/0"
    for day in days("2026-03-01", "2026-03-08"):  # the webhook fails each night: tried again
        result = cli("run", "--as-of", day, "--format", "json", "--config", config, expect=3)
        doc = json.loads(result.stdout)
        assert [(a["customer_id"], a["status"]) for a in doc["actions"]] == [("C1", "failed")]
    dropped = cli("run", "--as-of", "2026-03-09", "--config", config, expect=3)
    lines = dropped.stdout.splitlines()
    assert [line for line in lines if line.startswith("error")] == [
        f"error\ta credit hold notice ({key}) was dropped: its sends kept failing for 7 days "
        "after the customer's hold; tell C1's people by hand (`arflow history --customer C1` "
        "shows the failures)"
    ]
    assert lines[-1] == "2026-03-09: 1 invoices, 1 open, 0 action(s), 1 skipped, 1 error(s)"
    history = json.loads(
        cli("history", "--customer", "C1", "--format", "json", "--config", config).stdout
    )["actions"]
    assert [(e["as_of"], e["state"], e["reason"]) for e in history if e["key"] == key] == [
        ("2026-03-09", "skipped", "notice-dropped")
    ]
    # reported once: the next night is quiet
    quiet = cli("run", "--as-of", "2026-03-10", "--config", config)
    assert quiet.stdout.splitlines()[-1] == (
        "2026-03-10: 1 invoices, 1 open, 0 action(s), 0 skipped, 0 error(s)"
    )
