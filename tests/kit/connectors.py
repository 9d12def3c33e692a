"""Helpers the connector tests share: an ErpHttp that records instead of sleeping, and the
lines of the sample sales journal they post."""

from __future__ import annotations

from decimal import Decimal

from posting.connectors.contract import Line
from posting.http import ErpHttp, Exchange

D = Decimal


class Recorded:
    """An ErpHttp for `erp` that keeps every exchange (`audit`) and every wait it asked for
    (`sleeps`) without waiting."""

    def __init__(self, erp: str):
        self.audit: list[Exchange] = []
        self.sleeps: list[float] = []
        self.http = ErpHttp(erp, sink=self.audit.append, sleep=self.sleeps.append)


def sales_lines(location: str = "BKN") -> tuple[Line, ...]:
    """A balanced day of sales at `location`: cash and card against food, liquor and tax."""
    return (
        Line(1, "1010", D("1234.50"), D("0"), "Cash takings", location, None),
        Line(2, "1110", D("800.05"), D("0"), "Card settlements", location, None),
        Line(3, "4000", D("0"), D("1700.00"), "Food sales", location, "DINING"),
        Line(4, "4020", D("0"), D("200.30"), "Liquor sales", location, "BAR"),
        Line(5, "2200", D("0"), D("134.25"), "State sales tax", location, None),
    )
