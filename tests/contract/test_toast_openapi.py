"""Issue 16: every request the loader sends to Toast, and every answer it reads, checked against
Toast's published OpenAPI specs (`../shared/reference/toast/openapi/`) by openapi-core.

The real loader (`closeout load`, in a process of its own) talks to the Toast sandbox through a
recording proxy; each exchange is then validated against the operation of the spec it belongs
to: path, query parameters, headers (bearer token, `Toast-Restaurant-External-ID`), request
body, status, response headers and body. Toast's own example documents are validated with the
same validator, to show that the allowances (tests/contract/toast_spec.py `ALLOWANCES`) are the
ones real Toast needs: with all of them every example passes, without any one some example
fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from closeout import money
from loaders.toast import settings
from tests.contract.toast_spec import (
    ALL,
    ALLOWANCES,
    REFERENCE,
    Exchange,
    operation_of,
    problems,
)
from tests.kit.examples import example_order, example_orders, read_example

ROOT = Path(__file__).resolve().parents[2]
RESTAURANT = "b601e100-26a6-4cf6-ad6c-b2705d1213bc"  # the sandbox's first location (seed 7)
# Every operation the loader uses (loaders/toast/settings.py), as the specs write their paths.
OPERATIONS = {
    "POST /authentication/v1/authentication/login",
    "GET /partners/v1/restaurants",
    "GET /restaurants/v1/restaurants/{restaurantGUID}",
    *(f"GET /config/v2/{entity}" for entity in settings.CONFIG_ENTITIES),
    "GET /orders/v2/ordersBulk",
    "GET /labor/v1/jobs",
    "GET /labor/v1/timeEntries",
}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class RecordingProxy:
    """Forwards every request to the sandbox and keeps each exchange as it crossed the wire."""

    def __init__(self, upstream: str):
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._upstream = httpx.Client(base_url=upstream, timeout=60)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                proxy.forward(self)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            answer = self._upstream.request(
                handler.command, handler.path, headers=headers, content=body
            )
        except httpx.TransportError:
            handler.close_connection = True  # the sandbox dropped it (a fault): so do we
            return
        url = urlsplit(handler.path)
        exchange = Exchange(
            method=handler.command,
            path=url.path,
            query=parse_qsl(url.query, keep_blank_values=True),
            request_headers=headers,
            request_body=body,
            status=answer.status_code,
            response_headers=[
                (k, v) for k, v in answer.headers.multi_items() if k.lower() not in HOP_BY_HOP
            ],
            response_body=answer.content,
        )
        with self._lock:
            self.exchanges.append(exchange)
        handler.send_response(answer.status_code)
        for name, value in exchange.response_headers:
            if name.lower() != "content-encoding":
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        handler.wfile.write(answer.content)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._upstream.close()


@pytest.fixture
def proxy(toast):
    recording = RecordingProxy(toast.url)
    yield recording
    recording.close()


def closeout_load(
    proxy: RecordingProxy, toast, warehouse: Path, client_secret: str | None = None
) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CLOSEOUT_"))},
        "CLOSEOUT_DB": str(warehouse),
        "SOURCES__TOAST__BASE_URL": proxy.url,
        "SOURCES__TOAST__CLIENT_ID": toast.client_id,
        "SOURCES__TOAST__CLIENT_SECRET": client_secret or toast.client_secret,
        "SOURCES__TOAST__BACKFILL_DAYS": "4",
        "SOURCES__TOAST__PAGE_SIZE": "7",  # several ordersBulk pages a day
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "cli", "load"],
        cwd=warehouse.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_exchange_of_two_loads_conforms_to_toasts_published_specs(toast, proxy, warehouse):
    toast.control("config_page_size", {"size": 2})  # configuration read page by page
    # No 429s: the specs document none (the guide does), so one would be an unknown status here.
    toast.control("rate_limits", {"enabled": False})
    first = closeout_load(proxy, toast, warehouse)  # the backfill: by business date
    assert first.returncode == 0, first.stderr[-3000:]
    second = closeout_load(proxy, toast, warehouse)  # what changed since: by modified time
    assert second.returncode == 0, second.stderr[-3000:]

    exchanges = proxy.exchanges
    by_operation = Counter(operation_of(exchange) for exchange in exchanges)
    assert set(by_operation) == OPERATIONS, by_operation
    failures = {}
    for exchange in exchanges:
        found = problems(exchange)
        if found:
            failures.setdefault(operation_of(exchange), (exchange, found))
    assert not failures, "\n\n".join(
        f"{operation} ({exchange.status}, {exchange.path}?{exchange.query}):\n" + "\n".join(found)
        for operation, (exchange, found) in failures.items()
    )

    # The ways of asking the loader has were all among them, so all were validated.
    queries = [dict(e.query) for e in exchanges if e.path == settings.ORDERS_BULK_PATH]
    assert any("businessDate" in q for q in queries)
    assert any({"startDate", "endDate"} <= set(q) for q in queries)
    assert any(int(q.get("page", 1)) > 1 for q in queries)
    entries = [dict(e.query) for e in exchanges if e.path == settings.TIME_ENTRIES_PATH]
    assert any("businessDate" in q for q in entries)
    assert any({"modifiedStartDate", "modifiedEndDate"} <= set(q) for q in entries)
    config = [dict(e.query) for e in exchanges if e.path.startswith("/config/v2/")]
    assert any("pageToken" in q for q in config)
    orders = sum(
        len(money.loads(e.response_body))
        for e in exchanges
        if e.path == settings.ORDERS_BULK_PATH and e.status == 200
    )
    assert orders > 0
    print(f"{len(exchanges)} exchanges, {orders} orders validated: {dict(by_operation)}")


def test_a_refused_login_is_answered_the_way_toasts_spec_says(toast, proxy, warehouse):
    """The one error body a Toast spec describes (ErrorMessage, for a 401 login), which the
    loader reads to say what Toast refused."""
    refused = closeout_load(proxy, toast, warehouse, client_secret="not-the-secret")
    assert refused.returncode == 1 and "refused the client credentials" in refused.stderr
    logins = [e for e in proxy.exchanges if e.path == settings.LOGIN_PATH]
    assert logins and {e.status for e in logins} == {401}
    assert [problems(e) for e in logins] == [[] for _ in logins]


def test_the_operations_cover_every_path_the_loader_knows():
    """A path added to the loader's settings without a place in OPERATIONS fails here."""
    paths = {
        value
        for name, value in vars(settings).items()
        if name.endswith("_PATH") and isinstance(value, str)
    }
    covered = {operation.split(" ", 1)[1] for operation in OPERATIONS}
    expected = {
        settings.RESTAURANT_PATH.replace("{guid}", "{restaurantGUID}"),
        *(p for p in paths if p not in (settings.RESTAURANT_PATH, settings.CONFIG_PATH)),
        *(settings.CONFIG_PATH.format(entity=e) for e in settings.CONFIG_ENTITIES),
    }
    assert covered == expected


# -- Toast's own documents, and what each allowance is for --------------------------------------


def example_exchanges() -> list[tuple[str, Exchange]]:
    """Toast's example answers, each as the answer to the operation the loader uses for it."""

    found = [
        (
            f"{name} order {guid}",
            example_exchange(settings.ORDERS_BULK_PATH, money.dumps([example_order(name, guid)])),
        )
        for name, guids in example_orders().items()
        for guid in guids
    ]
    for name, path in (
        (
            "restaurants_GET_restaurantGuid_example.json",
            f"/restaurants/v1/restaurants/{RESTAURANT}",
        ),
        ("apiDevGuide-apiPartnersGettingAccessibleRestaurants__1.json", "/partners/v1/restaurants"),
        ("apiDevGuide-apiPartnersGettingAccessibleRestaurants__4.json", "/partners/v1/restaurants"),
        ("apiDevGuide-apiGettingTimeEntriesForEmployees__1.json", settings.TIME_ENTRIES_PATH),
    ):
        found.append((name, example_exchange(path, money.dumps(read_example(name)))))
    refused = example_exchange(settings.LOGIN_PATH, guide_error_example())
    refused.method, refused.status = "POST", 401
    refused.request_headers = {"Content-Type": "application/json"}
    refused.request_body = (
        b'{"clientId":"a","clientSecret":"b","userAccessType":"TOAST_MACHINE_CLIENT"}'
    )
    found.append(("apiDevGuide-apiResponsesAndErrors.md Example 1.10", refused))
    return found


def guide_error_example() -> bytes:
    """The ErrorMessage example of Toast's guide (its only example of an error body)."""
    guide = (REFERENCE / "guide" / "apiDevGuide-apiResponsesAndErrors.md").read_text()
    after = guide.split("ErrorMessage object**", 1)[1]
    return after.split("```", 2)[1].strip().encode()


def test_toasts_example_documents_conform_with_the_allowances():
    examples = example_exchanges()
    failing = {name: problems(exchange) for name, exchange in examples if problems(exchange)}
    assert not failing, failing
    operations = Counter(operation_of(exchange) for _, exchange in examples)
    assert operations["GET /orders/v2/ordersBulk"] >= 7, operations
    # orders, restaurant, partners, time entries, and a refused login
    assert len(operations) == 5, operations


# What each allowance lets through, as the validator reports it without that allowance.
NEEDED_FOR = {
    "nulls": ("None for not nullable",),
    "offsets": ("is not a 'date-time'",),
    "guidless": ("appliedTaxes", "customer", "curbsidePickupInfo"),
    "shift_reference": ("shiftReference",),
    "error_status": ("400 is not of type 'string'",),
}


@pytest.mark.parametrize("allowance", [a.name for a in ALLOWANCES])
def test_each_allowance_is_needed_by_toasts_own_examples(allowance):
    without = ALL - {allowance}
    reports = "\n".join(
        "\n".join(problems(exchange, without)) for _, exchange in example_exchanges()
    )
    for symptom in NEEDED_FOR[allowance]:
        assert symptom in reports, f"no example needs {allowance} for {symptom}"


def test_the_validator_still_refuses_what_toast_never_sends():
    """The allowances are narrow: a wrong type, a date-time that is no date-time, a missing
    required guid elsewhere, a required property or an order of the page null, or a request
    without the restaurant header all fail."""
    name, guids = next(iter(example_orders().items()))
    order = example_order(name, guids[0])

    def page(document) -> Exchange:
        return example_exchange(settings.ORDERS_BULK_PATH, money.dumps(document))

    broken_checks = {**order, "checks": "none"}
    bad_date = {**order, "modifiedDate": "2020-03-02 19:17"}
    no_guid = {**order, "server": {"entityType": "RestaurantUser"}}
    null_required = {**order, "checks": None}  # Order requires checks
    for document in ([broken_checks], [bad_date], [no_guid], [null_required], [None], {"a": 1}):
        assert problems(page(document)), document
    headless = page([order])
    headless.request_headers = {"Authorization": "Bearer example"}
    assert any("Toast-Restaurant-External-ID" in p for p in problems(headless))
    bad_size = page([order])
    bad_size.query = [("businessDate", "20200302"), ("pageSize", "many")]
    assert any("pageSize" in p for p in problems(bad_size))


def example_exchange(path: str, body: bytes) -> Exchange:
    return Exchange(
        method="GET",
        path=path,
        query=[],
        request_headers={"Authorization": "Bearer example", settings.RESTAURANT_HEADER: RESTAURANT},
        request_body=b"",
        status=200,
        response_headers=[("Content-Type", "application/json")],
        response_body=body,
    )
