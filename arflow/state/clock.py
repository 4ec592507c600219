"""The moment the state database stamps on what it records (`created_at`, `updated_at`, …).

Defined once here and looked up as `clock.utc_now()` by every part of the state package, so a
test that sets `arflow.state.clock.utc_now` sets it for all of them."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
