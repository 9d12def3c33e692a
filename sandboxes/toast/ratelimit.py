"""Toast's rate limits: fixed time slices, per restaurant (or per IP without a restaurant header).

Each request counts against every limit that applies to it (global, then API, then endpoint);
the response headers describe whichever limit is closest to being exceeded, as Toast's do.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    by: str  # GLOBAL, API or ENDPOINT: what X-Toast-RateLimit-By reports
    requests: int
    seconds: int
    endpoint: str | None = None  # path this limit is restricted to, None for all


TOAST_LIMITS = (
    Limit("GLOBAL", 20, 1),
    Limit("GLOBAL", 10_000, 900),
    Limit("ENDPOINT", 5, 1, endpoint="/orders/v2/ordersBulk"),
)
_PRIORITY = {"GLOBAL": 0, "API": 1, "ENDPOINT": 2}


@dataclass
class Decision:
    allowed: bool
    headers: dict[str, str]


class RateLimiter:
    def __init__(self, limits: tuple[Limit, ...] = TOAST_LIMITS, clock=time.time):
        self.limits = limits
        self.clock = clock
        self._counts: dict[tuple, int] = {}
        self._lock = threading.Lock()

    def check(self, key: str, path: str) -> Decision:
        now = self.clock()
        applicable = [lim for lim in self.limits if lim.endpoint in (None, path)]
        if not applicable:
            return Decision(True, {})
        with self._lock:
            slots = []
            for lim in applicable:
                window = int(now // lim.seconds)
                slot = (key, lim, window)
                slots.append((lim, slot, self._counts.get(slot, 0), (window + 1) * lim.seconds))
            exceeded = [s for s in slots if s[2] >= s[0].requests]
            if exceeded:
                lim, _, _, reset = min(exceeded, key=lambda s: _PRIORITY[s[0].by])
                headers = _headers(lim, 0, reset)
                headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
                return Decision(False, headers)
            for _, slot, count, _ in slots:
                self._counts[slot] = count + 1
            self._forget_old(now)
            lim, _, count, reset = min(
                slots, key=lambda s: (s[0].requests - s[2] - 1, _PRIORITY[s[0].by])
            )
            return Decision(True, _headers(lim, lim.requests - count - 1, reset))

    def _forget_old(self, now: float) -> None:
        if len(self._counts) < 10_000:
            return
        self._counts = {
            slot: n for slot, n in self._counts.items() if (slot[2] + 1) * slot[1].seconds > now
        }


def _headers(lim: Limit, remaining: int, reset: int) -> dict[str, str]:
    return {
        "X-Toast-RateLimit-By": lim.by,
        "X-Toast-RateLimit-Remaining": str(remaining),
        "X-Toast-RateLimit-Reset": str(reset),
    }


def least_seconds(
    requests: dict[str | None, int], limits: tuple[Limit, ...] = TOAST_LIMITS, start: float = 0.0
) -> float:
    """The least time after `start` (epoch seconds) by which one key (a restaurant) can have
    `requests[path]` requests counted (None: paths no endpoint limit names), under the
    fixed-slice rule of `RateLimiter.check`: each limit allows its `requests` in every slice
    `[k * seconds, (k + 1) * seconds)`. Returns when the last request is counted, minus `start`.

    Greedy: at each slice boundary every path takes what its limits leave, the path with the
    scarcest limit first (an endpoint's requests can only use its own limit, the rest can use
    any later slice of the global ones), which no schedule beats for nested limits like Toast's.
    """
    remaining = {path: count for path, count in requests.items() if count > 0}
    applicable = {
        path: [lim for lim in limits if lim.endpoint in (None, path)] for path in remaining
    }
    order = sorted(
        remaining, key=lambda path: min(lim.requests / lim.seconds for lim in applicable[path])
    )
    used: dict[tuple[Limit, int], int] = {}
    now = last = start
    while remaining:
        for path in order:
            slots = [(lim, int(now // lim.seconds)) for lim in applicable[path]]
            room = min(lim.requests - used.get((lim, k), 0) for lim, k in slots)
            taken = min(room, remaining.get(path, 0))
            if taken > 0:
                for slot in slots:
                    used[slot] = used.get(slot, 0) + taken
                remaining[path] -= taken
                last = now
                if not remaining[path]:
                    del remaining[path]
        now = min((int(now // lim.seconds) + 1) * lim.seconds for lim in limits)
    return last - start
