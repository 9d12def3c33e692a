"""The Exact Online sandbox enforces the vendor's rules: the consent and rotating refresh tokens
with reuse detection, bearer auth, the minutely and daily limits and their headers, validation
errors as HTTP 500 in Exact's envelope (localised), paging, and what it keeps."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandboxes.exact.server import ExactSandbox
from tests.kit import SandboxClient, control, served

ENTRIES = "/api/v1/100001/generaljournalentry/GeneralJournalEntries"
LINES = "/api/v1/100001/generaljournalentry/GeneralJournalEntryLines"


@pytest.fixture(scope="module")
def server():
    with served(ExactSandbox()) as server:
        yield server


class Client(SandboxClient):
    def __init__(self, server):
        super().__init__(server.url)
        self.sandbox: ExactSandbox = server.app
        self.refresh_token = self.sandbox.initial_refresh_token
        self.access_token: str | None = None

    def token(self, **form) -> httpx.Response:
        config = self.sandbox.config
        return httpx.post(
            f"{self.url}/api/oauth2/token",
            data={"client_id": config.client_id, "client_secret": config.client_secret, **form},
        )

    def refresh(self, token: str | None = None) -> httpx.Response:
        response = self.token(grant_type="refresh_token", refresh_token=token or self.refresh_token)
        if response.status_code == 200:
            self.refresh_token = response.json()["refresh_token"]
            self.access_token = response.json()["access_token"]
        return response

    def api(self, method: str, path: str, headers: dict | None = None, **kwargs) -> httpx.Response:
        if self.access_token is None:
            assert self.refresh().status_code == 200
        return httpx.request(
            method,
            self.url + path,
            headers={
                "Authorization": f"Bearer {self.access_token}",
                "Accept": "application/json",
                **(headers or {}),
            },
            **kwargs,
        )

    def guid(self, code: str) -> str:
        return self.sandbox.config.account_guids()[code]


@pytest.fixture
def exact(server) -> Client:
    control(server.url, "reset")
    return Client(server)


def entry(exact: Client, *amounts: str, **line_extra) -> dict:
    codes = ["1010", "4000", "2200", "4010"]
    return {
        "JournalCode": "90",
        "GeneralJournalEntryLines": [
            {
                "Date": "2026-01-05",
                "GLAccount": exact.guid(codes[i]),
                "AmountFC": Decimal(a),
                "Description": f"line {i} CO-KEY-1",
                **line_extra,
            }
            for i, a in enumerate(amounts)
        ],
    }


def post_entry(exact: Client, body: dict) -> httpx.Response:
    from sandboxes.http import dump_json

    return exact.api(
        "POST", ENTRIES, content=dump_json(body), headers={"Content-Type": "application/json"}
    )


def message(response: httpx.Response) -> str:
    return response.json()["error"]["message"]["value"]


# -- OAuth ----------------------------------------------------------------------------------------
def test_consent_redirects_with_code_and_state_and_the_code_works_once(exact):
    config = exact.sandbox.config
    consent = httpx.get(
        f"{exact.url}/api/oauth2/auth",
        params={
            "client_id": config.client_id,
            "redirect_uri": config.redirect_uri,
            "response_type": "code",
            "state": "s-123",
        },
    )
    assert consent.status_code == 302
    target = urlsplit(consent.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == config.redirect_uri
    params = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert params["state"] == "s-123"

    wrong_uri = exact.token(
        grant_type="authorization_code",
        code=params["code"],
        redirect_uri="http://127.0.0.1:1/other",
    )
    assert wrong_uri.status_code == 400 and wrong_uri.json()["error"] == "invalid_grant"
    # The code is spent by the refused attempt too: single use.
    again = exact.token(
        grant_type="authorization_code", code=params["code"], redirect_uri=config.redirect_uri
    )
    assert again.status_code == 400

    fresh = urlsplit(
        httpx.get(
            f"{exact.url}/api/oauth2/auth",
            params={
                "client_id": config.client_id,
                "redirect_uri": config.redirect_uri,
                "response_type": "code",
                "state": "x",
            },
        ).headers["Location"]
    ).query
    answer = exact.token(
        grant_type="authorization_code",
        code=parse_qs(fresh)["code"][0],
        redirect_uri=config.redirect_uri,
    )
    body = answer.json()
    assert answer.status_code == 200 and body["expires_in"] == "600"  # a numeric string
    assert body["refresh_token"] and body["access_token"]


def test_unregistered_redirect_uri_and_client_are_refused(exact):
    config = exact.sandbox.config
    assert (
        httpx.get(
            f"{exact.url}/api/oauth2/auth",
            params={
                "client_id": config.client_id,
                "redirect_uri": "http://evil.example/cb",
                "response_type": "code",
            },
        ).status_code
        == 400
    )
    assert (
        httpx.post(
            f"{exact.url}/api/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": config.client_id,
                "client_secret": "nope",
                "refresh_token": exact.refresh_token,
            },
        ).status_code
        == 401
    )


def test_refresh_rotates_and_a_reused_token_revokes_the_family(exact):
    first = exact.refresh_token
    assert exact.refresh().status_code == 200
    second, access = exact.refresh_token, exact.access_token
    assert second != first
    assert exact.api("GET", "/api/v1/current/Me").status_code == 200

    reused = exact.refresh(first)
    assert (
        reused.status_code == 400
        and reused.json()["error_description"] == "Old refresh token used."
    )
    # Reuse looks like theft: the family is gone, the newest refresh and access tokens too.
    assert exact.token(grant_type="refresh_token", refresh_token=second).status_code == 400
    exact.access_token = access
    assert exact.api("GET", "/api/v1/current/Me").status_code == 401
    assert exact.control("stats")["reuse_detected"] == 1


def test_a_new_access_token_is_refused_while_the_current_one_is_young(exact):
    assert exact.refresh().status_code == 200
    early = exact.refresh()
    assert early.status_code == 400 and "too early" in early.json()["error_description"]
    exact.control("expire_tokens")
    assert exact.api("GET", "/api/v1/current/Me").status_code == 401
    assert exact.refresh().status_code == 200  # expired: refreshing is due
    assert exact.api("GET", "/api/v1/current/Me").status_code == 200


def test_reset_makes_the_preauthorised_refresh_token_work_again(exact):
    assert exact.refresh().status_code == 200
    exact.control("reset")
    assert exact.refresh(exact.sandbox.initial_refresh_token).status_code == 200


# -- limits ---------------------------------------------------------------------------------------
def test_minutely_limit_headers_and_429_then_the_next_minute(exact):
    # A fractional "minute": JSON numbers reach the sandbox as Decimal.
    exact.control("configure", {"minutely_limit": 2, "minute_seconds": 2.5})
    exact.refresh()
    # The limits read a clock the test holds (no sleeping against a 2.5 s window): it starts
    # at the start of window 708,000,000 (2.5 s x 708,000,000 = epoch 1,770,000,000 s).
    now = [1_770_000_000.0]
    exact.sandbox.limits.clock = lambda: now[0]
    first = exact.api("GET", "/api/v1/current/Me")
    assert first.headers["X-RateLimit-Minutely-Remaining"] == "1"
    assert int(first.headers["X-RateLimit-Remaining"]) == 5000 - 1
    assert first.headers["X-RateLimit-Minutely-Reset"] == "1770000002500"  # the window's end
    now[0] += 2.4
    assert exact.api("GET", "/api/v1/current/Me").status_code == 200
    throttled = exact.api("GET", "/api/v1/current/Me")
    assert throttled.status_code == 429 and "Retry-After" not in throttled.headers
    assert "X-RateLimit-Remaining" not in throttled.headers  # only the minutely headers
    assert throttled.headers["X-RateLimit-Minutely-Reset"] == "1770000002500"
    now[0] = 1_770_000_002.499  # a millisecond before the reset: still spent
    assert exact.api("GET", "/api/v1/current/Me").status_code == 429
    now[0] = 1_770_000_002.5  # the next window
    again = exact.api("GET", "/api/v1/current/Me")
    assert again.status_code == 200 and again.headers["X-RateLimit-Minutely-Remaining"] == "1"


def test_daily_limit_429_until_the_day_is_advanced(exact):
    exact.control("configure", {"daily_limit": 2})
    exact.refresh()
    assert exact.api("GET", "/api/v1/current/Me").headers["X-RateLimit-Remaining"] == "1"
    assert exact.api("GET", "/api/v1/current/Me").status_code == 200
    spent = exact.api("GET", "/api/v1/current/Me")
    assert spent.status_code == 429 and spent.headers["X-RateLimit-Remaining"] == "0"
    assert int(spent.headers["X-RateLimit-Reset"]) > time.time() * 1000
    assert "X-RateLimit-Minutely-Remaining" not in spent.headers
    exact.control("advance_day")
    assert exact.api("GET", "/api/v1/current/Me").status_code == 200


# -- entries --------------------------------------------------------------------------------------
def test_balanced_entry_is_stored_whole_and_read_back(exact):
    created = post_entry(exact, entry(exact, "100.50", "-90.25", "-10.25"))
    assert created.status_code == 201
    header = created.json()["d"]
    assert header["JournalCode"] == "90" and header["Type"] == 90
    lines = exact.api(
        "GET",
        LINES,
        params={
            "$filter": f"EntryID eq guid'{header['EntryID']}'",
            "$select": "LineNumber,GLAccountCode,AmountFC,Description",
        },
    )
    rows = json.loads(lines.content, parse_float=Decimal)["d"]["results"]
    assert [(r["LineNumber"], r["GLAccountCode"], r["AmountFC"]) for r in rows] == [
        (1, "1010", Decimal("100.50")),
        (2, "4000", Decimal("-90.25")),
        (3, "2200", Decimal("-10.25")),
    ]


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "This entry is not balanced on: 2026 / 1 (Type: Other) - Difference: USD 1,000.00"),
        (
            "nl",
            "Deze boeking is niet in balans op: 2026 / 1 (Type: Overig) - Verschil: USD 1.000,00",
        ),
    ],
)
def test_unbalanced_entry_is_a_localised_500_and_nothing_is_kept(exact, language, expected):
    exact.control("configure", {"language": language})
    refused = post_entry(exact, entry(exact, "500.00", "500.00"))
    assert refused.status_code == 500 and message(refused) == expected
    assert exact.control("entries") == []


@pytest.mark.parametrize(
    "change, status, words",
    [
        (lambda b: b["GeneralJournalEntryLines"][0].update(GLAccount="1010"), 400, "'Guid'"),
        (
            lambda b: b["GeneralJournalEntryLines"][0].update(
                GLAccount="00000000-0000-0000-0000-000000000000"
            ),
            500,
            "Invalid: G/L account",
        ),
        (
            lambda b: b["GeneralJournalEntryLines"][0].pop("GLAccount"),
            500,
            "Mandatory: G/L account",
        ),
        (
            lambda b: b["GeneralJournalEntryLines"][0].update(CostCenter="NOPE"),
            500,
            "Invalid: Cost center NOPE",
        ),
        (
            lambda b: b["GeneralJournalEntryLines"][0].update(CostUnit="NOPE"),
            500,
            "Invalid: Cost unit NOPE",
        ),
        (lambda b: b.update(Description="Toast sales"), 500, "without VAT"),
        (lambda b: b["GeneralJournalEntryLines"][0].update(VATCode="2"), 500, "no VAT"),
        (lambda b: b.update(JournalCode="70"), 500, "Invalid: Journal 70"),
        (lambda b: b["GeneralJournalEntryLines"][0].update(Description="x" * 61), 500, "too long"),
        (lambda b: b.update(Currency="EUR"), 500, "Invalid: Currency EUR"),
    ],
)
def test_invalid_entries_are_refused_whole_in_the_envelope(exact, change, status, words):
    body = entry(exact, "10.00", "-10.00", CostCenter="BKN", CostUnit="BAR")
    change(body)
    refused = post_entry(exact, body)
    assert refused.status_code == status and words in message(refused)
    assert exact.control("entries") == []


def test_lines_are_found_by_key_and_duplicates_are_counted(exact):
    assert post_entry(exact, entry(exact, "1.00", "-1.00")).status_code == 201
    assert post_entry(exact, entry(exact, "1.00", "-1.00")).status_code == 201  # Exact allows it
    found = exact.api(
        "GET",
        LINES,
        params={
            "$filter": "LineNumber eq 1 and (substringof('CO-KEY-1',Description) eq true or "
            "substringof('CO-OTHER',Description) eq true)",
            "$select": "EntryID",
        },
    )
    assert len(found.json()["d"]["results"]) == 2
    assert exact.control("stats")["duplicates"] == 1
    bad = exact.api("GET", LINES, params={"$filter": "substringof('x' Description)"})
    assert bad.status_code == 400 and message(bad) == "Bad Request - Error in query syntax."


def test_pages_of_sixty_follow_next(exact):
    exact.control("configure", {"accounts": [f"{n:04d}" for n in range(1, 131)]})
    seen, url = [], f"{exact.url}/api/v1/100001/financial/GLAccounts?$select=ID,Code"
    pages = 0
    while url:
        response = exact.api("GET", url.removeprefix(exact.url))
        body = response.json()["d"]
        seen += [row["Code"] for row in body["results"]]
        pages += 1
        url = body.get("__next")
    assert pages == 3 and len(seen) == 130 and len(set(seen)) == 130


def test_requests_without_a_valid_token_are_401(exact):
    response = httpx.get(f"{exact.url}/api/v1/current/Me", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


# -- reading back by date, closed periods ---------------------------------------------------------
def dated(exact: Client, when: str) -> dict:
    body = entry(exact, "5.00", "-5.00")
    for line in body["GeneralJournalEntryLines"]:
        line.update(Date=when, Description=f"{when} CO-KEY-1")
    return body


@pytest.mark.parametrize(
    "condition, dates",
    [
        ("Date ge datetime'2026-01-05T00:00:00'", ["2026-01-05", "2026-02-01"]),
        # a date alone, as the community client (exactonline) writes it
        ("Date ge datetime'2026-01-05'", ["2026-01-05", "2026-02-01"]),
        ("Date gt datetime'2026-01-05T00:00'", ["2026-02-01"]),
        ("Date le datetime'2026-01-05T00:00:00'", ["2026-01-04", "2026-01-05"]),
        ("Date lt datetime'2026-01-05T00:00:00.000'", ["2026-01-04"]),
        (
            "Date ge datetime'2026-01-05T00:00:00' and Date le datetime'2026-01-31T00:00:00' "
            "and substringof('CO-KEY',Description) eq true",
            ["2026-01-05"],
        ),
    ],
)
def test_lines_are_filtered_by_date_with_datetime_literals(exact, condition, dates):
    for when in ("2026-01-04", "2026-01-05", "2026-02-01"):
        assert post_entry(exact, dated(exact, when)).status_code == 201
    found = exact.api(
        "GET", LINES, params={"$filter": f"LineNumber eq 1 and {condition}", "$select": "Date"}
    )
    assert found.status_code == 200, found.text
    stamps = [row["Date"] for row in found.json()["d"]["results"]]
    assert stamps == [f"/Date({_ms(when)})/" for when in dates]


@pytest.mark.parametrize(
    "condition", ["Date ge '2026-01-05'", "Date ge datetime'x'", "Date ge datetime'2026-1-5'"]
)
def test_a_date_compared_without_odatas_datetime_literal_is_refused(exact, condition):
    assert post_entry(exact, dated(exact, "2026-01-05")).status_code == 201
    found = exact.api("GET", LINES, params={"$filter": condition})
    assert found.status_code == 400 and message(found) == "Bad Request - Error in query syntax."


@pytest.mark.parametrize(
    "language, expected",
    [("en", "Period is closed: 2026 – 1"), ("nl", "Periode is afgesloten: 2026 – 1")],
)
def test_an_entry_in_a_closed_period_is_a_localised_500(exact, language, expected):
    exact.control("configure", {"language": language, "periods_closed_through": "2026-01-15"})
    refused = post_entry(exact, dated(exact, "2026-01-31"))
    assert refused.status_code == 500 and message(refused) == expected
    assert exact.control("entries") == []
    taken = post_entry(exact, dated(exact, "2026-02-01"))  # the next period is open
    assert taken.status_code == 201 and taken.json()["d"]["FinancialPeriod"] == 2


def test_close_periods_closes_whole_periods_through_a_date_and_null_opens_them(exact):
    assert exact.control("close_periods", {"through": "2026-02-10"}) == {
        "periods_closed_through": "2026-02-10"
    }
    assert post_entry(exact, dated(exact, "2026-02-28")).status_code == 500  # all of February
    assert post_entry(exact, dated(exact, "2026-03-01")).status_code == 201
    exact.control("close_periods", {"through": None})
    assert post_entry(exact, dated(exact, "2026-01-05")).status_code == 201


def test_remove_line_leaves_an_entry_without_it(exact):
    created = post_entry(exact, entry(exact, "10.00", "-4.00", "-6.00")).json()["d"]
    removed = exact.control("remove_line", {"entry": created["EntryID"], "line": 3})
    assert removed == {"removed": 1}
    [kept] = exact.control("entries")
    assert [line["LineNumber"] for line in kept["lines"]] == [1, 2]


def _ms(when: str) -> int:
    from datetime import datetime, timezone

    moment = datetime.fromisoformat(when).replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


# -- the OData the vendor's REST API and the community client use ---------------------------------
def test_an_entry_reads_back_with_its_lines_expanded_by_filter_and_by_key(exact):
    created = post_entry(exact, entry(exact, "7.25", "-7.25", CostCenter="BKN")).json()["d"]
    expand = {
        "$expand": "GeneralJournalEntryLines",
        "$select": "EntryID,JournalCode,GeneralJournalEntryLines/AmountFC,"
        "GeneralJournalEntryLines/CostCenter",
    }
    listed = exact.api("GET", ENTRIES, params={"$filter": "JournalCode eq '90'", **expand})
    [row] = json.loads(listed.content, parse_float=Decimal)["d"]["results"]
    assert row["EntryID"] == created["EntryID"] and "Type" not in row
    assert row["GeneralJournalEntryLines"] == {
        "results": [
            {"AmountFC": Decimal("7.25"), "CostCenter": "BKN"},
            {"AmountFC": Decimal("-7.25"), "CostCenter": "BKN"},
        ]
    }
    # the address the POST answered with is one the sandbox serves: d is the entry itself
    by_key = urlsplit(created["__metadata"]["uri"]).path
    one = exact.api("GET", by_key, params=expand).json()["d"]
    assert (
        one["EntryID"] == created["EntryID"]
        and len(one["GeneralJournalEntryLines"]["results"]) == 2
    )
    deferred = urlsplit(created["GeneralJournalEntryLines"]["__deferred"]["uri"]).path
    lines = exact.api("GET", deferred, params={"$select": "LineNumber"}).json()["d"]["results"]
    assert [line["LineNumber"] for line in lines] == [1, 2]
    # without $expand the lines stay a deferred link; a line field in $select needs the $expand
    plain = exact.api("GET", ENTRIES).json()["d"]["results"][0]
    assert set(plain["GeneralJournalEntryLines"]) == {"__deferred"}
    refused = exact.api("GET", ENTRIES, params={"$select": "GeneralJournalEntryLines/AmountFC"})
    assert refused.status_code == 400 and "$expand" in message(refused)


@pytest.mark.parametrize(
    "condition, codes",
    [
        ("startswith(Code,'40')", ["4000", "4010", "4020"]),
        ("startswith(Code,'40') eq true and not (Code eq '4010')", ["4000", "4020"]),
        ("endswith(Code,'010') and IsBlocked eq false", ["1010", "4010"]),
        ("substringof('02',Code) and Code ne '1020'", ["4020"]),
        ("IsBlocked eq true", ["2200"]),
    ],
)
def test_functions_booleans_and_not_in_filters(exact, condition, codes):
    exact.control("configure", {"blocked_accounts": ["2200"]})
    found = exact.api("GET", "/api/v1/100001/financial/GLAccounts", params={"$filter": condition})
    assert found.status_code == 200, found.text
    assert [r["Code"] for r in found.json()["d"]["results"] if r["Code"] in _SOME] == codes


_SOME = {"1010", "1020", "2200", "4000", "4010", "4020"}


def test_skip_top_orderby_and_inlinecount(exact):
    exact.control("configure", {"accounts": [f"{n:04d}" for n in range(1, 131)]})
    url = "/api/v1/100001/financial/GLAccounts"
    body = exact.api(
        "GET",
        url,
        params={
            "$select": "Code",
            "$orderby": "Code desc",
            "$skip": "5",
            "$top": "70",
            "$inlinecount": "allpages",
        },
    ).json()["d"]
    assert body["__count"] == "130"
    assert [r["Code"] for r in body["results"]][:2] == ["0125", "0124"]
    assert len(body["results"]) == 60
    rest = exact.api("GET", body["__next"].removeprefix(exact.url)).json()["d"]
    assert [r["Code"] for r in rest["results"]] == [f"{n:04d}" for n in range(65, 55, -1)]
    assert "__next" not in rest


@pytest.mark.parametrize(
    "params, words",
    [
        ({"$search": "x"}, "'$search' begins with a system-reserved '$'"),
        ({"$orderby": "Nope"}, "No property 'Nope'"),
        ({"$skip": "-1"}, "Error in query syntax"),
        ({"$expand": "Lines"}, "Could not find a property named 'Lines'"),
        ({"$inlinecount": "some"}, "Error in query syntax"),
    ],
)
def test_what_odata_refuses_is_a_400_in_exacts_envelope(exact, params, words):
    refused = exact.api("GET", "/api/v1/100001/financial/GLAccounts", params=params)
    assert refused.status_code == 400 and words in message(refused)


def test_master_data_as_exact_names_it(exact):
    exact.control(
        "configure",
        {
            "journals": {"90": "Memorial", "20": "Sales"},
            "journal_types": {"20": 20},
            "inactive_cost_centers": ["SLK"],
            "relations": {"7": "Harbor Produce"},
        },
    )

    def listed(resource: str, **params) -> list[dict]:
        response = exact.api("GET", f"/api/v1/100001/{resource}", params=params)
        assert response.status_code == 200, response.text
        return response.json()["d"]["results"]

    journals = listed("financial/Journals", **{"$select": "Code,Type,TypeDescription"})
    assert [(j["Code"], j["Type"], j["TypeDescription"]) for j in journals] == [
        ("90", 90, "General journal"),
        ("20", 20, "Sales"),
    ]
    centers = listed("hrm/Costcenters", **{"$filter": "Active eq false", "$select": "Code"})
    assert [c["Code"] for c in centers] == ["SLK"]
    units = listed("hrm/Costunits", **{"$select": "Code"})
    assert [u["Code"] for u in units] == exact.sandbox.config.cost_units
    [division] = listed("system/Divisions", **{"$filter": "Code eq 100001"})
    assert division["Status"] == 1 and division["Current"] is True
    [relation] = listed("crm/Accounts", **{"$filter": "Code eq '                 7'"})
    assert relation["Name"] == "Harbor Produce"
    assert exact.api("GET", "/api/v1/100001/hrm/CostCenters").status_code == 404  # Costcenters


@pytest.mark.parametrize(
    "configure, change, words",
    [
        ({"blocked_accounts": ["4000"]}, lambda b: None, "G/L account 4000 is blocked"),
        (
            {"inactive_cost_centers": ["BKN"]},
            lambda b: b["GeneralJournalEntryLines"][0].update(CostCenter="BKN"),
            "Invalid: Cost center BKN",
        ),
        (
            {"journals": {"90": "Memorial", "20": "Sales"}, "journal_types": {"20": 20}},
            lambda b: b.update(JournalCode="20"),
            "The journal must be a general journal",
        ),
    ],
)
def test_blocked_inactive_and_non_general_are_refused(exact, configure, change, words):
    exact.control("configure", configure)
    body = entry(exact, "3.00", "-3.00")
    change(body)
    refused = post_entry(exact, body)
    assert refused.status_code == 500 and words in message(refused)
    assert exact.control("entries") == []
