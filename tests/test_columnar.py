"""The columnar ledger (issue 14): the fast path (polars reading, column-by-column checks) and the
plain reference path (the csv module, every row through the careful row parsers) read the same
randomised files with bad rows into the same ledger: every invoice and customer field, every
error's file, line, column, value and message. And a ledger loaded into a frame answers the
planner's questions (open invoices, by number, by customer) as one made of objects does."""

from __future__ import annotations

import random
from dataclasses import fields
from datetime import date, timedelta
from decimal import Decimal

import pytest

from arflow.config import load_config
from arflow.ledger import Customer, Invoice, Ledger
from arflow.sources import frames, load_ledger
from arflow.sources import invoices as invoice_source
from tests.conftest import BASE_CONFIG, make_folder

INVOICE_HEADER = [
    "number",
    "customer_id",
    "customer_name",
    "email",
    "phone",
    "issue_date",
    "due_date",
    "terms",
    "amount",
    "balance",
    "paid_date",
    "currency",
    "status",
    "product",
    "segment",
    "tags",
    "memo",
]
CUSTOMER_HEADER = [
    "customer_id",
    "name",
    "email",
    "phone",
    "paused",
    "terms",
    "currency",
    "workflow",
    "parent_id",
    "segment",
    "note",
]


# per column: values a clean row may have, then values that are wrong or unusual
INVOICE_VALUES = {
    "customer_id": (["C1", "C2", "C4", "C5", "C9"], [" C3 ", ""]),
    "customer_name": (["", "Acme Ltd"], [" Beta  ", "Beta\x1f"]),
    "email": (
        ["", "ap@acme.example", "a@x.example; b@y.example"],
        ["AP@ACME.EXAMPLE", "ap@Acme.example", "bad@", "x@y.test", " ap@acme.example"],
    ),
    "phone": (["", "+1 202 555 0111", "(202) 555-0122"], ["12", "+12025550133"]),
    "terms": (["", "Net 30", "net 15 eom", "EOM", "Due on receipt"], ["bogus terms"]),
    "amount": (
        ["10", "1234.56", "-20.00", "0.01", "+7"],
        ["$1,234.56", "abc", "", "1e5", " 12.5 ", "(30.00)", "1234567890123456"],
    ),
    "balance": (["", "", "5.5", "0"], ["x", "0.005"]),
    "currency": (["", "usd", "EUR"], ["EURO", " eur "]),
    "status": (["", "open", "Paid", "draft"], ["weird", "VOID"]),
    "product": (["", "hosting"], []),
    "segment": (["", "retail"], []),
    "tags": (["", "a; b", "x;y"], [" ; ", "a, b"]),
    "memo": (["", "memo text"], [" padded "]),
}


def _invoice_row(rng: random.Random, n: int) -> list[str]:
    issued = date(2026, 1, 1) + timedelta(days=rng.randrange(90))
    later = (issued + timedelta(days=rng.randrange(1, 60))).isoformat()
    values = {field: rng.choice(good) for field, (good, _) in INVOICE_VALUES.items()}
    values.update(
        number=f"{n:06d}",
        issue_date=issued.isoformat(),
        due_date=rng.choice(["", later]),
        paid_date=rng.choice(["", "", later]),
    )
    if rng.random() < 0.3:  # one unusual value
        field = rng.choice([*INVOICE_VALUES, "number", "issue_date", "due_date", "paid_date"])
        unusual = (
            {
                "number": [
                    f" {n:06d} ",
                    "",
                    f"{rng.randrange(n + 1):06d}",
                    f"X\x01{n}",
                    f"{n:06d}\x1f",
                ],  # a separator Python's strip() takes, polars' not
                "issue_date": [
                    "2026-02-30",
                    "2026-1-5",
                    "01/02/2026",
                    "",
                    "9999-12-31",
                    f"{issued}T10:00:00Z",
                ],
                "due_date": ["2026-13-01", (issued - timedelta(days=3)).isoformat()],
                "paid_date": ["bad"],
            }.get(field)
            or INVOICE_VALUES[field][1]
            or [""]
        )
        values[field] = rng.choice(unusual)
    return [values[f] for f in INVOICE_HEADER]


def _customer_row(rng: random.Random, n: int) -> list[str]:
    row = [
        f"C{n}",
        rng.choice(["", "Acme Ltd"]),
        rng.choice(["", "ap@c.example"]),
        rng.choice(["", "+1 202 555 0144"]),
        rng.choice(["", "yes", "no", "X"]),
        rng.choice(["", "Net 45", "EOM"]),
        rng.choice(["", "cad"]),
        rng.choice(["", "net30"]),
        rng.choice(["", "C1"]),
        rng.choice(["", "retail"]),
        rng.choice(["", "note"]),
    ]
    if rng.random() < 0.4:
        k = rng.randrange(len(row))
        row[k] = rng.choice(
            [
                [f" C{n} ", "", "C1"],
                [" Name "],
                ["nope", "a@b.example, c@d.example"],
                ["555"],
                ["maybe"],
                ["never"],
                ["Dollars"],
                [" net30"],
                [""],
                [""],
                [" x "],
            ][k]
        )
    return row


def _damaged(rng: random.Random, row: list[str]) -> str:
    """The row as a line, sometimes short, blank or made of delimiters only."""
    kind = rng.random()
    if kind < 0.04:
        return ",".join(row[: rng.randrange(1, len(row))])  # too few values
    if kind < 0.06:
        return rng.choice(["", "   ", "," * (len(row) - 1)])
    return ",".join(row)


def _write(tmp_path, seed: int, quoted: bool):
    rng = random.Random(seed)
    invoice_lines = [",".join(INVOICE_HEADER)]
    invoice_lines += [_damaged(rng, _invoice_row(rng, n)) for n in range(600)]
    customer_lines = [",".join(CUSTOMER_HEADER)]
    customer_lines += [_damaged(rng, _customer_row(rng, n)) for n in range(1, 200)]
    # every unusual value at least once, in an otherwise clean row
    clean = dict.fromkeys(INVOICE_HEADER, "") | {
        "customer_id": "C1",
        "issue_date": "2026-01-02",
        "amount": "5",
    }
    for field, (_, unusual) in INVOICE_VALUES.items():
        for k, value in enumerate(unusual):
            row = {**clean, "number": f"E-{field}-{k}", field: value}
            invoice_lines.append(",".join(row[f] for f in INVOICE_HEADER))
    # one number three times, once with a separator Python's strip() takes and polars' not
    invoice_lines[100:100] = [f"DUP1{end},C1,,,,2026-01-02,,,5,,,,,,,," for end in ("", "\x1f")]
    invoice_lines.append("DUP1,C2,,,,2026-01-03,,,6,,,,,,,,")
    if quoted:  # a quoted value with a delimiter and a line break: only the csv module reads it
        invoice_lines.insert(5, 'Q1,C1,"Acme, Inc.",,,2026-01-02,,,5,,,,,,,,"two\nlines"')
        customer_lines.insert(3, 'C77,"Quoted, Ltd",,,,,,,,,')
    customer_lines += ["C500,,,,maybe,,,,,,", "C500,,,,,,,,,,"]  # a bad copy counts as a copy
    # every way a row can be wrong, many times over: far more bad rows than a real export may
    # have before it is refused whole (max_bad_rows:), so both paths are let read them all
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}",
        "invoices: {path: invoices.csv, max_bad_rows: 100%}\n"
        "customers: {path: customers.csv, max_bad_rows: 100%}",
    )
    path = make_folder(tmp_path, invoices="x\n", workflows={}, config=config)
    (tmp_path / "invoices.csv").write_text("\n".join(invoice_lines) + "\n")
    (tmp_path / "customers.csv").write_text("\r\n".join(customer_lines) + "\r\n")
    return load_config(path)


def _values(obj) -> list:
    return [getattr(obj, f.name) for f in fields(obj)]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("quoted", [False, True])
def test_the_fast_path_and_the_reference_path_read_the_same_ledger(
    tmp_path, monkeypatch, seed, quoted
):
    config = _write(tmp_path, seed, quoted)
    used = []  # whether polars read each file (customers, then invoices)
    plain, slices = frames.plain_csv, frames.plain_slices

    def plain_slices(*a, **k):
        try:
            yield from slices(*a, **k)
        except frames.NotPlain:
            used.append(False)
            raise
        used.append(True)

    def plain_csv(*a, **k):
        rows = plain(*a, **k)
        used.append(rows is not None)
        return rows

    monkeypatch.setattr("arflow.sources.plain_csv", plain_csv)
    monkeypatch.setattr("arflow.sources.plain_slices", plain_slices)
    careful_rows = []
    careful = invoice_source.InvoiceBuilder._invoice
    monkeypatch.setattr(
        invoice_source.InvoiceBuilder,
        "_invoice",
        lambda self, *a: careful_rows.append(a[0]) or careful(self, *a),
    )
    fast = load_ledger(config, check_phones=True)
    fast_careful = len(careful_rows)
    # polars read the plain files; a quoted line break sends the invoices to the csv module
    assert used == [not quoted, not quoted]
    reference = load_ledger(config, reference=True, check_phones=True)
    # the reference reads every row carefully; the fast path only the unusual ones
    assert len(careful_rows) - fast_careful > 450 and fast_careful < 200
    # read as a run reads them, each number checked when asked for: both ways agree too
    lazy, lazy_reference = load_ledger(config), load_ledger(config, reference=True)
    assert [i.phone for i in lazy.invoices] == [i.phone for i in lazy_reference.invoices]
    phones = [[c.phone for c in one.customers.values()] for one in (lazy, lazy_reference)]
    assert phones[0] == phones[1] and any(phones[0]) and None in phones[0]
    assert [tuple(_values(e)) for e in lazy.errors] == [
        tuple(_values(e)) for e in lazy_reference.errors
    ]
    assert "not a valid phone" in " ".join(e.message for e in lazy.errors)

    assert [_values(i) for i in fast.invoices] == [_values(i) for i in reference.invoices]
    assert list(fast.customers) == list(reference.customers)
    assert [_values(c) for c in fast.customers.values()] == [
        _values(c) for c in reference.customers.values()
    ]
    assert [tuple(_values(e)) for e in fast.errors] == [tuple(_values(e)) for e in reference.errors]
    # the files were bad enough to try every rule
    messages = " ".join(e.message for e in fast.errors)
    for part in (
        "is not a real date",
        "is not an ISO date",
        "appears more than once",
        "values but the header has",
        "not a valid email",
        "not a valid phone",
        "unknown status",
        "not an ISO 4217",
        "is not an amount",
        "is too large",
        "control character",
        "empty invoice number",
        "is not yes/no",
        "appears on lines",
        "is before the issue date",
    ):
        assert part in messages, part
    assert 350 < len(fast.invoices) < 550
    text = (tmp_path / "invoices.csv").read_text().split("\n")
    a, b, c = [k + 1 for k, line in enumerate(text) if line.startswith("DUP1")]
    assert [(e.line, e.message) for e in fast.errors if e.value == "DUP1"] == [
        (
            line,
            f"invoice number 'DUP1' appears more than once (also on lines {others}); all "
            "copies are held back until the source has one row per invoice",
        )
        for line, others in ((a, f"{b}, {c}"), (b, f"{a}, {c}"), (c, f"{a}, {b}"))
    ]
    last = len(customer_lines := (tmp_path / "customers.csv").read_text().splitlines())
    assert [
        (e.line, e.column, e.message)
        for e in fast.errors
        if e.file == "customers.csv" and e.line >= last - 1
    ] == [
        (last - 1, "paused", "'maybe' is not yes/no (use true or false)"),
        (
            last - 1,
            "customer_id",
            f"customer 'C500' appears on lines {last - 1}, {last}; all "
            "copies are held back, keep one row per customer",
        ),
        (
            last,
            "customer_id",
            f"customer 'C500' appears on lines {last - 1}, {last}; all copies "
            "are held back, keep one row per customer",
        ),
    ]
    assert "C500" not in fast.customers and customer_lines


def _invoice(
    number: str,
    customer: str,
    *,
    paid: date | None = None,
    balance: str | None = None,
    status: str = "open",
    amount: str = "100.00",
    issued: date = date(2026, 1, 5),
):
    return Invoice(
        number,
        customer,
        issued,
        issued + timedelta(days=30),
        Decimal(amount),
        None if balance is None else Decimal(balance),
        paid,
        "USD",
        status,
        2,
    )


def test_a_ledger_in_a_frame_answers_as_one_of_objects():
    invoices = [
        _invoice("A", "C1"),
        _invoice("B", "C1", paid=date(2026, 2, 1)),
        _invoice("C", "C2", balance="0.01"),
        _invoice("D", "C2", balance="0.02"),
        _invoice("E", "C3", status="draft"),
        _invoice("F", "C3", status="paid"),
        _invoice("G", "C4", issued=date(2026, 3, 1)),
        _invoice("H", "C4", amount="-50.00"),
        _invoice("I", "C5", balance="0.0100000000000000000000001"),
        _invoice("J", "C5", status="void"),
        _invoice("K", "C6", paid=date(2026, 2, 20)),
    ]
    objects = Ledger(invoices, {}, [])
    frame = Ledger(customers={}, errors=[], frame=objects.frame)
    assert frame._objects is None

    def numbers(found) -> list[str]:
        return [i.number for i in found]

    for as_of in (date(2026, 1, 4), date(2026, 2, 1), date(2026, 2, 19), date(2026, 3, 1)):
        assert numbers(frame.current(as_of, Decimal("0.01"))) == numbers(
            objects.current(as_of, Decimal("0.01"))
        )
        for cid in ("C1", "C2", "C3", "C4", "C5", "C6", "C7"):
            assert numbers(frame.of_customers([cid], owing_on=as_of)[cid]) == numbers(
                i for i in objects.of_customers([cid])[cid] if i.open_balance(as_of)
            )
    assert numbers(frame.current(date(2026, 2, 1), Decimal("0.01"))) == ["A", "D", "I", "K"]
    assert numbers(frame.current(date(2026, 3, 1), Decimal("0.01"))) == ["A", "D", "G", "I"]
    # a credit note is owed (it lowers the customer's totals) but never open
    assert numbers(frame.of_customers(["C4"], owing_on=date(2026, 3, 1))["C4"]) == ["G", "H"]
    assert numbers(frame.of_customers(["C1", "C3"])["C3"]) == ["E", "F"]
    assert sorted(frame.find(["K", "A", "Z"])) == ["A", "K"]
    assert frame.customer_ids() == objects.customer_ids() == {f"C{i}" for i in range(1, 7)}
    assert len(frame) == len(objects) == 11
    assert [_values(i) for i in frame.invoices] == [_values(i) for i in invoices]
    assert _values(frame.only("C2").invoices[1]) == _values(invoices[3])


def test_customers_only_named_on_invoice_rows_take_the_first_value_given():
    invoices = [
        _invoice("A", "C1"),
        _invoice("B", "C1"),
        _invoice("C", "C2"),
        _invoice("D", "C1"),
    ]
    invoices[1].customer_name, invoices[1].email = "Later Name", ("later@x.example",)
    invoices[3].customer_name, invoices[3].email = "Last Name", ("last@x.example",)
    invoices[2].phone = "+12025550100"
    from arflow.sources.customers import merge_customers

    frame = Ledger(invoices, {}, []).frame
    known = {"C2": Customer("C2", name="From File", given_phone="+12025550199")}
    merged = merge_customers(frame, known, ["customer_name", "email", "phone"])
    assert list(merged) == ["C2", "C1"]
    assert (merged["C1"].name, merged["C1"].email) == ("Later Name", ("later@x.example",))
    assert (merged["C2"].name, merged["C2"].phone) == ("From File", "+12025550199")


# --- edges an outside review found: each is read by both paths alike -------------------------
def _both(tmp_path, invoices: bytes, config: str = BASE_CONFIG):
    path = make_folder(tmp_path, invoices="x\n", workflows={}, config=config)
    (tmp_path / "invoices.csv").write_bytes(invoices)
    fast, reference = load_ledger(load_config(path)), load_ledger(load_config(path), reference=True)
    assert [_values(i) for i in fast.invoices] == [_values(i) for i in reference.invoices]
    assert [tuple(_values(e)) for e in fast.errors] == [tuple(_values(e)) for e in reference.errors]
    return fast


def test_a_too_long_row_with_a_field_over_the_csv_limit_is_that_rows_error(tmp_path):
    huge = "x" * 131_077
    ledger = _both(
        tmp_path,
        (
            f"number,customer_id,issue_date,amount,balance,memo\n"
            f"A1,C1,2026-01-02,10,,,{huge}\nA2,C1,2026-01-02,11,,\n"
        ).encode(),
    )
    assert [i.number for i in ledger.invoices] == ["A2"]
    assert [(e.line, e.message) for e in ledger.errors] == [
        (2, "unreadable CSV row (field larger than field limit (131072)); fix this line")
    ]


@pytest.mark.parametrize(
    "ending",
    [
        b"A1,C1,2026-01-02,10,",
        b"A1,C1,2026-01-02,10,,",
        b"A0,C1,2026-01-02,9\r\nA1,C1,2026-01-02,10,",
    ],
)
def test_a_last_line_without_a_line_break_keeps_its_extra_value(tmp_path, ending):
    ledger = _both(tmp_path, b"number,customer_id,issue_date,amount\n" + ending)
    assert "A1" not in [i.number for i in ledger.invoices]
    [error] = ledger.errors
    assert error.message.startswith(
        f"row has {ending.rsplit(b'A1', 1)[1].count(b',') + 1} values but the header has 4 columns"
    )


def test_a_padded_negative_zero_keeps_its_sign(tmp_path):
    ledger = _both(
        tmp_path,
        "number,customer_id,issue_date,amount,balance\nA1,C1,2026-01-02, -0,\u2003-0.00\n".encode(),
    )
    [invoice] = ledger.invoices
    assert (str(invoice.amount), str(invoice.balance)) == ("-0", "-0.00")


def test_without_a_status_column_the_status_of_an_empty_one_applies(tmp_path):
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}", 'invoices: {path: invoices.csv, status_map: {"": paid}}'
    )
    ledger = _both(tmp_path, b"number,customer_id,issue_date,amount\nA1,C1,2026-01-02,10\n", config)
    assert [i.status for i in ledger.invoices] == ["paid"]


@pytest.mark.parametrize(
    "tolerance", ["0.009999999999999999999999", "100000000000000000000", "0", "0.01"]
)
def test_any_tolerance_keeps_the_frame_and_the_objects_in_agreement(tolerance):
    invoices = [
        _invoice("A", "C1", balance="0.01"),
        _invoice("B", "C1"),
        _invoice("C", "C1", balance="0.0099999999999999999999999999"),
        _invoice("D", "C1", amount="123456789012345.67"),
    ]
    objects = Ledger(invoices, {}, [])
    frame = Ledger(customers={}, errors=[], frame=objects.frame)
    as_of = date(2026, 2, 1)
    assert [i.number for i in frame.current(as_of, Decimal(tolerance))] == [
        i.number for i in objects.current(as_of, Decimal(tolerance))
    ]


@pytest.mark.parametrize("delimiter", [";;", "", '"'])
def test_a_delimiter_is_one_character(tmp_path, cli, delimiter):
    config = make_folder(
        tmp_path,
        invoices="number,customer_id,issue_date,amount\n",
        workflows={},
        config=BASE_CONFIG.replace(
            "invoices: {path: invoices.csv}",
            f"invoices: {{path: invoices.csv, delimiter: '{delimiter}'}}",
        ),
    )
    result = cli("validate", "--config", config, expect=1)
    assert f"delimiter: {delimiter!r} must be one character" in result.output


def test_a_header_over_the_csv_limit_is_a_clear_error(tmp_path, cli):
    config = make_folder(tmp_path, invoices="x\n", workflows={})
    (tmp_path / "invoices.csv").write_text(
        "number,customer_id,issue_date,amount," + "x" * 140_000 + "\nA1,C1,2026-01-02,5,\n"
    )
    result = cli("run", "--dry-run", "--config", config, expect=1)
    assert result.output.strip().endswith(
        "invoices.csv: unreadable header row (field larger than field limit (131072)); fix line 1"
        " (2030-01-15T12:00:00Z)"
    )


# --- a file read a slice at a time (issue 30): as read in one go -------------------------------
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("quoted", [False, True])
def test_a_file_read_in_slices_of_lines_is_the_ledger_read_in_one_go(
    tmp_path, monkeypatch, seed, quoted
):
    from arflow.sources import csvfile

    config = _write(tmp_path, seed, quoted)  # bad, blank, short and ragged rows
    monkeypatch.setattr(frames, "SLICE_BYTES", 1 << 30)
    monkeypatch.setattr(frames, "SLICE_BLOCKS", 1 << 30)
    whole = load_ledger(config, check_phones=True)
    read = []  # how many slices polars read the invoices in, or that it left them
    plain = frames.plain_slices

    def counted(*a, **k):
        try:
            slices = list(plain(*a, **k))
        except frames.NotPlain:
            read.append("to the block reader")
            raise
        read.append(len(slices))
        return iter(slices)

    monkeypatch.setattr("arflow.sources.plain_slices", counted)
    monkeypatch.setattr(csvfile, "BLOCK", 7)
    for size, blocks, slices in ((500, 1, 90), (4096, 3, 12)):  # a few lines; many
        monkeypatch.setattr(frames, "SLICE_BYTES", size)
        monkeypatch.setattr(frames, "SLICE_BLOCKS", blocks)
        read.clear()
        ledger = load_ledger(config, check_phones=True)
        # a quoted line break: the csv module reads the file, its blocks a slice at a time
        assert read == ["to the block reader"] if quoted else read[0] > slices
        assert [_values(i) for i in ledger.invoices] == [_values(i) for i in whole.invoices]
        assert [_values(c) for c in ledger.customers.values()] == [
            _values(c) for c in whole.customers.values()
        ]
        assert [tuple(_values(e)) for e in ledger.errors] == [
            tuple(_values(e)) for e in whole.errors
        ]
        assert ledger.reads == whole.reads
    assert len(whole.errors) > 100 and "values but the header has" in str(whole.errors)


EDGES = (
    "\ufeffnumber,customer_id,issue_date,amount\r\n"
    "A1,C1,2026-01-02,10\r\n"
    "\r\n"  # a blank line: no row
    ",,,\r\n"  # a spreadsheet's empty row: no row either
    "A2,C1\r\n"  # short
    "A3,C1,2026-01-02,11,extra,more\r\n"  # ragged: too many values
    "A4,C1,2026-01-02,\r\n"  # an empty last value: a row
    "A5,C1,2026-01-03,12\r\n"
    "A6,C1,2026-01"  # the last line, short and without a line break
)


FIX = "fix the quoting or the delimiter on this line"


@pytest.mark.parametrize("size", [1, 2, 7, 20, 21, 40, 64, 1 << 20])
def test_every_slice_boundary_keeps_lines_rows_and_problems(tmp_path, size):
    from arflow.config import SourceConfig
    from arflow.sources.csvfile import read_csv

    path = tmp_path / "invoices.csv"
    path.write_bytes(EDGES.encode())
    source = SourceConfig(path="invoices.csv", encoding="utf-8-sig")
    header, blocks = read_csv(path, source, "invoices.csv")
    reference = frames.from_blocks(header, blocks)  # the csv module, row by row
    rows = frames.plain_csv(path, source, header, size=size)
    assert rows is not None
    assert (
        rows.frame.to_dicts()
        == reference.frame.to_dicts()
        == [
            {"c0": "A1", "c1": "C1", "c2": "2026-01-02", "c3": "10", frames.LINE: 2},
            {"c0": "A4", "c1": "C1", "c2": "2026-01-02", "c3": "", frames.LINE: 7},
            {"c0": "A5", "c1": "C1", "c2": "2026-01-03", "c3": "12", frames.LINE: 8},
        ]
    )
    assert (
        rows.problems
        == reference.problems
        == [
            (5, "row has 2 values but the header has 4 columns; " + FIX),
            (6, "row has 6 values but the header has 4 columns; " + FIX),
            (9, "row has 3 values but the header has 4 columns; " + FIX),
        ]
    )
    assert rows.empty == reference.empty == 2


def test_a_slice_polars_may_not_read_sends_the_whole_file_to_the_block_reader(
    tmp_path, monkeypatch
):
    # a quote far down the file: the slices before it were read by polars, then the whole
    # file is read again by the csv module, and each row is reported once
    lines = [f"A{i},C1,2026-01-02,{'x' if i % 50 == 7 else i}" for i in range(300)]
    lines[250] = 'Q1,C1,2026-01-02,"5"'
    lines[20] = "S1,C1"  # a short row: reported as the slices go
    monkeypatch.setattr(frames, "SLICE_BYTES", 500)
    ledger = _both(tmp_path, ("number,customer_id,issue_date,amount\n" + "\n".join(lines)).encode())
    assert "Q1" in [i.number for i in ledger.invoices] and len(ledger.invoices) == 293
    assert [e.line for e in ledger.errors] == [9, 22, 59, 109, 159, 209, 259]


def test_a_wrong_date_format_is_told_from_every_slice_as_from_the_whole_file(tmp_path, monkeypatch):
    from arflow.errors import SourceRefused

    # month-first dates read day-first: those after the 12th fail, the first ones far apart
    rows = [f"A{n},C1,{n % 12 + 1:02d}/{n % 12 + 1:02d}/2026,5" for n in range(200)]
    rows[40] = "B1,C1,03/14/2026,5"
    rows[120] = "B2,C1,04/20/2026,5"
    rows[190] = "B3,C1,03/14/2026,5"
    config = BASE_CONFIG.replace(
        "invoices: {path: invoices.csv}", 'invoices: {path: invoices.csv, date_format: "%d/%m/%Y"}'
    )
    path = make_folder(tmp_path, invoices="x\n", workflows={}, config=config)
    text = "number,customer_id,issue_date,amount\n" + "\n".join(rows) + "\n"
    (tmp_path / "invoices.csv").write_text(text)
    refusals = []
    for size in (1 << 30, 300):  # one go; then slices of a few lines
        monkeypatch.setattr(frames, "SLICE_BYTES", size)
        with pytest.raises(SourceRefused) as refused:
            load_ledger(load_config(path))
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1]
    assert refusals[1].startswith(
        "invoices.csv: issue_date: 2 of its 14 distinct dates do not read as date_format "
        "'%d/%m/%Y' (e.g. line 42: 03/14/2026, line 122: 04/20/2026), but read as '%m/%d/%Y'"
    )
