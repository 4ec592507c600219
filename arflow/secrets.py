"""Secrets (SPEC 7): read from the environment or an owner-only file, and taken out of any text
arflow prints or stores.

Every secret value this process read is remembered: `redact` takes them out of an error that
quotes a URL or a server's reply holding one. A low module: the channels, the inbox, the state
database and the CLI all use it, and it uses nothing of theirs.
"""

from __future__ import annotations

import os
import stat
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from arflow.errors import ArflowError

# every secret value this process read: `redact` takes them out of any text that is printed or
# stored (an error may quote a URL or a server's reply that holds one)
_SECRETS: set[str] = set()
REDACTED = "***"


def redact(text: str) -> str:
    """`text` with every secret arflow read (as it is, and URL-encoded) replaced by ***."""
    for value in sorted(_SECRETS, key=len, reverse=True):  # a secret inside another: longest first
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def _remember(value: str) -> str:
    _SECRETS.add(value)
    _SECRETS.add(urllib.parse.quote(value, safe=""))
    _SECRETS.add(urllib.parse.quote_plus(value, safe=""))
    return value


def secret(env_name: str, what: str, environ: Mapping[str, str] | None = None) -> str:
    """A secret from the environment, or from the owner-only file named by `NAME_FILE`."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    value = env.get(env_name)
    if value:
        return _remember(value)
    file_name = env.get(f"{env_name}_FILE")
    if not file_name:
        raise ArflowError(
            f"{what}: the environment variable {env_name} is not set (or empty); "
            f"export it, or name an owner-only file in {env_name}_FILE. "
            "Nothing was sent."
        )
    path = Path(file_name)
    named = f"{path} (named by ${env_name}_FILE)"
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ArflowError(
                f"{what}: {named} can be read by others; run `chmod 600 {path}`. Nothing was sent."
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ArflowError(
            f"{what}: cannot read {named}: {exc.strerror}. Nothing was sent."
        ) from None
    try:
        value = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise ArflowError(
            f"{what}: {named} is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start}); write the secret into it as plain text. "
            "Nothing was sent."
        ) from None
    if not value:
        raise ArflowError(f"{what}: {named} is empty; write the secret into it. Nothing was sent.")
    return _remember(value)
