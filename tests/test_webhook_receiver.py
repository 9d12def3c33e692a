"""closeout's webhook endpoint on a real server (uvicorn), fed by the Toast sandbox: verified
events are durable in the spool before the answer, duplicates and forgeries change nothing,
and applying the spool puts each order in `toast_raw.orders` by the loader's rules."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import duckdb
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from closeout import webhook_endpoint
from closeout.run_lock import run_lock
from closeout.webhook_endpoint import WEBHOOK_PATH, webhook_routes
from closeout.webhook_signature import toast_signature
from closeout.webhook_spool import Spool
from loaders.pipeline import run_load
from loaders.toast.webhook_orders import apply_spooled_orders

SECRET = "whsec-current"


@pytest.fixture
def receiver(tmp_path):
    """The endpoint served by uvicorn on 127.0.0.1, with two secrets (an overlap)."""
    spool = Spool(tmp_path / "spool.sqlite")
    app = Starlette(routes=webhook_routes(spool, ["whsec-previous", SECRET]))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}{WEBHOOK_PATH}", spool
    server.should_exit = True
    thread.join(5)
    spool.close()


def stored(warehouse, restaurant, order, columns="modified_at, order_json"):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            f"select {columns} from toast_raw.orders where restaurant_guid = ? and order_guid = ?",
            (restaurant, order),
        ).fetchall()


def card_paid_order(warehouse, restaurant, before):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            """select order_guid, order_json from toast_raw.orders
            where restaurant_guid = ? and business_date <= ?
              and not (order_json::json->>'voided')::boolean
              and order_json like '%"type":"CREDIT"%'
            order by order_guid limit 1""",
            (restaurant, before),
        ).fetchone()


def wait_for(condition, timeout=15):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def signed_post(url, body: bytes, secret: str = SECRET) -> httpx.Response:
    timestamp = json.loads(body)["timestamp"]
    return httpx.post(
        url,
        content=body,
        headers={"Toast-Signature": toast_signature(secret, body, timestamp)},
    )


def test_an_edit_in_toast_reaches_the_raw_orders_through_the_webhook(
    toast_env, warehouse, receiver
):
    url, spool = receiver
    as_of = datetime.now(timezone.utc)
    toast_env.freeze(as_of)
    assert run_load(backfill_days=3, lag_minutes=0).ok
    restaurant = toast_env.restaurants[0]
    order, before_json = card_paid_order(warehouse, restaurant, as_of.date() - timedelta(days=1))

    toast_env.control("webhook_settings", {"poll_seconds": 0.1})
    toast_env.control("subscribe", {"url": url, "secret": SECRET})
    toast_env.control(
        "webhook_faults",
        [
            {"kind": "duplicate", "order": order},
        ],
    )
    toast_env.control("clock", {})  # live again: the sandbox sees changes from now on
    edited_at = toast_env.edit_late(restaurant, order)
    wait_for(lambda: spool.counters()["duplicates"] >= 1)

    counters = spool.counters()
    assert counters["duplicates"] == 1 and counters["refused"] == 0
    assert counters["verified"] == counters["received"] >= 2
    pending = [event for event in spool.pending() if order.encode() in event.body]
    assert len(pending) == 1  # the duplicate was acknowledged, not stored again

    with run_lock("test: apply webhooks"):
        applied = apply_spooled_orders(spool)
    assert (restaurant, order) in applied.orders
    [(modified_at, order_json)] = stored(warehouse, restaurant, order)
    assert abs(modified_at - edited_at) < timedelta(milliseconds=2)
    assert order_json != before_json
    assert json.loads(order_json) == json.loads(pending[0].body)["details"]["order"]
    assert spool.pending() == []
    assert spool.counters()["applied"] == applied.applied

    # Another message with the same version changes nothing: of two copies of one version
    # the stored one stays (a webhook's copy lacks the guest's details).
    [extracted_at] = stored(warehouse, restaurant, order, "extracted_at")
    same_version = json.loads(pending[0].body)
    same_version["guid"] = "another-message-same-version"
    assert signed_post(url, json.dumps(same_version).encode()).status_code == 200
    with run_lock("test: apply webhooks"):
        assert apply_spooled_orders(spool).applied == 1
    assert stored(warehouse, restaurant, order, "extracted_at") == [extracted_at]

    # An older copy of the same order (a replay of before the edit) changes nothing.
    older = json.dumps(
        {
            "timestamp": "2026-01-01T00:00:00.000Z",
            "eventCategory": "order_updated",
            "eventType": "order_updated",
            "guid": "replayed-older-copy",
            "details": {"restaurantGuid": restaurant, "order": json.loads(before_json)},
        }
    ).encode()
    assert signed_post(url, older).status_code == 200
    with run_lock("test: apply webhooks"):
        apply_spooled_orders(spool)
    assert stored(warehouse, restaurant, order) == [(modified_at, order_json)]


def test_forged_and_malformed_messages_are_refused_or_rejected_never_lost(
    warehouse, receiver, monkeypatch
):
    url, spool = receiver
    message = {
        "timestamp": "2026-12-01T10:00:00.000Z",
        "eventCategory": "order_updated",
        "eventType": "order_updated",
        "guid": "evt-1",
        "details": {"restaurantGuid": "r-1", "order": {"guid": "o-1", "businessDate": 2026}},
    }
    body = json.dumps(message).encode()
    assert signed_post(url, body, secret="not-the-secret").status_code == 401
    assert httpx.post(url, content=body).status_code == 401  # no signature at all
    with monkeypatch.context() as patch:
        patch.setattr(webhook_endpoint, "MAX_BODY_BYTES", len(body) - 1)
        assert signed_post(url, body).status_code == 413  # refused before it is read whole
    assert spool.pending() == []
    assert spool.counters()["refused"] == 3

    # signed with the previous secret (overlapping subscriptions): accepted
    assert signed_post(url, body, secret="whsec-previous").status_code == 200
    assert signed_post(url, body).json() == {"event": "evt-1", "duplicate": True}
    with run_lock("test: apply webhooks"):
        applied = apply_spooled_orders(spool)
    assert (applied.applied, applied.rejected) == (0, 1)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(reason, source)] = con.execute(
            "select reason, source_url from toast_raw.rejects where record_guid = 'o-1'"
        ).fetchall()
    assert "invalid businessDate" in reason and source == "webhook:evt-1"
    assert spool.pending() == []
