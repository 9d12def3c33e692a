"""The Toast sandbox answers the way Toast's published API says it does."""

from __future__ import annotations

import json

import httpx
import pytest

LOGIN = "/authentication/v1/authentication/login"


def login(toast, **overrides) -> httpx.Response:
    body = {
        "clientId": toast.client_id,
        "clientSecret": toast.client_secret,
        "userAccessType": "TOAST_MACHINE_CLIENT",
        **overrides,
    }
    return httpx.post(toast.url + LOGIN, json=body)


@pytest.fixture
def auth(toast) -> dict:
    return {"Authorization": f"Bearer {login(toast).json()['token']['accessToken']}"}


def test_login_returns_the_documented_shape_and_the_same_token_while_valid(toast):
    first, second = login(toast).json(), login(toast).json()
    assert first["status"] == "SUCCESS" and first["@class"] == ".SuccessfulResponse"
    assert first["token"]["tokenType"] == "Bearer" and first["token"]["expiresIn"] > 3600
    assert first["token"]["accessToken"] == second["token"]["accessToken"]
    assert toast.stats()["logins"] == 2


def test_bad_credentials_and_bad_tokens_are_refused(toast):
    refused = login(toast, clientSecret="nope")
    assert refused.status_code == 401
    assert set(refused.json()) >= {"status", "code", "message", "requestId", "canRetry"}
    assert login(toast, userAccessType="TOAST_USER").status_code == 400
    no_token = httpx.get(f"{toast.url}/partners/v1/restaurants")
    assert no_token.status_code == 401
    bad = httpx.get(
        f"{toast.url}/partners/v1/restaurants", headers={"Authorization": "Bearer forged"}
    )
    assert bad.status_code == 401


def test_restaurant_header_is_required_and_checked(toast, auth):
    path = f"{toast.url}/orders/v2/ordersBulk?businessDate=20261101"
    assert httpx.get(path, headers=auth).status_code == 400
    unknown = httpx.get(
        path,
        headers={**auth, "Toast-Restaurant-External-ID": "00000000-0000-0000-0000-00000000dead"},
    )
    assert unknown.status_code == 403 and "InvalidRestaurant" in unknown.json()["message"]
    partners = httpx.get(f"{toast.url}/partners/v1/restaurants", headers=auth).json()
    assert [p["restaurantGuid"] for p in partners] == toast.restaurants


def test_orders_bulk_pages_with_link_headers(toast, auth):
    toast.control("rate_limits", {"enabled": False})
    headers = {**auth, "Toast-Restaurant-External-ID": toast.restaurants[0]}
    url = f"{toast.url}/orders/v2/ordersBulk?businessDate=20261101&pageSize=7"
    guids, pages = [], 0
    while url:
        response = httpx.get(url, headers=headers)
        assert response.status_code == 200
        batch = response.json()
        assert len(batch) <= 7
        guids += [order["guid"] for order in batch]
        pages += 1
        nexts = [link for link in response.headers.get_list("Link") if 'rel="next"' in link]
        url = nexts[0].split(">")[0].lstrip("<") if nexts else None
    assert len(guids) == len(set(guids)) > 7
    assert pages == -(-len(guids) // 7)
    too_big = httpx.get(
        f"{toast.url}/orders/v2/ordersBulk?businessDate=20261101&pageSize=101", headers=headers
    )
    assert too_big.status_code == 400


def test_modified_window_is_limited_to_a_month(toast, auth):
    headers = {**auth, "Toast-Restaurant-External-ID": toast.restaurants[0]}
    url = f"{toast.url}/orders/v2/ordersBulk"
    ok = httpx.get(
        url,
        headers=headers,
        params={
            "startDate": "2026-10-01T00:00:00.000+0000",
            "endDate": "2026-10-02T00:00:00.000+0000",
        },
    )
    assert ok.status_code == 200 and len(ok.json()) > 0
    assert all(o["modifiedDate"] >= "2026-10-01" for o in ok.json())
    wide = httpx.get(
        url,
        headers=headers,
        params={
            "startDate": "2026-08-01T00:00:00.000+0000",
            "endDate": "2026-10-02T00:00:00.000+0000",
        },
    )
    assert wide.status_code == 400


def test_orders_bulk_rate_limit_is_five_a_second_per_location(toast, auth):
    first, second = toast.restaurants[:2]
    url = f"{toast.url}/orders/v2/ordersBulk?businessDate=20261101&pageSize=1"
    # Toast's own limits, counted at a moment that does not move (the start of a one-second
    # slice), so the seven calls share one slice however slowly this machine makes them.
    toast.control("rate_limits", {"enabled": True, "frozen_at": 1_770_000_000})
    with httpx.Client() as client:
        answers = [
            client.get(url, headers={**auth, "Toast-Restaurant-External-ID": first})
            for _ in range(6)
        ]
        other = client.get(url, headers={**auth, "Toast-Restaurant-External-ID": second})
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert [a.headers["X-Toast-RateLimit-Remaining"] for a in answers[:5]] == [
        "4",
        "3",
        "2",
        "1",
        "0",
    ]
    assert answers[0].headers["X-Toast-RateLimit-By"] == "ENDPOINT"
    assert answers[5].headers["Retry-After"] == "1"
    assert answers[5].headers["X-Toast-RateLimit-Reset"] == "1770000001"
    assert other.status_code == 200  # limits are per location


def test_config_pages_with_next_page_token(toast, auth):
    toast.control(
        "rate_limits",
        {"enabled": True, "limits": [{"by": "GLOBAL", "requests": 100, "seconds": 1}]},
    )
    toast.control("config_page_size", {"size": 2})
    headers = {**auth, "Toast-Restaurant-External-ID": toast.restaurants[0]}
    first = httpx.get(f"{toast.url}/config/v2/salesCategories", headers=headers)
    records = first.json()
    assert first.headers["X-Toast-RateLimit-Remaining"] == "99"
    token = first.headers.get("Toast-Next-Page-Token")
    while token:
        page = httpx.get(
            f"{toast.url}/config/v2/salesCategories", headers=headers, params={"pageToken": token}
        )
        records += page.json()
        token = page.headers.get("Toast-Next-Page-Token")
    assert len({r["guid"] for r in records}) == len(records) >= 5
    assert all(r["entityType"] for r in records)


def test_order_faults_wait_for_a_page_with_orders_and_break_one_order_each(toast, auth):
    toast.control("rate_limits", {"enabled": False})
    restaurant = toast.restaurants[0]
    headers = {**auth, "Toast-Restaurant-External-ID": restaurant}
    for field in ("guid", "businessDate"):
        toast.fault(
            kind="malformed_order", field=field, path="/orders/v2/ordersBulk", restaurant=restaurant
        )
    toast.fault(kind="unparseable_order", path="/orders/v2/ordersBulk", restaurant=restaurant)
    url = f"{toast.url}/orders/v2/ordersBulk?businessDate=20261101&pageSize=3"

    assert httpx.get(url + "&page=999", headers=headers).json() == []
    assert toast.stats()["faults_fired"] == 0
    text = httpx.get(url + "&page=1", headers=headers).text
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(text, 1)
    second, end = decoder.raw_decode(text, end + 1)
    assert "guid" not in first and "guid" in second
    assert second["businessDate"] == 20261345
    with pytest.raises(json.JSONDecodeError):  # the third order is cut in half
        decoder.raw_decode(text, end + 1)
    assert toast.stats()["faults_fired"] == 3


def test_a_configuration_publish_makes_older_page_tokens_answer_409(toast, auth):
    toast.control("rate_limits", {"enabled": False})
    toast.control("config_page_size", {"size": 2})
    restaurant = toast.restaurants[0]
    headers = {**auth, "Toast-Restaurant-External-ID": restaurant}
    url = f"{toast.url}/config/v2/discounts"
    first = httpx.get(url, headers=headers)
    token = first.headers["Toast-Next-Page-Token"]
    assert httpx.get(url, headers=headers, params={"pageToken": token}).status_code == 200

    toast.control("publish_config", {"restaurant": restaurant})

    stale = httpx.get(url, headers=headers, params={"pageToken": token})
    assert stale.status_code == 409
    assert stale.json()["status"] == 409 and "first page" in stale.json()["message"]
    again = httpx.get(url, headers=headers)  # from the first page, as Toast says
    assert again.json() == first.json()
    fresh = again.headers["Toast-Next-Page-Token"]
    assert httpx.get(url, headers=headers, params={"pageToken": fresh}).status_code == 200
    other = {**auth, "Toast-Restaurant-External-ID": toast.restaurants[1]}
    other_token = httpx.get(url, headers=other).headers["Toast-Next-Page-Token"]
    assert httpx.get(url, headers=other, params={"pageToken": other_token}).status_code == 200


def test_the_publish_fault_waits_for_a_request_in_the_middle_of_paging(toast, auth):
    toast.control("rate_limits", {"enabled": False})
    toast.control("config_page_size", {"size": 2})
    restaurant = toast.restaurants[0]
    headers = {**auth, "Toast-Restaurant-External-ID": restaurant}
    url = f"{toast.url}/config/v2/taxRates"
    toast.fault(kind="publish_config", path="/config/v2/taxRates", restaurant=restaurant)
    first = httpx.get(url, headers=headers)
    assert first.status_code == 200 and toast.stats()["config_publishes"] == 0
    token = first.headers["Toast-Next-Page-Token"]
    assert httpx.get(url, headers=headers, params={"pageToken": token}).status_code == 409
    assert toast.stats()["config_publishes"] == 1 and toast.stats()["faults_fired"] == 1


def test_logins_are_rate_limited_by_ip_with_retry_after(toast):
    # Toast's global limit applies to token requests by IP; counted here at a moment that does
    # not move, so the calls share one slice however slowly this machine makes them.
    toast.control(
        "rate_limits",
        {
            "enabled": True,
            "frozen_at": 1_770_000_000,
            "limits": [{"by": "GLOBAL", "requests": 2, "seconds": 60}],
        },
    )
    answers = [login(toast) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"] == "60"
    assert "token" not in answers[2].json()
    stats = toast.stats()
    assert (stats["logins"], stats["login_attempts"]) == (2, 3)


def test_a_login_fault_answers_429_with_the_retry_after_asked_for(toast):
    toast.fault(kind="status", status=429, retry_after=7, path=LOGIN)
    throttled, ok = login(toast), login(toast)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert ok.status_code == 200
    assert toast.stats()["logins"] == 1
