"""M3 as the record, end to end: an adjustment M3 refuses because its period is closed is booked
on the first open day, and a warehouse built afresh afterwards finds it there (dated later than
the day it corrects) and sends nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from tests.test_erp_record import (
    a_posted_card_order,
    held_as_not_closed,
    identity_of,
    load_build_post,
)
from tests.test_post import query, the_adjustment


@pytest.mark.parametrize("erp", ["infor"], indirect=True)
def test_an_adjustment_m3_refuses_as_closed_is_booked_today_and_found_by_a_new_warehouse(
    toast_env, warehouse, erp, tmp_path, monkeypatch
):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    load_build_post(erp)
    restaurant, order_guid, day = a_posted_card_order(warehouse)
    journal_id = f"{restaurant}:{day}:sales"
    today = date.today()
    # The accountant closed every period before today, in M3 only (GLS990).
    toast_env.erp_control("infor", "close_periods", {"through": str(today - timedelta(days=1))})

    toast_env.edit_late(restaurant, order_guid)
    report = load_build_post(erp, backfill_days=0)

    adjusted = the_adjustment(report, journal_id, warehouse, order_guid, since=as_of)
    assert (adjusted.journal_id, adjusted.posting_date) == (journal_id, today)
    assert not report.by_state("failed")
    stats = toast_env.erp_control("infor", "stats")
    assert stats["failed_transactions"] >= 1  # M3 refused the business date first
    [(key, status)] = query(
        warehouse,
        "select idempotency_key, status from closeout_posting.postings "
        "where journal_id = ? and sequence = 1",
        (journal_id,),
    )
    assert status == "posted" and key.startswith(identity_of(journal_id) + "1-")
    vouchers = toast_env.erp_control("infor", "vouchers")
    assert {v["ACDT"] for v in vouchers if v["VTXT"].startswith(key)} == {f"{today:%Y%m%d}"}

    rebuilt = tmp_path / "rebuilt" / "warehouse.duckdb"  # a lost disk: nothing remembered
    rebuilt.parent.mkdir()
    monkeypatch.setenv("CLOSEOUT_DB", str(rebuilt))
    again = load_build_post(erp)

    # Only a day whose closeout hour passed since the second run is new.
    newly_posted = {identity_of(o.journal_id) for o in again.by_state("posted")}
    assert newly_posted <= {identity_of(j) for j in held_as_not_closed(report)}
    assert not again.by_state("adjusted") and not again.by_state("failed")
    vouchers_after = toast_env.erp_control("infor", "vouchers")
    kept = [v for v in vouchers_after if not v["VTXT"].startswith(tuple(newly_posted))]
    assert len(kept) == len(vouchers) and len(vouchers_after) == len(vouchers) + len(newly_posted)
