"""One closeout command that writes the warehouse at a time (load, build, post, run, replay...).

The lock is a file in the warehouse's state directory, held with an OS lock (filelock): it
is released when the process ends however it ends, so a killed run never leaves it stale.
The holder writes who it is (PID, command, since when) beside it, for the message a second
run gives when it has waited CLOSEOUT_WAIT_SECONDS for it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from closeout.errors import WarehouseError
from closeout.waiting import WAIT_SETTING, Busy, wait_for
from closeout.warehouse import state_dir, warehouse_path


def lock_path() -> Path:
    return state_dir() / f"{warehouse_path().name}.run.lock"


def holder_path() -> Path:
    return state_dir() / f"{warehouse_path().name}.run.json"


@contextmanager
def run_lock(command: str) -> Iterator[None]:
    """Hold the warehouse's run lock for `command`, waiting for another holder with a countdown;
    WarehouseError naming the holder when the wait runs out."""
    lock = FileLock(str(lock_path()))

    def attempt() -> None:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise Busy(describe_holder()) from None

    try:
        wait_for(attempt, f"the run lock of {warehouse_path()}")
    except Busy as busy:
        raise WarehouseError(
            f"Another closeout command is using the warehouse {warehouse_path()}: "
            f"{busy.holder}; waited {busy.waited:.0f} s ({WAIT_SETTING}). Let it finish, "
            "then run again."
        ) from None
    try:
        _write_holder(command)
        yield
    finally:
        holder_path().unlink(missing_ok=True)
        lock.release()


def describe_holder() -> str:
    """'`closeout run`, PID 1234, since 11:02:03 UTC', from what the holder wrote."""
    try:
        holder = json.loads(holder_path().read_text())
    except (OSError, ValueError):
        return "another closeout process (it has not said which yet)"
    return f"`{holder['command']}`, PID {holder['pid']}, since {holder['since']}"


def _write_holder(command: str) -> None:
    since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    text = json.dumps({"pid": os.getpid(), "command": command, "since": since})
    tmp = holder_path().with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(holder_path())


def command_line() -> str:
    """How this process was started, as an operator would have typed it."""
    return " ".join(["closeout", *sys.argv[1:]])
