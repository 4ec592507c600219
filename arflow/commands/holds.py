"""`arflow holds` (issue 33): the accounts on credit hold, why and since when."""

from __future__ import annotations

import sys
from typing import Annotated

from rich.console import Console

from arflow.commands import common, session
from arflow.commands.common import ConfigOption, TableFormat
from arflow.holds.listing import CSV_HEADER, hold_document, hold_title, on_hold
from arflow.listing import Cell, Col, Listing, print_listing, write_csv
from arflow.sources.csvfile import spreadsheet_text

COLUMNS = [
    Col("Customer", "customer_id"),
    Col("Since", "since"),
    Col("Why", "why", token=False),
]


def holds(
    as_of: Annotated[str | None, common.as_of_option("Who is on hold on this day")] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """Accounts on credit hold: who not to ship to.

    Each customer a real run put on hold by credit_hold: enter: and has not released by
    release: (see docs/commands.md), the day it entered and the conditions it met then, as
    the runs recorded them up to the day. Reads the state only; writes nothing. JSON:
    {"holds": [{"customer_id", "since", "why"}]}.

    \b
    Example: arflow holds --as-of 2026-03-16 --format json
    """
    with session.desk_session(config, ledger=False, write=False, checked=False) as s:
        cfg = s.project.config
        today = common.parse_day(cfg, as_of, "--as-of") or s.today
        held = on_hold(s.state.holds_on(today)) if s.state is not None else []
    if fmt is TableFormat.json:
        common.print_json(hold_document(held))
        return
    rows = [[e.customer_id, e.as_of.isoformat(), e.why] for e in held]
    if fmt is TableFormat.csv:
        write_csv(sys.stdout, CSV_HEADER, [[spreadsheet_text(v) for v in r] for r in rows])
        return
    listing = Listing(
        hold_title(today, len(rows)),
        COLUMNS,
        [list[Cell](r) for r in rows],
        [],
        "No account is on credit hold.",
    )
    print_listing(Console(highlight=False), listing, plain=common.plain())
