"""Posting benchmark: 1,000 journals to each ERP sandbox; journals/s and ERP requests per journal.

    python3 tasks.py bench-post                  # 1,000 journals per ERP
    python3 tasks.py bench-post --journals 200   # a quicker look

The journals are real: sandbox Toast days loaded and built by dbt, once, then posted to each
ERP from an empty posted-keys ledger. Targets: Intacct 1 request per journal, Dynamics 2, plus
one token or session per run (and the few `existing` look-ups, shown separately).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Creating requests per journal: the fewest each API allows (Infor: the lines' bulk, then the
# update, which must not run unless every line was accepted).
TARGET_REQUESTS = {"d365": 2, "intacct": 1, "exact": 1, "freshbooks": 1, "infor": 2}
# Exact allows 60 calls a minute per company; the sandbox's "minute" is one second here so the
# connector's pacing runs, and the time at the real limit is printed beside the measured one.
SANDBOX_SETTINGS = {"exact": {"minute_seconds": 1.0}}
EXACT_CALLS_PER_MINUTE = 60


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--journals", type=int, default=1_000)
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--erp", action="append", help="only this ERP (repeatable; default all)")
    args = parser.parse_args()

    from loaders.pipeline import run_load
    from posting.connectors.registry import ERPS, open_connector
    from posting.post import post_journals
    from sandboxes.serve import SandboxOptions, start
    from tests.erps import adapter
    from transform.build import run_build

    days = -(-args.journals // args.locations) + 20  # sales + labor, minus held ones
    options = SandboxOptions(
        locations=args.locations, orders_per_day=15, history_days=days + 40, rate_limits=False
    )
    running = start(options)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            running.erp_env(),
            CLOSEOUT_DB=str(Path(tmp) / "bench.duckdb"),
            SOURCES__TOAST__BASE_URL=running.urls["toast"],
            SOURCES__TOAST__CLIENT_ID=options.client_id,
            SOURCES__TOAST__CLIENT_SECRET=options.client_secret,
        )
        os.chdir(tmp)
        last = datetime.now(timezone.utc).date() - timedelta(days=10)
        assert run_load(business_date_range=(last - timedelta(days=days - 1), last)).ok
        assert run_build(quiet=True).ok
        with duckdb.connect(os.environ["CLOSEOUT_DB"], read_only=True) as con:
            ready = tuple(
                j
                for (j,) in con.execute(
                    "select journal_id from finance.journals where status = 'ready' "
                    "order by business_date, journal_id limit ?",
                    [args.journals],
                ).fetchall()
            )
        print(
            f"Posting benchmark: {len(ready):,} ready journals "
            f"({args.locations} locations, {days} days)"
        )
        try:
            for erp in args.erp or ERPS:
                url = running.urls[erp]
                httpx.post(f"{url}/_sandbox/reset", json={}, timeout=10)
                if erp in SANDBOX_SETTINGS:
                    httpx.post(
                        f"{url}/_sandbox/configure", json=SANDBOX_SETTINGS[erp], timeout=10
                    ).raise_for_status()
                with duckdb.connect(os.environ["CLOSEOUT_DB"]) as con:
                    con.execute("drop schema if exists closeout_posting cascade")
                started = time.perf_counter()
                report = post_journals(
                    erp, lambda ledger, e=erp: open_connector(e, ledger), journal_ids=ready
                )
                seconds = time.perf_counter() - started
                posted = len(report.by_state("posted"))
                total, sessions, lookups = adapter(erp).request_counts(url)
                creating = (total - sessions - lookups) / max(posted, 1)
                target = TARGET_REQUESTS.get(erp, 1)
                print(
                    f"\n  {erp}: {posted:,} posted in {seconds:.1f} s = "
                    f"{posted / seconds:,.0f} journals/s"
                    f"{'' if posted == len(ready) else f'  ({len(ready) - posted} NOT posted)'}"
                )
                print(
                    f"    requests per journal (creating)  {creating:6.2f}   target {target}  "
                    f"{'MET' if creating <= target and posted == len(ready) else 'MISSED'}"
                )
                print(
                    f"    token / session requests         {sessions:6d}   target 1 per run  "
                    f"{'MET' if sessions <= 1 else 'MISSED'}"
                )
                print(
                    f"    existing-key look-ups            {lookups:6d}   "
                    f"({lookups / max(posted, 1):.3f} per journal)"
                )
                print(f"    all requests per journal         {total / max(posted, 1):6.2f}")
                if erp == "exact":
                    print(
                        f"    at Exact's {EXACT_CALLS_PER_MINUTE} calls/min per company     "
                        f"{total / EXACT_CALLS_PER_MINUTE:6.1f} min for these journals"
                    )
                print(f"    load average (1 min)             {os.getloadavg()[0]:6.1f}")
        finally:
            running.stop()


if __name__ == "__main__":
    main()
