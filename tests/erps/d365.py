"""The Dynamics 365 F&O sandbox, as the posting tests see it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import partial

import httpx

from sandboxes import d365
from tests import erps
from tests.erps import ErpDocument, ErpLine
from tests.kit import control

FAILPOINTS = ("d365.after_header",)


def documents(sandbox) -> list[ErpDocument]:
    return [_document(header) for header in sandbox.erp_control("d365", "journals")]


def _document(header: dict) -> ErpDocument:
    lines = []
    for line in header["lines"]:
        account, location, center = (line["AccountDisplayValue"].split("-") + ["", ""])[:3]
        lines.append(
            ErpLine(
                account,
                Decimal(str(line["DebitAmount"])),
                Decimal(str(line["CreditAmount"])),
                location or None,
                center or None,
            )
        )
    key = header["Description"].split()[-1]
    return ErpDocument(key, f"{header['dataAreaId']}/{header['JournalBatchNumber']}", lines)


def create_requests(sandbox) -> int:
    requests = sandbox.erp_control("d365", "stats")["requests"]
    return requests.get("POST /data/LedgerJournalHeaders", 0)


def accept_locations(sandbox, locations: list[str]) -> None:
    config = sandbox.erp_control("d365", "config")
    values = {**config["dimension_values"], "Location": locations}
    sandbox.erp_control("d365", "configure", {"dimension_values": values})


def make_trouble(sandbox) -> None:
    sandbox.erp_control("d365", "expire_tokens")
    sandbox.erp_control("d365", "configure", {"throttle_every": 4, "retry_after": 0})
    sandbox.erp_control(
        "d365",
        "faults",
        [
            {"kind": "status", "status": 503, "path": "/data/$batch", "times": 1},
            {"kind": "changeset_failure", "times": 1},
        ],
    )


trouble_seen = partial(erps.trouble_seen, erp="d365")


def request_counts(url: str) -> tuple[int, int, int]:
    stats = control(url, "stats")
    by_path = stats["requests"]
    lookups = sum(n for k, n in by_path.items() if k.startswith(("GET ", "DELETE ")))
    return sum(by_path.values()) + stats["token_requests"], stats["token_requests"], lookups


@contextmanager
def running() -> Iterator:
    """The D365 sandbox (F&O over HTTP, its Entra login host over TLS) for the block; its server."""
    _, server = d365.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def token_response(url: str, tenant: str | None = None, **form) -> httpx.Response:
    """A client-credentials token request to the sandbox's login host, trusting its private CA;
    `form` replaces fields of the correct request."""
    config = control(url, "config")
    body = {
        "grant_type": "client_credentials",
        "client_id": config["client_id"],
        "client_secret": config["client_secret"],
        "scope": f"{config['environment_url']}/.default",
        **form,
    }
    return httpx.post(
        f"{config['login_url']}/{tenant or config['tenant_id']}/oauth2/v2.0/token",
        data=body,
        verify=ssl.create_default_context(cafile=config["ca_file"]),
        timeout=10,
    )


def access_token(url: str) -> str:
    return token_response(url).json()["access_token"]
