"""Toast: a dlt source for restaurants, configuration and time entries, and the order feed
(from the order-fetch process, see order_fetch.py) and writer that put orders into the
warehouse as Arrow batches (see order_store.py for why orders do not go through dlt's merge)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import dlt
import pyarrow as pa

from closeout.errors import CloseoutError, ToastAuthError
from closeout.token_store import TokenStore
from loaders.memory import release_free_memory
from loaders.toast import settings
from loaders.toast.client import ClientOptions, ToastClient
from loaders.toast.handover import ByteBoundedQueue
from loaders.toast.jsontext import decode
from loaders.toast.order_fetch import FetchWork, OrderFetchProcess
from loaders.toast.order_store import OrderStore
from loaders.toast.orders import REJECT_SCHEMA, OrderBatch, business_date, reject_row, toast_time
from loaders.toast.windows import Window, business_dates, plan

log = logging.getLogger("closeout.toast")

SMALL_RESOURCES = ("restaurants", "config_records", "time_entries")
# Fetched orders waiting for the writer at most: enough to keep fetching through a commit.
# Past it the reader stops reading the pipe and the order-fetch process waits to send, so a
# writer that falls behind slows the fetching instead of growing memory.
FEED_QUEUE_BYTES = 32 * 2**20
# A commit takes what has arrived, up to this much order JSON, so commits keep pace with the
# download and the one after the last page is small.
COMMIT_MAX_BYTES = 8 * 2**20
RESTAURANT_COLUMNS = {
    name: {"data_type": "text"}
    for name in ("name", "location_name", "time_zone", "management_group_guid", "currency")
}


@dataclass
class LocationOutcome:
    restaurant_guid: str
    name: str = ""
    orders: int = 0
    rejects: int = 0
    time_entries: int = 0
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_rejects(self, count: int) -> None:
        with self._lock:  # the order writer, configuration and time-entry threads all count
            self.rejects += count


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


@dataclass
class LoadSession:
    """One load: what the source and the order writer share.

    Orders are fetched by the order-fetch process for the whole load and written by
    `write_orders` about every `commit_interval_seconds`, while the pipeline
    writes restaurants, configuration and time entries. `order_watermarks` are the modified
    times each location's orders were loaded through, from the warehouse.
    """

    report: LoadReport
    commit_interval_seconds: float = 0.3
    order_watermarks: dict[str, str] = field(default_factory=dict)
    context: ToastContext | None = None
    feed_started: threading.Event = field(default_factory=threading.Event)
    order_process: OrderFetchProcess | None = None  # started early, so it imports meanwhile

    def close(self) -> None:
        if self.context:
            self.context.close()
        if self.order_process:
            self.order_process.close()  # also when the load stopped before it had work


class ToastContext:
    """Shared by the resources of one load: the client, the locations and the report."""

    def __init__(
        self,
        client: ToastClient,
        restaurant_guids: list[str] | None,
        report: LoadReport,
        business_date_range: tuple[date, date] | None,
        backfill_days: int,
        lag_minutes: int,
        page_size: int,
        max_workers: int,
    ):
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
        self.feed: OrderFeed | None = None
        self.background: BackgroundFetch | None = None

    def close(self) -> None:
        if self.feed:
            self.feed.close()
        if self.background:
            self.background.close()
        self.client.close()

    @property
    def now(self) -> datetime:
        return self.report.started_at

    def restaurants(self) -> dict[str, dict]:
        """Restaurant records by guid, for every location this load covers (fetched once)."""
        with self._lock:
            if self._restaurants is None:
                guids = self._guids()
                with ThreadPoolExecutor(
                    max_workers=max(1, min(self.max_workers, len(guids)))
                ) as pool:
                    records = list(pool.map(self._restaurant, guids))
                self._restaurants = {
                    guid: rec for guid, rec in zip(guids, records, strict=True) if rec
                }
            return self._restaurants

    def _restaurant(self, guid: str) -> dict | None:
        outcome = self.report.location(guid)
        try:
            body = self.client.get(
                settings.RESTAURANT_PATH.format(guid=guid), restaurant=guid
            ).content
            record = decode(body)
        except ToastAuthError:
            raise  # no location can load: stop the run with the fix
        except CloseoutError as exc:
            outcome.errors.append(f"restaurant: {exc}")
            return None
        except ValueError as exc:  # msgspec.DecodeError is a ValueError
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
            now=self.now,
            time_zone=general.get("timeZone") or "UTC",
            closeout_hour=int(general.get("closeoutHour") or 0),
            backfill_days=self.backfill_days,
            lag=self.lag,
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
    max_workers: int = 16,
    business_date_range: tuple[date, date] | None = None,
    session: LoadSession | None = None,
    token_store: TokenStore | None = None,
    client_options: ClientOptions | None = None,
):
    """Toast for every location the credentials reach (or `restaurant_guids`).

    The first run backfills `backfill_days` business dates; later runs read the orders and
    time entries modified since the last run, `lag_minutes` early so late writes are not missed.
    `business_date_range` reads those dates instead and leaves the incremental state alone.
    Creating the source starts fetching the orders into `session.context.feed`, for
    `write_orders` to commit while the pipeline writes these resources.
    """
    session = session or LoadSession(LoadReport(started_at=datetime.now(timezone.utc)))
    if session.context is None:
        client = ToastClient(
            base_url,
            client_id,
            client_secret,
            options=client_options,
            token_store=token_store,
            request_limits=settings.MAIN_PROCESS_REQUEST_LIMITS,
        )
        session.context = ToastContext(
            client,
            restaurant_guids,
            session.report,
            business_date_range,
            backfill_days,
            lag_minutes,
            min(page_size, settings.MAX_PAGE_SIZE),
            max_workers,
        )
        state = dlt.current.source_state()
        session.context.background = BackgroundFetch(
            session.context, dict(state.get("time_entries_watermark", {}))
        )
        # Order watermarks live beside the orders; older warehouses kept them in dlt's state.
        watermarks = {**state.get("orders_watermark", {}), **session.order_watermarks}
        ctx = session.context
        ctx.feed = OrderFeed(
            ctx,
            {guid: ctx.windows(guid, watermarks.get(guid)) for guid in ctx.restaurants()},
            session.order_process,
        )
        session.feed_started.set()
    ctx = session.context
    return (
        dlt.resource(
            _restaurants(ctx),
            name="restaurants",
            write_disposition="merge",
            primary_key="restaurant_guid",
            columns=RESTAURANT_COLUMNS,
        ),
        dlt.resource(
            _config_records(ctx),
            name="config_records",
            write_disposition="merge",
            primary_key=("restaurant_guid", "entity", "guid"),
        ),
        dlt.resource(
            _time_entries(ctx),
            name="time_entries",
            write_disposition="merge",
            primary_key=("restaurant_guid", "time_entry_guid"),
        ),
    )


class BackgroundFetch:
    """Configuration and time entries of every location, fetched in threads from the start of a
    load, so the pipeline run that writes them never holds the orders up."""

    def __init__(self, ctx: ToastContext, time_entry_watermarks: dict[str, str]):
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, ctx.max_workers), thread_name_prefix="toast-small"
        )
        self._submitted = self._pool.submit(self._submit, ctx, time_entry_watermarks)

    def _submit(self, ctx: ToastContext, watermarks: dict[str, str]) -> tuple[dict, dict]:
        guids = list(ctx.restaurants())
        return (
            {guid: self._pool.submit(_fetch_config, ctx, guid) for guid in guids},
            {
                guid: self._pool.submit(_fetch_time_entries, ctx, guid, watermarks.get(guid))
                for guid in guids
            },
        )

    def done(self) -> bool:
        if not self._submitted.done():
            return False
        if self._submitted.exception():
            return True
        return all(f.done() for group in self._submitted.result() for f in group.values())

    def config(self) -> Iterator[tuple[str, list]]:
        for guid, future in self._submitted.result()[0].items():
            yield guid, future.result()

    def time_entries(self) -> Iterator[tuple[str, tuple[list, bool]]]:
        for guid, future in self._submitted.result()[1].items():
            yield guid, future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


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
    for _, rows in ctx.background.config():
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
                outcome.add_rejects(1)
                rows.append(
                    _as_reject(
                        reject_row(
                            guid,
                            f"config/{entity}",
                            ctx.now,
                            raw,
                            f"{entity} record without a guid",
                        )
                    )
                )
                continue
            rows.append(
                {
                    "restaurant_guid": guid,
                    "entity": entity,
                    "guid": record.get("guid"),
                    "name": record.get("name") or record.get("title"),
                    "extracted_at": ctx.now,
                    "record_json": raw.decode(),
                }
            )
    return rows


class OrderFeed:
    """Orders of every location, fetched by the order-fetch process (locations in parallel there,
    as Toast limits each separately) and handed over as Arrow batches and per-location
    done/failed events."""

    def __init__(
        self,
        ctx: ToastContext,
        plans: dict[str, list[Window]],
        process: OrderFetchProcess | None = None,
    ):
        self.ctx = ctx
        self.plans = plans
        self.pending = len(plans)
        # Bounded: fetching pauses only when DuckDB falls well behind, so memory stays flat.
        self.events_queue = ByteBoundedQueue(FEED_QUEUE_BYTES)
        self._process = process or OrderFetchProcess()
        tokens = ctx.client.tokens
        if plans:
            self._process.begin(
                FetchWork(
                    base_url=ctx.client.base_url,
                    client_id=tokens.client_id,
                    client_secret=tokens.client_secret,
                    grant=tokens.share(),
                    token_store_path=tokens.store.path if tokens.store else None,
                    options=ctx.client.options,
                    plans=plans,
                    page_size=ctx.page_size,
                    max_workers=ctx.max_workers,
                    extracted_at=ctx.now,
                    log_level=log.getEffectiveLevel(),
                ),
                self.events_queue.put,
            )

    @property
    def finished(self) -> bool:
        return self.pending == 0

    def events(self, until: float | None) -> Iterator[tuple[str, str, Any]]:
        """Events as they arrive, until every location is done, or the clock has reached `until`
        and nothing more is waiting (so a commit takes everything fetched before it)."""
        while self.pending:
            timeout = None if until is None else max(0.0, until - time.monotonic())
            try:
                event = self.events_queue.get(timeout=timeout)
            except TimeoutError:
                return
            if event[0] != "batch":
                self.pending -= 1
            yield event

    def close(self) -> None:
        self.events_queue.close()
        self._process.close()


def write_orders(
    session: LoadSession, store: OrderStore, stop: threading.Event | None = None
) -> None:
    """Write the orders as they arrive (from the moment the source starts fetching them), one
    commit about every commit interval, until every location is done or `stop` is set. A
    location's watermark is committed with its last orders, never before them."""
    while not session.feed_started.wait(0.05):
        if stop and stop.is_set():
            return
    ctx = session.context
    feed = ctx.feed
    pages: list[OrderBatch] = []
    finished: dict[str, datetime] = {}
    pending_bytes = 0
    while not feed.finished and not (stop and stop.is_set()):
        for kind, guid, payload in feed.events(time.monotonic() + session.commit_interval_seconds):
            outcome = ctx.report.location(guid)
            if kind == "batch":
                outcome.orders += payload.order_count
                outcome.add_rejects(len(payload.rejects))
                pages.append(payload)
                pending_bytes += payload.nbytes
                if pending_bytes >= COMMIT_MAX_BYTES:
                    break
            elif kind == "done" and ctx.advances_watermark():
                finished[guid] = ctx.now
            elif kind == "failed":
                outcome.errors.append(payload)
        if pages or finished:
            store.write(pages, finished, datetime.now(timezone.utc))
            pages, finished, pending_bytes = [], {}, 0
            release_free_memory()  # the commit's batches are free now


def _time_entries(ctx: ToastContext) -> Iterator[Any]:
    state = dlt.current.source_state().setdefault("time_entries_watermark", {})
    for guid, (rows, complete) in ctx.background.time_entries():
        yield from rows
        if complete and ctx.advances_watermark():
            state[guid] = ctx.now.isoformat()


def _fetch_time_entries(ctx: ToastContext, guid: str, watermark: str | None) -> tuple[list, bool]:
    outcome = ctx.report.location(guid)
    rows: list = []
    try:
        for window in ctx.windows(guid, watermark):
            entries = ctx.client.get_array(
                settings.TIME_ENTRIES_PATH, restaurant=guid, params=window.time_entry_params()
            )
            for raw, entry in entries:
                row = _time_entry_row(ctx, guid, entry, raw)
                if row is None:
                    guid_text = entry.get("guid") if isinstance(entry, dict) else None
                    rows.append(
                        _as_reject(
                            reject_row(
                                guid,
                                settings.TIME_ENTRIES_PATH,
                                ctx.now,
                                raw,
                                "time entry without a guid or a valid businessDate (yyyymmdd)",
                                guid_text,
                            )
                        )
                    )
                    outcome.add_rejects(1)
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
    return dlt.mark.with_hints(
        table,
        dlt.mark.make_hints(
            table_name="rejects", write_disposition="merge", primary_key="reject_id"
        ),
        create_table_variant=True,
    )
