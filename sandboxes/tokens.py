"""Bearer access tokens a sandbox issued, each valid until it expires."""

from __future__ import annotations

import threading
import time


class BearerTokens:
    def __init__(self) -> None:
        self._expires: dict[str, float] = {}  # access token -> expires at (epoch seconds)
        self._lock = threading.Lock()

    def issue(self, token: str, ttl: float) -> str:
        with self._lock:
            now = time.time()
            self._expires = {t: at for t, at in self._expires.items() if at > now}
            self._expires[token] = now + ttl
        return token

    def valid(self, authorization: str | None) -> bool:
        """Whether an Authorization header carries a bearer token that has not expired."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            expires_at = self._expires.get(token)
        return scheme.lower() == "bearer" and expires_at is not None and expires_at > time.time()

    def expire_all(self) -> int:
        """Expire every token issued; how many there were."""
        with self._lock:
            self._expires = dict.fromkeys(self._expires, 0.0)
            return len(self._expires)

    def clear(self) -> None:
        with self._lock:
            self._expires.clear()
