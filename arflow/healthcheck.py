"""`healthcheck_url:`: at the end of each real run arflow tells a monitoring service (such as
healthchecks.io, or any URL that takes a POST) that it ran, and whether it went well, so a
night it did not run, or ran into problems, is noticed by a person.

Success is a POST to the URL; a run that completed with problems or did nothing is a POST to
URL/fail (healthchecks.io's convention). The body is the run's last line. A ping that fails is
a warning: it never changes what the run did or its exit code; one that does not finish within
its deadline (`healthcheck_timeout:`, see `arflow.deadline`) is one that fails."""

from __future__ import annotations

from arflow.deadline import NoAnswer, Unreached, request


def ping(url: str, ok: bool, summary: str, timeout: float) -> str | None:
    """Report the run, within one deadline (`arflow.deadline`); None when the service took
    it, else what went wrong, to be printed through `secrets.redact` (the URL's path is often
    the check's secret, and it may hold a password)."""
    target = url if ok else url.rstrip("/") + "/fail"
    headers = {"Content-Type": "text/plain; charset=utf-8", "User-Agent": "arflow"}
    host = url
    try:
        answer = request(target, summary.encode()[:10_000], headers, timeout, limit=1024)
    except (Unreached, NoAnswer) as exc:
        return f"healthcheck_url: no answer from {host} ({exc})"
    if answer.status >= 400:
        return f"healthcheck_url: {host} answered {answer.status} {answer.reason}"
    return None
