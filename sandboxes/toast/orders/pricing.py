"""Pricing with Toast's formulas, in Decimal: items, modifiers, discounts spread over a
check, inclusive and exclusive taxes, service charges and rounding."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

from sandboxes.toast.catalog import TaxRate
from sandboxes.toast.orders.model import CENT, HUNDRED, ONE, ZERO, Check, Mod, Order, Sel, cents

SHARE = Decimal("0.000001")  # per-rate shares of a combined tax: sub-cent, as Toast sends them
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
    combined = o.ctx.catalog.template.combined_tax
    for s in c.sels:
        _price_item(s)
    live = [s for s in c.sels if s.void_ms is None]
    c.disc_amt = c.disc_nt = ZERO
    eligible = [s for s in live if s.kind == "NONE" and s.basis > 0] if c.disc else []
    if eligible:
        _spread_check_discount(c, eligible)
    for s in c.sels:
        _finish_item(s, combined)
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
    if isinstance(s.qty, Decimal):  # weighed: price is the line total, to the cent
        gross = cents(s.unit * s.qty)
    else:
        gross = s.unit
        for m in s.mods:
            for node in m.walk():
                gross += node.option.price
        gross *= s.qty
    s.gross = gross
    s.pre = cents(gross / (ONE + s.rate_sum)) if s.inclusive else gross
    d = s.disc
    if d is None:
        s.d_amt = ZERO
    elif d.type == "PERCENT":
        s.d_amt = cents(gross * d.percent / HUNDRED)
    elif d.type == "BOGO":  # the second one free: one unit, modifiers included
        s.d_amt = cents(gross / s.qty)
    elif d.type == "FIXED_TOTAL":  # a combo: the items come to the fixed total
        s.d_amt = max(gross - d.fixed_total * s.qty, ZERO)
    elif d.type == "OPEN_FIXED":  # the amount the server entered
        s.d_amt = min(s.open_disc, gross)
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


def _finish_item(s: Sel, combined: bool = False) -> None:
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
            # Modifiers with taxes of their own are taxed on their price (never discounted:
            # the generator keeps discounts off such selections); the item's rates tax the rest.
            own = ZERO
            for m in s.mods:
                own += _price_modifier(m, s.qty, combined)
            taxed = s.price - sum(
                (n.option.price for m in s.mods for n in m.walk() if n.option.taxes), ZERO
            ) * (s.qty if s.mods else ZERO)
            s.tax_lines = _exclusive_tax(taxed, s.qty, s.taxes, s.rate_sum, combined)
            # the per-rate shares add up to whole cents: written as cents, as Toast does
            s.tax = cents(sum((amount for _, amount in s.tax_lines), ZERO) + own)
            return
    s.tax = sum((amount for _, amount in s.tax_lines), ZERO)
    for m in s.mods:
        _price_modifier(m, s.qty, combined)


def _price_modifier(m: Mod, qty, combined: bool) -> Decimal:
    """A modifier's line (its price with its own modifiers') and tax (its own taxes and its
    modifiers'); returns the tax."""
    own = m.option.taxes
    m.price = sum((n.option.price for n in m.walk()), ZERO) * qty
    rate_sum = sum((t.rate for t in own if t.type == "PERCENT"), ZERO)
    m.tax_lines = _exclusive_tax(m.option.price * qty, qty, own, rate_sum, combined) if own else []
    m.tax = sum((amount for _, amount in m.tax_lines), ZERO)
    for kid in m.kids:
        m.tax += _price_modifier(kid, qty, combined)
    m.tax = cents(m.tax)
    return m.tax


def _exclusive_tax(base: Decimal, qty, taxes, rate_sum: Decimal, combined: bool) -> list:
    """Toast's tax on a price that excludes it. FIXED rates are an amount per unit. PERCENT rates
    are rounded one by one, or, at a location that taxes them together (`combined`), the total is
    rounded once and each rate gets its share at full precision: 9.99 at 0.75 % + 6.25 % is
    0.70, as 0.075 and 0.625 (Toast's apiOrderTypeDetails example)."""
    percent = [t for t in taxes if t.type == "PERCENT"]
    lines: dict = {}
    if combined and len(percent) > 1 and rate_sum:
        total = (base * rate_sum).quantize(CENT, ROUND_HALF_UP)
        shares = [
            [t, (total * t.rate / rate_sum).quantize(SHARE, ROUND_HALF_EVEN)] for t in percent
        ]
        largest = max(shares, key=lambda line: line[0].rate)
        largest[1] += total - sum((line[1] for line in shares), ZERO)
        lines = {t.key: _trim(amount) for t, amount in shares}
    else:
        lines = {t.key: (base * t.rate).quantize(CENT, ROUNDINGS[t.rounding]) for t in percent}
    return [
        (t, cents(t.rate * qty) if t.type == "FIXED" else lines[t.key])
        for t in taxes
        if t.type in ("FIXED", "PERCENT")
    ]


def _trim(amount: Decimal) -> Decimal:
    """Full precision without trailing zeros, and at least cents: 0.075000 -> 0.075, 0.7 -> 0.70."""
    amount = amount.normalize()
    return amount.quantize(CENT) if amount.as_tuple().exponent > -2 else amount


def _split_tax(total: Decimal, taxes: tuple[TaxRate, ...], rate_sum: Decimal) -> list:
    """Tax included in a price, shared over the rates in proportion; remainder on the largest."""
    if not taxes or not rate_sum:
        return [(t, ZERO) for t in taxes]
    lines = [[t, cents(total * t.rate / rate_sum)] for t in taxes]
    largest = max(lines, key=lambda line: line[0].rate)
    largest[1] += total - sum((line[1] for line in lines), ZERO)
    return [tuple(line) for line in lines]
