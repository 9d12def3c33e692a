"""`dbt build` stays within DuckDB's configured memory limit: it spills to a temp directory
beside the warehouse rather than failing or growing (issue 17, memory bounded by design)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from loaders.pipeline import run_load
from tests.conftest import start_sandbox, stop
from transform import build as transform

# Two days of 20 locations x 300 orders (12,000 orders) do not fit in it: a full build spills
# about 200 MB. (Below ~150 MB DuckDB cannot even hold the row groups base_toast__orders writes,
# one block per column of the order struct per thread, and fails instead.)
SMALL_LIMIT = "192MB"


class SpillWatcher:
    """Polls a directory while the build runs and keeps the most bytes it ever held (DuckDB
    removes its spill files as soon as it has read them back)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.most_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                held = sum(f.stat().st_size for f in self.directory.iterdir() if f.is_file())
            except OSError:  # not there yet, or a file went while we looked
                held = 0
            self.most_bytes = max(self.most_bytes, held)
            self._stop.wait(0.005)

    def __enter__(self) -> SpillWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def lines(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select * from finance.journal_lines order by journal_id, line_number"
        ).fetchall()


@pytest.fixture
def group_sandbox(tmp_path, warehouse, monkeypatch):
    """A 20-location Toast sandbox without rate limits, the loader pointed at it."""
    process, sandbox = start_sandbox(tmp_path, locations=20, orders_per_day=300, rate_limits=False)
    monkeypatch.setenv("SOURCES__TOAST__BASE_URL", sandbox.url)
    monkeypatch.setenv("SOURCES__TOAST__CLIENT_ID", sandbox.client_id)
    monkeypatch.setenv("SOURCES__TOAST__CLIENT_SECRET", sandbox.client_secret)
    yield sandbox
    stop(process)


def test_a_build_under_a_small_memory_limit_spills_beside_the_warehouse_and_succeeds(
    group_sandbox, warehouse, monkeypatch
):
    group_sandbox.freeze(datetime.now(timezone.utc))
    last = datetime.now(timezone.utc).date() - timedelta(days=30)
    assert run_load(business_date_range=(last - timedelta(days=1), last)).ok
    monkeypatch.setenv("CLOSEOUT_BUILD_DUCKDB_MEMORY", SMALL_LIMIT)

    with SpillWatcher(Path(f"{warehouse}.tmp")) as spill:
        small = transform.run_build(full_refresh=True, quiet=True)

    assert small.ok, [f"{p.name}: {p.message}" for p in small.errors]
    assert spill.most_bytes > 0, "nothing was spilled: the limit did not reach dbt's connection"
    spilled_lines = lines(warehouse)
    assert len(spilled_lines) > 100

    # The same journals as a build with room to spare.
    monkeypatch.setenv("CLOSEOUT_BUILD_DUCKDB_MEMORY", "2GB")
    with SpillWatcher(Path(f"{warehouse}.tmp")) as roomy:
        assert transform.run_build(full_refresh=True, quiet=True).ok
    assert roomy.most_bytes == 0
    assert lines(warehouse) == spilled_lines
