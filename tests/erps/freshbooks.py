"""The FreshBooks sandbox, as the posting tests see it (journal mode, the default).

FreshBooks has no dimensions: a detail's sub-account gives the account code and, when it is a
"<code>-<revenue center>" sub-account, the revenue center; otherwise the revenue center, and
always the location, are read from the `[loc X rc Y]` tag the connector writes in the detail
description."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import partial

from tests import erps
from tests.erps import ErpDocument, ErpLine
from tests.kit import control

FAILPOINTS: tuple[str, ...] = ()  # a journal entry is one request; invoice-mode points are
# exercised in tests/test_freshbooks_connector.py
KEY_AT_END = re.compile(r"\[([^\[\]]+)\]\s*$")
TAG = re.compile(r"\[loc (\S+?)(?: rc (\S+?))?\]\s*$|\[rc (\S+?)\]\s*$")


def documents(sandbox) -> list[ErpDocument]:
    numbers = {
        sub["sub_accountid"]: sub["account_sub_number"]
        for sub in sandbox.erp_control("freshbooks", "sub_accounts")
    }
    return [_document(entry, numbers) for entry in sandbox.erp_control("freshbooks", "entries")]


def _document(entry: dict, numbers: dict[int, str]) -> ErpDocument:
    lines = []
    for detail in entry["details"]:
        account, _, center = numbers[detail["sub_accountid"]].partition("-")
        tag = TAG.search(detail.get("description") or "")
        location = tag.group(1) if tag else None
        center = center or (tag and (tag.group(2) or tag.group(3))) or None
        lines.append(
            ErpLine(
                account,
                Decimal(detail["debit"] or "0"),
                Decimal(detail["credit"] or "0"),
                location,
                center,
            )
        )
    return ErpDocument(KEY_AT_END.search(entry["name"]).group(1), str(entry["entryid"]), lines)


def create_requests(sandbox) -> int:
    requests = sandbox.erp_control("freshbooks", "stats")["requests"]
    return sum(
        requests.get(f"POST {name}", 0) for name in ("journal_entries", "invoices", "payments")
    )


def accept_locations(sandbox, locations: list[str]) -> None:
    sandbox.erp_control("freshbooks", "configure", {"accepted_locations": locations})


def make_trouble(sandbox) -> None:
    sandbox.erp_control("freshbooks", "expire_tokens")
    sandbox.erp_control("freshbooks", "configure", {"throttle_every": 4, "retry_after": 0})
    sandbox.erp_control(
        "freshbooks",
        "faults",
        [
            {"kind": "status", "status": 503, "path": "journal_entry_details", "times": 1},
            {
                "kind": "commit_drop",
                "path": "journal_entries/journal_entries",
                "method": "POST",
                "times": 1,
            },
        ],
    )


trouble_seen = partial(erps.trouble_seen, erp="freshbooks")


def request_counts(url: str) -> tuple[int, int, int]:
    stats = control(url, "stats")
    requests, tokens = stats["requests"], sum(stats["token_requests"].values())
    lookups = sum(n for name, n in requests.items() if name.startswith("GET "))
    return sum(requests.values()) + tokens, tokens, lookups  # users/me is a look-up
