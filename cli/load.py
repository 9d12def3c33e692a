"""`closeout load`."""

from __future__ import annotations

import click

from cli.options import date_range, date_range_options
from cli.output import print_load


@click.command()
@date_range_options(
    "First business date to (re)load, e.g. 2026-03-01.",
    "Last business date to (re)load (default: same as --from).",
)
@click.option(
    "--restaurant",
    "restaurants",
    multiple=True,
    help="Restaurant GUID to load (repeatable; default: every location the "
    "credentials reach, or sources.toast.restaurant_guids).",
)
def load(from_date, to_date, restaurants) -> None:
    """Load Toast into the warehouse.

    Without --from/--to: the first run backfills 12 weeks of business dates, later runs read
    what Toast modified since the previous run (late voids, tips and refunds included).
    Exits 1 when a location failed; the others are loaded and the next run resumes it.

    \b
    Example:
        closeout load
        closeout load --from 2026-03-01 --to 2026-03-07
    """
    result = run_and_print_load(date_range(from_date, to_date), list(restaurants) or None)
    if not result.ok:
        raise SystemExit(1)


def run_and_print_load(dates, restaurants):
    from loaders.pipeline import run_load

    result = run_load(business_date_range=dates, restaurant_guids=restaurants)
    print_load(result)
    return result
