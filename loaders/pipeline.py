"""Run the Toast load into the warehouse and record what happened."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone

import dlt
import duckdb

from loaders.toast import LoadReport, toast_source
from loaders.toast.client import ClientOptions
from loaders.token_store import TokenStore, fernet_from_env
from loaders.warehouse import RAW_DATASET, state_dir, warehouse_path

log = logging.getLogger("closeout.load")

PIPELINE_NAME = "closeout_toast"
AUDIT_SCHEMA = "closeout_audit"


@dataclass
class LoadResult:
    report: LoadReport
    load_id: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.report.failed


def toast_pipeline() -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(credentials={
            "database": str(warehouse_path()),
            # Bounded memory: merging a large backfill spills to disk instead of growing.
            "global_config": {"memory_limit": os.environ.get("CLOSEOUT_DUCKDB_MEMORY", "512MB"),
                              "preserve_insertion_order": False},
        }),
        dataset_name=RAW_DATASET,
        pipelines_dir=str(state_dir() / "pipelines"),
        progress="log" if log.isEnabledFor(logging.DEBUG) else None,
    )


def run_load(*, business_date_range: tuple[date, date] | None = None,
             restaurant_guids: list[str] | None = None, client_options: ClientOptions | None = None,
             **source_args) -> LoadResult:
    """Load Toast into the warehouse. Source settings not given here come from dlt config."""
    started = datetime.now(timezone.utc)
    report = LoadReport(started_at=started)
    store = TokenStore(state_dir() / "tokens.enc", fernet_from_env())
    source = toast_source(
        restaurant_guids=restaurant_guids, business_date_range=business_date_range,
        report=report, token_store=store, client_options=client_options,
        **{k: v for k, v in source_args.items() if v is not None},
    )
    pipeline = toast_pipeline()
    info = pipeline.run(source)
    load_id = info.loads_ids[-1] if info.loads_ids else None
    seconds = (datetime.now(timezone.utc) - started).total_seconds()
    _record(report, load_id, business_date_range)
    return LoadResult(report, load_id, seconds)


def _record(report: LoadReport, load_id: str | None, dates) -> None:
    """One row per location and run in closeout_audit.load_runs, for operators and analysts."""
    with duckdb.connect(str(warehouse_path())) as con:
        con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
        con.execute(f"""
            create table if not exists {AUDIT_SCHEMA}.load_runs (
                started_at timestamptz, load_id varchar, restaurant_guid varchar,
                restaurant_name varchar, mode varchar, orders integer, time_entries integer,
                rejects integer, status varchar, errors varchar)""")
        mode = f"business dates {dates[0]}..{dates[1]}" if dates else "incremental"
        con.executemany(
            f"insert into {AUDIT_SCHEMA}.load_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(report.started_at, load_id, loc.restaurant_guid, loc.name, mode, loc.orders,
              loc.time_entries, loc.rejects, "ok" if loc.ok else "failed",
              "\n".join(loc.errors) or None) for loc in report.locations.values()],
        )
