"""Toast's own example documents (`../shared/reference/toast/examples/`) for the pipeline tests:
which of them are orders, read exactly as written, and moved to another business date.

Numbers are read as Toast wrote them: a fraction becomes a Decimal with its own digits (0.075
stays 0.075), an integer stays an int (`preDiscountPrice: 1`), so the sandbox serves the same
text back. Moving an order changes only its dates; guids and amounts are kept.
"""

from __future__ import annotations

import copy
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from closeout import money

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "toast" / "examples"

# Toast's timestamps: "2019-02-24T13:48:44.206+0000" (milliseconds, numeric UTC offset).
TOAST_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
TOAST_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"
# Toast writes deletedDate 1970-01-01T00:00:00.000+0000 on a check or order that was never
# deleted: a "no date" marker, not a moment of the order, so it is not moved.
NO_DATE = "1970-01-01T00:00:00.000+0000"


def examples_dir() -> Path:
    """The folder of Toast's examples; a clear error (not a skip) when it is not there."""
    if not EXAMPLES.is_dir():
        raise FileNotFoundError(
            f"Toast's example documents are not at {EXAMPLES}: the real-document tests read "
            "them there (the shared reference folder beside this repository)"
        )
    return EXAMPLES


def read_example(name: str) -> Any:
    """One example file, fractions as Decimal and integers as int."""
    return money.loads((examples_dir() / name).read_text())


def order_documents(document: Any) -> list[dict]:
    """The Toast order objects in one example: an order Toast returned (it has a guid), each
    order of an ordersBulk page, or the order a webhook carries. Request bodies (what a client
    POSTs: no guid, no businessDate) and price quotes (guid null) are not orders Toast holds."""
    items = document if isinstance(document, list) else [document]
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("entityType") == "Order" and isinstance(item.get("guid"), str):
            found.append(item)
        elif isinstance(item.get("details"), dict) and isinstance(
            item["details"].get("order"), dict
        ):
            found.append(item["details"]["order"])
    return found


def example_orders() -> dict[str, list[str]]:
    """Every example file holding orders: file name -> the order guids in it."""
    return {
        path.name: [order["guid"] for order in orders]
        for path in sorted(examples_dir().glob("*.json"))
        for orders in [order_documents(money.loads(path.read_text()))]
        if orders
    }


def example_order(name: str, guid: str) -> dict:
    """The order `guid` of example file `name`."""
    found = [order for order in order_documents(read_example(name)) if order["guid"] == guid]
    if len(found) != 1:
        raise LookupError(f"{name} holds no single order {guid}")
    return found[0]


def moved_to(order: dict, business_date: date) -> dict:
    """A copy of `order` on `business_date`: every business date (businessDate,
    paidBusinessDate, refundBusinessDate, voidBusinessDate, at any depth) and every timestamp
    (openedDate, modifiedDate, closedDate, paidDate, createdDate, promisedDate…) moved by the
    same number of days, so the document keeps its own times of day and its order of events.
    Guids, amounts and nulls are kept."""
    days = (business_date - _yyyymmdd(order["businessDate"])).days
    return _move(copy.deepcopy(order), timedelta(days=days))


def _move(value: Any, by: timedelta) -> Any:
    if isinstance(value, list):
        return [_move(item, by) for item in value]
    if not isinstance(value, dict):
        return value
    moved = {}
    for key, item in value.items():
        if key.endswith(("businessDate", "BusinessDate")) and isinstance(item, int):
            moved[key] = int((_yyyymmdd(item) + by).strftime("%Y%m%d"))
        elif key.endswith("Date") and isinstance(item, str) and item != NO_DATE:
            if not TOAST_TIME.match(item):
                raise ValueError(f"{key} {item!r} is not a Toast timestamp")
            at = datetime.strptime(item, TOAST_TIME_FORMAT) + by
            millis = f"{at.microsecond // 1000:03d}"
            moved[key] = at.strftime(f"%Y-%m-%dT%H:%M:%S.{millis}%z")
        else:
            moved[key] = _move(item, by)
    return moved


def _yyyymmdd(value: int) -> date:
    text = str(value)
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def serve_order(sandbox_url: str, restaurant_guid: str, order: dict) -> None:
    """Have the Toast sandbox serve `order` at `restaurant_guid` (its `orders` control action),
    sent as exact JSON text: Decimals with their own digits, integers as integers."""
    response = httpx.post(
        f"{sandbox_url}/_sandbox/orders",
        content=money.dumps({"restaurant": restaurant_guid, "order": order}),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    response.raise_for_status()
