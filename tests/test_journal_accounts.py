"""Every line kind of the sales journal lands on the right ACCOUNT, on the right side, on the
right day: a hand-built set of orders served by the Toast sandbox, loaded and built for real,
and each journal line's account and amount worked out by hand below.

The two business dates are older than the sandbox's generated history (120 days), so the
orders here are the only ones those days hold and every line of the two journals is known.

Accounts are the shipped seeds' (dbt_project/seeds/):
  account_roles.csv          2300 tips payable, 2310 gratuity payable, 2320 donations payable,
                             2100 gift card liability, 1200 house account receivable,
                             1210 unpaid checks, 6900 over/short
  payment_type_accounts.csv  1010 CASH, 1110 CREDIT, 1115 CREDIT AMEX, 2100 GIFTCARD,
                             1200 HOUSE_ACCOUNT
  sales_category_accounts.csv  Food 4000/4100, Beverage 4010/4110, Liquor 4020/4120,
                             Beer 4030/4130, Wine 4040/4140 (revenue/discount)
  discount_accounts.csv      Employee Meal 50% 4160
  service_charge_accounts.csv  Kitchen Appreciation Fee 3% 4200
  tax_rate_accounts.csv      NY State Sales Tax 2200, Brooklyn Local Sales Tax 2210,
                             Liquor Tax 2220
  revenue_center_dimensions.csv  Dining Room DINING, Bar BAR
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from loaders.pipeline import run_load
from transform import build as transform

# Before the sandbox's first generated business date (today - 120 days), so no generated order
# shares these days with the hand-built ones.
DAY_1 = (datetime.now(timezone.utc) - timedelta(days=150)).date()
DAY_2 = DAY_1 + timedelta(days=1)
ZERO = Decimal("0.00")

Line = tuple[str, str, str | None]  # line_kind, account_code, revenue center dimension


def D(text: str) -> Decimal:
    return Decimal(text)


def yyyymmdd(day: date) -> int:
    return int(day.strftime("%Y%m%d"))


def stamp(day: date, hour_utc: int) -> str:
    """A Toast timestamp on `day` (Brooklyn's evening: UTC 22:00-23:00 is 17:00-19:00 local,
    well inside the business day that ends at 04:00 the next morning)."""
    at = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=hour_utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class Config:
    """The location's configuration records as loaded (guids by name)."""

    def __init__(self, db: Path, restaurant: str):
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute(
                "select entity, record_json from toast_raw.config_records "
                "where restaurant_guid = ?",
                (restaurant,),
            ).fetchall()
        self.by_name: dict[tuple[str, str], str] = {}
        for entity, text in rows:
            record = json.loads(text)
            self.by_name[(entity, record.get("name"))] = record["guid"]

    def ref(self, entity: str, name: str, entity_type: str) -> dict:
        return {"guid": self.by_name[(entity, name)], "entityType": entity_type}


class OrderKit:
    """Builders for Toast order documents: only what the pipeline reads, in Toast's shapes."""

    def __init__(self, config: Config):
        self.config = config

    def taxes(self, guid: str, **amounts: float) -> list[dict]:
        names = {
            "ny": ("NY State Sales Tax", 0.04),
            "bk": ("Brooklyn Local Sales Tax", 0.04875),
            "liquor": ("Liquor Tax", 0.02),
        }
        return [
            {
                "guid": f"{guid}-tax-{key}",
                "entityType": "AppliedTaxRate",
                "taxRate": self.config.ref("taxRates", names[key][0], "TaxRate"),
                "name": names[key][0],
                "rate": names[key][1],
                "taxAmount": amount,
                "type": "PERCENT",
                "facilitatorCollectAndRemitTax": False,
            }
            for key, amount in amounts.items()
        ]

    def item(
        self,
        guid: str,
        name: str,
        category: str | None,
        pre: float,
        price: float,
        *,
        taxes: dict[str, float] | None = None,
        selection_type: str = "NONE",
        deferred: bool = False,
        discounts: list[dict] | None = None,
        modifiers: list[dict] | None = None,
        refund: dict | None = None,
    ) -> dict:
        taxes = taxes or {}
        return {
            "guid": guid,
            "entityType": "MenuItemSelection",
            "displayName": name,
            "selectionType": selection_type,
            "salesCategory": (
                self.config.ref("salesCategories", category, "SalesCategory") if category else None
            ),
            "quantity": 1,
            "preDiscountPrice": pre,
            "price": price,
            "receiptLinePrice": pre,
            "tax": round(sum(taxes.values()), 2),
            "taxInclusion": "NOT_INCLUDED",
            "deferred": deferred,
            "voided": False,
            "appliedDiscounts": discounts or [],
            "modifiers": modifiers or [],
            "appliedTaxes": self.taxes(guid, **taxes),
            "refundDetails": refund,
        }

    def charge(self, guid: str, name: str, amount: float, *, gratuity=False, category=None):
        return {
            "guid": guid,
            "entityType": "AppliedServiceCharge",
            "serviceCharge": self.config.ref("serviceCharges", name, "ServiceCharge"),
            "name": name,
            "chargeType": "FIXED",
            "chargeAmount": amount,
            "gratuity": gratuity,
            "taxable": False,
            "serviceChargeCategory": category or "SERVICE_CHARGE",
            "appliedTaxes": [],
        }

    @staticmethod
    def payment(
        guid: str,
        kind: str,
        amount: float,
        day: date,
        *,
        tip: float = 0,
        card: str | None = None,
        status: str = "CAPTURED",
        refund: dict | None = None,
    ) -> dict:
        voided = status == "VOIDED"
        return {
            "guid": guid,
            "entityType": "OrderPayment",
            "type": kind,
            "cardType": card,
            "amount": amount,
            "tipAmount": tip,
            "amountTendered": round(amount + tip, 2),
            "paidDate": stamp(day, 23),
            "paidBusinessDate": yyyymmdd(day),
            "paymentStatus": status,
            "refundStatus": "FULL" if refund else "NONE",
            "refund": refund,
            "voidInfo": (
                {"voidDate": stamp(day, 23), "voidBusinessDate": yyyymmdd(day)} if voided else None
            ),
        }

    def order(
        self,
        guid: str,
        day: date,
        revenue_center: str,
        *,
        selections: list[dict],
        payments: list[dict],
        amount: float,
        tax: float,
        check_discounts: list[dict] | None = None,
        charges: list[dict] | None = None,
        payment_status: str = "CLOSED",
        modified: str | None = None,
    ) -> dict:
        opened = stamp(day, 22)
        check = {
            "guid": f"{guid}-check",
            "entityType": "Check",
            "displayNumber": guid[-2:],
            "voided": False,
            "deleted": False,
            "paymentStatus": payment_status,
            "taxExempt": False,
            "openedDate": opened,
            "closedDate": opened,
            "modifiedDate": modified or opened,
            "amount": amount,
            "taxAmount": tax,
            "totalAmount": round(amount + tax, 2),
            "appliedDiscounts": check_discounts or [],
            "appliedServiceCharges": charges or [],
            "selections": selections,
            "payments": payments,
        }
        return {
            "guid": guid,
            "entityType": "Order",
            "businessDate": yyyymmdd(day),
            "openedDate": opened,
            "modifiedDate": modified or opened,
            "closedDate": opened,
            "voided": False,
            "deleted": False,
            "excessFood": False,
            "source": "In Store",
            "revenueCenter": self.config.ref("revenueCenters", revenue_center, "RevenueCenter"),
            "checks": [check],
        }


def hand_built_orders(config: Config) -> list[dict]:
    """Seven orders over two days; the figures each one should post are worked out in EXPECTED."""
    kit = OrderKit(config)
    refund_d2 = {"guid": "acct-refund-e", "entityType": "Refund"}

    # A (day 1, Dining Room): Burger (Food, 20.00 with a 2.00 modifier already in its price),
    # Cocktail (Liquor 12.00), Iced Tea (Beverage 4.00); a 5.00 check discount shared in
    # proportion 20:12:4 -> 2.7778, 1.6667, 0.5556 -> half-even cents 2.78 + 1.67 + 0.56 = 5.01,
    # the -0.01 left on the largest (Food): 2.77 / 1.67 / 0.56. Gratuity 6.20, a donation 0.45,
    # the kitchen fee 0.93; paid by Visa 41.54 + 5.00 tip. A voided Visa and a denied Amex
    # payment of the same check moved no money.
    modifier = kit.item("acct-a1-mod", "Extra Cheese", "Food", 2.00, 2.00)
    order_a = kit.order(
        "acct-order-a",
        DAY_1,
        "Dining Room",
        selections=[
            kit.item(
                "acct-a1",
                "Burger",
                "Food",
                20.00,
                17.23,
                taxes={"ny": 0.69, "bk": 0.84},
                modifiers=[modifier],
            ),
            kit.item(
                "acct-a2",
                "Cocktail",
                "Liquor",
                12.00,
                10.33,
                taxes={"ny": 0.41, "bk": 0.50, "liquor": 0.21},
            ),
            kit.item("acct-a3", "Iced Tea", "Beverage", 4.00, 3.44, taxes={"ny": 0.14, "bk": 0.17}),
        ],
        check_discounts=[
            {
                "guid": "acct-a-disc",
                "entityType": "AppliedCustomDiscount",
                "name": "$5 Off",
                "discountType": "FIXED",
                "discountAmount": 5.00,
                "nonTaxDiscountAmount": 5.00,
            }
        ],
        charges=[
            kit.charge("acct-a-grat", "Auto Gratuity 20% (6+ guests)", 6.20, gratuity=True),
            kit.charge(
                "acct-a-donation",
                "Round Up for the Food Bank",
                0.45,
                category="FUNDRAISING_CAMPAIGN",
            ),
            kit.charge("acct-a-fee", "Kitchen Appreciation Fee 3%", 0.93),
        ],
        amount=32.38,  # 17.23 + 10.33 + 3.44 + 0.45 + 0.93 (gratuity is not in check.amount)
        tax=2.96,
        payments=[
            kit.payment(
                "acct-a-void", "CREDIT", 41.54, DAY_1, tip=5.00, card="VISA", status="VOIDED"
            ),
            kit.payment("acct-a-denied", "CREDIT", 41.54, DAY_1, card="AMEX", status="DENIED"),
            kit.payment("acct-a-pay", "CREDIT", 41.54, DAY_1, tip=5.00, card="VISA"),
        ],
    )
    # B (day 1, Bar): a gift card sold (50.00, deferred) and a house account balance paid
    # (80.00), both in cash: liabilities and receivables, never revenue.
    order_b = kit.order(
        "acct-order-b",
        DAY_1,
        "Bar",
        selections=[
            kit.item(
                "acct-b1",
                "Gift Card",
                None,
                50.00,
                50.00,
                selection_type="TOAST_CARD_SELL",
                deferred=True,
            ),
            kit.item(
                "acct-b2",
                "House Account Payment",
                None,
                80.00,
                80.00,
                selection_type="HOUSE_ACCOUNT_PAY_BALANCE",
            ),
        ],
        amount=130.00,
        tax=0.00,
        payments=[kit.payment("acct-b-pay", "CASH", 130.00, DAY_1)],
    )
    # C (day 1, Dining Room): three lemonades (Beverage 1.15, tax 0.046 NY + 0.054 Brooklyn =
    # 0.10 each: per-rate amounts below the cent, as real Toast sends) and a bottle of wine
    # (30.00, tax 1.20 + 1.46 + 0.60); 37.01 due, paid with a gift card (20.00) and charged to a
    # house account (17.01).
    lemonades = [
        kit.item(f"acct-c{n}", "Lemonade", "Beverage", 1.15, 1.15, taxes={"ny": 0.046, "bk": 0.054})
        for n in (1, 2, 3)
    ]
    order_c = kit.order(
        "acct-order-c",
        DAY_1,
        "Dining Room",
        selections=[
            *lemonades,
            kit.item(
                "acct-c4",
                "Bottle of Wine",
                "Wine",
                30.00,
                30.00,
                taxes={"ny": 1.20, "bk": 1.46, "liquor": 0.60},
            ),
        ],
        amount=33.45,
        tax=3.56,
        payments=[
            kit.payment("acct-c-gift", "GIFTCARD", 20.00, DAY_1),
            kit.payment("acct-c-house", "HOUSE_ACCOUNT", 17.01, DAY_1),
        ],
    )
    # D (day 1, Dining Room): Food 15.00 + tax 1.33 = 16.33, unpaid at the close of day 1 and
    # paid in cash on day 2.
    order_d = kit.order(
        "acct-order-d",
        DAY_1,
        "Dining Room",
        selections=[
            kit.item("acct-d1", "Pasta", "Food", 15.00, 15.00, taxes={"ny": 0.60, "bk": 0.73})
        ],
        amount=15.00,
        tax=1.33,
        payments=[kit.payment("acct-d-pay", "CASH", 16.33, DAY_2)],
        modified=stamp(DAY_2, 23),
    )
    # E (day 1, Bar): Steak (Food 40.00, tax 3.55) and Whiskey (Liquor 10.00, tax 1.09) paid by
    # Visa 54.64 + 8.00 tip; everything refunded on day 2, tip included.
    refund_e = {
        "refundAmount": 54.64,
        "tipRefundAmount": 8.00,
        "refundDate": stamp(DAY_2, 22),
        "refundBusinessDate": yyyymmdd(DAY_2),
        "refundTransaction": refund_d2,
    }
    order_e = kit.order(
        "acct-order-e",
        DAY_1,
        "Bar",
        selections=[
            kit.item(
                "acct-e1",
                "Steak",
                "Food",
                40.00,
                40.00,
                taxes={"ny": 1.60, "bk": 1.95},
                refund={
                    "refundAmount": 40.00,
                    "taxRefundAmount": 3.55,
                    "refundTransaction": refund_d2,
                },
            ),
            kit.item(
                "acct-e2",
                "Whiskey",
                "Liquor",
                10.00,
                10.00,
                taxes={"ny": 0.40, "bk": 0.49, "liquor": 0.20},
                refund={
                    "refundAmount": 10.00,
                    "taxRefundAmount": 1.09,
                    "refundTransaction": refund_d2,
                },
            ),
        ],
        amount=50.00,
        tax=4.64,
        payments=[
            kit.payment(
                "acct-e-pay", "CREDIT", 54.64, DAY_1, tip=8.00, card="VISA", refund=refund_e
            )
        ],
        modified=stamp(DAY_2, 22),
    )
    # F (day 1, Dining Room): a staff meal, Food 9.00 with Employee Meal 50% (4.50) -> 4.50 +
    # tax 0.40 = 4.90 due; 5.00 cash handed over and no change recorded: 0.10 over.
    order_f = kit.order(
        "acct-order-f",
        DAY_1,
        "Dining Room",
        selections=[
            kit.item(
                "acct-f1",
                "Club Sandwich",
                "Food",
                9.00,
                4.50,
                taxes={"ny": 0.18, "bk": 0.22},
                discounts=[
                    {
                        "guid": "acct-f1-disc",
                        "entityType": "SelectionAppliedDiscount",
                        "name": "Employee Meal 50%",
                        "discount": config.ref("discounts", "Employee Meal 50%", "Discount"),
                        "discountType": "PERCENT",
                        "discountPercent": 50,
                        "discountAmount": 4.50,
                        "nonTaxDiscountAmount": 4.50,
                    }
                ],
            )
        ],
        amount=4.50,
        tax=0.40,
        payments=[kit.payment("acct-f-pay", "CASH", 5.00, DAY_1)],
    )
    # G (day 2, Bar): a beer (Beer 7.00, tax 0.28 + 0.34) paid by Amex 7.62 + 1.50 tip.
    order_g = kit.order(
        "acct-order-g",
        DAY_2,
        "Bar",
        selections=[
            kit.item("acct-g1", "Lager", "Beer", 7.00, 7.00, taxes={"ny": 0.28, "bk": 0.34})
        ],
        amount=7.00,
        tax=0.62,
        payments=[kit.payment("acct-g-pay", "CREDIT", 7.62, DAY_2, tip=1.50, card="AMEX")],
    )
    return [order_a, order_b, order_c, order_d, order_e, order_f, order_g]


# Day 1, by hand. (line_kind, account, revenue center dimension): (debit, credit)
DAY_1_LINES: dict[Line, tuple[Decimal, Decimal]] = {
    # gross sales per category x revenue center: A 20.00 (modifier inside) + D 15.00 + F 9.00
    ("sales", "4000", "DINING"): (ZERO, D("44.00")),
    ("sales", "4000", "BAR"): (ZERO, D("40.00")),  # E
    ("sales", "4020", "DINING"): (ZERO, D("12.00")),  # A
    ("sales", "4020", "BAR"): (ZERO, D("10.00")),  # E
    ("sales", "4010", "DINING"): (ZERO, D("7.45")),  # A 4.00 + C 3 x 1.15
    ("sales", "4040", "DINING"): (ZERO, D("30.00")),  # C
    # A's check discount spread over three categories; F's on the employee meal account
    ("discount", "4100", "DINING"): (D("2.77"), ZERO),
    ("discount", "4120", "DINING"): (D("1.67"), ZERO),
    ("discount", "4110", "DINING"): (D("0.56"), ZERO),
    ("discount", "4160", "DINING"): (D("4.50"), ZERO),
    ("gift_card_sales", "2100", None): (ZERO, D("50.00")),
    ("house_account_payments", "1200", None): (ZERO, D("80.00")),
    ("gratuity", "2310", None): (ZERO, D("6.20")),
    ("donations", "2320", None): (ZERO, D("0.45")),
    ("service_charge", "4200", "DINING"): (ZERO, D("0.93")),
    # Tax per rate, summed at full precision and rounded once for the day:
    #   NY       0.69 + 0.41 + 0.14 + 3 x 0.046 + 1.20 + 0.60 + 1.60 + 0.40 + 0.18 = 5.358
    #   Brooklyn 0.84 + 0.50 + 0.17 + 3 x 0.054 + 1.46 + 0.73 + 1.95 + 0.49 + 0.22 = 6.522
    #   Liquor   0.21 + 0.60 + 0.20                                              = 1.01
    # Σ check.taxAmount = 2.96 + 3.56 + 1.33 + 4.64 + 0.40 = 12.89 = 1289 cents: floors 535 +
    # 652 + 101 = 1288, the last cent to the largest remainder (NY .8): 5.36 / 6.52 / 1.01.
    # (Rounding each applied tax first would give NY 5.37 and Brooklyn 6.51.)
    ("tax", "2200", None): (ZERO, D("5.36")),
    ("tax", "2210", None): (ZERO, D("6.52")),
    ("tax", "2220", None): (ZERO, D("1.01")),
    ("tip", "2300", None): (ZERO, D("13.00")),  # card tips: A 5.00 + E 8.00
    # tenders = amount + tip: Visa A 46.54 + E 62.64; cash B 130.00 + F 5.00; gift card; house
    ("tender", "1110", None): (D("109.18"), ZERO),
    ("tender", "1010", None): (D("135.00"), ZERO),
    ("tender", "2100", None): (D("20.00"), ZERO),
    ("tender", "1200", None): (D("17.01"), ZERO),
    ("unpaid_checks", "1210", None): (D("16.33"), ZERO),  # D, paid only on day 2
    ("over_short", "6900", None): (ZERO, D("0.10")),  # F: 5.00 taken for 4.90 due
}
# credits 143.45 + 50 + 80 + 6.20 + 0.45 + 0.93 + 12.89 + 13.00 + 0.10 = 307.02
# debits  9.50 + 109.18 + 135.00 + 20.00 + 17.01 + 16.33                = 307.02

# Day 2: D's payment collects the receivable; E's refund (on the refund's business date, not
# the order's); G's sale.
DAY_2_LINES: dict[Line, tuple[Decimal, Decimal]] = {
    ("tender", "1010", None): (D("16.33"), ZERO),
    ("unpaid_checks_collected", "1210", None): (ZERO, D("16.33")),
    ("refund_tender", "1110", None): (ZERO, D("62.64")),  # 54.64 + 8.00 tip refund
    ("refund_sales", "4000", "BAR"): (D("40.00"), ZERO),
    ("refund_sales", "4020", "BAR"): (D("10.00"), ZERO),
    # refunded tax per rate, shared over each item's applied taxes (exact here):
    # Steak 1.60 NY + 1.95 Brooklyn, Whiskey 0.40 NY + 0.49 Brooklyn + 0.20 liquor
    ("refund_tax", "2200", None): (D("2.00"), ZERO),
    ("refund_tax", "2210", None): (D("2.44"), ZERO),
    ("refund_tax", "2220", None): (D("0.20"), ZERO),
    ("refund_tip", "2300", None): (D("8.00"), ZERO),
    ("sales", "4030", "BAR"): (ZERO, D("7.00")),
    ("tax", "2200", None): (ZERO, D("0.28")),
    ("tax", "2210", None): (ZERO, D("0.34")),
    ("tip", "2300", None): (ZERO, D("1.50")),
    ("tender", "1115", None): (D("9.12"), ZERO),  # Amex 7.62 + 1.50
}
# credits 16.33 + 62.64 + 7.00 + 0.62 + 1.50 = 88.09
# debits  16.33 + 40 + 10 + 2.00 + 2.44 + 0.20 + 8.00 + 9.12 = 88.09


@pytest.fixture(scope="module")
def journal(toast_sandbox, tmp_path_factory):
    """Load the two days with the hand-built orders and build them, once for this module."""
    workdir = tmp_path_factory.mktemp("journal-accounts")
    db = workdir / "warehouse.duckdb"
    restaurant = toast_sandbox.restaurants[0]  # Brooklyn Heights: NY, Brooklyn, liquor tax
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("SOURCES__", "CLOSEOUT_", "ERP__")):
                patch.delenv(name)
        patch.setenv("CLOSEOUT_DB", str(db))
        patch.setenv("SOURCES__TOAST__BASE_URL", toast_sandbox.url)
        patch.setenv("SOURCES__TOAST__CLIENT_ID", toast_sandbox.client_id)
        patch.setenv("SOURCES__TOAST__CLIENT_SECRET", toast_sandbox.client_secret)
        patch.chdir(workdir)
        toast_sandbox.control("reset")
        toast_sandbox.control("rate_limits", {"enabled": True})
        toast_sandbox.freeze(datetime.now(timezone.utc))
        days = (DAY_1, DAY_2)
        assert run_load(business_date_range=days, restaurant_guids=[restaurant]).ok
        for order in hand_built_orders(Config(db, restaurant)):
            toast_sandbox.control("orders", {"restaurant": restaurant, "order": order})
        assert run_load(business_date_range=days, restaurant_guids=[restaurant]).ok
        result = transform.run_build(quiet=True)
        toast_sandbox.control("clock", {})
        assert result.ok, [f"{p.name}: {p.message}" for p in result.errors]
        yield Journal(db, restaurant)


class Journal:
    def __init__(self, db: Path, restaurant: str):
        self.db = db
        self.restaurant = restaurant

    def query(self, sql: str, params=()) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql, params).fetchall()

    def lines(self, day: date, *kinds: str) -> dict[Line, tuple[Decimal, Decimal]]:
        """The day's sales journal lines (of `kinds`, or all), per line kind, account and
        revenue center dimension: (debit, credit)."""
        rows = self.query(
            """
            select line_kind, account_code, revenue_center_dimension, sum(debit), sum(credit)
            from finance.journal_lines
            where restaurant_guid = ? and business_date = ? and journal_type = 'sales'
            group by all""",
            (self.restaurant, day),
        )
        return {
            (kind, account, dimension): (debit, credit)
            for kind, account, dimension, debit, credit in rows
            if not kinds or kind in kinds
        }


def expected(lines: dict[Line, tuple[Decimal, Decimal]], *kinds: str):
    return {key: amounts for key, amounts in lines.items() if key[0] in kinds}


@pytest.mark.parametrize(
    "kinds",
    [
        ("tip",),
        ("gratuity",),
        ("donations",),
        ("service_charge",),
        ("gift_card_sales",),
        ("house_account_payments",),
        ("tender",),
        ("sales",),
        ("discount",),
        ("tax",),
        ("unpaid_checks", "unpaid_checks_collected"),
        ("over_short",),
    ],
    ids=lambda kinds: "+".join(kinds),
)
def test_day_1_line_kind_posts_to_its_account(journal, kinds):
    assert journal.lines(DAY_1, *kinds) == expected(DAY_1_LINES, *kinds)


@pytest.mark.parametrize(
    "kinds",
    [
        ("refund_tender",),
        ("refund_sales",),
        ("refund_tax",),
        ("refund_tip",),
        ("tender", "unpaid_checks_collected"),
        ("sales", "tax", "tip"),
    ],
    ids=lambda kinds: "+".join(kinds),
)
def test_day_2_line_kind_posts_to_its_account(journal, kinds):
    assert journal.lines(DAY_2, *kinds) == expected(DAY_2_LINES, *kinds)


def test_each_day_holds_exactly_the_hand_computed_lines_and_balances(journal):
    for day, lines in ((DAY_1, DAY_1_LINES), (DAY_2, DAY_2_LINES)):
        assert journal.lines(day) == lines
        debits = sum((debit for debit, _ in lines.values()), ZERO)
        credits = sum((credit for _, credit in lines.values()), ZERO)
        assert debits == credits, day


def test_refunds_leave_the_orders_day_alone(journal):
    refund_kinds = [kind for kind, _, _ in DAY_2_LINES if kind.startswith("refund_")]
    assert journal.lines(DAY_1, *refund_kinds) == {}


def test_both_days_are_ready_and_tie_to_toast(journal):
    rows = journal.query(
        """
        select business_date, status, hold_reasons from finance.journals
        where restaurant_guid = ? and journal_type = 'sales' and business_date in (?, ?)
        order by business_date""",
        (journal.restaurant, DAY_1, DAY_2),
    )
    assert [(day, status) for day, status, _ in rows] == [(DAY_1, "ready"), (DAY_2, "ready")]
    assert not any(reasons for _, _, reasons in rows), rows
    # Toast's figures by its own formulas, worked out by hand, beside the journal's.
    summary = journal.query(
        """
        select toast_gross_sales, toast_discounts, toast_net_sales, toast_tax, toast_tips,
               toast_gratuity, toast_donations, toast_gift_card_sales,
               toast_house_account_payments, toast_tenders_cash, toast_tenders_credit,
               toast_tenders_giftcard, toast_tenders_house_account, toast_refunds,
               toast_tip_refunds
        from finance.sales_summary where restaurant_guid = ? and business_date = ?""",
        (journal.restaurant, DAY_1),
    )
    assert summary == [
        (
            D("143.45"),  # gross: every counted item's preDiscountPrice, gift card and house
            D("9.50"),  # account payment left out; discounts 5.00 check + 4.50 item
            D("134.88"),  # net = 143.45 - 9.50 + 0.93 (kitchen fee; gratuity, donation out)
            D("12.89"),
            D("13.00"),
            D("6.20"),
            D("0.45"),
            D("50.00"),
            D("80.00"),
            D("135.00"),
            D("109.18"),  # Visa 41.54 + 5.00 and 54.64 + 8.00; the voided and denied: nothing
            D("20.00"),
            D("17.01"),
            ZERO,
            ZERO,
        )
    ]
