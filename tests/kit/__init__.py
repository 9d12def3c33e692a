"""Helpers the sandbox tests share: serve a sandbox in this process for a block, and steer any
sandbox through its `/_sandbox/<action>` endpoints (`sandboxes/control.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from sandboxes.http import SandboxHTTPServer, serve


def control(url: str, action: str, body: Any = None, *, check: bool = True) -> Any:
    """POST `body` (JSON) to the sandbox's /_sandbox/<action>; its JSON answer. An error status
    raises unless check=False."""
    response = httpx.post(f"{url}/_sandbox/{action}", json=body or {}, timeout=10)
    if check:
        response.raise_for_status()
    return response.json()


@contextmanager
def served(sandbox) -> Iterator[SandboxHTTPServer]:
    """`sandbox` answering on a free local port until the block ends."""
    _, server = serve(sandbox)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class SandboxClient:
    """A test's view of one running sandbox: its URL and its control endpoints."""

    def __init__(self, url: str):
        self.url = url

    def control(self, action: str, body: Any = None) -> Any:
        return control(self.url, action, body)

    def stats(self) -> dict:
        return self.control("stats")
