"""FreshBooks (accounting API, OAuth 2.0 authorization code): each journal becomes one journal
entry (the default), or, with ERP__FRESHBOOKS__MODE=invoice, each original sales journal becomes
a daily invoice to the location's client with the day's payments recorded against it.

Tokens: `closeout connect freshbooks` stores the consent's refresh token (posting/oauth.py);
each refresh returns a new one and retires the old, so refreshes happen under the store's
lock and the new token is saved before it is used. The account id comes from
`/auth/api/v1/users/me` once and is kept with the tokens.

Exactly once: FreshBooks has no idempotency key, so the key goes where it can be found again:
the end of a journal entry's name and an invoice's po_number, each payment's note. `held` asks
FreshBooks, not the warehouse, what it holds of each journal (every document whose key has the
journal's identity, whatever its version): the journal entry details, invoices (with their
lines) and payments dated from the journals' first business date to today, each paged by 100,
so a run costs a few requests however many journals it posts. A journal entry is created with
all its details in one request, so there is never a partial one; an invoice whose payments were
not all recorded (a crash in between) is not held, and is completed by adding only the missing
payments. A create whose answer was lost (dropped connection, 5xx) is settled by looking for its
key before anything is sent again.

Documents are dated `Journal.document_date`. FreshBooks has no closed periods that refuse a date
(its API has no period lock), so nothing here raises ErpPeriodClosed.

Errors: FreshBooks refuses with 400 (invalid), 404 (a record it names is missing) or 403 (an
account the token may not use), its body in the old `response.errors` form or the newer
`code`/`details` one; old-style errors may also arrive inside HTTP 200, so every body is
checked. A refusal names the journal, FreshBooks' message and field, and the fix.

Requests are sent the way FreshBooks' official Python SDK sends them (freshbooks-sdk, checked by
tests/contract/test_freshbooks_client.py): form-encoded token requests, a JSON Content-Type
only on requests with a body.

`check` (`closeout check`) asks, reading only: users/me for the business, the chart's
sub-accounts for the accounts, and in invoice mode the clients for the locations' companies.

FreshBooks has no dimensions. Revenue centers are a mapping, not code: a line goes to the
sub-account numbered (or named) "<account code>-<revenue center>" when one exists, else to the
account's own sub-account "<account code>" with the revenue center in the line description.
The location is always written in the line description (`[loc BKN rc BAR]`). Read back, a
detail's sub-account gives the account (and a "<code>-<center>" one the revenue center), the tag
the location and any other revenue center. An invoice's lines and payments carry the journal
lines they stand for (posting/connectors/freshbooks_invoice.py), which is how a day posted as an
invoice reads back as journal lines.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import ClassVar, Literal, get_args

import httpx

from closeout.errors import ConfigurationError, ErpAuthError, ErpRefusal, ErpUnavailable
from closeout.money import ZERO, money_text
from posting.connectors.contract import (
    ErpDocument,
    Journal,
    Line,
    Reference,
    ReferenceProblem,
    key_identity,
)
from posting.connectors.freshbooks_invoice import Parts, invoice_for, parts_of
from posting.connectors.kit import (
    ErpSettings,
    Throttled,
    create_looking_first,
    json_body,
    keys_held,
    retry_after_seconds,
    send_renewing,
    setting,
    token_answer,
    token_error,
)
from posting.failpoints import failpoint
from posting.http import ErpHttp
from posting.oauth import (
    OAuthTokens,
    RotatingTokenStore,
    check_not_refused,
    consent_code,
    fresh_access_token,
    query_params,
    renew_refused,
)

DEFAULT_BASE_URL = "https://api.freshbooks.com"
DEFAULT_AUTH_URL = "https://auth.freshbooks.com/oauth/authorize"
# journal: a journal entry per journal; invoice: a daily invoice per location with its payments.
Mode = Literal["journal", "invoice"]
MODES: tuple[Mode, ...] = get_args(Mode)
PER_PAGE = 100  # FreshBooks' silent maximum
CREATE_ATTEMPTS = 6
KEY_AT_END = re.compile(r"\[([^\[\]]+)\]\s*$")
# The dimensions a detail description ends with: `[loc BKN rc BAR]`, `[loc BKN]`, `[rc BAR]`.
TAG_AT_END = re.compile(r"\s*\[(?:loc ([^\s\]]+))? ?(?:rc ([^\s\]]+))?\]\s*$")
# A retired refresh token or a revoked grant: only a new consent helps.
RECONNECT = "run `closeout connect freshbooks` again to give closeout a new consent"
DELETED = 1  # FreshBooks' vis_state of a deleted record (0 active, 2 archived)


@dataclass(frozen=True)
class FreshBooksSettings(ErpSettings):
    ERP: ClassVar[str] = "freshbooks"
    LABEL: ClassVar[str] = "FreshBooks"
    HINT: ClassVar[str] = ", from your FreshBooks app's settings"

    client_id: str = setting()
    client_secret: str = setting(secret=True)
    redirect_uri: str = setting()
    base_url: str = setting(DEFAULT_BASE_URL)
    auth_url: str = setting(DEFAULT_AUTH_URL)
    account_id: str | None = setting(None)  # which business, when the user has several
    mode: Mode = setting("journal")
    initial_refresh_token: str | None = setting(None, secret=True)  # obtained elsewhere, used once
    scope: str | None = setting(None)

    def check(self) -> None:
        if self.mode not in MODES:
            raise ConfigurationError(
                f"{self.env('mode')}={self.mode!r}: use journal (a "
                "journal entry per journal) or invoice (a daily invoice "
                "per location with its payments)."
            )

    @property
    def token_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/auth/oauth/token"


_env = FreshBooksSettings.env


# -- tokens ---------------------------------------------------------------------------------------
class _Tokens:
    """The access token for API calls, refreshed (and rotated) under the store's lock."""

    def __init__(self, settings: FreshBooksSettings, http: ErpHttp, store: RotatingTokenStore):
        self.settings, self.http, self.store = settings, http, store
        self._current: OAuthTokens | None = None

    def current(self) -> OAuthTokens:
        """A valid access token with the account it posts to."""
        tokens = self.access()
        if tokens.account is None:
            tokens = self._current = self._with_account(tokens)
        return tokens

    def access(self) -> OAuthTokens:
        """A valid access token, with the account kept with the consent if there is one."""
        if self._current is None or not self._current.access_valid():
            self.store.seed(self.settings.initial_refresh_token)
            self._current = fresh_access_token(self.store, self.refresh)
            self._remember(self._current)
        return self._current

    def use_account(self, account: str) -> None:
        """Post to `account` in this run without keeping it with the tokens (`check`)."""
        self._current = replace(self.access(), account=account)

    def renew(self, refused_access: str) -> str:
        """The access token was refused before its time: refresh, unless another run already
        has (then its token is the one to use); the access token to use now."""
        renew_refused(self.store, refused_access, self.refresh)
        self._current = None
        return str(self.current().access_token)

    def refresh(self, tokens: OAuthTokens) -> OAuthTokens:
        body = {
            "grant_type": "refresh_token",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "refresh_token": tokens.refresh_token,
            "redirect_uri": self.settings.redirect_uri,
        }
        return replace(
            exchange_tokens(self.http, self.settings, body, "the stored refresh token"),
            account=tokens.account,
        )

    def _remember(self, tokens: OAuthTokens) -> None:
        self.http.redactor.add(tokens.access_token)
        self.http.redactor.add(tokens.refresh_token)

    def _with_account(self, tokens: OAuthTokens) -> OAuthTokens:
        account = find_account(self.http, self.settings, tokens.access_token or "")
        self.store.set_account(account, unless_set=True)
        return replace(tokens, account=account)


def exchange_tokens(
    http: ErpHttp, settings: FreshBooksSettings, body: dict, what: str
) -> OAuthTokens:
    # form-encoded as RFC 6749 and the official SDKs send it (FreshBooks also takes JSON)
    response = http.request("POST", settings.token_url, data=body)
    data, access_token = token_answer(response, "FreshBooks")
    if not access_token:
        error = token_error(data, response)
        if error == "invalid_client":
            raise ErpAuthError(
                f"FreshBooks refused the client credentials ({error}: "
                f"{data.get('error_description', '')}): check "
                f"{_env('client_id')} and {_env('client_secret')}"
            )
        raise ErpAuthError(
            f"FreshBooks refused {what} ({error}: "
            f"{data.get('error_description', response.text[:200])}); a refresh "
            f"token works once and a reused one revokes the consent: {RECONNECT}"
        )
    http.redactor.add(access_token)
    http.redactor.add(data.get("refresh_token"))
    return OAuthTokens(
        refresh_token=data["refresh_token"],
        access_token=access_token,
        expires_at=time.time() + float(data.get("expires_in") or 0),
    )


def find_account(http: ErpHttp, settings: FreshBooksSettings, access_token: str) -> str:
    """The accounting account id of the business closeout posts to (users/me)."""
    accounts = business_accounts(http, settings, access_token)
    if settings.account_id:
        if settings.account_id not in accounts:
            raise ErpAuthError(
                f"{_env('account_id')}={settings.account_id} is not one of "
                f"this user's FreshBooks accounts ({', '.join(accounts) or 'none'})"
            )
        return settings.account_id
    if len(accounts) != 1:
        raise ConfigurationError(
            f"the FreshBooks user belongs to {len(accounts)} businesses "
            f"({', '.join(accounts) or 'none'}): set "
            f"{_env('account_id')} to the one closeout posts to"
        )
    return accounts[0]


def business_accounts(http: ErpHttp, settings: FreshBooksSettings, access_token: str) -> list[str]:
    """The account ids of the businesses the consenting user belongs to (users/me)."""
    response = http.request(
        "GET",
        f"{settings.base_url.rstrip('/')}/auth/api/v1/users/me",
        headers={"Authorization": f"Bearer {access_token}"},
    )
    if response.status_code == 401:
        raise ErpAuthError(f"FreshBooks refused the new access token: {response.text[:200]}")
    memberships = (_json(response).get("response") or {}).get("business_memberships") or []
    return [
        m["business"]["account_id"]
        for m in memberships
        if (m.get("business") or {}).get("account_id")
    ]


# -- the connector --------------------------------------------------------------------------------
class FreshBooksConnector:
    erp = "freshbooks"

    def __init__(
        self,
        settings: FreshBooksSettings,
        http: ErpHttp,
        store: RotatingTokenStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings, self.http = settings, http
        self.tokens = _Tokens(settings, http, store or RotatingTokenStore(self.erp))
        # Creates are not idempotent: sent once each, settled by looking before a resend.
        self._once = ErpHttp(
            http.erp, sink=http.sink, max_attempts=1, retry_statuses=(), client=http._client
        )
        self._once.redactor = http.redactor
        self._sleep = sleep
        self._sub_accounts: dict[str, int] | None = None
        self._numbered: set[str] = set()  # the _sub_accounts keys that are sub-account numbers
        self._clients: dict[str, int] | None = None
        self._partial_invoices: dict[str, dict] = {}

    def close(self) -> None:
        pass  # the ErpHttp belongs to the caller

    # -- the contract -----------------------------------------------------------------------------
    def held(self, probes: Sequence[Journal]) -> dict[str, list[ErpDocument]]:
        """journal_id -> its documents in FreshBooks, read back: journal entries and (in either
        mode, since the mode may have changed) paid invoices, whatever their version."""
        by_identity: dict[str, list[Journal]] = defaultdict(list)
        for probe in probes:
            by_identity[probe.identity].append(probe)
        if not by_identity:
            return {}
        first, last = _search_range(probes)
        found: dict[str, list[ErpDocument]] = defaultdict(list)
        for key, entry_id, details in self._entries_between(first, last):
            journals = by_identity.get(_identity(key))
            if journals:
                found[journals[0].journal_id].append(
                    self._entry_read_back(key, entry_id, details, journals)
                )
        if any(p.journal_type == "sales" for p in probes):
            for journal, document in self._invoices_held(by_identity, first, last):
                found[journal.journal_id].append(document)
        return dict(found)

    def existing(self, journals: Sequence[Journal]) -> dict[str, str]:
        """key -> document id of those of `journals` FreshBooks holds completely."""
        return keys_held(self, journals)

    def create(self, journal: Journal) -> str:
        if self._as_invoice(journal):
            return self._create_invoice(journal)
        return self._create_entry(journal)

    def _as_invoice(self, journal: Journal) -> bool:
        return (
            self.settings.mode == "invoice"
            and journal.journal_type == "sales"
            and journal.kind == "original"
        )

    # -- closeout check ---------------------------------------------------------------------------
    def check(self, references: Sequence[Reference]) -> list[ReferenceProblem]:
        """The business first (users/me); then one paged list per kind FreshBooks keeps: the
        chart's sub-accounts for accounts (resolved as `create` resolves them) and, in invoice
        mode, the clients for the locations' companies and customers. Locations, revenue
        centers and divisions are not FreshBooks records (text in a description, an optional
        `<code>-<center>` sub-account), so they are not asked about. Reads only."""
        problems = self._business_problems()
        if problems:
            return problems  # the lists would be another business's, or none
        accounts = [r for r in references if r.kind == "account"]
        clients = [r for r in references if r.kind in ("company", "customer")]
        found = []
        if accounts:
            chart = self._chart()
            found += [
                ReferenceProblem(
                    r,
                    "has no sub-account in FreshBooks' Chart of Accounts",
                    f"add a sub-account numbered {r.value} (or named '{r.value} <name>') in "
                    f"FreshBooks' Chart of Accounts, or correct {r.used_by}",
                )
                for r in accounts
                if r.value.strip() not in chart
            ]
        if clients and self.settings.mode == "invoice":
            known = self._client_ids()
            found += [
                ReferenceProblem(
                    r,
                    "is no FreshBooks client's organization",
                    f"create a client whose organization is {r.value!r} in FreshBooks (the "
                    f"location's daily invoices go to it), or correct {r.used_by}",
                )
                for r in clients
                if r.value.strip().lower() not in known
            ]
        return found

    def _business_problems(self) -> list[ReferenceProblem]:
        """What is wrong with the business closeout would post to: the setting, or the
        account kept with the consent, not among the user's businesses."""
        tokens = self.tokens.access()
        accounts = business_accounts(self.http, self.settings, tokens.access_token or "")
        listed = ", ".join(accounts) or "none"
        setting, kept = self.settings.account_id, tokens.account
        if setting and setting not in accounts:
            return [
                _own(
                    f"business {setting} is not one of this FreshBooks user's ({listed})",
                    f"set {_env('account_id')} to one of {listed}, or {RECONNECT} as a user "
                    f"of business {setting}",
                )
            ]
        if not setting and not kept and len(accounts) != 1:
            return [
                _own(
                    f"the FreshBooks user belongs to {len(accounts)} businesses ({listed})",
                    f"set {_env('account_id')} to the one closeout posts to",
                )
            ]
        if kept and kept not in accounts:
            return [_own(f"FreshBooks business {kept}, kept with the consent, is gone", RECONNECT)]
        if kept and setting and kept != setting:
            return [
                _own(
                    f"closeout posts to business {kept}, kept with the consent, not "
                    f"{_env('account_id')}={setting}",
                    f"{RECONNECT}, or set {_env('account_id')}={kept}",
                )
            ]
        self.tokens.use_account(kept or setting or accounts[0])
        return []

    # -- journal entries --------------------------------------------------------------------------
    def _create_entry(self, journal: Journal) -> str:
        body = {
            "journal_entry": {
                "name": journal.title,
                "description": _entry_description(journal),
                "currency_code": journal.currency,
                "user_entered_date": journal.document_date.isoformat(),
                "details": [self._detail(journal, line) for line in journal.lines],
            }
        }
        result = self._create(
            "journal_entries/journal_entries", body, journal, lambda: self._entry_id(journal)
        )
        return result if isinstance(result, str) else str(result["journal_entry"]["entryid"])

    def _detail(self, journal: Journal, line: Line) -> dict:
        sub_account, center_in_account = self._sub_account(journal, line)
        tags = [f"loc {line.location}"] if line.location else []
        if line.revenue_center and not center_in_account:
            tags.append(f"rc {line.revenue_center}")
        side = "debit" if line.debit > 0 else "credit"
        tag = f" [{' '.join(tags)}]" if tags else ""
        return {
            "sub_accountid": sub_account,
            side: money_text(line.debit or line.credit),
            # the tag is read back, so a long description is what gets cut
            "description": line.description[: 255 - len(tag)] + tag,
        }

    def _sub_account(self, journal: Journal, line: Line) -> tuple[int, bool]:
        """The line's sub-account id, and whether it stands for the revenue center too."""
        subs = self._chart()
        if line.revenue_center and f"{line.account}-{line.revenue_center}" in subs:
            return subs[f"{line.account}-{line.revenue_center}"], True
        if line.account in subs:
            return subs[line.account], False
        raise ErpRefusal(
            f"FreshBooks has no sub-account for account {line.account} (line {line.number} of "
            f"{journal.journal_id}, {journal.key}): add a sub-account numbered {line.account} "
            f"(or named '{line.account} <name>') under the right account in FreshBooks' Chart "
            "of Accounts, or map the line to an account that has one in the chart seed; then "
            "replay"
        )

    def _chart(self) -> dict[str, int]:
        """Sub-account ids by number, and by the first word of their name ("4000 Food
        Sales"); numbers win. One paged look-up per run."""
        if self._sub_accounts is None:
            by_number: dict[str, int] = {}
            by_name: dict[str, int] = {}
            for parent in self._all_pages(
                "journal_entry_accounts/journal_entry_accounts", "journal_entry_accounts"
            ):
                for sub in parent.get("sub_accounts") or []:
                    number = str(sub.get("account_sub_number") or "").strip()
                    words = str(sub.get("account_sub_name") or "").split()
                    if number:
                        by_number.setdefault(number, int(sub["sub_accountid"]))
                    if words:
                        by_name.setdefault(words[0], int(sub["sub_accountid"]))
            self._sub_accounts = {**by_name, **by_number}
            self._numbered = set(by_number)
        return self._sub_accounts

    def _entries_between(self, first: date, last: date) -> list[tuple[str, str, list[dict]]]:
        """(key, entry id, details) of the journal entries closeout made, dated first..last,
        from their details (FreshBooks lists entries only as details)."""
        entries: dict[str, tuple[str, list[dict]]] = {}
        for detail in self._all_pages(
            "journal_entries/journal_entry_details",
            "journal_entry_details",
            {"search[start_date]": first.isoformat(), "search[end_date]": last.isoformat()},
        ):
            key = _key_of(str(detail.get("name") or ""))
            if key:
                entries.setdefault(str(detail["entryid"]), (key, []))[1].append(detail)
        return [(key, entry_id, details) for entry_id, (key, details) in entries.items()]

    def _entry_id(self, journal: Journal) -> str | None:
        day = journal.document_date
        return next(
            (e for key, e, _ in self._entries_between(day, day) if key == journal.key), None
        )

    def _entry_read_back(
        self, key: str, entry_id: str, details: list[dict], journals: list[Journal]
    ) -> ErpDocument:
        """The entry as journal lines: account (and revenue center) from each detail's
        sub-account, location (and revenue center) from its description's tag."""
        sent = {(ln.account, ln.revenue_center) for j in journals for ln in j.lines}
        lines = []
        for number, detail in enumerate(details, start=1):
            text = str(detail.get("description") or "")
            tag = TAG_AT_END.search(text)
            location, tagged_center = (tag.group(1), tag.group(2)) if tag else (None, None)
            account, center = self._account_of(
                int(detail["sub_accountid"]), tagged_center, sent, key
            )
            lines.append(
                Line(
                    number=number,
                    account=account,
                    debit=Decimal(str(detail.get("debit") or "0")),
                    credit=Decimal(str(detail.get("credit") or "0")),
                    description=text[: tag.start()] if tag else text,
                    location=location,
                    revenue_center=center,
                )
            )
        return _document(key, entry_id, journals[0], lines)

    def _account_of(
        self, sub_account: int, tagged_center: str | None, sent: set, key: str
    ) -> tuple[str, str | None]:
        """(account, revenue center) a line sent to `sub_account` had. Several may reach the
        same sub-account (its number and its name's first word, "4000-BAR" as account 4000 at
        BAR or as account "4000-BAR"): what the journal now sends wins, then the reading
        `_sub_account` prefers."""
        subs = self._chart()
        names = sorted(
            (name for name, sub in subs.items() if sub == sub_account),
            key=lambda name: name not in self._numbered,
        )
        if not names:
            raise ErpRefusal(
                f"FreshBooks journal entry {key} has a line on sub-account {sub_account}, which "
                "is no longer in the Chart of Accounts: restore it in FreshBooks, or post "
                "this day's adjustments by hand; then post again"
            )
        if tagged_center:
            readings = [(name, tagged_center) for name in names]
        else:  # a "<code>-<center>" sub-account stands for the center too
            readings = [
                (name[:i], name[i + 1 :])
                for name in names
                for i, char in enumerate(name)
                if char == "-" and name[:i] in subs
            ] + [(name, None) for name in names]
        return next((r for r in readings if r in sent), readings[0])

    # -- invoices ---------------------------------------------------------------------------------
    def _create_invoice(self, journal: Journal) -> str:
        invoice = invoice_for(journal)
        if not invoice.ties(journal) or invoice.total < 0:
            raise ErpRefusal(
                f"{journal.journal_id} ({journal.key}) cannot be a FreshBooks invoice: its "
                f"lines come to {invoice.total} charged against {invoice.paid} paid (a day "
                "whose refunds exceed its sales, or an unbalanced journal); post it in journal "
                f"mode ({_env('mode')}=journal) and replay"
            )
        existing = self._partial_invoices.pop(journal.key, None)
        if existing is None:
            client = self._client(journal)
            body = {
                "invoice": {
                    "customerid": client,
                    "create_date": journal.document_date.isoformat(),
                    "currency_code": journal.currency,
                    "po_number": journal.key,
                    "notes": journal.title,
                    "lines": [
                        {
                            "type": 0,
                            "name": line.name[:255],
                            "description": line.text,
                            "qty": 1,
                            "unit_cost": {
                                "amount": money_text(line.amount),
                                "code": journal.currency,
                            },
                        }
                        for line in invoice.lines
                    ],
                }
            }
            result = self._create(
                "invoices/invoices", body, journal, lambda: self._invoice_id(journal)
            )
            invoice_id = result if isinstance(result, str) else str(result["invoice"]["invoiceid"])
            recorded: list[str] = []
        else:
            invoice_id = str(existing["invoiceid"])
            recorded = [
                str(p.get("note") or "")
                for p in self._all_pages(
                    "payments/payments", "payments", {"search[invoiceid]": invoice_id}
                )
            ]
        failpoint("freshbooks.after_invoice")
        for payment in invoice.payments:
            note = payment.note(journal.key)
            if any(text.startswith(payment.found_by(journal.key)) for text in recorded):
                continue
            body = {
                "payment": {
                    "invoiceid": int(invoice_id),
                    "amount": {"amount": money_text(payment.amount), "code": journal.currency},
                    "date": journal.document_date.isoformat(),
                    "type": payment.freshbooks_type,
                    "note": note,
                }
            }
            self._create(
                "payments/payments",
                body,
                journal,
                lambda note=note: self._payment_recorded(invoice_id, note),
            )
            failpoint("freshbooks.after_payment")
        return invoice_id

    def _client_ids(self) -> dict[str, int]:
        """Client ids by organization, lower case; deleted clients left out. One paged
        look-up per run."""
        if self._clients is None:
            self._clients = {}
            for client in self._all_pages("users/clients", "clients"):
                name = str(client.get("organization") or "").strip()
                if name and client.get("vis_state") != DELETED:
                    self._clients.setdefault(name.lower(), int(client["id"]))
        return self._clients

    def _client(self, journal: Journal) -> int:
        client = self._client_ids().get(journal.company.strip().lower())
        if client is None:
            raise ErpRefusal(
                f"FreshBooks has no client whose organization is {journal.company!r} for "
                f"{journal.location_name} ({journal.key}): create that client in FreshBooks, or "
                "set this location's erp_company in the locations seed to an existing client's "
                "organization; then replay"
            )
        return client

    def _invoices_between(self, first: date, last: date, *, lines: bool = False) -> list[dict]:
        search = {"search[date_min]": first.isoformat(), "search[date_max]": last.isoformat()}
        if lines:
            search["include[]"] = "lines"  # FreshBooks leaves lines out unless asked
        return self._all_pages("invoices/invoices", "invoices", search)

    def _invoice_id(self, journal: Journal) -> str | None:
        day = journal.document_date
        return next(
            (
                str(invoice["invoiceid"])
                for invoice in self._invoices_between(day, day)
                if invoice.get("po_number") == journal.key
            ),
            None,
        )

    def _invoices_held(
        self, by_identity: dict[str, list[Journal]], first: date, last: date
    ) -> Iterable[tuple[Journal, ErpDocument]]:
        """The paid invoices of the probed journals, each with the probe it answers (the one
        of its client's company), read back from their lines and payments. An invoice not yet
        fully paid is partial: kept for create() to complete, not held."""
        paid = []
        for invoice in self._invoices_between(first, last, lines=True):
            key = str(invoice.get("po_number") or "")
            journals = by_identity.get(_identity(key))
            if not journals:
                continue
            if Decimal(str(invoice["outstanding"]["amount"])) != 0:
                self._partial_invoices[key] = invoice
                continue
            company = str(invoice.get("organization") or "").strip().lower()
            probe = next((j for j in journals if j.company.lower() == company), journals[0])
            paid.append((probe, invoice))
        if not paid:
            return []
        payments: dict[str, list[dict]] = defaultdict(list)
        for payment in self._all_pages(
            "payments/payments",
            "payments",
            {"search[date_min]": first.isoformat(), "search[date_max]": last.isoformat()},
        ):
            payments[str(payment.get("invoiceid"))].append(payment)
        return [
            (probe, _invoice_read_back(invoice, payments[str(invoice["invoiceid"])], probe))
            for probe, invoice in paid
        ]

    def _payment_recorded(self, invoice_id: str, note: str) -> str | None:
        for payment in self._all_pages(
            "payments/payments", "payments", {"search[invoiceid]": invoice_id}
        ):
            if payment.get("note") == note:
                return str(payment["paymentid"])
        return None

    # -- requests ---------------------------------------------------------------------------------
    def _url(self, resource: str) -> str:
        account = self.tokens.current().account
        return f"{self.settings.base_url.rstrip('/')}/accounting/account/{account}/{resource}"

    def _all_pages(self, resource: str, name: str, search: dict | None = None) -> list[dict]:
        rows, page = [], 1
        while True:
            result = self._call(
                "GET", resource, params={**(search or {}), "page": page, "per_page": PER_PAGE}
            )
            rows += result.get(name) or []
            if page >= int(result.get("pages") or 1):
                return rows
            page += 1

    def _call(
        self,
        method: str,
        resource: str,
        *,
        params: dict | None = None,
        body: dict | None = None,
        http: ErpHttp | None = None,
        journal: Journal | None = None,
    ) -> dict:
        """The `result` of one API call; a refused access token is renewed once."""
        response = send_renewing(
            lambda token: (http or self.http).request(
                method,
                self._url(resource),
                params=params,
                content=json.dumps(body) if body is not None else None,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Api-Version": "alpha",  # what FreshBooks' Node SDK sends on every call
                    # the SDKs declare JSON only for a body they send
                    **({"Content-Type": "application/json"} if body is not None else {}),
                },
            ),
            lambda: str(self.tokens.current().access_token),
            self.tokens.renew,
        )
        return _result(response, method, resource, journal)

    def _create(
        self, resource: str, body: dict, journal: Journal, find: Callable[[], str | None]
    ) -> dict | str:
        """POST once; when the answer is lost (dropped connection, 5xx) look for the document
        before sending it again; 429 means not done, so wait and resend."""
        return create_looking_first(
            lambda: self._call("POST", resource, body=body, http=self._once, journal=journal),
            find,
            attempts=CREATE_ATTEMPTS,
            lost=(_LostAnswer, ErpUnavailable),
            sleep=self._sleep,
            backoff=lambda attempt: min(30.0, 0.5 * 2**attempt),
            exhausted=lambda: ErpUnavailable(
                f"FreshBooks did not answer {resource} for {journal.key} after "
                f"{CREATE_ATTEMPTS} attempts; the journal stays unposted and the next run looks "
                "for it before sending it again"
            ),
        )


class _LostAnswer(Exception):
    pass


def _result(response: httpx.Response, method: str, resource: str, journal: Journal | None) -> dict:
    what = f"{method} {resource}" + (
        f" for {journal.journal_id} ({journal.key})" if journal else ""
    )
    if response.status_code == 429:
        raise Throttled(retry_after_seconds(response.headers.get("Retry-After")))
    if response.status_code >= 500:
        raise _LostAnswer(f"HTTP {response.status_code}")
    data = _json(response)
    problems = _problems(data)
    if response.status_code == 401:
        raise ErpAuthError(
            f"FreshBooks refused the access token twice on {what}: "
            f"{data.get('error_description') or response.text[:200]}; {RECONNECT}"
        )
    if response.status_code == 403:
        raise ErpAuthError(
            f"FreshBooks refused access on {what}: "
            f"{'; '.join(problems) or response.text[:200]}; check "
            f"{_env('account_id')} and the app's scopes, or {RECONNECT}"
        )
    if problems or response.status_code >= 400:
        status = f" (HTTP {response.status_code})" if response.status_code != 200 else ""
        then = f"; then run `closeout replay {journal.journal_id}`" if journal else ""
        raise ErpRefusal(
            f"FreshBooks refused {what}{status}: {'; '.join(problems) or response.text[:300]}{then}"
        )
    result = (data.get("response") or {}).get("result")
    if not isinstance(result, dict):
        raise ErpUnavailable(f"FreshBooks answered {what} without a result: {response.text[:300]}")
    return result


def _problems(data: dict) -> list[str]:
    """FreshBooks' old-style errors (inside HTTP 200 too) and new-style details, each with
    the field it is about."""
    old = (data.get("response") or {}).get("errors") or data.get("errors") or []
    found = [
        _problem(e.get("message"), e.get("field"), e.get("value"), e.get("errno"))
        for e in old
        if isinstance(e, dict)
    ]
    for detail in data.get("details") or []:
        meta = detail.get("metadata") or {}
        found.append(
            _problem(
                meta.get("message") or data.get("message"),
                meta.get("field"),
                meta.get("value"),
                detail.get("reason"),
            )
        )
    if not found and "code" in data and data.get("message") and data.get("code") != 0:
        found.append(str(data["message"]))
    return found


def _problem(message, field, value, errno) -> str:
    text = str(message or "error")
    if field:
        text += f" (field {field}" + (f" = {value}" if value not in (None, "") else "") + ")"
    if errno:
        text += f" [errno {errno}]"
    return text + _fix(str(field or ""))


def _fix(field: str) -> str:
    fixes = {
        "sub_accountid": ": a sub-account closeout looked up is gone; restore it in "
        "FreshBooks' Chart of Accounts (`closeout check` lists what is missing)",
        "currency_code": ": the journal's currency is not the business currency; fix the "
        "currency in the locations or settings seed",
        "customerid": ": the location's client is gone; recreate it in FreshBooks or fix "
        "erp_company in the locations seed",
        "type": ": a payment type FreshBooks does not offer; update closeout",
        "description": ": set the location up in FreshBooks",
        "details": ": the journal's debits and credits differ; run `closeout build`, whose "
        "tests hold an unbalanced journal, and report it if they pass",
        "invoiceid": ": the invoice closeout created for this day is gone; restore it in "
        "FreshBooks, or delete its payments there so the day is posted afresh",
    }
    return fixes.get(field, "")


def _own(problem: str, fix: str) -> ReferenceProblem:
    """A problem with the connector's own settings (the business)."""
    return ReferenceProblem(None, problem, fix)


def _json(response: httpx.Response) -> dict:
    """The answer as a dict; {} for anything else (the status then tells what happened)."""
    data = json_body(response, "FreshBooks", default={})
    return data if isinstance(data, dict) else {}


def _key_of(name: str) -> str | None:
    match = KEY_AT_END.search(name)
    return match.group(1) if match else None


def _identity(key: str) -> str | None:
    try:
        return key_identity(key)
    except ValueError:
        return None  # not a closeout key: someone else's document


def _search_range(probes: Sequence[Journal]) -> tuple[date, date]:
    """From the first business date to today: an adjustment of a closed period may be dated
    any day since. A day more for FreshBooks' own time zone being ahead of ours."""
    first = min(p.business_date for p in probes)
    last = max(date.today() + timedelta(days=1), *(p.document_date for p in probes))
    return first, last


def _document(key: str, document_id: str, probe: Journal, lines: list[Line]) -> ErpDocument:
    return ErpDocument(
        key=key,
        document_id=document_id,
        company=probe.company,
        division=probe.division,
        lines=tuple(lines),
    )


def _invoice_read_back(invoice: dict, payments: list[dict], probe: Journal) -> ErpDocument:
    """The journal lines a paid invoice stands for: those its lines and payments carry. The
    amount FreshBooks holds wins: an edit there shows on the largest part of the line."""
    key, number = str(invoice["po_number"]), f"{invoice.get('invoice_number') or invoice['id']}"
    pieces = [
        (str(ln.get("description") or ""), -Decimal(str(ln["amount"]["amount"])))
        for ln in invoice.get("lines") or []
    ] + [(str(p.get("note") or ""), Decimal(str(p["amount"]["amount"]))) for p in payments]
    lines: list[Line] = []
    for text, held_net in pieces:
        read = parts_of(text)
        if read is None or (held_net and not read[1]):
            raise ErpRefusal(
                f"FreshBooks invoice {number} ({key}, {probe.journal_id}) was posted by a "
                "closeout that kept no account detail on invoice lines and payments, so what "
                "FreshBooks holds of this day cannot be read back as journal lines: post this "
                "day from the warehouse that posted the invoice, or delete the invoice and its "
                "payments in FreshBooks and post again"
            )
        description, parts = read
        for (account, location, center), net in _held_as(parts, held_net).items():
            lines.append(
                Line(
                    number=len(lines) + 1,
                    account=account,
                    debit=net if net > 0 else ZERO,
                    credit=-net if net < 0 else ZERO,
                    description=description,
                    location=location,
                    revenue_center=center,
                )
            )
    return _document(key, str(invoice["invoiceid"]), probe, lines)


def _held_as(parts: Parts, held_net: Decimal) -> Parts:
    """`parts`, with what FreshBooks holds (`held_net`, net debit) differing from their sum
    put on the largest part."""
    gap = held_net - sum(parts.values(), ZERO)
    if not gap:
        return parts
    largest = max(parts, key=lambda k: abs(parts[k]))
    return {**parts, largest: parts[largest] + gap}


def _entry_description(journal: Journal) -> str:
    if journal.kind == "adjustment":
        return f"Adjusts FreshBooks journal entry/invoice {journal.adjusts}. {journal.title}"
    return journal.title


def open_connector(http: ErpHttp) -> FreshBooksConnector:
    """The connector, its settings from the environment or dlt config (see the registry)."""
    return FreshBooksConnector(FreshBooksSettings.from_config(), http)


def connect(http: ErpHttp, *, code: str | None = None, echo: Callable[[str], None] = print) -> str:
    """`closeout connect freshbooks`: consent once, store the tokens, return the account.

    With a loopback redirect URI the browser's redirect is received here; with FreshBooks'
    required https one the operator pastes the address the browser was sent to (state checked),
    or passes the code (or that address) with --code from an earlier consent."""
    settings = FreshBooksSettings.from_config()
    store = RotatingTokenStore("freshbooks")
    if code:
        received = _code_from_paste(code)
    else:
        received = consent_code(
            settings.auth_url,
            settings.client_id,
            settings.redirect_uri,
            echo=echo,
            invitation="Open this address in a browser and allow closeout to post to FreshBooks:",
            extra={"scope": settings.scope} if settings.scope else None,
        )
    tokens = exchange_tokens(
        http,
        settings,
        {
            "grant_type": "authorization_code",
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "code": received,
            "redirect_uri": settings.redirect_uri,
        },
        "the authorization code",
    )
    store.save_locked(tokens)  # saved before it is used for anything
    account = find_account(http, settings, tokens.access_token or "")
    store.set_account(account)
    return f"account {account}"


def _code_from_paste(text: str) -> str:
    """The code, or the code of a pasted address; one without a code is refused (FreshBooks'
    https redirect cannot be received here, so there is no consent to fall back on)."""
    text = text.strip()
    if "?" not in text:
        return text
    params = query_params(text)
    check_not_refused(params)
    if not params.get("code"):
        raise ErpAuthError("the address carries no authorization code")
    return params["code"]
