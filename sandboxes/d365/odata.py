"""The part of OData v4 that F&O implements and closeout uses: `$filter` (comparisons, and/or/not,
`*` wildcards inside `eq`, startswith/endswith/contains), `$select`, `$orderby`, `$top`, `$skip`,
`$count`, entity keys in the URL, and F&O's error envelope.

Like F&O's SQL collation, string comparisons ignore case; `has` and `in` are refused as F&O
refuses them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.http import Response

WRITE_EXCEPTION = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"


class ODataError(Exception):
    """A request F&O would refuse; `status` and `message` go into its error envelope."""

    def __init__(self, status: int, message: str, inner: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.inner = inner

    def response(self) -> Response:
        error: dict[str, Any] = {"code": "", "message": self.message}
        if self.inner:
            error["innererror"] = self.inner
        return Response.json({"error": error}, self.status, {"OData-Version": "4.0"})


def write_failed(
    entity: str, data_source: str, problems: list[str], status: int = 400
) -> ODataError:
    """F&O's answer to a row that fails validation: the Infolog inside the inner error."""
    infolog = "; ".join(f"Error: {p}" for p in problems)
    message = (
        f"Write failed for table row of type '{entity}'. Infolog: {infolog}; "
        f"Warning: validateWrite failed on data source '{data_source} ({data_source})'."
    )
    return ODataError(
        status,
        "An error has occurred.",
        {
            "message": message,
            "type": WRITE_EXCEPTION,
            "stacktrace": "   at Microsoft.Dynamics.Platform.Integration.Services.OData.Update."
            "UpdateProcessor.CreateEntity_Save(...)",
        },
    )


# -- $filter --------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?)
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][\w.]*)
    | (?P<punct>[(),])
    )""",
    re.X,
)
COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"startswith", "endswith", "contains"}
Predicate = Callable[[dict], Any]


def parse_filter(text: str, fields: dict[str, str], entity_type: str) -> Predicate:
    """Compile a `$filter` expression over records whose field types are `fields`."""
    return _FilterParser(text, fields, entity_type).parse()


class _FilterParser:
    def __init__(self, text: str, fields: dict[str, str], entity_type: str):
        self.tokens = self._tokenize(text)
        self.position = 0
        self.fields = fields
        self.entity_type = entity_type

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise _syntax(f"unexpected character at position {position} in '{text}'")
            kind = match.lastgroup
            value = match.group(kind)
            if (
                kind == "string"
                and tokens
                and tokens[-1][0] == "name"
                and match.start(kind) == position
                and "." in tokens[-1][1]
            ):
                # An enum literal: Microsoft.Dynamics.DataEntities.NoYes'No' compares as 'No'.
                tokens[-1] = ("string", value)
            else:
                tokens.append((kind, value))
            position = match.end()
        return tokens

    def parse(self) -> Predicate:
        if not self.tokens:
            raise _syntax("$filter is empty")
        predicate = self._or()
        if self.position != len(self.tokens):
            raise _syntax(f"unexpected '{self.tokens[self.position][1]}'")
        return predicate

    def _peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise _syntax("the expression ends too early")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _expect(self, value: str) -> None:
        kind, found = self._take()
        if found != value:
            raise _syntax(f"expected '{value}', found '{found}'")

    def _or(self) -> Predicate:
        left = self._and()
        while self._peek() == "or":
            self._take()
            left = (lambda a, b: lambda row: a(row) or b(row))(left, self._and())
        return left

    def _and(self) -> Predicate:
        left = self._not()
        while self._peek() == "and":
            self._take()
            left = (lambda a, b: lambda row: a(row) and b(row))(left, self._not())
        return left

    def _not(self) -> Predicate:
        if self._peek() == "not":
            self._take()
            inner = self._not()
            return lambda row: not inner(row)
        return self._comparison()

    def _comparison(self) -> Predicate:
        left = self._operand()
        operator = self._peek()
        if operator in ("has", "in"):
            raise ODataError(
                400,
                f"The query specified in the URI is not valid. The '{operator}'"
                " operator is not supported; combine 'eq' comparisons with "
                "'or' instead.",
            )
        if operator not in COMPARISONS:
            return lambda row: bool(left(row))
        self._take()
        right = self._operand()
        wildcard = _wildcard(operator, getattr(right, "literal", None))
        if wildcard is not None:
            return lambda row: wildcard(left(row))
        return lambda row: _compare(operator, left(row), right(row))

    def _operand(self) -> Callable[[dict], Any]:
        kind, value = self._take()
        if value == "(":
            inner = self._or()
            self._expect(")")
            return inner
        if kind == "string":
            literal = value[1:-1].replace("''", "'")
            constant = lambda row: literal  # noqa: E731 (it carries the literal, below)
            constant.literal = literal  # a wildcard comparison is compiled once (_wildcard)
            return constant
        if kind == "number":
            number = Decimal(value)
            return lambda row: number
        if kind == "datetime":
            return lambda row: value
        if kind == "name" and value in ("true", "false", "null"):
            constant = {"true": True, "false": False, "null": None}[value]
            return lambda row: constant
        if kind == "name" and value.lower() in FUNCTIONS and self._peek() == "(":
            return self._function(value.lower())
        if kind == "name":
            if value not in self.fields:
                raise ODataError(
                    400, f"Could not find a property named '{value}' on type '{self.entity_type}'."
                )
            return lambda row: row.get(value)
        raise _syntax(f"unexpected '{value}'")

    def _function(self, name: str) -> Callable[[dict], Any]:
        self._expect("(")
        first = self._operand()
        self._expect(",")
        second = self._operand()
        self._expect(")")
        test = {
            "startswith": str.startswith,
            "endswith": str.endswith,
            "contains": str.__contains__,
        }[name]

        def apply(row: dict) -> bool:
            a, b = first(row), second(row)
            return a is not None and b is not None and test(str(a).lower(), str(b).lower())

        return apply


def _compare(operator: str, left: Any, right: Any) -> bool:
    if (
        operator in ("eq", "ne")
        and isinstance(right, str)
        and "*" in right
        and isinstance(left, str)
    ):
        # F&O implements "contains" as a * wildcard inside eq.
        matched = fnmatch.fnmatchcase(left.lower(), right.lower().replace("[", "[[]"))
        return matched if operator == "eq" else not matched
    left, right = _comparable(left), _comparable(right)
    if operator == "eq":
        return left == right
    if operator == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[
            operator
        ]
    except TypeError:
        return False


def _wildcard(operator: str, pattern: str | None) -> Callable[[Any], bool] | None:
    """`Field eq '*text*'` as one compiled test, the same answer as `_compare` gives row by
    row: a held-journal look-up is an or of many such patterns over every header, and matching
    each pattern anew per row grew with the store. None when `pattern` is no wildcard."""
    if operator not in ("eq", "ne") or pattern is None or "*" not in pattern:
        return None
    wanted = operator == "eq"
    lowered = pattern.lower()
    middle = lowered[1:-1]
    if len(lowered) >= 2 and lowered[0] == lowered[-1] == "*" and not set(middle) & set("*?["):

        def contains(value: Any) -> bool:
            if not isinstance(value, str):
                return _compare(operator, value, pattern)
            return (middle in value.lower()) == wanted

        return contains
    matcher = re.compile(fnmatch.translate(lowered.replace("[", "[[]"))).match

    def matches(value: Any) -> bool:
        if not isinstance(value, str):
            return _compare(operator, value, pattern)
        return (matcher(value.lower()) is not None) == wanted

    return matches


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _syntax(detail: str) -> ODataError:
    return ODataError(400, f"The query specified in the URI is not valid. {detail}")


# -- query options --------------------------------------------------------------------------------
UNSUPPORTED_OPTIONS = ("$expand", "$apply", "$search")


def apply_query(
    rows: list[dict], query: dict[str, str], fields: dict[str, str], entity_type: str
) -> tuple[list[dict], int, int | None]:
    """Filter and order `rows`; returns them after $skip with the $top still to honour."""
    for option in UNSUPPORTED_OPTIONS:
        if option in query:
            raise ODataError(
                400,
                f"The query parameter '{option}' is not supported by the sandbox for this entity.",
            )
    if query.get("$filter"):
        predicate = parse_filter(query["$filter"], fields, entity_type)
        rows = [row for row in rows if predicate(row)]
    total = len(rows)
    for clause in reversed([c.strip() for c in query.get("$orderby", "").split(",") if c.strip()]):
        name, _, direction = clause.partition(" ")
        if name not in fields:
            raise ODataError(
                400, f"Could not find a property named '{name}' on type '{entity_type}'."
            )
        rows = sorted(
            rows,
            key=lambda row: _sort_key(row.get(name)),
            reverse=direction.strip().lower() == "desc",
        )
    skip = _non_negative(query, "$skip") or 0
    top = _non_negative(query, "$top")
    return rows[skip:], total, top


def select(row: dict, query: dict[str, str], fields: dict[str, str], entity_type: str) -> dict:
    names = [n.strip() for n in query.get("$select", "").split(",") if n.strip()]
    for name in names:
        if name not in fields and name != "*":
            raise ODataError(
                400, f"Could not find a property named '{name}' on type '{entity_type}'."
            )
    if not names or "*" in names:
        return row
    return {name: row.get(name) for name in names}


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.lower())
    return (2, value)


def _non_negative(query: dict[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        number = int(query[name])
    except ValueError:
        number = -1
    if number < 0:
        raise ODataError(
            400,
            f"Invalid value '{query[name]}' for {name} query option found. "
            f"The {name} query option requires a non-negative integer value.",
        )
    return number


# -- keys -----------------------------------------------------------------------------------------
_KEY_PART = re.compile(r"\s*(\w+)\s*=\s*('(?:[^']|'')*'|[-\d.]+)\s*(?:,|$)")


def parse_key(text: str) -> dict[str, Any]:
    """`dataAreaId='usmf',JournalBatchNumber='USMF-000123',LineNumber=1` as a dict."""
    key, position = {}, 0
    while position < len(text):
        match = _KEY_PART.match(text, position)
        if not match:
            raise ODataError(
                400,
                f"Bad Request - Error in query syntax: the key '{text}' is "
                "not valid; name every key property, e.g. (dataAreaId='usmf',"
                "JournalBatchNumber='00000001').",
            )
        name, raw = match.group(1), match.group(2)
        if raw.startswith("'"):
            key[name] = raw[1:-1].replace("''", "'")
        else:
            try:
                key[name] = Decimal(raw)
            except InvalidOperation:
                raise ODataError(400, f"Bad Request - the key value {raw} is not valid") from None
        position = match.end()
    return key
