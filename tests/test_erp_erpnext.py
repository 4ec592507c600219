"""`preset: erpnext` on a real MariaDB holding ERPNext's tables (`tabSales Invoice`,
`tabCustomer`, `tabContact` and its `tabDynamic Link` rows, `tabPurchase Invoice`, with the
columns the preset reads typed as Frappe types them, Frappe's own columns and a few more),
read as a user that may only read: the same aging, dry run and real run as the same books
written by hand in CSV files; drafts, cancelled and paid invoices and purchase invoices never
chased; the credit note lowers its customer's total; the partly paid invoice shows its
outstanding amount; an invoice in euros whose customer's account keeps dollars shows its
balance in euros."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arflow.config import load_config
from arflow.errors import ArflowError
from arflow.sources import load_ledger
from tests.erp_books import PASSWORD_ENV, csv_folder, erp_folder, three_commands

# Frappe's columns (frappe/database/mariadb/database.py): Data, Link, Select, Read Only
# varchar(140), Small Text text, Date date, Currency and Float decimal(21,9), Check int(1);
# every table has name, creation, modified, modified_by, owner, docstatus, idx; a child table
# parent, parentfield, parenttype
STANDARD = """\
    name varchar(140) NOT NULL PRIMARY KEY, creation datetime(6), modified datetime(6),
    modified_by varchar(140), owner varchar(140), docstatus int(1) NOT NULL DEFAULT 0,
    idx int(8) NOT NULL DEFAULT 0"""
SCHEMA = f"""\
CREATE TABLE `tabSales Invoice` ({STANDARD},
    title varchar(140), naming_series varchar(140), customer varchar(140), customer_name text,
    company varchar(140), posting_date date, due_date date, is_pos int(1) NOT NULL DEFAULT 0,
    is_return int(1) NOT NULL DEFAULT 0, return_against varchar(140),
    update_outstanding_for_self int(1) NOT NULL DEFAULT 1, amended_from varchar(140),
    currency varchar(140), conversion_rate decimal(21,9) NOT NULL DEFAULT 0,
    grand_total decimal(21,9) NOT NULL DEFAULT 0, base_grand_total decimal(21,9) NOT NULL DEFAULT 0,
    rounded_total decimal(21,9) NOT NULL DEFAULT 0,
    disable_rounded_total int(1) NOT NULL DEFAULT 0,
    outstanding_amount decimal(21,9) NOT NULL DEFAULT 0, party_account_currency varchar(140),
    debit_to varchar(140), contact_person varchar(140), contact_email varchar(140),
    contact_mobile text, status varchar(30), language varchar(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `tabPurchase Invoice` ({STANDARD},
    supplier varchar(140), supplier_name text, posting_date date, due_date date,
    is_return int(1) NOT NULL DEFAULT 0, currency varchar(140),
    grand_total decimal(21,9) NOT NULL DEFAULT 0,
    outstanding_amount decimal(21,9) NOT NULL DEFAULT 0, status varchar(30)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `tabCustomer` ({STANDARD},
    naming_series varchar(140), customer_name varchar(140), customer_type varchar(140),
    customer_group varchar(140), territory varchar(140), default_currency varchar(140),
    language varchar(140), customer_primary_contact varchar(140), mobile_no varchar(140),
    email_id varchar(140), is_internal_customer int(1) NOT NULL DEFAULT 0,
    is_frozen int(1) NOT NULL DEFAULT 0, disabled int(1) NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `tabContact` ({STANDARD},
    first_name varchar(140), middle_name varchar(140), last_name varchar(140),
    full_name varchar(140), email_id varchar(140), phone varchar(140), mobile_no varchar(140),
    company_name varchar(140), status varchar(140), is_primary_contact int(1) NOT NULL DEFAULT 0,
    unsubscribed int(1) NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `tabDynamic Link` ({STANDARD},
    parent varchar(140), parentfield varchar(140), parenttype varchar(140),
    link_doctype varchar(140), link_name varchar(140), link_title varchar(140)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `tabPayment Ledger Entry` ({STANDARD},
    posting_date date, company varchar(140), account_type varchar(140), account varchar(140),
    party_type varchar(140), party varchar(140), due_date date, voucher_type varchar(140),
    voucher_no varchar(140), against_voucher_type varchar(140),
    against_voucher_no varchar(140), amount decimal(21,9) NOT NULL DEFAULT 0,
    account_currency varchar(140), amount_in_account_currency decimal(21,9) NOT NULL DEFAULT 0,
    delinked int(1) NOT NULL DEFAULT 0, remarks text
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO `tabCustomer` (name, customer_name, customer_type, customer_group, territory,
    default_currency, language, customer_primary_contact, mobile_no, email_id) VALUES
  ('Acme Corp', 'Acme Corp', 'Company', 'Commercial', 'United States', 'USD', 'en',
   'Jane Roe-Acme Corp', '+1 202 555 0123', 'ap@acme.example'),
  ('Blau GmbH', 'Blau GmbH', 'Company', 'Commercial', 'Germany', 'EUR', 'de', NULL, NULL,
   'buchhaltung@blau.example'),
  ('Casa Lda', 'Casa Comércio Lda', 'Company', 'Individual', 'Brazil', 'EUR', 'pt-BR', NULL,
   NULL, 'financeiro@casa.example');
INSERT INTO `tabContact` (name, first_name, last_name, full_name, email_id, phone, mobile_no,
    status, is_primary_contact, unsubscribed) VALUES
  ('Jane Roe-Acme Corp', 'Jane', 'Roe', 'Jane Roe', 'ap@acme.example', '', '+1 202 555 0123',
   'Passive', 1, 0),
  ('Sam Lee-Acme Corp', 'Sam', 'Lee', 'Sam Lee', 'sam@acme.example', NULL, NULL, 'Passive', 0,
   0),
  ('Old Hand-Acme Corp', 'Old', 'Hand', 'Old Hand', 'old@acme.example', NULL, NULL, 'Passive',
   0, 1),
  ('Pat Paper-Paper Co', 'Pat', 'Paper', 'Pat Paper', 'pat@paper.example', NULL, NULL,
   'Passive', 1, 0),
  ('Max Einkauf-Blau GmbH', 'Max', 'Einkauf', 'Max Einkauf', 'einkauf@blau.example', NULL,
   NULL, 'Passive', 1, 0);
INSERT INTO `tabDynamic Link` (name, parent, parentfield, parenttype, link_doctype, link_name,
    link_title, idx) VALUES
  ('dl1', 'Jane Roe-Acme Corp', 'links', 'Contact', 'Customer', 'Acme Corp', 'Acme Corp', 1),
  ('dl2', 'Sam Lee-Acme Corp', 'links', 'Contact', 'Customer', 'Acme Corp', 'Acme Corp', 1),
  ('dl3', 'Old Hand-Acme Corp', 'links', 'Contact', 'Customer', 'Acme Corp', 'Acme Corp', 1),
  ('dl4', 'Pat Paper-Paper Co', 'links', 'Contact', 'Supplier', 'Paper Co', 'Paper Co', 1),
  ('dl5', 'Acme Corp-Billing', 'links', 'Address', 'Customer', 'Acme Corp', 'Acme Corp', 1),
  -- Blau GmbH sells to the company too: its purchasing contact is the supplier's
  ('dl6', 'Max Einkauf-Blau GmbH', 'links', 'Contact', 'Supplier', 'Blau GmbH', 'Blau GmbH',
   1);
INSERT INTO `tabSales Invoice` (name, docstatus, customer, customer_name, company,
    posting_date, due_date, is_return, return_against, amended_from, currency, conversion_rate,
    grand_total, rounded_total, disable_rounded_total, outstanding_amount,
    party_account_currency, contact_email, contact_mobile, status) VALUES
  -- rounded: 1200.40 billed as 1200.00
  ('ACC-SINV-2026-00001', 1, 'Acme Corp', 'Acme Corp', 'Books Ltd', '2026-01-10',
   '2026-02-09', 0, NULL, NULL, 'USD', 1, 1200.40, 1200.00, 0, 1200.00, 'USD',
   'ap@acme.example', '+1 202 555 0123', 'Overdue'),
  -- partly paid: 500 of 800 received
  ('ACC-SINV-2026-00002', 1, 'Acme Corp', 'Acme Corp', 'Books Ltd', '2026-02-01',
   '2026-03-03', 0, NULL, NULL, 'USD', 1, 800, 800, 0, 300, 'USD', 'ap@acme.example', NULL,
   'Partly Paid'),
  -- a credit note: ERPNext keeps its totals negative
  ('ACC-SINV-RET-2026-00001', 1, 'Acme Corp', 'Acme Corp', 'Books Ltd', '2026-02-15',
   '2026-02-15', 1, 'ACC-SINV-2026-00002', NULL, 'USD', 1, -150, -150, 0, -150, 'USD',
   'ap@acme.example', NULL, 'Return'),
  ('ACC-SINV-2026-00003', 1, 'Blau GmbH', 'Blau GmbH', 'Books Ltd', '2026-01-05', '2026-02-04',
   0, NULL, NULL, 'USD', 1, 500, 500, 0, 0, 'USD', NULL, NULL, 'Paid'),
  -- in euros, the customer's receivable account in dollars: 1100 dollars outstanding
  ('ACC-SINV-2026-00004', 1, 'Blau GmbH', 'Blau GmbH', 'Books Ltd', '2026-02-20', '2026-03-22',
   0, NULL, NULL, 'EUR', 1.1, 1000, 1000, 0, 1100, 'USD', NULL, NULL, 'Unpaid'),
  -- in euros, a receivable account in euros, no rounding
  ('ACC-SINV-2026-00005', 1, 'Casa Lda', 'Casa Comércio Lda', 'Books Ltd', '2026-02-01',
   '2026-03-01', 0, NULL, NULL, 'EUR', 1.08, 500.25, 0, 1, 500.25, 'EUR',
   'financeiro@casa.example', NULL, 'Overdue'),
  -- never: a draft, a cancelled invoice (its amendment is the one)
  ('ACC-SINV-2026-00006', 0, 'Casa Lda', 'Casa Comércio Lda', 'Books Ltd', '2026-03-01',
   '2026-03-02', 0, NULL, NULL, 'EUR', 1.08, 999, 999, 0, 999, 'EUR', NULL, NULL, 'Draft'),
  ('ACC-SINV-2026-00007', 2, 'Blau GmbH', 'Blau GmbH', 'Books Ltd', '2026-02-08',
   '2026-03-10', 0, NULL, NULL, 'USD', 1, 700, 700, 0, 700, 'USD', NULL, NULL, 'Cancelled'),
  ('ACC-SINV-2026-00007-1', 1, 'Blau GmbH', 'Blau GmbH', 'Books Ltd', '2026-02-08',
   '2026-03-10', 0, NULL, 'ACC-SINV-2026-00007', 'USD', 1, 650, 650, 0, 650, 'USD', NULL,
   NULL, 'Overdue');
-- the payment ledger: each invoice's own entry, the payments allocated to ACC-SINV-2026-00003
-- (in two parts; a third payment cancelled: delinked) and to ACC-SINV-2026-00002 (in part)
INSERT INTO `tabPayment Ledger Entry` (name, posting_date, account_type, party_type, party,
    voucher_type, voucher_no, against_voucher_type, against_voucher_no, amount, delinked)
VALUES
  ('ple1', '2026-01-05', 'Receivable', 'Customer', 'Blau GmbH', 'Sales Invoice',
   'ACC-SINV-2026-00003', 'Sales Invoice', 'ACC-SINV-2026-00003', 500, 0),
  ('ple2', '2026-01-20', 'Receivable', 'Customer', 'Blau GmbH', 'Payment Entry',
   'ACC-PAY-2026-00001', 'Sales Invoice', 'ACC-SINV-2026-00003', -200, 0),
  ('ple3', '2026-02-10', 'Receivable', 'Customer', 'Blau GmbH', 'Payment Entry',
   'ACC-PAY-2026-00002', 'Sales Invoice', 'ACC-SINV-2026-00003', -300, 0),
  ('ple4', '2026-03-05', 'Receivable', 'Customer', 'Blau GmbH', 'Payment Entry',
   'ACC-PAY-2026-00003', 'Sales Invoice', 'ACC-SINV-2026-00003', -300, 1),
  ('ple5', '2026-02-01', 'Receivable', 'Customer', 'Acme Corp', 'Sales Invoice',
   'ACC-SINV-2026-00002', 'Sales Invoice', 'ACC-SINV-2026-00002', 800, 0),
  ('ple6', '2026-02-25', 'Receivable', 'Customer', 'Acme Corp', 'Payment Entry',
   'ACC-PAY-2026-00004', 'Sales Invoice', 'ACC-SINV-2026-00002', -500, 0);
-- a supplier's invoice: another table, never read
INSERT INTO `tabPurchase Invoice` (name, docstatus, supplier, supplier_name, posting_date,
    due_date, currency, grand_total, outstanding_amount, status) VALUES
  ('ACC-PINV-2026-00001', 1, 'Paper Co', 'Paper Co', '2026-01-15', '2026-01-16', 'USD', 450,
   450, 'Overdue');
"""
EVERY_ROW = """\
SELECT 'si', count(*), sum(outstanding_amount), sum(docstatus) FROM `tabSales Invoice`
UNION ALL SELECT 'customer', count(*), group_concat(name ORDER BY name), 0 FROM `tabCustomer`
UNION ALL SELECT 'contact', count(*), group_concat(name ORDER BY name), 0 FROM `tabContact`"""

# the same books by hand, as the preset is to read them
INVOICES = """\
number,customer_id,customer_name,email,phone,issue_date,due_date,amount,balance,currency,status,paid_date
ACC-SINV-2026-00003,Blau GmbH,Blau GmbH,,,2026-01-05,2026-02-04,500,0,USD,paid,2026-02-10
ACC-SINV-2026-00001,Acme Corp,Acme Corp,ap@acme.example,+1 202 555 0123,2026-01-10,2026-02-09,1200.00,1200.00,USD,open,
ACC-SINV-2026-00002,Acme Corp,Acme Corp,ap@acme.example,,2026-02-01,2026-03-03,800,300,USD,open,
ACC-SINV-2026-00005,Casa Lda,Casa Comércio Lda,financeiro@casa.example,,2026-02-01,2026-03-01,500.25,500.25,EUR,open,
ACC-SINV-2026-00007-1,Blau GmbH,Blau GmbH,,,2026-02-08,2026-03-10,650,650,USD,open,
ACC-SINV-RET-2026-00001,Acme Corp,Acme Corp,ap@acme.example,,2026-02-15,2026-02-15,-150,-150,USD,open,
ACC-SINV-2026-00004,Blau GmbH,Blau GmbH,,,2026-02-20,2026-03-22,1000,1000.00,EUR,open,
"""
CUSTOMERS = """\
customer_id,name,email,phone,currency,language,segment
Acme Corp,Acme Corp,ap@acme.example,+1 202 555 0123,USD,en,Commercial
Blau GmbH,Blau GmbH,buchhaltung@blau.example,,EUR,de,Commercial
Casa Lda,Casa Comércio Lda,financeiro@casa.example,,EUR,pt_BR,Individual
"""
CONTACTS = """\
customer_id,name,email,phone,role
Acme Corp,Jane Roe,ap@acme.example,+1 202 555 0123,billing
Acme Corp,Sam Lee,sam@acme.example,,contact
"""


@pytest.fixture
def erpnext(mariadb_server, monkeypatch):
    """A database of ERPNext's tables and rows; the folder reading it as the read-only user."""

    def make(tmp_path):
        db = mariadb_server.create_database("erpnext_books")
        db.sql(SCHEMA)
        user, password = db.readonly_user()
        monkeypatch.setenv(PASSWORD_ENV, password)
        return erp_folder(tmp_path / "erpnext", db.url(user), "erpnext", "USD"), db

    return make


def test_erpnext_reads_as_the_same_books_in_csv(tmp_path, erpnext):
    config, db = erpnext(tmp_path)
    before = db.sql(EVERY_ROW)
    by_hand = csv_folder(
        tmp_path / "csv",
        "USD",
        {"invoices": INVOICES, "customers": CUSTOMERS, "contacts": CONTACTS},
    )
    from_erpnext, from_csv = three_commands(config), three_commands(by_hand)
    assert from_erpnext == from_csv
    assert db.sql(EVERY_ROW) == before  # read as a user that may only read: nothing written
    # Acme owes 1200 + 300 - 150 (the credit note lowers it, the partly paid invoice counts its
    # outstanding amount); Blau 650 dollars and 1000 euros; Casa 500.25 euros
    aging = from_erpnext["aging"]
    assert [(c["customer_id"], c["currency"], c["total"]) for c in aging["customers"]] == [
        ("Acme Corp", "USD", "1350.00"),
        ("Blau GmbH", "EUR", "1000.00"),
        ("Blau GmbH", "USD", "650.00"),
        ("Casa Lda", "EUR", "500.25"),
    ]
    assert from_erpnext["outbox"] == [
        (
            ["ap@acme.example"],  # the primary contact: billing
            "Reminder ACC-SINV-2026-00001, ACC-SINV-2026-00002",
            "Dear Jane Roe (en, parent -):\nACC-SINV-2026-00001 $1,200.00 due 2026-02-09\n"
            "ACC-SINV-2026-00002 $300.00 due 2026-03-03\noutstanding $1,350.00",
        ),
        (
            ["buchhaltung@blau.example"],
            "Reminder ACC-SINV-2026-00007-1, ACC-SINV-2026-00004",
            "Dear Blau GmbH (de, parent -):\nACC-SINV-2026-00007-1 650,00\xa0$ due 2026-03-10\n"
            "ACC-SINV-2026-00004 1.000,00\xa0€ due 2026-03-22\noutstanding 650,00\xa0$",
        ),
        (
            ["financeiro@casa.example"],
            "Reminder ACC-SINV-2026-00005",
            "Dear Casa Comércio Lda (pt_BR, parent -):\nACC-SINV-2026-00005 €\xa0500,25 due "
            "2026-03-01\noutstanding €\xa0500,25",
        ),
    ]


def test_erpnext_reads_only_submitted_sales_invoices(tmp_path, erpnext):
    ledger = load_ledger(load_config(erpnext(tmp_path)[0]))
    assert ledger.errors == []
    assert [
        (i.number, i.customer_id, i.amount, i.balance, i.currency, i.status)
        for i in ledger.invoices
    ] == [
        ("ACC-SINV-2026-00003", "Blau GmbH", Decimal("500"), Decimal("0"), "USD", "paid"),
        ("ACC-SINV-2026-00001", "Acme Corp", Decimal("1200"), Decimal("1200"), "USD", "open"),
        ("ACC-SINV-2026-00002", "Acme Corp", Decimal("800"), Decimal("300"), "USD", "open"),
        ("ACC-SINV-2026-00005", "Casa Lda", Decimal("500.25"), Decimal("500.25"), "EUR", "open"),
        ("ACC-SINV-2026-00007-1", "Blau GmbH", Decimal("650"), Decimal("650"), "USD", "open"),
        ("ACC-SINV-RET-2026-00001", "Acme Corp", Decimal("-150"), Decimal("-150"), "USD", "open"),
        ("ACC-SINV-2026-00004", "Blau GmbH", Decimal("1000"), Decimal("1000"), "EUR", "open"),
    ]
    # paid on the last payment allocated to it (not the one cancelled); the partly paid
    # invoice has no paid day
    assert {i.number: i.paid_date for i in ledger.invoices if i.paid_date} == {
        "ACC-SINV-2026-00003": date(2026, 2, 10)
    }
    casa = ledger.customers["Casa Lda"]
    assert (casa.name, casa.language, casa.currency, casa.segment) == (
        "Casa Comércio Lda",
        "pt_BR",
        "EUR",
        "Individual",
    )
    # the primary contact is billing; the unsubscribed one and the suppliers' (Blau GmbH is a
    # supplier too) are not read
    assert {
        k: [(c.role, c.name, c.email) for c in v.contacts] for k, v in ledger.customers.items()
    } == {
        "Acme Corp": [
            ("billing", "Jane Roe", ("ap@acme.example",)),
            ("contact", "Sam Lee", ("sam@acme.example",)),
        ],
        "Blau GmbH": [],
        "Casa Lda": [],
    }


def test_erpnext_is_read_from_mariadb_or_mysql_only(tmp_path):
    config = erp_folder(tmp_path, "postgresql://reader@db.example/erp", "erpnext", "USD")
    with pytest.raises(ArflowError, match="preset 'erpnext' reads mysql databases, not postgres"):
        load_config(config)
