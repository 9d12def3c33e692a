"""A small threaded HTTP/1.1 server base shared by the sandboxes."""

from __future__ import annotations

import json
import socket
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


def _exact_decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Written as the exact decimal text, so 12.50 stays 12.50 on the wire.
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dump_json(value: Any) -> bytes:
    return orjson.dumps(value, default=_exact_decimal)


class Request:
    """What a route handler sees of one request."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes):
        parts = urlsplit(handler.path)
        self.method = handler.command
        self.path = parts.path
        self.query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        self.headers = handler.headers
        self.body = body
        self.client_ip = handler.client_address[0]

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        """The body, JSON numbers with a fraction as Decimal (amounts never become floats)."""
        return json.loads(self.body, parse_float=Decimal) if self.body else None


class Response:
    def __init__(
        self,
        status: int = 200,
        body: bytes | None = b"",
        headers: dict | None = None,
        content_type: str = "application/json",
    ):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type
        self.delay = 0.0  # seconds to wait before answering (fault injection)
        self.drop = False  # close the connection without answering (fault injection)
        self.truncate = False  # send half the body and close (fault injection)

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: dict | None = None) -> Response:
        return cls(status, dump_json(value), headers)


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        super().__init__((host, port), _Handler)

    def get_request(self):
        # The handler writes the head and the body separately; without TCP_NODELAY the body
        # waits ~40 ms for the client's delayed ACK on every answer that has one.
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sandbox", daemon=True)
        thread.start()
        return thread


def make_server(sandbox, host: str = "127.0.0.1", port: int = 0) -> SandboxHTTPServer:
    """A server for `sandbox` (bound, not yet serving); the sandbox learns its URL as
    `base_url`, for the links and token audiences it writes."""
    server = SandboxHTTPServer(sandbox, host, port)
    sandbox.base_url = server.url
    return server


def serve(sandbox, host: str = "127.0.0.1", port: int = 0):
    """The sandbox and its server, serving in a thread."""
    server = make_server(sandbox, host, port)
    server.start_in_thread()
    return sandbox, server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the vendors' servers do

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.app.handle(Request(self, body))
        if response.delay:
            threading.Event().wait(response.delay)
        if response.drop:
            self.close_connection = True
            return
        payload = response.body or b""
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            for item in value if isinstance(value, list) else [value]:
                self.send_header(name, str(item))
        self.end_headers()
        if response.truncate:
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
