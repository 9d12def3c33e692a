"""The FreshBooks sandbox: the auth service (consent page, `/auth/oauth/token`,
`/auth/api/v1/users/me`) and the accounting API under `/accounting/account/<accountId>/`.

Behaviour follows the vendor: a token endpoint that takes JSON or form-encoded bodies (the docs
show JSON, the official SDKs send forms), bearer tokens on every API call (401 `invalid_token`
once one expires), results wrapped in `{"response": {"result": ...}}` with
page/pages/per_page/total and per_page silently capped at 100, `search[...]` filters, refusals
with FreshBooks' statuses (400 invalid, 404 not found, 403 not yours) in the old or new body
style, or old-style inside HTTP 200 (`error_style`), and 429s on a configurable rate, with or
without Retry-After, since FreshBooks publishes no limits. `/_sandbox/...` endpoints reset,
configure, inject faults, expire tokens, remove a sub-account or client, and read counters and
documents.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

from cryptography.fernet import Fernet

from sandboxes.control import CONTROL_PREFIX, ErpControl, SandboxStats
from sandboxes.faults import Faults, after, refusal
from sandboxes.freshbooks.auth import OAuthServer
from sandboxes.freshbooks.books import Books
from sandboxes.freshbooks.config import FreshBooksConfig
from sandboxes.freshbooks.errors import NOT_ALLOWED, NOT_FOUND, AccountingError
from sandboxes.http import Request, Response, make_server  # noqa: F401 (re-exported)

ACCOUNTING = re.compile(r"^/accounting/account/([^/]+)/(\w+)/(\w+)(?:/(\d+))?/?$")
DEFAULT_PER_PAGE = 15


@dataclass
class Stats(SandboxStats):
    requests: Counter = field(default_factory=Counter)  # "METHOD resource" -> count
    throttled: int = 0
    unauthorized: int = 0
    faults_fired: int = 0
    refused: int = 0  # accounting errors answered


class FreshBooksSandbox(ErpControl):
    def __init__(self, config: FreshBooksConfig | None = None):
        self.initial_config = config or FreshBooksConfig.from_seeds()
        self.config = self.initial_config
        self.books = Books(self.config)
        self.auth = OAuthServer()
        self.faults = Faults()
        self.stats = Stats()
        self.secret_key = Fernet.generate_key().decode()
        self._recent: deque[float] = deque()
        self._api_requests = 0
        self._lock = threading.RLock()

    # -- dispatch ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = unquote(request.path)
        if path.startswith(CONTROL_PREFIX):
            return self.control(request)
        if path.rstrip("/") == "/oauth/authorize" and request.method == "GET":
            return self.auth.authorize(request.query, self.config)
        if path == "/auth/oauth/token" and request.method == "POST":
            return self.auth.token(_token_body(request), self.config)
        me = path.rstrip("/") == "/auth/api/v1/users/me"
        route = ACCOUNTING.match(path)
        if not me and not route:
            return AccountingError(
                NOT_FOUND, "url", f"No route for {request.method} {path}.", "url", status=404
            ).response("new")
        counted = "users/me" if me else route.group(3)
        with self._lock:
            self.stats.requests[f"{request.method} {counted}"] += 1
        refused = self.auth.check(request.header("Authorization"))
        if refused:
            with self._lock:
                self.stats.unauthorized += 1
            return refused
        throttled = self._throttle()
        if throttled:
            return throttled
        fired = self.faults.take(method=request.method, path=path)
        with self._lock:
            self.stats.faults_fired += len(fired)
        refused = refusal(
            fired,
            lambda rule: Response.json(
                {"error": f"Injected fault: HTTP {rule.status}"}, rule.status
            ),
        )
        if refused:
            return refused
        try:
            with self._lock:
                response = self._me() if me else self._accounting(request, route)
        except AccountingError as error:
            with self._lock:
                self.stats.refused += 1
            response = error.response(self.config.error_style)
        response.headers.update(self._rate_headers())
        return after(response, fired)

    def _me(self) -> Response:
        memberships = [
            {
                "id": 5000 + index,
                "role": "owner",
                "business": {
                    "id": business,
                    "account_id": account,
                    "name": f"Sandbox Business {index + 1}",
                },
            }
            for index, (account, business) in enumerate(
                zip(self.config.account_ids, self.config.business_ids, strict=False)
            )
        ]
        return Response.json(
            {
                "response": {
                    "id": 4001,
                    "identity_id": 4001,
                    "email": "owner@example.com",
                    "business_memberships": memberships,
                }
            }
        )

    def _accounting(self, request: Request, route: re.Match) -> Response:
        account, area, resource, item = route.groups()
        if account not in self.config.account_ids:
            error = AccountingError(
                NOT_ALLOWED,
                "accountid",
                "The server could not verify that you are authorized to access the URL requested.",
                "account",
                account,
                status=403,
            )
            # an access refusal keeps its status whatever the style of validation errors
            return error.response("new" if self.config.error_style == "new" else "old")
        search = {
            key[7:-1]: value
            for key, value in request.query.items()
            if key.startswith("search[") and key.endswith("]")
        }
        method, books = request.method, self.books
        if (area, resource) == (
            "journal_entry_accounts",
            "journal_entry_accounts",
        ) and method == "GET":
            return self._page(request, "journal_entry_accounts", books.accounts)
        if (area, resource) == ("journal_entries", "journal_entries") and method == "POST":
            return _result({"journal_entry": books.add_entry(_body(request))})
        if (area, resource) == ("journal_entries", "journal_entry_details") and method == "GET":
            return self._page(request, "journal_entry_details", books.details(search))
        if (area, resource) == ("users", "clients") and method == "GET":
            return self._page(request, "clients", books.clients)
        if (area, resource) == ("invoices", "invoices"):
            with_lines = request.query.get("include[]") == "lines"
            if method == "POST" and not item:
                return _result(
                    {"invoice": books.invoice_view(books.add_invoice(_body(request)), True)}
                )
            if method == "GET" and item:
                return _result({"invoice": books.invoice_view(books.invoice(item), with_lines)})
            if method == "GET":
                found = [
                    books.invoice_view(i, with_lines)
                    for i in books.invoices
                    if _invoice_matches(i, search)
                ]
                return self._page(request, "invoices", found)
        if (area, resource) == ("payments", "payments"):
            if method == "POST" and not item:
                return _result({"payment": books.add_payment(_body(request))})
            if method == "GET" and not item:
                found = [p for p in books.payments if _payment_matches(p, search)]
                return self._page(request, "payments", found)
        raise AccountingError(
            NOT_FOUND, "url", f"No route for {method} {request.path}.", "url", status=404
        )

    def _page(self, request: Request, name: str, rows: list[dict]) -> Response:
        try:
            page = max(1, int(request.query.get("page", 1)))
            per_page = max(1, int(request.query.get("per_page", DEFAULT_PER_PAGE)))
        except ValueError:
            raise AccountingError(
                2002, "page", "page and per_page are whole numbers.", "search", status=400
            ) from None
        per_page = min(per_page, self.config.max_per_page)
        pages = max(1, math.ceil(len(rows) / per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        return _result(
            {name: chunk, "page": page, "pages": pages, "per_page": per_page, "total": len(rows)}
        )

    # -- throttling -------------------------------------------------------------------------------
    def _throttle(self) -> Response | None:
        config = self.config
        with self._lock:
            self._api_requests += 1
            now = time.monotonic()
            while self._recent and self._recent[0] <= now - config.throttle_window:
                self._recent.popleft()
            over = (config.throttle_every and self._api_requests % config.throttle_every == 0) or (
                config.throttle_limit and len(self._recent) >= config.throttle_limit
            )
            if not over:
                self._recent.append(now)
                return None
            self.stats.throttled += 1
        headers = self._rate_headers()
        if config.retry_after is not None:
            headers["Retry-After"] = str(config.retry_after)
        return Response.json({"message": "Too Many Requests"}, 429, headers)

    def _rate_headers(self) -> dict:
        limit = self.config.throttle_limit
        if not limit:
            return {}
        with self._lock:
            return {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(0, limit - len(self._recent))),
            }

    # -- test control -----------------------------------------------------------------------------
    def control_actions(self):
        return {
            **super().control_actions(),
            "entries": lambda _: Response.json(self.books.entries),
            "sub_accounts": lambda _: Response.json(list(self.books.sub_accounts.values())),
            "invoices": self._invoices_action,
            "remove": self._remove_action,
        }

    def reset(self) -> None:
        # A fresh business; tokens already issued stay valid and the pre-issued consent works
        # once more, so a test's stored tokens survive the reset.
        self.config = self.initial_config
        self.books = Books(self.config)
        self.faults.clear()
        self.stats = Stats()
        self.auth.reset_stats()
        self.auth.rearm()
        self._recent.clear()
        self._api_requests = 0

    def stats_view(self) -> dict:
        auth = self.auth.stats
        return {
            **super().stats_view(),
            "token_requests": dict(auth.token_requests),
            "token_refused": dict(auth.refused),
            "reuse_detected": auth.reuse_detected,
            "consents": auth.consents,
        }

    def configured(self, changes: dict) -> None:
        if {"chart", "clients", "currency"} & set(changes):
            self.books.configure(self.config)
        else:
            self.books.config = self.config

    def expire_tokens(self) -> int:
        return self.auth.expire_access_tokens()

    def _remove_action(self, body) -> Response:
        """{"sub_account": number} or {"client": organization}: gone from the business, as an
        accountant deleting it in FreshBooks would leave it; {"removed": n}."""
        body = body or {}
        if set(body) - {"sub_account", "client"} or len(body) != 1:
            return Response.json({"error": "remove takes sub_account or client"}, 400)
        if "sub_account" in body:
            removed = self.books.remove_sub_account(str(body["sub_account"]))
        else:
            removed = self.books.remove_client(str(body["client"]))
        return Response.json({"removed": removed})

    def _invoices_action(self, _body) -> Response:
        return Response.json(
            [
                {
                    **self.books.invoice_view(invoice, True),
                    "payments": [
                        p for p in self.books.payments if p["invoiceid"] == invoice["invoiceid"]
                    ],
                }
                for invoice in self.books.invoices
            ]
        )


def _token_body(request: Request) -> dict | None:
    """The token request's fields, sent as JSON (FreshBooks' docs) or form-encoded (RFC 6749,
    and what the official SDKs send); None when the body is neither."""
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {name: values[-1] for name, values in form.items()}
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _body(request: Request):
    try:
        return request.json()
    except ValueError:
        raise AccountingError(
            2002, "body", "The request body is not valid JSON.", "request", status=400
        ) from None


def _result(result: dict) -> Response:
    return Response.json({"response": {"result": result}})


def _payment_matches(payment: dict, search: dict[str, str]) -> bool:
    """FreshBooks' payment searches: by invoice, and by payment date (date_min..date_max)."""
    if search.get("invoiceid") and str(payment["invoiceid"]) != search["invoiceid"]:
        return False
    if search.get("date_min") and payment["date"] < search["date_min"]:
        return False
    if search.get("date_max") and payment["date"] > search["date_max"]:
        return False
    return True


def _invoice_matches(invoice: dict, search: dict[str, str]) -> bool:
    if search.get("customerid") and str(invoice["customerid"]) != search["customerid"]:
        return False
    if search.get("date_min") and invoice["create_date"] < search["date_min"]:
        return False
    if search.get("date_max") and invoice["create_date"] > search["date_max"]:
        return False
    return True
