"""The API functions the sandbox executes: create, read, readByQuery, readMore and query.

Each returns a `FunctionResult`; a create only *stages* its batches, which the gateway commits
when the whole operation succeeded (operation transaction="true") or the function did.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from sandboxes.intacct import errors
from sandboxes.intacct.books import Company, GlBatch, batch_element, coerce, validate_batch
from sandboxes.intacct.envelope import Function, sub
from sandboxes.intacct.errors import GatewayError
from sandboxes.intacct.objects import ObjectDefinition
from sandboxes.intacct.query import QueryError, parse_filter, parse_query_text

READ_BY_QUERY_MAX_PAGE = 1000
QUERY_MAX_PAGE = 2000
DEFAULT_PAGE = 100


@dataclass
class FunctionResult:
    status: str  # success | failure | aborted
    data: ET.Element | None = None
    errors: list[GatewayError] = field(default_factory=list)
    staged: list[GlBatch] = field(default_factory=list)

    @classmethod
    def failure(cls, *problems: GatewayError) -> FunctionResult:
        return cls("failure", errors=list(problems))


@dataclass
class Cursor:
    """What readMore continues: the rest of a readByQuery result."""

    company_id: str
    object_name: str
    fields: list[tuple[str, str]]  # (spelling answered, record key)
    remaining: list[dict[str, str]]
    page_size: int


class Cursors:
    def __init__(self) -> None:
        self._open: dict[str, Cursor] = {}
        self._ids = itertools.count(1)

    def open(self, cursor: Cursor) -> str:
        result_id = f"7765623332{next(self._ids):06d}"
        self._open[result_id] = cursor
        return result_id

    def take(self, result_id: str) -> Cursor | None:
        return self._open.pop(result_id, None)


def run(company: Company, function: Function, user_id: str, cursors: Cursors) -> FunctionResult:
    try:
        if function.name == "create":
            return _create(company, function.body, user_id)
        if function.name == "read":
            return _read(company, function.body)
        if function.name == "readByQuery":
            return _read_by_query(company, function.body, cursors)
        if function.name == "readMore":
            return _read_more(company, function.body, cursors)
        if function.name == "query":
            return _query(company, function.body)
    except QueryError as exc:
        return FunctionResult.failure(errors.invalid_query(str(exc)))
    return FunctionResult.failure(errors.unknown_function(function.name))


def _create(company: Company, body: ET.Element, user_id: str) -> FunctionResult:
    objects = list(body)
    if not objects:
        return FunctionResult.failure(
            errors.invalid_field("object", "Nothing to create.", "Put a GLBATCH inside <create>.")
        )
    staged, problems = [], []
    for element in objects:
        if element.tag != "GLBATCH":
            problems.append(errors.unknown_object(element.tag))
            continue
        batch, batch_problems = validate_batch(company, element, user_id)
        problems += batch_problems
        if batch:
            staged.append(batch)
    if problems:
        return FunctionResult.failure(*problems)
    return FunctionResult("success", staged=staged)


def created_data(batches: list[GlBatch]) -> ET.Element:
    data = ET.Element("data", listtype="objects", count=str(len(batches)))
    for batch in batches:
        sub(sub(data, "glbatch"), "RECORDNO", str(batch.recordno))
    return data


def _definition(company: Company, body: ET.Element) -> ObjectDefinition:
    name = (body.findtext("object") or "").strip()
    definition = company.definition(name)
    if definition is None:
        raise _UnknownObject(name)
    return definition


class _UnknownObject(QueryError):
    pass


def _fields(definition: ObjectDefinition, names: list[str]) -> list[tuple[str, str]]:
    """(the definition's spelling, the record key) of each field asked for; `*` is all."""
    names = [name.strip() for name in names if name.strip()]
    if not names or names == ["*"]:
        names = list(definition.fields)
    fields = []
    for name in names:
        spelling = definition.field(name)
        if spelling is None:
            raise QueryError(f"Unknown field {name.upper()} on {definition.name}")
        fields.append((spelling, spelling.upper()))
    return fields


def _known(definition: ObjectDefinition, name: str) -> str:
    """The record key of a field a filter or an order names; an unknown one fails the query."""
    if not definition.field(name):
        raise QueryError(f"Unknown field {name.strip().upper() or '(empty)'} on {definition.name}")
    return name.strip().upper()


def _page_size(text: str | None, maximum: int) -> int:
    try:
        size = int(text) if text and text.strip() else DEFAULT_PAGE
    except ValueError:
        raise QueryError(f"pagesize {text!r} is not a number") from None
    if not 1 <= size <= maximum:
        raise QueryError(f"pagesize must be 1..{maximum}")
    return size


def _offset(text: str | None) -> int:
    if not text or not text.strip():
        return 0
    if not text.strip().isdigit():
        raise QueryError(f"offset {text!r} is not a whole number >= 0")
    return int(text)


def _rows(
    data: ET.Element, tag: str, fields: list[tuple[str, str]], records: list[dict[str, str]]
) -> None:
    for record in records:
        element = sub(data, tag)
        for spelling, key in fields:
            sub(element, spelling, record.get(key, ""))


def _read(company: Company, body: ET.Element) -> FunctionResult:
    try:
        definition = _definition(company, body)
    except _UnknownObject as exc:
        return FunctionResult.failure(errors.unknown_object(str(exc)))
    if definition.name != "GLBATCH":
        return FunctionResult.failure(errors.unknown_object(definition.name))
    keys = [key.strip() for key in (body.findtext("keys") or "").split(",") if key.strip()]
    names = [n for n in (body.findtext("fields") or "*").split(",") if n.strip()]
    fields = [spelling for spelling, _ in _fields(definition, names)]
    with_entries = names in ([], ["*"]) or "ENTRIES" in [n.strip().upper() for n in names]
    found = [
        company.batches[int(key)] for key in keys if key.isdigit() and int(key) in company.batches
    ]
    data = ET.Element("data", listtype="glbatch", count=str(len(found)))
    for batch in found:
        batch_element(data, "glbatch", batch, fields, with_entries)
    return FunctionResult("success", data=data)


def _read_by_query(company: Company, body: ET.Element, cursors: Cursors) -> FunctionResult:
    try:
        definition = _definition(company, body)
    except _UnknownObject as exc:
        return FunctionResult.failure(errors.unknown_object(str(exc)))
    fields = _fields(definition, (body.findtext("fields") or "*").split(","))
    predicate = parse_query_text(body.findtext("query") or "", coerce)
    page_size = _page_size(body.findtext("pagesize"), READ_BY_QUERY_MAX_PAGE)
    matches = [record for record in company.records(definition) if predicate(record)]
    cursor = Cursor(company.company_id, definition.name, fields, matches, page_size)
    return FunctionResult("success", data=_page(cursor, cursors, total=len(matches)))


def _read_more(company: Company, body: ET.Element, cursors: Cursors) -> FunctionResult:
    result_id = (body.findtext("resultId") or "").strip()
    cursor = cursors.take(result_id)
    if cursor is None or cursor.company_id != company.company_id:
        return FunctionResult.failure(
            errors.invalid_query(f"resultId {result_id!r} is unknown or was read to the end")
        )
    return FunctionResult("success", data=_page(cursor, cursors, total=len(cursor.remaining)))


def _page(cursor: Cursor, cursors: Cursors, total: int) -> ET.Element:
    page, rest = cursor.remaining[: cursor.page_size], cursor.remaining[cursor.page_size :]
    result_id = ""
    if rest:
        cursor.remaining = rest
        result_id = cursors.open(cursor)
    tag = cursor.object_name.lower()
    data = ET.Element(
        "data",
        listtype=tag,
        count=str(len(page)),
        totalcount=str(total),
        numremaining=str(len(rest)),
        resultId=result_id,
    )
    _rows(data, tag, cursor.fields, page)
    return data


def _query(company: Company, body: ET.Element) -> FunctionResult:
    try:
        definition = _definition(company, body)
    except _UnknownObject as exc:
        return FunctionResult.failure(errors.unknown_object(str(exc)))
    object_name = definition.name
    select = body.find("select")
    names = [(f.text or "").strip() for f in select.findall("field")] if select is not None else []
    if not [name for name in names if name]:
        raise QueryError("Select at least one field: returning all fields is not supported")
    if "*" in names:
        raise QueryError("Returning all fields (*) is not supported by query; name the fields")
    fields = _fields(definition, names)
    filter_element = body.find("filter")
    for named in filter_element.iter("field") if filter_element is not None else ():
        _known(definition, named.text or "")
    predicate = parse_filter(filter_element, coerce)
    records = [record for record in company.records(definition) if predicate(record)]
    for order in reversed(body.findall("orderby/order")):
        name = _known(definition, order.findtext("field") or "")
        descending = order.find("descending") is not None
        records.sort(key=lambda r: coerce(name, r.get(name, "")), reverse=descending)
    page_size = _page_size(body.findtext("pagesize"), QUERY_MAX_PAGE)
    offset = _offset(body.findtext("offset"))
    page = records[offset : offset + page_size]
    data = ET.Element(
        "data",
        listtype=object_name,
        count=str(len(page)),
        totalcount=str(len(records)),
        offset=str(offset),
        numremaining=str(max(0, len(records) - offset - len(page))),
    )
    _rows(data, object_name, fields, page)
    return FunctionResult("success", data=data)
