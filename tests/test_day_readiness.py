"""ACCOUNTING.md "When a day may be posted", end to end: real loads from the Toast sandbox,
real `dbt build`, and a real post refused after a failed build. Each hold names its fix and the
load (or build) that makes the fix releases it."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from cli.main import main
from loaders.pipeline import run_load
from loaders.toast.client import ClientOptions
from transform import build as transform

# Closed, settled, and not loaded by the other test modules' days.
DAY = (datetime.now(timezone.utc) - timedelta(days=45)).date()
FAST_RETRIES = ClientOptions(attempts=2, backoff_initial=0.01, backoff_max=0.02)


def journals(db: Path, restaurant: str | None = None) -> dict[tuple, tuple[str, str]]:
    """(restaurant, business date, journal type) -> (status, hold reasons)."""
    sql = "select restaurant_guid, business_date, journal_type, status, hold_reasons "
    sql += "from finance.journals"
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    return {
        (guid, day, kind): (status, reasons)
        for guid, day, kind, status, reasons in rows
        if restaurant in (None, guid)
    }


def build_ok() -> None:
    result = transform.run_build(quiet=True)
    assert result.ok, [f"{p.name}: {p.message}" for p in result.errors]


def test_a_backfill_holds_the_later_days_it_only_saw_payments_of_until_they_are_loaded(
    toast_env, warehouse
):
    toast_env.freeze(datetime.now(timezone.utc))
    assert run_load(business_date_range=(DAY - timedelta(days=2), DAY)).ok
    build_ok()

    found = journals(warehouse)
    later = {key: value for key, value in found.items() if key[1] > DAY and key[2] == "sales"}
    # open checks paid the next day, refunds: the sandbox's orders reach past their own day
    assert later, "the backfilled days' orders have no later payment or refund"
    for (_, day, _), (status, reasons) in later.items():
        assert status == "held"
        assert "not loaded: no load has read the orders of this day" in reasons
        assert f"closeout load --from {day} --to {day}" in reasons
    loaded = [reasons for key, (_, reasons) in found.items() if key[1] <= DAY]
    assert loaded and not any("loaded" in reasons for reasons in loaded)

    restaurant, day, _ = min(later)
    assert run_load(business_date_range=(day, day), restaurant_guids=[restaurant]).ok
    build_ok()

    _, reasons = journals(warehouse)[(restaurant, day, "sales")]
    assert "not loaded" not in reasons


def test_a_location_whose_last_load_failed_part_way_posts_nothing_until_a_load_completes(
    toast_env, warehouse
):
    toast_env.freeze(datetime.now(timezone.utc))
    broken, whole = toast_env.restaurants[:2]
    first_days = (DAY - timedelta(days=1), DAY)
    assert run_load(business_date_range=first_days).ok
    # the next load reads broken's first day, then Toast keeps failing it
    toast_env.fault(
        kind="status", status=500, path="/orders/v2/ordersBulk", restaurant=broken, skip=1, times=-1
    )
    failed = run_load(business_date_range=first_days, client_options=FAST_RETRIES)
    assert [loc.restaurant_guid for loc in failed.report.failed] == [broken]
    build_ok()

    held = journals(warehouse, broken)
    assert held and all(status == "held" for status, _ in held.values())
    assert all("the last load of this location" in reasons for _, reasons in held.values())
    assert all("500" in reasons and "closeout load" in reasons for _, reasons in held.values())
    assert not any("last load" in reasons for _, reasons in journals(warehouse, whole).values())

    toast_env.control("reset")
    toast_env.freeze(datetime.now(timezone.utc))
    assert run_load(business_date_range=first_days, restaurant_guids=[broken]).ok
    build_ok()

    assert not any("last load" in reasons for _, reasons in journals(warehouse, broken).values())


def test_a_rejected_order_holds_its_day_naming_it_until_the_day_is_read_cleanly(
    toast_env, warehouse
):
    toast_env.freeze(datetime.now(timezone.utc))
    restaurant = toast_env.restaurants[0]
    toast_env.fault(
        kind="malformed_order",
        field="businessDate",
        path="/orders/v2/ordersBulk",
        restaurant=restaurant,
        skip=1,  # the second day's first page
    )
    result = run_load(business_date_range=(DAY - timedelta(days=1), DAY))
    assert result.ok and result.report.locations[restaurant].rejects == 1
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (rejected_guid,) = con.execute("select record_guid from toast_raw.rejects").fetchone()
    build_ok()

    status, reasons = journals(warehouse)[(restaurant, DAY, "sales")]
    assert status == "held"
    assert f"rejected by the loader and are not in it: {rejected_guid}" in reasons
    assert f"closeout load --from {DAY} --to {DAY}" in reasons
    _, other_day = journals(warehouse)[(restaurant, DAY - timedelta(days=1), "sales")]
    assert "rejected" not in other_day

    toast_env.control("reset")  # Toast sends the order readable again
    toast_env.freeze(datetime.now(timezone.utc))
    assert run_load(business_date_range=(DAY, DAY), restaurant_guids=[restaurant]).ok
    build_ok()

    _, reasons = journals(warehouse)[(restaurant, DAY, "sales")]
    assert "rejected" not in reasons


@pytest.mark.parametrize(
    ("seed", "failed_test"),
    [("chart_of_accounts.csv", "chart_of_accounts"), ("locations.csv", "unique_locations")],
)
def test_nothing_posts_after_a_build_that_failed_a_structural_test(
    toast_env, warehouse, seeds_copy, monkeypatch, seed, failed_test
):
    erp = "freshbooks"
    toast_env.erp_control(erp, "reset")
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    toast_env.freeze(datetime.now(timezone.utc))
    assert run_load(business_date_range=(DAY, DAY)).ok
    # a row pasted twice (an account, a location): a structural test fails the build; a
    # doubled location once doubled its journals in the ERP
    chart = seeds_copy / "seeds" / seed
    rows = list(csv.reader(chart.open()))
    with chart.open("a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(rows[1])
    assert not transform.run_build(quiet=True).ok

    refused = CliRunner().invoke(main, ["post", "--erp", erp])

    assert refused.exit_code == 1
    assert "nothing posted: the last build" in refused.output
    assert failed_test in refused.output  # names the test that failed
    assert "closeout build" in refused.output and "Traceback" not in refused.output
    assert sum(toast_env.erp_control(erp, "stats")["requests"].values()) == 0

    with chart.open("w", newline="") as handle:  # fixed: the build passes and the day posts
        csv.writer(handle, lineterminator="\n").writerows(rows)
    build_ok()
    posted = CliRunner().invoke(main, ["post", "--erp", erp])

    assert posted.exit_code in (0, 1), posted.output  # 1 when something is held
    assert "nothing posted" not in posted.output
    assert sum(toast_env.erp_control(erp, "stats")["requests"].values()) > 0
