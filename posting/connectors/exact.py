"""Exact Online: each journal becomes one general journal entry (memorial), posted with its
lines inline in one POST, which Exact stores whole or refuses whole.

Exact allows only OAuth authorization codes: `closeout connect exact` runs the consent once and
stores the refresh token encrypted (posting/oauth.py). Refresh tokens rotate on every use, so
the new one is saved before its access token is used, and refreshes are serialised across runs.

Exact has no idempotency key and refuses a header Description on journals without VAT, so the
key ends each line's Description, and `held` finds every entry of a journal by the key's
identity part (`substringof` on the lines, 20 journals a request, dated from the earliest
business date on, as an adjustment may be dated later), reading each line back: its GL account
(a GUID, mapped back to the code), AmountFC (positive is debit), cost center and cost unit. An
entry whose lines do not balance is partial (changed behind the API) and left out. Accounts are
GUIDs: the codes are looked up once a run and a journal naming an unknown one is refused before
it costs a request. Exact answers validation errors with HTTP 500; those are refusals, not
retried; "Period is closed" is ErpPeriodClosed.

Limits are 60 calls a minute and 5,000 a day per division. The connector paces by the
X-RateLimit-* headers, waits out a 429 until the minute resets, and stops the run cleanly
(ErpBudgetSpent) when the day's budget is down to a reserve, before spending it.

Requests per journal: one POST; per run: at most one token refresh (access tokens live 10
minutes and are reused across runs), `current/Me` unless the division is set, one GLAccounts
query per 30 account codes (and per 30 accounts read back that the run does not post to), and
one lines query per 20 journal identities and per 60 lines they hold.

`check` (closeout check) only reads: current/Me, system/Divisions (the division reachable and
active), financial/Journals (the journal code a general journal), and financial/GLAccounts,
hrm/Costcenters and hrm/Costunits filtered on the seeds' codes, 30 a request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import httpx

from closeout import money
from closeout.errors import (
    ConfigurationError,
    ErpAuthError,
    ErpBudgetSpent,
    ErpPeriodClosed,
    ErpRefusal,
    ErpUnavailable,
)
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
    ErpSettings,
    chunked,
    create_looking_first,
    json_body,
    keys_held,
    send_renewing,
    setting,
    token_answer,
    token_error,
    whole_number,
)
from posting.failpoints import failpoint
from posting.http import ErpHttp
from posting.oauth import (
    OAuthTokens,
    RotatingTokenStore,
    consent_code,
    fresh_access_token,
    query_params,
    renew_refused,
)

ERP = "exact"
DEFAULT_BASE_URL = "https://start.exactonline.nl"
DESCRIPTION_LENGTH = 60  # GeneralJournalEntryLines.Description
IDENTITIES_PER_QUERY = 20  # a short URL; the lines they hold come in pages of 60
READ_BACK = "EntryID,LineNumber,GLAccount,AmountFC,CostCenter,CostUnit,Description"
# Exact's refusal of a date in a closed financial period, in the languages it answers in.
PERIOD_CLOSED = ("period is closed", "periode is afgesloten")
CODES_PER_QUERY = 30
GENERAL_JOURNAL = 90  # financial/Journals.Type
DIVISION_ACTIVE = 1  # system/Divisions.Status: 0 inactive, 1 active, 2 archived
LINE_FIELDS = ("location", "revenue_center", "")
ACCEPT = {"Accept": "application/json"}
_QUERY_SAFE = "$',()*:/@="


@dataclass(frozen=True)
class ExactSettings(ErpSettings):
    ERP: ClassVar[str] = ERP
    LABEL: ClassVar[str] = "Exact Online"

    client_id: str = setting()
    client_secret: str = setting(secret=True)
    redirect_uri: str = setting()
    base_url: str = setting(DEFAULT_BASE_URL)  # the region's host: .nl .be .de .co.uk .com .es .fr
    division: int | None = setting(None, parse=whole_number)  # default: current/Me's division
    journal_code: str = setting("90")  # a general (memorial) journal without VAT
    # The Line field that goes to CostCenter / CostUnit; an empty variable sends nothing there.
    cost_center_field: str = setting("location", empty=True)
    cost_unit_field: str = setting("revenue_center", empty=True)
    daily_reserve: int = setting(20, parse=whole_number)  # stop when this few calls are left
    token_dir: str | None = setting(None)  # default: the warehouse's .closeout directory
    initial_refresh_token: str | None = setting(None, secret=True)  # seeds an empty store

    def check(self) -> None:
        for name in ("cost_center_field", "cost_unit_field"):
            if getattr(self, name) not in LINE_FIELDS:
                raise ConfigurationError(
                    f"{self.env(name)}={getattr(self, name)!r}: use location, revenue_center "
                    "or empty (nothing sent)"
                )
        if self.cost_center_field and self.cost_center_field == self.cost_unit_field:
            raise ConfigurationError(
                f"{self.env('cost_center_field')} and "
                f"{self.env('cost_unit_field')} name the same Line field"
            )

    @property
    def api_url(self) -> str:
        return self.base_url.rstrip("/") + "/api/v1"

    @property
    def token_url(self) -> str:
        return self.base_url.rstrip("/") + "/api/oauth2/token"

    @property
    def auth_url(self) -> str:
        return self.base_url.rstrip("/") + "/api/oauth2/auth"


class RateLimits:
    """What Exact last said about its limits (headers missing from an answer keep the last
    known values, as a 429 carries only the limit it is about)."""

    def __init__(self) -> None:
        self.daily_remaining: int | None = None
        self.daily_reset_ms: int | None = None
        self.minutely_remaining: int | None = None
        self.minutely_reset_ms: int | None = None

    def update(self, headers: httpx.Headers) -> None:
        for attribute, header in (
            ("daily_remaining", "X-RateLimit-Remaining"),
            ("daily_reset_ms", "X-RateLimit-Reset"),
            ("minutely_remaining", "X-RateLimit-Minutely-Remaining"),
            ("minutely_reset_ms", "X-RateLimit-Minutely-Reset"),
        ):
            value = headers.get(header)
            if value is not None and value.strip().lstrip("-").isdigit():
                setattr(self, attribute, int(value))

    def seconds_to_minute_reset(self, now: float) -> float:
        if self.minutely_reset_ms is None:
            return 60.0
        return max(0.0, self.minutely_reset_ms / 1000 - now)


class ExactConnector:
    erp = ERP

    @property
    def kept_dimensions(self) -> tuple[str, ...]:
        """The Line fields sent as cost center / cost unit: what Exact can hand back."""
        return tuple(
            f for f in (self.settings.cost_center_field, self.settings.cost_unit_field) if f
        )

    def __init__(
        self,
        settings: ExactSettings,
        http: ErpHttp,
        store: RotatingTokenStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_throttle_waits: int = 5,
    ):
        self.settings = settings
        self.http = http
        # Exact's validation errors are HTTP 500: a refusal, never retried. 429 is waited out
        # here, by the minutely reset, as Exact sends no Retry-After.
        self.http.retry_statuses = frozenset({502, 503, 504})
        self.http.redactor.add(settings.client_secret)
        self.http.redactor.add(settings.initial_refresh_token)
        self.store = store or RotatingTokenStore(
            ERP, Path(settings.token_dir) if settings.token_dir else None
        )
        self.limits = RateLimits()
        self._sleep = sleep
        self._max_throttle_waits = max_throttle_waits
        self._division: int | None = settings.division
        self._accounts: dict[str, str] = {}  # code -> GUID, once per run
        self._codes: dict[str, str] = {}  # GUID (lower case) -> code, the other way
        self._looked_up: set[str] = set()  # codes asked for, found or not

    def close(self) -> None:
        self.http.close()

    # -- the contract -----------------------------------------------------------------------------
    def held(self, probes: Sequence[Journal]) -> dict[str, list[ErpDocument]]:
        self._resolve_accounts({line.account for probe in probes for line in probe.lines})
        places = _first_probe_of_each_identity(probes)
        entries = self._entries_of(places)
        self._resolve_guids({str(r["GLAccount"]).lower() for ls in entries.values() for r in ls})
        found: dict[str, list[ErpDocument]] = {}
        for entry_id, rows in entries.items():
            document = self._document(entry_id, rows, places)
            if document is not None:
                journal_id = places[key_identity(document.key)].journal_id
                found.setdefault(journal_id, []).append(document)
        return {
            journal_id: sorted(documents, key=lambda d: (d.sequence, d.key))
            for journal_id, documents in found.items()
        }

    def existing(self, journals: Sequence[Journal]) -> dict[str, str]:
        """key -> EntryID of those of `journals` already in Exact (what `held` finds)."""
        return keys_held(self, journals)

    def create(self, journal: Journal) -> str:
        self._resolve_accounts({line.account for line in journal.lines})
        unknown = sorted({line.account for line in journal.lines} - set(self._accounts))
        if unknown:
            raise ErpRefusal(
                f"Exact Online has no G/L account {', '.join(unknown)} in division "
                f"{self.division}: add it in Exact (Financial > G/L accounts) or correct "
                "dbt_project/seeds/chart_of_accounts.csv and the mapping seeds, then replay"
            )
        body = self._entry(journal)
        url = f"{self._division_url()}/generaljournalentry/GeneralJournalEntries"

        def post() -> str:
            response = self._send(
                "POST",
                url,
                content=money.dumps(body, as_cents=True),
                attempts=1,
                headers={"Content-Type": "application/json", "Prefer": "return=representation"},
            )
            if response.status_code in (200, 201):
                return str(json_body(response, "Exact Online")["d"]["EntryID"])
            message = _error_message(response)
            if any(words in message.lower() for words in PERIOD_CLOSED):
                raise ErpPeriodClosed(
                    f"Exact Online refused {journal.journal_id} ({journal.key}) dated "
                    f"{journal.document_date}: {message}. Reopen that financial period in "
                    "Exact Online to post on that date; an adjustment goes on the first open "
                    "day instead"
                )
            raise ErpRefusal(
                f"Exact Online refused {journal.journal_id} ({journal.key}): {message}"
            )

        # One attempt at a time: a POST whose answer was lost may have been stored, and Exact
        # would store a second copy; look before sending it again.
        return create_looking_first(
            post,
            lambda: self.existing([journal]).get(journal.key),
            attempts=self.http.max_attempts,
            lost=(ErpUnavailable,),
            sleep=self._sleep,
            backoff=lambda attempt: min(30.0, 0.5 * 2 ** (attempt - 1)),
            before_looking=lambda: failpoint("exact.after_lost_answer"),
        )

    # -- closeout check ---------------------------------------------------------------------------
    def check(self, references: Sequence[Reference]) -> list[ReferenceProblem]:
        """Read only: the division (reachable and active), the journal (a general journal), and
        every G/L account (there, not blocked), cost center (there, active) and cost unit
        (there) the seeds name, each kind in filtered lists of CODES_PER_QUERY codes. Companies
        and divisions of the seeds mean nothing here: one division takes every location."""
        division_problem = self._division_problem()
        if division_problem:
            return [division_problem]  # nothing else can be asked of a division out of reach
        problems = self._journal_problems()
        for kind, resource, select, label, why in self._checked_kinds():
            asked = [ref for ref in references if ref.kind == kind]
            found = self._listed(resource, {ref.value.strip() for ref in asked}, select)
            for ref in asked:
                problem = _reference_problem(ref, found.get(ref.value.strip()), label)
                if problem:
                    problems.append(
                        ReferenceProblem(
                            ref,
                            f"{problem} in division {self.division}",
                            _fix(ref, problem, label) + why,
                        )
                    )
        return problems

    def _checked_kinds(self) -> list[tuple[str, str, str, str, str]]:
        """(reference kind, resource, $select, what Exact calls it, why it is asked) of every
        kind the entries send: G/L accounts, and the Line fields sent as cost center / unit."""
        kinds = [("account", "financial/GLAccounts", "Code,IsBlocked", "G/L account", "")]
        for name, resource, select, label in (
            ("cost_center_field", "hrm/Costcenters", "Code,Active", "cost center"),
            ("cost_unit_field", "hrm/Costunits", "Code", "cost unit"),
        ):
            kind = getattr(self.settings, name)
            if kind:
                why = f" (the {kind} is sent as {label}: {ExactSettings.env(name)}={kind})"
                kinds.append((kind, resource, select, label, why))
        return kinds

    def _division_problem(self) -> ReferenceProblem | None:
        """The division posts go to, among those the connected user can reach (system/Divisions,
        asked in the user's current division) and active."""
        me = list(
            self._rows_at(f"{self.settings.api_url}/current/Me", {"$select": "CurrentDivision"})
        )
        current = int(me[0]["CurrentDivision"]) if me and me[0].get("CurrentDivision") else None
        division = self.settings.division or current
        setting_name = ExactSettings.env("division")
        if current is None or division is None:
            return ReferenceProblem(
                None,
                "Exact Online did not say which division the connected user works in",
                f"set {setting_name} to the division number closeout posts in",
            )
        rows = self._rows_at(
            f"{self.settings.api_url}/{current}/system/Divisions",
            {"$filter": f"Code eq {division}", "$select": "Code,Description,Status"},
        )
        found = next(iter(rows), None)
        if found is None:
            return ReferenceProblem(
                None,
                f"division {division} is not one the connected user can reach",
                f"set {setting_name} to a division the user works in (the current one is "
                f"{current}) or give the user access to division {division} in Exact Online",
            )
        if int(found.get("Status") or 0) != DIVISION_ACTIVE:
            return ReferenceProblem(
                None,
                f"division {division} ({found.get('Description')}) is inactive or archived",
                f"reactivate division {division} in Exact Online or set {setting_name} to an "
                "active division",
            )
        self._division = division
        return None

    def _journal_problems(self) -> list[ReferenceProblem]:
        code = self.settings.journal_code
        setting_name = ExactSettings.env("journal_code")
        found = self._listed("financial/Journals", {code}, select="Code,Description,Type")
        journal = found.get(code)
        if journal is None:
            return [
                ReferenceProblem(
                    None,
                    f"journal {code} does not exist in division {self.division}",
                    f"create general journal {code} in Exact Online (Financial > Journals) or "
                    f"set {setting_name} to an existing general journal's code",
                )
            ]
        if int(journal.get("Type") or 0) != GENERAL_JOURNAL:
            return [
                ReferenceProblem(
                    None,
                    f"journal {code} ({journal.get('Description')}) is not a general journal "
                    f"(type {journal.get('Type')})",
                    f"set {setting_name} to a general (memorial) journal's code",
                )
            ]
        return []

    def _listed(self, resource: str, codes: set[str], select: str) -> dict[str, dict]:
        """Code -> row of those of `codes` `resource` holds (codes stripped, as Exact may pad)."""
        found: dict[str, dict] = {}
        for chunk in chunked(sorted(codes), CODES_PER_QUERY):
            query = {
                "$filter": " or ".join(f"Code eq {odata.literal(code)}" for code in chunk),
                "$select": select,
            }
            for row in self._rows(resource, query):
                found[str(row["Code"]).strip()] = row
        return found

    # -- what is written --------------------------------------------------------------------------
    def _entry(self, journal: Journal) -> dict:
        settings = self.settings
        lines = []
        for line in journal.lines:
            row = {
                "Date": journal.document_date.isoformat(),
                "GLAccount": self._accounts[line.account],
                "AmountFC": line.debit - line.credit,  # debit positive
                "Description": line_description(journal, line),
            }
            for field, target in (
                (settings.cost_center_field, "CostCenter"),
                (settings.cost_unit_field, "CostUnit"),
            ):
                value = getattr(line, field) if field else None
                if value:
                    row[target] = value
            lines.append(row)
        return {
            "JournalCode": settings.journal_code,
            "Currency": journal.currency,
            "GeneralJournalEntryLines": lines,
        }

    # -- reading back -----------------------------------------------------------------------------
    def _entries_of(self, places: dict[str, Journal]) -> dict[str, list[dict]]:
        """EntryID -> its lines that carry one of these identities, read in chunks of identities
        of neighbouring business dates, each from its earliest business date on."""
        identities = sorted(places, key=lambda i: (places[i].business_date, i))
        entries: dict[str, list[dict]] = {}
        for chunk in chunked(identities, IDENTITIES_PER_QUERY):
            since = min(places[identity].business_date for identity in chunk)
            clauses = " or ".join(
                f"substringof({odata.literal(identity)},Description) eq true" for identity in chunk
            )
            query = {
                "$filter": f"Date ge datetime'{since.isoformat()}T00:00:00' and ({clauses})",
                "$select": READ_BACK,
            }
            for row in self._rows("generaljournalentry/GeneralJournalEntryLines", query):
                entries.setdefault(str(row["EntryID"]), []).append(row)
        return entries

    def _document(
        self, entry_id: str, rows: list[dict], places: dict[str, Journal]
    ) -> ErpDocument | None:
        """The entry as closeout's document, or None when it is not one whole document of these
        journals (lines of different keys, or lines that do not balance: some are missing)."""
        keys = {_key_of(str(row.get("Description") or "")) for row in rows}
        if len(keys) != 1:
            return None
        key = keys.pop()
        try:
            probe = places.get(key_identity(key))
        except ValueError:
            return None
        lines = tuple(self._line_read_back(row) for row in rows)
        if probe is None or sum(ln.debit - ln.credit for ln in lines) != money.ZERO:
            return None
        return ErpDocument(key, entry_id, probe.company, probe.division, lines)

    def _line_read_back(self, row: dict) -> Line:
        amount = money.cents(Decimal(str(row.get("AmountFC") or 0)))
        guid = str(row["GLAccount"]).lower()
        dimensions = {
            field: (str(row.get(target) or "").strip() or None)
            for field, target in (
                (self.settings.cost_center_field, "CostCenter"),
                (self.settings.cost_unit_field, "CostUnit"),
            )
            if field
        }
        return Line(
            number=int(row.get("LineNumber") or 0),
            account=self._codes.get(guid, guid),
            debit=max(amount, money.ZERO),
            credit=max(-amount, money.ZERO),
            description=str(row.get("Description") or ""),
            location=dimensions.get("location"),
            revenue_center=dimensions.get("revenue_center"),
        )

    # -- look-ups ---------------------------------------------------------------------------------
    @property
    def division(self) -> int:
        if self._division is None:
            rows = list(
                self._rows_at(f"{self.settings.api_url}/current/Me", {"$select": "CurrentDivision"})
            )
            if not rows or not rows[0].get("CurrentDivision"):
                raise ErpAuthError(
                    "Exact Online did not say which division the connected user "
                    f"works in: set {ExactSettings.env('division')}"
                )
            self._division = int(rows[0]["CurrentDivision"])
        return self._division

    def _division_url(self) -> str:
        return f"{self.settings.api_url}/{self.division}"

    def _resolve_accounts(self, codes: set[str]) -> None:
        missing = sorted(codes - self._looked_up)
        self._looked_up |= codes
        for chunk in chunked(missing, CODES_PER_QUERY):
            query = {
                "$filter": " or ".join(f"Code eq {odata.literal(code)}" for code in chunk),
                "$select": "ID,Code",
            }
            self._remember_accounts(query)

    def _resolve_guids(self, guids: set[str]) -> None:
        """Codes of accounts read back that the run's journals do not name (an account the
        original posted to and the current version no longer does)."""
        for chunk in chunked(sorted(guids - set(self._codes)), CODES_PER_QUERY):
            query = {
                "$filter": " or ".join(f"ID eq guid'{guid}'" for guid in chunk),
                "$select": "ID,Code",
            }
            self._remember_accounts(query)

    def _remember_accounts(self, query: dict[str, str]) -> None:
        for row in self._rows("financial/GLAccounts", query):
            code, guid = str(row["Code"]).strip(), str(row["ID"])
            self._accounts[code] = guid
            self._codes[guid.lower()] = code

    def _rows(self, resource: str, query: dict[str, str]) -> Iterator[dict]:
        return self._rows_at(f"{self._division_url()}/{resource}", query)

    def _rows_at(self, url: str, query: dict[str, str]) -> Iterator[dict]:
        def page(response: httpx.Response) -> odata.Page:
            if response.status_code != 200:
                # Reads fail for every journal alike: a configuration problem that stops the run.
                env = ExactSettings.env
                raise ErpAuthError(
                    f"Exact Online refused the query {urlsplit(url).path} (HTTP "
                    f"{response.status_code}): {_error_message(response)}; check "
                    f"{env('base_url')} and {env('division')}"
                )
            body = json_body(response, "Exact Online").get("d") or {}
            if isinstance(body, dict):
                return body.get("results", []), body.get("__next")
            return body, None

        return odata.rows(
            lambda next_url: self._send("GET", next_url),
            odata.query_url(url, query, _QUERY_SAFE),
            page,
        )

    # -- sending: auth and limits -----------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict | None = None,
        attempts: int | None = None,
        **kwargs,
    ) -> httpx.Response:
        throttled = 0

        def send(token: str) -> httpx.Response:
            saved = self.http.max_attempts
            self.http.max_attempts = attempts or saved
            try:
                response = self.http.request(
                    method,
                    url,
                    headers={**ACCEPT, "Authorization": f"Bearer {token}", **(headers or {})},
                    **kwargs,
                )
            finally:
                self.http.max_attempts = saved
            self.limits.update(response.headers)
            return response

        def wait_out_429(response: httpx.Response) -> bool:
            nonlocal throttled
            if response.status_code != 429:
                return False
            self._daily_budget_check(spent=True)
            throttled += 1
            if throttled > self._max_throttle_waits:
                raise ErpUnavailable(
                    f"Exact Online kept answering 429 for {method} {urlsplit(url).path} "
                    f"after {self._max_throttle_waits} waits (another app may share the "
                    "division's minutely limit); the next run carries on"
                )
            self._sleep(self.limits.seconds_to_minute_reset(time.time()) + 0.05)
            return True

        response = send_renewing(send, self._paced_token, self._renewed, again=wait_out_429)
        if response.status_code == 401:
            raise ErpAuthError(
                f"Exact Online refused a fresh access token for {method} "
                f"{urlsplit(url).path}: run `closeout connect exact` again"
            )
        return response

    def _paced_token(self) -> str:
        """Before every call: the limits (see `_pace`), then the access token."""
        self._pace()
        return self._access_token()

    def _renewed(self, refused: str) -> str:
        """A new access token in place of `refused` (expired or revoked early), unless another
        run already replaced it."""
        renew_refused(self.store, refused, self._refresh)
        return self._paced_token()

    def _pace(self) -> None:
        """Before a call: stop if the day's budget is down to the reserve, wait for the next
        minute if this one's calls are spent."""
        self._daily_budget_check()
        if self.limits.minutely_remaining is not None and self.limits.minutely_remaining <= 0:
            wait = self.limits.seconds_to_minute_reset(time.time())
            if wait > 0:
                self._sleep(wait + 0.05)
            self.limits.minutely_remaining = None

    def _daily_budget_check(self, spent: bool = False) -> None:
        remaining = self.limits.daily_remaining
        if remaining is None or (remaining > self.settings.daily_reserve and not spent):
            return
        if spent and remaining > 0:
            return
        reset_ms = self.limits.daily_reset_ms
        if reset_ms is not None and reset_ms / 1000 <= time.time():
            self.limits.daily_remaining = None  # a new day: Exact says so on the next call
            return
        when = (
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(reset_ms / 1000))
            if reset_ms
            else "its daily reset"
        )
        raise ErpBudgetSpent(
            f"Exact Online's daily API budget for division {self._division} is down to "
            f"{remaining} calls (reserve {self.settings.daily_reserve}, "
            f"{ExactSettings.env('daily_reserve')}); stopped cleanly. It resets at {when}: run "
            "closeout post again after that and it carries on from here"
        )

    def _access_token(self) -> str:
        self.store.seed(self.settings.initial_refresh_token)
        tokens = fresh_access_token(self.store, self._refresh)
        self.http.redactor.add(tokens.access_token)
        self.http.redactor.add(tokens.refresh_token)
        return str(tokens.access_token)

    def _refresh(self, tokens: OAuthTokens) -> OAuthTokens:
        settings = self.settings
        response = self.http.request(
            "POST",
            settings.token_url,
            data={
                "grant_type": "refresh_token",
                "client_id": settings.client_id,
                "client_secret": settings.client_secret,
                "refresh_token": tokens.refresh_token,
            },
            headers=ACCEPT,
        )
        return replace(_token_answer(response, "refresh the access token"), account=tokens.account)


# -- consent --------------------------------------------------------------------------------------
def connect(http: ErpHttp, *, code: str | None = None, echo: Callable[[str], None] = print) -> str:
    """`closeout connect exact`: the consent, then the refresh token stored encrypted."""
    settings = ExactSettings.from_config()
    http.redactor.add(settings.client_secret)
    store = RotatingTokenStore(ERP, Path(settings.token_dir) if settings.token_dir else None)
    if code and "?" in code:  # the whole redirected address, pasted; without a code: consent
        code = query_params(code).get("code", "")
    if not code:
        code = consent_code(
            settings.auth_url,
            settings.client_id,
            settings.redirect_uri,
            echo=echo,
            invitation="Open this address, sign in to Exact Online and allow closeout access:",
        )
    response = http.request(
        "POST",
        settings.token_url,
        data={
            "grant_type": "authorization_code",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "redirect_uri": settings.redirect_uri,
            "code": code,
        },
        headers=ACCEPT,
    )
    store.save_locked(_token_answer(response, "exchange the authorization code"))
    division = ExactConnector(settings, http, store=store).division
    store.set_account(str(division))
    return f"division {division}"


def _token_answer(response: httpx.Response, doing: str) -> OAuthTokens:
    body, access_token = token_answer(response, "Exact Online")
    if not access_token:
        error = token_error(body, response)
        detail = body.get("error_description") or response.text[:300]
        hint = (
            "the refresh token was already used, so Exact revoked this connection"
            if "old refresh token" in str(detail).lower()
            else "check ERP__EXACT__CLIENT_ID, ERP__EXACT__CLIENT_SECRET and "
            "ERP__EXACT__BASE_URL (the region's host)"
        )
        raise ErpAuthError(
            f"Exact Online would not {doing} ({error}: {detail}); {hint}; then "
            "run `closeout connect exact` again"
        )
    # expires_in arrives as a numeric string ("600").
    return OAuthTokens(
        refresh_token=str(body["refresh_token"]),
        access_token=str(access_token),
        expires_at=time.time() + int(str(body.get("expires_in") or 600)),
    )


# -- helpers --------------------------------------------------------------------------------------
def line_description(journal: Journal, line: Line) -> str:
    """The line's text, then the key `existing` searches for; the key always fits."""
    lead = f"Adj {line.description}" if journal.kind == "adjustment" else line.description
    room = DESCRIPTION_LENGTH - len(journal.key) - 1
    lead = lead[:room].rstrip() if room > 0 else ""
    return f"{lead} {journal.key}" if lead else journal.key[:DESCRIPTION_LENGTH]


def _first_probe_of_each_identity(probes: Sequence[Journal]) -> dict[str, Journal]:
    """identity -> the first probe of it: Exact has one division for every place, so a document
    is found once and is in the place of the first probe that asks for it."""
    places: dict[str, Journal] = {}
    for probe in probes:
        places.setdefault(probe.identity, probe)
    return places


def _reference_problem(ref: Reference, row: dict | None, label: str) -> str | None:
    value = ref.value.strip()
    if row is None:
        return f"{label} {value} does not exist"
    if row.get("IsBlocked") is True:
        return f"{label} {value} is blocked"
    if row.get("Active") is False:
        return f"{label} {value} is inactive"
    return None


def _fix(ref: Reference, problem: str, label: str) -> str:
    value = ref.value.strip()
    if problem.endswith("does not exist"):
        return f"create {label} {value} in Exact Online or correct {ref.used_by}"
    action = "unblock" if problem.endswith("blocked") else "activate"
    return f"{action} {label} {value} in Exact Online or correct {ref.used_by}"


def _key_of(description: str) -> str:
    return description.rsplit(" ", 1)[-1]


def _error_message(response: httpx.Response) -> str:
    """Exact's message from {"error":{"message":{"value":...}}}, and its Reason header."""
    try:
        error = json.loads(response.content).get("error") or {}
        message = error.get("message")
        text = message.get("value") if isinstance(message, dict) else message
    except (ValueError, AttributeError):
        text = None
    text = str(text or response.text[:500] or f"HTTP {response.status_code}")
    reason = response.headers.get("Reason")
    return f"{text} ({reason})" if reason else text


def open_connector(http: ErpHttp) -> ExactConnector:
    """The connector, its settings from the environment or dlt config (see the registry)."""
    return ExactConnector(ExactSettings.from_config(), http)
