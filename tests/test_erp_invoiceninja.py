"""`preset: invoiceninja` on a real MariaDB holding Invoice Ninja 5's own tables (their real
column names and types, from database/schema/mysql-schema.sql), read by a user that may only
SELECT: the same aging, dry run and real run as the same invoices written by hand in a CSV.
Drafts, cancelled, reversed and deleted invoices, deleted clients and purchase orders never
appear; a partly paid invoice owes Invoice Ninja's balance; credits lower their client's total;
a client billed in another currency (its own setting, or its group's) is in that currency. Each
filter of the queries, broken on purpose, changes what arflow reads."""

from __future__ import annotations

import pytest

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

# the columns the preset reads (with their real types), and a few more as Invoice Ninja has them
_DOCUMENT = """\
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  client_id int(10) unsigned NOT NULL, user_id int(10) unsigned NOT NULL,
  company_id int(10) unsigned NOT NULL, status_id int(10) unsigned NOT NULL,
  vendor_id int(10) unsigned DEFAULT NULL, number varchar(191) DEFAULT NULL,
  po_number varchar(191) DEFAULT NULL, date date DEFAULT NULL,
  is_deleted tinyint(1) NOT NULL DEFAULT 0, line_items mediumtext DEFAULT NULL,
  exchange_rate decimal(20,6) NOT NULL DEFAULT 1.000000, amount decimal(20,6) NOT NULL,
  balance decimal(20,6) NOT NULL, partial decimal(20,6) DEFAULT NULL,
  paid_to_date decimal(20,6) NOT NULL DEFAULT 0.000000,
  created_at timestamp(6) NULL DEFAULT NULL, deleted_at timestamp(6) NULL DEFAULT NULL"""
TABLES = f"""\
CREATE TABLE currencies (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(191) NOT NULL,
  symbol varchar(191) NOT NULL, `precision` varchar(191) NOT NULL,
  thousand_separator varchar(191) NOT NULL, decimal_separator varchar(191) NOT NULL,
  code varchar(191) NOT NULL, swap_currency_symbol tinyint(1) NOT NULL DEFAULT 0,
  exchange_rate decimal(13,6) NOT NULL DEFAULT 1.000000) ENGINE=InnoDB;
CREATE TABLE languages (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(191) NOT NULL,
  locale varchar(191) NOT NULL) ENGINE=InnoDB;
CREATE TABLE companies (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, account_id int(10) unsigned NOT NULL,
  company_key varchar(100) NOT NULL, settings mediumtext NOT NULL,
  created_at timestamp(6) NULL DEFAULT NULL) ENGINE=InnoDB;
CREATE TABLE group_settings (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  company_id int(10) unsigned NOT NULL, name varchar(191) DEFAULT NULL,
  settings mediumtext DEFAULT NULL, is_default tinyint(1) NOT NULL DEFAULT 0,
  is_deleted tinyint(1) NOT NULL DEFAULT 0) ENGINE=InnoDB;
CREATE TABLE clients (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  company_id int(10) unsigned NOT NULL, user_id int(10) unsigned NOT NULL,
  name varchar(191) DEFAULT NULL, phone varchar(255) DEFAULT NULL,
  balance decimal(20,6) NOT NULL DEFAULT 0.000000,
  paid_to_date decimal(20,6) NOT NULL DEFAULT 0.000000, country_id int(10) unsigned DEFAULT NULL,
  settings mediumtext DEFAULT NULL, is_deleted tinyint(1) NOT NULL DEFAULT 0,
  group_settings_id int(10) unsigned DEFAULT NULL, number varchar(191) DEFAULT NULL,
  deleted_at timestamp(6) NULL DEFAULT NULL) ENGINE=InnoDB;
CREATE TABLE client_contacts (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  company_id int(10) unsigned NOT NULL, client_id int(10) unsigned NOT NULL,
  user_id int(10) unsigned NOT NULL, first_name varchar(191) DEFAULT NULL,
  last_name varchar(191) DEFAULT NULL, phone varchar(191) DEFAULT NULL,
  email varchar(100) DEFAULT NULL, is_primary tinyint(1) NOT NULL DEFAULT 0,
  password varchar(191) NOT NULL, send_email tinyint(1) NOT NULL DEFAULT 1,
  deleted_at timestamp(6) NULL DEFAULT NULL) ENGINE=InnoDB;
CREATE TABLE invoices (
{_DOCUMENT}, due_date datetime DEFAULT NULL) ENGINE=InnoDB;
CREATE TABLE credits (
{_DOCUMENT}, invoice_id int(10) unsigned DEFAULT NULL, due_date date DEFAULT NULL
  ) ENGINE=InnoDB;
CREATE TABLE purchase_orders (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  client_id int(10) unsigned DEFAULT NULL, user_id int(10) unsigned NOT NULL,
  company_id int(10) unsigned NOT NULL, status_id int(10) unsigned NOT NULL,
  vendor_id int(10) unsigned DEFAULT NULL, number varchar(191) DEFAULT NULL,
  date date DEFAULT NULL, due_date date DEFAULT NULL,
  is_deleted tinyint(1) NOT NULL DEFAULT 0, amount decimal(20,6) NOT NULL,
  balance decimal(20,6) NOT NULL) ENGINE=InnoDB;
CREATE TABLE payments (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  company_id int(10) unsigned NOT NULL, client_id int(10) unsigned NOT NULL,
  status_id int(10) unsigned NOT NULL, amount decimal(20,6) NOT NULL DEFAULT 0.000000,
  applied decimal(20,6) NOT NULL DEFAULT 0.000000, date date DEFAULT NULL,
  number varchar(191) DEFAULT NULL, is_deleted tinyint(1) NOT NULL DEFAULT 0,
  currency_id int(10) unsigned NOT NULL) ENGINE=InnoDB;
CREATE TABLE paymentables (
  id int(10) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  payment_id int(10) unsigned NOT NULL, paymentable_id int(10) unsigned NOT NULL,
  amount decimal(16,4) NOT NULL DEFAULT 0.0000, refunded decimal(16,4) NOT NULL DEFAULT 0.0000,
  paymentable_type varchar(191) NOT NULL, deleted_at timestamp(6) NULL DEFAULT NULL
  ) ENGINE=InnoDB;
"""

ROWS = r"""
INSERT INTO currencies (id, name, symbol, `precision`, thousand_separator, decimal_separator,
                        code) VALUES
  (1, 'US Dollar', '$', '2', ',', '.', 'USD'), (2, 'British Pound', '£', '2', ',', '.', 'GBP'),
  (3, 'Euro', '€', '2', '.', ',', 'EUR');
INSERT INTO languages (id, name, locale) VALUES
  (1, 'English - United States', 'en'), (3, 'German', 'de'), (4, 'French', 'fr');
INSERT INTO companies (id, account_id, company_key, settings) VALUES
  (1, 1, 'k3y', '{"currency_id":"1","language_id":"1","timezone_id":"15"}');
INSERT INTO group_settings (id, company_id, name, settings) VALUES
  (1, 1, 'Europe', '{"currency_id":"3"}');
INSERT INTO clients (id, company_id, user_id, name, phone, settings, is_deleted,
                     group_settings_id) VALUES
  (1, 1, 1, 'Northwind LLC', '+1 202 555 0123', '{"currency_id":"","language_id":""}', 0, NULL),
  (2, 1, 1, 'Berliner Bau GmbH', NULL, '{"language_id":"3"}', 0, 1),
  (3, 1, 1, 'London Lettings Ltd', NULL, '{"currency_id":"2","language_id":null}', 0, NULL),
  (4, 1, 1, 'Gone Inc', NULL, '{}', 1, NULL),
  (5, 1, 1, NULL, NULL, '{"currency_id":"3"}', 0, NULL);
INSERT INTO client_contacts (id, company_id, client_id, user_id, first_name, last_name, phone,
                             email, is_primary, send_email, password, deleted_at) VALUES
  (1, 1, 1, 1, 'Sam', 'Other', NULL, 'sam@northwind.example', 0, 0, 'x', NULL),
  (2, 1, 1, 1, 'Nora', 'West', NULL, 'ap@northwind.example', 1, 1, 'x', NULL),
  (3, 1, 2, 1, 'Greta', 'Bau', '+49 30 1234567', 'buchhaltung@berliner-bau.example', 1, 1,
   'x', NULL),
  (4, 1, 3, 1, 'Lee', 'Old', NULL, 'old@london-lettings.example', 1, 1, 'x',
   '2026-01-01 00:00:00'),
  (5, 1, 3, 1, 'Liz', 'Let', NULL, 'accounts@london-lettings.example', 1, 1, 'x', NULL),
  (6, 1, 4, 1, 'Gil', 'Gone', NULL, 'ap@gone.example', 1, 1, 'x', NULL),
  (7, 1, 1, 1, 'Ola', 'Payables', NULL, 'payables@northwind.example', 0, 1, 'x', NULL),
  (8, 1, 5, 1, 'Pat', 'Solo', NULL, 'pat@solo.example', 1, 1, 'x', NULL);
INSERT INTO invoices (id, client_id, user_id, company_id, status_id, number, date, due_date,
                      amount, balance, is_deleted, deleted_at) VALUES
  (1, 1, 1, 1, 2, '0001', '2026-01-15', '2026-02-14 00:00:00', 1500, 1500, 0, NULL),
  (2, 1, 1, 1, 3, '0002', '2026-02-01', '2026-03-03 00:00:00', 1000, 350, 0, NULL),
  (3, 1, 1, 1, 4, '0003', '2026-02-05', '2026-03-07 00:00:00', 200, 0, 0, NULL),
  (4, 1, 1, 1, 1, '0004', '2026-03-20', '2026-04-19 00:00:00', 700, 700, 0, NULL),
  (5, 1, 1, 1, 5, '0005', '2026-01-20', '2026-02-19 00:00:00', 400, 0, 0, NULL),
  (6, 1, 1, 1, 6, '0006', '2026-01-21', '2026-02-20 00:00:00', 300, 0, 0, NULL),
  (7, 1, 1, 1, 2, '0007', '2026-01-22', '2026-02-21 00:00:00', 600, 600, 1,
   '2026-02-01 00:00:00'),
  (8, 2, 1, 1, 2, '0008', '2026-02-10', '2026-03-12 00:00:00', 2400, 2400, 0, NULL),
  (9, 3, 1, 1, 2, '0009', '2026-02-20', '2026-03-06 00:00:00', 800, 800, 0, NULL),
  (10, 4, 1, 1, 2, '0010', '2026-02-20', '2026-03-06 00:00:00', 999, 999, 0, NULL),
  (11, 1, 1, 1, 2, '0011', '2026-01-05', '2026-02-04 00:00:00', 90, 90, 0,
   '2026-03-01 00:00:00'),
  (12, 5, 1, 1, 4, '0012', '2026-03-02', '2026-03-16 00:00:00', 45.5, 0, 0, NULL);
INSERT INTO credits (id, client_id, user_id, company_id, status_id, number, date, due_date,
                     amount, balance, is_deleted) VALUES
  (1, 1, 1, 1, 2, '0001', '2026-03-01', NULL, 250, 250, 0),
  (2, 2, 1, 1, 4, '0002', '2026-03-02', NULL, 120, 0, 0),
  (3, 2, 1, 1, 1, '0003', '2026-03-03', NULL, 80, 80, 0),
  (4, 1, 1, 1, 3, '0004', '2026-03-10', '2026-03-10', 100, 40, 0),
  (5, 1, 1, 1, 2, '0005', '2026-03-11', NULL, 60, 60, 1);
INSERT INTO purchase_orders (id, client_id, user_id, company_id, status_id, vendor_id, number,
                             date, due_date, amount, balance) VALUES
  (1, NULL, 1, 1, 2, 1, 'PO-0001', '2026-02-01', '2026-03-01', 5000, 5000);
INSERT INTO payments (id, company_id, client_id, status_id, amount, applied, date, is_deleted,
                      currency_id) VALUES
  (1, 1, 1, 4, 650, 650, '2026-03-01', 0, 1), (2, 1, 1, 4, 200, 200, '2026-03-06', 0, 1),
  (3, 1, 1, 4, 200, 200, '2026-03-20', 1, 1), (4, 1, 1, 4, 10, 10, '2026-03-25', 0, 1),
  (5, 1, 5, 4, 45.5, 45.5, '2026-03-09', 0, 3);
INSERT INTO paymentables (payment_id, paymentable_id, amount, paymentable_type) VALUES
  (1, 2, 650, 'invoices'), (2, 3, 200, 'invoices'), (3, 3, 200, 'invoices'),
  (4, 3, 10, 'App\\Models\\Credit'), (5, 12, 45.5, 'invoices');
"""

INVOICES = csv_rows("""\
    number,customer_id,customer_name,email,phone,issue_date,due_date,amount,balance,paid_date,currency,status
    0001,1,Northwind LLC,ap@northwind.example,+1 202 555 0123,2026-01-15,2026-02-14,1500.00,1500.00,,USD,open
    0002,1,Northwind LLC,ap@northwind.example,+1 202 555 0123,2026-02-01,2026-03-03,1000.00,350.00,,USD,open
    0003,1,Northwind LLC,ap@northwind.example,+1 202 555 0123,2026-02-05,2026-03-07,200.00,0.00,2026-03-06,USD,paid
    0008,2,Berliner Bau GmbH,buchhaltung@berliner-bau.example,+49 30 1234567,2026-02-10,2026-03-12,2400.00,2400.00,,EUR,open
    0009,3,London Lettings Ltd,accounts@london-lettings.example,,2026-02-20,2026-03-06,800.00,800.00,,GBP,open
    0011,1,Northwind LLC,ap@northwind.example,+1 202 555 0123,2026-01-05,2026-02-04,90.00,90.00,,USD,open
    Credit 0001,1,Northwind LLC,ap@northwind.example,+1 202 555 0123,2026-03-01,,-250.00,-250.00,,USD,open
    0012,5,Pat Solo,pat@solo.example,,2026-03-02,2026-03-16,45.50,0.00,2026-03-09,EUR,paid
    Credit 0004,1,Northwind LLC,ap@northwind.example,+1 202 555 0123,2026-03-10,2026-03-10,-100.00,-40.00,,USD,open
    """)  # fmt: skip
CUSTOMERS = csv_rows("""\
    customer_id,name,email,phone,currency,language
    1,Northwind LLC,ap@northwind.example,+1 202 555 0123,USD,en
    2,Berliner Bau GmbH,buchhaltung@berliner-bau.example,+49 30 1234567,EUR,de
    3,London Lettings Ltd,accounts@london-lettings.example,,GBP,en
    5,Pat Solo,pat@solo.example,,EUR,en
    """)  # fmt: skip
CONTACTS = csv_rows("""\
    customer_id,name,email,phone,role
    1,Sam Other,sam@northwind.example,,contact
    1,Nora West,ap@northwind.example,,billing
    1,Ola Payables,payables@northwind.example,,billing
    2,Greta Bau,buchhaltung@berliner-bau.example,+49 30 1234567,billing
    3,Liz Let,accounts@london-lettings.example,,billing
    5,Pat Solo,pat@solo.example,,billing
    """)


@pytest.fixture
def ninja(mariadb_server, tmp_path, monkeypatch):
    """Invoice Ninja's books on MariaDB and two AR folders: (read with the preset, the CSVs)."""
    db = mariadb_server.create_database("ninja")
    db.sql(TABLES + ROWS)
    user, password = db.readonly_user()
    monkeypatch.setenv(PASSWORD_ENV, password)
    return folders(tmp_path, db.url(user), "invoiceninja", INVOICES, CUSTOMERS, CONTACTS)


def test_invoiceninja_reads_as_the_same_invoices_in_a_csv(cli, ninja):
    served, filed = ninja
    got = nights(cli, served, AS_OF)
    assert got == nights(cli, filed, AS_OF)
    # Northwind: 1 500 + 350 (Invoice Ninja's balance of the partly paid one) + 90 (archived,
    # still owed) less its credits' 250 and 40 left to apply
    assert [(c["customer_id"], c["currency"], c["total"]) for c in got["aging"]["customers"]] == [
        ("2", "EUR", "2400.00"),
        ("1", "USD", "1650.00"),
        ("3", "GBP", "800.00"),
    ]
    assert got["dry_run"]["summary"]["invoices"] == 9
    assert [(a["customer_id"], a["invoices"], a["to"]) for a in got["dry_run"]["actions"]] == [
        ("1", ["0001", "0002", "0011"], ["ap@northwind.example", "payables@northwind.example"]),
        ("1", ["0001", "0002", "0011"], ["controller@acme.example"]),
        ("2", ["0008"], ["buchhaltung@berliner-bau.example"]),
        ("2", ["0008"], ["controller@acme.example"]),
        ("3", ["0009"], ["accounts@london-lettings.example"]),
        ("3", ["0009"], ["controller@acme.example"]),
    ]
    assert got["run"][0] == 0
    assert [m for m in got["outbox"] if "northwind" in m[0]] == [
        (
            "Northwind LLC <ap@northwind.example>, Northwind LLC <payables@northwind.example>",
            "Reminder 0011, 0001, 0002",
            "Dear Northwind LLC, you owe $1,650.00:\n0011 $90.00\n0001 $1,500.00\n0002 $350.00\n",
        )
    ]


def test_the_books_read_as_the_csvs(ninja):
    served, filed = ninja
    assert books(served) == books(filed)
    invoices, customers = books(served)
    numbers = {row[0] for row in invoices}
    # drafts, cancelled, reversed, deleted, a deleted client's, applied and draft credits, a
    # deleted credit, a purchase order: never read
    for never in ("0004", "0005", "0006", "0007", "0010", "Credit 0002", "Credit 0003"):
        assert never not in numbers
    assert "Credit 0005" not in numbers and "PO-0001" not in numbers
    assert [row[0] for row in customers] == ["1", "2", "3", "5"]


# each filter of the queries, broken: arflow then reads something else than the CSVs
MUTATIONS = {
    "drafts, cancelled and reversed": (
        "invoices",
        "d.status_id IN (2, 3, 4)",
        "d.status_id > 0",
    ),
    "deleted invoices": ("invoices", "WHERE d.is_deleted = 0 AND d.status_id IN (2, 3, 4)", "WHERE d.status_id IN (2, 3, 4)"),
    "deleted clients": ("invoices", " AND c.is_deleted = 0", ""),
    "credits are negative": ("invoices", "(-d.balance AS DECIMAL", "(d.balance AS DECIMAL"),
    "applied and draft credits": ("invoices", "AND d.status_id IN (2, 3)", "AND d.status_id > 0"),
    "the primary contact": ("invoices", "cc.is_primary = 1", "cc.is_primary >= 0"),
    "removed contacts": ("customers", " AND cc.deleted_at IS NULL", ""),
    "contacts removed": ("contacts", "WHERE cc.deleted_at IS NULL", "WHERE cc.id > 0"),
    "who receives invoices": ("contacts", "cc.send_email = 1", "cc.send_email >= 0"),
    "the group's currency": ("customers", "g.settings, '$.currency_id'", "co.settings, '$.currency_id'"),
    "a null setting": ("customers", "''), 'null')", "''), 'none')"),
    "deleted payments": ("invoices", " AND p.is_deleted = 0", ""),
    "invoices' payments only": ("invoices", "pa.paymentable_type = 'invoices' AND ", ""),
    "a client without a name": (
        "customers",
        "NULLIF(TRIM(CONCAT(COALESCE(pc.first_name, ''), ' ', COALESCE(pc.last_name, ''))), ''), ",
        "",
    ),
    "deleted clients are no customers": ("customers", "WHERE c.is_deleted = 0", "WHERE c.id > 0"),
}  # fmt: skip


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_each_part_of_the_queries_matters(ninja, monkeypatch, mutation):
    served, filed = ninja
    break_query(monkeypatch, "invoiceninja", *MUTATIONS[mutation])
    assert books(served) != books(filed)


def test_a_reader_of_the_ten_tables_the_docs_name_is_enough(mariadb_server, ninja, monkeypatch):
    served, filed = ninja
    db = mariadb_server.create_database("ninja")
    db.sql(TABLES + ROWS)
    tables = ["invoices", "credits", "clients", "client_contacts", "group_settings"]
    tables += ["companies", "currencies", "languages", "paymentables", "payments"]
    user, password = reader_of(db, tables)
    text = served.read_text()
    assert "ninja_reader@" in text
    served.write_text(text.replace("ninja_reader@", f"{user}@"))
    monkeypatch.setenv(PASSWORD_ENV, password)
    assert books(served) == books(filed)
