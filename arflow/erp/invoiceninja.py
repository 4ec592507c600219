"""`preset: invoiceninja`: Invoice Ninja 5's invoices, credits and clients with their primary
contact, on MySQL/MariaDB (the database Invoice Ninja runs on).

Written from Invoice Ninja's own schema and models (github.com/invoiceninja/invoiceninja):

- `database/schema/mysql-schema.sql` (the schema its migrations build): `invoices` (`number`,
  `client_id`, `status_id`, `date`, `due_date`, `amount`, `balance`, `is_deleted`,
  `company_id`), `credits` (the same columns: a credit's `balance` is what is left of it to
  apply), `clients` (`name`, `phone`, `settings` as JSON text, `group_settings_id`,
  `is_deleted`), `client_contacts` (`client_id`, `first_name`, `last_name`, `email`, `phone`,
  `is_primary`, `send_email`, `deleted_at`), `group_settings` and `companies` (`settings`),
  `currencies` (`id`, `code`), `languages` (`id`, `locale`), `paymentables`
  (`paymentable_type` `invoices`, `paymentable_id`, `payment_id`) and `payments` (`date`,
  `is_deleted`);
- `app/Models/Invoice.php`: STATUS_DRAFT 1, STATUS_SENT 2, STATUS_PARTIAL 3, STATUS_PAID 4,
  STATUS_CANCELLED 5, STATUS_REVERSED 6; `app/Models/Credit.php`: STATUS_DRAFT 1,
  STATUS_SENT 2, STATUS_PARTIAL 3, STATUS_APPLIED 4;
- `app/Models/Client.php`: `getSetting` — a client's setting is its own `settings`, else its
  group's, else its company's — and `currency()`, `language()` (`currency_id`,
  `language_id` there); `app/Providers/AppServiceProvider.php`: the morph map that names
  invoices `invoices` in `paymentables`;
- `app/Services/Report/ARDetailReport.php`: Invoice Ninja's own receivables report (sent and
  partly paid invoices, not deleted, of clients not deleted).

What the preset reads as arflow's fields:

- invoices sent, partly paid and paid (`status_id` 2, 3, 4); drafts, cancelled and reversed
  invoices and deleted ones (`is_deleted`, or their client's) never appear. An archived invoice
  (`deleted_at` set, not deleted) is still owed, and stays. Invoice Ninja has no vendor
  bills: its expenses live in their own tables, which the preset never reads;
- `balance` is Invoice Ninja's own `balance`; `status` `open` while sent or partly paid, `paid`
  once paid, with `paid_date` the day of its last payment;
- credits (`credits` sent or partly applied, `status_id` 2, 3) are credit notes: their amount
  and the balance left to apply are negative, so they lower their client's total; they are
  numbered `Credit NUMBER`, as Invoice Ninja's own counters number invoices and credits alike;
- the currency is the client's (`currency_id` of its settings, else its group's, else its
  company's, as `currencies.code`): Invoice Ninja bills each client in its own currency;
- the customer is the client (`clients.id`), its name (else its primary contact's, as
  ClientPresenter::name() has it), and its primary contact's email and phone (the client's
  phone when the contact has none); `language` is the client's `language_id` as
  `languages.locale`. Invoice Ninja has no parent clients;
- the contacts source lists every contact of a client not removed (`deleted_at`): those
  Invoice Ninja emails invoices to (`send_email`) in the role `billing`, the others `contact`.
"""

from __future__ import annotations

from typing import Any


def _setting(name: str) -> str:
    """A client's setting as Client::getSetting reads it: its own, else its group's, else its
    company's (a JSON null or an empty text counts as unset)."""
    parts = [
        f"NULLIF(NULLIF(JSON_UNQUOTE(JSON_EXTRACT({table}.settings, '$.{name}')), ''), 'null')"
        for table in ("c", "g", "co")
    ]
    return "COALESCE(" + ", ".join(parts) + ")"


def _money(expression: str) -> str:
    """An amount to its currency's `precision` (0, 2 or 3 decimals), as text: Invoice Ninja
    keeps six decimals, and the messages show the currency's own."""
    cases = " ".join(
        f"WHEN '{n}' THEN CAST(CAST({expression} AS DECIMAL(20,{n})) AS CHAR)" for n in (0, 3)
    )
    return f"CASE cur.precision {cases} ELSE CAST(CAST({expression} AS DECIMAL(20,2)) AS CHAR) END"


# the client with its group's and company's settings, its currency and language
_CLIENT = f"""\
JOIN clients c ON c.id = d.client_id AND c.is_deleted = 0
LEFT JOIN group_settings g ON g.id = c.group_settings_id
LEFT JOIN companies co ON co.id = c.company_id
LEFT JOIN currencies cur ON cur.id = {_setting("currency_id")}
LEFT JOIN (SELECT cc.client_id, MIN(cc.id) AS id
           FROM client_contacts cc
           WHERE cc.is_primary = 1 AND cc.deleted_at IS NULL
           GROUP BY cc.client_id) pk ON pk.client_id = c.id
LEFT JOIN client_contacts pc ON pc.id = pk.id"""

# a client without a name goes by its primary contact's (app/Models/Presenters/
# ClientPresenter.php, name())
_NAME = (
    "COALESCE(NULLIF(c.name, ''), "
    "NULLIF(TRIM(CONCAT(COALESCE(pc.first_name, ''), ' ', COALESCE(pc.last_name, ''))), ''), "
    "pc.email)"
)

_WHO = f"""\
       d.client_id AS customer_id,
       {_NAME} AS customer_name,
       pc.email AS email,
       COALESCE(NULLIF(pc.phone, ''), c.phone) AS phone,
       d.date AS issue_date,
       d.due_date AS due_date,"""

INVOICES = f"""\
SELECT d.number AS number,
{_WHO}
       {_money("d.amount")} AS amount,
       {_money("d.balance")} AS balance,
       CASE WHEN d.status_id = 4 THEN paid.last_paid END AS paid_date,
       cur.code AS currency,
       CASE WHEN d.status_id = 4 THEN 'paid' ELSE 'open' END AS status
FROM invoices d
{_CLIENT}
LEFT JOIN (SELECT pa.paymentable_id AS invoice_id, MAX(p.date) AS last_paid
           FROM paymentables pa
           JOIN payments p ON p.id = pa.payment_id AND p.is_deleted = 0
           WHERE pa.paymentable_type = 'invoices' AND pa.deleted_at IS NULL
           GROUP BY pa.paymentable_id) paid ON paid.invoice_id = d.id
WHERE d.is_deleted = 0 AND d.status_id IN (2, 3, 4)
UNION ALL
SELECT CONCAT('Credit ', d.number) AS number,
{_WHO}
       {_money("-d.amount")} AS amount,
       {_money("-d.balance")} AS balance,
       NULL AS paid_date,
       cur.code AS currency,
       'open' AS status
FROM credits d
{_CLIENT}
WHERE d.is_deleted = 0 AND d.status_id IN (2, 3)"""

CUSTOMERS = f"""\
SELECT c.id AS customer_id,
       {_NAME} AS name,
       pc.email AS email,
       COALESCE(NULLIF(pc.phone, ''), c.phone) AS phone,
       cur.code AS currency,
       lang.locale AS language
FROM clients c
LEFT JOIN group_settings g ON g.id = c.group_settings_id
LEFT JOIN companies co ON co.id = c.company_id
LEFT JOIN currencies cur ON cur.id = {_setting("currency_id")}
LEFT JOIN languages lang ON lang.id = {_setting("language_id")}
LEFT JOIN (SELECT cc.client_id, MIN(cc.id) AS id
           FROM client_contacts cc
           WHERE cc.is_primary = 1 AND cc.deleted_at IS NULL
           GROUP BY cc.client_id) pk ON pk.client_id = c.id
LEFT JOIN client_contacts pc ON pc.id = pk.id
WHERE c.is_deleted = 0"""

# every contact of a client: those Invoice Ninja emails invoices to (`send_email`) as billing
CONTACTS = """\
SELECT cc.client_id AS customer_id,
       TRIM(CONCAT(COALESCE(cc.first_name, ''), ' ', COALESCE(cc.last_name, ''))) AS name,
       cc.email AS email,
       cc.phone AS phone,
       CASE WHEN cc.send_email = 1 THEN 'billing' ELSE 'contact' END AS role
FROM client_contacts cc
JOIN clients c ON c.id = cc.client_id AND c.is_deleted = 0
WHERE cc.deleted_at IS NULL"""

PRESET: dict[str, dict[str, Any]] = {
    "invoices": {"query": {"mysql": INVOICES}},
    "customers": {"query": {"mysql": CUSTOMERS}},
    "contacts": {"query": {"mysql": CONTACTS}},
}
