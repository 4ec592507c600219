"""The customers file or table (SPEC 2.2), and one Customer per id from it and the invoices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from itertools import chain

import polars as pl

from arflow.calendar import parse_terms
from arflow.config import CUSTOMER_FIELDS, SourceConfig
from arflow.errors import RowError
from arflow.ledger import Customer
from arflow.sources.csvfile import Blocks
from arflow.sources.rows import column_index, has_control_character, shape_problem
from arflow.sources.values import ValueParser, truthy


def build_customers(header: Sequence[str], blocks: Blocks, source: SourceConfig, display: str,
                    parser: ValueParser) -> tuple[dict[str, Customer], list[RowError]]:
    """The customers file or table; a bad or duplicated row is reported and held back."""

    idx = column_index(header, source, CUSTOMER_FIELDS, ("customer_id",), display, "customers")
    used = set(idx.values())
    extra_cols = [(i, h) for i, h in enumerate(header) if i not in used and h.strip()]
    errors: list[RowError] = []

    def error(line: int, column: str | None, value: str | None, message: str) -> None:
        name = header[idx[column]].strip() if column in idx else column
        errors.append(RowError(display, line, name, value, message))

    found: dict[str, Customer] = {}
    lines: dict[str, list[int]] = defaultdict(list)
    width = len(header)
    for line, values in chain.from_iterable(zip(at, rows, strict=True) for at, rows in blocks):
        problem = shape_problem(values, width)
        if problem is not None:
            if problem:
                error(line, None, None, problem)
            continue

        def get(field: str, values: list[str] = values) -> str:
            i = idx.get(field)
            return "" if i is None else values[i].strip()

        cid = get("customer_id")
        if not cid or has_control_character(cid):
            error(line, "customer_id", cid, "empty customer id; every row needs one" if not cid
                  else "the customer id contains a control character; fix it in the source")
            continue
        lines[cid].append(line)
        bad = False
        emails, phone, problems = parser.contacts(get("email"), get("phone"))
        for column, raw, message in problems:
            error(line, column, raw, message)
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
            error(line, "currency", get("currency"),
                  "not an ISO 4217 currency code such as USD or EUR")
            bad = True
        if bad:
            continue
        found[cid] = Customer(
            customer_id=cid, name=get("name") or None, email=emails, phone=phone,
            workflow=get("workflow") or None, specialist=get("specialist") or None,
            parent_id=get("parent_id") or None, currency=currency or None,
            language=get("language") or None, timezone=get("timezone") or None,
            terms=get("terms") or None, segment=get("segment") or None, paused=paused,
            extra={h: values[i] for i, h in extra_cols} or None, line=line)
    for cid, at in lines.items():
        if len(at) > 1:
            found.pop(cid, None)
            for line in at:
                error(line, "customer_id", cid, f"customer {cid!r} appears on lines "
                      f"{', '.join(map(str, at))}; all copies are held back, keep one row per "
                      "customer")
    return found, errors


def merge_customers(invoices: pl.DataFrame, from_file: dict[str, Customer],
                    columns: Collection[str]) -> dict[str, Customer]:
    """One Customer per id: customers-file values win, invoice rows fill what the file leaves
    empty (the first row that has a value gives it). A group-by over the ledger's frame, and
    only for the `columns` the invoice source has: most carry no contact columns at all."""
    customers = dict(from_file)
    ids = invoices.get_column("customer_id")
    for cid in ids.unique(maintain_order=True).to_list():
        if cid not in customers:
            customers[cid] = Customer(cid)
    wanted = [(column, attribute, empty) for column, attribute, empty in (
        ("customer_name", "name", None), ("email", "email", ()), ("phone", "phone", None),
        ("segment", "segment", None)) if column in columns]
    if not wanted or invoices.is_empty():
        return customers
    has = {"email": pl.col("email").list.len() > 0}
    firsts = invoices.group_by("customer_id", maintain_order=True).agg(
        pl.col(column).filter(has.get(column, pl.col(column).is_not_null())).first()
        for column, _, _ in wanted)
    for cid, *values in firsts.iter_rows():
        c = customers[cid]
        for (_, attribute, empty), value in zip(wanted, values, strict=True):
            if value and getattr(c, attribute) == empty:
                setattr(c, attribute, tuple(value) if attribute == "email" else value)
    return customers
