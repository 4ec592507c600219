"""The settings of a source in `arflow.yaml` (SPEC 7): the invoices', the customers' and the
payments' (which reads a field from one of several headers, and has `keep_if:` and presets of
its own)."""

from __future__ import annotations

import re
import shlex
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from arflow.database_url import check_database_url, sqlite_url
from arflow.modelcheck import (
    STRICT,
    EnvName,
    Matching,
    Needs,
    NotBoth,
    OneOf,
    Rule,
    check_rules,
)
from arflow.payments.presets import PAYMENT_PRESETS
from arflow.presets import PRESETS, with_preset

# a source with more bad rows than this share of its rows is refused whole (SPEC 2.4): a broken
# export must not become half a night of reminders (sources/understood.py)
DEFAULT_MAX_BAD_ROWS = "10%"
_NO_SQL_COMMAND = (
    "table: and query: read a SQLite file at path: or a database:; a command's output is CSV "
    "(choose its rows in the program)"
)
# the payments source's fields (issue 32); `refunded` is subtracted from `amount`
PAYMENT_FIELDS = (
    "id",
    "date",
    "amount",
    "refunded",
    "currency",
    "reference",
    "payer",
    "payer_account",
)


class SourceConfig(BaseModel):
    """A CSV file, a SQLite database or a database server with a table or a SELECT query, or a
    program whose standard output is CSV (`command:`, issue 35)."""

    model_config = STRICT
    # the presets `preset:` names: the invoices' (customers' too); the payments' their own
    PRESET_LIST: ClassVar[dict[str, dict]] = PRESETS
    PRESETS_FOR: ClassVar[str] = "invoices"

    path: str | None = None
    # issue 35: a program and its arguments, run without a shell; its standard output is the CSV
    command: list[str] | None = None
    format: Literal["csv"] | None = None  # what the command prints: CSV only
    # issue 35: a database server (`postgresql://user@host:5432/books`, `mysql://…`), read in a
    # read-only session; its password from the environment variable `password_env:` names
    database: str | None = None
    password_env: EnvName | None = None
    # seconds: a command's whole run; a database's connecting, then the whole query
    timeout: float = Field(60.0, gt=0, le=3600)
    table: str | None = None
    query: str | None = None
    columns: dict[str, str] = {}
    date_format: str | None = None
    delimiter: (
        Annotated[
            str,
            Matching(
                r'[^"\r\n]',
                'delimiter: {value!r} must be one character, such as "," or ";" or "\\t"',
            ),
        ]
        | None
    ) = None
    encoding: str = "utf-8-sig"
    decimal: Literal[".", ","] = "."
    thousands: Literal[",", ".", " ", "'", "_"] | None = None
    status_map: dict[str, Literal["draft", "open", "paid", "void"]] = {}
    preset: str | None = None
    header_row: int | str | None = None
    skip_rows: int = Field(0, ge=0)
    headings: str | None = None
    skip_if: dict[str, str | list[str]] = {}
    # more bad rows than this and the source is refused whole: a count, or a share ("10%")
    max_bad_rows: int | str = DEFAULT_MAX_BAD_ROWS
    # columns that only look like a field (`Term` beside a due date): kept as extra.NAME
    not_fields: list[str] = []

    RULES: ClassVar[tuple[Rule, ...]] = (
        OneOf(
            ("path", "database", "command"),
            "give path: (a file) or database: (a server's address), or command: (a program "
            "that prints CSV)",
        ),
        NotBoth(
            "path",
            "command",
            "give either path: (a file) or command: (a program that prints CSV), not both",
        ),
        NotBoth(
            "database",
            "command",
            "give either database: (a server's address) or command: (a program that prints "
            "CSV), not both",
        ),
        NotBoth("table", "query", "give either table: or query:, not both"),
        *(NotBoth("command", key, _NO_SQL_COMMAND) for key in ("table", "query")),
        Needs(
            "format",
            "csv",
            ("command",),
            message="format: says what command: prints; give command: or drop format:",
        ),
        NotBoth(
            "path",
            "database",
            "give either path: (a file) or database: (a server's address), not both",
        ),
        NotBoth(
            "header_row",
            "skip_rows",
            "give either header_row: (the line the header is on) or "
            "skip_rows: (the lines above it), not both",
        ),
        Needs(
            "header_row",
            "auto",
            ("columns",),
            message="header_row: auto finds the header by the names in columns:; "
            "add columns: or give the header's line number",
        ),
    )
    _rules = model_validator(mode="after")(check_rules)

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, value: object) -> object:
        return sqlite_url(with_preset(value, cls.PRESET_LIST))

    @field_validator("database")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        return None if value is None else check_database_url(value)

    @field_validator("max_bad_rows")
    @classmethod
    def _max_bad_rows(cls, value: int | str) -> int | str:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # "50", quoted
        if isinstance(value, int):
            if value < 0:
                raise ValueError(
                    "max_bad_rows: is a count of rows (0 or more) or a share such as 10%"
                )
            return value
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*%\s*", value) or float(value.strip()[:-1]) > 100:
            raise ValueError(
                f"max_bad_rows: {value!r} is neither a count of rows (such as 50) nor a share "
                "of them (such as 10%)"
            )
        return value.replace(" ", "")

    @field_validator("command", mode="before")
    @classmethod
    def _command_list(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                words = shlex.split(value)
            except ValueError:
                words = value.split()
            raise ValueError(
                f"{value!r} is one string; write it as a list: [{', '.join(words)}] "
                "(arflow runs the program itself, never through a shell)"
            )
        if isinstance(value, list) and (not value or value[0] in ("", None)):
            raise ValueError(
                "the list names no program; give the program first, then its arguments: "
                "[python3, export.py]"
            )
        return value

    @field_validator("header_row")
    @classmethod
    def _header_row(cls, value: int | str | None) -> int | str | None:
        if value is not None and value != "auto" and (isinstance(value, str) or value < 1):
            raise ValueError(
                f"{value!r} is no line; header_row: is the line the header is on "
                "(1 is the first line), or auto"
            )
        return value

    @model_validator(mode="after")
    def _check(self) -> SourceConfig:
        if self.preset is not None and self.preset not in self.PRESET_LIST:
            raise ValueError(self._unknown_preset(self.preset))
        if self.database is not None and not (self.table or self.query):
            raise ValueError("database: needs table: (a table or view) or query: (a SELECT)")
        if self.is_sqlite or self.database is not None:
            used = [
                k
                for k in ("header_row", "skip_rows", "headings", "skip_if", "preset")
                if getattr(self, k)
            ]
            if used:
                raise ValueError(
                    f"{', '.join(used)}: read CSV files only; a table or query "
                    "has its rows as they are (filter them in query:)"
                )
        if self.thousands and self.thousands == self.decimal:
            raise ValueError(f"thousands: and decimal: are both {self.decimal!r}")
        if self.date_format:
            try:
                datetime.strptime(date(2026, 1, 31).strftime(self.date_format), self.date_format)
            except ValueError:
                raise ValueError(
                    f"date_format {self.date_format!r} cannot read back the dates it "
                    "writes; use strftime codes such as %m/%d/%Y"
                ) from None
        return self

    def _unknown_preset(self, name: str) -> str:
        names = ", ".join(self.PRESET_LIST)
        for where, presets in (("invoices", PRESETS), ("payments", PAYMENT_PRESETS)):
            if where != self.PRESETS_FOR and name in presets:
                return (
                    f"preset {name!r} reads {where} exports: write it under {where}:; "
                    f"presets for {self.PRESETS_FOR} are: {names}"
                )
        return f"no preset {name!r}; presets are: {names}"

    @property
    def command_text(self) -> str:
        """The command as messages show it: `python3 export.py` (a program given by its full
        path by its name alone)."""
        if not self.command:
            return ""
        program = self.command[0]
        return shlex.join(
            [program.rsplit("/", 1)[-1] if program.startswith("/") else program, *self.command[1:]]
        )

    @property
    def is_sqlite(self) -> bool:
        return bool(self.table or self.query) and self.database is None

    @property
    def is_database(self) -> bool:
        """A database server's table or query (issue 35)."""
        return self.database is not None

    @property
    def reshapes(self) -> bool:
        """Whether rows are skipped or given values on the way in (title rows, headings,
        `skip_if`): such files are read row by row."""
        return bool(
            self.header_row not in (None, 1) or self.skip_rows or self.headings or self.skip_if
        )


class PaymentsSource(SourceConfig):
    """The payments source (issue 32): a field's column may be a list of headers (the first
    with a value in the row is read; `reference` joins all of them), and `keep_if:` keeps only
    the rows that match it."""

    PRESET_LIST: ClassVar[dict[str, dict]] = PAYMENT_PRESETS
    PRESETS_FOR: ClassVar[str] = "payments"

    columns: dict[str, str | list[str]] = {}  # type: ignore[assignment]
    keep_if: dict[str, str | list[str]] = {}

    @field_validator("columns")
    @classmethod
    def _payment_columns(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = sorted(set(value) - set(PAYMENT_FIELDS))
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: not a payment field; columns: maps arflow's "
                f"names ({', '.join(PAYMENT_FIELDS)}) to your file's headers"
            )
        return value

    @field_validator("columns", "keep_if")
    @classmethod
    def _no_empty_lists(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        empty = [k for k, v in value.items() if isinstance(v, list) and not v]
        if empty:
            raise ValueError(f"{empty[0]}: an empty list names nothing; give one or more")
        return value
