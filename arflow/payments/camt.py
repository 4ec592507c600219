"""ISO 20022 camt.053 bank statements (issue 32): each credit entry's transactions as payments.

Read with the standard library's XML parser (expat: no external entities, no DTD fetched), by
local element names so every published version (camt.053.001.02 to .13) reads alike. A booked
credit entry (`CdtDbtInd` CRDT, `Sts` BOOK or none) gives one payment per transaction detail
(`NtryDtls/TxDtls`), or one for the entry when it has none: amount and currency (the
transaction's own, else the entry's), the booking date (else the value date), the remittance
information (`RmtInf/Ustrd`, else the structured creditor reference) as the reference, the
debtor's name and IBAN (or other account id) as payer, and the bank's reference as the id.
Debits and pending entries are passed over and counted; an entry without a readable amount or
date is a bad row, named by its position (`Ntry` n) and held back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from arflow.errors import RowError, SourceRefused
from arflow.payments.match import ZERO, Payment, with_ids

CREDIT, BOOKED = "CRDT", ("BOOK", "")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(node: ET.Element | None, *path: str) -> ET.Element | None:
    """The first descendant along `path` (local names; `*` any one level)."""
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if name in ("*", _local(c.tag))), None)
    return node


def _text(node: ET.Element | None, *path: str) -> str:
    found = _find(node, *path)
    return (found.text or "").strip() if found is not None else ""


def _entries(root: ET.Element) -> Iterator[ET.Element]:
    for node in root.iter():
        if _local(node.tag) == "Ntry":
            yield node


def read_camt(
    path: Path, shown: str, default_currency: str
) -> tuple[list[Payment], list[RowError], int]:
    """(payments, bad entries, entries passed over) of a camt.053 file."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise SourceRefused(
            "payments", f"{shown}: not a camt.053 statement: {exc}", "path"
        ) from None
    if not _local(root.tag) == "Document" or _find(root, "BkToCstmrStmt") is None:
        raise SourceRefused(
            "payments",
            f"{shown}: not a camt.053 statement (no Document/BkToCstmrStmt); give the bank's "
            "statement export, or a CSV",
            "path",
        )
    payments: list[Payment] = []
    errors: list[RowError] = []
    passed = 0
    for n, entry in enumerate(_entries(root), start=1):
        if _text(entry, "CdtDbtInd") != CREDIT or _text(entry, "Sts") not in BOOKED:
            passed += 1
            continue
        try:
            payments += _payments(entry, n, default_currency)
        except ValueError as exc:
            errors.append(RowError(shown, n, "Ntry", None, f"entry {n}: {exc}"))
    return with_ids(payments), errors, passed


def _payments(entry: ET.Element, n: int, default_currency: str) -> list[Payment]:
    day_text = _text(entry, "BookgDt", "Dt") or _text(entry, "ValDt", "Dt")
    try:
        day = date.fromisoformat(day_text[:10])
    except ValueError:
        raise ValueError(f"no booking date ({day_text!r}); the statement is not readable") from None
    holder = _find(entry, "NtryDtls")
    details = [d for d in holder if _local(d.tag) == "TxDtls"] if holder is not None else []
    found = []
    for k, tx in enumerate(details or [entry]):
        amount_node = _find(tx, "AmtDtls", "TxAmt", "Amt") if len(details) > 1 else None
        if amount_node is None and len(details) > 1:
            raise ValueError("a batch booking without each transaction's amount (TxAmt)")
        if amount_node is None:
            amount_node = _find(entry, "Amt")
        if amount_node is None:
            raise ValueError("no amount")
        try:
            amount = Decimal((amount_node.text or "").strip())
        except InvalidOperation:
            raise ValueError(f"amount {amount_node.text!r} is not a number") from None
        if not amount.is_finite() or amount <= ZERO:
            raise ValueError(f"amount {amount_node.text!r} is not a credit")
        currency = amount_node.get("Ccy") or default_currency
        reference = _text(tx, "RmtInf", "Ustrd") or _text(tx, "RmtInf", "Strd", "CdtrRefInf", "Ref")
        payer = _text(tx, "RltdPties", "Dbtr", "Nm") or _text(tx, "RltdPties", "Dbtr", "Pty", "Nm")
        account = _text(tx, "RltdPties", "DbtrAcct", "Id", "IBAN") or _text(
            tx, "RltdPties", "DbtrAcct", "Id", "Othr", "Id"
        )
        own = _text(tx, "Refs", "AcctSvcrRef") or _text(entry, "AcctSvcrRef")
        pid = f"{own}/{k}" if own and len(details) > 1 else own
        found.append(
            Payment(
                pid or "",  # made from its fields by `with_ids`
                day,
                amount,
                currency,
                reference,
                payer or None,
                account or None,
            )
        )
    return found
