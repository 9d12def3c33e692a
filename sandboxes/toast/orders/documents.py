"""Order documents in the shape Toast's ordersBulk returns them."""

from __future__ import annotations

from decimal import Decimal

from sandboxes.toast.catalog import Discount, TaxRate
from sandboxes.toast.ids import MINUTE, format_uuid4, mix_bits, toast_time
from sandboxes.toast.orders.model import ZERO, Charge, Check, Mod, Order, Pay, Sel, cents
from sandboxes.toast.orders.pricing import price_check

NOT_DELETED = toast_time(0)  # Toast's placeholder deletedDate for orders that are not deleted


def document(o: Order, modified: int) -> dict:
    for c in o.checks:
        price_check(o, c)
    checks = [_check_doc(o, c) for c in o.checks]
    paid = [p.paid_ms for c in o.checks for p in c.payments if p.active]
    closed = [c.closed for c in o.checks]
    all_closed = all(x is not None for x in closed) and bool(closed)
    device = {"id": _device(o)}
    behavior = o.dining.behavior
    template = o.ctx.catalog.template
    approval = (o.approval if o.in_progress else None) or "APPROVED"
    doc = {
        "guid": o.guid,
        "entityType": "Order",
        "externalId": None,
        "displayNumber": str(o.idx + 1),
        "source": o.source,
        "businessDate": o.bd,
        "openedDate": toast_time(o.opened),
        "createdDate": toast_time(o.opened),
        "modifiedDate": toast_time(modified),
        "closedDate": toast_time(max(closed)) if all_closed else None,
        "paidDate": toast_time(max(paid)) if paid else None,
        "promisedDate": toast_time(o.promised) if o.promised else None,
        "estimatedFulfillmentDate": toast_time(o.promised or o.opened + 25 * MINUTE)
        if behavior != "DINE_IN"
        else None,
        "duration": (max(paid) - o.opened) // 1000 if paid else None,
        "revenueCenter": o.rc.doc() if o.rc else None,
        "diningOption": o.dining.ref.doc(),
        "restaurantService": None if o.marketplace else o.service.doc(),
        "serviceArea": None,
        "table": None,
        "server": None if o.marketplace else o.server.doc(),
        "numberOfGuests": o.guests,
        "approvalStatus": approval,
        "voided": o.voided,
        "voidDate": toast_time(o.void_ms) if o.void_ms else None,
        "voidBusinessDate": o.void_bd,
        "deleted": o.deleted,
        "deletedDate": toast_time(o.deleted_ms) if o.deleted else _not_deleted(o),
        "excessFood": o.excess,
        "deliveryInfo": dict(o.delivery) if o.delivery else None,
        "curbsidePickupInfo": dict(o.curbside) if o.curbside else None,
        "requiredPrepTime": o.prep,
        "appliedPackagingInfo": None,
        "pricingFeatures": ["TAXESV2"],
        "createdInTestMode": False,
        "channelGuid": None,
        "createdDevice": device,
        "lastModifiedDevice": dict(device),
        "checks": checks,
    }
    if approval != "APPROVED":  # not fired in the kitchen yet
        for check in checks:
            for selection in check["selections"]:
                selection["fulfillmentStatus"] = "NEW"
    return _whole_as_integers(doc) if template.whole_as_integer else doc


def _device(o: Order) -> str | None:
    """Orders placed online or through a partner come from no Toast device."""
    return None if o.source in ("Online", "API") else o.device


def _not_deleted(o: Order) -> str | None:
    return None if o.ctx.catalog.template.null_deleted_date else NOT_DELETED


def _whole_as_integers(doc: dict) -> dict:
    """Whole amounts as JSON integers, as some Toast answers write them (3, 0). Only the places
    that hold money are visited: a walk of the whole document costs more than the order."""
    for c in doc["checks"]:
        _ints(c, _CHECK_AMOUNTS)
        for d in c["appliedDiscounts"]:
            _ints(d, _DISCOUNT_AMOUNTS)
        for ch in c["appliedServiceCharges"]:
            _ints(ch, _CHARGE_AMOUNTS)
            _tax_ints(ch["appliedTaxes"])
            _ints(ch["refundDetails"], _REFUND_AMOUNTS)
        for sel in c["selections"]:
            _selection_ints(sel)
        for p in c["payments"]:
            _ints(p, _PAYMENT_AMOUNTS)
            _ints(p["refund"], _REFUND_AMOUNTS)
    return doc


_CHECK_AMOUNTS = ("amount", "taxAmount", "totalAmount")
_DISCOUNT_AMOUNTS = ("discountAmount", "nonTaxDiscountAmount")
_CHARGE_AMOUNTS = ("chargeAmount",)
_SELECTION_AMOUNTS = ("receiptLinePrice", "preDiscountPrice", "price", "tax")
_PAYMENT_AMOUNTS = ("amount", "tipAmount", "amountTendered")
_REFUND_AMOUNTS = ("refundAmount", "taxRefundAmount", "tipRefundAmount")


def _selection_ints(sel: dict) -> None:
    _ints(sel, _SELECTION_AMOUNTS)
    _tax_ints(sel["appliedTaxes"])
    for d in sel["appliedDiscounts"]:
        _ints(d, _DISCOUNT_AMOUNTS)
    _ints(sel["refundDetails"], _REFUND_AMOUNTS)
    for m in sel["modifiers"]:
        _selection_ints(m)


def _tax_ints(taxes: list) -> None:
    for t in taxes:
        _ints(t, ("taxAmount",))


def _ints(part: dict | None, keys: tuple[str, ...]) -> None:
    if not part:
        return
    for key in keys:
        value = part.get(key)
        if value.__class__ is Decimal and not value % 1:
            part[key] = Decimal(int(value))


def _check_doc(o: Order, c: Check) -> dict:
    active = [p for p in c.payments if p.active]
    due = c.total - sum((p.amount for p in active), ZERO)
    status = "CLOSED" if c.closed is not None and due <= 0 else "OPEN"
    paid = max((p.paid_ms for p in active), default=None)
    return {
        "guid": c.guid,
        "entityType": "Check",
        "externalId": None,
        "displayNumber": c.number,
        "tabName": c.tab,
        "openedDate": toast_time(o.opened),
        "createdDate": toast_time(o.opened),
        "modifiedDate": toast_time(c.modified),
        "closedDate": toast_time(c.closed) if status == "CLOSED" else None,
        "paidDate": toast_time(paid) if paid else None,
        "deleted": c.deleted,
        "deletedDate": toast_time(o.deleted_ms) if c.deleted else _not_deleted(o),
        "voided": c.voided,
        "voidDate": toast_time(c.void_ms) if c.void_ms else None,
        "voidBusinessDate": c.void_bd,
        "taxExempt": False,
        "paymentStatus": status,
        "amount": c.amount,
        "taxAmount": c.tax,
        # Some locations' checks count the tips in totalAmount (Toast's examples do both).
        "totalAmount": c.total + sum((p.tip for p in active), ZERO)
        if o.ctx.catalog.template.tips_in_total
        else c.total,
        "duration": (paid - o.opened) // 1000 if paid else None,
        "appliedDiscounts": [_check_discount_doc(c)] if c.disc and c.disc_amt else [],
        "appliedServiceCharges": [_charge_doc(o, ch) for ch in c.charges],
        "selections": [_selection_doc(o, s) for s in c.sels],
        "payments": [_payment_doc(o, c, p) for p in c.payments],
        "customer": dict(c.customer) if c.customer else None,
        "appliedLoyaltyInfo": None,
        "openedBy": o.server.doc(),
        "createdDevice": {"id": _device(o)},
        "lastModifiedDevice": {"id": _device(o)},
    }


def _discount_doc(bits: int, d: Discount, amount: Decimal, non_tax: Decimal) -> dict:
    return {
        "guid": format_uuid4(mix_bits(bits, 0xD15C0)),
        "entityType": "AppliedCustomDiscount",
        "externalId": None,
        "name": d.name,
        "discount": {"guid": d.ref.guid, "entityType": "Discount"},
        "discountType": d.type,
        "discountPercent": d.percent,
        "discountAmount": amount,
        "nonTaxDiscountAmount": non_tax,
        "triggers": [],
        "comboItems": [],
        "approver": None,
        "processingState": None,
        "appliedDiscountReason": None,
        "loyaltyDetails": None,
        "appliedPromoCode": None,
    }


def _check_discount_doc(c: Check) -> dict:
    return _discount_doc(c.disc_bits, c.disc, c.disc_amt, c.disc_nt)


def _tax_doc(
    o: Order, owner_bits: int, n: int, tax: TaxRate | None, amount: Decimal, facilitator: bool
) -> dict:
    if tax is None:  # the marketplace partner computed it (Toast type EXTERNAL)
        tax = o.ctx.catalog.tax_rates["marketplace"]
        rate, kind, name = None, "EXTERNAL", tax.name
    else:
        rate, kind, name = tax.rate, tax.type, tax.name
    doc = {
        "guid": format_uuid4(mix_bits(owner_bits, 0x7A0 + n)),
        "entityType": "AppliedTaxRate",
        "taxRate": {"guid": tax.ref.guid, "entityType": "TaxRate"},
        "name": name,
        "displayName": name,
        "rate": rate,
        "taxAmount": amount,
        "type": kind,
        "facilitatorCollectAndRemitTax": facilitator,
        "jurisdiction": o.ctx.catalog.template.state,
        "jurisdictionType": "CITY" if tax.key == "local" else "STATE",
    }
    if o.ctx.catalog.template.unkeyed_applied_taxes:
        del doc["guid"]  # the spec requires it; Toast's own example orders leave it out
    return doc


def _selection_doc(o: Order, s: Sel) -> dict:
    item = s.item
    void = s.void_ms is not None
    dining = o.dining.ref.doc()
    modified = toast_time(s.modified)
    created = toast_time(o.opened)
    doc = {
        "guid": s.guid,
        "entityType": "MenuItemSelection",
        "externalId": None,
        "item": (item.ref if item else o.ctx.catalog.special_items[s.kind]).doc(),
        "itemGroup": item.group.doc() if item else None,
        "optionGroup": None,
        "preModifier": None,
        "displayName": s.name,
        "selectionType": s.kind,
        "salesCategory": item.sales_category.doc() if item else None,
        "plu": item.plu if item else None,
        "quantity": s.qty,
        "unitOfMeasure": item.unit_of_measure if item else "NONE",
        "seatNumber": s.seat,
        "receiptLinePrice": s.unit,
        "preDiscountPrice": s.pre,
        "price": s.price,
        "tax": s.tax,
        "taxInclusion": "INCLUDED" if s.inclusive else "NOT_INCLUDED",
        "appliedTaxes": [
            _tax_doc(o, s.bits, n, t, amount, s.facilitator)
            for n, (t, amount) in enumerate(s.tax_lines)
        ],
        "appliedDiscounts": [_discount_doc(s.bits, s.disc, s.d_amt, s.d_nt)] if s.disc else [],
        "deferred": s.kind in ("TOAST_CARD_SELL", "TOAST_CARD_RELOAD"),
        "voided": void,
        "voidDate": toast_time(s.void_ms) if void else None,
        "voidBusinessDate": s.void_bd,
        "voidReason": s.void_reason.doc() if s.void_reason else None,
        "refundDetails": _refund_details(s.refund),
        "fulfillmentStatus": "SENT",
        "optionGroupPricingMode": None,
        "diningOption": dining,
        "createdDate": created,
        "modifiedDate": modified,
        "splitOrigin": None,
        "modifiers": [],
    }
    if s.mods:
        doc["modifiers"] = [_modifier_doc(o, s, m, dining, created, modified, void) for m in s.mods]
    return doc


def _modifier_doc(
    o: Order, parent: Sel, m: Mod, dining: dict, created: str, modified: str, void: bool
) -> dict:
    """A modifier: its price (with its own modifiers') is already inside the parent's
    preDiscountPrice and price, and its tax (taxes of its own, if any) inside the parent's tax."""
    option = m.option
    return {
        "guid": m.guid,
        "entityType": "MenuItemSelection",
        "externalId": None,
        "item": option.ref.doc(),
        "itemGroup": None,
        "optionGroup": option.option_group.doc(),
        "preModifier": None,
        "displayName": option.name,
        "selectionType": "NONE",
        "salesCategory": option.sales_category.doc() if option.sales_category else None,
        "plu": None,
        "quantity": parent.qty,
        "unitOfMeasure": "NONE",
        "seatNumber": parent.seat,
        "receiptLinePrice": option.price,
        "preDiscountPrice": m.price,
        "price": m.price,
        "tax": m.tax,
        "taxInclusion": "NOT_INCLUDED" if option.taxes else "INHERITED",
        "appliedTaxes": [
            _tax_doc(o, int(m.guid.replace("-", ""), 16), n, t, amount, False)
            for n, (t, amount) in enumerate(m.tax_lines)
        ],
        "appliedDiscounts": [],
        "deferred": False,
        "voided": void,
        "voidDate": toast_time(parent.void_ms) if void else None,
        "voidBusinessDate": parent.void_bd,
        "voidReason": None,
        "refundDetails": None,
        "fulfillmentStatus": "SENT",
        "optionGroupPricingMode": "ADJUSTS_PRICE",
        "diningOption": dict(dining),
        "createdDate": created,
        "modifiedDate": modified,
        "splitOrigin": None,
        "modifiers": [
            _modifier_doc(o, parent, kid, dining, created, modified, void) for kid in m.kids
        ],
    }


def _refund_details(refund) -> dict | None:
    if refund is None:
        return None
    amount, tax, txn = refund
    return {"refundAmount": amount, "taxRefundAmount": tax, "refundTransaction": dict(txn)}


def _charge_doc(o: Order, ch: Charge) -> dict:
    sc = ch.sc
    return {
        "guid": format_uuid4(ch.bits),
        "entityType": "AppliedServiceCharge",
        "externalId": None,
        "serviceCharge": sc.ref.doc(),
        "name": sc.name,
        "chargeType": sc.amount_type,
        "chargeAmount": ch.amount,
        "serviceChargeCategory": sc.category,
        "serviceChargeCalculation": sc.calculation,
        "gratuity": sc.gratuity,
        "taxable": sc.taxable,
        "delivery": sc.delivery,
        "takeout": sc.takeout,
        "dineIn": sc.dine_in,
        "appliedTaxes": [
            _tax_doc(o, ch.bits, n, t, amount, False) for n, (t, amount) in enumerate(ch.tax_lines)
        ],
        "refundDetails": _refund_details(ch.refund),
        "paymentGuid": ch.payment_guid,
    }


def _payment_doc(o: Order, c: Check, p: Pay) -> dict:
    t = p.tender
    void = p.void_ms is not None
    manager = o.ctx.catalog.staff("manager")[0].ref
    return {
        "guid": p.guid,
        "entityType": "OrderPayment",
        "externalId": None,
        "type": t.type,
        "amount": p.amount,
        "tipAmount": p.tip,
        "amountTendered": p.tendered,
        "paidDate": toast_time(p.paid_ms),
        "paidBusinessDate": p.paid_bd,
        "cardType": t.card,
        "last4Digits": t.last4,
        "cardEntryMode": t.entry,
        "originalProcessingFee": cents(p.amount * Decimal("0.029") + Decimal("0.15"))
        if t.type == "CREDIT" and p.amount
        else None,
        "paymentStatus": "VOIDED" if void else p.status,
        "voidInfo": {
            "voidUser": o.server.doc(),
            "voidApprover": manager.doc(),
            "voidDate": toast_time(p.void_ms),
            "voidBusinessDate": p.void_bd,
            "voidReason": None,
        }
        if void
        else None,
        "refundStatus": p.refund_status,
        "refund": dict(p.refund, refundTransaction=dict(p.refund["refundTransaction"]))
        if p.refund
        else None,
        "otherPayment": t.other.doc() if t.other else None,
        "houseAccount": t.house.doc() if t.house else None,
        "cashDrawer": o.ctx.catalog.cash_drawer.doc() if t.type == "CASH" else None,
        "server": o.server.doc(),
        "mcaRepaymentAmount": None,
        "createdDevice": {"id": _device(o)},
        "lastModifiedDevice": {"id": _device(o)},
        "orderGuid": o.guid,
        "checkGuid": c.guid,
    }
