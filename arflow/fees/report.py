"""`arflow fees` (issue 31): per open invoice past its due date (and any invoice charged
before), its days late, principal, each interest period with its rate, the compensation owed,
what was charged so far and the total due; totals per currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arflow.errors import RowError
from arflow.fees.accrual import JOURNAL_PREFIX, ZERO, Accrual, rounded
from arflow.fees.book import Charged, FeeBook
from arflow.fees.rates import MissingRate
from arflow.ledger import Invoice, Ledger
from arflow.planner.matching import sort_into_workflows
from arflow.planner.past_state import PastState
from arflow.project import Project
from arflow.rules import is_overdue


@dataclass(slots=True)
class FeeLine:
    invoice: Invoice
    workflow: str | None
    accrual: Accrual
    charged: Charged

    @property
    def compensation(self) -> Decimal:
        return ZERO if self.charged.waived else self.accrual.compensation

    @property
    def interest(self) -> Decimal:
        return ZERO if self.charged.waived else self.accrual.interest


@dataclass(slots=True)
class FeeReport:
    as_of: date
    lines: list[FeeLine] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def totals(self) -> dict[str, dict[str, Decimal]]:
        found: dict[str, dict[str, Decimal]] = {}
        for line in self.lines:
            cur = found.setdefault(
                line.accrual.currency,
                {"interest": ZERO, "compensation": ZERO, "charged": ZERO},
            )
            cur["interest"] += line.interest
            cur["compensation"] += line.compensation
            cur["charged"] += line.charged.total
        return dict(sorted(found.items()))


def fee_report(
    project: Project,
    ledger: Ledger,
    book: FeeBook,
    past: PastState,
    as_of: date,
    customer: str | None = None,
) -> FeeReport:
    cfg = project.config
    sorted_ = sort_into_workflows(
        ledger, project.models, past, as_of, cfg.default_workflow, cfg.min_balance
    )
    workflow_of = {  # by number: the ledger makes its invoices anew for each question
        item.invoice.number: wid
        for (_, wid), entry in sorted_.following.items()
        for item in entry.items
    }
    report = FeeReport(as_of)
    shown = cfg.source_name(cfg.invoices)
    listed = set()
    for inv in ledger.current(as_of, cfg.min_balance):
        listed.add(inv.number)
        if inv.number.startswith(JOURNAL_PREFIX):  # a fee invoice: no fees on fees
            continue
        if is_overdue(inv, as_of) or book.of(inv.number).total:
            _add(report, book, inv, workflow_of.get(inv.number), shown)
    # charged before, not open now (paid): what was charged, and the interest to the payment
    others = ledger.find(n for n, c in book.charged.items() if n not in listed and c.total)
    for inv in sorted(others.values(), key=lambda i: i.line):
        _add(report, book, inv, book.of(inv.number).workflow, shown)
    if customer is not None:
        report.lines = [line for line in report.lines if line.invoice.customer_id == customer]
    return report


def _add(report: FeeReport, book: FeeBook, inv: Invoice, wid: str | None, shown: str) -> None:
    try:
        accrual = book.accrual(inv, wid, report.as_of)
    except MissingRate as exc:
        report.errors.append(
            RowError(shown, inv.line, "due_date", inv.due_date.isoformat(), str(exc))
        )
        return
    report.lines.append(FeeLine(inv, wid, accrual, book.of(inv.number)))


def fee_document(report: FeeReport) -> dict:
    """`arflow fees --format json`."""
    return {
        "as_of": report.as_of.isoformat(),
        "invoices": [
            {
                "number": line.invoice.number,
                "customer_id": line.invoice.customer_id,
                "currency": line.accrual.currency,
                "principal": str(line.accrual.principal),
                "days_late": line.accrual.days_late,
                "periods": [
                    {
                        "from": p.start.isoformat(),
                        "to": p.end.isoformat(),
                        "rate": str(p.rate),
                        "interest": str(p.interest),
                    }
                    for p in line.accrual.periods
                ],
                "interest": str(rounded(line.interest, line.accrual.currency)),
                "compensation": str(rounded(line.compensation, line.accrual.currency)),
                "charged": str(rounded(line.charged.total, line.accrual.currency)),
                "waived": line.charged.waived,
                "note": line.accrual.note,
            }
            for line in report.lines
        ],
        "totals": {
            cur: {k: str(rounded(v, cur)) for k, v in figures.items()}
            for cur, figures in report.totals().items()
        },
    }


CSV_HEADER = [
    "number",
    "customer_id",
    "currency",
    "principal",
    "days_late",
    "rates",
    "interest",
    "compensation",
    "charged",
    "total_due",
]


def fee_rows(report: FeeReport) -> list[list[object]]:
    """One row per invoice, for `--format csv`: amounts in the currency's minor unit."""
    rows: list[list[object]] = []
    for line in report.lines:
        cur, found = line.accrual.currency, line.accrual
        rows.append(
            [
                line.invoice.number,
                line.invoice.customer_id,
                cur,
                rounded(found.principal, cur),
                found.days_late,
                " ".join(f"{p.rate}%" for p in found.periods) or "—",
                rounded(line.interest, cur),
                rounded(line.compensation, cur),
                rounded(line.charged.total, cur),
                rounded(found.principal + line.charged.total, cur),
            ]
        )
    return rows
