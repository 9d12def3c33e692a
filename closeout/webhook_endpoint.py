"""`POST /webhooks/toast`: verify, spool, acknowledge; nothing else before the answer.

Toast abandons a delivery after 2 s and retries it later, so the answer comes as soon as the
event is durable in the spool (closeout.webhook_spool); applying it to the warehouse is
somebody else's work. A message whose `Toast-Signature` does not verify under one of the
configured secrets is refused with 401 and counted, never stored: Toast does not retry a 401,
and the nightly poll reads whatever a misconfigured secret kept out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from closeout.errors import CloseoutError
from closeout.webhook_signature import signature_is_valid
from closeout.webhook_spool import Spool

SECRETS_SETTING = "SOURCES__TOAST__WEBHOOK_SECRETS"
WEBHOOK_PATH = "/webhooks/toast"
# Toast's order messages carry a whole order, which the guide says can pass 600 kB. Far larger
# is not Toast: refused (413, not retried) before it is read into memory.
MAX_BODY_BYTES = 16 * 2**20


def webhook_secrets() -> list[str]:
    """The subscriptions' secrets, comma-separated (a new subscription overlaps the old)."""
    secrets = [s.strip() for s in os.environ.get(SECRETS_SETTING, "").split(",") if s.strip()]
    if not secrets:
        raise CloseoutError(
            f"no webhook secret: set {SECRETS_SETTING} to the secret Toast gave with the "
            "webhook subscription (several, comma-separated, while subscriptions overlap)"
        )
    return secrets


def webhook_routes(spool: Spool, secrets: Sequence[str]) -> list[Route]:
    async def receive(request: Request) -> JSONResponse:
        body = await _body_within_limit(request)
        if body is None:
            spool.refuse()
            return JSONResponse({"error": f"larger than {MAX_BODY_BYTES} bytes"}, 413)
        if not signature_is_valid(body, request.headers.get("Toast-Signature"), secrets):
            spool.refuse()  # counted in memory: a flood of forgeries forces no disk writes
            return JSONResponse({"error": "the Toast-Signature does not verify"}, 401)
        new, event = await run_in_threadpool(spool.accept, body)
        return JSONResponse({"event": event.guid, "duplicate": not new})

    return [Route(WEBHOOK_PATH, receive, methods=["POST"])]


async def _body_within_limit(request: Request) -> bytes | None:
    """The body, or None as soon as it is known to pass MAX_BODY_BYTES."""
    declared = request.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
