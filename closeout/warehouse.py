"""Where the warehouse lives: one DuckDB file shared by load, dbt build and post.

DuckDB lets one process write a file, and only while no other process has it open (even
read-only). A connection that finds the file held waits for it with a countdown (see
closeout.waiting), then stops with one line naming the holder's PID, as DuckDB reports it.
Analysts query the published copy (closeout.publish) so that they never hold this file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from closeout.errors import WarehouseError
from closeout.waiting import WAIT_SETTING, Busy, wait_for

DEFAULT_WAREHOUSE = "./closeout.duckdb"
RAW_DATASET = "toast_raw"  # schema the loader writes; dbt reads it as a source
ANALYTICS_SETTING = "CLOSEOUT_ANALYTICS_DB"
# DuckDB's words for a file another process holds: "... Conflicting lock is held in
# /usr/bin/python3 (PID 1234) by user ana. ..." (program and user are not always there).
_CONFLICT = re.compile(
    r"Conflicting lock is held in (?P<program>.*?)\s*\(PID (?P<pid>\d+)\)"
    r"(?: by user (?P<user>\S+?)\.?(?=\s|$))?"
)


def warehouse_path() -> Path:
    """`CLOSEOUT_DB`, or ./closeout.duckdb."""
    return Path(os.environ.get("CLOSEOUT_DB") or DEFAULT_WAREHOUSE).expanduser().resolve()


def analytics_path() -> Path:
    """The analysts' read-only copy: `CLOSEOUT_ANALYTICS_DB`, or `<warehouse>.analytics.duckdb`
    beside the warehouse."""
    configured = os.environ.get(ANALYTICS_SETTING)
    if configured:
        return Path(configured).expanduser().resolve()
    path = warehouse_path()
    return path.with_name(f"{path.stem}.analytics.duckdb")


def state_dir() -> Path:
    """Working files that belong with the warehouse (pipeline state, token cache)."""
    path = warehouse_path().parent / ".closeout"
    path.mkdir(parents=True, exist_ok=True)
    return path


def connect(*, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse, waiting (with a countdown, up to CLOSEOUT_WAIT_SECONDS)
    while another process holds the file. A missing table is a CatalogException naming it,
    never a Python variable of the same name picked up by DuckDB's replacement scans."""
    path = warehouse_path()
    if read_only and not path.exists():
        raise WarehouseError(
            f"No warehouse at {path} yet: run `closeout load` and `closeout build` first "
            "(or point CLOSEOUT_DB at the warehouse)."
        )

    def attempt() -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(
                str(path), read_only=read_only, config={"python_enable_replacements": False}
            )
        except duckdb.IOException as exc:
            busy = holder_of(exc)
            if busy is None:
                raise
            raise busy from exc

    try:
        connection, _ = wait_for(attempt, f"the warehouse {path}")
    except Busy as busy:
        raise WarehouseError(busy_message(busy)) from busy
    return connection


def holder_of(exc: BaseException) -> Busy | None:
    """Busy naming the process DuckDB says holds the file, or None for another error."""
    if not isinstance(exc, duckdb.IOException):
        return None
    return holder_named_in(str(exc))


def holder_named_in(text: str) -> Busy | None:
    """Busy from DuckDB's words for a file another process holds (also when dbt passes them
    on), or None when `text` is not about that."""
    if "Could not set lock on file" not in text and "Conflicting lock" not in text:
        return None
    found = _CONFLICT.search(text)
    if not found:
        return Busy("held by another process (DuckDB did not say which)")
    user = f", user {found['user']}" if found["user"] else ""
    return Busy(f"held by PID {found['pid']} ({found['program']}{user})", pid=int(found["pid"]))


def busy_message(busy: Busy) -> str:
    """One line for an operator: who holds the warehouse, how long we waited, what to do."""
    waited = (
        f"waited {busy.waited:.0f} s ({WAIT_SETTING})"
        if busy.waited
        else "it was opened while this command ran"
    )
    return (
        f"The warehouse {warehouse_path()} is {busy.holder}; {waited}. Close that session "
        f"(analysts query the copy {analytics_path()}) or let that run finish, then run again."
    )
