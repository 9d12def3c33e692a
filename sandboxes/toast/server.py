"""The Toast sandbox: authentication, partners, restaurants, config, orders and labor endpoints.

Behaviour follows Toast's published API: machine-client login returning the documented token
shape (the same token while it is valid), bearer auth and the `Toast-Restaurant-External-ID`
header, fixed-size `page`/`pageSize` paging with RFC 5988 `Link` headers on `ordersBulk`, page
tokens on the configuration API, rate limits with `X-Toast-RateLimit-*` headers and 429 +
`Retry-After`, and Toast's JSON error body. `/_sandbox/...` endpoints let tests inject faults,
edit orders, move the clock and read counters.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

from sandboxes.control import CONTROL_PREFIX, Controlled
from sandboxes.faults import Faults
from sandboxes.http import Request, Response, dump_json, make_server  # noqa: F401 (re-exported)
from sandboxes.toast.data import CONFIG_ENTITIES, ToastDataset
from sandboxes.toast.faults import ToastFault
from sandboxes.toast.ratelimit import TOAST_LIMITS, Limit, RateLimiter
from sandboxes.toast.webhooks import WebhookSender

LOGIN_PATH = "/authentication/v1/authentication/login"
MAX_PAGE_SIZE = 100
MAX_WINDOW = timedelta(days=31)  # Toast: startDate/endDate intervals of at most one month
TOAST_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$")


class SandboxClock:
    """Real time by default; tests may shift or freeze it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.frozen: datetime | None = None

    def now(self) -> datetime:
        if self.frozen is not None:
            return self.frozen
        return datetime.now(timezone.utc) + self.offset


@dataclass
class Token:
    value: str
    expires_at: float


@dataclass
class Stats:
    logins: int = 0  # tokens given (login requests answered 200)
    login_attempts: int = 0  # every login request, throttled ones included
    config_publishes: int = 0
    requests: Counter = field(default_factory=Counter)  # by path prefix
    by_restaurant: Counter = field(default_factory=Counter)
    throttled: int = 0
    order_queries: deque = field(default_factory=lambda: deque(maxlen=2000))


def toast_error(status: int, message: str, code: int | None = None, headers=None) -> Response:
    body = {
        "status": status,
        "code": code or status * 100,
        "message": message,
        "messageKey": None,
        "fieldName": None,
        "link": None,
        "requestId": str(uuid.uuid4()),
        "developerMessage": message,
        "errors": [],
        "canRetry": None,
    }
    return Response.json(body, status, headers)


def parse_toast_time(text: str | None) -> datetime | None:
    """Toast's ISO-8601 form, e.g. 2016-01-01T14:13:12.000+0400."""
    if not text or not TOAST_TIME.match(text):
        return None
    fixed = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", fixed):
        fixed = fixed[:-2] + ":" + fixed[-2:]
    try:
        return datetime.fromisoformat(fixed)
    except ValueError:
        return None


def parse_business_date(text: str | None) -> int | None:
    if not text or not re.fullmatch(r"\d{8}", text):
        return None
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    return int(text)


class ToastSandbox(Controlled):
    def __init__(
        self,
        dataset: ToastDataset,
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",
        token_ttl: int = 86_400,
        rate_limits: bool = True,
        limits: tuple[Limit, ...] = TOAST_LIMITS,
        config_page_size: int = 100,
    ):
        self.dataset = dataset
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.rate_limits = rate_limits
        self.limiter = RateLimiter(limits)
        self.config_page_size = config_page_size
        self.clock = SandboxClock()
        self.faults = Faults(ToastFault)
        self.stats = Stats()
        self._token: Token | None = None
        self._lock = threading.RLock()
        self.base_url = ""
        self.page_cache = PageCache()
        self._config_versions: dict[str, int] = {}
        self.webhooks = WebhookSender(dataset, self.clock)

    # -- dispatch ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return self.control(request)
        if request.path == LOGIN_PATH and request.method == "POST":
            return self._login_limited(request)
        restaurant = request.header("Toast-Restaurant-External-ID")
        self._count(request.path, restaurant)
        if not self._authorized(request):
            return toast_error(
                401, "Authentication failed: missing, invalid or expired bearer token", 10401
            )
        fired = self.faults.take(path=request.path, restaurant=restaurant)
        decision = None
        if self.rate_limits:
            decision = self.limiter.check(restaurant or f"ip:{request.client_ip}", request.path)
            if not decision.allowed:
                self.stats.throttled += 1
                return toast_error(429, "Rate limit exceeded", 42900, decision.headers)
        response = self._with_faults(fired, lambda: self._route(request, restaurant, fired))
        if decision:
            response.headers.update(decision.headers)
        return response

    def _with_faults(self, fired, produce) -> Response:
        for rule in fired:
            if rule.kind == "status":
                headers = {"Retry-After": str(rule.retry_after)} if rule.status == 429 else None
                return toast_error(
                    rule.status, f"Injected fault: HTTP {rule.status}", headers=headers
                )
        response = produce()
        for rule in fired:
            if rule.kind == "slow":
                response.delay += rule.seconds
            elif rule.kind == "drop":
                response.drop = True
            elif rule.kind == "truncate":
                response.truncate = True
        return response

    def _route(self, request: Request, restaurant: str | None, fired) -> Response:
        path = request.path
        if path == "/partners/v1/restaurants":
            return Response.json(self.dataset.partner_restaurants())
        location_error = self._check_restaurant(restaurant)
        if location_error:
            return location_error
        if path.startswith("/restaurants/v1/restaurants/"):
            guid = path.rsplit("/", 1)[-1]
            if guid != restaurant:
                return toast_error(
                    403,
                    "Toast-Restaurant-External-ID does not match the requested restaurant",
                    10403,
                )
            return Response.json(self.dataset.restaurant(guid))
        if path.startswith("/config/v2/"):
            return self._config(request, restaurant, path.rsplit("/", 1)[-1], fired)
        if path == "/orders/v2/ordersBulk":
            return self._orders_bulk(request, restaurant, fired)
        if path.startswith("/orders/v2/orders/"):
            order = self.dataset.order(restaurant, path.rsplit("/", 1)[-1], as_of=self.clock.now())
            return Response.json(order) if order else toast_error(404, "Order not found", 10404)
        if path == "/labor/v1/jobs":
            return Response.json(self.dataset.jobs(restaurant))
        if path == "/labor/v1/timeEntries":
            return self._time_entries(request, restaurant)
        return toast_error(404, f"No such endpoint: {request.method} {path}", 10404)

    # -- auth ---------------------------------------------------------------------------------
    def _login_limited(self, request: Request) -> Response:
        """Toast applies its global rate limit to token requests, by IP address (the guide's
        "Authentication rate limit"): over it, 429 with Retry-After, and no token."""
        with self._lock:
            self.stats.login_attempts += 1
        fired = self.faults.take(path=request.path, restaurant=None)
        if self.rate_limits:
            decision = self.limiter.check(f"ip:{request.client_ip}", request.path)
            if not decision.allowed:
                self.stats.throttled += 1
                return toast_error(429, "Rate limit exceeded", 42900, decision.headers)
        return self._with_faults(fired, lambda: self._login(request))

    def _login(self, request: Request) -> Response:
        try:
            body = request.json() or {}
        except ValueError:
            return toast_error(400, "Request body is not valid JSON", 10400)
        if body.get("userAccessType") != "TOAST_MACHINE_CLIENT":
            return toast_error(400, "userAccessType must be TOAST_MACHINE_CLIENT", 10400)
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return toast_error(401, "Invalid client credentials", 10401)
        with self._lock:
            self.stats.logins += 1
            now = time.time()
            if self._token is None or self._token.expires_at <= now:
                self._token = Token(_fake_jwt(self.client_id), now + self.token_ttl)
            token = self._token
        return Response.json(
            {
                "@class": ".SuccessfulResponse",
                "token": {
                    "tokenType": "Bearer",
                    "scope": None,
                    "expiresIn": int(token.expires_at - time.time()),
                    "accessToken": token.value,
                    "idToken": None,
                    "refreshToken": None,
                },
                "status": "SUCCESS",
            }
        )

    def _authorized(self, request: Request) -> bool:
        header = request.header("Authorization") or ""
        token = self._token
        return (
            token is not None
            and header == f"Bearer {token.value}"
            and token.expires_at > time.time()
        )

    def _check_restaurant(self, restaurant: str | None) -> Response | None:
        if not restaurant:
            return toast_error(400, "Missing required header Toast-Restaurant-External-ID", 10400)
        if self.dataset.location(restaurant) is None:
            return toast_error(
                403,
                f"InvalidRestaurant: restaurant {restaurant} is unknown or "
                "not connected to this client",
                10403,
            )
        return None

    # -- config -------------------------------------------------------------------------------
    def _config(self, request: Request, restaurant: str, entity: str, fired=()) -> Response:
        """Pages by token. A token names the configuration version it was issued for: once the
        restaurant publishes (the `publish_config` action or fault), an older token answers
        409 and the client must start again without it, as Toast documents."""
        if entity not in CONFIG_ENTITIES:
            return toast_error(404, f"No such configuration entity: {entity}", 10404)
        token = request.query.get("pageToken")
        for rule in fired:
            if rule.kind == "publish_config":
                if token:
                    self.publish_config(restaurant)
                else:  # waits for a request in the middle of paging
                    self.faults.give_back(rule)
        version = self._config_versions.get(restaurant, 0)
        records = self.dataset.config(restaurant, entity)
        start = 0
        if token:
            try:
                name, offset, issued = base64.urlsafe_b64decode(token.encode()).decode().split(":")
                start, issued_version = int(offset), int(issued)
            except ValueError:
                return toast_error(400, "Invalid pageToken", 10400)
            if name != entity:
                return toast_error(400, "Invalid pageToken", 10400)
            if issued_version != version:
                return toast_error(
                    409,
                    "The restaurant's configuration changed while paging; "
                    "request the first page again without pageToken",
                    40900,
                )
        stop = start + self.config_page_size
        headers = {}
        if stop < len(records):
            headers["Toast-Next-Page-Token"] = base64.urlsafe_b64encode(
                f"{entity}:{stop}:{version}".encode()
            ).decode()
        return Response.json(records[start:stop], headers=headers)

    def publish_config(self, restaurant: str) -> int:
        with self._lock:
            version = self._config_versions.get(restaurant, 0) + 1
            self._config_versions[restaurant] = version
            self.stats.config_publishes += 1
        return version

    # -- orders -------------------------------------------------------------------------------
    def _orders_bulk(self, request: Request, restaurant: str, fired) -> Response:
        q = request.query
        try:
            page_size = int(q.get("pageSize", MAX_PAGE_SIZE))
            page = int(q.get("page", 1))
        except ValueError:
            return toast_error(400, "page and pageSize must be integers", 10400)
        if not 1 <= page_size <= MAX_PAGE_SIZE or page < 1:
            return toast_error(400, f"pageSize must be 1..{MAX_PAGE_SIZE} and page >= 1", 10400)
        now = self.clock.now()
        self.stats.order_queries.append({"restaurant": restaurant, **q})
        if "businessDate" in q:
            business_date = parse_business_date(q["businessDate"])
            if business_date is None or "startDate" in q or "endDate" in q:
                return toast_error(
                    400,
                    "businessDate must be yyyymmdd and cannot be combined with startDate/endDate",
                    10400,
                )
            query = self.dataset.orders_by_business_date(restaurant, business_date, as_of=now)
        else:
            start, end = parse_toast_time(q.get("startDate")), parse_toast_time(q.get("endDate"))
            if start is None or end is None:
                return toast_error(
                    400,
                    "Give businessDate, or startDate and endDate in ISO-8601 "
                    "(e.g. 2016-01-01T14:13:12.000+0400)",
                    10400,
                )
            if end <= start:
                return toast_error(400, "endDate must be later than startDate", 10400)
            if end - start > MAX_WINDOW:
                return toast_error(
                    400, "The startDate/endDate interval cannot exceed one month", 10400
                )
            query = self.dataset.orders_modified_between(restaurant, start, end, as_of=now)
        first = (page - 1) * page_size
        cache_key = (restaurant, q.get("businessDate"), page, page_size)
        cached = None if fired else self.page_cache.get(cache_key)
        if cached:
            body, total = cached
        else:
            total = len(query)
            orders = query.page(first, first + page_size) if first < total else []
            body = self._serialise_orders(orders, fired)
            if not fired and self._settled(q.get("businessDate"), now):
                self.page_cache.put(cache_key, (body, total))
        return Response(200, body, {"Link": self._links(request, page, page_size, total)})

    def _settled(self, business_date: str | None, now: datetime) -> bool:
        """A business date past every possible late edit: its pages can no longer change."""
        if not business_date:
            return False
        day = date(int(business_date[:4]), int(business_date[4:6]), int(business_date[6:]))
        horizon = timedelta(days=self.dataset.max_late_edit_days + 2)
        return day < (now - horizon).date()

    def _serialise_orders(self, orders: list[dict], fired) -> bytes:
        parts = [dump_json(order) for order in orders]
        free = list(range(len(parts)))  # each data fault breaks an order of its own
        for rule in fired:
            if rule.kind not in ("malformed_order", "unparseable_order"):
                continue
            if not free:
                # nothing left on this page to break: the fault waits for a page that has
                # orders, so a test's count of broken orders does not depend on the hour
                self.faults.give_back(rule)
                continue
            if rule.kind == "unparseable_order":
                index = free.pop()
                parts[index] = parts[index][: len(parts[index]) // 2]
                continue
            index = free.pop(0)
            broken = dict(orders[index])
            if rule.field == "businessDate":
                broken["businessDate"] = 20261345
            elif rule.field == "encoding":  # bytes that are not UTF-8 inside a string
                broken["comment"] = "NOT-UTF-8"
            else:
                broken.pop(rule.field, None)
            parts[index] = dump_json(broken).replace(b'"NOT-UTF-8"', b'"\xff\xfe"')
        return b"[" + b",".join(parts) + b"]"

    def _links(self, request: Request, page: int, page_size: int, total: int) -> list[str]:
        last = max(1, -(-total // page_size))

        def link(number: int, rel: str) -> str:
            params = dict(request.query, page=str(number), pageSize=str(page_size))
            return f'<{self.base_url}{request.path}?{urlencode(params)}>; rel="{rel}"'

        links = [link(page, "self"), link(1, "first")]
        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
        links.append(link(last, "last"))
        return links

    # -- labor --------------------------------------------------------------------------------
    def _time_entries(self, request: Request, restaurant: str) -> Response:
        q, now = request.query, self.clock.now()
        if "businessDate" in q:
            business_date = parse_business_date(q["businessDate"])
            if business_date is None:
                return toast_error(400, "businessDate must be yyyymmdd", 10400)
            entries = self.dataset.time_entries(restaurant, business_date=business_date, as_of=now)
        elif "modifiedStartDate" in q:
            start = parse_toast_time(q.get("modifiedStartDate"))
            end = parse_toast_time(q.get("modifiedEndDate"))
            if start is None or end is None or end <= start or end - start > MAX_WINDOW:
                return toast_error(
                    400,
                    "modifiedStartDate and modifiedEndDate must be ISO-8601, "
                    "in order, and at most one month apart",
                    10400,
                )
            entries = self.dataset.time_entries(restaurant, start=start, end=end, as_of=now)
        else:
            return toast_error(
                400,
                "Give businessDate or modifiedStartDate/modifiedEndDate "
                "(the sandbox does not filter by inDate)",
                10400,
            )
        return Response.json(entries)

    # -- bookkeeping and test control -------------------------------------------------------
    def _count(self, path: str, restaurant: str | None) -> None:
        with self._lock:
            self.stats.requests[
                path if not path.startswith("/restaurants/") else "/restaurants/v1/restaurants"
            ] += 1
            if restaurant:
                self.stats.by_restaurant[restaurant] += 1

    def control_actions(self):
        return {
            **super().control_actions(),
            "clock": self._clock_action,
            "rate_limits": self._rate_limits_action,
            "page_cache": self._page_cache_action,
            "config_page_size": self._config_page_size_action,
            "expire_token": self._expire_token_action,
            "publish_config": self._publish_config_action,
            "edit": self._edit_action,
            "orders": self._orders_action,
            "subscribe": self._subscribe_action,
            "unsubscribe": self._unsubscribe_action,
            "webhook_faults": self._webhook_faults_action,
            "webhook_settings": self._webhook_settings_action,
        }

    def reset(self) -> None:
        self.stats = Stats()
        self.faults.clear()
        self.config_page_size = 100
        self.webhooks.reset()

    def stats_view(self) -> dict:
        s = self.stats
        return {
            "logins": s.logins,
            "login_attempts": s.login_attempts,
            "config_publishes": s.config_publishes,
            "requests": dict(s.requests),
            "by_restaurant": dict(s.by_restaurant),
            "throttled": s.throttled,
            "faults_fired": self.faults.fired(),
            "now": self.clock.now().isoformat(),
            "order_queries": list(s.order_queries),
            "page_cache": self.page_cache.stats(),
            "webhooks": self.webhooks.stats_view(),
        }

    def _clock_action(self, body) -> Response:
        self.clock.frozen = datetime.fromisoformat(body["frozen"]) if body.get("frozen") else None
        self.clock.offset = timedelta(seconds=body.get("offset_seconds", 0))
        return Response.json({"now": self.clock.now().isoformat()})

    def _rate_limits_action(self, body) -> Response:
        """Turn the limits on or off, replace them, and (a test hook, `frozen_at` in epoch
        seconds) count them in a time slice that does not move, so a test's calls share one."""
        self.rate_limits = bool(body.get("enabled", True))
        limits = (
            tuple(Limit(**spec) for spec in body["limits"]) if body.get("limits") else TOAST_LIMITS
        )
        frozen_at = body.get("frozen_at")
        clock = time.time if frozen_at is None else (lambda at=float(frozen_at): at)
        self.limiter = RateLimiter(limits, clock=clock)
        return Response.json({"enabled": self.rate_limits, "limits": len(limits)})

    def _page_cache_action(self, body) -> Response:
        max_mib = int(body.get("max_mib", PageCache.DEFAULT_MIB))
        self.page_cache = PageCache(enabled=bool(body.get("enabled")), max_bytes=max_mib * 2**20)
        return Response.json({"enabled": self.page_cache.enabled, "max_mib": max_mib})

    def _config_page_size_action(self, body) -> Response:
        self.config_page_size = int(body["size"])
        return Response.json({"size": self.config_page_size})

    def _expire_token_action(self, _body) -> Response:
        if self._token:
            self._token.expires_at = time.time() - 1
        return Response.json({"ok": True})

    def _publish_config_action(self, body) -> Response:
        """The restaurant publishes its configuration now: page tokens issued before are
        stale (409)."""
        return Response.json({"version": self.publish_config(body["restaurant"])})

    def _edit_action(self, body) -> Response:
        at = datetime.fromisoformat(body["at"]) if body.get("at") else self.clock.now()
        return Response.json(
            self.dataset.apply_edit(body["restaurant"], body["order"], body["kind"], at)
        )

    def _orders_action(self, body) -> Response:
        self.dataset.add_order(body["restaurant"], body["order"])
        return Response.json({"ok": True})

    def _subscribe_action(self, body) -> Response:
        """A webhook subscription, as Toast support would set one up: `url` gets an
        `order_updated` message for every order created or changed from now on, signed
        with `secret`."""
        if not body.get("url") or not body.get("secret"):
            return Response.json({"error": "a subscription needs a url and a secret"}, 400)
        subscription = self.webhooks.subscribe(body["url"], body["secret"])
        return Response.json({"id": subscription.id})

    def _unsubscribe_action(self, body) -> Response:
        return Response.json({"removed": self.webhooks.unsubscribe(body.get("id", ""))})

    def _webhook_faults_action(self, body) -> Response:
        try:
            rules = [
                self.webhooks.faults.add(**spec)
                for spec in (body if isinstance(body, list) else [body])
            ]
        except (TypeError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json({"added": len(rules)})

    def _webhook_settings_action(self, body) -> Response:
        """Toast's retry minutes scaled (`minute_seconds`) and how often changes are looked
        for (`poll_seconds`), for tests that cannot wait 15 minutes."""
        sender = self.webhooks
        sender.minute_seconds = float(body.get("minute_seconds", sender.minute_seconds))
        sender.poll_seconds = float(body.get("poll_seconds", sender.poll_seconds))
        return Response.json(
            {"minute_seconds": sender.minute_seconds, "poll_seconds": sender.poll_seconds}
        )


class PageCache:
    """Serialised ordersBulk pages of settled dates, for benchmarks that must measure the
    client's pacing rather than the sandbox's order generation. Off unless switched on."""

    DEFAULT_MIB = 512

    def __init__(self, enabled: bool = False, max_bytes: int = DEFAULT_MIB * 2**20):
        self.enabled = enabled
        self.max_bytes = max_bytes
        self._pages: dict = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        return self._pages.get(key) if self.enabled else None

    def put(self, key, value) -> None:
        if not self.enabled or self._bytes + len(value[0]) > self.max_bytes:
            return  # a page left out is generated again when asked for: slower, never wrong
        with self._lock:
            self._pages[key] = value
            self._bytes += len(value[0])

    def stats(self) -> dict:
        return {"enabled": self.enabled, "pages": len(self._pages), "bytes": self._bytes}


def _fake_jwt(client_id: str) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(dump_json(data)).decode().rstrip("=")

    header = part({"alg": "RS256", "typ": "JWT"})
    claims = part(
        {
            "client_id": client_id,
            "https://toasttab.com/access_type": "TOAST_MACHINE_CLIENT",
            "jti": str(uuid.uuid4()),
        }
    )
    return f"{header}.{claims}.{secrets.token_urlsafe(32)}"
