"""Late fees (issue 31): each rule to the cent, on invoices that straddle rate changes, with
partial payments and with a user's `reference_rates:`; the shipped tables against published
figures; and `arflow fees` as a user runs it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from arflow.config import Config
from arflow.errors import InvalidFiles
from arflow.fees.accrual import accrue
from arflow.fees.rates import MissingRate, shipped
from arflow.fees.reference import rate_table
from arflow.fees.settings import LateFees
from tests.conftest import inv, make_folder

D = Decimal


def fees(**settings: object) -> LateFees:
    return LateFees.model_validate(settings)


def periods(found) -> list[tuple[str, str, str, str]]:
    return [(p.start.isoformat(), p.end.isoformat(), str(p.rate), str(p.interest)) for p in found]


# --- the shipped tables, against published figures ------------------------------------------
@pytest.mark.parametrize(
    ("table", "day", "rate"),
    [
        # Bank of England, Monetary Policy Summaries: 5.25 % from 3 Aug 2023; 0.1 % from
        # 19 Mar 2020; 4 % from 7 Aug 2025; 3.75 % from 18 Dec 2025 (held on 5 Feb 2026)
        ("boe-bank-rate", date(2023, 8, 3), "5.25"),
        ("boe-bank-rate", date(2020, 3, 19), "0.10"),
        ("boe-bank-rate", date(2025, 8, 7), "4.00"),
        ("boe-bank-rate", date(2026, 2, 5), "3.75"),
        ("boe-bank-rate", date(2025, 12, 17), "4.00"),
        # Deutsche Bundesbank, Basiszinssatz (§ 247 BGB): 1.62 % from 1 Jan 2023 (BAnz AT
        # 28.12.2022 B5); -0.88 % from 1 Jul 2016 to 31 Dec 2022; 3.62 % from 1 Jan 2024;
        # 1.27 % from 1 Jan 2026 (BAnz of 24.12.2025)
        ("bundesbank-basiszinssatz", date(2023, 1, 1), "1.62"),
        ("bundesbank-basiszinssatz", date(2022, 12, 31), "-0.88"),
        ("bundesbank-basiszinssatz", date(2024, 1, 1), "3.62"),
        ("bundesbank-basiszinssatz", date(2026, 1, 1), "1.27"),
        # ECB, key interest rates, main refinancing operations: 4.50 % from 20 Sep 2023;
        # 3.15 % from 18 Dec 2024; 2.15 % from 11 Jun 2025 (held on 5 Feb 2026); 0.00 % from
        # 16 Mar 2016
        ("ecb-main-refinancing", date(2023, 9, 20), "4.50"),
        ("ecb-main-refinancing", date(2024, 12, 18), "3.15"),
        ("ecb-main-refinancing", date(2026, 1, 1), "2.15"),
        ("ecb-main-refinancing", date(2016, 3, 16), "0.00"),
        ("ecb-main-refinancing", date(2016, 3, 15), "0.05"),
    ],
)
def test_shipped_tables_hold_the_published_figures(table, day, rate):
    assert shipped(table).on(day) == D(rate)


def test_a_day_past_the_table_names_the_table_and_the_fix():
    with pytest.raises(MissingRate) as caught:
        shipped("bundesbank-basiszinssatz").on(date(2026, 7, 1))
    assert str(caught.value).startswith(
        "the Bundesbank's Basiszinssatz (§ 247 BGB) is known to arflow up to 2026-06-30, not on "
        "2026-07-01: add the rate in force on 2026-07-01 to a `reference_rates:` file"
    )
    with pytest.raises(MissingRate, match="starts on 2008-10-08, after 2001-01-01"):
        shipped("boe-bank-rate").on(date(2001, 1, 1))


# --- the rules, to the cent --------------------------------------------------------------------
def test_uk_rate_is_fixed_at_the_reference_day_for_the_life_of_the_debt():
    # late from 21 Jun 2025 (1 Jan–30 Jun): reference day 31 Dec 2024, Bank Rate 4.75 % + 8;
    # four Bank Rate cuts later the rate is still 12.75 %
    debt = inv("INV-1", due="2025-06-20", amount="10000.00", currency="GBP")
    found = accrue(
        debt,
        fees(interest="uk-late-payment", compensation="uk-late-payment"),
        date(2026, 3, 16),
        shipped("boe-bank-rate"),
    )
    # 10,000 × 12.75 % × 269 / 365 = 939.6575…
    assert periods(found.periods) == [("2025-06-21", "2026-03-16", "12.75", "939.66")]
    assert (found.interest, found.compensation, found.days_late) == (D("939.66"), D("100.00"), 269)
    # late from 1 Jul 2025: reference day 30 Jun 2025, Bank Rate 4.25 % + 8
    later = inv("INV-2", due="2025-06-30", amount="1500.00", currency="GBP")
    found = accrue(
        later, fees(interest="uk-late-payment"), date(2025, 9, 30), shipped("boe-bank-rate")
    )
    # 1,500 × 12.25 % × 92 / 365 = 46.3150…
    assert periods(found.periods) == [("2025-07-01", "2025-09-30", "12.25", "46.32")]


@pytest.mark.parametrize(
    ("amount", "currency", "owed", "note"),
    [
        ("999.99", "GBP", "40.00", None),
        ("1000.00", "GBP", "70.00", None),
        ("9999.99", "GBP", "70.00", None),
        ("10000.00", "GBP", "100.00", None),
        (
            "5000.00",
            "USD",
            "0",
            "uk-late-payment compensation is a sum in GBP; this invoice is in USD",
        ),
    ],
)
def test_uk_compensation_by_the_invoices_amount(amount, currency, owed, note):
    debt = inv("INV-1", due="2026-01-15", amount=amount, currency=currency)
    found = accrue(debt, fees(compensation="uk-late-payment"), date(2026, 2, 1), None)
    assert (found.compensation, found.note, found.periods) == (D(owed), note, [])


def test_de_interest_follows_the_basiszinssatz_period_by_period():
    # balance 8,000 of 10,000 (paid in part, no payment day known: the balance); late from
    # 1 Jun 2025: 2.27 + 9 to 30 Jun, 1.27 + 9 from 1 Jul 2025 and from 1 Jan 2026
    debt = inv("INV-1", due="2025-05-31", amount="10000.00", balance="8000.00", currency="EUR")
    found = accrue(
        debt,
        fees(interest="de-bgb", compensation="de-bgb"),
        date(2026, 3, 16),
        shipped("bundesbank-basiszinssatz"),
    )
    assert periods(found.periods) == [
        ("2025-06-01", "2025-06-30", "11.27", "74.10"),  # 8,000 × 11.27 % × 30/365 = 74.104
        ("2025-07-01", "2025-12-31", "10.27", "414.18"),  # × 10.27 % × 184/365 = 414.176
        ("2026-01-01", "2026-03-16", "10.27", "168.82"),  # × 10.27 % × 75/365 = 168.821
    ]
    assert (found.interest, found.compensation, found.principal) == (
        D("657.10"),
        D("40.00"),
        D("8000.00"),
    )


def test_eu_interest_reads_the_ecb_rate_on_each_half_years_first_day():
    debt = inv("INV-1", due="2024-11-30", amount="5000.00", currency="EUR")
    found = accrue(
        debt,
        fees(interest="eu-late-payment", compensation="eu-late-payment"),
        date(2025, 3, 16),
        shipped("ecb-main-refinancing"),
    )
    assert periods(found.periods) == [
        ("2024-12-01", "2024-12-31", "12.25", "52.02"),  # 4.25 on 1 Jul 2024: 52.0205
        ("2025-01-01", "2025-03-16", "11.15", "114.55"),  # 3.15 on 1 Jan 2025: 114.5548
    ]
    assert (found.interest, found.compensation) == (D("166.57"), D("40.00"))


def test_payments_with_their_days_lower_the_principal_from_that_day():
    debt = inv("INV-1", due="2026-01-31", amount="1000.00", balance="600.00")
    found = accrue(
        debt,
        fees(interest={"annual": 12}),
        date(2026, 2, 28),
        None,
        payments=[(date(2026, 2, 15), D("400.00"))],
    )
    assert periods(found.periods) == [
        ("2026-02-01", "2026-02-14", "12", "4.60"),  # 1,000 × 12 % × 14/365 = 4.6027
        ("2026-02-15", "2026-02-28", "12", "2.76"),  # 600 × 12 % × 14/365 = 2.7616
    ]
    assert [p.principal for p in found.periods] == [D("1000.00"), D("600.00")]
    # paid on the first day interest runs: the lower principal from that day, one period
    first_day = accrue(
        debt,
        fees(interest={"annual": 12}),
        date(2026, 2, 28),
        None,
        payments=[(date(2026, 2, 1), D("400.00"))],
    )
    assert periods(first_day.periods) == [("2026-02-01", "2026-02-28", "12", "5.52")]


def test_monthly_grace_rounding_and_what_is_never_charged():
    # 1.5 % a month is 18 % a year; grace 10 days: from 12 Mar
    debt = inv("INV-1", due="2026-03-01", amount="1000.00")
    settings = fees(interest={"monthly": 1.5}, compensation={"fixed": 25}, grace_days=10)
    assert accrue(debt, settings, date(2026, 3, 11), None).periods == []
    assert accrue(debt, settings, date(2026, 3, 11), None).compensation == 0
    found = accrue(debt, settings, date(2026, 3, 12), None)
    assert periods(found.periods) == [("2026-03-12", "2026-03-12", "18.0", "0.49")]
    assert found.compensation == D("25.00")
    # half-up, not to even: 1.00 × 36.5 % × 5/365 = 0.005 → 0.01
    tiny = inv("INV-2", due="2026-03-01", amount="1.00")
    assert accrue(tiny, fees(interest={"annual": 36.5}), date(2026, 3, 6), None).interest == D(
        "0.01"
    )
    # a currency without cents rounds to its unit: 100,000 × 10 % × 10/365 = 273.97 → 274
    yen = inv("INV-3", due="2026-03-01", amount="100000", currency="JPY")
    assert accrue(yen, fees(interest={"annual": 10}), date(2026, 3, 11), None).interest == D("274")
    for never in (
        inv("CN-1", due="2026-01-01", amount="-100.00"),
        inv("D-1", due="2026-01-01", status="draft"),
        inv("V-1", due="2026-01-01", status="void"),
        inv("LF-C1-20260110-USD", due="2026-01-10", amount="25.00"),  # a fee invoice, booked
    ):
        found = accrue(never, settings, date(2026, 3, 16), None)
        assert (found.periods, found.compensation) == ([], 0), never.number
    # paid on 1 Feb: the interest ran to 31 Jan on its amount (ERPNext #58220: not lost once
    # the principal is paid); 100.00 × 18 % × 20/365 = 0.9863; no step fee once paid
    paid = accrue(
        inv("P-1", due="2026-01-01", paid="2026-02-01"), settings, date(2026, 3, 16), None
    )
    assert periods(paid.periods) == [("2026-01-12", "2026-01-31", "18.0", "0.99")]
    assert (paid.compensation, paid.days_late, paid.late) == (D("25.00"), 30, False)


# --- reference_rates: --------------------------------------------------------------------------
def config_in(tmp_path, late_fees: str) -> Config:
    path = make_folder(
        tmp_path,
        invoices="number,customer_id,issue_date,due_date,amount\n",
        workflows={},
        config=f"""
            company: {{name: Acme, currency: EUR}}
            invoices: {{path: invoices.csv}}
            late_fees: {late_fees}
        """,
    )
    from arflow.config import load_config

    return load_config(path)


def test_reference_rates_extend_and_override_the_shipped_table(tmp_path):
    (tmp_path / "rates.csv").write_text("date,rate\n2026-07-01,2.00\n2024-07-01,3.40\n")
    cfg = config_in(tmp_path, "{interest: de-bgb, reference_rates: rates.csv}")
    table = rate_table(cfg, cfg.late_fees)
    debt = inv("INV-1", due="2026-06-15", amount="1000.00", currency="EUR")
    with pytest.raises(MissingRate):
        accrue(debt, cfg.late_fees, date(2026, 8, 10), shipped("bundesbank-basiszinssatz"))
    found = accrue(debt, cfg.late_fees, date(2026, 8, 10), table)
    assert periods(found.periods) == [
        ("2026-06-16", "2026-06-30", "10.27", "4.22"),  # 1,000 × 10.27 % × 15/365 = 4.2205
        ("2026-07-01", "2026-08-10", "11.00", "12.36"),  # × 11 % × 41/365 = 12.356
    ]
    assert table.on(date(2024, 7, 1)) == D("3.40")  # the user's row replaces the shipped 3.37
    assert table.on(date(2026, 7, 1)) == D("2.00")


def test_a_bad_reference_rates_file_is_refused_whole_naming_each_line(tmp_path):
    (tmp_path / "rates.csv").write_text(
        "date,rate\n2026-07-01,2.00\n2026-13-01,1.0\n2027-01-01,abc\n2026-07-01,2.5\n"
    )
    cfg = config_in(tmp_path, "{interest: de-bgb, reference_rates: rates.csv}")
    with pytest.raises(InvalidFiles) as caught:
        rate_table(cfg, cfg.late_fees)
    lines = [(p.path, p.line) for p in caught.value.problems]
    assert lines == [("rates.csv", 3), ("rates.csv", 4), ("rates.csv", 5)]
    assert "2026-07-01 is also on line 2" in caught.value.problems[2].message
    assert [p.message for p in caught.value.problems[:2]] == [
        "date '2026-13-01' is not a day: write it YYYY-MM-DD",
        "rate 'abc' is not a percentage: write it as a number such as 3.75 or -0.88",
    ]


def test_reference_rates_needs_a_statutory_rule(tmp_path, cli):
    config_in(tmp_path, "{interest: {annual: 8}, reference_rates: rates.csv}")
    result = cli("validate", "--config", tmp_path / "arflow.yaml", expect=1)
    assert result.stderr.startswith(
        "arflow.yaml:4: late_fees.reference_rates: reference_rates: extends a statutory rule's "
        "rate table; give interest: uk-late-payment, de-bgb, eu-late-payment, or remove "
        "reference_rates:"
    )
    # a workflow may give only its rates file, for arflow.yaml's statutory rule
    (tmp_path / "rates.csv").write_text("date,rate\n2026-07-01,2.00\n")
    config_in(tmp_path, "{interest: de-bgb}")
    (tmp_path / "workflows" / "chase.yaml").write_text(
        "steps:\n  - day: 1\n    actions: [{charge_fees: true}]\n"
        "late_fees: {reference_rates: rates.csv}\n"
    )
    # valid; the tests' clock (2030) is past the table's last day, which validate says
    assert cli("validate", "--config", tmp_path / "arflow.yaml").stderr == (
        "warning: arflow.yaml:4: late_fees: the Bundesbank's Basiszinssatz (§ 247 BGB) is known "
        "up to 2026-06-30, before today (2030-01-15): interest for later days fails until you "
        "add the rates to a reference_rates: file (see docs/fees.md)\n"
    )


# --- arflow fees -------------------------------------------------------------------------------
def test_fees_lists_each_late_invoice_with_its_periods(tmp_path, cli):
    config = make_folder(
        tmp_path,
        invoices="""
            number,customer_id,issue_date,due_date,amount,balance,currency,status
            A-1,C1,2025-04-01,2025-05-31,10000.00,8000.00,EUR,open
            A-2,C1,2026-02-01,2026-03-20,500.00,,EUR,open
            A-3,C2,2026-01-01,2026-02-10,300.00,,EUR,void
            A-4,C2,2026-01-01,2026-02-10,-50.00,,EUR,open
        """,
        workflows={},
        config="""
            company: {name: Acme, currency: EUR}
            invoices: {path: invoices.csv}
            late_fees: {interest: de-bgb, compensation: de-bgb}
        """,
    )
    doc = json.loads(
        cli("fees", "--as-of", "2026-03-16", "--format", "json", "--config", config).stdout
    )
    assert doc == {
        "as_of": "2026-03-16",
        "invoices": [
            {
                "number": "A-1",
                "customer_id": "C1",
                "currency": "EUR",
                "principal": "8000.00",
                "days_late": 289,
                "periods": [
                    {
                        "from": "2025-06-01",
                        "to": "2025-06-30",
                        "rate": "11.27",
                        "interest": "74.10",
                    },
                    {
                        "from": "2025-07-01",
                        "to": "2025-12-31",
                        "rate": "10.27",
                        "interest": "414.18",
                    },
                    {
                        "from": "2026-01-01",
                        "to": "2026-03-16",
                        "rate": "10.27",
                        "interest": "168.82",
                    },
                ],
                "interest": "657.10",
                "compensation": "40.00",
                "charged": "0.00",
                "waived": False,
                "note": None,
            }
        ],
        "totals": {"EUR": {"interest": "657.10", "compensation": "40.00", "charged": "0.00"}},
    }
    piped = cli("fees", "--as-of", "2026-03-16", "--config", config).stdout.splitlines()
    assert piped == [
        "# number\tcustomer_id\tdays_late\tprincipal\trates\tinterest\tcompensation\tcharged"
        "\ttotal_due",
        "A-1\tC1\t289\t€8,000.00\t11.27% 10.27% 10.27%\t€657.10\t€40.00\t€0.00\t€8,000.00",
        "total\t1 invoice(s)\t\t\t\t€657.10\t€40.00\t€0.00\t",
    ]


def test_fees_past_the_known_rates_is_an_error_naming_the_row(tmp_path, cli):
    config = make_folder(
        tmp_path,
        invoices="""
            number,customer_id,issue_date,due_date,amount
            A-1,C1,2026-06-01,2026-07-15,100.00
        """,
        workflows={},
        config="""
            company: {name: Acme, currency: EUR}
            invoices: {path: invoices.csv}
            late_fees: {interest: eu-late-payment}
        """,
    )
    result = cli("fees", "--as-of", "2026-08-01", "--config", config, expect=3)
    assert result.stdout.splitlines()[1:] == []  # the header only: the invoice is an error
    assert (
        "error: invoices.csv:2: due_date 2026-07-15: the ECB's main refinancing operations rate "
        "is known to arflow up to 2026-02-05, not on 2026-07-01: add the rate in force on "
        "2026-07-01 to a `reference_rates:` file"
    ) in result.stderr


def test_a_step_fee_is_charged_only_once_the_invoice_is_late():
    from arflow.config import Config
    from arflow.fees.book import FeeBook

    cfg = Config.model_validate(
        {
            "company": {"name": "Acme", "currency": "USD"},
            "invoices": {"path": "invoices.csv"},
            "late_fees": {"fee": {"percent": 2.0}, "grace_days": 3},
        }
    )
    book = FeeBook(cfg, {})
    debt = inv("INV-1", due="2026-03-10", amount="1000.00", balance="750.00")
    assert book.pending(debt, "w", date(2026, 3, 10)) == []  # due today
    assert book.pending(debt, "w", date(2026, 3, 13)) == []  # in the grace
    # 2 % of the open balance
    assert [(c.kind, c.amount) for c in book.pending(debt, "w", date(2026, 3, 14))] == [
        ("fee", D("15.00"))
    ]


def test_fees_says_why_a_sum_is_not_owed_and_when_nothing_accrues(tmp_path, cli):
    invoices = """
        number,customer_id,issue_date,due_date,amount,currency
        G-1,C1,2026-01-01,2026-01-15,500.00,GBP
        U-1,C2,2026-01-01,2026-01-15,500.00,USD
    """
    config = make_folder(
        tmp_path / "uk",
        invoices=invoices,
        workflows={},
        config="""
            company: {name: Acme, currency: GBP}
            invoices: {path: invoices.csv}
            late_fees: {interest: {annual: 8}, compensation: uk-late-payment}
        """,
    )
    result = cli("fees", "--as-of", "2026-02-14", "--format", "csv", "--config", config)
    assert result.stdout.splitlines()[1:] == [
        "G-1,C1,GBP,500.00,30,8%,3.29,40.00,0.00,500.00",  # 500 × 8 % × 30/365 = 3.2877
        "U-1,C2,USD,500.00,30,8%,3.29,0.00,0.00,500.00",
    ]
    assert result.stderr == (
        "note: U-1: uk-late-payment compensation is a sum in GBP; this invoice is in USD\n"
    )
    bare = make_folder(
        tmp_path / "bare",
        invoices=invoices,
        workflows={},
        config="""
            company: {name: Acme, currency: GBP}
            invoices: {path: invoices.csv}
        """,
    )
    result = cli("fees", "--as-of", "2026-02-14", "--format", "csv", "--config", bare)
    assert result.stdout.splitlines()[1] == "G-1,C1,GBP,500.00,30,—,0.00,0.00,0.00,500.00"
    assert result.stderr == (
        "note: late_fees: is set neither in arflow.yaml nor in a workflow: nothing accrues\n"
    )
    aging = cli("aging", "--fees", "--as-of", "2026-02-14", "--format", "csv", "--config", bare)
    assert aging.stdout.splitlines()[1].endswith(",500.00,0.00")
