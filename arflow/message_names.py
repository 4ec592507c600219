"""What names each message arflow sends (SPEC 6): its Message-ID, keyed with the state
database's secret, and its file name in the outbox, both the same for every attempt at it."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from arflow.channels.mime import domain_of
from arflow.planner.plan_types import PlannedAction


def key_digest(action: PlannedAction) -> str:
    """A hash of the action's idempotency keys: the same for every attempt at one message."""
    return hashlib.sha256("\n".join(map(str, action.keys)).encode()).hexdigest()


def message_id(action: PlannedAction, sender: str, message_key: bytes) -> str:
    """SPEC 6: unique per reminder, the same for every attempt at it: an HMAC of the action's
    idempotency keys under the state database's secret key, so nobody who knows a customer's
    id can make up the Message-ID of an email arflow sent it (and "answer" it to pause the
    customer). The inbox matches answers against the ids recorded in the action ledger, so an
    email's id is never computed again."""
    text = "\n".join(map(str, action.keys)).encode()
    digest = hmac.new(message_key, text, hashlib.sha256).hexdigest()
    return f"<{digest[:32]}.arflow@{domain_of(sender)}>"


def file_name(action: PlannedAction, digest: str | None = None) -> str:
    """A file-safe name for the outbox, unique per idempotency key."""
    return (
        f"{action.date}-{_file_safe(action.customer_id)[:40]}-{action.workflow}-"
        f"{action.step}-{action.action_index}-{(digest or key_digest(action))[:10]}"
    )


@lru_cache(maxsize=4096)  # a customer's actions come together
def _file_safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)
