"""`preset: dolibarr`: Dolibarr's customer invoices and third parties, on MySQL/MariaDB or
PostgreSQL (one SELECT serves both: nothing in it is either server's own dialect).

Written from Dolibarr's own table definitions (github.com/Dolibarr/dolibarr,
htdocs/install/mysql/tables/; the PostgreSQL tables are made from the same files):

- `llx_facture.sql`: the customer invoices — `ref` (the number; `facnumber` before Dolibarr
  10, renamed by migration/9.0.0-10.0.0.sql), `fk_soc` (the third party), `type` (0
  standard, 1 replacement, 2 credit note, 3 deposit, 4 proforma, 5 situation), `fk_statut`
  (0 draft, 1 validated, 2 closed, 3 abandoned), `paye` (1 paid), `close_code`, `datef` (the
  invoice date), `date_lim_reglement` (the due date), `date_closing`, `total_ttc` (the total
  with taxes in the company's currency), `multicurrency_code` and `multicurrency_total_ttc`
  (the same in the invoice's own currency), `entity`;
- `llx_paiement_facture.sql`: each payment's share of an invoice (`fk_paiement`,
  `fk_facture`, `amount`, `multicurrency_amount`), and `llx_paiement.sql` its day (`datep`);
- `llx_societe_remise_except.sql`: discounts — credit notes, deposits and excess received
  converted (`fk_facture_source`), used to pay an invoice (`fk_facture`) or on an invoice's
  line (`fk_facture_line`), for `amount_ttc` (`multicurrency_amount_ttc`);
- `llx_societe.sql`: the third parties — `nom`, `email`, `phone`, `parent` (the parent
  company), `client` (1 customer, 2 prospect, 3 both), `default_lang`, `multicurrency_code`;
- `llx_const.sql`: `MAIN_MONNAIE`, the company's currency, per `entity`.

The meaning of the codes is Dolibarr's: htdocs/compta/facture/class/facture.class.php
(STATUS_DRAFT 0 … STATUS_ABANDONED 3, the CLOSECODE_* words), htdocs/core/class/
commoninvoice.class.php (TYPE_STANDARD 0 … TYPE_SITUATION 5) and htdocs/core/class/
discount.class.php (getSumCreditNotesUsed, getSumDepositsUsed: what `getRemainToPay`
subtracts besides the payments).

What the preset reads as arflow's fields:

- only validated and closed invoices (`fk_statut` 1 and 2): drafts and abandoned invoices
  (cancelled, replaced, bad debts written off whole) never appear; nor proformas (`type` 4).
  Supplier invoices live in their own table (`llx_facture_fourn`), which it never reads;
- `balance` is what Dolibarr shows as the remainder to pay: `total_ttc` less the payments and
  the credit notes, deposits and excess received used as payment; a closed invoice owes 0;
- `status`: `open` while validated, `paid` once closed — paid, or closed with a small
  remainder left on purpose (an early-payment discount, bank charges, withholding tax) — and
  `void` when closed as a bad debt (`close_code` `badcustomer`: no thanks for that one);
  `paid_date` is the day of its last payment (else the day it was closed);
- credit notes (`type` 2) carry Dolibarr's own negative totals, so they lower their
  customer's total while open; one converted into a discount (closed, "paid back or
  converted") stays open with the part of its discount not used yet (`llx_societe_remise_except`
  rows of `fk_facture_source` not yet on an invoice) as its negative balance;
- the currency is the invoice's own (`multicurrency_code`, its amounts and payments in it)
  when it differs from the company's, else the company's `MAIN_MONNAIE`; amounts to the cent;
- the customer is the invoice's third party (`llx_societe.rowid`), its email, phone and
  `default_lang`; the customers source names each one's `parent` company as `parent_id`.
"""

from __future__ import annotations

from typing import Any

# the invoice's own currency when Dolibarr's multicurrency module gave it one that differs
# from the company's currency (the amounts are then in multicurrency_*)
_FOREIGN = (
    "(f.multicurrency_code IS NOT NULL AND f.multicurrency_code <> '' "
    "AND f.multicurrency_code <> COALESCE(mc.value, ''))"
)


def _either(foreign: str, home: str) -> str:
    return f"CASE WHEN {_FOREIGN} THEN {foreign} ELSE {home} END"


def _cents(expression: str) -> str:
    return f"CAST({expression} AS DECIMAL(24,2))"


# closed without full payment as a bad debt: nothing is owed any more, and nothing was paid
_BAD_DEBT = "(f.paye = 0 AND COALESCE(f.close_code, '') = 'badcustomer')"
_AMOUNT = _either("f.multicurrency_total_ttc", "f.total_ttc")
_SETTLED = _either(
    "COALESCE(pay.mc_paid, 0) + COALESCE(disc.mc_used, 0)",
    "COALESCE(pay.paid, 0) + COALESCE(disc.used, 0)",
)
# a credit note converted into a discount ("paid back or converted") whose discount the
# customer has not used yet: still its credit, the part not used
_UNUSED = _either("COALESCE(spare.mc_unused, 0)", "COALESCE(spare.unused, 0)")
_CREDIT_LEFT = f"(f.type = 2 AND f.fk_statut = 2 AND {_UNUSED} <> 0)"
_BALANCE = f"""CASE WHEN {_CREDIT_LEFT} THEN -{_UNUSED}
                   WHEN f.fk_statut = 2 THEN 0
                   ELSE {_AMOUNT} - ({_SETTLED}) END"""

INVOICES = f"""\
SELECT f.ref AS number,
       f.fk_soc AS customer_id,
       s.nom AS customer_name,
       s.email AS email,
       s.phone AS phone,
       f.datef AS issue_date,
       f.date_lim_reglement AS due_date,
       {_cents(_AMOUNT)} AS amount,
       {_cents(_BALANCE)} AS balance,
       CASE WHEN f.fk_statut = 2 AND NOT {_BAD_DEBT} AND NOT {_CREDIT_LEFT}
            THEN COALESCE(pay.last_paid, f.date_closing) END AS paid_date,
       {_either("f.multicurrency_code", "mc.value")} AS currency,
       CASE WHEN f.fk_statut = 1 OR {_CREDIT_LEFT} THEN 'open'
            WHEN f.paye = 1 THEN 'paid'
            WHEN {_BAD_DEBT} THEN 'void'
            ELSE 'paid' END AS status
FROM llx_facture f
JOIN llx_societe s ON s.rowid = f.fk_soc
LEFT JOIN llx_const mc ON mc.name = 'MAIN_MONNAIE' AND mc.entity = f.entity
LEFT JOIN (SELECT pf.fk_facture,
                  SUM(pf.amount) AS paid,
                  SUM(pf.multicurrency_amount) AS mc_paid,
                  MAX(p.datep) AS last_paid
           FROM llx_paiement_facture pf
           JOIN llx_paiement p ON p.rowid = pf.fk_paiement
           GROUP BY pf.fk_facture) pay ON pay.fk_facture = f.rowid
LEFT JOIN (SELECT rr.fk_facture,
                  SUM(rr.amount_ttc) AS used,
                  SUM(rr.multicurrency_amount_ttc) AS mc_used
           FROM llx_societe_remise_except rr
           WHERE rr.fk_facture IS NOT NULL
           GROUP BY rr.fk_facture) disc ON disc.fk_facture = f.rowid
LEFT JOIN (SELECT rr.fk_facture_source,
                  SUM(rr.amount_ttc) AS unused,
                  SUM(rr.multicurrency_amount_ttc) AS mc_unused
           FROM llx_societe_remise_except rr
           WHERE rr.fk_facture IS NULL AND rr.fk_facture_line IS NULL
             AND rr.fk_facture_source IS NOT NULL
           GROUP BY rr.fk_facture_source) spare ON spare.fk_facture_source = f.rowid
WHERE f.fk_statut IN (1, 2)
  AND f.type <> 4"""

CUSTOMERS = """\
SELECT s.rowid AS customer_id,
       s.nom AS name,
       s.email AS email,
       s.phone AS phone,
       s.parent AS parent_id,
       NULLIF(s.multicurrency_code, '') AS currency,
       s.default_lang AS language
FROM llx_societe s
WHERE s.client IN (1, 3)
   OR s.rowid IN (SELECT p.parent FROM llx_societe p WHERE p.parent IS NOT NULL)"""

PRESET: dict[str, dict[str, Any]] = {
    "invoices": {"query": INVOICES},
    "customers": {"query": CUSTOMERS},
}
