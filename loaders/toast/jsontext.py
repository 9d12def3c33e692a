"""Read Toast's JSON arrays element by element, keeping each element's exact text.

Numbers are decoded as text (`parse_float=str`), so no amount is ever rounded through a float;
the raw text of each element is what the warehouse stores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

_decoder = json.JSONDecoder(parse_float=str)
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class BrokenArray(ValueError):
    """The array could not be read past some point; `rest` is the unread text."""

    def __init__(self, message: str, rest: str):
        super().__init__(message)
        self.rest = rest


def split_array(text: str) -> Iterator[tuple[str, object]]:
    """(raw text, decoded value) for each element of a JSON array."""
    pos = _WHITESPACE.match(text, 0).end()
    if not text.startswith("[", pos):
        raise BrokenArray("the response is not a JSON array", text)
    pos = _WHITESPACE.match(text, pos + 1).end()
    if text.startswith("]", pos):
        return
    while True:
        try:
            value, end = _decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise BrokenArray(f"unparseable JSON at character {exc.pos - pos} of this element "
                              f"({exc.msg}); the rest of the page could not be read",
                              text[pos:]) from exc
        yield text[pos:end], value
        pos = _WHITESPACE.match(text, end).end()
        if text.startswith(",", pos):
            pos = _WHITESPACE.match(text, pos + 1).end()
        elif text.startswith("]", pos):
            return
        else:
            raise BrokenArray("expected ',' or ']' between elements", text[pos:])


def decode(text: str):
    """A whole JSON document with numbers as text."""
    return _decoder.decode(text)
