"""Secrets (SPEC 7): read from the environment or an owner-only file, and taken out of any text
arflow prints or stores.

`redact` is the one way out for such text. Every secret value this process read is remembered
and taken out (an error may quote a server's reply holding one); and every web address is cut
to its scheme and host, for its path and query are often a secret of their own: a Slack-style
webhook (`https://hooks.slack.com/services/T000/B000/XXXX`), a monitor's check id, a payment
link's token; its user name and password always are. The addresses the user lists under
`public_urls:` keep their path and query (never a password). A low module: the channels, the
inbox, the state database and the CLI all use it, and it uses nothing of theirs.
"""

from __future__ import annotations

import os
import re
import stat
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path

from arflow.errors import ArflowError

# every secret value this process read: `redact` takes them out of any text that is printed or
# stored (an error may quote a URL or a server's reply that holds one)
_SECRETS: set[str] = set()
REDACTED = "***"
# a web address in a text, up to a space or a quote; what ends a sentence is not part of it
_ADDRESS = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"'`]+")
_TRAILING = ".,;:!?)]}"
# (scheme, host[:port], path) of each of `public_urls:`: addresses shown whole
_PUBLIC: list[tuple[str, str, str]] = []


def redact(text: str) -> str:
    """`text` as arflow may print or store it: every web address cut to its scheme and host
    (`https://hooks.slack.com/***`; a public one keeps its path and query), a user name and
    password in one to ***, and every secret arflow read (as it is, and URL-encoded) to ***."""
    if "://" in text:
        text = _ADDRESS.sub(_cut, text)
    for value in sorted(_SECRETS, key=len, reverse=True):  # a secret inside another: longest first
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def public_urls(prefixes: Iterable[str]) -> None:
    """The addresses shown whole (`public_urls:` of the config this process works for): each
    one starting with a prefix, at its scheme, host and a path at or under the prefix's."""
    _PUBLIC[:] = [_parts(urllib.parse.urlsplit(p)) for p in prefixes]


def _parts(url: urllib.parse.SplitResult) -> tuple[str, str, str]:
    host = url.netloc.rpartition("@")[2].lower()
    return url.scheme.lower(), host, url.path


def _cut(found: re.Match[str]) -> str:
    address = found[0].rstrip(_TRAILING)
    trailing = found[0][len(address) :]
    try:
        url = urllib.parse.urlsplit(address)
    except ValueError:  # not an address after all (a bad port, a bracket)
        return found[0]
    scheme, host, path = _parts(url)
    if not host:
        return found[0]
    login = f"{REDACTED}@" if "@" in url.netloc else ""
    head = f"{url.scheme}://{login}{url.netloc.rpartition('@')[2]}"
    if any(
        scheme == s and host == h and (path == p or path.startswith(p.rstrip("/") + "/"))
        for s, h, p in _PUBLIC
    ):
        return head + address[len(f"{url.scheme}://{url.netloc}") :] + trailing
    rest = address[len(f"{url.scheme}://{url.netloc}") :]
    return head + (rest if rest in ("", "/") else f"/{REDACTED}") + trailing


def known_secrets(env_names: Iterable[str], environ: Mapping[str, str] | None = None) -> None:
    """The values of these environment variables hidden from now on, whether or not they are
    read yet: a program's or a server's message printed before the SMTP password is read
    must not show it."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    for name in env_names:
        value = env.get(name)
        if value:
            _remember(value)


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
