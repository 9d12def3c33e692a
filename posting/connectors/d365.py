"""Dynamics 365 Finance & Operations: each journal becomes one general journal (a
LedgerJournalHeaders record) whose lines are written in one all-or-nothing `$batch` changeset.

F&O has no idempotency header, so the key travels at the end of the header's Description.
`held` finds every document of a journal by the key's identity part (F&O's `eq '*…*'`
wildcard, cross-company) and reads their lines back. A header is only a document once its
lines are there; a header left without them is reused by `create` or deleted.

A header POST is not idempotent: it is sent once at a time, and when its answer is lost the
header is looked for by key before it is sent again.

Requests per journal: one header POST and one `$batch`; per run: one token (kept encrypted
between runs when CLOSEOUT_SECRET_KEY is set) and a few `held` queries (headers per 15
identities, lines per 30 headers of a company). `check` (closeout check) reads six reference
entities, one filtered GET per kind and chunk of 15 values (with nothing to look up, one
LegalEntities GET, so wrong credentials still show), and writes nothing.

The client-credentials token is fetched here rather than through Microsoft's msal (which
tests/contract/test_d365_client.py runs against the sandbox): msal would not remove code (its
cache must still be persisted through the encrypted token store, and it refuses force_refresh,
so dropping a refused token means editing its cache), and its requests would bypass ErpHttp's
audit record and retries and cost a discovery GET per run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar
from urllib.parse import quote

import httpx

from closeout import money
from closeout.errors import (
    ConfigurationError,
    ErpAuthError,
    ErpError,
    ErpPeriodClosed,
    ErpRefusal,
    ErpUnavailable,
)
from closeout.token_store import TokenStore
from posting.connectors import odata
from posting.connectors.contract import (
    ErpDocument,
    Journal,
    Line,
    Reference,
    ReferenceProblem,
    key_identity,
)
from posting.connectors.kit import (
    CachedToken,
    ErpSettings,
    Throttled,
    chunked,
    create_looking_first,
    default_token_store,
    json_body,
    keys_held,
    retry_after_seconds,
    send_renewing,
    setting,
    token_answer,
    token_error,
    whole_number,
)
from posting.failpoints import failpoint
from posting.http import ErpHttp

DESCRIPTION_LENGTH = 60  # LedgerJournalTable.Name
TEXT_LENGTH = 60  # LedgerJournalTrans.Txt
KEYS_PER_QUERY = 15  # keeps each $filter URL well under IIS's query-string limit
HEADERS_PER_QUERY = 30  # journal batch numbers of one company in a lines $filter
HEADER_ATTEMPTS = 6  # header POSTs, each after looking for the one before
TOKEN_MARGIN_SECONDS = 60  # renew this long before Entra's expiry
HEADER_SELECT = (
    "dataAreaId,JournalBatchNumber,Description,IsPosted,JournalTotalDebit,JournalTotalCredit"
)
ODATA_HEADERS = {"OData-Version": "4.0", "OData-MaxVersion": "4.0", "Accept": "application/json"}
_QUERY_SAFE = "$',()*:/@"
# F&O refuses a date in a ledger period that is On hold or Closed (the ledger calendar).
_PERIOD_NOT_OPEN = re.compile(r"\bperiod\b[^.;]*\b(on hold|closed)\b", re.I)


def segments(text: str) -> tuple[str, ...]:
    """'MainAccount,Location' (or a TOML list) -> the dimension segments, in order."""
    return tuple(s.strip("'\" ") for s in re.split(r"[,\s]+", text.strip("[]")) if s)


@dataclass(frozen=True)
class D365Settings(ErpSettings):
    ERP: ClassVar[str] = "d365"
    LABEL: ClassVar[str] = "D365"

    environment_url: str = setting()  # https://<env>.operations.dynamics.com
    tenant_id: str = setting()
    client_id: str = setting()
    client_secret: str = setting(secret=True)
    token_url: str | None = setting(None)  # default: Entra's v2.0 endpoint for tenant_id
    # A PEM file of the certificate authorities to trust instead of the default ones (certifi):
    # a TLS-inspecting proxy's, or the sandbox's private CA. Empty in a real deployment.
    ca_bundle: str | None = setting(None)
    journal_name: str = setting("GenJrn")
    # The ledger dimension format for integrating applications, in F&O's segment order.
    dimension_format: tuple[str, ...] = setting(
        ("MainAccount", "Location", "RevenueCenter"), parse=segments
    )
    dimension_delimiter: str = setting("-")
    location_dimension: str = setting("Location")  # D365 dimension of Line.location
    revenue_center_dimension: str = setting("RevenueCenter")  # of Line.revenue_center
    # Journals posted side by side (each its header POST, then its $batch). F&O's service
    # protection allows 52 concurrent requests per user; a few keep the round trips of one
    # journal from idling the run while staying far inside it. 1 posts one at a time.
    parallel_documents: int = setting(8, parse=whole_number)

    def check(self) -> None:
        order = self.dimension_format
        if "MainAccount" not in order:
            raise ConfigurationError(
                f"{self.env('dimension_format')} must contain MainAccount, "
                f"in F&O's segment order; got {list(order)}"
            )
        for setting_name, name in (
            ("location_dimension", self.location_dimension),
            ("revenue_center_dimension", self.revenue_center_dimension),
        ):
            if name and name not in order:
                raise ConfigurationError(
                    f"{self.env(setting_name)} is {name!r}, which is not a segment of "
                    f"{self.env('dimension_format')} {list(order)}: add it there (in the "
                    "order F&O's integrating-application format uses) or correct the name"
                )
        if self.ca_bundle and not os.path.isfile(self.ca_bundle):
            raise ConfigurationError(
                f"{self.env('ca_bundle')} is {self.ca_bundle!r}, which is not a file: give the "
                "PEM file of the certificate authorities to trust, or leave it empty"
            )
        if not self.dimension_delimiter:
            raise ConfigurationError(
                f"{self.env('dimension_delimiter')} must not be empty "
                "(F&O's DimensionSegmentDelimiter, usually '-')"
            )

    @property
    def entra_token_url(self) -> str:
        return self.token_url or (
            f"https://login.microsoftonline.com/{self.tenant_id}/oauth2/v2.0/token"
        )


@dataclass
class _Header:
    company: str
    number: str
    posted: bool
    key: str = ""  # the closeout key ending its Description
    lines: tuple[Line, ...] = ()  # as read back (held)
    total_debit: Decimal = money.ZERO  # F&O's JournalTotalDebit / Credit
    total_credit: Decimal = money.ZERO

    @property
    def document_id(self) -> str:
        return f"{self.company.upper()}/{self.number}"

    @property
    def identity(self) -> str:
        return key_identity(self.key)

    @property
    def complete(self) -> bool:
        """Lines arrive in one all-or-nothing changeset, so a journal holds all of its lines or
        none; lines that do not balance were entered some other way, one at a time."""
        debit = sum((line.debit for line in self.lines), money.ZERO)
        return bool(self.lines) and debit == sum((line.credit for line in self.lines), money.ZERO)

    @property
    def empty(self) -> bool:
        return not self.posted and not self.lines and not self.total_debit and not self.total_credit


class D365Connector:
    erp = "d365"

    def __init__(
        self,
        settings: D365Settings,
        http: ErpHttp,
        token_store: TokenStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.http = http
        self.http.redactor.add(settings.client_secret)
        if settings.ca_bundle:
            # Entra and F&O are reached through one client; it trusts the given CAs only.
            http.trust(settings.ca_bundle)
        # Header POSTs are not idempotent: sent once each, settled by looking before a resend.
        self._once = ErpHttp(
            http.erp, sink=http.sink, max_attempts=1, retry_statuses=(), client=http._client
        )
        self._once.redactor = http.redactor
        self._sleep = sleep
        self.store = token_store if token_store is not None else default_token_store()
        self._data_url = settings.environment_url.rstrip("/") + "/data"
        self._cached = CachedToken(self.store, self._store_name, TOKEN_MARGIN_SECONDS)
        # What `held` found: complete documents by (company, key), and the headers without
        # (all) their lines by (company, identity), for `create` to reuse or remove.
        self._complete: dict[tuple[str, str], str] = {}
        self._unfinished: dict[tuple[str, str], list[_Header]] = {}
        self._token_lock = threading.Lock()  # one token request when journals post at once

    @property
    def parallel_documents(self) -> int:
        return max(1, self.settings.parallel_documents)

    def close(self) -> None:
        self.http.close()

    # -- the contract -----------------------------------------------------------------------------
    def held(self, probes: Sequence[Journal]) -> dict[str, list[ErpDocument]]:
        by_identity: dict[str, list[Journal]] = defaultdict(list)
        for probe in probes:
            by_identity[probe.identity].append(probe)
        headers = self._headers_of(sorted(by_identity))
        self._read_lines(headers)
        of_identity: dict[str, list[_Header]] = defaultdict(list)
        for header in headers:
            of_identity[header.identity].append(header)
        self._complete, self._unfinished = {}, {}
        found: dict[str, dict[str, ErpDocument]] = defaultdict(dict)
        for identity, journals in by_identity.items():
            for header in self._without_empty_twins(of_identity[identity]):
                place = header.company.lower()
                if not header.complete:
                    self._unfinished.setdefault((place, identity), []).append(header)
                    continue
                self._complete[(place, header.key)] = header.document_id
                for probe in journals:
                    if probe.company.lower() == place:
                        found[probe.journal_id][header.document_id] = self._document(header, probe)
        return {journal_id: list(documents.values()) for journal_id, documents in found.items()}

    def existing(self, journals: Sequence[Journal]) -> dict[str, str]:
        """Key -> document id of the `journals` whose exact key is complete in D365."""
        return keys_held(self, journals)

    def check(self, references: Sequence[Reference]) -> list[ReferenceProblem]:
        """Reads F&O's reference entities, a filtered query per kind (chunks of KEYS_PER_QUERY
        values): LegalEntities, JournalNames (the journal name in each legal entity), Ledgers
        (each one's chart of accounts), MainAccounts and MainAccountLegalEntities (exists in
        that chart, suspended there or for the legal entity), FinancialDimensionValues (of the
        location and revenue-center dimensions, shared or the legal entity's, suspended)."""
        settings = self.settings
        dimension = {
            "location": settings.location_dimension,
            "revenue_center": settings.revenue_center_dimension,
        }
        wanted = [
            r for r in references if r.kind in ("company", "account") or dimension.get(r.kind)
        ]
        places = _distinct(_place(r) for r in wanted if _place(r))
        if not places:
            # Nothing to look up (no seeds, every location inactive): one read all the same,
            # so a refused secret or an unreachable F&O is reported rather than "all fits".
            query = {"$select": "LegalEntityId", "$top": "1"}
            next(iter(self._rows("LegalEntities", query)), None)
        entities = {
            str(row["LegalEntityId"]).lower()
            for row in self._matching("LegalEntities", "LegalEntityId", places, "LegalEntityId")
        }
        problems = _unknown_places(wanted, entities)
        wanted = [r for r in wanted if r.kind != "company" and r.company.lower() in entities]
        known = [p for p in places if p.lower() in entities]
        problems += self._journal_name_problems(known)
        problems += self._account_problems([r for r in wanted if r.kind == "account"])
        problems += self._dimension_problems([r for r in wanted if r.kind in dimension], dimension)
        return problems

    def _journal_name_problems(self, places: list[str]) -> list[ReferenceProblem]:
        if not places:
            return []
        name = self.settings.journal_name
        query = {
            "cross-company": "true",
            "$filter": f"Name eq {odata.literal(name)}",
            "$select": "dataAreaId,Name,Type",
        }
        found = {str(row["dataAreaId"]).lower(): row for row in self._rows("JournalNames", query)}
        problems = []
        for place in places:
            row = found.get(place.lower())
            if row is not None and row.get("Type") in (None, "", "Daily"):
                continue
            problem = (
                f"journal name {name} does not exist in legal entity {place}"
                if row is None
                else f"journal name {name} in legal entity {place} is a {row['Type']} journal, "
                "not a daily (general) journal"
            )
            fix = (
                f"create journal name {name} of type Daily in {place} (General ledger > Journal "
                f"setup > Journal names), or set {self.settings.env('journal_name')} to one "
                "that is"
            )
            problems.append(ReferenceProblem(None, problem, fix))
        return problems

    def _account_problems(self, references: list[Reference]) -> list[ReferenceProblem]:
        if not references:
            return []
        charts = {
            str(row["LegalEntityId"]).lower(): str(row["ChartOfAccounts"])
            for row in self._matching(
                "Ledgers",
                "LegalEntityId",
                _distinct(r.company for r in references),
                "LegalEntityId,ChartOfAccounts",
            )
        }
        ids = _distinct(r.value for r in references)
        accounts = {
            (str(row["ChartOfAccounts"]).lower(), str(row["MainAccountId"]).lower()): row
            for row in self._matching(
                "MainAccounts", "MainAccountId", ids, "MainAccountId,ChartOfAccounts,IsSuspended"
            )
        }
        suspended_for = {
            (str(row["LegalEntityId"]).lower(), str(row["MainAccountId"]).lower())
            for row in self._matching(
                "MainAccountLegalEntities",
                "MainAccountId",
                ids,
                "MainAccountId,LegalEntityId,IsSuspended",
            )
            if row.get("IsSuspended") == "Yes"
        }
        problems = []
        for ref in references:
            chart = charts.get(ref.company.lower())
            row = accounts.get(((chart or "").lower(), ref.value.lower()))
            if chart is None:
                problem = f"legal entity {ref.company} has no ledger (chart of accounts)"
                fix = f"set up the ledger of {ref.company} in F&O (General ledger > Ledger setup)"
            elif row is None:
                problem = f"main account {ref.value} does not exist in chart of accounts {chart}"
                fix = (
                    f"create main account {ref.value} in F&O's chart of accounts {chart}, "
                    f"or correct {ref.used_by}"
                )
            elif row.get("IsSuspended") == "Yes":
                problem = f"main account {ref.value} is suspended"
                fix = (
                    f"clear Suspended on main account {ref.value} in F&O (General ledger > "
                    f"Chart of accounts > Accounts > Main accounts), or correct {ref.used_by}"
                )
            elif (ref.company.lower(), ref.value.lower()) in suspended_for:
                problem = f"main account {ref.value} is suspended in legal entity {ref.company}"
                fix = (
                    f"clear Suspended on the {ref.company} legal entity override of main "
                    f"account {ref.value} in F&O, or correct {ref.used_by}"
                )
            else:
                continue
            problems.append(ReferenceProblem(ref, problem, fix))
        return problems

    def _dimension_problems(
        self, references: list[Reference], dimension: dict[str, str]
    ) -> list[ReferenceProblem]:
        if not references:
            return []
        names = _distinct(dimension[r.kind] for r in references)
        rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for chunk in chunked(_distinct(r.value for r in references), KEYS_PER_QUERY):
            query = {
                "$filter": f"({any_of('FinancialDimension', names)}) and "
                f"({any_of('DimensionValue', chunk)})",
                "$select": "FinancialDimension,DimensionValue,LegalEntityId,IsSuspended",
            }
            for row in self._rows("FinancialDimensionValues", query):
                key = (str(row["FinancialDimension"]).lower(), str(row["DimensionValue"]).lower())
                rows[key].append(row)
        problems = []
        for ref in references:
            name = dimension[ref.kind]
            usable = [
                row
                for row in rows[(name.lower(), ref.value.lower())]
                if str(row.get("LegalEntityId") or "").lower() in ("", ref.company.lower())
            ]
            if not usable:
                problem = f"{ref.value} is not a value of financial dimension {name}"
                fix = (
                    f"create value {ref.value} of dimension {name} in F&O (General ledger > "
                    f"Chart of accounts > Dimensions > Financial dimensions), or correct "
                    f"{ref.used_by}"
                )
            elif all(row.get("IsSuspended") == "Yes" for row in usable):
                problem = f"value {ref.value} of financial dimension {name} is suspended"
                fix = (
                    f"clear Suspended on value {ref.value} of dimension {name} in F&O, or "
                    f"correct {ref.used_by}"
                )
            else:
                continue
            problems.append(ReferenceProblem(ref, problem, fix))
        return problems

    def _matching(
        self, entity_set: str, field_name: str, values: Sequence[str], select: str
    ) -> Iterator[dict]:
        """The rows of `entity_set` whose `field_name` is one of `values`, a chunk a query."""
        for chunk in chunked(values, KEYS_PER_QUERY):
            yield from self._rows(
                entity_set, {"$filter": any_of(field_name, chunk), "$select": select}
            )

    def create(self, journal: Journal) -> str:
        done = self._complete.get((journal.company.lower(), journal.key))
        if done:
            return done  # held found this very document complete
        header = self._reusable_header(journal) or self._create_header(journal)
        failpoint("d365.after_header")
        failure = self._post_lines(journal, header)
        if failure is None:
            return header.document_id
        if self._has_lines_of(journal, header):
            # The changeset was committed by an earlier attempt whose answer was lost; the
            # retry then collided with its own lines.
            return header.document_id
        self._delete_quietly(header)
        if _PERIOD_NOT_OPEN.search(failure):
            raise ErpPeriodClosed(
                f"D365 refused {journal.journal_id} ({journal.key}) dated "
                f"{journal.document_date}: its ledger period is not open ({failure}). Open the "
                "period in General ledger > Calendars > Ledger calendars, or date the "
                "document in an open period"
            )
        raise ErpRefusal(
            f"D365 refused the lines of {journal.journal_id} ({journal.key}): {failure}"
        )

    def _reusable_header(self, journal: Journal) -> _Header | None:
        """The empty header an earlier attempt made for this key; the other unfinished headers
        of the journal in this company (partial, or of a version no longer posted) go."""
        reuse = None
        for header in self._unfinished.pop((journal.company.lower(), journal.identity), []):
            if header.posted:
                if header.key == journal.key:
                    raise ErpRefusal(
                        f"D365 journal {header.document_id} carries key {journal.key} and is "
                        "posted, but its lines do not balance: reverse or complete it in D365, "
                        "then replay"
                    )
                continue
            if reuse is None and header.key == journal.key and header.empty:
                reuse = header
            else:
                self._delete(header)
        return reuse

    def _without_empty_twins(self, headers: list[_Header]) -> list[_Header]:
        """Deletes the empty headers a lost header answer left beside the one kept for a key
        (the complete document, else the first empty one); the others stay."""
        complete = {(h.company.lower(), h.key) for h in headers if h.complete}
        kept, seen_empty = [], set()
        for header in sorted(headers, key=lambda h: (h.company.lower(), h.number)):
            slot = (header.company.lower(), header.key)
            if header.empty and (slot in complete or slot in seen_empty):
                self._delete_quietly(header)
                continue
            if header.empty:
                seen_empty.add(slot)
            kept.append(header)
        return kept

    def _document(self, header: _Header, probe: Journal) -> ErpDocument:
        return ErpDocument(
            key=header.key,
            document_id=header.document_id,
            company=probe.company,
            division=probe.division,
            lines=header.lines,
        )

    # -- writes -----------------------------------------------------------------------------------
    def _create_header(self, journal: Journal) -> _Header:
        """POST the header once at a time; after a lost answer look for it by key first, so a
        committed header whose answer was dropped is used instead of doubled."""
        body = {
            "dataAreaId": journal.company,
            "JournalName": self.settings.journal_name,
            "Description": header_description(journal),
        }

        def send() -> str:
            response = self._send(
                "POST",
                f"{self._data_url}/LedgerJournalHeaders",
                content=money.dumps(body),
                headers={"Content-Type": "application/json", "Prefer": "return=representation"},
                http=self._once,
            )
            if response.status_code == 429:
                raise Throttled(retry_after_seconds(response.headers.get("Retry-After")))
            if response.status_code >= 500:
                raise _LostAnswer(response.status_code)
            if response.status_code not in (200, 201):
                raise ErpRefusal(
                    f"D365 refused the journal header for {journal.journal_id} "
                    f"({journal.key}): {_odata_message(response)}"
                )
            row = json_body(response, "D365")
            company = row.get("dataAreaId") or journal.company
            return _Header(company, row["JournalBatchNumber"], False, journal.key).document_id

        document_id = create_looking_first(
            send,
            lambda: self._find_header(journal),
            attempts=HEADER_ATTEMPTS,
            lost=(_LostAnswer, ErpUnavailable),
            backoff=lambda attempt: min(30.0, 0.5 * 2**attempt),
            sleep=self._sleep,
            exhausted=lambda: ErpUnavailable(
                f"D365 did not answer the journal header POST for {journal.journal_id} "
                f"({journal.key}) after {HEADER_ATTEMPTS} attempts; the journal stays "
                "unposted and the next run looks for the header before making another"
            ),
        )
        company, number = document_id.split("/", 1)
        return _Header(company, number, False, journal.key)

    def _find_header(self, journal: Journal) -> str | None:
        """The unposted header this key made, if a POST whose answer was lost made one; any
        empty twins of it (more lost answers) are deleted."""
        query = {
            "cross-company": "true",
            "$filter": f"dataAreaId eq {odata.literal(journal.company)} and "
            f"Description eq '*{odata.escaped(journal.key)}'",
            "$select": HEADER_SELECT,
        }
        mine = sorted(
            (
                h
                for h in map(_header_row, self._rows("LedgerJournalHeaders", query))
                if h.key == journal.key and not h.posted
            ),
            key=lambda h: h.number,
        )
        for twin in mine[1:]:
            if twin.empty:
                self._delete_quietly(twin)
        return mine[0].document_id if mine else None

    def _post_lines(self, journal: Journal, header: _Header) -> str | None:
        """Send every line in one changeset; the D365 message when it was refused."""
        batch, changeset = f"batch_{uuid.uuid4().hex}", f"changeset_{uuid.uuid4().hex}"
        parts = [f"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"]
        for line in journal.lines:
            parts.append(
                f"--{changeset}\r\nContent-Type: application/http\r\n"
                f"Content-Transfer-Encoding: binary\r\nContent-ID: {line.number}\r\n\r\n"
                "POST LedgerJournalLines?cross-company=true HTTP/1.1\r\n"
                "OData-Version: 4.0\r\nOData-MaxVersion: 4.0\r\n"
                "Content-Type: application/json;odata.metadata=minimal\r\n"
                "Accept: application/json;odata.metadata=minimal\r\nPrefer: return=minimal\r\n"
                f"\r\n{money.dumps(self._line_body(journal, header, line)).decode()}\r\n"
            )
        parts.append(f"--{changeset}--\r\n--{batch}--\r\n")
        response = self._send(
            "POST",
            f"{self._data_url}/$batch",
            content="".join(parts).encode(),
            headers={
                "Content-Type": f"multipart/mixed; boundary={batch}",
                "Accept": "multipart/mixed",
            },
        )
        if response.status_code != 200:
            return _odata_message(response)
        answers = batch_answers(response.headers.get("Content-Type", ""), response.content)
        if not answers:
            return f"the $batch answer held no operation results: {response.text[:300]}"
        failed = [(status, body) for status, body in answers if status >= 400]
        if failed:
            return _odata_message_text(failed[0][1])
        if len(answers) != len(journal.lines):
            return f"D365 answered {len(answers)} of {len(journal.lines)} line inserts"
        return None

    def _line_body(self, journal: Journal, header: _Header, line: Line) -> dict:
        return {
            "dataAreaId": header.company,
            "JournalBatchNumber": header.number,
            "LineNumber": line.number,
            "AccountType": "Ledger",
            "AccountDisplayValue": self.account_display_value(line),
            "DebitAmount": line.debit,
            "CreditAmount": line.credit,
            "CurrencyCode": journal.currency,
            "TransDate": f"{journal.document_date.isoformat()}T12:00:00Z",
            "Voucher": voucher(journal),
            "Text": line.description[:TEXT_LENGTH],
            "OffsetAccountType": "Ledger",
            "OffsetAccountDisplayValue": "",
        }

    def account_display_value(self, line: Line) -> str:
        """Main account and dimensions in the integrating-application format: every segment in
        order, empty ones kept as placeholders, delimiters inside values backslash-escaped."""
        settings = self.settings
        values = {
            "MainAccount": line.account,
            settings.location_dimension: line.location or "",
            settings.revenue_center_dimension: line.revenue_center or "",
        }
        delimiter = settings.dimension_delimiter
        return delimiter.join(
            values.get(segment, "").replace("\\", "\\\\").replace(delimiter, "\\" + delimiter)
            for segment in settings.dimension_format
        )

    def _delete(self, header: _Header) -> None:
        response = self._send(
            "DELETE",
            f"{self._data_url}/LedgerJournalHeaders("
            f"dataAreaId={_quoted(header.company)},"
            f"JournalBatchNumber={_quoted(header.number)})",
        )
        if response.status_code not in (200, 204, 404):
            raise ErpRefusal(
                f"D365 would not delete the unfinished journal "
                f"{header.document_id}: {_odata_message(response)}"
            )

    def _delete_quietly(self, header: _Header) -> None:
        """Best effort: a header left behind is found by `existing` and reused next run."""
        try:
            self._delete(header)
        except ErpError:
            pass

    # -- reads ------------------------------------------------------------------------------------
    def _headers_of(self, identities: Sequence[str]) -> list[_Header]:
        """Every header whose Description ends with a key of one of `identities`, any company."""
        wanted = set(identities)
        found = []
        for chunk in chunked(identities, KEYS_PER_QUERY):
            query = {
                "cross-company": "true",
                "$filter": " or ".join(f"Description eq '*{odata.escaped(i)}*'" for i in chunk),
                "$select": HEADER_SELECT,
            }
            for row in self._rows("LedgerJournalHeaders", query):
                header = _header_row(row)
                if header.key and header.identity in wanted:
                    found.append(header)
        return found

    def _read_lines(self, headers: list[_Header]) -> None:
        """Fills each header's lines as D365 holds them, per company, a chunk of numbers at
        a time."""
        by_ref = {_ref(h): h for h in headers}
        read: dict[tuple[str, str], list[Line]] = defaultdict(list)
        by_company: dict[str, list[str]] = defaultdict(list)
        for header in headers:
            by_company[header.company].append(header.number)
        for company, numbers in by_company.items():
            for chunk in chunked(sorted(numbers), HEADERS_PER_QUERY):
                query = {
                    "cross-company": "true",
                    "$filter": f"dataAreaId eq {odata.literal(company)} and ("
                    + any_of("JournalBatchNumber", chunk)
                    + ")",
                    "$select": "dataAreaId,JournalBatchNumber,LineNumber,AccountDisplayValue,"
                    "DebitAmount,CreditAmount,Text",
                }
                for row in self._rows("LedgerJournalLines", query):
                    ref = (str(row["dataAreaId"]).lower(), str(row["JournalBatchNumber"]).lower())
                    if ref in by_ref:
                        read[ref].append(self._line_of(row))
        for ref, lines in read.items():
            by_ref[ref].lines = tuple(sorted(lines, key=lambda line: line.number))

    def _line_of(self, row: dict) -> Line:
        """A journal line read back: its display value split into the segments closeout sent
        (an empty segment is no dimension value)."""
        settings = self.settings
        values = dict(
            zip(
                settings.dimension_format,
                split_display_value(
                    str(row.get("AccountDisplayValue") or ""), settings.dimension_delimiter
                ),
                strict=False,
            )
        )
        return Line(
            number=int(Decimal(str(row.get("LineNumber") or 0))),
            account=values.get("MainAccount", ""),
            debit=Decimal(str(row.get("DebitAmount") or 0)),
            credit=Decimal(str(row.get("CreditAmount") or 0)),
            description=str(row.get("Text") or ""),
            location=values.get(settings.location_dimension) or None,
            revenue_center=values.get(settings.revenue_center_dimension) or None,
        )

    def _line_totals(self, headers: list[_Header]) -> dict[tuple[str, str], tuple]:
        """(company, batch number) -> (line count, total debit, total credit)."""
        sums: dict[tuple[str, str], list] = defaultdict(lambda: [0, money.ZERO, money.ZERO])
        for chunk in chunked(headers, KEYS_PER_QUERY):
            query = {
                "cross-company": "true",
                "$filter": " or ".join(
                    f"(dataAreaId eq {odata.literal(h.company)} and JournalBatchNumber eq "
                    f"{odata.literal(h.number)})"
                    for h in chunk
                ),
                "$select": "dataAreaId,JournalBatchNumber,LineNumber,DebitAmount,CreditAmount",
            }
            for row in self._rows("LedgerJournalLines", query):
                total = sums[(row["dataAreaId"].lower(), row["JournalBatchNumber"].lower())]
                total[0] += 1
                total[1] += Decimal(str(row.get("DebitAmount") or 0))
                total[2] += Decimal(str(row.get("CreditAmount") or 0))
        return {key: tuple(value) for key, value in sums.items()}

    def _has_lines_of(self, journal: Journal, header: _Header) -> bool:
        totals = self._line_totals([header]).get(_ref(header))
        return totals == (len(journal.lines), journal.total_debit, journal.total_credit)

    def _rows(self, entity_set: str, query: dict[str, str]) -> Iterator[dict]:
        def page(response: httpx.Response) -> odata.Page:
            if response.status_code != 200:
                # Reads fail for every journal alike (wrong URL, entity not exposed, filter not
                # supported): a configuration problem that stops the run.
                raise ErpAuthError(
                    f"D365 refused the query on {entity_set} (HTTP "
                    f"{response.status_code}): {_odata_message(response)}; check "
                    "ERP__D365__ENVIRONMENT_URL and the app's access"
                )
            body = json_body(response, "D365")
            return body.get("value", []), body.get("@odata.nextLink")

        return odata.rows(
            lambda url: self._send("GET", url),
            odata.query_url(f"{self._data_url}/{entity_set}", query, _QUERY_SAFE),
            page,
        )

    # -- auth -------------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict | None = None,
        http: ErpHttp | None = None,
        **kwargs,
    ) -> httpx.Response:
        response = send_renewing(
            lambda token: (http or self.http).request(
                method,
                url,
                headers={**ODATA_HEADERS, "Authorization": f"Bearer {token}", **(headers or {})},
                **kwargs,
            ),
            self._access_token,
            self._renewed,
        )
        if response.status_code in (401, 403):
            raise ErpAuthError(
                f"D365 refused the token (HTTP {response.status_code}) for {method} "
                f"{httpx.URL(url).path}: check that the app {self.settings.client_id} is "
                "registered in System administration > Setup > Microsoft Entra ID applications "
                "and mapped to a user with access to the journals"
            )
        return response

    def _access_token(self, renew: bool = False) -> str:
        """The run's token; on the run's first call the one an earlier run stored."""
        token = None if renew else self._cached.valid()
        if token:
            return token
        with self._token_lock:
            if renew or not self._cached.valid():
                return self._new_token(renew)
            return self._cached.value

    def _renewed(self, refused: str) -> str:
        """A token in place of `refused`: the one another thread already got instead of it,
        else a new one."""
        with self._token_lock:
            current = self._cached.valid()
            if current and current != refused:
                return current
            return self._new_token(renew=True)

    def _new_token(self, renew: bool) -> str:
        stored = self._cached.stored() if not renew and not self._cached.value else None
        token = self._cached.keep(*stored, save=False) if stored else self._fetch_token()
        self.http.redactor.add(token)
        return token

    @property
    def _token(self) -> str | None:
        """The access token in use."""
        return self._cached.value

    def _fetch_token(self) -> str:
        settings = self.settings
        response = self.http.request(
            "POST",
            settings.entra_token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": settings.client_id,
                "client_secret": settings.client_secret,
                "scope": f"{settings.environment_url.rstrip('/')}/.default",
            },
        )
        body, token = token_answer(response, "D365")
        if not token:
            error = token_error(body, response)
            detail = str(body.get("error_description") or response.text[:300]).splitlines()
            raise ErpAuthError(
                f"D365: Entra ID refused the client credentials ({error}): "
                f"{detail[0] if detail else ''} Check ERP__D365__TENANT_ID, ERP__D365__CLIENT_ID,"
                " ERP__D365__CLIENT_SECRET and ERP__D365__ENVIRONMENT_URL."
            )
        self.http.redactor.add(token)
        return self._cached.keep(token, time.time() + int(body.get("expires_in") or 3599))

    @property
    def _store_name(self) -> str:
        s = self.settings
        return f"d365:{s.tenant_id}:{s.client_id}:{s.environment_url.rstrip('/')}"


# -- what is written ------------------------------------------------------------------------------
def header_description(journal: Journal) -> str:
    """What a person reads in F&O, ending with the idempotency key `existing` searches for.
    Whole words are kept while they fit in the field; the key always does."""
    if journal.document_date != journal.business_date:
        # dated in a later, open period: say first which day it corrects
        words = ["Adj", "of", str(journal.business_date), journal.journal_type]
    elif journal.kind == "adjustment" and journal.adjusts:
        words = ["Adj", "of", journal.adjusts, journal.journal_type, str(journal.business_date)]
    else:
        words = [
            "Toast",
            journal.journal_type,
            str(journal.business_date),
            *journal.location_name.split(),
        ]
    room = DESCRIPTION_LENGTH - len(journal.key) - 1
    lead = ""
    for word in words:
        if len(lead) + len(word) + (1 if lead else 0) > room:
            break
        lead = f"{lead} {word}" if lead else word
    return f"{lead} {journal.key}" if lead else journal.key[:DESCRIPTION_LENGTH]


def voucher(journal: Journal) -> str:
    """One voucher per journal, the same on every attempt (F&O's Voucher holds 20 chars)."""
    digest = hashlib.sha256(journal.key.encode()).hexdigest()[:8].upper()
    return f"CO{journal.business_date:%y%m%d}-{digest}"


def batch_answers(content_type: str, body: bytes) -> list[tuple[int, str]]:
    """(status, body) of every operation in a multipart `$batch` answer, changesets included."""
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.I)
    if not match:
        return []
    answers = []
    for part in body.split(b"--" + match.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        pieces = re.split(rb"\r?\n\r?\n", part.lstrip(b"\r\n"), maxsplit=1)
        head, content = pieces[0], pieces[1] if len(pieces) > 1 else b""
        part_type = next(
            (
                line.split(b":", 1)[1].strip().decode()
                for line in head.splitlines()
                if line.lower().startswith(b"content-type:")
            ),
            "",
        )
        if part_type.lower().startswith("multipart/mixed"):
            answers += batch_answers(part_type, content)
            continue
        status_line, _, rest = content.lstrip(b"\r\n").partition(b"\n")
        status = re.match(rb"HTTP/1\.\d (\d{3})", status_line)
        if status:
            inner = re.split(rb"\r?\n\r?\n", rest, maxsplit=1)
            answers.append(
                (
                    int(status.group(1)),
                    (inner[1] if len(inner) > 1 else b"").strip().decode("utf-8", "replace"),
                )
            )
    return answers


def split_display_value(text: str, delimiter: str) -> list[str]:
    """The segments of a display value; a backslash makes the next character (a delimiter
    inside a value) literal, as F&O writes it."""
    segments, current, position = [], [], 0
    while position < len(text):
        if text[position] == "\\" and position + 1 < len(text):
            current.append(text[position + 1])
            position += 2
        elif text.startswith(delimiter, position):
            segments.append("".join(current))
            current = []
            position += len(delimiter)
        else:
            current.append(text[position])
            position += 1
    segments.append("".join(current))
    return segments


# -- helpers --------------------------------------------------------------------------------------
HEADER_SELECT = (
    "dataAreaId,JournalBatchNumber,Description,IsPosted,JournalTotalDebit,JournalTotalCredit"
)


class _LostAnswer(Exception):
    """A 5xx to a header POST: it may have been committed."""


def _header_row(row: dict) -> _Header:
    """A LedgerJournalHeaders row; its key is the Description's last word when that is a
    closeout key, else empty."""
    last = str(row.get("Description") or "").rsplit(" ", 1)[-1]
    try:
        key_identity(last)
    except ValueError:
        last = ""
    return _Header(
        str(row["dataAreaId"]),
        str(row["JournalBatchNumber"]),
        row.get("IsPosted") == "Yes",
        last,
        total_debit=Decimal(str(row.get("JournalTotalDebit") or 0)),
        total_credit=Decimal(str(row.get("JournalTotalCredit") or 0)),
    )


def any_of(field_name: str, values: Iterable[str]) -> str:
    """`field eq 'a' or field eq 'b'`: F&O refuses `in`."""
    return " or ".join(f"{field_name} eq {odata.literal(value)}" for value in values)


def _distinct(values: Iterable[str]) -> list[str]:
    """Each value once, ignoring case (as F&O compares ids), in first-seen order."""
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.lower(), value)
    return list(seen.values())


def _unknown_places(references: list[Reference], entities: set[str]) -> list[ReferenceProblem]:
    """One problem per company reference F&O has no legal entity for; a place only other
    references name gets one problem, on the first of them."""
    problems, reported = [], set()
    for ref in sorted(references, key=lambda r: r.kind != "company"):
        place = _place(ref)
        if place.lower() in entities or (ref.kind != "company" and place.lower() in reported):
            continue
        reported.add(place.lower())
        problems.append(
            ReferenceProblem(
                ref,
                f"legal entity {place} does not exist in F&O",
                f"create legal entity {place} in F&O (Organization administration > "
                f"Organizations > Legal entities), or correct {ref.used_by}",
            )
        )
    return problems


def _place(ref: Reference) -> str:
    """The legal entity a reference is in (a company reference: the one it names)."""
    return ref.value if ref.kind == "company" else ref.company


def _ref(header: _Header) -> tuple[str, str]:
    return header.company.lower(), header.number.lower()


def _quoted(text: str) -> str:
    return quote(odata.literal(text), safe="'")


def _odata_message(response: httpx.Response) -> str:
    return _odata_message_text(response.text) or f"HTTP {response.status_code}"


def _odata_message_text(text: str) -> str:
    """The Infolog F&O put in the inner error, else its outer message, else the raw text."""
    try:
        error = json.loads(text).get("error") or {}
    except (ValueError, AttributeError):
        return text[:500]
    inner = error.get("innererror") or {}
    return str(inner.get("message") or error.get("message") or text[:500])


def open_connector(http: ErpHttp) -> D365Connector:
    """The connector, its settings from the environment or dlt config (see the registry)."""
    return D365Connector(D365Settings.from_config(), http)
