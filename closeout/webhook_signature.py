"""Toast's webhook message signing.

Toast signs each webhook message with the subscription's secret: HMAC-SHA256 over the body
followed by the message's timestamp, Base64-encoded, in the `Toast-Signature` header (guide:
"Message signing"). No header carries the timestamp, so it is the `timestamp` field of the
body itself, which the signature then covers twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

import msgspec


class _Envelope(msgspec.Struct):
    timestamp: str


_envelope = msgspec.json.Decoder(_Envelope)


def toast_signature(secret: str, body: bytes, timestamp: str) -> str:
    """The `Toast-Signature` of `body` sent at `timestamp` under `secret`."""
    digest = hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def message_timestamp(body: bytes) -> str | None:
    """The `timestamp` field of a webhook message, or None when the body has none."""
    try:
        return _envelope.decode(body).timestamp
    except msgspec.DecodeError:
        return None


def signature_is_valid(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """Whether `signature` is Toast's for `body` under one of `secrets` (several while a new
    subscription overlaps the old). Every secret is compared, in constant time, so the time
    taken says nothing about which one matched or how much of the signature did."""
    timestamp = message_timestamp(body)
    if not signature or timestamp is None or not secrets:
        return False
    given = signature.encode()
    matched = False
    for secret in secrets:
        expected = toast_signature(secret, body, timestamp).encode()
        matched |= hmac.compare_digest(expected, given)
    return matched
