"""The Exact Online sandbox: OAuth under `/api/oauth2/`, the REST API under `/api/v1/`.

Behaviour follows the vendor: the authorization-code consent (auto-approved, redirecting to the
registered redirect URI with code and state), rotating refresh tokens with reuse detection,
bearer auth on every API call (401 once a token expires or its family is revoked),
`current/Me`, the master data of `catalog.py` (`system/Divisions`, `hrm/Divisions`,
`financial/GLAccounts`, `financial/Journals`, `hrm/Costcenters`, `hrm/Costunits`,
`crm/Accounts`), `generaljournalentry/GeneralJournalEntries` (GET, with
`$expand=GeneralJournalEntryLines`, by key, POST with inline lines) and
`GeneralJournalEntryLines`, the OData of `odata.py`, pages of 60 with `d.__next`, validation
errors as HTTP 500 in Exact's envelope, and the minutely and daily call limits with their
X-RateLimit-* headers, and closed financial periods (`close_periods`, or the setting
`periods_closed_through`) refused with Exact's message. `/_sandbox/...` endpoints reset,
configure, inject faults, expire tokens, advance the day, close periods, read entries and
counters, and remove a line from an entry (a partial one).
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qs, unquote, urlencode

from sandboxes.control import CONTROL_PREFIX, ErpControl, SandboxStats
from sandboxes.exact.auth import Authority, OAuthError
from sandboxes.exact.catalog import KINDS
from sandboxes.exact.config import ExactConfig
from sandboxes.exact.entries import ENTRY_FIELDS, LINE_FIELDS, EntryStore
from sandboxes.exact.limits import Limits
from sandboxes.exact.odata import (
    EntitySet,
    ExactError,
    Navigation,
    check_options,
    no_property,
    one,
    page,
    parse_filter,
    wire,
)
from sandboxes.faults import Faults, after, refusal
from sandboxes.http import Request, Response, make_server  # noqa: F401 (re-exported)

API_PATH = re.compile(
    r"^/api/v1/(?P<division>\d+)/(?P<service>\w+)/(?P<collection>\w+)"
    r"(?:\((?P<key>guid'[^']*'|\d+)\)(?:/(?P<navigation>\w+))?)?$"
)
ENTRIES = ("generaljournalentry", "GeneralJournalEntries")
LINES = ("generaljournalentry", "GeneralJournalEntryLines")
TRANSACTIONS = {
    ENTRIES: ("GeneralJournalEntry", ENTRY_FIELDS, "EntryID"),
    LINES: ("GeneralJournalEntryLine", LINE_FIELDS, "ID"),
}


@dataclass
class Stats(SandboxStats):
    token_requests: int = 0
    code_exchanges: int = 0
    refreshes: int = 0
    token_refusals: int = 0
    reuse_detected: int = 0
    refused_early: int = 0
    requests: Counter = field(default_factory=Counter)  # "METHOD resource" -> count
    throttled: int = 0
    unauthorized: int = 0
    refused: int = 0  # validation errors (HTTP 500) and bad requests (400)
    faults_fired: int = 0
    duplicates: int = 0


class ExactSandbox(ErpControl):
    def __init__(self, config: ExactConfig | None = None):
        self.initial_config = config or ExactConfig.from_seeds()
        self.config = self.initial_config
        # Issued as if `closeout connect exact` had run elsewhere; valid again after each reset.
        self.initial_refresh_token = "refresh-" + secrets.token_urlsafe(32)
        self.authority = Authority()
        self.authority.arm(self.initial_refresh_token)
        self.store = EntryStore()
        self.faults = Faults(status=503)
        self.stats = Stats()
        self.limits = self._new_limits()
        self.base_url = ""
        self._lock = threading.RLock()

    def _new_limits(self) -> Limits:
        c = self.config
        return Limits(c.minutely_limit, float(c.minute_seconds), c.daily_limit)

    # -- dispatch ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = unquote(request.path)
        if path.startswith(CONTROL_PREFIX):
            return self.control(request)
        if path == "/api/oauth2/auth" and request.method == "GET":
            return self._consent(request)
        if path == "/api/oauth2/token" and request.method == "POST":
            return self._token(request)
        if not path.startswith("/api/v1/"):
            return ExactError(404, "Not found").response()
        with self._lock:
            self.stats.requests[f"{request.method} {_resource(path)}"] += 1
            if not self.authority.valid_access(_bearer(request)):
                self.stats.unauthorized += 1
                return Response(401, b"", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            division = self._division(path)
            allowed, limit_headers = self.limits.take(division)
            if not allowed:
                self.stats.throttled += 1
                return ExactError(429, "Too many requests").response(limit_headers)
            fired = self.faults.take(method=request.method, path=path)
            self.stats.faults_fired += len(fired)
        refused = refusal(
            fired,
            lambda rule: ExactError(rule.status, f"Injected fault: HTTP {rule.status}").response(
                limit_headers
            ),
        )
        if refused:
            return refused
        try:
            with self._lock:
                response = self._api(request, path)
        except ExactError as error:
            with self._lock:
                self.stats.refused += error.status in (400, 500)
            response = error.response()
        response.headers.update(limit_headers)
        return after(response, fired)

    def _division(self, path: str) -> int:
        match = API_PATH.match(path)
        return int(match.group(1)) if match else self.config.current_division

    def _api(self, request: Request, path: str) -> Response:
        if path.rstrip("/") == "/api/v1/current/Me":
            return self._me(request)
        match = API_PATH.match(path)
        resource = (match["service"], match["collection"]) if match else None
        if resource not in KINDS and resource not in TRANSACTIONS:
            raise ExactError(404, f"Not found: {path}")
        division = int(match["division"])
        if division not in self.config.divisions:
            raise ExactError(403, f"Forbidden: no access to division {division}")
        if request.method == "POST" and resource == ENTRIES and not match["key"]:
            return self._create(request, division)
        if request.method != "GET":
            raise ExactError(405, f"The method {request.method} is not allowed here.")
        entity, rows = self._collection(resource, division)
        collection_url = f"{self.base_url}/api/v1/{division}/{resource[0]}/{resource[1]}"
        if match["key"]:
            found = [row for row in rows if _key_text(row[entity.key]) == _key(match["key"])]
            if not found:
                raise ExactError(404, f"Resource not found for the segment '{resource[1]}'.")
            if match["navigation"]:
                navigation = entity.navigations.get(match["navigation"])
                if navigation is None:
                    raise ExactError(404, f"Not found: {path}")
                entity, rows = self._collection(LINES, division)[0], navigation.rows(found[0])
            else:
                return Response.json(one(found[0], request.query, entity))
        check_options(request.query)
        if "$filter" in request.query:
            wanted = parse_filter(request.query["$filter"], entity.fields)
            rows = [row for row in rows if wanted(row)]
        url = f"{self.base_url}{path}" if match["navigation"] else collection_url
        return Response.json(page(rows, request.query, url, self.config.page_size, entity))

    def _me(self, request: Request) -> Response:
        check_options(request.query)
        me = {
            "CurrentDivision": self.config.current_division,
            "UserName": "sandbox",
            "FullName": "Sandbox User",
            "LanguageCode": self.config.language,
        }
        wanted = [n.strip() for n in request.query.get("$select", "").split(",") if n.strip()]
        unknown = [name for name in wanted if name not in me]
        if unknown:
            raise ExactError(400, no_property(unknown[0]))
        shown = {name: me[name] for name in wanted} if wanted else me
        uri = f"{self.base_url}/api/v1/current/Me(guid'{_USER_ID}')"
        metadata = {"uri": uri, "type": "Exact.Web.Api.Models.Me"}
        return Response.json({"d": {"results": [{"__metadata": metadata, **shown}]}})

    def _collection(self, resource: tuple[str, str], division: int) -> tuple[EntitySet, list[dict]]:
        """The collection's entity set and its rows in this division."""
        base = f"{self.base_url}/api/v1/{division}/{resource[0]}/{resource[1]}"

        def uri_of(key: str):
            def uri(row: dict) -> str:
                value = row[key]
                return f"{base}(guid'{value}')" if isinstance(value, str) else f"{base}({value})"

            return uri

        if resource in KINDS:
            kind = KINDS[resource]
            entity = EntitySet(kind.fields, kind.key, kind.type_name, uri_of(kind.key))
            return entity, kind.rows(self.config, division)
        type_name, fields, key = TRANSACTIONS[resource]
        if resource == LINES:
            return EntitySet(fields, key, type_name, uri_of(key)), self.store.line_rows(division)
        lines: dict[str, list[dict]] = {}
        for line in self.store.line_rows(division):
            lines.setdefault(line["EntryID"], []).append(line)
        navigation = Navigation(LINE_FIELDS, lambda row: lines.get(row["EntryID"], []))
        entity = EntitySet(
            fields, key, type_name, uri_of(key), {"GeneralJournalEntryLines": navigation}
        )
        return entity, self.store.header_rows(division)

    def _create(self, request: Request, division: int) -> Response:
        try:
            body = request.json()
        except ValueError:
            raise ExactError(
                400, "Error processing request stream. The request body is not valid JSON."
            ) from None
        entry = self.store.create(division, body, self.config)
        self.stats.duplicates = self.store.duplicates
        uri = (
            f"{self.base_url}/api/v1/{division}/generaljournalentry/"
            f"GeneralJournalEntries(guid'{entry.header['EntryID']}')"
        )
        body = {
            "__metadata": {"uri": uri, "type": "Exact.Web.Api.Models.GeneralJournalEntry"},
            **{name: wire(value) for name, value in entry.header.items()},
            "GeneralJournalEntryLines": {"__deferred": {"uri": f"{uri}/GeneralJournalEntryLines"}},
        }
        return Response.json({"d": body}, 201, {"Location": uri})

    # -- OAuth ------------------------------------------------------------------------------------
    def _consent(self, request: Request) -> Response:
        query, config = request.query, self.config
        if query.get("client_id") != config.client_id:
            return Response(400, b"Unknown client_id", content_type="text/plain")
        if query.get("redirect_uri") != config.redirect_uri:
            return Response(
                400, b"The redirect_uri is not registered for this app", content_type="text/plain"
            )
        if query.get("response_type") != "code":
            return Response(400, b"response_type must be code", content_type="text/plain")
        with self._lock:
            code = self.authority.issue_code(config.redirect_uri, config.code_ttl)
        target = (
            config.redirect_uri
            + "?"
            + urlencode({"code": code, **({"state": query["state"]} if "state" in query else {})})
        )
        return Response(302, b"", {"Location": target}, content_type="text/html")

    def _token(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        config = self.config
        with self._lock:
            self.stats.token_requests += 1
            try:
                if (form.get("client_id"), form.get("client_secret")) != (
                    config.client_id,
                    config.client_secret,
                ):
                    raise OAuthError("invalid_client", "Client authentication failed.", 401)
                grant = form.get("grant_type")
                if grant == "authorization_code":
                    family = self.authority.exchange_code(
                        form.get("code", ""), form.get("redirect_uri", ""), config.access_ttl
                    )
                    self.stats.code_exchanges += 1
                elif grant == "refresh_token":
                    family = self.authority.refresh(
                        form.get("refresh_token", ""), config.access_ttl, config.min_refresh_seconds
                    )
                    self.stats.refreshes += 1
                else:
                    raise OAuthError(
                        "unsupported_grant_type", f"The grant type '{grant}' is not supported."
                    )
            except OAuthError as error:
                self.stats.token_refusals += 1
                self.stats.reuse_detected = self.authority.reuse_detected
                self.stats.refused_early = self.authority.refused_early
                return Response.json(
                    {"error": error.error, "error_description": error.description}, error.status
                )
        # expires_in is a numeric string, as Exact sends it.
        return Response.json(
            {
                "access_token": family.access_token,
                "token_type": "bearer",
                "expires_in": str(config.access_ttl),
                "refresh_token": family.refresh_token,
            },
            headers={"Cache-Control": "no-store"},
        )

    # -- test control -----------------------------------------------------------------------------
    def control_actions(self):
        return {
            **super().control_actions(),
            "advance_day": self._advance_day_action,
            "grant": self._grant_action,
            "entries": self._entries_action,
            "remove_line": self._remove_line_action,
            "close_periods": self._close_periods_action,
        }

    def reset(self) -> None:
        # Issued tokens survive a reset (a run may hold them); the pre-authorised refresh token
        # works again.
        self.config = self.initial_config
        self.store = EntryStore()
        self.faults.clear()
        self.stats = Stats()
        self.limits = self._new_limits()
        self.authority.arm(self.initial_refresh_token)

    def stats_view(self) -> dict:
        return {
            **super().stats_view(),
            "daily_used": {str(d): u.used_today for d, u in self.limits.usage.items()},
        }

    def configured(self, changes: dict) -> None:
        limits = self.limits
        limits.minutely_limit = self.config.minutely_limit
        # JSON numbers arrive as Decimal (money is parsed exactly); a duration is not money
        limits.minute_seconds = float(self.config.minute_seconds)
        limits.daily_limit = self.config.daily_limit

    def expire_tokens(self) -> int:
        return self.authority.expire_access()

    def _advance_day_action(self, _body) -> Response:
        self.limits.advance_day()
        return Response.json({"day_offset": self.limits.day_offset})

    def _grant_action(self, _body) -> Response:
        # A fresh consent done elsewhere: a new family's refresh token.
        token = "refresh-" + secrets.token_urlsafe(32)
        self.authority.arm(token)
        return Response.json({"refresh_token": token})

    def _entries_action(self, _body) -> Response:
        return Response.json(
            [
                {
                    **{k: wire(v) for k, v in entry.header.items()},
                    "lines": [{k: wire(v) for k, v in line.items()} for line in entry.lines],
                }
                for entry in self.store.entries
            ]
        )

    def _close_periods_action(self, body) -> Response:
        """{"through": "2026-11-30"}: the financial period holding that date and every one
        before it are closed (Exact closes whole periods); {"through": null} opens them all."""
        through = body.get("through") or None
        if through is not None:
            try:
                date.fromisoformat(str(through))
            except ValueError:
                return Response.json({"error": f"through {through!r} is not YYYY-MM-DD"}, 400)
        self.config = self.config.updated({"periods_closed_through": through})
        return Response.json({"periods_closed_through": through})

    def _remove_line_action(self, body) -> Response:
        # An entry the API shows without one of its lines: changed behind closeout's back (a
        # user mid-edit in Exact's screens, another app). Exact's own POST never leaves one.
        for entry in self.store.entries:
            if entry.header["EntryID"] == str(body.get("entry", "")).lower():
                kept = [ln for ln in entry.lines if ln["LineNumber"] != int(body.get("line", 0))]
                removed = len(entry.lines) - len(kept)
                entry.lines[:] = kept
                return Response.json({"removed": removed})
        return Response.json({"error": f"no entry {body.get('entry')!r}"}, 404)


def _bearer(request: Request) -> str | None:
    value = request.header("Authorization") or ""
    return value[7:].strip() if value.lower().startswith("bearer ") else None


def _resource(path: str) -> str:
    """Requests are counted per resource, the division and a key folded so counts stay
    readable."""
    return re.sub(r"\([^)]*\)", "({key})", re.sub(r"^/api/v1/\d+/", "/api/v1/{division}/", path))


_USER_ID = "5e7a1b1e-0000-4000-8000-000000000001"


def _key(text: str) -> str:
    return text.removeprefix("guid'").removesuffix("'").lower()


def _key_text(value) -> str:
    return str(value).lower()
