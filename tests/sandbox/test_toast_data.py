"""The Toast sandbox's data generator: deterministic, lazy, and true to Toast's order formulas."""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest

from sandboxes.http import dump_json
from sandboxes.toast.data import CONFIG_ENTITIES, ToastDataset
from sandboxes.toast.ids import BusinessClock, OrderIds, add_days, parse_toast_time
from sandboxes.toast.orders import EXCESS, LATE_KINDS

TODAY = date(2026, 3, 20)
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=timezone.utc)
SAMPLE_DAYS = [add_days(20260225, n) for n in range(20)]  # closed days, late edits visible
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MONEY_KEYS = {
    "amount",
    "taxAmount",
    "totalAmount",
    "price",
    "preDiscountPrice",
    "tax",
    "receiptLinePrice",
    "discountAmount",
    "nonTaxDiscountAmount",
    "chargeAmount",
    "tipAmount",
    "amountTendered",
    "refundAmount",
    "tipRefundAmount",
    "taxRefundAmount",
    "originalProcessingFee",
}
ROUNDING = {"HALF_UP": ROUND_HALF_UP, "HALF_EVEN": ROUND_HALF_EVEN}


def dataset(**kwargs) -> ToastDataset:
    options = {
        "seed": 7,
        "location_count": 4,
        "orders_per_day": 40,
        "history_days": 120,
        "max_late_edit_days": 21,
        "today": TODAY,
    }
    return ToastDataset(**{**options, **kwargs})


def day_orders(ds: ToastDataset, guid: str, business_date: int, as_of: datetime = NOW) -> list:
    query = ds.orders_by_business_date(guid, business_date, as_of=as_of)
    return query.page(0, len(query))


def total(values) -> Decimal:
    return sum(values, ZERO)


def ms(text: str) -> int:
    return parse_toast_time(text)


@pytest.fixture(scope="module")
def ds() -> ToastDataset:
    return dataset()


@pytest.fixture(scope="module")
def sample(ds) -> dict[str, list[dict]]:
    """About 800 orders per location over 20 closed business dates."""
    return {
        loc.guid: [o for day in SAMPLE_DAYS for o in day_orders(ds, loc.guid, day)]
        for loc in ds.locations
    }


def all_orders(sample) -> list[dict]:
    return [o for orders in sample.values() for o in orders]


# -- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_documents_and_another_seed_does_not():
    first, second, other = dataset(), dataset(), dataset(seed=8)

    def snapshot(ds: ToastDataset) -> bytes:
        parts = [dump_json(ds.partner_restaurants())]
        for loc in ds.locations[:2]:
            parts += [
                dump_json(ds.restaurant(loc.guid)),
                dump_json(ds.config(loc.guid, "taxRates")),
                dump_json(ds.jobs(loc.guid)),
                dump_json(ds.time_entries(loc.guid, business_date=20260310, as_of=NOW)),
                dump_json(day_orders(ds, loc.guid, 20260310)),
                dump_json(
                    ds.orders_modified_between(
                        loc.guid, NOW - timedelta(days=3), NOW, as_of=NOW
                    ).page(0, 50)
                ),
            ]
        return b"".join(parts)

    assert snapshot(first) == snapshot(second)
    assert [loc.guid for loc in first.locations] != [loc.guid for loc in other.locations]
    assert snapshot(first) != snapshot(other)


def test_an_order_does_not_depend_on_what_was_generated_before(ds):
    loc = ds.locations[1]
    query = ds.orders_by_business_date(loc.guid, 20260311, as_of=NOW)
    everything = query.page(0, len(query))
    fresh = dataset()
    again = fresh.orders_by_business_date(loc.guid, 20260311, as_of=NOW)
    assert again.page(7, 9) == everything[7:9]
    assert fresh.order(loc.guid, everything[20]["guid"], as_of=NOW) == everything[20]


# -- money -----------------------------------------------------------------------------------


def walk(value, key=None):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, key)
    else:
        yield key, value


def walk_paths(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk_paths(v, f"{path}.{k}")
    elif isinstance(value, list):
        for v in value:
            yield from walk_paths(v, f"{path}[]")
    else:
        yield path, value


def test_amounts_are_decimals_in_cents_or_toasts_other_written_forms_never_floats(ds, sample):
    """Cents (12.50), but for the forms Toast writes too: a whole amount as a JSON integer (3) at
    a location that writes them so, and per-rate tax shares at full precision (0.075) where a
    location taxes an item's rates together. Never a float."""
    forms = Counter()
    for n, loc in enumerate(ds.locations):
        template = ds._contexts[n].catalog.template
        for order in sample[loc.guid]:
            for path, value in walk_paths(order):
                key = path.rsplit(".", 1)[-1]
                assert not isinstance(value, float), (order["guid"], path)
                if key not in MONEY_KEYS or value is None:
                    continue
                assert isinstance(value, Decimal), (path, value)
                exponent = value.as_tuple().exponent
                if exponent == -2:
                    forms["cents"] += 1
                elif exponent == 0 and template.whole_as_integer:
                    forms["integer"] += 1
                else:
                    assert template.combined_tax and path.endswith("appliedTaxes[].taxAmount")
                    assert exponent < -2 and value == value.normalize(), (path, value)
                    forms["sub-cent share"] += 1
    assert forms["integer"] > 100 and forms["sub-cent share"] > 100


def check_percent_taxes(base: Decimal, taxes: list[dict], tax_rates: dict, together: bool):
    """PERCENT rates on a price that excludes tax: each rounded by its rule, or, where a
    location taxes an item's rates together, the sum rounded once (half up) and shared by rate
    at full precision (0.70 as 0.075 and 0.625 for 0.75 % and 6.25 %)."""
    percent = [t for t in taxes if t["type"] == "PERCENT"]
    if together and len(percent) > 1:
        rate = total(t["rate"] for t in percent)
        assert total(t["taxAmount"] for t in percent) == (base * rate).quantize(CENT, ROUND_HALF_UP)
        for t in percent:
            share = (base * rate).quantize(CENT, ROUND_HALF_UP) * t["rate"] / rate
            assert abs(t["taxAmount"] - share) < Decimal("0.00001")
        return
    for t in percent:
        rule = ROUNDING[tax_rates[t["taxRate"]["guid"]]["roundingType"]]
        assert t["taxAmount"] == (base * t["rate"]).quantize(CENT, rule)


def check_modifier(m: dict, parent: dict, tax_rates: dict, together: bool) -> Decimal:
    """A modifier at any depth: its price holds its own modifiers' prices and its tax their
    taxes; with taxes of its own it is taxed on its own price. Returns the part of the top
    selection's price its own taxes cover."""
    kids = m["modifiers"]
    assert m["quantity"] == parent["quantity"] and m["voided"] == parent["voided"]
    assert (
        m["preDiscountPrice"]
        == m["price"]
        == m["receiptLinePrice"] * m["quantity"] + total(k["price"] for k in kids)
    )
    assert m["tax"] == total(t["taxAmount"] for t in m["appliedTaxes"]) + total(
        k["tax"] for k in kids
    )
    own = ZERO
    if m["appliedTaxes"]:
        assert m["taxInclusion"] == "NOT_INCLUDED"
        own = m["receiptLinePrice"] * m["quantity"]
        check_percent_taxes(own, m["appliedTaxes"], tax_rates, together)
    else:
        assert m["taxInclusion"] == "INHERITED"
    return own + sum((check_modifier(k, m, tax_rates, together) for k in kids), ZERO)


def check_selection(s: dict, tax_rates: dict[str, dict], together: bool = False) -> None:
    """One top-level selection against Toast's formulas (a check-level share aside)."""
    # a modifier's tax is inside the selection's, as its price is
    assert s["tax"] == total(t["taxAmount"] for t in s["appliedTaxes"]) + total(
        m["tax"] for m in s["modifiers"]
    )
    weighed = s["unitOfMeasure"] != "NONE"
    if weighed:  # a fractional quantity; the price is the line total
        assert s["quantity"] % 1 and not s["modifiers"]
        gross = (s["receiptLinePrice"] * s["quantity"]).quantize(CENT, ROUND_HALF_EVEN)
    else:
        assert isinstance(s["quantity"], int)
        gross = s["receiptLinePrice"] * s["quantity"] + total(
            m["preDiscountPrice"] for m in s["modifiers"]
        )
    if s["taxInclusion"] == "NOT_INCLUDED":
        # Modifier prices are inside the parent's preDiscountPrice: Toast never adds them twice.
        assert s["preDiscountPrice"] == gross
        own = sum((check_modifier(m, s, tax_rates, together) for m in s["modifiers"]), ZERO)
        if own:
            assert not s["appliedDiscounts"]  # the generator keeps discounts off them
        if all(t["type"] != "EXTERNAL" for t in s["appliedTaxes"]):
            check_percent_taxes(s["price"] - own, s["appliedTaxes"], tax_rates, together)
        for t in s["appliedTaxes"]:
            if t["type"] == "FIXED":  # an amount per unit (a bottle deposit)
                assert t["taxAmount"] == t["rate"] * s["quantity"]
    else:
        assert not s["modifiers"]
        rate = total(t["rate"] for t in s["appliedTaxes"])
        assert s["preDiscountPrice"] == (gross / (1 + rate)).quantize(CENT, ROUND_HALF_EVEN)
    for d in s["appliedDiscounts"]:
        assert ZERO <= d["nonTaxDiscountAmount"] <= d["discountAmount"]
        if s["taxInclusion"] == "NOT_INCLUDED":
            assert d["nonTaxDiscountAmount"] == d["discountAmount"]
        if d["discountType"] == "BOGO":  # one of the items free
            assert d["discountAmount"] == gross / s["quantity"] and s["quantity"] >= 2
        if d["discountType"] == "FIXED_TOTAL":  # the items come to the combo's total
            assert gross - d["discountAmount"] == Decimal("9.00") * s["quantity"]


def check_amounts(check: dict, charges_config: dict[str, dict], tax_rates: dict, template) -> None:
    """`template`: what the location's Toast sends (rates taxed together, tips counted in
    totalAmount)."""
    live = [s for s in check["selections"] if not s["voided"]]
    for s in check["selections"]:
        check_selection(s, tax_rates, template.combined_tax)
        own = total(d["nonTaxDiscountAmount"] for d in s["appliedDiscounts"])
        if s["voided"]:
            assert s["price"] == s["preDiscountPrice"] - own
    check_level = total(d["nonTaxDiscountAmount"] for d in check["appliedDiscounts"])
    item_level = total(d["nonTaxDiscountAmount"] for s in live for d in s["appliedDiscounts"])
    # price = preDiscountPrice - own discounts - its share of check-level discounts
    assert (
        total(s["price"] for s in live)
        == total(s["preDiscountPrice"] for s in live) - item_level - check_level
    )
    charges = check["appliedServiceCharges"]
    regular = [s for s in live if s["selectionType"] == "NONE"]
    for c in charges:
        config = charges_config[c["serviceCharge"]["guid"]]
        if config["amountType"] == "PERCENT":
            base = total(
                s[
                    "preDiscountPrice"
                    if config["serviceChargeCalculation"] == "PRE_DISCOUNT"
                    else "price"
                ]
                for s in regular
            )
            assert c["chargeAmount"] == (base * config["percent"] / 100).quantize(CENT)
        if c["serviceChargeCategory"] in ("CREDIT_CARD_SURCHARGE", "CASH_ROUNDING"):
            assert c["paymentGuid"] in {p["guid"] for p in check["payments"]}
    non_gratuity = total(c["chargeAmount"] for c in charges if not c["gratuity"])
    gratuity = total(c["chargeAmount"] for c in charges if c["gratuity"])
    assert check["amount"] == total(s["price"] for s in live) + non_gratuity
    assert check["taxAmount"] == total(s["tax"] for s in live) + total(
        t["taxAmount"] for c in charges for t in c["appliedTaxes"]
    )
    # VOIDED and ERROR payments moved no money
    active = [p for p in check["payments"] if p["paymentStatus"] not in ("VOIDED", "ERROR")]
    tips = total(p["tipAmount"] for p in active) if template.tips_in_total else ZERO
    assert check["totalAmount"] == check["amount"] + check["taxAmount"] + gratuity + tips
    if check["paymentStatus"] == "CLOSED":
        assert total(p["amount"] for p in active) == check["totalAmount"] - tips
    else:
        assert not active and check["totalAmount"] > 0


def template(ds, guid: str):
    return ds._contexts[ds._by_guid[guid]].catalog.template


def test_check_amounts_follow_toasts_formulas(ds, sample):
    checked = 0
    for loc in ds.locations:
        charges = {c["guid"]: c for c in ds.config(loc.guid, "serviceCharges")}
        rates = {t["guid"]: t for t in ds.config(loc.guid, "taxRates")}
        for order in sample[loc.guid]:
            for check in order["checks"]:
                check_amounts(check, charges, rates, template(ds, loc.guid))
                checked += 1
            if order["voided"]:
                assert all(c["voided"] and c["totalAmount"] == 0 for c in order["checks"])
                assert all(s["voided"] for c in order["checks"] for s in c["selections"])
            if order["excessFood"]:
                assert [c["amount"] for c in order["checks"]] == [ZERO]
                assert all(s["preDiscountPrice"] > 0 for s in order["checks"][0]["selections"])
    assert checked > 3000


def test_modifiers_are_inside_their_parents_price_never_added_again(sample):
    found = 0
    for order in all_orders(sample):
        for check in order["checks"]:
            live = [s for s in check["selections"] if not s["voided"]]
            modifier_total = total(m["price"] for s in live for m in s["modifiers"])
            if modifier_total and not check["appliedServiceCharges"]:
                found += 1
                assert check["amount"] == total(s["price"] for s in live)
                assert check["amount"] != total(s["price"] for s in live) + modifier_total
    assert found > 50


def test_refunds_match_the_items_and_charges_they_return(sample):
    refunds = 0
    for order in all_orders(sample):
        for check in order["checks"]:
            for p in check["payments"]:
                refund = p["refund"]
                if not refund:
                    assert p["refundStatus"] == "NONE"
                    continue
                refunds += 1
                txn = refund["refundTransaction"]["guid"]
                details = [s["refundDetails"] for s in check["selections"]] + [
                    c["refundDetails"] for c in check["appliedServiceCharges"]
                ]
                returned = total(
                    d["refundAmount"] + d["taxRefundAmount"]
                    for d in details
                    if d and d["refundTransaction"]["guid"] == txn
                )
                assert refund["refundAmount"] == returned <= p["amount"]
                assert p["refundStatus"] in ("FULL", "PARTIAL")
                assert refund["refundBusinessDate"] >= order["businessDate"]
    assert refunds > 40


# -- business dates ------------------------------------------------------------------------------


def local_business_date(text: str, time_zone: str, closeout_hour: int) -> int:
    local = datetime.fromtimestamp(ms(text) / 1000, ZoneInfo(time_zone))
    return int((local - timedelta(hours=closeout_hour)).strftime("%Y%m%d"))


def test_business_dates_follow_closeout_hour_and_time_zone_across_dst():
    ds = dataset(location_count=6, orders_per_day=150, exact_counts=True, history_days=200)
    days = [20251101, 20251102, 20251103, 20260307, 20260308, 20260309]
    after_midnight = Counter()
    for loc in ds.locations:
        zone = ZoneInfo(loc.time_zone)
        for day in days:
            orders = day_orders(ds, loc.guid, day)
            assert len(orders) == 150
            for o in orders:
                assert o["businessDate"] == day
                assert local_business_date(o["openedDate"], loc.time_zone, loc.closeout_hour) == day
                for check in o["checks"]:
                    for p in check["payments"]:
                        if p["paidBusinessDate"] == day:
                            assert (
                                local_business_date(p["paidDate"], loc.time_zone, loc.closeout_hour)
                                == day
                            )
                local = datetime.fromtimestamp(ms(o["openedDate"]) / 1000, zone)
                if local.hour < loc.closeout_hour:  # after midnight, before closeout
                    after_midnight[loc.guid] += 1
                    assert int(local.strftime("%Y%m%d")) == add_days(day, 1)
    closes_after_midnight = [loc.guid for loc in ds.locations if loc.closeout_hour >= 2]
    assert all(after_midnight[guid] > 0 for guid in closes_after_midnight)
    assert {loc.closeout_hour for loc in ds.locations} == {0, 2, 3, 4, 5}


def test_a_sale_at_one_in_the_morning_belongs_to_the_previous_business_date():
    clock = BusinessClock("America/New_York", 4)
    one_am = datetime(2026, 3, 15, 1, 0, tzinfo=ZoneInfo("America/New_York"))
    assert clock.business_date(int(one_am.timestamp() * 1000)) == 20260314
    start, end = clock.bounds(20260314)
    assert start <= int(one_am.timestamp() * 1000) < end
    assert datetime.fromtimestamp(start / 1000, ZoneInfo("America/New_York")).hour == 4
    phoenix = BusinessClock("America/Phoenix", 0)
    eleven_pm = datetime(2026, 3, 14, 23, 30, tzinfo=ZoneInfo("America/Phoenix"))
    assert phoenix.business_date(int(eleven_pm.timestamp() * 1000)) == 20260314


# -- as_of, late edits, modified windows ---------------------------------------------------------


def test_as_of_hides_orders_not_yet_opened_and_shows_them_unpaid_before_they_settle(ds):
    loc = ds.locations[0]
    start, _ = ds._contexts[0].clock.bounds(20260310)
    full = day_orders(ds, loc.guid, 20260310)
    evening = datetime.fromtimestamp((start + 14 * 3_600_000) / 1000, timezone.utc)
    partial = day_orders(ds, loc.guid, 20260310, as_of=evening)
    assert 0 < len(partial) < len(full)
    assert [o["guid"] for o in partial] == [o["guid"] for o in full[: len(partial)]]
    assert all(
        ms(o["openedDate"]) <= ms(o["modifiedDate"]) <= start + 14 * 3_600_000 for o in partial
    )
    header = ds._header(0, 20260310)
    in_progress = [o for n, o in enumerate(partial) if header.settled[n] > start + 14 * 3_600_000]
    assert in_progress
    for o in in_progress:
        assert o["modifiedDate"] == o["openedDate"] and o["paidDate"] is None
        assert all(c["paymentStatus"] == "OPEN" and not c["payments"] for c in o["checks"])
    before_open = datetime.fromtimestamp(ms(full[-1]["openedDate"]) / 1000 - 1, timezone.utc)
    assert ds.order(loc.guid, full[-1]["guid"], as_of=before_open) is None
    assert ds.order(loc.guid, full[-1]["guid"], as_of=NOW) == full[-1]


def later_edited(ds, loc) -> list[tuple[dict, int]]:
    """Orders of the sample whose generated late edit is visible, with its time."""
    found = []
    for day in SAMPLE_DAYS[:6]:
        header = ds._header(ds.locations.index(loc), day)
        for i, late in enumerate(header.late):
            if late and late <= int(NOW.timestamp() * 1000) and header.codes[i] != EXCESS:
                found.append((day, i, late))
    return found


def test_a_late_edit_is_hidden_until_its_time_then_moves_modified_date_not_business_date(ds):
    loc = ds.locations[2]
    edited = later_edited(ds, loc)
    assert len(edited) > 10
    kinds = Counter()
    for day, i, late in edited:
        guid = ds._ids.encode(2, day, i)
        before = ds.order(
            loc.guid, guid, as_of=datetime.fromtimestamp((late - 1) / 1000, timezone.utc)
        )
        after = ds.order(loc.guid, guid, as_of=NOW)
        assert ms(before["modifiedDate"]) < late == ms(after["modifiedDate"])
        assert before["businessDate"] == after["businessDate"] == day
        assert before != after
        kinds[LATE_KINDS[ds._header(2, day).codes[i]]] += 1
        window = ds.orders_modified_between(
            loc.guid,
            datetime.fromtimestamp((late - 1000) / 1000, timezone.utc),
            datetime.fromtimestamp((late + 1000) / 1000, timezone.utc),
            as_of=NOW,
        )
        assert guid in {o["guid"] for o in window.page(0, len(window))}
        earlier = ds.orders_modified_between(
            loc.guid,
            datetime.fromtimestamp((late - 1000) / 1000, timezone.utc),
            datetime.fromtimestamp((late + 1000) / 1000, timezone.utc),
            as_of=datetime.fromtimestamp((late - 1) / 1000, timezone.utc),
        )
        assert guid not in {o["guid"] for o in earlier.page(0, len(earlier))}
    assert kinds["add_tip"] > 0 and len(kinds) >= 3


def test_modified_window_query_matches_a_brute_force_scan():
    ds = dataset(seed=3, orders_per_day=25, max_late_edit_days=6)
    as_of = datetime(2026, 3, 12, 9, 30, tzinfo=timezone.utc)
    for loc in ds.locations:
        orders = {
            o["guid"]: o
            for d in range(-10, 2)
            for o in day_orders(ds, loc.guid, add_days(20260312, d), as_of=as_of)
        }
        for hours in (1, 6, 30, 24 * 3):
            start, end = as_of - timedelta(hours=hours), as_of
            query = ds.orders_modified_between(loc.guid, start, end, as_of=as_of)
            got = [o["guid"] for o in query.page(0, len(query))]
            lo, hi = start.timestamp() * 1000, end.timestamp() * 1000
            expected = {g for g, o in orders.items() if lo <= ms(o["modifiedDate"]) < hi}
            assert len(got) == len(set(got)) and set(got) == expected


# -- scenario coverage -------------------------------------------------------------------------


def kinds_of(order: dict) -> set[str]:
    kinds = set()
    bd = order["businessDate"]
    add = kinds.add
    if order["voided"]:
        add("voided order")
    if order["deleted"]:
        add("deleted order")
    if order["excessFood"]:
        add("excess food")
    if len(order["checks"]) > 1:
        add("several checks")
    if ms(order["modifiedDate"]) > ms(order["openedDate"]) + 86_400_000:
        add("edited on a later day")
    for c in order["checks"]:
        if c["voided"] and not order["voided"]:
            add("voided check")
        if c["paymentStatus"] == "OPEN":
            add("open check")
        if c["appliedDiscounts"]:
            add("check-level discount")
        for ch in c["appliedServiceCharges"]:
            add("gratuity" if ch["gratuity"] else f"charge {ch['serviceChargeCategory']}")
            if ch["appliedTaxes"]:
                add("taxed service charge")
        for s in c["selections"]:
            if s["modifiers"]:
                add("modifiers")
            if s["appliedDiscounts"]:
                add("item discount")
                if any(d["discountType"] == "PERCENT" for d in s["appliedDiscounts"]):
                    add("percent discount")
                if any(d["discountType"] == "FIXED" for d in s["appliedDiscounts"]):
                    add("fixed discount")
            if any(d["nonTaxDiscountAmount"] < d["discountAmount"] for d in s["appliedDiscounts"]):
                add("nonTaxDiscountAmount below discountAmount")
            if s["taxInclusion"] == "INCLUDED":
                add("tax-inclusive item")
            if len(s["appliedTaxes"]) >= 3:
                add("three tax rates on an item")
            if s["quantity"] > 1:
                add("quantity")
            if s["selectionType"] != "NONE":
                add(s["selectionType"])
                if s["deferred"]:
                    add("deferred")
            if s["voided"]:
                add("voided selection" if s["voidBusinessDate"] == bd else "late void")
            if s["refundDetails"]:
                add("selection refund")
            if any(t["facilitatorCollectAndRemitTax"] for t in s["appliedTaxes"]):
                add("marketplace facilitator tax")
            if any(t["type"] == "EXTERNAL" for t in s["appliedTaxes"]):
                add("facilitator-calculated tax")
        for p in c["payments"]:
            add(f"payment {p['type']}")
            if p["type"] == "CREDIT" and p["cardType"]:
                add("card type")
            if p["type"] == "OTHER" and p["otherPayment"]:
                add("other payment type")
            if p["type"] == "HOUSE_ACCOUNT" and p["houseAccount"]:
                add("house account charge")
            if p["tipAmount"] > 0:
                add("card tip" if p["type"] == "CREDIT" else "tip")
            if p["paymentStatus"] == "VOIDED" and p["voidInfo"]:
                add("voided payment")
            if p["paidBusinessDate"] > bd:
                add("paid on a later day")
            if p["refund"]:
                same = p["refund"]["refundBusinessDate"] == bd
                add("refund same day" if same else "refund later day")
        if any(p["paymentStatus"] == "VOIDED" for p in c["payments"]) and any(
            p["paymentStatus"] != "VOIDED" for p in c["payments"]
        ):
            add("replacement payment")
    return kinds


REQUIRED_KINDS = {
    "voided order",
    "deleted order",
    "excess food",
    "several checks",
    "edited on a later day",
    "voided check",
    "open check",
    "check-level discount",
    "gratuity",
    "charge SERVICE_CHARGE",
    "charge FUNDRAISING_CAMPAIGN",
    "charge CREDIT_CARD_SURCHARGE",
    "taxed service charge",
    "modifiers",
    "item discount",
    "percent discount",
    "fixed discount",
    "nonTaxDiscountAmount below discountAmount",
    "tax-inclusive item",
    "three tax rates on an item",
    "quantity",
    "TOAST_CARD_SELL",
    "TOAST_CARD_RELOAD",
    "HOUSE_ACCOUNT_PAY_BALANCE",
    "deferred",
    "voided selection",
    "late void",
    "selection refund",
    "marketplace facilitator tax",
    "facilitator-calculated tax",
    "payment CASH",
    "payment CREDIT",
    "payment GIFTCARD",
    "payment HOUSE_ACCOUNT",
    "payment REWARDCARD",
    "payment TOAST_SV",
    "payment OTHER",
    "payment UNDETERMINED",
    "card type",
    "other payment type",
    "house account charge",
    "card tip",
    "voided payment",
    "replacement payment",
    "paid on a later day",
    "refund same day",
    "refund later day",
}


def test_every_scenario_kind_appears_at_every_location(ds, sample):
    for loc in ds.locations:
        seen = set().union(*(kinds_of(o) for o in sample[loc.guid]))
        assert REQUIRED_KINDS <= seen, (loc.name, sorted(REQUIRED_KINDS - seen))
    phoenix = dataset(location_count=5).locations[4]
    assert phoenix.time_zone == "America/Phoenix"
    rounding = [
        o for d in SAMPLE_DAYS for o in day_orders(dataset(location_count=5), phoenix.guid, d)
    ]
    assert "charge CASH_ROUNDING" in set().union(*(kinds_of(o) for o in rounding))


def test_orders_reference_configured_entities(ds, sample):
    for loc in ds.locations:
        config = {
            entity: {r["guid"]: r for r in ds.config(loc.guid, entity)}
            for entity in CONFIG_ENTITIES
        }
        for o in sample[loc.guid]:
            if o["revenueCenter"] is not None:  # most of Chicago's orders have none
                assert o["revenueCenter"]["guid"] in config["revenueCenters"]
            assert o["diningOption"]["guid"] in config["diningOptions"]
            for c in o["checks"]:
                for d in c["appliedDiscounts"]:
                    assert config["discounts"][d["discount"]["guid"]]["selectionType"] == "CHECK"
                for ch in c["appliedServiceCharges"]:
                    assert ch["serviceCharge"]["guid"] in config["serviceCharges"]
                    assert all(
                        t["taxRate"]["guid"] in config["taxRates"] for t in ch["appliedTaxes"]
                    )
                for s in c["selections"]:
                    # Toast's spec requires a selection's item, a gift card's too
                    assert s["item"]["guid"] and s["item"]["entityType"] == "MenuItem"
                    if s["selectionType"] == "NONE":
                        assert s["salesCategory"]["guid"] in config["salesCategories"]
                    else:
                        assert s["salesCategory"] is None and s["appliedTaxes"] == []
                    for d in s["appliedDiscounts"]:
                        kind = config["discounts"][d["discount"]["guid"]]["selectionType"]
                        assert kind == ("BOGO" if d["discountType"] == "BOGO" else "ITEM")
                    assert all(
                        t["taxRate"]["guid"] in config["taxRates"] for t in s["appliedTaxes"]
                    )
                for p in c["payments"]:
                    if p["type"] == "OTHER":
                        assert p["otherPayment"]["guid"] in config["alternatePaymentTypes"]


def test_configuration_restaurants_and_partners_have_the_documented_shapes(ds):
    partners = ds.partner_restaurants()
    assert [p["restaurantGuid"] for p in partners] == [loc.guid for loc in ds.locations]
    assert {
        "managementGroupGuid",
        "restaurantName",
        "locationName",
        "isoCreatedDate",
        "createdDate",
        "modifiedDate",
    } <= set(partners[0])
    for loc in ds.locations:
        general = ds.restaurant(loc.guid)["general"]
        assert (
            general["timeZone"],
            general["closeoutHour"],
            general["name"],
            general["currencyCode"],
        ) == (loc.time_zone, loc.closeout_hour, loc.name, "USD")
        config = {
            e: ds.config(loc.guid, e)
            for e in (
                "revenueCenters",
                "salesCategories",
                "diningOptions",
                "serviceCharges",
                "discounts",
                "alternatePaymentTypes",
                "taxRates",
            )
        }
        assert all(r["guid"] and r["entityType"] for rows in config.values() for r in rows)
        assert len(config["salesCategories"]) >= 5 and len(config["revenueCenters"]) >= 3
        assert {d["behavior"] for d in config["diningOptions"]} == {
            "DINE_IN",
            "TAKE_OUT",
            "DELIVERY",
        }
        assert any(s["gratuity"] for s in config["serviceCharges"])
        assert {(d["type"], d["selectionType"]) for d in config["discounts"]} >= {
            ("PERCENT", "ITEM"),
            ("FIXED", "ITEM"),
            ("PERCENT", "CHECK"),
            ("FIXED", "CHECK"),
        }
        assert len(config["alternatePaymentTypes"]) >= 2
        assert any(t["name"] == "Liquor Tax" for t in config["taxRates"])
        assert len([t for t in config["taxRates"] if t["type"] == "PERCENT"]) >= 3
        jobs = ds.jobs(loc.guid)
        assert {j["title"] for j in jobs} >= {"Server", "Bartender", "Line Cook", "Dishwasher"}
    with pytest.raises(KeyError):
        ds.config(ds.locations[0].guid, "menus")
    assert ds.location("00000000-0000-4000-8000-000000000000") is None


# -- edits and hand-built orders ----------------------------------------------------------------


def find(ds, loc_index: int, test, as_of=NOW) -> dict:
    loc = ds.locations[loc_index]
    for day in SAMPLE_DAYS:
        for o in day_orders(ds, loc.guid, day, as_of=as_of):
            if test(o):
                return o
    raise AssertionError("no such order in the sample")


def active(o: dict) -> list[dict]:
    return [p for c in o["checks"] for p in c["payments"] if p["paymentStatus"] != "VOIDED"]


def plain(o: dict) -> bool:
    return (
        not (o["voided"] or o["deleted"] or o["excessFood"])
        and o["modifiedDate"] == o["checks"][0]["modifiedDate"]
        and ms(o["modifiedDate"]) < ms(o["openedDate"]) + 86_400_000
    )


@pytest.mark.parametrize(
    "kind", ["add_tip", "void_selection", "refund", "pay_open_check", "void_order"]
)
def test_apply_edit_changes_the_order_at_its_time_and_the_window_finds_it(kind):
    ds = dataset()
    loc = ds.locations[3]
    if kind == "pay_open_check":
        order = find(
            ds,
            3,
            lambda o: (
                not o["voided"]
                and not o["deleted"]
                and any(c["paymentStatus"] == "OPEN" for c in o["checks"])
            ),
        )
    elif kind in ("void_selection", "refund"):
        order = find(
            ds,
            3,
            lambda o: (
                plain(o)
                and len(active(o)) == 1
                and len([s for s in o["checks"][0]["selections"] if s["selectionType"] == "NONE"])
                >= 2
            ),
        )
    else:
        order = find(ds, 3, lambda o: plain(o) and any(p["type"] == "CREDIT" for p in active(o)))
    at = NOW + timedelta(hours=2)
    edited = ds.apply_edit(loc.guid, order["guid"], kind, at)
    clock = BusinessClock(loc.time_zone, loc.closeout_hour)
    at_bd = clock.business_date(int(at.timestamp() * 1000))

    assert ms(edited["modifiedDate"]) == int(at.timestamp() * 1000)
    assert edited["businessDate"] == order["businessDate"] < at_bd
    assert ds.order(loc.guid, order["guid"], as_of=NOW) == order  # not visible before
    assert ds.order(loc.guid, order["guid"], as_of=at) == edited
    window = ds.orders_modified_between(
        loc.guid, at - timedelta(minutes=5), at + timedelta(minutes=5), as_of=at
    )
    assert [o["guid"] for o in window.page(0, len(window))] == [order["guid"]]
    assert order["guid"] in {
        o["guid"] for o in day_orders(ds, loc.guid, order["businessDate"], as_of=at)
    }
    charges = {c["guid"]: c for c in ds.config(loc.guid, "serviceCharges")}
    rates = {t["guid"]: t for t in ds.config(loc.guid, "taxRates")}
    for check in edited["checks"]:
        check_amounts(check, charges, rates, template(ds, loc.guid))
    if kind == "add_tip":
        assert total(p["tipAmount"] for p in active(edited)) > total(
            p["tipAmount"] for p in active(order)
        )
    elif kind == "void_selection":
        late = [s for c in edited["checks"] for s in c["selections"] if s["voided"]]
        assert [s["voidBusinessDate"] for s in late] == [at_bd]
        assert edited["checks"][0]["totalAmount"] < order["checks"][0]["totalAmount"]
        assert [p["paidBusinessDate"] for p in active(edited)] == [at_bd]
    elif kind == "refund":
        refund = active(edited)[0]["refund"]
        assert refund["refundBusinessDate"] == at_bd and refund["refundAmount"] > 0
        assert edited["checks"][0]["totalAmount"] == order["checks"][0]["totalAmount"]
    elif kind == "pay_open_check":
        paid_later = [p for p in active(edited) if p["paidBusinessDate"] == at_bd]
        assert len(paid_later) >= 1
    else:
        assert edited["voided"] and edited["voidBusinessDate"] == at_bd
        assert all(p["paymentStatus"] == "VOIDED" for c in edited["checks"] for p in c["payments"])


def test_apply_edit_refuses_what_cannot_be_done():
    ds = dataset()
    loc = ds.locations[0]
    paid = find(
        ds, 0, lambda o: plain(o) and all(c["paymentStatus"] == "CLOSED" for c in o["checks"])
    )
    with pytest.raises(ValueError, match="no open check"):
        ds.apply_edit(loc.guid, paid["guid"], "pay_open_check", NOW)
    with pytest.raises(ValueError, match="unknown edit kind"):
        ds.apply_edit(loc.guid, paid["guid"], "teleport", NOW)
    with pytest.raises(ValueError):
        ds.apply_edit(loc.guid, "5274c0f8-bf61-4e37-ad04-cf4ca1326822", "add_tip", NOW)
    ds.apply_edit(loc.guid, paid["guid"], "void_order", NOW)
    with pytest.raises(ValueError, match="voided"):
        ds.apply_edit(loc.guid, paid["guid"], "void_order", NOW + timedelta(minutes=1))


def test_add_tip_works_on_any_order_that_is_not_voided(ds, sample):
    fresh = dataset()
    loc = fresh.locations[0]
    at = NOW + timedelta(hours=1)
    for o in sample[loc.guid][:120]:
        if o["voided"]:
            continue
        edited = fresh.apply_edit(loc.guid, o["guid"], "add_tip", at)
        assert edited != o and ms(edited["modifiedDate"]) == int(at.timestamp() * 1000)


def hand_built(guid: str, opened: str, business_date: int) -> dict:
    return {
        "guid": guid,
        "entityType": "Order",
        "businessDate": business_date,
        "openedDate": opened,
        "modifiedDate": opened,
        "voided": False,
        "deleted": False,
        "checks": [
            {
                "guid": "9f42438a-a375-4983-9f80-c0dae5c33196",
                "entityType": "Check",
                "amount": 1.0,
                "taxAmount": 0.06,
                "totalAmount": 1.06,
                "selections": [],
                "payments": [],
            }
        ],
    }


def test_add_order_serves_a_hand_built_order_like_any_other():
    ds = dataset()
    loc = ds.locations[0]
    order = hand_built(
        "017fdd94-4a30-4657-9475-b1a684758531", "2026-03-10T18:00:00.000+0000", 20260310
    )
    generated = len(ds.orders_by_business_date(loc.guid, 20260310, as_of=NOW))
    assert generated > 0  # the day has generated orders for the hand-built one to join
    ds.add_order(loc.guid, order)

    query = ds.orders_by_business_date(loc.guid, 20260310, as_of=NOW)
    served = query.page(len(query) - 1, len(query))[0]
    assert served["guid"] == order["guid"] and len(query) == generated + 1
    assert served["checks"][0]["totalAmount"] == Decimal("1.06")  # no float served
    assert ds.order(loc.guid, order["guid"], as_of=NOW) == served
    five_pm = datetime(2026, 3, 10, 17, tzinfo=timezone.utc)
    assert ds.order(loc.guid, order["guid"], as_of=five_pm) is None
    window = ds.orders_modified_between(
        loc.guid, five_pm + timedelta(minutes=59), five_pm + timedelta(minutes=61), as_of=NOW
    )
    assert order["guid"] in {o["guid"] for o in window.page(0, len(window))}
    ds.add_order(loc.guid, dict(order, modifiedDate="2026-03-12T09:00:00.000+0000"))
    # replaced, not added again: still the generated orders plus one
    assert len(ds.orders_by_business_date(loc.guid, 20260310, as_of=NOW)) == generated + 1
    again = ds.orders_modified_between(
        loc.guid,
        datetime(2026, 3, 12, 8, tzinfo=timezone.utc),
        datetime(2026, 3, 12, 10, tzinfo=timezone.utc),
        as_of=NOW,
    )
    assert order["guid"] in {o["guid"] for o in again.page(0, len(again))}
    with pytest.raises(TypeError):
        ds.add_order(loc.guid, {"guid": "x"})


# -- identifiers ----------------------------------------------------------------------------------


def test_order_guids_decode_back_to_their_coordinates():
    ids, rng = OrderIds(7), random.Random(1)
    for _ in range(2000):
        coords = (
            rng.randrange(64),
            add_days(20000101, rng.randrange(40_000)),
            rng.randrange(1 << 24),
        )
        guid = ids.encode(*coords)
        assert GUID.match(guid) and ids.decode(guid) == coords
        assert OrderIds(8).decode(guid) is None
    assert ids.decode("5274c0f8-bf61-4e37-ad04-cf4ca1326822") is None
    assert ids.decode("not-a-guid") is None


def test_all_guids_look_like_uuids_and_are_unique(sample):
    guids = Counter()
    for order in all_orders(sample):
        for key, value in walk(order):
            if key == "guid":
                assert GUID.match(value), value
        guids[order["guid"]] += 1
        for c in order["checks"]:
            guids[c["guid"]] += 1
            for s in c["selections"]:
                guids[s["guid"]] += 1
                for t in s["appliedTaxes"]:
                    if "guid" in t:  # one location sends them without, as Toast's examples do
                        guids[t["guid"]] += 1
            for p in c["payments"]:
                guids[p["guid"]] += 1
    assert max(guids.values()) == 1


# -- counts, laziness, performance ------------------------------------------------------------


def test_counts_vary_by_day_unless_exact_counts_is_asked_for(ds):
    counts = [
        len(ds.orders_by_business_date(ds.locations[0].guid, d, as_of=NOW)) for d in SAMPLE_DAYS
    ]
    assert len(set(counts)) > 3 and all(32 <= n <= 48 for n in counts)
    exact = dataset(exact_counts=True)
    assert {
        len(exact.orders_by_business_date(loc.guid, d, as_of=NOW))
        for loc in exact.locations
        for d in SAMPLE_DAYS[:5]
    } == {40}
    assert (
        len(
            ds.orders_by_business_date(
                ds.locations[0].guid, add_days(ds.first_business_date, -1), as_of=NOW
            )
        )
        == 0
    )
    tomorrow = ds.orders_by_business_date(ds.locations[0].guid, 20260321, as_of=NOW)
    assert len(tomorrow) == 0


def test_a_day_of_100000_orders_is_counted_without_building_one(monkeypatch):
    ds = dataset(location_count=1, orders_per_day=100_000, exact_counts=True)
    guid = ds.locations[0].guid

    def forbidden(*args):
        raise AssertionError("len() must not build order documents")

    monkeypatch.setattr("sandboxes.toast.orders.build_order", forbidden)
    started = time.perf_counter()
    query = ds.orders_by_business_date(guid, 20260310, as_of=NOW)
    assert len(query) == 100_000
    assert time.perf_counter() - started < 3.0  # target under 1 s
    monkeypatch.undo()
    started = time.perf_counter()
    page = query.page(60_000, 60_100)
    assert time.perf_counter() - started < 0.3  # target about 30 ms
    assert len(page) == 100 and page[0]["guid"] == ds._ids.encode(0, 20260310, 60_000)
    assert [ms(o["openedDate"]) for o in page] == sorted(ms(o["openedDate"]) for o in page)


def test_a_one_hour_modified_window_is_fast_after_warm_up():
    ds = dataset(location_count=1, orders_per_day=2000, max_late_edit_days=21)
    guid = ds.locations[0].guid
    ds.orders_modified_between(guid, NOW - timedelta(hours=1), NOW, as_of=NOW)
    started = time.perf_counter()
    query = ds.orders_modified_between(
        guid, NOW - timedelta(hours=2), NOW - timedelta(hours=1), as_of=NOW
    )
    assert time.perf_counter() - started < 1.0  # target under 0.2 s
    assert len(query) > 0


# -- labor ---------------------------------------------------------------------------------------


def test_time_entries_by_business_date_and_modified_window(ds):
    loc = ds.locations[0]
    entries = [
        e for d in SAMPLE_DAYS for e in ds.time_entries(loc.guid, business_date=d, as_of=NOW)
    ]
    assert len(entries) > 100
    assert all(e["businessDate"] in {str(d) for d in SAMPLE_DAYS} for e in entries)
    assert any(e["overtimeHours"] > 0 for e in entries)
    assert any(e["deleted"] for e in entries)
    assert any(e["autoClockedOut"] for e in entries)
    assert all(isinstance(e["regularHours"], Decimal) and e["regularHours"] <= 8 for e in entries)
    assert {type(e["hourlyWage"]) for e in entries} <= {Decimal, type(None)}
    assert all(e["outDate"] for e in entries)
    start, _ = ds._contexts[0].clock.bounds(20260310)
    midday = datetime.fromtimestamp((start + 10 * 3_600_000) / 1000, timezone.utc)
    during = ds.time_entries(loc.guid, business_date=20260310, as_of=midday)
    assert any(e["outDate"] is None for e in during)
    assert all(ms(e["inDate"]) <= midday.timestamp() * 1000 for e in during)
    window_start, window_end = NOW - timedelta(days=5), NOW - timedelta(days=1)
    in_window = ds.time_entries(loc.guid, start=window_start, end=window_end, as_of=NOW)
    everything = [
        e
        for d in range(-8, 1)
        for e in ds.time_entries(loc.guid, business_date=add_days(20260320, d), as_of=NOW)
    ]
    expected = {
        e["guid"]
        for e in everything
        if window_start.timestamp() * 1000 <= ms(e["modifiedDate"]) < window_end.timestamp() * 1000
    }
    assert {e["guid"] for e in in_window} == expected and expected
