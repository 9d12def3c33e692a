"""The request spacer against a fake clock: when a location's next ordersBulk request may go."""

import time

import httpx
import pytest

from loaders.toast.client import RequestSpacer

PATH = "/orders/v2/ordersBulk"
WALL = 1_770_000_000.0  # epoch seconds: the wall clock Toast's reset times are read against


@pytest.fixture(autouse=True)
def wall_clock(monkeypatch):
    """Toast's reset is an epoch time, read against time.time(): held still here, so the time
    this machine takes between making a header and reading it cannot shift the result."""
    monkeypatch.setattr(time, "time", lambda: WALL)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def answered(spacer: RequestSpacer, clock: FakeClock, reset_in: float | None) -> None:
    """One request, answered now, whose slice (per Toast) ends `reset_in` seconds from now."""
    headers = {} if reset_in is None else {"X-Toast-RateLimit-Reset": str(WALL + reset_in)}
    spacer.release(spacer.acquire("r", PATH), httpx.Response(200, headers=headers))


def test_the_sixth_request_waits_a_second_after_the_first_answer_without_reset_headers():
    clock = FakeClock()
    spacer = RequestSpacer(slack=0.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        answered(spacer, clock, reset_in=None)
    spacer.acquire("r", PATH)
    assert abs(clock.now - 101.0) < 1e-6


def test_the_sixth_request_goes_when_the_first_ones_slice_ends():
    clock = FakeClock()
    spacer = RequestSpacer(slack=0.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        answered(spacer, clock, reset_in=0.3)
    spacer.acquire("r", PATH)
    assert abs(clock.now - 100.3) < 1e-6  # not 101.0


def test_a_reset_further_than_the_limit_is_another_limit_and_is_not_used():
    clock = FakeClock()
    spacer = RequestSpacer(slack=0.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        answered(spacer, clock, reset_in=600)  # the 15-minute slice
    spacer.acquire("r", PATH)
    assert abs(clock.now - 101.0) < 1e-6
