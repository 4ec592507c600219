"""Source presets: the settings that read an accounting package's report export in one line
(`preset: quickbooks-open-invoices`). A setting written beside the preset wins over the
preset's; `columns:` and `skip_if:` are merged key by key. The payments source has presets of
its own (arflow/payments/presets.py), merged the same way."""

from __future__ import annotations

from typing import Any

# Each preset reads the report as the package exports it to CSV: title rows above the header
# (found by `header_row: auto`), per-customer headings, "Total for …" rows and a footer.
PRESETS: dict[str, dict[str, Any]] = {
    # QuickBooks Online / Desktop, Reports › Open Invoices (grouped by customer), Export to CSV
    "quickbooks-open-invoices": {
        "header_row": "auto",
        "headings": "Customer",
        "skip_if": {"Num": ""},
        "columns": {
            "number": "Num",
            "customer_id": "Customer",
            "customer_name": "Customer",
            "issue_date": "Date",
            "due_date": "Due Date",
            "amount": "Open Balance",
            "balance": "Open Balance",
        },
        # the due date is in the report; QuickBooks' own terms ("1% 10 Net 30") are not read
        "not_fields": ["Term"],
        "date_format": "%m/%d/%Y",
        "thousands": ",",
    },
    # QuickBooks, Reports › A/R Aging Detail: grouped by aging bucket, a Customer column
    "quickbooks-ar-aging-detail": {
        "header_row": "auto",
        "skip_if": {"Num": ""},
        "columns": {
            "number": "Num",
            "customer_id": "Customer",
            "customer_name": "Customer",
            "issue_date": "Date",
            "due_date": "Due Date",
            "amount": "Amount",
            "balance": "Open Balance",
        },
        "date_format": "%m/%d/%Y",
        "thousands": ",",
    },
    # Xero, Accounting › Reports › Aged Receivables Detail (by due date), Export › CSV
    "xero-aged-receivables": {
        "header_row": "auto",
        "headings": "Contact",
        "skip_if": {"Invoice Number": ""},
        "columns": {
            "number": "Invoice Number",
            "customer_id": "Contact",
            "customer_name": "Contact",
            "issue_date": "Invoice Date",
            "due_date": "Due Date",
            "amount": "Total",
            "balance": "Total",
        },
        "date_format": "%d %b %Y",
        "thousands": ",",
    },
}


def with_preset(settings: Any, presets: dict[str, dict[str, Any]] = PRESETS) -> Any:
    """A source's settings with its preset's (one of `presets`) filled in under them (settings
    unchanged when there is no preset; an unknown one is left for the model to refuse)."""
    if not isinstance(settings, dict) or not isinstance(settings.get("preset"), str):
        return settings
    preset = presets.get(settings["preset"])
    if preset is None:
        return settings
    merged = {**preset, **settings}
    for key in ("columns", "skip_if", "keep_if"):
        if isinstance(settings.get(key), dict) and key in preset:
            merged[key] = {**preset[key], **settings[key]}
    return merged
