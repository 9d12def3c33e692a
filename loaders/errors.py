"""closeout's exceptions.

    CloseoutError                 anything closeout reports to the operator
    ├── ConfigurationError        a setting or secret is missing or wrong: fix the config
    ├── WarehouseError            the DuckDB file could not be written
    └── ToastError                the Toast side of a load
        ├── ToastTransportError   network failure (connect, reset, timeout) after retries
        ├── ToastAuthError        Toast refused the client credentials
        ├── ToastRefusal          Toast answered 4xx: the request or the data is wrong
        └── ToastUnavailable      Toast kept answering 5xx or 429 past the retry budget

Transport failures are kept apart from the other side's refusals: the first are worth retrying
on the next run as they are, the second need somebody to change something.
"""

from __future__ import annotations


class CloseoutError(Exception):
    """Base class; its message says what went wrong and what to do about it."""


class ConfigurationError(CloseoutError):
    pass


class WarehouseError(CloseoutError):
    pass


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
