"""`arflow fees --journal` (issue 31): what `charge_fees` steps charged, as a CSV the
bookkeeper imports as sales invoices — one fee invoice per customer and charge day, one line
per charge (interest, compensation, fee) — in Xero's or QuickBooks Online's import layout.

Each charge is in the state once (its action key's transaction), so each is listed once; a
fee invoice's number is made from the customer, the day and the currency, the same on every
listing, so an import of an overlapping `--since` is refused by the books as a duplicate, not
booked twice. Once booked, the fee invoices come back in the ledger's export: arflow charges
no fees on an invoice whose number starts `LF-` (no interest on interest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from arflow.fees.accrual import JOURNAL_PREFIX, rounded
from arflow.ledger import Customer
from arflow.state.fees import ChargeRow

LAYOUTS = ("xero", "quickbooks")
XERO = [
    "ContactName",
    "InvoiceNumber",
    "Reference",
    "InvoiceDate",
    "DueDate",
    "Description",
    "Quantity",
    "UnitAmount",
    "AccountCode",
    "TaxType",
    "Currency",
]
QUICKBOOKS = [
    "InvoiceNo",
    "Customer",
    "InvoiceDate",
    "DueDate",
    "Memo",
    "Item(Product/Service)",
    "ItemDescription",
    "ItemQuantity",
    "ItemRate",
    "ItemAmount",
    "Currency",
]
WORDS = {
    "interest": "Late payment interest on {invoice}",
    "compensation": "Compensation for the late payment of {invoice}",
    "fee": "Late fee on {invoice}",
}


def fee_invoice_number(row: ChargeRow) -> str:
    """One sales invoice per customer, day and currency (the books keep one currency an
    invoice)."""
    return f"{JOURNAL_PREFIX}{row.customer_id}-{row.as_of:%Y%m%d}-{row.currency}"


def description(row: ChargeRow) -> str:
    text = WORDS[row.kind].format(invoice=row.invoice)
    return f"{text} ({row.detail})" if row.detail else text


def journal_rows(
    charges: Iterable[ChargeRow],
    customers: Mapping[str, Customer],
    layout: str,
    *,
    day_format: str,
    account: str = "",
    tax_type: str = "",
) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the journal in `layout` (`xero` or `quickbooks`)."""

    def name(cid: str) -> str:
        customer = customers.get(cid)
        return customer.display_name if customer is not None else cid

    rows = []
    ordered = sorted(charges, key=lambda r: (r.as_of, r.customer_id, r.invoice, r.kind))
    for r in ordered:
        day = f"{r.as_of:{day_format}}"
        amount = str(rounded(r.amount, r.currency))
        if layout == "xero":
            rows.append(
                [
                    name(r.customer_id),
                    fee_invoice_number(r),
                    r.invoice,
                    day,
                    day,
                    description(r),
                    "1",
                    amount,
                    account,
                    tax_type,
                    r.currency,
                ]
            )
        else:
            rows.append(
                [
                    fee_invoice_number(r),
                    name(r.customer_id),
                    day,
                    day,
                    f"Late fees on {r.invoice}",
                    account or "Late fees",
                    description(r),
                    "1",
                    amount,
                    amount,
                    r.currency,
                ]
            )
    return (XERO if layout == "xero" else QUICKBOOKS), rows


def day_format_of(locale: str) -> str:
    """The books read dates as the company's region writes them: month first in the US."""
    return "%m/%d/%Y" if locale.replace("-", "_").endswith("_US") else "%d/%m/%Y"
