"""Where the warehouse lives: one DuckDB file shared by load, dbt build and post."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from closeout.errors import WarehouseError

DEFAULT_WAREHOUSE = "./closeout.duckdb"
RAW_DATASET = "toast_raw"  # schema the loader writes; dbt reads it as a source


def warehouse_path() -> Path:
    """`CLOSEOUT_DB`, or ./closeout.duckdb."""
    return Path(os.environ.get("CLOSEOUT_DB") or DEFAULT_WAREHOUSE).expanduser().resolve()


def state_dir() -> Path:
    """Working files that belong with the warehouse (pipeline state, token cache)."""
    path = warehouse_path().parent / ".closeout"
    path.mkdir(parents=True, exist_ok=True)
    return path


def connect(*, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse. A missing table is a CatalogException naming it, never
    a Python variable of the same name picked up by DuckDB's replacement scans."""
    path = warehouse_path()
    if read_only and not path.exists():
        raise WarehouseError(
            f"No warehouse at {path} yet: run `closeout load` and `closeout build` first "
            "(or point CLOSEOUT_DB at the warehouse)."
        )
    return duckdb.connect(
        str(path), read_only=read_only, config={"python_enable_replacements": False}
    )
