"""Encrypted storage for tokens that must outlive one run (Fernet, key from the environment).

Toast allows about two logins an hour, so a scheduler that runs closeout every 15 minutes must
reuse the token of the previous run. Tokens are never written in plain text: without
`CLOSEOUT_SECRET_KEY` nothing is stored and each run logs in once.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from filelock import FileLock

from closeout.errors import ConfigurationError

KEY_VARIABLE = "CLOSEOUT_SECRET_KEY"


def fernet_from_env(required: bool = False) -> Fernet | None:
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        if required:
            raise ConfigurationError(
                f"{KEY_VARIABLE} is not set. Generate one with `closeout keygen` and keep it with "
                "your other secrets; it encrypts the tokens closeout stores between runs."
            )
        return None
    try:
        return Fernet(key.encode())
    except ValueError as exc:
        raise ConfigurationError(
            f"{KEY_VARIABLE} is not a valid Fernet key (32 url-safe base64 bytes): {exc}. "
            "Generate one with `closeout keygen`."
        ) from exc


class TokenStore:
    """A small encrypted JSON file of named tokens with their expiry times.

    Writes are read-modify-write under a file lock, so two processes of one load (or a load and
    a post) never drop each other's entries."""

    def __init__(self, path: Path, fernet: Fernet | None):
        self.path = path
        self.fernet = fernet

    def load(self, name: str) -> tuple[str, float] | None:
        entry = self._read().get(name)
        if not entry or not entry.get("token") or entry["expires_at"] <= time.time():
            return None
        return entry["token"], entry["expires_at"]

    def save(
        self, name: str, token: str, expires_at: float, *, logins: list[float] | None = None
    ) -> None:
        """Keep `token` until `expires_at`; `logins`: when the logins of the last hour were made
        (Toast allows about two an hour, across runs)."""
        entry = {"token": token, "expires_at": expires_at}
        if logins is not None:
            entry["logins"] = list(logins)
        self._update(name, lambda _old: entry)

    def logins(self, name: str) -> list[float]:
        """When the logins recorded with `name` were made, expired token or not."""
        entry = self._read().get(name) or {}
        return list(entry.get("logins", []))

    def forget(self, name: str, token: str) -> None:
        """Drop `token` (the API refused it) so no later run uses it; the logins stay."""

        def drop(old: dict | None) -> dict | None:
            if old and old.get("token") == token:
                return {**old, "token": None, "expires_at": 0.0}
            return old

        self._update(name, drop)

    def _update(self, name: str, change) -> None:
        if self.fernet is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.path.with_suffix(".lock"))):
            entries = self._read()
            entry = change(entries.get(name))
            if entry is None:
                entries.pop(name, None)
            else:
                entries[name] = entry
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(self.fernet.encrypt(json.dumps(entries).encode()))
            os.chmod(tmp, 0o600)
            tmp.replace(self.path)

    def _read(self) -> dict:
        if self.fernet is None or not self.path.exists():
            return {}
        try:
            return json.loads(self.fernet.decrypt(self.path.read_bytes()))
        except InvalidToken:
            return {}  # written with another key: log in again rather than fail the run
