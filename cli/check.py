"""`closeout check`: a new group's first step, read-only against the configured Toast and ERP."""

from __future__ import annotations

from pathlib import Path

import click

from posting.check import AGAIN
from posting.connectors.registry import ERPS

DASH = "\u2014"
PLACES_SHOWN = 3  # places named on a line about a value wrong in several


@click.command()
@click.option(
    "--erp", type=click.Choice(ERPS), help="ERP to check (default: ERP__TARGET / erp.target)."
)
@click.option(
    "--seeds",
    "seeds_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The mapping seeds to check (default: dbt_project/seeds).",
)
def check(erp: str | None, seeds_dir: Path | None) -> None:
    """Check the set-up against Toast and the ERP.

    Read-only. Logs in to Toast once (a kept token is reused), lists the locations the
    credentials reach against locations.csv, and asks the ERP whether every company,
    division, account and dimension value the seeds map to exists and is open for posting.
    Prints one line per problem with its fix; exits 1 if there is any. Creates and changes
    nothing, and needs no warehouse.

    \b
    Example:
        closeout check
        closeout check --erp intacct --seeds ~/closeout-seeds-draft
    """
    from posting.check import erp_check
    from posting.check_references import references_from_seeds
    from posting.connectors.registry import ERP_NAMES, configured_erp
    from transform import build, seed_check

    target = configured_erp(erp)
    seeds_dir = seeds_dir or build.PROJECT_DIR / "seeds"
    if not (seeds_dir / "_seeds.yml").is_file():
        raise click.BadParameter(
            f"{seeds_dir} holds no _seeds.yml: give the folder with the mapping seeds "
            "(a copy of dbt_project/seeds)",
            param_hint="'--seeds'",
        )
    seed_check.check_seeds(seeds_dir)  # a file dbt could not read: its own clear message
    seeds = references_from_seeds(seeds_dir)
    active = sum(location.active for location in seeds.locations)
    values = sum(1 for reference in seeds.references if reference.value)
    click.echo(
        f"Seeds {seeds_dir}: {len(seeds.locations)} locations ({active} active), "
        f"{values} values to look up in the ERP"
    )
    counts: dict[str, int] = {}

    seed_lines = [f"  {p.used_by}: {p.subject}: {p.problem} {DASH} {p.fix}" for p in seeds.problems]
    _print_problems(seed_lines)
    counts["seeds"] = len(seed_lines)

    click.echo()
    counts["Toast"] = _check_toast(seeds.locations)

    label = ERP_NAMES[target]
    click.echo()
    click.echo(f"{label}: asking about {values} values (read-only)")
    result = erp_check(target, seeds.references)
    erp_lines = _erp_lines(target, result.problems)
    if result.asked and not erp_lines:
        click.echo("  every value exists and is open for posting")
    _print_problems(erp_lines)
    counts[label] = len(erp_lines)

    total = sum(counts.values())
    click.echo()
    if not total:
        click.echo(f"check: no problems; Toast and {label} fit the seeds.")
        return
    where = ", ".join(f"{n} {part}" for part, n in counts.items() if n)
    click.echo(f"check: {total} problem(s) ({where}); fix them and run `closeout check` again.")
    raise SystemExit(1)


def _check_toast(locations) -> int:
    """Print what Toast reaches; the number of problems."""
    from closeout.errors import CloseoutError, ToastTransportError
    from posting.check_toast import toast_reach

    try:
        reach = toast_reach(locations)
    except ToastTransportError as exc:
        click.echo("Toast: could not check the locations")
        fix = "check sources.toast.base_url (SOURCES__TOAST__BASE_URL) and the network"
        _print_problems([f"  Toast: {exc} {DASH} {fix}, then run again"])
        return 1
    except CloseoutError as exc:  # credentials refused or missing: the message names the fix
        click.echo("Toast: could not check the locations")
        _print_problems([f"  Toast: {exc} {DASH} {AGAIN}"])
        return 1
    if reach.listed:
        how = ""
    elif reach.configured:
        how = " (per guid of locations.csv and sources.toast.restaurant_guids, as the load reads)"
    else:
        how = " (per locations.csv guid: no partners API for these credentials)"
    click.echo(f"Toast {reach.base_url}: {len(reach.reached)} location(s) reached{how}")
    for restaurant, location in reach.reached:
        if location is None:
            continue  # reached but not in locations.csv: a problem line below
        hour = "?" if restaurant.closeout_hour is None else f"{restaurant.closeout_hour:02d}:00"
        state = "" if location.active else "  (is_active false: not posted)"
        click.echo(
            f"  reached  {restaurant.guid}  {restaurant.name}  closeout {hour} "
            f"{restaurant.time_zone or '?'}{state}"
        )
    for location in reach.inactive_unreached:
        click.echo(
            f"  not reached  {location.guid}  {location.name}  (is_active false: not posted)"
        )
    lines = [f"  {p.where}: {p.subject}: {p.problem} {DASH} {p.fix}" for p in reach.problems]
    _print_problems(lines)
    return len(lines)


def _erp_lines(erp: str, problems) -> list[str]:
    """One line per problem; the same answer about the same value in several places (an ERP
    with one chart for every company) is one line naming the places."""
    places: dict[tuple, list[str]] = {}
    for problem in problems:
        reference = problem.reference
        if reference is None:
            places.setdefault((f"{erp} settings", None, problem.problem, problem.fix), [])
            continue
        key = (
            reference.used_by,
            f"{reference.kind} {reference.value or '(empty)'}",
            problem.problem,
            problem.fix,
        )
        place = reference.company + (f"/{reference.division}" if reference.division else "")
        places.setdefault(key, []).append(place)
    lines = []
    for (where, subject, problem, fix), found_in in places.items():
        if found_in:
            shown = ", ".join(found_in[:PLACES_SHOWN])
            more = len(found_in) - PLACES_SHOWN
            subject += f" in {shown}" + (f" and {more} more" if more > 0 else "")
        lines.append(
            f"  {where}: "
            + (f"{subject}: " if subject else "")
            + f"{problem} {DASH} {fix or AGAIN}"
        )
    return lines


def _print_problems(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)
