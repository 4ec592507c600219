"""Payments presets (issue 32, item 1): a bank's CSV, Stripe's payments export and PayPal's
activity download read in one line, each keeping only money received (the rest counted), the
references of a row joined for the matching rules."""

from __future__ import annotations

import json

from tests.conftest import make_folder

INVOICES = """
    number,customer_id,customer_name,issue_date,due_date,amount,currency
    INV-2001,C1,Acme Corp,2026-02-01,2026-03-01,1250.00,USD
    INV-2002,C2,Beta LLC,2026-01-20,2026-02-20,480.00,USD
    INV-2003,C2,Beta LLC,2026-01-10,2026-02-10,125.50,USD
    INV-2004,C1,Acme Corp,2026-02-10,2026-03-10,1000.00,USD
    INV-2005,C3,Gamma Inc,2026-01-15,2026-02-15,310.00,USD
"""
CUSTOMERS = """
    customer_id,name,email,payer
    C1,Acme Corp,ap@acme.example,
    C2,Beta LLC,billing@beta.example,
    C3,Gamma Inc,ap@gamma.example,
"""

# Stripe Dashboard › Payments › Export: the unified payments CSV (a selection of its columns,
# in its order, with an `invoice_number` metadata key)
STRIPE = """\
id,Description,Seller Message,Created date (UTC),Amount,Amount Refunded,Currency,Converted Amount,Converted Amount Refunded,Fee,Taxes On Fee,Converted Currency,Mode,Status,Statement Descriptor,Customer ID,Customer Description,Customer Email,Captured,Card ID,Invoice ID,Transfer,invoice_number (metadata)
ch_3OqA1,Invoice INV-2001,Payment complete.,2026-03-14 09:31:07,1250.00,0.00,usd,1250.00,0.00,36.55,0.00,usd,Live,Paid,ACME SUPPLIES,cus_PA1,Acme Corp,ap@acme.example,true,card_1OqA1,,,
ch_3OqA2,Subscription payment,Payment complete.,2026-03-14 11:02:45,480.00,0.00,usd,480.00,0.00,14.22,0.00,usd,Live,Paid,ACME SUPPLIES,cus_PB2,,billing@beta.example,true,card_1OqA2,,,INV-2002
ch_3OqA3,Invoice INV-2003,Your card was declined.,2026-03-14 12:10:00,125.50,0.00,usd,,,0.00,0.00,,Live,Failed,ACME SUPPLIES,cus_PB2,Beta LLC,billing@beta.example,false,card_1OqA3,,,
ch_3OqA4,Order 5512,Payment complete.,2026-03-15 08:00:13,99.00,99.00,usd,99.00,99.00,3.17,0.00,usd,Live,Refunded,ACME SUPPLIES,cus_PC3,Gamma Inc,ap@gamma.example,true,card_1OqA4,,,
ch_3OqA5,Order 5531,Payment complete.,2026-03-15 16:45:59,"1,000.00",200.00,usd,"1,000.00",200.00,29.30,0.00,usd,Live,Paid,ACME SUPPLIES,cus_PA1,Acme Corp,ap@acme.example,true,card_1OqA5,,,INV-2004
ch_3OqA6,Invoice INV-2005,,2026-03-16 07:12:00,310.00,0.00,usd,,,0.00,0.00,,Live,Uncaptured,ACME SUPPLIES,cus_PC3,Gamma Inc,ap@gamma.example,false,card_1OqA6,,,
ch_3OqA7,,Payment complete.,2026-03-16 10:20:31,310.00,0.00,usd,310.00,0.00,9.29,0.00,usd,Live,Paid,ACME SUPPLIES,cus_PC3,Gamma Inc,ap@gamma.example,true,card_1OqA7,,,
"""

# PayPal › Activity › Download, CSV (a selection of its columns, in its order)
PAYPAL = """\
"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net","From Email Address","To Email Address","Transaction ID","Reference Txn ID","Invoice Number","Balance","Subject","Note","Balance Impact"
"03/14/2026","09:31:07","PDT","Acme Corp","Website Payment","Completed","USD","1,250.00","-36.55","1,213.45","ap@acme.example","ar@supplies.example","4AB12345CD678901E","","INV-2001","1,213.45","Payment to Acme Supplies","","Credit"
"03/14/2026","11:05:44","PDT","Beta LLC","Express Checkout Payment","Completed","USD","480.00","-14.22","465.78","billing@beta.example","ar@supplies.example","5BC23456DE789012F","","","1,679.23","Invoice 2002","paying inv 2002, thanks","Credit"
"03/15/2026","08:14:09","PDT","Office Depot","Website Payment","Completed","USD","-75.40","0.00","-75.40","ar@supplies.example","sales@officedepot.example","6CD34567EF890123G","","","1,603.83","","","Debit"
"03/15/2026","09:00:00","PDT","Gamma Inc","General Payment","Pending","USD","310.00","-9.29","300.71","ap@gamma.example","ar@supplies.example","7DE45678FG901234H","","INV-2005","1,603.83","","","Credit"
"03/15/2026","10:30:12","PDT","","General Currency Conversion","Completed","EUR","92.00","0.00","92.00","","ar@supplies.example","8EF56789GH012345I","9FG67890HI123456J","","92.00","","","Credit"
"03/16/2026","07:45:00","PDT","Delta Co","Payment Refund","Completed","USD","-50.00","1.45","-48.55","ar@supplies.example","ap@delta.example","0GH78901IJ234567K","1HI89012JK345678L","","1,555.28","","","Debit"
"03/16/2026","08:00:00","PDT","","General Withdrawal","Completed","USD","-1,000.00","0.00","-1,000.00","ar@supplies.example","","2IJ90123KL456789M","","","555.28","","","Debit"
"03/16/2026","12:01:30","PDT","Gamma Inc","Mobile Payment","Completed","USD","310.00","-9.29","300.71","ap@gamma.example","ar@supplies.example","3JK01234LM567890N","","","865.99","","","Credit"
"""

# a bank's CSV export: credit and debit columns, booking and value dates, a reference and a
# description
BANK = """\
Booking date,Value date,Description,Reference,Counterparty,Counterparty IBAN,Debit,Credit,Currency,Balance
16/03/2026,17/03/2026,SEPA CREDIT TRANSFER,INV-2001,Acme Corp,DE89370400440532013000,,1250.00,USD,5250.00
16/03/2026,16/03/2026,Beta LLC inv 2002 and 2003,,Beta LLC,GB29NWBK60161331926819,,605.50,USD,5855.50
16/03/2026,16/03/2026,Account maintenance fee,,Bank,,12.00,,USD,5843.50
16/03/2026,16/03/2026,CARD PAYMENT OFFICE DEPOT,,Office Depot,,75.40,,USD,5768.10
31/02/2026,31/02/2026,TRANSFER,INV-2004,Acme Corp,DE89370400440532013000,,100.00,USD,5868.10
17/03/2026,17/03/2026,,,Gamma Inc,FR1420041010050500013M02606,,310.00,USD,6178.10
17/03/2026,17/03/2026,Transfer from savings,,Acme Supplies Savings,GB33BUKB20201555555555,,2000.00,USD,8178.10
"""


def folder(tmp_path, payments: str, name: str, export: str):
    return make_folder(
        tmp_path,
        invoices=INVOICES,
        workflows={},
        config=f"""
        company: {{name: Acme Supplies, currency: USD, locale: en_US}}
        invoices: {{path: invoices.csv}}
        customers: {{path: customers.csv}}
        payments: {payments}
        """,
        extra_files={"customers.csv": CUSTOMERS, name: export},
    )


def read(cli, config, expect: int = 0):
    """`arflow payments --format json`: (the payments as rows, stderr)."""
    result = cli(
        "payments", "--as-of", "2026-03-17", "--format", "json", "--config", config, expect=expect
    )
    rows = [
        (
            p["id"],
            p["date"],
            p["amount"],
            p["currency"],
            p["reference"],
            p["payer"],
            p["payer_account"],
            p["rule"],
            p["invoices"],
        )
        for p in json.loads(result.stdout)["payments"]
    ]
    return rows, result.stderr


def test_stripe_payments_reads_paid_charges_less_refunds(tmp_path, cli):
    config = folder(tmp_path, "{path: stripe.csv, preset: stripe-payments}", "stripe.csv", STRIPE)
    rows, stderr = read(cli, config)
    assert rows == [
        (
            "ch_3OqA1",
            "2026-03-14",
            "1250.00",
            "USD",
            "Invoice INV-2001",
            "Acme Corp",
            "ap@acme.example",
            "reference",
            ["INV-2001"],
        ),
        # the invoice number in the charge's metadata, joined to its description; a customer
        # without a description is named by its email
        (
            "ch_3OqA2",
            "2026-03-14",
            "480.00",
            "USD",
            "Subscription payment INV-2002",
            "billing@beta.example",
            "billing@beta.example",
            "reference",
            ["INV-2002"],
        ),
        # 1,000.00 paid, 200.00 of it refunded: 800.00 received, part of INV-2004
        (
            "ch_3OqA5",
            "2026-03-15",
            "800.00",
            "USD",
            "Order 5531 INV-2004",
            "Acme Corp",
            "ap@acme.example",
            "reference",
            ["INV-2004"],
        ),
        # no reference: the amount of Gamma Inc's one open invoice, from Gamma Inc
        (
            "ch_3OqA7",
            "2026-03-16",
            "310.00",
            "USD",
            "",
            "Gamma Inc",
            "ap@gamma.example",
            "amount",
            ["INV-2005"],
        ),
    ]
    # the failed, the refunded and the uncaptured charge are no money received: counted
    assert stderr == (
        "note: stripe.csv: 3 row(s) left out by keep_if:/skip_if: (not money received), "
        "0 of money out\n"
    )


def test_paypal_activity_reads_completed_payments_received(tmp_path, cli):
    config = folder(tmp_path, "{path: paypal.csv, preset: paypal-activity}", "paypal.csv", PAYPAL)
    rows, stderr = read(cli, config)
    assert rows == [
        (
            "4AB12345CD678901E",
            "2026-03-14",
            "1250.00",
            "USD",
            "INV-2001 Payment to Acme Supplies",
            "Acme Corp",
            "ap@acme.example",
            "reference",
            ["INV-2001"],
        ),
        # no Invoice Number: the subject and the note name it
        (
            "5BC23456DE789012F",
            "2026-03-14",
            "480.00",
            "USD",
            "Invoice 2002 paying inv 2002, thanks",
            "Beta LLC",
            "billing@beta.example",
            "reference",
            ["INV-2002"],
        ),
        (
            "3JK01234LM567890N",
            "2026-03-16",
            "310.00",
            "USD",
            "",
            "Gamma Inc",
            "ap@gamma.example",
            "amount",
            ["INV-2005"],
        ),
    ]
    # the pending payment, the currency conversion, the refund and the withdrawal are left out
    # by the preset's filter; the payment sent to Office Depot is money out
    assert stderr == (
        "note: paypal.csv: 4 row(s) left out by keep_if:/skip_if: (not money received), "
        "1 of money out\n"
    )


def test_bank_csv_reads_the_common_headers_of_bank_exports(tmp_path, cli):
    # the bank writes day/month/year: a setting beside the preset wins over its own; the
    # company's own transfers between its accounts are no payments: skip_if: leaves them out
    config = folder(
        tmp_path,
        '{path: bank.csv, preset: bank-csv, date_format: "%d/%m/%Y", '
        'skip_if: {Counterparty: "Acme Supplies*"}}',
        "bank.csv",
        BANK,
    )
    rows, stderr = read(cli, config, expect=3)
    assert rows == [
        # the booking date (not the value date); the reference and the description joined
        (
            rows[0][0],
            "2026-03-16",
            "1250.00",
            "USD",
            "INV-2001 SEPA CREDIT TRANSFER",
            "Acme Corp",
            "DE89370400440532013000",
            "reference",
            ["INV-2001"],
        ),
        (
            rows[1][0],
            "2026-03-16",
            "605.50",
            "USD",
            "Beta LLC inv 2002 and 2003",
            "Beta LLC",
            "GB29NWBK60161331926819",
            "reference",
            ["INV-2003", "INV-2002"],
        ),
        (
            rows[2][0],
            "2026-03-17",
            "310.00",
            "USD",
            "",
            "Gamma Inc",
            "FR1420041010050500013M02606",
            "amount",
            ["INV-2005"],
        ),
    ]
    assert len({r[0] for r in rows}) == 3  # ids made from the rows (the bank gives none)
    # the fee and the card payment (a debit, nothing under Credit) are money out, the transfer
    # from savings left out; the impossible date is held back and named, the rows after it read
    assert stderr == (
        "note: bank.csv: 1 row(s) left out by keep_if:/skip_if: (not money received), "
        "2 of money out\n"
        "error: bank.csv:6: date: '31/02/2026' is not a real date\n"
    )


def test_a_column_written_beside_the_preset_is_merged_key_by_key(tmp_path, cli):
    # this Stripe account keeps the invoice number under another metadata key
    export = STRIPE.replace("invoice_number (metadata)", "inv_no (metadata)")
    config = folder(
        tmp_path,
        '{path: stripe.csv, preset: stripe-payments, columns: {reference: "inv_no (metadata)"}}',
        "stripe.csv",
        export,
    )
    rows, _ = read(cli, config)
    # the reference is the metadata alone now; the preset's other columns still read
    assert [(r[0], r[2], r[4], r[5], r[8]) for r in rows] == [
        ("ch_3OqA1", "1250.00", "", "Acme Corp", ["INV-2001"]),  # by amount now
        ("ch_3OqA2", "480.00", "INV-2002", "billing@beta.example", ["INV-2002"]),
        ("ch_3OqA5", "800.00", "INV-2004", "Acme Corp", ["INV-2004"]),
        ("ch_3OqA7", "310.00", "", "Gamma Inc", ["INV-2005"]),
    ]


def test_keep_if_beside_the_preset_replaces_its_rule_for_that_column(tmp_path, cli):
    # a UK PayPal account writes day/month/year; this user counts pending payments too
    export = PAYPAL.replace('"03/1', '"1').replace('/2026"', '/03/2026"')
    config = folder(
        tmp_path,
        '{path: paypal.csv, preset: paypal-activity, date_format: "%d/%m/%Y", '
        "keep_if: {Status: [Completed, Pending]}}",
        "paypal.csv",
        export,
    )
    rows, stderr = read(cli, config)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("4AB12345CD678901E", "2026-03-14", "1250.00"),
        ("5BC23456DE789012F", "2026-03-14", "480.00"),
        ("7DE45678FG901234H", "2026-03-15", "310.00"),
        ("3JK01234LM567890N", "2026-03-16", "310.00"),
    ]
    assert "3 row(s) left out by keep_if:/skip_if:" in stderr  # the Type rule still holds


def test_a_wrong_preset_is_refused_with_the_names_that_fit(tmp_path, cli):
    config = folder(tmp_path, "{path: stripe.csv, preset: stripe}", "stripe.csv", STRIPE)
    result = cli("payments", "--config", config, expect=1)
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        "arflow.yaml:5: payments: no preset 'stripe'; presets are: bank-csv, stripe-payments, "
        "paypal-activity"
    )
    # an invoices preset under payments:, a payments preset under invoices:
    text = config.read_text().replace("preset: stripe}", "preset: quickbooks-open-invoices}")
    config.write_text(
        text.replace("{path: invoices.csv}", "{path: invoices.csv, preset: paypal-activity}")
    )
    result = cli("payments", "--config", config, expect=1)
    assert result.stderr.splitlines()[:2] == [
        "arflow.yaml:3: invoices: preset 'paypal-activity' reads payments exports: write it "
        "under payments:; presets for invoices are: quickbooks-open-invoices, "
        "quickbooks-ar-aging-detail, xero-aged-receivables",
        "arflow.yaml:5: payments: preset 'quickbooks-open-invoices' reads invoices exports: "
        "write it under invoices:; presets for payments are: bank-csv, stripe-payments, "
        "paypal-activity",
    ]


def test_a_file_that_is_not_the_presets_export_is_refused_whole(tmp_path, cli):
    config = folder(tmp_path, "{path: bank.csv, preset: stripe-payments}", "bank.csv", BANK)
    result = cli("payments", "--config", config, expect=1)
    assert result.stderr.startswith(
        "error: bank.csv: no column for date, amount (columns are: Booking date, Value date, "
        "Description, Reference, Counterparty, Counterparty IBAN, Debit, Credit, Currency, "
        "Balance); looked for date: Created date (UTC); amount: Amount; is it the export the "
        "preset stripe-payments reads?; map it with columns: {date: YOUR_HEADER} under "
        "payments: in arflow.yaml"
    )
    # the columns are there, but not the one the preset's filter reads
    (tmp_path / "bank.csv").write_text("Created date (UTC),Amount\n2026-03-14 09:31:07,1250.00\n")
    result = cli("payments", "--config", config, expect=1)
    assert result.stderr.startswith(
        "error: bank.csv: keep_if: names 'Status', but there is no such column (columns are: "
        "Created date (UTC), Amount); is it the export the preset stripe-payments reads?; fix "
        "keep_if: under payments: in arflow.yaml"
    )


def test_payments_columns_and_filters_are_checked_in_arflow_yaml(tmp_path, cli):
    config = folder(
        tmp_path,
        "{path: bank.csv, preset: bank-csv, columns: {ref: Memo, payer: []}, keep_if: {Type: []}}",
        "bank.csv",
        BANK,
    )
    result = cli("payments", "--config", config, expect=1)
    assert result.stderr.splitlines()[:2] == [
        "arflow.yaml:5: payments.columns: ref: not a payment field; columns: maps arflow's "
        "names (id, date, amount, refunded, currency, reference, payer, payer_account) to your "
        "file's headers",
        "arflow.yaml:5: payments.keep_if: Type: an empty list names nothing; give one or more",
    ]
