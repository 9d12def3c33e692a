"""`closeout post`, `status`, `replay` and `connect`: the ERP side."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import click
import duckdb

from cli.options import date_range, date_range_options, erp_option
from cli.output import print_post_report, progress_bar
from closeout import warehouse
from closeout.errors import ConfigurationError, WarehouseError
from posting.connectors.registry import CONNECTABLE

# DuckDB's words for a table missing from a schema that exists (a missing schema is the "build
# first" case cli/main.py explains)
MISSING_TABLE = re.compile(r'Table with name "?([\w.]+)"? does not exist!')
FAILED_SHOWN = 10


@click.command()
@erp_option
@date_range_options("First business date to post.", "Last business date to post.")
def post(erp: str | None, from_date, to_date) -> None:
    """Post the ready journals not yet in the ERP.

    A journal already posted whose version changed (a late void, tip or refund) is posted as
    an adjusting journal holding the difference. Exits 1 when a journal failed, was held or
    could not be sent.

    \b
    Example:
        closeout post --erp intacct
        closeout post --from 2026-03-01 --to 2026-03-07
    """
    from posting.ready import post_ready

    with _missing_tables_explained():
        report = post_ready(erp, date_range(from_date, to_date), on_start=progress_bar)
    print_post_report(report)
    if not report.ok:
        raise SystemExit(1)


@click.command()
@erp_option
@date_range_options(
    "First business date (default: 14 days ago).", "Last business date (default: today)."
)
def status(erp: str | None, from_date, to_date) -> None:
    """Journals by state, with reasons.

    States: ready, held, posted, adjusted, changed, failed, pending. Held journals come
    with their reasons, failed ones with the ERP's message; pending means the outcome is
    unknown and the next post asks the ERP.

    \b
    Example:
        closeout status --from 2026-03-01 --to 2026-03-07
    """
    from posting.connectors.registry import configured_erp
    from posting.status import journal_states

    target = configured_erp(erp)
    today = date.today()
    first = from_date.date() if from_date else today - timedelta(days=14)
    last = to_date.date() if to_date else today
    with _missing_tables_explained():
        rows = journal_states(target, (first, last))
    if not rows:
        click.echo("No journals in that range.")
        return
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    click.echo(
        f"Journals for {target}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    )
    click.echo(f"  {'date':10}  {'location':28} {'type':6} {'state':9} detail")
    for row in rows:
        click.echo(
            f"  {row.business_date:%Y-%m-%d}  {row.location[:28]:28} "
            f"{row.journal_type:6} {row.state:9} {row.detail}"
        )


@click.command()
@erp_option
@click.argument("journal_id")
def replay(erp: str | None, journal_id: str) -> None:
    """Resend a failed journal after the fix.

    Retries one journal the ERP refused, once its cause is fixed: the same key and the same
    lines are sent again.

    \b
    Example:
        closeout replay b601e100-26a6-4cf6-ad6c-b2705d1213bc:2026-10-13:sales
    """
    from posting.connectors.registry import configured_erp
    from posting.ready import post_ready, reset_failed

    target = configured_erp(erp)
    with _missing_tables_explained():
        _require_journal(journal_id, target)
        if not reset_failed(target, journal_id):
            click.echo(f"{journal_id} has no failed document for {target}; posting it if ready.")
        report = post_ready(target, None, (journal_id,), on_start=progress_bar)
    print_post_report(report)
    if not report.ok:
        raise SystemExit(1)


@click.command()
@click.argument("erp", type=click.Choice(CONNECTABLE))
@click.option(
    "--code",
    help="The authorization code (or the whole address the browser was "
    "sent to), when the redirect URI is not a loopback address.",
)
def connect(erp: str, code: str | None) -> None:
    """One-time consent for Exact or FreshBooks.

    For the ERPs that only allow OAuth authorization codes: prints the consent address,
    receives the code on the loopback redirect URI (or takes it pasted), and stores the
    refresh token encrypted (CLOSEOUT_SECRET_KEY).

    \b
    Example:
        closeout connect exact
    """
    from posting.connectors.registry import connect_erp

    connected = connect_erp(erp, code=code, echo=click.echo)
    click.echo(
        f"Connected to {erp}: {connected}. Tokens are stored encrypted; closeout "
        "refreshes them on each run."
    )


def _require_journal(journal_id: str, erp: str) -> None:
    """An id that names no journal would otherwise replay nothing and exit 0."""
    with warehouse.connect(read_only=True) as con:
        known = con.execute(
            "select count(*) from finance.journals where journal_id = ?", [journal_id]
        ).fetchone()[0]
        if known:
            return
        failed = _failed_journals(con, erp)
    raise ConfigurationError(
        f"no journal {journal_id!r} in the warehouse: a journal id is "
        "RESTAURANT_GUID:BUSINESS_DATE:TYPE (sales or labor), e.g. "
        "b601e100-26a6-4cf6-ad6c-b2705d1213bc:2026-10-13:sales. "
        + (
            f"Failed journals for {erp}: {', '.join(failed[:FAILED_SHOWN])}"
            + (f" and {len(failed) - FAILED_SHOWN} more" if len(failed) > FAILED_SHOWN else "")
            + ". "
            if failed
            else f"No journal has failed for {erp}. "
        )
        + "`closeout status` lists the journals by date, location and state."
    )


def _failed_journals(con: duckdb.DuckDBPyConnection, erp: str) -> list[str]:
    """The journals whose latest document the ERP refused: what `replay` is for."""
    from posting.ledger import SCHEMA

    try:
        rows = con.execute(
            f"""
            select journal_id from {SCHEMA}.postings where erp = ?
            group by journal_id having arg_max(status, sequence) = 'failed'
            order by journal_id""",
            [erp],
        ).fetchall()
    except duckdb.CatalogException:  # nothing was ever posted
        return []
    return [journal_id for (journal_id,) in rows]


@contextmanager
def _missing_tables_explained() -> Iterator[None]:
    """A table `closeout build` makes that is missing (a seed that failed to load, say) is a
    message saying which and what to do, not DuckDB's catalog error."""
    try:
        yield
    except duckdb.CatalogException as exc:
        missing = MISSING_TABLE.search(str(exc))
        if not missing:
            raise
        raise WarehouseError(_missing_table_message(missing.group(1))) from exc


def _missing_table_message(table: str) -> str:
    from transform.build import PROJECT_DIR

    name = table.rsplit(".", 1)[-1]
    if (PROJECT_DIR / "seeds" / f"{name}.csv").exists():
        return (
            f"the warehouse has no table for seeds/{name}.csv: the last `closeout build` did not "
            "load it. Run `closeout build`, fix what it reports about the seed files, then run "
            "this again."
        )
    return (
        f"the warehouse has no table {table}: run `closeout build` (and fix what it reports), "
        "then run this again."
    )
