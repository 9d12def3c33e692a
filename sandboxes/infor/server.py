"""The M3 sandbox behind a stand-in ION API Gateway.

Behaviour follows the vendor: the `.ionapi` resource-owner password grant at `{pu}{ot}` (client
id and secret plus the service account's access and secret keys; OAuth error JSON), bearer auth
on every call (401 once a token expires), `{iu}/{ti}/M3/m3api-rest/v2/execute` bulk requests
whose transactions run in order and fail one by one inside HTTP 200 (errorMessage, errorType,
errorCode, errorField; nrOfFailedTransactions), the single-transaction v2 and v1 GETs (v1 fails
with `@type: ServerReturnedNOK`), a bare HTTP 400 for a transaction M3 does not know, and gateway
throttling: X-RateLimit-* headers on every answer and 429 + Retry-After over the limit.
`/_sandbox/...` endpoints reset, configure (the tenant's interface definitions, accounts and the
dimensions each requires, blocked accounts, withheld transactions), inject faults, expire tokens,
close periods (close_periods) and read counters, batches and vouchers.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

from sandboxes.control import CONTROL_PREFIX, ErpControl, SandboxStats
from sandboxes.faults import FaultRule, Faults, after, refusal
from sandboxes.http import Request, Response, make_server  # noqa: F401 (re-exported)
from sandboxes.infor.config import CLOSEOUT_INTERFACE, InforConfig
from sandboxes.infor.gl import Books, MIError, UnknownTransaction
from sandboxes.infor.parm import ParmError, amount, cut
from sandboxes.tokens import BearerTokens

TOKEN_PATH = re.compile(r"^/([^/]+)/as/token\.oauth2$")
BULK_PATH = re.compile(r"^/([^/]+)/M3/m3api-rest/v2/execute/?$")
SINGLE_PATH = re.compile(r"^/([^/]+)/M3/m3api-rest/(v2/)?execute/(\w+)/(\w+)(;[^/]*)?$")


@dataclass
class Stats(SandboxStats):
    token_requests: int = 0
    requests: int = 0  # M3 requests (bulk and single)
    bulk_requests: int = 0
    by_program: Counter = field(default_factory=Counter)  # program -> M3 requests
    transactions: Counter = field(default_factory=Counter)  # "PROGRAM/Transaction" -> count
    failed_transactions: int = 0
    throttled: int = 0
    unauthorized: int = 0
    faults_fired: int = 0


class InforSandbox(ErpControl):
    def __init__(self, config: InforConfig | None = None):
        self.initial_config = config or InforConfig.from_seeds()
        self.config = self.initial_config
        self.books = Books()
        self.faults = Faults()
        self.stats = Stats()
        self.tokens = BearerTokens()
        self._recent: deque[float] = deque()
        self._lock = threading.RLock()

    # -- dispatch ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = unquote(request.path)
        if path.startswith(CONTROL_PREFIX):
            return self.control(request)
        token_path = TOKEN_PATH.match(path)
        if token_path and request.method == "POST":
            return self._token(request, token_path.group(1))
        bulk, single = BULK_PATH.match(path), SINGLE_PATH.match(path)
        tenant = (bulk or single).group(1) if (bulk or single) else None
        if tenant != self.config.tenant:
            return Response.json({"error": "Not Found", "message": f"No route for {path}"}, 404)
        with self._lock:
            self.stats.requests += 1
        if not self.tokens.valid(request.header("Authorization")):
            with self._lock:
                self.stats.unauthorized += 1
            return Response.json(
                {
                    "error": "invalid_token",
                    "error_description": "Access token is invalid or expired",
                },
                401,
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        limited, limit_headers = self._rate_limit()
        if limited:
            return limited
        if bulk and request.method == "POST":
            response = self._bulk(request)
        elif single and request.method == "GET":
            response = self._single(
                request, single.group(3), single.group(4), v1=not single.group(2)
            )
        else:
            response = Response(405, b"Method Not Allowed", content_type="text/plain")
        response.headers.update(limit_headers)
        return response

    # -- M3 ---------------------------------------------------------------------------------------
    def _bulk(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return Response(400, b"Bad Request", content_type="text/plain")
        if (
            not isinstance(body, dict)
            or not body.get("program")
            or not isinstance(body.get("transactions"), list)
        ):
            return Response(400, b"Bad Request", content_type="text/plain")
        program = str(body["program"])
        transactions = body["transactions"]
        with self._lock:
            self.stats.bulk_requests += 1
            self.stats.by_program[program] += 1
        config = self.config
        if len(transactions) > config.max_transactions:
            return Response(
                400,
                f"Too many transactions (max {config.max_transactions})".encode(),
                content_type="text/plain",
            )
        names = {str(t.get("transaction")) for t in transactions if isinstance(t, dict)}
        fired = self._faults(names)
        if isinstance(fired, Response):
            return fired
        cono = str(body.get("cono") or request.query.get("cono") or "") or None
        if cono is not None and cono not in config.companies:
            return Response.json(
                {
                    "@type": "ServerReturnedNOK",
                    "@code": "XAU0008",
                    "@field": "CONO",
                    "@cfg": None,
                    "Message": f"Not authorized for company {cono}".ljust(120),
                }
            )
        maxrecs = _int(request.query.get("maxrecs"), 100)
        results, failed = [], 0
        with self.books.lock:
            for item in transactions:
                name = str(item.get("transaction") or "") if isinstance(item, dict) else ""
                record = item.get("record") or {} if isinstance(item, dict) else {}
                if body.get("divi") and "DIVI" not in record:
                    record = {**record, "DIVI": body["divi"]}
                try:
                    records = self.books.execute(program, name, record, cono, config)
                except UnknownTransaction:
                    return Response(400, b"Bad Request", content_type="text/plain")
                except MIError as error:
                    failed += 1
                    results.append(
                        {
                            "transaction": name,
                            "errorMessage": error.message,
                            "errorType": error.error_type,
                            "errorCode": error.code,
                            "errorField": error.field,
                        }
                    )
                    continue
                finally:
                    with self._lock:
                        self.stats.transactions[f"{program}/{name}"] += 1
                records = records[:maxrecs] if maxrecs else records
                columns = item.get("selectedColumns") if isinstance(item, dict) else None
                if columns:  # only the columns asked for, as M3 answers them
                    records = [{c: row[c] for c in columns if c in row} for row in records]
                results.append({"transaction": name, "records": records})
        with self._lock:
            self.stats.failed_transactions += failed
        response = Response.json(
            {
                "results": results,
                "wasTerminated": False,
                "nrOfSuccessfullTransactions": len(results) - failed,
                "nrOfFailedTransactions": failed,
            }
        )
        return after(response, fired)

    def _single(self, request: Request, program: str, transaction: str, v1: bool) -> Response:
        with self._lock:
            self.stats.by_program[program] += 1
        fired = self._faults({transaction})
        if isinstance(fired, Response):
            return fired
        record = dict(request.query)
        try:
            records = self.books.execute(program, transaction, record, None, self.config)
        except UnknownTransaction:
            return Response(400, b"Bad Request", content_type="text/plain")
        except MIError as error:
            with self._lock:
                self.stats.failed_transactions += 1
            if v1:
                return Response.json(
                    {
                        "@type": error.error_type,
                        "@code": error.code,
                        "@field": error.field,
                        "@cfg": None,
                        "Message": error.message.ljust(120),
                    }
                )
            return Response.json(
                {
                    "results": [
                        {
                            "transaction": transaction,
                            "errorMessage": error.message,
                            "errorType": error.error_type,
                            "errorCode": error.code,
                            "errorField": error.field,
                        }
                    ],
                    "wasTerminated": False,
                    "nrOfSuccessfullTransactions": 0,
                    "nrOfFailedTransactions": 1,
                }
            )
        finally:
            with self._lock:
                self.stats.transactions[f"{program}/{transaction}"] += 1
        if v1:
            return after(
                Response.json(
                    {
                        "Program": program,
                        "Transaction": transaction,
                        "MIRecord": [
                            {
                                "RowIndex": i,
                                "NameValue": [{"Name": k, "Value": v} for k, v in row.items()],
                            }
                            for i, row in enumerate(records)
                        ],
                    }
                ),
                fired,
            )
        return after(
            Response.json(
                {
                    "results": [{"transaction": transaction, "records": records}],
                    "wasTerminated": False,
                    "nrOfSuccessfullTransactions": 1,
                    "nrOfFailedTransactions": 0,
                }
            ),
            fired,
        )

    def _faults(self, transactions: set[str]) -> list[FaultRule] | Response:
        fired = self.faults.take(operations=transactions)
        with self._lock:
            self.stats.faults_fired += len(fired)
        refused = refusal(
            fired,
            lambda rule: Response.json(
                {"error": f"Injected fault: HTTP {rule.status}"},
                rule.status,
                {"Retry-After": "0"} if rule.status == 429 else {},
            ),
        )
        return fired if refused is None else refused

    # -- auth and throttling ----------------------------------------------------------------------
    def _token(self, request: Request, tenant: str) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        with self._lock:
            self.stats.token_requests += 1
        config = self.config
        if tenant != config.tenant:
            return _oauth_error(404, "invalid_request", f"Unknown tenant {tenant}")
        if "application/x-www-form-urlencoded" not in (request.header("Content-Type") or ""):
            return _oauth_error(
                400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
            )
        if b"#" in request.body:
            return _oauth_error(
                400,
                "invalid_request",
                "The request body is not properly form-encoded: '#' must be sent as %23",
            )
        grant = form.get("grant_type")
        if grant not in ("password", "refresh_token"):
            return _oauth_error(
                400, "unsupported_grant_type", f"Grant type {grant!r} is not supported"
            )
        if (
            form.get("client_id") != config.client_id
            or form.get("client_secret") != config.client_secret
        ):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        if grant == "refresh_token":
            return _oauth_error(400, "invalid_grant", "Refresh token is invalid or expired")
        if (
            form.get("username") != config.service_account_key
            or form.get("password") != config.service_account_secret
        ):
            return _oauth_error(400, "invalid_grant", "Invalid service account credentials")
        token = self.tokens.issue(secrets.token_urlsafe(32), config.token_ttl)
        return Response.json(
            {
                "access_token": token,
                "refresh_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": config.token_ttl,
            }
        )

    def _rate_limit(self) -> tuple[Response | None, dict]:
        config = self.config
        with self._lock:
            now = time.time()
            while self._recent and self._recent[0] <= now - config.rate_window:
                self._recent.popleft()
            reset = (
                math.ceil(self._recent[0] + config.rate_window - now)
                if self._recent
                else math.ceil(config.rate_window)
            )
            every = config.throttle_every and (self.stats.requests % config.throttle_every == 0)
            over = config.rate_limit and len(self._recent) >= config.rate_limit
            if not every and not over:
                self._recent.append(now)
            used = len(self._recent)
            headers = {
                "X-RateLimit-Limit": str(config.rate_limit),
                "X-RateLimit-Remaining": str(max(0, config.rate_limit - used)),
                "X-RateLimit-Reset": str(reset),
            }
            if not every and not over:
                return None, headers
            self.stats.throttled += 1
        wait = config.retry_after if every else max(config.retry_after, reset)
        return Response.json(
            {"error": "Too Many Requests", "message": "Rate limit exceeded for this client"},
            429,
            {**headers, "Retry-After": str(wait)},
        ), headers

    # -- test control -----------------------------------------------------------------------------
    def control_actions(self):
        return {
            **super().control_actions(),
            "batches": lambda _: Response.json(
                [self._batch_view(b) for b in self.books.batches.values()]
            ),
            "vouchers": lambda _: Response.json([line.record() for line in self.books.vouchers]),
            "close_periods": self._close_periods,
        }

    def _close_periods(self, body) -> Response:
        """Close the periods of `divisions` (default: every division) through `through`
        (YYYYMMDD or YYYY-MM-DD), as GLS990 would; `through` "" opens them all again."""
        through = str(body.get("through") or "").replace("-", "")
        divisions = body.get("divisions") or self.config.divisions
        closed = dict(self.config.closed_through)
        for division in divisions:
            if through:
                closed[division] = through
            else:
                closed.pop(division, None)
        self.config = self.config.updated({"closed_through": closed})
        return Response.json(self.config.closed_through)

    @contextmanager
    def control_lock(self):
        with self._lock, self.books.lock:
            yield

    def reset(self) -> None:
        self.config = self.initial_config
        self.books = Books()
        self.faults.clear()
        self.stats = Stats()
        self.tokens.clear()
        self._recent.clear()

    def expire_tokens(self) -> int:
        return self.tokens.expire_all()

    def _batch_view(self, batch) -> dict:
        lines = []
        for number, parm in sorted(batch.lines.items()):
            definition = self.config.interfaces.get(batch.intn, CLOSEOUT_INTERFACE)
            fields = cut(parm, definition)
            try:
                fields["amount"] = amount(fields.get("CUAM", ""))
            except ParmError:
                fields["amount"] = None
            lines.append({"LINE": number, "PARM": parm, **fields})
        return {
            "CONO": batch.cono,
            "DIVI": batch.divi,
            "KEY1": batch.key1,
            "INTN": batch.intn,
            "DESC": batch.desc,
            "STAT": batch.status,
            "JRNO": batch.jrno,
            "lines": lines,
        }


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json({"error": error, "error_description": description}, status)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text not in (None, "") else default
    except ValueError:
        return default
