"""The `closeout` command: a thin layer over the loaders, the dbt project and the posting step."""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import click
import duckdb

from closeout.errors import CloseoutError
from closeout.warehouse import RAW_DATASET, warehouse_path
from posting.connectors.registry import ERP_NAMES, ERPS


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what closeout is doing.")
def main(verbose: bool) -> None:
    """closeout: Toast closed business days -> balanced daily sales journals in the ERP.

    The warehouse is the DuckDB file named by CLOSEOUT_DB (default ./closeout.duckdb).
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


@main.command()
@click.option("--from", "from_date", type=click.DateTime(["%Y-%m-%d"]),
              help="First business date to (re)load, e.g. 2026-03-01.")
@click.option("--to", "to_date", type=click.DateTime(["%Y-%m-%d"]),
              help="Last business date to (re)load (default: same as --from).")
@click.option("--restaurant", "restaurants", multiple=True,
              help="Restaurant GUID to load (repeatable; default: every location the "
                   "credentials reach, or sources.toast.restaurant_guids).")
def load(from_date, to_date, restaurants) -> None:
    """Load Toast into the warehouse.

    Without --from/--to: the first run backfills 12 weeks of business dates, later runs read
    what Toast modified since the previous run (late voids, tips and refunds included).

    Example: closeout load --from 2026-03-01 --to 2026-03-07
    """
    dates = _date_range(from_date, to_date)
    result = _run_load(dates, list(restaurants) or None)
    if not result.ok:
        raise SystemExit(1)


@main.command()
@click.option("--port", default=8700, show_default=True,
              help="Toast sandbox port (0: any); the ERP sandboxes take any free port.")
@click.option("--seed", default=7, show_default=True, help="Seed of the generated data.")
@click.option("--locations", default=3, show_default=True, help="Number of restaurants.")
@click.option("--orders-per-day", default=40, show_default=True, help="Orders per location/day.")
@click.option("--rate-limits/--no-rate-limits", default=True, show_default=True,
              help="Enforce Toast's rate limits.")
@click.option("--ready-file", type=click.Path(path_type=Path),
              help="Write the URLs and credentials as JSON here once listening.")
def sandbox(port, seed, locations, orders_per_day, rate_limits, ready_file) -> None:
    """Run the local API sandboxes (Toast and every ERP closeout posts to) until interrupted.

    Example: closeout sandbox --port 8700 --locations 5 --orders-per-day 200
    """
    from sandboxes.serve import SandboxOptions, start, write_ready_file

    options = SandboxOptions(toast_port=port, seed=seed, locations=locations,
                             orders_per_day=orders_per_day, rate_limits=rate_limits)
    running = start(options)
    if ready_file:
        write_ready_file(ready_file, running, options)
    click.echo(f"Toast sandbox: {running.urls['toast']}  (client id {options.client_id!r}, "
               f"secret {options.client_secret!r})")
    for loc in running.toast.dataset.locations:
        click.echo(f"  {loc.guid}  {loc.name}  {loc.time_zone}  closeoutHour {loc.closeout_hour}")
    for name, url in running.urls.items():
        if name != "toast":
            click.echo(f"{ERP_NAMES.get(name, name)} sandbox: {url}")
    click.echo("To post to them, export:")
    for name, value in running.erp_env().items():
        click.echo(f"  {name}={value}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    running.stop()


@main.command()
@click.option("--days", default=3, show_default=True, help="Closed business dates to load.")
@click.option("--locations", default=3, show_default=True, help="Sandbox restaurants.")
@click.option("--erp", type=click.Choice(ERPS), default="d365",
              show_default=True, help="Which ERP sandbox to post to.")
def demo(days: int, locations: int, erp: str) -> None:
    """Run closeout end to end on the embedded sandboxes and a local DuckDB file.

    Starts the Toast and ERP sandboxes, loads DAYS business dates ending a week ago for every
    location into CLOSEOUT_DB, builds the journals and posts the ready ones to the ERP
    sandbox, printing what happened at each step.

    Example: CLOSEOUT_DB=/tmp/demo.duckdb closeout demo --days 2 --erp intacct
    """
    from posting.commands import post_ready, print_post_report
    from transform.build import run_build
    from sandboxes.serve import SandboxOptions, start

    options = SandboxOptions(locations=locations)
    running = start(options)
    try:
        os.environ.update(running.erp_env(), ERP__TARGET=erp,
                          SOURCES__TOAST__BASE_URL=running.urls["toast"],
                          SOURCES__TOAST__CLIENT_ID=options.client_id,
                          SOURCES__TOAST__CLIENT_SECRET=options.client_secret)
        # A week back is closed everywhere and past most late payments of open checks, so most
        # journals are ready; the newer ones would be held, correctly, for open checks.
        last = datetime.now(timezone.utc).date() - timedelta(days=7)
        dates = (last - timedelta(days=days - 1), last)
        click.echo(f"Toast sandbox at {running.urls['toast']}; loading business dates "
                   f"{dates[0]} .. {dates[1]} into {warehouse_path()}")
        result = _run_load(dates, None)
        _print_loaded(dates)
        if not result.ok:
            raise SystemExit(1)
        click.echo("\nBuilding the journals (dbt build)...")
        built = run_build(quiet=True)
        _print_build(built)
        if not built.ok:
            raise SystemExit(1)
        click.echo(f"\nPosting the ready journals to the {erp} sandboxes at "
                   f"{running.urls[erp]}...")
        report = post_ready(erp)
        print_post_report(report)
    finally:
        running.stop()
    if report.by_state("failed") or report.stopped:
        raise SystemExit(1)


@main.command()
@click.option("--full-refresh", is_flag=True,
              help="Rebuild every model from the raw data instead of only the changed days.")
@click.option("--select", "select", multiple=True, help="dbt node selection (repeatable).")
def build(full_refresh: bool, select: tuple[str, ...]) -> None:
    """Run dbt build: Toast staging -> journal_lines, with the pre-post checks.

    Structural test failures (an unbalanced journal, a duplicate key) stop here and exit 1:
    nothing may be posted. Business warnings (unmapped lines, open checks, day not closed)
    only hold the journals they name; see the summary and `closeout mappings`.
    """
    from transform.build import run_build

    try:
        result = run_build(full_refresh=full_refresh, select=select)
    except CloseoutError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_build(result)
    if not result.ok:
        raise SystemExit(1)


@main.command()
@click.option("--append", is_flag=True,
              help="Append a stub row for each unmapped source to its seed file (account left "
                   "empty for the accountant to fill in).")
def mappings(append: bool) -> None:
    """List every Toast category, revenue center, payment type, service charge, tax rate or
    job seen in the data with no mapping, and the seed row to add."""
    from transform.mappings import append_stub_rows, unmapped_sources

    try:
        items = unmapped_sources()
    except duckdb.CatalogException as exc:
        raise click.ClickException("No unmapped_sources model in the warehouse yet: run "
                                   "`closeout build` first.") from exc
    if not items:
        click.echo("Every source seen in the data is mapped.")
        return
    click.echo(f"{len(items)} unmapped source(s):")
    for seed_file in sorted({item.seed_file for item in items}):
        click.echo(f"\n  seeds/{seed_file}:")
        for item in (i for i in items if i.seed_file == seed_file):
            click.echo(f"    {item.source_kind:22} {item.source_name or item.source_guid!s:32} "
                       f"restaurant {item.restaurant_guid}")
            click.echo(f"      add: {item.suggested_row}")
    if append:
        added = append_stub_rows(items)
        for seed_file, count in added.items():
            click.echo(f"appended {count} stub row(s) to seeds/{seed_file}: fill in the accounts, "
                       "then run `closeout build`")


def _print_build(result) -> None:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts.items()))
    click.echo(f"\ndbt build: {counts or 'nothing ran'}"
               + (" (mapping seeds changed: journals rebuilt)" if result.mappings_changed else ""))
    for problem in result.errors:
        click.echo(f"  ERROR {problem.name}: {problem.message}", err=True)
    for problem in result.warnings:
        click.echo(f"  warn  {problem.name}: {problem.message}")
    if result.ok:
        _print_journal_status()
    else:
        click.echo("Structural checks failed: nothing will be posted until this is fixed.",
                   err=True)


def _print_journal_status() -> None:
    try:
        with duckdb.connect(str(warehouse_path()), read_only=True) as con:
            rows = con.execute("""
                select status, count(*) from finance.journals group by 1 order by 1""").fetchall()
            held = con.execute("""
                select journal_id, hold_reasons from finance.journals where status = 'held'
                order by business_date desc, journal_id limit 20""").fetchall()
    except duckdb.Error:
        return
    click.echo("journals: " + ", ".join(f"{n} {status}" for status, n in rows))
    for journal_id, reasons in held:
        click.echo(f"  held {journal_id}: {reasons}")


@main.command()
def keygen() -> None:
    """Print a new key for CLOSEOUT_SECRET_KEY (encrypts tokens kept between runs)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


def _date_range(from_date, to_date) -> tuple[date, date] | None:
    if not from_date and not to_date:
        return None
    first = (from_date or to_date).date()
    last = (to_date or from_date).date()
    if last < first:
        raise click.BadParameter(f"--to {last} is before --from {first}")
    return first, last


def _run_load(dates, restaurants):
    from loaders.pipeline import run_load

    try:
        result = run_load(business_date_range=dates, restaurant_guids=restaurants)
    except CloseoutError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # dlt wraps source errors; show the cause, not the wrapper
        cause = _root_cause(exc)
        if isinstance(cause, CloseoutError):
            raise click.ClickException(str(cause)) from exc
        raise
    report = result.report
    click.echo(f"Loaded in {result.seconds:.1f} s (load id {result.load_id}):")
    click.echo(f"  {'restaurant':38} {'name':24} {'orders':>7} {'time entries':>12} "
               f"{'rejects':>7}  status")
    for loc in report.locations.values():
        status = "ok" if loc.ok else "FAILED"
        click.echo(f"  {loc.restaurant_guid:38} {loc.name[:24]:24} {loc.orders:>7} "
                   f"{loc.time_entries:>12} {loc.rejects:>7}  {status}")
        for error in loc.errors:
            click.echo(f"      {error}", err=True)
    if any(loc.rejects for loc in report.locations.values()):
        click.echo(f"  Rejected records are kept with their raw text in {RAW_DATASET}.rejects.")
    if report.failed:
        click.echo(f"{len(report.failed)} location(s) failed; the next run resumes them.",
                   err=True)
    return result


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
        if isinstance(exc, CloseoutError):
            return exc
    return exc


def _print_loaded(dates) -> None:
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        rows = con.execute(f"""
            select r.name, o.business_date, count(*) as orders,
                   count(*) filter (where (o.order_json::json->>'voided')::boolean) as voided,
                   count(*) filter (where (o.order_json::json->>'deleted')::boolean) as deleted
            from {RAW_DATASET}.orders o
            join {RAW_DATASET}.restaurants r using (restaurant_guid)
            where o.business_date between ? and ?
            group by all order by 1, 2""", list(dates)).fetchall()
    click.echo(f"\n  {'location':28} {'business date':13} {'orders':>7} {'voided':>7} "
               f"{'deleted':>7}")
    for name, day, orders, voided, deleted in rows:
        click.echo(f"  {name[:28]:28} {day.isoformat():13} {orders:>7} {voided:>7} {deleted:>7}")


# The posting commands live in their own module; importing it registers them on `main`.
from posting import commands  # noqa: E402,F401

if __name__ == "__main__":
    # Run as `python -m posting.cli`, this file is `__main__`; the commands module registered
    # its commands on the group of `posting.cli`, so run that one.
    commands.main()
