"""What `arflow holds` shows (issue 33): the accounts on credit hold on a day, why and since
when, as rows, JSON and CSV; and a customer's hold as `arflow status` gives it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from arflow.digest_settings import DIGEST
from arflow.holds import DROPPED, HOLD, NOTICE_DAYS
from arflow.planner.plan_types import Skip
from arflow.state.holds import HoldEvent

CSV_HEADER = ["customer_id", "since", "why"]


def on_hold(latest: Mapping[str, HoldEvent]) -> list[HoldEvent]:
    """The customers whose latest event is an entry, by customer id."""
    return sorted((e for e in latest.values() if e.kind == HOLD), key=lambda e: e.customer_id)


def hold_document(held: list[HoldEvent]) -> dict:
    """`arflow holds --format json`: `{"holds": [{"customer_id", "since", "why"}]}`."""
    return {"holds": [hold_row(e) for e in held]}


def hold_row(event: HoldEvent) -> dict:
    """One hold: the customer, the day it entered (ISO) and the conditions it met then."""
    return {"customer_id": event.customer_id, "since": event.as_of.isoformat(), "why": event.why}


def status_hold(latest: Mapping[str, HoldEvent], customer: str) -> dict | None:
    """`hold` in a customer's `status`: since and why while on hold, else None."""
    event = latest.get(customer)
    return hold_row(event) if event is not None and event.kind == HOLD else None


def hold_title(as_of: date, count: int) -> str:
    return f"arflow holds as of {as_of}: {count} account(s) on credit hold"


def event_row(event: HoldEvent) -> dict:
    """A run's entry or release, as its JSON document lists it (`"holds"`)."""
    return {
        "customer_id": event.customer_id,
        "event": event.kind,
        "since": event.as_of.isoformat(),
        "why": event.why,
    }


def hold_part(events: list[HoldEvent]) -> dict:
    """`"holds"` in a run's JSON document: tonight's entries and releases (none: no key)."""
    return {"holds": [event_row(e) for e in events]} if events else {}


def event_lines(events: list[HoldEvent], dry_run: bool) -> list[str]:
    """A run's entries and releases, one comment line each: `# credit hold: C1 enters (…)`."""
    verbs = {"hold": "enters", "release": "is released"}
    if dry_run:
        verbs = {"hold": "would enter", "release": "would be released"}
    return [f"# credit hold: {e.customer_id} {verbs[e.kind]} ({e.why})" for e in events]


def dropped_lines(skipped: list[Skip]) -> list[str]:
    """A hold's notices, or a weekly digest (issue 34), given up tonight (`DROPPED`), one
    error each, saying what to do."""
    return [
        (
            f"the digest of {key.target.removeprefix('digest:')} ({key}) was dropped: its "
            "sends kept failing until the occurrence expired (digest.expires_after:); fix "
            "channels.email (`arflow history` shows the failures); the next occurrence's "
            "digest goes as usual"
            if s.workflow == DIGEST
            else f"a credit hold notice ({key}) was dropped: its sends kept failing for "
            f"{NOTICE_DAYS} days after the customer's {s.step}; tell {s.customer_id}'s people "
            f"by hand (`arflow history --customer {s.customer_id}` shows the failures)"
        )
        for s in skipped
        if s.reason == DROPPED
        for key in s.keys
    ]
