"""HTTP POSTs of JSON: the `webhook` action, and `notify` through a webhook (e.g. Slack).

Each request carries an `Idempotency-Key` header derived from the action's key, so a receiver
can drop a duplicate. Connection refused is transient; 408/429 transient; other 4xx permanent;
5xx and a timeout after the body went out are `unknown`. Each request and its answer keep one
deadline (`arflow.deadline`) from `channels.webhook.timeout`.
"""

from __future__ import annotations

from collections.abc import Callable

from arflow.channels.message import Message, Outcome
from arflow.deadline import NoAnswer, Unreached, request


def status_outcome(status: int, detail: str, *, retry: bool = False) -> Outcome:
    """What an HTTP error status means for the message (`detail` says what happened): 429 (too
    many requests), or `retry` (the receiver's own word for it), a transient failure a later
    run tries again; 5xx unknown (the receiver may have acted on it); any other a permanent
    failure."""
    if status == 429 or retry:
        return Outcome("failed", error=detail)
    if status >= 500:
        return Outcome("unknown", error=detail)
    return Outcome("failed", permanent=True, error=detail)


class HttpChannel:
    def __init__(self, timeout: float):
        self.timeout = timeout
        self.name = "webhook:http"

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(
        self,
        message: Message,
        ready: Callable[[], None],
        meanwhile: Callable[[], None] | None = None,
    ) -> Outcome:
        ready()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "arflow",
            "Idempotency-Key": message.idempotency_key or "",
        }
        try:
            answer = request(
                message.url or "", (message.body or "").encode(), headers, self.timeout
            )
        except Unreached as exc:  # refused, no route, unknown host: the request never left
            return Outcome("failed", error=f"cannot reach {message.url}: {exc}")
        except NoAnswer as exc:  # it went out: the receiver may have acted on it
            return Outcome("unknown", error=f"no answer from {message.url}: {exc}")
        if answer.status >= 400:
            detail = f"{message.url} answered HTTP {answer.status} {answer.reason}"
            return status_outcome(answer.status, detail, retry=answer.status == 408)
        return Outcome("sent", provider_id=f"HTTP {answer.status}")
