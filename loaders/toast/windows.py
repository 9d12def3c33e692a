"""Which slices of Toast to read for a location on this run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from loaders.toast import settings


@dataclass(frozen=True)
class Window:
    """Either one business date, or a modified-time window [start, end)."""

    business_date: date | None = None
    start: datetime | None = None
    end: datetime | None = None

    def order_params(self) -> dict:
        if self.business_date:
            return {"businessDate": self.business_date.strftime("%Y%m%d")}
        return {"startDate": toast_format(self.start), "endDate": toast_format(self.end)}

    def time_entry_params(self) -> dict:
        if self.business_date:
            return {"businessDate": self.business_date.strftime("%Y%m%d")}
        return {
            "modifiedStartDate": toast_format(self.start),
            "modifiedEndDate": toast_format(self.end),
        }

    def describe(self) -> str:
        if self.business_date:
            return f"business date {self.business_date.isoformat()}"
        return f"modified {self.start.isoformat()} .. {self.end.isoformat()}"


def toast_format(moment: datetime) -> str:
    """Toast's ISO-8601 form with milliseconds: 2016-01-01T14:13:12.000+0000."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def current_business_date(now: datetime, time_zone: str, closeout_hour: int) -> date:
    """The business date in progress at `now` for a location (closeoutHour in its time zone)."""
    local = now.astimezone(ZoneInfo(time_zone))
    return (local - timedelta(hours=closeout_hour)).date()


def business_dates(first: date, last: date) -> list[Window]:
    days = (last - first).days
    return [Window(business_date=first + timedelta(days=n)) for n in range(days + 1)]


def modified_windows(start: datetime, end: datetime) -> list[Window]:
    """[start, end) cut into windows Toast accepts (at most a month each)."""
    step = timedelta(days=settings.MAX_WINDOW_DAYS)
    windows = []
    while start < end:
        stop = min(start + step, end)
        windows.append(Window(start=start, end=stop))
        start = stop
    return windows


def plan(
    *,
    watermark: datetime | None,
    now: datetime,
    time_zone: str,
    closeout_hour: int,
    backfill_days: int,
    lag: timedelta,
) -> list[Window]:
    """The first run backfills by business date; later runs read what changed since the last."""
    if watermark is None:
        today = current_business_date(now, time_zone, closeout_hour)
        return business_dates(today - timedelta(days=backfill_days - 1), today)
    return modified_windows(watermark - lag, now)
