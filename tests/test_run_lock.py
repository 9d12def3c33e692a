"""One run at a time per warehouse, and a busy warehouse (issue 15 §8), with real processes:
a second command waits for the run lock or the DuckDB file with a countdown up to
CLOSEOUT_WAIT_SECONDS, then exits with one line naming the holder's PID, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

DAY = (datetime.now(timezone.utc) - timedelta(days=2)).date().isoformat()


def closeout(*args: str, wait: float, **popen) -> subprocess.Popen:
    """A `closeout` command in a process of its own, as cron (or a second operator) starts it."""
    env = {**os.environ, "CLOSEOUT_WAIT_SECONDS": str(wait)}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error: ")]


def wait_for_file(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


def hold_warehouse_read_only(db: Path) -> subprocess.Popen:
    """An analyst's session on the warehouse itself: a read-only DuckDB connection, held until
    a line arrives on stdin."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb\n"
            f"con = duckdb.connect({str(db)!r}, read_only=True)\n"
            "print('open', flush=True)\n"
            "sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "open"
    return holder


@pytest.fixture
def loading(toast_env, monkeypatch):
    monkeypatch.setenv("SOURCES__TOAST__BACKFILL_DAYS", "1")
    return toast_env


def test_a_second_command_exits_naming_the_run_that_holds_the_lock(loading, warehouse):
    # A real `closeout load`, kept busy by a slow Toast, holds the run lock.
    loading.fault(kind="slow", seconds=6, path="/partners/v1/restaurants", times=1)
    first = closeout("load", "--from", DAY, wait=0)
    wait_for_file(warehouse.parent / ".closeout" / f"{warehouse.name}.run.json")

    for command in (["build"], ["run", "--erp", "d365"]):
        code, _, err = finish(closeout(*command, wait=1))
        assert code == 1, err
        [line] = error_lines(err)
        assert f"`closeout load --from {DAY}`, PID {first.pid}" in line
        assert "waited 1 s (CLOSEOUT_WAIT_SECONDS)" in line
        assert "Waiting for the run lock" in err  # the countdown
        assert "Traceback" not in err

    code, _, err = finish(first)
    assert code == 0, err


def test_a_second_command_waits_for_the_run_lock_then_runs(loading, warehouse):
    loading.fault(kind="slow", seconds=3, path="/partners/v1/restaurants", times=1)
    first = closeout("load", "--from", DAY, wait=0)
    wait_for_file(warehouse.parent / ".closeout" / f"{warehouse.name}.run.json")

    code, _, err = finish(closeout("load", "--from", DAY, wait=120))

    assert code == 0, err
    assert f"PID {first.pid}" in err and "s left" in err  # it waited, and said for whom
    assert first.poll() == 0  # the first had finished before the second could start


def test_a_session_on_the_warehouse_makes_a_run_wait_then_exit_naming_its_pid(loading, warehouse):
    code, _, err = finish(closeout("load", "--from", DAY, wait=0))
    assert code == 0, err
    holder = hold_warehouse_read_only(warehouse)
    try:
        started = time.monotonic()
        code, _, err = finish(closeout("load", "--from", DAY, wait=2))
        waited = time.monotonic() - started
    finally:
        holder.communicate("\n", timeout=10)

    assert code == 1, err
    [line] = error_lines(err)
    assert f"is held by PID {holder.pid} (" in line
    assert "waited 2 s (CLOSEOUT_WAIT_SECONDS)" in line
    assert f"{warehouse.stem}.analytics.duckdb" in line  # where analysts should go instead
    countdown = [line for line in err.splitlines() if line.startswith("Waiting for the warehouse")]
    assert countdown and all(f"held by PID {holder.pid}" in c for c in countdown)
    assert "s left" in countdown[0]
    assert waited >= 2
    assert "Traceback" not in err


def test_a_session_closed_within_the_wait_lets_the_run_finish(loading, warehouse):
    code, _, err = finish(closeout("load", "--from", DAY, wait=0))
    assert code == 0, err
    holder = hold_warehouse_read_only(warehouse)
    second = closeout("load", "--from", DAY, wait=120)
    try:
        first_line = second.stderr.readline()  # the countdown: it is waiting for the holder
        assert first_line.startswith("Waiting for the warehouse"), first_line
        assert f"held by PID {holder.pid}" in first_line
    finally:
        holder.communicate("\n", timeout=10)  # the analyst disconnects

    code, out, err = finish(second)
    assert code == 0, err
    assert "Traceback" not in err
