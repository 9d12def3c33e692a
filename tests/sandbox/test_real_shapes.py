"""The Toast sandbox sends the shapes real Toast sends.

Toast's own example documents (`../shared/reference/toast/examples/`) are walked path by path
and compared with what the sandbox serves over HTTP for a few weeks of its locations:

* every path an example has (a key, or a list's items) is in the sandbox's output;
* a path an example shows as null is null in some sandbox document;
* a string or boolean value an example shows (an enum such as `approvalStatus`, `paymentStatus`)
  is a value the sandbox sends at that path;
* a number an example writes as an integer (`3`, `0`) or with a fraction (`9.99`) is written the
  same way by the sandbox somewhere at that path;
* a Toast entity an example sends without its `guid` (the applied taxes of every example order)
  is sent without one by the sandbox somewhere at that path.

Only documents Toast *sends* are compared: order responses (`ordersBulk`, `GET orders`, the
order in a webhook), payments, time entries, restaurants and partner restaurants. Request bodies
of the guide's "create an order" examples are what a client sends, and `apiOrderPrices__1` is a
price quote for an unsaved order (its guids are null); neither is a shape closeout reads.

The issue's own list of real shapes (nested priced modifiers, weighed items, AUTHORIZED cards,
…) is checked beside it, with the rates that make them realistic: PROCESSING payments and
NEEDS_APPROVAL orders only on a day still in progress, as in a real restaurant.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from sandboxes.toast.data import ToastDataset

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "toast" / "examples"
LOGIN = "/authentication/v1/authentication/login"
DAYS = 21  # closed business dates read per location
MOMENTS = 12  # half-hours of one evening at which the day in progress is read
# Evenings read: a shape only an order in progress shows (waiting for approval, scheduled)
# can by chance be absent from one evening's twelve moments (the evening of 2026-12-04 has
# no online order waiting for approval at any of them); three evenings make that negligible.
EVENINGS = 3
ENUM = re.compile(r"^[A-Z][A-Z0-9_]+$")
# String fields whose upper-case values are data, not a value domain (a state code, a name).
NOT_ENUMS = {
    "deliveryInfo.state",
    "stateCode",
    "administrativeArea",
    "country",
    "currencyCode",
    "locationName",
    "externalGroupRef",
    "externalRestaurantRef",
    "requiredPrepTime",  # an ISO-8601 duration such as PT30M
}
ID_KEY = re.compile(r"^\d+$")  # map keys that are ids (restaurant.schedules.daySchedules)
# Examples that are not documents Toast sends (see the module docstring).
NOT_SENT = {"apiDevGuide-apiOrderPrices__1.json"}


# -- walking documents ----------------------------------------------------------------------------


class Shapes:
    """Paths seen, with the values (strings, booleans, None) and number forms at each."""

    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.values: dict[str, set] = {}
        self.forms: dict[str, set[str]] = {}
        self.without_guid: set[str] = set()  # paths of Toast entities sent with no guid
        self.documents = 0

    def add(self, root: str, document: Any) -> None:
        self.documents += 1
        self._walk(root, document)

    def _walk(self, path: str, value: Any) -> None:
        self.paths.add(path)
        if isinstance(value, dict) and "entityType" in value and "guid" not in value:
            self.without_guid.add(path)
        if isinstance(value, dict):
            for key, item in value.items():
                self._walk(f"{path}.{'{id}' if ID_KEY.match(key) else key}", item)
        elif isinstance(value, list):
            for item in value:
                self._walk(f"{path}[]", item)
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            self.values.setdefault(path, set()).add(value)
        elif isinstance(value, int):
            self.forms.setdefault(path, set()).add("integer")
        elif isinstance(value, Decimal):
            self.forms.setdefault(path, set()).add("decimal")


def parse(text: str | bytes) -> Any:
    """JSON as written: integers stay int, numbers with a fraction become Decimal."""
    return json.loads(text, parse_float=Decimal)


def example_shapes() -> Shapes:
    shapes = Shapes()
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name in NOT_SENT:
            continue
        doc = parse(path.read_text())
        for root, document in _sent_documents(path.name, doc):
            shapes.add(root, document)
    return shapes


def _sent_documents(name: str, doc: Any) -> list[tuple[str, Any]]:
    items = doc if isinstance(doc, list) else [doc]
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("entityType") == "Order" and item.get("guid"):
            found.append(("order", item))
        elif isinstance(item.get("details"), dict) and isinstance(
            item["details"].get("order"), dict
        ):
            found.append(("order", item["details"]["order"]))
        elif item.get("entityType") == "OrderPayment":
            found.append(("order.checks[].payments[]", item))
        elif "jobReference" in item and "inDate" in item:
            found.append(("timeEntry", item))
        elif "restaurantGuid" in item and "createdByEmailAddress" in item:
            found.append(("partnerRestaurant", item))
        elif isinstance(item.get("general"), dict) and "schedules" in item:
            found.append(("restaurant", item))
    return found


def gaps(real: Shapes, sandbox: Shapes) -> list[str]:
    """Every shape of `real` the sandbox never produced, one line each."""
    missing = []
    for path in sorted(real.paths):
        if path not in sandbox.paths:
            missing.append(f"{path}: never sent")
            continue
        values = real.values.get(path, set())
        if values - {None} and not sandbox.values.get(path, set()) - {None}:
            if path not in sandbox.forms and not _has_children(sandbox, path):
                missing.append(f"{path}: never with a value")
        for value in sorted(values, key=repr):
            leaf = path.rsplit(".", 1)[-1]
            enum = isinstance(value, str) and ENUM.match(value) and not _data_field(path, leaf)
            wanted = value is None or isinstance(value, bool) or enum
            if wanted and value not in sandbox.values.get(path, ()):
                missing.append(f"{path}: never {json.dumps(value)}")
        for form in sorted(real.forms.get(path, set()) - sandbox.forms.get(path, set())):
            missing.append(f"{path}: never written as {form}")
        if path in real.without_guid and path not in sandbox.without_guid:
            missing.append(f"{path}: never without a guid")
    return missing


def _has_children(shapes: Shapes, path: str) -> bool:
    return any(p.startswith((path + ".", path + "[]")) for p in shapes.paths)


def _data_field(path: str, leaf: str) -> bool:
    return leaf in NOT_ENUMS or any(path.endswith(name) for name in NOT_ENUMS)


# -- what the sandbox sends ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(toast_sandbox) -> dict[str, Any]:
    """Three weeks of closed business dates of every location, and their evening in progress,
    over HTTP. The sandbox clock is held at twelve moments of an evening (half-hourly from
    midnight UTC: evening at each location), three days ago and on the EVENINGS - 1 before,
    so what an order in progress shows is read the same way on any day the test runs."""
    toast = toast_sandbox
    toast.control("reset")
    toast.control("rate_limits", {"enabled": False})
    evening = datetime.now(timezone.utc).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) - timedelta(days=3)
    moments = [evening + timedelta(minutes=30 * k) for k in range(MOMENTS)]
    earlier_evenings = [evening - timedelta(days=back) for back in range(1, EVENINGS)]
    result: dict[str, Any] = {"locations": {}}
    try:
        with httpx.Client(base_url=toast.url, timeout=60) as http:
            token = http.post(
                LOGIN,
                json={
                    "clientId": toast.client_id,
                    "clientSecret": toast.client_secret,
                    "userAccessType": "TOAST_MACHINE_CLIENT",
                },
            ).json()["token"]["accessToken"]
            auth = {"Authorization": f"Bearer {token}"}
            toast.freeze(moments[0])
            result["partners"] = parse(http.get("/partners/v1/restaurants", headers=auth).content)
            for guid in toast.restaurants:
                headers = {**auth, "Toast-Restaurant-External-ID": guid}
                restaurant = parse(
                    http.get(f"/restaurants/v1/restaurants/{guid}", headers=headers).content
                )
                general = restaurant["general"]
                zone, closeout = ZoneInfo(general["timeZone"]), general["closeoutHour"]
                today = (moments[0].astimezone(zone) - timedelta(hours=closeout)).date()
                days: dict[int, list] = {}
                entries = []
                for back in range(DAYS, 0, -1):
                    day = int((today - timedelta(days=back)).strftime("%Y%m%d"))
                    days[day] = _all_pages(http, headers, {"businessDate": str(day)})
                    entries += parse(
                        http.get(
                            "/labor/v1/timeEntries",
                            headers=headers,
                            params={"businessDate": str(day)},
                        ).content
                    )
                result["locations"][guid] = {
                    "restaurant": restaurant,
                    "days": days,
                    "time_entries": entries,
                    "in_progress": [],
                    "today": int(today.strftime("%Y%m%d")),
                }
            for back, start in enumerate([evening, *earlier_evenings]):
                for moment in (start + timedelta(minutes=30 * k) for k in range(MOMENTS)):
                    toast.freeze(moment)
                    for guid, location in result["locations"].items():
                        headers = {**auth, "Toast-Restaurant-External-ID": guid}
                        first = datetime.strptime(str(location["today"]), "%Y%m%d").date()
                        day = first - timedelta(days=back)
                        location["in_progress"] += _all_pages(
                            http, headers, {"businessDate": day.strftime("%Y%m%d")}
                        )
    finally:
        toast.control("clock", {})
        toast.control("rate_limits", {"enabled": True})
    return result


def _all_pages(http: httpx.Client, headers: dict, params: dict) -> list:
    orders, page = [], 1
    while True:
        response = http.get(
            "/orders/v2/ordersBulk", headers=headers, params={**params, "page": page}
        )
        assert response.status_code == 200, response.text
        orders += parse(response.content)
        if 'rel="next"' not in response.headers.get("Link", ""):
            return orders
        page += 1


def sandbox_shapes(served: dict) -> Shapes:
    shapes = Shapes()
    for partner in served["partners"]:
        shapes.add("partnerRestaurant", partner)
    for location in served["locations"].values():
        shapes.add("restaurant", location["restaurant"])
        for order in [o for day in location["days"].values() for o in day]:
            shapes.add("order", order)
        for order in location["in_progress"]:
            shapes.add("order", order)
        for entry in location["time_entries"]:
            shapes.add("timeEntry", entry)
    return shapes


def orders_of(served: dict, *, closed: bool | None = None):
    """Orders of closed days (closed=True), of the day in progress (False), or both."""
    for location in served["locations"].values():
        if closed in (None, True):
            for orders in location["days"].values():
                yield from orders
        if closed in (None, False):
            yield from location["in_progress"]


# -- the comparison ------------------------------------------------------------------------------


def test_the_examples_are_read():
    real = example_shapes()
    assert real.documents >= 12
    assert {"order.checks[].selections[].appliedTaxes[].taxAmount", "timeEntry.breaks"} <= (
        real.paths
    )


def test_gaps_finds_a_missing_path_a_missing_null_an_enum_value_and_a_written_form():
    real, sandbox = Shapes(), Shapes()
    real.add("order", {"a": None, "b": "NEEDS_APPROVAL", "c": 3, "d": {"e": 1}})
    sandbox.add("order", {"a": {"x": 1}, "b": "APPROVED", "c": Decimal("3.00")})
    assert gaps(real, sandbox) == [
        "order.a: never null",
        'order.b: never "NEEDS_APPROVAL"',
        "order.c: never written as integer",
        "order.d: never sent",
        "order.d.e: never sent",
    ]
    sandbox.add("order", {"a": None, "b": "NEEDS_APPROVAL", "c": 3, "d": {"e": 1}})
    assert gaps(real, sandbox) == []


def test_the_sandbox_sends_every_shape_of_toasts_examples(served):
    missing = gaps(example_shapes(), sandbox_shapes(served))
    assert not missing, f"{len(missing)} shapes of Toast's examples never sent:\n" + "\n".join(
        missing
    )


# -- the issue's list of real shapes, at realistic rates -----------------------------------------


def _walk_selections(selections, depth=0):
    for s in selections:
        yield s, depth
        yield from _walk_selections(s.get("modifiers") or [], depth + 1)


MONEY = {"amount", "taxAmount", "totalAmount", "price", "tax", "tipAmount", "chargeAmount"}


def _leaves(value, key=None):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, key)
    elif not isinstance(value, bool):
        yield key, value


def shapes_of(order: dict) -> set[str]:
    found = set()
    add = found.add
    if order["revenueCenter"] is None:
        add("no revenue center")
    add(f"approvalStatus {order['approvalStatus']}")
    if order["deletedDate"] is None:
        add("deletedDate null")
    if any(isinstance(v, int) and k in MONEY for k, v in _leaves(order)):
        add("integer-written amount")
    for c in order["checks"]:
        tips = sum((p["tipAmount"] for p in c["payments"] if p["paymentStatus"] != "VOIDED"), 0)
        if (
            tips
            and c["paymentStatus"] == "CLOSED"
            and c["totalAmount"]
            == c["amount"]
            + c["taxAmount"]
            + tips
            + sum((sc["chargeAmount"] for sc in c["appliedServiceCharges"] if sc["gratuity"]), 0)
        ):
            add("tips inside totalAmount")
        for d in c["appliedDiscounts"]:
            add(f"discount {d['discountType']}")
        for sc in c["appliedServiceCharges"]:
            add(f"charge {sc['serviceChargeCategory']}")
        for p in c["payments"]:
            add(f"payment {p['paymentStatus']}")
        for s, depth in _walk_selections(c["selections"]):
            for d in s["appliedDiscounts"]:
                add(f"discount {d['discountType']}")
            for t in s["appliedTaxes"]:
                add(f"tax {t['type']}")
                amount = t["taxAmount"]
                if isinstance(amount, Decimal) and amount != amount.quantize(Decimal("0.01")):
                    add("sub-cent per-rate tax")
            if isinstance(s["quantity"], Decimal) and s["quantity"] % 1:
                add("fractional quantity")
            if depth >= 2 and s["price"]:
                add("priced modifier of a modifier")
            if depth >= 1 and s["appliedTaxes"]:
                add("modifier with its own taxes")
            if depth >= 1 and s["salesCategory"] is None:
                add("modifier without a sales category")
    return found


REQUIRED_SHAPES = {
    "no revenue center",
    "approvalStatus APPROVED",
    "approvalStatus NEEDS_APPROVAL",
    "deletedDate null",
    "integer-written amount",
    "tips inside totalAmount",
    "discount BOGO",
    "discount OPEN_FIXED",
    "discount FIXED_TOTAL",
    "discount PERCENT",
    "discount FIXED",
    "charge CASH_ROUNDING",
    "payment CAPTURED",
    "payment AUTHORIZED",
    "payment PROCESSING",
    "payment ERROR",
    "payment VOIDED",
    "tax PERCENT",
    "tax FIXED",
    "tax EXTERNAL",
    "sub-cent per-rate tax",
    "fractional quantity",
    "priced modifier of a modifier",
    "modifier with its own taxes",
    "modifier without a sales category",
}


def test_the_sandbox_makes_every_real_shape_of_the_issue(served):
    seen = Counter()
    for order in orders_of(served):
        seen.update(shapes_of(order))
    assert REQUIRED_SHAPES <= set(seen), sorted(REQUIRED_SHAPES - set(seen))


def test_unsettled_shapes_are_only_on_the_day_in_progress(served):
    """PROCESSING settles on the sandbox clock and NEEDS_APPROVAL is resolved before the day
    closes, so closed days carry neither; ERROR payments moved no money, another payment paid."""
    for order in orders_of(served, closed=True):
        shapes = shapes_of(order)
        assert "payment PROCESSING" not in shapes, order["guid"]
        assert "approvalStatus NEEDS_APPROVAL" not in shapes, order["guid"]
        for c in order["checks"]:
            if (
                any(p["paymentStatus"] == "ERROR" for p in c["payments"])
                and c["paymentStatus"] == "CLOSED"
            ):
                tendered = [
                    p for p in c["payments"] if p["paymentStatus"] in ("CAPTURED", "AUTHORIZED")
                ]
                assert (
                    sum((p["amount"] for p in tendered), 0)
                    == c["totalAmount"] - sum((p["tipAmount"] for p in tendered), 0)
                    or sum((p["amount"] for p in tendered), 0) == c["totalAmount"]
                )


def test_revenue_centers_are_missing_on_most_orders_at_some_locations(served):
    shares = []
    for location in served["locations"].values():
        orders = [o for day in location["days"].values() for o in day]
        shares.append(sum(o["revenueCenter"] is None for o in orders) / len(orders))
    assert max(shares) > 0.5 and min(shares) == 0  # some locations never set one, some always


def test_breaks_are_paid_or_missed(served):
    breaks = [
        b
        for location in served["locations"].values()
        for e in location["time_entries"]
        for b in e["breaks"]
    ]
    # an unpaid meal break, a paid rest break, and a missed meal break (Toast's example marks
    # it paid and missed, with no outDate)
    assert {(b["paid"], b["missed"]) for b in breaks} == {
        (False, False),
        (True, False),
        (True, True),
    }
    assert all(b["outDate"] is None for b in breaks if b["missed"])


def test_a_check_with_sub_cent_rates_keeps_its_tax_rounded_as_toast_does():
    """An item at 0.75 % and 6.25 % (Toast's apiOrderTypeDetails__6): per-rate amounts at full
    precision that add up to the item's tax, the check's tax rounded to the cent."""
    ds = ToastDataset(
        seed=7, location_count=3, orders_per_day=40, today=datetime(2026, 3, 20).date()
    )
    found = 0
    for loc in ds.locations:
        query = ds.orders_by_business_date(
            loc.guid, 20260310, as_of=datetime(2026, 3, 20, tzinfo=timezone.utc)
        )
        for order in query.page(0, len(query)):
            for c in order["checks"]:
                assert c["taxAmount"] == c["taxAmount"].quantize(Decimal("0.01"))
                for s, _ in _walk_selections(c["selections"]):
                    amounts = [t["taxAmount"] for t in s["appliedTaxes"]]
                    # a modifier's tax is inside its parent's, as its price is
                    kids = sum((m["tax"] for m in s["modifiers"]), Decimal(0))
                    assert sum(amounts, Decimal(0)) + kids == s["tax"]
                    if any(a != a.quantize(Decimal("0.01")) for a in amounts):
                        found += 1
                        assert s["tax"] == s["tax"].quantize(Decimal("0.01"))
    assert found > 0
