"""Record filters: readByQuery's SQL-like `query` text and the `query` function's <filter>.

Both compile to a predicate over a record (field name -> text). `coerce` turns a field's text
into a comparable value (numbers, dates), so RECORDNO > 9 and BATCH_DATE ranges compare right.
Supported text: comparisons (=, !=, <>, <, <=, >, >=), IN (...), NOT IN, LIKE, IS [NOT] NULL,
AND, OR, parentheses. Supported <filter> elements: and, or, equalto, notequalto, lessthan,
lessthanorequalto, greaterthan, greaterthanorequalto, in, notin, like, isnull, isnotnull.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

Record = dict[str, str]
Predicate = Callable[[Record], bool]
Coerce = Callable[[str, str], Any]


class QueryError(ValueError):
    pass


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|<>|!=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.X,
)

_COMPARE = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise QueryError(f"cannot read the query at {text[position : position + 20]!r}")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = value[1:-1].replace("''", "'")
        elif kind == "word" and value.upper() in ("AND", "OR", "IN", "NOT", "LIKE", "IS", "NULL"):
            kind, value = "keyword", value.upper()
        tokens.append((kind, value))
        position = match.end()
    return tokens


def parse_query_text(text: str, coerce: Coerce) -> Predicate:
    """readByQuery's query; an empty query selects everything."""
    if not text.strip():
        return lambda record: True
    parser = _TextParser(_tokens(text), coerce)
    predicate = parser.expression()
    if parser.position != len(parser.tokens):
        raise QueryError(f"unexpected {parser.tokens[parser.position][1]!r} in the query")
    return predicate


class _TextParser:
    def __init__(self, tokens: list[tuple[str, str]], coerce: Coerce):
        self.tokens = tokens
        self.position = 0
        self.coerce = coerce

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        token_kind, token_value = self.peek()
        if token_kind != kind or (value is not None and token_value != value):
            raise QueryError(f"expected {value or kind}, found {token_value or 'the end'!r}")
        self.position += 1
        return token_value

    def expression(self) -> Predicate:
        terms = [self.term()]
        while self.peek() == ("keyword", "OR"):
            self.position += 1
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else (lambda r: any(t(r) for t in terms))

    def term(self) -> Predicate:
        factors = [self.factor()]
        while self.peek() == ("keyword", "AND"):
            self.position += 1
            factors.append(self.factor())
        return factors[0] if len(factors) == 1 else (lambda r: all(f(r) for f in factors))

    def factor(self) -> Predicate:
        if self.peek() == ("punct", "("):
            self.position += 1
            inner = self.expression()
            self.take("punct", ")")
            return inner
        field = self.take("word").upper()
        kind, value = self.peek()
        if (kind, value) == ("keyword", "IS"):
            self.position += 1
            negate = self.peek() == ("keyword", "NOT")
            if negate:
                self.position += 1
            self.take("keyword", "NULL")
            return lambda r: (r.get(field) or "") != "" if negate else (r.get(field) or "") == ""
        negate = (kind, value) == ("keyword", "NOT")
        if negate:
            self.position += 1
            kind, value = self.peek()
        if (kind, value) == ("keyword", "IN"):
            self.position += 1
            values = self.value_list(field)
            return lambda r: (
                self._value(field, r) in values
                if not negate
                else self._value(field, r) not in values
            )
        if (kind, value) == ("keyword", "LIKE"):
            self.position += 1
            pattern = _like(self.literal())
            return lambda r: bool(pattern.fullmatch(r.get(field) or "")) != negate
        if negate:
            raise QueryError("NOT must be followed by IN or LIKE")
        op = self.take("op")
        literal = self.coerce(field, self.literal())
        compare = _COMPARE[op]
        return lambda r: _safe(compare, self._value(field, r), literal)

    def value_list(self, field: str) -> set:
        self.take("punct", "(")
        values = {self.coerce(field, self.literal())}
        while self.peek() == ("punct", ","):
            self.position += 1
            values.add(self.coerce(field, self.literal()))
        self.take("punct", ")")
        return values

    def literal(self) -> str:
        kind, value = self.peek()
        if kind not in ("string", "number"):
            raise QueryError(f"expected a value, found {value or 'the end'!r}")
        self.position += 1
        return value

    def _value(self, field: str, record: Record):
        return self.coerce(field, record.get(field) or "")


def parse_filter(element: ET.Element | None, coerce: Coerce) -> Predicate:
    """The `query` function's <filter> (one condition or and/or tree); none selects all."""
    if element is None:
        return lambda record: True
    children = list(element)
    if len(children) != 1:
        raise QueryError("<filter> holds exactly one condition (use <and>/<or> to combine)")
    return _condition(children[0], coerce)


def _condition(element: ET.Element, coerce: Coerce) -> Predicate:
    tag = element.tag.lower()
    if tag in ("and", "or"):
        parts = [_condition(child, coerce) for child in element]
        if len(parts) < 2:
            raise QueryError(f"<{tag}> needs at least two conditions")
        return (
            (lambda r: all(p(r) for p in parts))
            if tag == "and"
            else (lambda r: any(p(r) for p in parts))
        )
    field = (element.findtext("field") or "").strip().upper()
    if not field:
        raise QueryError(f"<{tag}> needs a <field>")
    values = [(v.text or "") for v in element.findall("value")]
    get = lambda r: coerce(field, r.get(field) or "")  # noqa: E731
    if tag == "isnull":
        return lambda r: (r.get(field) or "") == ""
    if tag == "isnotnull":
        return lambda r: (r.get(field) or "") != ""
    if not values:
        raise QueryError(f"<{tag}> needs a <value>")
    if tag in ("in", "notin"):
        wanted = {coerce(field, v) for v in values}
        return (lambda r: get(r) in wanted) if tag == "in" else (lambda r: get(r) not in wanted)
    if tag == "like":
        pattern = _like(values[0])
        return lambda r: bool(pattern.fullmatch(r.get(field) or ""))
    ops = {
        "equalto": "=",
        "notequalto": "!=",
        "lessthan": "<",
        "lessthanorequalto": "<=",
        "greaterthan": ">",
        "greaterthanorequalto": ">=",
    }
    if tag not in ops:
        raise QueryError(f"unsupported filter <{tag}>")
    literal, compare = coerce(field, values[0]), _COMPARE[ops[tag]]
    return lambda r: _safe(compare, get(r), literal)


def _like(pattern: str) -> re.Pattern:
    parts = [".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.I | re.S)


def _safe(compare, left, right) -> bool:
    try:
        return compare(left, right)
    except TypeError:  # e.g. an empty date against a date
        return False
