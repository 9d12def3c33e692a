"""Which ERP closeout posts to, and its connector with audited, retrying HTTP."""

from __future__ import annotations

import os

from loaders.errors import ConfigurationError
from posting.erp import Connector
from posting.http import ErpHttp
from posting.ledger import Ledger

ERPS = ("d365", "intacct")


def configured_erp(override: str | None = None) -> str:
    """`--erp`, else `erp.target` (dlt config; env ERP__TARGET)."""
    import dlt

    erp = override or os.environ.get("ERP__TARGET") or dlt.config.get("erp.target", str)
    if not erp:
        raise ConfigurationError("no ERP configured: set ERP__TARGET (or erp.target in "
                                 f".dlt/config.toml) to one of {', '.join(ERPS)}, or pass --erp")
    if erp not in ERPS:
        raise ConfigurationError(f"unknown ERP {erp!r}: closeout posts to {', '.join(ERPS)}")
    return erp


def open_connector(erp: str, ledger: Ledger) -> Connector:
    """The connector for `erp`, its every request recorded in closeout_posting.erp_requests."""
    http = ErpHttp(erp, sink=ledger.record_exchange)
    if erp == "d365":
        from posting.connectors.d365 import D365Connector, D365Settings

        return D365Connector(D365Settings.from_config(), http)
    if erp == "intacct":
        from posting.connectors.intacct import IntacctConnector, IntacctSettings

        return IntacctConnector(IntacctSettings.from_config(), http)
    raise ConfigurationError(f"unknown ERP {erp!r}")
