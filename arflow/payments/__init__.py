"""Money in (issue 32): payments read from bank and processor exports, matched to invoices."""
