"""The report's page: the document's numbers as charts (`svg`) and tables, written by one
Jinja template (`report.html.j2`, HTML-escaped) with its stylesheet inline (`report.css`:
screen, phone and print). The page needs nothing else: no script, font, image or request."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from importlib.resources import files

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from arflow.htmlreport.svg import Column, Point, Segment, columns, line, stacked_bar
from arflow.render import MONEY
from arflow.rules import AGING_BUCKETS

# the KPIs a person reads, in order: (key, name, unit, formula)
KPIS = (
    (
        "dso_countback",
        "DSO, countback",
        "days",
        "Start with AR(D); take the month so far, then each whole month before it: while "
        "what is left exceeds the period's sales, add its days and take its sales off; then "
        "add what is left ÷ that period's sales × its days.",
    ),
    ("dso_90", "DSO, 90 days", "days", "AR(D) ÷ sales(D−89, D) × 90"),
    (
        "best_possible_dso_90",
        "Best possible DSO",
        "days",
        "current(D) ÷ sales(D−89, D) × 90",
    ),
    ("add_90", "Average days delinquent", "days", "DSO 90 − best possible DSO"),
    (
        "cei",
        "Collection effectiveness (CEI)",
        "%",
        "Last whole month M: (B + S − E) ÷ (B + S − EC) × 100; B = AR the day before M, "
        "S = sales(M), E = AR(M's last day), EC = current(M's last day)",
    ),
    ("share_90_plus", "Share 90+ days past due", "%", "balances > 90 days past due ÷ AR(D)"),
)
TREND = ("dso_countback", "dso_90", "add_90", "cei", "share_90_plus")

ENV = Environment(
    loader=PackageLoader("arflow.htmlreport", "."),
    autoescape=select_autoescape(["j2", "html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def report_page(doc: dict, locale: str) -> str:
    """The whole page, self-contained."""
    return ENV.get_template("report.html.j2").render(
        doc=doc,
        css=Markup(files("arflow.htmlreport").joinpath("report.css").read_text("utf-8")),
        kpis=kpi_cards(doc),
        aging=aging_charts(doc, locale),
        trend=trend_charts(doc),
        forecast=forecast_charts(doc, locale),
        money=lambda value, currency: MONEY(Decimal(value), currency, locale),
        buckets=AGING_BUCKETS,
        long_day=lambda iso: _long_day(iso),
    )


def _long_day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%a %-d %b %Y")


def figure_text(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}{'%' if unit == '%' else ' days'}"


def kpi_cards(doc: dict) -> list[dict]:
    """Per currency, each KPI's name, value as read and as data, and formula."""
    return [
        {
            "currency": cur,
            "receivables": figures["receivables"],
            "current": figures["current"],
            "items": [
                {
                    "key": key,
                    "name": name,
                    "value": figures[key],
                    "text": figure_text(figures[key], unit),
                    "formula": formula,
                }
                for key, name, unit, formula in KPIS
            ],
        }
        for cur, figures in doc["kpis"].items()
    ]


def aging_charts(doc: dict, locale: str) -> list[dict]:
    found = []
    for row in doc["aging"]["currencies"]:
        cur = row["currency"]
        segments = [
            Segment(b, Decimal(row[b]), MONEY(Decimal(row[b]), cur, locale)) for b in AGING_BUCKETS
        ]
        found.append({"currency": cur, "svg": Markup(stacked_bar("aging", cur, segments))})
    return found


def trend_charts(doc: dict) -> list[dict]:
    """A small line per currency and KPI over the trend's months."""
    months = doc["trend"]["months"]
    currencies = sorted({c for m in months for c in m["currencies"]})
    found = []
    for cur in currencies:
        for key, name, unit, _ in (k for k in KPIS if k[0] in TREND):
            points = []
            for m in months:
                value = m["currencies"].get(cur, {}).get(key)
                points.append(
                    Point(
                        m["month"],
                        None if value is None else Decimal(str(value)),
                        {
                            "data_kpi": key,
                            "data_currency": cur,
                            "data_month": m["month"],
                            "data_day": m["day"],
                            "data_value": value,
                        },
                    )
                )
            found.append(
                {
                    "currency": cur,
                    "name": f"{name} ({unit})",
                    "svg": Markup(line("trend", f"{name}, {cur}", points, _tenth)),
                }
            )
    return found


def _tenth(value: Decimal) -> str:
    """A point's label: the number alone (the chart's title has the unit)."""
    return f"{value:.1f}"


def forecast_charts(doc: dict, locale: str) -> list[dict]:
    """The next days' actions, then the amount they chase in each currency."""
    days = doc["forecast"]["days"]
    if not days:
        return []
    caption = {d["date"]: date.fromisoformat(d["date"]).strftime("%-d %b") for d in days}
    charts = [
        {
            "title": "Actions per day",
            "svg": Markup(
                columns(
                    "forecast",
                    "Actions per day",
                    [
                        Column(
                            d["date"],
                            Decimal(d["actions"]),
                            str(d["actions"]),
                            caption[d["date"]],
                            {"data_date": d["date"], "data_actions": d["actions"]},
                        )
                        for d in days
                    ],
                )
            ),
        }
    ]
    for cur in sorted({c for d in days for c in d["amounts"]}):
        cols = [
            Column(
                d["date"],
                Decimal(d["amounts"].get(cur, "0")),
                _short_money(Decimal(d["amounts"].get(cur, "0")), cur, locale),
                caption[d["date"]],
                {
                    "data_date": d["date"],
                    "data_currency": cur,
                    "data_amount": d["amounts"].get(cur, "0"),
                },
            )
            for d in days
        ]
        title = f"Amount chased per day, {cur}"
        charts.append({"title": title, "svg": Markup(columns("forecast", title, cols))})
    return charts


def _short_money(value: Decimal, currency: str, locale: str) -> str:
    """An amount over a narrow column: whole units (the table under it has the cents)."""
    return "—" if value == 0 else f"{value:,.0f}"
