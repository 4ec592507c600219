"""`payments:` and `arflow payments` (issue 32, first part): a bank's CSV export read with the
invoices' rules for bad input, and each payment matched as the rules say."""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import make_folder

INVOICES = """
    number,customer_id,customer_name,issue_date,due_date,amount,currency
    INV-1001,C1,Acme GmbH,2026-02-01,2026-03-01,1250.00,EUR
    INV-1002,C2,Beta Ltd,2026-01-20,2026-02-20,480.00,EUR
    INV-1003,C2,Beta Ltd,2026-01-10,2026-02-10,125.50,EUR
    INV-1004,C3,Gamma SA,2026-01-15,2026-02-15,480.00,EUR
    INV-1005,C4,Delta AG,2026-01-15,2026-02-15,99.00,EUR
"""
CUSTOMERS = """
    customer_id,name,email,payer
    C1,Acme GmbH,ap@acme.example,DE89 3704 0044 0532 0130 00
    C2,Beta Ltd,ap@beta.example,
    C3,Gamma SA,ap@gamma.example,Beta Ltd
    C4,Delta AG,ap@delta.example,
"""
BANK = """
    Booking date;Amount;Currency;Purpose;Payer;Account
    16.03.2026;1.250,00;EUR;INV-1001;Acme GmbH;DE89370400440532013000
    16.03.2026;605,50;EUR;Inv 1002 / 1003;Beta Ltd;
    16.03.2026;99,00;EUR;payment for invoice #01005;Delta AG;
    16.03.2026;480,00;EUR;;Beta Ltd;
    16.03.2026;-50,00;EUR;fees;Bank;
    31.02.2026;10,00;EUR;INV-1001;Acme GmbH;
    16.03.2026;12,00;EUR;thanks;Stranger;
"""
CONFIG = """
    company: {name: Acme Supplies, currency: EUR, locale: de_DE}
    invoices: {path: invoices.csv}
    customers: {path: customers.csv}
    payments:
      path: bank.csv
      delimiter: ";"
      date_format: "%d.%m.%Y"
      decimal: ","
      thousands: "."
      columns: {date: Booking date, amount: Amount, reference: Purpose, payer: Payer,
                payer_account: Account}
"""


def folder(tmp_path):
    return make_folder(
        tmp_path,
        invoices=INVOICES,
        workflows={},
        config=CONFIG,
        extra_files={"customers.csv": CUSTOMERS, "bank.csv": BANK},
    )


def test_a_bank_export_matches_as_the_rules_say(tmp_path, cli):
    config = folder(tmp_path)
    result = cli(
        "payments", "--as-of", "2026-03-16", "--format", "json", "--config", config, expect=3
    )
    rows = [
        (p["amount"], p["state"], p["rule"], p["invoices"], p["why"])
        for p in json.loads(result.stdout)["payments"]
    ]
    assert rows == [
        ("1250.00", "matched", "reference", ["INV-1001"], "reference names INV-1001"),
        (
            "605.50",
            "matched",
            "reference",
            ["INV-1003", "INV-1002"],
            "reference names INV-1003, INV-1002",
        ),
        ("99.00", "matched", "reference", ["INV-1005"], "reference names INV-1005"),
        # no reference, 480.00 from "Beta Ltd": INV-1002 is paid by the row above; Gamma SA
        # pays under Beta Ltd's name too, so INV-1004 is the one left of that amount
        (
            "480.00",
            "matched",
            "amount",
            ["INV-1004"],
            "amount 480.00 is the balance of INV-1004, and the payer fits",
        ),
        (
            "12.00",
            "unmatched",
            None,
            [],
            "no open invoice named in its reference, and the payer is not known",
        ),
    ]
    # the debit is passed over; the impossible date is held back and named, the rest read
    assert result.stderr == "error: bank.csv:7: date: '31.02.2026' is not a real date\n"
    unmatched = cli(
        "payments",
        "--unmatched",
        "--as-of",
        "2026-03-16",
        "--format",
        "csv",
        "--config",
        config,
        expect=3,
    ).stdout.splitlines()
    assert [line.split(",")[2:8] for line in unmatched[1:]] == [
        ["12.00", "EUR", "thanks", "Stranger", "unmatched", ""]
    ]


def test_the_same_rows_have_the_same_ids_in_every_export(tmp_path, cli):
    config = folder(tmp_path)
    bank = tmp_path / "bank.csv"

    def ids() -> list[str]:
        out = cli(
            "payments", "--as-of", "2026-03-17", "--format", "json", "--config", config, expect=None
        ).stdout
        return [p["id"] for p in json.loads(out)["payments"]]

    first = ids()
    assert first == ids()  # the same file read again
    lines = bank.read_text().splitlines()
    # the next export overlaps: its first three rows are the last export's, then a new one
    bank.write_text("\n".join([*lines[:4], "17.03.2026;5,00;EUR;INV-1001;Acme GmbH;"]) + "\n")
    second = ids()
    assert second[:3] == first[:3] and second[3] not in first


def test_a_bank_file_without_the_columns_is_refused_whole(tmp_path, cli):
    config = folder(tmp_path)
    (tmp_path / "bank.csv").write_text("When;How much\n16.03.2026;10,00\n")
    result = cli("payments", "--config", config, expect=1)
    assert "bank.csv: no column for date, amount (columns are: When, How much)" in result.stderr


def test_the_piped_list_reads_as_money(tmp_path, cli):
    config = folder(tmp_path)
    lines = cli("payments", "--as-of", "2026-03-16", "--config", config, expect=3).stdout
    rows = lines.splitlines()
    assert rows[0] == "# id\tdate\tamount\treference\tpayer\tstate\trule\tinvoices\twhy"
    assert rows[2].split("\t")[2:] == [
        "605,50 €",
        "Inv 1002 / 1003",
        "Beta Ltd",
        "matched",
        "reference",
        "INV-1003, INV-1002",
        "reference names INV-1003, INV-1002",
    ]
    assert rows[-1] == "total\t\t\t\t\t\t\t\t4 matched, 1 unmatched"


def entry(
    amount: str,
    day: str,
    reference: str,
    payer: str,
    iban: str = "",
    ref: str = "",
    sign: str = "CRDT",
    status: str = "BOOK",
) -> str:
    account = f"<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct>" if iban else ""
    return f"""
      <Ntry>
        <Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd><Sts>{status}</Sts>
        <BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>
        <AcctSvcrRef>{ref}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <RltdPties><Dbtr><Nm>{payer}</Nm></Dbtr>{account}</RltdPties>
          <RmtInf><Ustrd>{reference}</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>"""


# the CSV test's bank file as a camt.053.001.02 statement (the published schema's elements)
CAMT = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-20260316</MsgId><CreDtTm>2026-03-16T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-1</Id>
      <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>
      {entry("1250.00", "2026-03-16", "INV-1001", "Acme GmbH", "DE89370400440532013000", "R1")}
      {entry("605.50", "2026-03-16", "Inv 1002 / 1003", "Beta Ltd", ref="R2")}
      {entry("99.00", "2026-03-16", "payment for invoice #01005", "Delta AG", ref="R3")}
      {entry("480.00", "2026-03-16", "", "Beta Ltd", ref="R4")}
      {entry("50.00", "2026-03-16", "fees", "Bank", sign="DBIT", ref="R5")}
      {entry("10.00", "2026-03-17", "INV-1001", "Acme GmbH", status="PDNG", ref="R6")}
      {entry("12.00", "2026-03-16", "thanks", "Stranger", ref="R7")}
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def test_a_camt_053_statement_reads_as_its_csv_twin(tmp_path, cli):
    def payments(config) -> list[tuple]:
        out = cli(
            "payments", "--as-of", "2026-03-17", "--format", "json", "--config", config, expect=None
        ).stdout
        return [
            (
                p["date"],
                p["amount"],
                p["currency"],
                p["reference"],
                p["payer"],
                p["payer_account"],
                p["state"],
                p["rule"],
                p["invoices"],
            )
            for p in json.loads(out)["payments"]
        ]

    csv_twin = payments(folder(tmp_path / "csv"))
    config = folder(tmp_path / "camt")
    (tmp_path / "camt" / "statement.xml").write_text(CAMT)
    config.write_text(config.read_text().replace("path: bank.csv", "path: statement.xml"))
    assert payments(config) == csv_twin
    ids = [
        p["id"]
        for p in json.loads(
            cli("payments", "--format", "json", "--config", config, "--as-of", "2026-03-16").stdout
        )["payments"]
    ]
    assert ids == ["R1", "R2", "R3", "R4", "R7"]  # the bank's own references
    (tmp_path / "camt" / "statement.xml").write_text("<Document><Other/></Document>")
    result = cli("payments", "--config", config, expect=1)
    assert "statement.xml: not a camt.053 statement (no Document/BkToCstmrStmt)" in result.stderr


def txn(kind: str, amount: str, fitid: str, name: str, memo: str, day: str = "20260316") -> str:
    return (
        f"<STMTTRN><TRNTYPE>{kind}<DTPOSTED>{day}<TRNAMT>{amount}<FITID>{fitid}"
        f"<NAME>{name}<MEMO>{memo}</STMTTRN>\n"
    )


# the CSV test's bank file as an OFX 1.02 (SGML) download, as the OFX 1.0.2 specification
# lays a bank statement out
OFX = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
    "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX>\n"
    "<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20260316180000"
    "<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\n"
    "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
    "<STMTRS><CURDEF>EUR<BANKACCTFROM><BANKID>12030000<ACCTID>0000202051<ACCTTYPE>CHECKING"
    "</BANKACCTFROM>\n<BANKTRANLIST><DTSTART>20260316<DTEND>20260316\n"
    + txn("CREDIT", "1250.00", "R1", "Acme GmbH", "INV-1001")
    + txn("CREDIT", "605.50", "R2", "Beta Ltd", "Inv 1002 / 1003")
    + txn("CREDIT", "99.00", "R3", "Delta AG", "payment for invoice #01005")
    + "<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20260316<TRNAMT>480.00<FITID>R4<NAME>Beta Ltd</STMTTRN>\n"
    + txn("DEBIT", "-50.00", "R5", "Bank", "fees")
    + txn("CREDIT", "12.00", "R7", "Stranger", "thanks")
    + "</BANKTRANLIST>\n<LEDGERBAL><BALAMT>2396.50<DTASOF>20260316</LEDGERBAL>\n"
    "</STMTRS></STMTTRNRS></BANKMSGSRSV1>\n</OFX>\n"
)


def test_an_ofx_download_reads_as_its_csv_twin(tmp_path, cli):
    def payments(config) -> list[tuple]:
        out = cli(
            "payments", "--as-of", "2026-03-17", "--format", "json", "--config", config, expect=None
        ).stdout
        return [
            (
                p["id"],
                p["date"],
                p["amount"],
                p["currency"],
                p["reference"],
                p["payer"],
                p["state"],
                p["rule"],
                p["invoices"],
            )
            for p in json.loads(out)["payments"]
        ]

    csv_twin = payments(folder(tmp_path / "csv"))
    config = folder(tmp_path / "ofx")
    (tmp_path / "ofx" / "download.ofx").write_text(OFX)
    config.write_text(config.read_text().replace("path: bank.csv", "path: download.ofx"))
    read = payments(config)
    # the same payments and matches; the ids are the bank's FITIDs
    assert [r[1:] for r in read] == [r[1:] for r in csv_twin]
    assert [r[0] for r in read] == ["R1", "R2", "R3", "R4", "R7"]
    (tmp_path / "ofx" / "download.ofx").write_text("not an OFX file\n")
    result = cli("payments", "--config", config, expect=1)
    assert "download.ofx: not an OFX statement ofxtools can read: " in result.stderr


def test_a_sqlite_table_reads_as_its_csv_twin(tmp_path, cli):
    """`payments: {path: bank.db, table: …}` (or `query:`): the same fields, the same rules."""

    def payments(config) -> list[tuple]:
        out = cli(
            "payments", "--as-of", "2026-03-17", "--format", "json", "--config", config, expect=3
        ).stdout
        return [
            (p["id"], p["date"], p["amount"], p["reference"], p["payer"], p["rule"], p["invoices"])
            for p in json.loads(out)["payments"]
        ]

    csv_twin = payments(folder(tmp_path / "csv"))
    config = folder(tmp_path / "db")
    conn = sqlite3.connect(tmp_path / "db" / "bank.db")
    conn.execute("CREATE TABLE booked (day TEXT, amount TEXT, purpose TEXT, payer TEXT, iban TEXT)")
    conn.executemany(
        "INSERT INTO booked VALUES (?, ?, ?, ?, ?)",
        [
            ("2026-03-16", "1250.00", "INV-1001", "Acme GmbH", "DE89370400440532013000"),
            ("2026-03-16", "605.50", "Inv 1002 / 1003", "Beta Ltd", None),
            ("2026-03-16", "99.00", "payment for invoice #01005", "Delta AG", None),
            ("2026-03-16", "480.00", None, "Beta Ltd", None),
            ("2026-03-16", "-50.00", "fees", "Bank", None),
            ("2026-02-31", "10.00", "INV-1001", "Acme GmbH", None),
            ("2026-03-16", "12.00", "thanks", "Stranger", None),
        ],
    )
    conn.commit()
    conn.close()
    config.write_text(
        config.read_text().split("payments:")[0]
        + "payments: {path: bank.db, table: booked, columns: {date: day, reference: purpose,"
        " payer_account: iban}}\n"
    )
    assert payments(config) == csv_twin
    result = cli("payments", "--as-of", "2026-03-17", "--config", config, expect=3)
    assert "bank.db:7: date: '2026-02-31' is not a real date" in result.stderr
    config.write_text(config.read_text().replace("table: booked", "table: nothing"))
    refused = cli("payments", "--config", config, expect=1)
    assert "bank.db: cannot read table 'nothing': no such table: nothing" in refused.stderr


def ids_of(cli, config, day: str = "2026-03-17", expect: int | None = None) -> list[str]:
    out = cli(
        "payments", "--as-of", day, "--format", "json", "--config", config, expect=expect
    ).stdout
    return [p["id"] for p in json.loads(out)["payments"]]


def test_a_row_has_its_id_however_a_spreadsheet_wrote_it(tmp_path, cli):
    """Saved again by a spreadsheet, `1.250,00` reads `1250`, and a name gains spaces: the
    same payment, the same id; the next export's new row is new."""
    config = folder(tmp_path)
    bank = tmp_path / "bank.csv"
    bank.write_text(
        "Booking date;Amount;Currency;Purpose;Payer;Account\n"
        "16.03.2026;1.250,00;EUR;INV-1001;Acme GmbH;\n"
    )
    (first,) = ids_of(cli, config)
    bank.write_text(
        "Booking date;Amount;Currency;Purpose;Payer;Account\n"
        "16.03.2026;1250;EUR;INV-1001 ; Acme  GmbH ;\n"
        "17.03.2026;99;EUR;INV-1005;Delta AG;\n"
    )
    again = ids_of(cli, config)
    assert again[0] == first and again[1] != first


def test_a_camt_entry_without_the_banks_reference_has_its_id_in_every_statement(tmp_path, cli):
    """`AcctSvcrRef` is optional: an entry without it gets an id from its fields and how many
    identical entries came before it, not from its place in the statement."""
    config = folder(tmp_path)
    config.write_text(config.read_text().replace("path: bank.csv", "path: statement.xml"))

    def statement(*entries: str) -> str:
        return (
            CAMT.split("<Id>STMT-1</Id>")[0]
            + "<Id>STMT-1</Id>"
            + "".join(entries)
            + ("</Stmt></BkToCstmrStmt></Document>")
        )

    payment = entry("1250.00", "2026-03-16", "INV-1001", "Acme GmbH")
    (tmp_path / "statement.xml").write_text(statement(payment))
    (first,) = ids_of(cli, config)
    earlier = entry("99.00", "2026-03-15", "INV-1005", "Delta AG")
    (tmp_path / "statement.xml").write_text(statement(earlier, payment))
    assert ids_of(cli, config)[1] == first


def test_a_row_with_more_values_than_the_header_is_held_back(tmp_path, cli):
    """`1,250.00` unquoted in a comma file: the invoices' rule, the row held back and named."""
    config = folder(tmp_path)
    config.write_text(config.read_text().split("payments:")[0] + "payments: {path: bank.csv}\n")
    (tmp_path / "bank.csv").write_text(
        "date,amount,reference,payer\n"
        "2026-03-16,1,250.00,INV-1001,Acme GmbH\n"
        "2026-03-16,99.00,INV-1005,Delta AG\n"
    )
    result = cli(
        "payments", "--as-of", "2026-03-17", "--format", "json", "--config", config, expect=3
    )
    assert [p["invoices"] for p in json.loads(result.stdout)["payments"]] == [["INV-1005"]]
    assert result.stderr == (
        "error: bank.csv:2: row has 5 values but the header has 4 columns; fix the quoting or "
        "the delimiter on this line\n"
    )


def test_a_bank_file_whose_every_row_is_bad_is_refused_whole(tmp_path, cli):
    """A date format that reads none of the rows: nothing is acted on (a run would chase
    customers who paid), the file is refused, exit 1."""
    config = folder(tmp_path)
    (tmp_path / "bank.csv").write_text(
        "Booking date;Amount;Currency;Purpose;Payer;Account\n"
        "2026-03-16;1.250,00;EUR;INV-1001;Acme GmbH;\n"
        "2026-03-16;99,00;EUR;INV-1005;Delta AG;\n"
    )
    result = cli("run", "--dry-run", "--as-of", "2026-03-17", "--config", config, expect=1)
    assert "bank.csv: 2 of its 2 rows are bad, more than max_bad_rows: 10% allows" in result.output
