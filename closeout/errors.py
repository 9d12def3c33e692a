"""closeout's exceptions: every one an operator can see, and what to do about it.

    CloseoutError                 anything closeout reports to the operator; never a traceback
    ├── ConfigurationError        a setting, secret or seed is missing or wrong: fix it, run again
    ├── WarehouseError            the DuckDB file could not be read or written (busy, full, locked):
    │                             wait for the other run or free the file, run again
    ├── BuildFailedError          the last build failed a structural test: nothing posts until a
    │                             build passes (fix what the test reports, `closeout build`)
    ├── PlanCheckError            the documents about to be sent fail a check (a journal twice,
    │                             unbalanced, not its journal_lines): nothing is sent
    ├── ToastError                the Toast side of a load; the failed location resumes next run
    │   ├── ToastTransportError   network failure (connect, reset, timeout) after retries
    │   ├── ToastAuthError        Toast refused the client credentials: fix them in the secrets
    │   ├── ToastRefusal          Toast answered 4xx: the request or the data is wrong
    │   └── ToastUnavailable      Toast kept answering 5xx or 429 past the retry budget
    └── ErpError                  the ERP side of a post; the message is the ERP's own words
        ├── ErpRefusal            the ERP rejected one journal: fix the cause, `closeout replay`
        │   └── ErpPeriodClosed   the document's date is in a closed period: an adjustment is
        │                         dated the first open day instead (ACCOUNTING.md)
        ├── ErpUnavailable        unreachable or 429/5xx past the retry budget: next run retries
        │   └── ErpBudgetSpent    the ERP's call budget is nearly spent: next run after its reset
        └── ErpAuthError          credentials or configuration refused: fix them; nothing posts
            └── ErpCertificateUntrusted  also a ConfigurationError: the ERP's TLS certificate is
                                  not trusted (set ERP__<ERP>__CA_BUNDLE); nothing was sent

Transport failures are kept apart from the other side's refusals: the first are worth retrying
on the next run as they are, the second need somebody to change something.
"""

from __future__ import annotations


class CloseoutError(Exception):
    """Base class; its message says what went wrong and what to do about it."""


class ConfigurationError(CloseoutError):
    """A setting, secret or seed is missing or wrong."""


class WarehouseError(CloseoutError):
    """The DuckDB warehouse could not be read or written."""


class BuildFailedError(CloseoutError):
    """The newest build failed a structural test, so its marts may not be posted."""


class PlanCheckError(CloseoutError):
    """The documents planned for the ERP failed the last check before sending; nothing was
    sent. The message names the journal and what is wrong with it."""


class ToastError(CloseoutError):
    def __init__(self, message: str, *, restaurant: str | None = None, url: str | None = None):
        super().__init__(message)
        self.restaurant = restaurant
        self.url = url


class ToastTransportError(ToastError):
    pass


class ToastAuthError(ToastError):
    pass


class ToastRefusal(ToastError):
    def __init__(self, message: str, *, status: int, **context):
        super().__init__(message, **context)
        self.status = status


class ToastUnavailable(ToastError):
    pass


class ErpError(CloseoutError):
    """Raised by connectors; the message is what the operator reads (the ERP's own words)."""


class ErpRefusal(ErpError):
    """The ERP rejected this journal (validation, mapping, closed period). Not retried: the
    journal is marked failed with this message until `closeout replay` after the fix."""


class ErpPeriodClosed(ErpRefusal):
    """The ERP refused the document's date as a closed (locked) period. Posting dates an
    adjustment the first open day instead; an original stays failed with this message."""


class ErpUnavailable(ErpError):
    """The ERP could not be reached or kept answering 429/5xx past the retry budget. The
    journal stays unposted and the next run tries again."""


class ErpBudgetSpent(ErpUnavailable):
    """The ERP's request budget (e.g. Exact's calls per day) is nearly spent: stop cleanly
    before it is, and let the next run after the reset carry on from where this one stopped."""


class ErpAuthError(ErpError):
    """Credentials or configuration were refused: no journal can be posted; stop the run."""


class ErpCertificateUntrusted(ErpAuthError, ConfigurationError):
    """The ERP's TLS certificate is not signed by an authority this machine trusts: the
    handshake failed before any request, so nothing was sent. Not retried (waiting does not
    make a certificate trusted); a post stops as on refused credentials, and the message names
    ERP__<ERP>__CA_BUNDLE."""
