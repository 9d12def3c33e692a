"""Sage Intacct (XML gateway, DTD 3.0): each journal becomes one GLBATCH, created exactly once.

Exactly once rests on three things Intacct offers: REFERENCENO carries our idempotency key, so
`existing` finds what an earlier run created with one `query` per hundred keys; the create is
sent with uniqueid=true and a function controlid derived from the key, so a resend (our retry
after a dropped connection, or the next run) is refused instead of executed twice; and a batch
is created with all its lines in one transaction, so there is never a partial one to repair.
An answer that does not say what happened (HTTP 524, or no XML) is settled by querying the
key before anything is sent again.

Sessions: getAPISession once per run, or the session a previous run stored (encrypted, when
CLOSEOUT_SECRET_KEY is set); then the session id and the endpoint it came with. The session is
sliding, so every answer's <sessiontimeout> is kept. A session refused mid-run is replaced by
one new login and the request sent once more.
"""

from __future__ import annotations

import itertools
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import ClassVar, Literal

import httpx

from closeout import money
from closeout.errors import ConfigurationError, ErpAuthError, ErpRefusal, ErpUnavailable
from closeout.token_store import TokenStore
from posting.connectors.contract import Journal, Line
from posting.connectors.kit import CachedToken, ErpSettings, chunked, default_token_store, setting
from posting.http import ErpHttp

DEFAULT_ENDPOINT = "https://api.intacct.com/ia/xml/xmlgw.phtml"
DTD_VERSION = "3.0"
# 524: the CDN gave up but Intacct may still be processing; never resend it blindly.
NOT_RETRIED = frozenset({524})
KEYS_PER_QUERY = 100  # REFERENCENO values in one query's <in> filter
QUERIES_PER_REQUEST = 10  # query functions sent together in one request
QUERY_PAGE_SIZE = 2000  # Intacct's maximum for `query`
SESSION_MARGIN_SECONDS = 60  # log in again rather than use a session this close to its end
FALLBACK_SESSION_SECONDS = 900
# Where our Line fields may go on a GLENTRY: standard dimensions or a GLDIM... user dimension.
STANDARD_DIMENSIONS = (
    "LOCATION",
    "DEPARTMENT",
    "PROJECTID",
    "CUSTOMERID",
    "VENDORID",
    "EMPLOYEEID",
    "ITEMID",
    "CLASSID",
    "CONTRACTID",
    "WAREHOUSEID",
)
GATEWAY_LIMIT = "GW-"
PARSE_ERROR = "XL03000003"
ROLLED_BACK = "XL03000009"


# "" is Intacct's default state, Posted; Draft leaves the batch for review.
BatchState = Literal["", "Posted", "Draft"]


@dataclass(frozen=True)
class IntacctSettings(ErpSettings):
    ERP: ClassVar[str] = "intacct"
    LABEL: ClassVar[str] = "Intacct"

    sender_id: str = setting()
    sender_password: str = setting(secret=True)
    company_id: str = setting()
    user_id: str = setting()
    user_password: str = setting(secret=True)
    endpoint_url: str = setting(DEFAULT_ENDPOINT)
    entity_id: str | None = setting(None)  # login <locationid>: an entity-level session
    journal: str = setting("SJ")  # GL journal symbol the batches go to
    location_field: str = setting("LOCATION")  # where Line.location goes ("" = not sent)
    revenue_center_field: str = setting("DEPARTMENT")  # where Line.revenue_center goes
    company_field: str = setting("")  # where Journal.company goes (GLDIMERP_COMPANY)
    batch_state: BatchState = setting("")

    def check(self) -> None:
        targets = [
            (n, getattr(self, n))
            for n in ("location_field", "revenue_center_field", "company_field")
        ]
        for name, target in targets:
            if target and target not in STANDARD_DIMENSIONS and not target.startswith("GLDIM"):
                raise ConfigurationError(
                    f"{self.env(name)}={target!r} is not a GLENTRY dimension: use one of "
                    f"{', '.join(STANDARD_DIMENSIONS)}, a GLDIM<integration name>, or empty."
                )
        used = [target for _, target in targets if target]
        if len(used) != len(set(used)):
            raise ConfigurationError(
                f"{', '.join(self.env(n) for n, _ in targets)} send two fields to the same "
                "GLENTRY dimension; give each its own."
            )
        if self.batch_state not in ("", "Posted", "Draft"):
            raise ConfigurationError(f"{self.env('batch_state')} must be Posted or Draft.")


@dataclass
class _Session:
    sessionid: str
    endpoint: str
    expires_at: float

    def usable(self) -> bool:
        return self.expires_at > time.time() + SESSION_MARGIN_SECONDS


@dataclass(frozen=True)
class _Problem:
    errorno: str
    description: str
    description2: str
    correction: str

    def __str__(self) -> str:
        text = " ".join(part for part in (self.errorno, self.description) if part)
        if self.description2:
            text += f": {self.description2}"
        if self.correction:
            text += f" (correction: {self.correction})"
        return text


@dataclass(frozen=True)
class _Result:
    status: str
    controlid: str
    data: ET.Element | None
    problems: tuple[_Problem, ...]

    @property
    def ok(self) -> bool:
        return self.status == "success"


class _SessionRefused(Exception):
    pass


class _UnknownOutcome(Exception):
    """Intacct did not say whether it executed the request (524, or an answer without XML)."""


class IntacctConnector:
    erp = "intacct"

    def __init__(self, settings: IntacctSettings, http: ErpHttp, store: TokenStore | None = None):
        self.settings = settings
        self.http = http
        self.http.retry_statuses = frozenset(http.retry_statuses) - NOT_RETRIED
        for secret in (settings.sender_password, settings.user_password):
            self.http.redactor.add(secret)
        self.store = store if store is not None else default_token_store()
        self._stored = CachedToken(self.store, self._store_name, SESSION_MARGIN_SECONDS)
        self._session: _Session | None = None
        self._last_timeout = 0.0  # <sessiontimeout> of the latest answer, epoch seconds
        self._request_ids = itertools.count(1)
        self._run = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    # -- the contract ---------------------------------------------------------------------------
    def existing(self, journals: Sequence[Journal]) -> dict[str, str]:
        return self._find(list(dict.fromkeys(j.key for j in journals)))

    def create(self, journal: Journal) -> str:
        function = self._create_function(journal)
        try:
            result = self._call([function], unique=True)[0]
        except _UnknownOutcome as exc:
            found = self._find([journal.key]).get(journal.key)
            if found:
                return found
            try:  # not there: send the same function again (uniqueid still guards it)
                result = self._call([function], unique=True)[0]
            except _UnknownOutcome:
                raise ErpUnavailable(
                    f"Intacct did not confirm GLBATCH {journal.key} twice "
                    f"({exc}); the next run looks for it before sending it "
                    "again."
                ) from None
        if result.ok:
            return _created_recordno(result, journal.key)
        # Refused. A repeated controlid (the first attempt committed but its answer was lost)
        # is refused too: whatever the error, the key tells whether the batch exists.
        found = self._find([journal.key]).get(journal.key)
        if found:
            return found
        problems = [p for p in result.problems if p.errorno != ROLLED_BACK] or result.problems
        detail = "; ".join(str(p) for p in problems) or f"status {result.status}"
        raise ErpRefusal(f"Intacct refused GLBATCH {journal.key} ({journal.journal_id}): {detail}")

    def close(self) -> None:
        if self._session and self.store:
            self._store_session(self._session)
        self.http.close()

    # -- GLBATCH ----------------------------------------------------------------------------------
    def _create_function(self, journal: Journal) -> ET.Element:
        function = ET.Element("function", controlid=_function_controlid(journal.key))
        batch = _sub(_sub(function, "create"), "GLBATCH")
        _sub(batch, "JOURNAL", self.settings.journal)
        _sub(batch, "BATCH_DATE", journal.business_date.strftime("%m/%d/%Y"))
        _sub(batch, "BATCH_TITLE", journal.title)
        if journal.kind == "adjustment":
            comment = f"closeout adjustment of GLBATCH {journal.adjusts} ({journal.journal_id})"
        else:
            comment = f"closeout journal {journal.journal_id}"
        _sub(batch, "HISTORY_COMMENT", comment)
        _sub(batch, "REFERENCENO", journal.key)
        if self.settings.batch_state:
            _sub(batch, "STATE", self.settings.batch_state)
        entries = _sub(batch, "ENTRIES")
        for line in journal.lines:
            self._entry(entries, journal, line)
        return function

    def _entry(self, entries: ET.Element, journal: Journal, line: Line) -> None:
        entry = _sub(entries, "GLENTRY")
        debit = line.debit > 0
        _sub(entry, "ACCOUNTNO", line.account)
        _sub(entry, "TR_TYPE", "1" if debit else "-1")
        _sub(entry, "TRX_AMOUNT", money.exact_text(line.debit if debit else line.credit))
        dimensions = {}
        for target, value in (
            (self.settings.location_field, line.location),
            (self.settings.revenue_center_field, line.revenue_center),
            (self.settings.company_field, journal.company),
        ):
            if target and value:
                dimensions[target] = value
        for name in STANDARD_DIMENSIONS:
            if name in dimensions:
                _sub(entry, name, dimensions[name])
        _sub(entry, "DESCRIPTION", line.description)
        for name in sorted(n for n in dimensions if n.startswith("GLDIM")):
            _sub(entry, name, dimensions[name])

    def _find(self, keys: list[str]) -> dict[str, str]:
        """key -> RECORDNO of the GLBATCH whose REFERENCENO is the key (the oldest if a person
        created more than one). Intacct creates a batch with all its lines or not at all, so
        every batch found is complete."""
        found: dict[str, str] = {}
        pending = [(chunk, 0) for chunk in chunked(keys, KEYS_PER_QUERY)]
        while pending:
            batch, pending = pending[:QUERIES_PER_REQUEST], pending[QUERIES_PER_REQUEST:]
            functions = [
                _query_function(chunk, offset, n)
                for n, (chunk, offset) in enumerate(batch, start=1)
            ]
            results = self._call(functions, unique=False)
            for (chunk, offset), result in zip(batch, results, strict=True):
                if not result.ok or result.data is None:
                    detail = "; ".join(str(p) for p in result.problems)
                    raise ErpUnavailable(
                        f"Intacct could not list GLBATCH by REFERENCENO: {detail or result.status}"
                    )
                for row in result.data:
                    key, recordno = row.findtext("REFERENCENO"), row.findtext("RECORDNO")
                    if key and recordno and (key not in found or int(recordno) < int(found[key])):
                        found[key] = recordno
                if int(result.data.get("numremaining") or 0) > 0:
                    pending.append((chunk, offset + int(result.data.get("count") or 0)))
        return found

    # -- requests ---------------------------------------------------------------------------------
    def _call(self, functions: list[ET.Element], *, unique: bool) -> list[_Result]:
        """Send the functions in the current session; one new login if Intacct refuses it."""
        session = self._current_session()
        try:
            return self._exchange(
                session.endpoint, _session_auth(session), functions, unique, session
            )
        except _SessionRefused:
            self._session = None
            session = self._login()
            try:
                return self._exchange(
                    session.endpoint, _session_auth(session), functions, unique, session
                )
            except _SessionRefused as exc:
                raise ErpAuthError(f"Intacct refused a session it had just opened: {exc}") from None

    def _current_session(self) -> _Session:
        if self._session and self._session.usable():
            return self._session
        stored = self._stored_session()
        if stored:
            self._session = stored
            return stored
        return self._login()

    def _login(self) -> _Session:
        s = self.settings
        auth = ET.Element("authentication")
        login = _sub(auth, "login")
        _sub(login, "userid", s.user_id)
        _sub(login, "companyid", s.company_id)
        _sub(login, "password", s.user_password)
        if s.entity_id:
            _sub(login, "locationid", s.entity_id)
        function = ET.Element("function", controlid="getAPISession")
        _sub(function, "getAPISession")
        try:
            result = self._exchange(s.endpoint_url, auth, [function], False, None)[0]
        except _SessionRefused as exc:
            raise ErpAuthError(
                f"Intacct refused the login of user {s.user_id} to company "
                f"{s.company_id}: {exc}. Check ERP__INTACCT__USER_ID, "
                "ERP__INTACCT__USER_PASSWORD and ERP__INTACCT__COMPANY_ID."
            ) from None
        except _UnknownOutcome as exc:
            raise ErpUnavailable(f"Intacct did not answer getAPISession: {exc}") from None
        api = result.data.find("api") if result.ok and result.data is not None else None
        sessionid = api.findtext("sessionid") if api is not None else None
        if not sessionid:
            detail = "; ".join(str(p) for p in result.problems) or "no session id returned"
            raise ErpAuthError(f"Intacct getAPISession failed: {detail}")
        self.http.redactor.add(sessionid)
        endpoint = (api.findtext("endpoint") or "").strip() or s.endpoint_url
        session = _Session(sessionid, endpoint, self._last_timeout)
        self._session = session
        self._store_session(session)
        return session

    def _exchange(
        self,
        url: str,
        auth: ET.Element,
        functions: list[ET.Element],
        unique: bool,
        session: _Session | None,
    ) -> list[_Result]:
        body = self._envelope(auth, functions, unique)
        response = self.http.request(
            "POST", url, content=body, headers={"Content-Type": "application/xml"}
        )
        root = _parse(response)
        control = root.find("control")
        if control is None or control.findtext("status") != "success":
            raise _control_failure(_problems(root), self.settings)
        operation = root.find("operation")
        authentication = operation.find("authentication") if operation is not None else None
        if authentication is None:
            raise _UnknownOutcome("the answer has no <operation><authentication>")
        if authentication.findtext("status") != "success":
            problems = _problems(operation)
            detail = "; ".join(str(p) for p in problems) or "authentication failed"
            if any(p.description == "Invalid Web Services Authorization" for p in problems):
                raise ErpAuthError(f"Intacct: {detail}")
            raise _SessionRefused(detail)
        self._last_timeout = _timeout(authentication.findtext("sessiontimeout"))
        if session is not None:
            session.expires_at = self._last_timeout  # sliding: each call extends it
        results = [_result(element) for element in operation.findall("result")]
        if len(results) != len(functions):
            raise _UnknownOutcome(f"{len(functions)} functions sent, {len(results)} results")
        return results

    def _envelope(self, auth: ET.Element, functions: list[ET.Element], unique: bool) -> bytes:
        s = self.settings
        root = ET.Element("request")
        control = _sub(root, "control")
        _sub(control, "senderid", s.sender_id)
        _sub(control, "password", s.sender_password)
        # The request controlid only pairs request and answer (Intacct never checks it).
        _sub(control, "controlid", f"closeout-{self._run}-{next(self._request_ids)}")
        _sub(control, "uniqueid", "true" if unique else "false")
        _sub(control, "dtdversion", DTD_VERSION)
        _sub(control, "includewhitespace", "false")
        operation = _sub(root, "operation", transaction="true" if unique else "false")
        operation.append(auth)
        content = _sub(operation, "content")
        content.extend(functions)
        return ET.tostring(root, encoding="UTF-8", xml_declaration=True)

    # -- session store ----------------------------------------------------------------------------
    @property
    def _store_name(self) -> str:
        s = self.settings
        return (
            f"intacct:{s.endpoint_url}:{s.sender_id}:{s.company_id}:{s.user_id}:{s.entity_id or ''}"
        )

    def _stored_session(self) -> _Session | None:
        """The session an earlier run stored, when it is still usable."""
        entry = self._stored.stored()
        if not entry:
            return None
        try:
            saved = json.loads(entry[0])
            session = _Session(saved["sessionid"], saved["endpoint"], entry[1])
        except (ValueError, KeyError, TypeError):
            return None
        self.http.redactor.add(session.sessionid)
        return session

    def _store_session(self, session: _Session) -> None:
        self._stored.save(
            json.dumps({"sessionid": session.sessionid, "endpoint": session.endpoint}),
            session.expires_at,
        )


# -- helpers ---------------------------------------------------------------------------------------


def _function_controlid(key: str) -> str:
    """Deterministic per journal version, so a resend on any later run is recognised."""
    return f"closeout-{key}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _session_auth(session: _Session) -> ET.Element:
    auth = ET.Element("authentication")
    _sub(auth, "sessionid", session.sessionid)
    return auth


def _query_function(keys: list[str], offset: int, number: int) -> ET.Element:
    function = ET.Element("function", controlid=f"existing-{number}")
    query = _sub(function, "query")
    _sub(query, "object", "GLBATCH")
    select = _sub(query, "select")
    for name in ("RECORDNO", "REFERENCENO", "JOURNAL", "STATE"):
        _sub(select, "field", name)
    condition = _sub(_sub(query, "filter"), "in" if len(keys) > 1 else "equalto")
    _sub(condition, "field", "REFERENCENO")
    for key in keys:
        _sub(condition, "value", key)
    options = _sub(query, "options")
    _sub(options, "pagesize", str(QUERY_PAGE_SIZE))
    _sub(options, "offset", str(offset))
    return function


def _parse(response: httpx.Response) -> ET.Element:
    if response.status_code == 524:
        raise _UnknownOutcome(
            "HTTP 524: the connection timed out while Intacct may still be processing"
        )
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError:
        root = None
    if root is None or root.tag != "response":
        if response.status_code >= 500 or response.status_code == 200:
            raise _UnknownOutcome(
                f"HTTP {response.status_code} without an Intacct answer: {response.text[:200]!r}"
            )
        raise ErpAuthError(
            f"Intacct endpoint {response.request.url} answered HTTP "
            f"{response.status_code}: check ERP__INTACCT__ENDPOINT_URL."
        )
    return root


def _problems(parent: ET.Element | None) -> list[_Problem]:
    if parent is None:
        return []
    return [
        _Problem(
            *(
                (error.findtext(tag) or "").strip()
                for tag in ("errorno", "description", "description2", "correction")
            )
        )
        for error in parent.findall("errormessage/error")
    ]


def _control_failure(problems: list[_Problem], settings: IntacctSettings) -> Exception:
    detail = "; ".join(str(p) for p in problems) or "control status failure"
    if any(p.errorno.startswith(GATEWAY_LIMIT) for p in problems):
        return ErpUnavailable(f"Intacct gateway: {detail}")
    if any(p.errorno == PARSE_ERROR for p in problems):
        return ErpRefusal(f"Intacct could not read the request: {detail}")
    return ErpAuthError(
        f"Intacct refused the Web Services sender {settings.sender_id}: "
        f"{detail}. Check ERP__INTACCT__SENDER_ID and "
        "ERP__INTACCT__SENDER_PASSWORD."
    )


def _result(element: ET.Element) -> _Result:
    data = element.find("data")
    return _Result(
        (element.findtext("status") or "").strip(),
        (element.findtext("controlid") or "").strip(),
        data,
        tuple(_problems(element)),
    )


def _created_recordno(result: _Result, key: str) -> str:
    recordno = result.data.findtext("glbatch/RECORDNO") if result.data is not None else None
    if not recordno:
        raise ErpUnavailable(
            f"Intacct accepted GLBATCH {key} but returned no RECORDNO; the "
            "next run finds it by REFERENCENO."
        )
    return recordno.strip()


def _timeout(text: str | None) -> float:
    try:
        return datetime.fromisoformat((text or "").strip()).timestamp()
    except ValueError:
        return time.time() + FALLBACK_SESSION_SECONDS


def open_connector(http: ErpHttp) -> IntacctConnector:
    """The connector, its settings from the environment or dlt config (see the registry)."""
    return IntacctConnector(IntacctSettings.from_config(), http)
