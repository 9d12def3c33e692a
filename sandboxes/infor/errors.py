"""How an MI transaction fails: an MI error (message, code, field, type) inside the answer, or
a transaction the gateway does not know (a bare HTTP 400)."""

from __future__ import annotations


class MIError(Exception):
    def __init__(
        self, message: str, code: str, field: str = "", error_type: str = "ServerReturnedNOK"
    ):
        super().__init__(message)
        self.message, self.code, self.field, self.error_type = message, code, field, error_type


class UnknownTransaction(Exception):
    pass
