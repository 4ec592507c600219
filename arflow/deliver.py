"""Delivery (SPEC 6): the only code that calls channels and writes the action ledger.

For each planned action, in this order: its keys are committed as `sending`, the channel is
called, the outcome is committed. To keep one fsync per message, the outcome of a message is
committed in the same transaction as the `sending` row of the next one; a crash between the
two leaves exactly the message in flight as `sending`, which the next run turns into `unknown`
and never resends by itself.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from arflow.actions import KINDS, channel_kind
from arflow.channels import Channel, Outcome, RunChannels
from arflow.compose import Composed
from arflow.compose_pool import composed as composing
from arflow.contacts import unreached
from arflow.delivery_writes import Batch, Commits
from arflow.errors import ArflowError, Refused, RowError, StoppedMidRun
from arflow.fees.charging import plan_charges, rows_to_record
from arflow.holds import DROPPED
from arflow.inbox import inbox_error, read_inbox
from arflow.ledger import Ledger
from arflow.ledger_rows import key_rows, skip_rows
from arflow.payments.apply import Heard, hear_payments
from arflow.planner.plan_types import (
    Plan,
    PlannedAction,
    Skip,
    customer_target,
    invoice_target,
)
from arflow.project import Project, assignment_errors
from arflow.secrets import redact
from arflow.state import BASELINE, RETRIED_SKIPS, StateDB, StateError, marks, open_state
from arflow.state.ledger import ActionRow
from arflow.statement_notices import NOT_SENT, StatementNotices
from arflow.tonight import plan_tonight


@dataclass
class RunResult:
    plan: Plan
    errors: list[RowError]
    recovered: int = 0  # `sending` rows of an interrupted run, now `unknown`
    details: dict[int, str] = field(default_factory=dict)  # id(action) → failure detail
    sent: int = 0  # messages handed over (sent, or unknown) so far
    unrecorded: bool = False  # the last one's outcome never reached the state database
    inbox: list[dict] = field(default_factory=list)  # the replies and bounces read first
    payments: Heard | None = None  # the payments from the bank read next (issue 32)

    @property
    def problems(self) -> bool:
        """Whether the run completed with problems (SPEC 8: exit 3): rejected rows, failed or
        unknown sends, or messages of an interrupted run now unknown."""
        return bool(
            self.errors
            or self.recovered
            or any(a.status in ("failed", "unknown") for a in self.plan.actions)
            or any(s.reason == DROPPED for s in self.plan.skipped)  # issue 33: a hold's notice
        )


def refuse_future(as_of: date, today: date, zone: str) -> None:
    """No real run in the future: tomorrow's reminders cannot go out today (a dry run may
    look ahead). A past date catches up a missed night."""
    if as_of > today:
        raise Refused(
            f"--as-of {as_of} is after today ({today} in {zone}): a real run cannot "
            "send tomorrow's reminders today. Use --dry-run to see them."
        )


def run(
    project: Project,
    ledger: Ledger,
    as_of: date,
    channels: RunChannels | None = None,
    *,
    dry_run: bool = False,
    today: date | None = None,
    jobs: int = 1,
) -> RunResult:
    """The nightly job: plan against the state database, then deliver (under the run lock).

    A dry run is the same pipeline (STYLE 4): the same plan, every message composed and handed
    to a recording channel, against the state database opened read-only; nothing is recorded.
    `jobs` worker processes compose the messages (`compose_pool`)."""
    cfg = project.config
    state_path = cfg.resolve(cfg.state)
    shown = cfg.display(state_path)
    if today is not None and not dry_run:
        refuse_future(as_of, today, cfg.company.timezone)
    if dry_run:
        if channels is not None and not channels.dry_run:
            raise ValueError(
                "a dry run takes recording channels: it records nothing, so a "
                "message it sent would be sent again"
            )
        with open_state(state_path, shown, "dry") as db:
            hear_payments(cfg, db, ledger, as_of)  # as a real run would, recording nothing
            dry = channels or RunChannels(cfg, dry_run=True)
            return _run(project, ledger, as_of, db, dry, jobs)
    with open_state(state_path, shown, "run") as db:
        # SPEC 6.1: replies and bounces first, so tonight's plan knows of them
        heard = read_inbox(cfg, db, as_of, {cid: c.email for cid, c in ledger.customers.items()})
        paid = hear_payments(cfg, db, ledger, as_of, record=True)  # issue 32: the bank's next
        run_result = _run(project, ledger, as_of, db, channels or RunChannels(cfg), jobs)
        run_result.payments = paid
        run_result.inbox = heard.events
        if heard.error:  # reported (exit 3); the sending went on
            run_result.errors.append(inbox_error(cfg, heard.error))
        return run_result


def dry_run_in(project: Project, ledger: Ledger, as_of: date, db: StateDB) -> RunResult:
    """A dry run against a state the caller made (the sample's, in memory): every message
    composed and handed to a recording channel."""
    return _run(project, ledger, as_of, db, RunChannels(project.config, dry_run=True))


def replay_day(
    project: Project,
    ledger: Ledger,
    as_of: date,
    db: StateDB,
    actions: Iterable[ActionRow] | None = None,
    jobs: int = 1,
) -> RunResult:
    """One day of a forecast or a simulation (SPEC 4.11): a real run's pipeline against a
    state in memory (`StateDB.in_memory`), every message composed (in `jobs` processes, as a
    run's) and counted as delivered, nothing sent, what the day records written at once
    (`delivery_writes.Batch`); the state is left open for the next day. `actions`: see
    `plan_tonight`."""
    channels = RunChannels(project.config, dry_run=True, delivered=True)
    return _run(project, ledger, as_of, db, channels, jobs, actions, batched=True)


def _run(
    project: Project,
    ledger: Ledger,
    as_of: date,
    db: StateDB,
    channels: RunChannels,
    jobs: int = 1,
    actions: Iterable[ActionRow] | None = None,
    *,
    batched: bool = False,
) -> RunResult:
    cfg = project.config
    try:

        def log_in(planned: Plan) -> None:
            # before anything is recorded: data that reaches nobody, or bad credentials,
            # stop the run, nothing sent
            problem = unreached(planned, ledger)
            if problem:
                raise ArflowError(problem)
            for kind in sorted({k for a in planned.actions if (k := channel_kind(a, cfg))}):
                channels.get(kind)

        planned, recovered, run_id = _begin(
            db, project, ledger, as_of, ready=log_in, actions=actions
        )
        project.with_fees(db)  # what was charged before, for messages and charge_fees
        run_result = RunResult(planned, [], recovered)
        failed: list[RowError] = []  # messages that could not be made: reported, not sent
        failed += _charged_tonight(project, planned)
        try:
            # each message is rendered just before it goes out, while the server still works
            # on the one before it
            key, bcc = db.message_key(), channels.keeps_bcc()
            composed = composing(planned, ledger, project, failed, key, jobs=jobs, keep_bcc=bcc)
            writes = (Batch if batched else Commits)(db, run_result, _record_effect)
            _deliver(db, composed, channels, run_result, writes)
            run_result.errors = ledger.errors + assignment_errors(project, ledger) + failed
            db.finish_run(
                run_id, {"actions": len(planned.actions), "errors": len(run_result.errors)}
            )
        except StateError as err:
            if not run_result.sent:
                raise
            raise StoppedMidRun(_stopped(run_result, err)) from None
        return run_result
    finally:
        channels.close()


def _charged_tonight(project: Project, planned: Plan) -> list[RowError]:
    """Tonight's charges worked out before anything is composed (`plan_charges`); a
    charge whose rule lacks a rate is an error, and its action is not carried out."""
    missing = plan_charges(project.fee_book(), planned.actions)
    if not missing:
        return []
    dropped = {id(action) for action, _ in missing}
    planned.actions = [a for a in planned.actions if id(a) not in dropped]
    errors = []
    for action, exc in missing:
        wf = project.workflows[action.workflow]
        line = wf.action_line(action.step, action.action_index)
        errors.append(RowError(wf.display, line, None, action.customer_id, str(exc)))
    return errors


def baseline(
    project: Project, ledger: Ledger, as_of: date, *, force: bool = False, today: date | None = None
) -> RunResult:
    """Adopting arflow on a ledger that was chased before: every step already due (whatever
    holds it today: a weekend, a pause, a promise, a missing address) is recorded as done
    without sending anything, so the first real night starts from where the customers already
    stand. The actions come back with status `baseline`. Refused once arflow has sent
    anything from this state, unless `force`: it would settle tonight's reminders unsent."""
    cfg = project.config
    if today is not None:
        refuse_future(as_of, today, cfg.company.timezone)
    state_path = cfg.resolve(cfg.state)
    with open_state(state_path, cfg.display(state_path), "run") as db:
        if not force and db.has_carried_out():
            raise Refused(
                f"{state_path.name} already records actions carried out: this "
                "ledger is live, and a baseline would mark tonight's reminders "
                "done without sending them. Run `arflow run` instead (or "
                "--baseline --force if that is really what you want)."
            )
        planned, recovered, run_id = _begin(db, project, ledger, as_of, baseline=True)
        errors = ledger.errors + assignment_errors(project, ledger)
        db.finish_run(run_id, {"baseline": len(planned.actions), "errors": len(errors)})
        return RunResult(planned, errors, recovered)


def _begin(
    db: StateDB,
    project: Project,
    ledger: Ledger,
    as_of: date,
    *,
    baseline: bool = False,
    ready: Callable[[Plan], None] | None = None,
    actions: Iterable[ActionRow] | None = None,
) -> tuple[Plan, int, int]:
    """What a run and a baseline record first: an interrupted run's `sending` rows made
    `unknown`, the plan (`ready` is told of it before anything is written), the sequences it
    starts and ends, its skips, and the run's row. (plan, recovered, run id)"""
    recovered = db.recover_interrupted()
    planned = plan_tonight(db, project, ledger, as_of, baseline=baseline, actions=actions)
    if ready is not None:
        ready(planned)
    skipped = planned.skipped + (_as_baseline(planned) if baseline else [])
    db.record_sequences(planned.started, planned.ended, as_of)
    db.record_hold_events(planned.holds)  # issue 33: once the run may go ahead
    db.record_skips(skip_rows(skipped, project, as_of))
    return planned, recovered, db.begin_run(as_of)


def _as_baseline(planned: Plan) -> list[Skip]:
    """A baseline settles what it planned without sending it: each action becomes a skip
    `baseline`, and so does a step due for a customer without an address (once the address
    is added, its old reminder must not go out)."""
    for skip in planned.skipped:
        if skip.reason in RETRIED_SKIPS:
            skip.reason = BASELINE
    for action in planned.actions:
        action.status = BASELINE
    return [
        Skip(a.workflow, a.step, a.customer_id, a.invoices, BASELINE, a.keys)
        for a in planned.actions
    ]


def _stopped(run_result: RunResult, err: StateError) -> str:
    """Why a run stopped after some messages went out, and what the next run does."""
    last = (
        (
            " The last one's outcome could not be recorded: the next run marks it unknown "
            "(`arflow history --unknown`) and never resends it by itself."
        )
        if run_result.unrecorded
        else ""
    )
    return (
        f"the run stopped after sending {run_result.sent} message(s): {err}.{last} The "
        "messages not sent yet go with the next run."
    )


class _Ahead:
    """The next item to deliver, made while a channel waits for its server: each `work()`
    (the channels' `meanwhile`) does one slice, rendering the next message, then building its
    bytes and ledger rows, so a channel can spread them over its waits. It never raises:
    `take()` does what is left, and raises what went wrong, after the message in flight has
    been settled."""

    def __init__(self, composed: Iterable[Composed], channels: RunChannels, records: bool):
        self._items = iter(composed)
        self._channels = channels
        self._records = records  # False in a dry run: no ledger rows to make
        self._rendered: Composed | None = None  # the next item, its bytes and rows not made
        self._ready: tuple | None = None  # (item, channel, rows), or (None,) at the end
        self._error: BaseException | None = None

    def work(self) -> None:
        if self._error is not None or self._ready is not None:
            return
        try:
            item, self._rendered = self._rendered, None
            if item is None:
                item = next(self._items, None)
                if item is None:
                    self._ready = (None,)
                else:
                    self._rendered = item  # its bytes and rows are the next slice
                return
            message = item.message
            channel = self._channels.get(message.kind) if message else None
            if channel is not None and hasattr(channel, "prepare"):
                channel.prepare(message)
            rows = (
                key_rows(item.action, item, channel.name if channel else None)
                if self._records
                else []
            )
            self._ready = (item, channel, rows)
        except BaseException as exc:
            self._error = exc

    def take(self) -> tuple[Composed, Channel | None, list[dict]] | None:
        """The next (item, its channel, its ledger rows); None when there are no more."""
        while self._ready is None and self._error is None:
            self.work()
        if self._error is not None:
            raise self._error
        ready, self._ready = self._ready, None
        assert ready is not None  # the loop above made it, or raised what went wrong
        return None if ready[0] is None else ready


def _deliver(
    db: StateDB,
    composed: Iterable[Composed],
    channels: RunChannels,
    run_result: RunResult,
    writes: Commits,
) -> None:
    # what an action without a message (status, task, assign) is once recorded
    done = "done" if db.records else "planned"
    unwritten: list[dict] = []  # the last outcome's rows (`marks`), not yet committed

    # The channel calls `ready()` (the `sending` commit, an fsync) once the work that overlaps
    # it is under way: an SMTP channel has written MAIL FROM, and the server answers it while
    # the commit runs. One thread: no hand-overs between threads on the way of each message.
    # While the server answers the recipients, DATA and the message, `ahead.work()` makes the
    # next one.
    ahead = _Ahead(composed, channels, db.records)
    notices = StatementNotices()  # a campaign's notices go once their statement went
    while True:
        try:
            taken = ahead.take()
        except BaseException:
            writes.flush(unwritten)  # what was sent is recorded before the error goes up
            raise
        if taken is None:
            break
        item, channel, rows = taken
        held = notices.held(item.action)
        if held is not None:
            if held:  # its statement is settled without having gone: never sent
                writes.settle()  # what came before is written first
                db.record_skips({**row, "reason": NOT_SENT} for row in rows)
            continue
        run_result.unrecorded = bool(unwritten)  # until the commit below succeeds
        if item.message is None:
            writes.commit(item, unwritten + marks(rows, "done"))
            run_result.unrecorded, unwritten, item.action.status = False, [], done
            continue
        assert channel is not None  # a message always has its channel
        durable = _Once(writes.commit, item, unwritten + marks(rows, "sending"))
        unwritten = []
        try:
            outcome = channel.send(item.message, durable, ahead.work)
        except Exception as exc:
            outcome = _internal_error(exc)
        durable()  # a StateError: nothing was handed over, ready() raised first
        run_result.unrecorded = False
        unwritten = _outcome_rows(rows, item.action, outcome, run_result, done)
        notices.delivered(item.action, outcome)
    writes.flush(unwritten)
    notices.skip_held(run_result.plan)


def _outcome_rows(
    rows: list[dict], action: PlannedAction, outcome: Outcome, run_result: RunResult, done: str
) -> list[dict]:
    """A message's outcome: on the action, counted in the run, and as the rows to record."""
    action.status = done if action.kind == "note" and outcome.state == "sent" else outcome.state
    if outcome.state in ("sent", "unknown"):
        run_result.sent += 1
    if outcome.error and outcome.state != "sent":
        run_result.details[id(action)] = redact(outcome.error)
    return marks(rows, outcome.state, outcome)


class _Once:
    """A message's `sending` commit as its channel's `ready()`: it runs on the first call
    (when the channel is ready, or after `send` if the channel never was); every call raises
    what that one raised."""

    def __init__(self, fn: Callable[..., None], *args: object):
        self._run: Callable[[], None] | None = functools.partial(fn, *args)
        self._error: BaseException | None = None

    def __call__(self) -> None:
        run, self._run = self._run, None
        if run is not None:
            try:
                run()
            except BaseException as exc:
                self._error = exc
        if self._error is not None:
            raise self._error


def _internal_error(exc: Exception) -> Outcome:
    """A bug in a channel: the message may have gone out, so it is `unknown`, never resent."""
    return Outcome("unknown", error=f"internal error while sending: {exc!r}")


def _record_effect(conn: sqlite3.Connection, item: Composed) -> None:
    """What a status, task, note or assign records (`actions.KINDS[kind].records`), written in
    the same transaction as their keys."""
    action = item.action
    effect = KINDS[action.kind].records
    key = str(action.keys[0])
    text = redact(item.text or "")  # compose gives these kinds their text
    if effect == "status":
        targets = [invoice_target(n) for n in action.invoices] + [
            customer_target(action.customer_id)
            for k in action.keys
            if k.target.startswith("customer:")
        ]
        StateDB.set_statuses(conn, targets, text, action.date, key)
    elif effect == "task":
        spec = action.action.spec
        StateDB.add_task(
            conn,
            key,
            action.customer_id,
            action.invoices,
            text,
            spec.kind,
            item.assignee,
            action.task_due,
        )
    elif effect == "note":
        StateDB.add_note(conn, key, action.customer_id, text, action.date)
    elif effect == "specialist":
        StateDB.set_specialist(conn, action.customer_id, text, action.date, key)
    elif effect == "fees":  # against the charges as they are now, inside this transaction
        fees = action.fees or []
        numbers = sorted({c.invoice for c in fees})
        charged, waived = StateDB.charged_in(conn, numbers), StateDB.waived_in(conn, numbers)
        rows = rows_to_record(fees, charged, waived, key, action.customer_id, action.date)
        StateDB.add_charges(conn, rows)
