"""Orders that arrived by webhook, applied to `toast_raw.orders` by the loader's own rules.

An `order_updated` event carries the whole order. Its exact bytes go through `parse_page`,
as a page of one, so the keying, the rejects and their reasons are the loader's; and through
`OrderStore.write`, so a stored copy as new as the event (by modifiedDate) is never replaced:
Toast leaves the guest's details out of webhook orders, so of two copies of one version the
API's is kept. No watermark moves: delivery is not guaranteed, so the modified-time window
of the next load still reads everything.

The caller holds the run lock. Events are marked applied in the spool after the warehouse
commit; a crash between the two applies them again, which changes nothing (the same
modifiedDate: the later read wins, with the same bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import msgspec

from closeout.warehouse import RAW_DATASET, warehouse_path
from closeout.webhook_spool import Spool, SpooledEvent, decode_message
from loaders.pipeline import duckdb_memory_limit
from loaders.toast.order_store import OrderStore
from loaders.toast.orders import ParsedPage, parse_page, reject_row
from posting.failpoints import failpoint

ORDER_EVENTS = ("order_updated", "channel_order_updated")


@dataclass
class AppliedEvents:
    applied: int = 0
    rejected: int = 0
    ignored: int = 0
    orders: set[tuple[str, str]] = field(default_factory=set)  # (restaurant, order guid)


def apply_spooled_orders(spool: Spool) -> AppliedEvents:
    """Apply the spool's pending events to the warehouse (the caller holds the run lock), a
    bounded chunk per commit, each chunk marked applied after its commit."""
    result = AppliedEvents()
    store: OrderStore | None = None
    try:
        while events := spool.pending():
            now = datetime.now(timezone.utc)
            parsed = ParsedPage()
            outcomes = {event.guid: _read(event, now, parsed, result) for event in events}
            if store is None:
                store = OrderStore(warehouse_path(), RAW_DATASET, duckdb_memory_limit())
            store.write([parsed], {}, now, replace_same_version=False)
            failpoint("webhook.applied_not_marked")
            spool.mark_applied(outcomes)
    finally:
        if store is not None:
            store.close()
    return result


def _read(event: SpooledEvent, now: datetime, into: ParsedPage, result: AppliedEvents) -> str:
    """Add the event's order (or its reject) to `into`; the event's outcome."""
    if event.event_type not in ORDER_EVENTS:
        result.ignored += 1
        return f"ignored: event type {event.event_type!r} is not an order update"
    source = f"webhook:{event.guid}"
    try:
        details = decode_message(event.body).details
    except msgspec.DecodeError as exc:
        details, why = None, f"the message is not the documented JSON ({exc})"
    else:
        why = "the message has no details.order or details.restaurantGuid"
    if details is None or bytes(details.order) in (b"", b"null") or not details.restaurantGuid:
        into.rejects.append(
            reject_row(event.restaurant_guid or "", source, now, event.body, why, event.guid)
        )
        result.rejected += 1
        return f"rejected: {why}"
    before = len(into.rejects)
    parse_page(b"[" + bytes(details.order) + b"]", details.restaurantGuid, source, now, into)
    if len(into.rejects) > before:
        result.rejected += 1
        return f"rejected: {into.rejects[-1]['reason']}"
    result.applied += 1
    result.orders.add((details.restaurantGuid, into.rows["order_guid"][-1]))
    return "applied"
