"""Payments presets (issue 32): the settings that read the exports people have of money in, in
one line (`payments: {path: stripe.csv, preset: stripe-payments}`). A setting written beside
the preset wins over the preset's; `columns:`, `keep_if:` and `skip_if:` are merged key by key,
as for the invoices' presets (arflow/presets.py), but these are a list of their own: their
settings name payment fields.

A field's column may be a list of headers: the first of them with a value in the row is read —
except `reference`, which reads every one with a value, joined by spaces, so the matching rules
see all the references a row holds. `keep_if:` keeps only the rows whose columns match (each
column one of its patterns); the rows it leaves out are counted, never dropped silently.
"""

from __future__ import annotations

from typing import Any

PAYMENT_PRESETS: dict[str, dict[str, Any]] = {
    # a bank's CSV export of an account's transactions: one row each, money in positive (in an
    # Amount column, or a Credit / Paid in / Money in column beside a debit one); the common
    # headers of such exports, the first the file has read
    "bank-csv": {
        "columns": {
            "date": ["Booking date", "Date", "Transaction date", "Posting date", "Value date"],
            "amount": ["Amount", "Credit", "Credit amount", "Paid in", "Money in"],
            "currency": ["Currency"],
            "reference": [
                "Reference",
                "Remittance information",
                "Description",
                "Memo",
                "Purpose",
                "Details",
            ],
            "payer": ["Payer", "Counterparty", "Counterparty name", "Name"],
            "payer_account": ["IBAN", "Counterparty IBAN", "Counterparty account", "Account"],
            "id": ["Transaction ID"],
        },
    },
    # Stripe Dashboard › Payments › Export (the "unified payments" CSV): one row per charge;
    # only a paid one is money in, less what was refunded of it
    "stripe-payments": {
        "columns": {
            "id": "id",
            "date": "Created date (UTC)",
            "amount": "Amount",
            "refunded": "Amount Refunded",
            "currency": "Currency",
            "reference": ["Description", "invoice_number (metadata)"],
            "payer": ["Customer Name", "Customer Description", "Customer Email"],
            "payer_account": "Customer Email",
        },
        "keep_if": {"Status": "Paid"},
        "date_format": "%Y-%m-%d %H:%M:%S",
        "thousands": ",",
    },
    # PayPal › Activity › Download (CSV): every movement of the balance; only a completed
    # payment received is money in (not conversions, holds and releases, withdrawals, refunds;
    # a payment you sent has a negative Gross: money out)
    "paypal-activity": {
        "columns": {
            "id": "Transaction ID",
            "date": "Date",
            "amount": "Gross",
            "currency": "Currency",
            "reference": ["Invoice Number", "Subject", "Note"],
            "payer": "Name",
            "payer_account": "From Email Address",
        },
        "keep_if": {"Status": "Completed", "Type": ["*Payment", "*Payment Received"]},
        "date_format": "%m/%d/%Y",
        "thousands": ",",
    },
}
