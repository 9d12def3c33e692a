"""A queue bounded by bytes, between the threads that fetch orders and the pipeline that writes.

Bounding by batch count stalls the fetchers as soon as Toast's pacing makes batches small; a
byte budget lets them keep the sandbox (or Toast) busy through a whole DuckDB commit while
memory still has a ceiling.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any


class ByteBoundedQueue:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: deque[tuple[Any, int]] = deque()
        self._bytes = 0
        self._closed = False
        self._changed = threading.Condition()

    def close(self) -> None:
        """Nobody reads any more: release blocked producers and drop what they put."""
        with self._changed:
            self._closed = True
            self._items.clear()
            self._changed.notify_all()

    def put(self, item: Any, size: int = 0) -> None:
        """Blocks while the budget is spent; an item larger than the budget still goes through
        once the queue is empty, so nothing waits forever."""
        with self._changed:
            while self._items and self._bytes + size > self.max_bytes and not self._closed:
                self._changed.wait()
            if self._closed:
                return
            self._items.append((item, size))
            self._bytes += size
            self._changed.notify_all()

    def get(self, timeout: float | None = None) -> Any:
        """The oldest item; raises TimeoutError when none arrives within `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while not self._items:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError
                self._changed.wait(remaining)
            item, size = self._items.popleft()
            self._bytes -= size
            self._changed.notify_all()
            return item
