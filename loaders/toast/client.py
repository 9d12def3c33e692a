"""HTTP client for Toast: one cached token for all locations, pacing, retries, paging."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from loaders.errors import (
    ConfigurationError,
    ToastAuthError,
    ToastRefusal,
    ToastTransportError,
    ToastUnavailable,
)
from loaders.toast import settings
from loaders.toast.jsontext import BrokenArray, decode, split_array
from loaders.token_store import TokenStore

log = logging.getLogger("closeout.toast")

_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class _Retryable(Exception):
    """A 5xx or a dropped connection: worth another try after a pause."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


class TokenProvider:
    """One Toast token for every location, reused until shortly before it expires.

    Thread-safe; renews at most `LOGINS_PER_HOUR_LIMIT` times an hour, as Toast asks.
    """

    def __init__(self, http: httpx.Client, base_url: str, client_id: str, client_secret: str,
                 store: TokenStore | None = None):
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
        self._token: str | None = None
        self._expires_at = 0.0
        self._logins: deque[float] = deque()
        self._lock = threading.Lock()
        self._store_key = f"toast:{base_url}:{client_id}"

    def token(self) -> str:
        with self._lock:
            if self._token and self._expires_at - settings.TOKEN_RENEW_MARGIN_SECONDS > time.time():
                return self._token
            if self.store and not self._token:
                cached = self.store.load(self._store_key)
                if cached and cached[1] - settings.TOKEN_RENEW_MARGIN_SECONDS > time.time():
                    self._token, self._expires_at = cached
                    return self._token
            self._login()
            return self._token

    def reject(self, token: str) -> None:
        """Toast said 401 to this token: forget it so the next call logs in again."""
        with self._lock:
            if self._token == token:
                self._token, self._expires_at = None, 0.0

    def _login(self) -> None:
        now = time.time()
        while self._logins and now - self._logins[0] > 3600:
            self._logins.popleft()
        if len(self._logins) >= settings.LOGINS_PER_HOUR_LIMIT:
            raise ToastAuthError(
                "Toast rejected the token again after two logins this hour; Toast allows about "
                "two a hour, so closeout stops instead of risking the API access. Check the "
                "client credentials and the clock, then run again later."
            )
        try:
            response = self.http.post(self.base_url + settings.LOGIN_PATH, json={
                "clientId": self.client_id, "clientSecret": self.client_secret,
                "userAccessType": "TOAST_MACHINE_CLIENT",
            })
        except httpx.TransportError as exc:
            raise ToastTransportError(f"Could not reach Toast to log in: {exc}") from exc
        self._logins.append(now)
        if response.status_code in (400, 401, 403):
            raise ToastAuthError(
                f"Toast refused the client credentials (HTTP {response.status_code}: "
                f"{_toast_message(response)}). Check SOURCES__TOAST__CLIENT_ID and "
                "SOURCES__TOAST__CLIENT_SECRET."
            )
        if response.status_code != 200:
            raise ToastUnavailable(f"Toast login failed with HTTP {response.status_code}: "
                                   f"{_toast_message(response)}")
        token = response.json()["token"]
        self._token = token["accessToken"]
        self._expires_at = now + int(token["expiresIn"])
        if self.store:
            self.store.save(self._store_key, self._token, self._expires_at)
        log.info("logged in to Toast; token valid for %s s", token["expiresIn"])


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


@dataclass
class ClientOptions:
    timeout: float = 30.0
    attempts: int = 5                 # for 5xx and dropped connections
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_throttle_wait: float = 900.0  # give up on a request after this long in 429s


class ToastClient:
    def __init__(self, base_url: str, client_id: str, client_secret: str, *,
                 options: ClientOptions | None = None, token_store: TokenStore | None = None,
                 transport: httpx.BaseTransport | None = None):
        if not base_url:
            raise ConfigurationError(
                "Toast base URL is not set: SOURCES__TOAST__BASE_URL or base_url under "
                "[sources.toast] in .dlt/config.toml (e.g. https://ws-api.toasttab.com)."
            )
        self.base_url = base_url.rstrip("/")
        self.options = options or ClientOptions()
        self.http = httpx.Client(timeout=self.options.timeout, transport=transport,
                                 limits=httpx.Limits(max_connections=64,
                                                     max_keepalive_connections=64))
        self.tokens = TokenProvider(self.http, self.base_url, client_id, client_secret,
                                    token_store)
        self.pacer = Pacer()
        self.requests = 0
        self.throttled = 0

    def close(self) -> None:
        self.http.close()

    def get(self, path_or_url: str, *, restaurant: str | None = None,
            params: dict | None = None) -> httpx.Response:
        url = path_or_url if path_or_url.startswith("http") else self.base_url + path_or_url
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            wait=wait_exponential(multiplier=self.options.backoff_initial,
                                  max=self.options.backoff_max)
            + wait_random(0, self.options.backoff_initial),
            stop=stop_after_attempt(self.options.attempts),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._get_once(url, restaurant, params)
        except _Retryable as exc:
            error = exc.error
            where = f" for restaurant {restaurant}" if restaurant else ""
            if isinstance(error, httpx.TransportError):
                raise ToastTransportError(
                    f"Toast could not be reached{where} after {self.options.attempts} attempts "
                    f"({type(error).__name__}: {error}) at {url}; the next run resumes here.",
                    restaurant=restaurant, url=url) from error
            raise ToastUnavailable(
                f"Toast kept failing{where} after {self.options.attempts} attempts ({error}) at "
                f"{url}; the next run resumes here.", restaurant=restaurant, url=url) from error
        raise AssertionError("unreachable")

    def _get_once(self, url: str, restaurant: str | None, params: dict | None) -> httpx.Response:
        key = restaurant or "-"
        throttled_for = 0.0
        reauthenticated = False
        while True:
            self.pacer.wait(key)
            token = self.tokens.token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if restaurant:
                headers[settings.RESTAURANT_HEADER] = restaurant
            started = time.monotonic()
            try:
                response = self.http.get(url, params=params, headers=headers)
                response.read()
            except httpx.TransportError as exc:
                raise _Retryable(exc) from exc
            self.requests += 1
            self.pacer.observe(key, response)
            status = response.status_code
            if status == 429:
                self.throttled += 1
                throttled_for += time.monotonic() - started + (
                    _number(response.headers.get("Retry-After")) or 1.0)
                if throttled_for > self.options.max_throttle_wait:
                    raise ToastUnavailable(
                        f"Toast kept rate-limiting restaurant {restaurant} for "
                        f"{throttled_for:.0f} s at {url}; the next run resumes here.",
                        restaurant=restaurant, url=url)
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
                    status=status, restaurant=restaurant, url=str(response.request.url))
            return response

    def get_json(self, path: str, *, restaurant: str | None = None, params: dict | None = None):
        """The decoded body, numbers as Decimal (see jsontext)."""
        return decode(self.get(path, restaurant=restaurant, params=params).content)

    def get_array(self, path: str, *, restaurant: str | None = None,
                  params: dict | None = None) -> list[tuple[bytes, object]]:
        """(exact bytes, decoded value) of each element of a JSON array response."""
        response = self.get(path, restaurant=restaurant, params=params)
        try:
            return _with_values(split_array(response.content))
        except BrokenArray as exc:
            raise ToastRefusal(f"Toast sent an unreadable array from {response.request.url} for "
                               f"restaurant {restaurant}: {exc}", status=response.status_code,
                               restaurant=restaurant, url=str(response.request.url)) from exc

    def config_records(self, entity: str, restaurant: str) -> list[tuple[bytes, object]]:
        """Every record of one configuration entity, following Toast-Next-Page-Token."""
        path = settings.CONFIG_PATH.format(entity=entity)
        records: list[tuple[bytes, object]] = []
        params: dict = {}
        while True:
            response = self.get(path, restaurant=restaurant, params=params)
            try:
                records.extend(_with_values(split_array(response.content)))
            except BrokenArray as exc:
                raise ToastRefusal(f"Toast sent an unreadable {entity} page for restaurant "
                                   f"{restaurant}: {exc}", status=response.status_code,
                                   restaurant=restaurant) from exc
            token = response.headers.get(settings.NEXT_PAGE_TOKEN_HEADER)
            if not token:
                return records
            params = {"pageToken": token}

    def order_pages(self, restaurant: str, params: dict,
                    page_size: int = settings.MAX_PAGE_SIZE) -> Iterator[tuple[str, bytes]]:
        """(url, body bytes) of each ordersBulk page, following the Link rel="next" header."""
        response = self.get(settings.ORDERS_BULK_PATH, restaurant=restaurant,
                            params={**params, "pageSize": page_size, "page": 1})
        while True:
            yield str(response.request.url), response.content
            next_url = _next_link(response)
            if not next_url:
                return
            response = self.get(next_url, restaurant=restaurant)


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
