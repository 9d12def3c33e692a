"""The Intacct sandbox: an XML gateway (DTD 3.0) at POST /ia/xml/xmlgw.phtml.

Two tiers of credentials as Intacct has them: the Web Services sender (control block) and a
company user (login, or the session id `getAPISession` returns). Sessions are sliding: every
call resets the timeout. Failures arrive inside HTTP 200 at the level where processing stopped
(control, authentication, function); gateway limits answer 429 with GW-0010. `uniqueid=true`
refuses a function whose controlid already ran to completion. `/_sandbox/...` endpoints let
tests configure the company, inject faults, expire sessions, move the sandbox's clock forward
(`advance_clock`, seconds: what sessions expire by) and read counters (with `in_flight`, the
requests holding a concurrency slot), what it was sent (`requests`: per request its control
elements and its functions' objects, elements and paging) and batches, and plant a batch as a
person would leave it in the books (`add_batch`: a draft header without all its lines).
`configure` replaces a company's lists (accounts, locations, departments, journals, dimensions)
and which of their values are `inactive`.
"""

from __future__ import annotations

import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sandboxes.control import CONTROL_PREFIX, Controlled, SandboxStats
from sandboxes.faults import Faults
from sandboxes.http import Request, Response, make_server  # noqa: F401 (re-exported)
from sandboxes.intacct import errors
from sandboxes.intacct.books import Company, GlBatch, GlEntry, seeded_company
from sandboxes.intacct.envelope import (
    EnvelopeError,
    GatewayRequest,
    control_block,
    control_failure,
    error_block,
    parse_request,
    serialise,
    sub,
)
from sandboxes.intacct.errors import GatewayError
from sandboxes.intacct.faults import IntacctFault
from sandboxes.intacct.functions import Cursors, FunctionResult, created_data, run

GATEWAY_PATH = "/ia/xml/xmlgw.phtml"
XML = "text/xml; charset=UTF-8"
REQUESTS_KEPT = 1000  # the newest requests `requests` answers with


@dataclass
class Session:
    sessionid: str
    company_id: str
    user_id: str
    location_id: str
    expires_at: datetime


@dataclass
class Stats(SandboxStats):
    requests: int = 0
    by_function: Counter = field(default_factory=Counter)
    by_path: Counter = field(default_factory=Counter)
    logins: int = 0  # requests authenticated with a user login
    sessions_created: int = 0
    throttled: int = 0  # answered 429 / GW-0010
    faults_fired: int = 0
    control_failures: int = 0
    auth_failures: int = 0
    function_failures: int = 0
    duplicates_refused: int = 0
    batches_created: int = 0


class ConcurrencyLimit:
    """At most `limit` requests in progress; another waits up to `wait_seconds` for a slot
    (Intacct queues briefly, then answers 429)."""

    def __init__(self, limit: int, wait_seconds: float):
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._busy = 0
        self._free = threading.Condition()

    def acquire(self) -> bool:
        with self._free:
            if not self._free.wait_for(lambda: self._busy < self.limit, timeout=self.wait_seconds):
                return False
            self._busy += 1
            return True

    def release(self) -> None:
        with self._free:
            self._busy -= 1
            self._free.notify()

    @property
    def busy(self) -> int:
        """Requests holding a slot now."""
        with self._free:
            return self._busy


class IntacctSandbox(Controlled):
    control_body_error = "body is not JSON"

    def __init__(
        self,
        sender_id: str = "closeout-sandbox",
        sender_password: str = "sandbox-sender-password",
        company_id: str = "HARBOR-VINE",
        user_id: str = "closeout_xml",
        user_password: str = "sandbox-user-password",
        session_seconds: int = 3600,
        concurrency_limit: int = 2,
        concurrency_wait_seconds: float = 0.0,
    ):
        self._initial = dict(
            sender_id=sender_id,
            sender_password=sender_password,
            company_id=company_id,
            user_id=user_id,
            user_password=user_password,
            session_seconds=session_seconds,
            concurrency_limit=concurrency_limit,
            concurrency_wait_seconds=concurrency_wait_seconds,
        )
        self.base_url = ""
        self.faults = Faults(IntacctFault)
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        settings = self._initial
        self.senders = {settings["sender_id"]: settings["sender_password"]}
        self.companies = {
            settings["company_id"]: seeded_company(
                settings["company_id"],
                settings["user_id"],
                settings["user_password"],
                settings["sender_id"],
            )
        }
        self.session_seconds = settings["session_seconds"]
        self.concurrency = ConcurrencyLimit(
            settings["concurrency_limit"], settings["concurrency_wait_seconds"]
        )
        self.endpoint_path = GATEWAY_PATH
        self.clock_offset = timedelta(0)  # how far a test moved the clock forward
        self.sessions: dict[str, Session] = {}
        self.seen: deque[dict] = deque(maxlen=REQUESTS_KEPT)
        self.cursors = Cursors()
        self.stats = Stats()
        self.faults.clear()

    def now(self) -> datetime:
        """The sandbox's time: the wall clock plus what tests advanced it by."""
        return datetime.now(timezone.utc) + self.clock_offset

    @property
    def endpoint(self) -> str:
        """What getAPISession returns as the URL to use for the rest of the session."""
        return self.base_url + self.endpoint_path

    # -- dispatch -------------------------------------------------------------------------------
    @property
    def initial_settings(self) -> dict:
        """The credentials and limits it was started with (what `reset` restores)."""
        return dict(self._initial)

    def handle(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return self.control(request)
        if request.path not in (GATEWAY_PATH, self.endpoint_path):
            return Response(404, b"Not Found", content_type="text/plain")
        if request.method != "POST":
            return Response(405, b"Method Not Allowed", {"Allow": "POST"}, "text/plain")
        return self._gateway(request)

    def _gateway(self, request: Request) -> Response:
        with self._lock:
            self.stats.requests += 1
            self.stats.by_path[request.path] += 1
        try:
            parsed = parse_request(request.body)
        except EnvelopeError as exc:
            with self._lock:
                self.stats.control_failures += 1
            return Response(200, control_failure(exc.error, exc.control), content_type=XML)
        names = [f.name for f in parsed.functions]
        with self._lock:
            self.stats.by_function.update(names)
            self.seen.append(_seen(parsed))
        fired = self.faults.take(
            functions=names, controlids=[f.controlid for f in parsed.functions]
        )
        with self._lock:
            self.stats.faults_fired += len(fired)
        before = [r for r in fired if not r.execute and r.kind in ("drop", "status")]
        if before:
            return self._fault_response(before[0])
        if not self.concurrency.acquire():
            return self._throttled(self.concurrency.limit, retry_after=1)
        try:
            for rule in fired:
                if rule.kind == "slow":
                    time.sleep(rule.seconds)
            body = self._process(parsed)
        finally:
            self.concurrency.release()
        after = [r for r in fired if r.execute]
        if after:
            return self._fault_response(after[0])
        return Response(200, body, content_type=XML)

    def _fault_response(self, rule: IntacctFault) -> Response:
        if rule.kind in ("drop", "commit_then_drop"):
            response = Response(200, b"")
            response.drop = True
            return response
        if rule.status == 429:
            return self._throttled(self.concurrency.limit, rule.retry_after)
        if rule.status == 524:
            return Response(
                524,
                b"error code: 524 (A timeout occurred: the origin server did not answer in time)",
                content_type="text/plain",
            )
        page = f"<html><body><h1>{rule.status} Server Error</h1></body></html>".encode()
        return Response(rule.status, page, content_type="text/html")

    def _throttled(self, limit: int, retry_after: int) -> Response:
        with self._lock:
            self.stats.throttled += 1
        root = ET.Element("response")
        control_block(root, "failure", None)
        error_block(root, [errors.too_many_requests(limit)])
        return Response(429, serialise(root), {"Retry-After": str(retry_after)}, XML)

    # -- one request ----------------------------------------------------------------------------
    def _process(self, request: GatewayRequest) -> bytes:
        control = request.control
        with self._lock:
            if not control.password or self.senders.get(control.senderid) != control.password:
                self.stats.control_failures += 1
                return control_failure(errors.bad_sender(), control)
            root = ET.Element("response")
            control_block(root, "success", control)
            operation = sub(root, "operation")
            authentication = sub(operation, "authentication")
            now = self.now()
            company, session, error = self._authenticate(request, now)
            if error is not None:
                self.stats.auth_failures += 1
                sub(authentication, "status", "failure")
                login = request.login
                sub(
                    authentication,
                    "userid",
                    session.user_id if session else login.userid if login else "",
                )
                sub(
                    authentication,
                    "companyid",
                    session.company_id if session else login.companyid if login else "",
                )
                sub(authentication, "locationid", "")
                error_block(operation, [error])
                return serialise(root)
            user_id = session.user_id if session else request.login.userid
            location_id = session.location_id if session else request.login.locationid
            results = self._run_functions(request, company, user_id, location_id, session, now)
            session = session or next((r.session for r in results if r.session), None)
            timeout = (
                session.expires_at if session else now + timedelta(seconds=self.session_seconds)
            )
            for tag, value in (
                ("status", "success"),
                ("userid", user_id),
                ("companyid", company.company_id),
                ("locationid", location_id),
                ("sessiontimestamp", now.isoformat(timespec="seconds")),
                ("sessiontimeout", timeout.isoformat(timespec="seconds")),
            ):
                sub(authentication, tag, value)
            for function, result in zip(request.functions, results, strict=False):
                block = sub(operation, "result")
                sub(block, "status", result.status)
                sub(block, "function", function.name)
                sub(block, "controlid", function.controlid)
                if result.data is not None:
                    block.append(result.data)
                if result.errors:
                    error_block(block, result.errors)
            return serialise(root)

    def _authenticate(
        self, request: GatewayRequest, now: datetime
    ) -> tuple[Company | None, Session | None, GatewayError | None]:
        sender = request.control.senderid
        if request.sessionid is not None:
            session = self.sessions.get(request.sessionid)
            if session is None or session.expires_at <= now:
                self.sessions.pop(request.sessionid, None)
                return None, None, errors.invalid_session()
            company = self.companies.get(session.company_id)
            if company is None:
                return None, None, errors.invalid_session()
            if sender not in company.senders:
                return None, session, errors.sender_not_authorized(sender, company.company_id)
            session.expires_at = now + timedelta(seconds=self.session_seconds)  # sliding
            return company, session, None
        login = request.login
        company = self.companies.get(login.companyid)
        if (
            company is None
            or not login.password
            or company.users.get(login.userid) != login.password
            or (login.locationid and login.locationid not in company.locations)
        ):
            return None, None, errors.bad_sign_in()
        if sender not in company.senders:
            return None, None, errors.sender_not_authorized(sender, company.company_id)
        self.stats.logins += 1
        return company, None, None

    def _run_functions(
        self,
        request: GatewayRequest,
        company: Company,
        user_id: str,
        location_id: str,
        session: Session | None,
        now: datetime,
    ) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        seen: set[str] = set()
        for function in request.functions:
            if function.name == "getAPISession":
                outcome = self._api_session(company, user_id, location_id, session, now)
            elif request.control.uniqueid and (
                function.controlid in company.executed or function.controlid in seen
            ):
                self.stats.duplicates_refused += 1
                outcome = _Outcome.of(
                    FunctionResult.failure(errors.duplicate_function(function.controlid))
                )
            else:
                outcome = _Outcome.of(run(company, function, user_id, self.cursors))
            seen.add(function.controlid)
            outcomes.append(outcome)
        failed = any(o.status == "failure" for o in outcomes)
        if request.transaction and failed:
            for outcome in outcomes:  # nothing of this operation is kept
                outcome.staged = []
                if outcome.status == "success":
                    outcome.status, outcome.data = "aborted", None
                outcome.errors.append(errors.rolled_back())
        for function, outcome in zip(request.functions, outcomes, strict=False):
            if outcome.status != "success":
                self.stats.function_failures += outcome.status == "failure"
                continue
            if outcome.staged:
                for batch in outcome.staged:
                    company.add(batch)
                self.stats.batches_created += len(outcome.staged)
                outcome.data = created_data(outcome.staged)
            company.executed.add(function.controlid)
        return outcomes

    def _api_session(
        self,
        company: Company,
        user_id: str,
        location_id: str,
        session: Session | None,
        now: datetime,
    ) -> _Outcome:
        if session is None:
            session = Session(
                secrets.token_urlsafe(24),
                company.company_id,
                user_id,
                location_id,
                now + timedelta(seconds=self.session_seconds),
            )
            self.sessions[session.sessionid] = session
            self.stats.sessions_created += 1
        data = ET.Element("data")
        api = sub(data, "api")
        sub(api, "sessionid", session.sessionid)
        sub(api, "endpoint", self.endpoint)
        sub(api, "locationid", session.location_id)
        return _Outcome("success", data=data, session=session)

    # -- test control ---------------------------------------------------------------------------
    def control_actions(self):
        return {
            **super().control_actions(),
            "config": lambda _: Response.json(self._settings()),
            "configure": self._configure_action,
            "expire_sessions": self._expire_sessions_action,
            "advance_clock": self._advance_clock_action,
            "batches": lambda body: Response.json(self._batches(body.get("company"))),
            "add_batch": self._add_batch_action,
            "requests": lambda _: Response.json(list(self.seen)),
        }

    def _add_batch_action(self, body) -> Response:
        """A batch a person left in the books outside the API (e.g. a draft saved in the UI
        before all its lines were entered): stored as given, without the create's checks."""
        try:
            company = self.companies[body.get("company") or self._initial["company_id"]]
            batch = GlBatch(
                journal=body.get("JOURNAL", "SJ"),
                batch_date=date.fromisoformat(body["BATCH_DATE"]),
                title=body.get("BATCH_TITLE", body["REFERENCENO"]),
                referenceno=body["REFERENCENO"],
                state=body.get("STATE", "Draft"),
                history_comment=body.get("HISTORY_COMMENT", ""),
                entries=[_planted_entry(n, e) for n, e in enumerate(body.get("entries", []), 1)],
                created_by=self._initial["user_id"],
            )
        except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
            return Response.json({"error": f"bad batch: {exc!r}"}, 400)
        return Response.json({"RECORDNO": str(company.add(batch).recordno)})

    def _configure_action(self, body) -> Response:
        try:
            self._configure(body or {})
        except (TypeError, ValueError, KeyError) as exc:
            return Response.json({"error": f"bad configuration: {exc}"}, 400)
        return Response.json(self._settings())

    def _expire_sessions_action(self, body) -> Response:
        expired = 0
        for session in self.sessions.values():
            if body.get("sessionid") in (None, session.sessionid):
                session.expires_at = self.now() - timedelta(seconds=1)
                expired += 1
        return Response.json({"expired": expired})

    def _advance_clock_action(self, body) -> Response:
        try:
            seconds = float(body["seconds"])
        except (TypeError, ValueError, KeyError):
            return Response.json({"error": "advance_clock takes seconds, a number"}, 400)
        if seconds < 0:
            return Response.json({"error": "the clock only moves forward"}, 400)
        self.clock_offset += timedelta(seconds=seconds)
        return Response.json({"now": self.now().isoformat()})

    def stats_view(self) -> dict:
        return {**self.stats.as_dict(), "in_flight": self.concurrency.busy}

    def _settings(self) -> dict:
        return {
            "senders": sorted(self.senders),
            "session_seconds": self.session_seconds,
            "concurrency_limit": self.concurrency.limit,
            "concurrency_wait_seconds": self.concurrency.wait_seconds,
            "endpoint": self.endpoint,
            "open_sessions": len(self.sessions),
            "companies": {cid: c.settings() for cid, c in self.companies.items()},
        }

    def _configure(self, body: dict) -> None:
        """Partial update: only the keys given change. Company lists replace the old lists;
        a company id not seen before starts empty."""
        for sender, password in (body.get("senders") or {}).items():
            if password is None:
                self.senders.pop(sender, None)
            else:
                self.senders[sender] = str(password)
        if "session_seconds" in body:
            self.session_seconds = int(body["session_seconds"])
        if "concurrency_limit" in body:
            self.concurrency.limit = int(body["concurrency_limit"])
        if "concurrency_wait_seconds" in body:
            self.concurrency.wait_seconds = float(body["concurrency_wait_seconds"])
        if "endpoint_path" in body:
            self.endpoint_path = str(body["endpoint_path"])
        for company_id, spec in (body.get("companies") or {}).items():
            company = self.companies.get(company_id) or Company(
                company_id, {}, set(), set(), set(), set(), set(), {}
            )
            if "users" in spec:
                company.users = {str(k): str(v) for k, v in spec["users"].items()}
            for name in ("senders", "journals", "accounts", "locations", "departments"):
                if name in spec:
                    setattr(company, name, {str(v) for v in spec[name]})
            if "dimensions" in spec:
                company.dimensions = {
                    str(name).upper(): None if values is None else {str(v) for v in values}
                    for name, values in spec["dimensions"].items()
                }
            if "inactive" in spec:
                company.inactive = {
                    str(name): {str(v) for v in values} for name, values in spec["inactive"].items()
                }
            if "closed_before" in spec:
                company.closed_before = (
                    date.fromisoformat(spec["closed_before"]) if spec["closed_before"] else None
                )
            self.companies[company_id] = company

    def _batches(self, company_id: str | None) -> list[dict]:
        return [
            {
                "company": company.company_id,
                "RECORDNO": str(batch.recordno),
                "BATCHNO": str(batch.batchno),
                "JOURNAL": batch.journal,
                "BATCH_DATE": batch.batch_date.isoformat(),
                "BATCH_TITLE": batch.title,
                "REFERENCENO": batch.referenceno,
                "STATE": batch.state,
                "HISTORY_COMMENT": batch.history_comment,
                "entries": [
                    {
                        "LINE_NO": e.line_no,
                        "ACCOUNTNO": e.accountno,
                        "TR_TYPE": e.tr_type,
                        "TRX_AMOUNT": e.amount,
                        "LOCATION": e.location,
                        "DEPARTMENT": e.department,
                        "DESCRIPTION": e.description,
                        **e.dimensions,
                    }
                    for e in batch.entries
                ],
            }
            for company in self.companies.values()
            if company_id in (None, company.company_id)
            for batch in company.batches.values()
        ]


def _seen(request: GatewayRequest) -> dict:
    """What a request asked for, as `requests` reports it."""
    return {
        "control": list(request.control.tags),
        "uniqueid": request.control.uniqueid,
        "transaction": request.transaction,
        "functions": [
            {
                "function": function.name,
                "controlid": function.controlid,
                "object": (function.body.findtext("object") or "").strip() or None,
                "pagesize": function.body.findtext("pagesize"),
                "offset": function.body.findtext("offset"),
                "filter": [child.tag for child in function.body.findall("filter/*")],
                "elements": [child.tag for child in function.body],
            }
            for function in request.functions
        ],
    }


def _planted_entry(line_no: int, entry: dict) -> GlEntry:
    known = {"ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT", "LOCATION", "DEPARTMENT", "DESCRIPTION"}
    return GlEntry(
        line_no=line_no,
        accountno=entry["ACCOUNTNO"],
        tr_type=int(entry["TR_TYPE"]),
        amount=Decimal(str(entry["TRX_AMOUNT"])),
        location=entry.get("LOCATION", ""),
        department=entry.get("DEPARTMENT", ""),
        description=entry.get("DESCRIPTION", ""),
        dimensions={k: str(v) for k, v in entry.items() if k not in known},
    )


@dataclass
class _Outcome:
    """A function's result as the gateway reports it, and what it leaves behind."""

    status: str
    data: ET.Element | None = None
    errors: list[GatewayError] = field(default_factory=list)
    staged: list = field(default_factory=list)
    session: Session | None = None

    @classmethod
    def of(cls, result: FunctionResult) -> _Outcome:
        return cls(result.status, result.data, list(result.errors), list(result.staged))
