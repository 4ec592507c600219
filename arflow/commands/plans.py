"""`arflow plan` and `arflow plans` (issue 32): payment plans made, listed and ended by hand."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console

from arflow.commands import common, session
from arflow.commands.common import ConfigOption, TableFormat, say
from arflow.config import Config
from arflow.errors import Refused
from arflow.listing import Cell, Col, Listing, print_listing, write_csv
from arflow.plans.listing import CSV_HEADER, plan_document, plan_rows
from arflow.plans.making import Asked, new_plan
from arflow.plans.night import standings_on
from arflow.plans.standing import BROKEN, Standing
from arflow.sources.csvfile import spreadsheet_text
from arflow.tables import amounts_text

COLUMNS = [
    Col("Plan", "plan"),
    Col("Customer", "customer_id"),
    Col("Invoices", "invoices", token=False),
    Col("Total", "total", right=True),
    Col("Paid", "paid", right=True),
    Col("State", "state"),
    Col("Met", "met", right=True),
    Col("Next", "next", token=False),
    Col("Made", "made_on", drop=1),
]


def plan(
    invoices: Annotated[
        list[str], typer.Argument(metavar="INVOICE…", help="The invoices the plan pays.")
    ],
    instalments: Annotated[
        int | None, typer.Option("--instalments", metavar="N", help="How many instalments.")
    ] = None,
    every: Annotated[
        str | None,
        typer.Option("--every", metavar="week|month", help="How far apart the instalments are."),
    ] = None,
    first: Annotated[
        str | None, typer.Option("--first", metavar="YYYY-MM-DD", help="The first one's day.")
    ] = None,
    amounts: Annotated[
        str | None,
        typer.Option(
            "--amounts",
            metavar="A,B,C",
            help='Each instalment\'s amount (with decimal: "," in arflow.yaml: A;B;C).',
        ),
    ] = None,
    dates: Annotated[
        str | None, typer.Option("--dates", metavar="D1,D2,D3", help="Each instalment's day.")
    ] = None,
    as_of: Annotated[
        str | None, common.as_of_option("The day the plan is made; the invoices must be open")
    ] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """Put invoices on a payment plan.

    The plan's total is the invoices' open balances today, in N instalments a week or a
    month apart (split to the cent; the last takes the remainder), or in the amounts and days
    given. While the plan is on track its invoices leave their workflow and each instalment
    is chased by plan_workflow:; a missed one breaks the plan (see docs/plans.md). Prints
    the schedule.

    \b
    Example: arflow plan INV-1002 INV-1003 --instalments 3 --every month --first +14
    """
    with session.desk_session(config) as s:
        cfg = _with_plan_workflow(s.project.config)
        today = common.parse_day(cfg, as_of, "--as-of") or s.today
        session.heard_payments(cfg, s.ledger, today, s.db)  # what the bank says was paid
        first_day = common.parse_day(cfg, first, "--first", today)
        asked = Asked(
            instalments, every, first_day, _amounts(cfg, amounts), _days(cfg, dates, today)
        )
        standings = _plannable(s, invoices, today, cfg)
        made = new_plan(s.ledger, invoices, asked, today, cfg.min_balance, standings)
        plan_id = s.db.add_plan(
            made.customer_id, made.invoices, made.currency, made.instalments, today
        )
        standings = standings_on(s.db, s.ledger, today, cfg)
    if fmt is TableFormat.table:
        _say_made(standings[plan_id], cfg.company.locale)
    else:
        _print([standings[plan_id]], today, fmt, cfg)


def _plannable(
    s: session.Session, invoices: list[str], today: date, cfg: Config
) -> dict[int, Standing]:
    """Where the plans stand today; Refused when an invoice named is disputed that day: a
    plan would chase it (issue 33)."""
    for d in s.db.disputes():
        if d.invoice in invoices and d.open_on(today):
            raise Refused(
                f"{d.invoice} is disputed (since {d.since}, reason {d.reason}): a plan would "
                f"chase it; resolve the dispute first (arflow dispute resolve {d.invoice})"
            )
    return standings_on(s.db, s.ledger, today, cfg)


def _with_plan_workflow(cfg: Config) -> Config:
    """The config, if it has `plan_workflow:` (else no instalment would be chased)."""
    if not cfg.plan_workflow:
        raise Refused(
            f"{cfg.display(cfg.path)}: plan_workflow: is not set, so no instalment would be "
            "chased; add `plan_workflow: payment-plan` (`arflow init --workflow "
            "payment-plan` brings the workflow and its templates)"
        )
    return cfg


def _say_made(made: Standing, locale: str) -> None:
    """The plan just made and its schedule."""
    plan = made.plan
    say(
        f"Plan {plan.plan_id}: {', '.join(plan.invoices)} ({plan.customer_id}), "
        f"{amounts_text({plan.currency: plan.total}, locale)} in {len(plan.instalments)} "
        "instalment(s):"
    )
    for day, amount in plan.instalments:
        say(f"  {day}  {amounts_text({plan.currency: amount}, locale)}")


def _separator(cfg: Config) -> str:
    return ";" if cfg.invoices.decimal == "," else ","


def _amounts(cfg: Config, text: str | None) -> list[Decimal] | None:
    if text is None:
        return None
    found = []
    for part in text.split(_separator(cfg)):
        value = common.parse_amount(cfg, part.strip(), "--amounts")
        assert value is not None
        found.append(value)
    return found


def _days(cfg: Config, text: str | None, base: date) -> list[date] | None:
    """The days of `--dates`; `+N`: N days after the plan's day."""
    if text is None:
        return None
    return [common.parse_day(cfg, part.strip(), "--dates", base) for part in text.split(",")]


def plans_list(
    ctx: typer.Context,
    customer: Annotated[
        str | None, typer.Option("--customer", metavar="ID", help="Only this customer's.")
    ] = None,
    as_of: Annotated[str | None, common.as_of_option("Where the plans stand on this day")] = None,
    fmt: common.ListFormatOption = TableFormat.table,
    config: ConfigOption = None,
) -> None:
    """Payment plans and where each stands.

    Every plan made by the day: its invoices, total, what was paid on them since, its state
    (on track, broken, complete, cancelled), the instalments met and the next one due. Reads
    the sources and the state; writes nothing. `arflow plans cancel PLAN` ends one.

    \b
    Example: arflow plans --as-of 2026-03-16 --format json
    """
    if ctx.invoked_subcommand is not None:
        return
    with session.desk_session(config, write=False) as s:
        cfg = s.project.config
        today = common.parse_day(cfg, as_of, "--as-of") or s.today
        session.heard_payments(cfg, s.ledger, today, s.state)  # what the bank says was paid
        standings = standings_on(s.state, s.ledger, today, cfg) if s.state is not None else {}
    shown = [st for st in standings.values() if customer in (None, st.plan.customer_id)]
    _print(shown, today, fmt, cfg)
    session.report_held_back(s.ledger)


def _print(standings: list[Standing], today: date, fmt: TableFormat, cfg: Config) -> None:
    if fmt is TableFormat.json:
        common.print_json(plan_document(today, standings))
        return
    rows = plan_rows(standings)
    if fmt is TableFormat.csv:
        write_csv(sys.stdout, CSV_HEADER, [[spreadsheet_text(str(v)) for v in r] for r in rows])
        return
    locale = cfg.company.locale

    def money(currency: object, value: object) -> str:
        assert isinstance(value, Decimal)
        return amounts_text({str(currency): value}, locale)

    table: list[list[Cell]] = []
    for pid, cid, numbers, cur, total, paid, state, met, count, day, amount, made in rows:
        upcoming = f"{money(cur, amount)} on {day}" if day else "—"
        table.append(
            [
                str(pid),
                str(cid),
                str(numbers),
                money(cur, total),
                money(cur, paid),
                str(state),
                f"{met}/{count}",
                upcoming,
                str(made),
            ]
        )
    listing = Listing(
        f"arflow plans as of {today}: {len(rows)} plan(s)", COLUMNS, table, [], "No payment plans."
    )
    print_listing(Console(highlight=False), listing, plain=common.plain())


def plans_cancel(
    plan_id: Annotated[int, typer.Argument(metavar="PLAN", help="The plan's number.")],
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for history.")
    ] = None,
    as_of: Annotated[str | None, common.as_of_option("The day it ends")] = None,
    config: ConfigOption = None,
) -> None:
    """End a payment plan by hand.

    From the day it ends the plan's invoices are chased by their own workflow again (not
    on_broken_plan:) and its instalments are chased no more. History keeps the plan.

    \b
    Example: arflow plans cancel 1 --reason "paid in full by cheque"
    """
    with session.desk_session(config) as s:
        cfg = s.project.config
        day = common.parse_day(cfg, as_of, "--as-of") or s.today
        known = {p.plan_id: p for p in s.db.plans()}
        if plan_id not in known:
            listed = ", ".join(map(str, known)) or "none yet"
            raise Refused(f"no plan {plan_id} (plans: {listed}); `arflow plans` lists them")
        if day < known[plan_id].made_on:
            raise Refused(
                f"--as-of {day} is before plan {plan_id} was made ({known[plan_id].made_on})"
            )
        session.heard_payments(cfg, s.ledger, day, s.db)  # what the bank says was paid
        _refuse_broken(standings_on(s.db, s.ledger, day, cfg).get(plan_id), cfg)
        ended = s.db.cancel_plan(plan_id, day, reason)
    say(f"Plan {plan_id} cancelled from {day}." if ended else f"Plan {plan_id} had ended already.")


def _refuse_broken(found: Standing | None, cfg: Config) -> None:
    """A broken plan has ended: its invoices follow on_broken_plan:, cancelling changes
    nothing."""
    if found is not None and found.state == BROKEN:
        route = (
            f"on_broken_plan: ({cfg.on_broken_plan})" if cfg.on_broken_plan else "their workflow"
        )
        raise Refused(
            f"Plan {found.plan.plan_id} had ended already: broken from {found.broken_on}, its "
            f"invoices are chased by {route}; `arflow plans` shows it"
        )
