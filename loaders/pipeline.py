"""Run the Toast load into the warehouse and record what happened."""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone

import dlt

from closeout import audit, warehouse
from closeout.errors import WarehouseError
from closeout.token_store import TokenStore, fernet_from_env
from closeout.warehouse import RAW_DATASET, state_dir, warehouse_path
from loaders.memory import bound_allocators
from loaders.toast.client import ClientOptions
from loaders.toast.order_fetch import OrderFetchProcess
from loaders.toast.order_store import OrderStore, leave_merging_to_the_store
from loaders.toast.source import LoadReport, LoadSession, toast_source, write_orders
from loaders.toast.windows import Window

log = logging.getLogger("closeout.load")

PIPELINE_NAME = "closeout_toast"
DEFAULT_COMMIT_INTERVAL_SECONDS = 0.3
# DuckDB's share of the loader's memory (its buffer pool; past it, it spills to <warehouse>.tmp).
# The loader writes batches of a few MiB, so it needs little; dbt has its own limit.
DEFAULT_LOAD_DUCKDB_MEMORY = "128MB"


@dataclass
class LoadResult:
    report: LoadReport
    load_ids: list[str]
    seconds: float
    rows: dict[str, int]  # rows written per table, over every commit of this load
    order_commits: int = 0  # transactions the orders were written in

    @property
    def load_id(self) -> str | None:
        return self.load_ids[-1] if self.load_ids else None

    @property
    def ok(self) -> bool:
        return not self.report.failed


def toast_pipeline() -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(
            credentials={
                "database": str(warehouse_path()),
                # Bounded memory: merging a large backfill spills to disk instead of growing.
                "global_config": {
                    "memory_limit": duckdb_memory_limit(),
                    "preserve_insertion_order": False,
                },
            }
        ),
        dataset_name=RAW_DATASET,
        pipelines_dir=str(state_dir() / "pipelines"),
        progress="log" if log.isEnabledFor(logging.DEBUG) else None,
    )


def duckdb_memory_limit() -> str:
    """CLOSEOUT_LOAD_DUCKDB_MEMORY, else CLOSEOUT_DUCKDB_MEMORY (its older name), else 128MB."""
    return (
        os.environ.get("CLOSEOUT_LOAD_DUCKDB_MEMORY")
        or os.environ.get("CLOSEOUT_DUCKDB_MEMORY")
        or DEFAULT_LOAD_DUCKDB_MEMORY
    )


def run_load(
    *,
    business_date_range: tuple[date, date] | None = None,
    restaurant_guids: list[str] | None = None,
    client_options: ClientOptions | None = None,
    commit_interval_seconds: float | None = None,
    **source_args,
) -> LoadResult:
    """Load Toast into the warehouse. Source settings not given here come from dlt config.

    Orders are written by a thread about every `commit_interval_seconds` while the rest are
    still being fetched, so writing to DuckDB overlaps the network, and the pipeline writes
    restaurants, configuration and time entries meanwhile. A location's watermark moves only in
    the commit that holds its last orders, so a crash part-way re-reads rather than skips.
    """
    bound_allocators()
    started = datetime.now(timezone.utc)
    session = LoadSession(
        LoadReport(started_at=started),
        commit_interval_seconds or _commit_interval(),
        order_process=OrderFetchProcess(),
    )
    orders: OrderStore | None = None
    writer: OrderWriterThread | None = None
    with warehouse.connect() as con:
        audit.ensure_tables(con)  # before this load moves a watermark (see closeout.audit)
    stopped: BaseException | None = None
    try:
        store = TokenStore(state_dir() / "tokens.enc", fernet_from_env())
        pipeline = toast_pipeline()
        orders = OrderStore(warehouse_path(), RAW_DATASET, duckdb_memory_limit())
        session.order_watermarks = orders.watermarks()
        writer = OrderWriterThread(session, orders)
        writer.start()  # writes from the moment the source below starts fetching orders
        source = toast_source(
            restaurant_guids=restaurant_guids,
            business_date_range=business_date_range,
            session=session,
            token_store=store,
            client_options=client_options,
            **{k: v for k, v in source_args.items() if v is not None},
        )
        info = pipeline.run(source)
        writer.finish()
        rows = Counter(pipeline.last_trace.last_normalize_info.row_counts)
    except BaseException as exc:
        stopped = exc
        raise
    finally:
        if writer is not None:
            writer.stop()
        session.close()
        if orders is not None:
            orders.close()
        if stopped is not None:
            # Whatever stopped the load, its locations did not finish: recorded as failed, so
            # their days are held until a load completes (ACCOUNTING.md, "When a day may be
            # posted"). After the order store closed its connection to the file.
            _record_stopped(session.report, business_date_range, stopped)
    rows["orders"] += sum(loc.orders for loc in session.report.locations.values())
    seconds = (datetime.now(timezone.utc) - started).total_seconds()
    load_id = f"{started.timestamp():.6f}"  # the form dbt derives from extracted_at
    result = LoadResult(
        session.report,
        [*info.loads_ids, load_id],
        seconds,
        {table: n for table, n in rows.items() if not table.startswith("_dlt")},
        orders.commits,
    )
    plans = session.context.feed.plans if session.context and session.context.feed else {}
    _record(session.report, load_id, business_date_range, plans)
    return result


class OrderWriterThread(threading.Thread):
    """`write_orders` beside the pipeline run; its failure is the load's failure."""

    def __init__(self, session: LoadSession, store: OrderStore):
        super().__init__(name="order-writer", daemon=True)
        self._session, self._store = session, store
        self._stop_event = threading.Event()
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            write_orders(self._session, self._store, self._stop_event)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self._error = exc

    def finish(self) -> None:
        """Wait for every order to be written; raise what stopped the writer."""
        self.join()
        if self._error is not None:
            raise WarehouseError(
                f"writing orders to {warehouse_path()} failed: {self._error}"
            ) from self._error

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _commit_interval() -> float:
    return float(
        dlt.config.get("sources.toast.commit_interval_seconds", float)
        or DEFAULT_COMMIT_INTERVAL_SECONDS
    )


# Raw tables dbt reads that a load may never write: a group that does not use Toast's time
# clock. (The order writer creates its own tables, orders among them.) Created empty, with
# the columns and types dlt itself creates, so dbt can build and a later load writes into
# them unchanged.
RAW_TABLES_MAYBE_EMPTY = {
    "time_entries": """restaurant_guid varchar not null, time_entry_guid varchar not null,
        business_date date, modified_at timestamptz, extracted_at timestamptz,
        entry_json varchar, _dlt_load_id varchar not null, _dlt_id varchar not null""",
}


def _record(report: LoadReport, load_id: str | None, dates, plans: dict[str, list[Window]]) -> None:
    """closeout_audit.load_runs: one row per location and run, for operators, analysts and the
    rule that a location whose last load failed posts nothing. closeout_audit.load_coverage:
    what each location that finished read, from which dbt tells the days fully loaded."""
    with warehouse.connect() as con:
        leave_merging_to_the_store(con)  # the store merged a large load's row groups itself
        con.execute(f"create schema if not exists {RAW_DATASET}")
        for table, columns in RAW_TABLES_MAYBE_EMPTY.items():
            con.execute(f"create table if not exists {RAW_DATASET}.{table} ({columns})")
        audit.ensure_tables(con)
        mode = f"business dates {dates[0]}..{dates[1]}" if dates else "incremental"
        con.executemany(
            f"insert into {audit.AUDIT_SCHEMA}.load_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    report.started_at,
                    load_id,
                    loc.restaurant_guid,
                    loc.name,
                    mode,
                    loc.orders,
                    loc.time_entries,
                    loc.rejects,
                    "ok" if loc.ok else "failed",
                    "\n".join(loc.errors) or None,
                )
                for loc in report.locations.values()
            ],
        )
        coverage = [
            (
                guid,
                load_id,
                report.started_at,
                window.business_date,
                window.start,
                window.end,
            )
            for guid, windows in plans.items()
            if report.location(guid).ok
            for window in windows
        ]
        if coverage:
            con.executemany(
                f"insert into {audit.AUDIT_SCHEMA}.load_coverage values (?, ?, ?, ?, ?, ?)",
                coverage,
            )


def _record_stopped(report: LoadReport, dates, exc: BaseException) -> None:
    """The load stopped part-way: every location it had started is recorded as failed (none of
    its coverage counts). Best effort: the warehouse itself may be what failed."""
    reason = str(exc) or type(exc).__name__
    for loc in report.locations.values():
        loc.errors.append(f"the load stopped part-way: {reason}")
    try:
        _record(report, None, dates, {})
    except Exception:  # noqa: BLE001 - the original error is the one to report
        log.debug("could not record the stopped load", exc_info=True)
