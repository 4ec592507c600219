"""The dry run's render floor (issue 30): what rendering a dry run's messages costs at the least.

Run as a fresh process by `bench_dry_run.py --render-floor`, on the folder and the plan that
`arflow run --dry-run --format json` printed for it (which messages: template, customer,
invoices). It does, with plain tools and nothing of arflow's:

1. a csv.reader pass over invoices.csv (and customers.csv), keeping plain dicts of the rows
   the plan's messages list and each such customer's open and overdue totals;
2. a plain, unsandboxed `jinja2.Environment(loader=FileSystemLoader(templates))` (HTML
   autoescaped) rendering every part arflow renders for each message (subject, text, html;
   the SMS text; a status's or task's text; the `payment_url:` link of the message and of each
   invoice) from prebuilt dict contexts, with plain stand-ins for arflow's filters
   (`money`, `date`, `days`, `phone`);
3. each email built with the standard library's `email` package: an `EmailMessage` with the
   same headers, the text part and the html alternative, as bytes (`as_bytes`).

It prints one JSON line: how many renders and emails it made (so the caller can check they are
the dry run's) and the seconds each of the three parts took inside the process (`seconds`:
`csv`, `render`, `email`); the process's wall time, start-up included, is the floor.

Usage: python benchmarks/render_floor.py FOLDER PLAN.json
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

import jinja2

CURRENCY = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$"}


def due_date(issue: date, terms: str) -> date:
    """`Net N`, `Net N EOM` (from the end of the issue's month), `Due on receipt`."""
    days = int(m.group()) if (m := re.search(r"\d+", terms)) else 0
    if "EOM" in terms:
        issue = (issue.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return issue + timedelta(days=days)


def read_rows(folder: Path, numbers: set[str], customers: set[str], as_of: date) -> tuple:
    """(invoice dicts by number, customer dicts by id, (outstanding, overdue) by customer)."""
    invoices: dict[str, dict] = {}
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    with open(folder / "invoices.csv", newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        col = {name: n for n, name in enumerate(next(rows))}
        number, cid, paid = col["number"], col["customer_id"], col["paid_date"]
        for row in rows:
            wanted = row[number] in numbers
            if not wanted and row[cid] not in customers:
                continue
            issue = date.fromisoformat(row[col["issue_date"]])
            due = due_date(issue, row[col["terms"]])
            amount = Decimal(row[col["amount"]])
            late = (as_of - due).days
            is_open = not row[paid] or row[paid] > as_of.isoformat()
            if is_open:
                totals[row[cid]][0] += amount
                if late > 0:
                    totals[row[cid]][1] += amount
            if wanted:  # an on_paid notice lists paid invoices too
                invoices[row[number]] = {
                    "number": row[number],
                    "customer_id": row[cid],
                    "issue_date": issue,
                    "due_date": due,
                    "amount": amount,
                    "balance": amount if is_open else Decimal(0),
                    "currency": row[col["currency"]],
                    "days_past_due": late,
                    "product": row[col["product"]],
                    "location": row[col["location"]],
                    "extra": {"po_number": row[col["po_number"]]},
                    "payment_url": None,
                }
    people: dict[str, dict] = {}
    with open(folder / "customers.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["customer_id"] in customers:
                people[row["customer_id"]] = {
                    **row,
                    "id": row["customer_id"],
                    "email": [e for e in row["email"].split(";") if e],
                }
    return invoices, people, totals


def environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=lambda v, cur="USD": f"{CURRENCY.get(cur, cur + ' ')}{v:,.2f}",
        date=lambda d: d.strftime("%b %-d, %Y"),
        days=lambda n: f"{n} day" if n == 1 else f"{n} days",
        phone=lambda p: p,
    )
    return env


COMPANY = {
    "name": "Acme Supplies Ltd",
    "email": "ar@acme.example",
    "phone": "+1 202 555 0100",
    "currency": "USD",
}


def context_of(action: dict, rows: tuple, as_of: date) -> dict:
    invoices, customers, totals = rows
    items = [dict(invoices[n]) for n in action["invoices"]]
    outstanding, overdue = totals[action["customer_id"]]
    return {
        "company": COMPANY,
        "customer": customers[action["customer_id"]],
        "invoices": items,
        "invoice": items[0] if items else None,
        "totals": {
            "outstanding": outstanding,
            "overdue": overdue,
            "listed": sum((i["balance"] for i in items), Decimal(0)),
            "currency": "USD",
        },
        "workflow": {"id": action["workflow"], "name": action["workflow"]},
        "step": {"id": action["step"], "day": None},
        "today": as_of,
        "person": {"name": "Chris Doe", "email": action["to"][0] if action["to"] else None},
    }


def email_message(action: dict, customer: dict, parts: list[str]) -> bytes:
    """The email as the `email` package builds it: text, and the html as its alternative."""
    message = EmailMessage(policy=SMTP)
    message["From"] = f"{COMPANY['name']} <{COMPANY['email']}>"
    message["To"] = ", ".join(f"{customer['name']} <{to}>" for to in action["to"])
    message["Subject"] = parts[0].strip()
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="acme.example")
    message["Auto-Submitted"] = "auto-generated"
    message["List-Id"] = "<arflow.acme.example>"
    message.set_content(parts[1], cte="quoted-printable")
    if len(parts) > 2:
        message.add_alternative(parts[2], subtype="html", cte="quoted-printable")
    return message.as_bytes()


def main() -> None:
    folder, plan_path = Path(sys.argv[1]), Path(sys.argv[2])
    clock = {"csv": time.perf_counter(), "render": 0.0, "email": 0.0}
    plan = json.loads(plan_path.read_text())
    as_of = date.fromisoformat(plan["as_of"])
    actions = plan["actions"]
    numbers = {n for a in actions for n in a["invoices"]}
    rows = read_rows(folder, numbers, {a["customer_id"] for a in actions}, as_of)
    clock["csv"] = time.perf_counter() - clock["csv"]
    env = environment(folder / "templates")
    link = re.search(r'^payment_url: "(.*)"', (folder / "arflow.yaml").read_text(), re.M)
    pay = env.from_string(link.group(1)) if link else None
    html = {p.name.split(".")[0] for p in (folder / "templates").glob("*.html.j2")}
    inline: dict[str, jinja2.Template] = {}
    made = {"renders": 0, "emails": 0, "bytes": 0}
    for action in actions:
        started = time.perf_counter()
        context = context_of(action, rows, as_of)
        if pay is not None:
            for item in context["invoices"]:
                item["payment_url"] = pay.render({**context, "invoice": item})
            context["payment_url"] = pay.render(context)
            made["renders"] += len(context["invoices"]) + 1
        kind, template = action["action"], action.get("template")
        if kind in ("status", "task", "assign", "note"):
            text = action.get("text") or ""
            names = []
            if text not in inline:
                inline[text] = env.from_string(text)
            parts = [inline[text].render(context)]
        else:
            names = ["sms"] if kind == "sms" else ["subject", "txt"] + ["html"] * (template in html)
            parts = [env.get_template(f"{template}.{n}.j2").render(context) for n in names]
        made["renders"] += len(parts)
        made["bytes"] += sum(map(len, parts))
        clock["render"] += time.perf_counter() - started
        if "subject" in names:
            started = time.perf_counter()
            made["bytes"] += len(email_message(action, context["customer"], parts))
            made["emails"] += 1
            clock["email"] += time.perf_counter() - started
    print(json.dumps({**made, "seconds": clock}))


if __name__ == "__main__":
    main()
