"""`preset: dolibarr` on a real MariaDB holding Dolibarr's own tables (their real column names
and types, from htdocs/install/mysql/tables/), read by a user that may only SELECT: the same
aging, dry run and real run as the same invoices written by hand in a CSV. Drafts, abandoned
invoices, proformas and supplier invoices never appear; a partly paid invoice owes its
remainder (payments and a credit note used as payment taken off); a credit note lowers its
customer's total; a foreign-currency invoice is in its own currency; a customer has its parent
company. Each filter of the query, broken on purpose, changes what arflow reads."""

from __future__ import annotations

import re

import pytest

from arflow.config import load_config
from arflow.sources import load_ledger
from tests.erp_nights import (
    PASSWORD_ENV,
    books,
    break_query,
    csv_rows,
    folders,
    nights,
    reader_of,
)

AS_OF = "2026-03-31"

# the columns the preset reads (with their real types), and a few more as Dolibarr has them
TABLES = """\
CREATE TABLE llx_const (
  rowid integer AUTO_INCREMENT PRIMARY KEY, name varchar(180) NOT NULL,
  entity integer DEFAULT 1 NOT NULL, value text NOT NULL, type varchar(64) DEFAULT 'string',
  visible tinyint DEFAULT 1 NOT NULL, note text) ENGINE=innodb;
CREATE TABLE llx_societe (
  rowid integer AUTO_INCREMENT PRIMARY KEY, nom varchar(128), name_alias varchar(128) NULL,
  entity integer DEFAULT 1 NOT NULL, status tinyint DEFAULT 1, parent integer,
  code_client varchar(24), code_fournisseur varchar(24), phone varchar(30),
  phone_mobile varchar(30), email varchar(128), client tinyint DEFAULT 0,
  fournisseur tinyint DEFAULT 0, default_lang varchar(6), fk_multicurrency integer,
  multicurrency_code varchar(3)) ENGINE=innodb;
CREATE TABLE llx_facture (
  rowid integer AUTO_INCREMENT PRIMARY KEY, ref varchar(30) NOT NULL,
  entity integer DEFAULT 1 NOT NULL, ref_client varchar(255), type smallint DEFAULT 0 NOT NULL,
  fk_soc integer NOT NULL, datec datetime, datef date, date_valid date,
  date_closing datetime, paye smallint DEFAULT 0 NOT NULL, close_code varchar(16),
  close_note varchar(128), total_tva double(24,8) DEFAULT 0, total_ht double(24,8) DEFAULT 0,
  total_ttc double(24,8) DEFAULT 0, fk_statut smallint DEFAULT 0 NOT NULL,
  fk_facture_source integer, fk_cond_reglement integer DEFAULT 1 NOT NULL,
  date_lim_reglement date, fk_multicurrency integer, multicurrency_code varchar(255),
  multicurrency_tx double(24,8) DEFAULT 1, multicurrency_total_ht double(24,8) DEFAULT 0,
  multicurrency_total_tva double(24,8) DEFAULT 0,
  multicurrency_total_ttc double(24,8) DEFAULT 0) ENGINE=innodb;
CREATE TABLE llx_paiement (
  rowid integer AUTO_INCREMENT PRIMARY KEY, ref varchar(30) NULL,
  entity integer DEFAULT 1 NOT NULL, datec datetime, datep datetime,
  amount double(24,8) DEFAULT 0, multicurrency_amount double(24,8) DEFAULT 0,
  fk_paiement integer NOT NULL, num_paiement varchar(50), fk_bank integer NOT NULL DEFAULT 0,
  statut smallint DEFAULT 0 NOT NULL) ENGINE=innodb;
CREATE TABLE llx_paiement_facture (
  rowid integer AUTO_INCREMENT PRIMARY KEY, fk_paiement integer, fk_facture integer,
  amount double(24,8) DEFAULT 0, multicurrency_code varchar(255),
  multicurrency_tx double(24,8) DEFAULT 1, multicurrency_amount double(24,8) DEFAULT 0
  ) ENGINE=innodb;
CREATE TABLE llx_societe_remise_except (
  rowid integer AUTO_INCREMENT PRIMARY KEY, entity integer DEFAULT 1 NOT NULL,
  fk_soc integer NOT NULL, discount_type integer DEFAULT 0 NOT NULL, datec datetime,
  amount_ht double(24,8) NOT NULL, amount_tva double(24,8) DEFAULT 0 NOT NULL,
  amount_ttc double(24,8) DEFAULT 0 NOT NULL, tva_tx double(6,3) DEFAULT 0 NOT NULL,
  fk_user integer NOT NULL, fk_facture_line integer, fk_facture integer,
  fk_facture_source integer, description text NOT NULL,
  multicurrency_amount_ht double(24,8) DEFAULT 0 NOT NULL,
  multicurrency_amount_tva double(24,8) DEFAULT 0 NOT NULL,
  multicurrency_amount_ttc double(24,8) DEFAULT 0 NOT NULL) ENGINE=innodb;
CREATE TABLE llx_facture_fourn (
  rowid integer AUTO_INCREMENT PRIMARY KEY, ref varchar(180) NOT NULL,
  ref_supplier varchar(255) NOT NULL, entity integer DEFAULT 1 NOT NULL,
  type smallint DEFAULT 0 NOT NULL, fk_soc integer NOT NULL, datef date,
  paye smallint DEFAULT 0 NOT NULL, total_ttc double(24,8) DEFAULT 0,
  fk_statut smallint DEFAULT 0 NOT NULL, date_lim_reglement date) ENGINE=innodb;
"""

ROWS = """\
INSERT INTO llx_const (name, entity, value) VALUES ('MAIN_MONNAIE', 1, 'EUR');
INSERT INTO llx_societe (rowid, nom, parent, phone, email, client, fournisseur, default_lang,
                         multicurrency_code) VALUES
  (1, 'Groupe Alpha SA', NULL, NULL, 'groupe@alpha.example', 0, 0, 'fr_FR', NULL),
  (2, 'Alpha Lyon SARL', 1, '+33 4 72 10 20 30', 'compta@alpha-lyon.example', 1, 0, 'fr_FR', ''),
  (3, 'Beta AG', NULL, NULL, 'ap@beta.example', 3, 0, 'de_CH', 'CHF'),
  (4, 'Gamma Fournitures', NULL, NULL, 'ventes@gamma.example', 0, 1, 'fr_FR', NULL),
  (5, 'Delta Prospect', NULL, NULL, 'hello@delta.example', 2, 0, 'en_US', NULL);
INSERT INTO llx_facture (rowid, ref, type, fk_soc, datef, date_lim_reglement, paye, close_code,
                         total_ttc, fk_statut, date_closing, multicurrency_code,
                         multicurrency_tx, multicurrency_total_ttc) VALUES
  (1, 'FA2601-0001', 0, 2, '2026-01-10', '2026-02-09', 0, NULL, 1200, 1, NULL, 'EUR', 1, 1200),
  (2, 'FA2601-0002', 0, 2, '2026-01-20', '2026-02-19', 0, NULL, 1000.5, 1, NULL, 'EUR', 1, 1000.5),
  (3, 'FA2601-0003', 0, 2, '2026-01-25', '2026-02-24', 1, NULL, 500, 2, '2026-03-02 09:15:00',
   'EUR', 1, 500),
  (4, '(PROV4)', 0, 2, '2026-03-01', '2026-03-31', 0, NULL, 999, 0, NULL, 'EUR', 1, 999),
  (5, 'FA2602-0004', 0, 2, '2026-02-02', '2026-03-04', 0, 'abandon', 300, 3,
   '2026-02-10 10:00:00', 'EUR', 1, 300),
  (6, 'AV2603-0001', 2, 2, '2026-03-05', '2026-03-05', 0, NULL, -200, 1, NULL, 'EUR', 1, -200),
  (7, 'FA2602-0005', 0, 3, '2026-02-13', '2026-03-15', 0, NULL, 1075.27, 1, NULL, 'CHF', 0.93,
   1000),
  (8, 'FA2602-0006', 0, 3, '2026-02-14', '2026-03-16', 0, 'badcustomer', 450, 2,
   '2026-03-20 16:00:00', 'EUR', 1, 450),
  (9, 'FA2603-0007', 0, 3, '2026-03-01', '2026-03-20', 0, NULL, 300, 1, NULL, NULL, 1, 0),
  (10, 'AV2602-0002', 2, 3, '2026-02-20', '2026-02-20', 1, NULL, -100, 2,
   '2026-03-10 11:00:00', 'EUR', 1, -100),
  (11, 'PR2603-0001', 4, 2, '2026-03-03', '2026-03-10', 0, NULL, 777, 1, NULL, 'EUR', 1, 777),
  (12, 'FA2603-0008', 0, 2, '2026-03-02', '2026-03-20', 0, 'discount_vat', 100, 2,
   '2026-03-25 12:00:00', 'EUR', 1, 100),
  (13, 'AV2603-0003', 2, 2, '2026-03-15', '2026-03-15', 1, NULL, -80, 2,
   '2026-03-15 10:00:00', 'EUR', 1, -80);
INSERT INTO llx_paiement (rowid, datep, amount, multicurrency_amount, fk_paiement) VALUES
  (1, '2026-03-01 10:00:00', 400.2, 400.2, 2),
  (2, '2026-02-28 10:00:00', 500, 500, 2),
  (3, '2026-03-12 10:00:00', 268.82, 250, 2),
  (4, '2026-03-21 10:00:00', 50, 50, 2),
  (5, '2026-03-25 10:00:00', 98, 98, 2);
INSERT INTO llx_paiement_facture (fk_paiement, fk_facture, amount, multicurrency_code,
                                  multicurrency_amount) VALUES
  (1, 2, 400.2, 'EUR', 400.2), (2, 3, 500, 'EUR', 500), (3, 7, 268.82, 'CHF', 250),
  (4, 9, 50, NULL, 0), (5, 12, 98, 'EUR', 98);
INSERT INTO llx_societe_remise_except (fk_soc, amount_ht, amount_ttc, fk_user, fk_facture,
                                       fk_facture_source, description,
                                       multicurrency_amount_ttc) VALUES
  (3, 100, 100, 1, 9, 10, '(CREDIT_NOTE) AV2602-0002', 100),
  (3, 40, 40, 1, NULL, NULL, 'Discount granted by hand, not used yet', 40),
  (2, 30, 30, 1, 1, 13, '(CREDIT_NOTE) AV2603-0003, the part used', 30),
  (2, 50, 50, 1, NULL, 13, '(CREDIT_NOTE) AV2603-0003, the part not used yet', 50);
INSERT INTO llx_facture_fourn (ref, ref_supplier, type, fk_soc, datef, total_ttc, fk_statut,
                               date_lim_reglement) VALUES
  ('SI2602-0001', 'GF-7781', 0, 4, '2026-02-01', 5000, 1, '2026-03-01'),
  ('SI2602-0002', 'BETA-PO-1', 0, 3, '2026-02-01', 640, 1, '2026-03-01');
"""

# what the preset must read: the same invoices as a person would write them in a CSV
INVOICES = csv_rows("""\
    number,customer_id,customer_name,email,phone,issue_date,due_date,amount,balance,paid_date,currency,status
    FA2601-0001,2,Alpha Lyon SARL,compta@alpha-lyon.example,+33 4 72 10 20 30,2026-01-10,2026-02-09,1200.00,1170.00,,EUR,open
    FA2601-0002,2,Alpha Lyon SARL,compta@alpha-lyon.example,+33 4 72 10 20 30,2026-01-20,2026-02-19,1000.50,600.30,,EUR,open
    FA2601-0003,2,Alpha Lyon SARL,compta@alpha-lyon.example,+33 4 72 10 20 30,2026-01-25,2026-02-24,500.00,0.00,2026-02-28,EUR,paid
    AV2603-0001,2,Alpha Lyon SARL,compta@alpha-lyon.example,+33 4 72 10 20 30,2026-03-05,2026-03-05,-200.00,-200.00,,EUR,open
    FA2602-0005,3,Beta AG,ap@beta.example,,2026-02-13,2026-03-15,1000.00,750.00,,CHF,open
    FA2602-0006,3,Beta AG,ap@beta.example,,2026-02-14,2026-03-16,450.00,0.00,,EUR,void
    FA2603-0007,3,Beta AG,ap@beta.example,,2026-03-01,2026-03-20,300.00,150.00,,EUR,open
    AV2602-0002,3,Beta AG,ap@beta.example,,2026-02-20,2026-02-20,-100.00,0.00,2026-03-10,EUR,paid
    FA2603-0008,2,Alpha Lyon SARL,compta@alpha-lyon.example,+33 4 72 10 20 30,2026-03-02,2026-03-20,100.00,0.00,2026-03-25,EUR,paid
    AV2603-0003,2,Alpha Lyon SARL,compta@alpha-lyon.example,+33 4 72 10 20 30,2026-03-15,2026-03-15,-80.00,-50.00,,EUR,open
    """)  # fmt: skip
CUSTOMERS = csv_rows("""\
    customer_id,name,email,phone,parent_id,currency,language
    1,Groupe Alpha SA,groupe@alpha.example,,,,fr_FR
    2,Alpha Lyon SARL,compta@alpha-lyon.example,+33 4 72 10 20 30,1,,fr_FR
    3,Beta AG,ap@beta.example,,,CHF,de_CH
    """)


def postgres_tables(ddl: str) -> str:
    """Dolibarr's MySQL table definitions as its installer turns them for PostgreSQL
    (htdocs/core/db/pgsql.class.php, convertSQLFromMysql): an AUTO_INCREMENT key a SERIAL,
    tinyint smallint, double numeric, datetime timestamp, no ENGINE."""
    ddl = re.sub(r"(\w+) integer AUTO_INCREMENT PRIMARY KEY", r"\1 SERIAL PRIMARY KEY", ddl)
    ddl = ddl.replace("tinyint", "smallint").replace("double(", "numeric(")
    return ddl.replace("datetime", "timestamp").replace(" ENGINE=innodb", "")


def books_on(server, tmp_path, monkeypatch) -> tuple:
    """Dolibarr's books on `server` and two AR folders: (read with the preset, the CSVs)."""
    db = server.create_database("dolibarr")
    postgres = server.scheme.startswith("postgres")
    db.sql((postgres_tables(TABLES) if postgres else TABLES) + ROWS)
    user, password = db.readonly_user()
    monkeypatch.setenv(PASSWORD_ENV, password)
    return folders(tmp_path, db.url(user), "dolibarr", INVOICES, CUSTOMERS)


@pytest.fixture(params=["mariadb_server", "postgres_server"])
def dolibarr_on_both(request, tmp_path, monkeypatch):
    """Dolibarr runs on MySQL/MariaDB or PostgreSQL: the same query reads both."""
    return books_on(request.getfixturevalue(request.param), tmp_path, monkeypatch)


@pytest.fixture
def dolibarr(mariadb_server, tmp_path, monkeypatch):
    return books_on(mariadb_server, tmp_path, monkeypatch)


def test_dolibarr_reads_as_the_same_invoices_in_a_csv(cli, dolibarr_on_both):
    served, filed = dolibarr_on_both
    got = nights(cli, served, AS_OF)
    assert got == nights(cli, filed, AS_OF)
    aging = got["aging"]
    # Alpha: 1 200 less 30 of a converted credit note used on it, + the remainder of
    # FA2601-0002 (1 000.50 less 400.20), less an open credit note (200) and the 50 of the
    # converted one not used yet; Beta: its CHF invoice's remainder, and in EUR 300 less 100 of
    # a credit note and 50 paid
    assert [(c["customer_id"], c["currency"], c["total"]) for c in aging["customers"]] == [
        ("2", "EUR", "1520.30"),
        ("3", "CHF", "750.00"),
        ("3", "EUR", "150.00"),
    ]
    assert got["dry_run"]["summary"]["invoices"] == 10  # drafts, abandoned, proformas: never read
    assert [(a["customer_id"], a["invoices"], a["to"]) for a in got["dry_run"]["actions"]] == [
        ("2", ["FA2601-0001", "FA2601-0002"], ["compta@alpha-lyon.example"]),
        ("2", ["FA2601-0001", "FA2601-0002"], ["controller@acme.example"]),
        ("3", ["FA2602-0005", "FA2603-0007"], ["ap@beta.example"]),
        ("3", ["FA2602-0005", "FA2603-0007"], ["controller@acme.example"]),
    ]
    assert got["run"][0] == 0
    to_alpha = [m for m in got["outbox"] if "alpha-lyon" in m[0]]
    assert to_alpha == [
        (
            "Alpha Lyon SARL <compta@alpha-lyon.example>",
            "Reminder FA2601-0001, FA2601-0002",
            "Dear Alpha Lyon SARL, you owe 1\u202f520,30\xa0€:\n"
            "FA2601-0001 1\u202f170,00\xa0€\nFA2601-0002 600,30\xa0€\n",
        )
    ]
    assert ("controller@acme.example", "[AR] Alpha Lyon SARL (1)") in [
        (m[0].split("<")[-1].rstrip(">"), m[1]) for m in got["outbox"]
    ]


def test_nothing_but_customers_invoices_is_read(dolibarr):
    served, _ = dolibarr
    ledger = load_ledger(load_config(served))
    numbers = {i.number for i in ledger.invoices}
    for never in ("(PROV4)", "FA2602-0004", "PR2603-0001", "SI2602-0001", "SI2602-0002"):
        assert never not in numbers
    assert sorted(ledger.customers) == ["1", "2", "3"]  # no supplier, no prospect
    alpha = ledger.customers["2"]
    assert (alpha.parent_id, alpha.language, alpha.email) == (
        "1",
        "fr_FR",
        ("compta@alpha-lyon.example",),
    )


# each filter or sum of the queries, broken: arflow then reads something else than the CSVs
MUTATIONS = {
    "drafts and abandoned invoices": (
        "invoices",
        "WHERE f.fk_statut IN (1, 2)",
        "WHERE f.fk_statut >= 0",
    ),
    "proformas": ("invoices", "AND f.type <> 4", "AND f.type >= 0"),
    "the payments": ("invoices", "COALESCE(pay.paid, 0) + ", ""),
    "the credit notes used as payment": ("invoices", " + COALESCE(disc.used, 0)", ""),
    "the invoice's own currency": (
        "invoices",
        "THEN f.multicurrency_total_ttc",
        "THEN f.total_ttc",
    ),
    "a closed invoice owes nothing": (
        "invoices",
        "WHEN f.fk_statut = 2 THEN 0",
        "WHEN f.fk_statut = 9 THEN 0",
    ),
    "bad debts are void": ("invoices", "THEN 'void'", "THEN 'paid'"),
    "a converted credit note's unused part": (
        "invoices",
        "(f.type = 2 AND f.fk_statut = 2 AND",
        "(f.type = 9 AND f.fk_statut = 2 AND",
    ),
    "the last payment's day": ("invoices", "MAX(p.datep)", "MIN(p.datec)"),
    "customers only": ("customers", "WHERE s.client IN (1, 3)", "WHERE s.client >= 0"),
    "their parents": ("customers", "\n   OR s.rowid IN", "\n   AND s.rowid IN"),
}


def test_the_books_read_as_the_csvs(dolibarr_on_both):
    served, filed = dolibarr_on_both
    assert books(served) == books(filed)


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_each_part_of_the_queries_matters(dolibarr, monkeypatch, mutation):
    served, filed = dolibarr
    break_query(monkeypatch, "dolibarr", *MUTATIONS[mutation])
    assert books(served) != books(filed)


def test_validate_checks_the_preset_reads_and_names_a_missing_table(cli, mariadb_server, dolibarr):
    served, _ = dolibarr
    assert "arflow.yaml: valid" in cli("validate", served).output
    db = mariadb_server.create_database("dolibarr")  # the same database, emptied
    db.sql(TABLES.replace("CREATE TABLE llx_societe_remise_except", "CREATE TABLE llx_other"))
    result = cli("validate", served, expect=1)
    assert "dolibarr/query: cannot read query: from " in result.output
    assert "Table 'dolibarr.llx_societe_remise_except' doesn't exist" in result.output


def test_a_reader_of_the_six_tables_the_docs_name_is_enough(mariadb_server, dolibarr, monkeypatch):
    served, filed = dolibarr
    db = mariadb_server.create_database("dolibarr")
    db.sql(TABLES + ROWS)
    tables = ["llx_facture", "llx_paiement_facture", "llx_paiement"]
    tables += ["llx_societe_remise_except", "llx_societe", "llx_const"]
    user, password = reader_of(db, tables)
    text = served.read_text()
    assert "dolibarr_reader@" in text
    served.write_text(text.replace("dolibarr_reader@", f"{user}@"))
    monkeypatch.setenv(PASSWORD_ENV, password)
    assert books(served) == books(filed)
