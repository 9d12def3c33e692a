"""OAuth 2.0 authorization-code plumbing for ERPs that allow nothing else (Exact Online,
FreshBooks): the one-time consent behind `closeout connect`, and the refresh tokens kept
between runs.

Both vendors rotate refresh tokens: each refresh returns a new one and kills the old. So the
tokens live in one encrypted file per ERP (Fernet, key from CLOSEOUT_SECRET_KEY, required), a
refresh happens under a file lock that a second run waits on (and then finds the token the first
one saved), and the new refresh token is saved before the access token it came with is used.
The token requests themselves go through the connector's audited ErpHttp, so they are retried
and recorded with the secrets blanked like every other exchange; what they send and how the
answer reads is the vendor's, in its connector.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.fernet import Fernet, InvalidToken
from filelock import FileLock, Timeout

from closeout.errors import ConfigurationError, ErpAuthError
from closeout.token_store import fernet_from_env
from closeout.warehouse import state_dir

PASTE_PROMPT = "Paste the address the browser was sent to: "
LOCK_TIMEOUT_SECONDS = 120.0
# An access token this close to expiry is refreshed rather than used.
EXPIRY_MARGIN_SECONDS = 30.0


@dataclass
class OAuthTokens:
    refresh_token: str
    access_token: str | None = None
    expires_at: float = 0.0  # epoch seconds, of the access token
    account: str | None = None  # what the consent found: Exact's division, FreshBooks' account

    def access_valid(self, now: float | None = None) -> bool:
        return bool(self.access_token) and self.expires_at - EXPIRY_MARGIN_SECONDS > (
            now if now is not None else time.time()
        )


class RotatingTokenStore:
    """One ERP's tokens, encrypted at rest; `refreshing()` serialises refreshes across
    processes."""

    def __init__(self, erp: str, directory: Path | None = None, fernet: Fernet | None = None):
        self.erp = erp
        directory = directory or state_dir()
        self.path = directory / f"{erp}-oauth.enc"
        self._lock = FileLock(str(directory / f"{erp}-oauth.lock"))
        self._fernet = fernet or fernet_from_env(required=True)

    def load(self) -> OAuthTokens | None:
        if not self.path.exists():
            return None
        try:
            data = json.loads(self._fernet.decrypt(self.path.read_bytes()))
        except InvalidToken as exc:
            raise ConfigurationError(
                f"{self.path} was encrypted with another CLOSEOUT_SECRET_KEY: set the key it was "
                f"saved with, or run `closeout connect {self.erp}` again"
            ) from exc
        return OAuthTokens(**data)

    def save(self, tokens: OAuthTokens) -> None:
        """Atomically: a crash leaves the old file or the new one, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(self._fernet.encrypt(json.dumps(asdict(tokens)).encode()))
        tmp.replace(self.path)

    @contextmanager
    def refreshing(self) -> Iterator[None]:
        try:
            with self._lock.acquire(timeout=LOCK_TIMEOUT_SECONDS):
                yield
        except Timeout as exc:
            raise ErpAuthError(
                f"another closeout run has held the {self.erp} token lock for "
                f"{LOCK_TIMEOUT_SECONDS:.0f} s; if none is running, delete {self._lock.lock_file}"
            ) from exc

    def seed(self, refresh_token: str | None) -> None:
        """Store a refresh token obtained elsewhere (a setting), when none is stored yet."""
        if not refresh_token or self.path.exists():
            return
        with self.refreshing():
            if self.load() is None:
                self.save(OAuthTokens(refresh_token))

    def save_locked(self, tokens: OAuthTokens) -> None:
        """Save under the lock: what a consent returned, before it is used for anything."""
        with self.refreshing():
            self.save(tokens)

    def set_account(self, account: str, *, unless_set: bool = False) -> None:
        """Keep what the consent found (a division, an account) with the stored tokens."""
        with self.refreshing():
            stored = self.require()
            if not (unless_set and stored.account is not None):
                self.save(replace(stored, account=account))

    def require(self) -> OAuthTokens:
        tokens = self.load()
        if tokens is None:
            raise ConfigurationError(
                f"closeout is not connected to {self.erp} yet: run `closeout connect {self.erp}` "
                "once (it opens the vendor's consent page and stores the refresh token)"
            )
        return tokens


def fresh_access_token(
    store: RotatingTokenStore, refresh: Callable[[OAuthTokens], OAuthTokens]
) -> OAuthTokens:
    """The stored tokens with a valid access token, refreshing under the lock if needed.
    `refresh` posts the refresh token and returns the new tokens; they are saved before this
    returns, so the rotated refresh token is never lost to a later failure."""
    tokens = store.require()
    if tokens.access_valid():
        return tokens
    with store.refreshing():
        tokens = store.require()  # another run may have refreshed meanwhile
        if tokens.access_valid():
            return tokens
        renewed = refresh(tokens)
        store.save(renewed)
        return renewed


def renew_refused(
    store: RotatingTokenStore, refused: str, refresh: Callable[[OAuthTokens], OAuthTokens]
) -> None:
    """The access token `refused` was refused before its time (revoked, or the ERP's clock):
    refresh under the lock, unless another run already has (then its token is the one to use)."""
    with store.refreshing():
        tokens = store.require()
        if tokens.access_token == refused or not tokens.access_valid():
            store.save(refresh(tokens))


def consent_code(
    auth_url: str,
    client_id: str,
    redirect_uri: str,
    *,
    invitation: str,
    echo: Callable[[str], None],
    extra: dict[str, str] | None = None,
) -> str:
    """The one-time consent: `invitation` and the vendor's consent address for the operator,
    then the authorization code from the browser's redirect (see `receive_code`)."""
    state = new_state()
    echo(f"{invitation}\n" + authorization_url(auth_url, client_id, redirect_uri, state, extra))
    return receive_code(redirect_uri, state, pasted=lambda: input(PASTE_PROMPT))


def query_params(address: str) -> dict[str, str]:
    """The query parameters of a (redirected) address, the last of each name."""
    return _params(urlsplit(address).query)


def _params(query: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(query).items()}


def check_not_refused(params: dict[str, str]) -> None:
    """Raise when a consent redirect says the operator (or the vendor) refused."""
    if "error" in params:
        raise ErpAuthError(
            f"consent was refused: {params['error']} {params.get('error_description', '')}".strip()
        )


def authorization_url(
    base: str, client_id: str, redirect_uri: str, state: str, extra: dict[str, str] | None = None
) -> str:
    query = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": state,
        **(extra or {}),
    }
    return f"{base}?{urlencode(query)}"


def new_state() -> str:
    return secrets.token_urlsafe(24)


def receive_code(
    redirect_uri: str,
    state: str,
    *,
    timeout: float = 300.0,
    pasted: Callable[[], str] | None = None,
) -> str:
    """The authorization code, from the browser's redirect to a loopback `redirect_uri`
    (http://127.0.0.1:PORT/...), or, for any other redirect URI, from the redirected address
    the operator pastes (`pasted`). The state must match: a code meant for another request is
    refused."""
    parts = urlsplit(redirect_uri)
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost") and parts.port:
        return _code_from_query(
            _wait_for_redirect(parts.hostname, parts.port, parts.path, timeout), state
        )
    if pasted is None:
        raise ConfigurationError(
            f"the redirect URI {redirect_uri} is not a loopback address: pass the code with "
            "--code, or paste the address the browser was sent to"
        )
    answer = pasted().strip()
    return _code_from_query(urlsplit(answer).query, state) if "?" in answer else answer


def _code_from_query(query: str, state: str) -> str:
    params = _params(query)
    check_not_refused(params)
    if params.get("state") != state:
        raise ErpAuthError(
            "the consent redirect carried another request's state; start `closeout connect` again"
        )
    if not params.get("code"):
        raise ErpAuthError("the consent redirect carried no authorization code")
    return params["code"]


def _wait_for_redirect(host: str, port: int, path: str, timeout: float) -> str:
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            target = urlsplit(self.path)
            if path and target.path.rstrip("/") != path.rstrip("/"):
                self.send_error(404)
                return
            received.append(target.query)
            body = b"closeout is connected. You can close this window."
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer((host, port), Handler)
    server.timeout = 0.5
    deadline = time.monotonic() + timeout
    try:
        while not received:
            if time.monotonic() > deadline:
                raise ErpAuthError(
                    f"no consent arrived at {host}:{port} within "
                    f"{timeout:.0f} s; run `closeout connect` again"
                )
            server.handle_request()
    finally:
        server.server_close()
    return received[0]
