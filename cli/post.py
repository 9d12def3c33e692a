"""`closeout post`, `status`, `replay` and `connect`: the ERP side."""

from __future__ import annotations

from datetime import date, timedelta

import click

from cli.options import date_range, date_range_options, erp_option
from cli.output import print_post_report, progress_bar
from posting.connectors.registry import CONNECTABLE


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
