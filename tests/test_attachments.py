"""A campaign's statement files (SPEC 4.10, issue 15): the CSV and PDF made from a statement,
the MIME writer's multipart/mixed with RFC 2231 file names, and a statement with both files sent
through the loopback SMTP server and read back with the standard library and a real PDF parser."""

from __future__ import annotations

import email
import email.policy
import io
import json
import sys
from datetime import date
from decimal import Decimal

import pypdf
import pytest

from arflow.attachments import PDF_EXTRA, missing_package, statement_csv, statement_pdf
from arflow.channels import Attachment, Message
from arflow.channels.mime import email_bytes
from arflow.scaffold import write_scaffold
from tests.conftest import make_folder
from tests.test_campaign_runs import CAMPAIGNS, CUSTOMERS, INVOICES, TEMPLATES
from tests.test_validate import problems


def _invoice(number: str, customer: str, name: str, balance: str, days: int) -> dict:
    return {
        "number": number,
        "customer_id": customer,
        "customer_name": name,
        "issue_date": date(2026, 1, 2),
        "due_date": date(2026, 2, 1),
        "amount": Decimal(balance),
        "balance": Decimal(balance),
        "currency": "USD",
        "days_past_due": days,
    }


def _context(invoices: list[dict], name: str = "Alder Ltd") -> dict:
    total = sum((i["balance"] for i in invoices), Decimal(0))
    return {
        "company": {"name": "Acme Ltd"},
        "customer": {"id": "A", "name": name},
        "statement": {
            "occurrence": date(2026, 3, 2),
            "consolidated": False,
            "totals_only": False,
            "invoices": invoices,
            "groups": [
                {
                    "currency": "USD",
                    "outstanding": total,
                    "overdue": total,
                    "overdue_pct": Decimal(100),
                    "aging": {
                        "current": Decimal(0),
                        "1-30": total,
                        "31-60": Decimal(0),
                        "61-90": Decimal(0),
                        "90+": Decimal(0),
                    },
                    "accounts": [],
                    "invoices": invoices,
                }
            ],
        },
    }


def _money(value: Decimal, currency: str) -> str:
    return f"${value:,.2f}"


def test_the_csv_has_one_line_per_listed_invoice_and_runs_no_formula():
    context = _context(
        [
            _invoice("A1", "A", "Alder Ltd", "600.00", 29),
            _invoice("=HYPERLINK(1)", "A", "+Alder", "12.50", 29),
        ]
    )
    assert statement_csv(context) == (
        b"customer_id,customer_name,number,issue_date,due_date,currency,amount,balance,"
        b"days_past_due\r\n"
        b"A,Alder Ltd,A1,2026-01-02,2026-02-01,USD,600.00,600.00,29\r\n"
        b"A,'+Alder,'=HYPERLINK(1),2026-01-02,2026-02-01,USD,12.50,12.50,29\r\n"
    )


def _pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_opens_lists_the_invoices_and_grows_pages_with_them():
    short = statement_pdf(_context([_invoice("A1", "A", "Alder Ltd", "1250.00", 29)]), _money)
    pages, text = _pdf_text(short)
    assert pages == 1
    assert "Statement of account for Alder Ltd (A)" in text
    assert "A1" in text and "USD: outstanding $1,250.00, overdue $1,250.00 (100 %)" in text
    many = [_invoice(f"INV-{n:04d}", "A", "Alder Ltd", "10.00", 29) for n in range(120)]
    pages, text = _pdf_text(statement_pdf(_context(many), _money))
    assert pages == 3 and "INV-0000" in text and "INV-0119" in text
    assert text.count("Invoice Account Issued Due Days Open") == 3  # a header on every page
    # the file's date is the statement's: the same statement makes the same bytes
    metadata = pypdf.PdfReader(io.BytesIO(short)).metadata
    assert metadata is not None and metadata.creation_date is not None
    assert metadata.creation_date.date() == date(2026, 3, 2)
    assert (
        statement_pdf(_context([_invoice("A1", "A", "Alder Ltd", "1250.00", 29)]), _money) == short
    )
    # a name beyond Latin-1 does not fail it
    _, text = _pdf_text(statement_pdf(_context(many[:1], name="Ålder 株式会社"), _money))
    assert "Statement of account for Ålder ???? (A)" in text
    # euro amounts as babel writes them in French: the sign and the narrow spaces survive
    _, text = _pdf_text(
        statement_pdf(
            _context(many[:1], name="Aulne – “SARL”"),
            lambda value, currency: "1\u202f250,00\u00a0€",
        )
    )
    assert 'Statement of account for Aulne - "SARL" (A)' in text
    assert "250,00" in text and "EUR" in text and "?" not in text


def test_without_fpdf2_validate_names_the_package(monkeypatch, tmp_path):
    assert missing_package("statement.pdf") is None
    monkeypatch.setitem(sys.modules, "fpdf", None)  # as on a machine without the extra
    assert (
        missing_package("statement.pdf")
        == PDF_EXTRA
        == (
            "statement.pdf needs the optional package fpdf2: pip install fpdf2 (or pip install -e "
            "'.[pdf]' in arflow's folder)"
        )
    )
    assert missing_package("statement.csv") is None
    monthly = CAMPAIGNS["monthly-solo"].replace(
        "cc: [controller]", "attach: [statement.csv, statement.pdf]"
    )
    assert problems(tmp_path, {"monthly": monthly}, templates=TEMPLATES) == [
        "workflows/monthly.yaml:5: actions.0.email.attach.1: statement.pdf needs the optional "
        "package fpdf2: pip install fpdf2 (or pip install -e '.[pdf]' in arflow's folder)"
    ]


def _message(*attachments: Attachment) -> Message:
    return Message(
        "email",
        "x",
        ["a@alder.example"],
        subject="Statement",
        text="Dear Alder",
        html="<p>Dear Alder</p>",
        sender="ar@acme.example",
        message_id="<1.arflow@acme.example>",
        attachments=list(attachments),
    )


def test_mime_puts_the_alternatives_and_the_files_in_a_mixed_message():
    pdf = bytes(range(256)) * 40  # binary, several base64 lines
    data = email_bytes(
        _message(
            Attachment("statement.csv", "text/csv; charset=utf-8", b"a,b\r\n"),
            Attachment("Übersicht März.pdf", "application/pdf", pdf),
        )
    )
    assert all(len(line) <= 78 for line in data.split(b"\r\n"))
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    first, *files = parsed.get_payload()
    assert first.get_content_type() == "multipart/alternative"
    assert [(p.get_content_type(), p.get_content().strip()) for p in first.get_payload()] == [
        ("text/plain", "Dear Alder"),
        ("text/html", "<p>Dear Alder</p>"),
    ]
    assert [
        (p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in files
    ] == [("statement.csv", "text/csv", b"a,b\r\n"), ("Übersicht März.pdf", "application/pdf", pdf)]
    assert b"filename*=utf-8''%C3%9Cbersicht%20M%C3%A4rz.pdf" in data
    # without files the message is what it always was
    plain = email_bytes(_message())
    assert b"multipart/mixed" not in plain and plain.count(b"Content-Type:") == 3


def test_a_file_name_with_a_line_break_is_refused():
    with pytest.raises(ValueError) as exc:
        email_bytes(_message(Attachment("x.csv\r\nBcc: e@evil.example", "text/csv", b"")))
    assert str(exc.value) == (
        "refusing the attachment name 'x.csv\\r\\nBcc: e@evil.example': "
        "contains the control character U+000D"
    )


def test_a_statement_with_a_pdf_and_a_csv_arrives_over_smtp(cli, tmp_path, smtp_server):
    monthly = CAMPAIGNS["monthly-solo"].replace(
        "cc: [controller]", "cc: [controller], attach: [statement.pdf, statement.csv]"
    )
    folder = make_folder(
        tmp_path,
        invoices=INVOICES,
        workflows={"monthly-solo": monthly},
        templates=TEMPLATES,
        config=f"""\
            company: {{name: Acme Ltd, email: ar@acme.example, timezone: UTC, currency: USD,
                      locale: en_US}}
            invoices: {{path: invoices.csv}}
            customers: {{path: customers.csv}}
            people:
              controller: {{name: Chris Doe, email: controller@acme.example}}
            channels: {{email: {{transport: smtp, host: 127.0.0.1, port: {smtp_server.port},
                                 timeout: 5}}}}
            """,
        extra_files={"customers.csv": CUSTOMERS},
    )
    cli("run", "--as-of", "2026-03-15", "--config", folder)
    # A and B (not paused here) get one; C owes too little
    statements = {
        m.message["To"]: m.message
        for m in smtp_server.messages
        if m.message["Subject"] == "Statement 2026-03-15"
    }
    assert list(statements) == ["Alder Ltd <a@alder.example>", "Birch Ltd <b@birch.example>"]
    message = statements["Alder Ltd <a@alder.example>"]
    assert (message["To"], message["Cc"]) == (
        "Alder Ltd <a@alder.example>",
        "Chris Doe <controller@acme.example>",
    )
    body, pdf, table = message.get_payload()
    assert body.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in body.get_payload()] == ["text/plain"]
    assert (pdf.get_filename(), pdf.get_content_type()) == ("statement.pdf", "application/pdf")
    assert (table.get_filename(), table.get_content_type()) == ("statement.csv", "text/csv")
    # A1 is not paused here: both USD invoices are listed, EUR's group failed its condition
    assert table.get_payload(decode=True) == (
        b"customer_id,customer_name,number,issue_date,due_date,currency,amount,balance,"
        b"days_past_due\r\n"
        b"A,Alder Ltd,A1,2026-01-02,2026-02-01,USD,600.00,600.00,42\r\n"
        b"A,Alder Ltd,A2,2026-03-01,2026-04-20,USD,200.00,200.00,-36\r\n"
    )
    pages, text = _pdf_text(pdf.get_payload(decode=True))
    assert pages == 1
    assert "Statement of account for Alder Ltd (A)" in text
    assert "USD: outstanding $800.00, overdue $600.00 (75 %)" in text


def test_the_example_campaign_keeps_its_csv_inside_the_outbox_eml(cli, tmp_path):
    write_scaffold(tmp_path / "ar", date(2026, 3, 16))
    config = tmp_path / "ar" / "arflow.yaml"
    doc = json.loads(
        cli("run", "--as-of", "2026-04-06", "--format", "json", "--config", config).stdout
    )
    # the wholesale accounts: Contoso Group (for its branch Contoso Builders) and Litware Labs
    assert [
        (a["customer_id"], a["action"], a["invoices"])
        for a in doc["actions"]
        if a["workflow"] == "monthly-statement"
    ] == [
        ("C005", "email", ["INV-1006", "INV-1007"]),
        ("C005", "notify", ["INV-1006", "INV-1007"]),
        ("C007", "email", ["INV-1004"]),
        ("C007", "notify", ["INV-1004"]),
    ]
    (path,) = (tmp_path / "ar" / "outbox").glob("*-C007-monthly-statement-2026-04-06-0-*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    (table,) = message.iter_attachments()
    assert table.get_filename() == "statement.csv"
    assert table.get_payload(decode=True).decode().splitlines() == [
        "customer_id,customer_name,number,issue_date,due_date,currency,amount,balance,"
        "days_past_due",
        "C003,Contoso Builders,INV-1004,2026-01-15,2026-02-14,USD,3200.00,1200.00,51",
    ]
    text = message.get_body(("plain",)).get_content()
    assert "INV-1004       due Feb 14, 2026     $1,200.00  Contoso Builders" in text
    assert "Contoso Builders             $1,200.00 outstanding, $1,200.00 overdue" in text
