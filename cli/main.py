"""The `closeout` group, and where errors become messages and exit codes."""

from __future__ import annotations

import functools
import logging

import click
import duckdb

from cli import build, check, keys, load, post, report, run, sandbox, serve
from closeout import __version__
from closeout.errors import CloseoutError
from closeout.run_lock import command_line, run_lock
from closeout.warehouse import busy_message, holder_of

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
# Libraries whose errors may carry ours as their context rather than their cause.
LIBRARIES_THAT_WRAP = {"dlt", "dbt"}
# Schemas `closeout build` creates: a table missing from one of them means "build first".
BUILT_SCHEMAS = ("staging", "intermediate", "finance", "mappings")


def operator_error(exc: BaseException) -> CloseoutError | None:
    """The CloseoutError behind `exc` when a library (dlt, dbt) wrapped it in its own error.

    Only explicit causes (`raise ... from`) and a library's own wrappers are followed: a bug in
    closeout raised while it handled a CloseoutError must stay a traceback, not hide behind
    the message of the error it was handling.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, CloseoutError):
            return exc
        seen.add(id(exc))
        wrapper = type(exc).__module__.split(".")[0] in LIBRARIES_THAT_WRAP
        if exc.__cause__ is not None:
            exc = exc.__cause__
        elif wrapper and not exc.__suppress_context__:
            exc = exc.__context__
        else:
            return None
    return None


def _warehouse_message(exc: duckdb.Error) -> str | None:
    """What an operator can do about a DuckDB error, or None for one that is a bug."""
    first_line = str(exc).strip().splitlines()[0]
    busy = holder_of(exc)
    if busy is not None:
        return busy_message(busy)
    if isinstance(exc, duckdb.CatalogException) and any(
        f"{schema}." in first_line or f'"{schema}"' in first_line for schema in BUILT_SCHEMAS
    ):
        return f"The warehouse has not been built yet: run `closeout build` first. ({first_line})"
    return None


def _busy_warehouse_behind(exc: BaseException) -> str | None:
    """The message for a warehouse another process opened while a library (dlt) had it, when
    that is what `exc` wraps."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        busy = holder_of(exc)
        if busy is not None:
            return busy_message(busy)
        wrapper = type(exc).__module__.split(".")[0] in LIBRARIES_THAT_WRAP
        if exc.__cause__ is not None:
            exc = exc.__cause__
        elif wrapper and not exc.__suppress_context__:
            exc = exc.__context__
        else:
            return None
    return None


def _missing_settings_message(exc: BaseException) -> str | None:
    """What to set when dlt could not find a required setting (a first run without Toast's
    credentials), or None when `exc` is something else."""
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    while exc is not None and not isinstance(exc, ConfigFieldMissingException):
        exc = exc.__cause__ or exc.__context__
    if exc is None:
        return None
    names = [_documented_key(traces) for traces in exc.traces.values()]
    return (
        f"missing setting{'s' if len(names) != 1 else ''}: set {', '.join(names)} in the "
        "environment, or the same in .dlt/secrets.toml / .dlt/config.toml (README, Settings)"
    )


def _documented_key(traces) -> str:
    """Of the keys dlt tried for one field (pipeline-scoped, section-less...), the one the
    README documents: SOURCES__<SOURCE>__<FIELD>."""
    keys = [trace.key for trace in traces]
    for key in keys:
        parts = key.split("__")
        if len(parts) == 3 and parts[0] == "SOURCES" and parts[1] != "SOURCE":
            return key
    return keys[0] if keys else "?"


def operator_message(exc: Exception) -> str | None:
    """What an operator is told of `exc` (the message names the record and the fix), or None
    for an error that is a bug in closeout and must stay a traceback."""
    if isinstance(exc, duckdb.Error):
        return _warehouse_message(exc)
    cause = operator_error(exc)
    if cause is not None:
        return str(cause)
    return _missing_settings_message(exc) or _busy_warehouse_behind(exc)


class CloseoutGroup(click.Group):
    """Turns operator-facing errors into `Error: <message>` and exit code 1, in one place."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:
            message = operator_message(exc)
            if message is None:
                raise
            raise click.ClickException(message) from exc


@click.group(cls=CloseoutGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="closeout")
@click.option("-v", "--verbose", is_flag=True, help="Log what closeout is doing.")
def main(verbose: bool) -> None:
    """closeout: Toast closed business days -> balanced daily sales journals in the ERP.

    The warehouse is the DuckDB file named by CLOSEOUT_DB (default ./closeout.duckdb).

    \b
    Example:
        closeout run            # load -> build -> post, what a scheduler calls
        closeout status         # what posted, what is held and why
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )


# Commands that write the warehouse: one at a time per warehouse (closeout.run_lock).
WAREHOUSE_WRITERS = (load.load, build.build, post.post, post.replay, run.run, run.demo)


def hold_run_lock(command: click.Command) -> click.Command:
    """Run `command` holding the warehouse's run lock. Taken around its callback, after its
    command line is parsed, so `-h` and a wrong option never wait for another run."""
    callback = command.callback

    @functools.wraps(callback)
    def locked(*args, **kwargs):
        with run_lock(command_line()):
            return callback(*args, **kwargs)

    command.callback = locked
    return command


for command in WAREHOUSE_WRITERS:
    hold_run_lock(command)

for command in (
    load.load,
    build.build,
    build.mappings,
    post.post,
    run.run,
    post.status,
    post.replay,
    run.demo,
    sandbox.sandbox,
    post.connect,
    keys.keygen,
    check.check,
    serve.serve,
    report.report,
):
    main.add_command(command)
