"""The contacts source (issue 33): people at each customer, each in a role the user names
(`billing` by convention), with their own email, phone and language. Read with the customers'
rules: a bad address, number or language is left out and reported, the row kept; a row without
a customer or a role, or of a customer the sources do not have, is held back and named."""

from __future__ import annotations

from contextlib import closing

from arflow.config import CONTACT_FIELDS, Config
from arflow.errors import RowError
from arflow.ledger import Contact, Customer
from arflow.locales import locale_code
from arflow.reading import SourceRead
from arflow.sources.csvfile import Blocks
from arflow.sources.rows import column_index, shape_problem
from arflow.sources.values import ValueParser

REQUIRED = ("customer_id", "role")


def read_contacts(
    config: Config,
    opened: tuple[str, list[str], Blocks],
    customers: dict[str, Customer],
    errors: list[RowError],
) -> SourceRead:
    """Each customer's contacts from the `contacts:` source (`opened`: its display name,
    header and rows), set on `customers`; the bad values and rows appended to `errors`."""
    source = config.contacts
    assert source is not None
    display, header, blocks = opened
    index = column_index(header, source, CONTACT_FIELDS, REQUIRED, display, "contacts")
    parser = ValueParser(source, "contacts", config.company.region)
    read = SourceRead("contacts", display, {f: header[i].strip() for f, i in index.items()})
    found: dict[str, list[Contact]] = {}
    with closing(blocks):
        for lines, rows in blocks:
            for line, row in zip(lines, rows, strict=True):
                problem = shape_problem(row, len(header))
                if problem == "":
                    continue
                read.rows += 1
                if problem is not None:
                    errors.append(RowError(display, line, None, None, problem))
                    continue
                contact = _contact(
                    row, index, parser, customers, display, line, errors, source.is_database
                )
                if contact is not None:
                    read.kept += 1
                    found.setdefault(row[index["customer_id"]].strip(), []).append(contact)
    for cid, contacts in found.items():
        customers[cid].contacts = tuple(contacts)
    for customer in customers.values():
        customer.company_language = config.company.locale
    return read


def _contact(
    row: list[str],
    index: dict[str, int],
    parser: ValueParser,
    customers: dict[str, Customer],
    display: str,
    line: int,
    errors: list[RowError],
    database: bool = False,
) -> Contact | None:
    def cell(name: str) -> str:
        at = index.get(name)
        return row[at].strip() if at is not None else ""

    def bad(name: str, message: str) -> None:
        key = (cell("customer_id") or None) if database else None  # issue 35: a table's row
        errors.append(RowError(display, line, name, cell(name), message, key))

    cid, role = cell("customer_id"), cell("role").lower()
    if not cid or cid not in customers:
        bad(
            "customer_id",
            "no such customer in the invoices or customers source" if cid else "empty",
        )
        return None
    if not role:
        bad("role", "empty: give the contact's role (billing, ap, owner …)")
        return None
    emails, phone, problems = parser.contacts(cell("email"), cell("phone"))
    for column, _, message in problems:
        bad(column, message)
    language = None
    if cell("language"):
        try:
            language = locale_code(cell("language"))
        except ValueError as exc:
            bad("language", str(exc))
    return Contact(role, cell("name") or None, emails, phone, language)
