"""A database server's address as `database:` gives it (issue 35): `postgresql://user@host:5432/
books`, `mysql://user@host/books` (MariaDB too), and `sqlite:///books.db` for a SQLite file as
`path:` reads it. The password is never in the address: it comes from the environment variable
`password_env:` names, so it reaches neither the YAML, the logs nor the state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SCHEMES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}


@dataclass(frozen=True, slots=True)
class Address:
    kind: str  # postgresql or mysql
    user: str | None
    host: str
    port: int
    name: str  # the database
    sslmode: str | None = None  # PostgreSQL's `?sslmode=` (require, verify-full …)

    def shown(self) -> str:
        """As messages name it (in words, not as an address: no password is part of it, and
        nothing in it reads as a secret to hide)."""
        kind = "PostgreSQL" if self.kind == "postgresql" else "MySQL/MariaDB"
        who = f" as {self.user}" if self.user else ""
        return f"{kind} database {self.name} on {self.host}:{self.port}{who}"


def parse_database_url(url: str) -> Address:
    """The address of a server URL, or ValueError naming what is wrong and the fix."""
    parts = urlsplit(url.strip())
    kind = SCHEMES.get(parts.scheme.lower())
    if kind is None:
        raise ValueError(
            f"database: {parts.scheme or url!r} is not a database arflow reads; write "
            "postgresql:// or mysql:// then user@host:port/name, or sqlite:/// then the file"
        )
    if parts.password is not None:
        raise ValueError(
            "database: the address holds a password; take it out and name the environment "
            "variable that holds it with password_env: (a password in arflow.yaml ends up in "
            "backups and logs)"
        )
    name = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not name or "/" in name:
        raise ValueError(
            f"database: {_without_password(url)!r} needs a host and a database name: "
            f"{kind}:// then user@host/name"
        )
    try:
        port = parts.port or DEFAULT_PORTS[kind]
    except ValueError:
        raise ValueError(f"database: {_without_password(url)!r} has no valid port") from None
    user = unquote(parts.username) if parts.username else None
    return Address(kind, user, parts.hostname, port, name, _sslmode(kind, parts.query))


SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _sslmode(kind: str, query: str) -> str | None:
    """The one option an address may carry: PostgreSQL's `sslmode`; any other is refused
    rather than dropped (a `?password=` above all, and a TLS demand silently lost)."""
    options = parse_qs(query, keep_blank_values=True)
    if "password" in options:
        raise ValueError(
            "database: the address holds a password; take it out and name the environment "
            "variable that holds it with password_env:"
        )
    other = sorted(set(options) - ({"sslmode"} if kind == "postgresql" else set()))
    if other:
        raise ValueError(
            f"database: the option {other[0]!r} is not one arflow passes on; "
            + (
                "PostgreSQL addresses take ?sslmode= only"
                if kind == "postgresql"
                else "MySQL/MariaDB addresses take none"
            )
        )
    mode = options.get("sslmode", [None])[-1]
    if mode is not None and mode not in SSLMODES:
        raise ValueError(f"database: sslmode {mode!r} is none of {', '.join(SSLMODES)}")
    return mode


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def check_database_url(url: str) -> str:
    parse_database_url(url)
    return url.strip()


def sqlite_url(settings: Any) -> Any:
    """`database: sqlite:///books.db` is the SQLite file `books.db` (relative to arflow.yaml;
    `sqlite:////srv/books.db` absolute), read as `path:` with `table:`/`query:` reads it."""
    if not isinstance(settings, dict):
        return settings
    url = settings.get("database")
    if not isinstance(url, str) or not url.strip().lower().startswith("sqlite:"):
        return settings
    rest = url.strip()[len("sqlite:") :]
    if not rest.startswith("///") or len(rest) == 3:
        raise ValueError(
            f"database: {url!r}: write a SQLite file as sqlite:///books.db (relative to "
            "arflow.yaml) or sqlite:////srv/books.db (absolute)"
        )
    found = {k: v for k, v in settings.items() if k != "database"}
    found["path"] = unquote(rest[3:])
    return found
