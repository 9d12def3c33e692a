"""One cycle of `closeout serve`: spool -> load -> build -> post for everything due at once.

However many locations fell due and however many webhook events arrived, a cycle runs one
load (of the due locations together), one dbt build and one post, holding the run lock, so a
500-location group runs a handful of builds a night rather than 500, and nothing runs twice at
once (a `closeout run` from cron waits for the lock like any other writer).
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from closeout import audit, warehouse
from closeout.errors import WarehouseError
from closeout.run_lock import run_lock
from closeout.webhook_spool import Spool
from posting import failpoints

log = logging.getLogger("closeout.serve")


@dataclass
class Work:
    """What a cycle is to do. `locations` None with `load` True: every location."""

    triggers: list[str]
    load: bool = False
    locations: set[str] | None = None
    # Read these business dates rather than what changed since the last load (a past night
    # replayed, as benchmarks/bench_serve.py does).
    business_dates: tuple[date, date] | None = None
    events: bool = False
    build: bool = False


@dataclass
class CycleRecord:
    started_at: datetime
    triggers: list[str]
    locations: int = 0
    events_applied: int = 0
    events_rejected: int = 0
    orders_loaded: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    posted: int = 0
    held: int = 0
    failed: int = 0
    loaded_ok: set[str] = field(default_factory=set)
    load_failed: dict[str, str] = field(default_factory=dict)  # location -> why
    post_unfinished: str | None = None  # why the ERP took not all (down, refused login...)
    build_failed: str | None = None
    webhooks_failed: str | None = None  # applying the spool failed; its events stay pending
    skipped: str | None = None  # the run lock stayed taken: nothing was done
    error: str | None = None
    finished_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not (
            self.load_failed
            or self.post_unfinished
            or self.build_failed
            or self.webhooks_failed
            or self.skipped
            or self.error
        )

    def summary(self) -> str:
        stages = ", ".join(f"{stage} {secs:.1f} s" for stage, secs in self.seconds.items())
        parts = [
            f"{'+'.join(self.triggers)}: {self.locations} location(s)",
            f"{self.events_applied} webhook order(s)",
            f"{self.orders_loaded} order(s) loaded",
            f"posted {self.posted}, held {self.held}, failed {self.failed}",
        ]
        line = "; ".join(parts) + (f" ({stages})" if stages else "")
        problems = [
            *(f"load of {guid} failed: {why}" for guid, why in self.load_failed.items()),
            *filter(
                None,
                [
                    self.skipped,
                    self.webhooks_failed,
                    self.build_failed,
                    self.post_unfinished,
                    self.error,
                ],
            ),
        ]
        return line + "".join(f"\n  ! {problem}" for problem in problems)


def run_cycle(work: Work, spool: Spool | None, erp: str | None, describe) -> CycleRecord:
    """Do `work` under the run lock. `describe(exc)` is the operator's message for an error
    (None for a bug, which is logged with its traceback and reported as such)."""
    record = CycleRecord(datetime.now(timezone.utc), work.triggers)
    with ExitStack() as held:
        try:
            held.enter_context(run_lock("closeout serve"))
        except WarehouseError as exc:  # another command held it CLOSEOUT_WAIT_SECONDS
            record.skipped = f"skipped: {exc}"
            record.finished_at = datetime.now(timezone.utc)
            return record
        try:
            _stages(work, spool, erp, record, describe)
        except Exception as exc:  # noqa: BLE001 - the service reports and carries on
            record.error = describe(exc)
            if record.error is None:
                log.exception("cycle failed")
                record.error = f"unexpected error ({type(exc).__name__}: {exc}); see the log"
        record.finished_at = datetime.now(timezone.utc)
        _record(record)
        built = record.build_failed is None and record.error is None
        if built and record.seconds.keys() & {"build", "post"}:
            _publish(record, describe)  # after the record, so the copy shows this cycle
    return record


def _publish(record: CycleRecord, describe) -> None:
    from closeout.publish import publish

    try:
        publish()
    except Exception as exc:  # noqa: BLE001 - the analysts keep the previous copy
        record.error = describe(exc) or f"publishing the analysts' copy failed: {exc}"


def _stages(work: Work, spool: Spool | None, erp: str | None, record: CycleRecord, describe):
    from loaders.pipeline import run_load
    from loaders.toast.webhook_orders import apply_spooled_orders
    from posting.ready import post_ready
    from transform.build import run_build

    changed = work.build
    if spool is not None and work.events:
        try:
            with _timed(record, "webhooks"):
                applied = apply_spooled_orders(spool)
            spool.forget_applied_bodies()
        except Exception as exc:  # noqa: BLE001 - the events wait; the due loads go on
            log.warning("applying the webhook spool failed", exc_info=True)
            why = describe(exc) or f"{type(exc).__name__}: {exc}"
            record.webhooks_failed = f"webhook events not applied (they wait): {why}"
        else:
            record.events_applied, record.events_rejected = applied.applied, applied.rejected
            changed |= bool(applied.applied or applied.rejected)
    if work.load:
        guids = sorted(work.locations) if work.locations is not None else None
        with _timed(record, "load"):
            loaded = run_load(business_date_range=work.business_dates, restaurant_guids=guids)
        failpoints.failpoint("serve.after_load")
        report = loaded.report
        record.locations = len(report.locations)
        record.orders_loaded = sum(loc.orders for loc in report.locations.values())
        record.loaded_ok = {guid for guid, loc in report.locations.items() if loc.ok}
        record.load_failed = {
            loc.restaurant_guid: "; ".join(loc.errors) or "failed" for loc in report.failed
        }
        changed = True
    if changed:
        with _timed(record, "build"):
            built = run_build(quiet=True)
        if not built.ok:
            failed = ", ".join(problem.name for problem in built.errors) or "dbt build"
            record.build_failed = f"the build failed ({failed}); nothing posted (closeout build)"
            return
        failpoints.failpoint("serve.after_build")
    with _timed(record, "post"):
        posted = post_ready(erp)
    record.posted = len(posted.by_state("posted")) + len(posted.by_state("adjusted"))
    record.held = len(posted.by_state("held"))
    record.failed = len(posted.by_state("failed"))
    unavailable = posted.by_state("unavailable")
    if posted.stopped or unavailable:
        record.post_unfinished = posted.stopped or (
            f"{len(unavailable)} document(s) not sent: {unavailable[0].message}"
        )


class _timed:
    def __init__(self, record: CycleRecord, stage: str):
        self.record, self.stage = record, stage

    def __enter__(self):
        self.started = time.perf_counter()

    def __exit__(self, *exc):
        self.record.seconds[self.stage] = time.perf_counter() - self.started


def _record(record: CycleRecord) -> None:
    """closeout_audit.service_runs; best effort, like the stopped-load record: the warehouse
    itself may be what failed, and the cycle's outcome is printed either way."""
    problems = [
        *record.load_failed.values(),
        record.webhooks_failed,
        record.build_failed,
        record.post_unfinished,
        record.error,
    ]
    try:
        with warehouse.connect() as con:
            audit.ensure_tables(con)
            con.execute(
                f"insert into {audit.AUDIT_SCHEMA}.service_runs "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    record.started_at,
                    record.finished_at,
                    "+".join(record.triggers),
                    record.locations,
                    record.events_applied,
                    record.orders_loaded,
                    record.seconds.get("load"),
                    record.seconds.get("build"),
                    record.seconds.get("post"),
                    record.posted,
                    record.held,
                    record.failed,
                    "ok" if record.ok else "failed",
                    "\n".join(filter(None, problems)) or None,
                ],
            )
    except Exception:  # noqa: BLE001 - reported in the cycle's printed summary instead
        log.warning("could not record the cycle in service_runs", exc_info=True)
