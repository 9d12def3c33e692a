"""Applying events and edits to an order: payments, voids, refunds, late tips and the
hand-applied edits of `ToastDataset.apply_edit`."""

from __future__ import annotations

import random
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from sandboxes.toast.ids import (
    derived_bits,
    derived_guid,
    derived_int,
    format_uuid4,
    mix_bits,
    toast_time,
)
from sandboxes.toast.orders.days import LATE_KINDS, LATE_TIP, NORMAL
from sandboxes.toast.orders.model import (
    HUNDRED,
    ONE,
    ZERO,
    Charge,
    Check,
    Order,
    Pay,
    Sel,
    Tender,
    cents,
)
from sandboxes.toast.orders.pricing import price_check

EDIT_KINDS = frozenset({"void_order", "void_selection", "add_tip", "refund", "pay_open_check"})


class NotApplicable(Exception):
    """An edit that has nothing to act on in the order's current state."""


def materialize(o: Order, as_of_ms: int, applied: list[tuple[int, int, str]]) -> int:
    """Apply every event visible at as_of; returns the order's modifiedDate (epoch ms)."""
    timeline: list[tuple[int, int, str, int]] = []
    modified = o.opened
    o.in_progress = as_of_ms < o.settled
    halfway = o.opened + (o.settled - o.opened) // 2
    if o.in_progress and o.processing and o.code == NORMAL and halfway <= as_of_ms:
        # The card went through at halfway and is still PROCESSING; at the settle time the
        # whole timeline is replayed and it is CAPTURED. (modifiedDate stays at the opening,
        # as for any order in progress here, so the loader reads it again once settled.)
        for p in _pay(o, o.checks[0], halfway, o.bd, o.checks[0].tenders):
            p.status = "PROCESSING"
        o.checks[0].closed = None
    if o.settled <= as_of_ms:
        timeline.extend(o.events)
        modified = o.settled
        if o.late_ms and o.late_ms <= as_of_ms:
            timeline.append((o.late_ms, 1000, "late:" + LATE_KINDS[o.code], 0))
            modified = o.late_ms
    for at, seq, kind in applied:
        if at <= as_of_ms:
            timeline.append((at, 2000 + seq, "late:" + kind, 0))
            modified = max(modified, at)
    timeline.sort()
    for at, _, kind, k in timeline:
        try:
            _apply(o, kind, at, k)
        except NotApplicable:
            pass  # a generated or stored edit that no longer has a target: nothing happens
    return modified


def _apply(o: Order, kind: str, at: int, k: int) -> None:
    if kind.startswith("late:"):
        apply_edit(o, kind[5:], at)
    elif kind == "pay":
        _pay(o, o.checks[k], at, o.bd, o.checks[k].tenders)
    elif kind == "void_order":
        _void_order(o, at, o.bd)
    elif kind == "delete":
        o.deleted, o.deleted_ms = True, at
        for c in o.checks:
            c.deleted, c.modified = True, at
    elif kind == "void_check":
        _void_check(o, o.checks[k], at, o.bd)
    elif kind == "void_sel":
        _void_one_selection(o, o.checks[k], at, o.bd)
    elif kind == "replace_payment":
        _replace_payments(o, o.checks[k], at, o.bd, switch_tender=True)
    elif kind == "refund":
        _refund(o, at, o.bd, full=o.idx % 3 == 0)
    elif kind == "error_pay":
        _error_payment(o, o.checks[k], at, o.bd)


def _error_payment(o: Order, c: Check, at: int, bd: int) -> None:
    """A card payment that ended in ERROR: it moved no money; the check is paid later."""
    if c.voided or c.deleted or c.active_payments() or not c.tenders:
        return
    total = price_check(o, c).total
    if total <= 0:
        return
    tender = Tender(
        "CREDIT",
        mix_bits(c.spare_bits, 0xE4),
        card="VISA",
        last4=f"{mix_bits(c.spare_bits, 0xE5) % 10_000:04d}",
        entry="CONTACTLESS",
    )
    failed = Pay(mix_bits(c.spare_bits, 0xE6), tender, total, ZERO, at, bd)
    failed.status = "ERROR"
    c.payments.append(failed)
    c.modified = at


def apply_edit(o: Order, kind: str, at: int) -> None:
    """A late edit with Toast-like targeting; raises NotApplicable if it has no target."""
    if at < o.opened:
        raise NotApplicable(f"the order was opened after {toast_time(at)}")
    bd = o.bd if at < _day_end(o) else o.ctx.clock.business_date(at)
    rng = random.Random(derived_int(o.guid, kind, at))
    if kind == "void_order":
        _void_order(o, at, bd)
    elif kind == "void_selection":
        _late_void_selection(o, at, bd)
    elif kind == "add_tip":
        _add_tip(o, at, bd, rng)
    elif kind == "refund":
        _refund(o, at, bd, full=rng.random() < 0.4)
    elif kind == "pay_open_check":
        _pay_open_check(o, at, bd)
    else:
        raise ValueError(f"unknown edit kind {kind!r}; one of {', '.join(sorted(EDIT_KINDS))}")


def _day_end(o: Order) -> int:
    return o.ctx.clock.bounds(o.bd)[1]


def _pay(
    o: Order, c: Check, at: int, bd: int, tenders: list[Tender], pay_time_charges: bool = True
) -> list[Pay]:
    if c.voided or c.deleted or o.voided or o.deleted or c.active_payments():
        return []
    cat = o.ctx.catalog
    sc = cat.service_charges
    first_bits = tenders[0].bits if not c.payments else mix_bits(c.spare_bits, 16 + len(c.payments))
    if pay_time_charges and not o.excess:
        if c.roundup and not any(ch.sc is sc["fundraising"] for ch in c.charges):
            total = price_check(o, c).total
            gap = total.to_integral_value(ROUND_CEILING) - total
            c.charges.append(
                Charge(mix_bits(c.spare_bits, 1), sc["fundraising"], gap or Decimal("1.00"))
            )
        if c.surcharge and len(tenders) == 1 and tenders[0].type == "CREDIT":
            c.charges.append(
                Charge(
                    mix_bits(c.spare_bits, 2),
                    sc["cc_surcharge"],
                    payment_guid=format_uuid4(first_bits),
                )
            )
    total = price_check(o, c).total
    if pay_time_charges and c.cash_round and len(tenders) == 1 and tenders[0].type == "CASH":
        gap = (total * 20).quantize(ONE, ROUND_HALF_UP) / 20 - total
        if gap:
            c.charges.append(
                Charge(
                    mix_bits(c.spare_bits, 3),
                    sc["cash_rounding"],
                    cents(gap),
                    payment_guid=format_uuid4(first_bits),
                )
            )
            total = price_check(o, c).total
    c.modified = at
    if total <= 0:
        c.closed = at
        return []
    amounts = _split(total, tenders)
    made = []
    for n, (tender, amount) in enumerate(amounts):
        bits = first_bits if n == 0 else mix_bits(tender.bits, 32 + len(c.payments))
        tip = cents(amount * tender.tip_pct) if tender.tip_pct else ZERO
        pay = Pay(bits, tender, amount, tip, at, bd)
        if o.code == LATE_TIP and tender.type == "CREDIT" and not tip and c is o.checks[0]:
            pay.status = "AUTHORIZED"  # approved; captured once the tip is adjusted
        made.append(pay)
    c.payments.extend(made)
    c.closed = at
    return made


def _split(total: Decimal, tenders: list[Tender]) -> list[tuple[Tender, Decimal]]:
    """A split tender pays its fixed first part (a gift card, some cash), the card the rest."""
    first = tenders[0]
    if len(tenders) == 1 or first.fixed is None or total <= first.fixed:
        return [(first, total)]
    return [(first, first.fixed), (tenders[1], total - first.fixed)]


def _void_payment(p: Pay, at: int, bd: int) -> None:
    p.void_ms, p.void_bd, p.modified = at, bd, at


def _void_order(o: Order, at: int, bd: int) -> None:
    if o.voided or o.deleted:
        raise NotApplicable("the order is already voided or deleted")
    o.voided, o.void_ms, o.void_bd = True, at, bd
    for c in o.checks:
        if not c.voided:
            _void_check(o, c, at, bd)


def _void_check(o: Order, c: Check, at: int, bd: int) -> None:
    c.voided, c.void_ms, c.void_bd, c.modified, c.closed = True, at, bd, at, at
    c.charges = []  # nothing left to charge on: Toast drops them with the items
    for s in c.sels:
        if s.void_ms is None:
            _void_sel(o, s, at, bd)
    for p in c.active_payments():
        _void_payment(p, at, bd)


def _void_sel(o: Order, s: Sel, at: int, bd: int) -> None:
    reasons = o.ctx.catalog.void_reasons
    s.void_ms, s.void_bd, s.modified = at, bd, at
    s.void_reason = reasons[s.bits % len(reasons)]


def _eligible_sels(c: Check) -> list[Sel]:
    return [s for s in c.sels if s.void_ms is None and s.refund is None and s.kind == "NONE"]


def _void_one_selection(o: Order, c: Check, at: int, bd: int) -> None:
    sels = _eligible_sels(c)
    if c.voided or c.deleted or len(sels) < 2:
        raise NotApplicable("no selection to void")
    _void_sel(o, sels[-1], at, bd)
    c.modified = at


def _late_void_selection(o: Order, at: int, bd: int) -> None:
    """Void an item on a (possibly closed) check: the payment is voided and re-run for the new
    total, as a server does when re-opening a paid check to remove an item."""
    if o.voided or o.deleted:
        raise NotApplicable("the order is voided or deleted")
    candidates = [c for c in o.live_checks() if _eligible_sels(c)]
    if not candidates:
        raise NotApplicable("no selection left to void")
    c = max(candidates, key=lambda ch: (len(_eligible_sels(ch)) >= 2, -o.checks.index(ch)))
    _void_sel(o, _eligible_sels(c)[-1], at, bd)
    c.modified = at
    if c.active_payments():
        _replace_payments(o, c, at, bd, switch_tender=False)


def _replace_payments(o: Order, c: Check, at: int, bd: int, switch_tender: bool) -> None:
    old = c.active_payments()
    if not old:
        raise NotApplicable("no payment to void")
    for p in old:
        _void_payment(p, at, bd)
    for ch in c.charges:
        if ch.sc.category == "CASH_ROUNDING":
            ch.open_amount = ZERO
    total = price_check(o, c).total
    remaining = total
    for n, p in enumerate(old):
        tender = p.tender
        if switch_tender:  # e.g. the card was declined after all: cash or another card
            tender = Tender(
                "CASH" if tender.type == "CREDIT" else "CREDIT",
                mix_bits(tender.bits, 7),
                card="VISA" if tender.type != "CREDIT" else None,
                last4="4242" if tender.type != "CREDIT" else None,
                entry="CONTACTLESS" if tender.type != "CREDIT" else None,
            )
        amount = remaining if n == len(old) - 1 else min(p.amount, remaining)
        if amount <= 0:
            continue
        replacement = Pay(mix_bits(p.bits, 0x5A5A), tender, amount, p.tip, at, bd)
        c.payments.append(replacement)
        remaining -= amount
        for ch in c.charges:
            if ch.payment_guid == p.guid:
                ch.payment_guid = replacement.guid
    c.modified = c.closed = at


def _refund(o: Order, at: int, bd: int, full: bool) -> None:
    candidates = [c for c in o.live_checks() if any(p.refund is None for p in c.active_payments())]
    if o.voided or not candidates:
        raise NotApplicable("no payment to refund")
    c = max(candidates, key=lambda ch: (price_check(o, ch).total, -o.checks.index(ch)))
    active = c.active_payments()
    pay = max((p for p in active if p.refund is None), key=lambda p: p.amount)
    txn = {"guid": derived_guid(o.guid, "refund", at), "entityType": "RefundTransaction"}
    if full and len(active) == 1:
        for s in c.sels:
            if s.void_ms is None and s.refund is None:
                s.refund, s.modified = (s.price, s.tax, txn), at
        for ch in c.charges:
            if ch.refund is None:
                ch.refund = (ch.amount, sum((t for _, t in ch.tax_lines), ZERO), txn)
        amount, tip = pay.amount, pay.tip
    else:
        fitting = [s for s in _eligible_sels(c) if ZERO < s.price + s.tax <= pay.amount]
        if not fitting:
            raise NotApplicable("no item fits the payment to refund")
        s = max(fitting, key=lambda sel: sel.price + sel.tax)
        s.refund, s.modified = (s.price, s.tax, txn), at
        amount, tip = s.price + s.tax, ZERO
    pay.refund = {
        "refundAmount": amount,
        "tipRefundAmount": tip,
        "refundDate": toast_time(at),
        "refundBusinessDate": bd,
        "refundTransaction": txn,
    }
    pay.refund_status = "FULL" if amount == pay.amount and tip == pay.tip else "PARTIAL"
    pay.modified = c.modified = at


def _add_tip(o: Order, at: int, bd: int, rng: random.Random) -> None:
    if o.voided:
        raise NotApplicable("the order is voided")
    payments = [p for c in o.live_checks() for p in c.active_payments() if p.refund is None]
    if payments:
        pay = next((p for p in payments if p.tender.type == "CREDIT"), payments[0])
        if pay.tip:
            pay.tip += cents(Decimal(rng.randrange(100, 500)) / HUNDRED)
        else:
            rate = Decimal(rng.randrange(15, 26)) / HUNDRED
            pay.tip = max(Decimal("1.00"), cents(pay.amount * rate))
        pay.modified, pay.status = at, "CAPTURED"
        owner = next(c for c in o.checks if pay in c.payments)
        owner.modified = owner.closed = at
        return
    tender = Tender(
        "CREDIT",
        derived_bits(o.guid, "tip-tender", at),
        card="VISA",
        last4=f"{rng.randrange(10_000):04d}",
        entry="KEYED",
        tip_pct=Decimal(rng.randrange(15, 26)) / HUNDRED,
    )
    for c in o.live_checks():
        if _pay(o, c, at, bd, [tender], pay_time_charges=False):
            return
    live = o.live_checks() or [c for c in o.checks if not c.voided]  # deleted: still tippable
    if not live:
        raise NotApplicable("no check to tip on")
    # Nothing is due (comped or excess food): a tip-only card payment, as Toast allows.
    tip = Pay(tender.bits, tender, ZERO, cents(Decimal(rng.randrange(200, 1000)) / HUNDRED), at, bd)
    live[0].payments.append(tip)
    live[0].modified = live[0].closed = at


def _pay_open_check(o: Order, at: int, bd: int) -> None:
    for c in o.live_checks():
        if not c.active_payments() and price_check(o, c).total > 0 and not o.voided:
            _pay(o, c, at, bd, c.tenders, pay_time_charges=False)
            return
    raise NotApplicable("no open check to pay")
