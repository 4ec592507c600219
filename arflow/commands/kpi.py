"""`arflow kpi` (issue 34): the collections KPIs per currency as data."""

from __future__ import annotations

import sys
from typing import Annotated

from rich.console import Console

from arflow.commands import common, session
from arflow.commands.common import ConfigOption, TableFormat
from arflow.config import load_config
from arflow.kpi import FIELDS, Kpis, kpi_document, kpis
from arflow.listing import Cell, Col, Listing, print_listing, write_csv
from arflow.sources import load_ledger


def kpi(
    as_of: Annotated[str | None, common.as_of_option("The KPIs as of this day")] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """Collections KPIs: DSO, best possible DSO, ADD, CEI, share 90+.

    Per currency, as of the day: receivables and their current part, DSO by the countback
    method and over 90 days, the best possible DSO, average days delinquent, the Collection
    Effectiveness Index of the last whole month, and the share more than 90 days past due;
    days and percentages rounded half-up to 0.1 (the formulas: docs/commands.md). Reads the
    sources only.

    \b
    Example: arflow kpi --as-of 2026-03-31 --format json
    """
    cfg = load_config(common.config_path(config))
    day = common.parse_day(cfg, as_of, "--as-of") or cfg.today(common.now())
    ledger = load_ledger(cfg)
    found = kpis(ledger.invoices, day)
    if fmt is TableFormat.json:
        common.print_json(
            {"as_of": day.isoformat(), "currencies": {k.currency: kpi_document(k) for k in found}}
        )
    elif fmt is TableFormat.csv:
        write_csv(sys.stdout, ["currency", "receivables", "current", *FIELDS], _rows(found))
    else:
        _print(found, day.isoformat())
    session.report_held_back(ledger)


def _rows(found: list[Kpis]) -> list[list[str]]:
    return [
        [k.currency, str(k.receivables), str(k.current)]
        + ["" if getattr(k, name) is None else str(getattr(k, name)) for name in FIELDS]
        for k in found
    ]


def _print(found: list[Kpis], day: str) -> None:
    columns = [
        Col("Currency", "currency"),
        Col("Receivables", "receivables", right=True),
        Col("Current", "current", right=True),
        *(Col(name.replace("_", " "), name, right=True) for name in FIELDS),
    ]
    rows: list[list[Cell]] = [[("—" if c == "" else c) for c in row] for row in _rows(found)]
    listing = Listing(f"arflow kpi as of {day}", columns, rows, [], "Nothing owed, nothing sold.")
    print_listing(Console(highlight=False), listing, plain=common.plain())
