"""The reports with figures: `aging` (a bar per account in the colours of its buckets),
`forecast`, and `simulate` (its figures per step and a line of the actions per day)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from arflow.aging import Aging
from arflow.listing import Cell, Col, Listing, merged_steps, print_listing, summed, write_plain
from arflow.render import MONEY
from arflow.rules import AGING_BUCKETS
from arflow.tables import amounts_text

if TYPE_CHECKING:  # replay runs the pipeline; printing its figures needs only their type
    from arflow.simulation import Simulation

# --- aging ------------------------------------------------------------------------------------
AGING_STYLES = {
    "current": "green",
    "1-30": "yellow",
    "31-60": "dark_orange",
    "61-90": "red",
    "90+": "bold red",
}
BAR_WIDTH = 12


def _aging_bar(buckets: dict[str, Decimal], largest: Decimal) -> Text:
    """A small bar, as long as the account's total against the largest one, in the colours
    of its buckets: the worst accounts stand out."""
    bar = Text()
    total = sum((v for v in buckets.values() if v > 0), Decimal(0))
    if total <= 0 or largest <= 0:
        return bar
    width = max(1, round(BAR_WIDTH * total / largest))
    used = 0
    for n, (bucket, value) in enumerate(buckets.items()):
        if value <= 0:
            continue
        cells = (
            width - used
            if n == len(buckets) - 1 or all(v <= 0 for v in list(buckets.values())[n + 1 :])
            else round(width * value / total)
        )
        bar.append("█" * cells, style=AGING_STYLES[bucket])
        used += cells
    return bar


def print_aging(console: Console, report: Aging, locale: str, *, plain: bool) -> None:
    """`arflow aging`: a table with a bar per customer, then the totals per currency; in a
    pipe a header line, a line per account and currency, and a total line per currency."""
    _print_aging(console, report, locale, plain=plain)
    if not report.unapplied:
        return
    if plain:  # issue 32: cash from the bank no invoice takes, a line per currency
        for currency, amount in sorted(report.unapplied.items()):
            console.file.write(f"unapplied\t{currency}\t{amount}\n")
        return
    console.print(
        f"Unapplied cash: {amounts_text(report.unapplied, locale)} (payments no open invoice "
        "takes: arflow payments --unmatched)",
        markup=False,
        highlight=False,
    )


def _print_aging(console: Console, report: Aging, locale: str, *, plain: bool) -> None:
    fees, disputed = report.with_fees, report.with_disputed
    if plain:
        write_plain(
            console.file,
            # as every pipe names it
            ["customer", "name", "currency", *AGING_BUCKETS, "total"]
            + (["fees"] if fees else [])
            + (["disputed"] if disputed else []),
            (
                [r.customer_id, r.name, r.currency, *r.buckets.values(), r.total]
                + ([r.fees] if fees else [])
                + ([r.disputed] if disputed else [])
                for r in report.customers
            ),
            (
                ["total", f"{c.invoices} invoice(s)", c.currency, *c.buckets.values(), c.total]
                + ([c.fees] if fees else [])
                + ([c.disputed] if disputed else [])
                for c in report.currencies
            ),
        )
        return
    if not report.customers:
        console.print(f"Nothing owed on {report.as_of.isoformat()}.", markup=False)
        return
    rows, totals = _aging_cells(report, locale)
    headers = (
        [b.replace("-", "–") for b in AGING_BUCKETS]
        + ["Total"]
        + (["Fees"] if fees else [])
        + (["Disputed"] if disputed else [])
    )
    # amounts are never cut: their columns do not wrap, the customer's name wraps between
    # words, the bar goes first when it is tight, and below the width the amounts need, each
    # account is a block of its own
    largest = max(r.total for r in report.customers)
    listing = Listing(
        f"arflow aging as of {report.as_of.isoformat()}: {len(report.customers)} account(s)",
        [
            Col("Customer", "name", token=False),
            *(Col(h, h, right=True, style="bold" if h == "Total" else "") for h in headers),
            Col("", "bar", drop=1),
        ],
        [
            [*cells, _aging_bar(r.buckets, largest)]
            for r, cells in zip(report.customers, rows, strict=True)
        ],
        [[Text(cells[0], style="bold"), *cells[1:], ""] for cells in totals],
    )
    print_listing(
        console,
        listing,
        plain=False,
        blocks=lambda c, _: _print_aging_blocks(c, report, headers, rows + totals),
    )


def _aging_cells(report: Aging, locale: str) -> tuple[list[list[str]], list[list[str]]]:
    """The aging's cells as a person reads them: a line per account (a bucket with nothing
    in it as "·"), then a line of totals per currency."""

    def money(value: Decimal, currency: str) -> str:
        return MONEY(value, currency, locale)

    rows = [
        [
            r.name or "",
            *(money(v, r.currency) if v else "·" for v in r.buckets.values()),
            money(r.total, r.currency),
            *([money(r.fees, r.currency) if r.fees else "·"] if report.with_fees else []),
            *(
                [money(r.disputed, r.currency) if r.disputed else "·"]
                if report.with_disputed
                else []
            ),
        ]
        for r in report.customers
    ]
    totals = [
        [
            f"Total {c.currency} ({c.invoices} invoices)",
            *(money(v, c.currency) for v in c.buckets.values()),
            money(c.total, c.currency),
            *([money(c.fees, c.currency)] if report.with_fees else []),
            *([money(c.disputed, c.currency)] if report.with_disputed else []),
        ]
        for c in report.currencies
    ]
    return rows, totals


def _print_aging_blocks(
    console: Console, report: Aging, headers: list[str], lines: list[list[str]]
) -> None:
    """The aging in a terminal too narrow for its table: a block per account and total, its
    buckets' amounts wrapped between them, never inside one."""
    console.print(
        f"arflow aging as of {report.as_of.isoformat()}: {len(report.customers)} account(s)",
        style="bold",
        markup=False,
    )
    for cells in lines:
        console.print(cells[0], style="bold", markup=False)
        line = ""
        for h, v in zip(headers, cells[1:], strict=True):
            if v == "·":
                continue
            part = f"{h} {v}"  # an amount never leaves its bucket's name
            if line and len(line) + 3 + len(part) > console.width:
                console.print(line, markup=False)
                line = ""
            line = f"{line} · {part}" if line else f"  {part}"
        console.print(line, markup=False)


# --- forecast and simulate --------------------------------------------------------------------
FORECAST_COLUMNS = [
    Col("Date", "date"),
    Col("Workflow", "workflow"),
    Col("Step", "step"),
    Col("Actions", "actions", token=False, right=True),
    Col("Customers", "customers", token=False, right=True),
    Col("Chased", "chased", right=True),
]


def forecast_groups(
    days: list,
) -> Iterator[tuple[date, str, str, int, dict[str, dict[str, Decimal]]]]:
    """Per day, workflow and step: the actions, and per customer reached the amount chased
    from it (each customer's listed invoices counted once a step)."""
    for day, result in days:
        groups: dict[tuple[str, str], dict] = {}
        for a in result.plan.actions:
            group = groups.setdefault((a.workflow, a.step), {"actions": 0, "customers": {}})
            group["actions"] += 1
            if a.customer_id:  # the weekly digest (issue 34) reaches no customer
                group["customers"].setdefault(a.customer_id, a.amounts)
        for (wid, step), group in groups.items():
            yield day, wid, step, group["actions"], group["customers"]


def forecast_fees(days: list) -> dict[tuple[date, str, str], dict[str, Decimal]]:
    """Per day, workflow and step: what its `charge_fees` actions charge, per currency."""
    found: dict[tuple[date, str, str], dict[str, Decimal]] = {}
    for day, result in days:
        for a in result.plan.actions:
            for charge in a.fees or ():
                fees = found.setdefault((day, a.workflow, a.step), {})
                fees[charge.currency] = fees.get(charge.currency, Decimal(0)) + charge.amount
    return found


def forecast_chased(customers: dict[str, dict[str, Decimal]]) -> dict[str, Decimal]:
    chased: dict[str, Decimal] = {}
    for amounts in customers.values():
        for currency, value in amounts.items():
            chased[currency] = chased.get(currency, Decimal(0)) + value
    return chased


def print_forecast(console: Console, days: list, locale: str, *, plain: bool) -> None:
    """`arflow forecast`: per day, the actions per workflow and step with the customers they
    reach and the amount they chase (and the late fees they charge, when some step does); the
    totals: the actions, the customers reached (each once) and the amounts added up."""
    rows: list[list[Cell]] = []
    shown: set[date] = set()
    reached: set[str] = set()
    chased: dict[str, Decimal] = {}
    fees = forecast_fees(days)
    groups = list(forecast_groups(days))
    for day, _ in days:
        if not any(g[0] == day for g in groups):
            rows.append([day.isoformat(), "—", "", "", "", "", *([""] if fees else [])])
        for _, wid, step, actions, customers in (g for g in groups if g[0] == day):
            amounts = forecast_chased(customers)
            reached.update(customers)
            for currency, value in amounts.items():
                chased[currency] = chased.get(currency, Decimal(0)) + value
            first = day not in shown
            shown.add(day)
            rows.append(
                [
                    day.isoformat() if first or plain else "",
                    wid,
                    step,
                    actions,
                    len(customers),
                    amounts_text(amounts, locale) or "—",
                    *(
                        [amounts_text(fees.get((day, wid, step), {}), locale) or "—"]
                        if fees
                        else []
                    ),
                ]
            )
    total = sum(len(r.plan.actions) for _, r in days)
    first, last = days[0][0].isoformat(), days[-1][0].isoformat()
    charged = summed(fees.values())
    listing = Listing(
        f"arflow forecast {first} to {last}: {total} action(s)",
        FORECAST_COLUMNS + ([Col("Fees", "fees", right=True)] if fees else []),
        rows,
        [
            [
                "total",
                "",
                "",
                total,
                len(reached),
                amounts_text(chased, locale) or "—",
                *([amounts_text(charged, locale)] if fees else []),
            ]
        ],
        "Nothing planned.",
    )
    print_listing(console, listing if plain else merged_steps(listing), plain=plain)


SPARKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[int], width: int) -> str:
    """The values as one line of bars, `width` characters at most (several days a character
    when there are more days than room: each character shows the busiest of them)."""
    if not values:
        return ""
    per = max(1, -(-len(values) // width))
    peaks = [max(values[n : n + per]) for n in range(0, len(values), per)]
    top = max(peaks)
    return "".join(
        SPARKS[0 if not v else max(1, round(8 * v / top))] if top else " " for v in peaks
    )


SIMULATE_COLUMNS = [
    Col("Workflow", "workflow"),
    Col("Step", "step"),
    Col("Actions", "actions", token=False, right=True),
    Col("Invoices", "invoices", token=False, right=True),
    Col("Paid ≤7d", "paid_7d", token=False, right=True),
    Col("≤14d", "paid_14d", token=False, right=True),
    Col("≤30d", "paid_30d", token=False, right=True),
    Col("Median days", "median_days", token=False, right=True, drop=1),
    Col("Unpaid", "unpaid", token=False, right=True),
]


def print_simulation(
    console: Console, sim: Simulation, *, plain: bool, locale: str = "en_US"
) -> None:
    """`arflow simulate`: the figures per workflow step (and the late fees each charged,
    when some step did), then the actions per day."""
    charged = any(s.fees for s in sim.steps)

    def median(value: float | None) -> str:
        return "—" if value is None else f"{value:g}"

    rows: list[list[Cell]] = [
        [
            s.workflow,
            s.step,
            s.actions,
            s.invoices,
            s.paid_7,
            s.paid_14,
            s.paid_30,
            median(s.median_days_to_pay),
            s.unpaid,
            *([amounts_text(s.fees, locale) or "—"] if charged else []),
        ]
        for s in sim.steps
    ]
    listing = Listing(
        f"arflow simulate {sim.first.isoformat()} to {sim.last.isoformat()}",
        SIMULATE_COLUMNS + ([Col("Fees", "fees", right=True)] if charged else []),
        rows,
        [
            [
                "total",
                "",
                sum(s.actions for s in sim.steps),
                sum(s.invoices for s in sim.steps),
                sum(s.paid_7 for s in sim.steps),
                sum(s.paid_14 for s in sim.steps),
                sum(s.paid_30 for s in sim.steps),
                "",
                sum(s.unpaid for s in sim.steps),
                *([amounts_text(summed(s.fees for s in sim.steps), locale)] if charged else []),
            ]
        ],
        "No actions.",
    )
    print_listing(console, listing if plain else merged_steps(listing), plain=plain)
    _print_days(console, sim, plain=plain)


def _print_days(console: Console, sim: Simulation, *, plain: bool) -> None:
    """The actions per day: in a terminal a line of bars; in a pipe a header line, a line per
    day something happened and their total."""
    counts = [n for _, n in sim.days]
    if plain:  # the days something happened, as the line of bars shows them
        write_plain(
            console.file,
            ["day", "date", "actions"],
            (["day", day.isoformat(), n] for day, n in sim.days if n),
            [["total", f"{sum(1 for n in counts if n)} of {len(counts)} days", sum(counts)]],
        )
        return
    width = max(10, console.width - 2)
    per = max(1, -(-len(counts) // width))
    console.print(
        f"Actions per day{f' ({per} days a mark)' if per > 1 else ''}, busiest "
        f"{max(counts, default=0)}:",
        markup=False,
    )
    console.print(sparkline(counts, width), markup=False, style="cyan")
    marks = -(-len(counts) // per)
    console.print(
        f"{sim.first.isoformat()}{sim.last.isoformat():>{max(10, marks - 10)}}",
        markup=False,
        style="dim",
    )
