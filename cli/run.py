"""`closeout run` (load -> build -> post) and `closeout demo` (the same on the sandboxes)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import click

from cli.load import run_and_print_load
from cli.options import erp_option
from cli.output import print_build, print_loaded_days, print_post_report, progress_bar
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
    from transform.build import run_build

    loaded = run_and_print_load(None, None)
    built = run_build(quiet=True)
    print_build(built)
    if not built.ok:
        click.echo("Nothing posted: the build failed (see above).", err=True)
        raise SystemExit(1)
    report = post_ready(erp, None, on_start=progress_bar)
    print_post_report(report)
    if not (loaded.ok and report.ok):
        raise SystemExit(1)


@click.command()
@click.option("--days", default=3, show_default=True, help="Closed business dates to load.")
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

    Starts the Toast and ERP sandboxes, loads DAYS business dates ending a week ago for every
    location into CLOSEOUT_DB, builds the journals and posts the ready ones to the ERP
    sandbox, printing what happened at each step.

    \b
    Example:
        CLOSEOUT_DB=/tmp/demo.duckdb closeout demo --days 2 --erp intacct
    """
    from posting.ready import post_ready
    from sandboxes.serve import SandboxOptions, start
    from transform.build import run_build

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
        # A week back is closed everywhere and past most late payments of open checks, so most
        # journals are ready; the newer ones would be held, correctly, for open checks.
        last = datetime.now(timezone.utc).date() - timedelta(days=7)
        dates = (last - timedelta(days=days - 1), last)
        click.echo(
            f"Toast sandbox at {running.urls['toast']}; loading business dates "
            f"{dates[0]} .. {dates[1]} into {warehouse_path()}"
        )
        loaded = run_and_print_load(dates, None)
        print_loaded_days(dates)
        if not loaded.ok:
            raise SystemExit(1)
        click.echo("\nBuilding the journals (dbt build)...")
        built = run_build(quiet=True)
        print_build(built)
        if not built.ok:
            raise SystemExit(1)
        click.echo(f"\nPosting the ready journals to the {erp} sandboxes at {running.urls[erp]}...")
        report = post_ready(erp, on_start=progress_bar)
        print_post_report(report)
    finally:
        running.stop()
    if report.by_state("failed") or report.stopped:
        raise SystemExit(1)
