"""The Sage Intacct sandbox, as the posting tests see it."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from tests import erps
from tests.erps import ErpDocument, ErpLine
from tests.kit import control

FAILPOINTS: tuple[str, ...] = ()


def documents(sandbox) -> list[ErpDocument]:
    return [_document(batch) for batch in sandbox.erp_control("intacct", "batches")]


def _document(batch: dict) -> ErpDocument:
    def amount(entry, sign):
        return Decimal(str(entry["TRX_AMOUNT"])) if int(entry["TR_TYPE"]) == sign else Decimal(0)

    lines = [
        ErpLine(
            entry["ACCOUNTNO"],
            amount(entry, 1),
            amount(entry, -1),
            entry.get("LOCATION") or None,
            entry.get("DEPARTMENT") or None,
        )
        for entry in batch["entries"]
    ]
    return ErpDocument(batch["REFERENCENO"], batch["RECORDNO"], lines)


def create_requests(sandbox) -> int:
    return sandbox.erp_control("intacct", "stats")["by_function"].get("create", 0)


def accept_locations(sandbox, locations: list[str]) -> None:
    company = sandbox.erp_env["ERP__INTACCT__COMPANY_ID"]
    sandbox.erp_control("intacct", "configure", {"companies": {company: {"locations": locations}}})


def make_trouble(sandbox) -> None:
    sandbox.erp_control("intacct", "expire_sessions")
    sandbox.erp_control(
        "intacct",
        "faults",
        [
            {"kind": "status", "status": 429, "function": "create", "times": 2},
            {"kind": "status", "status": 503, "times": 1},
        ],
    )


trouble_seen = partial(erps.trouble_seen, erp="intacct")


def request_counts(url: str) -> tuple[int, int, int]:
    stats = control(url, "stats")
    functions = stats["by_function"]
    lookups = sum(n for name, n in functions.items() if name not in ("create", "getAPISession"))
    return stats["requests"], functions.get("getAPISession", 0), lookups
