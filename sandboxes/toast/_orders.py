"""Orders for the Toast sandbox.

Two layers keep a day of 100,000 orders cheap:

* a `DayHeader` per (location, business date): opened/settled/late-edit epoch milliseconds and a
  scenario code per order, drawn from one per-day `random.Random` and sorted by opening time, so
  counting, windowing and paging never need an order document;
* a full order, built only when a page asks for it, from its own `random.Random` seeded by
  (seed, location, business date, order index) plus the header's times and scenario code.

An order is a plan plus a timeline of events. Before its settle time it is shown as opened and
unpaid; at the settle time every same-day event (payments, voids, refunds...) has happened; a
late edit (generated, or applied through `ToastDataset.apply_edit`) is visible once its time is
at or before `as_of`. Amounts are recomputed from the state with Toast's formulas each time.
"""

from __future__ import annotations

import bisect
import random
from array import array
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

from sandboxes.toast._catalog import Catalog, Discount, MenuItem, Ref, ServiceCharge, TaxRate
from sandboxes.toast._ids import (
    BusinessClock,
    OrderIds,
    derived_bits,
    derived_guid,
    derived_int,
    format_uuid4,
    mix_bits,
    toast_time,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ONE = Decimal(1)
HUNDRED = Decimal(100)
ROUNDINGS = {"HALF_UP": ROUND_HALF_UP, "HALF_EVEN": ROUND_HALF_EVEN, "ALWAYS_UP": ROUND_UP,
             "ALWAYS_DOWN": ROUND_DOWN}
NOT_DELETED = toast_time(0)   # Toast's placeholder deletedDate for orders that are not deleted
MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000

# Scenario codes fixed by the day header (they decide timing); details come from the order's RNG.
NORMAL, VOID_ORDER, DELETED, OPEN, EXCESS = 0, 1, 2, 3, 4
LATE_TIP, LATE_VOID_SEL, LATE_REFUND, LATE_PAY, LATE_VOID_ORDER = 5, 6, 7, 8, 9
LATE_KINDS = {LATE_TIP: "add_tip", LATE_VOID_SEL: "void_selection", LATE_REFUND: "refund",
              LATE_PAY: "pay_open_check", LATE_VOID_ORDER: "void_order"}
EDIT_KINDS = frozenset({"void_order", "void_selection", "add_tip", "refund", "pay_open_check"})
_CODE_TABLE = ((0.020, VOID_ORDER), (0.030, DELETED), (0.045, OPEN), (0.100, LATE_TIP),
               (0.120, LATE_VOID_SEL), (0.140, LATE_REFUND), (0.160, LATE_PAY),
               (0.167, LATE_VOID_ORDER))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_EVEN)


class NotApplicable(Exception):
    """An edit that has nothing to act on in the order's current state."""


# -- day headers -------------------------------------------------------------------------------

@dataclass
class DayHeader:
    business_date: int
    start_ms: int
    end_ms: int
    opened: array      # sorted ascending; the order index is the rank by opening time
    settled: array
    late: array        # 0 when the order has no generated late edit
    codes: bytes

    def __len__(self) -> int:
        return len(self.opened)

    def count_opened(self, as_of_ms: int) -> int:
        return bisect.bisect_right(self.opened, as_of_ms)

    def modified(self, i: int, as_of_ms: int) -> int:
        """The order's modifiedDate at as_of from generated events only (opened <= as_of)."""
        modified = self.opened[i]
        if self.settled[i] <= as_of_ms:
            modified = self.settled[i]
            late = self.late[i]
            if late and late <= as_of_ms:
                modified = late
        return modified


def day_count(seed: int, location_index: int, business_date: int, orders_per_day: int,
              exact: bool) -> int:
    if exact:
        return orders_per_day
    spread = random.Random(derived_int("count", seed, location_index, business_date)).random()
    return max(0, round(orders_per_day * (0.8 + 0.4 * spread)))


def make_header(seed: int, location_index: int, clock: BusinessClock, business_date: int,
                count: int, max_late_days: int) -> DayHeader:
    rng = random.Random(derived_int("day", seed, location_index, business_date))
    start, end = clock.bounds(business_date)
    closeout = clock.closeout_hour
    latest_open = end - start - 25 * MINUTE    # 23-hour DST days included
    rows = []
    for _ in range(count):
        opened = start + min(int(_opening_offset(rng, closeout) * HOUR), latest_open)
        settled = min(opened + int((3 + 87 * rng.random() ** 1.6) * MINUTE), end - MINUTE)
        code, late = _scenario(rng, end, max_late_days)
        rows.append((opened, settled, late, code))
    rows.sort()
    codes = bytearray(row[3] for row in rows)
    late = array("q", (row[2] for row in rows))
    if count >= 5 and rng.random() < 0.6:     # at most one excess-food order a day, as Toast
        k = rng.randrange(count)
        codes[k], late[k] = EXCESS, 0
    return DayHeader(business_date, start, end, array("q", (r[0] for r in rows)),
                     array("q", (r[1] for r in rows)), late, bytes(codes))


def _opening_offset(rng: random.Random, closeout: int) -> float:
    """Hours after the business day starts: lunch and dinner peaks, some after midnight."""
    r = rng.random()
    if r < 0.45:
        hour = rng.gauss(12.5, 1.0)
    elif r < 0.85:
        hour = rng.gauss(19.0, 1.4)
    elif r < 0.93:
        hour = rng.gauss(23.4, 1.3)
    else:
        hour = rng.uniform(7.0, 23.0)
    offset = hour - closeout
    if not 0.05 <= offset <= 23.5:
        offset = rng.uniform(max(0.05, 7.0 - closeout), 23.0)
    return offset


def _scenario(rng: random.Random, day_end: int, max_late_days: int) -> tuple[int, int]:
    r = rng.random()
    code = next((c for limit, c in _CODE_TABLE if r < limit), NORMAL)
    if code not in LATE_KINDS:
        return code, 0
    if max_late_days < 1:
        return NORMAL, 0
    # Skewed toward the next days (tip adjustments), some weeks later (refunds, corrections).
    delay = int(rng.random() ** 3 * (max_late_days - 1) * DAY) + rng.randrange(2 * HOUR, 14 * HOUR)
    return code, day_end + delay


# -- the order model ---------------------------------------------------------------------------

class Sel:
    __slots__ = (
        "basis",
        "bits",
        "d_amt",
        "d_nt",
        "disc",
        "external",
        "facilitator",
        "gross",
        "guid",
        "inclusive",
        "item",
        "kind",
        "modified",
        "mods",
        "name",
        "pre",
        "price",
        "qty",
        "rate_sum",
        "refund",
        "seat",
        "share",
        "share_nt",
        "tax",
        "tax_lines",
        "taxes",
        "unit",
        "void_bd",
        "void_ms",
        "void_reason",
    )

    def __init__(self, bits: int, item: MenuItem | None, qty: int, unit: Decimal, name: str,
                 kind: str = "NONE"):
        self.bits, self.guid = bits, format_uuid4(bits)
        self.item, self.qty, self.unit, self.name, self.kind = item, qty, unit, name, kind
        self.mods: list[tuple[str, object]] = []
        self.disc: Discount | None = None
        self.seat = -1
        self.modified = 0
        self.void_ms = self.void_bd = self.void_reason = self.refund = None
        self.taxes: tuple[TaxRate, ...] = item.taxes if item and kind == "NONE" else ()
        self.inclusive = bool(item) and item.inclusion == "INCLUDED" and kind == "NONE"
        self.rate_sum = sum((t.rate for t in self.taxes), ZERO)
        self.facilitator = self.external = False
        self.share = self.share_nt = ZERO

    @property
    def live(self) -> bool:
        return self.void_ms is None


class Charge:
    __slots__ = ("amount", "bits", "open_amount", "payment_guid", "refund", "sc", "tax_lines")

    def __init__(self, bits: int, sc: ServiceCharge, open_amount: Decimal | None = None,
                 payment_guid: str | None = None):
        self.bits, self.sc = bits, sc
        self.open_amount, self.payment_guid = open_amount, payment_guid
        self.refund = None
        self.amount = ZERO
        self.tax_lines: list = []


class Tender:
    """How a check gets paid when its pay event comes: a type and its details."""

    __slots__ = ("bits", "card", "entry", "fixed", "house", "last4", "other", "tip_pct", "type")

    def __init__(self, type_: str, bits: int, card: str | None = None, last4: str | None = None,
                 entry: str | None = None, other: Ref | None = None, house: Ref | None = None,
                 tip_pct: Decimal = ZERO, fixed: Decimal | None = None):
        self.type, self.bits, self.card, self.last4, self.entry = type_, bits, card, last4, entry
        self.other, self.house, self.tip_pct, self.fixed = other, house, tip_pct, fixed


class Pay:
    __slots__ = (
        "amount",
        "bits",
        "guid",
        "modified",
        "paid_bd",
        "paid_ms",
        "refund",
        "refund_status",
        "tender",
        "tendered",
        "tip",
        "void_bd",
        "void_ms",
    )

    def __init__(self, bits: int, tender: Tender, amount: Decimal, tip: Decimal, paid_ms: int,
                 paid_bd: int):
        self.bits, self.guid, self.tender = bits, format_uuid4(bits), tender
        self.amount, self.tip, self.paid_ms, self.paid_bd = amount, tip, paid_ms, paid_bd
        self.tendered = _tendered(tender.type, amount)
        self.void_ms = self.void_bd = self.refund = None
        self.refund_status = "NONE"
        self.modified = paid_ms

    @property
    def active(self) -> bool:
        return self.void_ms is None


class Check:
    __slots__ = (
        "amount",
        "bits",
        "cash_round",
        "charges",
        "closed",
        "customer",
        "deleted",
        "disc",
        "disc_amt",
        "disc_bits",
        "disc_nt",
        "guid",
        "modified",
        "number",
        "payments",
        "roundup",
        "sels",
        "spare_bits",
        "surcharge",
        "tax",
        "tenders",
        "total",
        "void_bd",
        "void_ms",
        "voided",
    )

    def __init__(self, bits: int, number: str):
        self.bits, self.guid, self.number = bits, format_uuid4(bits), number
        self.sels: list[Sel] = []
        self.disc: Discount | None = None
        self.charges: list[Charge] = []
        self.tenders: list[Tender] = []
        self.payments: list[Pay] = []
        self.voided = self.deleted = False
        self.void_ms = self.void_bd = None
        self.modified = 0
        self.closed: int | None = None
        self.customer: dict | None = None
        self.roundup = self.surcharge = self.cash_round = False
        self.spare_bits = 0
        self.amount = self.tax = self.total = self.disc_amt = self.disc_nt = ZERO
        self.disc_bits = 0

    def active_payments(self) -> list[Pay]:
        return [p for p in self.payments if p.void_ms is None]


class Order:
    __slots__ = (
        "bd",
        "checks",
        "code",
        "ctx",
        "deleted",
        "deleted_ms",
        "delivery",
        "device",
        "dining",
        "events",
        "excess",
        "guests",
        "guid",
        "idx",
        "late_ms",
        "marketplace",
        "opened",
        "promised",
        "rc",
        "server",
        "service",
        "settled",
        "source",
        "void_bd",
        "void_ms",
        "voided",
    )

    def live_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.voided and not c.deleted]


@dataclass
class LocationContext:
    """Everything an order of one location needs to be built."""

    seed: int
    index: int
    catalog: Catalog
    clock: BusinessClock
    ids: OrderIds

    def order_seed(self, business_date: int, index: int) -> int:
        # Plain integer arithmetic: unique per (seed, location, date, index) and cheap to seed.
        return ((self.seed * 65_536 + self.index) * 100_000_000 + business_date) * 16_777_216 \
            + index


# -- building an order from its RNG ------------------------------------------------------------

_FIRST = ("Alex", "Sam", "Jamie", "Taylor", "Morgan", "Casey", "Riley", "Jordan", "Avery", "Quinn")
_LAST = ("Smith", "Garcia", "Lee", "Patel", "Brown", "Kim", "Nguyen", "Lopez", "Clark", "Young")
_CARDS = (("VISA", 0.50), ("MASTERCARD", 0.78), ("AMEX", 0.93), ("DISCOVER", 1.0))
_TENDER_TABLE = (("CREDIT", 0.62), ("CASH", 0.82), ("GIFTCARD", 0.85), ("HOUSE_ACCOUNT", 0.875),
                 ("REWARDCARD", 0.895), ("TOAST_SV", 0.915), ("OTHER", 0.985),
                 ("UNDETERMINED", 1.0))


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
    o.service = cat.restaurant_services["lunch" if hour_local < 16 else
                                        "dinner" if hour_local < 22 else "late_night"]
    o.promised = None
    if o.dining.behavior != "DINE_IN" and not o.marketplace and rng.random() < 0.2:
        o.promised = o.opened + rng.randrange(20, 60) * MINUTE
    o.delivery = _delivery_info(rng, cat) if o.dining.behavior == "DELIVERY" else None
    o.checks = _build_checks(o, rng, cat)
    o.events = _same_day_events(o, rng)
    return o


def _pick_dining(rng: random.Random, excess: bool) -> str:
    if excess:
        return "dine_in"
    r = rng.random()
    return ("dine_in" if r < 0.58 else "take_out" if r < 0.80 else "delivery" if r < 0.88
            else "doordash" if r < 0.95 else "ubereats")


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
        o.source = ("API" if o.marketplace else "Online" if behavior == "DELIVERY" or
                    rng.random() < 0.4 else "In Store")
        staff = cat.staff("server", "bartender")
    o.rc = cat.revenue_centers[rc]
    o.server = staff[rng.randrange(len(staff))].ref


def _delivery_info(rng: random.Random, cat: Catalog) -> dict:
    t = cat.template
    street = rng.choice(("Oak", "Pine", "Main", "Lake"))
    return {"address1": f"{rng.randrange(10, 2000)} {street} St",
            "address2": None, "city": t.city, "state": t.state, "zipCode": t.zip_code,
            "latitude": Decimal(f"{t.latitude + rng.uniform(-0.03, 0.03):.4f}"),
            "longitude": Decimal(f"{t.longitude + rng.uniform(-0.03, 0.03):.4f}"),
            "notes": None, "deliveryState": "DELIVERED"}


def _build_checks(o: Order, rng: random.Random, cat: Catalog) -> list[Check]:
    house_payment = (not o.excess and not o.marketplace and o.code in (NORMAL, LATE_REFUND)
                     and rng.random() < 0.02)
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
            c.customer = {"guid": format_uuid4(rng.getrandbits(122)), "entityType": "Customer",
                          "firstName": rng.choice(_FIRST), "lastName": rng.choice(_LAST),
                          "phone": f"555{rng.randrange(10**7):07d}",
                          "email": f"guest{rng.randrange(10**5)}@example.com"}
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
    bar = o.rc == cat.revenue_centers["bar"]
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
        s = _selection(rng, rng.choice(pool), o)
        if not o.marketplace and rng.random() < 0.07:
            s.disc = cat.discounts[rng.choice(("item_10", "item_10", "item_5off", "employee_50"))]
        c.sels.append(s)
    if not o.marketplace and rng.random() < 0.035:
        kind = "TOAST_CARD_SELL" if rng.random() < 0.6 else "TOAST_CARD_RELOAD"
        amount = cents(Decimal(rng.choice((25, 50, 75, 100))))
        c.sels.append(Sel(rng.getrandbits(122), None, 1, amount, "Gift Card", kind))
    if not o.marketplace and rng.random() < 0.06:
        c.disc = cat.discounts["check_15" if rng.random() < 0.6 else "check_10off"]
        c.disc_bits = rng.getrandbits(122)
    sc = cat.service_charges
    if o.dining.behavior == "DINE_IN" and (o.guests >= 6 or rng.random() < 0.02):
        c.charges.append(Charge(rng.getrandbits(122), sc["gratuity"]))
    if not o.marketplace and rng.random() < 0.06:
        c.charges.append(Charge(rng.getrandbits(122), sc["service_fee"]))
    if o.dining.key == "delivery":
        c.charges.append(Charge(rng.getrandbits(122), sc["delivery_fee"]))


def _selection(rng: random.Random, item: MenuItem, o: Order) -> Sel:
    r = rng.random()
    qty = 1 if r < 0.85 else 2 if r < 0.97 else 3
    s = Sel(rng.getrandbits(122), item, qty, item.price, item.name)
    for option in item.modifiers:
        if rng.random() < 0.3:
            s.mods.append((format_uuid4(rng.getrandbits(122)), option))
    if o.dining.behavior == "DINE_IN":
        s.seat = rng.randint(0, o.guests)
    if o.marketplace:
        s.facilitator = True
        s.external = o.idx % 2 == 0     # half the marketplace orders carry the partner's tax
    return s


def _house_account_payment(c: Check, rng: random.Random) -> None:
    amount = cents(Decimal(rng.randrange(2_000, 40_000)) / HUNDRED)
    c.sels.append(Sel(rng.getrandbits(122), None, 1, amount, "House Account Payment",
                      "HOUSE_ACCOUNT_PAY_BALANCE"))


def _tenders(o: Order, c: Check, rng: random.Random, cat: Catalog, first: bool) -> list[Tender]:
    if o.marketplace:
        return [Tender("OTHER", rng.getrandbits(122),
                       other=cat.alternate_payments[o.dining.marketplace])]
    house_pay = c.sels and c.sels[0].kind == "HOUSE_ACCOUNT_PAY_BALANCE"
    kind = "CREDIT" if (o.code == LATE_TIP and first) else _pick_tender(rng)
    if house_pay and kind not in ("CREDIT", "CASH"):
        kind = "CASH"
    tender = _tender(kind, rng, o, cat)
    if o.code == LATE_TIP and first:
        tender.tip_pct = ZERO           # the tip is added on a later day
        return [tender]
    if not house_pay and rng.random() < 0.06:   # split: a fixed first part, card for the rest
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
        entry = ("ONLINE" if o.source == "Online" else
                 rng.choice(("EMV_CHIP_SIGN", "CONTACTLESS", "CONTACTLESS", "SWIPED")))
        tip = Decimal(rng.randrange(15, 26)) / HUNDRED if rng.random() < 0.75 else ZERO
        return Tender(kind, bits, card=card, last4=f"{rng.randrange(10_000):04d}", entry=entry,
                      tip_pct=tip)
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
        if r < 0.025:     # paid, then the payment voided and replaced
            events = [e for e in events if not (e[2] == "pay" and e[3] == 0)]
            events += [(at(0.7), 20, "pay", 0), (t1, 30, "replace_payment", 0)]
        elif r < 0.05:    # paid, then refunded the same business day
            events = [e for e in events if not (e[2] == "pay" and e[3] == 0)]
            events += [(at(0.6), 20, "pay", 0), (t1, 30, "refund", 0)]
    return events


# -- applying events and edits -----------------------------------------------------------------

def materialize(o: Order, as_of_ms: int, applied: list[tuple[int, int, str]]) -> int:
    """Apply every event visible at as_of; returns the order's modifiedDate (epoch ms)."""
    timeline: list[tuple[int, int, str, int]] = []
    modified = o.opened
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
            pass     # a generated or stored edit that no longer has a target: nothing happens
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


def _pay(o: Order, c: Check, at: int, bd: int, tenders: list[Tender],
         pay_time_charges: bool = True) -> list[Pay]:
    if c.voided or c.deleted or o.voided or o.deleted or c.active_payments():
        return []
    cat = o.ctx.catalog
    sc = cat.service_charges
    first_bits = tenders[0].bits if not c.payments else mix_bits(c.spare_bits, 16 + len(c.payments))
    if pay_time_charges and not o.excess:
        if c.roundup and not any(ch.sc is sc["fundraising"] for ch in c.charges):
            total = price_check(o, c).total
            gap = total.to_integral_value(ROUND_CEILING) - total
            c.charges.append(Charge(mix_bits(c.spare_bits, 1), sc["fundraising"],
                                    gap or Decimal("1.00")))
        if c.surcharge and len(tenders) == 1 and tenders[0].type == "CREDIT":
            c.charges.append(Charge(mix_bits(c.spare_bits, 2), sc["cc_surcharge"],
                                    payment_guid=format_uuid4(first_bits)))
    total = price_check(o, c).total
    if pay_time_charges and c.cash_round and len(tenders) == 1 and tenders[0].type == "CASH":
        gap = (total * 20).quantize(ONE, ROUND_HALF_UP) / 20 - total
        if gap:
            c.charges.append(Charge(mix_bits(c.spare_bits, 3), sc["cash_rounding"], cents(gap),
                                    payment_guid=format_uuid4(first_bits)))
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
        made.append(Pay(bits, tender, amount, tip, at, bd))
    c.payments.extend(made)
    c.closed = at
    return made


def _split(total: Decimal, tenders: list[Tender]) -> list[tuple[Tender, Decimal]]:
    """A split tender pays its fixed first part (a gift card, some cash), the card the rest."""
    first = tenders[0]
    if len(tenders) == 1 or first.fixed is None or total <= first.fixed:
        return [(first, total)]
    return [(first, first.fixed), (tenders[1], total - first.fixed)]


def _tendered(kind: str, amount: Decimal) -> Decimal:
    if kind != "CASH":
        return amount
    step = Decimal(5) if amount < 20 else Decimal(20)
    return cents((amount / step).to_integral_value(ROUND_CEILING) * step)


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
    c.charges = []    # nothing left to charge on: Toast drops them with the items
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
        if switch_tender:     # e.g. the card was declined after all: cash or another card
            tender = Tender("CASH" if tender.type == "CREDIT" else "CREDIT",
                            mix_bits(tender.bits, 7),
                            card="VISA" if tender.type != "CREDIT" else None,
                            last4="4242" if tender.type != "CREDIT" else None,
                            entry="CONTACTLESS" if tender.type != "CREDIT" else None)
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
    candidates = [c for c in o.live_checks()
                  if any(p.refund is None for p in c.active_payments())]
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
    pay.refund = {"refundAmount": amount, "tipRefundAmount": tip, "refundDate": toast_time(at),
                  "refundBusinessDate": bd, "refundTransaction": txn}
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
        pay.modified = at
        owner = next(c for c in o.checks if pay in c.payments)
        owner.modified = owner.closed = at
        return
    tender = Tender("CREDIT", derived_bits(o.guid, "tip-tender", at), card="VISA",
                    last4=f"{rng.randrange(10_000):04d}", entry="KEYED",
                    tip_pct=Decimal(rng.randrange(15, 26)) / HUNDRED)
    for c in o.live_checks():
        if _pay(o, c, at, bd, [tender], pay_time_charges=False):
            return
    live = o.live_checks() or [c for c in o.checks if not c.voided]   # deleted: still tippable
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


# -- pricing (Toast's formulas, in Decimal) ----------------------------------------------------

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
        ch.tax_lines = [(t, (ch.amount * t.rate).quantize(CENT, ROUNDINGS[t.rounding]))
                        for t in (taxes["state"], taxes["local"])] if sc.taxable else []
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
            s.tax_lines = [(t, (s.price * t.rate).quantize(CENT, ROUNDINGS[t.rounding]))
                           for t in s.taxes]
    s.tax = sum((amount for _, amount in s.tax_lines), ZERO)


def _split_tax(total: Decimal, taxes: tuple[TaxRate, ...], rate_sum: Decimal) -> list:
    """Tax included in a price, shared over the rates in proportion; remainder on the largest."""
    if not taxes or not rate_sum:
        return [(t, ZERO) for t in taxes]
    lines = [[t, cents(total * t.rate / rate_sum)] for t in taxes]
    largest = max(lines, key=lambda line: line[0].rate)
    largest[1] += total - sum((line[1] for line in lines), ZERO)
    return [tuple(line) for line in lines]


# -- documents ---------------------------------------------------------------------------------

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
        if behavior != "DINE_IN" else None,
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


def _tax_doc(o: Order, owner_bits: int, n: int, tax: TaxRate | None, amount: Decimal,
             facilitator: bool) -> dict:
    if tax is None:        # the marketplace partner computed it (Toast type EXTERNAL)
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
        "appliedTaxes": [_tax_doc(o, s.bits, n, t, amount, s.facilitator)
                         for n, (t, amount) in enumerate(s.tax_lines)],
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
        doc["modifiers"] = [_modifier_doc(s, guid, option, dining, created, modified, void)
                            for guid, option in s.mods]
    return doc


def _modifier_doc(parent: Sel, guid: str, option, dining: dict, created: str, modified: str,
                  void: bool) -> dict:
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
        "appliedTaxes": [_tax_doc(o, ch.bits, n, t, amount, False)
                         for n, (t, amount) in enumerate(ch.tax_lines)],
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
        if t.type == "CREDIT" and p.amount else None,
        "paymentStatus": "VOIDED" if void else "CAPTURED",
        "voidInfo": {"voidUser": o.server.doc(), "voidApprover": manager.doc(),
                     "voidDate": toast_time(p.void_ms), "voidBusinessDate": p.void_bd,
                     "voidReason": None} if void else None,
        "refundStatus": p.refund_status,
        "refund": dict(p.refund, refundTransaction=dict(p.refund["refundTransaction"]))
        if p.refund else None,
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
