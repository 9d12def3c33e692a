"""Night benchmark: one night for a large group on a warehouse that already has history.

    python3 tasks.py bench-night                                # 500 locations x 300 orders
    python3 tasks.py bench-night --locations 50 --days 2        # a quicker look
    python3 tasks.py bench-night --erp intacct                  # post to another ERP sandbox

The night is what a scheduled `closeout run` does, each stage through the real code path:
the load of the night's business date from the Toast sandbox (rate limits off, the night's
pages rendered before the timing starts, the real loader `run_load`, as `closeout load --from
D --to D`), `dbt build` (`run_build`), and posting every ready journal to one ERP sandbox
(`post_ready`, as `closeout post`). Target: the three stages together <= 120 s on a 2-core
machine. Each stage's seconds, the load average, the sandboxes' CPU seconds and the counts
(orders loaded, journals built, documents posted, ERP requests) are printed.

The history is made the way bench_build makes it (its generator, parser and store, and its
cache per seed and size in CLOSEOUT_BENCH_CACHE), then built and posted before the night, not
timed: a night's post sends the night's journals and any adjustments, not the history.

Every sandbox location is mapped: a copy of the dbt project gets a locations.csv row per
location (its template location's company and division, a location dimension of its own),
and the measured ERP sandbox is told to accept those dimension values.

Which ERP is measured (`--erp`, default d365): one whose posting time is set by our code, not
by the vendor's limit. Exact Online allows 60 calls a minute per division, and closeout posts
every location to one division, so a night there takes what its limit imposes whatever our
code does; that time is computed from the night's requests and printed beside the others.
Dynamics 365's service protection limits (6,000 requests per 5 minutes per user, 52 at once)
are far above a night's 2 requests a journal, so its figure measures closeout.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_build import extracted_at, history_cache, write_orders  # noqa: E402 (sys.path)

from tests.conftest import start_sandbox, stop  # noqa: E402

TARGET_SECONDS = 120.0
EXACT_CALLS_PER_MINUTE = 60  # per division; closeout posts every location to one division
EXACT_KEYS_PER_LOOKUP = 20  # journal identities per lines query (posting/connectors/exact.py)
EXACT_ACCOUNTS_PER_QUERY = 30  # GL account codes per GLAccounts query
PAGE_CACHE_MIB = 4096  # the sandbox keeps a 500-location night's rendered pages (~1.5 GiB)


@dataclass
class Night:
    """What the night did: seconds, load average and the sandboxes' CPU seconds per stage, and
    its counts. The sandboxes run on the same two cores, so a stage's seconds include the time
    they took the CPU from closeout: Toast and the ERP do that work on their own machines."""

    sandbox_pid: int
    seconds: dict[str, float] = field(default_factory=dict)
    load: dict[str, float] = field(default_factory=dict)
    sandbox_cpu: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def timed(self, stage: str, work):
        cpu_before = process_cpu_seconds(self.sandbox_pid)
        started = time.perf_counter()
        result = work()
        self.seconds[stage] = time.perf_counter() - started
        self.load[stage] = os.getloadavg()[0]
        self.sandbox_cpu[stage] = process_cpu_seconds(self.sandbox_pid) - cpu_before
        return result


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of every thread of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-night-") as tmp:
        workdir = args.keep or Path(tmp)
        if args.keep:  # a night starts from the history, not from what an earlier run left
            shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True, exist_ok=True)
        process, sandbox = start_sandbox(
            workdir, locations=args.locations, orders_per_day=args.orders, rate_limits=False
        )
        try:
            night = run_night(args, workdir, sandbox, process.pid)
        finally:
            stop(process)
    report(args, night)


def parse_args() -> argparse.Namespace:
    from posting.connectors.registry import ERPS

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, default=500)
    parser.add_argument("--orders", type=int, default=300, help="orders per location and day")
    parser.add_argument("--days", type=int, default=3, help="days of history before the night")
    parser.add_argument("--erp", default="d365", choices=ERPS, help="the ERP sandbox posted to")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="work in DIR and keep the warehouse there"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="generate the history even when it is cached"
    )
    return parser.parse_args()


def run_night(args, workdir: Path, sandbox, sandbox_pid: int) -> Night:
    import transform.build
    from posting.ready import post_ready
    from sandboxes.toast.data import ToastDataset

    # The night is bench_build's new day, so both benchmarks share one cached history.
    night_day = datetime.now(timezone.utc).date() - timedelta(days=30)
    dataset = ToastDataset(
        seed=sandbox.seed,
        location_count=args.locations,
        orders_per_day=args.orders,
        history_days=args.days + 40,
    )
    work_on_sandbox(workdir, sandbox, dataset, args.erp)
    os.environ.setdefault("CLOSEOUT_SECRET_KEY", _fernet_key())

    night = Night(sandbox_pid)
    history_from = prepare_history(args, sandbox.seed, dataset, night_day)
    night.counts["history_orders"] = history_from[0]
    record_nightly_coverage(dataset, args.days, night_day)
    print(f"history: {history_from[0]:,} orders, {history_from[1]}", flush=True)
    started = time.perf_counter()
    built = transform.build.run_build(quiet=True)
    if not built.ok:
        raise SystemExit(f"the history's build failed: {built.errors}")
    history = post_ready(
        args.erp, dates=(night_day - timedelta(days=args.days + 5), night_day - timedelta(days=1))
    )
    night.counts["history_posted"] = len(history.by_state("posted"))
    print(
        f"history built and {night.counts['history_posted']:,} journals posted to {args.erp} "
        f"in {time.perf_counter() - started:.0f} s (not timed)",
        flush=True,
    )
    measure_night(args, night, night_day, sandbox)
    return night


def prepare_history(args, seed: int, dataset, night_day: date) -> tuple[int, str]:
    """The loaded history, copied from bench_build's cache or generated (and cached) the way
    bench_build does: restaurants and configuration through the real loader, orders through
    the loader's parser and store."""
    from loaders.pipeline import run_load

    cached = history_cache(seed, args, night_day)
    if cached.exists() and not args.no_cache:
        shutil.copyfile(cached, os.environ["CLOSEOUT_DB"])
        return int(cached.with_suffix(".orders").read_text()), f"cached in {cached}"
    print(f"generating the history ({args.days} days), cached afterwards", flush=True)
    assert run_load(business_date_range=(night_day - timedelta(days=args.days + 5),) * 2).ok
    days = [night_day - timedelta(days=n) for n in range(args.days, 0, -1)]
    written = write_orders(dataset, days, nightly=True)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")  # renamed into place whole, as bench_build does
    shutil.copyfile(os.environ["CLOSEOUT_DB"], partial)
    cached.with_suffix(".orders").write_text(str(written))
    partial.replace(cached)
    return written, f"generated, now cached in {cached}"


def record_nightly_coverage(dataset, days: int, night_day: date) -> None:
    """What the nightly loads of the history would have recorded: each location's business
    date read the next morning. The history's orders are written by the loader's store without
    a load around it, and without coverage its days would be held as not loaded (and never
    posted, so the night's post would miss the ledger a real group has)."""
    import duckdb

    from closeout import audit

    now = datetime.now(timezone.utc)
    rows = [
        (location.guid, "bench-history", extracted_at(day, now), day, None, None)
        for n in range(days, 0, -1)
        for day in [night_day - timedelta(days=n)]
        for location in dataset.locations
    ]
    with duckdb.connect(os.environ["CLOSEOUT_DB"]) as con:
        audit.ensure_tables(con)
        con.executemany(
            f"insert into {audit.AUDIT_SCHEMA}.load_coverage values (?, ?, ?, ?, ?, ?)", rows
        )


def measure_night(args, night: Night, night_day: date, sandbox) -> None:
    import duckdb

    import transform.build
    from loaders.pipeline import run_load
    from posting.ready import post_ready

    warm_night_pages(sandbox, night, night_day)
    loaded = night.timed("load", lambda: run_load(business_date_range=(night_day, night_day)))
    night.counts["pages_rendered_in_load"] = (
        sandbox.stats()["page_cache"]["pages"] - night.counts["pages_cached"]
    )
    if not loaded.ok:
        raise SystemExit(f"the night's load failed: {[o.guid for o in loaded.report.failed]}")
    built = night.timed("build", lambda: transform.build.run_build(quiet=True))
    if not built.ok:
        raise SystemExit(f"the night's build failed: {built.errors}")
    posted_from = datetime.now(timezone.utc)
    posted = night.timed("post", lambda: post_ready(args.erp))
    with duckdb.connect(os.environ["CLOSEOUT_DB"], read_only=True) as con:
        night.counts["orders_loaded"] = con.execute(
            "select count(*) from toast_raw.orders where business_date = ?", [night_day]
        ).fetchone()[0]
        night.counts["journals_built"], night.counts["journals_ready"] = con.execute(
            "select count(*), count(*) filter (where status = 'ready') from finance.journals "
            "where business_date = ?",
            [night_day],
        ).fetchone()
        night.counts["erp_requests"] = con.execute(
            "select count(*) from closeout_posting.erp_requests where requested_at >= ?",
            [posted_from],
        ).fetchone()[0]
        night.counts["accounts"] = con.execute(
            "select count(distinct account_code) from finance.journal_lines "
            "where business_date = ?",
            [night_day],
        ).fetchone()[0]
    night.counts["posted"] = len(posted.by_state("posted"))
    night.counts["adjusted"] = len(posted.by_state("adjusted"))
    night.counts["not_posted"] = len(
        [o for o in posted.outcomes if o.state in ("failed", "unavailable")]
    )
    night.counts["stopped"] = int(posted.stopped is not None)
    if posted.stopped:
        print(f"posting stopped: {posted.stopped}")


def warm_night_pages(sandbox, night: Night, night_day: date) -> None:
    """Have the sandbox render the night's ordersBulk pages before the load is timed, as Toast
    serves orders it already stores: the load then measures closeout, not the sandbox making
    up 150,000 orders in Python (about a minute of its one core). Not timed; printed."""
    from concurrent.futures import ThreadPoolExecutor

    from loaders.toast.client import ToastClient

    sandbox.control("page_cache", {"enabled": True, "max_mib": PAGE_CACHE_MIB})
    client = ToastClient(sandbox.url, sandbox.client_id, sandbox.client_secret)
    params = {"businessDate": night_day.strftime("%Y%m%d")}

    def render(guid: str) -> int:
        return sum(1 for _ in client.order_pages(guid, params))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        pages = sum(pool.map(render, sandbox.restaurants))
    client.close()
    cache = sandbox.stats()["page_cache"]
    night.counts["pages_cached"] = cache["pages"]
    print(
        f"the sandbox rendered the night's {pages:,} pages ({cache['bytes'] / 2**20:,.0f} MiB) "
        f"in {time.perf_counter() - started:.0f} s (not timed)",
        flush=True,
    )


def exact_minutes(night: Night) -> tuple[int, float]:
    """Requests the night's documents cost at Exact Online, and the minutes its 60 calls a
    minute per division impose (one division takes every location): a token, current/Me, the
    GL account look-up, the lines look-up per 20 journals, one POST per document."""
    documents = night.counts["posted"] + night.counts["adjusted"]
    requests = (
        2
        + math.ceil(night.counts["accounts"] / EXACT_ACCOUNTS_PER_QUERY)
        + math.ceil(documents / EXACT_KEYS_PER_LOOKUP)
        + documents
    )
    return requests, requests / EXACT_CALLS_PER_MINUTE


def report(args, night: Night) -> None:
    total = sum(night.seconds.values())
    counts = night.counts
    print(
        f"\nNight benchmark: {args.locations} locations x {args.orders} orders, "
        f"on {args.days} days of history ({counts['history_orders']:,} orders), posted to "
        f"the {args.erp} sandbox"
    )
    described = {
        "load": (
            f"{counts['orders_loaded']:,} orders loaded, {counts['pages_rendered_in_load']:,} "
            "pages rendered during it"
        ),
        "build": (
            f"{counts['journals_built']:,} journals of the night built, "
            f"{counts['journals_ready']:,} ready"
        ),
        "post": (
            f"{counts['posted']:,} posted, {counts['adjusted']:,} adjustments, "
            f"{counts['erp_requests']:,} ERP requests"
            + (f", {counts['not_posted']:,} NOT posted" if counts["not_posted"] else "")
        ),
    }
    cores = os.cpu_count() or 1
    for stage, seconds in night.seconds.items():
        print(
            f"  {stage:<6} {seconds:8.1f} s   {described[stage]}  "
            f"(load average {night.load[stage]:.1f}; the sandboxes used "
            f"{night.sandbox_cpu[stage]:.1f} of the {cores} cores' {cores * seconds:.0f} CPU-s)"
        )
    met = total <= TARGET_SECONDS and not counts["not_posted"] and not counts["stopped"]
    print(
        f"  total  {total:8.1f} s   target <= {TARGET_SECONDS:.0f} s  {'MET' if met else 'MISSED'}"
    )
    requests, minutes = exact_minutes(night)
    print(
        f"  Exact Online at its {EXACT_CALLS_PER_MINUTE} calls/min per division: "
        f"{requests:,} requests in one division = {minutes:.1f} min for this night's post "
        "(the vendor's limit, whatever closeout does)"
    )


def work_on_sandbox(workdir: Path, sandbox, dataset, erp: str) -> None:
    """Every location mapped (in a copy of the dbt project) and accepted by the ERP sandbox;
    a warehouse and dbt's files in `workdir`, which becomes the working directory."""
    import transform.build
    from tests.erps import adapter

    dimensions = map_every_location(workdir, dataset)
    transform.build.PROJECT_DIR = workdir / "dbt_project"
    adapter(erp).accept_locations(sandbox, dimensions)
    os.environ.update(
        sandbox.erp_env,
        CLOSEOUT_DB=str(workdir / "night.duckdb"),
        DBT_TARGET_PATH=str(workdir / "dbt_target"),
        DBT_LOG_PATH=str(workdir / "dbt_logs"),
        SOURCES__TOAST__BASE_URL=sandbox.url,
        SOURCES__TOAST__CLIENT_ID=sandbox.client_id,
        SOURCES__TOAST__CLIENT_SECRET=sandbox.client_secret,
    )
    os.chdir(workdir)


def map_every_location(workdir: Path, dataset) -> list[str]:
    """A copy of the dbt project whose locations.csv maps every sandbox location: the shipped
    rows as they are, each further location under its template's company and division with a
    location dimension of its own. Returns every location dimension value."""
    from transform.build import PROJECT_DIR

    project = workdir / "dbt_project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(
        PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    path = project / "seeds" / "locations.csv"
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, shipped = reader.fieldnames, list(reader)
    by_guid = {row["restaurant_guid"]: row for row in shipped}
    rows = []
    for index, location in enumerate(dataset.locations):
        template = shipped[index % len(shipped)]
        rows.append(
            by_guid.get(location.guid)
            or {
                **template,
                "restaurant_guid": location.guid,
                "location_name": location.name,
                "location_dimension": f"{template['location_dimension']}{index:03d}",
            }
        )
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return [row["location_dimension"] for row in rows]


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


if __name__ == "__main__":
    main()
