"""Money: Decimal only, rounded to cents at one place, written to JSON as its exact text.

Amounts arrive as DECIMAL(18,2) from the warehouse or as JSON text from an ERP, and leave as
JSON text; a float never holds one.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import orjson

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    """`amount` rounded to cents, half to even: the one place closeout rounds money in Python."""
    return amount.quantize(CENT, ROUND_HALF_EVEN)


def money_text(amount: Decimal) -> str:
    """Two-decimal text, e.g. Decimal('12.5') -> '12.50'."""
    return format(cents(amount), "f")


def exact_text(amount: Decimal) -> str:
    """The amount's own digits, never an exponent: Decimal('12.5') -> '12.5', '1E+2' -> '100'."""
    return format(amount, "f")


def _decimal_as_text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(exact_text(value).encode())
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _decimal_as_cents(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(money_text(value).encode())
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any, *, as_cents: bool = False) -> bytes:
    """JSON with each Decimal written as its exact text (12.50 stays 12.50), or, with
    `as_cents`, rounded to two places; never through a float."""
    return orjson.dumps(value, default=_decimal_as_cents if as_cents else _decimal_as_text)


def loads(text: str | bytes) -> Any:
    """JSON with every number that has a fraction read as a Decimal, never a float."""
    return json.loads(text, parse_float=Decimal)
