"""The Toast sandbox's orders webhook: `order_updated` pushed to subscribers as Toast pushes it.

Toast's guide (Webhook basics, Orders webhook, Message signing, Retry support, Timeouts):

- every order created or changed is sent whole, in the `details.order` of a message that
  carries its own `guid` and `timestamp`, less the guest's personal details (names, phone,
  address: omitted) and with every `externalId` null; with the headers `Toast-Signature`,
  `Toast-Event-Type`, `Toast-Event-Category`, `Toast-Restaurant-External-ID` and
  `Toast-Attempt-Number`;
- the signature is `closeout.webhook_signature.toast_signature` (the tests check it against
  the guide's own recipe);
- an endpoint has 2 s to connect and 2 s to answer; on a timeout, a 404, a 429 or a 5xx the
  message is sent again after 5 minutes, then after 10 more, then never; any other answer ends
  it. Delivery is not guaranteed, and order is not promised.

The sandbox finds what changed by polling its own dataset for orders modified since the last
look (the same rule as ordersBulk's modified window), so generated orders, late edits and
edits made through `/_sandbox/edit` are all sent. Tests scale Toast's minutes down
(`minute_seconds`) and inject faults: drop, duplicate, delay, reorder, bad_signature.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import httpx

from closeout.webhook_signature import toast_signature
from sandboxes.faults import FaultRule, Faults
from sandboxes.http import dump_json

EVENT_TYPE = "order_updated"
EVENT_CATEGORY = "orders"
# Toast: resend after 5 minutes, then after 10 more; then give up.
RETRY_AFTER_MINUTES = (5, 10)
TIMEOUT_SECONDS = 2.0
# The guide's "Omitted values" of order messages: left out, and externalId sent as null.
OMITTED = frozenset(
    ("firstName", "lastName", "phone", "address1", "address2", "city", "state", "zipCode")
)
# A change is looked for this long after it happened: an edit takes its time a moment before
# the dataset holds it, and a look in between would otherwise pass it by for good.
SETTLE_SECONDS = 0.5
# Messages in flight at once: one slow endpoint answer must not hold up the retries of others.
SENDERS = 8


@dataclass
class WebhookFault(FaultRule):
    """A fault on the messages of one restaurant or order (or all):

    drop           the message is never sent (Toast does not guarantee delivery)
    duplicate      the message is sent twice, same guid
    delay          the first attempt goes `seconds` late
    reorder        the message waits until the next message to the subscriber has gone
    bad_signature  the message is signed with the wrong secret
    """

    KINDS = ("drop", "duplicate", "delay", "reorder", "bad_signature")

    restaurant: str | None = None
    order: str | None = None

    def matches(self, restaurant: str, order: str) -> bool:
        return (not self.restaurant or self.restaurant == restaurant) and (
            not self.order or self.order == order
        )


@dataclass
class Subscription:
    id: str
    url: str
    secret: str


@dataclass
class Message:
    subscription: Subscription
    guid: str
    restaurant: str
    order_guid: str
    body: bytes
    timestamp: str
    signature: str
    generation: int
    attempt: int = 1
    # reordered messages that go once this one's first attempt is over
    release: list[Message] = field(default_factory=list)


@dataclass
class WebhookStats:
    messages: int = 0  # messages made (one per order change per subscriber)
    attempts: int = 0  # POSTs sent, retries and duplicates included
    delivered: int = 0  # attempts answered 2xx
    retried: int = 0  # attempts scheduled again after a timeout, 404, 429 or 5xx
    gave_up: int = 0  # messages whose last attempt failed
    dropped: int = 0  # messages a `drop` fault kept back
    answers: Counter = field(default_factory=Counter)  # status (or "timeout", "error") -> n
    log: deque = field(default_factory=lambda: deque(maxlen=5000))

    def view(self) -> dict:  # under the sender's lock (WebhookSender.stats_view)
        return {
            "messages": self.messages,
            "attempts": self.attempts,
            "delivered": self.delivered,
            "retried": self.retried,
            "gave_up": self.gave_up,
            "dropped": self.dropped,
            "answers": {str(k): v for k, v in self.answers.items()},
            "log": list(self.log),
        }


class WebhookSender:
    """Watches the dataset for changed orders and delivers them to the subscribers."""

    def __init__(self, dataset, clock, poll_seconds: float = 0.25):
        self.dataset = dataset
        self.clock = clock
        self.poll_seconds = self._default_poll_seconds = poll_seconds
        self.minute_seconds = 60.0
        self.faults = Faults(WebhookFault)
        self.stats = WebhookStats()
        self._subscriptions: dict[str, Subscription] = {}
        self._lock = threading.Lock()
        self._due: list[tuple[float, int, Message]] = []  # (monotonic time, tie, message)
        self._tie = itertools.count()
        self._held: dict[str, list[Message]] = {}  # by subscription: after its next message
        self._generation = 0  # a reset ends what earlier subscriptions had in flight
        self._cursor: datetime | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._http = httpx.Client(
            timeout=httpx.Timeout(TIMEOUT_SECONDS), limits=httpx.Limits(max_connections=SENDERS)
        )
        self._senders = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="toast-webhook")

    # -- subscriptions ------------------------------------------------------------------------
    def subscribe(self, url: str, secret: str) -> Subscription:
        subscription = Subscription(str(uuid.uuid4()), url, secret)
        with self._lock:
            if not self._subscriptions:
                # changes from now on
                self._cursor = self.clock.now() - timedelta(seconds=SETTLE_SECONDS)
            self._subscriptions[subscription.id] = subscription
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="toast-webhooks", daemon=True
                )
                self._thread.start()
        return subscription

    def unsubscribe(self, subscription_id: str) -> bool:
        with self._lock:
            return self._subscriptions.pop(subscription_id, None) is not None

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._subscriptions.clear()
            self._due.clear()
            self._held.clear()
            self.stats = WebhookStats()
            self.minute_seconds, self.poll_seconds = 60.0, self._default_poll_seconds
        self.faults.clear()

    def stats_view(self) -> dict:
        with self._lock:
            return self.stats.view()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._senders.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    # -- the loop -----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self._collect()
                self._send_due()
            except Exception as exc:  # noqa: BLE001 - the sandbox keeps serving its API
                self.stats.log.append({"error": f"{type(exc).__name__}: {exc}"})

    def _collect(self) -> None:
        """Messages for the orders changed since the last look."""
        now = self.clock.now() - timedelta(seconds=SETTLE_SECONDS)
        with self._lock:
            start, self._cursor = self._cursor, now
            subscriptions = list(self._subscriptions.values())
        if not subscriptions or start is None or now <= start:
            return
        as_of = self.clock.now()
        for location in self.dataset.locations:
            query = self.dataset.orders_modified_between(location.guid, start, now, as_of=as_of)
            for order in query.page(0, len(query)):
                for subscription in subscriptions:
                    self._make(subscription, location.guid, order)

    def _make(self, subscription: Subscription, restaurant: str, order: dict) -> None:
        stamp = self.clock.now().astimezone(timezone.utc).isoformat(timespec="milliseconds")
        stamp = stamp.replace("+00:00", "Z")
        event = {
            "timestamp": stamp,
            "eventCategory": EVENT_TYPE,  # as in Toast's sample message
            "eventType": EVENT_TYPE,
            "guid": str(uuid.uuid4()),
            "details": {"restaurantGuid": restaurant, "order": webhook_order(order)},
        }
        body = dump_json(event)
        fired = {
            rule.kind: rule for rule in self.faults.take(restaurant=restaurant, order=order["guid"])
        }
        secret = subscription.secret if "bad_signature" not in fired else "not-the-secret"
        message = Message(
            subscription,
            event["guid"],
            restaurant,
            order["guid"],
            body,
            stamp,
            toast_signature(secret, body, stamp),
            self._generation,
        )
        with self._lock:
            self.stats.messages += 1
            if "drop" in fired:
                self.stats.dropped += 1
                self.stats.log.append(self._entry(message, "dropped"))
                return
            if "reorder" in fired:
                self._held.setdefault(subscription.id, []).append(message)
                return
            delay = fired["delay"].seconds if "delay" in fired else 0.0
            message.release = self._held.pop(subscription.id, [])
            self._schedule(message, delay)
            if "duplicate" in fired:  # a copy of its own: each is retried alone
                self._schedule(replace(message, release=[]), delay)

    def _schedule(self, message: Message, delay: float) -> None:
        heapq.heappush(self._due, (time.monotonic() + delay, next(self._tie), message))

    def _send_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = []
            while self._due and self._due[0][0] <= now:
                due.append(heapq.heappop(self._due)[2])
        for message in due:
            self._senders.submit(self._attempt, message)

    def _attempt(self, message: Message) -> None:
        headers = {
            "Content-Type": "application/json",
            "Toast-Signature": message.signature,
            "Toast-Event-Type": EVENT_TYPE,
            "Toast-Event-Category": EVENT_CATEGORY,
            "Toast-Restaurant-External-ID": message.restaurant,
            "Toast-Attempt-Number": str(message.attempt),
            "Connection": "close",  # as Toast sends it
        }
        try:
            answer = self._http.post(
                message.subscription.url, content=message.body, headers=headers
            )
            outcome: int | str = answer.status_code
        except httpx.TimeoutException:
            outcome = "timeout"
        except Exception:  # noqa: BLE001 - refused, reset, a bad URL: Toast tries again
            outcome = "error"
        retry = not isinstance(outcome, int) or outcome in (404, 429) or outcome >= 500
        with self._lock:
            for held in message.release:
                self._schedule(held, 0.0)
            message.release = []
            if message.generation != self._generation:
                return  # sent for a subscription a reset has ended
            self.stats.attempts += 1
            self.stats.answers[outcome] += 1
            self.stats.log.append(self._entry(message, outcome))
            if isinstance(outcome, int) and 200 <= outcome < 300:
                self.stats.delivered += 1
            elif retry and message.attempt <= len(RETRY_AFTER_MINUTES):
                self.stats.retried += 1
                wait = RETRY_AFTER_MINUTES[message.attempt - 1] * self.minute_seconds
                message.attempt += 1
                self._schedule(message, wait)
            elif retry:
                self.stats.gave_up += 1

    @staticmethod
    def _entry(message: Message, outcome) -> dict:
        return {
            "guid": message.guid,
            "restaurant": message.restaurant,
            "order": message.order_guid,
            "attempt": message.attempt,
            "outcome": outcome,
            "at": time.time(),
        }


def webhook_order(order: dict) -> dict:
    """The order as the webhook carries it: guest details omitted, externalId null."""

    def redact(value):
        if isinstance(value, dict):
            return {
                key: None if key == "externalId" else redact(item)
                for key, item in value.items()
                if key not in OMITTED
            }
        if isinstance(value, list):
            return [redact(item) for item in value]
        return value

    return redact(order)
