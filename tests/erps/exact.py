"""The Exact Online sandbox, as the posting tests see it."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from tests import erps
from tests.erps import ErpDocument, ErpLine
from tests.kit import control

# A create is one POST; the lost-answer path (exact.after_lost_answer) needs a dropped
# connection, which the SIGKILL test does not inject.
FAILPOINTS: tuple[str, ...] = ()
ZERO = Decimal("0")


def documents(sandbox) -> list[ErpDocument]:
    return [_document(entry) for entry in sandbox.erp_control("exact", "entries")]


def _document(entry: dict) -> ErpDocument:
    lines = []
    for line in entry["lines"]:
        amount = Decimal(str(line["AmountFC"]))
        lines.append(
            ErpLine(
                line["GLAccountCode"],
                max(amount, ZERO),
                max(-amount, ZERO),
                line.get("CostCenter") or None,
                line.get("CostUnit") or None,
            )
        )
    key = entry["lines"][0]["Description"].rsplit(" ", 1)[-1]
    return ErpDocument(key, entry["EntryID"], lines)


def create_requests(sandbox) -> int:
    return sandbox.erp_control("exact", "stats")["requests"].get(
        "POST /api/v1/{division}/generaljournalentry/GeneralJournalEntries", 0
    )


def accept_locations(sandbox, locations: list[str]) -> None:
    sandbox.erp_control("exact", "configure", {"cost_centers": locations})


def make_trouble(sandbox) -> None:
    sandbox.erp_control("exact", "expire_tokens")
    sandbox.erp_control("exact", "configure", {"minute_seconds": 1})  # short 429 waits
    sandbox.erp_control(
        "exact",
        "faults",
        [
            {
                "kind": "status",
                "status": 429,
                "path": "GeneralJournalEntries",
                "method": "POST",
                "times": 2,
            },
            {"kind": "status", "status": 503, "path": "GeneralJournalEntryLines", "times": 1},
            {
                "kind": "commit_drop",
                "path": "GeneralJournalEntries",
                "method": "POST",
                "skip": 1,
                "times": 1,
            },
        ],
    )


trouble_seen = partial(erps.trouble_seen, erp="exact")


def request_counts(url: str) -> tuple[int, int, int]:
    stats = control(url, "stats")
    by_path = stats["requests"]
    lookups = sum(n for k, n in by_path.items() if k.startswith("GET "))
    return sum(by_path.values()) + stats["token_requests"], stats["token_requests"], lookups
