"""When a location is due: its close plus the settle delay, in its own time zone, DST included;
retries back off; the nightly reconciliation comes once a day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from closeout.schedule import LocationClock, Schedule, ServeClock

UTC = timezone.utc
NEW_YORK = LocationClock("ny", "Boston Harbor", "America/New_York", 4, 2)
PHOENIX = LocationClock("phx", "Camelback", "America/Phoenix", 5, 0)


def test_a_day_is_due_at_its_local_close_plus_the_settle_delay_across_dst():
    # 2026-03-08 02:00 New York springs forward: the close of the 7th is 04:00 EDT (UTC-4),
    # the close of the 6th 04:00 EST (UTC-5); plus two hours' settle delay.
    assert NEW_YORK.closes_at(date(2026, 3, 6)) == datetime(2026, 3, 7, 11, tzinfo=UTC)
    assert NEW_YORK.closes_at(date(2026, 3, 7)) == datetime(2026, 3, 8, 10, tzinfo=UTC)
    # 2026-11-01 02:00 falls back: the close of the 31st, that morning at 04:00, is EST again.
    assert NEW_YORK.closes_at(date(2026, 10, 30)) == datetime(2026, 10, 31, 10, tzinfo=UTC)
    assert NEW_YORK.closes_at(date(2026, 10, 31)) == datetime(2026, 11, 1, 11, tzinfo=UTC)
    # Phoenix keeps MST all year.
    assert PHOENIX.closes_at(date(2026, 7, 1)) == datetime(2026, 7, 2, 12, tzinfo=UTC)


def test_last_and_next_due_around_the_moment():
    moment = datetime(2026, 3, 8, 9, 59, tzinfo=UTC)
    assert NEW_YORK.last_due(moment) == (date(2026, 3, 6), datetime(2026, 3, 7, 11, tzinfo=UTC))
    assert NEW_YORK.next_due(moment) == (date(2026, 3, 7), datetime(2026, 3, 8, 10, tzinfo=UTC))
    just_after = datetime(2026, 3, 8, 10, 0, 1, tzinfo=UTC)
    assert NEW_YORK.last_due(just_after)[0] == date(2026, 3, 7)
    assert NEW_YORK.next_due(just_after)[0] == date(2026, 3, 8)


def test_a_settle_delay_past_a_day_still_finds_the_right_days():
    slow = LocationClock("slow", "Slow", "UTC", 4, 30)
    moment = datetime(2026, 5, 10, 12, tzinfo=UTC)
    day, at = slow.last_due(moment)
    assert at <= moment < slow.closes_at(day + timedelta(days=1))
    assert slow.next_due(moment) == (day + timedelta(days=1), slow.closes_at(day + timedelta(1)))


def test_each_location_falls_due_once_per_close_and_failures_back_off():
    start = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
    schedule = Schedule(reconcile_at=None)
    schedule.know([NEW_YORK, PHOENIX], start)
    assert schedule.due(start) == set()
    at_ny = datetime(2026, 3, 8, 10, 0, 1, tzinfo=UTC)  # New York's close (EDT) + 2 h
    assert schedule.due(at_ny) == {"ny"}
    assert schedule.next_wakeup(start) == datetime(2026, 3, 8, 10, tzinfo=UTC)

    schedule.failed({"ny"}, at_ny, "Toast answered 503")
    assert schedule.due(at_ny + timedelta(seconds=59)) == set()  # waits for its retry
    assert schedule.due(at_ny + timedelta(minutes=1)) == {"ny"}
    schedule.failed({"ny"}, at_ny + timedelta(minutes=1), "Toast answered 503")
    assert schedule.retries["ny"].at == at_ny + timedelta(minutes=3)  # 1, then 2 minutes
    schedule.loaded({"ny"}, at_ny + timedelta(minutes=3))
    assert "ny" not in schedule.retries
    assert schedule.due(at_ny + timedelta(hours=5)) == {"phx"}  # 12:00 UTC = 05:00 MST
    # soonest first: Phoenix's close of the 7th (12:00 UTC), then New York's of the 8th
    assert [row[:2] for row in schedule.upcoming(at_ny + timedelta(minutes=3))] == [
        ("Camelback", date(2026, 3, 7)),
        ("Boston Harbor", date(2026, 3, 8)),
    ]


def test_the_nightly_reconciliation_comes_once_a_day_at_its_hour():
    start = datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
    schedule = Schedule(reconcile_at=time(10, 0))
    schedule.know([NEW_YORK], start)
    assert schedule.next_reconcile == datetime(2026, 3, 9, 10, tzinfo=UTC)
    assert not schedule.reconcile_due(datetime(2026, 3, 9, 9, 59, tzinfo=UTC))
    assert schedule.reconcile_due(datetime(2026, 3, 9, 10, tzinfo=UTC))
    schedule.reconciled(datetime(2026, 3, 9, 10, 2, tzinfo=UTC))
    assert schedule.next_reconcile == datetime(2026, 3, 10, 10, tzinfo=UTC)


def test_a_moved_clock_for_tests(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_SERVE_CLOCK", "2026-03-08T06:55:00+00:00*0")
    assert ServeClock.from_env().now() == datetime(2026, 3, 8, 6, 55, tzinfo=UTC)
    clock_file = tmp_path / "clock"
    clock_file.write_text("2026-07-01T12:00:00")
    monkeypatch.setenv("CLOSEOUT_SERVE_CLOCK", f"@{clock_file}")
    clock = ServeClock.from_env()
    assert clock.now() == datetime(2026, 7, 1, 12, tzinfo=UTC)
    clock_file.write_text("2026-07-02T12:00:00+00:00")
    assert clock.now() == datetime(2026, 7, 2, 12, tzinfo=UTC)


def test_due_moments_equal_what_duckdb_computes_for_journals_on_every_dst_night():
    """journals.sql: timezone(zone, (business_date + 1) + closeoutHour) + settle delay hours.
    Compared with DuckDB itself over both 2026 changes, every closeout hour, two zones."""
    import duckdb

    nights = [date(2026, 3, 6) + timedelta(days=n) for n in range(4)]
    nights += [date(2026, 10, 30) + timedelta(days=n) for n in range(4)]
    cases = [
        LocationClock("x", "x", zone, hour, delay)
        for zone in ("America/New_York", "Europe/London")
        for hour in range(24)
        for delay in (0, 2, 30)
    ]
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        for clock in cases:
            expected = con.execute(
                "select timezone(?, cast(d + 1 as timestamp) + to_hours(?)) + to_hours(?) "
                "from unnest(?::date[]) as t(d) order by d",
                [clock.time_zone, clock.closeout_hour, int(clock.settle_delay_hours), nights],
            ).fetchall()
            assert [clock.closes_at(night) for night in nights] == [e for (e,) in expected], clock


def test_backoff_is_bounded_however_long_the_failure():
    from closeout.schedule import LONGEST_RETRY, backoff

    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert backoff(10_000) == LONGEST_RETRY
