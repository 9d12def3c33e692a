"""The FreshBooks sandbox enforces FreshBooks' rules: OAuth codes and single-use rotating
refresh tokens with reuse detection, token requests in JSON or form-encoded, bearer expiry, paging
caps, balanced entries, FreshBooks' error statuses in the old and new formats (and old-style
inside HTTP 200), invoices and payments, the chart and clients losing an entry, throttling."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandboxes import freshbooks
from sandboxes.freshbooks.server import FreshBooksSandbox
from tests import kit


@pytest.fixture(scope="module")
def served():
    with kit.served(FreshBooksSandbox()) as server:
        yield server.app, server


@pytest.fixture
def fb(served):
    sandbox, server = served
    control(server, "reset")
    return sandbox, server, freshbooks.connector_env(sandbox, server)


def token(env, **body):
    return httpx.post(
        f"{env['ERP__FRESHBOOKS__BASE_URL']}/auth/oauth/token",
        json={
            "client_id": env["ERP__FRESHBOOKS__CLIENT_ID"],
            "client_secret": env["ERP__FRESHBOOKS__CLIENT_SECRET"],
            "redirect_uri": env["ERP__FRESHBOOKS__REDIRECT_URI"],
            **body,
        },
    )


def refresh(env, refresh_token):
    return token(env, grant_type="refresh_token", refresh_token=refresh_token)


def api(env, access, method, resource, **kwargs):
    url = f"{env['ERP__FRESHBOOKS__BASE_URL']}/accounting/account/xZNQ1X/{resource}"
    return httpx.request(method, url, headers={"Authorization": f"Bearer {access}"}, **kwargs)


def access_token(env) -> str:
    return refresh(env, env["ERP__FRESHBOOKS__INITIAL_REFRESH_TOKEN"]).json()["access_token"]


def control(server, action, body=None):
    return kit.control(server.url, action, body)


def entry(details, **fields):
    return {
        "journal_entry": {
            "name": "Day [K-1]",
            "currency_code": "USD",
            "user_entered_date": "2026-03-02",
            "details": details,
            **fields,
        }
    }


def test_consent_gives_a_single_use_code_bound_to_the_redirect_uri(fb):
    _, server, env = fb
    redirect = "http://127.0.0.1:8765/callback"
    answer = httpx.get(
        f"{server.url}/oauth/authorize",
        params={
            "client_id": env["ERP__FRESHBOOKS__CLIENT_ID"],
            "response_type": "code",
            "redirect_uri": redirect,
            "state": "s1",
        },
    )
    assert answer.status_code == 302
    params = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert params["state"] == ["s1"]
    code = params["code"][0]
    wrong = token(env, grant_type="authorization_code", code=code)  # the https redirect URI
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    again = token(env, grant_type="authorization_code", code=code, redirect_uri=redirect)
    assert again.status_code == 400  # the first attempt used the code up
    bad = httpx.get(
        f"{server.url}/oauth/authorize",
        params={
            "client_id": env["ERP__FRESHBOOKS__CLIENT_ID"],
            "response_type": "code",
            "redirect_uri": "http://evil.example/cb",
        },
    )
    assert bad.status_code == 400
    secret = token(
        env,
        grant_type="refresh_token",
        client_secret="nope",
        refresh_token=env["ERP__FRESHBOOKS__INITIAL_REFRESH_TOKEN"],
    )
    assert secret.status_code == 401 and secret.json()["error"] == "invalid_client"


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_grant(fb):
    _, server, env = fb
    first = refresh(env, env["ERP__FRESHBOOKS__INITIAL_REFRESH_TOKEN"]).json()
    assert first["expires_in"] == 43200 and first["token_type"] == "Bearer"
    second = refresh(env, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert api(env, second["access_token"], "GET", "users/clients").status_code == 200

    reused = refresh(env, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert refresh(env, second["refresh_token"]).status_code == 400  # family revoked
    refused = api(env, second["access_token"], "GET", "users/clients")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    assert control(server, "stats")["reuse_detected"] == 1


def test_expired_access_tokens_get_401_and_users_me_names_the_account(fb):
    _, server, env = fb
    access = access_token(env)
    me = httpx.get(
        f"{server.url}/auth/api/v1/users/me", headers={"Authorization": f"Bearer {access}"}
    ).json()
    assert me["response"]["business_memberships"][0]["business"]["account_id"] == "xZNQ1X"
    control(server, "expire_tokens")
    expired = api(env, access, "GET", "users/clients")
    assert expired.status_code == 401
    assert expired.json()["error_description"] == "The access token expired"


def test_the_token_endpoint_takes_form_encoded_bodies_as_well_as_json(fb):
    _, server, env = fb
    fields = {
        "grant_type": "refresh_token",
        "client_id": env["ERP__FRESHBOOKS__CLIENT_ID"],
        "client_secret": env["ERP__FRESHBOOKS__CLIENT_SECRET"],
        "refresh_token": env["ERP__FRESHBOOKS__INITIAL_REFRESH_TOKEN"],
        "redirect_uri": env["ERP__FRESHBOOKS__REDIRECT_URI"],
    }
    form = httpx.post(f"{server.url}/auth/oauth/token", data=fields)
    assert form.status_code == 200 and form.json()["token_type"] == "Bearer"
    as_json = httpx.post(
        f"{server.url}/auth/oauth/token",
        json={**fields, "refresh_token": form.json()["refresh_token"]},
    )
    assert as_json.status_code == 200
    garbage = httpx.post(
        f"{server.url}/auth/oauth/token",
        content=b"\xff\xfe",
        headers={"Content-Type": "text/plain"},
    )
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_request"
    assert control(server, "stats")["token_requests"] == {"refresh_token": 2}


def test_entries_must_balance_and_refusals_carry_freshbooks_statuses(fb):
    _, server, env = fb
    access = access_token(env)
    subs = control(server, "sub_accounts")
    cash = next(s["sub_accountid"] for s in subs if s["account_sub_number"] == "1010")
    food = next(s["sub_accountid"] for s in subs if s["account_sub_number"] == "4000-BAR")
    unbalanced = api(
        env,
        access,
        "POST",
        "journal_entries/journal_entries",
        json=entry(
            [{"sub_accountid": cash, "debit": "10.00"}, {"sub_accountid": food, "credit": "9.99"}]
        ),
    )
    assert unbalanced.status_code == 400
    [error] = unbalanced.json()["response"]["errors"]
    assert (error["errno"], error["field"]) == (2003, "details")
    for bad, status in (
        ({"sub_accountid": 1, "debit": "10.00"}, 404),
        ({"sub_accountid": cash, "debit": "10.00", "credit": "10.00"}, 400),
        ({"sub_accountid": cash, "debit": "10.001"}, 400),
    ):
        answer = api(
            env,
            access,
            "POST",
            "journal_entries/journal_entries",
            json=entry([bad, {"sub_accountid": food, "credit": "10.00"}]),
        )
        assert answer.status_code == status and answer.json()["response"]["errors"], bad
    control(server, "configure", {"error_style": "old_in_200"})
    inside_200 = api(
        env,
        access,
        "POST",
        "journal_entries/journal_entries",
        json=entry(
            [{"sub_accountid": 1, "debit": "1.00"}, {"sub_accountid": food, "credit": "1.00"}]
        ),
    )
    assert inside_200.status_code == 200
    assert inside_200.json()["response"]["errors"][0]["errno"] == 1012
    control(server, "configure", {"error_style": "new"})
    new = api(
        env,
        access,
        "POST",
        "journal_entries/journal_entries",
        json=entry(
            [{"sub_accountid": 1, "debit": "1.00"}, {"sub_accountid": food, "credit": "1.00"}]
        ),
    )
    assert new.status_code == 404 and new.json()["code"] == 5
    assert new.json()["details"][0]["metadata"]["field"] == "sub_accountid"
    assert control(server, "entries") == []

    good = api(
        env,
        access,
        "POST",
        "journal_entries/journal_entries",
        json=entry(
            [
                {"sub_accountid": cash, "debit": "10.00", "description": "cash [loc BKN]"},
                {"sub_accountid": food, "credit": "10.00"},
            ]
        ),
    )
    created = good.json()["response"]["result"]["journal_entry"]
    assert [d["debit"] for d in created["details"]] == ["10.00", None]
    details = api(
        env,
        access,
        "GET",
        "journal_entries/journal_entry_details",
        params={"search[start_date]": "2026-03-02", "search[end_date]": "2026-03-02"},
    ).json()
    assert {d["entryid"] for d in details["response"]["result"]["journal_entry_details"]} == {
        created["entryid"]
    }
    outside = api(
        env,
        access,
        "GET",
        "journal_entries/journal_entry_details",
        params={"search[start_date]": "2026-03-03", "search[end_date]": "2026-03-09"},
    ).json()
    assert outside["response"]["result"]["total"] == 0


def test_per_page_is_capped_at_100(fb):
    _, server, env = fb
    chart = [
        {
            "account_number": "4000",
            "account_name": "Income",
            "account_type": "income",
            "sub_accounts": [
                {"account_sub_number": str(n), "account_sub_name": f"S{n}"} for n in range(3)
            ],
        }
    ] * 130
    control(server, "configure", {"chart": chart})
    result = api(
        env,
        access_token(env),
        "GET",
        "journal_entry_accounts/journal_entry_accounts",
        params={"per_page": 500, "page": 2},
    ).json()["response"]["result"]
    assert (result["per_page"], result["pages"], result["total"]) == (100, 2, 130)
    assert len(result["journal_entry_accounts"]) == 30


def test_invoices_follow_their_payments_and_refuse_unknown_types(fb):
    _, server, env = fb
    access = access_token(env)
    client = api(env, access, "GET", "users/clients").json()["response"]["result"]["clients"][0]
    created = api(
        env,
        access,
        "POST",
        "invoices/invoices",
        json={
            "invoice": {
                "customerid": client["id"],
                "create_date": "2026-03-02",
                "currency_code": "USD",
                "po_number": "K-1",
                "lines": [
                    {
                        "name": "Food sales",
                        "qty": 1,
                        "unit_cost": {"amount": "100.00", "code": "USD"},
                    },
                    {"name": "Discount", "qty": 1, "unit_cost": {"amount": "-5.50", "code": "USD"}},
                ],
            }
        },
    )
    invoice = created.json()["response"]["result"]["invoice"]
    assert invoice["amount"]["amount"] == "94.50" and invoice["outstanding"]["amount"] == "94.50"
    refused = api(
        env,
        access,
        "POST",
        "payments/payments",
        json={
            "payment": {
                "invoiceid": invoice["invoiceid"],
                "amount": {"amount": "10.00", "code": "USD"},
                "date": "2026-03-02",
                "type": "Bitcoin",
            }
        },
    )
    assert refused.status_code == 400 and refused.json()["response"]["errors"][0]["field"] == "type"
    api(
        env,
        access,
        "POST",
        "payments/payments",
        json={
            "payment": {
                "invoiceid": invoice["invoiceid"],
                "amount": {"amount": "94.50", "code": "USD"},
                "date": "2026-03-02",
                "type": "Cash",
                "note": "CASH [K-1]",
            }
        },
    )
    [read] = api(
        env,
        access,
        "GET",
        "invoices/invoices",
        params={
            "search[date_min]": "2026-03-01",
            "search[date_max]": "2026-03-02",
            "include[]": "lines",
        },
    ).json()["response"]["result"]["invoices"]
    assert read["outstanding"]["amount"] == "0.00" and read["po_number"] == "K-1"
    assert [Decimal(line["amount"]["amount"]) for line in read["lines"]] == [
        Decimal("100.00"),
        Decimal("-5.50"),
    ]

    def payments(**search) -> list[str]:
        params = {f"search[{name}]": value for name, value in search.items()}
        found = api(env, access, "GET", "payments/payments", params=params)
        return [p["note"] for p in found.json()["response"]["result"]["payments"]]

    assert payments(date_min="2026-03-02", date_max="2026-03-31") == ["CASH [K-1]"]
    assert payments(date_min="2026-03-03") == [] and payments(date_max="2026-03-01") == []
    assert payments(invoiceid=str(invoice["invoiceid"])) == ["CASH [K-1]"]


def test_throttles_with_rate_limit_headers_and_optional_retry_after(fb):
    _, server, env = fb
    access = access_token(env)
    control(server, "configure", {"throttle_limit": 2, "throttle_window": 60})
    answers = [api(env, access, "GET", "users/clients") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "2"
    assert "Retry-After" not in answers[2].headers
    control(server, "configure", {"retry_after": 3})
    assert api(env, access, "GET", "users/clients").headers["Retry-After"] == "3"
    assert control(server, "stats")["throttled"] == 2


def test_a_removed_sub_account_or_client_is_gone_from_its_list(fb):
    _, server, env = fb
    access = access_token(env)

    def numbers() -> set[str]:
        found = api(env, access, "GET", "journal_entry_accounts/journal_entry_accounts")
        parents = found.json()["response"]["result"]["journal_entry_accounts"]
        return {s["account_sub_number"] for p in parents for s in p["sub_accounts"]}

    def organizations() -> set[str]:
        found = api(env, access, "GET", "users/clients", params={"per_page": 100})
        return {c["organization"] for c in found.json()["response"]["result"]["clients"]}

    chart, clients = numbers(), organizations()
    assert "4000" in chart and clients
    removed_client = sorted(clients)[0]
    assert control(server, "remove", {"sub_account": "4000"}) == {"removed": 1}
    assert control(server, "remove", {"client": removed_client}) == {"removed": 1}
    assert numbers() == chart - {"4000"} and organizations() == clients - {removed_client}
    assert all(s["account_sub_number"] != "4000" for s in control(server, "sub_accounts"))
