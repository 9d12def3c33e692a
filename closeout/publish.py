"""The analysts' copy of the warehouse, published after each build that passed.

Analysts must never hold the warehouse itself: DuckDB lets one process write a file only while
no other has it open, so one open session would stop the next run. Instead each run that built
successfully copies the warehouse to `<warehouse>.analytics.duckdb` (CLOSEOUT_ANALYTICS_DB):

- consistent: the copy is made while this process holds the warehouse (no other process can
  open it meanwhile), after a CHECKPOINT has moved everything committed into the file;
- atomic: it is written to a temporary file beside the target, checked to open, then renamed
  over it. A session already open keeps reading the file it opened (the old inode) until it
  disconnects; the next session opens the new build;
- never blocked: renaming over a file that readers hold needs no lock of theirs.

The copy holds what the warehouse holds. No secret is kept there: tokens live in
`.closeout/tokens.enc`, and posting's `erp_requests` audit has passwords, client secrets,
tokens and session ids replaced by `***` before it is written (tests/test_publish.py checks
a whole run's copy for every credential the sandboxes were given).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from closeout import warehouse
from closeout.errors import WarehouseError
from closeout.warehouse import analytics_path, warehouse_path


@dataclass(frozen=True)
class Published:
    path: Path
    size: int


def publish() -> Published:
    """Copy the warehouse to the analysts' path, atomically."""
    source, target = warehouse_path(), analytics_path()
    if target == source:
        raise WarehouseError(
            f"{warehouse.ANALYTICS_SETTING} names the warehouse itself ({source}): point it at "
            "another file, e.g. the default beside it, closeout.analytics.duckdb."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with warehouse.connect() as con:  # held until copied: nobody writes meanwhile
            con.execute("checkpoint")
            _require_checkpointed(source)
            shutil.copyfile(source, tmp)
        _check_opens(tmp)
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync(target.parent)
    except OSError as exc:
        raise WarehouseError(
            f"could not publish the analysts' copy {target}: {exc}. The warehouse is "
            f"unaffected; free the space or fix {warehouse.ANALYTICS_SETTING}, then run "
            "`closeout build` again."
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return Published(target, target.stat().st_size)


def _require_checkpointed(source: Path) -> None:
    """Committed data still in the write-ahead log would be missing from a copy of the file."""
    wal = source.with_name(source.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise WarehouseError(
            f"could not publish the analysts' copy: {wal} still holds changes after a "
            "checkpoint (another connection of this process is open); run `closeout build` "
            "again."
        )


def _check_opens(path: Path) -> None:
    """Never publish a file analysts could not open."""
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("select count(*) from information_schema.tables").fetchone()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
