"""The weekly digest in tonight's plan (issue 34): on a day an occurrence of `digest:`'s
schedule is due (a campaign's rule, `occurrences.due_occurrence`: the latest occurrence at
most `expires_after:` days old, default 3; counting business days, nothing on other days), a
run plans one email to the people of `digest.to`, keyed once per occurrence:
`digest:DATE/digest/digest/0`. Its content is `htmlreport.digest.digest_for` over the run's
ledger (lowered by the bank's payments already), made when it is planned.

A rerun finds the key settled and sends nothing; a failed send (the server down) is tried
again on the next nights while its occurrence is the one due; once it is not, the key is
skipped `notice-dropped` (recorded once, reported as an error, as a credit hold's notice). A
crash after sending leaves the key `unknown`: never sent again by itself. A run for one
customer (`--customer`) plans no digest (it is about the whole book), nor does a baseline (it
sends nothing: the first real run sends the digest due)."""

from __future__ import annotations

from datetime import date
from functools import cache

from arflow.action_specs import Action
from arflow.calendar import BusinessCalendar
from arflow.config import Config
from arflow.digest_settings import DIGEST, Digest
from arflow.holds import DROPPED
from arflow.htmlreport.digest import digest_for
from arflow.ledger import Ledger
from arflow.planner.occurrences import due_occurrence
from arflow.planner.plan_types import ActionKey, PastState, Plan, PlannedAction, Skip
from arflow.project import Project
from arflow.state import StateDB

TARGET = "digest:"  # the digest's targets: `digest:DATE`, DATE its occurrence


def digest_key(occurrence: date) -> ActionKey:
    """The key of an occurrence's digest: `digest:2026-03-02/digest/digest/0`."""
    return ActionKey(f"{TARGET}{occurrence.isoformat()}", DIGEST, DIGEST, 0)


@cache
def _calendar(holidays: str | None) -> BusinessCalendar:
    return BusinessCalendar(holidays)


def current_occurrence(settings: Digest, as_of: date) -> date | None:
    """The occurrence still within its expiry on `as_of`, if any (`due_occurrence`)."""
    calendar = _calendar(settings.holidays) if settings.business_days else None
    return due_occurrence(settings.schedule, as_of, settings.expires_after, calendar)


def digest_due(settings: Digest, as_of: date) -> date | None:
    """The occurrence whose digest goes on `as_of`: the current one, on a business day when
    the digest counts business days (a campaign's rule)."""
    if settings.business_days and not _calendar(settings.holidays).is_business_day(as_of):
        return None
    return current_occurrence(settings, as_of)


def recipients(config: Config, settings: Digest) -> list[str]:
    """The addresses of `digest.to`'s people (the config checked each has an email)."""
    found: list[str] = []
    for name in settings.to:
        address = config.people[name].email
        if address and address not in found:
            found.append(address)
    return found


def digest_night(
    db: StateDB, project: Project, ledger: Ledger, past: PastState, planned: Plan
) -> None:
    """Tonight's digest into `planned`, if one is due and not settled; the digests whose sends
    kept failing past their occurrence's expiry into `planned.skipped` (`DROPPED`)."""
    config = project.config
    settings = config.digest
    if settings is None or ledger.whole is not ledger:  # `--customer`: not the whole book
        return
    as_of = planned.as_of
    _expired(planned, db.failed_keys(TARGET), current_occurrence(settings, as_of))
    occurrence = digest_due(settings, as_of)
    if occurrence is None or digest_key(occurrence) in past.settled:
        return
    campaigns = frozenset(w.id for w in project.workflows.values() if w.model.is_campaign)
    message = digest_for(config, ledger, db, as_of, campaigns)
    to = recipients(config, settings)
    action = Action.model_validate({"notify": {"to": list(settings.to), "template": DIGEST}})
    planned.actions.append(
        PlannedAction(
            date=as_of,
            workflow=DIGEST,
            step=DIGEST,
            action_index=0,
            action=action,
            customer_id="",
            invoices=[],
            keys=[digest_key(occurrence)],
            to=to,
            subject=message.subject,
            digest={"subject": message.subject, "html": message.html, "text": message.text},
        )
    )


def _expired(planned: Plan, failed: set[str], current: date | None) -> None:
    """The digests whose sends kept failing and whose occurrence is over on the plan's day
    (before the current one, or with none current, on or before the day; a run dated before a
    later occurrence leaves it for its own nights) into `planned.skipped` as `DROPPED`."""
    for key in sorted(failed):
        target = key.partition("/")[0]
        occurrence = date.fromisoformat(target.removeprefix(TARGET))
        if occurrence < current if current is not None else occurrence <= planned.as_of:
            planned.skipped.append(
                Skip(DIGEST, DIGEST, "", [], DROPPED, [ActionKey(target, DIGEST, DIGEST, 0)])
            )
