"""What a desk command (or a report on the desk) works on: the folder, its sources, the state
database and today (`desk_session`), and the customer listings printed from it. Apart from
`commands/common.py` (parsing and printing), so a command that opens no session (`validate`,
`init`, `schema`) imports neither the sources nor the state."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import typer
from rich.console import Console

from arflow.aging import Aging, aging_report
from arflow.commands import common
from arflow.commands.common import EXIT_PROBLEMS, TableFormat, errors_console, plain, print_json
from arflow.config import Config
from arflow.ledger import Ledger
from arflow.listing import write_csv
from arflow.payments.apply import Heard, hear_payments
from arflow.project import Project, load_project
from arflow.reading import group_errors
from arflow.secrets import redact
from arflow.sources import load_ledger
from arflow.state import StateDB, open_state


def report_held_back(ledger: Ledger | None) -> None:
    """Bad source values (SPEC 2.4) are never passed over silently: each on stderr, exit 3."""
    if ledger is None or not ledger.errors:
        return
    console = errors_console()
    for group in group_errors(ledger.errors):  # one line per cause, however many rows
        console.print(redact(f"error: {group.text()}"), markup=False)
    raise typer.Exit(EXIT_PROBLEMS)


def show_customers(
    s: Session,
    fmt: TableFormat,
    day: date,
    rows: list[dict],
    table: Callable[..., None],
    csv_rows: Callable[[list[dict]], tuple[list[str], Iterable[list[object]]]],
) -> None:
    """`status` and `customers`: their rows as JSON, CSV or a table, then the held-back
    rows."""
    if fmt is TableFormat.json:
        print_json({"as_of": day.isoformat(), "customers": rows})
    elif fmt is TableFormat.csv:
        write_csv(sys.stdout, *csv_rows(rows))
    else:
        table(Console(highlight=False), rows, s.project.config.company.locale, plain=plain())
    report_held_back(s.ledger)


def heard_payments(cfg: Config, ledger: Ledger, day: date, db: StateDB | None = None) -> Heard:
    """Issue 32: the payments from the bank dated up to `day` (recorded, and the source's new
    ones) lowered into `ledger`, nothing recorded; `db`: the state a command has open already.
    (A run counts every payment it knows, whatever its `--as-of`: what it sends uses all it
    knows.)"""
    if db is not None or cfg.payments is None:
        return hear_payments(cfg, db, ledger, day, upto=day)
    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "read") as state:
        return hear_payments(cfg, state, ledger, day, upto=day)


def aging_of(
    cfg: Config, ledger: Ledger, day: date, charged: dict[str, Decimal] | None = None
) -> Aging:
    """`aging`'s report on `day`: the ledger lowered by the bank's payments and the credits
    agreed in disputes, its unapplied cash, the late fees `charged` (`--fees`)."""
    heard = heard_payments(cfg, ledger, day)
    disputed = disputes_for_aging(cfg, ledger, day)  # issue 33
    report = aging_report(
        ledger.owing(day), ledger.customers, day, cfg.min_balance, charged, disputed
    )
    report.unapplied = heard.unapplied()
    return report


def disputes_for_aging(cfg: Config, ledger: Ledger, day: date) -> dict[str, Decimal] | None:
    """Issue 33: `ledger` lowered by the credits of resolved disputes it does not show yet,
    and invoice → its disputed part on `day` (None: the folder has no dispute by then)."""
    from arflow.disputes.night import disputed_parts, owed_after_credits

    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "read") as db:
        if db is None or not any(d.since <= day for d in db.disputes()):
            return None
        owed_after_credits(db, ledger, day)
        return disputed_parts(db.disputes(), ledger, day)


@dataclass
class Session:
    """What a desk command (or a report on the desk) works on."""

    project: Project
    loaded: Ledger | None  # None when the command does not read the sources
    state: StateDB | None  # None when read-only and there is no database yet
    today: date

    @property
    def ledger(self) -> Ledger:
        assert self.loaded is not None, "opened without the sources"
        return self.loaded

    @property
    def db(self) -> StateDB:
        assert self.state is not None, "opened read-only"
        return self.state


@contextmanager
def desk_session(
    config: Path | None, *, ledger: bool = True, write: bool = True, checked: bool = True
) -> Iterator[Session]:
    """The project, its sources, the state database and today, for a desk command; one that
    sends nothing passes `checked` False (`project.load_project`: templates not checked)."""
    project = load_project(common.config_path(config), checked=checked)
    cfg = project.config
    loaded = load_ledger(cfg) if ledger else None
    path = cfg.resolve(cfg.state)
    with open_state(path, cfg.display(path), "write" if write else "read") as db:
        yield Session(project, loaded, db, cfg.today(common.now()))
