"""FreshBooks' error bodies.

The accounting API answers a refused request with a 4xx status: 400 for a request that does
not validate, 404 for something it names that does not exist (errno 1012), 403 for an account
the token may not use. The body is in its old style, `{"response": {"errors": [{errno, field,
message, object, value}]}}`, or, from newer services, `{"code", "message", "details":
[google.rpc.ErrorInfo]}` with the gRPC code of that status (3, 5, 7). The official SDKs' tests
show both with the real status (404 "Client not found.", errno 1012); FreshBooks' Node SDK also
documents old-style errors arriving inside HTTP 200, which `error_style="old_in_200"` keeps.
The auth service answers like Doorkeeper: `{"error", "error_description"}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.http import Response

NOT_FOUND = 1012
REQUIRED = 2001
INVALID = 2002
UNBALANCED = 2003
NOT_ALLOWED = 1003
# error_style: the body FreshBooks answers a refusal with, and whether its status is real.
ERROR_STYLES = ("old", "new", "old_in_200")
# HTTP status -> the gRPC code a new-style body carries (google.rpc.Code)
GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 429: 8}


@dataclass
class AccountingError(Exception):
    errno: int
    field: str
    message: str
    object: str = "journal_entry"
    value: str = ""
    status: int = 400  # 404 for a missing record, 403 for an account the token may not use

    def response(self, style: str) -> Response:
        if style == "new":
            return Response.json(
                {
                    "code": GRPC_CODES.get(self.status, 13),
                    "message": f"Request failed with status_code: {self.status}",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": str(self.errno),
                            "domain": "accounting.api.freshbooks.com",
                            "metadata": {
                                "object": self.object,
                                "message": self.message,
                                "value": self.value,
                                "field": self.field,
                            },
                        }
                    ],
                },
                self.status,
            )
        old = {
            "errno": self.errno,
            "field": self.field,
            "message": self.message,
            "object": self.object,
            "value": self.value,
        }
        return Response.json(
            {"response": {"errors": [old]}}, 200 if style == "old_in_200" else self.status
        )


def auth_error(status: int, error: str, description: str, **extra) -> Response:
    return Response.json({"error": error, "error_description": description, **extra}, status)


INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match "
    "the redirection URI used in the authorization request, or was issued to "
    "another client."
)
INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication "
    "included, or unsupported authentication method."
)


def invalid_token(expired: bool = False) -> Response:
    description = "The access token expired" if expired else "The access token is invalid"
    return Response.json(
        {"error": "invalid_token", "error_description": description, "state": "unauthorized"},
        401,
        {
            "WWW-Authenticate": f'Bearer realm="Doorkeeper", error="invalid_token", '
            f'error_description="{description}"'
        },
    )
