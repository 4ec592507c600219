"""The reports with figures: `aging` (a bar per account in the colours of its buckets),
`forecast`, and `simulate` (its figures per step and a line of the actions per day)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from arflow.aging import Aging
from arflow.render import MONEY
from arflow.rules import AGING_BUCKETS
from arflow.tables import amounts_text, print_rows

if TYPE_CHECKING:  # replay runs the pipeline; printing its figures needs only their type
    from arflow.replay import Simulation

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
    """`arflow aging`: a table with a bar per customer, then the totals per currency; plain
    tab-separated lines under cron."""
    if plain:
        for r in report.customers:
            console.file.write(
                "\t".join(
                    [
                        r.customer_id or "",
                        r.name or "",
                        r.currency,
                        *(str(v) for v in r.buckets.values()),
                        str(r.total),
                    ]
                )
                + "\n"
            )
        return
    if not report.customers:
        console.print(f"Nothing owed on {report.as_of.isoformat()}.", markup=False)
        return
    rows, totals = _aging_cells(report, locale)
    headers = [b.replace("-", "–") for b in AGING_BUCKETS] + ["Total"]
    # amounts are never cut: their columns do not wrap, the customer column takes what is left
    # (folding long names), the bar goes first when it is tight, and below the width the
    # amounts need, each account is a block of its own
    widths = [
        max(len(h), *(len(row[n + 1]) for row in rows + totals)) for n, h in enumerate(headers)
    ]
    fixed = sum(w + 3 for w in widths) + 1  # padding and a border per column
    if console.width < fixed + 8 + 3:  # no room for a table: one block per account
        _print_aging_blocks(console, report, headers, rows + totals)
        return
    bar = console.width - fixed >= 14 + BAR_WIDTH + 3
    console.print(_aging_table(report, headers, rows, totals, bar=bar))


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
        ]
        for r in report.customers
    ]
    totals = [
        [
            f"Total {c.currency} ({c.invoices} invoices)",
            *(money(v, c.currency) for v in c.buckets.values()),
            money(c.total, c.currency),
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


def _aging_table(
    report: Aging,
    headers: list[str],
    rows: list[list[str]],
    totals: list[list[str]],
    *,
    bar: bool,
) -> Table:
    """The aging's table: an account a line (with its bar where there is room), then the
    totals per currency below a line."""
    largest = max(r.total for r in report.customers)
    table = Table(
        title=f"arflow aging as of {report.as_of.isoformat()}: {len(report.customers)} account(s)",
        title_justify="left",
        header_style="bold",
        title_style="bold",
    )
    table.add_column("Customer", overflow="fold", ratio=1, min_width=8)
    for header in headers:
        table.add_column(
            header, justify="right", no_wrap=True, style="bold" if header == "Total" else ""
        )
    if bar:
        table.add_column("", no_wrap=True, min_width=BAR_WIDTH)
    for r, cells in zip(report.customers, rows, strict=True):
        table.add_row(*cells, *([_aging_bar(r.buckets, largest)] if bar else []))
    table.add_section()
    for cells in totals:
        table.add_row(Text(cells[0], style="bold"), *cells[1:], *([""] if bar else []))
    return table


# --- forecast and simulate --------------------------------------------------------------------
def print_forecast(console: Console, days: list, locale: str, *, plain: bool) -> None:
    """`arflow forecast`: per day, the actions per workflow and step with the customers they
    reach and the amount they chase (each customer's listed invoices counted once a step)."""
    rows: list[list] = []
    for day, result in days:
        groups: dict[tuple[str, str], dict] = {}
        for a in result.plan.actions:
            group = groups.setdefault((a.workflow, a.step), {"actions": 0, "customers": {}})
            group["actions"] += 1
            group["customers"].setdefault(a.customer_id, a.amounts)
        if not groups:
            rows.append([day.isoformat(), "—", "", "", "", ""])
        for n, ((wid, step), group) in enumerate(groups.items()):
            chased: dict[str, Decimal] = {}
            for amounts in group["customers"].values():
                for currency, value in amounts.items():
                    chased[currency] = chased.get(currency, Decimal(0)) + value
            rows.append(
                [
                    day.isoformat() if n == 0 else "",
                    wid,
                    step,
                    group["actions"],
                    len(group["customers"]),
                    amounts_text(chased, locale) or "—",
                ]
            )
    total = sum(len(r.plan.actions) for _, r in days)
    first, last = days[0][0].isoformat(), days[-1][0].isoformat()
    print_rows(
        console,
        f"arflow forecast {first} to {last}: {total} action(s)",
        [
            ("Date", {"no_wrap": True}),
            ("Workflow", {"overflow": "fold"}),
            ("Step", {"overflow": "fold"}),
            ("Actions", {"justify": "right"}),
            ("Customers", {"justify": "right"}),
            ("Chased", {"justify": "right", "no_wrap": True}),
        ],
        rows,
        plain=plain,
        empty="Nothing planned.",
    )


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


def print_simulation(console: Console, sim: Simulation, *, plain: bool) -> None:
    """`arflow simulate`: the figures per workflow step, then the actions per day."""

    def median(value: float | None) -> str:
        return "—" if value is None else f"{value:g}"

    rows = [
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
        ]
        for s in sim.steps
    ]
    print_rows(
        console,
        f"arflow simulate {sim.first.isoformat()} to {sim.last.isoformat()}",
        [
            ("Workflow", {"overflow": "fold"}),
            ("Step", {"overflow": "fold"}),
            ("Actions", {"justify": "right"}),
            ("Invoices", {"justify": "right"}),
            ("Paid ≤7d", {"justify": "right"}),
            ("≤14d", {"justify": "right"}),
            ("≤30d", {"justify": "right"}),
            ("Median days", {"justify": "right"}),
            ("Unpaid", {"justify": "right"}),
        ],
        rows,
        plain=plain,
        empty="No actions.",
    )
    counts = [n for _, n in sim.days]
    if plain:
        for day, n in sim.days:
            console.file.write(f"day\t{day.isoformat()}\t{n}\n")
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
