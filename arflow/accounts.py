"""Each customer's account as `arflow status` and `arflow customers` show it (SPEC 4.5, 8): its
open and overdue totals (`rules.account_totals`), its place in its workflows and campaigns, and
what the desk recorded of it (statuses, specialist, pauses, promises, bounced addresses).
Library functions over the ledger and the state database; the CLI only prints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from arflow.actions import CUSTOMER_FACING
from arflow.config import Config
from arflow.disputes import night as disputes
from arflow.disputes.listing import status_line as dispute_line
from arflow.errors import Refused
from arflow.holds.listing import status_hold
from arflow.ledger import Invoice, Ledger
from arflow.planner.past_state import read_past_state
from arflow.planner.plan_types import PastState
from arflow.planner.positions import Position, positions
from arflow.plans.listing import status_line
from arflow.plans.night import PlanNight, before_planning
from arflow.project import Project
from arflow.rules import (
    account_totals,
    customer_paused,
    in_totals,
    is_overdue,
    promise_holds,
    promised_part_paid,
)
from arflow.state import StateDB


# --- position (SPEC 4.5) -----------------------------------------------------------------------
@dataclass
class Balances:
    """A customer's open and overdue totals per currency (`rules.account_totals`) and how many
    open invoices, and overdue ones, it has."""

    open: dict[str, Decimal]
    overdue: dict[str, Decimal]
    open_invoices: int = 0
    overdue_invoices: int = 0

    def shown(self) -> dict[str, Any]:
        return {
            "open": {k: str(v) for k, v in self.open.items()},
            "overdue": {k: str(v) for k, v in self.overdue.items()},
            "open_invoices": self.open_invoices,
            "overdue_invoices": self.overdue_invoices,
        }


def balances(
    ledger: Ledger, as_of: date, min_balance: Decimal, customer: str | None = None
) -> dict[str, Balances]:
    """Customer id → Balances, for the customers with an open invoice on `as_of` (credit notes
    reduce the totals, as everywhere: one rule)."""
    owing: dict[str, list[Invoice]] = {}
    for inv in ledger.owing(as_of):
        if customer is None or inv.customer_id == customer:
            owing.setdefault(inv.customer_id, []).append(inv)
    found = {}
    for cid, invoices in owing.items():
        counted = [inv for inv in invoices if in_totals(inv, as_of, min_balance)]
        open_ = [inv for inv in counted if inv.owed(as_of) > 0]
        if not open_:
            continue
        totals = account_totals(counted, as_of, min_balance)
        late = {inv.currency for inv in counted if is_overdue(inv, as_of)}
        found[cid] = Balances(
            {cur: t.outstanding for cur, t in totals.items()},
            {cur: t.overdue for cur, t in totals.items() if cur in late},
            len(open_),
            sum(1 for inv in open_ if is_overdue(inv, as_of)),
        )
    return found


def status(
    project: Project, ledger: Ledger, db: StateDB | None, as_of: date, customer: str | None = None
) -> list[dict]:
    """Per customer: workflows, totals, status, specialist, pauses, promises, plans, hold."""
    cfg = project.config
    if customer is not None and customer not in ledger.customers:
        raise Refused(f"no customer {customer!r} in the sources")
    step_dates: dict = {}
    disputed = _disputes(db, ledger, as_of)  # issue 33, before the credits lower the ledger
    disputes.owed_after_credits(db, ledger, as_of)  # credits the ledger does not show yet
    past = read_past_state(db, project.models, as_of, step_dates) if db else PastState()
    # issue 32: a plan's invoices on hold, its instalments in plan_workflow:
    plans = before_planning(db, cfg, ledger, past, as_of) if db else PlanNight(ledger)
    planned = _disputed(db, cfg, plans.ledger, past, as_of)
    by_customer = _positions(project, planned, db, past, as_of, step_dates)
    records = _records(db, past, ledger, customer)
    owing = balances(ledger, as_of, cfg.min_balance, customer)
    held = db.holds_on(as_of) if db else {}  # issue 33: credit hold
    wanted = (
        {customer}
        if customer is not None
        else (
            set(owing)
            | set(past.assignments)
            | {p["target"] for p in records.pauses if p["kind"] == "customer"}
        )
    )
    promised = ledger.find({p["invoice"] for p in records.promises})
    rows = []
    for cid in sorted(c for c in wanted if c in ledger.customers):
        c = ledger.customers[cid]
        invoice_status = records.invoice_statuses(cid)
        rows.append(
            {
                "customer_id": cid,
                "name": c.display_name,
                "workflows": [_position_dict(p, project) for p in by_customer.get(cid, [])],
                "assigned": past.assignments[cid].workflow
                if cid in past.assignments
                else c.workflow,
                **owing.get(cid, Balances({}, {})).shown(),
                "status": records.statuses.get("customers", {}).get(cid) or _latest(invoice_status),
                "invoice_statuses": {n: v for n, (v, _) in sorted(invoice_status.items())},
                "specialist": records.specialists.get(cid, c.specialist),
                "paused": customer_paused(c, past.paused_customers),
                "pauses": records.pauses_of(cid),
                "promises": [
                    promise_state(p, promised.get(p["invoice"]), as_of, cfg.min_balance)
                    for p in records.promises
                    if records.invoice_customer.get(p["invoice"]) == cid
                ],
                "bounced": records.bounced.get(cid, []),  # SPEC 6.1: addresses no email goes to
                "plans": [
                    status_line(p) for p in plans.standings.values() if p.plan.customer_id == cid
                ],
                "hold": status_hold(held, cid),
                "disputes": disputed.get(cid, []),
            }
        )
    return rows


def _disputed(
    db: StateDB | None, cfg: Config, ledger: Ledger, past: PastState, as_of: date
) -> Ledger:
    """Issue 33: a disputed invoice on hold, a disputed part or a credit off its balance."""
    return disputes.before_planning(db, cfg, ledger, past, as_of).ledger if db else ledger


def _disputes(db: StateDB | None, ledger: Ledger, as_of: date) -> dict[str, list[str]]:
    """customer → its disputes in words (issue 33): those made by `as_of` on invoices the
    sources still show open, resolved ones too."""
    rows = [d for d in db.disputes() if d.since <= as_of] if db is not None else []
    still = ledger.find({d.invoice for d in rows})
    found: dict[str, list[str]] = {}
    for d in rows:
        inv = still.get(d.invoice)
        if inv is not None and inv.open_balance(as_of) > 0:
            found.setdefault(d.customer_id, []).append(dispute_line(d, ledger, as_of))
    return found


def _positions(
    project: Project,
    ledger: Ledger,
    db: StateDB | None,
    past: PastState,
    as_of: date,
    step_dates: dict,
) -> dict[str, list[Position]]:
    """Each customer's positions, the next step dated the day it really goes (the contact gap
    counted from its last contact)."""
    cfg = project.config
    by_customer: dict[str, list[Position]] = {}
    for pos in positions(
        ledger,
        project.models,
        past,
        as_of,
        step_dates,
        default_workflow=cfg.default_workflow,
        min_balance=cfg.min_balance,
        last_contacts=db.last_contacts(CUSTOMER_FACING) if db else None,
        contact_gap=cfg.contact_gap,
    ):
        by_customer.setdefault(pos.customer_id, []).append(pos)
    return by_customer


@dataclass
class _Records:
    """What the desk recorded, as `status` shows it: statuses, specialists, promises, pauses,
    bounced addresses, and the customer of each invoice they name."""

    statuses: dict[str, dict]
    specialists: dict[str, str]
    promises: list[dict]
    pauses: list[dict[str, Any]]
    bounced: dict[str, list[str]]
    invoice_customer: dict[str, str]

    def invoice_statuses(self, cid: str) -> dict:
        return {
            n: v
            for n, v in self.statuses.get("invoices", {}).items()
            if self.invoice_customer.get(n) == cid
        }

    def pauses_of(self, cid: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.pauses
            if (p["kind"] == "customer" and p["target"] == cid)
            or (p["kind"] == "invoice" and self.invoice_customer.get(p["target"]) == cid)
        ]


def _records(db: StateDB | None, past: PastState, ledger: Ledger, customer: str | None) -> _Records:
    statuses, specialists, promises = _desk_records(db)
    bounced: dict[str, list[str]] = {}
    for _, cid, address, _ in db.bounced() if db is not None else ():
        bounced.setdefault(cid, []).append(address)
    pauses: list[dict[str, Any]] = [
        {
            "id": h.id,
            "kind": h.kind,
            "target": h.target_id,
            "since": _iso(h.since),
            "until": _iso(h.until),
            "reason": h.reason,
        }
        for h in past.holds
        if h.kind != "promise"
    ]
    # the customer of each invoice a status, pause or promise names
    named = (
        set(statuses.get("invoices", {}))
        | {p["invoice"] for p in promises}
        | {p["target"] for p in pauses if p["kind"] == "invoice"}
    )
    invoice_customer = {
        number: inv.customer_id
        for number, inv in ledger.find(named).items()
        if customer is None or inv.customer_id == customer
    }
    return _Records(statuses, specialists, promises, pauses, bounced, invoice_customer)


def _latest(invoice_status: dict) -> str | None:
    if not invoice_status:
        return None
    return max(invoice_status.values(), key=lambda v: v[1])[0]


def _position_dict(p: Position, project: Project) -> dict:
    wf = project.workflows[p.workflow].model
    return {
        "workflow": p.workflow,
        "name": wf.name or p.workflow,
        "source": p.source,
        "since": p.since.isoformat() if p.since else None,
        "last_step": p.last_step,
        "last_date": _iso(p.last_date),
        "next_step": p.next_step,
        "next_date": _iso(p.next_date),
        "finished": p.finished,
        "invoices": p.invoices,
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _desk_records(db: StateDB | None) -> tuple[dict[str, dict], dict[str, str], list[dict]]:
    if db is None:
        return {}, {}, []
    statuses: dict[str, dict] = {"customers": {}, "invoices": {}}
    for target, value, day in db.statuses():
        kind, _, ident = target.partition(":")
        if kind == "customer":
            statuses["customers"][ident] = value
        else:
            statuses["invoices"][ident] = (value, day)
    return statuses, db.specialists(), db.promises()


def promise_state(p: dict, inv: Invoice | None, as_of: date, min_balance: Decimal) -> dict:
    """pending until the promised day; then kept (paid, or the promised amount paid) or
    broken (the same rule as the planner's)."""
    paid_part = (
        inv is not None
        and p["amount"] is not None
        and p["balance"] is not None
        and promised_part_paid(inv.open_balance(as_of), Decimal(p["amount"]), Decimal(p["balance"]))
    )
    if inv is not None and (not inv.is_open(as_of, min_balance) or paid_part):
        state = "kept"
    elif promise_holds(date.fromisoformat(p["date"]), as_of):
        state = "pending"
    else:
        state = "broken"
    shown = {k: v for k, v in p.items() if k != "balance"}
    return {**shown, "state": state}


def customer_rows(project: Project, ledger: Ledger, db: StateDB | None, as_of: date) -> list[dict]:
    """Every customer with its contacts, its open invoices, and what is missing to chase it
    (no email, no phone) or holds it (paused): what a bookkeeper fixes first."""
    cfg = project.config
    paused = read_past_state(db, {}, as_of).paused_customers if db is not None else set()
    owing = balances(ledger, as_of, cfg.min_balance)
    rows = []
    for cid in sorted(ledger.customers):
        c = ledger.customers[cid]
        missing = [
            *([] if c.email else ["no email"]),
            *([] if c.phone else ["no phone"]),
            *(["paused"] if customer_paused(c, paused) else []),
        ]
        rows.append(
            {
                "customer_id": cid,
                "name": c.display_name,
                "email": list(c.email),
                "phone": c.phone,
                "specialist": c.specialist,
                "segment": c.segment,
                "parent_id": c.parent_id,
                "workflow": c.workflow,
                "open_invoices": owing[cid].open_invoices if cid in owing else 0,
                "open": owing[cid].shown()["open"] if cid in owing else {},
                "missing": missing,
            }
        )
    return rows
