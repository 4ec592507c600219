"""The rules an invoice row is read by, in one place for both invoice parsers: the row-by-row
one (`invoices`, which says what is wrong) and the column-wise one (`columns`, for clean rows).
Payment terms are parsed once per distinct text; statuses are the known ones plus
`status_map:`; a row without its own terms or currency takes its customer's, then the
company's."""

from __future__ import annotations

from arflow.calendar import Terms, parse_terms
from arflow.config import INVOICE_STATUSES, SourceConfig
from arflow.ledger import Customer
from arflow.sources.values import ValueParser


class InvoiceRules:
    """What an invoice source's values mean: its parser, its customers and the defaults."""

    def __init__(
        self,
        source: SourceConfig,
        parser: ValueParser,
        customers: dict[str, Customer],
        default_currency: str,
        default_terms: str | None,
    ):
        self.source = source
        self.parser = parser
        self.customers = customers
        self.default_currency = default_currency
        self.default_terms = parse_terms(default_terms) if default_terms else None
        # a status cell as written (stripped, case-folded) → the status it means
        self.statuses = {
            "": "open",
            **{s: s for s in INVOICE_STATUSES},
            **{k.strip().casefold(): v for k, v in source.status_map.items()},
        }
        self._terms: dict[str, Terms | str] = {}

    def terms(self, raw: str) -> Terms:
        """The payment terms `raw` says (ValueError when it says none), parsed once."""
        found = self._terms.get(raw)
        if found is None:
            try:
                found = parse_terms(raw)
            except ValueError as exc:
                found = str(exc)
            self._terms[raw] = found
        if isinstance(found, str):
            raise ValueError(found)
        return found
