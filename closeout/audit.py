"""The closeout_audit tables that say what the loads and builds did, and so which days may post.

    load_runs       one row per location and load: mode, counts, ok / failed, the errors
    load_coverage   what a load of a location that finished read: a business date (read at
                    read_at), or a modified-time window [modified_from, modified_to). dbt works
                    out from it which days' orders are all in the warehouse
                    (models/intermediate/loading/int_days_loaded.sql).
    build_runs      one row per `closeout build`: whether its structural tests passed; posting
                    reads the marts only after a build that passed.
    service_runs    one row per cycle of `closeout serve`: what started it, the locations and
                    webhook events it took, each stage's seconds, what it posted, held and
                    failed, and its outcome (the finance page's "last runs").

They are created by the first load or build that needs them, so dbt can read them as sources
on any warehouse. A warehouse loaded before load_coverage existed has its order watermarks
(everything modified before them was read) written into it once, as the coverage they stood for.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from closeout.warehouse import RAW_DATASET

AUDIT_SCHEMA = "closeout_audit"
LOAD_RUNS_COLUMNS = """started_at timestamptz, load_id varchar, restaurant_guid varchar,
    restaurant_name varchar, mode varchar, orders integer, time_entries integer,
    rejects integer, status varchar, errors varchar"""
LOAD_COVERAGE_COLUMNS = """restaurant_guid varchar not null, load_id varchar,
    read_at timestamptz not null, business_date date, modified_from timestamptz,
    modified_to timestamptz"""
BUILD_RUNS_COLUMNS = """finished_at timestamptz not null, ok boolean not null,
    failed_tests varchar"""
SERVICE_RUNS_COLUMNS = """started_at timestamptz not null, finished_at timestamptz not null,
    trigger varchar not null, locations integer not null, events_applied integer not null,
    orders_loaded integer not null, load_seconds double, build_seconds double,
    post_seconds double, posted integer not null, held integer not null,
    failed integer not null, outcome varchar not null, message varchar"""
# The start of coverage a pre-existing watermark stands for: every order modified before it.
EARLIEST = datetime(1970, 1, 1).astimezone()


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the audit tables that are missing; migrate old watermarks into coverage."""
    con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    con.execute(f"create table if not exists {AUDIT_SCHEMA}.load_runs ({LOAD_RUNS_COLUMNS})")
    con.execute(f"create table if not exists {AUDIT_SCHEMA}.build_runs ({BUILD_RUNS_COLUMNS})")
    con.execute(f"create table if not exists {AUDIT_SCHEMA}.service_runs ({SERVICE_RUNS_COLUMNS})")
    if not _exists(con, AUDIT_SCHEMA, "load_coverage"):
        con.execute(f"create table {AUDIT_SCHEMA}.load_coverage ({LOAD_COVERAGE_COLUMNS})")
        if _exists(con, RAW_DATASET, "order_watermarks"):
            con.execute(
                f"""insert into {AUDIT_SCHEMA}.load_coverage
                select restaurant_guid, 'watermark', modified_through, null, ?, modified_through
                from {RAW_DATASET}.order_watermarks""",
                [EARLIEST],
            )


def record_build(con: duckdb.DuckDBPyConnection, ok: bool, failed_tests: list[str]) -> None:
    ensure_tables(con)
    con.execute(
        f"insert into {AUDIT_SCHEMA}.build_runs values (current_timestamp, ?, ?)",
        [ok, ", ".join(failed_tests) or None],
    )


def last_build(con: duckdb.DuckDBPyConnection) -> tuple[datetime, bool, str | None] | None:
    """(finished_at, ok, failed tests) of the newest build, None before the first."""
    if not _exists(con, AUDIT_SCHEMA, "build_runs"):
        return None
    return con.execute(
        f"select finished_at, ok, failed_tests from {AUDIT_SCHEMA}.build_runs "
        "order by finished_at desc, rowid desc limit 1"
    ).fetchone()


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )
