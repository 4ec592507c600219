"""Text from outside that arflow stores and prints as data (SPEC 6.1: a reply's sender, subject,
date and first lines): one line, no control characters, so that nothing a stranger writes into
an email can add a line to `arflow run`'s or `history`'s output or to a notice, or drive the
terminal. `CONTROL` is also what no header value of arflow's own emails may hold
(`arflow.channels.message.header_problem`)."""

from __future__ import annotations

import re

# CR, LF and every other C0/C1 control (tab and ESC among them), the Unicode line and paragraph
# separators, the bidi overrides and isolates, and lone surrogates (bytes that were no text)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _replaced(match: re.Match[str]) -> str:
    return "\ufffd" if "\ud800" <= match.group() <= "\udfff" else " "


def one_line(text: str | None, limit: int | None = None) -> str:
    """`text` as data on one line: each control character and line break becomes a space (a
    lone surrogate U+FFFD), each run of spaces one space, no space at either end; with
    `limit`, at most that many characters (the last an ellipsis when it was cut)."""
    flat = " ".join(CONTROL.sub(_replaced, text or "").split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"
