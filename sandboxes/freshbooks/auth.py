"""FreshBooks' OAuth 2.0 server, as a client sees it.

Authorization codes (5 minutes, single use, bound to the redirect URI) come from the consent
page; `/auth/oauth/token` takes the client id and secret in a JSON or form-encoded body (the
docs show JSON, the official SDKs form-encode, the real endpoint takes both), and issues 12-hour
bearer access tokens with a refresh token that never expires but works once: refreshing
returns a new one and retires the old. Presenting a retired refresh token again is treated as
theft (reuse detection): the whole grant, every token descended from the consent, is revoked.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from sandboxes.freshbooks.config import FreshBooksConfig
from sandboxes.freshbooks.errors import INVALID_CLIENT, INVALID_GRANT, auth_error, invalid_token
from sandboxes.http import Response

SCOPES = (
    "user:profile:read user:journal_entries:read user:journal_entries:write "
    "user:clients:read user:invoices:read user:invoices:write user:payments:read "
    "user:payments:write"
)


@dataclass
class _Refresh:
    grant: int
    used: bool = False


@dataclass
class AuthStats:
    token_requests: Counter = field(default_factory=Counter)  # grant_type -> count
    refused: Counter = field(default_factory=Counter)  # error -> count
    reuse_detected: int = 0
    consents: int = 0


class OAuthServer:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._codes: dict[str, tuple[str, float, int]] = {}  # code -> (redirect, expiry, grant)
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, tuple[float, int]] = {}  # token -> (expires at, grant)
        self._revoked: set[int] = set()
        self._grants = 0
        self.stats = AuthStats()
        self.initial_refresh_token = "fb-initial-" + secrets.token_urlsafe(24)
        self.rearm()

    def rearm(self) -> None:
        """The pre-issued consent (connector_env's INITIAL_REFRESH_TOKEN) usable once more, as
        a grant of its own; tokens already issued stay as they are."""
        with self._lock:
            self._refresh[self.initial_refresh_token] = _Refresh(self._new_grant())

    def reset_stats(self) -> None:
        self.stats = AuthStats()

    def expire_access_tokens(self) -> int:
        with self._lock:
            self._access = {token: (0.0, grant) for token, (_, grant) in self._access.items()}
            return len(self._access)

    def _new_grant(self) -> int:
        self._grants += 1
        return self._grants

    # -- consent page -----------------------------------------------------------------------------
    def authorize(self, query: dict[str, str], config: FreshBooksConfig) -> Response:
        if query.get("client_id") != config.client_id:
            return Response(
                400, b"Client authentication failed: unknown client_id.", content_type="text/plain"
            )
        redirect = query.get("redirect_uri", "")
        if not _registered(redirect, config):
            return Response(
                400, b"The redirect uri included is not valid.", content_type="text/plain"
            )
        if query.get("response_type") != "code":
            return _redirect(
                redirect, {"error": "unsupported_response_type", "state": query.get("state", "")}
            )
        with self._lock:
            self.stats.consents += 1
            if config.consent != "allow":
                params = {
                    "error": "access_denied",
                    "error_description": "The resource owner "
                    "or authorization server denied the request.",
                }
            else:
                code = secrets.token_hex(32)
                self._codes[code] = (redirect, time.time() + config.code_ttl, self._new_grant())
                params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        return _redirect(redirect, params)

    # -- token endpoint ---------------------------------------------------------------------------
    def token(self, body, config: FreshBooksConfig) -> Response:
        if not isinstance(body, dict):
            return auth_error(
                400,
                "invalid_request",
                "The request is missing a required parameter: send a JSON object or a "
                "form-encoded body.",
            )
        grant_type = str(body.get("grant_type") or "")
        with self._lock:
            self.stats.token_requests[grant_type or "(none)"] += 1
            if (
                body.get("client_id") != config.client_id
                or body.get("client_secret") != config.client_secret
            ):
                return self._refuse(401, "invalid_client", INVALID_CLIENT)
            if grant_type == "authorization_code":
                return self._from_code(body, config)
            if grant_type == "refresh_token":
                return self._from_refresh(body, config)
            return self._refuse(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )

    def _from_code(self, body: dict, config: FreshBooksConfig) -> Response:
        code = str(body.get("code") or "")
        found = self._codes.pop(code, None)  # single use, whatever happens next
        if found is None or found[1] < time.time() or found[0] != body.get("redirect_uri"):
            return self._refuse(400, "invalid_grant", INVALID_GRANT)
        return self._issue(found[2], config)

    def _from_refresh(self, body: dict, config: FreshBooksConfig) -> Response:
        token = str(body.get("refresh_token") or "")
        refresh = self._refresh.get(token)
        if refresh is None or refresh.grant in self._revoked:
            return self._refuse(400, "invalid_grant", INVALID_GRANT)
        if refresh.used:
            self.stats.reuse_detected += 1
            self._revoked.add(refresh.grant)
            return self._refuse(400, "invalid_grant", INVALID_GRANT)
        refresh.used = True
        return self._issue(refresh.grant, config)

    def _issue(self, grant: int, config: FreshBooksConfig) -> Response:
        access, refresh = secrets.token_urlsafe(48), secrets.token_hex(32)
        now = int(time.time())
        self._access[access] = (now + config.access_token_ttl, grant)
        self._refresh[refresh] = _Refresh(grant)
        return Response.json(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": config.access_token_ttl,
                "refresh_token": refresh,
                "scope": SCOPES,
                "created_at": now,
            }
        )

    def _refuse(self, status: int, error: str, description: str) -> Response:
        self.stats.refused[error] += 1
        return auth_error(status, error, description)

    # -- bearer check -----------------------------------------------------------------------------
    def check(self, authorization: str | None) -> Response | None:
        """None when the bearer token is good; else FreshBooks' 401."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            found = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
            if found is None or found[1] in self._revoked:
                return invalid_token()
            if found[0] <= time.time():
                return invalid_token(expired=True)
        return None


def _registered(redirect: str, config: FreshBooksConfig) -> bool:
    if redirect in config.redirect_uris:
        return True
    parts = urlsplit(redirect)
    return (
        parts.scheme == "http"
        and parts.hostname == "127.0.0.1"
        and bool(parts.port)
        and not parts.query
    )


def _redirect(redirect: str, params: dict[str, str]) -> Response:
    return Response(
        302, b"", {"Location": f"{redirect}?{urlencode(params)}"}, content_type="text/html"
    )
