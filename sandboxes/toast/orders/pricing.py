"""Pricing with Toast's formulas, in Decimal: items, modifiers, discounts spread over a
check, inclusive and exclusive taxes, service charges and rounding."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

from sandboxes.toast.catalog import TaxRate
from sandboxes.toast.orders.model import CENT, HUNDRED, ONE, ZERO, Check, Order, Sel, cents

ROUNDINGS = {
    "HALF_UP": ROUND_HALF_UP,
    "HALF_EVEN": ROUND_HALF_EVEN,
    "ALWAYS_UP": ROUND_UP,
    "ALWAYS_DOWN": ROUND_DOWN,
}


def price_check(o: Order, c: Check) -> Check:
    """Recompute every amount on the check from its current state.

    selection: preDiscountPrice = (receiptLinePrice + modifiers) x quantity (tax removed when the
    price includes tax); price = preDiscountPrice - nonTaxDiscountAmount of its own discounts and
    of its share of check-level discounts; tax = sum(appliedTaxes).
    check: amount = sum(price) + non-gratuity service charges; taxAmount = sum(item tax) +
    service charge tax; totalAmount = amount + taxAmount + gratuity service charges.
    """
    for s in c.sels:
        _price_item(s)
    live = [s for s in c.sels if s.void_ms is None]
    c.disc_amt = c.disc_nt = ZERO
    eligible = [s for s in live if s.kind == "NONE" and s.basis > 0] if c.disc else []
    if eligible:
        _spread_check_discount(c, eligible)
    for s in c.sels:
        _finish_item(s)
    if eligible:
        c.disc_nt = sum((s.share_nt for s in eligible), ZERO)
    regular = [s for s in live if s.kind == "NONE"]
    sub_pre = sum((s.pre for s in regular), ZERO)
    sub_post = sum((s.price for s in regular), ZERO)
    non_gratuity = gratuity = charge_tax = ZERO
    taxes = o.ctx.catalog.tax_rates
    for ch in c.charges:
        sc = ch.sc
        if sc.amount_type == "PERCENT":
            base = sub_pre if sc.calculation == "PRE_DISCOUNT" else sub_post
            ch.amount = cents(base * sc.percent / HUNDRED)
        elif sc.amount_type == "FIXED":
            ch.amount = sc.amount
        else:
            ch.amount = ch.open_amount
        ch.tax_lines = (
            [
                (t, (ch.amount * t.rate).quantize(CENT, ROUNDINGS[t.rounding]))
                for t in (taxes["state"], taxes["local"])
            ]
            if sc.taxable
            else []
        )
        charge_tax += sum((amount for _, amount in ch.tax_lines), ZERO)
        if sc.gratuity:
            gratuity += ch.amount
        else:
            non_gratuity += ch.amount
    c.amount = sum((s.price for s in live), ZERO) + non_gratuity
    c.tax = sum((s.tax for s in live), ZERO) + charge_tax
    c.total = c.amount + c.tax + gratuity
    return c


def _price_item(s: Sel) -> None:
    gross = s.unit
    for _, option in s.mods:
        gross += option.price
    gross *= s.qty
    s.gross = gross
    s.pre = cents(gross / (ONE + s.rate_sum)) if s.inclusive else gross
    d = s.disc
    if d is None:
        s.d_amt = ZERO
    elif d.type == "PERCENT":
        s.d_amt = cents(gross * d.percent / HUNDRED)
    else:
        s.d_amt = min(d.amount, gross)
    s.basis = gross - s.d_amt
    s.share = s.share_nt = ZERO


def _spread_check_discount(c: Check, eligible: list[Sel]) -> None:
    """A check-level discount is shared over the items by their value; remainder on the largest."""
    base = sum((s.basis for s in eligible), ZERO)
    d = c.disc
    total = cents(base * d.percent / HUNDRED) if d.type == "PERCENT" else min(d.amount, base)
    largest = max(eligible, key=lambda s: s.basis)
    given = ZERO
    for s in eligible:
        s.share = cents(total * s.basis / base)
        given += s.share
    largest.share += total - given
    c.disc_amt = total


def _finish_item(s: Sel) -> None:
    if s.inclusive:
        divisor = ONE + s.rate_sum
        after_item = cents((s.gross - s.d_amt) / divisor)
        net = s.gross - s.d_amt - s.share
        s.price = cents(net / divisor)
        s.d_nt = s.pre - after_item
        s.share_nt = after_item - s.price
        s.tax_lines = _split_tax(net - s.price, s.taxes, s.rate_sum)
    else:
        s.d_nt, s.share_nt = s.d_amt, s.share
        s.price = s.pre - s.d_amt - s.share
        if s.external:
            s.tax_lines = [(None, cents(s.price * s.rate_sum))]
        else:
            s.tax_lines = [
                (t, (s.price * t.rate).quantize(CENT, ROUNDINGS[t.rounding])) for t in s.taxes
            ]
    s.tax = sum((amount for _, amount in s.tax_lines), ZERO)


def _split_tax(total: Decimal, taxes: tuple[TaxRate, ...], rate_sum: Decimal) -> list:
    """Tax included in a price, shared over the rates in proportion; remainder on the largest."""
    if not taxes or not rate_sum:
        return [(t, ZERO) for t in taxes]
    lines = [[t, cents(total * t.rate / rate_sum)] for t in taxes]
    largest = max(lines, key=lambda line: line[0].rate)
    largest[1] += total - sum((line[1] for line in lines), ZERO)
    return [tuple(line) for line in lines]
