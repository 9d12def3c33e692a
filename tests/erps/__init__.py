"""What the posting tests need to know of each ERP sandbox, one module per ERP
(`tests/erps/<erp>.py`), each offering:

    FAILPOINTS                      connector failpoints to kill the poster at (SIGKILL test)
    documents(sandbox)              the ERP's documents, read back: list[ErpDocument]
    create_requests(sandbox)        how many create requests the ERP has answered
    accept_locations(sandbox, locs) refuse every location dimension value not in `locs`
    make_trouble(sandbox)           expire the credentials, throttle and fail a few requests
    trouble_seen(sandbox)           how many throttles and faults the sandbox has served
    request_counts(url)             (all, auth, look-up) requests answered (the benchmark)

`sandbox` is tests.conftest.ToastSandboxProcess (its erp_control reaches /_sandbox/...).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from decimal import Decimal

from posting.connectors.registry import ERPS  # noqa: F401 - the ERPs the tests run for


@dataclass(frozen=True)
class ErpLine:
    account: str
    debit: Decimal
    credit: Decimal
    location: str | None
    revenue_center: str | None


@dataclass
class ErpDocument:
    key: str
    document_id: str
    lines: list[ErpLine]

    @property
    def balanced(self) -> bool:
        return sum(line.debit for line in self.lines) == sum(line.credit for line in self.lines)


def adapter(erp: str):
    return importlib.import_module(f"tests.erps.{erp}")


def erp_documents(sandbox, erp: str) -> list[ErpDocument]:
    return adapter(erp).documents(sandbox)


def net_by_account(lines) -> dict[tuple, Decimal]:
    """Net debit per (account, location, revenue center), zero entries dropped."""
    net: dict[tuple, Decimal] = {}
    for line in lines:
        key = (line.account, line.location, line.revenue_center)
        net[key] = net.get(key, Decimal(0)) + line.debit - line.credit
    return {key: amount for key, amount in net.items() if amount}


def trouble_seen(sandbox, erp: str) -> int:
    """How many throttles and faults an ERP sandbox has served (every one counts both)."""
    stats = sandbox.erp_control(erp, "stats")
    return stats.get("throttled", 0) + stats.get("faults_fired", 0)
