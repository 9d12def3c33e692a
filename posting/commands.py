"""`closeout post`, `run`, `status` and `replay`: the posting half of the CLI."""

from __future__ import annotations

import sys
from datetime import date, timedelta

import click
import duckdb

from closeout.errors import CloseoutError
from closeout.warehouse import warehouse_path
from posting.cli import _date_range, _print_build, _run_load, main
from posting.connectors.registry import CONNECTABLE, ERPS
from posting.post import PostReport, post_journals

DATE = click.DateTime(["%Y-%m-%d"])
erp_option = click.option("--erp", type=click.Choice(ERPS),
                          help="ERP to post to (default: ERP__TARGET / erp.target).")


@main.command()
@erp_option
@click.option("--from", "from_date", type=DATE, help="First business date to post.")
@click.option("--to", "to_date", type=DATE, help="Last business date to post.")
def post(erp: str | None, from_date, to_date) -> None:
    """Post every ready journal not yet in the ERP; a changed journal already posted is
    posted as an adjusting journal holding the difference.

    Exits 1 when a journal failed, was held or could not be sent.
    """
    report = post_ready(erp, _date_range(from_date, to_date))
    print_post_report(report)
    if not report.ok:
        raise SystemExit(1)


@main.command()
@erp_option
def run(erp: str | None) -> None:
    """load -> build -> post: what a scheduler calls. Exits 1 when anything failed or was held,
    after a one-screen summary."""
    from transform.build import run_build

    loaded = _run_load(None, None)
    try:
        built = run_build(quiet=True)
    except CloseoutError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_build(built)
    if not built.ok:
        click.echo("Nothing posted: the build failed (see above).", err=True)
        raise SystemExit(1)
    report = post_ready(erp, None)
    print_post_report(report)
    if not (loaded.ok and report.ok):
        raise SystemExit(1)


@main.command()
@erp_option
@click.argument("journal_id")
def replay(erp: str | None, journal_id: str) -> None:
    """Retry one failed journal after its cause is fixed, e.g.
    closeout replay b601e100-26a6-4cf6-ad6c-b2705d1213bc:2026-10-13:sales"""
    from posting.connectors.registry import configured_erp
    from posting.ledger import Ledger

    try:
        target = configured_erp(erp)
    except CloseoutError as exc:
        raise click.ClickException(str(exc)) from exc
    with duckdb.connect(str(warehouse_path())) as con:
        reset = Ledger(con).reset_failed(target, journal_id)
    if not reset:
        click.echo(f"{journal_id} has no failed document for {target}; posting it if ready.")
    report = post_ready(target, None, (journal_id,))
    print_post_report(report)
    if not report.ok:
        raise SystemExit(1)


@main.command()
@erp_option
@click.option("--from", "from_date", type=DATE, help="First business date (default: 14 days ago).")
@click.option("--to", "to_date", type=DATE, help="Last business date (default: today).")
def status(erp: str | None, from_date, to_date) -> None:
    """Journals by state for a date range: ready, held (with reasons), posted, adjusted, failed
    (with the ERP's message), pending (outcome unknown; the next post resolves it)."""
    from posting.connectors.registry import configured_erp
    from posting.status import journal_states

    try:
        target = configured_erp(erp)
    except CloseoutError as exc:
        raise click.ClickException(str(exc)) from exc
    today = date.today()
    first = from_date.date() if from_date else today - timedelta(days=14)
    last = to_date.date() if to_date else today
    rows = journal_states(target, (first, last))
    if not rows:
        click.echo("No journals in that range.")
        return
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    click.echo(f"Journals for {target}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    click.echo(f"  {'date':10}  {'location':28} {'type':6} {'state':9} detail")
    for row in rows:
        click.echo(f"  {row.business_date:%Y-%m-%d}  {row.location[:28]:28} "
                   f"{row.journal_type:6} {row.state:9} {row.detail}")


def post_ready(erp: str | None, dates: tuple[date, date] | None = None,
               journal_ids: tuple[str, ...] = ()) -> PostReport:
    from posting.connectors.registry import configured_erp, open_connector

    try:
        target = configured_erp(erp)
        return post_journals(target, lambda ledger: open_connector(target, ledger),
                             date_range=dates, journal_ids=journal_ids, on_start=_progress)
    except CloseoutError as exc:
        raise click.ClickException(str(exc)) from exc


def _progress(total: int):
    """A progress bar on a terminal for long runs; nothing in a scheduler's log."""
    if total < 20 or not sys.stderr.isatty():
        return lambda n: None
    from rich.progress import Progress

    progress = Progress(transient=True)
    progress.start()
    task = progress.add_task("posting journals", total=total)

    def advance(n: int) -> None:
        progress.advance(task, n)
        if progress.finished:
            progress.stop()
    return advance


def print_post_report(report: PostReport) -> None:
    posted, adjusted = report.by_state("posted"), report.by_state("adjusted")
    held, failed = report.by_state("held"), report.by_state("failed")
    unchanged, unavailable = report.by_state("unchanged"), report.by_state("unavailable")
    click.echo(f"\nPosting to {report.erp}: {len(posted)} posted, {len(adjusted)} adjusted, "
               f"{len(unchanged)} unchanged, {len(held)} held, {len(failed)} failed"
               + (f", {len(unavailable)} not sent" if unavailable else ""))
    for title, items in (("Posted", posted + adjusted), ("Held", held), ("Failed", failed)):
        if not items:
            continue
        click.echo(f"{title}:")
        for o in items[:15]:
            detail = f"-> {o.document_id}" if title == "Posted" else o.message
            click.echo(f"  {o.business_date:%Y-%m-%d} {o.location[:28]:28} {o.journal_type:6} "
                       f"{detail}")
        if len(items) > 15:
            click.echo(f"  ... and {len(items) - 15} more (closeout status)")
    if report.stopped:
        click.echo(f"Stopped: {report.stopped}", err=True)


@main.command()
@click.argument("erp", type=click.Choice(CONNECTABLE))
@click.option("--code", help="The authorization code (or the whole address the browser was "
                             "sent to), when the redirect URI is not a loopback address.")
def connect(erp: str, code: str | None) -> None:
    """One-time consent for an ERP that only allows OAuth authorization codes (Exact Online,
    FreshBooks): prints the consent address, receives the code on the loopback redirect URI
    (or takes it pasted), and stores the refresh token encrypted (CLOSEOUT_SECRET_KEY).

    Example: closeout connect exact
    """
    from posting.connectors.registry import connect_erp

    try:
        connected = connect_erp(erp, code=code, echo=click.echo)
    except CloseoutError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Connected to {erp}: {connected}. Tokens are stored encrypted; closeout "
               "refreshes them on each run.")
