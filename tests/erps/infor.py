"""The Infor M3 sandbox, as the posting tests see it."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from tests import erps
from tests.erps import ErpDocument, ErpLine
from tests.kit import control

FAILPOINTS = ("infor.after_check",)


def documents(sandbox) -> list[ErpDocument]:
    """Every GLS840MI batch, posted or not: a batch left behind would show as a duplicate."""
    return [_document(batch) for batch in sandbox.erp_control("infor", "batches")]


def _document(batch: dict) -> ErpDocument:
    lines = []
    for line in batch["lines"]:
        amount = Decimal(str(line["amount"]))
        lines.append(
            ErpLine(
                line["AIT1"],
                max(amount, Decimal(0)),
                max(-amount, Decimal(0)),
                line["AIT2"] or None,
                line["AIT3"] or None,
            )
        )
    return ErpDocument(batch["DESC"], f"{batch['CONO']}/{batch['DIVI']}/{batch['KEY1']}", lines)


def create_requests(sandbox) -> int:
    return sandbox.erp_control("infor", "stats")["transactions"].get("GLS840MI/AddBatchHead", 0)


def accept_locations(sandbox, locations: list[str]) -> None:
    config = sandbox.erp_control("infor", "config")
    sandbox.erp_control(
        "infor",
        "configure",
        {"dimension_values": {**config["dimension_values"], "AIT2": locations}},
    )


def make_trouble(sandbox) -> None:
    sandbox.erp_control("infor", "expire_tokens")
    sandbox.erp_control("infor", "configure", {"throttle_every": 4, "retry_after": 0})
    sandbox.erp_control(
        "infor",
        "faults",
        [
            {"kind": "status", "status": 503, "transaction": "CtrlBatch", "times": 1},
            {"kind": "commit_drop", "transaction": "UpdBatch", "times": 1},
        ],
    )


trouble_seen = partial(erps.trouble_seen, erp="infor")


def request_counts(url: str) -> tuple[int, int, int]:
    stats = control(url, "stats")
    return (
        stats["requests"] + stats["token_requests"],
        stats["token_requests"],
        stats["by_program"].get("GLS200MI", 0),
    )
