"""The loader's memory is bounded by design: the order-fetch process hands orders over in batches
of a fixed size, so what it holds does not grow with a location's orders, and it waits for a
writer that falls behind instead of buffering what it fetches."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

import pyarrow.compute as pc

from loaders.toast import order_fetch
from loaders.toast.client import ClientOptions, ToastClient
from loaders.toast.handover import ByteBoundedQueue
from loaders.toast.order_fetch import FetchWork, OrderFetchProcess
from loaders.toast.orders import parse_page
from loaders.toast.settings import ORDERS_BULK_PATH
from loaders.toast.windows import business_dates

PAGE_SIZE = 5
BATCH_BYTES = 20_000  # a tiny limit: a location's 40 orders a day are ~400 KB of JSON


def order_json_bytes(batch) -> int:
    return pc.sum(pc.binary_length(batch.orders.column("order_json"))).as_py() or 0


def test_a_location_s_orders_are_handed_over_in_batches_of_at_most_the_byte_limit(
    toast, monkeypatch
):
    toast.control("rate_limits", {"enabled": False})
    monkeypatch.setattr(order_fetch, "ORDER_BATCH_BYTES", BATCH_BYTES)
    monkeypatch.setattr(order_fetch, "ORDER_BATCH_MAX_AGE_SECONDS", 3600.0)  # only size cuts
    today = datetime.now(timezone.utc).date()
    windows = business_dates(today - timedelta(days=12), today - timedelta(days=10))
    guid = toast.restaurants[0]
    now = datetime.now(timezone.utc)
    client = ToastClient(toast.url, toast.client_id, toast.client_secret)
    try:
        pages = [
            parse_page(body, guid, url, now)
            for window in windows
            for url, body in client.order_pages(guid, window.order_params(), PAGE_SIZE)
        ]
        events = []
        order_fetch.fetch_location(client, guid, windows, PAGE_SIZE, now, events.append)
    finally:
        client.close()

    assert events[-1] == ("done", guid, None)
    batches = [payload for kind, _, payload in events if kind == "batch"]
    sent = [order_guid for b in batches for order_guid in b.orders.column("order_guid").to_pylist()]
    fetched = [order_guid for page in pages for order_guid in page.rows["order_guid"]]
    assert sent == fetched and len(fetched) > 40  # every order once, in page order
    largest_page = max(page.nbytes for page in pages)
    assert sum(page.nbytes for page in pages) > 4 * (BATCH_BYTES + largest_page)
    # A batch closes on the page that reaches the limit: never more than the limit and a page.
    assert max(order_json_bytes(b) for b in batches) <= BATCH_BYTES + largest_page


def ordersbulk_requests(toast) -> int:
    return toast.stats()["requests"].get(ORDERS_BULK_PATH, 0)


def once_it_stops_asking(toast) -> int:
    """ordersBulk requests served, once two looks a second apart see the same count."""
    seen = -1
    while (count := ordersbulk_requests(toast)) != seen:
        seen = count
        time.sleep(1.0)
    return count


def test_a_writer_that_falls_behind_makes_the_fetcher_wait_instead_of_buffering(toast, monkeypatch):
    toast.control("rate_limits", {"enabled": False})
    monkeypatch.setattr(order_fetch, "ORDER_BATCH_BYTES", 1)  # a batch per page (forked: kept)
    today = datetime.now(timezone.utc).date()
    windows = business_dates(today - timedelta(days=20), today - timedelta(days=11))
    guid = toast.restaurants[0]
    client = ToastClient(toast.url, toast.client_id, toast.client_secret)
    pages = sum(1 for w in windows for _ in client.order_pages(guid, w.order_params(), PAGE_SIZE))
    toast.control("reset")
    handover = ByteBoundedQueue(max_bytes=1)  # one batch waits for the writer, no more
    process = OrderFetchProcess()
    try:
        process.begin(
            FetchWork(
                base_url=toast.url,
                client_id=toast.client_id,
                client_secret=toast.client_secret,
                grant=client.tokens.share(),
                token_store_path=None,
                options=ClientOptions(page_lookahead=1),
                plans={guid: windows},
                page_size=PAGE_SIZE,
                max_workers=1,
                extracted_at=datetime.now(timezone.utc),
                log_level=logging.WARNING,
            ),
            handover.put,
        )
        # Nothing is written yet: the fetcher stops once the hand-over and the pipe are full.
        assert once_it_stops_asking(toast) < pages / 2
        events = []
        while not events or events[-1][0] == "batch":
            events.append(handover.get(timeout=30))  # the writer catches up: the rest comes
    finally:
        process.close()
        client.close()
    assert events[-1] == ("done", guid, None)
    assert ordersbulk_requests(toast) == pages
    assert sum(batch.order_count for _, _, batch in events[:-1]) > 40
