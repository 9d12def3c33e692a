"""The Toast sandbox's orders webhook: `order_updated` pushed to subscribers as Toast pushes it.

Toast's guide (Webhook basics, Orders webhook, Message signing, Retry support, Timeouts):

- every order created or changed is sent whole, in the `details.order` of a message that
  carries its own `guid` and `timestamp`, with the headers `Toast-Signature`,
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
from datetime import datetime, timezone

import httpx

from closeout.webhook_signature import toast_signature
from sandboxes.faults import FaultRule, Faults
from sandboxes.http import dump_json

EVENT_TYPE = "order_updated"
EVENT_CATEGORY = "orders"
# Toast: resend after 5 minutes, then after 10 more; then give up.
RETRY_AFTER_MINUTES = (5, 10)
TIMEOUT_SECONDS = 2.0
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
    attempt: int = 1


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

    def view(self) -> dict:
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
        self.poll_seconds = poll_seconds
        self.minute_seconds = 60.0
        self.faults = Faults(WebhookFault)
        self.stats = WebhookStats()
        self._subscriptions: dict[str, Subscription] = {}
        self._lock = threading.Lock()
        self._due: list[tuple[float, int, Message]] = []  # (monotonic time, tie, message)
        self._tie = itertools.count()
        self._held: list[Message] = []  # reordered: sent after the next message
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
                self._cursor = self.clock.now()  # changes from now on
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
            self._subscriptions.clear()
            self._due.clear()
            self._held.clear()
            self.stats = WebhookStats()
            self.minute_seconds = 60.0
        self.faults.clear()

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
        now = self.clock.now()
        with self._lock:
            start, self._cursor = self._cursor, now
            subscriptions = list(self._subscriptions.values())
        if not subscriptions or start is None or now <= start:
            return
        for location in self.dataset.locations:
            query = self.dataset.orders_modified_between(location.guid, start, now, as_of=now)
            for order in query.page(0, len(query)):
                for subscription in subscriptions:
                    self._make(subscription, location.guid, order)

    def _make(self, subscription: Subscription, restaurant: str, order: dict) -> None:
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        stamp = stamp.replace("+00:00", "Z")
        event = {
            "timestamp": stamp,
            "eventCategory": EVENT_TYPE,  # as in Toast's sample message
            "eventType": EVENT_TYPE,
            "guid": str(uuid.uuid4()),
            "details": {"restaurantGuid": restaurant, "order": order},
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
        )
        with self._lock:
            self.stats.messages += 1
            if "drop" in fired:
                self.stats.dropped += 1
                self.stats.log.append(self._entry(message, "dropped"))
                return
            if "reorder" in fired:
                self._held.append(message)
                return
            delay = fired["delay"].seconds if "delay" in fired else 0.0
            copies = 2 if "duplicate" in fired else 1
            for _ in range(copies):
                self._schedule(replace(message), delay)  # a copy: each is retried alone
            # a held message goes after this one (in a later round, as senders run at once)
            for held in self._held:
                self._schedule(held, delay + self.poll_seconds)
            self._held.clear()

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
        }
        try:
            answer = self._http.post(
                message.subscription.url, content=message.body, headers=headers
            )
            outcome: int | str = answer.status_code
        except httpx.TimeoutException:
            outcome = "timeout"
        except httpx.TransportError:
            outcome = "error"  # refused or reset: Toast cannot tell it from a timeout
        retry = not isinstance(outcome, int) or outcome in (404, 429) or outcome >= 500
        with self._lock:
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
