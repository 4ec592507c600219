"""The planner (SPEC 4): a pure function from ledger, workflows, past state and a date to a Plan.

No clock, no files, no network: every schedule rule is decided in the planner and tested with
plain values. `plan` is the entry point; beside it here live grouping per customer (SPEC 4.4),
`on_paid` (4.7), the owners' notices, and the campaigns' actions (4.10). The rest of the
planner is in the package `arflow.planner`: `matching` (which workflow each open invoice
follows today, and as which target), `match` (a workflow's `match:`), `schedule` (step dates,
due, catch-up and expiry), `campaigns`, `campaign_metrics` and `occurrences` (who gets a
campaign's statement, and when), `past_state` (what the state database says happened, in the
planner's words), `when` (what holds a step back on a day, and the day it really goes, which
`positions` gives `arflow status`) and `plan_types` (its data). The rules it shares with the
rest of arflow are in `arflow.rules` (totals, holds) and `arflow.actions` (what each kind of
action means: its recipients, its skip reason).

Words used in the planner, each with one meaning:

- target: what a workflow's steps run for, and the first part of an action key: an invoice
  (`invoice:NUMBER`, for `due_date`/`issue_date` workflows), or one `assigned` sequence of a
  customer (`customer:ID@SINCE`); a customer's pause notice goes to `customer:ID`.
- sequence: a workflow's steps as they run for one target. An `assigned` sequence belongs to
  the customer: it counts from the day the workflow was assigned (or a chain or broken promise
  brought the customer there) and ends when none of the customer's invoices is open (SPEC 4.1,
  4.7); `PastState.sequences` holds the active ones.
- settled: an action key never to be attempted again: sending, sent, unknown, done, skipped
  (except for the reasons tried again, `state.RETRIED_SKIPS`: a missing address or phone or
  recipient, a bounced address, the contact gap) or failed for good (SPEC 6).
- ran: a step has run for a target once every one of its action keys is settled, whatever the
  outcome; it is never due again for that target (SPEC 4.2, 4.3).
- chased: a target has been chased in a workflow when an action of one of its steps really
  happened (sending, sent, unknown or done); only a chased target gets `on_paid` once it is
  paid (SPEC 4.7).
- finished: a workflow is finished for a target once its last step has run; a still open
  target then moves to the `then:` workflow the next day (SPEC 4.8).
- on hold: an invoice that is paused, or under a promise-to-pay whose date has not passed; it
  still follows its workflow but is left out of messages (SPEC 4.6).
- open, owed, outstanding, overdue: an invoice is open under SPEC 2.1 (`Invoice.is_open`); a
  document is owed what it adds to its customer's balance (`Invoice.owed`, negative for a
  credit note); an account's outstanding and overdue are its totals (`rules.account_totals`:
  open invoices and credit notes, overdue the part due before the day).
- paused: a customer paused in the source or by `arflow pause` (`rules.customer_paused`) gets
  no messages; a paused invoice is on hold.
- outcome: what a channel answered for one message (`channels.Outcome`: sent, failed,
  unknown); what a whole run did is its `deliver.RunResult`.
- occurrence: a day of a campaign's calendar; for a campaign it takes the place of a step (the
  key of a statement is `customer:ID`, the campaign, the occurrence date and the action).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arflow.actions import CUSTOMER_FACING
from arflow.config import Person
from arflow.ledger import NOT_OWED, Invoice, Ledger
from arflow.planner.campaigns import campaigns_due, notices_wait, statements
from arflow.planner.columnar import quiet_invoices
from arflow.planner.matching import (
    FollowedInvoices,
    OpenInvoicesByWorkflow,
    sequence_since,
    sort_into_workflows,
    targets_of,
)
from arflow.planner.plan_types import (
    NOTHING_RAN,
    ActionKey,
    Hold,
    PastState,
    Plan,
    Skip,
    customer_of,
    customer_target,
    invoice_numbers,
    invoice_target,
)
from arflow.planner.schedule import ON_PAID, decide_steps
from arflow.planner.step_actions import SlotInvoice, add_actions, latest_ran, speaks_several
from arflow.planner.when import Holds, free_items
from arflow.rules import DEFAULT_MIN_BALANCE, customer_paused, invoices_on_hold
from arflow.workflow import Workflow

# (customer, workflow, slot) → its invoices; a slot is a step index, or one past the steps for
# on_paid, finish and pause notices (see StepSchedule.slot)
Groups = dict[tuple[str, str, int | str], list[SlotInvoice]]


Skips = dict[tuple[str, str, int, str], list[tuple[Invoice, str]]]


@dataclass
class _Night:
    """What one plan works on: the invoices sorted into workflows, the past, the day, and the
    slots and skips it collects."""

    by_workflow: OpenInvoicesByWorkflow
    state: PastState
    as_of: date
    baseline: bool
    result: Plan
    holds: Holds  # what holds customers and invoices back (a baseline asks none)
    groups: Groups = field(default_factory=lambda: defaultdict(list))
    skips: Skips = field(default_factory=lambda: defaultdict(list))


def plan(
    ledger: Ledger,
    workflows: dict[str, Workflow],
    state: PastState,
    as_of: date,
    *,
    default_workflow: str | None = None,
    min_balance: Decimal = DEFAULT_MIN_BALANCE,
    people: dict[str, Person] | None = None,
    baseline: bool = False,
    columnar: bool = True,
) -> Plan:
    """Everything that is due on `as_of`, grouped per customer, workflow and step (SPEC 4).

    `baseline` (adopting arflow on a ledger chased before): every step already due counts,
    whatever holds it today: a non-business day, a pause or a promise. `columnar`: the open
    invoices nothing can happen to are found in columns first (`planner.columnar`) and no
    object is made for them; False plans every open invoice as objects (the reference)."""
    people = people or {}
    result = Plan(as_of=as_of, invoices=len(ledger))
    campaigns = campaigns_due(workflows, as_of)
    quiet = (
        quiet_invoices(ledger, workflows, state, as_of, default_workflow, min_balance)
        if columnar and not campaigns  # a campaign's statements list every open invoice
        else None
    )
    by_workflow = sort_into_workflows(
        ledger if quiet is None else quiet.rest,
        workflows,
        state,
        as_of,
        default_workflow,
        min_balance,
        keep_open=bool(campaigns),
    )
    if quiet is not None:
        by_workflow.open_count += quiet.left_out
        by_workflow.open_customers |= quiet.customers
    result.open = by_workflow.open_count
    night = _Night(by_workflow, state, as_of, baseline, result, Holds(state))
    if not baseline:
        _pause_notices(by_workflow, state, night.groups)
    for (cid, wid), entry in by_workflow.following.items():
        _follow(night, cid, wid, entry)
    if (state.chased or state.sequences) and not baseline:
        _paid(ledger, by_workflow, state, as_of, result, night.groups)
    _add_slots(night, people)
    _add_skips(night)
    if campaigns:
        credits: dict[str, list[Invoice]] = {}
        for note in ledger.credit_notes(as_of):
            credits.setdefault(note.customer_id, []).append(note)
        for wid, occurrence in campaigns.items():
            _campaign(night, wid, workflows[wid], occurrence.isoformat(), people, credits)
        # SPEC 4.10: campaigns run beside the invoice workflows; a customer's actions together
        result.actions.sort(key=lambda a: a.customer_id)
        result.skipped.sort(key=lambda s: s.customer_id)
    return result


def _follow(night: _Night, cid: str, wid: str, entry: FollowedInvoices) -> None:
    """The steps due today for one customer in one workflow, into the night's slots and skips."""
    state, as_of, baseline = night.state, night.as_of, night.baseline
    schedule = night.by_workflow.schedules[wid]
    customer = night.by_workflow.customers[cid]
    # SPEC 4.1, 4.6: nothing on a day the workflow does not send on, nothing to a paused
    # customer, nothing about an invoice on hold (`arflow status` asks the same of later days)
    items = (
        entry.items if baseline else free_items(schedule, night.holds, customer, entry.items, as_of)
    )
    if not items:
        return
    last = len(schedule.steps) - 1
    if schedule.wf.anchor == "assigned" and (cid, wid) not in state.sequences:
        night.result.started[(cid, wid)] = sequence_since(cid, wid, entry, state, as_of)
    for target, anchor, earliest, members in targets_of(
        schedule, cid, wid, entry, items, state, as_of
    ):
        ran = state.ran.get((target, wid), NOTHING_RAN)
        decision = decide_steps(schedule, schedule.dates(anchor), earliest, as_of, ran)
        slots: list[int | str] = list(decision.run)
        if last in decision.run and "finish" in schedule.wf.notify_on:
            slots.append("finish")
        again = latest_ran(schedule.ids, ran) if ran and not decision.run else None
        if again is not None and speaks_several(customer):
            slots.append(again)  # issue 33: a language's message that did not go, again
        for slot in slots:
            night.groups[(cid, wid, slot)].extend(
                SlotInvoice(inv, bal, target) for inv, bal in members
            )
        for i, reason in decision.skipped:
            night.skips[(cid, wid, i, reason)].extend((inv, target) for inv, _ in members)


def _add_slots(night: _Night, people: dict[str, Person]) -> None:
    """Each slot's actions, a customer's together, its workflows and steps in order."""
    schedules, customers = night.by_workflow.schedules, night.by_workflow.customers
    groups = night.groups
    for cid, wid, slot in sorted(groups, key=lambda g: (g[0], g[1], schedules[g[1]].order(g[2]))):
        step_id, actions = schedules[wid].slot(slot)
        customers[cid] = add_actions(
            night.result,
            customers[cid],
            wid,
            schedules[wid].wf,
            step_id,
            actions,
            groups[(cid, wid, slot)],
            people,
            night.as_of,
            night.state.settled,
        )


def _add_skips(night: _Night) -> None:
    """The steps skipped today (expired, superseded …), with the keys they settle."""
    schedules, result = night.by_workflow.schedules, night.result
    for cid, wid, i, reason in sorted(night.skips):
        entries = night.skips[(cid, wid, i, reason)]
        sid = schedules[wid].ids[i]
        keys = [
            ActionKey(t, wid, sid, n)
            for _, t in entries
            for n in range(len(schedules[wid].steps[i].actions))
        ]
        result.skipped.append(
            Skip(wid, sid, cid, invoice_numbers(inv for inv, _ in entries), reason, keys)
        )
    result.skipped.sort(
        key=lambda s: (s.customer_id, s.workflow, schedules[s.workflow].order(s.step), s.reason)
    )


def _campaign(
    night: _Night,
    wid: str,
    wf: Workflow,
    occurrence: str,
    people: dict[str, Person],
    credits: dict[str, list[Invoice]],
) -> None:
    """A campaign's statements of the day, as actions of the occurrence (SPEC 4.10)."""
    state, as_of, by_workflow, result = night.state, night.as_of, night.by_workflow, night.result
    sent_before, reached_before = _campaign_history(state, wid, wf, occurrence)
    found, skipped = statements(
        wid,
        wf,
        by_workflow.open_invoices,
        by_workflow.customers,
        as_of,
        by_workflow.min_balance,
        paused_customers=state.paused_customers,
        # on hold: counted, not listed (SPEC 4.6)
        paused_invoices=invoices_on_hold(state.paused_invoices, state.promises, as_of),
        sent_before=sent_before,
        reached_before=reached_before,
        credits=credits,
    )
    for statement in found:
        target = customer_target(statement.customer_id)
        before = len(result.actions)
        add_actions(
            result,
            by_workflow.customers[statement.customer_id],
            wid,
            wf,
            occurrence,
            wf.actions,
            [SlotInvoice(inv, inv.open_balance(as_of), target) for inv in statement.listed],
            people,
            as_of,
            state.settled,
        )
        for action in result.actions[before:]:
            action.statement = statement
        result.actions[before:] = notices_wait(
            result.actions[before:], wid, wf, target, occurrence, state.settled
        )
    # not recorded: a customer skipped today is looked at again while the occurrence is due
    result.skipped += [Skip(wid, occurrence, skip.customer_id, [], skip.reason) for skip in skipped]


def _campaign_history(
    state: PastState, wid: str, wf: Workflow, occurrence: str
) -> tuple[Callable[[str], bool], Callable[[str], bool]]:
    """(sent before, reached before) for a customer and a campaign's occurrence: its statement
    counts as sent once every action of it is settled (or a later occurrence went out), and
    the customer as reached once one of its customer-facing actions is."""
    facing = [n for n, action in enumerate(wf.actions) if action.kind in CUSTOMER_FACING]

    def sent_before(cid: str) -> bool:
        target = customer_target(cid)
        # a later occurrence went out (a run dated back): only the latest counts
        if any(step > occurrence for step in state.ran.get((target, wid), ())):
            return True
        return bool(state.settled) and all(
            ActionKey(target, wid, occurrence, n) in state.settled for n in range(len(wf.actions))
        )

    def reached_before(cid: str) -> bool:
        target = customer_target(cid)
        return bool(state.settled) and any(
            ActionKey(target, wid, occurrence, n) in state.settled
            for n in (facing or range(len(wf.actions)))
        )

    return sent_before, reached_before


def _pause_notices(by_workflow: OpenInvoicesByWorkflow, state: PastState, groups: Groups) -> None:
    """`notify_on: [pause]`: the owner hears once of each pause or promise that holds one of
    the workflow's customers or invoices (SPEC 3; seeds' "alerts once paused")."""
    if not state.holds:
        return
    by_customer: dict[str, list[Hold]] = defaultdict(list)
    by_invoice: dict[str, list[Hold]] = defaultdict(list)
    for hold in state.holds:
        (by_customer if hold.kind == "customer" else by_invoice)[hold.target_id].append(hold)
    for (cid, wid), entry in by_workflow.following.items():
        if "pause" not in by_workflow.active[wid].notify_on:
            continue
        for hold in by_customer.get(cid, ()):
            groups[(cid, wid, hold.step)].extend(
                SlotInvoice(inv, bal, customer_target(cid)) for inv, bal in entry.items
            )
        for inv, bal in entry.items:
            for hold in by_invoice.get(inv.number, ()):
                groups[(cid, wid, hold.step)].append(
                    SlotInvoice(inv, bal, invoice_target(inv.number))
                )


def _paid(
    ledger: Ledger,
    by_workflow: OpenInvoicesByWorkflow,
    state: PastState,
    as_of: date,
    result: Plan,
    groups: Groups,
) -> None:
    """SPEC 4.7: a target that had a step run and is now fully paid gets its workflow's
    `on_paid` actions once, and its sequence ends."""
    latest = _last_chased(state, by_workflow)
    # issue 32: covered by a payment the sources do not show yet: no `on_paid` before they do
    waiting = {inv.customer_id for inv in ledger.find(ledger.received).values()}
    with_invoices = (
        ledger.customer_ids()
        if state.sequences or any(t.startswith("customer:") for t in latest)
        else set()
    )
    paid_targets: dict[str, tuple[str, str, frozenset[str]]] = {}  # target → (cid, wid, numbers)
    for target, (wid, numbers) in latest.items():
        cid = customer_of(target)
        if cid is not None:  # an `assigned` sequence: paid when none of the invoices is open
            if (
                cid in with_invoices
                and cid not in by_workflow.open_customers
                and cid not in waiting
            ):
                paid_targets[target] = (cid, wid, numbers)
        else:
            paid_targets[target] = ("", wid, numbers)
    for cid, wid in state.sequences:
        customer = by_workflow.customers.get(cid)
        if (
            cid in with_invoices
            and cid not in waiting
            and cid not in by_workflow.open_customers
            and customer is not None
            and not customer_paused(customer, state.paused_customers)
        ):
            result.ended[(cid, wid)] = "paid"
    wanted = {target[len("invoice:") :] for target, (cid, _, _) in paid_targets.items() if not cid}
    wanted.update(n for cid, _, numbers in paid_targets.values() if cid for n in numbers)
    found = ledger.find(wanted)
    for target, (cid, wid, numbers) in sorted(paid_targets.items()):
        if cid:
            invoices = [found[n] for n in sorted(numbers) if n in found]
        else:
            inv = found.get(target[len("invoice:") :])
            if (
                inv is None
                or not _settled_by_payment(inv, as_of, by_workflow.min_balance)
                or inv.number in ledger.received
            ):
                continue  # gone from the source, voided, still open or not confirmed yet
            invoices, cid = [inv], inv.customer_id
        customer = by_workflow.customers.get(cid)
        if customer is None or customer_paused(customer, state.paused_customers):
            continue
        groups[(cid, wid, ON_PAID)].extend(SlotInvoice(inv, inv.amount, target) for inv in invoices)


def _last_chased(
    state: PastState, by_workflow: OpenInvoicesByWorkflow
) -> dict[str, tuple[str, frozenset[str]]]:
    """Target → (workflow, invoices) of the workflow that chased it last, per invoice and per
    customer for `assigned` sequences (a chain's earlier workflows stay quiet: one thank-you,
    not one per workflow; on the same day the larger workflow id), for the targets whose
    workflow still has an `on_paid` to do (most were thanked long ago)."""
    last_of: dict[str, tuple[date, str, str, frozenset[str]]] = {}
    for (target, wid), (day, numbers) in state.chased.items():
        cid = customer_of(target)
        who = target if cid is None else "customer:" + cid
        if who not in last_of or (day, wid) > last_of[who][:2]:
            last_of[who] = (day, wid, target, numbers)
    return {
        target: (wid, numbers)
        for _, wid, target, numbers in last_of.values()
        if wid in by_workflow.active
        and not all(
            ActionKey(target, wid, ON_PAID, n) in state.settled
            for n in range(len(by_workflow.active[wid].on_paid))
        )
    }


def _settled_by_payment(inv: Invoice, as_of: date, min_balance: Decimal) -> bool:
    """Closed by payment: not open any more, and not voided or turned back into a draft."""
    return inv.status not in NOT_OWED and not inv.is_open(as_of, min_balance)
