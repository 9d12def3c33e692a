"""Turn ordersBulk pages into Arrow batches without a float ever touching an amount.

Each order is kept whole as the exact JSON text Toast sent (dbt unnests it in DuckDB); the
loader reads only what it needs to key and window the order. Orders that cannot be keyed are
returned as rejects with their raw text, never dropped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import pyarrow as pa

from loaders.toast.jsontext import BrokenArray, split_array

# A JSON number with more than 15 significant digits cannot pass exactly through DuckDB's JSON
# reader (it parses numbers as doubles); such an order is rejected rather than silently rounded.
_TOO_PRECISE = re.compile(r"[:,\[]\s*-?(?:\d{16,}|(?=[\d.]{17})\d+\.\d+)")

ORDER_SCHEMA = pa.schema([
    pa.field("restaurant_guid", pa.string(), nullable=False),
    pa.field("order_guid", pa.string(), nullable=False),
    ("business_date", pa.date32()),
    ("opened_at", pa.timestamp("us", tz="UTC")),
    ("modified_at", pa.timestamp("us", tz="UTC")),
    ("extracted_at", pa.timestamp("us", tz="UTC")),
    ("order_json", pa.string()),
])

REJECT_SCHEMA = pa.schema([
    pa.field("reject_id", pa.string(), nullable=False),
    ("restaurant_guid", pa.string()),
    ("record_guid", pa.string()),
    ("reason", pa.string()),
    ("source_url", pa.string()),
    ("rejected_at", pa.timestamp("us", tz="UTC")),
    ("raw_text", pa.string()),
])


@dataclass
class ParsedPage:
    rows: dict[str, list] = field(default_factory=lambda: {n: [] for n in ORDER_SCHEMA.names})
    rejects: list[dict] = field(default_factory=list)

    @property
    def order_count(self) -> int:
        return len(self.rows["order_guid"])

    def table(self) -> pa.Table:
        return pa.Table.from_pydict(self.rows, schema=ORDER_SCHEMA)


def parse_page(text: str, restaurant_guid: str, source_url: str, extracted_at: datetime,
               into: ParsedPage | None = None) -> ParsedPage:
    """Split one ordersBulk page into keyed orders and rejects (appending to `into`)."""
    parsed = into or ParsedPage()

    def reject(raw: str, reason: str, order_guid: str | None = None) -> None:
        parsed.rejects.append(reject_row(restaurant_guid, source_url, extracted_at, raw, reason,
                                         order_guid))

    try:
        for raw, document in split_array(text):
            problem = _keying_problem(document, raw)
            if problem:
                guid = document.get("guid") if isinstance(document, dict) else None
                reject(raw, problem, guid if isinstance(guid, str) else None)
            else:
                _add_order(parsed.rows, restaurant_guid, document, raw, extracted_at)
    except BrokenArray as exc:
        reject(exc.rest, str(exc))
    return parsed


def _keying_problem(document, raw: str) -> str | None:
    if not isinstance(document, dict):
        return f"expected an order object, got {type(document).__name__}"
    guid = document.get("guid")
    if not isinstance(guid, str) or not guid.strip():
        return "order has no guid: it cannot be merged or traced; Toast should be asked to fix it"
    if business_date(document.get("businessDate")) is None:
        return (f"order {guid} has an invalid businessDate {document.get('businessDate')!r} "
                "(expected an int yyyymmdd)")
    if toast_time(document.get("modifiedDate")) is None:
        return f"order {guid} has no valid modifiedDate ({document.get('modifiedDate')!r})"
    if _TOO_PRECISE.search(raw):
        return (f"order {guid} has a number with more than 15 significant digits, which cannot "
                "be stored exactly; it was not loaded")
    return None


def _add_order(rows: dict[str, list], restaurant_guid: str, document: dict, raw: str,
               extracted_at: datetime) -> None:
    rows["restaurant_guid"].append(restaurant_guid)
    rows["order_guid"].append(document["guid"])
    rows["business_date"].append(business_date(document["businessDate"]))
    rows["opened_at"].append(toast_time(document.get("openedDate")))
    rows["modified_at"].append(toast_time(document["modifiedDate"]))
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


def reject_row(restaurant_guid: str, source_url: str, rejected_at: datetime, raw: str,
               reason: str, record_guid: str | None = None) -> dict:
    digest = hashlib.sha256(f"{restaurant_guid}\n{raw}".encode()).hexdigest()[:32]
    return {
        "reject_id": digest,
        "restaurant_guid": restaurant_guid,
        "record_guid": record_guid,
        "reason": reason,
        "source_url": source_url,
        "rejected_at": rejected_at,
        "raw_text": raw,
    }
