"""GLS840MI's PARM: one fixed-position record per line, cut into fields by the interface
definition's layout (field, 1-based start, length)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

AMOUNT = re.compile(r"^[+-]\d+\.\d{2}$")


class ParmError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def cut(parm: str, layout: list[list]) -> dict[str, str]:
    """The layout's fields of one PARM, blanks trimmed."""
    return {name: parm[start - 1 : start - 1 + length].strip() for name, start, length in layout}


def amount(text: str) -> Decimal:
    """CUAM: a leading sign, zero-padded digits and exactly two decimals."""
    if not AMOUNT.match(text):
        raise ParmError("CUAM", f"Amount '{text}' is not a signed amount with 2 decimals")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ParmError("CUAM", f"Amount '{text}' is invalid") from None


def accounting_date(text: str) -> str:
    try:
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise ParmError("ACDT", f"Accounting date '{text}' is invalid (YYYYMMDD)") from None
    return text
