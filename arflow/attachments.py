"""A campaign's statement as files to attach (SPEC 4.10, seed 004): `statement.csv` (standard
library csv, one line per listed invoice) and `statement.pdf` (fpdf2, the optional extra
the extra `pdf`: pure Python, no system libraries). Both are made from the message's context, the
same one its templates see."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING

from arflow.channels import Attachment
from arflow.sources.csvfile import spreadsheet_text

if TYPE_CHECKING:
    from fpdf import FPDF

ATTACHMENTS = ("statement.csv", "statement.pdf")
PDF_EXTRA = (
    "statement.pdf needs the optional package fpdf2: pip install fpdf2 (or pip install "
    "-e '.[pdf]' in arflow's folder)"
)
CSV_COLUMNS = [
    "customer_id",
    "customer_name",
    "number",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "balance",
    "days_past_due",
]

Money = Callable[[Decimal, str], str]


def missing_package(name: str) -> str | None:
    """What `validate` says when an attachment cannot be made on this machine."""
    if name != "statement.pdf":
        return None
    try:
        import fpdf  # noqa: F401
    except ImportError:
        return PDF_EXTRA
    return None


def build(name: str, context: dict, money: Money) -> Attachment:
    """The attachment `name` (one of ATTACHMENTS) for one statement."""
    if name == "statement.csv":
        return Attachment(name, "text/csv; charset=utf-8", statement_csv(context))
    if name == "statement.pdf":
        return Attachment(name, "application/pdf", statement_pdf(context, money))
    raise ValueError(f"no attachment {name!r}; attachments are {', '.join(ATTACHMENTS)}")


def statement_csv(context: dict) -> bytes:
    """One line per listed invoice, with a header; ISO dates, plain decimal amounts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for inv in context["statement"]["invoices"]:
        writer.writerow(
            [
                spreadsheet_text(inv["customer_id"]),
                spreadsheet_text(inv["customer_name"]),
                spreadsheet_text(inv["number"]),
                inv["issue_date"].isoformat(),
                inv["due_date"].isoformat(),
                inv["currency"],
                f"{inv['amount']:.2f}",
                f"{inv['balance']:.2f}",
                inv["days_past_due"],
            ]
        )
    return out.getvalue().encode("utf-8")


# what fpdf2's built-in fonts (Latin-1 only) write instead: money in the euro and the
# spaces and dashes that babel and people put around numbers and names
_LATIN1 = str.maketrans(
    {
        "€": "EUR",
        "—": "-",
        "–": "-",
        "\u202f": "\u00a0",
        "\u2009": " ",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "…": "...",
    }
)


def _latin1(text: str) -> str:
    """fpdf2's built-in fonts carry Latin-1 only (a TrueType font would have to ship with
    arflow): the euro sign becomes EUR, typographic spaces, dashes and quotes their plain
    forms, and any other character '?' rather than failing the statement."""
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def statement_pdf(context: dict, money: Money) -> bytes:
    """The statement on A4: heading, the listed invoices, then per currency group the totals,
    the aging buckets and (consolidating) each account's subtotal; a statement too long to
    list (`totals_only`) has its totals only, as its message."""
    from fpdf import FPDF  # the optional extra; `validate` says when it is missing

    statement = context["statement"]
    occurrence: date = statement["occurrence"]
    pdf = FPDF(format="A4")
    # the same statement gives the same bytes: the file's date is the occurrence's
    pdf.set_creation_date(datetime.combine(occurrence, time()))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    _heading(pdf, context, occurrence)
    if statement["totals_only"]:
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(
            0,
            7,
            f"{len(statement['invoices']):,} open invoices: too many to list here. "
            "The totals below cover them all.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    else:
        _invoice_table(pdf, statement["invoices"], money)
    for group in statement["groups"]:
        _group(pdf, group, money, accounts=not statement["totals_only"])
    return bytes(pdf.output())


def _heading(pdf: FPDF, context: dict, occurrence: date) -> None:
    """The company, whose statement it is, and its date."""
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(context["company"]["name"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    customer = context["customer"]
    pdf.cell(
        0,
        7,
        _latin1(f"Statement of account for {customer['name']} ({customer['id']})"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(0, 7, f"As of {occurrence.isoformat()}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


_WIDTHS = (34, 50, 28, 28, 18, 32)
_HEADER = ("Invoice", "Account", "Issued", "Due", "Days", "Open")


def _invoice_table(pdf: FPDF, invoices: list[dict], money: Money) -> None:
    """One line per listed invoice, the table's header again on every page."""

    def table_header() -> None:
        pdf.set_font("Helvetica", "B", 9)
        for width, title in zip(_WIDTHS, _HEADER, strict=True):
            pdf.cell(width, 7, title, border="B", align="R" if title in ("Days", "Open") else "L")
        pdf.ln()
        pdf.set_font("Helvetica", "", 9)

    table_header()
    for inv in invoices:
        if pdf.will_page_break(6):
            pdf.add_page()
            table_header()
        cells = (
            inv["number"],
            inv["customer_name"],
            inv["issue_date"].isoformat(),
            inv["due_date"].isoformat(),
            str(max(inv["days_past_due"], 0)),
            money(inv["balance"], inv["currency"]),
        )
        for width, value, title in zip(_WIDTHS, cells, _HEADER, strict=True):
            pdf.cell(width, 6, _latin1(value)[:30], align="R" if title in ("Days", "Open") else "L")
        pdf.ln()


_BUCKETS = (
    ("current", "current"),
    ("1-30", "1-30 days"),
    ("31-60", "31-60"),
    ("61-90", "61-90"),
    ("90+", "over 90"),
)


def _group(pdf: FPDF, group: dict, money: Money, accounts: bool) -> None:
    """A currency group's totals, its aging buckets and (consolidating, with `accounts`) each
    account's."""
    currency = group["currency"]
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(
        0,
        7,
        f"{currency}: outstanding {_latin1(money(group['outstanding'], currency))}"
        f", overdue {_latin1(money(group['overdue'], currency))} "
        f"({group['overdue_pct']:.0f} %)",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 9)
    aging = group["aging"]
    pdf.cell(
        0,
        6,
        _latin1(
            "By age: "
            + ", ".join(f"{label} {money(aging[bucket], currency)}" for bucket, label in _BUCKETS)
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for account in group["accounts"] if accounts else ():
        pdf.cell(
            0,
            6,
            _latin1(
                f"  {account['name']} ({account['customer_id']}): "
                f"{money(account['outstanding'], currency)} outstanding, "
                f"{money(account['overdue'], currency)} overdue"
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
