"""Journals posted side by side (a connector's `parallel_documents`, D365's by default): each
still reaches the ERP exactly once, and a run the ERP stops part-way leaves nothing the next
run doubles. Real HTTP against the D365 sandbox, a real warehouse."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from datetime import timedelta

import pytest

from tests.erps import erp_documents
from tests.test_post import DAY, ledger, load_and_build, post, query, ready_journals

ERP = "d365"


@pytest.fixture
def d365(toast_env, monkeypatch):
    toast_env.erp_control(ERP, "reset")
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("ERP__TARGET", ERP)
    load_and_build(toast_env, DAY - timedelta(days=1), DAY)
    return toast_env


def overlapping_journals(db) -> set[tuple[str, str]]:
    """Pairs of journals whose `$batch` requests were in flight at the same time (audit)."""
    sent = query(
        db,
        "select journal_id, epoch(requested_at), seconds from closeout_posting.erp_requests "
        "where url like '%$batch%' order by 2",
    )
    return {
        (first, second)
        for i, (first, start, seconds) in enumerate(sent)
        for second, other_start, _ in sent[i + 1 :]
        if first != second and other_start < start + seconds
    }


def test_journals_post_side_by_side_each_exactly_once(d365, warehouse):
    ready = ready_journals(warehouse)
    # Every changeset answers late: posted one at a time, no two would ever be in flight.
    d365.erp_control(
        ERP, "faults", {"kind": "slow", "seconds": 0.3, "path": "/data/$batch", "times": -1}
    )

    report = post(ERP)

    assert report.stopped is None and len(report.by_state("posted")) == len(ready)
    assert overlapping_journals(warehouse)
    keys = Counter(document.key for document in erp_documents(d365, ERP))
    assert len(keys) == len(ready) and set(keys.values()) == {1}
    assert all(postings == [postings[0]] for postings in ledger(warehouse).values())
    assert all(status == "posted" for [(status, *_)] in ledger(warehouse).values())


def test_a_run_stopped_part_way_by_the_erp_leaves_nothing_the_next_run_doubles(d365, warehouse):
    ready = ready_journals(warehouse)
    # After three changesets D365 answers 503 to every one, for as many as the run's threads
    # can retry: the run stops with the journals in flight pending (their headers made, lines
    # refused) and the rest not sent.
    d365.erp_control(
        ERP,
        "faults",
        {"kind": "status", "status": 503, "path": "/data/$batch", "skip": 3, "times": 48},
    )

    stopped = post(ERP)

    assert stopped.stopped is not None
    assert len(stopped.by_state("posted")) >= 3 and not stopped.by_state("failed")
    sent_or_not = stopped.by_state("posted") + stopped.by_state("unavailable")
    assert sorted(outcome.journal_id for outcome in sent_or_not) == sorted(ready)

    for _ in range(4):  # the 503s a stopped run left unused stop the next runs too
        again = post(ERP)
        if again.stopped is None:
            break
    assert again.stopped is None and not again.by_state("failed")
    keys = Counter(document.key for document in erp_documents(d365, ERP))
    assert len(keys) == len(ready) and set(keys.values()) == {1}
    assert all(postings[-1][0] == "posted" for postings in ledger(warehouse).values())


def test_ctrl_c_stops_a_parallel_run_and_the_next_run_posts_the_rest_once(
    d365, warehouse, monkeypatch
):
    monkeypatch.setenv("ERP__D365__PARALLEL_DOCUMENTS", "2")
    ready = ready_journals(warehouse)
    assert len(ready) > 3 * 2  # more journals than a few rounds of the threads
    d365.erp_control(
        ERP, "faults", {"kind": "slow", "seconds": 0.2, "path": "/data/$batch", "times": -1}
    )

    def interrupt_after_the_first(total):
        interrupted = threading.Event()

        def advance(done):
            if not interrupted.is_set():  # one Ctrl-C, as the first journal is done
                interrupted.set()
                os.kill(os.getpid(), signal.SIGINT)

        return advance

    # Python's own Ctrl-C handler, even where the test runner started with SIGINT ignored
    # (a background job of a non-interactive shell, as CI may be).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            post(ERP, on_start=interrupt_after_the_first)
    finally:
        signal.signal(signal.SIGINT, previous)

    # Only the journals already in flight (two threads' worth) were sent, not the whole queue.
    assert len(erp_documents(d365, ERP)) <= len(ready) // 2
    assert post(ERP).stopped is None
    keys = Counter(document.key for document in erp_documents(d365, ERP))
    assert len(keys) == len(ready) and set(keys.values()) == {1}
