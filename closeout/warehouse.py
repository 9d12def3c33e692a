"""Where the warehouse lives: one DuckDB file shared by load, dbt build and post."""

from __future__ import annotations

import os
from pathlib import Path

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
