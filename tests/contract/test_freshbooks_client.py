"""FreshBooks' official Python SDK (freshbooks-sdk) against the FreshBooks sandbox: code nobody
here wrote checks what the sandbox answers and what the connector sends.

The SDK is pointed at the sandbox through its own options, the FRESHBOOKS_API_URL (API and token
endpoint) and FRESHBOOKS_AUTH_URL (consent page) environment variables it reads when a Client is
made. It authenticates its way (authorization code, then a refresh), creates an invoice and its
payment with its documented resources (it has none for journal entries), reads them back, and
sees refusals as FreshBooksError with FreshBooks' status. Its generic AccountingResource, on the
journal-entry path FreshBooks documents, shows a balanced entry kept and an unbalanced one
refused. Last, the connector's requests are compared with the SDK's for the same things."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from freshbooks import Client, FilterBuilder, FreshBooksError, IncludesBuilder, PaginateBuilder
from freshbooks.api.accounting import AccountingResource

from posting.connectors.contract import Journal, Line
from posting.connectors.freshbooks import FreshBooksConnector, FreshBooksSettings
from posting.http import ErpHttp
from sandboxes import freshbooks
from sandboxes.freshbooks.server import FreshBooksSandbox
from tests.kit import SandboxClient, serving

D = Decimal
REDIRECT = "http://127.0.0.1:8765/freshbooks/callback"  # loopback: the sandbox takes any port

server = serving(FreshBooksSandbox)


@pytest.fixture
def fb(server, tmp_path, monkeypatch) -> SandboxClient:
    """The sandbox, reset, with every request it answers recorded (`fb.seen`), the SDK pointed
    at it and the connector's settings too."""
    box = SandboxClient(server.url, server.app).reset()
    box.seen = []
    answer = server.app.handle

    def recording(request):
        if not request.path.startswith("/_sandbox/"):  # the test's own control calls
            box.seen.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "content_type": request.header("Content-Type"),
                    "authorization": (request.header("Authorization") or "").split(" ")[0],
                    "body": request.body,
                }
            )
        return answer(request)

    monkeypatch.setattr(server.app, "handle", recording)
    monkeypatch.setenv("FRESHBOOKS_API_URL", server.url)
    monkeypatch.setenv("FRESHBOOKS_AUTH_URL", server.url)
    for name in list(os.environ):
        if name.startswith(("ERP__", "CLOSEOUT_")):
            monkeypatch.delenv(name)
    for name, value in freshbooks.connector_env(server.app, server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.chdir(tmp_path)
    return box


def sdk_client(fb, redirect_uri: str = REDIRECT) -> Client:
    config = fb.app.config
    return Client(
        client_id=config.client_id, client_secret=config.client_secret, redirect_uri=redirect_uri
    )


def consented(sdk: Client) -> Client:
    """The SDK's authorization-code flow: its consent URL, the code the redirect carries, and
    its token exchange."""
    consent = httpx.get(sdk.get_auth_request_url(["user:invoices:write"]))
    assert consent.status_code == 302
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    sdk.get_access_token(code)
    return sdk


def test_the_sdk_authenticates_posts_an_invoice_and_its_payment_and_reads_them_back(fb):
    sdk = consented(sdk_client(fb))
    first_refresh = sdk.refresh_token
    assert sdk.access_token_expires_at is not None
    renewed = sdk.refresh_access_token()
    assert renewed.refresh_token != first_refresh and sdk.access_token == renewed.access_token
    token_bodies = [s for s in fb.seen if s["path"] == "/auth/oauth/token"]
    assert {s["content_type"] for s in token_bodies} == {"application/x-www-form-urlencoded"}

    [membership] = sdk.current_user().business_memberships
    account = membership.business.account_id
    assert account == "xZNQ1X"
    clients = sdk.clients.list(account, builders=[PaginateBuilder(1, 100)])
    customer = next(c for c in clients if c.organization == "HV-NY")

    invoice = sdk.invoices.create(
        account,
        {
            "customerid": customer.id,
            "create_date": "2026-03-02",
            "currency_code": "USD",
            "po_number": "CO-20260302-sdk-S0-v1",
            "lines": [
                {"name": "Food sales", "qty": 1, "unit_cost": {"amount": "100.00", "code": "USD"}},
                {"name": "Sales tax", "qty": 1, "unit_cost": {"amount": "8.88", "code": "USD"}},
            ],
        },
    )
    assert D(invoice.amount.amount) == D("108.88") and D(invoice.outstanding.amount) == D("108.88")
    payment = sdk.payments.create(
        account,
        {
            "invoiceid": invoice.invoiceid,
            "amount": {"amount": "108.88", "code": "USD"},
            "date": "2026-03-02",
            "type": "Cash",
            "note": "CASH [CO-20260302-sdk-S0-v1]",
        },
    )
    assert D(payment.amount.amount) == D("108.88")

    read = sdk.invoices.get(account, invoice.invoiceid, includes=IncludesBuilder().include("lines"))
    assert read.po_number == "CO-20260302-sdk-S0-v1" and read.create_date == date(2026, 3, 2)
    assert D(read.outstanding.amount) == 0 and read.payment_status == "paid"
    assert [D(line.amount.amount) for line in read.lines] == [D("100.00"), D("8.88")]
    paid = sdk.payments.list(account, builders=[FilterBuilder().equals("invoiceid", read.id)])
    assert [(p.type, D(p.amount.amount)) for p in paid] == [("Cash", D("108.88"))]

    [held] = fb.control("invoices")
    assert (held["organization"], held["amount"]["amount"]) == ("HV-NY", "108.88")
    assert [p["amount"]["amount"] for p in held["payments"]] == ["108.88"]
    posts = [(s["method"], s["path"]) for s in fb.seen if s["method"] != "GET"]
    assert posts == [
        ("POST", "/auth/oauth/token"),
        ("POST", "/auth/oauth/token"),
        ("POST", "/accounting/account/xZNQ1X/invoices/invoices"),
        ("POST", "/accounting/account/xZNQ1X/payments/payments"),
    ]


def test_the_sdk_sees_refusals_as_freshbooks_errors_with_the_status(fb):
    sdk = consented(sdk_client(fb))
    account = sdk.current_user().business_memberships[0].business.account_id
    with pytest.raises(FreshBooksError) as missing:
        sdk.invoices.create(
            account,
            {
                "customerid": 1,
                "create_date": "2026-03-02",
                "currency_code": "USD",
                "lines": [{"name": "x", "qty": 1, "unit_cost": {"amount": "1.00", "code": "USD"}}],
            },
        )
    assert (missing.value.status_code, str(missing.value)) == (404, "Client not found.")
    assert missing.value.error_code == 1012
    assert fb.control("invoices") == []

    # a retired refresh token: the SDK reports the token endpoint's 400 and its description
    stale = sdk.refresh_token
    sdk.refresh_access_token()
    with pytest.raises(FreshBooksError) as reused:
        sdk.refresh_access_token(stale)
    assert reused.value.status_code == 400
    assert str(reused.value).startswith("The provided authorization grant is invalid")
    assert fb.stats()["reuse_detected"] == 1


def test_the_sdk_resource_on_the_journal_entry_path_keeps_balanced_entries_only(fb):
    """freshbooks-sdk 1.3.0 has no journal-entry resource; its AccountingResource on the path
    FreshBooks documents sends what a resource of it would."""
    sdk = consented(sdk_client(fb))
    account = sdk.current_user().business_memberships[0].business.account_id
    config = sdk._client_resource_config()  # what every SDK resource is made with
    entries = AccountingResource(
        config, "journal_entries/journal_entries", "journal_entry", "journal_entries"
    )
    details = AccountingResource(
        config,
        "journal_entries/journal_entry_details",
        "journal_entry_detail",
        "journal_entry_details",
    )
    subs = {s["account_sub_number"]: s["sub_accountid"] for s in fb.control("sub_accounts")}

    def entry(credit: str) -> dict:
        return {
            "name": "Harbor & Vine 2026-03-02 [CO-20260302-sdk-S0-v1]",
            "currency_code": "USD",
            "user_entered_date": "2026-03-02",
            "details": [
                {"sub_accountid": subs["1010"], "debit": "25.10"},
                {"sub_accountid": subs["4000-BAR"], "credit": credit},
            ],
        }

    with pytest.raises(FreshBooksError) as unbalanced:
        entries.create(account, entry("25.01"))
    assert unbalanced.value.status_code == 400 and unbalanced.value.error_code == 2003
    assert str(unbalanced.value) == "Debits (25.10) must equal credits (25.01)."

    created = entries.create(account, entry("25.10"))
    assert [d["debit"] for d in created.data["details"]] == ["25.10", None]
    read = details.list(
        account,
        builders=[
            FilterBuilder().between("start_date", "2026-03-02").between("end_date", "2026-03-02")
        ],
    )
    money = [(d.sub_accountid, d.debit and D(d.debit), d.credit and D(d.credit)) for d in read]
    assert sorted(money, key=str) == sorted(
        [(subs["1010"], D("25.10"), None), (subs["4000-BAR"], None, D("25.10"))], key=str
    )
    [held] = fb.control("entries")
    assert held["entryid"] == created.data["entryid"]

    # The old style inside HTTP 200, which FreshBooks' Node SDK documents: this SDK sees
    # success (an empty result), which is why the connector reads every body.
    fb.control("configure", {"error_style": "old_in_200"})
    unseen = entries.create(account, entry("1.00"))
    assert unseen.data == {} and len(fb.control("entries")) == 1
    # The new style with its status: raised, but this SDK reads only the old body's message.
    fb.control("configure", {"error_style": "new"})
    with pytest.raises(FreshBooksError) as new:
        entries.create(account, entry("1.00"))
    assert new.value.status_code == 400 and new.value.raw_response["code"] == 3
    assert new.value.raw_response["details"][0]["metadata"]["field"] == "details"


def sales_day() -> Journal:
    key = "CO-20260302-b601e100-S0-contract1"
    lines = (
        Line(1, "1010", D("108.88"), D("0"), "Cash", "BKN", None, "tender", None, "CASH"),
        Line(2, "4000", D("0"), D("100.00"), "Food", "BKN", "BAR", "sales", "Food", None),
        Line(3, "2200", D("0"), D("8.88"), "Sales tax", "BKN", None, "tax", None, None),
    )
    return Journal(
        key=key,
        journal_id="b601e100-26a6-4cf6-ad6c-b2705d1213bc:2026-03-02:sales",
        restaurant_guid="b601e100-26a6-4cf6-ad6c-b2705d1213bc",
        location_name="Harbor & Vine Brooklyn Heights",
        company="HV-NY",
        business_date=date(2026, 3, 2),
        journal_type="sales",
        kind="original",
        adjusts=None,
        currency="USD",
        title=f"Harbor & Vine Brooklyn Heights 2026-03-02 sales [{key}]",
        lines=lines,
    )


def shape(seen: dict) -> dict:
    """What two clients must agree on for one request: method, path, content type, the
    authorization scheme, and the body's field names (form or JSON, one level into a wrapper)."""
    body: object = None
    if seen["content_type"] == "application/x-www-form-urlencoded":
        body = sorted(parse_qs(seen["body"].decode()))
    elif seen["body"]:
        parsed = json.loads(seen["body"])
        body = {name: sorted(value) for name, value in parsed.items()}
    return {
        "method": seen["method"],
        "path": seen["path"],
        "content_type": seen["content_type"],
        "authorization": seen["authorization"],
        "fields": body,
    }


def test_the_connector_sends_what_the_sdk_sends_for_the_same_things(fb, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    connector = FreshBooksConnector(
        FreshBooksSettings.from_config(), ErpHttp("freshbooks", sleep=lambda s: None)
    )
    connector.create(sales_day())
    ours = [shape(s) for s in fb.seen]
    [held] = fb.control("invoices")
    assert held["amount"]["amount"] == "108.88" and held["outstanding"]["amount"] == "0.00"

    fb.seen.clear()
    sdk = sdk_client(fb, fb.app.config.redirect_uris[0])
    sdk.refresh_token = os.environ["ERP__FRESHBOOKS__INITIAL_REFRESH_TOKEN"]
    fb.app.auth.rearm()  # the pre-issued consent once more, for the SDK's own refresh
    sdk.refresh_access_token()
    account = sdk.current_user().business_memberships[0].business.account_id
    sdk.clients.list(account, builders=[PaginateBuilder(1, 100)])
    invoice = sdk.invoices.create(
        account,
        {
            "customerid": held["customerid"],
            "create_date": "2026-03-02",
            "currency_code": "USD",
            "po_number": "CO-20260302-b601e100-S0-sdk",
            "notes": "the same day, by the SDK",
            "lines": [
                {
                    "type": 0,
                    "name": "Food sales",
                    "description": "Food sales, net of discounts",
                    "qty": 1,
                    "unit_cost": {"amount": "100.00", "code": "USD"},
                }
            ],
        },
    )
    sdk.payments.create(
        account,
        {
            "invoiceid": invoice.invoiceid,
            "amount": {"amount": "100.00", "code": "USD"},
            "date": "2026-03-02",
            "type": "Cash",
            "note": "CASH [CO-20260302-b601e100-S0-sdk]",
        },
    )
    theirs = [shape(s) for s in fb.seen]

    def first(shapes: list[dict], method: str, path_end: str) -> dict:
        return next(s for s in shapes if s["method"] == method and s["path"].endswith(path_end))

    for method, path_end in (
        ("POST", "/auth/oauth/token"),
        ("GET", "/auth/api/v1/users/me"),
        ("GET", "/users/clients"),
        ("POST", "/invoices/invoices"),
        ("POST", "/payments/payments"),
    ):
        assert first(ours, method, path_end) == first(theirs, method, path_end), path_end
