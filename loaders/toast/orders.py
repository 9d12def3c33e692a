"""Turn ordersBulk pages into Arrow batches without a float ever touching an amount.

Each order is kept whole as the exact JSON bytes Toast sent (dbt unnests it in DuckDB); the
loader decodes only what it needs to key and window the order. Orders that cannot be keyed are
returned as rejects with their raw text, never dropped.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from itertools import accumulate
from typing import Any

import msgspec
import pyarrow as pa

from loaders.toast.jsontext import BrokenArray, salvage, split_array

# A JSON number with more than 15 significant digits cannot pass exactly through DuckDB's JSON
# reader (it holds numbers as doubles); such an order is rejected rather than silently rounded.
_TOO_PRECISE = re.compile(rb"[:,\[]\s*-?(?:\d{16,}|(?=[\d.]{17})\d+\.\d+)")
# The regex is slow over a 1 MB page; a run of 16 digits-or-dots, found with C-speed byte
# operations, is a superset of what it matches, so pages without one skip it.
_DIGITS_AS_D = bytes.maketrans(b"0123456789.", b"d" * 11)


def _may_be_too_precise(body: bytes) -> bool:
    return b"dddddddddddddddd" in body.translate(_DIGITS_AS_D)


ORDER_SCHEMA = pa.schema(
    [
        pa.field("restaurant_guid", pa.string(), nullable=False),
        pa.field("order_guid", pa.string(), nullable=False),
        ("business_date", pa.date32()),
        ("opened_at", pa.timestamp("us", tz="UTC")),
        ("modified_at", pa.timestamp("us", tz="UTC")),
        ("extracted_at", pa.timestamp("us", tz="UTC")),
        ("order_json", pa.string()),
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("reject_id", pa.string(), nullable=False),
        ("restaurant_guid", pa.string()),
        ("record_guid", pa.string()),
        ("reason", pa.string()),
        ("source_url", pa.string()),
        ("rejected_at", pa.timestamp("us", tz="UTC")),
        ("raw_text", pa.string()),
    ]
)


class _OrderKeys(msgspec.Struct):
    """The only fields the loader reads; everything else stays in the raw bytes."""

    guid: Any = None
    businessDate: Any = None
    modifiedDate: Any = None
    openedDate: Any = None


_order_keys = msgspec.json.Decoder(_OrderKeys)


@dataclass
class ParsedPage:
    rows: dict[str, list] = field(default_factory=lambda: {n: [] for n in ORDER_SCHEMA.names})
    rejects: list[dict] = field(default_factory=list)

    @property
    def order_count(self) -> int:
        return len(self.rows["order_guid"])

    @property
    def nbytes(self) -> int:
        return sum(map(len, self.rows["order_json"]))

    def table(self) -> pa.Table:
        columns = dict(self.rows)
        columns["order_json"] = _utf8_column(columns["order_json"])
        return pa.Table.from_pydict(columns, schema=ORDER_SCHEMA)

    def batch(self) -> OrderBatch:
        return OrderBatch(self.table(), self.rejects)


@dataclass
class OrderBatch:
    """Parsed orders as one Arrow table, with the rejects met on the way: what the order
    writer takes (a ParsedPage serves too)."""

    orders: pa.Table
    rejects: list[dict]

    @property
    def order_count(self) -> int:
        return self.orders.num_rows

    @property
    def nbytes(self) -> int:
        return self.orders.nbytes

    def table(self) -> pa.Table:
        return self.orders


def _utf8_column(values: list[bytes]) -> pa.Array:
    """Arrow strings from bytes in one copy: pyarrow's per-item conversion grows its buffer
    item by item and cost a tenth of the loader's CPU. Validation rejects invalid UTF-8."""
    offsets = array("i", accumulate(map(len, values), initial=0))
    column = pa.Array.from_buffers(
        pa.string(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(values))]
    )
    column.validate(full=True)
    return column


def parse_page(
    body: bytes,
    restaurant_guid: str,
    source_url: str,
    extracted_at: datetime,
    into: ParsedPage | None = None,
) -> ParsedPage:
    """Split one ordersBulk page into keyed orders and rejects (appending to `into`)."""
    parsed = into or ParsedPage()

    def reject(raw: bytes, reason: str, order_guid: str | None = None) -> None:
        parsed.rejects.append(
            reject_row(restaurant_guid, source_url, extracted_at, raw, reason, order_guid)
        )

    try:
        elements = split_array(body)
        broken = None
    except BrokenArray:
        elements, rest, reason = salvage(body)
        broken = (rest, reason)
    check_precision = _may_be_too_precise(body) and _TOO_PRECISE.search(body) is not None
    check_encoding = not _is_utf8(body)  # one C-speed pass; per order only when it fails
    for element in elements:
        raw = bytes(element)
        try:
            keys = _order_keys.decode(raw)
        except msgspec.DecodeError:
            reject(raw, "expected an order object")
            continue
        if check_encoding and not _is_utf8(raw):
            reject(
                raw,
                f"order {keys.guid} is not valid UTF-8 text; Toast should be asked to resend it",
                keys.guid if isinstance(keys.guid, str) else None,
            )
            continue
        problem = _keying_problem(keys, raw if check_precision else None)
        if problem:
            reject(raw, problem, keys.guid if isinstance(keys.guid, str) else None)
        else:
            _add_order(parsed.rows, restaurant_guid, keys, raw, extracted_at)
    if broken:
        reject(*broken)
    return parsed


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _keying_problem(keys: _OrderKeys, raw_to_check: bytes | None) -> str | None:
    guid = keys.guid
    if not isinstance(guid, str) or not guid.strip():
        return "order has no guid: it cannot be merged or traced; Toast should be asked to fix it"
    if business_date(keys.businessDate) is None:
        return (
            f"order {guid} has an invalid businessDate {keys.businessDate!r} "
            "(expected an int yyyymmdd)"
        )
    if toast_time(keys.modifiedDate) is None:
        return f"order {guid} has no valid modifiedDate ({keys.modifiedDate!r})"
    if raw_to_check is not None and _TOO_PRECISE.search(raw_to_check):
        return (
            f"order {guid} has a number with more than 15 significant digits, which cannot "
            "be stored exactly; it was not loaded"
        )
    return None


def _add_order(
    rows: dict[str, list],
    restaurant_guid: str,
    keys: _OrderKeys,
    raw: bytes,
    extracted_at: datetime,
) -> None:
    rows["restaurant_guid"].append(restaurant_guid)
    rows["order_guid"].append(keys.guid)
    rows["business_date"].append(business_date(keys.businessDate))
    rows["opened_at"].append(toast_time(keys.openedDate))
    rows["modified_at"].append(toast_time(keys.modifiedDate))
    rows["extracted_at"].append(extracted_at)
    rows["order_json"].append(raw)


def business_date(value) -> date | None:
    """Toast's businessDate int (yyyymmdd); str accepted as labor's time entries use it."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value)
    if not re.fullmatch(r"\d{8}", text):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def toast_time(value) -> datetime | None:
    """Toast's ISO-8601 timestamps ("2026-03-15T18:22:05.123+0000") as UTC datetimes."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(timezone.utc)


def reject_row(
    restaurant_guid: str,
    source_url: str,
    rejected_at: datetime,
    raw: bytes | str,
    reason: str,
    record_guid: str | None = None,
) -> dict:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    digest = hashlib.sha256(f"{restaurant_guid}\n{text}".encode()).hexdigest()[:32]
    return {
        "reject_id": digest,
        "restaurant_guid": restaurant_guid,
        "record_guid": record_guid,
        "reason": reason,
        "source_url": source_url,
        "rejected_at": rejected_at,
        "raw_text": text,
    }
