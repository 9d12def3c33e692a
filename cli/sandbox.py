"""`closeout sandbox`: the local stand-ins for Toast and the ERPs."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from posting.connectors.registry import ERP_NAMES


@click.command()
@click.option(
    "--port",
    default=8700,
    show_default=True,
    help="Toast sandbox port (0: any); the ERP sandboxes take any free port.",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the generated data.")
@click.option("--locations", default=3, show_default=True, help="Number of restaurants.")
@click.option("--orders-per-day", default=40, show_default=True, help="Orders per location/day.")
@click.option(
    "--rate-limits/--no-rate-limits",
    default=True,
    show_default=True,
    help="Enforce Toast's rate limits.",
)
@click.option(
    "--ready-file",
    type=click.Path(path_type=Path),
    help="Write the URLs and credentials as JSON here once listening.",
)
def sandbox(port, seed, locations, orders_per_day, rate_limits, ready_file) -> None:
    """Run the Toast and ERP sandboxes locally.

    They listen on 127.0.0.1 until interrupted.

    Prints each sandbox's address, the sandbox restaurants, and the settings that point
    closeout at them.

    \b
    Example:
        closeout sandbox --port 8700 --locations 5 --orders-per-day 200
    """
    from sandboxes.serve import SandboxOptions, start, write_ready_file

    options = SandboxOptions(
        toast_port=port,
        seed=seed,
        locations=locations,
        orders_per_day=orders_per_day,
        rate_limits=rate_limits,
    )
    running = start(options)
    if ready_file:
        write_ready_file(ready_file, running, options)
    click.echo(
        f"Toast sandbox: {running.urls['toast']}  (client id {options.client_id!r}, "
        f"secret {options.client_secret!r})"
    )
    for loc in running.toast.dataset.locations:
        click.echo(f"  {loc.guid}  {loc.name}  {loc.time_zone}  closeoutHour {loc.closeout_hour}")
    for name, url in running.urls.items():
        if name != "toast":
            click.echo(f"{ERP_NAMES.get(name, name)} sandbox: {url}")
    click.echo("To post to them, export:")
    for name, value in running.erp_env().items():
        click.echo(f"  {name}={value}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    running.stop()
