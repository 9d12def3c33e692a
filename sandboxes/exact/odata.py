"""The part of OData v2 that Exact implements and closeout uses: `$filter` with eq/ne/gt/ge/
lt/le, and, or, parentheses and `substringof('text',Field) eq true`, literals `'text'`, numbers,
`guid'...'` and `datetime'yyyy-mm-ddThh:mm[:ss]'`; `$select`; `$top`; server-driven paging with
`d.__next` and `$skiptoken`; and Exact's error envelope
`{"error":{"code":"","message":{"lang":"","value":...}}}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sandboxes.http import Response

SYNTAX_ERROR = "Bad Request - Error in query syntax."


class ExactError(Exception):
    """An answer in Exact's error envelope."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self, headers: dict | None = None) -> Response:
        return Response.json(
            {"error": {"code": "", "message": {"lang": "", "value": self.message}}},
            self.status,
            headers,
        )


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<guid>guid'[0-9a-fA-F-]{36}')
    | (?P<datetime>datetime'[^']*')
    | (?P<string>'(?:[^']|'')*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_]\w*)
    | (?P<punct>[(),])
    )""",
    re.X,
)
Predicate = Callable[[dict], bool]
ORDERING = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}
# OData v2's DateTime literal: a time of day is required, seconds and fractions are not.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?")


def parse_filter(text: str, fields: set[str]) -> Predicate:
    return _Parser(text, fields).parse()


class _Parser:
    def __init__(self, text: str, fields: set[str]):
        self.fields = fields
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise ExactError(400, SYNTAX_ERROR)
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.position = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.position != len(self.tokens):
            raise ExactError(400, SYNTAX_ERROR)
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (value is not None and token[1].lower() != value):
            raise ExactError(400, SYNTAX_ERROR)
        self.position += 1
        return token

    def _or(self) -> Predicate:
        parts = [self._and()]
        while (token := self._peek()) and token[1].lower() == "or":
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._term()]
        while (token := self._peek()) and token[1].lower() == "and":
            self._take()
            parts.append(self._term())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def _term(self) -> Predicate:
        token = self._peek()
        if token and token[1] == "(":
            self._take()
            inner = self._or()
            self._take(")")
            return inner
        if token and token[1].lower() == "substringof":
            self._take()
            self._take("(")
            needle = self._literal()
            self._take(",")
            field = self._field()
            self._take(")")
            self._take("eq")
            wanted = self._take()[1].lower() == "true"

            def contains(row: dict) -> bool:
                return (str(needle).lower() in str(row.get(field) or "").lower()) == wanted

            return contains
        field = self._field()
        operator = self._take()[1].lower()
        if operator in ORDERING:
            return _ordered(field, ORDERING[operator], self._literal())
        if operator not in ("eq", "ne"):
            raise ExactError(400, SYNTAX_ERROR)
        value = self._literal()

        def compare(row: dict) -> bool:
            found = row.get(field)
            same = (
                str(found).lower() == str(value).lower()
                if isinstance(value, str)
                else found == value
            )
            return same if operator == "eq" else not same

        return compare

    def _field(self) -> str:
        kind, name = self._take()
        if kind != "name":
            raise ExactError(400, SYNTAX_ERROR)
        if name not in self.fields:
            raise ExactError(400, f"No property '{name}' exists in type 'Exact.Web.Api.Models'.")
        return name

    def _literal(self) -> Any:
        kind, text = self._take()
        if kind == "guid":
            return text[5:-1].lower()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return Decimal(text) if "." in text else int(text)
        if kind == "datetime":
            value = text[9:-1]
            if not _DATETIME.fullmatch(value):
                raise ExactError(400, SYNTAX_ERROR)
            return datetime.fromisoformat(value[:26])
        raise ExactError(400, SYNTAX_ERROR)


def _ordered(field: str, holds: Callable[[Any, Any], bool], value: Any) -> Predicate:
    """`field gt|ge|lt|le value`: dates compare as midnight, times as UTC without the zone. A
    row without the field never matches; a value of another type (a date against a string) is
    refused, as Exact refuses the query."""
    wanted = _comparable(value)

    def compare(row: dict) -> bool:
        found = _comparable(row.get(field))
        if found is None:
            return False
        if type(found) is not type(wanted):
            raise ExactError(400, SYNTAX_ERROR)
        return holds(found, wanted)

    return compare


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return Decimal(value)
    return value


def select(row: dict, query: dict, fields: set[str]) -> dict:
    wanted = [name.strip() for name in query.get("$select", "").split(",") if name.strip()]
    unknown = [name for name in wanted if name not in fields]
    if unknown:
        raise ExactError(400, f"No property '{unknown[0]}' exists in type 'Exact.Web.Api.Models'.")
    chosen = wanted or sorted(fields)
    return {name: wire(row.get(name)) for name in chosen}


def page(
    rows: list[dict], query: dict, url: str, page_size: int, fields: set[str], key: str
) -> dict:
    """One page of `rows` (already filtered) with `__next` when more follow."""
    skiptoken = query.get("$skiptoken")
    if skiptoken:
        last = skiptoken.removeprefix("guid'").removesuffix("'").lower()
        keys = [str(row[key]).lower() for row in rows]
        if last not in keys:
            raise ExactError(400, SYNTAX_ERROR)
        rows = rows[keys.index(last) + 1 :]
    top = query.get("$top")
    if top is not None:
        if not top.isdigit():
            raise ExactError(400, SYNTAX_ERROR)
        rows = rows[: int(top)]
    shown = rows[:page_size]
    body: dict[str, Any] = {"results": [select(row, query, fields) for row in shown]}
    if len(rows) > page_size:
        following = {name: value for name, value in query.items() if name != "$skiptoken"}
        if top is not None:
            following["$top"] = str(int(top) - page_size)
        following["$skiptoken"] = f"guid'{shown[-1][key]}'"
        body["__next"] = (
            url
            + "?"
            + "&".join(f"{name}={quote(value, safe=_SAFE)}" for name, value in following.items())
        )
    return {"d": body}


def wire(value: Any) -> Any:
    """Exact's JSON: dates as /Date(ms)/."""
    if isinstance(value, datetime):
        return f"/Date({int(value.timestamp() * 1000)})/"
    if isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        return f"/Date({int(moment.timestamp() * 1000)})/"
    return value


_SAFE = "$',()*:/@"
