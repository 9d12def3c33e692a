"""The exact floor the loader benchmark measures the rate-limited day against: the least time
the Toast sandbox's fixed-slice rule allows a location's requests."""

import pytest

from sandboxes.toast.ratelimit import TOAST_LIMITS, Limit, RateLimiter, least_seconds

BULK = "/orders/v2/ordersBulk"


@pytest.mark.parametrize(
    ("requests", "start", "floor"),
    [
        ({BULK: 5}, 0.0, 0.0),  # one slice holds five
        ({BULK: 6}, 0.99, 0.01),  # the sixth goes when the next slice starts
        ({BULK: 25}, 0.0, 4.0),  # five slices, the last one starts 4 s later
        ({BULK: 25}, 100.5, 3.5),  # a start part-way through a slice still gets five in it
        ({BULK: 25, None: 75}, 0.0, 4.0),  # 5 + 15 a second fit the global 20 alongside
        ({BULK: 25, None: 76}, 0.0, 5.0),  # one more does not
        ({None: 10_001}, 0.0, 900.0),  # the 15-minute slice: 10,000, then its next slice
    ],
)
def test_least_time_under_the_slice_rule(requests, start, floor):
    assert least_seconds(requests, TOAST_LIMITS, start) == pytest.approx(floor)


@pytest.mark.parametrize("start", [0.0, 0.3, 7.75])
def test_the_floor_is_what_the_sandbox_limiter_lets_through_when_sent_as_early_as_it_allows(
    start,
):
    """Send each request at the earliest moment the sandbox's own RateLimiter accepts it: the
    last one is accepted exactly at the floor."""
    limits = (*TOAST_LIMITS[:1], Limit("GLOBAL", 30, 10), TOAST_LIMITS[2])
    now = [start]
    limiter = RateLimiter(limits, clock=lambda: now[0])
    left = {BULK: 23, "/config/v2/menus": 40}
    last = start
    while any(left.values()):
        for path in (BULK, "/config/v2/menus"):  # the scarcer endpoint first in each slice
            while left[path] and limiter.check("r1", path).allowed:
                left[path] -= 1
                last = now[0]
        if any(left.values()):
            now[0] = int(now[0]) + 1  # every limit here has whole-second slices
    floor = least_seconds({BULK: 23, None: 40}, limits, start)
    assert floor == pytest.approx(last - start)
