"""HTTP POSTs of JSON: the `webhook` action, and `notify` through a webhook (e.g. Slack).

Each request carries an `Idempotency-Key` header derived from the action's key, so a receiver
can drop a duplicate. Connection refused is transient; 408/429 transient; other 4xx permanent;
5xx and a timeout after the body went out are `unknown`.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Callable

from arflow.channels.message import Message, Outcome


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
        request = urllib.request.Request(
            message.url or "",
            data=(message.body or "").encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "arflow",
                "Idempotency-Key": message.idempotency_key or "",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Outcome("sent", provider_id=f"HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            detail = f"{message.url} answered HTTP {exc.code} {exc.reason}"
            return status_outcome(exc.code, detail, retry=exc.code == 408)
        except urllib.error.URLError as exc:
            # the request never left: refused, no route, unknown host
            return Outcome("failed", error=f"cannot reach {message.url}: {exc.reason}")
        except (TimeoutError, http.client.HTTPException, OSError) as exc:
            return Outcome(
                "unknown", error=f"no answer from {message.url}: {exc or type(exc).__name__}"
            )
