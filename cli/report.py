"""`closeout report --html FILE`: the finance page, written to a file without a server."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from cli.options import erp_option


@click.command()
@erp_option
@click.option(
    "--html",
    "html_file",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the page.",
)
@click.option(
    "--days", default=14, show_default=True, type=click.IntRange(1, 366), help="Dates shown."
)
def report(erp, html_file: Path, days: int) -> None:
    """Write the finance page to an HTML file.

    The page `closeout serve` shows: each journal's state (the ERP document, the hold reason
    and its fix, the ERP's refusal), the tie to Toast, daily net sales, the last runs, the
    webhook counters and the next due times. Read from the analysts' copy; self-contained
    (no script, nothing fetched), so it can be mailed.

    \b
    Example:
        closeout report --html /tmp/closeout.html --days 7
    """
    import duckdb

    from closeout.finance_page import ServiceView, render_published_page
    from closeout.schedule import location_clocks
    from closeout.warehouse import analytics_path
    from closeout.webhook_spool import Spool, spool_path
    from posting.connectors.registry import configured_erp

    now = datetime.now(timezone.utc)
    counters = None
    if spool_path().exists():
        spool = Spool()
        try:
            counters = spool.counters()
        finally:
            spool.close()
    next_due = []
    if analytics_path().exists():
        with duckdb.connect(str(analytics_path()), read_only=True) as con:
            clocks = location_clocks(con)
        next_due = sorted(
            ((clock.name, *clock.next_due(now)) for clock in clocks), key=lambda row: row[2]
        )
    service = ServiceView(counters, next_due, None if counters else "no webhook spool")
    page = render_published_page(configured_erp(erp), service=service, now=now, days=days)
    html_file.write_text(page, encoding="utf-8")
    click.echo(f"wrote {html_file} ({len(page) / 1024:.0f} KiB)")
