"""Helpers the sandbox and connector tests share: serve a sandbox in this process for a block,
and steer any sandbox through its `/_sandbox/<action>` endpoints (`sandboxes/control.py`).
What the connector tests share beyond that (recorded HTTP, a sample journal's lines) is in
`tests/kit/connectors.py`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import pytest

from sandboxes.http import SandboxHTTPServer, serve

Client = TypeVar("Client", bound="SandboxClient")


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


def serving(
    make_sandbox: Callable[[], Any],
    *,
    name: str = "server",
    client: Callable[[str], Any] | None = None,
):
    """A module-scoped fixture called `name` (assign it to that name in the test module): a
    sandbox from `make_sandbox()` served while the module's tests run, given to them as its
    server or, with `client`, as `client(server.url)`."""

    @pytest.fixture(scope="module", name=name)
    def fixture():
        with served(make_sandbox()) as server:
            yield server if client is None else client(server.url)

    return fixture


class SandboxClient:
    """A test's view of one running sandbox: its URL, its control endpoints and, when served in
    this process, the sandbox object itself (`app`)."""

    def __init__(self, url: str, app: Any = None):
        self.url = url
        self.app = app

    def control(self, action: str, body: Any = None) -> Any:
        return control(self.url, action, body)

    def erp_control(self, erp: str, action: str, body: Any = None) -> Any:
        """`control`, in the shape the tests/erps adapters call (as on the Toast sandbox
        process, which reaches each ERP sandbox by name)."""
        return self.control(action, body)

    def reset(self: Client) -> Client:
        """Back to the sandbox's starting state (faults and configuration cleared); self."""
        self.control("reset")
        return self

    def stats(self) -> dict:
        return self.control("stats")
