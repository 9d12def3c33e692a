"""The Toast sandbox's orders webhook, seen from a real endpoint: what Toast's guide says a
subscriber receives (the whole order, signed, with Toast's headers), its retry rule, and the
faults tests inject. The signature is checked against the guide's recipe written out here,
not only against closeout's own verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections import defaultdict, deque
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from closeout.webhook_signature import signature_is_valid
from loaders.toast.client import ToastClient
from tests.kit.examples import examples_dir

SECRET = "whsec-sandbox-subscription"


class Endpoint:
    """A webhook endpoint on 127.0.0.1 that records each POST and answers, per order, the
    statuses it was given in turn (then 200); `slow` orders' first attempts take 2.5 s."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict, bytes, float]] = []
        self.answers: dict[str, deque] = defaultdict(deque)
        self.slow: set[str] = set()
        self._changed = threading.Condition()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                order = json.loads(body)["details"]["order"]["guid"]
                if order in endpoint.slow and self.headers["Toast-Attempt-Number"] == "1":
                    time.sleep(2.5)  # past Toast's 2 s
                status = endpoint.answers[order].popleft() if endpoint.answers[order] else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with endpoint._changed:
                    endpoint.posts.append((dict(self.headers), body, time.monotonic()))
                    endpoint._changed.notify_all()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/toast"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def of(self, order: str) -> list[tuple[dict, dict, bytes, float]]:
        """(headers, message, body, arrival) of each POST about `order`, in arrival order."""
        with self._changed:
            posts = list(self.posts)
        found = []
        for headers, body, at in posts:
            message = json.loads(body)
            if message["details"]["order"]["guid"] == order:
                found.append((headers, message, body, at))
        return found

    def wait(self, order: str, count: int, timeout: float = 15) -> list:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.of(order)) < count and time.monotonic() < deadline:
                self._changed.wait(0.1)
        return self.of(order)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def endpoint(toast):
    endpoint = Endpoint()
    toast.control("webhook_settings", {"minute_seconds": 0.2, "poll_seconds": 0.1})
    toast.control("subscribe", {"url": endpoint.url, "secret": SECRET})
    yield endpoint
    toast.control("reset")  # ends the subscription
    endpoint.close()


@pytest.fixture
def paid_orders(toast) -> list[str]:
    """Closed orders paid by card, three days back, at the first restaurant: they take a tip."""
    client = ToastClient(toast.url, toast.client_id, toast.client_secret)
    day = (datetime.now(timezone.utc) - timedelta(days=3)).strftime("%Y%m%d")
    orders = [
        order
        for _, page in client.order_pages(toast.restaurants[0], {"businessDate": day})
        for order in json.loads(page)
    ]
    client.close()
    paid = [
        order["guid"]
        for order in orders
        if not order["voided"]
        and any(p["type"] == "CREDIT" for check in order["checks"] for p in check["payments"])
    ]
    assert len(paid) >= 6
    return paid


def edit(toast, order: str, kind: str = "add_tip") -> dict:
    return toast.control("edit", {"restaurant": toast.restaurants[0], "order": order, "kind": kind})


def guide_redacted(value):
    """The guide's "Omitted values": guest names, phone and address left out, externalId
    null."""
    omitted = {"firstName", "lastName", "phone", "address1", "address2", "city", "state"}
    if isinstance(value, dict):
        return {
            key: None if key == "externalId" else guide_redacted(item)
            for key, item in value.items()
            if key not in omitted | {"zipCode"}
        }
    if isinstance(value, list):
        return [guide_redacted(item) for item in value]
    return value


def outcomes(toast, order: str) -> list:
    """What each attempt to deliver `order`'s messages got, in order (the sandbox's log)."""
    return [e["outcome"] for e in toast.stats()["webhooks"]["log"] if e.get("order") == order]


def guide_signature(secret: str, body: bytes, timestamp: str) -> str:
    """The guide's Java sample in Python: HMAC-SHA256 of body + timestamp, Base64."""
    text = body.decode("utf-8") + timestamp
    return base64.b64encode(
        hmac.new(secret.encode(), text.encode("utf-8"), hashlib.sha256).digest()
    ).decode()


def test_a_changed_order_is_sent_whole_and_signed(toast, endpoint, paid_orders):
    order = paid_orders[0]
    edited = edit(toast, order)
    [(headers, message, body, _)] = endpoint.wait(order, 1)

    assert headers["Toast-Event-Type"] == "order_updated"
    assert headers["Toast-Restaurant-External-ID"] == toast.restaurants[0]
    assert headers["Toast-Attempt-Number"] == "1"
    assert headers["Toast-Signature"] == guide_signature(SECRET, body, message["timestamp"])
    assert signature_is_valid(body, headers["Toast-Signature"], ["an-older-secret", SECRET])
    assert not signature_is_valid(body, headers["Toast-Signature"], ["an-older-secret"])
    assert not signature_is_valid(
        body.replace(b"CREDIT", b"CASH!"), headers["Toast-Signature"], [SECRET]
    )
    # the envelope of Toast's own sample message (devOrdersWebhookRef), field for field
    sample = json.loads((examples_dir() / "apiDevGuide-devOrdersWebhookRef__0.json").read_text())
    assert message.keys() == sample.keys()
    assert message["details"].keys() == sample["details"].keys()
    assert [message[k] for k in ("eventCategory", "eventType")] == [
        sample[k] for k in ("eventCategory", "eventType")
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", message["timestamp"])
    assert message["details"]["restaurantGuid"] == toast.restaurants[0]
    # the document the API serves for the order, with the tip just added, less what the
    # guide says webhook orders omit
    assert message["details"]["order"] == guide_redacted(json.loads(json.dumps(edited)))
    assert message["details"]["order"]["modifiedDate"] == edited["modifiedDate"]


def test_failed_deliveries_are_sent_again_after_five_and_ten_minutes_then_dropped(
    toast, endpoint, paid_orders
):
    """With Toast's minutes scaled to 0.2 s: retries 1 s and then 2 s after a failure."""
    always_failing, not_found_once, refused, slow = paid_orders[:4]
    endpoint.answers[always_failing].extend([503, 500, 502])
    endpoint.answers[not_found_once].append(404)
    endpoint.answers[refused].append(400)
    endpoint.slow.add(slow)
    for order in (always_failing, not_found_once, refused, slow):
        edit(toast, order)

    failing = endpoint.wait(always_failing, 3)
    assert [h["Toast-Attempt-Number"] for h, *_ in failing] == ["1", "2", "3"]
    assert len({m["guid"] for _, m, _, _ in failing}) == 1  # the same message each time
    gaps = [later[3] - earlier[3] for earlier, later in zip(failing, failing[1:], strict=False)]
    assert 0.9 <= gaps[0] < 2.0 and 1.9 <= gaps[1] < 3.5  # not the next step up
    assert [h["Toast-Attempt-Number"] for h, *_ in endpoint.wait(not_found_once, 2)] == ["1", "2"]
    assert [h["Toast-Attempt-Number"] for h, *_ in endpoint.wait(slow, 2)] == ["1", "2"]
    time.sleep(2.5)  # a fourth attempt, or a retry of the 400, would have come by now
    assert len(endpoint.of(always_failing)) == 3
    assert len(endpoint.of(refused)) == 1
    assert outcomes(toast, always_failing) == [503, 500, 502]
    assert outcomes(toast, slow) == ["timeout", 200]
    assert outcomes(toast, refused) == [400]
    assert toast.stats()["webhooks"]["gave_up"] == 1


def test_injected_faults_drop_duplicate_reorder_and_forge(toast, endpoint, paid_orders):
    dropped, duplicated, forged, held, overtaking = paid_orders[:5]
    for kind, order in (
        ("drop", dropped),
        ("duplicate", duplicated),
        ("bad_signature", forged),
        ("reorder", held),
    ):
        toast.control("webhook_faults", {"kind": kind, "order": order})
    for order in (dropped, duplicated, forged, held):
        edit(toast, order)
        time.sleep(0.3)  # each change in a poll of its own
    edit(toast, overtaking)

    twice = endpoint.wait(duplicated, 2)
    assert len({m["guid"] for _, m, _, _ in twice}) == 1
    [(headers, _, body, _)] = endpoint.wait(forged, 1)
    assert not signature_is_valid(body, headers["Toast-Signature"], [SECRET])
    [(_, _, _, held_at)] = endpoint.wait(held, 1)
    [(_, _, _, overtaking_at)] = endpoint.wait(overtaking, 1)
    assert overtaking_at < held_at  # the held message went after the next one
    assert endpoint.of(dropped) == []
    assert toast.stats()["webhooks"]["dropped"] == 1
