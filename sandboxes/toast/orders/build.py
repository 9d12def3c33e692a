"""Building an order from its own RNG: place, dining option, checks, selections, tenders and
the same-day events its scenario code calls for."""

from __future__ import annotations

import random
from decimal import Decimal

from sandboxes.toast.catalog import Catalog, MenuItem
from sandboxes.toast.ids import HOUR, MINUTE, format_uuid4
from sandboxes.toast.orders.days import (
    DELETED,
    EXCESS,
    LATE_PAY,
    LATE_REFUND,
    LATE_TIP,
    LATE_VOID_SEL,
    NORMAL,
    OPEN,
    VOID_ORDER,
    DayHeader,
)
from sandboxes.toast.orders.model import (
    HUNDRED,
    ZERO,
    Charge,
    Check,
    LocationContext,
    Mod,
    Order,
    Sel,
    Tender,
    cents,
)

_FIRST = ("Alex", "Sam", "Jamie", "Taylor", "Morgan", "Casey", "Riley", "Jordan", "Avery", "Quinn")
_LAST = ("Smith", "Garcia", "Lee", "Patel", "Brown", "Kim", "Nguyen", "Lopez", "Clark", "Young")
_CARDS = (("VISA", 0.50), ("MASTERCARD", 0.78), ("AMEX", 0.93), ("DISCOVER", 1.0))
_TENDER_TABLE = (
    ("CREDIT", 0.62),
    ("CASH", 0.82),
    ("GIFTCARD", 0.85),
    ("HOUSE_ACCOUNT", 0.875),
    ("REWARDCARD", 0.895),
    ("TOAST_SV", 0.915),
    ("OTHER", 0.985),
    ("UNDETERMINED", 1.0),
)


def build_order(ctx: LocationContext, header: DayHeader, idx: int) -> Order:
    rng = random.Random(ctx.order_seed(header.business_date, idx))
    cat = ctx.catalog
    o = Order()
    o.ctx, o.bd, o.idx = ctx, header.business_date, idx
    o.guid = ctx.ids.encode(ctx.index, header.business_date, idx)
    o.opened, o.settled, o.code = header.opened[idx], header.settled[idx], header.codes[idx]
    o.late_ms = header.late[idx]
    o.voided = o.deleted = False
    o.void_ms = o.void_bd = o.deleted_ms = None
    o.excess = o.code == EXCESS
    o.dining = cat.dining_options[_pick_dining(rng, o.excess)]
    o.marketplace = o.dining.marketplace is not None
    _place(o, rng, cat)
    o.device = cat.devices[rng.randrange(len(cat.devices))]
    hour_local = (o.opened - header.start_ms) / HOUR + ctx.clock.closeout_hour
    o.service = cat.restaurant_services[
        "lunch" if hour_local < 16 else "dinner" if hour_local < 22 else "late_night"
    ]
    o.promised = None
    if o.dining.behavior != "DINE_IN" and not o.marketplace and rng.random() < 0.2:
        o.promised = o.opened + rng.randrange(20, 60) * MINUTE
    o.delivery = _delivery_info(rng, cat) if o.dining.behavior == "DELIVERY" else None
    o.checks = _build_checks(o, rng, cat)
    o.events = _same_day_events(o, rng)
    _in_progress_shapes(o, rng, cat)
    return o


def _in_progress_shapes(o: Order, rng: random.Random, cat: Catalog) -> None:
    """What only an order still in progress shows (see events.materialize): an online order
    waiting for the restaurant's approval, a scheduled one not yet fired, a card payment still
    PROCESSING; and the curbside and prep-time details Toast sends with pickup orders."""
    r = rng.random()
    online = o.source == "Online"
    o.curbside = None
    if online and o.dining.behavior == "TAKE_OUT" and r < 0.3:
        o.curbside = {
            "entityType": "CurbsidePickup",
            "notes": "Text on arrival" if r < 0.15 else None,
            "transportColor": ("blue", "red", "white", "black")[int(r * 40) % 4],
            "transportDescription": ("Hatchback", "Pickup truck", "SUV")[int(r * 30) % 3],
        }
    o.prep = None if not online else "PT30M" if o.dining.behavior == "DELIVERY" else "PT0S"
    o.approval = (
        "NEEDS_APPROVAL"
        if online and cat.template.approves_online
        else "FUTURE"
        if o.promised and not o.marketplace
        else None
    )
    first = o.checks[0].tenders[0] if o.checks[0].tenders else None
    o.processing = bool(first and first.type == "CREDIT" and first.fixed is None and r > 0.6)
    o.in_progress = False


def _pick_dining(rng: random.Random, excess: bool) -> str:
    if excess:
        return "dine_in"
    r = rng.random()
    return (
        "dine_in"
        if r < 0.58
        else "take_out"
        if r < 0.80
        else "delivery"
        if r < 0.88
        else "doordash"
        if r < 0.95
        else "ubereats"
    )


def _place(o: Order, rng: random.Random, cat: Catalog) -> None:
    behavior = o.dining.behavior
    if behavior == "DINE_IN":
        r = rng.random()
        rc = "dining" if r < 0.6 else "bar" if r < 0.9 else "patio"
        o.guests = 1 + int(rng.random() ** 3 * 8)
        o.source = "In Store"
        staff = cat.staff("bartender") if rc == "bar" else cat.staff("server")
    else:
        rc = "offsite"
        o.guests = 1
        o.source = (
            "API"
            if o.marketplace
            else "Online"
            if behavior == "DELIVERY" or rng.random() < 0.4
            else "In Store"
        )
        staff = cat.staff("server", "bartender")
    o.area = rc
    # Many locations never set revenue centers on some or all orders (Toast's examples).
    o.rc = None if rng.random() < cat.template.no_revenue_center else cat.revenue_centers[rc]
    o.server = staff[rng.randrange(len(staff))].ref


def _delivery_info(rng: random.Random, cat: Catalog) -> dict:
    t = cat.template
    street = rng.choice(("Oak", "Pine", "Main", "Lake"))
    r = rng.random()
    return {
        "address1": f"{rng.randrange(10, 2000)} {street} St",
        "address2": f"Apt {int(r * 400)}" if r < 0.3 else None,
        "city": t.city,
        "state": t.state,
        "zipCode": t.zip_code,
        "latitude": Decimal(f"{t.latitude + rng.uniform(-0.03, 0.03):.4f}"),
        "longitude": Decimal(f"{t.longitude + rng.uniform(-0.03, 0.03):.4f}"),
        "notes": "Leave at the door" if r > 0.8 else "" if r > 0.6 else None,
        "deliveryState": "DELIVERED",
        "deliveredDate": None,  # Toast fills these only when the driver uses Toast Delivery
        "dispatchedDate": None,
        "deliveryEmployee": None,
    }


def _build_checks(o: Order, rng: random.Random, cat: Catalog) -> list[Check]:
    house_payment = (
        not o.excess
        and not o.marketplace
        and o.code in (NORMAL, LATE_REFUND)
        and rng.random() < 0.02
    )
    n = 1 if o.excess or house_payment or rng.random() < 0.9 else rng.randint(2, 4)
    checks = []
    for k in range(n):
        c = Check(rng.getrandbits(122), f"{o.idx + 1}" if n == 1 else f"{o.idx + 1}-{k + 1}")
        c.modified = o.opened
        c.spare_bits = rng.getrandbits(122)
        if house_payment:
            _house_account_payment(c, rng)
        else:
            _fill_check(c, o, rng, cat)
        for s in c.sels:
            s.modified = o.opened
        c.tenders = _tenders(o, c, rng, cat, first=k == 0)
        _pay_time_charges(c, o, rng, cat)
        if o.dining.behavior in ("TAKE_OUT", "DELIVERY") and not o.marketplace:
            c.customer = {
                "guid": format_uuid4(rng.getrandbits(122)),
                "entityType": "Customer",
                "firstName": rng.choice(_FIRST),
                "lastName": rng.choice(_LAST),
                "phone": f"555{rng.randrange(10**7):07d}",
                "email": f"guest{rng.randrange(10**5)}@example.com",
            }
            if cat.template.unkeyed_applied_taxes:
                del c.customer["guid"]  # a guest known by name only, as in Toast's examples
        checks.append(c)
    return checks


def _fill_check(c: Check, o: Order, rng: random.Random, cat: Catalog) -> None:
    items = cat.items
    food = [i for i in items.values() if i.sales_category == cat.sales_categories["food"]]
    if o.excess:
        for _ in range(rng.randint(2, 6)):
            s = _selection(rng, rng.choice(food), o)
            s.disc = cat.discounts["waste"]
            c.sels.append(s)
        return
    drinks = [i for i in items.values() if i.sales_category == cat.sales_categories["beverage"]]
    alcohol = [i for i in items.values() if i.alcohol]
    retail = [i for i in items.values() if i.sales_category == cat.sales_categories["retail"]]
    bar = o.area == "bar"
    shots = not o.marketplace
    count = rng.randint(1, 3) + o.guests // 2
    if o.code == LATE_VOID_SEL:
        count = max(count, 2)
    for _ in range(count):
        r = rng.random()
        if bar:
            r = 0.6 + r * 0.4 if r < 0.7 else r * 0.55
        if r < 0.55:
            pool = food
        elif r < 0.75:
            pool = drinks
        elif r < 0.97 and o.dining.behavior == "DINE_IN":
            pool = alcohol
        elif r < 0.97:
            pool = food
        else:
            pool = retail
        s = _selection(rng, rng.choice(pool), o, shots)
        r = rng.random()
        if o.marketplace or _taxed_modifiers(s):
            pass  # no discounts on marketplace orders nor on items with taxed modifiers
        elif r < 0.07:
            s.disc = cat.discounts[rng.choice(("item_10", "item_10", "item_5off", "employee_50"))]
        elif r < 0.085 and isinstance(s.qty, int):  # buy one, get one: the second is free
            s.qty, s.disc = max(s.qty, 2), cat.discounts["bogo"]
        elif r < 0.12 and s.item.sales_category == cat.sales_categories["liquor"]:
            s.disc = cat.discounts["happy_hour"]
        elif 0.12 <= r < 0.13:
            s.disc, s.open_disc = cat.discounts["open_comp"], cents(Decimal(1 + int(r * 400) % 5))
        c.sels.append(s)
    if bar and rng.random() < 0.4:
        c.tab = rng.choice(_FIRST)
    if not o.marketplace and rng.random() < 0.035:
        kind = "TOAST_CARD_SELL" if rng.random() < 0.6 else "TOAST_CARD_RELOAD"
        amount = cents(Decimal(rng.choice((25, 50, 75, 100))))
        c.sels.append(Sel(rng.getrandbits(122), None, 1, amount, "Gift Card", kind))
    if not o.marketplace and rng.random() < 0.06 and not any(map(_taxed_modifiers, c.sels)):
        c.disc = cat.discounts["check_15" if rng.random() < 0.6 else "check_10off"]
        c.disc_bits = rng.getrandbits(122)
    sc = cat.service_charges
    if o.dining.behavior == "DINE_IN" and (o.guests >= 6 or rng.random() < 0.02):
        c.charges.append(Charge(rng.getrandbits(122), sc["gratuity"]))
    if not o.marketplace and rng.random() < 0.06:
        c.charges.append(Charge(rng.getrandbits(122), sc["service_fee"]))
    if o.dining.key == "delivery":
        c.charges.append(Charge(rng.getrandbits(122), sc["delivery_fee"]))


def _selection(rng: random.Random, item: MenuItem, o: Order, shots: bool = False) -> Sel:
    r = rng.random()
    if item.unit_of_measure != "NONE":  # weighed at the counter: 0.35 to 1.60 lb
        hundredths = 35 + int(r * 126)
        qty = Decimal(hundredths + 3 if hundredths % 100 == 0 else hundredths).scaleb(-2)
    else:
        qty = 1 if r < 0.85 else 2 if r < 0.97 else 3
    s = Sel(rng.getrandbits(122), item, qty, item.price, item.name)
    for option in item.modifiers:
        if rng.random() < (0.45 if option.taxes else 0.3) and (shots or not option.taxes):
            s.mods.append(_modifier(rng, option))
    if o.dining.behavior == "DINE_IN":
        s.seat = rng.randint(0, o.guests)
    if o.marketplace:
        s.facilitator = True
        s.external = o.idx % 2 == 0  # half the marketplace orders carry the partner's tax
    return s


def _modifier(rng: random.Random, option) -> Mod:
    kids = [_modifier(rng, kid) for kid in option.children if rng.random() < 0.5]
    return Mod(format_uuid4(rng.getrandbits(122)), option, kids)


def _taxed_modifiers(s: Sel) -> bool:
    return any(node.option.taxes for m in s.mods for node in m.walk())


def _house_account_payment(c: Check, rng: random.Random) -> None:
    amount = cents(Decimal(rng.randrange(2_000, 40_000)) / HUNDRED)
    c.sels.append(
        Sel(
            rng.getrandbits(122),
            None,
            1,
            amount,
            "House Account Payment",
            "HOUSE_ACCOUNT_PAY_BALANCE",
        )
    )


def _tenders(o: Order, c: Check, rng: random.Random, cat: Catalog, first: bool) -> list[Tender]:
    if o.marketplace:
        return [
            Tender(
                "OTHER", rng.getrandbits(122), other=cat.alternate_payments[o.dining.marketplace]
            )
        ]
    house_pay = c.sels and c.sels[0].kind == "HOUSE_ACCOUNT_PAY_BALANCE"
    kind = "CREDIT" if (o.code == LATE_TIP and first) else _pick_tender(rng)
    if house_pay and kind not in ("CREDIT", "CASH"):
        kind = "CASH"
    tender = _tender(kind, rng, o, cat)
    if o.code == LATE_TIP and first:
        tender.tip_pct = ZERO  # the tip is added on a later day
        return [tender]
    if not house_pay and rng.random() < 0.06:  # split: a fixed first part, card for the rest
        part = _tender(rng.choice(("GIFTCARD", "REWARDCARD", "CASH", "TOAST_SV")), rng, o, cat)
        part.fixed = cents(Decimal(rng.choice((10, 15, 20, 25))))
        return [part, _tender("CREDIT", rng, o, cat)]
    return [tender]


def _pick_tender(rng: random.Random) -> str:
    r = rng.random()
    return next(kind for kind, limit in _TENDER_TABLE if r < limit)


def _tender(kind: str, rng: random.Random, o: Order, cat: Catalog) -> Tender:
    bits = rng.getrandbits(122)
    if kind == "CREDIT":
        r = rng.random()
        card = next(name for name, limit in _CARDS if r < limit)
        entry = (
            "ONLINE"
            if o.source == "Online"
            else rng.choice(("PRE_AUTHED", "EMV_CHIP_SIGN", "CONTACTLESS", "SWIPED"))
            if o.guests == 1 and o.dining.behavior == "DINE_IN"
            else rng.choice(("EMV_CHIP_SIGN", "CONTACTLESS", "KEYED", "SWIPED"))
        )
        tip = Decimal(rng.randrange(15, 26)) / HUNDRED if rng.random() < 0.75 else ZERO
        return Tender(
            kind, bits, card=card, last4=f"{rng.randrange(10_000):04d}", entry=entry, tip_pct=tip
        )
    if kind == "OTHER":
        return Tender(kind, bits, other=cat.alternate_payments[rng.choice(("check", "venmo"))])
    if kind == "HOUSE_ACCOUNT":
        return Tender(kind, bits, house=cat.house_accounts[rng.randrange(len(cat.house_accounts))])
    if kind in ("GIFTCARD", "REWARDCARD", "TOAST_SV"):
        return Tender(kind, bits, last4=f"{rng.randrange(10_000):04d}")
    return Tender(kind, bits)


def _pay_time_charges(c: Check, o: Order, rng: random.Random, cat: Catalog) -> None:
    """Charges that only exist once the check is paid (they depend on the tender)."""
    if o.excess or (c.sels and c.sels[0].kind == "HOUSE_ACCOUNT_PAY_BALANCE"):
        return
    single = len(c.tenders) == 1
    if single and c.tenders[0].type == "CREDIT" and rng.random() < 0.10:
        c.surcharge = True
    elif not o.marketplace and rng.random() < 0.05:
        c.roundup = True
    if single and c.tenders[0].type == "CASH" and "cash_rounding" in cat.service_charges:
        c.cash_round = True


def _same_day_events(o: Order, rng: random.Random) -> list[tuple[int, int, str, int]]:
    """(time, sequence, kind, check index) for everything that happens before the settle time."""
    t0, t1 = o.opened, o.settled
    span = t1 - t0

    def at(fraction: float) -> int:
        return t0 + int(span * fraction)

    events: list[tuple[int, int, str, int]] = [(t1, 99, "touch", 0)]
    if o.code == VOID_ORDER:
        return events + [(t1, 10, "void_order", 0)]
    if o.code == DELETED:
        return events + [(t1, 10, "delete", 0)]
    if o.code == EXCESS:
        return events + [(t1, 10, "pay", 0)]
    leave_open = o.code in (OPEN, LATE_PAY)
    last = len(o.checks) - 1
    for k in range(len(o.checks)):
        if not (leave_open and k == last):
            events.append((t1 - (last - k) * 1000, 20 + k, "pay", k))
    if len(o.checks) > 1 and not leave_open and rng.random() < 0.2:
        events.append((at(0.4), 5, "void_check", last))
    first = o.checks[0]
    regular = [s for s in first.sels if s.kind == "NONE"]
    if len(regular) >= 2 and rng.random() < 0.04:
        events.append((at(0.3), 4, "void_sel", 0))
    if o.code == NORMAL:
        r = rng.random()
        if r < 0.025:  # paid, then the payment voided and replaced
            events = [e for e in events if not (e[2] == "pay" and e[3] == 0)]
            events += [(at(0.7), 20, "pay", 0), (t1, 30, "replace_payment", 0)]
        elif r < 0.05:  # paid, then refunded the same business day
            events = [e for e in events if not (e[2] == "pay" and e[3] == 0)]
            events += [(at(0.6), 20, "pay", 0), (t1, 30, "refund", 0)]
        elif r < 0.07:  # a card attempt ended in ERROR (no money moved); paid again later
            events.append((at(0.5), 15, "error_pay", 0))
    return events
