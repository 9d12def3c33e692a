"""Where each connector puts the idempotency key, so `existing` finds what an earlier run sent:
derived from the key alone (the same on every attempt and every run) and within the field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from posting.connectors.contract import Journal, Line
from posting.connectors.d365 import header_description, voucher
from posting.connectors.exact import line_description
from posting.connectors.infor import KEY1_LENGTH, amount_text, batch_key

KEY = "CO-20260115-6f1b2c3d-S0-a1b2c3d4e5"


def journal(
    key: str = KEY,
    *,
    kind: str = "original",
    location: str = "Hudson Yards",
    adjusts: str | None = None,
) -> Journal:
    return Journal(
        key=key,
        journal_id="g:2026-01-15:sales",
        restaurant_guid="g",
        location_name=location,
        company="HV-NY",
        business_date=date(2026, 1, 15),
        journal_type="sales",
        kind=kind,
        adjusts=adjusts,
        currency="USD",
        title=f"Toast sales journal [{key}]",
        lines=(Line(1, "1010", Decimal("1.00"), Decimal("0"), "Cash", None, None),),
    )


def test_d365_voucher_is_derived_from_the_key_and_fits_20_characters():
    assert voucher(journal()) == voucher(journal())
    assert voucher(journal()) != voucher(journal(KEY.replace("S0", "S1")))
    assert voucher(journal()).startswith("CO260115-") and len(voucher(journal())) <= 20


@pytest.mark.parametrize("location", ["Hudson Yards", "A Very Long Location Name " * 4, ""])
def test_d365_description_ends_with_the_key_and_fits_the_field(location):
    text = header_description(journal(location=location))
    assert text.endswith(" " + KEY) and len(text) <= 60


def test_d365_adjustment_description_names_the_original():
    text = header_description(journal(kind="adjustment", adjusts="HV-NY/00000007"))
    assert text == f"Adj of HV-NY/00000007 {KEY}"  # whole words only, while they fit


def test_exact_line_description_ends_with_the_key_within_60_characters():
    line = Line(1, "4000", Decimal("0"), Decimal("5.00"), "Food sales " * 10, None, None)
    text = line_description(journal(), line)
    assert text.endswith(" " + KEY) and len(text) == 60
    assert line_description(journal(kind="adjustment"), line).startswith("Adj Food sales")


def test_infor_batch_key_is_short_stable_and_distinct():
    keys = {batch_key(f"{KEY[:-1]}{n}") for n in range(50)}
    assert batch_key(KEY) == batch_key(KEY) and len(batch_key(KEY)) == KEY1_LENGTH
    assert len(keys) == 50 and all(k.startswith("CO") for k in keys)


def test_infor_amount_is_signed_zero_padded_cents():
    assert amount_text(Decimal("-1234.5"), 17) == "-0000000001234.50"
    assert amount_text(Decimal("0.125"), 8) == "+0000.12"
