"""Loader benchmark: throughput against raw download and dlt's nested normalisation, peak RSS,
and pacing under Toast's rate limits. Prints each figure next to its target.

    python3 tasks.py bench                      # 200,000 orders over 10 locations (default)
    python3 tasks.py bench --orders 20000       # a quicker look
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import start_sandbox, stop  # noqa: E402  (the same launcher the tests use)

BUSINESS_DATE = (datetime.now(timezone.utc) - timedelta(days=40)).date()   # closed, no edits


def configure(sandbox, db: Path) -> None:
    os.environ["CLOSEOUT_DB"] = str(db)
    os.environ["SOURCES__TOAST__BASE_URL"] = sandbox.url
    os.environ["SOURCES__TOAST__CLIENT_ID"] = sandbox.client_id
    os.environ["SOURCES__TOAST__CLIENT_SECRET"] = sandbox.client_secret


def raw_download(sandbox, day: date) -> tuple[int, int, float]:
    """Fetch every ordersBulk page of the day for every location, keep nothing."""
    from loaders.toast.client import ToastClient

    client = ToastClient(sandbox.url, sandbox.client_id, sandbox.client_secret)
    params = {"businessDate": day.strftime("%Y%m%d")}

    def fetch(guid: str) -> tuple[int, int]:
        pages = size = 0
        for _, text in client.order_pages(guid, params):
            pages += 1
            size += len(text)
        return pages, size

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(fetch, sandbox.restaurants))
    seconds = time.perf_counter() - started
    client.close()
    return sum(p for p, _ in results), sum(s for _, s in results), seconds


def _load_in_child(sandbox, db: Path, day: date, queue) -> None:
    configure(sandbox, db)
    from loaders.pipeline import run_load

    started = time.perf_counter()
    result = run_load(business_date_range=(day, day))
    seconds = time.perf_counter() - started
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((result.ok, sum(loc.orders for loc in result.report.locations.values()), seconds,
               rss_kib))


def load(sandbox, db: Path, day: date) -> tuple[bool, int, float, int]:
    """run_load in a fresh process, so its peak RSS is the loader's own."""
    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(
        target=_load_in_child, args=(sandbox, db, day, queue))
    child.start()
    outcome = queue.get()
    child.join()
    return outcome


def nested_baseline(sandbox, day: date, sample: int, workdir: Path) -> tuple[int, float]:
    """dlt's default path: orders as dicts, normalised row by row into child tables."""
    import dlt

    from loaders.toast.client import ToastClient

    client = ToastClient(sandbox.url, sandbox.client_id, sandbox.client_secret)
    orders: list[dict] = []
    for _, text in client.order_pages(sandbox.restaurants[0], {"businessDate":
                                                                 day.strftime("%Y%m%d")}):
        orders.extend(json.loads(text, parse_float=Decimal))
        if len(orders) >= sample:
            break
    orders = orders[:sample]
    pipeline = dlt.pipeline("bench_nested", destination=dlt.destinations.duckdb(
        str(workdir / "nested.duckdb")), dataset_name="toast_nested",
        pipelines_dir=str(workdir / "pipelines"))
    started = time.perf_counter()
    pipeline.run(dlt.resource(orders, name="orders", primary_key="guid",
                              write_disposition="merge"))
    return len(orders), time.perf_counter() - started


def rate_limited_run(workdir: Path, locations: int, per_location: int) -> None:
    process, sandbox = start_sandbox(workdir, locations=locations, orders_per_day=per_location,
                                     rate_limits=True)
    try:
        # Warm the sandbox's own generation so the figure is the loader's pacing, not ours.
        raw_download_unlimited(sandbox)
        sandbox.control("reset")
        ok, orders, seconds, _ = load(sandbox, workdir / "limited.duckdb", BUSINESS_DATE)
        stats = sandbox.stats()
    finally:
        stop(process)
    pages = -(-per_location // 100)
    minimum = pages / 5            # ordersBulk: 5 requests/s per location, locations in parallel
    print(f"\nRate limits on: {locations} locations x {per_location} orders, one business date")
    print(f"  orders loaded              {orders:>12,}   ({'ok' if ok else 'FAILED'})")
    print(f"  time                       {seconds:>12.2f} s")
    print(f"  minimum Toast allows       {minimum:>12.2f} s   ({pages} pages/location at 5/s)")
    print(f"  ratio                      {seconds / minimum:>12.2f}     target <= 1.30  "
          f"{'MET' if seconds <= 1.3 * minimum else 'MISSED'}")
    print(f"  429 responses              {stats['throttled']:>12}     target 0  "
          f"{'MET' if stats['throttled'] == 0 else 'MISSED'}")


def raw_download_unlimited(sandbox) -> None:
    sandbox.control("rate_limits", {"enabled": False})
    raw_download(sandbox, BUSINESS_DATE)
    sandbox.control("rate_limits", {"enabled": True})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200_000, help="orders in all")
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--baseline-sample", type=int, default=2_000)
    parser.add_argument("--skip-rate-limited", action="store_true")
    args = parser.parse_args()
    per_location = args.orders // args.locations

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        process, sandbox = start_sandbox(workdir, locations=args.locations,
                                         orders_per_day=per_location, rate_limits=False)
        try:
            os.environ["CLOSEOUT_DB"] = str(workdir / "bench.duckdb")
            pages, size, download_s = raw_download(sandbox, BUSINESS_DATE)
            ok, orders, load_s, rss_kib = load(sandbox, workdir / "bench.duckdb", BUSINESS_DATE)
            sample, nested_s = nested_baseline(sandbox, BUSINESS_DATE, args.baseline_sample,
                                               workdir)
        finally:
            stop(process)

        download_rate = orders / download_s
        load_rate = orders / load_s
        nested_rate = sample / nested_s
        rss_mib = rss_kib / 1024
        print(f"Loader throughput: {orders:,} orders, {args.locations} locations, business date "
              f"{BUSINESS_DATE}, rate limits off ({pages:,} pages, {size / 2**20:,.0f} MiB)")
        print(f"  raw download               {download_rate:>12,.0f} orders/s  ({download_s:.1f} s)")
        print(f"  loader end to end          {load_rate:>12,.0f} orders/s  ({load_s:.1f} s, "
              f"{'ok' if ok else 'FAILED'})")
        print(f"  loader / raw download      {load_rate / download_rate:>12.2f}     target >= 0.70"
              f"  {'MET' if load_rate >= 0.7 * download_rate else 'MISSED'}")
        print(f"  dlt nested normalisation   {nested_rate:>12,.0f} orders/s  ({sample:,} orders "
              f"in {nested_s:.1f} s)")
        print(f"  loader / nested            {load_rate / nested_rate:>12.1f}x    target >= 20x "
              f"  {'MET' if load_rate >= 20 * nested_rate else 'MISSED'}")
        target = "target < 1024 MiB for 200,000 orders"
        print(f"  peak RSS (loader process)  {rss_mib:>12,.0f} MiB   {target}  "
              f"{'MET' if rss_mib < 1024 else 'MISSED'}")
        if not args.skip_rate_limited:
            rate_limited_run(workdir, locations=10, per_location=2_000)


if __name__ == "__main__":
    main()
