"""The M3 connector's own refusal kind, apart from closeout/errors.py's shared ones."""

from __future__ import annotations

from closeout.errors import ErpAuthError


class TransactionUnavailable(ErpAuthError):
    """M3 answered a bare HTTP 400: the program or transaction is not there for this client (not
    installed, as an MI extension may not be, or not granted). A refused token is not this."""
