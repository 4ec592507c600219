"""What the invoice and customer parsers share: finding the columns, checking a row's shape,
and the small text rules both apply. The parsers: `invoices` (row by row, saying what is
wrong), `columns` (the fast path for clean rows) and `customers`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from arflow.config import SourceConfig
from arflow.errors import ArflowError
from arflow.sources.csvfile import BadRow


def split_tags(raw: str) -> tuple[str, ...]:
    """A tags cell split on commas or semicolons, blanks dropped."""
    return tuple(t.strip() for t in raw.replace(";", ",").split(",") if t.strip())


def shape_problem(values: Sequence[str], width: int) -> str | None:
    """Why a row cannot be read as `width` values ("" for a blank line, None when fine)."""
    if isinstance(values, BadRow):
        return values.message
    if not any(v.strip() for v in values):
        return ""  # a blank line, or one of empty values (`,,,,`), is not a row
    if len(values) == width:
        return None
    message = (
        f"row has {len(values)} values but the header has {width} columns; fix the "
        "quoting or the delimiter on this line"
    )
    swallowed = sum(v.rstrip("\r\n").count("\n") for v in values)
    if swallowed:
        message += (
            f" (the next {swallowed} line{'s' if swallowed > 1 else ''} were read into "
            "this row: look for an unclosed quote)"
        )
    return message


def has_control_character(text: str) -> bool:
    """A NUL, tab, line break or other control character: never right in an id."""
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def column_index(
    header: Sequence[str],
    source: SourceConfig,
    fields: Sequence[str],
    required: Sequence[str],
    display: str,
    setting: str,
) -> dict[str, int]:
    """Where each canonical field sits: `columns:` mapping first, else a header of that name."""
    by_name: dict[str, int] = {}
    twice: set[str] = set()
    for i, name in enumerate(header):
        key = name.strip().casefold()
        if key in by_name:
            twice.add(key)
        by_name.setdefault(key, i)
    index: dict[str, int] = {}
    for field in fields:
        wanted = source.columns.get(field, field)
        if wanted.strip().casefold() in twice:
            raise ArflowError(
                f"{display}: the header has two {wanted!r} columns; arflow cannot "
                "tell which one holds the " + field.replace("_", " ") + ": rename one of them"
            )
        found = by_name.get(wanted.strip().casefold())
        if found is None and field in source.columns:
            raise ArflowError(
                f"{display}: columns: maps {field} to {wanted!r}, but there is no such column "
                f"(columns are: {', '.join(header)}); fix columns: under {setting}: in arflow.yaml"
            )
        if found is not None:
            index[field] = found
    _no_lookalikes(header, index, fields, source, display, setting)
    missing = [f for f in required if f not in index]
    if missing:
        raise ArflowError(
            f"{display}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (columns are: {', '.join(header)}); rename the column or map it "
            f"with columns: {{{missing[0]}: YOUR_HEADER}} under {setting}: in arflow.yaml"
        )
    return index


def _no_lookalikes(
    header: Sequence[str],
    index: dict[str, int],
    fields: Sequence[str],
    source: SourceConfig,
    display: str,
    setting: str,
) -> None:
    """An unused column whose name looks like a field the source has no column for (`e-mail`
    beside no `email`) is surely that field, misspelt: ArflowError with the fix (unless
    `not_fields:` says it is not)."""
    used = set(index.values()) | {
        i
        for i, name in enumerate(header)
        if name.strip().casefold() in _casefolded(source.not_fields)
    }
    absent = [f for f in fields if f not in index]
    similar = [
        (name.strip(), like)
        for i, name in enumerate(header)
        if i not in used and (like := looks_like(name, absent))
    ]
    if similar:
        raise ArflowError(
            f"{display}: "
            + "; ".join(
                f"column {name!r} looks like `{like}`, which arflow reads from a column of that "
                f"name: rename the column to {like}, or add columns: {{{like}: {yaml_text(name)}}} "
                f"(or not_fields: [{yaml_text(name)}] if it is something else)"
                for name, like in similar
            )
            + f" under {setting}: in arflow.yaml"
        )


def _casefolded(names: Iterable[str]) -> set[str]:
    return {n.strip().casefold() for n in names}


def _normal(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


# other words exports use for a field's column
SYNONYMS = {
    "emailaddress": "email",
    "mail": "email",
    "phonenumber": "phone",
    "mobile": "phone",
    "telephone": "phone",
    "invoicenumber": "number",
    "invoiceno": "number",
    "customerid": "customer_id",
    "duedate": "due_date",
    "invoicedate": "issue_date",
}


def looks_like(name: str, fields: Iterable[str]) -> str | None:
    """The field an unknown column's name looks like, if one: the same letters and digits
    (`e-mail`, `Due Date`), a usual other word (`Phone Number`), or one slip of a key
    (`ammount`, `emial`: a letter more, less, changed, or two swapped). A name that holds a
    field's name and more (`product_id`, `Email2`, `Parent` beside `parent_id`) is another
    column, and so is one two slips away (Xero's `Current` aging bucket is no `currency`)."""
    key = _normal(name)
    if len(key) < 4:
        return None
    for field in fields:
        normal = _normal(field)
        if key == normal or SYNONYMS.get(key) == field:
            return field
        if normal in key or key in normal:
            continue
        if len(key) >= 5 and one_slip(key, normal):
            return field
    return None


def one_slip(a: str, b: str) -> bool:
    """Whether `a` and `b` differ by one typing slip: a character added, dropped or changed,
    or two neighbours swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    start = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    rest_a, rest_b = a[start:], b[start:]
    return (
        rest_a[1:] == rest_b[1:]  # changed
        or rest_a[1:] == rest_b  # added
        or rest_a == rest_b[1:]  # dropped
        or (
            len(rest_a) > 1
            and rest_a[0] == rest_b[1:2]
            and rest_a[1] == rest_b[0:1]
            and rest_a[2:] == rest_b[2:]
        )
    )


def yaml_text(text: str) -> str:
    """A header as a YAML value in a fix to paste: quoted unless it is plain words."""
    return text if re.fullmatch(r"[A-Za-z][A-Za-z0-9 _.-]*", text) else json.dumps(text)
