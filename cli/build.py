"""`closeout build` and `closeout mappings`."""

from __future__ import annotations

import click

from cli.output import print_build
from closeout.errors import WarehouseError
from closeout.warehouse import busy_message, holder_named_in


@click.command()
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Rebuild every model from the raw data instead of only the changed days.",
)
@click.option("--select", "select", multiple=True, help="dbt node selection (repeatable).")
def build(full_refresh: bool, select: tuple[str, ...]) -> None:
    """dbt build: the journals and pre-post checks.

    Runs Toast staging -> journal_lines and the checks that decide what may be posted.

    Structural test failures (an unbalanced journal, a duplicate key) stop here and exit 1:
    nothing may be posted. Business warnings (unmapped lines, open checks, day not closed)
    only hold the journals they name; see the summary and `closeout mappings`.

    \b
    Example:
        closeout build
        closeout build --full-refresh
    """
    result = build_and_print(full_refresh=full_refresh, select=select)
    if not result.ok:
        raise SystemExit(1)
    publish_and_say()


def build_and_print(**options):
    """`run_build`, printed. dbt opens the warehouse itself a moment after closeout let go of
    it: when another process opened it in between, dbt fails before building anything, so the
    build runs again (its first connection waits for the warehouse, with a countdown) rather
    than report failed structural checks."""
    from transform.build import run_build

    result = run_build(**options)
    busy = _warehouse_taken(result)
    if busy is not None:
        click.echo(f"dbt could not open the warehouse ({busy.holder}); building again.", err=True)
        result = run_build(**options)
        busy = _warehouse_taken(result)
        if busy is not None:
            raise WarehouseError(busy_message(busy))
    print_build(result)
    return result


def _warehouse_taken(result):
    """Busy when the build failed only because another process held the warehouse."""
    if result.ok or not result.errors:
        return None
    found = [holder_named_in(problem.message) for problem in result.errors]
    return found[0] if all(found) else None


def publish_and_say() -> None:
    """Publish the analysts' copy after a build that passed (closeout.publish)."""
    from closeout.publish import publish

    published = publish()
    click.echo(
        f"Analysts' copy published: {published.path} ({published.size / 1e6:.1f} MB); "
        "sessions opened from now on see this build."
    )


@click.command()
@click.option(
    "--append",
    is_flag=True,
    help="Append a stub row for each unmapped source to its seed file (account left "
    "empty for the accountant to fill in).",
)
def mappings(append: bool) -> None:
    """List unmapped Toast sources and seed rows.

    Every sales category, revenue center, payment type, service charge, tax rate or job seen
    in the data that no mapping seed covers, with the row that would map it.

    \b
    Example:
        closeout mappings
        closeout mappings --append   # then fill in the accounts and run closeout build
    """
    from transform.mappings import append_stub_rows, unmapped_sources

    items = unmapped_sources()
    if not items:
        click.echo("Every source seen in the data is mapped.")
        return
    click.echo(f"{len(items)} unmapped source(s):")
    for seed_file in sorted({item.seed_file for item in items}):
        click.echo(f"\n  seeds/{seed_file}:")
        for item in (i for i in items if i.seed_file == seed_file):
            click.echo(
                f"    {item.source_kind:22} {_source_label(item):32} "
                f"restaurant {item.restaurant_guid}"
            )
            click.echo(f"      add: {item.suggested_row}")
    if append:
        added = append_stub_rows(items)
        for seed_file, count in added.items():
            click.echo(
                f"appended {count} stub row(s) to seeds/{seed_file}: fill in the accounts, "
                "then run `closeout build`"
            )


def _source_label(item) -> str:
    """How a source reads in the list: its name, or for the '(none)' rows (sales with no sales
    category or no revenue center in Toast) what that row stands for."""
    if item.source_name == "(none)" and item.source_guid is None:
        return f"(none): no {item.source_kind.replace('_', ' ')}"
    return str(item.source_name or item.source_guid)
