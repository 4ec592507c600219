"""`preset: odoo` on a real PostgreSQL holding Odoo's tables (`account_move`, `res_partner`,
`res_currency` with the columns the preset reads, as Odoo's ORM types them, and a few more),
read as a role that may only read: the same aging, dry run and real run as the same books
written by hand in CSV files; drafts, cancelled moves, paid invoices, vendor bills and journal
entries never chased; the credit note lowers its customer's total; the partly paid invoice
shows its residual; the subsidiary's parent is its holding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arflow.config import load_config
from arflow.errors import ArflowError
from arflow.sources import load_ledger
from tests.erp_books import PASSWORD_ENV, csv_folder, erp_folder, three_commands

# Odoo's columns as its ORM makes them (odoo/fields.py): Char/Selection varchar, Date date,
# Monetary numeric, Many2one/Integer int4, Boolean bool; each table's `id` a serial
SCHEMA = """\
CREATE TABLE res_currency (
    id serial PRIMARY KEY, name varchar(3) NOT NULL, symbol varchar NOT NULL,
    active bool, decimal_places int4);
CREATE TABLE res_partner (
    id serial PRIMARY KEY, name varchar, complete_name varchar, parent_id int4,
    commercial_partner_id int4, type varchar, email varchar, phone varchar, lang varchar,
    is_company bool, active bool, ref varchar, vat varchar,
    customer_rank int4, supplier_rank int4);
CREATE TABLE account_move (
    id serial PRIMARY KEY, name varchar, ref varchar, date date NOT NULL,
    state varchar NOT NULL, move_type varchar NOT NULL, journal_id int4, company_id int4,
    partner_id int4, commercial_partner_id int4, currency_id int4 NOT NULL,
    invoice_date date, invoice_date_due date, payment_state varchar,
    amount_untaxed numeric, amount_tax numeric, amount_total numeric, amount_residual numeric,
    amount_total_signed numeric, amount_residual_signed numeric);
CREATE TABLE account_move_line (
    id serial PRIMARY KEY, move_id int4 NOT NULL, account_id int4, partner_id int4,
    date date, display_type varchar, debit numeric, credit numeric, balance numeric,
    amount_residual numeric, reconciled bool);
CREATE TABLE account_partial_reconcile (
    id serial PRIMARY KEY, debit_move_id int4 NOT NULL, credit_move_id int4 NOT NULL,
    full_reconcile_id int4, amount numeric, debit_amount_currency numeric,
    credit_amount_currency numeric, max_date date);
INSERT INTO res_currency (id, name, symbol, active, decimal_places) VALUES
    (1, 'EUR', '€', true, 2), (2, 'USD', '$', true, 2);
INSERT INTO res_partner (id, name, complete_name, parent_id, commercial_partner_id, type,
                         email, phone, lang, is_company, active, customer_rank, supplier_rank)
VALUES
    (1, 'Acme Holding', 'Acme Holding', NULL, 1, 'contact', 'holding@acme.example', NULL,
     'en_US', true, true, 0, 0),
    -- Odoo ranks the partner an invoice went to: here its invoice address, not the company
    (2, 'Acme France SAS', 'Acme Holding, Acme France SAS', 1, 2, 'contact',
     'ar@acme-fr.example', '+33 1 23 45 67 89', 'fr_FR', true, true, 0, 0),
    (3, 'Marie Dupont', 'Acme France SAS, Marie Dupont', 2, 2, 'invoice',
     'marie@acme-fr.example', NULL, 'fr_FR', false, true, 2, 0),
    (4, 'Beta GmbH', 'Beta GmbH', NULL, 4, 'contact', 'buchhaltung@beta.example', NULL,
     'de_DE', true, true, 3, 0),
    (5, 'Paper Supplies Ltd', 'Paper Supplies Ltd', NULL, 5, 'contact',
     'sales@paper.example', NULL, 'en_GB', true, true, 0, 1),
    -- invoiced, never ranked (its invoices imported)
    (6, 'Gamma Ltd', 'Gamma Ltd', NULL, 6, 'contact', 'ap@gamma.example', NULL, 'en_GB',
     true, true, 0, 0),
    -- ranked a customer, never invoiced
    (9, 'Delta SA', 'Delta SA', NULL, 9, 'contact', 'compta@delta.example', NULL, 'fr_FR', true,
     true, 1, 0),
    (7, 'Bruno Leclerc', 'Acme France SAS, Bruno Leclerc', 2, 2, 'delivery',
     'dock@acme-fr.example', NULL, 'fr_FR', false, true, 0, 0),
    (8, 'Old Contact', 'Beta GmbH, Old Contact', 4, 4, 'invoice', 'gone@beta.example', NULL,
     'de_DE', false, false, 0, 0);
INSERT INTO account_move (id, name, date, state, move_type, journal_id, company_id,
                          partner_id, commercial_partner_id, currency_id, invoice_date,
                          invoice_date_due, payment_state, amount_total, amount_residual,
                          amount_total_signed, amount_residual_signed)
VALUES
    -- to Acme France's invoice address: open, 50 days late
    (10, 'INV/2026/00001', '2026-01-10', 'posted', 'out_invoice', 1, 1, 3, 2, 1,
     '2026-01-10', '2026-02-09', 'not_paid', 1200.00, 1200.00, 1200.00, 1200.00),
    -- partly paid: 500 of 800 received
    (11, 'INV/2026/00002', '2026-02-01', 'posted', 'out_invoice', 1, 1, 2, 2, 1,
     '2026-02-01', '2026-03-03', 'partial', 800.00, 300.00, 800.00, 300.00),
    -- a credit note: unsigned in Odoo, negative in arflow
    (12, 'RINV/2026/00001', '2026-02-15', 'posted', 'out_refund', 1, 1, 2, 2, 1,
     '2026-02-15', '2026-02-15', 'not_paid', 150.00, 150.00, -150.00, -150.00),
    (13, 'INV/2026/00003', '2026-01-05', 'posted', 'out_invoice', 1, 1, 4, 4, 1,
     '2026-01-05', '2026-02-04', 'paid', 500.00, 0.00, 500.00, 0.00),
    -- in dollars (the company keeps euros)
    (14, 'INV/2026/00004', '2026-02-20', 'posted', 'out_invoice', 1, 1, 4, 4, 2,
     '2026-02-20', '2026-03-22', 'not_paid', 2000.00, 2000.00, 1850.00, 1850.00),
    -- never: a draft (numbered '/' until posted), a cancelled invoice, a vendor bill,
    -- a journal entry
    (15, '/', '2026-03-01', 'draft', 'out_invoice', 1, 1, 4, 4, 1,
     '2026-03-01', '2026-03-02', 'not_paid', 999.00, 999.00, 999.00, 999.00),
    (16, 'INV/2026/00005', '2026-01-20', 'cancel', 'out_invoice', 1, 1, 6, 6, 1,
     '2026-01-20', '2026-01-21', 'not_paid', 700.00, 700.00, 700.00, 700.00),
    (17, 'BILL/2026/03/0001', '2026-01-15', 'posted', 'in_invoice', 2, 1, 5, 5, 1,
     '2026-01-15', '2026-01-16', 'not_paid', 450.00, 450.00, -450.00, -450.00),
    (18, 'MISC/2026/01/0001', '2026-01-31', 'posted', 'entry', 3, 1, 6, 6, 1,
     NULL, NULL, 'not_paid', 100.00, 100.00, 100.00, 100.00),
    -- paid, the bank statement not yet reconciled
    (19, 'INV/2026/00006', '2026-01-12', 'posted', 'out_invoice', 1, 1, 6, 6, 1,
     '2026-01-12', '2026-02-11', 'in_payment', 640.00, 0.00, 640.00, 0.00),
    -- the payments: journal entries of the bank journal
    (20, 'PBNK/2026/00001', '2026-02-10', 'posted', 'entry', 4, 1, 4, 4, 1,
     NULL, NULL, 'not_paid', 300.00, 0.00, 300.00, 0.00),
    (23, 'PBNK/2026/00004', '2026-02-01', 'posted', 'entry', 4, 1, 4, 4, 1,
     NULL, NULL, 'not_paid', 200.00, 0.00, 200.00, 0.00),
    (21, 'PBNK/2026/00002', '2026-02-20', 'posted', 'entry', 4, 1, 6, 6, 1,
     NULL, NULL, 'not_paid', 640.00, 0.00, 640.00, 0.00),
    (22, 'PBNK/2026/00003', '2026-02-25', 'posted', 'entry', 4, 1, 2, 2, 1,
     NULL, NULL, 'not_paid', 500.00, 0.00, 500.00, 0.00);
-- each invoice's receivable item matched with its payments' (INV/2026/00003 paid in two
-- parts, INV/2026/00002 in part only)
INSERT INTO account_move_line (id, move_id, account_id, partner_id, date, display_type, debit,
                               credit, balance, amount_residual, reconciled) VALUES
    (130, 13, 121, 4, '2026-01-05', 'payment_term', 500.00, 0, 500.00, 0, true),
    (131, 13, 700, 4, '2026-01-05', 'product', 0, 500.00, -500.00, 0, false),
    (200, 20, 121, 4, '2026-02-10', NULL, 0, 300.00, -300.00, 0, true),
    (230, 23, 121, 4, '2026-02-01', NULL, 0, 200.00, -200.00, 0, true),
    (190, 19, 121, 6, '2026-01-12', 'payment_term', 640.00, 0, 640.00, 0, true),
    (210, 21, 121, 6, '2026-02-20', NULL, 0, 640.00, -640.00, 0, true),
    (110, 11, 121, 2, '2026-02-01', 'payment_term', 800.00, 0, 800.00, 300.00, false),
    (220, 22, 121, 2, '2026-02-25', NULL, 0, 500.00, -500.00, 0, true);
INSERT INTO account_partial_reconcile (id, debit_move_id, credit_move_id, amount,
                                       debit_amount_currency, credit_amount_currency, max_date)
VALUES (1, 130, 200, 300.00, 300.00, 300.00, '2026-02-10'),
       (4, 130, 230, 200.00, 200.00, 200.00, '2026-02-01'),
       (2, 190, 210, 640.00, 640.00, 640.00, '2026-02-20'),
       (3, 110, 220, 500.00, 500.00, 500.00, '2026-02-25');
"""

EVERY_ROW = """\
SELECT 'move', count(*), md5(string_agg(m::text, ',' ORDER BY m.id)) FROM account_move AS m
UNION ALL
SELECT 'partner', count(*), md5(string_agg(p::text, ',' ORDER BY p.id)) FROM res_partner AS p"""

# the same books by hand, as the preset is to read them
INVOICES = """\
number,customer_id,customer_name,email,phone,issue_date,due_date,amount,balance,currency,status,paid_date
INV/2026/00003,4,Beta GmbH,buchhaltung@beta.example,,2026-01-05,2026-02-04,500.00,0.00,EUR,paid,2026-02-10
INV/2026/00001,2,Acme France SAS,marie@acme-fr.example,+33 1 23 45 67 89,2026-01-10,2026-02-09,1200.00,1200.00,EUR,open,
INV/2026/00006,6,Gamma Ltd,ap@gamma.example,,2026-01-12,2026-02-11,640.00,0.00,EUR,paid,2026-02-20
INV/2026/00002,2,Acme France SAS,ar@acme-fr.example,+33 1 23 45 67 89,2026-02-01,2026-03-03,800.00,300.00,EUR,open,
RINV/2026/00001,2,Acme France SAS,ar@acme-fr.example,+33 1 23 45 67 89,2026-02-15,2026-02-15,-150.00,-150.00,EUR,open,
INV/2026/00004,4,Beta GmbH,buchhaltung@beta.example,,2026-02-20,2026-03-22,2000.00,2000.00,USD,open,
"""
CUSTOMERS = """\
customer_id,name,email,phone,parent_id,language
1,Acme Holding,holding@acme.example,,,en_US
2,Acme France SAS,ar@acme-fr.example,+33 1 23 45 67 89,1,fr_FR
4,Beta GmbH,buchhaltung@beta.example,,,de_DE
6,Gamma Ltd,ap@gamma.example,,,en_GB
9,Delta SA,compta@delta.example,,,fr_FR
"""
CONTACTS = """\
customer_id,name,email,phone,role,language
2,Marie Dupont,marie@acme-fr.example,,billing,fr_FR
"""


@pytest.fixture
def odoo(postgres_server, monkeypatch):
    """A database of Odoo's tables and rows; the folder reading it as the read-only role."""

    def make(tmp_path):
        db = postgres_server.create_database("odoo_books")
        db.sql(SCHEMA)
        user, password = db.readonly_user()
        monkeypatch.setenv(PASSWORD_ENV, password)
        return erp_folder(tmp_path / "odoo", db.url(user), "odoo", "EUR"), db

    return make


def test_odoo_reads_as_the_same_books_in_csv(tmp_path, odoo):
    config, db = odoo(tmp_path)
    before = db.sql(EVERY_ROW)
    by_hand = csv_folder(
        tmp_path / "csv",
        "EUR",
        {"invoices": INVOICES, "customers": CUSTOMERS, "contacts": CONTACTS},
    )
    from_odoo, from_csv = three_commands(config), three_commands(by_hand)
    assert from_odoo == from_csv
    assert db.sql(EVERY_ROW) == before  # read as a role that may only read: nothing written
    # what that is: Acme France owes 1200 + 300 - 150 in euros (the credit note lowers it, the
    # partly paid invoice counts its residual); Beta owes 2000 dollars; nobody else owes
    aging = from_odoo["aging"]
    assert [(c["customer_id"], c["currency"], c["total"]) for c in aging["customers"]] == [
        ("4", "USD", "2000.00"),
        ("2", "EUR", "1350.00"),
    ]
    assert from_odoo["outbox"] == [
        (
            ["marie@acme-fr.example"],
            "Reminder INV/2026/00001, INV/2026/00002",
            "Dear Marie Dupont (fr_FR, parent 1):\n"
            "INV/2026/00001 1\u202f200,00\xa0€ due 2026-02-09\n"
            "INV/2026/00002 300,00\xa0€ due 2026-03-03\n"
            "outstanding 1\u202f350,00\xa0€",
        ),
        (
            ["buchhaltung@beta.example"],
            "Reminder INV/2026/00004",
            "Dear Beta GmbH (de_DE, parent -):\nINV/2026/00004 2.000,00\xa0$ due 2026-03-22\n"
            "outstanding 2.000,00\xa0$",
        ),
    ]


def test_odoo_reads_only_posted_customer_documents(tmp_path, odoo):
    ledger = load_ledger(load_config(odoo(tmp_path)[0]))
    assert ledger.errors == []
    assert [
        (i.number, i.customer_id, i.amount, i.balance, i.currency, i.status)
        for i in ledger.invoices
    ] == [
        ("INV/2026/00003", "4", Decimal("500.00"), Decimal("0.00"), "EUR", "paid"),
        ("INV/2026/00001", "2", Decimal("1200.00"), Decimal("1200.00"), "EUR", "open"),
        ("INV/2026/00006", "6", Decimal("640.00"), Decimal("0.00"), "EUR", "paid"),
        ("INV/2026/00002", "2", Decimal("800.00"), Decimal("300.00"), "EUR", "open"),
        ("RINV/2026/00001", "2", Decimal("-150.00"), Decimal("-150.00"), "EUR", "open"),
        ("INV/2026/00004", "4", Decimal("2000.00"), Decimal("2000.00"), "USD", "open"),
    ]
    # paid on the day of the payment matched with it; the partly paid invoice has no paid day
    assert {i.number: i.paid_date for i in ledger.invoices if i.paid_date} == {
        "INV/2026/00003": date(2026, 2, 10),
        "INV/2026/00006": date(2026, 2, 20),
    }
    # each from the customers source (the language is only there), not the supplier
    assert {k: c.language for k, c in ledger.customers.items()} == {
        "1": "en_US",
        "2": "fr_FR",
        "4": "de_DE",
        "6": "en_GB",
        "9": "fr_FR",
    }
    acme = ledger.customers["2"]
    assert (acme.name, acme.parent_id, acme.language) == ("Acme France SAS", "1", "fr_FR")
    # the invoice address is the billing contact; the delivery address and the archived
    # contact are not read
    assert {
        k: [(c.role, c.name, c.email) for c in v.contacts] for k, v in ledger.customers.items()
    } == {
        "1": [],
        "2": [("billing", "Marie Dupont", ("marie@acme-fr.example",))],
        "4": [],
        "6": [],
        "9": [],
    }


def test_odoo_is_read_from_postgresql_only(tmp_path):
    config = erp_folder(tmp_path, "mysql://reader@db.example/odoo", "odoo", "EUR")
    with pytest.raises(ArflowError, match="preset 'odoo' reads postgresql databases, not mysql"):
        load_config(config)
