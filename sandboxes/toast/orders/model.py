"""The order model: selections, service charges, tenders, payments, checks and orders as
mutable slots that events change and pricing recomputes, and the money helpers they share."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

from sandboxes.toast.catalog import Catalog, Discount, MenuItem, Ref, ServiceCharge, TaxRate
from sandboxes.toast.ids import BusinessClock, OrderIds, format_uuid4

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ONE = Decimal(1)
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_EVEN)


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
        "open_disc",
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

    def __init__(
        self,
        bits: int,
        item: MenuItem | None,
        qty: int | Decimal,
        unit: Decimal,
        name: str,
        kind: str = "NONE",
    ):
        self.bits, self.guid = bits, format_uuid4(bits)
        self.item, self.qty, self.unit, self.name, self.kind = item, qty, unit, name, kind
        self.mods: list[Mod] = []
        self.disc: Discount | None = None
        self.open_disc = ZERO  # the amount of an OPEN_FIXED discount, entered at the POS
        self.seat = -1
        self.modified = 0
        self.void_ms = self.void_bd = self.void_reason = self.refund = None
        self.taxes: tuple[TaxRate, ...] = item.taxes if item and kind == "NONE" else ()
        self.inclusive = bool(item) and item.inclusion == "INCLUDED" and kind == "NONE"
        self.rate_sum = sum((t.rate for t in self.taxes if t.type == "PERCENT"), ZERO)
        self.facilitator = self.external = False
        self.share = self.share_nt = ZERO

    @property
    def live(self) -> bool:
        return self.void_ms is None


class Mod:
    """A modifier on a selection, or on another modifier: its price is inside its parent's at
    every depth; with taxes of its own (`option.taxes`) it is taxed on its own price."""

    __slots__ = ("guid", "kids", "option", "price", "tax", "tax_lines")

    def __init__(self, guid: str, option, kids: list[Mod] | None = None):
        self.guid, self.option, self.kids = guid, option, kids or []
        self.price = self.tax = ZERO
        self.tax_lines: list = []

    def walk(self):
        yield self
        for kid in self.kids:
            yield from kid.walk()


class Charge:
    __slots__ = ("amount", "bits", "open_amount", "payment_guid", "refund", "sc", "tax_lines")

    def __init__(
        self,
        bits: int,
        sc: ServiceCharge,
        open_amount: Decimal | None = None,
        payment_guid: str | None = None,
    ):
        self.bits, self.sc = bits, sc
        self.open_amount, self.payment_guid = open_amount, payment_guid
        self.refund = None
        self.amount = ZERO
        self.tax_lines: list = []


class Tender:
    """How a check gets paid when its pay event comes: a type and its details."""

    __slots__ = ("bits", "card", "entry", "fixed", "house", "last4", "other", "tip_pct", "type")

    def __init__(
        self,
        type_: str,
        bits: int,
        card: str | None = None,
        last4: str | None = None,
        entry: str | None = None,
        other: Ref | None = None,
        house: Ref | None = None,
        tip_pct: Decimal = ZERO,
        fixed: Decimal | None = None,
    ):
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
        "status",
        "tender",
        "tendered",
        "tip",
        "void_bd",
        "void_ms",
    )

    def __init__(
        self, bits: int, tender: Tender, amount: Decimal, tip: Decimal, paid_ms: int, paid_bd: int
    ):
        self.bits, self.guid, self.tender = bits, format_uuid4(bits), tender
        self.amount, self.tip, self.paid_ms, self.paid_bd = amount, tip, paid_ms, paid_bd
        self.tendered = _tendered(tender.type, amount)
        self.void_ms = self.void_bd = self.refund = None
        self.refund_status = "NONE"
        self.status = "CAPTURED"  # or AUTHORIZED (tip not adjusted yet), PROCESSING, ERROR
        self.modified = paid_ms

    @property
    def active(self) -> bool:
        """Money moved (or is moving): not voided, not an ERROR attempt."""
        return self.void_ms is None and self.status != "ERROR"


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
        "tab",
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
        self.tab: str | None = None
        self.roundup = self.surcharge = self.cash_round = False
        self.spare_bits = 0
        self.amount = self.tax = self.total = self.disc_amt = self.disc_nt = ZERO
        self.disc_bits = 0

    def active_payments(self) -> list[Pay]:
        return [p for p in self.payments if p.active]


class Order:
    __slots__ = (
        "approval",
        "area",
        "bd",
        "checks",
        "code",
        "ctx",
        "curbside",
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
        "in_progress",
        "late_ms",
        "marketplace",
        "opened",
        "prep",
        "processing",
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
        return (
            (self.seed * 65_536 + self.index) * 100_000_000 + business_date
        ) * 16_777_216 + index


def _tendered(kind: str, amount: Decimal) -> Decimal:
    if kind != "CASH":
        return amount
    step = Decimal(5) if amount < 20 else Decimal(20)
    return cents((amount / step).to_integral_value(ROUND_CEILING) * step)
