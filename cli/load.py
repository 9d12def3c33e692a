"""`closeout load`."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import click

from cli.options import date_range, date_range_options
from cli.output import print_load

# The furthest ahead any place's local date is of UTC (UTC+14, Kiribati): a business date after
# that date has not started anywhere, so Toast has no orders for it.
LATEST_UTC_OFFSET = timezone(timedelta(hours=14))


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
    dates = date_range(from_date, to_date)
    if dates:
        refuse_future_dates(dates[0])
    result = run_and_print_load(dates, list(restaurants) or None)
    if not result.ok:
        raise SystemExit(1)


def refuse_future_dates(first: date) -> None:
    """A range that starts after today would load nothing without a word: say so instead."""
    latest = datetime.now(LATEST_UTC_OFFSET).date()
    if first > latest:
        raise click.BadParameter(
            f"{first} is a business date in the future (today is {latest} at the latest, "
            "anywhere): Toast has no orders for it yet, so nothing would be loaded. Give dates "
            "up to today, or leave out --from/--to to load what changed since the last run.",
            param_hint="'--from' / '--to'",
        )


def run_and_print_load(dates, restaurants):
    from loaders.pipeline import run_load

    result = run_load(business_date_range=dates, restaurant_guids=restaurants)
    print_load(result)
    return result
