"""`closeout run` (load -> build -> post) and `closeout demo` (the same on the sandboxes)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import click

from cli.build import build_and_print, publish_and_say
from cli.load import run_and_print_load
from cli.options import erp_option
from cli.output import (
    print_load,
    print_loaded_days,
    print_post_report,
    progress_bar,
)
from closeout.warehouse import warehouse_path
from posting.connectors.registry import ERPS


@click.command()
@erp_option
def run(erp: str | None) -> None:
    """load -> build -> post, for a scheduler.

    Prints a one-screen summary (posted, held with reasons, failed with the ERP's message) and
    exits 1 when anything failed or was held. A failed build posts nothing.

    \b
    Example:
        closeout run --erp d365    # e.g. from cron, after the last location's closeout
    """
    from posting.ready import post_ready

    loaded = run_and_print_load(None, None)
    built = build_and_print(quiet=True)
    if not built.ok:
        click.echo("Nothing posted: the build failed (see above).", err=True)
        raise SystemExit(1)
    try:
        report = post_ready(erp, None, on_start=progress_bar)
    finally:
        # After posting, so the copy also says what this run posted; published even when
        # posting stopped, because the build it holds passed.
        publish_and_say()
    print_post_report(report)
    if not (loaded.ok and report.ok):
        raise SystemExit(1)


@click.command()
@click.option(
    "--days",
    default=7,
    show_default=True,
    help="Business dates to load before today's (which is loaded too, in progress).",
)
@click.option("--locations", default=3, show_default=True, help="Sandbox restaurants.")
@click.option(
    "--erp",
    type=click.Choice(ERPS),
    default="d365",
    show_default=True,
    help="Which ERP sandbox to post to.",
)
def demo(days: int, locations: int, erp: str) -> None:
    """End to end on the sandboxes, in a local file.

    Starts the Toast and ERP sandboxes and does what a scheduled `closeout run` does: loads
    every location into CLOSEOUT_DB (the first time, the last DAYS business dates and today's;
    run again, what Toast changed since), builds the journals and posts the ready ones to the
    ERP sandbox, printing what happened at each step. Closed days are posted; today's waits
    for its close, and a day with a check still open waits the grace period (the reason says
    until when).

    \b
    Example:
        CLOSEOUT_DB=/tmp/demo.duckdb closeout demo --days 2 --erp intacct
    """
    from loaders.pipeline import run_load
    from posting.ready import post_ready
    from sandboxes.serve import SandboxOptions, start

    options = SandboxOptions(locations=locations)
    running = start(options)
    try:
        os.environ.update(
            running.erp_env(),
            ERP__TARGET=erp,
            SOURCES__TOAST__BASE_URL=running.urls["toast"],
            SOURCES__TOAST__CLIENT_ID=options.client_id,
            SOURCES__TOAST__CLIENT_SECRET=options.client_secret,
        )
        # As a scheduler would: by business date up to today's, so the later days that a late
        # payment, void or refund of these orders falls on are loaded days too (an explicit
        # range ending in the past leaves those days "not loaded", held).
        today = datetime.now(timezone.utc).date()
        dates = (today - timedelta(days=days), today)
        click.echo(
            f"Toast sandbox at {running.urls['toast']}; loading the last {days} business dates "
            f"and today's into {warehouse_path()}"
        )
        loaded = run_load(backfill_days=days + 1)
        print_load(loaded)
        print_loaded_days(dates)
        if not loaded.ok:
            raise SystemExit(1)
        click.echo("\nBuilding the journals (dbt build)...")
        built = build_and_print(quiet=True)
        if not built.ok:
            raise SystemExit(1)
        publish_and_say()
        click.echo(f"\nPosting the ready journals to the {erp} sandboxes at {running.urls[erp]}...")
        report = post_ready(erp, on_start=progress_bar)
        print_post_report(report)
    finally:
        running.stop()
    if report.by_state("failed") or report.stopped:
        raise SystemExit(1)
