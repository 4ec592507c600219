"""`arflow kpi` (issue 34): the KPIs of the IBM late-payment ledger as of three days equal an
independent computation from the formulas, written here with the csv module, to 0.1."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tests.conftest import ibm_folder, make_folder

DATA = Path(__file__).parent / "data" / "ibm-late-payment-histories.csv"


def rows() -> list[tuple[date, date, date, Decimal]]:
    with DATA.open(newline="") as handle:
        return [
            (
                *(
                    datetime.strptime(r[k], "%m/%d/%Y").date()
                    for k in ("InvoiceDate", "DueDate", "SettledDate")
                ),
                Decimal(r["InvoiceAmount"]),
            )
            for r in csv.DictReader(handle)
        ]


def expected(day: date) -> dict:
    """The formulas of docs/commands.md, from the file's rows alone."""
    data = rows()

    def owed(d: date, only=lambda due: True) -> Decimal:
        return sum((a for i, due, s, a in data if i <= d < s and only(due)), Decimal(0))

    def sold(a: date, b: date) -> Decimal:
        return sum((amt for i, _, _, amt in data if a <= i <= b), Decimal(0))

    receivables, now = owed(day), owed(day, lambda due: day <= due)
    left, days, first, last = receivables, Decimal(0), day.replace(day=1), day
    while True:
        length = Decimal((last - first).days + 1)
        s = sold(first, last)
        if left > s:
            days, left = days + length, left - s
            last = first - timedelta(days=1)
            first = last.replace(day=1)
            continue
        days += left / s * length
        break
    s90 = sold(day - timedelta(days=89), day)
    m_last = day.replace(day=1) - timedelta(days=1)
    m_first = m_last.replace(day=1)
    b, s, e = owed(m_first - timedelta(days=1)), sold(m_first, m_last), owed(m_last)
    ec = owed(m_last, lambda due: m_last <= due)
    late = owed(day, lambda due: (day - due).days > 90)

    def tenth(v: Decimal) -> float:
        return float(v.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))

    return {
        "receivables": str(receivables),
        "current": str(now),
        "dso_countback": tenth(days),
        "dso_90": tenth(receivables / s90 * 90),
        "best_possible_dso_90": tenth(now / s90 * 90),
        "add_90": tenth(receivables / s90 * 90 - now / s90 * 90),
        "cei": tenth((b + s - e) / (b + s - ec) * 100),
        "share_90_plus": tenth(late / receivables * 100),
    }


@pytest.mark.parametrize("day", ["2012-09-15", "2013-03-31", "2013-06-30"])
def test_the_kpis_of_a_real_ledger_equal_the_formulas(tmp_path, cli, day):
    config = ibm_folder(tmp_path)
    doc = json.loads(cli("kpi", "--as-of", day, "--format", "json", "--config", config).stdout)
    assert doc == {"as_of": day, "currencies": {"USD": expected(date.fromisoformat(day))}}
    piped = cli("kpi", "--as-of", day, "--config", config).stdout.splitlines()
    assert piped[0] == (
        "# currency\treceivables\tcurrent\tdso_countback\tdso_90\tbest_possible_dso_90\tadd_90"
        "\tcei\tshare_90_plus"
    )


def test_the_formulas_on_a_small_book():
    """100 issued in January and 300 in March, neither paid, as of 15 May: the countback walks
    back May (15 days), April, March (300 of 400), February, then 100 of January's 100 (31
    days): 135.0; 90 days' sales are March's 300: DSO 120.0; nothing is current; January's
    invoice is 95 days late: 25.0 % of the book; April collected nothing: CEI 0.0."""
    from arflow.kpi import kpis
    from tests.conftest import inv

    book = [
        inv("A", issue="2026-01-01", due="2026-02-09", amount="100.00", currency="EUR"),
        inv("B", issue="2026-03-01", due="2026-03-31", amount="300.00", currency="EUR"),
    ]
    (found,) = kpis(book, date(2026, 5, 15))
    assert (
        found.receivables,
        found.current,
        found.dso_countback,
        found.dso_90,
        found.best_possible_dso_90,
        found.add_90,
        found.cei,
        found.share_90_plus,
    ) == (
        Decimal("400.00"),
        Decimal("0"),
        Decimal("135.0"),
        Decimal("120.0"),
        Decimal("0.0"),
        Decimal("120.0"),
        Decimal("0.0"),
        Decimal("25.0"),
    )


def test_a_book_of_extreme_amounts_still_gives_its_figures(cli, tmp_path):
    """Fifteen integer digits and twenty decimals (the most a value may have) divide into a
    ratio of 36 digits: it is rounded to 0.1 all the same, and written without an exponent
    where it is an amount."""
    config = make_folder(
        tmp_path,
        invoices="""\
            number,customer_id,issue_date,due_date,amount,currency
            A1,C1,2026-01-01,2026-02-01,100000000000000,USD
            A2,C1,2026-11-02,2026-12-01,0.00000000000000000001,USD
            """,
        workflows={},
    )
    doc = json.loads(
        cli("kpi", "--as-of", "2026-11-30", "--format", "json", "--config", config).stdout
    )
    usd = doc["currencies"]["USD"]
    assert usd["current"] == "0.00000000000000000001"
    assert usd["receivables"] == "100000000000000.00000000000000000001"
    assert usd["dso_90"] == 9e35 and usd["best_possible_dso_90"] == 90.0
