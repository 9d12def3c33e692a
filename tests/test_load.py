"""The Toast loader against the sandbox, over real HTTP, into a real DuckDB file."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb
import httpx
import pytest
from click.testing import CliRunner

from cli.main import main
from loaders.pipeline import run_load
from loaders.toast.client import ClientOptions, ToastClient
from loaders.toast.windows import toast_format
from sandboxes.toast.data import ToastDataset

FAST_RETRIES = ClientOptions(attempts=3, backoff_initial=0.01, backoff_max=0.05)


def sandbox_data(toast) -> ToastDataset:
    """An identical copy of the sandbox's dataset, to know what it serves."""
    return ToastDataset(
        seed=toast.seed,
        location_count=toast.locations,
        orders_per_day=toast.orders_per_day,
        history_days=120,
    )


# The sandbox's locations (seed 7), written out: time zone and Toast closeoutHour (local).
CLOSEOUTS = {
    "b601e100-26a6-4cf6-ad6c-b2705d1213bc": ("America/New_York", 4),
    "49e1ee43-2077-447d-a8c1-7e8e0e8a68b8": ("America/Chicago", 3),
    "1aab5d94-b583-49da-9099-b05aa665d3c7": ("America/Los_Angeles", 5),
    "9090c145-2597-47e3-8432-8c7a7aa49e3b": ("America/Denver", 2),
    "d98d03b1-78c2-4e60-92a3-e2785ea044af": ("America/Phoenix", 0),
}


def business_today(loc, as_of: datetime) -> date:
    """The business date in progress at `as_of`, worked out here rather than by the loader's
    `current_business_date`: before the closeout hour, local time, it is still yesterday's."""
    time_zone, closeout_hour = CLOSEOUTS[loc.guid]
    assert (loc.time_zone, loc.closeout_hour) == (time_zone, closeout_hour)
    local = as_of.astimezone(ZoneInfo(time_zone))
    return local.date() - timedelta(days=1 if local.hour < closeout_hour else 0)


def expected_orders(toast, as_of: datetime, days: int) -> dict[str, int]:
    data = sandbox_data(toast)
    expected = {}
    for loc in data.locations:
        today = business_today(loc, as_of)
        expected[loc.guid] = sum(
            len(
                data.orders_by_business_date(
                    loc.guid, int((today - timedelta(n)).strftime("%Y%m%d")), as_of=as_of
                )
            )
            for n in range(days)
        )
    return expected


def warehouse_orders(db) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(
            con.execute(
                "select restaurant_guid, count(*) from toast_raw.orders group by 1"
            ).fetchall()
        )


def duplicate_orders(db) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        (count,) = con.execute("""
            select count(*) from (select restaurant_guid, order_guid
            from toast_raw.orders group by all having count(*) > 1)""").fetchone()
    return count


def test_first_load_backfills_and_second_load_reads_only_the_modified_window(toast_env, warehouse):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)

    first = run_load(backfill_days=3, lag_minutes=0)

    assert first.ok, first.report.failed
    expected = expected_orders(toast_env, as_of, days=3)
    assert warehouse_orders(warehouse) == expected
    assert sum(expected.values()) > 100
    assert duplicate_orders(warehouse) == 0
    queried = {q["businessDate"] for q in toast_env.stats()["order_queries"]}
    assert len(queried) >= 3  # one business date query per backfilled day

    toast_env.control("reset")
    second = run_load(backfill_days=3, lag_minutes=0)

    assert second.ok
    assert second.rows.get("orders", 0) == 0
    assert warehouse_orders(warehouse) == expected
    queries = toast_env.stats()["order_queries"]
    assert {q["restaurant"] for q in queries} == set(toast_env.restaurants)
    assert {q["startDate"] for q in queries} == {toast_format(first.report.started_at)}
    assert all("businessDate" not in q for q in queries)


def test_late_edit_is_picked_up_by_the_modified_window(toast_env, warehouse):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    assert run_load(backfill_days=2, lag_minutes=0).ok
    restaurant = toast_env.restaurants[0]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        order_guid, business_day, before = con.execute(
            """
            select order_guid, business_date, order_json from toast_raw.orders
            where restaurant_guid = ? and not (order_json::json->>'voided')::boolean
              and business_date < ? order by order_guid limit 1""",
            [restaurant, as_of.date()],
        ).fetchone()

    edit_at = toast_env.edit_late(restaurant, order_guid)
    assert run_load(lag_minutes=0).ok

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """select business_date, modified_at, order_json from toast_raw.orders
                              where restaurant_guid = ? and order_guid = ?""",
            [restaurant, order_guid],
        ).fetchall()
    assert len(rows) == 1
    day, modified_at, after = rows[0]
    assert day == business_day  # the business date does not move
    assert abs(modified_at - edit_at) < timedelta(seconds=1)
    assert after != before
    assert duplicate_orders(warehouse) == 0


def test_one_token_for_all_locations_and_reused_by_the_next_run(toast_env, warehouse, monkeypatch):
    from cryptography.fernet import Fernet, InvalidToken

    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    toast_env.freeze(datetime.now(timezone.utc))
    assert run_load(backfill_days=1).ok
    assert run_load(backfill_days=1).ok

    stats = toast_env.stats()
    assert stats["logins"] == 1
    assert set(stats["by_restaurant"]) == set(toast_env.restaurants)
    token_file = warehouse.parent / ".closeout" / "tokens.enc"
    # Encrypted with the run's key: it opens with that key only, and the access token in it
    # (a JWT of some hundreds of characters, which random ciphertext cannot contain by chance,
    # unlike three bytes such as "eyJ") does not appear in the file as written.
    stored = token_file.read_bytes()
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(stored)
    [entry] = json.loads(Fernet(os.environ["CLOSEOUT_SECRET_KEY"]).decrypt(stored)).values()
    assert len(entry["token"]) >= 100 and entry["token"].startswith("eyJ")
    assert entry["token"].encode() not in stored


def test_rate_limit_pacing_avoids_429s(toast_env, warehouse):
    as_of = datetime.now(timezone.utc)
    toast_env.freeze(as_of)
    # 40 orders a day in pages of 5: about 25 ordersBulk calls per location, against 5/s.
    result = run_load(backfill_days=3, page_size=5)
    assert result.ok
    stats = toast_env.stats()
    data = sandbox_data(toast_env)
    pages = 0
    for loc in data.locations:
        today = business_today(loc, as_of)
        for n in range(3):
            day = int((today - timedelta(n)).strftime("%Y%m%d"))
            pages += max(1, -(-len(data.orders_by_business_date(loc.guid, day, as_of=as_of)) // 5))
    assert pages >= 50
    # every page once, plus at most 3 asked for past the last page of each location and day
    assert (
        pages <= stats["requests"]["/orders/v2/ordersBulk"] <= pages + 3 * 3 * len(data.locations)
    )
    assert stats["throttled"] == 0


def test_429_and_5xx_and_dropped_connections_are_retried(toast_env, warehouse):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    first, second = toast_env.restaurants[:2]
    toast_env.fault(
        kind="status", status=429, path="/orders/v2/ordersBulk", restaurant=first, times=2
    )
    toast_env.fault(
        kind="status", status=503, path="/orders/v2/ordersBulk", restaurant=second, times=2, skip=1
    )
    toast_env.fault(kind="drop", path="/config/v2/taxRates", restaurant=second)

    result = run_load(backfill_days=2, client_options=FAST_RETRIES)

    assert result.ok, result.report.failed
    assert toast_env.stats()["faults_fired"] == 5
    assert warehouse_orders(warehouse) == expected_orders(toast_env, as_of, days=2)


def test_malformed_orders_reach_the_rejects_table_and_the_rest_loads(toast_env, warehouse):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    restaurant = toast_env.restaurants[0]
    toast_env.fault(
        kind="malformed_order", field="guid", path="/orders/v2/ordersBulk", restaurant=restaurant
    )
    toast_env.fault(
        kind="malformed_order",
        field="businessDate",
        path="/orders/v2/ordersBulk",
        restaurant=restaurant,
        skip=1,
    )
    # both on the second day's page: the last day may still be empty at this hour
    toast_env.fault(
        kind="unparseable_order", path="/orders/v2/ordersBulk", restaurant=restaurant, skip=1
    )
    toast_env.fault(
        kind="malformed_order",
        field="encoding",
        path="/orders/v2/ordersBulk",
        restaurant=restaurant,
    )

    result = run_load(backfill_days=3)

    assert result.ok
    assert result.report.locations[restaurant].rejects == 4
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rejects = con.execute(
            "select reason, raw_text, source_url from toast_raw.rejects "
            "where restaurant_guid = ? order by reason",
            [restaurant],
        ).fetchall()
    reasons = " | ".join(r[0] for r in rejects)
    assert len(rejects) == 4
    assert "no guid" in reasons and "invalid businessDate 20261345" in reasons
    assert "unparseable JSON" in reasons and "not valid UTF-8" in reasons
    assert all(raw.startswith("{") and "ordersBulk" in url for _, raw, url in rejects)
    expected = expected_orders(toast_env, as_of, days=3)
    loaded = warehouse_orders(warehouse)
    assert loaded[restaurant] == expected[restaurant] - 4
    others = [guid for guid in toast_env.restaurants if guid != restaurant]
    assert all(loaded[guid] == expected[guid] for guid in others)


def test_a_failing_location_does_not_stop_the_others_and_resumes_next_run(toast_env, warehouse):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    broken = toast_env.restaurants[1]
    toast_env.fault(
        kind="status", status=500, path="/orders/v2/ordersBulk", restaurant=broken, times=-1
    )

    # lag 0: a late edit to an older day inside the lag window would (rightly) be loaded too
    first = run_load(backfill_days=2, lag_minutes=0, client_options=FAST_RETRIES)

    assert not first.ok
    assert [loc.restaurant_guid for loc in first.report.failed] == [broken]
    assert "500" in first.report.locations[broken].errors[0]
    expected = expected_orders(toast_env, as_of, days=2)
    loaded = warehouse_orders(warehouse)
    assert broken not in loaded
    assert all(loaded[guid] == expected[guid] for guid in toast_env.restaurants if guid != broken)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        status = dict(
            con.execute("select restaurant_guid, status from closeout_audit.load_runs").fetchall()
        )
    assert status[broken] == "failed"

    toast_env.control("reset")
    toast_env.freeze(as_of)  # reset makes the clock live again: newer orders would count
    second = run_load(backfill_days=2, lag_minutes=0, client_options=FAST_RETRIES)

    assert second.ok
    assert warehouse_orders(warehouse) == expected
    resumed = [q for q in toast_env.stats()["order_queries"] if q["restaurant"] == broken]
    assert resumed and all("businessDate" in q for q in resumed)  # backfilled, not skipped


def test_a_killed_order_fetch_process_fails_its_locations_and_the_next_run_resumes(
    toast_env, warehouse
):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    held = toast_env.restaurants[0]
    # One page of one location is answered late, so the process is killed with it in flight.
    toast_env.fault(kind="slow", seconds=5, path="/orders/v2/ordersBulk", restaurant=held)
    killed: list[int] = []

    def kill_the_fetch_process_once_the_slow_page_is_asked_for() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not toast_env.stats()["faults_fired"]:
            time.sleep(0.05)
        for child in multiprocessing.active_children():
            if child.name == "closeout-order-fetch":
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)

    killer = threading.Thread(target=kill_the_fetch_process_once_the_slow_page_is_asked_for)
    killer.start()
    first = run_load(backfill_days=2, lag_minutes=0)
    killer.join()

    assert len(killed) == 1
    assert not first.ok
    failed = {loc.restaurant_guid: loc.errors for loc in first.report.failed}
    assert held in failed
    assert all(
        "order-fetch process ended unexpectedly (exit code -9)" in errors[0]
        for errors in failed.values()
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        watermarked = {
            row[0]
            for row in con.execute(
                "select restaurant_guid from toast_raw.order_watermarks"
            ).fetchall()
        }
    assert held not in watermarked and watermarked.isdisjoint(failed)

    toast_env.control("reset")
    toast_env.freeze(as_of)
    second = run_load(backfill_days=2, lag_minutes=0)

    assert second.ok
    assert warehouse_orders(warehouse) == expected_orders(toast_env, as_of, days=2)
    assert duplicate_orders(warehouse) == 0


def test_cli_load_explicit_business_dates(toast_env, warehouse):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    day = (as_of - timedelta(days=10)).date()

    result = CliRunner().invoke(
        main, ["load", "--from", day.isoformat(), "--to", (day + timedelta(days=1)).isoformat()]
    )

    assert result.exit_code == 0, result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        days = {
            d
            for (d,) in con.execute(
                "select distinct business_date from toast_raw.orders"
            ).fetchall()
        }
        restaurants = con.execute("select count(*) from toast_raw.restaurants").fetchone()[0]
        config = dict(
            con.execute(
                "select entity, count(*) from toast_raw.config_records group by 1"
            ).fetchall()
        )
        entries = con.execute("select count(*) from toast_raw.time_entries").fetchone()[0]
    assert days == {day, day + timedelta(days=1)}
    assert restaurants == 3
    assert {
        "revenueCenters",
        "salesCategories",
        "diningOptions",
        "serviceCharges",
        "discounts",
        "alternatePaymentTypes",
        "taxRates",
        "jobs",
    } <= set(config)
    assert entries > 0
    for guid in toast_env.restaurants:
        assert guid in result.output


def test_cli_reports_bad_credentials_with_the_fix(toast_env, warehouse, monkeypatch):
    monkeypatch.setenv("SOURCES__TOAST__CLIENT_SECRET", "wrong")
    result = CliRunner().invoke(main, ["load", "--from", "2026-01-05"])
    assert result.exit_code == 1
    assert "refused the client credentials" in result.output
    assert "SOURCES__TOAST__CLIENT_SECRET" in result.output
    assert "wrong" not in result.output


def test_a_day_without_orders_leaves_empty_tables_a_later_load_fills(toast_env, warehouse):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    before_history = (as_of - timedelta(days=5 * 365)).date()
    assert run_load(business_date_range=(before_history, before_history)).ok
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = con.execute(
            "select (select count(*) from toast_raw.orders), "
            "(select count(*) from toast_raw.time_entries)"
        ).fetchone()
    assert counts == (0, 0)  # the tables dbt reads exist, empty

    assert run_load(backfill_days=2).ok
    assert warehouse_orders(warehouse) == expected_orders(toast_env, as_of, days=2)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        entries = con.execute(
            "select count(*), count(_dlt_load_id) from toast_raw.time_entries"
        ).fetchone()
    assert entries[0] > 0 and entries[0] == entries[1]


def test_a_configuration_publish_mid_paging_restarts_that_entity_from_page_one(
    toast_env, warehouse
):
    toast_env.freeze(datetime.now(timezone.utc) - timedelta(seconds=5))
    toast_env.control("config_page_size", {"size": 2})
    first = toast_env.restaurants[0]
    toast_env.fault(kind="publish_config", path="/config/v2/discounts", restaurant=first)

    result = run_load(backfill_days=1)

    assert result.ok, result.report.failed  # the location loads, no run later needed
    stats = toast_env.stats()
    assert (stats["config_publishes"], stats["faults_fired"]) == (1, 1)
    data = sandbox_data(toast_env)
    pages = -(-len(data.config(first, "discounts")) // 2)
    assert pages >= 3
    # every location reads its pages once; the first reads page 1, gets 409 on page 2 and
    # reads all its pages again from page 1
    assert stats["requests"]["/config/v2/discounts"] == 3 * pages + 2
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute(
            "select guid from toast_raw.config_records where restaurant_guid = ? "
            "and entity = 'discounts' order by guid",
            [first],
        ).fetchall()
    assert [g for (g,) in stored] == sorted(d["guid"] for d in data.config(first, "discounts"))


def test_config_records_after_a_409_are_every_record_once_read_from_page_one(toast_env):
    toast_env.control("rate_limits", {"enabled": False})
    toast_env.control("config_page_size", {"size": 2})
    restaurant = toast_env.restaurants[1]
    toast_env.fault(
        kind="publish_config", path="/config/v2/taxRates", restaurant=restaurant, skip=2
    )
    client = ToastClient(toast_env.url, toast_env.client_id, toast_env.client_secret)
    sent: list[httpx.URL] = []
    client.http.event_hooks["request"] = [lambda request: sent.append(request.url)]
    try:
        records = client.config_records("taxRates", restaurant)
    finally:
        client.close()

    expected = [r["guid"] for r in sandbox_data(toast_env).config(restaurant, "taxRates")]
    assert [record["guid"] for _, record in records] == expected  # each once, in order
    tokens = [url.params.get("pageToken") for url in sent if url.path.endswith("/taxRates")]
    pages = -(-len(expected) // 2)
    # page 1, page 2, page 3 answered 409 (the publish), then page 1 again and the rest
    assert len(tokens) == 3 + pages
    assert tokens[0] is None and all(tokens[1:3]) and tokens[3] is None and all(tokens[4:])


def test_a_rate_limited_login_waits_as_long_as_retry_after_says_then_logs_in(toast_env):
    toast_env.fault(kind="status", status=429, retry_after=7, path="/authentication/v1/", times=2)
    client = ToastClient(toast_env.url, toast_env.client_id, toast_env.client_secret)
    waits: list[float] = []
    client.tokens.sleep = waits.append  # record the waits instead of spending 14 s
    try:
        partners = client.get_json("/partners/v1/restaurants")
    finally:
        client.close()

    assert [p["restaurantGuid"] for p in partners] == toast_env.restaurants
    assert waits == [7.0, 7.0]
    stats = toast_env.stats()
    assert (stats["login_attempts"], stats["logins"]) == (3, 1)
    assert client.tokens.throttled_logins == 2


def test_a_load_whose_login_is_rate_limited_waits_and_loads(toast_env, warehouse):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    toast_env.fault(kind="status", status=429, retry_after=1, path="/authentication/v1/")

    result = run_load(backfill_days=2)

    assert result.ok, result.report.failed
    stats = toast_env.stats()
    assert (stats["login_attempts"], stats["logins"]) == (2, 1)
    assert warehouse_orders(warehouse) == expected_orders(toast_env, as_of, days=2)
