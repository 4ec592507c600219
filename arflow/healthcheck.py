"""`healthcheck_url:`: at the end of each real run arflow tells a monitoring service (such as
healthchecks.io, or any URL that takes a POST) that it ran, and whether it went well, so a
night it did not run, or ran into problems, is noticed by a person.

Success is a POST to the URL; a run that completed with problems or did nothing is a POST to
URL/fail (healthchecks.io's convention). The body is the run's last line. A ping that fails is
a warning: it never changes what the run did or its exit code."""

from __future__ import annotations

import urllib.error
import urllib.request

TIMEOUT = 10.0  # seconds; a monitor that does not answer must not hold the run


def ping(url: str, ok: bool, summary: str, timeout: float = TIMEOUT) -> str | None:
    """Report the run; None when the service took it, else what went wrong, to be printed
    through `secrets.redact` (the URL's path is often the check's secret, and it may hold a
    password)."""
    target = url if ok else url.rstrip("/") + "/fail"
    request = urllib.request.Request(
        target,
        data=summary.encode()[:10_000],
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8", "User-Agent": "arflow"},
    )
    host = url
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(1024)
    except urllib.error.HTTPError as exc:
        return f"healthcheck_url: {host} answered {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"healthcheck_url: no answer from {host} ({reason})"
    return None
