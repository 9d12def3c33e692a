"""Which ERP closeout posts to, and its connector with audited, retrying HTTP.

Each ERP is a module `posting/connectors/<erp>.py` offering `open_connector(http)` (and, for
ERPs that only allow OAuth authorization codes, `connect(http, code=..., echo=...)`), and a
sandbox package `sandboxes/<erp>/`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from closeout.errors import ConfigurationError
from posting.connectors.contract import Connector, ErpName
from posting.http import ErpHttp
from posting.ledger import Ledger

ERP_NAMES: dict[ErpName, str] = {
    "d365": "Dynamics 365 Finance & Operations",
    "intacct": "Sage Intacct",
    "exact": "Exact Online",
    "freshbooks": "FreshBooks",
    "infor": "Infor CloudSuite (M3)",
}
ERPS: tuple[ErpName, ...] = tuple(ERP_NAMES)
# ERPs whose credentials come from `closeout connect`
CONNECTABLE: tuple[ErpName, ...] = ("exact", "freshbooks")


def configured_erp(override: str | None = None) -> str:
    """`--erp`, else `erp.target` (dlt config; env ERP__TARGET)."""
    import dlt

    erp = override or os.environ.get("ERP__TARGET") or dlt.config.get("erp.target", str)
    if not erp:
        raise ConfigurationError(
            "no ERP configured: set ERP__TARGET (or erp.target in "
            f".dlt/config.toml) to one of {', '.join(ERPS)}, or pass --erp"
        )
    if erp not in ERPS:
        raise ConfigurationError(f"unknown ERP {erp!r}: closeout posts to {', '.join(ERPS)}")
    return erp


def connector_module(erp: str):
    if erp not in ERPS:
        raise ConfigurationError(f"unknown ERP {erp!r}: closeout posts to {', '.join(ERPS)}")
    return importlib.import_module(f"posting.connectors.{erp}")


def open_connector(erp: str, ledger: Ledger) -> Connector:
    """The connector for `erp`, its every request recorded in closeout_posting.erp_requests."""
    return connector_module(erp).open_connector(ErpHttp(erp, sink=ledger.record_exchange))


def connect_erp(erp: str, *, code: str | None = None, echo: Callable[[str], None] = print) -> str:
    """`closeout connect`: the one-time consent; returns what was connected (a division or
    account). Its token requests are not tied to a journal and are not audited."""
    http = ErpHttp(erp)
    try:
        return connector_module(erp).connect(http, code=code, echo=echo)
    finally:
        http.close()
