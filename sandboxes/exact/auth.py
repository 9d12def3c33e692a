"""Exact Online's OAuth 2.0 authorization-code flow as the sandbox runs it.

Codes are single use and short-lived. Each consent starts a token *family*: every refresh
returns a new refresh token and retires the one it used; presenting a retired one again is
taken as theft, so the whole family (its access token included) is revoked and the user must
consent again. A new access token is refused while the family's current one is young and
still valid (Exact's "at most once per ~10 minutes").
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class Family:
    refresh_token: str  # the one refresh token that still works
    retired: set[str] = field(default_factory=set)
    access_token: str | None = None
    access_issued_at: float = 0.0
    access_expires_at: float = 0.0
    revoked: bool = False


class Authority:
    def __init__(self) -> None:
        self.codes: dict[str, tuple[str, float]] = {}  # code -> (redirect_uri, expires at)
        self.families: list[Family] = []
        self.access: dict[str, Family] = {}
        self.reuse_detected = 0
        self.refused_early = 0

    def issue_code(self, redirect_uri: str, ttl: float) -> str:
        code = "code-" + secrets.token_urlsafe(18)
        self.codes[code] = (redirect_uri, time.time() + ttl)
        return code

    def arm(self, refresh_token: str) -> None:
        """Make a refresh token obtained elsewhere work (the sandbox's pre-authorisation, again
        after each reset), without touching the families other runs are using."""
        for family in self.families:
            family.retired.discard(refresh_token)
            if family.refresh_token == refresh_token and not family.revoked:
                return
        self.families.append(Family(refresh_token))

    def exchange_code(self, code: str, redirect_uri: str, ttl: float) -> Family:
        issued = self.codes.pop(code, None)
        if issued is None or issued[1] < time.time():
            raise OAuthError("invalid_grant", "The authorization code is invalid or has expired.")
        if issued[0] != redirect_uri:
            raise OAuthError(
                "invalid_grant",
                "The redirect_uri does not match the one the authorization code was issued for.",
            )
        family = Family("refresh-" + secrets.token_urlsafe(32))
        self.families.append(family)
        self._new_access(family, ttl)
        return family

    def refresh(self, refresh_token: str, ttl: float, min_interval: float) -> Family:
        for family in self.families:
            if refresh_token in family.retired and not family.revoked:
                family.revoked = True
                self.reuse_detected += 1
                if family.access_token:
                    self.access.pop(family.access_token, None)
                raise OAuthError("invalid_grant", "Old refresh token used.")
            if family.refresh_token == refresh_token and not family.revoked:
                now = time.time()
                young = now - family.access_issued_at < min_interval
                if family.access_token and family.access_expires_at > now and young:
                    self.refused_early += 1
                    raise OAuthError(
                        "invalid_request",
                        "Access token requested too early: the current one is valid for "
                        f"{family.access_expires_at - now:.0f} more seconds; reuse it.",
                    )
                family.retired.add(refresh_token)
                family.refresh_token = "refresh-" + secrets.token_urlsafe(32)
                self._new_access(family, ttl)
                return family
        raise OAuthError("invalid_grant", "The refresh token is invalid, expired or revoked.")

    def _new_access(self, family: Family, ttl: float) -> None:
        if family.access_token:
            self.access.pop(family.access_token, None)
        family.access_token = "access-" + secrets.token_urlsafe(32)
        family.access_issued_at = time.time()
        family.access_expires_at = family.access_issued_at + ttl
        self.access[family.access_token] = family

    def valid_access(self, token: str | None) -> bool:
        family = self.access.get(token or "")
        return bool(family) and not family.revoked and family.access_expires_at > time.time()

    def expire_access(self) -> int:
        for family in self.access.values():
            family.access_expires_at = 0.0
        return len(self.access)
