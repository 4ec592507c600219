"""Composing in worker processes (issue 30, `arflow run --jobs N`): a plan's contexts, renders
and email bytes are made by N forked workers ahead of the sender, real and dry runs alike.

The workers only compose: they run `compose.compose_each` over slices of the plan and hand
back what each action carries (its message with its bytes built but the Date, its text) or the
error that keeps it from being made. The parent takes the slices back in the plan's order and
alone records, marks and sends, so a message goes out and is recorded exactly as with one
process, and a worker that dies, or a Ctrl-C, leaves nothing marked `sending` that one process
would not have left. At most `AHEAD` slices per worker are in flight, so a large backlog is not
composed into memory faster than it is sent.

Workers are forked (Linux): they start with the plan, the ledger and the templates already in
memory. Where processes cannot be forked (macOS, Windows) a run composes in one process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice

from arflow.channels import Message
from arflow.channels.mime import build_ahead
from arflow.compose import Composed, compose, compose_each, owing
from arflow.errors import ArflowError, RowError
from arflow.fees.accrual import FeeCharge
from arflow.ledger import Ledger
from arflow.planner.plan_types import Plan
from arflow.project import Project

# Fewer actions than this compose in one process: below it, starting the workers and carrying
# messages between processes costs more than the second core gives back (measured on 2 cores:
# see the README's decisions).
POOL_FROM = 1_000
CHUNK = 64  # actions per slice a worker composes
AHEAD = 4  # slices per worker in flight at most

# What the workers compose from, set in the parent just before they are forked:
# (actions, as_of, ledger, project, message_key, keep_bcc, invoices owed by customer)
_WORK: tuple | None = None

# What a worker hands back for a composed action: its message, text and assignee, and the
# action's own `text`, `subject` and `fees`, which composing sets
Payload = tuple[
    Message | None, str | None, str | None, str | None, str | None, list[FeeCharge] | None
]


def jobs_default() -> int:
    """`--jobs` when not given: every core of the machine this process may run on."""
    if hasattr(os, "sched_getaffinity"):  # a `taskset` or a container's cpuset counts
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def composed(
    plan: Plan,
    ledger: Ledger,
    project: Project,
    failed: list[RowError],
    message_key: bytes,
    *,
    jobs: int = 1,
    keep_bcc: bool = False,
) -> Iterator[Composed]:
    """`compose.compose` (same items, same `failed`, same plan afterwards), in `jobs` worker
    processes when there are enough actions to pay for them; `keep_bcc` says which bytes of
    an email the channel writes (the outbox keeps the Bcc header)."""
    if jobs <= 1 or len(plan.actions) < POOL_FROM or not can_fork():
        return compose(plan, ledger, project, failed, message_key)
    return _pooled(plan, ledger, project, failed, message_key, jobs, keep_bcc)


def can_fork() -> bool:
    """Whether workers can start as forks of this process (Linux): other systems' fork is
    unsafe with their system libraries, and a spawned worker would load everything again."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _pooled(
    plan: Plan,
    ledger: Ledger,
    project: Project,
    failed: list[RowError],
    message_key: bytes,
    jobs: int,
    keep_bcc: bool,
) -> Iterator[Composed]:
    global _WORK
    actions = plan.actions
    # the one query into the ledger's frame, made here: the workers never call polars, whose
    # threads a fork does not take along
    owed = owing(actions, plan.as_of, ledger)
    _WORK = (actions, plan.as_of, ledger, project, message_key, keep_bcc, owed)
    # a worker flushes the standard streams as it ends: what this process wrote and has not
    # flushed yet would be written once more by each of them
    sys.stdout.flush()
    sys.stderr.flush()
    pool = ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )
    dropped: set[int] = set()
    try:
        for index, payload in _in_order(pool, len(actions), jobs, ledger.errors):
            action = actions[index]
            if isinstance(payload, _Raised):
                # made again here, it raises what one process raises (its type, its trace)
                for _ in compose_each([action], plan.as_of, ledger, project, message_key, owed):
                    pass
                raise payload.error  # what only the worker met
            if isinstance(payload, RowError):
                failed.append(payload)
                dropped.add(id(action))
                continue
            message, text, assignee, action.text, action.subject, action.fees = payload
            yield Composed(action, message, text, assignee)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        _WORK = None
    if dropped:
        plan.actions = [a for a in plan.actions if id(a) not in dropped]


def _in_order(
    pool: ProcessPoolExecutor, count: int, jobs: int, errors: list[RowError]
) -> Iterator[tuple[int, Payload | RowError | _Raised]]:
    """What the workers made of each action, in the plan's order, with at most `AHEAD`
    slices per worker in flight. What a worker found wrong in the sources while composing (a
    customer's phone number a template read: `phones.GivenPhone`) joins `errors`, the
    ledger's, once, as one process reports it."""
    starts = iter(range(0, count, CHUNK))
    try:
        pending: deque[Future] = deque(
            pool.submit(_compose_slice, start) for start in islice(starts, jobs * AHEAD)
        )
        while pending:
            made, reported = pending.popleft().result()
            following = next(starts, None)
            if following is not None:
                pending.append(pool.submit(_compose_slice, following))
            errors.extend(error for error in reported if error not in errors)
            yield from made
    except BrokenProcessPool:
        raise ArflowError(
            "a worker process composing messages ended before its messages were made (killed, "
            "or out of memory): nothing more was sent. What went out is recorded, and the "
            "next run sends the rest; run with --jobs 1 to compose in one process."
        ) from None


def _start_worker(parent: int) -> None:
    """A worker leaves Ctrl-C to the parent (which stops the run as one process would) and
    ends with it: a forked worker holds the parent's files, the run lock among them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - Linux has it
        pass
    if os.getppid() != parent:  # the parent ended before the line above
        os._exit(1)


def _compose_slice(
    start: int,
) -> tuple[list[tuple[int, Payload | RowError | _Raised]], list[RowError]]:
    """In a worker: the actions from `start` composed, as (index, payload or error), and the
    errors in the sources composing them found; what was raised, if something was, comes
    last, at the action that raised it."""
    assert _WORK is not None  # set by the parent before the fork
    actions, as_of, ledger, project, message_key, keep_bcc, by_customer = _WORK
    known = len(ledger.errors)
    work = actions[start : start + CHUNK]
    made: list[tuple[int, Payload | RowError | _Raised]] = []
    try:
        each = compose_each(work, as_of, ledger, project, message_key, by_customer)
        for index, (action, item) in enumerate(each, start):
            if isinstance(item, RowError):
                made.append((index, item))
                continue
            if item.message is not None and item.message.kind == "email":
                build_ahead(item.message, keep_bcc)
            made.append(
                (
                    index,
                    (
                        item.message,
                        item.text,
                        item.assignee,
                        action.text,
                        action.subject,
                        action.fees,
                    ),
                )
            )
    except Exception as exc:
        made.append((start + len(made), _Raised(_portable(exc))))
    return made, ledger.errors[known:]


@dataclass(frozen=True, slots=True)
class _Raised:
    """What composing an action raised in a worker."""

    error: Exception


def _portable(exc: Exception) -> Exception:
    """`exc`, or the same words in an exception the parent can unpickle (one whose arguments
    are not its constructor's would otherwise break the pool, and read as a dead worker)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
