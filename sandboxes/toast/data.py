"""The Toast sandbox's data: restaurants, configuration, orders and labor, deterministic and lazy.

Same seed and arguments give byte-identical documents. Nothing is stored per order: a business
date is a compact header (see `orders.DayHeader`) and an order document is rebuilt from its own
seeded RNG when a page asks for it. `as_of` is the sandbox clock: orders opened later do not
exist yet, and edits (generated late edits, or `apply_edit`) show only once their time has come.
"""

from __future__ import annotations

import bisect
import copy
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sandboxes.toast import orders
from sandboxes.toast.catalog import TEMPLATES, Catalog, build_catalog, job_documents
from sandboxes.toast.ids import (
    BusinessClock,
    OrderIds,
    add_days,
    date_to_yyyymmdd,
    derived_guid,
    iso_z,
    parse_toast_time,
    to_ms,
    toast_time,
    yyyymmdd_to_date,
)
from sandboxes.toast.labor import Entry, day_entries, entry_document
from sandboxes.toast.orders import EDIT_KINDS, DayHeader, LocationContext, NotApplicable

CONFIG_ENTITIES = (
    "revenueCenters",
    "salesCategories",
    "diningOptions",
    "serviceCharges",
    "discounts",
    "alternatePaymentTypes",
    "taxRates",
)
HEADER_BUDGET = 2_000_000  # order rows kept in the header cache (about 25 bytes each)
LABOR_EDIT_DAYS = 3  # time entries are corrected at most this many days later


@dataclass(frozen=True)
class Location:
    guid: str
    name: str
    time_zone: str
    closeout_hour: int
    currency: str
    management_group_guid: str


class OrderQuery:
    """The orders one ordersBulk query matches, in a stable order; documents built per page."""

    def __init__(
        self,
        dataset: ToastDataset,
        index: int,
        parts: list[tuple[int, Any]],
        injected: list[dict],
        as_of_ms: int,
    ):
        self._dataset, self._index, self._as_of = dataset, index, as_of_ms
        self._parts = parts  # (business date, order indexes: range or array)
        self._injected = injected
        self._ends = []
        total = 0
        for _, indexes in parts:
            total += len(indexes)
            self._ends.append(total)
        self._generated = total

    def __len__(self) -> int:
        return self._generated + len(self._injected)

    def page(self, start: int, stop: int) -> list[dict]:
        start, stop = max(0, start), min(stop, len(self))
        docs = []
        position = start
        while position < min(stop, self._generated):
            part = bisect.bisect_right(self._ends, position)
            business_date, indexes = self._parts[part]
            offset = position - (self._ends[part] - len(indexes))
            take = min(stop, self._ends[part]) - position
            header = self._dataset._header(self._index, business_date)
            for k in range(offset, offset + take):
                docs.append(self._dataset._render(self._index, header, indexes[k], self._as_of))
            position += take
        for k in range(max(start, self._generated), stop):
            docs.append(copy.deepcopy(self._injected[k - self._generated]))
        return docs


class ToastDataset:
    def __init__(
        self,
        seed: int = 7,
        location_count: int = 3,
        orders_per_day: int = 40,
        history_days: int = 120,
        max_late_edit_days: int = 21,
        exact_counts: bool = False,
        today: date | None = None,
    ):
        """`today` anchors the history (first business date = today - history_days); it
        defaults to the current UTC date. Later business dates exist too, hidden by `as_of`."""
        self.seed = seed
        self.orders_per_day = orders_per_day
        self.max_late_edit_days = max_late_edit_days
        self.exact_counts = exact_counts
        today = today or datetime.now(timezone.utc).date()
        self.first_business_date = date_to_yyyymmdd(today - timedelta(days=history_days))
        self._ids = OrderIds(seed)
        self._group = derived_guid("management-group", seed)
        self.locations: list[Location] = []
        self._contexts: list[LocationContext] = []
        for index in range(location_count):
            template = TEMPLATES[index % len(TEMPLATES)]
            round_ = index // len(TEMPLATES)
            name = f"{template.name} {template.location_name}" + (
                f" #{round_ + 1}" if round_ else ""
            )
            self.locations.append(
                Location(
                    derived_guid("location", seed, index),
                    name,
                    template.time_zone,
                    template.closeout_hour,
                    "USD",
                    self._group,
                )
            )
            self._contexts.append(
                LocationContext(
                    seed,
                    index,
                    build_catalog(seed, index, template),
                    BusinessClock(template.time_zone, template.closeout_hour),
                    self._ids,
                )
            )
        self._by_guid = {loc.guid: n for n, loc in enumerate(self.locations)}
        self._lock = threading.RLock()
        self._headers: OrderedDict[tuple[int, int], DayHeader] = OrderedDict()
        self._header_rows = 0
        self._windows: dict[tuple[int, int], tuple] = {}
        self._labor: OrderedDict[tuple[int, int], list[Entry]] = OrderedDict()
        self._edits: dict[str, list[tuple[int, int, str]]] = {}  # order guid -> edits
        self._edit_index: dict[tuple[int, int], dict[int, list[int]]] = {}
        self._edit_seq = 0
        self._injected: list[dict[str, dict]] = [{} for _ in self.locations]

    # -- restaurants and configuration ---------------------------------------------------------
    def location(self, guid: str) -> Location | None:
        index = self._by_guid.get(guid)
        return None if index is None else self.locations[index]

    def partner_restaurants(self) -> list[dict]:
        return [self._partner_doc(n, loc) for n, loc in enumerate(self.locations)]

    def _partner_doc(self, index: int, loc: Location) -> dict:
        template = self._contexts[index].catalog.template
        created = (
            to_ms(datetime(2021, 3, 1, 15, tzinfo=timezone.utc))
            + index * 86_400_000
            + self.seed % 1000 * 1000
        )
        return {
            "restaurantGuid": loc.guid,
            # As in Toast's examples: a location outside the management group's listing, one
            # without a location name or external reference.
            "managementGroupGuid": None if index % 3 == 2 else loc.management_group_guid,
            "restaurantName": loc.name,
            "locationName": None if index % 3 == 1 else template.location_name,
            "createdByEmailAddress": "owner@harborandvine.example",
            "externalGroupRef": None if index % 3 == 2 else "HARBOR_VINE",
            "externalRestaurantRef": None if index % 3 == 1 else f"HV-{index + 1:03d}",
            "modifiedDate": created,
            "createdDate": created,
            "isoModifiedDate": iso_z(created),
            "isoCreatedDate": iso_z(created),
            "deleted": False,
        }

    def restaurant(self, guid: str) -> dict:
        index = self._index(guid)
        loc, t = self.locations[index], self._contexts[index].catalog.template
        weekday = {
            "scheduleName": "All week",
            "openTime": "11:00:00.000",
            "closeTime": "02:00:00.000",
            "services": [
                {
                    "name": "Lunch",
                    "hours": {"startTime": "11:00:00.000", "endTime": "15:59:00.000"},
                    "overnight": False,
                },
                {
                    "name": "Dinner",
                    "hours": {"startTime": "16:00:00.000", "endTime": "21:59:00.000"},
                    "overnight": False,
                },
                {
                    "name": "Late Night",
                    "hours": {"startTime": "22:00:00.000", "endTime": "02:00:00.000"},
                    "overnight": True,
                },
            ],
        }
        schedule_id = str(1_495_000_000_000_000 + index)
        return {
            "guid": loc.guid,
            "general": {
                "name": loc.name,
                "locationName": t.location_name,
                "locationCode": f"HV{index + 1:02d}",
                "description": "Neighbourhood kitchen and bar",
                "timeZone": loc.time_zone,
                "closeoutHour": loc.closeout_hour,
                "managementGroupGuid": loc.management_group_guid,
                "currencyCode": loc.currency,
                "firstBusinessDate": self.first_business_date,
                "archived": False,
            },
            "urls": {
                "website": "https://harborandvine.example",
                "facebook": "",
                "twitter": "",
                "orderOnline": f"https://www.toasttab.com/harbor-vine-{index + 1}/v3",
                "purchaseGiftCard": "https://www.toasttab.com/harbor-vine/giftcards",
                "checkGiftCard": "https://www.toasttab.com/harbor-vine/findcard",
            },
            "location": {
                "address1": t.address,
                "address2": "",
                "city": t.city,
                "stateCode": t.state,
                "administrativeArea": t.state,
                "zipCode": t.zip_code,
                "country": "US",
                "phone": t.phone,
                "phoneCountryCode": "1",
                "latitude": Decimal(str(t.latitude)),
                "longitude": Decimal(str(t.longitude)),
            },
            "schedules": {
                "daySchedules": {schedule_id: weekday},
                "weekSchedule": {
                    day: schedule_id
                    for day in (
                        "monday",
                        "tuesday",
                        "wednesday",
                        "thursday",
                        "friday",
                        "saturday",
                        "sunday",
                    )
                },
            },
            "delivery": {"enabled": True, "minimum": None, "area": ""},
            "onlineOrdering": {
                "enabled": True,
                "scheduling": index % 3 != 1,
                "specialRequests": True,
                "specialRequestsMessage": "",
                "paymentOptions": {
                    "delivery": {
                        "cash": index % 3 == 2,
                        "ccSameDay": True,
                        "ccFuture": index % 3 != 1,
                    },
                    "takeout": {
                        "cash": True,
                        "ccSameDay": True,
                        "ccFuture": index % 3 != 1,
                        "ccInStore": True,
                    },
                    "ccTip": True,
                },
            },
            "prepTimes": {
                "deliveryPrepTime": 45,
                "deliveryTimeAfterOpen": 0,
                "deliveryTimeBeforeClose": 0,
                "takeoutPrepTime": 20,
                "takeoutTimeAfterOpen": 0,
                "takeoutTimeBeforeClose": 0,
                "takeoutThrottlingTime": 0,
                "deliveryThrottlingTime": 0,
            },
        }

    def config(self, guid: str, entity: str) -> list[dict]:
        if entity not in CONFIG_ENTITIES:
            raise KeyError(f"unknown configuration entity {entity!r}")
        return copy.deepcopy(self._catalog(guid).documents[entity])

    def jobs(self, guid: str) -> list[dict]:
        created = toast_time(to_ms(datetime(2021, 3, 1, 15, tzinfo=timezone.utc)))
        return job_documents(self._catalog(guid), created)

    # -- orders ----------------------------------------------------------------------------------
    def orders_by_business_date(
        self, guid: str, business_date: int, *, as_of: datetime
    ) -> OrderQuery:
        index, as_of_ms = self._index(guid), to_ms(as_of)
        parts = []
        if self._has_orders(business_date):
            count = self._header(index, business_date).count_opened(as_of_ms)
            parts.append((business_date, range(count)))
        injected = [
            doc
            for doc in self._injected_docs(index, as_of_ms)
            if doc.get("businessDate") == business_date
        ]
        return OrderQuery(self, index, parts, injected, as_of_ms)

    def orders_modified_between(
        self, guid: str, start: datetime, end: datetime, *, as_of: datetime
    ) -> OrderQuery:
        index, as_of_ms = self._index(guid), to_ms(as_of)
        start_ms, end_ms = to_ms(start), to_ms(end)
        clock = self._contexts[index].clock
        first = add_days(clock.business_date(start_ms), -(self.max_late_edit_days + 1))
        last = clock.business_date(min(end_ms, as_of_ms + 1))
        days = set(_business_dates(max(first, self.first_business_date), last))
        with self._lock:  # edits applied by hand can reach orders of any age
            days.update(
                d
                for (i, d), edits in self._edit_index.items()
                if i == index
                and d <= last
                and any(start_ms <= t < end_ms for times in edits.values() for t in times)
            )
        parts = []
        for day in sorted(days) if start_ms < end_ms else []:
            hits = self._modified_in(index, day, start_ms, end_ms, as_of_ms)
            if hits:
                parts.append((day, hits))
        injected = [
            doc
            for doc in self._injected_docs(index, as_of_ms)
            if start_ms <= parse_toast_time(doc["modifiedDate"]) < end_ms
        ]
        return OrderQuery(self, index, parts, injected, as_of_ms)

    def order(self, guid: str, order_guid: str, *, as_of: datetime) -> dict | None:
        index, as_of_ms = self._index(guid), to_ms(as_of)
        injected = self._injected[index].get(order_guid)
        if injected is not None:
            return copy.deepcopy(injected) if _opened_ms(injected) <= as_of_ms else None
        found = self._locate(index, order_guid)
        if found is None or found[0].opened[found[1]] > as_of_ms:
            return None
        return self._render(index, found[0], found[1], as_of_ms)

    def apply_edit(self, guid: str, order_guid: str, kind: str, at: datetime) -> dict:
        """Edit an order at `at` (kinds: void_order, void_selection, add_tip, refund,
        pay_open_check) and return it as of `at`. Raises ValueError if nothing can be edited."""
        if kind not in EDIT_KINDS:
            raise ValueError(f"unknown edit kind {kind!r}; one of {', '.join(sorted(EDIT_KINDS))}")
        index, at_ms = self._index(guid), to_ms(at)
        found = self._locate(index, order_guid)
        if found is None:
            raise ValueError(
                f"order {order_guid} is not a generated order of restaurant {guid} "
                "(hand-built orders are replaced with add_order instead)"
            )
        header, i = found
        with self._lock:
            existing = list(self._edits.get(order_guid, ()))
            order = orders.build_order(self._contexts[index], header, i)
            orders.materialize(order, at_ms, existing)
            try:
                orders.apply_edit(order, kind, at_ms)
            except NotApplicable as exc:
                raise ValueError(
                    f"cannot {kind} order {order_guid} at {toast_time(at_ms)}: {exc}"
                ) from None
            self._edit_seq += 1
            self._edits.setdefault(order_guid, []).append((at_ms, self._edit_seq, kind))
            key = (index, header.business_date)
            self._edit_index.setdefault(key, {}).setdefault(i, []).append(at_ms)
        return self._render(index, header, i, at_ms)

    def add_order(self, guid: str, order: dict) -> None:
        """Serve a hand-built order document (adding the same guid again replaces it)."""
        index = self._index(guid)
        if not isinstance(order.get("guid"), str) or not isinstance(order.get("businessDate"), int):
            raise TypeError("a hand-built order needs a string guid and an int businessDate")
        doc = _decimals(copy.deepcopy(order))
        doc.setdefault("modifiedDate", doc.get("openedDate"))
        if not isinstance(doc.get("modifiedDate"), str):
            raise TypeError("a hand-built order needs openedDate or modifiedDate")
        with self._lock:
            self._injected[index][doc["guid"]] = doc

    # -- labor -------------------------------------------------------------------------------------
    def time_entries(
        self,
        guid: str,
        *,
        business_date: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        as_of: datetime,
    ) -> list[dict]:
        index, as_of_ms = self._index(guid), to_ms(as_of)
        catalog = self._contexts[index].catalog
        if business_date is not None:
            entries = [e for e in self._entries(index, business_date) if e.in_ms <= as_of_ms]
        elif start is not None and end is not None:
            start_ms, end_ms = to_ms(start), to_ms(end)
            clock = self._contexts[index].clock
            day = add_days(clock.business_date(start_ms), -LABOR_EDIT_DAYS)
            last = clock.business_date(min(end_ms, as_of_ms + 1))
            entries = []
            while day <= last:
                entries += [
                    e
                    for e in self._entries(index, day)
                    if e.in_ms <= as_of_ms and start_ms <= e.modified(as_of_ms) < end_ms
                ]
                day = add_days(day, 1)
        else:
            raise ValueError("give business_date, or start and end")
        return [entry_document(e, catalog, as_of_ms) for e in entries]

    # -- internals -------------------------------------------------------------------------------
    def _index(self, guid: str) -> int:
        index = self._by_guid.get(guid)
        if index is None:
            raise KeyError(f"unknown restaurant {guid}")
        return index

    def _catalog(self, guid: str) -> Catalog:
        return self._contexts[self._index(guid)].catalog

    def _has_orders(self, business_date: int) -> bool:
        return business_date >= self.first_business_date

    def _header(self, index: int, business_date: int) -> DayHeader:
        key = (index, business_date)
        with self._lock:
            header = self._headers.get(key)
            if header is not None:
                self._headers.move_to_end(key)
                return header
        ctx = self._contexts[index]
        count = (
            orders.day_count(
                self.seed, index, business_date, self.orders_per_day, self.exact_counts
            )
            if self._has_orders(business_date)
            else 0
        )
        header = orders.make_header(
            self.seed, index, ctx.clock, business_date, count, self.max_late_edit_days
        )
        with self._lock:
            if key not in self._headers:
                self._headers[key] = header
                self._header_rows += len(header)
                while self._header_rows > HEADER_BUDGET and len(self._headers) > 1:
                    old_key, old = self._headers.popitem(last=False)
                    self._header_rows -= len(old)
                    self._windows.pop(old_key, None)
            return self._headers[key]

    def _window_index(self, index: int, header: DayHeader) -> tuple:
        """Settled and late-edit times sorted with their order indexes (built once per day)."""
        key = (index, header.business_date)
        found = self._windows.get(key)
        if found is None:
            settled = sorted(zip(header.settled, range(len(header)), strict=True))
            late = sorted((t, i) for i, t in enumerate(header.late) if t)
            found = (
                array("q", (t for t, _ in settled)),
                array("l", (i for _, i in settled)),
                array("q", (t for t, _ in late)),
                array("l", (i for _, i in late)),
            )
            with self._lock:
                if len(self._windows) > 2 * len(self._headers) + 64:  # evicted days linger
                    self._windows.clear()
                self._windows[key] = found
        return found

    def _modified_in(
        self, index: int, business_date: int, start_ms: int, end_ms: int, as_of_ms: int
    ) -> list[int]:
        """Order indexes of the day whose modifiedDate at as_of is in [start, end)."""
        header = self._header(index, business_date)
        if not len(header):
            return []
        settled_t, settled_i, late_t, late_i = self._window_index(index, header)
        edits = self._edit_index.get((index, business_date), {})
        # modifiedDate is one of opened, settled, a late edit or an applied edit: a hit must
        # have one of those in the window; each candidate is then checked exactly.
        candidates = set(
            range(
                bisect.bisect_left(header.opened, start_ms),
                bisect.bisect_left(header.opened, end_ms),
            )
        )
        candidates.update(
            settled_i[
                bisect.bisect_left(settled_t, start_ms) : bisect.bisect_left(settled_t, end_ms)
            ]
        )
        candidates.update(
            late_i[bisect.bisect_left(late_t, start_ms) : bisect.bisect_left(late_t, end_ms)]
        )
        candidates.update(
            i for i, times in edits.items() if any(start_ms <= t < end_ms for t in times)
        )
        hits = []
        for i in sorted(candidates):
            if header.opened[i] > as_of_ms:
                continue
            modified = header.modified(i, as_of_ms)
            for t in edits.get(i, ()):
                if modified < t <= as_of_ms:
                    modified = t
            if start_ms <= modified < end_ms:
                hits.append(i)
        return hits

    def _locate(self, index: int, order_guid: str) -> tuple[DayHeader, int] | None:
        decoded = self._ids.decode(order_guid)
        if decoded is None or decoded[0] != index or not self._has_orders(decoded[1]):
            return None
        header = self._header(index, decoded[1])
        return (header, decoded[2]) if decoded[2] < len(header) else None

    def _render(self, index: int, header: DayHeader, i: int, as_of_ms: int) -> dict:
        order = orders.build_order(self._contexts[index], header, i)
        edits = self._edits.get(order.guid, ())
        modified = orders.materialize(order, as_of_ms, list(edits))
        return orders.document(order, modified)

    def _entries(self, index: int, business_date: int) -> list[Entry]:
        if not self._has_orders(business_date):
            return []
        key = (index, business_date)
        with self._lock:
            entries = self._labor.get(key)
        if entries is None:
            ctx = self._contexts[index]
            entries = day_entries(self.seed, index, ctx.catalog, ctx.clock, business_date)
            with self._lock:
                self._labor[key] = entries
                if len(self._labor) > 4096:
                    self._labor.popitem(last=False)
        return entries

    def _injected_docs(self, index: int, as_of_ms: int) -> list[dict]:
        with self._lock:
            docs = list(self._injected[index].values())
        visible = [d for d in docs if _opened_ms(d) <= as_of_ms]
        return sorted(visible, key=lambda d: (d.get("openedDate") or "", d["guid"]))


def _opened_ms(doc: dict) -> int:
    opened = doc.get("openedDate")
    return parse_toast_time(opened) if isinstance(opened, str) else 0


def _decimals(value: Any) -> Any:
    """Floats in a hand-built order (JSON parsed by the control endpoint) become Decimals."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def _business_dates(first: int, last: int) -> list[int]:
    days = (yyyymmdd_to_date(last) - yyyymmdd_to_date(first)).days
    return [add_days(first, n) for n in range(max(0, days + 1))]


def _bench() -> None:
    """Print the generator's speed against its targets: python -m sandboxes.toast.data"""
    import time

    now = datetime.now(timezone.utc)
    day = date_to_yyyymmdd(now.date() - timedelta(days=3))

    def timed(label: str, target: str, work) -> Any:
        started = time.perf_counter()
        result = work()
        print(f"{label:<58} {(time.perf_counter() - started) * 1000:8.1f} ms  (target {target})")
        return result

    big = ToastDataset(location_count=1, orders_per_day=100_000, exact_counts=True)
    guid = big.locations[0].guid
    query = timed(
        "len(orders_by_business_date), 100,000 orders/day, cold",
        "< 1 s",
        lambda: big.orders_by_business_date(guid, day, as_of=now),
    )
    timed("page(50_000, 50_100)", "~30 ms", lambda: query.page(50_000, 50_100))
    busy = ToastDataset(location_count=1, orders_per_day=2_000, max_late_edit_days=21)
    guid = busy.locations[0].guid
    window = (now - timedelta(hours=1), now)
    timed(
        "1-hour modified window, 2,000/day, 21 late days, cold",
        "-",
        lambda: busy.orders_modified_between(guid, *window, as_of=now),
    )
    timed(
        "1-hour modified window, warm",
        "< 0.2 s",
        lambda: busy.orders_modified_between(guid, *window, as_of=now),
    )


if __name__ == "__main__":
    _bench()
