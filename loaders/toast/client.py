"""HTTP client for Toast: one cached token for all locations, pacing, retries, paging."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from closeout.errors import (
    ConfigurationError,
    ToastAuthError,
    ToastRefusal,
    ToastTransportError,
    ToastUnavailable,
)
from closeout.token_store import TokenStore
from loaders.toast import settings
from loaders.toast.jsontext import BrokenArray, decode, split_array

log = logging.getLogger("closeout.toast")

_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
# Toast answers 409 to a configuration page whose token predates a publish of the restaurant's
# configuration; the client starts again from the first page, this many times at most.
CONFIG_RESTARTS = 3
# How long a login waits in all for Toast's rate limit (429 + Retry-After) before giving up.
LOGIN_MAX_WAIT_SECONDS = 900.0


class Abandoned(Exception):
    """A request given up before it was sent: its answer is no longer wanted."""


class _LoginThrottled(Exception):
    """Toast answered a login with 429: wait `retry_after` seconds and log in again."""

    def __init__(self, retry_after: float):
        super().__init__(f"login rate-limited; Retry-After {retry_after:g} s")
        self.retry_after = retry_after


def _wait_retry_after(state) -> float:
    return state.outcome.exception().retry_after


def _waited_too_long(state) -> bool:
    """Stop once the waits Toast asked for would pass LOGIN_MAX_WAIT_SECONDS in all."""
    return state.idle_for + state.outcome.exception().retry_after > LOGIN_MAX_WAIT_SECONDS


class _Retryable(Exception):
    """A 5xx or a dropped connection: worth another try after a pause."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class TokenGrant:
    token: str
    expires_at: float
    logins: tuple[float, ...]  # when this hour's logins were made (Toast allows about two)

    def __repr__(self) -> str:  # never print the token
        return f"TokenGrant(expires_at={self.expires_at}, logins={len(self.logins)})"


class TokenProvider:
    """One Toast token for every location, reused until shortly before it expires, and by the
    next runs through the encrypted token store.

    Thread-safe. Toast allows about two logins an hour: at most `LOGINS_PER_HOUR_LIMIT` are made
    in any hour, counted across runs when the store keeps them. A token Toast refuses (401)
    before its expiry, e.g. one Toast invalidated, is dropped from the store too and replaced
    by one login; when the hour's logins are spent, the error says when the next is allowed.
    """

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        client_id: str,
        client_secret: str,
        store: TokenStore | None = None,
        sleep=time.sleep,
    ):
        if not client_id or not client_secret:
            raise ConfigurationError(
                "Toast client id and secret are not set: put them in .dlt/secrets.toml under "
                "[sources.toast] or set SOURCES__TOAST__CLIENT_ID / SOURCES__TOAST__CLIENT_SECRET."
            )
        self.http = http
        self.base_url = base_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.store = store
        self.sleep = sleep  # how a rate-limited login waits (tests record it)
        self.throttled_logins = 0
        self._token: str | None = None
        self._expires_at = 0.0
        self._store_key = f"toast:{base_url}:{client_id}"
        self._logins: deque[float] = deque(store.logins(self._store_key) if store else ())
        self._refused: set[str] = set()  # tokens Toast answered 401: never used again
        self._replacing_refused = False
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token and self._expires_at - settings.TOKEN_RENEW_MARGIN_SECONDS > time.time():
                return self._token
            if self.store and not self._token:
                cached = self.store.load(self._store_key)
                if (
                    cached
                    and cached[0] not in self._refused
                    and cached[1] - settings.TOKEN_RENEW_MARGIN_SECONDS > time.time()
                ):
                    self._token, self._expires_at = cached
                    return self._token
            self._login()
            return self._token

    def share(self) -> TokenGrant:
        """The current token and this hour's logins, for another process to carry on with
        (the order-fetch process), so that one token still serves every location."""
        token = self.token()
        with self._lock:
            return TokenGrant(token, self._expires_at, tuple(self._logins))

    def adopt(self, grant: TokenGrant) -> None:
        with self._lock:
            self._token, self._expires_at = grant.token, grant.expires_at
            self._logins = deque(grant.logins)

    def reject(self, token: str) -> None:
        """Toast said 401 to this token: forget it, here and in the store, so that the next
        call (and the next run) logs in again instead of sending it for the rest of its life."""
        with self._lock:
            if token in self._refused:
                return  # another thread already dropped it
            self._refused.add(token)
            if self.store:
                self.store.forget(self._store_key, token)
            if self._token == token:
                log.warning(
                    "Toast refused the cached token (HTTP 401) although it was valid until %s: "
                    "Toast invalidated it; it is dropped and closeout logs in once for a new one",
                    datetime.fromtimestamp(self._expires_at, timezone.utc).strftime(
                        "%Y-%m-%d %H:%M UTC"
                    ),
                )
                self._token, self._expires_at = None, 0.0
                self._replacing_refused = True

    def _login(self) -> None:
        """Log in, waiting as long as Toast's Retry-After asks when the login is rate limited
        (Toast applies its global limit to token requests by IP); a throttled request gave no
        token, so it does not count against the two logins an hour."""
        retrying = Retrying(
            retry=retry_if_exception_type(_LoginThrottled),
            wait=_wait_retry_after,
            stop=_waited_too_long,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._login_once()
        except _LoginThrottled as exc:
            raise ToastUnavailable(
                f"Toast kept rate-limiting the login for more than {LOGIN_MAX_WAIT_SECONDS:.0f} s "
                f"({exc}); no location was loaded. Run again later; set CLOSEOUT_SECRET_KEY so "
                "the token is kept between runs and fewer logins are needed."
            ) from exc

    def _login_once(self) -> None:
        now = time.time()
        while self._logins and now - self._logins[0] > 3600:
            self._logins.popleft()
        if len(self._logins) >= settings.LOGINS_PER_HOUR_LIMIT:
            raise ToastAuthError(self._no_login_left_message())
        try:
            response = self.http.post(
                self.base_url + settings.LOGIN_PATH,
                json={
                    "clientId": self.client_id,
                    "clientSecret": self.client_secret,
                    "userAccessType": "TOAST_MACHINE_CLIENT",
                },
            )
        except httpx.TransportError as exc:
            raise ToastTransportError(f"Could not reach Toast to log in: {exc}") from exc
        if response.status_code == 429:
            self.throttled_logins += 1
            retry_after = _number(response.headers.get("Retry-After")) or 1.0
            log.warning("Toast rate-limited the login; retrying in %g s", retry_after)
            raise _LoginThrottled(retry_after)
        self._logins.append(now)
        if response.status_code in (400, 401, 403):
            raise ToastAuthError(
                f"Toast refused the client credentials (HTTP {response.status_code}: "
                f"{_toast_message(response)}). Check SOURCES__TOAST__CLIENT_ID and "
                "SOURCES__TOAST__CLIENT_SECRET."
            )
        if response.status_code != 200:
            raise ToastUnavailable(
                f"Toast login failed with HTTP {response.status_code}: {_toast_message(response)}"
            )
        token = response.json()["token"]
        self._token = token["accessToken"]
        self._expires_at = now + int(token["expiresIn"])
        if self.store:
            self.store.save(self._store_key, self._token, self._expires_at, logins=self._logins)
        if self._replacing_refused:
            self._replacing_refused = False
            log.warning(
                "logged in to Toast again: the refused token is replaced (login %d of the %d "
                "Toast allows an hour)",
                len(self._logins),
                settings.LOGINS_PER_HOUR_LIMIT,
            )
        log.info("logged in to Toast; token valid for %s s", token["expiresIn"])

    def _no_login_left_message(self) -> str:
        made = ", ".join(_utc_time(at) for at in self._logins)
        next_allowed = _utc_time(self._logins[0] + 3600)
        why = (
            "Toast refused the cached token (HTTP 401), and a new one needs a login, but"
            if self._replacing_refused
            else "A new Toast token is needed, but"
        )
        return (
            f"{why} closeout has already logged in {len(self._logins)} times in the last hour "
            f"(at {made}); Toast allows about {settings.LOGINS_PER_HOUR_LIMIT} logins an hour, "
            f"so the next login is allowed at {next_allowed}. Run again after that; if Toast "
            "keeps refusing new tokens, check the client credentials and the host's clock."
        )


def _utc_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%H:%M:%S UTC")


class Pacer:
    """Waits, per restaurant, until the rate-limit slice Toast reported as spent has reset."""

    def __init__(self, clock=time.time, sleep=time.sleep):
        self.clock = clock
        self.sleep = sleep
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()
        self.waited = 0.0

    def wait(self, key: str) -> None:
        with self._lock:
            until = self._blocked_until.get(key, 0.0)
        delay = until - self.clock()
        if delay > 0:
            self.waited += delay
            self.sleep(delay)

    def observe(self, key: str, response: httpx.Response) -> None:
        headers = response.headers
        remaining = headers.get("X-Toast-RateLimit-Remaining")
        reset = headers.get("X-Toast-RateLimit-Reset")
        until = 0.0
        if response.status_code == 429:
            retry_after = _number(headers.get("Retry-After")) or 1.0
            until = _number(reset) if reset else self.clock() + retry_after
        elif remaining is not None and reset is not None and _number(remaining) <= 0:
            until = _number(reset)
        if until:
            with self._lock:
                self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), until)


class _Slot:
    __slots__ = ("answered_at", "slice_ends_at")

    def __init__(self) -> None:
        self.answered_at: float | None = None  # None while the request is in flight
        self.slice_ends_at: float | None = None  # end of the slice Toast counted it in

    def ready_after(self, seconds: float, slack: float) -> float | None:
        """When a request may take this one's place in a limit of `seconds` (None while this
        one is in flight)."""
        if self.answered_at is None:
            return None
        ready = self.answered_at + seconds + slack
        if self.slice_ends_at is not None and self.slice_ends_at <= self.answered_at + seconds:
            # The reset of a slice no longer than this limit's (not the 15-minute one).
            ready = min(ready, self.slice_ends_at + slack)
        return ready


class RequestSpacer:
    """Keeps each location within Toast's documented request limits before Toast has to say so.

    Toast counts a request when it arrives, which is somewhere between our send and its answer,
    in fixed time slices. A request may go once the request N places before it is in an earlier
    slice: a limit's length after that request's answer (whatever the network's jitter), or, if
    sooner, when the slice Toast counted it in has ended (its `X-Toast-RateLimit-Reset`, read
    against our clock: closeout assumes an NTP-synced host, and a 429 still waits if not).
    """

    def __init__(
        self,
        limits=settings.REQUEST_LIMITS,
        slack: float = settings.LIMIT_SLACK_SECONDS,
        clock=time.monotonic,
        sleep=time.sleep,
    ):
        self.limits = limits
        self.slack = slack
        self.clock = clock
        self.sleep = sleep
        self._windows: dict[tuple, deque[_Slot]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, path: str) -> list[_Slot]:
        while True:
            with self._lock:
                now = self.clock()
                windows = [
                    self._windows.setdefault((key, index), deque(maxlen=count))
                    for index, (scope, count, _) in enumerate(self.limits)
                    if scope is None or path.endswith(scope)
                ]
                wait = 0.0
                for window, (_, count, seconds) in zip(
                    windows, self._applicable(path), strict=True
                ):
                    if len(window) >= count:
                        ready = window[0].ready_after(seconds, self.slack)
                        wait = max(wait, 0.01 if ready is None else ready - now)
                if wait <= 0:
                    slot = _Slot()
                    for window in windows:
                        window.append(slot)
                    return [slot]
            self.sleep(wait)

    def release(self, slots: list[_Slot], response: httpx.Response | None = None) -> None:
        now = self.clock()
        reset = _number(response.headers.get("X-Toast-RateLimit-Reset")) if response else None
        for slot in slots:
            slot.answered_at = now
            if reset:
                # Toast's reset is an epoch time; the spacer's clock is monotonic.
                slot.slice_ends_at = now + (reset - time.time())

    def _applicable(self, path: str):
        return [limit for limit in self.limits if limit[0] is None or path.endswith(limit[0])]


@dataclass
class ClientOptions:
    timeout: float = 30.0
    attempts: int = 5  # for 5xx and dropped connections
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_throttle_wait: float = 900.0  # give up on a request after this long in 429s
    page_lookahead: int = 4  # ordersBulk pages of one location in flight at once


class ToastClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        options: ClientOptions | None = None,
        token_store: TokenStore | None = None,
        transport: httpx.BaseTransport | None = None,
        request_limits=settings.REQUEST_LIMITS,
    ):
        if not base_url:
            raise ConfigurationError(
                "Toast base URL is not set: SOURCES__TOAST__BASE_URL or base_url under "
                "[sources.toast] in .dlt/config.toml (e.g. https://ws-api.toasttab.com)."
            )
        self.base_url = base_url.rstrip("/")
        self.options = options or ClientOptions()
        self.http = httpx.Client(
            timeout=self.options.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        self.tokens = TokenProvider(self.http, self.base_url, client_id, client_secret, token_store)
        self.pacer = Pacer()
        self.spacer = RequestSpacer(request_limits)
        self._page_pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="toast-page")
        self.requests = 0
        self.throttled = 0

    def close(self) -> None:
        # Page requests still waiting for their turn are abandoned ones (see order_pages): they
        # end at their turn without sending, so nothing waits for them.
        self._page_pool.shutdown(wait=False, cancel_futures=True)
        self.http.close()

    def get(
        self,
        path_or_url: str,
        *,
        restaurant: str | None = None,
        params: dict | None = None,
        unless: threading.Event | None = None,
    ) -> httpx.Response:
        """GET with pacing and retries. `unless`: when it is set by the time the request may go
        (after pacing), it does not go and `Abandoned` is raised."""
        url = path_or_url if path_or_url.startswith("http") else self.base_url + path_or_url
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            wait=wait_exponential(
                multiplier=self.options.backoff_initial, max=self.options.backoff_max
            )
            + wait_random(0, self.options.backoff_initial),
            stop=stop_after_attempt(self.options.attempts),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._get_once(url, restaurant, params, unless)
        except _Retryable as exc:
            error = exc.error
            where = f" for restaurant {restaurant}" if restaurant else ""
            if isinstance(error, httpx.TransportError):
                raise ToastTransportError(
                    f"Toast could not be reached{where} after {self.options.attempts} attempts "
                    f"({type(error).__name__}: {error}) at {url}; the next run resumes here.",
                    restaurant=restaurant,
                    url=url,
                ) from error
            raise ToastUnavailable(
                f"Toast kept failing{where} after {self.options.attempts} attempts ({error}) at "
                f"{url}; the next run resumes here.",
                restaurant=restaurant,
                url=url,
            ) from error
        raise AssertionError("unreachable")

    def _get_once(
        self,
        url: str,
        restaurant: str | None,
        params: dict | None,
        unless: threading.Event | None = None,
    ) -> httpx.Response:
        key = restaurant or "-"
        throttled_for = 0.0
        reauthenticated = False
        while True:
            self.pacer.wait(key)
            token = self.tokens.token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if restaurant:
                headers[settings.RESTAURANT_HEADER] = restaurant
            slots = self.spacer.acquire(key, httpx.URL(url).path)
            if unless is not None and unless.is_set():
                self.spacer.release(slots)
                raise Abandoned(url)
            started = time.monotonic()
            response = None
            try:
                response = self.http.get(url, params=params, headers=headers)
                response.read()
            except httpx.TransportError as exc:
                raise _Retryable(exc) from exc
            finally:
                self.spacer.release(slots, response)
            self.requests += 1
            self.pacer.observe(key, response)
            status = response.status_code
            if status == 429:
                self.throttled += 1
                throttled_for += (
                    time.monotonic()
                    - started
                    + (_number(response.headers.get("Retry-After")) or 1.0)
                )
                if throttled_for > self.options.max_throttle_wait:
                    raise ToastUnavailable(
                        f"Toast kept rate-limiting restaurant {restaurant} for "
                        f"{throttled_for:.0f} s at {url}; the next run resumes here.",
                        restaurant=restaurant,
                        url=url,
                    )
                continue
            if status == 401 and not reauthenticated:
                self.tokens.reject(token)
                reauthenticated = True
                continue
            if status >= 500:
                raise _Retryable(RuntimeError(f"HTTP {status}: {_toast_message(response)}"))
            if status >= 400:
                raise ToastRefusal(
                    f"Toast refused {response.request.method} {response.request.url} for "
                    f"restaurant {restaurant or '-'} with HTTP {status}: "
                    f"{_toast_message(response)}",
                    status=status,
                    restaurant=restaurant,
                    url=str(response.request.url),
                )
            return response

    def get_json(self, path: str, *, restaurant: str | None = None, params: dict | None = None):
        """The decoded body, numbers as Decimal (see jsontext)."""
        return decode(self.get(path, restaurant=restaurant, params=params).content)

    def get_array(
        self, path: str, *, restaurant: str | None = None, params: dict | None = None
    ) -> list[tuple[bytes, object]]:
        """(exact bytes, decoded value) of each element of a JSON array response."""
        response = self.get(path, restaurant=restaurant, params=params)
        try:
            return _with_values(split_array(response.content))
        except BrokenArray as exc:
            raise ToastRefusal(
                f"Toast sent an unreadable array from {response.request.url} for "
                f"restaurant {restaurant}: {exc}",
                status=response.status_code,
                restaurant=restaurant,
                url=str(response.request.url),
            ) from exc

    def config_records(self, entity: str, restaurant: str) -> list[tuple[bytes, object]]:
        """Every record of one configuration entity, following Toast-Next-Page-Token.

        A restaurant that publishes its configuration while we page makes Toast answer 409 to
        the next page; as Toast documents, the entity is read again from the first page (what
        was read before is dropped, so every record comes once, from one version)."""
        path = settings.CONFIG_PATH.format(entity=entity)
        records: list[tuple[bytes, object]] = []
        params: dict = {}
        restarts = 0
        while True:
            try:
                response = self.get(path, restaurant=restaurant, params=params)
            except ToastRefusal as exc:
                if exc.status != 409 or not params or restarts >= CONFIG_RESTARTS:
                    if exc.status == 409:
                        raise ToastRefusal(
                            f"Toast kept answering 409 (configuration published while paging) "
                            f"to {entity} of restaurant {restaurant} after {restarts} restarts "
                            "from the first page; the next run reads it again.",
                            status=409,
                            restaurant=restaurant,
                        ) from exc
                    raise
                restarts += 1
                log.info(
                    "restaurant %s published its configuration while %s was paged; "
                    "reading it again from the first page",
                    restaurant,
                    entity,
                )
                records, params = [], {}
                continue
            try:
                records.extend(_with_values(split_array(response.content)))
            except BrokenArray as exc:
                raise ToastRefusal(
                    f"Toast sent an unreadable {entity} page for restaurant {restaurant}: {exc}",
                    status=response.status_code,
                    restaurant=restaurant,
                ) from exc
            token = response.headers.get(settings.NEXT_PAGE_TOKEN_HEADER)
            if not token:
                return records
            params = {"pageToken": token}

    def order_pages(
        self, restaurant: str, params: dict, page_size: int = settings.MAX_PAGE_SIZE
    ) -> Iterator[tuple[str, bytes]]:
        """(url, body bytes) of each ordersBulk page, in page order.

        Toast pages by number and says whether there is a next page (Link rel="next"). Once page 1
        says there is, the next `page_lookahead` pages are requested together, which is what lets
        one location use its whole 5 requests a second. Requests for pages past the last one that
        are still waiting for their turn when it arrives are never sent; at most lookahead - 1
        already sent are wasted, and only on windows of more than one page.
        """
        past_the_end = threading.Event()  # pages still waiting for their turn then never go

        def fetch(page: int) -> httpx.Response:
            return self.get(
                settings.ORDERS_BULK_PATH,
                restaurant=restaurant,
                params={**params, "pageSize": page_size, "page": page},
                unless=past_the_end,
            )

        response = fetch(1)
        lookahead = max(1, self.options.page_lookahead)
        in_flight: deque[Future] = deque()
        next_page = 2
        try:
            while True:
                yield str(response.request.url), response.content
                if not _next_link(response):
                    return
                while len(in_flight) < lookahead:
                    in_flight.append(self._page_pool.submit(fetch, next_page))
                    next_page += 1
                response = in_flight.popleft().result()
        finally:
            past_the_end.set()
            for future in in_flight:
                future.cancel()


def _with_values(elements) -> list[tuple[bytes, object]]:
    return [(bytes(raw), decode(raw)) for raw in elements]


def _next_link(response: httpx.Response) -> str | None:
    for value in response.headers.get_list("Link"):
        match = _NEXT_LINK.search(value)
        if match:
            return match.group(1)
    return None


def _number(text: str | None) -> float:
    try:
        return float(text) if text is not None else 0.0  # seconds and epochs, never money
    except ValueError:
        return 0.0


def _toast_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("message") or body.get("developerMessage") or body)[:300]
    return str(body)[:300]
