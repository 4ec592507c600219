"""`arflow history`: the action ledger's rows, with the inbox's replies and bounces among them."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Iterator
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
) -> Iterator[dict]:
    """Every action recorded, one entry per message however many invoices (and action keys)
    it was about (of one customer, of runs as of `since` or later; only the messages whose
    outcome is unknown with `unknown`), and unless `unknown` the replies and bounces the inbox
    read, in date order (SPEC 6.1). `db` is None before the first run. The entries are read
    one at a time while they are written out: `db` must stay open until then.

    A customer with nothing recorded is refused when `customer_ids()` (the sources' customers,
    read only then) does not have it either: a misspelt id is not an empty history."""
    if db is None:
        incoming: list[dict] = []
    else:
        incoming = (
            []
            if unknown
            else [_shown(r) for r in incoming_rows(db.incoming(customer, since))]
            + db.waiver_rows(customer, since)  # fees a person waived (issue 31)
            + db.plan_history_rows(customer, since)  # payment plans (issue 32)
            + db.hold_history_rows(customer, since)  # credit hold (issue 33)
            + db.dispute_history_rows(customer, since)  # disputes (issue 33)
        )
        incoming.sort(key=_day_and_customer)
    known = db is not None and (customer is None or db.knows_customer(customer))
    if customer is not None and not known and not incoming and customer not in customer_ids():
        raise Refused(f"--customer {customer!r}: no such customer in the sources or the history")
    if db is None:
        return iter(incoming)
    # both in date order; an action before a reply of the same day and customer
    return heapq.merge(
        map(_shown, db.history(customer, since, unknown)), incoming, key=_day_and_customer
    )


def _day_and_customer(row: dict) -> tuple[str, str]:
    return row["as_of"], row["customer_id"]


def _shown(row: dict) -> dict:
    """A recorded row as `history` shows it: its addresses and texts `redact`ed (a row an
    older arflow stored may hold a webhook's whole address)."""
    return {
        **row,
        "recipients": [redact(r) for r in row["recipients"] or []],
        **{k: redact(row[k]) for k in ("error", "subject", "description") if row.get(k)},
    }
