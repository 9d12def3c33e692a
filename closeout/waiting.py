"""Waiting for something another process holds (the run lock, the DuckDB file), with a countdown.

A scheduled run that finds the warehouse busy should neither crash nor hang silently: it waits
up to `CLOSEOUT_WAIT_SECONDS` (default 300), showing on stderr who holds it and how long is
left, then gives up with one line naming the holder.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from closeout.errors import ConfigurationError

WAIT_SETTING = "CLOSEOUT_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 300.0
POLL_SECONDS = 0.2

T = TypeVar("T")


class Busy(Exception):
    """Another process holds what we need; `holder` says who, for the operator."""

    def __init__(self, holder: str, pid: int | None = None):
        super().__init__(holder)
        self.holder = holder
        self.pid = pid
        self.waited = 0.0  # set when the wait ran out


def wait_seconds() -> float:
    """`CLOSEOUT_WAIT_SECONDS`: how long a command waits for a busy warehouse (0: not at all)."""
    text = os.environ.get(WAIT_SETTING, "").strip()
    if not text:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ConfigurationError(
            f"{WAIT_SETTING}={text!r} is not a number of seconds: set it to how long a command "
            f"may wait for a busy warehouse (e.g. 300, or 0 not to wait)."
        )
    return seconds


class Countdown:
    """How long is left, on stderr: one line rewritten every second on a terminal; a line every
    tenth of the wait (1 to 30 s apart) otherwise, so a scheduler's log shows it too."""

    def __init__(self, waiting_for: str, seconds: float, stream=None):
        self.waiting_for = waiting_for
        self.seconds = seconds
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.tty = self.stream.isatty()
        self.every = 1.0 if self.tty else min(30.0, max(1.0, seconds / 10))
        self._shown_at: float | None = None

    @property
    def left(self) -> float:
        return max(0.0, self.seconds - (time.monotonic() - self.started))

    @property
    def waited(self) -> float:
        return time.monotonic() - self.started

    def show(self, holder: str) -> None:
        now = time.monotonic()
        if self._shown_at is not None and now - self._shown_at < self.every:
            return
        self._shown_at = now
        line = (
            f"Waiting for {self.waiting_for}: {holder}; {self.left:.0f} s left "
            f"(up to {self.seconds:.0f} s, {WAIT_SETTING})"
        )
        self.stream.write(f"\r{line}\033[K" if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._shown_at is not None:
            self.stream.write("\n")
            self.stream.flush()


def wait_for(
    attempt: Callable[[], T], waiting_for: str, seconds: float | None = None
) -> tuple[T, float]:
    """`attempt()` until it stops raising Busy; (its result, seconds waited). After `seconds`
    (default CLOSEOUT_WAIT_SECONDS) the last Busy is raised, its `waited` set."""
    seconds = wait_seconds() if seconds is None else seconds
    countdown: Countdown | None = None
    try:
        while True:
            try:
                return attempt(), countdown.waited if countdown else 0.0
            except Busy as busy:
                countdown = countdown or Countdown(waiting_for, seconds)
                if countdown.left <= 0:
                    busy.waited = countdown.waited
                    raise
                countdown.show(busy.holder)
            time.sleep(min(POLL_SECONDS, countdown.left) or POLL_SECONDS)
    finally:
        if countdown is not None:
            countdown.close()
