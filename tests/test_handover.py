"""The byte-bounded hand-over between order fetchers and the pipeline."""

import threading
import time

import pytest

from loaders.toast.handover import ByteBoundedQueue


def test_producer_waits_while_the_byte_budget_is_spent():
    handover = ByteBoundedQueue(max_bytes=100)
    handover.put("first", 60)
    second_put = threading.Thread(target=handover.put, args=("second", 60))
    second_put.start()
    time.sleep(0.1)
    assert second_put.is_alive()  # 120 bytes would exceed the budget
    assert handover.get(timeout=1) == "first"
    second_put.join(timeout=1)
    assert not second_put.is_alive()
    assert handover.get(timeout=1) == "second"


def test_an_item_larger_than_the_budget_passes_when_the_queue_is_empty():
    handover = ByteBoundedQueue(max_bytes=10)
    handover.put("big", 1_000)
    assert handover.get(timeout=1) == "big"


def test_get_times_out_and_close_releases_blocked_producers():
    handover = ByteBoundedQueue(max_bytes=10)
    with pytest.raises(TimeoutError):
        handover.get(timeout=0.05)
    handover.put("a", 10)
    blocked = threading.Thread(target=handover.put, args=("b", 10))
    blocked.start()
    handover.close()
    blocked.join(timeout=1)
    assert not blocked.is_alive()
