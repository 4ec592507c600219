"""`arflow history`: the action ledger's rows, with the inbox's replies and bounces among them."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date

from arflow.errors import Refused
from arflow.report import incoming_rows
from arflow.secrets import redact
from arflow.state import StateDB


def history_rows(
    db: StateDB | None,
    customer: str | None,
    since: date | None,
    unknown: bool,
    customer_ids: Callable[[], Collection[str]],
) -> list[dict]:
    """Every action recorded, one entry per message however many invoices (and action keys)
    it was about (of one customer, of runs as of `since` or later; only the messages whose
    outcome is unknown with `unknown`), and unless `unknown` the replies and bounces the inbox
    read, in date order (SPEC 6.1). `db` is None before the first run.

    A customer with nothing recorded is refused when `customer_ids()` (the sources' customers,
    read only then) does not have it either: a misspelt id is not an empty history."""
    rows = [] if db is None else [_shown(r) for r in db.history(customer, since, unknown)]
    if db is not None and not unknown:
        rows = sorted(
            rows + [_shown(r) for r in incoming_rows(db.incoming(customer, since))],
            key=lambda r: (r["as_of"], r["customer_id"]),
        )
    if customer is None or rows or (db is not None and db.knows_customer(customer)):
        return rows
    if customer not in customer_ids():
        raise Refused(f"--customer {customer!r}: no such customer in the sources or the history")
    return rows


def _shown(row: dict) -> dict:
    """A recorded row as `history` shows it: its addresses and texts `redact`ed (a row an
    older arflow stored may hold a webhook's whole address)."""
    return {
        **row,
        "recipients": [redact(r) for r in row["recipients"] or []],
        **{k: redact(row[k]) for k in ("error", "subject", "description") if row.get(k)},
    }
