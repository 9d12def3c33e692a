"""The D365 F&O sandbox: the OData service under `/data/`, with its Entra ID login host beside
it over TLS (`sandboxes.d365.entra`: client-credentials tokens for the scope
`<environment>/.default`, Entra's error JSON, the discovery document msal reads).

Behaviour follows the vendor: bearer auth on every OData call (401 once a token expires),
`LedgerJournalHeaders` / `LedgerJournalLines` with F&O's query options, keys and error envelope,
the reference entities `closeout check` reads (`sandboxes.d365.reference`, read-only),
queries limited to the default company unless `cross-company=true`, server-driven paging with
`@odata.nextLink`, `$batch` whose changesets are all-or-nothing behind an outer 200,
service-protection 429s with Retry-After, and a ledger calendar whose On hold or Closed periods
refuse journal lines dated in them. `/_sandbox/...` endpoints reset, configure, inject faults,
expire tokens, close periods and read counters.
"""

from __future__ import annotations

import base64
import math
import re
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, unquote, urlsplit

from sandboxes.control import CONTROL_PREFIX, ErpControl, SandboxStats
from sandboxes.d365 import reference
from sandboxes.d365.batch import Operation, parse_batch, write_batch
from sandboxes.d365.config import D365Config
from sandboxes.d365.entra import EntraLogin, LoginServer
from sandboxes.d365.faults import D365Fault
from sandboxes.d365.journals import (
    HEADER_FIELDS,
    HEADER_TYPE,
    LINE_ENTITY,
    LINE_FIELDS,
    LINE_TABLE,
    LINE_TYPE,
    JournalStore,
    Transaction,
)
from sandboxes.d365.odata import (
    WRITE_EXCEPTION,
    ODataError,
    apply_query,
    parse_key,
    select,
    write_failed,
)
from sandboxes.faults import Faults, after, refusal
from sandboxes.http import (  # noqa: F401 (make_server re-exported)
    Request,
    Response,
    SandboxHTTPServer,
    make_server,
)
from sandboxes.tokens import BearerTokens

ENTITY_PATH = re.compile(r"^/data/(\w+)(?:\((.*)\))?/?$")
ENTITY_SETS = {
    "LedgerJournalHeaders": (HEADER_FIELDS, HEADER_TYPE, ("dataAreaId", "JournalBatchNumber")),
    "LedgerJournalLines": (
        LINE_FIELDS,
        LINE_TYPE,
        ("dataAreaId", "JournalBatchNumber", "LineNumber"),
    ),
}


@dataclass
class Stats(SandboxStats):
    token_requests: int = 0
    discovery_requests: int = 0  # msal's GET of the openid-configuration
    requests: Counter = field(default_factory=Counter)  # "METHOD /data/EntitySet" -> count
    throttled: int = 0
    unauthorized: int = 0
    faults_fired: int = 0
    batch_operations: int = 0
    changesets_failed: int = 0


class D365Sandbox(ErpControl):
    def __init__(self, config: D365Config | None = None):
        self.initial_config = config or D365Config.from_seeds()
        self.config = self.initial_config
        self.store = JournalStore()
        self.faults = Faults(D365Fault)
        self.stats = Stats()
        self.base_url = ""
        self.login_url = ""  # the Entra login host (https), when served by D365Server
        self.ca_file = ""  # the PEM file of the CA that signed the login host's certificate
        self.tokens = BearerTokens()
        self._recent: deque[float] = deque()  # data requests, for throttle_limit
        self._data_requests = 0
        self._lock = threading.RLock()

    @property
    def environment_url(self) -> str:
        return (self.config.environment_url or self.base_url).rstrip("/")

    # -- dispatch ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = unquote(request.path)
        if path.startswith(CONTROL_PREFIX):
            return self.control(request)
        if not (path == "/data" or path.startswith("/data/")):
            return ODataError(
                404, f"No HTTP resource was found that matches the request URI '{path}'."
            ).response()
        with self._lock:
            self.stats.requests[f"{request.method} {_counted_path(path)}"] += 1
        if not self.tokens.valid(request.header("Authorization")):
            with self._lock:
                self.stats.unauthorized += 1
            return Response(401, b"", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        throttled = self._throttle()
        if throttled:
            return throttled
        fired = self.faults.take(method=request.method, path=path)
        with self._lock:
            self.stats.faults_fired += len(fired)
        refused = refusal(
            fired,
            lambda rule: ODataError(rule.status, f"Injected fault: HTTP {rule.status}").response(),
        )
        return refused or after(self._data(request, path, fired), fired)

    def _data(self, request: Request, path: str, fired: list[D365Fault]) -> Response:
        query = dict(request.query)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if path == "/data/$batch":
            if request.method != "POST":
                return ODataError(405, "$batch takes POST.").response()
            return self._batch(request.body, headers.get("content-type"), fired)
        with self._lock:
            txn = Transaction()
            try:
                return self._operation(request.method, path, query, headers, request.body, txn)
            except ODataError as error:
                txn.rollback()
                return error.response()

    # -- entities ---------------------------------------------------------------------------------
    def _operation(
        self, method: str, path: str, query: dict, headers: dict, body: bytes, txn: Transaction
    ) -> Response:
        match = ENTITY_PATH.match(path)
        if match and match.group(1) in reference.ENTITIES:
            if method != "GET" or match.group(2) is not None:
                raise ODataError(
                    405, f"The sandbox serves {match.group(1)} read-only, as a collection."
                )
            return self._collection(match.group(1), path, query, headers)
        if not match or match.group(1) not in ENTITY_SETS:
            raise ODataError(404, f"Resource not found for the segment '{path[6:] or 'data'}'.")
        entity_set, key_text = match.group(1), match.group(2)
        fields, entity_type, key_names = ENTITY_SETS[entity_set]
        key = parse_key(key_text) if key_text is not None else None
        if key is not None and set(key) != set(key_names):
            raise ODataError(
                400,
                f"The key of {entity_set} is ({', '.join(key_names)}); "
                "give every key property by name.",
            )
        if method == "GET":
            if key is None:
                return self._collection(entity_set, path, query, headers)
            row = self._by_key(entity_set, key)
            if row is None:
                raise ODataError(404, f"Resource not found for the segment '{entity_set}'.")
            return Response.json(
                {
                    "@odata.context": self._context(entity_set, entity=True),
                    **select(row, query, fields, entity_type),
                }
            )
        if method == "POST" and key is None:
            data = _json_body(body)
            row = (
                self.store.create_header(data, self.config, txn)
                if entity_set == "LedgerJournalHeaders"
                else self.store.add_line(data, self.config, txn)
            )
            return self._created(entity_set, key_names, row, headers)
        if method == "DELETE" and key is not None:
            if entity_set == "LedgerJournalHeaders":
                self.store.delete_header(key["dataAreaId"], key["JournalBatchNumber"], txn)
            else:
                self.store.delete_line(
                    key["dataAreaId"], key["JournalBatchNumber"], key["LineNumber"], txn
                )
            return Response(204, b"", {"OData-Version": "4.0"})
        raise ODataError(
            405,
            f"The sandbox does not implement {method} on {entity_set}"
            f"{'(key)' if key is not None else ''}.",
        )

    def _by_key(self, entity_set: str, key: dict) -> dict | None:
        if entity_set == "LedgerJournalHeaders":
            return self.store.header(key["dataAreaId"], key["JournalBatchNumber"])
        return self.store.line(key["dataAreaId"], key["JournalBatchNumber"], key["LineNumber"])

    def _collection(self, entity_set: str, path: str, query: dict, headers: dict) -> Response:
        if entity_set in reference.ENTITIES:
            rows_of, fields, entity_type, per_company = reference.ENTITIES[entity_set]
            rows = rows_of(self.config)
        else:
            fields, entity_type, _ = ENTITY_SETS[entity_set]
            per_company = True
            rows = (
                self.store.header_rows()
                if entity_set == "LedgerJournalHeaders"
                else self.store.line_rows()
            )
        if per_company and query.get("cross-company", "").lower() != "true":
            rows = [row for row in rows if row["dataAreaId"] == self.config.home_company]
        rows, total, top = apply_query(rows, query, fields, entity_type)
        page_size = self.config.page_size
        wanted = re.search(r"odata\.maxpagesize=(\d+)", headers.get("prefer", ""))
        if wanted:
            page_size = max(1, min(page_size, int(wanted.group(1))))
        limit = len(rows) if top is None else min(top, len(rows))
        page = rows[: min(limit, page_size)]
        body = {
            "@odata.context": self._context(entity_set),
            "value": [select(row, query, fields, entity_type) for row in page],
        }
        if query.get("$count", "").lower() == "true":
            body["@odata.count"] = total
        if limit > page_size:
            following = dict(query, **{"$skip": str(int(query.get("$skip", 0)) + page_size)})
            if top is not None:
                following["$top"] = str(top - page_size)
            body["@odata.nextLink"] = f"{self.base_url}{path}?" + "&".join(
                f"{name}={quote(value, safe=_QUERY_SAFE)}" for name, value in following.items()
            )
        return Response.json(body, headers={"OData-Version": "4.0"})

    def _created(self, entity_set: str, key_names: tuple, row: dict, headers: dict) -> Response:
        key = ",".join(f"{name}={_key_literal(row[name])}" for name in key_names)
        location = f"{self.base_url}/data/{entity_set}({key})"
        response_headers = {"Location": location, "OData-Version": "4.0"}
        if "return=minimal" in headers.get("prefer", ""):
            return Response(204, b"", {**response_headers, "OData-EntityId": location})
        etag = 'W/"' + base64.b64encode(f"'1,{uuid.uuid4().int % 10**10}'".encode()).decode() + '"'
        body = {
            "@odata.context": self._context(entity_set, entity=True),
            "@odata.etag": etag,
            **row,
        }
        return Response.json(body, 201, {**response_headers, "ETag": etag})

    def _context(self, entity_set: str, entity: bool = False) -> str:
        return f"{self.base_url}/data/$metadata#{entity_set}{'/$entity' if entity else ''}"

    # -- $batch -----------------------------------------------------------------------------------
    def _batch(self, body: bytes, content_type: str | None, fired: list[D365Fault]) -> Response:
        try:
            parts = parse_batch(body, content_type)
        except ODataError as error:
            return error.response()
        inject = [rule for rule in fired if rule.kind == "changeset_failure"]
        answers = []
        with self._lock:
            for part in parts:
                if part.operation is not None:
                    txn = Transaction()
                    answers.append(
                        (False, [(self._inner(part.operation, txn), part.operation.content_id)])
                    )
                    continue
                answers.append(
                    (True, self._changeset(part.changeset, inject.pop(0) if inject else None))
                )
        return write_batch(answers)

    def _changeset(
        self, operations: list[Operation], injected: D365Fault | None
    ) -> list[tuple[Response, str | None]]:
        """Every operation of the changeset, or (rolled back) the one error that stopped it."""
        txn = Transaction()
        answers = []
        for operation in operations:
            response = self._inner(operation, txn)
            if response.status >= 400:
                return self._failed(txn, response, operation)
            answers.append((response, operation.content_id))
        problem = self.store.unbalanced(txn)
        if injected is None and problem is None:
            return answers
        last = operations[-1] if operations else Operation("POST", "", {}, b"")
        error = write_failed(
            LINE_ENTITY, LINE_TABLE, [injected.message if injected else problem], status=500
        )
        return self._failed(txn, error.response(), last)

    def _failed(
        self, txn: Transaction, response: Response, operation: Operation
    ) -> list[tuple[Response, str | None]]:
        txn.rollback()
        self.stats.changesets_failed += 1
        return [(response, operation.content_id)]

    def _inner(self, operation: Operation, txn: Transaction) -> Response:
        self.stats.batch_operations += 1
        parts = urlsplit(operation.url)
        path = unquote(parts.path)
        if not path.startswith("/"):
            path = "/data/" + path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            return self._operation(
                operation.method, path, query, operation.headers, operation.body, txn
            )
        except ODataError as error:
            if error.inner and error.inner.get("type") == WRITE_EXCEPTION:
                error.status = 500  # F&O answers a failed write inside a batch with 500
            return error.response()

    # -- service protection ---------------------------------------------------------------------
    def _throttle(self) -> Response | None:
        config = self.config
        with self._lock:
            self._data_requests += 1
            now = time.time()
            while self._recent and self._recent[0] <= now - config.throttle_window:
                self._recent.popleft()
            message = retry_after = None
            if config.throttle_every and self._data_requests % config.throttle_every == 0:
                retry_after = config.retry_after
                message = (
                    "Number of requests exeeded the limit of 6000 over the time window "
                    "of 300 seconds."
                )
            elif config.throttle_limit and len(self._recent) >= config.throttle_limit:
                retry_after = max(
                    config.retry_after, math.ceil(self._recent[0] + config.throttle_window - now)
                )
                message = (
                    f"Number of requests exeeded the limit of {config.throttle_limit} "
                    f"over the time window of {config.throttle_window:g} seconds."
                )
            if message is None:
                self._recent.append(now)
                return None
            self.stats.throttled += 1
        return Response.json(
            {"error": {"code": "", "message": message}}, 429, {"Retry-After": str(retry_after)}
        )

    # -- test control -----------------------------------------------------------------------------
    def control_actions(self):
        return {
            **super().control_actions(),
            "journals": self._journals_action,
            "post_journal": self._post_journal_action,
            "close_periods": self._close_periods_action,
        }

    def reset(self) -> None:
        self.config = self.initial_config
        self.store = JournalStore()
        self.faults.clear()
        self.stats = Stats()
        self.tokens.clear()
        self._recent.clear()
        self._data_requests = 0

    def config_view(self) -> dict:
        return {
            **super().config_view(),
            "environment_url": self.environment_url,
            "login_url": self.login_url,
            "ca_file": self.ca_file,
        }

    def expire_tokens(self) -> int:
        return self.tokens.expire_all()

    def _journals_action(self, _body) -> Response:
        lines = self.store.line_rows()
        return Response.json(
            [
                {
                    **header,
                    "lines": [
                        line
                        for line in lines
                        if (line["dataAreaId"], line["JournalBatchNumber"])
                        == (header["dataAreaId"], header["JournalBatchNumber"])
                    ],
                }
                for header in self.store.header_rows()
            ]
        )

    def _post_journal_action(self, body) -> Response:
        found = self.store.mark_posted(
            str(body.get("dataAreaId", "")), str(body.get("JournalBatchNumber", ""))
        )
        return Response.json({"posted": found}, 200 if found else 404)

    def _close_periods_action(self, body) -> Response:
        """{"through": "2026-11-30", "status": "On hold" | "Closed"}: every ledger period up to
        that date stops taking transactions; {"through": null} opens them all again."""
        changes = {"closed_through": body.get("through")}
        if body.get("status"):
            changes["closed_status"] = body["status"]
        try:
            self.config = self.config.updated(changes)
        except (TypeError, ValueError) as exc:
            return Response.json({"error": str(exc)}, 400)
        return Response.json(
            {"closed_through": self.config.closed_through, "status": self.config.closed_status}
        )


_QUERY_SAFE = "$',()*:=/@"


def _counted_path(path: str) -> str:
    """Requests are counted per entity set; keys are folded so counts stay readable."""
    return re.sub(r"\(.*\)$", "(key)", path)


def _json_body(body: bytes):
    import json
    from decimal import Decimal

    try:
        return json.loads(body, parse_float=Decimal) if body else None
    except ValueError as exc:
        raise ODataError(400, f"The request body is not valid JSON: {exc}") from None


def _key_literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


class D365Server(SandboxHTTPServer):
    """The F&O service (plain HTTP) with its Entra login host (`LoginServer`, TLS) beside it, as
    Entra and F&O are two hosts; starting, stopping or closing one does the same to the other."""

    def __init__(self, sandbox: D365Sandbox, host: str = "127.0.0.1", port: int = 0):
        super().__init__(sandbox, host, port)
        sandbox.base_url = self.url
        self.login = LoginServer(EntraLogin(sandbox), host)
        sandbox.login_url, sandbox.ca_file = self.login.url, self.login.ca_file

    def start_in_thread(self) -> threading.Thread:
        self.login.start_in_thread()
        return super().start_in_thread()

    def shutdown(self) -> None:
        self.login.shutdown()
        super().shutdown()

    def server_close(self) -> None:
        self.login.server_close()
        super().server_close()
