"""The part of OData v2 that Exact implements, as the connector and the community client
(`exactonline`) use it: `$filter` with eq/ne/gt/ge/lt/le, and/or/not, parentheses,
`substringof('text',Field)`, `startswith(Field,'text')` and `endswith`; literals `'text'`,
numbers, true/false/null, `guid'...'` and `datetime'yyyy-mm-dd[Thh:mm[:ss]]'`; `$select` (with
`Nav/Field` of an expanded navigation), `$expand`, `$orderby`, `$top`, `$skip`, `$inlinecount`;
server-driven pages in `d.results` with `d.__next` and `$skiptoken`; a single entity by key as
`d` itself; dates as `/Date(ms)/`; and Exact's error envelope
`{"error":{"code":"","message":{"lang":"","value":...}}}`. An unknown system query option is
refused as the OData server refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
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
    | (?P<number>-?\d+(?:\.\d+)?[LlMmDd]?)
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
# OData v2's DateTime literal as Exact reads it: a date, optionally with a time of day (the
# community client sends `datetime'2014-01-01'`), seconds and fractions optional.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?")
# Boolean functions: name -> (argument order, test on (field value, text)).
_FUNCTIONS = {
    "substringof": ("needle_first", lambda found, text: text in found),
    "startswith": ("field_first", lambda found, text: found.startswith(text)),
    "endswith": ("field_first", lambda found, text: found.endswith(text)),
}
_KEYWORDS = {"true": True, "false": False, "null": None}


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

    def _next_is(self, word: str) -> bool:
        token = self._peek()
        return bool(token) and token[1].lower() == word

    def _take(self, value: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (value is not None and token[1].lower() != value):
            raise ExactError(400, SYNTAX_ERROR)
        self.position += 1
        return token

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._next_is("or"):
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._term()]
        while self._next_is("and"):
            self._take()
            parts.append(self._term())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def _term(self) -> Predicate:
        if self._next_is("not"):
            self._take()
            inner = self._term()
            return lambda row: not inner(row)
        if self._next_is("("):
            self._take()
            inner = self._or()
            self._take(")")
            return inner
        token = self._peek()
        if token and token[1].lower() in _FUNCTIONS:
            return self._function()
        field = self._field()
        operator = self._take()[1].lower()
        if operator in ORDERING:
            return _ordered(field, ORDERING[operator], self._literal())
        if operator not in ("eq", "ne"):
            raise ExactError(400, SYNTAX_ERROR)
        value = self._literal()

        def compare(row: dict) -> bool:
            return _equal(row.get(field), value) == (operator == "eq")

        return compare

    def _function(self) -> Predicate:
        """substringof('text',Field), startswith(Field,'text'), endswith(Field,'text'), alone or
        compared with true / false; case-insensitive, as Exact's SQL collation is."""
        order, holds = _FUNCTIONS[self._take()[1].lower()]
        self._take("(")
        if order == "needle_first":
            text = self._literal()
            self._take(",")
            field = self._field()
        else:
            field = self._field()
            self._take(",")
            text = self._literal()
        self._take(")")
        if not isinstance(text, str):
            raise ExactError(400, SYNTAX_ERROR)
        wanted = True
        if self._next_is("eq") or self._next_is("ne"):
            negated = self._take()[1].lower() == "ne"
            value = self._literal()
            if not isinstance(value, bool):
                raise ExactError(400, SYNTAX_ERROR)
            wanted = value != negated

        def test(row: dict) -> bool:
            found = str(row.get(field) or "").lower()
            return holds(found, text.lower()) == wanted

        return test

    def _field(self) -> str:
        kind, name = self._take()
        if kind != "name" or name.lower() in _KEYWORDS:
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
            text = text.rstrip("LlMmDd")
            return Decimal(text) if "." in text else int(text)
        if kind == "datetime":
            value = text[9:-1]
            if not _DATETIME.fullmatch(value):
                raise ExactError(400, SYNTAX_ERROR)
            return datetime.fromisoformat(value[:26])
        if kind == "name" and text.lower() in _KEYWORDS:
            return _KEYWORDS[text.lower()]
        raise ExactError(400, SYNTAX_ERROR)


def _equal(found: Any, value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return found is value
    if isinstance(value, str):
        return found is not None and str(found).lower() == value.lower()
    if isinstance(value, datetime):
        return _comparable(found) == value
    return found == value


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


@dataclass(frozen=True)
class Navigation:
    """A navigation property: the fields of what it leads to and, for a row, those rows."""

    fields: set[str]
    rows: Callable[[dict], list[dict]]


@dataclass(frozen=True)
class EntitySet:
    """How one collection answers: its fields, key, type name, navigation properties and the
    address of one of its rows (`__metadata.uri`, `__deferred` links)."""

    fields: set[str]
    key: str
    type_name: str
    uri: Callable[[dict], str]
    navigations: dict[str, Navigation] = dc_field(default_factory=dict)

    @property
    def full_type(self) -> str:
        return f"Exact.Web.Api.Models.{self.type_name}"


_OPTIONS = {
    "$filter",
    "$select",
    "$expand",
    "$top",
    "$skip",
    "$skiptoken",
    "$orderby",
    "$inlinecount",
    "$format",
}


def check_options(query: dict) -> None:
    for name in query:
        if name.startswith("$") and name not in _OPTIONS:
            raise ExactError(
                400,
                f"The query parameter '{name}' begins with a system-reserved '$' character but "
                "is not recognized.",
            )
    if query.get("$format", "json") != "json":
        raise ExactError(415, "Unsupported media type requested.")


class Shape:
    """What `$select` and `$expand` ask of each row: plain fields, expanded navigations with
    their fields, deferred links for the rest."""

    def __init__(self, query: dict, entity: EntitySet):
        self.entity = entity
        self.expanded = [n.strip() for n in query.get("$expand", "").split(",") if n.strip()]
        for name in self.expanded:
            if name not in entity.navigations:
                raise ExactError(
                    400, f"Could not find a property named '{name}' on type '{entity.full_type}'."
                )
        self.plain: list[str] = []
        self.nested: dict[str, list[str]] = {name: [] for name in self.expanded}
        wanted = [n.strip() for n in query.get("$select", "").split(",") if n.strip()]
        for name in wanted:
            head, _, rest = name.partition("/")
            if rest:
                if head not in self.expanded:
                    raise ExactError(
                        400,
                        "Only properties specified in $expand can be traversed in $select query "
                        f"options. Selected item: '{name}'.",
                    )
                if rest not in entity.navigations[head].fields:
                    raise ExactError(400, no_property(rest))
                self.nested[head].append(rest)
            elif name in entity.navigations:
                self.nested.setdefault(name, [])
            elif name in entity.fields:
                self.plain.append(name)
            else:
                raise ExactError(400, no_property(name))
        self.everything = not wanted

    def __call__(self, row: dict) -> dict:
        entity = self.entity
        shaped: dict[str, Any] = {"__metadata": {"uri": entity.uri(row), "type": entity.full_type}}
        for name in sorted(entity.fields) if self.everything else self.plain:
            shaped[name] = wire(row.get(name))
        for name, navigation in entity.navigations.items():
            if name in self.expanded and (self.everything or name in self.nested):
                chosen = self.nested.get(name) or sorted(navigation.fields)
                shaped[name] = {
                    "results": [
                        {field: wire(child.get(field)) for field in chosen}
                        for child in navigation.rows(row)
                    ]
                }
            elif self.everything or name in self.nested:
                shaped[name] = {"__deferred": {"uri": f"{entity.uri(row)}/{name}"}}
        return shaped


def page(rows: list[dict], query: dict, url: str, page_size: int, entity: EntitySet) -> dict:
    """One page of `rows` (already filtered) in `d.results`, with `__next` when more follow and
    `__count` for `$inlinecount=allpages`."""
    check_options(query)
    shape = Shape(query, entity)
    rows = _ordered_by(rows, query.get("$orderby", ""), entity.fields)
    count = len(rows)
    skiptoken = query.get("$skiptoken")
    if skiptoken:
        last = skiptoken.removeprefix("guid'").removesuffix("'").strip("'").lower()
        keys = [str(row[entity.key]).lower() for row in rows]
        if last not in keys:
            raise ExactError(400, SYNTAX_ERROR)
        rows = rows[keys.index(last) + 1 :]
    elif "$skip" in query:
        rows = rows[_whole(query["$skip"]) :]
    top = query.get("$top")
    if top is not None:
        rows = rows[: _whole(top)]
    shown = rows[:page_size]
    body: dict[str, Any] = {"results": [shape(row) for row in shown]}
    inlinecount = query.get("$inlinecount", "none")
    if inlinecount not in ("none", "allpages"):
        raise ExactError(400, SYNTAX_ERROR)
    if inlinecount == "allpages":
        body["__count"] = str(count)
    if len(rows) > page_size:
        following = {
            name: value for name, value in query.items() if name not in ("$skiptoken", "$skip")
        }
        if top is not None:
            following["$top"] = str(int(top) - page_size)
        last_key = shown[-1][entity.key]
        following["$skiptoken"] = (
            f"guid'{last_key}'" if GUID_TEXT.fullmatch(str(last_key)) else f"{last_key}"
        )
        body["__next"] = (
            url
            + "?"
            + "&".join(f"{name}={quote(value, safe=_SAFE)}" for name, value in following.items())
        )
    return {"d": body}


def one(row: dict, query: dict, entity: EntitySet) -> dict:
    """A single entity addressed by its key: `d` is the row itself (OData v2)."""
    check_options(query)
    for option in ("$filter", "$top", "$skip", "$skiptoken", "$orderby", "$inlinecount"):
        if option in query:
            raise ExactError(400, f"Query option {option} is not allowed on a single entity.")
    return {"d": Shape(query, entity)(row)}


def _ordered_by(rows: list[dict], orderby: str, fields: set[str]) -> list[dict]:
    for clause in reversed([c.strip() for c in orderby.split(",") if c.strip()]):
        name, _, direction = clause.partition(" ")
        direction = direction.strip().lower() or "asc"
        if name not in fields:
            raise ExactError(400, no_property(name))
        if direction not in ("asc", "desc"):
            raise ExactError(400, SYNTAX_ERROR)
        rows = sorted(
            rows,
            key=lambda row: (row.get(name) is not None, _comparable(row.get(name))),
            reverse=direction == "desc",
        )
    return rows


def _whole(text: str) -> int:
    if not text.isdigit():
        raise ExactError(400, SYNTAX_ERROR)
    return int(text)


def no_property(name: str) -> str:
    return f"No property '{name}' exists in type 'Exact.Web.Api.Models'."


def wire(value: Any) -> Any:
    """Exact's JSON: dates as /Date(ms)/."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return f"/Date({int(value.timestamp() * 1000)})/"
    if isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        return f"/Date({int(moment.timestamp() * 1000)})/"
    return value


GUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_SAFE = "$',()*:/@"
