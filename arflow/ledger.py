"""Invoices and customers as loaded from a source (SPEC 2): plain slotted dataclasses, and the
Ledger that holds the invoices as a polars frame and makes objects of the rows a night needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from arflow.errors import Refused, RowError
from arflow.ledger_columns import NOT_CHASED, NOT_OWED, may_be_open, may_be_owed, may_owe
from arflow.parties import BILLING as BILLING
from arflow.parties import Contact as Contact
from arflow.parties import Customer as Customer
from arflow.reading import SourceRead

ZERO = Decimal(0)


@dataclass(slots=True, eq=False)
class Invoice:
    number: str
    customer_id: str
    issue_date: date
    due_date: date
    amount: Decimal
    balance: Decimal | None
    paid_date: date | None
    currency: str
    status: str
    line: int
    customer_name: str | None = None
    email: tuple[str, ...] = ()
    # as the row gives it (E.164 when read with `check_phones`); its customer's `phone` is
    # the number checked
    phone: str | None = None
    terms: str | None = None
    product: str | None = None
    location: str | None = None
    department: str | None = None
    segment: str | None = None
    tags: tuple[str, ...] = ()
    # other columns, kept compactly: one shared tuple of names, one tuple of values per row
    extra_names: tuple[str, ...] = ()
    extra_values: tuple[str, ...] = ()

    @property
    def extra(self) -> dict[str, str]:
        """Columns arflow has no name for, reachable as `invoice.extra.NAME` (SPEC 2.1)."""
        return dict(zip(self.extra_names, self.extra_values, strict=True))

    def open_balance(self, as_of: date) -> Decimal:
        """What is open on `as_of`: nothing on or after `paid_date`, else balance (or amount)."""
        if self.status == "paid" or (self.paid_date is not None and self.paid_date <= as_of):
            return ZERO
        return self.amount if self.balance is None else self.balance

    def owed(self, as_of: date) -> Decimal:
        """What this document adds to the customer's balance on `as_of`: its open balance once
        issued (negative for a credit note), nothing for a draft or a voided one (SPEC 2.1)."""
        if self.issue_date > as_of or self.status in NOT_OWED:
            return ZERO
        return self.open_balance(as_of)

    def is_open(self, as_of: date, min_balance: Decimal) -> bool:
        """SPEC 2.1: exists, not draft/paid/void, and an open balance above the tolerance
        `min_balance` (a balance of exactly the tolerance counts as settled)."""
        return (
            self.issue_date <= as_of
            and self.status not in NOT_CHASED
            and self.open_balance(as_of) > min_balance
        )

    def days_past_due(self, as_of: date) -> int:
        return (as_of - self.due_date).days


# --- the columnar ledger (issue 14): one frame row per good invoice, objects on demand --------
# Frame columns, in this order; money stays text (exact, turned into Decimal per object), dates
# are polars Dates, contact lists and extra values are list columns.
FRAME_SCHEMA: dict[str, pl.DataType] = {
    "number": pl.String(),
    "customer_id": pl.String(),
    "issue_date": pl.Date(),
    "due_date": pl.Date(),
    "amount": pl.String(),
    "balance": pl.String(),
    "paid_date": pl.Date(),
    "currency": pl.String(),
    "status": pl.String(),
    "line": pl.Int64(),
    "customer_name": pl.String(),
    "email": pl.List(pl.String()),
    "phone": pl.String(),
    "terms": pl.String(),
    "product": pl.String(),
    "location": pl.String(),
    "department": pl.String(),
    "segment": pl.String(),
    "tags": pl.List(pl.String()),
    "extra": pl.List(pl.String()),
}


def money_text(value: Decimal) -> str:
    """A Decimal as frame text that reads back as the same Decimal (digits and exponent)."""
    return format(value, "f")


def frame_from_invoices(invoices: Sequence[Invoice]) -> pl.DataFrame:
    """The frame of a list of invoices (the reference path, tests, rows the careful parser
    read)."""
    columns: dict[str, list] = {name: [] for name in FRAME_SCHEMA}
    for inv in invoices:
        columns["number"].append(inv.number)
        columns["customer_id"].append(inv.customer_id)
        columns["issue_date"].append(inv.issue_date)
        columns["due_date"].append(inv.due_date)
        columns["amount"].append(money_text(inv.amount))
        columns["balance"].append(None if inv.balance is None else money_text(inv.balance))
        columns["paid_date"].append(inv.paid_date)
        columns["currency"].append(inv.currency)
        columns["status"].append(inv.status)
        columns["line"].append(inv.line)
        columns["customer_name"].append(inv.customer_name)
        columns["email"].append(list(inv.email))
        columns["phone"].append(inv.phone)
        for name in ("terms", "product", "location", "department", "segment"):
            columns[name].append(getattr(inv, name))
        columns["tags"].append(list(inv.tags))
        columns["extra"].append(list(inv.extra_values))
    return pl.DataFrame(columns, schema=FRAME_SCHEMA)


def invoices_from_frame(frame: pl.DataFrame, extra_names: tuple[str, ...]) -> list[Invoice]:
    """Invoice objects for the rows of `frame` (only the rows a command needs: see Ledger)."""
    found = []
    one = dict[Any, Any]().setdefault  # a value rows share (a date, terms …): one object
    for (
        number,
        cid,
        issued,
        due,
        amount,
        balance,
        paid,
        currency,
        status,
        line,
        name,
        email,
        phone,
        terms,
        product,
        location,
        department,
        segment,
        tags,
        extra,
    ) in frame.select(list(FRAME_SCHEMA)).iter_rows():
        found.append(
            Invoice(
                number,
                one(cid, cid),
                one(issued, issued),
                one(due, due),
                Decimal(amount),
                None if balance is None else Decimal(balance),
                one(paid, paid),
                one(currency, currency),
                one(status, status),
                line,
                one(name, name),
                tuple(email) if email else (),
                phone,
                one(terms, terms),
                one(product, product),
                one(location, location),
                one(department, department),
                one(segment, segment),
                tuple(tags) if tags else (),
                extra_names if extra else (),
                tuple(extra) if extra else (),
            )
        )
    return found


class Ledger:
    """Everything a source gave: good invoices, their customers, and every rejected value.

    The invoices live in a polars frame, one row per invoice in source order; Invoice objects
    are built only for the rows a command asks for (`current`, `find`, `of_customers`), so a
    night with a million invoices makes objects for the few thousand it acts on. A ledger made
    from objects (tests, `arflow run --customer`) answers the same questions from them."""

    def __init__(
        self,
        invoices: Iterable[Invoice] | None = None,
        customers: dict[str, Customer] | None = None,
        errors: list[RowError] | None = None,
        *,
        frame: pl.DataFrame | None = None,
        extra_names: tuple[str, ...] = (),
        reads: list[SourceRead] | None = None,
        whole: Ledger | None = None,
    ):
        self._frame = frame
        self.reads: list[SourceRead] = reads or []  # how each source was read (load_ledger)
        # the ledger this one was cut from (`only`, `window`): what the sources hold as a whole
        self._whole = whole.whole if whole is not None else None
        self._objects: list[Invoice] | None = None
        if frame is None:
            self._objects = list(invoices or ())
        self.extra_names = extra_names
        self.customers: dict[str, Customer] = customers if customers is not None else {}
        self.errors: list[RowError] = errors if errors is not None else []
        self._customer_ids: set[str] | None = None  # a window's: its whole ledger's
        # issue 32: invoices that payments from the bank cover while the source shows them open
        self._received: dict[str, Decimal] = {}
        # the frame as the sources gave it, kept when `lower` first changes a balance (issue 34)
        self._sourced: pl.DataFrame | None = None

    @property
    def received(self) -> dict[str, Decimal]:
        """The invoices payments from the bank cover while the sources still show them open
        (`payment-received`: not chased, no `on_paid` before the sources confirm it), each
        with its balance in the sources."""
        return (self._whole or self)._received

    def lower(self, balances: dict[str, Decimal], received: dict[str, Decimal]) -> None:
        """Payments arflow heard of before the sources did (issue 32): these invoices' open
        balances set to `balances` in place (frame and objects), so every question asked of
        the ledger after this sees them; `received`: those the payments cover."""
        self._received = received
        if not balances:
            return
        if self._sourced is None:
            self._sourced = self.frame
        for inv in self._objects or ():
            if inv.number in balances:
                inv.balance = balances[inv.number]
        if self._frame is not None:
            texts = {number: money_text(value) for number, value in balances.items()}
            number = pl.col("number")
            self._frame = self._frame.with_columns(
                balance=pl.when(number.is_in(list(texts)))
                .then(number.replace(texts))
                .otherwise(pl.col("balance"))
            )

    def copy(self, *, sourced: bool = False) -> Ledger:
        """A ledger of these invoices with objects of its own (lowering it leaves this one as
        it is); `sourced`: as the sources give them, before payments or credits arflow heard
        of lowered them (`lower`): what `kpi` reads."""
        frame = self._sourced if sourced and self._sourced is not None else self.frame
        return Ledger(
            customers=self.customers,
            errors=self.errors,
            frame=frame,
            extra_names=self.extra_names,
            reads=self.reads,
        )

    @property
    def whole(self) -> Ledger:
        """The ledger of the whole sources this one was cut from (itself when it was not)."""
        return self._whole or self

    @property
    def invoices(self) -> list[Invoice]:
        """Every invoice as an object, in source order (built once, when first asked for)."""
        if self._objects is None:
            assert self._frame is not None
            self._objects = invoices_from_frame(self._frame, self.extra_names)
        return self._objects

    @invoices.setter
    def invoices(self, invoices: Iterable[Invoice]) -> None:
        self._objects, self._frame = list(invoices), None
        if self._whole is None:  # its own customers, found again (a cut keeps its whole's)
            self._customer_ids = None

    @property
    def frame(self) -> pl.DataFrame:
        if self._frame is None:
            self._frame = frame_from_invoices(self.invoices)
        return self._frame

    @property
    def columnar(self) -> bool:
        """Held in a polars frame (the sources' ledger), not made from objects."""
        return self._objects is None

    def with_frame(self, frame: pl.DataFrame) -> Ledger:
        """This ledger's customers and errors over `frame` (its rows, and items a night adds:
        a payment plan's instalments, a dispute's), knowing the whole ledger's customers."""
        return Ledger(
            customers=self.customers,
            errors=self.errors,
            frame=frame,
            extra_names=self.extra_names,
            reads=self.reads,
            whole=self,
        )

    def cut(self, condition: pl.Expr) -> Ledger:
        """The rows of this ledger `condition` keeps (the columnar planner's: the invoices that
        may be open, less the quiet ones), knowing the whole ledger's customers."""
        return self._part(frame=self.frame.filter(condition))

    def _part(
        self,
        rows: Iterable[Invoice] | None = None,
        *,
        frame: pl.DataFrame | None = None,
        customers: dict[str, Customer] | None = None,
    ) -> Ledger:
        """A part of this ledger (objects, or a frame) that knows the whole ledger's customers."""
        found = Ledger(
            rows,
            self.customers if customers is None else customers,
            self.errors,
            frame=frame,
            extra_names=self.extra_names,
            reads=self.reads,
            whole=self,
        )
        found._customer_ids = self.customer_ids()
        return found

    def __len__(self) -> int:
        if self._objects is not None:
            return len(self._objects)
        return len(self.frame)

    def _rows(self, condition: pl.Expr) -> list[Invoice]:
        return invoices_from_frame(self.frame.filter(condition), self.extra_names)

    def current(self, as_of: date, min_balance: Decimal) -> list[Invoice]:
        """The invoices open on `as_of` (SPEC 2.1), in source order."""
        candidates = (
            self.invoices
            if self._objects is not None
            else self._rows(may_be_open(as_of, min_balance))
        )
        return [inv for inv in candidates if inv.is_open(as_of, min_balance)]

    def owing(self, as_of: date) -> list[Invoice]:
        """The documents with something owed on them on `as_of` (`Invoice.owed`, credit notes
        included), in source order."""
        candidates = self.invoices if self._objects is not None else self._rows(may_be_owed(as_of))
        return [inv for inv in candidates if inv.owed(as_of)]

    def credit_notes(self, as_of: date) -> list[Invoice]:
        """The documents with a negative balance owed on `as_of` (credit notes)."""
        candidates = (
            self.invoices
            if self._objects is not None
            else self._rows(
                may_be_owed(as_of)
                & pl.coalesce(pl.col("balance"), pl.col("amount")).str.starts_with("-")
            )
        )
        return [inv for inv in candidates if inv.owed(as_of) < 0]

    def find(self, numbers: Iterable[str]) -> dict[str, Invoice]:
        """The invoices with these numbers, by number."""
        wanted = set(numbers)
        if not wanted:
            return {}
        found = (
            self.invoices
            if self._objects is not None
            else self._rows(pl.col("number").is_in(list(wanted)))
        )
        return {inv.number: inv for inv in found if inv.number in wanted}

    def of_customers(
        self, customer_ids: Iterable[str], *, owing_on: date | None = None
    ) -> dict[str, list[Invoice]]:
        """Each of these customers' invoices, in source order; with `owing_on`, only (at least)
        those with an open balance that day (paid ones are most of a ledger)."""
        wanted = set(customer_ids)
        found: dict[str, list[Invoice]] = {cid: [] for cid in wanted}
        if wanted:
            condition = pl.col("customer_id").is_in(list(wanted))
            if owing_on is not None:
                condition &= may_owe(owing_on)
            rows = self.invoices if self._objects is not None else self._rows(condition)
            for inv in rows:
                if inv.customer_id in wanted:
                    found[inv.customer_id].append(inv)
        return found

    def customer_ids(self) -> set[str]:
        """Every customer with at least one invoice in the source."""
        if self._customer_ids is not None:
            return self._customer_ids
        if self._objects is not None:
            return {inv.customer_id for inv in self._objects}
        self._customer_ids = set(self.frame.get_column("customer_id").unique().to_list())
        return self._customer_ids

    def window(self, first: date, last: date, numbers: Iterable[str] = ()) -> Ledger:
        """The ledger as runs from `first` to `last` see it, made into objects once (forecast
        and simulate plan day after day from it): the invoices issued by `last` and not paid
        by `first` (every invoice open, or owing, on a day of the window is one of them), and
        `numbers` (the invoices the state chased: one may be paid now, for `on_paid`). It
        knows the whole ledger's customers."""
        wanted = set(numbers)
        if self._objects is not None:
            rows = [
                inv
                for inv in self._objects
                if inv.number in wanted
                or (
                    inv.issue_date <= last
                    and inv.status != "paid"
                    and (inv.paid_date is None or inv.paid_date > first)
                )
            ]
        else:
            rows = self._rows(
                (may_owe(first) & (pl.col("issue_date") <= last))
                | pl.col("number").is_in(list(wanted))
            )
        return self._part(rows)

    def cut_to_customers(self, invoices: Iterable[Invoice], customer_ids: Iterable[str]) -> Ledger:
        """This ledger cut down to `invoices` (in the order given) and these customers, as a
        forecast's later day plans them; it knows the whole ledger's customers."""
        customers = {cid: self.customers[cid] for cid in customer_ids if cid in self.customers}
        return self._part(invoices, customers=customers)

    def only_known(self, customer_id: str) -> Ledger:
        """`--customer`: this ledger cut down to a customer the sources have; refused for one
        they do not."""
        if customer_id not in self.customers:
            raise Refused(f"--customer {customer_id!r}: no such customer in the sources")
        return self.only(customer_id)

    def only(self, customer_id: str) -> Ledger:
        """This ledger cut down to one customer (`--customer`)."""
        return Ledger(
            self.of_customers([customer_id])[customer_id],
            {k: v for k, v in self.customers.items() if k == customer_id},
            self.errors,
            reads=self.reads,
            whole=self,
        )
