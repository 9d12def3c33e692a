"""FreshBooks' error bodies.

The accounting API answers a refused request in its old style, `{"response": {"errors":
[{errno, field, message, object, value}]}}`, which can arrive with HTTP 200; newer services
answer `{"code", "message", "details": [google.rpc.ErrorInfo]}` with a real status. The auth
service answers like Doorkeeper: `{"error", "error_description"}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandboxes.http import Response

NOT_FOUND = 1012
REQUIRED = 2001
INVALID = 2002
UNBALANCED = 2003
NOT_ALLOWED = 1003


@dataclass
class AccountingError(Exception):
    errno: int
    field: str
    message: str
    object: str = "journal_entry"
    value: str = ""
    status: int = 422  # the status a new-style answer carries

    def response(self, style: str) -> Response:
        if style == "new":
            return Response.json(
                {
                    "code": 3 if self.status < 500 else 13,
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
        return Response.json(
            {
                "response": {
                    "errors": [
                        {
                            "errno": self.errno,
                            "field": self.field,
                            "message": self.message,
                            "object": self.object,
                            "value": self.value,
                        }
                    ]
                }
            },
            200,
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
