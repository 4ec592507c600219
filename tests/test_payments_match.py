"""Matching payments to invoices (issue 32, "Matching, explained"): the reference shapes bank
exports carry, the amount rule with a payer that fits, and every ambiguity left to a person."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from arflow.payments.match import (
    OpenItem,
    Payment,
    match_payment,
    names_of,
    payment_id,
    reference_tokens,
)

OPEN = [
    OpenItem("INV-1001", "C1", date(2026, 3, 1), D("1250.00"), "EUR"),
    OpenItem("INV-1002", "C2", date(2026, 2, 20), D("480.00"), "EUR"),
    OpenItem("INV-1003", "C2", date(2026, 2, 10), D("125.50"), "EUR"),
    OpenItem("INV-1004", "C3", date(2026, 2, 15), D("480.00"), "EUR"),
    OpenItem("INV-2001", "C4", date(2026, 2, 15), D("300.00"), "USD"),
]
PAYERS = {
    "C1": ["Acme GmbH", "DE89 3704 0044 0532 0130 00"],
    "C2": ["Beta Ltd"],
    "C3": ["Gamma SA", "FR14 2004 1010 0505 0001 3M02 606"],
}


def pay(amount: str, reference: str = "", payer: str | None = None, account=None, cur="EUR"):
    return Payment("p-1", date(2026, 3, 16), D(amount), cur, reference, payer, account)


def applied(match) -> list[tuple[str, str]]:
    return [(a.invoice, str(a.amount)) for a in match.applied]


@pytest.mark.parametrize(
    ("reference", "amount", "expected"),
    [
        # the five shapes: the number; two numbers by their digits; the digits alone; words
        # and a leading zero; and below, none at all with an exact amount
        ("INV-1001", "1250.00", [("INV-1001", "1250.00")]),
        ("Inv 1002 / 1003", "605.50", [("INV-1003", "125.50"), ("INV-1002", "480.00")]),
        ("1001", "1250.00", [("INV-1001", "1250.00")]),
        ("payment for invoice #01001", "1250.00", [("INV-1001", "1250.00")]),
        ("RE: inv-1003.", "125.50", [("INV-1003", "125.50")]),
    ],
)
def test_a_reference_names_the_invoices_it_pays_in_order_of_due_date(reference, amount, expected):
    match = match_payment(pay(amount, reference), OPEN, PAYERS)
    assert (match.rule, applied(match), match.over) == ("reference", expected, D(0))


def test_no_reference_and_an_exact_amount_from_a_known_payer():
    match = match_payment(pay("1250.00", payer="ACME GMBH"), OPEN, PAYERS)
    assert (match.rule, applied(match)) == ("amount", [("INV-1001", "1250.00")])
    assert match.why == "amount 1250.00 is the balance of INV-1001, and the payer fits"
    # an IBAN written with or without its spaces
    by_account = match_payment(pay("1250.00", account="DE89370400440532013000"), OPEN, PAYERS)
    assert applied(by_account) == [("INV-1001", "1250.00")]
    # a customer's whole open balance
    whole = match_payment(pay("605.50", payer="Beta Ltd"), OPEN, PAYERS)
    assert (whole.rule, applied(whole)) == (
        "amount",
        [("INV-1003", "125.50"), ("INV-1002", "480.00")],
    )
    assert whole.why == (
        "amount 605.50 is the whole open balance of INV-1003, INV-1002, and the payer fits"
    )


def test_what_is_never_guessed():
    # 480.00 is owed by INV-1002 and INV-1004: with a payer that fits both it is ambiguous
    both = {**PAYERS, "C3": ["Beta Ltd"]}
    twice = match_payment(pay("480.00", payer="Beta Ltd"), OPEN, both)
    assert (twice.rule, twice.applied) == (None, ())
    assert twice.why == "amount 480.00 fits INV-1002; INV-1004: ambiguous"
    # an unknown payer: an amount alone matches nothing
    stranger = match_payment(pay("480.00", payer="Delta"), OPEN, PAYERS)
    assert (stranger.rule, stranger.why) == (
        None,
        "no open invoice named in its reference, and the payer is not known",
    )
    # a token naming two open invoices
    two = [*OPEN, OpenItem("CN-1001", "C9", date(2026, 3, 1), D("10.00"), "EUR")]
    ambiguous = match_payment(pay("1250.00", "1001"), two, PAYERS)
    assert (ambiguous.rule, ambiguous.why) == (
        None,
        "reference '1001' names CN-1001, INV-1001: ambiguous",
    )
    # another currency's invoice is never paid
    assert match_payment(pay("300.00", "INV-2001"), OPEN, PAYERS).rule is None
    assert match_payment(pay("300.00", "INV-2001", cur="USD"), OPEN, PAYERS).rule == "reference"


def test_partial_and_over_payments():
    part = match_payment(pay("100.00", "INV-1001"), OPEN, PAYERS)
    assert (applied(part), part.over) == ([("INV-1001", "100.00")], D(0))
    over = match_payment(pay("1300.00", "INV-1001"), OPEN, PAYERS)
    assert (applied(over), over.over) == ([("INV-1001", "1250.00")], D("50.00"))
    # two named, not enough for both: the earlier due date first
    short = match_payment(pay("200.00", "1002 1003"), OPEN, PAYERS)
    assert applied(short) == [("INV-1003", "125.50"), ("INV-1002", "74.50")]


def test_tokens_and_names():
    assert reference_tokens("Inv 1001 / 1002, #0042;x") == {"inv", "1001", "1002", "42", "x"}
    assert names_of("INV-1002") == {"inv1002", "1002"}
    assert names_of("00123") == {"123"}
    assert names_of("2026/INV/7") == {"2026inv7"}  # not letters then digits: the number only


def test_a_payment_without_an_id_gets_the_same_one_each_time():
    one = payment_id(date(2026, 3, 16), D("10.00"), "EUR", "INV-1", "Acme", 0)
    assert one == payment_id(date(2026, 3, 16), D("10.00"), "EUR", "INV-1", "Acme", 0)
    assert one.startswith("p-") and len(one) == 18
    # a second identical row of the same file is a payment of its own
    assert one != payment_id(date(2026, 3, 16), D("10.00"), "EUR", "INV-1", "Acme", 1)


def test_a_reference_in_another_currency_says_so():
    found = match_payment(pay("300.00", "INV-2001", payer="Acme GmbH"), OPEN, PAYERS)
    assert (found.rule, found.why) == (
        None,
        "reference names INV-2001, in USD; the payment is in EUR",
    )


def test_the_columns_name_invoices_as_names_of_does():
    """`payments.named.number_names` (polars, over every invoice number) stands for
    `names_of`: on random numbers of letters, digits, zeros, punctuation and other scripts,
    each token finds exactly the numbers `names_of` gives it."""
    import random

    import polars as pl

    from arflow.payments.named import number_names

    rng = random.Random(3)
    parts = [
        "INV",
        "inv",
        "Re",
        "0",
        "00",
        "7",
        "123",
        "-",
        "/",
        ".",
        " ",
        "#",
        "Ü",
        "٣",
        "x9",
        "2026",
    ]
    numbers = sorted(
        {"".join(rng.choice(parts) for _ in range(rng.randint(1, 4))) for _ in range(3000)}
    )
    whole, digits = number_names()
    frame = pl.DataFrame({"number": numbers}).with_columns(whole=whole, digits=digits)
    for number, w, d in frame.iter_rows():
        assert {n for n in (w, d) if n} == names_of(number), number
