"""Sage Intacct (XML gateway, DTD 3.0): each journal becomes one GLBATCH, created exactly once.

Exactly once rests on three things Intacct offers: REFERENCENO carries our idempotency key, so
`held` finds every batch of a journal (its key's identity prefix, whatever the version) and reads
its GLENTRY lines back, a hundred journals per `query`; the create is sent with uniqueid=true and
a function controlid derived from the key, so a resend (our retry after a dropped connection, or
the next run) is refused instead of executed twice; and a batch is created with all its lines in
one transaction, so there is never a partial one to repair. An answer that does not say what
happened (HTTP 524, or no XML) is settled by querying the key before anything is sent again.

A date in a closed period is refused in words, under a generic errorno (BL01001973 stands for
many refusals): `ErpPeriodClosed` is recognised by the words. Queries page as Intacct's SDKs
write them, <pagesize> and <offset> directly under <query> (tests/contract runs fylein's
sageintacctsdk against the sandbox and compares its requests with these).

`check` (closeout check) asks GLACCOUNT, GLJOURNAL and the object behind each GLENTRY field the
settings send values to (LOCATION, DEPARTMENT, ..., or a GLDIM user dimension) with one `query`
per kind, filtered on the values, all in one read-only request.

Sessions: getAPISession once per run, or the session a previous run stored (encrypted, when
CLOSEOUT_SECRET_KEY is set); then the session id and the endpoint it came with. The session is
sliding, so every answer's <sessiontimeout> is kept. A session refused mid-run is replaced by
one new login and the request sent once more.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Literal

import httpx

from closeout import money
from closeout.errors import (
    ConfigurationError,
    ErpAuthError,
    ErpPeriodClosed,
    ErpRefusal,
    ErpUnavailable,
)
from closeout.token_store import TokenStore
from posting.connectors.contract import (
    ErpDocument,
    Journal,
    Line,
    Reference,
    ReferenceProblem,
    key_identity,
    key_sequence,
)
from posting.connectors.kit import CachedToken, ErpSettings, chunked, default_token_store, setting
from posting.http import ErpHttp

DEFAULT_ENDPOINT = "https://api.intacct.com/ia/xml/xmlgw.phtml"
DTD_VERSION = "3.0"
# 524: the CDN gave up but Intacct may still be processing; never resend it blindly.
NOT_RETRIED = frozenset({524})
KEYS_PER_QUERY = 100  # REFERENCENO values (or prefixes, or BATCHNOs) in one query's filter
QUERIES_PER_REQUEST = 10  # query functions sent together in one request
QUERY_PAGE_SIZE = 2000  # Intacct's maximum for `query`
MAX_PAGES_PER_QUERY = 100  # 200,000 rows: more means the filter is wrong, not a big day
# A journal_id as closeout writes it into HISTORY_COMMENT: "<restaurant guid>:<date>:<type>".
JOURNAL_ID = re.compile(r"[\w-]+:\d{4}-\d{2}-\d{2}:\w+")
# Intacct's words for a date in a closed period ("Your transaction date (01/05/2026) is within a
# period that's been closed."), and the phrasings of its other closed-books refusals.
CLOSED_PERIOD = re.compile(
    r"period that(?:'s| has) been closed|closed period|period is closed|books are closed", re.I
)
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
# The object (and its ID field) behind each standard GLENTRY dimension, for `check`; a GLDIM<name>
# user dimension is the platform object <name>, keyed by `id`, without a STATUS.
DIMENSION_OBJECTS = {
    "LOCATION": ("LOCATION", "LOCATIONID", "location"),
    "DEPARTMENT": ("DEPARTMENT", "DEPARTMENTID", "department"),
    "PROJECTID": ("PROJECT", "PROJECTID", "project"),
    "CUSTOMERID": ("CUSTOMER", "CUSTOMERID", "customer"),
    "VENDORID": ("VENDOR", "VENDORID", "vendor"),
    "EMPLOYEEID": ("EMPLOYEE", "EMPLOYEEID", "employee"),
    "ITEMID": ("ITEM", "ITEMID", "item"),
    "CLASSID": ("CLASS", "CLASSID", "class"),
    "CONTRACTID": ("CONTRACT", "CONTRACTID", "contract"),
    "WAREHOUSEID": ("WAREHOUSE", "WAREHOUSEID", "warehouse"),
}
# The settings naming the GLENTRY field each kind of reference goes to.
FIELD_SETTINGS = {
    "location": "location_field",
    "revenue_center": "revenue_center_field",
    "company": "company_field",
}
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

    @property
    def kept_dimensions(self) -> tuple[str, ...]:
        """The Line dimensions sent to an Intacct field. A location not sent reads back as the
        journal's own, so it is compared too; a revenue center not sent cannot be."""
        return (
            ("location", "revenue_center") if self.settings.revenue_center_field else ("location",)
        )

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
        self.page_size = QUERY_PAGE_SIZE  # rows per query page
        self.max_pages = MAX_PAGES_PER_QUERY  # pages one query may take before closeout stops

    # -- the contract ---------------------------------------------------------------------------
    def held(self, probes: Sequence[Journal]) -> dict[str, list[ErpDocument]]:
        """Every GLBATCH whose REFERENCENO starts with a probe's identity, with its GLENTRY lines
        read back. Intacct is one company per login, so every place of a journal is searched at
        once: one query per hundred identities, then one per hundred batches for the lines."""
        candidates: dict[str, list[Journal]] = {}
        for probe in probes:
            candidates.setdefault(probe.identity, []).append(probe)
        if not candidates:
            return {}
        batches = self._batches_of(sorted(candidates))
        entries = self._entries_of([batch.recordno for batch in batches])
        found: dict[str, list[ErpDocument]] = {}
        for batch in batches:
            document = self._document(batch, entries.get(batch.recordno, []), candidates)
            if document is not None:
                found.setdefault(document[0], []).append(document[1])
        for documents in found.values():
            documents.sort(key=lambda d: (d.sequence, int(d.document_id)))
        return found

    def existing(self, journals: Sequence[Journal]) -> dict[str, str]:
        """key -> RECORDNO of the journals whose exact key is in Intacct."""
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
        raise _refusal(journal, result)

    def check(self, references: Sequence[Reference]) -> list[ReferenceProblem]:
        """Every account, and every value sent to a GLENTRY dimension, exists and is active
        (user dimensions have no status: they exist), and the journal symbol too: one query
        per kind (a hundred values each), all in one request. Intacct is one company per
        login, so the place of a reference does not matter; kinds no setting sends to Intacct
        (division, customer, a dimension whose field is empty) are not asked about."""
        lists = self._checked_lists()
        wanted = [r for r in references if r.kind in lists]
        asked = [("journal", [self.settings.journal])]
        for kind in dict.fromkeys(r.kind for r in wanted):
            values = sorted({r.value for r in wanted if r.kind == kind})
            asked += [(kind, chunk) for chunk in chunked(values, KEYS_PER_QUERY)]
        failures: dict[int, str] = {}
        pages = self._query_all([lists[kind].query(values) for kind, values in asked], failures)
        found: dict[str, dict[str, str]] = {}  # kind -> value -> STATUS ("" for none)
        problems: list[ReferenceProblem] = []
        reported: set[str] = set()  # kinds said to be unreadable: once each, whichever chunk
        for index, ((kind, _), rows) in enumerate(zip(asked, pages, strict=True)):
            if index in failures and kind not in reported:
                reported.add(kind)
                problems.append(lists[kind].unreadable(failures[index]))
            statuses = found.setdefault(kind, {})
            for row in rows:
                value = (row.findtext(lists[kind].key) or "").strip()
                statuses[value] = (row.findtext("STATUS") or "").strip()
        unreadable = {asked[index][0] for index in failures}
        if "journal" not in unreadable:
            status = found["journal"].get(self.settings.journal)
            if status != "active":
                problems.insert(0, self._journal_problem(status))
        for reference in wanted:
            if reference.kind in unreadable:
                continue
            checked = lists[reference.kind]
            status = found[reference.kind].get(reference.value)
            if status is None:
                problems.append(checked.problem(reference, "does not exist", "create"))
            elif checked.has_status and status != "active":
                problems.append(checked.problem(reference, f"is {status}", "activate"))
        return problems

    def _checked_lists(self) -> dict[str, _CheckedList]:
        """Reference kind -> the Intacct list it must be in, for the kinds sent to Intacct."""
        lists = {
            "journal": _CheckedList("GLJOURNAL", "SYMBOL", "GL journal", None),
            "account": _CheckedList("GLACCOUNT", "ACCOUNTNO", "GL account", None),
        }
        for kind, setting_name in FIELD_SETTINGS.items():
            target = getattr(self.settings, setting_name)
            if target:
                lists[kind] = _CheckedList.of_field(target, self.settings.env(setting_name))
        return lists

    def _journal_problem(self, status: str | None) -> ReferenceProblem:
        symbol = self.settings.journal
        said = "does not exist" if status is None else f"is {status or 'not active'}"
        return ReferenceProblem(
            None,
            f"GL journal {symbol} {said} in Intacct company {self.settings.company_id}",
            f"{'create' if status is None else 'activate'} journal {symbol} in Intacct, or set "
            f"{self.settings.env('journal')} to the symbol of an active GL journal",
        )

    def close(self) -> None:
        if self._session and self.store:
            self._store_session(self._session)
        self.http.close()

    # -- GLBATCH ----------------------------------------------------------------------------------
    def _create_function(self, journal: Journal) -> ET.Element:
        function = ET.Element("function", controlid=_function_controlid(journal.key))
        batch = _sub(_sub(function, "create"), "GLBATCH")
        _sub(batch, "JOURNAL", self.settings.journal)
        _sub(batch, "BATCH_DATE", _intacct_date(journal.document_date))
        _sub(batch, "BATCH_TITLE", journal.title)
        _sub(batch, "HISTORY_COMMENT", _history_comment(journal))
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
        specs = [
            _Query("GLBATCH", ("RECORDNO", "REFERENCENO"), _any_of("REFERENCENO", chunk, "in"))
            for chunk in chunked(keys, KEYS_PER_QUERY)
        ]
        found: dict[str, str] = {}
        for row in itertools.chain.from_iterable(self._query_all(specs)):
            key, recordno = row.findtext("REFERENCENO"), row.findtext("RECORDNO")
            if key and recordno and (key not in found or int(recordno) < int(found[key])):
                found[key] = recordno
        return found

    # -- reading back ---------------------------------------------------------------------------
    def _batches_of(self, identities: list[str]) -> list[_HeldBatch]:
        """The batches whose REFERENCENO starts with one of the identities: `like` prefixes,
        a hundred in one <or>. Whatever else matches the pattern is dropped by its identity."""
        specs = [
            _Query(
                "GLBATCH",
                ("RECORDNO", "REFERENCENO", "HISTORY_COMMENT"),
                _any_of("REFERENCENO", [f"{identity}%" for identity in chunk], "like"),
            )
            for chunk in chunked(identities, KEYS_PER_QUERY)
        ]
        wanted = set(identities)
        batches = {}
        for row in itertools.chain.from_iterable(self._query_all(specs)):
            batch = _HeldBatch.of(row)
            if batch is not None and batch.identity in wanted:
                batches[batch.recordno] = batch
        return sorted(batches.values(), key=lambda b: int(b.recordno))

    def _entries_of(self, recordnos: list[str]) -> dict[str, list[ET.Element]]:
        """BATCHNO -> the GLENTRY rows of each batch."""
        fields = ["RECORDNO", "BATCHNO", "LINE_NO", "ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT"]
        fields += ["DESCRIPTION", *self._dimension_fields]
        specs = [
            _Query("GLENTRY", tuple(dict.fromkeys(fields)), _any_of("BATCHNO", chunk, "in"))
            for chunk in chunked(recordnos, KEYS_PER_QUERY)
        ]
        entries: dict[str, list[ET.Element]] = {}
        for row in itertools.chain.from_iterable(self._query_all(specs)):
            entries.setdefault((row.findtext("BATCHNO") or "").strip(), []).append(row)
        return entries

    @property
    def _dimension_fields(self) -> list[str]:
        s = self.settings
        return [f for f in (s.location_field, s.revenue_center_field, s.company_field) if f]

    def _document(
        self, batch: _HeldBatch, rows: list[ET.Element], candidates: dict[str, list[Journal]]
    ) -> tuple[str, ErpDocument] | None:
        """(journal_id, the batch as read back), or None when it is not a complete document of
        a probed journal."""
        places = _journal_of(batch, candidates[batch.identity])
        if not places:
            return None
        lines = self._lines(batch, rows, places)
        if not _complete(lines):  # a header without all its lines (a person's draft)
            return None
        probe = self._place(rows, places)
        document = ErpDocument(batch.key, batch.recordno, probe.company, probe.division, lines)
        return probe.journal_id, document

    def _lines(
        self, batch: _HeldBatch, rows: list[ET.Element], places: list[Journal]
    ) -> tuple[Line, ...]:
        """The GLENTRY rows as closeout's lines: the dimension values are what closeout sent."""
        s = self.settings
        # A location not sent to Intacct cannot be read back: it is the journal's own.
        unsent_location = None if s.location_field else _only_location(places)
        lines = []
        for row in sorted(rows, key=lambda r: _whole(r.findtext("LINE_NO"))):
            debit, credit = _debit_credit(row, batch)
            if debit == credit == 0:
                continue
            lines.append(
                Line(
                    number=len(lines) + 1,
                    account=(row.findtext("ACCOUNTNO") or "").strip(),
                    debit=debit,
                    credit=credit,
                    description=(row.findtext("DESCRIPTION") or "").strip(),
                    location=_dimension(row, s.location_field) or unsent_location,
                    revenue_center=_dimension(row, s.revenue_center_field),
                )
            )
        return tuple(lines)

    def _place(self, rows: list[ET.Element], places: list[Journal]) -> Journal:
        """The probe whose company the lines carry (when the company is sent), else the
        first: the Intacct company is the same for every place."""
        if self.settings.company_field:
            companies = {_dimension(row, self.settings.company_field) for row in rows}
            for probe in places:
                if probe.company in companies:
                    return probe
        return places[0]

    # -- queries ----------------------------------------------------------------------------------
    def _query_all(
        self, specs: list[_Query], failures: dict[int, str] | None = None
    ) -> list[list[ET.Element]]:
        """Every row each query matches. A first page that says more remain schedules the
        other pages of that query at once, so they go together, QUERIES_PER_REQUEST functions
        per request; at most `max_pages` pages per query. A query Intacct refuses raises,
        unless `failures` is given: then it is recorded there (index -> Intacct's words)."""
        pages: list[dict[int, list[ET.Element]]] = [{} for _ in specs]
        scheduled = {(index, 0) for index in range(len(specs))}
        pending = sorted(scheduled)
        while pending:
            batch, pending = pending[:QUERIES_PER_REQUEST], pending[QUERIES_PER_REQUEST:]
            functions = [
                specs[index].function(offset, self.page_size, number)
                for number, (index, offset) in enumerate(batch, start=1)
            ]
            results = self._call(functions, unique=False)
            for (index, offset), result in zip(batch, results, strict=True):
                if failures is not None and not result.ok:
                    failures[index] = _detail(result)
                    continue
                data = _query_data(result, specs[index])
                rows = list(data)
                pages[index][offset] = rows
                offsets = _later_offsets(data, offset, len(rows), specs[index])
                new = ((index, o) for o in offsets if (index, o) not in scheduled)
                later = list(itertools.islice(new, self.max_pages + 1))
                if sum(1 for i, _ in scheduled if i == index) + len(later) > self.max_pages:
                    raise ErpUnavailable(
                        f"Intacct has more than {self.max_pages} pages of "
                        f"{specs[index].object_name} rows for one closeout query; closeout "
                        "stops rather than read without end. Report this with the query's "
                        "filter from the audit log."
                    )
                scheduled.update(later)
                pending += later
        return [
            _unique_rows((page for _, page in sorted(by_offset.items())), spec.key)
            for spec, by_offset in zip(specs, pages, strict=True)
        ]

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


@dataclass(frozen=True)
class _Query:
    """One `query` function: an object, the fields to select and the one filter condition."""

    object_name: str
    fields: tuple[str, ...]
    condition: ET.Element
    key: str = "RECORDNO"  # unique per row: what pages are ordered and deduplicated by

    def function(self, offset: int, page_size: int, number: int) -> ET.Element:
        """In the order Intacct's schema has them (and its PHP SDK's QueryFunction writes
        them); ordered by the key so offsets are stable."""
        function = ET.Element("function", controlid=f"query-{number}")
        query = _sub(function, "query")
        _sub(query, "object", self.object_name)
        select = _sub(query, "select")
        for name in self.fields:
            _sub(select, "field", name)
        _sub(query, "filter").append(copy.deepcopy(self.condition))
        order = _sub(_sub(query, "orderby"), "order")
        _sub(order, "field", self.key)
        _sub(order, "ascending")
        _sub(_sub(query, "options"), "caseinsensitive", "false")
        _sub(query, "pagesize", str(page_size))
        _sub(query, "offset", str(offset))
        return function


def _any_of(field: str, values: Sequence[str], operator: Literal["in", "like"]) -> ET.Element:
    """One condition matching any of the values: <in> (or <equalto> for one value), or one
    <like> per pattern inside an <or>."""
    if operator == "in":
        condition = ET.Element("in" if len(values) > 1 else "equalto")
        _sub(condition, "field", field)
        for value in values:
            _sub(condition, "value", value)
        return condition
    likes = [ET.Element("like") for _ in values]
    for like, value in zip(likes, values, strict=True):
        _sub(like, "field", field)
        _sub(like, "value", value)
    if len(likes) == 1:
        return likes[0]
    either = ET.Element("or")
    either.extend(likes)
    return either


def _detail(result: _Result) -> str:
    return "; ".join(str(p) for p in result.problems) or result.status


def _query_data(result: _Result, query: _Query) -> ET.Element:
    if not result.ok or result.data is None:
        raise ErpUnavailable(f"Intacct could not list {query.object_name}: {_detail(result)}")
    return result.data


def _later_offsets(data: ET.Element, offset: int, count: int, query: _Query) -> range:
    """The offsets of the pages after this one that the answer says remain."""
    remaining = _whole(data.get("numremaining"))
    if remaining <= 0:
        return range(0)
    if count == 0:
        raise ErpUnavailable(
            f"Intacct answered an empty {query.object_name} page at offset {offset} with "
            f"{remaining} rows remaining; closeout stops rather than ask again without end."
        )
    start = offset + count
    return range(start, start + remaining, count)


def _unique_rows(pages, key: str = "RECORDNO") -> list[ET.Element]:
    """The pages' rows in order, each key once (pages may overlap if a page was short)."""
    seen, rows = set(), []
    for page in pages:
        for row in page:
            value = (row.findtext(key) or "").strip()
            if value not in seen:
                seen.add(value)
                rows.append(row)
    return rows


@dataclass(frozen=True)
class _CheckedList:
    """An Intacct list `check` asks about: its object, ID field and name for a person; the
    setting that sends values to it (None for the chart of accounts)."""

    object_name: str
    key: str
    label: str
    setting: str | None
    has_status: bool = True

    @classmethod
    def of_field(cls, target: str, setting: str) -> _CheckedList:
        """The list behind a GLENTRY field (LOCATION, DEPARTMENT, ..., GLDIM<name>)."""
        if target in DIMENSION_OBJECTS:
            object_name, key, label = DIMENSION_OBJECTS[target]
            return cls(object_name, key, label, setting)
        name = target.removeprefix("GLDIM")
        return cls(name, "id", f"{name} dimension value", setting, has_status=False)

    def query(self, values: Sequence[str]) -> _Query:
        fields = (self.key, "STATUS") if self.has_status else (self.key,)
        return _Query(self.object_name, fields, _any_of(self.key, values, "in"), self.key)

    def problem(self, reference: Reference, said: str, remedy: str) -> ReferenceProblem:
        what = f"{self.label} {reference.value}"
        fix = f"{remedy} {what} in Intacct or correct {reference.used_by}"
        if self.setting:
            fix += f" (or {self.setting}, which sends it to Intacct)"
        return ReferenceProblem(reference, f"{what} {said}", fix)

    def unreadable(self, detail: str) -> ReferenceProblem:
        """The list could not be read: a user dimension that does not exist, or no right."""
        fix = (
            f"correct {self.setting}: the {self.label}s cannot be checked"
            if self.setting
            else f"give the Web Services user the right to list {self.object_name}"
        )
        return ReferenceProblem(None, f"Intacct could not list {self.object_name}: {detail}", fix)


@dataclass(frozen=True)
class _HeldBatch:
    recordno: str
    key: str
    identity: str
    history_comment: str

    @classmethod
    def of(cls, row: ET.Element) -> _HeldBatch | None:
        """The batch, if its REFERENCENO is a closeout key (a person may type anything)."""
        recordno = (row.findtext("RECORDNO") or "").strip()
        key = (row.findtext("REFERENCENO") or "").strip()
        try:
            identity = key_identity(key)
            key_sequence(key)
        except ValueError:
            return None
        if not recordno.isdigit():
            return None
        return cls(recordno, key, identity, (row.findtext("HISTORY_COMMENT") or "").strip())


def _journal_of(batch: _HeldBatch, probes: list[Journal]) -> list[Journal]:
    """The probes (places) of the journal the batch belongs to. closeout's comment names the
    journal: one naming another journal is a restaurant sharing the guid's first eight
    characters. A comment that names none (a person rewrote it) leaves the key to decide."""
    named = set(JOURNAL_ID.findall(batch.history_comment))
    if not named:
        return [p for p in probes if p.journal_id == probes[0].journal_id]
    return [p for p in probes if p.journal_id in named]


def _only_location(probes: list[Journal]) -> str | None:
    locations = {line.location for probe in probes for line in probe.lines}
    return locations.pop() if len(locations) == 1 else None


def _complete(lines: tuple[Line, ...]) -> bool:
    """Intacct keeps a batch whole, so only one a person saved unfinished lacks lines."""
    debits = sum((line.debit for line in lines), money.ZERO)
    credits = sum((line.credit for line in lines), money.ZERO)
    return bool(lines) and debits == credits


def _debit_credit(row: ET.Element, batch: _HeldBatch) -> tuple[Decimal, Decimal]:
    tr_type = (row.findtext("TR_TYPE") or "").strip()
    text = (row.findtext("TRX_AMOUNT") or "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if tr_type not in ("1", "-1") or amount is None or not amount.is_finite():
        raise ErpUnavailable(
            f"Intacct returned a GLENTRY of GLBATCH {batch.recordno} ({batch.key}) with TR_TYPE "
            f"{tr_type!r} and TRX_AMOUNT {text!r}; closeout cannot tell what the batch holds. "
            "Check the batch in Intacct."
        )
    # TR_TYPE says the side; a negative amount (typed by a person) is the other side.
    signed = amount if tr_type == "1" else -amount
    return (signed, money.ZERO) if signed > 0 else (money.ZERO, -signed)


def _dimension(row: ET.Element, field: str) -> str | None:
    if not field:
        return None
    return (row.findtext(field) or "").strip() or None


def _whole(text: str | None) -> int:
    try:
        return int((text or "0").strip())
    except ValueError:
        return 0


def _intacct_date(value) -> str:
    return value.strftime("%m/%d/%Y")


def _history_comment(journal: Journal) -> str:
    if journal.kind == "adjustment":
        comment = f"closeout adjustment of GLBATCH {journal.adjusts} ({journal.journal_id})"
    else:
        comment = f"closeout journal {journal.journal_id}"
    if journal.document_date != journal.business_date:
        comment += (
            f", correcting business date {journal.business_date:%Y-%m-%d}: its period is closed"
        )
    return comment


def _refusal(journal: Journal, result: _Result) -> ErpRefusal:
    problems = [p for p in result.problems if p.errorno != ROLLED_BACK] or result.problems
    detail = "; ".join(str(p) for p in problems) or f"status {result.status}"
    if any(CLOSED_PERIOD.search(f"{p.description} {p.description2}") for p in problems):
        return ErpPeriodClosed(
            f"Intacct refused GLBATCH {journal.key} ({journal.journal_id}) dated "
            f"{_intacct_date(journal.document_date)}: {detail}. Reopen that period in Intacct "
            "and replay the journal (closeout replay); an adjustment is dated in the first "
            "open period instead."
        )
    return ErpRefusal(f"Intacct refused GLBATCH {journal.key} ({journal.journal_id}): {detail}")


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
