"""Read Toast's JSON without a float ever touching an amount.

msgspec splits an array into the exact bytes of each element (`msgspec.Raw`, no copy, no
number conversion) and decodes only the few fields the loader keys on; whole documents are
decoded with JSON numbers as `Decimal`. What the warehouse stores is the bytes Toast sent.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

_raw_elements = msgspec.json.Decoder(list[msgspec.Raw])
_any = msgspec.json.Decoder(float_hook=Decimal)


class BrokenArray(ValueError):
    """The body could not be read as a JSON array; `rest` is the unread text."""

    def __init__(self, message: str, rest: bytes):
        super().__init__(message)
        self.rest = rest


def split_array(body: bytes) -> list[msgspec.Raw]:
    """The exact bytes of each element of a JSON array."""
    try:
        return _raw_elements.decode(body)
    except msgspec.DecodeError as exc:
        raise BrokenArray(str(exc), body) from exc


def salvage(body: bytes) -> tuple[list[bytes], bytes, str]:
    """For an array that does not parse: the elements before the damage, the rest, and why.

    Walks element by element with the (slower) incremental decoder, so one broken order
    costs only itself and what follows it on the page, never the orders before it.
    """
    import json

    decoder = json.JSONDecoder(parse_float=str)  # numbers stay text here too
    text = body.decode("utf-8", errors="replace")
    good: list[bytes] = []
    pos = text.find("[") + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return good, b"", "the array ended early"
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            reason = (
                f"unparseable JSON at character {exc.pos - pos} of this element "
                f"({exc.msg}); the rest of the page could not be read"
            )
            return good, text[pos:].encode(), reason
        good.append(text[pos:end].encode())
        pos = end


def decode(body: bytes | str):
    """A whole JSON document, numbers as Decimal (ints stay int)."""
    return _any.decode(body)
