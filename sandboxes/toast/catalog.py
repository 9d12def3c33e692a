"""What each sandbox location sells and how it is configured: menu, taxes, discounts, service
charges, dining options, tenders, jobs and staff. Orders reference these by GUID."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sandboxes.toast.ids import derived_guid

D = Decimal


@dataclass(frozen=True)
class Template:
    time_zone: str
    closeout_hour: int
    name: str
    location_name: str
    address: str
    city: str
    state: str
    zip_code: str
    phone: str
    latitude: float
    longitude: float
    state_tax: Decimal
    local_tax: Decimal
    alcohol_tax: Decimal
    cash_rounding: bool = False  # rounds cash checks to 0.05 (a CASH_ROUNDING service charge)
    # The shapes a location's Toast sends (Toast's own examples show each of them):
    no_revenue_center: float = 0.0  # share of orders with `revenueCenter: null`
    combined_tax: bool = False  # an item's rates taxed together, per-rate amounts sub-cent
    tips_in_total: bool = False  # check totalAmount includes the payments' tips
    whole_as_integer: bool = False  # whole amounts written as JSON integers (3, 0)
    null_deleted_date: bool = False  # deletedDate null, not 1970-01-01, when not deleted
    approves_online: bool = False  # online orders wait in NEEDS_APPROVAL until accepted
    # appliedTaxes[] (and a take-out guest) sent without a guid, as in Toast's examples
    unkeyed_applied_taxes: bool = False


# Different zones and closeout hours on purpose, including a zone without DST (Phoenix, Honolulu).
TEMPLATES = (
    Template(
        "America/New_York",
        4,
        "Harbor & Vine",
        "Brooklyn Heights",
        "142 Montague St",
        "Brooklyn",
        "NY",
        "11201",
        "7185550142",
        40.6944,
        -73.9937,
        D("0.04"),
        D("0.04875"),
        D("0.02"),
    ),
    Template(
        "America/Chicago",
        3,
        "Harbor & Vine",
        "West Loop",
        "901 W Randolph St",
        "Chicago",
        "IL",
        "60607",
        "3125550901",
        41.8843,
        -87.6499,
        D("0.0625"),
        D("0.0075"),
        D("0.09"),
        no_revenue_center=0.8,
        combined_tax=True,
        tips_in_total=True,
        null_deleted_date=True,
        approves_online=True,
        unkeyed_applied_taxes=True,
    ),
    Template(
        "America/Los_Angeles",
        5,
        "Harbor & Vine",
        "Silver Lake",
        "3206 Sunset Blvd",
        "Los Angeles",
        "CA",
        "90026",
        "3235553206",
        34.0838,
        -118.2705,
        D("0.0725"),
        D("0.0225"),
        D("0.01"),
        cash_rounding=True,
        no_revenue_center=0.15,
        whole_as_integer=True,
        approves_online=True,
    ),
    Template(
        "America/Denver",
        2,
        "Harbor & Vine",
        "LoHi",
        "1601 Platte St",
        "Denver",
        "CO",
        "80202",
        "3035551601",
        39.7596,
        -105.0069,
        D("0.029"),
        D("0.0521"),
        D("0.02"),
    ),
    Template(
        "America/Phoenix",
        0,
        "Harbor & Vine",
        "Roosevelt Row",
        "702 N 5th St",
        "Phoenix",
        "AZ",
        "85004",
        "6025550702",
        33.4566,
        -112.0661,
        D("0.056"),
        D("0.033"),
        D("0.02"),
        cash_rounding=True,
    ),
    Template(
        "Pacific/Honolulu",
        4,
        "Harbor & Vine",
        "Kaka'ako",
        "675 Auahi St",
        "Honolulu",
        "HI",
        "96813",
        "8085550675",
        21.2956,
        -157.8589,
        D("0.04"),
        D("0.005"),
        D("0.01"),
    ),
)


@dataclass(frozen=True)
class Ref:
    guid: str
    entity_type: str

    def doc(self) -> dict:
        return {"guid": self.guid, "entityType": self.entity_type, "externalId": None}


@dataclass(frozen=True)
class TaxRate:
    key: str
    ref: Ref
    name: str
    rate: Decimal | None
    type: str
    rounding: str | None


@dataclass(frozen=True)
class ModOption:
    ref: Ref
    name: str
    price: Decimal
    option_group: Ref
    taxes: tuple[TaxRate, ...] = ()  # its own taxes (a shot in a lemonade); () inherits
    children: tuple[ModOption, ...] = ()  # modifiers of this modifier
    sales_category: Ref | None = None  # usually none: its price is inside the parent's


@dataclass(frozen=True)
class MenuItem:
    key: str
    ref: Ref
    name: str
    price: Decimal  # receiptLinePrice; tax-inclusive when inclusion is INCLUDED
    group: Ref
    sales_category: Ref
    taxes: tuple[TaxRate, ...]
    inclusion: str  # INCLUDED / NOT_INCLUDED
    modifiers: tuple[ModOption, ...]
    plu: str
    alcohol: bool
    unit_of_measure: str = "NONE"  # LB: sold by weight, fractional quantity


@dataclass(frozen=True)
class Discount:
    key: str
    ref: Ref
    name: str
    type: str  # PERCENT / FIXED
    percent: Decimal | None
    amount: Decimal | None
    selection_type: str  # ITEM / CHECK / BOGO
    fixed_total: Decimal | None = None  # FIXED_TOTAL (combo): the price the items come to


@dataclass(frozen=True)
class ServiceCharge:
    key: str
    ref: Ref
    name: str
    amount_type: str  # FIXED / PERCENT / OPEN
    amount: Decimal | None
    percent: Decimal | None
    gratuity: bool
    taxable: bool
    category: str  # SERVICE_CHARGE / FUNDRAISING_CAMPAIGN / CREDIT_CARD_SURCHARGE / ...
    calculation: str | None  # PRE_DISCOUNT / POST_DISCOUNT for PERCENT
    destination: str
    dine_in: bool
    takeout: bool
    delivery: bool


@dataclass(frozen=True)
class DiningOption:
    key: str
    ref: Ref
    name: str
    behavior: str
    marketplace: str | None  # key of the alternate payment type a facilitator pays with


@dataclass(frozen=True)
class Employee:
    ref: Ref
    first_name: str
    last_name: str
    job: str
    wage: Decimal | None  # None for salaried jobs (Toast returns hourlyWage null)


@dataclass
class Catalog:
    """One location's configuration, as objects for the generator and as config documents."""

    index: int
    template: Template
    tax_rates: dict[str, TaxRate]
    items: dict[str, MenuItem]
    discounts: dict[str, Discount]
    service_charges: dict[str, ServiceCharge]
    dining_options: dict[str, DiningOption]
    revenue_centers: dict[str, Ref]
    sales_categories: dict[str, Ref]
    alternate_payments: dict[str, Ref]
    house_accounts: tuple[Ref, ...]
    void_reasons: tuple[Ref, ...]
    restaurant_services: dict[str, Ref]
    jobs: dict[str, Ref]
    employees: tuple[Employee, ...]
    devices: tuple[str, ...]
    cash_drawer: Ref
    # The menu item behind a selection that sells no menu item (a gift card sold or reloaded, a
    # house account paid), by selectionType: Toast's spec requires every selection's `item`.
    special_items: dict[str, Ref] = field(default_factory=dict)
    documents: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def food_items(self) -> list[MenuItem]:
        return [i for i in self.items.values() if i.sales_category == self.sales_categories["food"]]

    def staff(self, *jobs: str) -> list[Employee]:
        return [e for e in self.employees if e.job in jobs]


SALES_CATEGORIES = (
    ("food", "Food"),
    ("beverage", "Beverage"),
    ("liquor", "Liquor"),
    ("beer", "Beer"),
    ("wine", "Wine"),
    ("retail", "Retail"),
)
REVENUE_CENTERS = (
    ("dining", "Dining Room", "Main dining room and patio tables"),
    ("bar", "Bar", "Bar counter and lounge"),
    ("patio", "Patio", "Seasonal patio"),
    ("offsite", "Takeout & Delivery", "Counter pickup, own delivery, marketplaces"),
)
DINING_OPTIONS = (
    ("dine_in", "Dine In", "DINE_IN", None),
    ("take_out", "Take Out", "TAKE_OUT", None),
    ("delivery", "Delivery", "DELIVERY", None),
    ("doordash", "DoorDash Delivery", "DELIVERY", "doordash"),
    ("ubereats", "Uber Eats Delivery", "DELIVERY", "ubereats"),
)
ALTERNATE_PAYMENTS = (
    ("doordash", "DoorDash"),
    ("ubereats", "Uber Eats"),
    ("check", "Check"),
    ("venmo", "Venmo"),
)
JOBS = (
    ("server", "Server", "HOURLY", D("8.50"), True, "SRV"),
    ("bartender", "Bartender", "HOURLY", D("9.25"), True, "BAR"),
    ("line_cook", "Line Cook", "HOURLY", D("19.50"), False, "LC"),
    ("dishwasher", "Dishwasher", "HOURLY", D("16.25"), False, "DW"),
    ("manager", "Shift Manager", "HOURLY", D("27.00"), False, "MGR"),
    ("gm", "General Manager", "SALARY", D("72000.00"), False, "GM"),
)
STAFF = (
    ("Maya", "Ortiz", "server"),
    ("Jonah", "Reed", "server"),
    ("Priya", "Nair", "server"),
    ("Luis", "Campos", "server"),
    ("Tessa", "Wong", "server"),
    ("Dev", "Malik", "bartender"),
    ("Ruby", "Hale", "bartender"),
    ("Sam", "Okafor", "line_cook"),
    ("Ana", "Ruiz", "line_cook"),
    ("Ben", "Fisher", "line_cook"),
    ("Kai", "Moana", "dishwasher"),
    ("Lena", "Petrov", "dishwasher"),
    ("Chris", "Duval", "manager"),
    ("Jordan", "Blake", "gm"),
)

# key, name, price, group, sales category, taxes, inclusion, modifier keys
MENU = (
    (
        "burger",
        "House Burger",
        "16.00",
        "mains",
        "food",
        "std",
        "NOT_INCLUDED",
        ("bacon", "cheese", "avocado", "no_onion"),
    ),
    (
        "chicken",
        "Roast Half Chicken",
        "24.00",
        "mains",
        "food",
        "std",
        "NOT_INCLUDED",
        ("side_salad", "fries"),
    ),
    ("salmon", "Seared Salmon", "28.50", "mains", "food", "std", "NOT_INCLUDED", ("side_salad",)),
    (
        "pasta",
        "Rigatoni Vodka",
        "19.00",
        "mains",
        "food",
        "std",
        "NOT_INCLUDED",
        ("chicken_add", "extra_parm"),
    ),
    (
        "steak",
        "Hanger Steak Frites",
        "32.00",
        "mains",
        "food",
        "std",
        "NOT_INCLUDED",
        ("side_salad",),
    ),
    ("wings", "Crispy Wings", "13.50", "starters", "food", "std", "NOT_INCLUDED", ("extra_sauce",)),
    ("calamari", "Fried Calamari", "14.00", "starters", "food", "std", "NOT_INCLUDED", ()),
    ("soup", "Soup of the Day", "8.99", "starters", "food", "std", "NOT_INCLUDED", ()),
    (
        "salad",
        "Market Salad",
        "12.00",
        "starters",
        "food",
        "std",
        "NOT_INCLUDED",
        ("chicken_add", "avocado"),
    ),
    ("fries", "Hand-cut Fries", "6.50", "starters", "food", "std", "NOT_INCLUDED", ()),
    ("cake", "Chocolate Cake", "9.00", "desserts", "food", "std", "NOT_INCLUDED", ()),
    ("brisket", "Smoked Brisket (per lb)", "26.00", "mains", "food", "std", "NOT_INCLUDED", ()),
    ("sundae", "Sundae", "8.25", "desserts", "food", "std", "NOT_INCLUDED", ()),
    ("soda", "Fountain Soda", "3.25", "soft", "beverage", "std", "NOT_INCLUDED", ()),
    ("lemonade", "Fresh Lemonade", "4.75", "soft", "beverage", "std", "NOT_INCLUDED", ("shot",)),
    ("coffee", "Drip Coffee", "3.50", "soft", "beverage", "std", "NOT_INCLUDED", ("shot",)),
    ("water", "Sparkling Water", "4.00", "soft", "beverage", "deposit", "NOT_INCLUDED", ()),
    ("margarita", "Margarita", "13.00", "cocktails", "liquor", "alcohol", "NOT_INCLUDED", ()),
    (
        "old_fashioned",
        "Old Fashioned",
        "15.00",
        "cocktails",
        "liquor",
        "alcohol",
        "NOT_INCLUDED",
        (),
    ),
    ("martini", "Martini", "14.50", "cocktails", "liquor", "alcohol", "NOT_INCLUDED", ()),
    ("ipa", "Draft IPA", "8.00", "beer", "beer", "alcohol", "INCLUDED", ()),
    ("lager", "Pilsner Lager", "7.00", "beer", "beer", "alcohol", "INCLUDED", ()),
    ("house_red", "House Red (glass)", "12.00", "wine", "wine", "alcohol", "INCLUDED", ()),
    ("sauv_blanc", "Sauvignon Blanc (glass)", "13.00", "wine", "wine", "alcohol", "INCLUDED", ()),
    ("bottle_red", "Reserve Cabernet (bottle)", "58.00", "wine", "wine", "alcohol", "INCLUDED", ()),
    ("tshirt", "Logo T-Shirt", "25.00", "merch", "retail", "state", "NOT_INCLUDED", ()),
    ("hot_sauce", "House Hot Sauce", "9.00", "merch", "retail", "state", "NOT_INCLUDED", ()),
)
MENU_GROUPS = (
    ("starters", "Starters"),
    ("mains", "Mains"),
    ("desserts", "Desserts"),
    ("soft", "Soft Drinks"),
    ("cocktails", "Cocktails"),
    ("beer", "Beer"),
    ("wine", "Wine"),
    ("merch", "Merchandise"),
)
WEIGHED = {"brisket": "LB"}
# key, name, price, option group, own taxes (a tax set, or None to inherit), modifiers of it
MODIFIERS = (
    ("extra_cheese", "Make It Extra", "0.50", "cheese_adds", None, ()),
    ("ranch", "Ranch Dressing", "0.00", "dressings", None, ()),
    ("add_feta", "Add Feta", "1.00", "salad_adds", None, ()),
    ("premium", "Premium Spirit", "2.00", "spirit_upgrades", "alcohol", ()),
    ("bacon", "Add Bacon", "2.50", "burger_adds", None, ()),
    ("cheese", "Add Cheddar", "1.25", "burger_adds", None, ("extra_cheese",)),
    ("avocado", "Add Avocado", "2.00", "adds", None, ()),
    ("no_onion", "No Onion", "0.00", "burger_adds", None, ()),
    ("side_salad", "Side Salad", "3.00", "sides", None, ("ranch", "add_feta")),
    ("fries", "Side Fries", "0.00", "sides", None, ()),
    ("chicken_add", "Add Chicken", "6.00", "adds", None, ()),
    ("extra_parm", "Extra Parmesan", "1.00", "adds", None, ()),
    ("extra_sauce", "Extra Sauce", "0.75", "adds", None, ()),
    ("shot", "Add a Shot", "4.00", "spirits", "alcohol", ("premium",)),
)
DISCOUNTS = (
    ("item_10", "10% Off Item", "PERCENT", "10", None, "ITEM"),
    ("item_5off", "$5 Off Item", "FIXED", None, "5.00", "ITEM"),
    ("employee_50", "Employee Meal 50%", "PERCENT", "50", None, "ITEM"),
    ("check_15", "15% Off Check", "PERCENT", "15", None, "CHECK"),
    ("check_10off", "$10 Off Check", "FIXED", None, "10.00", "CHECK"),
    ("waste", "Waste", "PERCENT", "100", None, "ITEM"),
    ("bogo", "Buy One Get One", "BOGO", None, None, "BOGO"),
    ("open_comp", "Manager Comp ($)", "OPEN_FIXED", None, None, "ITEM"),
    ("happy_hour", "Happy Hour Cocktail $9", "FIXED_TOTAL", None, None, "ITEM"),
)
FIXED_TOTALS = {"happy_hour": "9.00"}


def _service_charges(index: int, seed: int, cash_rounding: bool) -> dict[str, ServiceCharge]:
    # key, name, amountType, amount, percent, gratuity, taxable, category, calc, destination,
    # dineIn, takeout, delivery
    rows = [
        (
            "gratuity",
            "Auto Gratuity 20% (6+ guests)",
            "PERCENT",
            None,
            "20",
            True,
            False,
            "SERVICE_CHARGE",
            "PRE_DISCOUNT",
            "SERVER",
            True,
            False,
            False,
        ),
        (
            "service_fee",
            "Kitchen Appreciation Fee 3%",
            "PERCENT",
            None,
            "3",
            False,
            True,
            "SERVICE_CHARGE",
            "POST_DISCOUNT",
            "RESTAURANT",
            True,
            True,
            True,
        ),
        (
            "delivery_fee",
            "Delivery Fee",
            "FIXED",
            "4.99",
            None,
            False,
            True,
            "SERVICE_CHARGE",
            None,
            "RESTAURANT",
            False,
            False,
            True,
        ),
        (
            "fundraising",
            "Round Up for the Food Bank",
            "OPEN",
            None,
            None,
            False,
            False,
            "FUNDRAISING_CAMPAIGN",
            None,
            "THIRD_PARTY",
            True,
            True,
            True,
        ),
        (
            "cc_surcharge",
            "Credit Card Surcharge 3%",
            "PERCENT",
            None,
            "3",
            False,
            False,
            "CREDIT_CARD_SURCHARGE",
            "POST_DISCOUNT",
            "RESTAURANT",
            True,
            True,
            True,
        ),
    ]
    if cash_rounding:
        rows.append(
            (
                "cash_rounding",
                "Cash Rounding",
                "OPEN",
                None,
                None,
                False,
                False,
                "CASH_ROUNDING",
                None,
                "RESTAURANT",
                True,
                True,
                True,
            )
        )
    return {row[0]: _service_charge(seed, index, *row) for row in rows}


def _service_charge(seed, index, key, name, kind, amount, percent, *flags) -> ServiceCharge:
    gratuity, taxable, category, calculation, destination, dine_in, takeout, delivery = flags
    return ServiceCharge(
        key,
        Ref(derived_guid(seed, index, "serviceCharge", key), "ServiceCharge"),
        name,
        kind,
        D(amount) if amount else None,
        D(percent) if percent else None,
        gratuity,
        taxable,
        category,
        calculation,
        destination,
        dine_in,
        takeout,
        delivery,
    )


def build_catalog(seed: int, index: int, template: Template) -> Catalog:
    def ref(kind: str, key: str, entity_type: str) -> Ref:
        return Ref(derived_guid(seed, index, kind, key), entity_type)

    t = template
    taxes = {
        "state": TaxRate(
            "state",
            ref("taxRate", "state", "TaxRate"),
            f"{t.state} State Sales Tax",
            t.state_tax,
            "PERCENT",
            "HALF_UP",
        ),
        "local": TaxRate(
            "local",
            ref("taxRate", "local", "TaxRate"),
            f"{t.city} Local Sales Tax",
            t.local_tax,
            "PERCENT",
            "HALF_EVEN",
        ),
        "alcohol": TaxRate(
            "alcohol",
            ref("taxRate", "alcohol", "TaxRate"),
            "Liquor Tax",
            t.alcohol_tax,
            "PERCENT",
            "HALF_UP",
        ),
        "deposit": TaxRate(
            "deposit",
            ref("taxRate", "deposit", "TaxRate"),
            "Bottle Deposit",
            D("0.05"),
            "FIXED",
            None,
        ),
        "marketplace": TaxRate(
            "marketplace",
            ref("taxRate", "marketplace", "TaxRate"),
            "Marketplace Facilitator Taxes Paid",
            None,
            "EXTERNAL",
            None,
        ),
    }
    tax_sets = {
        "std": (taxes["state"], taxes["local"]),
        "state": (taxes["state"],),
        "alcohol": (taxes["state"], taxes["local"], taxes["alcohol"]),
        "deposit": (taxes["state"], taxes["local"], taxes["deposit"]),
    }
    sales = {key: ref("salesCategory", key, "SalesCategory") for key, _ in SALES_CATEGORIES}
    groups = {key: ref("menuGroup", key, "MenuGroup") for key, _ in MENU_GROUPS}
    mods: dict[str, ModOption] = {}
    for key, name, price, group, tax_set, children in MODIFIERS:  # children listed first
        mods[key] = ModOption(
            ref("modifier", key, "MenuItem"),
            name,
            D(price),
            ref("optionGroup", group, "MenuOptionGroup"),
            tax_sets[tax_set] if tax_set else (),
            tuple(mods[c] for c in children),
        )
    items = {}
    for n, (key, name, price, group, category, tax_set, inclusion, mod_keys) in enumerate(MENU):
        items[key] = MenuItem(
            key,
            ref("menuItem", key, "MenuItem"),
            name,
            D(price),
            groups[group],
            sales[category],
            tax_sets[tax_set],
            inclusion,
            tuple(mods[m] for m in mod_keys),
            f"{1000 + n}",
            category in ("liquor", "beer", "wine"),
            WEIGHED.get(key, "NONE"),
        )
    discounts = {
        key: Discount(
            key,
            ref("discount", key, "Discount"),
            name,
            kind,
            D(pct) if pct else None,
            D(amount) if amount else None,
            sel,
            D(FIXED_TOTALS[key]) if key in FIXED_TOTALS else None,
        )
        for key, name, kind, pct, amount, sel in DISCOUNTS
    }
    dining = {
        key: DiningOption(key, ref("diningOption", key, "DiningOption"), name, behavior, mkt)
        for key, name, behavior, mkt in DINING_OPTIONS
    }
    jobs = {key: ref("job", key, "RestaurantJob") for key, *_ in JOBS}
    wages = {key: (D(wage) if kind == "HOURLY" else None) for key, _, kind, wage, *_ in JOBS}
    employees = tuple(
        Employee(
            ref("employee", f"{first}-{last}", "RestaurantUser"),
            first,
            last,
            job,
            None if wages[job] is None else wages[job] + D(n % 3) * D("0.75"),
        )
        for n, (first, last, job) in enumerate(STAFF)
    )
    catalog = Catalog(
        index=index,
        template=t,
        tax_rates=taxes,
        items=items,
        discounts=discounts,
        service_charges=_service_charges(index, seed, t.cash_rounding),
        dining_options=dining,
        revenue_centers={
            key: ref("revenueCenter", key, "RevenueCenter") for key, *_ in REVENUE_CENTERS
        },
        sales_categories=sales,
        alternate_payments={
            key: ref("alternatePaymentType", key, "AlternatePaymentType")
            for key, _ in ALTERNATE_PAYMENTS
        },
        house_accounts=tuple(ref("houseAccount", str(n), "HouseAccount") for n in range(4)),
        void_reasons=tuple(
            ref("voidReason", key, "VoidReason")
            for key in ("changed_mind", "kitchen_error", "server_error")
        ),
        restaurant_services={
            key: ref("restaurantService", key, "RestaurantService")
            for key in ("lunch", "dinner", "late_night")
        },
        jobs=jobs,
        employees=employees,
        devices=tuple(
            derived_guid(seed, index, "device", n).replace("-", "")[:16] for n in range(3)
        ),
        cash_drawer=ref("cashDrawer", "main", "CashDrawer"),
        special_items={
            kind: ref("menuItem", kind, "MenuItem")
            for kind in ("TOAST_CARD_SELL", "TOAST_CARD_RELOAD", "HOUSE_ACCOUNT_PAY_BALANCE")
        },
    )
    catalog.documents = _config_documents(catalog)
    return catalog


def _config_documents(c: Catalog) -> dict[str, list[dict]]:
    def tax_doc(t: TaxRate) -> dict:
        return {
            "guid": t.ref.guid,
            "entityType": "TaxRate",
            "name": t.name,
            "isDefault": t.key in ("state", "local"),
            "rate": t.rate,
            "type": t.type,
            "roundingType": t.rounding,
            "taxTable": [],
            "conditionalTaxRates": [],
        }

    def sc_doc(s: ServiceCharge) -> dict:
        applicable = (
            [tax_doc(c.tax_rates["state"]), tax_doc(c.tax_rates["local"])] if s.taxable else []
        )
        return {
            "guid": s.ref.guid,
            "entityType": "ServiceCharge",
            "externalId": None,
            "name": s.name,
            "amountType": s.amount_type,
            "amount": s.amount,
            "percent": s.percent,
            "criteria": {
                "minCheckAmount": None,
                "maxCheckAmount": None,
                "minDeliveryDistance": None,
                "dineIn": s.dine_in,
                "takeout": s.takeout,
                "delivery": s.delivery,
            },
            "gratuity": s.gratuity,
            "taxable": s.taxable,
            "applicableTaxes": applicable,
            "serviceChargeCalculation": s.calculation,
            "destination": s.destination,
            "taxInclusive": False,
            "taxProrated": False,
        }

    def discount_doc(d: Discount) -> dict:
        return {
            "guid": d.ref.guid,
            "entityType": "Discount",
            "name": d.name,
            "active": True,
            "type": d.type,
            "percentage": d.percent,
            "amount": d.amount,
            "selectionType": d.selection_type,
            "nonExclusive": d.selection_type == "CHECK",
            "itemPickingPriority": "LEAST_EXPENSIVE" if d.type == "BOGO" else "FIRST",
            "fixedTotal": d.fixed_total,
            "promoCodes": [],
        }

    rc_names = {key: (name, text) for key, name, text in REVENUE_CENTERS}
    return {
        "revenueCenters": [
            {
                "guid": r.guid,
                "entityType": "RevenueCenter",
                "name": rc_names[k][0],
                "description": rc_names[k][1],
            }
            for k, r in c.revenue_centers.items()
        ],
        "salesCategories": [
            {"guid": r.guid, "entityType": "SalesCategory", "name": name}
            for (_, name), r in zip(SALES_CATEGORIES, c.sales_categories.values(), strict=True)
        ],
        "diningOptions": [
            {
                "guid": d.ref.guid,
                "entityType": "DiningOption",
                "externalId": None,
                "name": d.name,
                "behavior": d.behavior,
                "curbside": False,
            }
            for d in c.dining_options.values()
        ],
        "serviceCharges": [sc_doc(s) for s in c.service_charges.values()],
        "discounts": [discount_doc(d) for d in c.discounts.values()],
        "alternatePaymentTypes": [
            {"guid": r.guid, "entityType": "AlternatePaymentType", "externalId": None, "name": name}
            for (_, name), r in zip(ALTERNATE_PAYMENTS, c.alternate_payments.values(), strict=True)
        ],
        "taxRates": [tax_doc(t) for t in c.tax_rates.values()],
    }


def job_documents(c: Catalog, created_ms_text: str) -> list[dict]:
    return [
        {
            "guid": c.jobs[key].guid,
            "entityType": "RestaurantJob",
            "externalId": None,
            "createdDate": created_ms_text,
            "modifiedDate": created_ms_text,
            "deletedDate": None,
            "title": title,
            "deleted": False,
            "wageFrequency": kind,
            "defaultWage": wage,
            "tipped": tipped,
            "code": code,
            "excludeFromReporting": False,
        }
        for key, title, kind, wage, tipped, code in JOBS
    ]
