"""Orders are fetched and parsed in a process of their own, which hands them to the load as
Arrow batches.

Why a process: downloading and splitting ~1 MB ordersBulk pages is Python work that holds the
interpreter lock, and so is the dlt run that writes restaurants, configuration and time entries
beside it. In one process they took turns: on the rate-limited benchmark (10 locations x 2,000
orders, 2 cores) the loader used 8 s of CPU in 7 s, dlt's run began 2 s late, and the last
commit came 1-2 s after the last page. In its own process the fetching keeps Toast's pace and the
main process only writes.

The process is started first thing in a load, so it imports while the main process reads the
restaurants; it gets its work (the token, and each location's windows) when that is known.
Events come back in order per location: ("batch", guid, OrderBatch), then ("done", guid, None)
or ("failed", guid, message). If the process dies, every location it had not finished fails
with that message, and the next run re-reads from the watermarks, which never ran ahead.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from closeout.errors import CloseoutError
from closeout.token_store import TokenStore, fernet_from_env
from loaders.memory import bound_allocators, release_free_memory
from loaders.toast.client import ClientOptions, ToastClient, TokenGrant
from loaders.toast.orders import OrderBatch, ParsedPage, parse_page
from loaders.toast.windows import Window

log = logging.getLogger("closeout.toast")

# Order JSON per Arrow batch handed over, at most (plus one page): a fixed size, so what the
# process holds is its locations in flight x (this + page_lookahead pages), whatever the load.
ORDER_BATCH_BYTES = 2 * 2**20
ORDER_BATCH_MAX_AGE_SECONDS = 0.5
Event = tuple[str, str, Any]
# Fork on Linux: the process exists before the load starts a thread, and forking skips the ~1 s
# a spawned interpreter spends importing (the `closeout` script re-imports its CLI there).
_START_METHOD = "fork" if sys.platform == "linux" else "spawn"


@dataclass
class FetchWork:
    """What the order-fetch process needs (it is pickled to the process)."""

    base_url: str
    client_id: str
    client_secret: str
    grant: TokenGrant
    token_store_path: Path | None
    options: ClientOptions
    plans: dict[str, list[Window]]
    page_size: int
    max_workers: int
    extracted_at: datetime
    log_level: int


def fetch_location(
    client: ToastClient,
    guid: str,
    windows: list[Window],
    page_size: int,
    extracted_at: datetime,
    put: Callable[[Event], None],
) -> None:
    """Every order page of one location's windows, parsed and handed to `put` in batches."""
    parsed = ParsedPage()
    batch_started = time.monotonic()
    window = None
    try:
        for window in windows:
            for url, text in client.order_pages(guid, window.order_params(), page_size):
                parse_page(text, guid, url, extracted_at, into=parsed)
                # Hand over by size, or by age when Toast's pacing makes pages trickle in, so
                # each commit holds everything fetched before it.
                if (
                    parsed.nbytes >= ORDER_BATCH_BYTES
                    or parsed.rejects
                    or time.monotonic() - batch_started >= ORDER_BATCH_MAX_AGE_SECONDS
                ):
                    batch, parsed = parsed.batch(), ParsedPage()  # frees the orders' text
                    put(("batch", guid, batch))
                    batch_started = time.monotonic()
        put(("batch", guid, parsed.batch()))
        put(("done", guid, None))
    except CloseoutError as exc:
        put(("batch", guid, parsed.batch()))
        where = f" ({window.describe()})" if window else ""
        put(("failed", guid, f"orders{where}: {exc}"))
    except Exception as exc:  # noqa: BLE001 - a bug must not take the other locations down
        log.error("unexpected error loading orders for %s:\n%s", guid, traceback.format_exc())
        put(("failed", guid, f"orders: unexpected {type(exc).__name__}: {exc}"))


class OrderFetchProcess:
    """The main process's end: start early, `begin` with the work, read events via `put`."""

    def __init__(self) -> None:
        context = multiprocessing.get_context(_START_METHOD)
        self._conn, child_conn = context.Pipe()
        # A forked process inherits our end of the pipe too: it closes it, so that it sees the
        # pipe close if this process goes away.
        inherited = self._conn if _START_METHOD == "fork" else None
        self._process = context.Process(
            target=_serve, args=(child_conn, inherited), name="closeout-order-fetch", daemon=True
        )
        # Forked, the process would copy every inherited object its collector touches: they are
        # frozen out of its collections (what it collects after each batch is its own).
        gc.freeze()
        try:
            self._process.start()
        finally:
            gc.unfreeze()  # here, in the load's process, they are collected as before
        child_conn.close()
        self._reader: threading.Thread | None = None
        self._closed = False

    def begin(self, work: FetchWork, put: Callable[[Event, int], None]) -> None:
        """Send the work; a thread passes each event to `put(event, size in bytes)`."""
        self._conn.send(work)
        self._reader = threading.Thread(
            target=self._read, args=(list(work.plans), put), name="order-fetch-reader", daemon=True
        )
        self._reader.start()

    def _read(self, guids: list[str], put: Callable[[Event, int], None]) -> None:
        unfinished = set(guids)
        try:
            while unfinished:
                kind, guid, payload = self._conn.recv()
                if kind == "batch":
                    payload = OrderBatch(_table(self._conn.recv_bytes()), payload)
                else:
                    unfinished.discard(guid)
                put((kind, guid, payload), payload.nbytes if kind == "batch" else 0)
        except (EOFError, OSError):
            self._process.join(timeout=5)
            code = self._process.exitcode
            why = (
                f"the order-fetch process ended unexpectedly (exit code {code})"
                if code is not None
                else "the order-fetch process stopped answering"
            )
            for guid in sorted(unfinished):
                put(
                    (
                        "failed",
                        guid,
                        f"orders: {why}; the next run re-reads from this location's watermark",
                    ),
                    0,
                )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reader is not None and self._reader.is_alive():
            self._process.terminate()  # the load stopped early: end the reader with the pipe
            self._reader.join()
        self._conn.close()  # a process still waiting for work sees the pipe close and ends
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _serve(conn, inherited_end) -> None:
    """The order-fetch process: wait for the work, fetch, send the events, end."""
    if inherited_end is not None:
        inherited_end.close()
    bound_allocators()  # inherited when forked; a spawned process sets it itself
    try:
        work: FetchWork = conn.recv()
    except (EOFError, OSError):
        return  # the load stopped before it had work for us
    logging.basicConfig(
        level=work.log_level, format="%(asctime)s %(levelname)s %(name)s [order-fetch] %(message)s"
    )
    store = TokenStore(work.token_store_path, fernet_from_env()) if work.token_store_path else None
    client = ToastClient(
        work.base_url, work.client_id, work.client_secret, options=work.options, token_store=store
    )
    client.tokens.adopt(work.grant)
    send_lock = threading.Lock()

    def send(event: Event) -> None:
        kind, guid, payload = event
        try:
            with send_lock:
                if kind == "batch":
                    conn.send((kind, guid, payload.rejects))
                    conn.send_bytes(_ipc(payload.orders))
                else:
                    conn.send(event)
        except OSError:
            os._exit(0)  # the load went away: nothing fetched here can be written any more
        if kind == "batch" and payload.order_count:
            # The batch's orders (freed by its fetcher before sending) and its pages' responses.
            # Not after a location's empty last batch: 500 locations would mean 500 more full
            # collections for nothing.
            release_free_memory(collect_cycles=True)

    with ThreadPoolExecutor(
        max_workers=max(1, min(work.max_workers, len(work.plans))),
        thread_name_prefix="toast-orders",
    ) as pool:
        for guid, windows in work.plans.items():
            pool.submit(
                fetch_location, client, guid, windows, work.page_size, work.extracted_at, send
            )
    client.close()
    conn.close()


def _ipc(table: pa.Table) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _table(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()
