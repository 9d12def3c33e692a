"""The webhook spool: Toast's events, durable before they are acknowledged.

Toast wants a 2xx within 2 s, and the warehouse has one writer, which a load or a build may
hold for minutes. So an event is written here first, a SQLite file of its own (WAL, synced
on commit), and applied to the warehouse later by whoever holds the run lock. A process
killed after the answer loses nothing: the next start applies what is still pending.

Events are keyed by Toast's event `guid`: a duplicate or a replay is acknowledged again and
never stored twice. Only the body is kept; no header, so no signature or secret, is stored.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec

from closeout.warehouse import warehouse_path

SPOOL_SETTING = "CLOSEOUT_WEBHOOK_SPOOL"
# Applied events keep their bodies this long (to look into), then only their guid and outcome.
KEEP_APPLIED_BODIES = timedelta(days=7)
COUNTERS = ("received", "refused", "verified", "duplicates", "applied")

_SCHEMA = """
create table if not exists events (
    guid text primary key,
    received_at text not null,
    event_type text,
    restaurant_guid text,
    body blob not null,
    applied_at text,
    outcome text
);
create index if not exists events_pending on events (applied_at) where applied_at is null;
create table if not exists counters (name text primary key, n integer not null);
"""


class MessageDetails(msgspec.Struct):
    restaurantGuid: str | None = None  # noqa: N815 (Toast's name)
    order: msgspec.Raw = msgspec.Raw()  # the order's exact bytes; msgspec has no optional Raw


class WebhookMessage(msgspec.Struct):
    """What closeout reads of a Toast webhook message; the rest stays in its bytes."""

    guid: str | None = None
    eventType: str | None = None  # noqa: N815
    details: MessageDetails | None = None


decode_message = msgspec.json.Decoder(WebhookMessage).decode


@dataclass(frozen=True)
class SpooledEvent:
    guid: str
    restaurant_guid: str | None
    event_type: str | None
    body: bytes


def spool_path() -> Path:
    """`CLOSEOUT_WEBHOOK_SPOOL`, or `<warehouse>.webhooks.sqlite` beside the warehouse."""
    configured = os.environ.get(SPOOL_SETTING)
    if configured:
        return Path(configured).expanduser().resolve()
    path = warehouse_path()
    return path.with_name(f"{path.stem}.webhooks.sqlite")


class Spool:
    def __init__(self, path: Path | None = None):
        self.path = path or spool_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection behind a lock: the web server's worker threads and the applier share it.
        self._con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._unsaved_refusals = 0  # written with the next event, not each on its own
        with self._lock:
            self._con.execute("pragma journal_mode = wal")
            self._con.execute("pragma synchronous = full")  # durable when commit returns
            self._con.executescript(_SCHEMA)

    def accept(self, body: bytes) -> tuple[bool, SpooledEvent]:
        """Store a verified event; False when its guid was already stored (a duplicate or a
        replay), which is counted and not stored again."""
        event = _describe(body)
        with self._lock, self._con:
            self._con.execute("begin immediate")
            inserted = self._con.execute(
                "insert or ignore into events (guid, received_at, event_type, restaurant_guid, "
                "body) values (?, ?, ?, ?, ?)",
                (event.guid, _now(), event.event_type, event.restaurant_guid, body),
            ).rowcount
            self._bump("received", "verified", *(() if inserted else ("duplicates",)))
            self._save_refusals()
        return bool(inserted), event

    def refuse(self) -> None:
        """Count a message refused unread or unverified (it is not stored). Kept in memory
        until the next write: forgeries must not be able to make every answer wait on a
        disk sync, and a lost count of them loses no event."""
        with self._lock:
            self._unsaved_refusals += 1

    def pending(self, max_bytes: int = 64 * 2**20) -> list[SpooledEvent]:
        """The oldest events not applied yet, up to about `max_bytes` of bodies (at least
        one), so what is applied at once has a ceiling whatever piled up."""
        events, size = [], 0
        with self._lock:
            rows = self._con.execute(
                "select guid, restaurant_guid, event_type, body from events "
                "where applied_at is null order by rowid"
            )
            for row in rows:
                if events and size + len(row[3]) > max_bytes:
                    break
                events.append(SpooledEvent(*row))
                size += len(row[3])
            rows.close()  # an unfinished read would hold its snapshot open
        return events

    def waiting(self) -> tuple[int, datetime | None, datetime | None]:
        """How many events wait to be applied, and when the oldest and newest arrived."""
        with self._lock:
            count, oldest, newest = self._con.execute(
                "select count(*), min(received_at), max(received_at) from events "
                "where applied_at is null"
            ).fetchone()
        parse = datetime.fromisoformat
        return count, oldest and parse(oldest), newest and parse(newest)

    def mark_applied(self, outcomes: dict[str, str]) -> None:
        """Record each event's outcome ("applied", "rejected: why", "ignored: why")."""
        with self._lock, self._con:
            self._con.execute("begin immediate")
            now = _now()
            self._con.executemany(
                "update events set applied_at = ?, outcome = ? where guid = ?",
                [(now, outcome, guid) for guid, outcome in outcomes.items()],
            )
            applied = sum(outcome == "applied" for outcome in outcomes.values())
            if applied:
                self._bump("applied", by=applied)
            self._save_refusals()

    def forget_applied_bodies(self, after: timedelta = KEEP_APPLIED_BODIES) -> int:
        """Empty the bodies of events applied longer ago than `after`; the guid and outcome
        stay, so a late duplicate is still recognised. Freed pages are reused by new events."""
        cutoff = (datetime.now(timezone.utc) - after).isoformat()
        with self._lock, self._con:
            self._con.execute("begin immediate")
            return self._con.execute(
                "update events set body = x'' where applied_at < ? and length(body) > 0",
                (cutoff,),
            ).rowcount

    def counters(self) -> dict[str, int]:
        with self._lock:
            found = dict(self._con.execute("select name, n from counters").fetchall())
            unsaved = self._unsaved_refusals
        counts = {name: found.get(name, 0) for name in COUNTERS}
        counts["received"] += unsaved
        counts["refused"] += unsaved
        return counts

    def close(self) -> None:
        with self._lock:
            if self._unsaved_refusals:
                with self._con:
                    self._con.execute("begin immediate")
                    self._save_refusals()
            self._con.close()

    def _save_refusals(self) -> None:
        if self._unsaved_refusals:
            self._bump("received", "refused", by=self._unsaved_refusals)
            self._unsaved_refusals = 0

    def _bump(self, *names: str, by: int = 1) -> None:
        self._con.executemany(
            "insert into counters (name, n) values (?, ?) "
            "on conflict (name) do update set n = n + excluded.n",
            [(name, by) for name in names],
        )


def _describe(body: bytes) -> SpooledEvent:
    try:
        event = decode_message(body)
    except msgspec.DecodeError:
        event = WebhookMessage()
    # Without a guid, the body's digest keys it: the same body twice is still one event.
    guid = event.guid or "sha256:" + hashlib.sha256(body).hexdigest()
    restaurant = event.details.restaurantGuid if event.details else None
    return SpooledEvent(guid, restaurant, event.eventType, body)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
