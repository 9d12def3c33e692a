"""closeout.money: cents rounded half to even, JSON written and read without a float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from closeout.money import CENT, ZERO, cents, dumps, exact_text, loads, money_text


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        ("0.125", "0.12"),  # half to the even cent below
        ("0.135", "0.14"),  # half to the even cent above
        ("-0.125", "-0.12"),
        ("2.675", "2.68"),  # the classic float trap: as a float it is 2.67499999...
        ("0.1251", "0.13"),  # above half rounds up
        ("7", "7.00"),
    ],
)
def test_cents_rounds_half_to_even(amount, rounded):
    assert str(cents(Decimal(amount))) == rounded


def test_zero_and_cent_are_two_place_decimals():
    assert (str(ZERO), str(CENT)) == ("0.00", "0.01")


def test_money_text_has_two_places_and_exact_text_keeps_the_digits():
    assert money_text(Decimal("12.5")) == "12.50"
    assert money_text(Decimal("1E+2")) == "100.00"
    assert exact_text(Decimal("12.5")) == "12.5"
    assert exact_text(Decimal("1E+2")) == "100"  # never an exponent


def test_dumps_writes_each_decimal_as_its_exact_text():
    body = {
        "debit": Decimal("12.50"),
        "credit": Decimal("0.10"),
        "big": Decimal("12345678901234567.89"),
        "count": 3,
    }
    assert dumps(body) == b'{"debit":12.50,"credit":0.10,"big":12345678901234567.89,"count":3}'


def test_dumps_as_cents_rounds_half_to_even():
    assert (
        dumps([Decimal("0.125"), Decimal("0.135"), Decimal("1E+2")], as_cents=True)
        == b"[0.12,0.14,100.00]"
    )


def test_loads_reads_fractions_as_decimal_never_float():
    data = loads(b'{"amount": 0.1, "big": 12345678901234567.89, "count": 3}')
    assert data == {"amount": Decimal("0.1"), "big": Decimal("12345678901234567.89"), "count": 3}
    assert type(data["amount"]) is Decimal and type(data["count"]) is int


def test_a_round_trip_keeps_every_digit():
    amounts = [Decimal("0.10"), Decimal("-1234.56"), Decimal("99999999999999999.99")]
    assert loads(dumps(amounts)) == amounts
    assert [str(a) for a in loads(dumps(amounts))] == ["0.10", "-1234.56", "99999999999999999.99"]


def test_dumps_refuses_what_it_cannot_write_exactly():
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"when": object()})
