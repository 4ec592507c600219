"""OFX and QFX statements (issue 32): each credit as a payment, read with `ofxtools` (a
maintained OFX parser: SGML v1 and XML v2, the header, the aggregates' types).

A transaction with an amount above 0 is a payment: its posting day, its amount in the
statement's currency (or the transaction's own), its memo as the reference, its name (or the
payee's) as the payer, its `FITID` (the bank's id, the same in every download) as its id.
Debits are passed over and counted. A file ofxtools cannot read is refused whole, with its
words.
"""

from __future__ import annotations

from pathlib import Path

from arflow.errors import RowError, SourceRefused
from arflow.payments.match import ZERO, Payment


def read_ofx(
    path: Path, shown: str, default_currency: str
) -> tuple[list[Payment], list[RowError], int]:
    """(payments, bad transactions, transactions passed over) of an OFX or QFX file."""
    from ofxtools.Parser import OFXTree  # only when a folder reads OFX: 0.1 s to import

    try:
        parser = OFXTree()
        parser.parse(str(path))
        ofx = parser.convert()
    except Exception as exc:  # ofxtools raises its own kinds, and ValueError, for a bad file
        raise SourceRefused(
            "payments", f"{shown}: not an OFX statement ofxtools can read: {exc}", "path"
        ) from None
    payments: list[Payment] = []
    passed = 0
    for statement in ofx.statements:
        currency = str(statement.curdef or default_currency)
        for txn in statement.transactions:
            if txn.trnamt is None or txn.trnamt <= ZERO:
                passed += 1
                continue
            own = txn.currency.cursym if getattr(txn, "currency", None) else None
            payer = txn.name or (txn.payee.name if getattr(txn, "payee", None) else None)
            payments.append(
                Payment(
                    str(txn.fitid),
                    txn.dtposted.date(),
                    txn.trnamt,
                    str(own or currency),
                    str(txn.memo or ""),
                    str(payer) if payer else None,
                    None,
                )
            )
    return payments, [], passed
