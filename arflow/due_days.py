"""What each day of a forecast or a simulation plans (issue 30, forecast option (b)): its first
day and a campaign's days plan every customer, as a run does (over the sources' ledger, so the
columnar planner leaves the quiet invoices in columns); every other day plans only the
customers the planner may act for that day (`planner.next_due`), each with all its invoices
(actions are grouped per customer) and the action ledger's rows of its targets, which are kept
here between days rather than read again from the state each day. Each day's answer is the one
planning everyone would give: a customer left out is one the planner would do nothing for."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from arflow.deliver import RunResult, replay_day
from arflow.digest_night import digest_due
from arflow.disputes.night import before_planning as disputes_night
from arflow.disputes.night import item_owners
from arflow.holds.night import hold_changes, hold_owner
from arflow.ledger import Invoice, Ledger
from arflow.planner.campaigns import occurrence_due
from arflow.planner.next_due import next_due
from arflow.planner.past_state import read_past_state
from arflow.planner.plan_types import customer_of, notice_key
from arflow.plans.night import before_planning, instalment_owners
from arflow.project import Project
from arflow.state import ActionRow, StateDB

RowKey = tuple[str, str, str, int]  # (target, workflow, step, action): one row per action key


class DueDays:
    """Plans one day after the other of `window` against `db`, up to `last`."""

    def __init__(
        self, project: Project, window: Ledger, db: StateDB, last: date, whole: Ledger, jobs: int
    ):
        self.project, self.window, self.db, self.last = project, window, db, last
        self.jobs = jobs  # the processes that compose each day's messages (`compose_pool`)
        self.whole = whole  # the sources' ledger: a day that plans everyone plans it
        self._invoices: dict[str, list[tuple[int, Invoice]]] = defaultdict(list)
        self._owner: dict[str, str] = {}  # invoice number → its customer
        for n, inv in enumerate(window.invoices):
            self._invoices[inv.customer_id].append((n, inv))
            self._owner[inv.number] = inv.customer_id
        self._owner.update(instalment_owners(db))  # issue 32: a payment plan's instalments
        self._owner.update(item_owners(db))  # issue 33: disputes as items of their workflow
        self._rows: dict[str | None, dict[RowKey, ActionRow]] = defaultdict(dict)
        self._due: dict[date, set[str]] = defaultdict(set)  # day → the customers due then
        self._planned_all = False

    def run(self, day: date) -> RunResult:
        """The day's run: everyone's on the first day and a campaign's, else only the
        customers due (and those an inbox notice is owed for)."""
        if not self._planned_all or self._campaign_day(day):
            result = replay_day(self.project, self.whole, day, self.db, jobs=self.jobs)
            self._rows.clear()
            self._keep(self.db.action_rows())
            self._planned_all = True
            self._schedule(self.window, None, day)
            return result
        due = self._due.pop(day, set())
        due |= {row["customer_id"] for row in self.db.notices_due(notice_key)}
        due |= hold_changes(self.project.config, self.db, self.window, day)  # issue 33
        ledger = self._ledger_of(due)
        result = replay_day(self.project, ledger, day, self.db, self._rows_of(due), self.jobs)
        self._keep(self.db.action_rows(day))
        self._schedule(ledger, due, day)
        return result

    def _campaign_day(self, day: date) -> bool:
        """A campaign's occurrence may be due: its statements look at every customer (and
        the weekly digest's, issue 34: the whole book)."""
        digest = self.project.config.digest
        return any(
            wf.enabled and wf.is_campaign and occurrence_due(wf, day) is not None
            for wf in self.project.models.values()
        ) or (digest is not None and digest_due(digest, day) is not None)

    def _ledger_of(self, customers: set[str]) -> Ledger:
        """The window cut down to these customers' invoices, in the window's order."""
        found = sorted(
            (entry for cid in customers for entry in self._invoices.get(cid, ())),
            key=lambda entry: entry[0],
        )
        return self.window.cut_to_customers((inv for _, inv in found), customers)

    def _keep(self, rows: Iterable[ActionRow]) -> None:
        """Keep these action rows (a later row of a key replaces the earlier one), by the
        customer their target belongs to."""
        for row in rows:
            target = row[0]
            owner = customer_of(target) or hold_owner(target)  # issue 33: a hold's notices
            if owner is None:
                owner = self._owner.get(target.removeprefix("invoice:"))
            self._rows[owner][(target, row[1], row[2], row[3])] = row

    def _rows_of(self, customers: set[str]) -> list[ActionRow]:
        return [row for cid in customers for row in self._rows.get(cid, {}).values()]

    def _schedule(self, ledger: Ledger, customers: set[str] | None, day: date) -> None:
        """When each of these customers (None: all) is next due, from the day after `day`."""
        since = day + timedelta(days=1)
        if since > self.last:
            return
        cfg = self.project.config
        rows = None if customers is None else self._rows_of(customers)
        past = read_past_state(self.db, self.project.models, since, actions=rows)
        if customers is None:
            self._due.clear()
        # issue 32: the plans' instalments and routes, as the day's run will see them; their
        # invoices' steps are not held here: the day they fall due, the run says skipped `plan`
        ledger = before_planning(self.db, cfg, ledger, past, since).ledger
        past.on_plan.clear()
        # issue 33: the disputes' items and balances, their holds left to the day's run
        ledger = disputes_night(self.db, cfg, ledger, past, since).ledger
        past.disputed.clear()
        found = next_due(
            ledger,
            self.project.models,
            past,
            since,
            self.last,
            default_workflow=cfg.default_workflow,
            min_balance=cfg.min_balance,
        )
        for cid, when in found.items():
            self._due[when].add(cid)
