"""Exact's API limits per division: calls a minute and calls a day, reported on every answer in
the X-RateLimit-* headers (reset times in epoch milliseconds), 429 once either is spent.

As the vendor does, a 429 for the minutely limit carries only the minutely headers and one for
the daily limit only the daily ones. The sandbox's day can be advanced by a test, which resets
every division's daily count; a test may also replace `clock` (epoch seconds) to step through
the minutely windows without waiting for them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DAY_SECONDS = 86_400


@dataclass
class DivisionUsage:
    day: int = -1
    used_today: int = 0
    window: int = -1
    used_this_window: int = 0


@dataclass
class Limits:
    minutely_limit: int
    minute_seconds: float
    daily_limit: int
    day_offset: int = 0  # days the test advanced the clock by
    usage: dict[int, DivisionUsage] = field(default_factory=dict)
    clock: Callable[[], float] = time.time  # a test hook: the time the windows are read from

    def _today(self, now: float) -> int:
        return int(now // DAY_SECONDS) + self.day_offset

    def take(self, division: int) -> tuple[bool, dict[str, str]]:
        """Count one call; (allowed, headers). A refused call is not counted."""
        now = self.clock()
        usage = self.usage.setdefault(division, DivisionUsage())
        today, window = self._today(now), math.floor(now / self.minute_seconds)
        if usage.day != today:
            usage.day, usage.used_today = today, 0
        if usage.window != window:
            usage.window, usage.used_this_window = window, 0
        daily_reset = (today - self.day_offset + 1) * DAY_SECONDS
        minutely_reset = (window + 1) * self.minute_seconds
        daily = {
            "X-RateLimit-Limit": str(self.daily_limit),
            "X-RateLimit-Reset": str(int(daily_reset * 1000)),
        }
        minutely = {
            "X-RateLimit-Minutely-Limit": str(self.minutely_limit),
            "X-RateLimit-Minutely-Reset": str(int(minutely_reset * 1000)),
        }
        if usage.used_today >= self.daily_limit:
            return False, {**daily, "X-RateLimit-Remaining": "0"}
        if usage.used_this_window >= self.minutely_limit:
            return False, {**minutely, "X-RateLimit-Minutely-Remaining": "0"}
        usage.used_today += 1
        usage.used_this_window += 1
        return True, {
            **daily,
            "X-RateLimit-Remaining": str(self.daily_limit - usage.used_today),
            **minutely,
            "X-RateLimit-Minutely-Remaining": str(self.minutely_limit - usage.used_this_window),
        }

    def advance_day(self) -> None:
        self.day_offset += 1
