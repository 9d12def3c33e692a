"""When each location's day is due: its close (closeoutHour, in its own time zone) plus the
settle delay, the same moment `finance.journals` calls the day closed.

A business date D closes at D + 1 at closeoutHour, local time: the same expression as
`int_days_loaded.closes_at` and `journals.closes_at`, so `closeout serve` is never due before
dbt would let the day post. Local wall-clock times are turned into instants by the zone's rules,
so a location stays due at its own hour across daylight saving.
"""

from __future__ import annotations

import logging
import os
import time as monotonic_time
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb

from loaders.toast.windows import current_business_date

log = logging.getLogger("closeout.serve")

CLOCK_SETTING = "CLOSEOUT_SERVE_CLOCK"
# Toast's default when a restaurant record has none (journals.sql uses the same).
DEFAULT_CLOSEOUT_HOUR = 4


@dataclass(frozen=True)
class LocationClock:
    restaurant_guid: str
    name: str
    time_zone: str
    closeout_hour: int
    settle_delay_hours: float = 0

    def closes_at(self, business_date: date) -> datetime:
        """When `business_date` may be posted: its close plus the settle delay, in UTC, as
        journals.sql works it out: DuckDB's timezone() takes the later instant of an hour lived
        twice and moves an hour that never was forward, which is the later of Python's two
        readings (fold 0 and 1); the settle delay is then added as elapsed hours."""
        local = datetime.combine(
            business_date + timedelta(days=1),
            time(self.closeout_hour),
            tzinfo=ZoneInfo(self.time_zone),
        )
        # (to UTC first: aware datetimes of one zone compare by wall time, ignoring fold)
        close = max(local.replace(fold=fold).astimezone(timezone.utc) for fold in (0, 1))
        return close + timedelta(hours=self.settle_delay_hours)

    def last_due(self, now: datetime) -> tuple[date, datetime]:
        """The newest business date whose due moment has passed at `now`, and that moment."""
        day = current_business_date(now, self.time_zone, self.closeout_hour)
        while self.closes_at(day) > now:
            day -= timedelta(days=1)
        return day, self.closes_at(day)

    def next_due(self, now: datetime) -> tuple[date, datetime]:
        """The first business date whose due moment is after `now`, and that moment."""
        day, _ = self.last_due(now)
        day += timedelta(days=1)
        while self.closes_at(day) <= now:  # a settle delay longer than a day
            day += timedelta(days=1)
        return day, self.closes_at(day)


def location_clocks(con: duckdb.DuckDBPyConnection) -> list[LocationClock]:
    """Every location of the last build, with the settings that decide when it is due; empty
    before the first build."""
    try:
        rows = con.execute(
            """
            select restaurants.restaurant_guid,
                   coalesce(locations.location_name, restaurants.name,
                            restaurants.restaurant_guid),
                   restaurants.time_zone,
                   restaurants.closeout_hour,
                   settings.settle_delay_hours
            from staging.stg_toast__restaurants as restaurants
            inner join intermediate.int_settings_resolved as settings using (restaurant_guid)
            left join mappings.locations as locations using (restaurant_guid)
            where restaurants.time_zone is not null and not restaurants.archived
            order by 2"""
        ).fetchall()
    except duckdb.CatalogException:
        return []
    return [
        LocationClock(
            guid,
            name,
            time_zone,
            DEFAULT_CLOSEOUT_HOUR if hour is None else int(hour),
            float(delay or 0),
        )
        for guid, name, time_zone, hour, delay in rows
    ]


# A location whose run failed is tried again after 1, 2, 4 ... minutes, at most hourly.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    doublings = min(max(attempts - 1, 0), 6)  # 64 minutes already passes the longest wait
    return min(FIRST_RETRY * 2**doublings, LONGEST_RETRY)


@dataclass
class Retry:
    at: datetime
    attempts: int
    reason: str


class Retries(dict[str, Retry]):
    """What failed (a location, a stage), and when to try it again, by `backoff`."""

    def failed(self, key: str, now: datetime, reason: str = "") -> None:
        attempts = self[key].attempts + 1 if key in self else 1
        self[key] = Retry(now + backoff(attempts), attempts, reason)

    def succeeded(self, key: str) -> None:
        self.pop(key, None)

    def due(self, key: str, now: datetime) -> bool:
        return key in self and self[key].at <= now

    def waiting(self, key: str, now: datetime) -> bool:
        return key in self and self[key].at > now


class Schedule:
    """Which locations are due at a moment, in `closeout serve`'s memory.

    A location is due once the due moment of a day passes that no load since has covered
    (a load that started after the moment reads the whole day), or when its retry comes.
    After a restart nothing is remembered: serve's first cycle loads every location, which
    covers whatever fell due while it was down.
    """

    def __init__(self, reconcile_at: time | None):
        self.clocks: dict[str, LocationClock] = {}
        self.covered: dict[str, datetime] = {}  # the last due moment a load covered
        self.retries = Retries()
        self.reconcile_at = reconcile_at
        self.next_reconcile: datetime | None = None

    def know(self, clocks: list[LocationClock], now: datetime) -> None:
        """Take the locations of the last build. A location seen for the first time was read
        by the cycle that found it, so it is due from its next close on."""
        usable = {}
        for clock in clocks:
            try:
                self.covered.setdefault(clock.restaurant_guid, clock.last_due(now)[1])
            except (ValueError, KeyError) as exc:  # a zone zoneinfo does not know
                log.warning("%s: time zone %r unusable (%s)", clock.name, clock.time_zone, exc)
                continue
            usable[clock.restaurant_guid] = clock
        self.clocks = usable
        self.start_reconciling(now)

    def start_reconciling(self, now: datetime) -> None:
        if self.reconcile_at is not None and self.next_reconcile is None:
            self.next_reconcile = self._reconcile_after(now)

    def due(self, now: datetime) -> set[str]:
        """The locations to load now. One that failed waits for its retry, whatever is due."""
        found = set()
        for guid in self.clocks.keys() | self.retries.keys():
            retry = self.retries.get(guid)
            if retry is not None:
                if retry.at <= now:
                    found.add(guid)
            elif self.clocks[guid].last_due(now)[1] > self.covered.get(guid, now):
                found.add(guid)
        return found

    def reconcile_due(self, now: datetime) -> bool:
        return self.next_reconcile is not None and self.next_reconcile <= now

    def loaded(self, guids: set[str], started_at: datetime) -> None:
        """A load that started at `started_at` finished these locations."""
        for guid in guids:
            self.retries.succeeded(guid)
            if guid in self.clocks:
                self.covered[guid] = self.clocks[guid].last_due(started_at)[1]

    def failed(self, guids: set[str], now: datetime, reason: str) -> None:
        for guid in guids:
            self.retries.failed(guid, now, reason)

    def reconciled(self, now: datetime) -> None:
        self.next_reconcile = self._reconcile_after(now)

    def next_wakeup(self, now: datetime) -> datetime | None:
        moments = [clock.next_due(now)[1] for clock in self.clocks.values()]
        moments += [retry.at for retry in self.retries.values()]
        if self.next_reconcile is not None:
            moments.append(self.next_reconcile)
        return min(moments, default=None)

    def upcoming(self, now: datetime) -> list[tuple[str, date, datetime]]:
        """(location, business date, when it is due) per location, soonest first; a location
        waiting for a retry shows the retry."""
        rows = []
        for guid, clock in self.clocks.items():
            day, at = clock.next_due(now)
            retry = self.retries.get(guid)
            if retry is not None and retry.at < at:
                day, at = clock.last_due(now)[0], retry.at
            rows.append((clock.name, day, at))
        return sorted(rows, key=lambda row: (row[2], row[0]))

    def _reconcile_after(self, now: datetime) -> datetime:
        moment = datetime.combine(now.date(), self.reconcile_at, tzinfo=timezone.utc)
        return moment if moment > now else moment + timedelta(days=1)


class ServeClock:
    """What time `closeout serve` thinks it is: the real time, or, for tests of the schedule, a
    moved one. CLOSEOUT_SERVE_CLOCK="2026-03-08T06:55:00+00:00" starts there ("...*60": sixty
    seconds pass for each real one, "*0": it stands still); "@FILE" reads the time from FILE at
    each look, so a test moves it by writing the file. Only the schedule reads this clock;
    loads, webhooks and the ERP keep real time."""

    def __init__(self, start: datetime | None = None, rate: float = 1.0, file: str | None = None):
        self.start, self.rate, self.file = start, rate, file
        self._started = monotonic_time.monotonic()

    @classmethod
    def from_env(cls) -> ServeClock:
        setting = os.environ.get(CLOCK_SETTING, "").strip()
        if not setting:
            return cls()
        if setting.startswith("@"):
            return cls(file=setting[1:])
        moment, _, rate = setting.partition("*")
        return cls(_instant(moment), float(rate or 1))

    def now(self) -> datetime:
        if self.file is not None:
            try:
                with open(self.file) as text:
                    self.start = _instant(text.read().strip())
            except (OSError, ValueError):  # being rewritten: the last reading stands
                if self.start is None:
                    raise
            return self.start
        if self.start is None:
            return datetime.now(timezone.utc)
        passed = (monotonic_time.monotonic() - self._started) * self.rate
        return self.start + timedelta(seconds=passed)


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
