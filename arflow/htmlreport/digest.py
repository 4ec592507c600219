"""The weekly digest (issue 34): the report's summary as an internal email — its subject, its
HTML part (the same aging charts, inline SVG, the stylesheet written into the tags) and its
text part — from `figures.summary_document` alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from importlib.resources import files

from markupsafe import Markup

from arflow.aging import aging_report
from arflow.config import Config
from arflow.disputes.night import owed_after_credits
from arflow.history import history_rows
from arflow.htmlreport.figures import ReportInputs, summary_document
from arflow.htmlreport.page import ENV, aging_charts, kpi_cards
from arflow.ledger import Ledger
from arflow.render import MONEY, inline_css
from arflow.rules import AGING_BUCKETS
from arflow.state import StateDB


@dataclass(frozen=True, slots=True)
class DigestMessage:
    subject: str
    html: str
    text: str


def digest_message(doc: dict, locale: str) -> DigestMessage:
    """The digest of `doc` (a `summary_document`), amounts in `locale`."""

    def money(value: str, currency: str) -> str:
        return MONEY(Decimal(value), currency, locale)

    cards = kpi_cards(doc)
    # what is owed as `aging` counts it (the bank's payments and agreed credits taken off)
    owed = (
        ", ".join(money(r["total"], r["currency"]) for r in doc["aging"]["currencies"])
        or "nothing"
    )
    subject = f"[AR] Receivables of {doc['company']} as of {doc['as_of']}: {owed} owed"
    page = ENV.get_template("digest.html.j2").render(
        doc=doc,
        css=Markup(files("arflow.htmlreport").joinpath("report.css").read_text("utf-8")),
        kpis=cards,
        aging=aging_charts(doc, locale),
        money=money,
        buckets=AGING_BUCKETS,
    )
    return DigestMessage(subject, inline_css(page), digest_text(doc, cards, money))


def digest_text(doc: dict, cards: list[dict], money: Callable[[str, str], str]) -> str:
    """The text part: the same figures, a line each."""
    lines = [f"Receivables of {doc['company']} as of {doc['as_of']}", ""]
    for c in cards:
        cur = c["currency"]
        lines.append(
            f"{cur}: {money(c['receivables'], cur)} owed, {money(c['current'], cur)} current"
        )
        for k in c["items"]:
            lines.append(f"  {k['name']}: {k['text']}")
    for row in doc["aging"]["currencies"]:
        cur = row["currency"]
        buckets = ", ".join(f"{b} {money(row[b], cur)}" for b in AGING_BUCKETS)
        lines.append(f"Aging {cur}: {buckets}")
    if doc["largest"]:
        lines += ["", "Largest accounts:"]
        lines += [
            f"  {r['name']} ({r['customer_id']}): {money(r['total'], r['currency'])}"
            + (
                f", oldest {r['oldest']['invoice']} due {r['oldest']['due_date']}"
                if r["oldest"]
                else ""
            )
            for r in doc["largest"]
        ]
    act = doc["activity"]
    done = sum(a["count"] for a in act["actions"])
    heard = sum(e["count"] for e in act["events"])
    lines += [
        "",
        f"{act['from']} to {act['to']}: {done} actions carried out, "
        f"{heard} replies, bounces and other events recorded",
    ]
    return "\n".join(lines) + "\n"


DIGEST_DAYS = 7  # "what arflow did": the week before the digest's day, that day included


def digest_for(
    cfg: Config, ledger: Ledger, db: StateDB | None, day: date, campaigns: frozenset[str]
) -> DigestMessage:
    """The digest of `day` as the commands see the folder: the KPIs as `kpi` (the sources'
    invoices), the aging as `aging` (the run's ledger, lowered by the bank's payments, and by
    the credits agreed in disputes on a copy: the run's own is left to the planner), the
    state's history and promises."""
    whole = ledger.whole
    aged = whole.copy()
    owed_after_credits(db, aged, day)
    history = (
        [
            row
            for row in history_rows(
                db, None, day - timedelta(days=DIGEST_DAYS), False, lambda: ledger.customers
            )
            if row["as_of"] <= day.isoformat()
        ]
        if db is not None
        else []
    )
    inputs = ReportInputs(
        company=cfg.company.name,
        locale=cfg.company.locale,
        as_of=day,
        aging=aging_report(aged.owing(day), aged.customers, day, cfg.min_balance),
        invoices=whole.copy(sourced=True).invoices,
        aged=aged.invoices,
        history=history,
        promises=db.promises() if db is not None else [],
        forecast=[],
        backtest=None,
        min_balance=cfg.min_balance,
        campaigns=campaigns,
    )
    return digest_message(summary_document(inputs, DIGEST_DAYS), cfg.company.locale)
