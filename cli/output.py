"""How the commands print what the library returns."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from closeout.warehouse import RAW_DATASET
from loaders.report import loaded_days
from posting.status import built_journals

if TYPE_CHECKING:  # the modules behind these import dlt and dbt: only when a command runs
    from loaders.pipeline import LoadResult
    from posting.post import PostReport
    from transform.build import BuildResult


def print_load(result: LoadResult) -> None:
    report = result.report
    click.echo(f"Loaded in {result.seconds:.1f} s (load id {result.load_id}):")
    click.echo(
        f"  {'restaurant':38} {'name':24} {'orders':>7} {'time entries':>12} {'rejects':>7}  status"
    )
    for loc in report.locations.values():
        status = "ok" if loc.ok else "FAILED"
        click.echo(
            f"  {loc.restaurant_guid:38} {loc.name[:24]:24} {loc.orders:>7} "
            f"{loc.time_entries:>12} {loc.rejects:>7}  {status}"
        )
        for error in loc.errors:
            click.echo(f"      {error}", err=True)
    if any(loc.rejects for loc in report.locations.values()):
        click.echo(f"  Rejected records are kept with their raw text in {RAW_DATASET}.rejects.")
    if report.failed:
        click.echo(f"{len(report.failed)} location(s) failed; the next run resumes them.", err=True)


def print_loaded_days(dates) -> None:
    click.echo(
        f"\n  {'location':28} {'business date':13} {'orders':>7} {'voided':>7} {'deleted':>7}"
    )
    for day in loaded_days(dates):
        click.echo(
            f"  {day.location[:28]:28} {day.business_date.isoformat():13} "
            f"{day.orders:>7} {day.voided:>7} {day.deleted:>7}"
        )


def print_build(result: BuildResult) -> None:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts.items()))
    click.echo(
        f"\ndbt build: {counts or 'nothing ran'}"
        + (" (mapping seeds changed: journals rebuilt)" if result.mappings_changed else "")
    )
    for problem in result.errors:
        click.echo(f"  ERROR {problem.name}: {problem.message}", err=True)
    for problem in result.warnings:
        click.echo(f"  warn  {problem.name}: {problem.message}")
    if not result.ok:
        click.echo(
            "Structural checks failed: nothing will be posted until this is fixed.", err=True
        )
        return
    journals = built_journals()
    if journals is None:
        return
    click.echo("journals: " + ", ".join(f"{n} {status}" for status, n in journals.counts.items()))
    for journal_id, reasons in journals.held:
        click.echo(f"  held {journal_id}: {reasons}")


def print_post_report(report: PostReport) -> None:
    posted, adjusted = report.by_state("posted"), report.by_state("adjusted")
    held, failed = report.by_state("held"), report.by_state("failed")
    unchanged, unavailable = report.by_state("unchanged"), report.by_state("unavailable")
    inactive = report.by_state("inactive")
    click.echo(
        f"\nPosting to {report.erp}: {len(posted)} posted, {len(adjusted)} adjusted, "
        f"{len(unchanged)} unchanged, {len(held)} held, {len(failed)} failed"
        + (f", {len(unavailable)} not sent" if unavailable else "")
        + (f", {len(inactive)} of inactive locations" if inactive else "")
    )
    for title, items in (("Posted", posted + adjusted), ("Held", held), ("Failed", failed)):
        if not items:
            continue
        click.echo(f"{title}:")
        for outcome in items[:15]:
            detail = f"-> {outcome.document_id}" if title == "Posted" else outcome.message
            if title == "Posted" and outcome.posting_date:
                detail += f" (booked {outcome.posting_date:%Y-%m-%d}: period closed)"
            click.echo(
                f"  {outcome.business_date:%Y-%m-%d} {outcome.location[:28]:28} "
                f"{outcome.journal_type:6} {detail}"
            )
        if len(items) > 15:
            click.echo(f"  ... and {len(items) - 15} more (closeout status)")
    if inactive:
        names = sorted({outcome.location for outcome in inactive})
        click.echo(f"Inactive (is_active=false in locations.csv, not posted): {', '.join(names)}")
    if report.stopped:
        click.echo(f"Stopped: {report.stopped}", err=True)


def progress_bar(total: int):
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
