"""dlt source for Toast: restaurants, configuration, orders (as Arrow batches) and time entries."""

from __future__ import annotations

import logging
import queue
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator

import dlt
import pyarrow as pa

from loaders.errors import CloseoutError, ToastAuthError
from loaders.toast import settings
from loaders.toast.client import ClientOptions, ToastClient
from loaders.toast.jsontext import decode
from loaders.toast.orders import (
    REJECT_SCHEMA,
    ParsedPage,
    business_date,
    parse_page,
    reject_row,
    toast_time,
)
from loaders.toast.windows import Window, business_dates, plan
from loaders.token_store import TokenStore

log = logging.getLogger("closeout.toast")

ORDER_BATCH_ROWS = 1_000   # orders per Arrow batch handed to dlt
RESTAURANT_COLUMNS = {name: {"data_type": "text"} for name in
                      ("name", "location_name", "time_zone", "management_group_guid", "currency")}


@dataclass
class LocationOutcome:
    restaurant_guid: str
    name: str = ""
    orders: int = 0
    rejects: int = 0
    time_entries: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class LoadReport:
    """What a load did per location: filled in while the pipeline extracts."""

    started_at: datetime
    locations: dict[str, LocationOutcome] = field(default_factory=dict)

    def location(self, guid: str) -> LocationOutcome:
        return self.locations.setdefault(guid, LocationOutcome(guid))

    @property
    def failed(self) -> list[LocationOutcome]:
        return [loc for loc in self.locations.values() if not loc.ok]


class ToastContext:
    """Shared by the resources of one load: the client, the locations and the report."""

    def __init__(self, client: ToastClient, restaurant_guids: list[str] | None, report: LoadReport,
                 business_date_range: tuple[date, date] | None, backfill_days: int,
                 lag_minutes: int, page_size: int, max_workers: int):
        self.client = client
        self.report = report
        self.business_date_range = business_date_range
        self.backfill_days = backfill_days
        self.lag = timedelta(minutes=lag_minutes)
        self.page_size = page_size
        self.max_workers = max_workers
        self._configured_guids = restaurant_guids
        self._restaurants: dict[str, dict] | None = None
        self._lock = threading.Lock()

    @property
    def now(self) -> datetime:
        return self.report.started_at

    def restaurants(self) -> dict[str, dict]:
        """Restaurant records by guid, for every location this load covers (fetched once)."""
        with self._lock:
            if self._restaurants is None:
                guids = self._guids()
                with ThreadPoolExecutor(max_workers=max(1, min(self.max_workers, len(guids)))) \
                        as pool:
                    records = list(pool.map(self._restaurant, guids))
                self._restaurants = {guid: rec for guid, rec in zip(guids, records) if rec}
            return self._restaurants

    def _restaurant(self, guid: str) -> dict | None:
        outcome = self.report.location(guid)
        try:
            body = self.client.get(settings.RESTAURANT_PATH.format(guid=guid),
                                   restaurant=guid).content
            record = decode(body)
        except ToastAuthError:
            raise   # no location can load: stop the run with the fix
        except CloseoutError as exc:
            outcome.errors.append(f"restaurant: {exc}")
            return None
        except ValueError as exc:   # msgspec.DecodeError is a ValueError
            outcome.errors.append(f"restaurant: Toast sent an unreadable restaurant record: {exc}")
            return None
        record["_raw"] = body.decode()
        outcome.name = (record.get("general") or {}).get("name", "")
        return record

    def _guids(self) -> list[str]:
        if self._configured_guids:
            return list(self._configured_guids)
        partners = self.client.get_json(settings.PARTNER_RESTAURANTS_PATH)
        return [entry["restaurantGuid"] for entry in partners]

    def windows(self, guid: str, watermark: str | None) -> list[Window]:
        if self.business_date_range:
            return business_dates(*self.business_date_range)
        general = self.restaurants()[guid].get("general") or {}
        return plan(
            watermark=datetime.fromisoformat(watermark) if watermark else None,
            now=self.now, time_zone=general.get("timeZone") or "UTC",
            closeout_hour=int(general.get("closeoutHour") or 0),
            backfill_days=self.backfill_days, lag=self.lag,
        )

    def advances_watermark(self) -> bool:
        return self.business_date_range is None


@dlt.source(name="toast", max_table_nesting=0)
def toast_source(
    base_url: str = dlt.config.value,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    restaurant_guids: list[str] | None = None,
    backfill_days: int = settings.DEFAULT_BACKFILL_DAYS,
    lag_minutes: int = settings.DEFAULT_LAG_MINUTES,
    page_size: int = settings.MAX_PAGE_SIZE,
    max_workers: int = 8,
    business_date_range: tuple[date, date] | None = None,
    report: LoadReport | None = None,
    token_store: TokenStore | None = None,
    client_options: ClientOptions | None = None,
):
    """Toast for every location the credentials reach (or `restaurant_guids`).

    The first run backfills `backfill_days` business dates; later runs read the orders and
    time entries modified since the last run, `lag_minutes` early so late writes are not missed.
    `business_date_range` reads those dates instead and leaves the incremental state alone.
    """
    report = report or LoadReport(started_at=datetime.now(timezone.utc))
    client = ToastClient(base_url, client_id, client_secret, options=client_options,
                         token_store=token_store)
    ctx = ToastContext(client, restaurant_guids, report, business_date_range, backfill_days,
                       lag_minutes, min(page_size, settings.MAX_PAGE_SIZE), max_workers)
    return (  # orders first: dlt starts resources in this order and orders take longest
        dlt.resource(_orders(ctx), name="orders", write_disposition="merge",
                     primary_key=("restaurant_guid", "order_guid")),
        dlt.resource(_restaurants(ctx), name="restaurants", write_disposition="merge",
                     primary_key="restaurant_guid", columns=RESTAURANT_COLUMNS),
        dlt.resource(_config_records(ctx), name="config_records", write_disposition="merge",
                     primary_key=("restaurant_guid", "entity", "guid")),
        dlt.resource(_time_entries(ctx), name="time_entries", write_disposition="merge",
                     primary_key=("restaurant_guid", "time_entry_guid")),
    )


def _restaurants(ctx: ToastContext) -> Iterator[dict]:
    for guid, record in ctx.restaurants().items():
        general = record.get("general") or {}
        yield {
            "restaurant_guid": guid,
            "name": general.get("name"),
            "location_name": general.get("locationName"),
            "time_zone": general.get("timeZone"),
            "closeout_hour": general.get("closeoutHour"),
            "management_group_guid": general.get("managementGroupGuid"),
            "currency": general.get("currencyCode") or "USD",
            "extracted_at": ctx.now,
            "record_json": record["_raw"],
        }


def _config_records(ctx: ToastContext) -> Iterator[dict]:
    for guid, rows in _per_location(ctx, _fetch_config):
        yield from rows


def _fetch_config(ctx: ToastContext, guid: str) -> list:
    outcome = ctx.report.location(guid)
    rows: list = []
    for entity in (*settings.CONFIG_ENTITIES, "jobs"):
        try:
            if entity == "jobs":
                records = ctx.client.get_array(settings.JOBS_PATH, restaurant=guid)
            else:
                records = ctx.client.config_records(entity, guid)
        except CloseoutError as exc:
            outcome.errors.append(f"config {entity}: {exc}")
            continue
        for raw, record in records:
            if not isinstance(record, dict) or not record.get("guid"):
                outcome.rejects += 1
                rows.append(_as_reject(reject_row(guid, f"config/{entity}", ctx.now, raw,
                                                  f"{entity} record without a guid")))
                continue
            rows.append({
                "restaurant_guid": guid,
                "entity": entity,
                "guid": record.get("guid"),
                "name": record.get("name") or record.get("title"),
                "extracted_at": ctx.now,
                "record_json": raw.decode(),
            })
    return rows


def _per_location(ctx: ToastContext, fetch) -> Iterator[tuple[str, Any]]:
    """Run `fetch(ctx, guid)` for every location in threads; results in location order.

    The small resources fetch in their own threads so they do not wait for dlt to give their
    generator a turn between order batches.
    """
    restaurants = ctx.restaurants()
    with ThreadPoolExecutor(max_workers=max(1, min(ctx.max_workers, len(restaurants)))) as pool:
        futures = {guid: pool.submit(fetch, ctx, guid) for guid in restaurants}
        for guid, future in futures.items():
            yield guid, future.result()


def _orders(ctx: ToastContext) -> Iterator[Any]:
    """Orders of every location, fetched in parallel (Toast limits each location separately)."""
    restaurants = ctx.restaurants()
    state = dlt.current.source_state().setdefault("orders_watermark", {})
    plans = {guid: ctx.windows(guid, state.get(guid)) for guid in restaurants}
    results: queue.Queue = queue.Queue(maxsize=2 * ctx.max_workers)

    def fetch(guid: str) -> None:
        parsed = ParsedPage()
        try:
            for window in plans[guid]:
                for url, text in ctx.client.order_pages(guid, window.order_params(),
                                                        ctx.page_size):
                    parse_page(text, guid, url, ctx.now, into=parsed)
                    if parsed.order_count >= ORDER_BATCH_ROWS or parsed.rejects:
                        results.put(("batch", guid, parsed))
                        parsed = ParsedPage()
            results.put(("batch", guid, parsed))
            results.put(("done", guid, None))
        except CloseoutError as exc:
            results.put(("batch", guid, parsed))
            results.put(("failed", guid, f"orders ({window.describe()}): {exc}"))
        except Exception as exc:  # a bug must not take the other locations down with it
            log.error("unexpected error loading orders for %s:\n%s", guid, traceback.format_exc())
            results.put(("failed", guid, f"orders: unexpected {type(exc).__name__}: {exc}"))

    with ThreadPoolExecutor(max_workers=max(1, min(ctx.max_workers, len(plans)))) as pool:
        for guid in plans:
            pool.submit(fetch, guid)
        pending = len(plans)
        while pending:
            kind, guid, payload = results.get()
            outcome = ctx.report.location(guid)
            if kind == "batch":
                outcome.orders += payload.order_count
                outcome.rejects += len(payload.rejects)
                if payload.order_count:
                    # An order read twice in one run (two windows) keeps its latest version.
                    yield dlt.mark.with_hints(payload.table(), dlt.mark.make_hints(
                        table_name="orders", columns={"modified_at": {"dedup_sort": "desc"}}),
                        create_table_variant=True)
                if payload.rejects:
                    yield _as_reject(payload.rejects)
                continue
            pending -= 1
            if kind == "done" and ctx.advances_watermark():
                state[guid] = ctx.now.isoformat()
            elif kind == "failed":
                outcome.errors.append(payload)


def _time_entries(ctx: ToastContext) -> Iterator[Any]:
    state = dlt.current.source_state().setdefault("time_entries_watermark", {})
    watermarks = dict(state)
    for guid, (rows, complete) in _per_location(
            ctx, lambda ctx, guid: _fetch_time_entries(ctx, guid, watermarks.get(guid))):
        yield from rows
        if complete and ctx.advances_watermark():
            state[guid] = ctx.now.isoformat()


def _fetch_time_entries(ctx: ToastContext, guid: str, watermark: str | None) -> tuple[list, bool]:
    outcome = ctx.report.location(guid)
    rows: list = []
    try:
        for window in ctx.windows(guid, watermark):
            entries = ctx.client.get_array(settings.TIME_ENTRIES_PATH, restaurant=guid,
                                           params=window.time_entry_params())
            for raw, entry in entries:
                row = _time_entry_row(ctx, guid, entry, raw)
                if row is None:
                    guid_text = entry.get("guid") if isinstance(entry, dict) else None
                    rows.append(_as_reject(reject_row(
                        guid, settings.TIME_ENTRIES_PATH, ctx.now, raw,
                        "time entry without a guid or a valid businessDate (yyyymmdd)",
                        guid_text)))
                    outcome.rejects += 1
                    continue
                outcome.time_entries += 1
                rows.append(row)
    except CloseoutError as exc:
        outcome.errors.append(f"time entries: {exc}")
        return rows, False
    return rows, True


def _time_entry_row(ctx: ToastContext, guid: str, entry, raw: str) -> dict | None:
    if not isinstance(entry, dict):
        return None
    day = business_date(entry.get("businessDate"))
    if not entry.get("guid") or day is None:
        return None
    return {
        "restaurant_guid": guid,
        "time_entry_guid": entry["guid"],
        "business_date": day,
        "modified_at": toast_time(entry.get("modifiedDate")),
        "extracted_at": ctx.now,
        "entry_json": raw.decode(),
    }


def _as_reject(rows: list[dict] | dict):
    """Route rejected records to the `rejects` table (as Arrow, like the orders beside them)."""
    table = pa.Table.from_pylist(rows if isinstance(rows, list) else [rows], schema=REJECT_SCHEMA)
    return dlt.mark.with_hints(table, dlt.mark.make_hints(
        table_name="rejects", write_disposition="merge", primary_key="reject_id"),
        create_table_variant=True)
