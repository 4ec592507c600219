"""`preset: odoo`: Odoo's own PostgreSQL database (Odoo 14 and later, where invoices are
`account.move` records), read as arflow's invoices, customers and contacts.

Written from Odoo's model files (github odoo/odoo; read at commit 00059361d5 of
addons/account/models/account_move.py and 00021842e4 of odoo/addons/base/models/
res_partner.py; the same fields since 14.0):

- addons/account/models/account_move.py, `AccountMove` (`_name = 'account.move'`, table
  `account_move`): `name` (Char: the number), `move_type` (Selection: `out_invoice` customer
  invoice, `out_refund` customer credit note, `in_invoice` vendor bill, `in_refund` vendor
  credit note, `entry`, `out_receipt`, `in_receipt`), `state` (Selection: `draft`, `posted`,
  `cancel`), `payment_state` (Selection: `not_paid`, `in_payment`, `paid`, `partial`,
  `reversed`, `blocked`, `invoicing_legacy`), `invoice_date` and `invoice_date_due` (Date),
  `partner_id` and `commercial_partner_id` (Many2one res.partner), `currency_id` (Many2one
  res.currency), `amount_total` and `amount_residual` (Monetary, in the document's currency,
  unsigned: a credit note's are positive too).
- odoo/addons/base/models/res_partner.py, `ResPartner` (table `res_partner`): `name`,
  `email`, `phone` (Char), `lang` (Selection of installed languages: `fr_FR`, `en_US`),
  `parent_id` (Many2one res.partner, "Related Company"), `commercial_partner_id` (Many2one:
  the partner itself when it is a company or has no parent, else its parent's), `is_company`,
  `active` (Boolean), `type` (Selection: `contact`, `invoice`, `delivery`, `other`);
  addons/account/models/partner.py adds `customer_rank` (Integer, raised on the invoice's
  partner by each customer invoice posted).
- addons/account/models/account_partial_reconcile.py (table `account_partial_reconcile`, a
  matching of two journal items): `debit_move_id`, `credit_move_id` (Many2one
  account.move.line), `max_date` (Date: the later of the two items' dates); the items
  (`account_move_line`) belong to their move by `move_id`.
- odoo/addons/base/models/res_currency.py: `name` (Char, size 3: the ISO 4217 code).
- odoo/fields.py: Char and Selection are `varchar`, Date `date`, Monetary `numeric`,
  Many2one `int4`, Integer `int4`, Boolean `bool` columns.

What the preset reads:

- **invoices**: posted customer invoices and credit notes only (`move_type` `out_invoice`,
  `out_refund`; `state = 'posted'`): vendor bills, receipts and journal entries are other
  `move_type`s; drafts (numbered `/` until posted) and cancelled moves are never read. The
  customer is the commercial partner (the company, whichever of its contacts or addresses the
  invoice went to); the email and phone are the invoice address's, else the company's. The
  balance is `amount_residual`; a credit note's amount and balance are negated. A move whose
  `payment_state` is `paid`, `in_payment` (paid, the bank not yet reconciled) or `reversed`
  (cancelled out by a credit note) is `paid`, on the day of its last matching (the latest
  `max_date` of the reconciliations of its journal items: the payment's or the credit note's
  day); any other posted one is `open`.
- **customers**: the commercial partners of the invoices read and of every partner ranked a
  customer (`customer_rank > 0`: Odoo ranks the partner an invoice went to, often a contact
  or an invoice address of the company), and their parent companies, up to the top; keyed
  by id as on the invoices; `lang` as the language; the
  parent account is the commercial partner of its `parent_id` (a company under a holding).
- **contacts**: the people and addresses under those customers that have an email or a
  phone, each in a role: `billing` for an invoice address (`type = 'invoice'`), else
  `contact` (or `other`); archived ones are left out."""

from __future__ import annotations

from typing import Any

# the commercial partners arflow knows as customers (the contacts name no other): those of the
# posted customer documents and of every partner Odoo ranks a customer (it ranks the partner an
# invoice went to: often a contact or an invoice address), and their parent companies, up
CUSTOMER_IDS = """\
WITH RECURSIVE customer_ids(id) AS (
    SELECT m.commercial_partner_id FROM account_move AS m
    WHERE m.move_type IN ('out_invoice', 'out_refund') AND m.state = 'posted'
  UNION
    SELECT x.commercial_partner_id FROM res_partner AS x WHERE x.customer_rank > 0
  UNION
    SELECT up.commercial_partner_id
    FROM customer_ids
    JOIN res_partner AS below ON below.id = customer_ids.id
    JOIN res_partner AS up ON up.id = below.parent_id
)"""

INVOICES = """\
SELECT m.name AS number,
       m.commercial_partner_id AS customer_id,
       cp.name AS customer_name,
       COALESCE(NULLIF(ad.email, ''), cp.email) AS email,
       COALESCE(NULLIF(ad.phone, ''), cp.phone) AS phone,
       m.invoice_date AS issue_date,
       m.invoice_date_due AS due_date,
       CASE WHEN m.move_type = 'out_refund' THEN -m.amount_total
            ELSE m.amount_total END AS amount,
       CASE WHEN m.move_type = 'out_refund' THEN -m.amount_residual
            ELSE m.amount_residual END AS balance,
       cur.name AS currency,
       CASE WHEN m.payment_state IN ('paid', 'in_payment', 'reversed') THEN 'paid'
            ELSE m.state END AS status,
       CASE WHEN m.payment_state IN ('paid', 'in_payment', 'reversed') THEN
            (SELECT max(rec.max_date)
             FROM account_move_line AS line
             JOIN account_partial_reconcile AS rec
               ON line.id IN (rec.debit_move_id, rec.credit_move_id)
             WHERE line.move_id = m.id) END AS paid_date
FROM account_move AS m
JOIN res_partner AS cp ON cp.id = m.commercial_partner_id
LEFT JOIN res_partner AS ad ON ad.id = m.partner_id
JOIN res_currency AS cur ON cur.id = m.currency_id
WHERE m.move_type IN ('out_invoice', 'out_refund')
  AND m.state = 'posted'
ORDER BY m.invoice_date, m.id"""

CUSTOMERS = f"""\
{CUSTOMER_IDS}
SELECT p.id AS customer_id,
       p.name AS name,
       p.email AS email,
       p.phone AS phone,
       parent.commercial_partner_id AS parent_id,
       p.lang AS language
FROM res_partner AS p
LEFT JOIN res_partner AS parent ON parent.id = p.parent_id
WHERE p.id IN (SELECT id FROM customer_ids)
ORDER BY p.id"""

CONTACTS = f"""\
{CUSTOMER_IDS}
SELECT c.commercial_partner_id AS customer_id,
       c.name AS name,
       c.email AS email,
       c.phone AS phone,
       CASE WHEN c.type = 'invoice' THEN 'billing'
            ELSE COALESCE(c.type, 'contact') END AS role,
       c.lang AS language
FROM res_partner AS c
WHERE c.id <> c.commercial_partner_id
  AND c.active
  AND c.type IN ('invoice', 'contact', 'other')
  AND (COALESCE(c.email, '') <> '' OR COALESCE(c.phone, '') <> '')
  AND c.commercial_partner_id IN (SELECT id FROM customer_ids)
ORDER BY c.commercial_partner_id, c.id"""

ODOO: dict[str, dict[str, Any]] = {
    "invoices": {
        "query": {"postgresql": INVOICES},
        "status_map": {"posted": "open", "cancel": "void"},
    },
    "customers": {"query": {"postgresql": CUSTOMERS}},
    "contacts": {"query": {"postgresql": CONTACTS}},
}
