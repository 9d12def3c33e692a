"""Options several commands share, written once."""

from __future__ import annotations

from datetime import date

import click

from posting.connectors.registry import ERPS

DATE = click.DateTime(["%Y-%m-%d"])

erp_option = click.option(
    "--erp", type=click.Choice(ERPS), help="ERP to post to (default: ERP__TARGET / erp.target)."
)


def date_range_options(first_help: str, last_help: str):
    """`--from` / `--to` business dates, passed on as one `dates` argument (or None)."""

    def decorate(command):
        command = click.option("--to", "to_date", type=DATE, help=last_help)(command)
        return click.option("--from", "from_date", type=DATE, help=first_help)(command)

    return decorate


def date_range(from_date, to_date) -> tuple[date, date] | None:
    """(first, last) from --from/--to; one of them alone means that single date."""
    if not from_date and not to_date:
        return None
    first = (from_date or to_date).date()
    last = (to_date or from_date).date()
    if last < first:
        raise click.BadParameter(f"--to {last} is before --from {first}")
    return first, last
