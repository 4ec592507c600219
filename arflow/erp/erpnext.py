"""`preset: erpnext`: ERPNext's own MariaDB (or MySQL) database, read as arflow's invoices,
customers and contacts.

Written from the DocType files of ERPNext and Frappe (github frappe/erpnext, read at commit
009e04270a of sales_invoice.json, 003ddffd01 of customer.json and 0b601d8cae of
payment_ledger_entry.json; github frappe/frappe, at
037836f60e of contact.json and 00e557698b of dynamic_link.json). Frappe keeps each DocType in
a table named `tab` + its name, with the columns every document has (`name` varchar(140) the
key, `docstatus` 0 draft, 1 submitted, 2 cancelled; a child table's row has `parent`,
`parenttype`, `parentfield`) and one column per field, typed by frappe/database/mariadb/
database.py: Data, Link, Dynamic Link, Select and Read Only `varchar(140)`, Small Text
`text`, Date `date`, Currency and Float `decimal(21,9)`, Check `int(1)`.

- erpnext/accounts/doctype/sales_invoice/sales_invoice.json (`tabSales Invoice`): `customer`
  (Link Customer), `customer_name` (Small Text), `posting_date`, `due_date` (Date), `is_return`
  (Check: "Is Return (Credit Note)"; its totals are negative), `currency` (Link Currency, the
  invoice's), `conversion_rate` (Float: company currency per unit of it), `grand_total`,
  `rounded_total` (Currency, in the invoice's currency; `rounded_total` is 0 when
  `disable_rounded_total`), `outstanding_amount` (Currency in `party_account_currency`, the
  currency of the customer's receivable account), `status` (Select: Draft, Return, Credit Note
  Issued, Submitted, Paid, Partly Paid, Unpaid, Unpaid and Discounted, Partly Paid and
  Discounted, Overdue and Discounted, Overdue, Cancelled, Internal Transfer), `contact_email`
  (Data), `contact_mobile` (Small Text). Supplier invoices are another DocType (`tabPurchase
  Invoice`), never read.
- erpnext/selling/doctype/customer/customer.json (`tabCustomer`): `customer_name` (Data),
  `customer_group` (Link), `default_currency` (Link Currency: "Billing Currency"), `language`
  (Link Language: `de`, `pt-BR`), `email_id`, `mobile_no` (Read Only, fetched from
  `customer_primary_contact`), `disabled` (Check). A customer has no parent customer.
- erpnext/accounts/doctype/payment_ledger_entry/payment_ledger_entry.json (`tabPayment Ledger
  Entry`, ERPNext 14 and later: one row per amount booked to a receivable, the invoice's own
  and each payment or credit note allocated to it): `posting_date` (Date),
  `against_voucher_type`, `against_voucher_no` (the invoice it settles), `delinked` (Check:
  1 once the payment is cancelled or unallocated).
- frappe/contacts/doctype/contact/contact.json (`tabContact`): `first_name`, `last_name`,
  `email_id`, `phone`, `mobile_no` (Data), `is_primary_contact`, `unsubscribed` (Check),
  `links` (Table of Dynamic Link); frappe/core/doctype/dynamic_link/dynamic_link.json
  (`tabDynamic Link`): `link_doctype` (Link DocType), `link_name` (Dynamic Link).

What the preset reads:

- **invoices**: submitted Sales Invoices only (`docstatus = 1`: drafts are 0, cancelled ones
  2), credit notes (`is_return`) with their negative totals as they are. The amount is the
  rounded total (the grand total where rounding is off); the balance is `outstanding_amount`,
  brought back to the invoice's currency (divided by `conversion_rate`) where the customer's
  receivable account keeps another one. `status` goes through `status_map`: Paid → paid,
  Cancelled → void, Draft → draft, every other → open. An invoice with nothing outstanding
  was paid on the last day booked against it in the payment ledger (its last payment or
  credit note; a POS invoice's own day).
- **customers**: every customer, keyed by its `name` as on the invoices; its primary contact's
  email and mobile, billing currency, language and customer group
  (as `segment`).
- **contacts**: the contacts linked to a customer (`tabDynamic Link`, `link_doctype =
  'Customer'`) that have an email or a phone and have not unsubscribed: the primary contact
  as `billing`, the others as `contact`; the mobile number before the phone."""

from __future__ import annotations

from typing import Any

# the outstanding amount in the invoice's currency: `outstanding_amount` is in the currency
# of the customer's receivable account, the company's unless the customer has its own
OUTSTANDING = """\
CASE WHEN si.party_account_currency IS NULL OR si.party_account_currency = ''
          OR si.party_account_currency = si.currency OR si.conversion_rate = 0
     THEN si.outstanding_amount
     ELSE ROUND(si.outstanding_amount / si.conversion_rate, 2) END"""


def _exact(expr: str) -> str:
    """A decimal(21,9) as text without the zeros Frappe pads it with (`1200.400000000` reads
    `1200.4`): the currency's own digits, exactly."""
    return f"TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({expr} AS CHAR)))"


INVOICES = f"""\
SELECT si.name AS number,
       si.customer AS customer_id,
       si.customer_name AS customer_name,
       si.contact_email AS email,
       si.contact_mobile AS phone,
       si.posting_date AS issue_date,
       si.due_date AS due_date,
       {_exact("COALESCE(NULLIF(si.rounded_total, 0), si.grand_total)")} AS amount,
       {_exact(OUTSTANDING)} AS balance,
       si.currency AS currency,
       si.status AS status,
       CASE WHEN si.outstanding_amount = 0 AND si.is_return = 0 THEN
            (SELECT MAX(ple.posting_date) FROM `tabPayment Ledger Entry` AS ple
             WHERE ple.against_voucher_type = 'Sales Invoice'
               AND ple.against_voucher_no = si.name AND ple.delinked = 0) END AS paid_date
FROM `tabSales Invoice` AS si
WHERE si.docstatus = 1
ORDER BY si.posting_date, si.name"""

CUSTOMERS = """\
SELECT c.name AS customer_id,
       c.customer_name AS name,
       c.email_id AS email,
       c.mobile_no AS phone,
       c.default_currency AS currency,
       c.language AS language,
       c.customer_group AS segment
FROM `tabCustomer` AS c
ORDER BY c.name"""

CONTACTS = """\
SELECT dl.link_name AS customer_id,
       TRIM(CONCAT_WS(' ', ct.first_name, ct.last_name)) AS name,
       ct.email_id AS email,
       COALESCE(NULLIF(ct.mobile_no, ''), ct.phone) AS phone,
       CASE WHEN ct.is_primary_contact = 1 THEN 'billing' ELSE 'contact' END AS role
FROM `tabContact` AS ct
JOIN `tabDynamic Link` AS dl
  ON dl.parent = ct.name AND dl.parenttype = 'Contact' AND dl.link_doctype = 'Customer'
JOIN `tabCustomer` AS c ON c.name = dl.link_name
WHERE ct.unsubscribed = 0
  AND (COALESCE(ct.email_id, '') <> '' OR COALESCE(ct.mobile_no, '') <> ''
       OR COALESCE(ct.phone, '') <> '')
ORDER BY dl.link_name, ct.is_primary_contact DESC, ct.name"""

STATUS_MAP = {
    "Draft": "draft",
    "Cancelled": "void",
    "Paid": "paid",
    **{
        status: "open"
        for status in (
            "Return",
            "Credit Note Issued",
            "Submitted",
            "Partly Paid",
            "Unpaid",
            "Unpaid and Discounted",
            "Partly Paid and Discounted",
            "Overdue and Discounted",
            "Overdue",
            "Internal Transfer",
        )
    },
}

ERPNEXT: dict[str, dict[str, Any]] = {
    "invoices": {"query": {"mysql": INVOICES}, "status_map": STATUS_MAP},
    "customers": {"query": {"mysql": CUSTOMERS}},
    "contacts": {"query": {"mysql": CONTACTS}},
}
