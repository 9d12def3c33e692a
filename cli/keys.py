"""`closeout keygen`."""

from __future__ import annotations

import click


@click.command()
def keygen() -> None:
    """Print a new key for CLOSEOUT_SECRET_KEY.

    The key encrypts the tokens closeout keeps between runs.

    \b
    Example:
        export CLOSEOUT_SECRET_KEY="$(closeout keygen)"
    """
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())
