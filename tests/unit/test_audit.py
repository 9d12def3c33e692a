"""closeout.audit on a bare DuckDB file: the tables, the watermark migration, the last build."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb

from closeout import audit


def test_a_warehouse_loaded_before_coverage_keeps_its_loaded_days(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    through = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
    con.execute("create schema toast_raw")
    con.execute(
        "create table toast_raw.order_watermarks (restaurant_guid varchar primary key, "
        "modified_through timestamptz not null, committed_at timestamptz not null)"
    )
    con.execute("insert into toast_raw.order_watermarks values ('r1', ?, ?)", [through, through])

    audit.ensure_tables(con)
    audit.ensure_tables(con)  # the next run: migrated once, not again

    rows = con.execute(
        "select restaurant_guid, business_date, modified_from, modified_to "
        "from closeout_audit.load_coverage"
    ).fetchall()
    assert rows == [("r1", None, audit.EARLIEST, through)]


def test_the_last_build_is_the_newest_and_none_before_the_first(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert audit.last_build(con) is None

    audit.record_build(con, False, ["assert_journals_balance"])
    assert audit.last_build(con)[1:] == (False, "assert_journals_balance")
    audit.record_build(con, True, [])
    assert audit.last_build(con)[1:] == (True, None)
