"""The steady state's floor: a plain polars script that reads the same invoices and customers
files and computes the same day's plan without any state — the open invoices, the workflow each
follows (`match:` on product, location, currency and segment, the customer's `workflow:`, the
default), each step's date from its anchor (calendar days; business days with
polars' `add_business_days`), and the steps that fall on the day, one message per customer,
workflow and step.
No validation, no templates, no state database: what any script would do at the least.

Usage: python benchmarks/plan_floor.py FOLDER YYYY-MM-DD   (prints the messages and actions)
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
import yaml


def workflows(folder: Path) -> dict[str, dict]:
    found = {}
    for path in sorted((folder / "workflows").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        if spec.get("enabled", True) and "steps" in spec and spec.get("anchor") != "assigned":
            found[path.stem] = spec
    return found


def chosen(specs: dict[str, dict], default: str | None) -> pl.Expr:
    expr = pl.lit(default if default in specs else None, pl.String)
    matching = sorted((s.get("priority", 100), wid) for wid, s in specs.items() if s.get("match"))
    for _, wid in reversed(matching):
        fits = pl.lit(True)
        for name, allowed in specs[wid]["match"].items():
            column = "segment_any" if name == "segment" else name
            fits &= pl.col(column).str.to_lowercase().is_in([a.lower() for a in allowed])
        expr = pl.when(fits.fill_null(False)).then(pl.lit(wid)).otherwise(expr)
    return pl.coalesce(pl.col("workflow"), expr)


def with_missing(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    missing = [pl.lit(None, pl.String).alias(c) for c in columns if c not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def plan(folder: Path, day: date) -> pl.DataFrame:
    config = yaml.safe_load((folder / "arflow.yaml").read_text())
    specs = workflows(folder)
    customers = with_missing(
        pl.read_csv(folder / "customers.csv", infer_schema=False), ("workflow", "segment")
    )
    invoices = (
        pl.scan_csv(folder / "invoices.csv", infer_schema=False)
        .with_columns(
            pl.col("issue_date", "paid_date").str.to_date(strict=False),
            pl.col("amount").cast(pl.Float64).alias("open"),
            pl.col("terms").str.extract(r"(\d+)").cast(pl.Int32).fill_null(0).alias("days"),
            pl.col("terms").str.to_lowercase().str.contains("eom").alias("eom"),
        )
        .with_columns(  # terms as arflow reads them: Net N, Due on receipt, Net N EOM
            (
                pl.when(pl.col("eom"))
                .then(pl.col("issue_date").dt.month_end())
                .otherwise(pl.col("issue_date"))
                + pl.duration(days=pl.col("days"))
            ).alias("due_date")
        )
        .filter(
            (pl.col("issue_date") <= day)
            & (pl.col("paid_date").is_null() | (pl.col("paid_date") > day))
            & (pl.col("open") > 0)
        )
        .collect()
    )
    invoices = with_missing(invoices, ("segment", "currency", "product", "location"))
    invoices = invoices.join(
        customers.select("customer_id", "workflow", pl.col("segment").alias("c_segment")),
        on="customer_id",
        how="left",
    ).with_columns(pl.coalesce("segment", "c_segment").alias("segment_any"))
    invoices = invoices.with_columns(chosen(specs, config.get("default_workflow")).alias("wf"))
    due = []
    for wid, spec in specs.items():
        mine = invoices.filter(pl.col("wf") == wid)
        anchor = pl.col(spec.get("anchor", "due_date"))
        for step in spec["steps"]:
            if spec.get("business_days"):
                dated = anchor.dt.add_business_days(step["day"], roll="forward")
            else:
                dated = anchor + pl.duration(days=step["day"])
            today = mine.filter(dated == day)
            due.append(
                today.group_by("customer_id")
                .agg(pl.len().alias("invoices"))
                .with_columns(
                    pl.lit(wid).alias("workflow"),
                    pl.lit(step["id"]).alias("step"),
                    pl.lit(len(step["actions"])).alias("actions"),
                )
            )
    return pl.concat(due) if due else pl.DataFrame()


if __name__ == "__main__":
    messages = plan(Path(sys.argv[1]), date.fromisoformat(sys.argv[2]))
    actions = int(messages.get_column("actions").sum()) if len(messages) else 0
    print(f"{len(messages)} messages, {actions} actions")
