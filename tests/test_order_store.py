"""The order store on a real DuckDB file: the newer version of an order wins, nothing doubles,
and a location's watermark is committed with its orders."""

import json
from datetime import datetime, timezone

import duckdb

from loaders.pipeline import run_load
from loaders.toast import order_store
from loaders.toast.order_store import OrderStore
from loaders.toast.orders import ParsedPage, parse_page

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def page(*orders: tuple[str, str, int], padding: str = "") -> ParsedPage:
    """(order guid, modifiedDate, total) per order, as one ordersBulk page of restaurant r-1
    (each order's JSON longer by `padding`)."""
    body = json.dumps(
        [
            {
                "guid": guid,
                "businessDate": 20261119,
                "openedDate": "2026-11-19T18:00:00.000+0000",
                "modifiedDate": modified,
                "checks": [{"totalAmount": total, "comment": padding}],
            }
            for guid, modified, total in orders
        ]
    )
    return parse_page(body.encode(), "r-1", "ordersBulk", NOW)


def stored(path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select order_guid, order_json from toast_raw.orders").fetchall()
    assert len(rows) == len({guid for guid, _ in rows})
    return {guid: json.loads(text)["checks"][0]["totalAmount"] for guid, text in rows}


def row_groups(path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select count(distinct row_group_id) from pragma_storage_info('toast_raw.orders')"
        ).fetchone()[0]


def test_newer_versions_replace_older_ones_and_a_stale_copy_never_does(tmp_path):
    path = tmp_path / "w.duckdb"
    store = OrderStore(path, "toast_raw", "256MB")
    store.write(
        [
            page(
                ("o-1", "2026-11-19T20:00:00.000+0000", 10),
                ("o-2", "2026-11-19T20:00:00.000+0000", 20),
            )
        ],
        {},
        NOW,
    )
    store.write(
        [
            page(
                ("o-1", "2026-11-20T09:00:00.000+0000", 11),  # edited later
                ("o-2", "2026-11-19T19:00:00.000+0000", 19),
            )
        ],
        {},
        NOW,
    )  # stale copy
    store.close()
    assert stored(path) == {"o-1": 11, "o-2": 20}


def test_an_order_read_twice_in_one_commit_keeps_its_latest_version(tmp_path):
    path = tmp_path / "w.duckdb"
    store = OrderStore(path, "toast_raw", "256MB")
    store.write(
        [
            page(("o-1", "2026-11-19T21:00:00.000+0000", 12)),
            page(
                ("o-1", "2026-11-19T20:00:00.000+0000", 10),
                ("o-3", "2026-11-19T20:00:00.000+0000", 30),
            ),
        ],
        {},
        NOW,
    )
    store.close()
    assert stored(path) == {"o-1": 12, "o-3": 30}


def test_a_reread_larger_than_the_memory_limit_replaces_every_order(tmp_path):
    """A day re-read in one commit, its JSON several times DuckDB's memory limit: the
    replacement compares keys only, so it neither runs out of memory nor leaves a copy."""
    path = tmp_path / "w.duckdb"
    store = OrderStore(path, "toast_raw", "32MB")
    guids = [f"o-{n}" for n in range(20_000)]
    padding = "x" * 3_000  # 20,000 orders of ~3 kB: 60 MB of JSON a read
    for modified, total in (
        ("2026-11-19T20:00:00.000+0000", 1),
        ("2026-11-20T08:00:00.000+0000", 2),
    ):
        store.write([page(*((g, modified, total) for g in guids), padding=padding)], {}, NOW)
    store.close()
    assert stored(path) == dict.fromkeys(guids, 2)


def test_the_loads_checkpoints_leave_full_row_groups_once_the_store_closes(tmp_path):
    """The load's checkpoints skip DuckDB's vacuum, so each leaves a row group of its own; past
    MERGE_AT_CLOSE_BYTES the last one merges them, or later scans walk a night of fragments."""
    path = tmp_path / "w.duckdb"
    store = OrderStore(path, "toast_raw", "64MB")
    padding = "x" * 3_000  # 12,000 orders of ~3 kB a commit: past CHECKPOINT_BYTES each time
    for commit in range(10):  # 360 MB: past MERGE_AT_CLOSE_BYTES
        guids = (f"o-{commit}-{n}" for n in range(12_000))
        modified = "2026-11-19T20:00:00.000+0000"
        store.write([page(*((g, modified, 1) for g in guids), padding=padding)], {}, NOW)
    store.close()
    assert len(stored(path)) == 120_000
    assert row_groups(path) == 1


def test_a_small_loads_row_groups_are_merged_after_the_load_not_at_its_end(
    toast_env, warehouse, monkeypatch
):
    """Below MERGE_AT_CLOSE_BYTES nothing the load opens merges its row groups: the checkpoint
    of its audit records did, 0.9 s at the end of a 200 MB rate-limited day. The next
    checkpoint that vacuums (the build's) merges them."""
    monkeypatch.setattr(order_store, "CHECKPOINT_BYTES", 1)  # each commit checkpointed
    result = run_load(backfill_days=3, lag_minutes=0, commit_interval_seconds=0.01)
    assert result.ok and result.order_commits > 1
    assert row_groups(warehouse) > 1
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table main.later_write as select 1 as x")
    assert row_groups(warehouse) == 1


def test_watermarks_are_committed_with_the_orders_and_read_back(tmp_path):
    path = tmp_path / "w.duckdb"
    store = OrderStore(path, "toast_raw", "256MB")
    store.write([page(("o-1", "2026-11-19T20:00:00.000+0000", 10))], {"r-1": NOW}, NOW)
    store.close()
    reopened = OrderStore(path, "toast_raw", "256MB")
    assert reopened.watermarks() == {"r-1": NOW.isoformat()}
    reopened.close()


def test_a_database_that_has_spilled_still_opens_for_the_store_and_for_dlt(tmp_path, monkeypatch):
    """DuckDB refuses every SET temp_directory once a connection to the database has spilled,
    so neither the store nor dlt's connections (opened again during a load) may set it."""
    from loaders.pipeline import RAW_DATASET, toast_pipeline

    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("CLOSEOUT_DB", str(path))
    spilling = duckdb.connect(str(path))
    spilling.execute("set memory_limit = '48MB'; set threads = 1")
    spilling.execute(
        "create table spilled as select i, md5(i::varchar) as h from range(2000000) t(i) order by h"
    )
    assert (tmp_path / "w.duckdb.tmp").exists()  # it did spill

    store = OrderStore(path, RAW_DATASET, "64MB")
    store.write([page(("o-1", "2026-11-19T19:00:00.000+0000", 5))], {}, NOW)
    with toast_pipeline().sql_client() as client:
        assert client.execute_sql("select count(*) from toast_raw.orders") == [(1,)]
    store.close()
    spilling.close()
