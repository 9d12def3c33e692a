"""OData v4 (D365 F&O) and v2 (Exact Online) as the connectors read it: string literals, query
strings, and the pages of a collection, next link after next link."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from urllib.parse import quote

import httpx

# A page's rows and the address of the next page (None after the last).
Page = tuple[Iterable[dict], str | None]


def escaped(text: str) -> str:
    """`text` inside an OData string literal: each ' doubled."""
    return text.replace("'", "''")


def literal(text: str) -> str:
    """`text` as an OData string literal: 'O''Brien'."""
    return "'" + escaped(text) + "'"


def query_url(url: str, query: dict[str, str], safe: str) -> str:
    """`url` with the system query options, each value percent-encoded except `safe`."""
    return (
        url + "?" + "&".join(f"{name}={quote(value, safe=safe)}" for name, value in query.items())
    )


def rows(
    get: Callable[[str], httpx.Response], url: str, page: Callable[[httpx.Response], Page]
) -> Iterator[dict]:
    """Every row of a paged collection: `get` each address, `page` reads an answer (and raises
    when it is a refusal) into its rows and the next address."""
    next_url: str | None = url
    while next_url:
        found, next_url = page(get(next_url))
        yield from found
