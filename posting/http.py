"""HTTP for ERP connectors: retries that honour Retry-After, and an audit record of every
request and response with secrets removed.

Connectors build their requests; `ErpHttp.request` sends them, retries 429, 5xx and dropped
connections with backoff (tenacity), and hands each exchange to the audit sink tagged with the
journal being posted (`posting_journal`), so an analyst can answer "what exactly did we send
for store 12 on the 3rd".
"""

from __future__ import annotations

import contextlib
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from closeout.errors import ConfigurationError, ErpCertificateUntrusted, ErpUnavailable

_current: ContextVar[tuple[str, str] | None] = ContextVar("posting_journal", default=None)
REDACTED = "***"
_SECRET_FIELDS = (
    "password",
    "client_secret",
    "access_token",
    "refresh_token",
    "sessionid",
    "id_token",
    "assertion",
    "secret",
)
# Per field name, its XML element, JSON member and form field. Only the names a text contains
# are tried: 24 case-insensitive scans of every request and answer took 40 % of the posting
# threads' time on a 1,000-journal night (D365 batch answers carry every line).
_SECRET_PATTERNS = {
    name: (
        re.compile(rf"(<{name}>)[^<]*(</{name}>)", re.I),
        re.compile(rf'("{name}"\s*:\s*")[^"]*(")', re.I),
        re.compile(rf"(\b{name}=)[^&\s]*()", re.I),
    )
    for name in _SECRET_FIELDS
}
_SECRET_HEADERS = {"authorization", "cookie", "set-cookie", "x-api-key"}
MAX_BODY_CHARS = 1_000_000


@contextlib.contextmanager
def posting_journal(journal_id: str, key: str) -> Iterator[None]:
    """Tag every exchange inside the block with the journal being posted."""
    token = _current.set((journal_id, key))
    try:
        yield
    finally:
        _current.reset(token)


@dataclass
class Exchange:
    erp: str
    journal_id: str | None
    idempotency_key: str | None
    started_at: datetime
    seconds: float
    method: str
    url: str
    request_headers: str
    request_body: str
    status: int | None
    response_body: str
    error: str | None


AuditSink = Callable[[Exchange], None]


class Redactor:
    """Removes secrets from what is stored: known field names in JSON, XML and form bodies,
    auth headers, and every secret value the connector registered (tokens it received)."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._values: set[str] = {s for s in secrets if s and len(s) >= 4}

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            self._values.add(secret)

    def text(self, text: str) -> str:
        folded = text.casefold()  # what re.I matches, ſ and K included
        for name, patterns in _SECRET_PATTERNS.items():
            if name in folded:
                for pattern in patterns:
                    text = pattern.sub(rf"\g<1>{REDACTED}\g<2>", text)
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, REDACTED)
        return text

    def headers(self, headers: httpx.Headers) -> str:
        return "\n".join(
            f"{name}: {REDACTED if name.lower() in _SECRET_HEADERS else self.text(v)}"
            for name, v in headers.items()
        )


class _Retryable(Exception):
    def __init__(self, message: str, wait: float):
        super().__init__(message)
        self.wait = wait


class ErpHttp:
    """One ERP's HTTP client. `request` returns the final response for any status it does not
    retry (the connector reads 4xx and errors inside 200); raises ErpUnavailable when retries
    run out. Waits are the larger of Retry-After (1 s when absent) and 0.5 s doubling per
    attempt, at most `max_wait_seconds`. Tests pass `transport` (httpx.MockTransport) and a
    `sleep` that records."""

    def __init__(
        self,
        erp: str,
        *,
        sink: AuditSink | None = None,
        timeout: float = 60.0,
        max_attempts: int = 6,
        max_wait_seconds: float = 120.0,
        retry_statuses: Iterable[int] = (429, 500, 502, 503, 504),
        secrets: Iterable[str] = (),
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.erp = erp
        self.sink = sink
        self.redactor = Redactor(secrets)
        self.retry_statuses = frozenset(retry_statuses)
        self.max_attempts = max_attempts
        self.max_wait_seconds = max_wait_seconds
        self._sleep = sleep
        self._transport = transport
        self._client = client or httpx.Client(timeout=timeout, transport=transport)

    def trust(self, ca_bundle: str) -> None:
        """Trust only the certificate authorities in `ca_bundle` (a PEM file): a private CA, or
        a sandbox's. Replaces the client, keeping its timeout and a transport given to
        __init__. A file that is not PEM certificates is a ConfigurationError naming it."""
        try:
            context = ssl.create_default_context(cafile=ca_bundle)
        except OSError as exc:  # ssl.SSLError too: empty, DER, a key, any other content
            reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
            raise ConfigurationError(
                f"ERP__{self.erp.upper()}__CA_BUNDLE is {ca_bundle!r}, which is not a PEM file "
                f"of certificate authorities ({reason}): give the PEM file (BEGIN CERTIFICATE "
                "blocks; convert a DER .cer with `openssl x509 -inform der -in FILE.cer -out "
                "FILE.pem`) of the authority that signed the ERP's certificate, or leave it empty"
            ) from None
        timeout = self._client.timeout
        self._client.close()
        self._client = httpx.Client(timeout=timeout, verify=context, transport=self._transport)

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, url, attempt.retry_state.attempt_number, **kwargs)
        except _Retryable as exc:
            raise ErpUnavailable(
                f"{self.erp}: {exc} (gave up after {self.max_attempts} "
                "attempts; the journal stays unposted and the next run "
                "tries again)"
            ) from None
        raise AssertionError("unreachable")

    def _wait(self, state) -> float:
        exc = state.outcome.exception()
        backoff = min(self.max_wait_seconds, 0.5 * 2 ** (state.attempt_number - 1))
        return min(self.max_wait_seconds, max(getattr(exc, "wait", 0.0), backoff))

    def _once(self, method: str, url: str, attempt: int, **kwargs) -> httpx.Response:
        request = self._client.build_request(method, url, **kwargs)
        started, clock = datetime.now(timezone.utc), time.perf_counter()
        try:
            response = self._client.send(request)
            response.read()
        except httpx.TransportError as exc:
            self._record(request, started, clock, None, "", f"{type(exc).__name__}: {exc}")
            if _certificate_refused(exc):
                # Waiting does not make a certificate trusted: say what to set, now.
                # Nothing was sent (the handshake failed): a post stops as on refused
                # credentials, and says which setting to give.
                raise ErpCertificateUntrusted(
                    f"{self.erp}: the certificate of {request.url.host} is not trusted ({exc}): "
                    f"if the host is right, set ERP__{self.erp.upper()}__CA_BUNDLE to the PEM "
                    "file of the certificate authority that signed it"
                ) from None
            raise _Retryable(f"{type(exc).__name__} on {method} {request.url.path}", 0.0) from exc
        self._record(request, started, clock, response.status_code, response.text, None)
        if response.status_code in self.retry_statuses:
            wait = _retry_after(response.headers.get("Retry-After"))
            raise _Retryable(
                f"HTTP {response.status_code} on {method} {request.url.path}: "
                f"{response.text[:300]}",
                wait,
            )
        return response

    def _record(
        self,
        request: httpx.Request,
        started: datetime,
        clock: float,
        status: int | None,
        body: str,
        error: str | None,
    ) -> None:
        if self.sink is None:
            return
        journal_id, key = _current.get() or (None, None)
        content = request.content.decode("utf-8", errors="replace")
        self.sink(
            Exchange(
                erp=self.erp,
                journal_id=journal_id,
                idempotency_key=key,
                started_at=started,
                seconds=time.perf_counter() - clock,
                method=request.method,
                url=self.redactor.text(str(request.url)),
                request_headers=self.redactor.headers(request.headers),
                request_body=self.redactor.text(content)[:MAX_BODY_CHARS],
                status=status,
                response_body=self.redactor.text(body)[:MAX_BODY_CHARS],
                error=error,
            )
        )


def _certificate_refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _retry_after(value: str | None) -> float:
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    with contextlib.suppress(TypeError, ValueError):
        from email.utils import parsedate_to_datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    return 1.0
