"""The customers file or table (SPEC 2.2), and one Customer per id from it and the invoices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence

import polars as pl

from arflow.calendar import parse_terms
from arflow.config import CUSTOMER_FIELDS, SourceConfig
from arflow.errors import RowError
from arflow.ledger import Customer
from arflow.locales import locale_code
from arflow.phones import GivenPhone, first_of
from arflow.reading import SourceRead
from arflow.sources.columns import (
    CONTROL,
    PYTHON_ONLY_SPACE,
    email_column,
    mapped,
    none_if_empty,
    phone_column,
)
from arflow.sources.frames import LINE, TextRows
from arflow.sources.invoices import keyed
from arflow.sources.rows import column_index, has_control_character
from arflow.sources.understood import check_share
from arflow.sources.values import ValueParser, truthy

Report = Callable[[int, str | None, str | None, str], None]  # (line, column, value, message)
# a number as a row gives it (value, line): checked now, or when a message needs it
PhoneOf = Callable[[str | None, int], GivenPhone | str | None]


def phone_of(
    parser: ValueParser, where: Callable[[int], tuple[str, int, str]], errors: list[RowError]
) -> PhoneOf:
    """How a source's numbers are kept: a number the parser checked already as it is (E.164),
    else as given, to be checked (and reported at `where(line)`, in `errors`) when first
    asked for."""

    def given(value: str | None, line: int) -> GivenPhone | str | None:
        if value is None or parser.checks_phones:
            return value
        return GivenPhone(value, parser.region, where(line), errors)

    return given


def build_customers(
    header: Sequence[str],
    read: Callable[[], TextRows],
    source: SourceConfig,
    display: str,
    parser: ValueParser,
    *,
    careful: bool = False,
) -> tuple[dict[str, Customer], list[RowError], SourceRead]:
    """The customers file or table; a bad or duplicated row is reported and held back.
    `read()` gives the rows once the header has been checked. Clean rows are read column by
    column; a row with anything unusual in it row by row (`_customer`), which says what is
    wrong (every row, with `careful`)."""
    idx = column_index(header, source, CUSTOMER_FIELDS, ("customer_id",), display, "customers")
    used = set(idx.values())
    extra_cols = [(i, h) for i, h in enumerate(header) if i not in used and h.strip()]
    errors: list[RowError] = []

    def error(line: int, column: str | None, value: str | None, message: str) -> None:
        name = header[idx[column]].strip() if column in idx else column
        errors.append(RowError(display, line, name, value, message))

    text, problems, empty = read()
    for line, problem in problems:
        error(line, None, None, problem)
    typed = _typed(text, idx, parser, careful)
    phones = phone_of(parser, lambda line: (display, line, header[idx["phone"]].strip()), errors)
    found, lines = _customers(text, typed, idx, extra_cols, (parser, phones), error)
    for key, at in lines.items():
        if len(at) > 1:
            found.pop(key, None)
            for line in at:
                error(
                    line,
                    "customer_id",
                    key,
                    f"customer {key!r} appears on lines "
                    f"{', '.join(map(str, at))}; all copies are held back, keep one row per "
                    "customer",
                )
    read_as = SourceRead(
        "customers",
        display,
        {f: header[i].strip() for f, i in idx.items()},
        tuple(h for _, h in extra_cols),
        rows=len(text) + len(problems),
        kept=len(found),
        empty=empty,
    )
    check_share(read_as, source, errors, lambda: {c.line for c in found.values()})
    if source.is_database:  # issue 35: a table's row named by its customer id
        ids = text.get_column(f"c{idx['customer_id']}").str.strip_chars()
        errors = keyed(errors, text.get_column(LINE), ids)
    return found, errors, read_as


def _typed(
    text: pl.DataFrame, idx: dict[str, int], parser: ValueParser, careful: bool
) -> pl.DataFrame:
    """Every row's values, column by column, with `slow`: the rows to read one by one (all of
    them with `careful`)."""
    n = len(text)

    def stripped(field: str) -> pl.Series:
        return (
            text.get_column(f"c{idx[field]}").str.strip_chars()
            if field in idx
            else pl.repeat("", n, dtype=pl.String, eager=True)
        )

    slow = (
        text.select(
            pl.any_horizontal(
                pl.col([f"c{i}" for i in set(idx.values())]).str.contains(PYTHON_ONLY_SPACE)
            )
        ).to_series()
        if n
        else pl.Series([], dtype=pl.Boolean)
    )
    cid = stripped("customer_id")
    slow |= (cid == "") | cid.str.contains(CONTROL)
    email, bad = email_column(stripped("email"), parser)
    slow |= bad
    phone, bad = phone_column(stripped("phone"), parser)
    slow |= bad
    paused, bad = mapped(stripped("paused"), truthy, pl.Boolean())
    slow |= bad
    _, bad = mapped(stripped("terms"), lambda v: bool(parse_terms(v)) if v else None, pl.Boolean())
    slow |= bad
    currency = stripped("currency").str.to_uppercase()
    slow |= (currency != "") & ~currency.str.contains(r"^[A-Z]{3}$")
    language, bad = mapped(
        stripped("language"), lambda v: locale_code(v) if v else None, pl.String()
    )
    slow |= bad
    return pl.DataFrame(
        {
            "slow": slow.fill_null(True) | careful,
            "line": text.get_column(LINE),
            "customer_id": cid,
            "name": none_if_empty(stripped("name")),
            "email": email,
            "phone": phone,
            "workflow": none_if_empty(stripped("workflow")),
            "specialist": none_if_empty(stripped("specialist")),
            "parent_id": none_if_empty(stripped("parent_id")),
            "currency": none_if_empty(currency),
            "language": language,
            "timezone": none_if_empty(stripped("timezone")),
            "terms": none_if_empty(stripped("terms")),
            "segment": none_if_empty(stripped("segment")),
            "paused": paused.fill_null(False),
        }
    )


def _customers(
    text: pl.DataFrame,
    typed: pl.DataFrame,
    idx: dict[str, int],
    extra_cols: list[tuple[int, str]],
    parsers: tuple[ValueParser, PhoneOf],
    error: Report,
) -> tuple[dict[str, Customer], dict[str, list[int]]]:
    """A Customer per good row (a slow row read by `_customer`), and the lines each customer
    id is on (held-back rows too: a copy of a bad row is still a copy)."""
    extras = text.select([f"c{i}" for i, _ in extra_cols]).iter_rows() if extra_cols else None
    names = [h for _, h in extra_cols]
    found: dict[str, Customer] = {}
    lines: dict[str, list[int]] = defaultdict(list)
    one = dict[str | None, str | None]().setdefault  # a value customers share: one object
    for k, (is_slow, line, *values) in enumerate(typed.iter_rows()):
        extra = dict(zip(names, next(extras), strict=True)) if extras is not None else None
        if is_slow:
            row = text.row(k)[:-1]
            customer = _customer(row, line, idx, extra_cols, parsers, error)
            if customer is None:
                if (key := row[idx["customer_id"]].strip()) and not has_control_character(key):
                    lines[key].append(line)
                continue
        else:
            (
                key,
                name,
                email,
                phone,
                workflow,
                specialist,
                parent_id,
                currency,
                language,
                timezone,
                terms,
                segment,
                paused,
            ) = values
            customer = Customer(
                key,
                name,
                tuple(email) if email else (),
                parsers[1](phone, line),
                one(workflow, workflow),
                one(specialist, specialist),
                parent_id,
                one(currency, currency),
                one(language, language),
                one(timezone, timezone),
                one(terms, terms),
                one(segment, segment),
                paused,
                extra or None,
                line,
            )
        lines[customer.customer_id].append(line)
        found[customer.customer_id] = customer
    return found, lines


def _customer(
    values: Sequence[str],
    line: int,
    idx: dict[str, int],
    extra_cols: list[tuple[int, str]],
    parsers: tuple[ValueParser, PhoneOf],
    error: Report,
) -> Customer | None:
    """One row read carefully: every problem is reported; None when the row is held back."""

    def get(field: str) -> str:
        i = idx.get(field)
        return "" if i is None else values[i].strip()

    cid = get("customer_id")
    if not cid or has_control_character(cid):
        error(
            line,
            "customer_id",
            cid,
            "empty customer id; every row needs one"
            if not cid
            else "the customer id contains a control character; fix it in the source",
        )
        return None
    parser, phones = parsers
    emails, phone, problems = parser.contacts(get("email"), get("phone"))
    for column, raw, message in problems:
        error(line, column, raw, message)
    checked = _checked(get, line, error)
    if checked is None:
        return None
    paused, currency, language = checked
    return Customer(
        customer_id=cid,
        name=get("name") or None,
        email=emails,
        given_phone=phones(phone, line),
        workflow=get("workflow") or None,
        specialist=get("specialist") or None,
        parent_id=get("parent_id") or None,
        currency=currency or None,
        language=language,
        timezone=get("timezone") or None,
        terms=get("terms") or None,
        segment=get("segment") or None,
        paused=paused,
        extra={h: values[i] for i, h in extra_cols} or None,
        line=line,
    )


def _checked(
    get: Callable[[str], str], line: int, error: Report
) -> tuple[bool, str, str | None] | None:
    """(paused, currency, language) of a row read carefully; None, with every problem
    reported, when one holds the row back."""
    bad = False
    paused = False
    try:
        paused = truthy(get("paused"))
    except ValueError as exc:
        error(line, "paused", get("paused"), str(exc))
        bad = True
    if get("terms"):
        try:
            parse_terms(get("terms"))
        except ValueError as exc:
            error(line, "terms", get("terms"), str(exc))
            bad = True
    currency = get("currency").upper()
    if currency and (len(currency) != 3 or not currency.isalpha()):
        error(line, "currency", get("currency"), "not an ISO 4217 currency code such as USD or EUR")
        bad = True
    language = None
    if get("language"):
        try:
            language = locale_code(get("language"))
        except ValueError as exc:
            error(line, "language", get("language"), str(exc))
            bad = True
    return None if bad else (paused, currency, language)


def _merge_phones(invoices: pl.DataFrame, customers: dict[str, Customer], phones: PhoneOf) -> None:
    """A customer's number: its own, else its invoice rows' in file order, the first valid
    one winning (`phones.first_of`); each distinct number once, at the first row giving it."""
    written = (
        invoices.filter(pl.col("phone").is_not_null())
        .unique(subset=["customer_id", "phone"], keep="first", maintain_order=True)
        .group_by("customer_id", maintain_order=True)
        .agg(pl.col("phone"), pl.col("line"))
    )
    for cid, numbers, lines in written.iter_rows():
        c = customers[cid]
        given = [phones(text, line) for text, line in zip(numbers, lines, strict=True)]
        c.given_phone = first_of([c.given_phone, *given])


def merge_customers(
    invoices: pl.DataFrame,
    from_file: dict[str, Customer],
    columns: Collection[str],
    phones: PhoneOf | None = None,
) -> dict[str, Customer]:
    """One Customer per id: customers-file values win, invoice rows fill what the file leaves
    empty (the first row that has a value gives it; a phone number: the first valid one of the
    customer's own and its rows', as `phones` keeps the invoice source's). A group-by over the
    ledger's frame, and only for the `columns` the invoice source has: most carry no contact
    columns at all."""
    customers = dict(from_file)
    ids = invoices.get_column("customer_id")
    for cid in ids.unique(maintain_order=True).to_list():
        if cid not in customers:
            customers[cid] = Customer(cid)
    wanted = [
        (column, attribute, empty)
        for column, attribute, empty in (
            ("customer_name", "name", None),
            ("email", "email", ()),
            ("phone", "given_phone", None),
            ("segment", "segment", None),
        )
        if column in columns
    ]
    if not wanted or invoices.is_empty():
        return customers
    has = {"email": pl.col("email").list.len() > 0}
    plain = [w for w in wanted if w[1] != "given_phone"]
    firsts = invoices.group_by("customer_id", maintain_order=True).agg(
        pl.col(column).filter(has.get(column, pl.col(column).is_not_null())).first()
        for column, _, _ in plain
    )
    for cid, *values in firsts.iter_rows() if plain else ():
        c = customers[cid]
        for (_, attribute, empty), value in zip(plain, values, strict=True):
            if value and getattr(c, attribute) == empty:
                setattr(c, attribute, tuple(value) if attribute == "email" else value)
    if "phone" in columns:
        _merge_phones(invoices, customers, phones or (lambda text, _: text))
    return customers
