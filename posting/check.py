"""`closeout check`, the ERP side: ask the configured ERP about every reference the seeds make.

The connector is opened read-only in spirit: its HTTP has no audit sink, so neither the
warehouse nor its lock is touched (a check runs before any warehouse exists), and
`Connector.check` sends only look-ups. What cannot be asked (settings missing, credentials
refused, ERP unreachable, a connector without `check`) comes back as one problem saying what to
do, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from closeout.errors import CloseoutError, ConfigurationError, ErpAuthError, ErpUnavailable
from posting.connectors.contract import Reference, ReferenceProblem
from posting.connectors.registry import ERP_NAMES, connector_module
from posting.http import ErpHttp

# A check is interactive: give up on an unreachable ERP sooner than a scheduled post would.
CHECK_ATTEMPTS = 3
CHECK_MAX_WAIT_SECONDS = 10.0
AGAIN = "then run `closeout check` again"


@dataclass(frozen=True)
class ErpCheck:
    erp: str
    problems: list[ReferenceProblem]
    asked: bool  # False: the ERP could not be asked at all (its one problem says why)


def erp_check(erp: str, references: Sequence[Reference]) -> ErpCheck:
    label = ERP_NAMES[erp]
    http = ErpHttp(erp, max_attempts=CHECK_ATTEMPTS, max_wait_seconds=CHECK_MAX_WAIT_SECONDS)
    connector = None
    try:
        connector = connector_module(erp).open_connector(http)
        if not callable(getattr(connector, "check", None)):
            return _not_asked(
                erp,
                f"the {label} connector cannot check references yet",
                "upgrade closeout; until then `closeout post` reports a missing account or "
                "dimension value per journal",
            )
        return ErpCheck(erp, list(connector.check(references)), asked=True)
    except ConfigurationError as exc:  # its message names the setting to give (an untrusted
        # certificate is also an ErpAuthError: its own message says more than "refused")
        return _not_asked(erp, str(exc), AGAIN)
    except ErpAuthError as exc:
        return _not_asked(erp, f"{label} refused the credentials or settings: {exc}", _fix(erp))
    except ErpUnavailable as exc:
        return _not_asked(
            erp,
            f"{label} could not be reached: {exc}",
            f"check the {label} address in the settings and the network, then run again",
        )
    except CloseoutError as exc:
        return _not_asked(erp, str(exc), _fix(erp))
    finally:
        if connector is not None:
            connector.close()
        http.close()


def _not_asked(erp: str, problem: str, fix: str) -> ErpCheck:
    return ErpCheck(erp, [ReferenceProblem(None, problem, fix)], asked=False)


def _fix(erp: str) -> str:
    return f"fix the ERP__{erp.upper()}__* settings (README, Settings), then run again"
