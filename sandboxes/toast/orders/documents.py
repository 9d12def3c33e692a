"""Order documents in the shape Toast's ordersBulk returns them."""

from __future__ import annotations

from decimal import Decimal

from sandboxes.toast.catalog import Discount, TaxRate
from sandboxes.toast.ids import MINUTE, format_uuid4, mix_bits, toast_time
from sandboxes.toast.orders.model import ZERO, Charge, Check, Order, Pay, Sel, cents
from sandboxes.toast.orders.pricing import price_check

NOT_DELETED = toast_time(0)  # Toast's placeholder deletedDate for orders that are not deleted


def document(o: Order, modified: int) -> dict:
    for c in o.checks:
        price_check(o, c)
    checks = [_check_doc(o, c) for c in o.checks]
    paid = [p.paid_ms for c in o.checks for p in c.payments if p.void_ms is None]
    closed = [c.closed for c in o.checks]
    all_closed = all(x is not None for x in closed) and bool(closed)
    device = {"id": o.device}
    behavior = o.dining.behavior
    return {
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
        "revenueCenter": o.rc.doc(),
        "diningOption": o.dining.ref.doc(),
        "restaurantService": o.service.doc(),
        "serviceArea": None,
        "table": None,
        "server": o.server.doc(),
        "numberOfGuests": o.guests,
        "approvalStatus": "APPROVED",
        "voided": o.voided,
        "voidDate": toast_time(o.void_ms) if o.void_ms else None,
        "voidBusinessDate": o.void_bd,
        "deleted": o.deleted,
        "deletedDate": toast_time(o.deleted_ms) if o.deleted else NOT_DELETED,
        "excessFood": o.excess,
        "deliveryInfo": dict(o.delivery) if o.delivery else None,
        "curbsidePickupInfo": None,
        "requiredPrepTime": None,
        "pricingFeatures": ["TAXESV2"],
        "createdInTestMode": False,
        "channelGuid": None,
        "createdDevice": device,
        "lastModifiedDevice": dict(device),
        "checks": checks,
    }


def _check_doc(o: Order, c: Check) -> dict:
    active = [p for p in c.payments if p.void_ms is None]
    due = c.total - sum((p.amount for p in active), ZERO)
    status = "CLOSED" if c.closed is not None and due <= 0 else "OPEN"
    paid = max((p.paid_ms for p in active), default=None)
    return {
        "guid": c.guid,
        "entityType": "Check",
        "externalId": None,
        "displayNumber": c.number,
        "tabName": None,
        "openedDate": toast_time(o.opened),
        "createdDate": toast_time(o.opened),
        "modifiedDate": toast_time(c.modified),
        "closedDate": toast_time(c.closed) if status == "CLOSED" else None,
        "paidDate": toast_time(paid) if paid else None,
        "deleted": c.deleted,
        "deletedDate": toast_time(o.deleted_ms) if c.deleted else NOT_DELETED,
        "voided": c.voided,
        "voidDate": toast_time(c.void_ms) if c.void_ms else None,
        "voidBusinessDate": c.void_bd,
        "taxExempt": False,
        "paymentStatus": status,
        "amount": c.amount,
        "taxAmount": c.tax,
        "totalAmount": c.total,
        "duration": (paid - o.opened) // 1000 if paid else None,
        "appliedDiscounts": [_check_discount_doc(c)] if c.disc and c.disc_amt else [],
        "appliedServiceCharges": [_charge_doc(o, ch) for ch in c.charges],
        "selections": [_selection_doc(o, s) for s in c.sels],
        "payments": [_payment_doc(o, c, p) for p in c.payments],
        "customer": dict(c.customer) if c.customer else None,
        "appliedLoyaltyInfo": None,
        "openedBy": o.server.doc(),
        "createdDevice": {"id": o.device},
        "lastModifiedDevice": {"id": o.device},
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
    return {
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
        "item": item.ref.doc() if item else None,
        "itemGroup": item.group.doc() if item else None,
        "optionGroup": None,
        "preModifier": None,
        "displayName": s.name,
        "selectionType": s.kind,
        "salesCategory": item.sales_category.doc() if item else None,
        "plu": item.plu if item else None,
        "quantity": s.qty,
        "unitOfMeasure": "NONE",
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
        doc["modifiers"] = [
            _modifier_doc(s, guid, option, dining, created, modified, void)
            for guid, option in s.mods
        ]
    return doc


def _modifier_doc(
    parent: Sel, guid: str, option, dining: dict, created: str, modified: str, void: bool
) -> dict:
    """A modifier: its price is already inside the parent's preDiscountPrice and price."""
    amount = option.price * parent.qty
    return {
        "guid": guid,
        "entityType": "MenuItemSelection",
        "externalId": None,
        "item": option.ref.doc(),
        "itemGroup": None,
        "optionGroup": option.option_group.doc(),
        "preModifier": None,
        "displayName": option.name,
        "selectionType": "NONE",
        "salesCategory": parent.item.sales_category.doc(),
        "plu": None,
        "quantity": parent.qty,
        "unitOfMeasure": "NONE",
        "seatNumber": parent.seat,
        "receiptLinePrice": option.price,
        "preDiscountPrice": amount,
        "price": amount,
        "tax": ZERO,
        "taxInclusion": "INHERITED",
        "appliedTaxes": [],
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
        "modifiers": [],
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
        "paymentStatus": "VOIDED" if void else "CAPTURED",
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
        "createdDevice": {"id": o.device},
        "lastModifiedDevice": {"id": o.device},
        "orderGuid": o.guid,
        "checkGuid": c.guid,
    }
