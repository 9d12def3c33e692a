"""Microsoft's own `msal` against the D365 sandbox's Entra login host: code nobody here wrote
discovers the tenant, gets a client-credentials token, caches it and reports Entra's refusals;
the token it gets is what the sandbox's F&O OData API accepts, for a journal written through the
entities closeout's connector uses and for one the connector posted itself.

msal is used unmodified, with its documented options for a host that is not Microsoft's:
`instance_discovery=False` (else it asks login.microsoftonline.com about the authority) and
`verify=` the sandbox CA's PEM file. Every name resolved during a test must be the loopback
address: nothing may reach Microsoft's hosts.
"""

from __future__ import annotations

import json
import socket
import ssl
import uuid
from decimal import Decimal

import httpx
import msal
import pytest

from posting.connectors.d365 import D365Connector, D365Settings
from posting.http import ErpHttp
from sandboxes import d365
from tests.erps.d365 import running
from tests.kit import SandboxClient
from tests.test_d365_connector import journal

D = Decimal


@pytest.fixture(scope="module")
def server():
    with running() as server:
        yield server


@pytest.fixture
def sandbox(server) -> SandboxClient:
    return SandboxClient(server.url).reset()


@pytest.fixture
def env(server) -> dict[str, str]:
    return d365.connector_env(server.app, server)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Every host name looked up during the test; a test fails if one is not the loopback.
    requests (under msal) lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's
    `verify`, so they are unset here for msal's own `verify=` to count."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        looked_up.append(host if isinstance(host, str) else host.decode())
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    assert set(looked_up) <= {"127.0.0.1", "localhost"}, looked_up


def app(env: dict[str, str], **changes) -> msal.ConfidentialClientApplication:
    tenant = changes.pop("tenant", env["ERP__D365__TENANT_ID"])
    login = env["ERP__D365__TOKEN_URL"].split(f"/{env['ERP__D365__TENANT_ID']}/")[0]
    return msal.ConfidentialClientApplication(
        changes.pop("client_id", env["ERP__D365__CLIENT_ID"]),
        client_credential=changes.pop("secret", env["ERP__D365__CLIENT_SECRET"]),
        authority=f"{login}/{tenant}",
        instance_discovery=False,
        verify=env["ERP__D365__CA_BUNDLE"],
    )


def scope(env: dict[str, str]) -> list[str]:
    return [f"{env['ERP__D365__ENVIRONMENT_URL']}/.default"]


def odata(env: dict[str, str], token: str, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(
        method,
        f"{env['ERP__D365__ENVIRONMENT_URL']}/data/{path}",
        headers={"Authorization": f"Bearer {token}", "OData-Version": "4.0"},
        timeout=10,
        **kwargs,
    )


def lines_batch(company: str, number: str, lines: list[tuple[str, str, str]]) -> bytes:
    """A `$batch` with one changeset inserting `lines` (account, debit, credit), amounts as
    exact JSON numbers: the request shape the connector sends."""
    batch, changeset = f"batch_{uuid.uuid4().hex}", f"changeset_{uuid.uuid4().hex}"
    parts = [f"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"]
    for number_in_journal, (account, debit, credit) in enumerate(lines, start=1):
        body = (
            f'{{"dataAreaId": "{company}", "JournalBatchNumber": "{number}", '
            f'"LineNumber": {number_in_journal}, "AccountType": "Ledger", '
            f'"AccountDisplayValue": "{account}", "DebitAmount": {debit}, '
            f'"CreditAmount": {credit}, "CurrencyCode": "USD", '
            f'"TransDate": "2026-01-05T12:00:00Z", "Voucher": "MSAL-1", "Text": "msal"}}'
        )
        parts.append(
            f"--{changeset}\r\nContent-Type: application/http\r\n"
            f"Content-Transfer-Encoding: binary\r\nContent-ID: {number_in_journal}\r\n\r\n"
            "POST LedgerJournalLines?cross-company=true HTTP/1.1\r\n"
            f"Content-Type: application/json\r\n\r\n{body}\r\n"
        )
    parts.append(f"--{changeset}--\r\n--{batch}--\r\n")
    return "".join(parts).encode(), batch


def test_msal_token_is_accepted_by_the_fo_api_for_a_balanced_journal(sandbox, env):
    result = app(env).acquire_token_for_client(scopes=scope(env))

    assert result.get("token_type") == "Bearer" and result["expires_in"] > 3000, result
    token = result["access_token"]
    header = odata(
        env,
        token,
        "POST",
        "LedgerJournalHeaders",
        json={"dataAreaId": "HV-NY", "JournalName": "GenJrn", "Description": "msal contract"},
    )
    assert header.status_code == 201, header.text
    number = header.json()["JournalBatchNumber"]
    content, boundary = lines_batch(
        "HV-NY",
        number,
        [
            ("1010-BKN-", "1234.56", "0"),
            ("4000-BKN-DINING", "0", "1000.06"),
            ("2200", "0", "234.50"),
        ],
    )
    written = httpx.post(
        f"{env['ERP__D365__ENVIRONMENT_URL']}/data/$batch",
        content=content,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/mixed; boundary={boundary}",
        },
        timeout=10,
    )
    assert written.status_code == 200 and written.text.count("HTTP/1.1 201") == 3, written.text

    read = odata(
        env,
        token,
        "GET",
        "LedgerJournalLines",
        params={
            "cross-company": "true",
            "$filter": f"dataAreaId eq 'hv-ny' and JournalBatchNumber eq '{number}'",
            "$select": "LineNumber,AccountDisplayValue,DebitAmount,CreditAmount",
        },
    )
    rows = json.loads(read.content, parse_float=Decimal)["value"]
    assert [
        (r["AccountDisplayValue"], D(r["DebitAmount"]), D(r["CreditAmount"])) for r in rows
    ] == [
        ("1010-BKN-", D("1234.56"), D("0")),
        ("4000-BKN-DINING", D("0"), D("1000.06")),
        ("2200--", D("0"), D("234.50")),
    ]
    totals = odata(
        env,
        token,
        "GET",
        f"LedgerJournalHeaders(dataAreaId='hv-ny',JournalBatchNumber='{number}')",
    )
    body = json.loads(totals.content, parse_float=Decimal)
    assert D(body["JournalTotalDebit"]) == D(body["JournalTotalCredit"]) == D("1234.56")


def test_msal_token_reads_back_what_closeouts_connector_posted(sandbox, env):
    settings = D365Settings(
        environment_url=env["ERP__D365__ENVIRONMENT_URL"],
        tenant_id=env["ERP__D365__TENANT_ID"],
        client_id=env["ERP__D365__CLIENT_ID"],
        client_secret=env["ERP__D365__CLIENT_SECRET"],
        token_url=env["ERP__D365__TOKEN_URL"],
        ca_bundle=env["ERP__D365__CA_BUNDLE"],
    )
    connector = D365Connector(settings, ErpHttp("d365"), token_store=None)
    posted = journal(key="CO-20260105-b601e100-S1-c0ffee0001")
    try:
        document_id = connector.create(posted)
    finally:
        connector.close()
    company, number = document_id.split("/")
    token = app(env).acquire_token_for_client(scopes=scope(env))["access_token"]

    read = odata(
        env,
        token,
        "GET",
        "LedgerJournalLines",
        params={
            "cross-company": "true",
            "$filter": f"dataAreaId eq '{company}' and JournalBatchNumber eq '{number}'",
        },
    )

    rows = json.loads(read.content, parse_float=Decimal)["value"]
    assert sum(D(r["DebitAmount"]) for r in rows) == posted.total_debit
    assert sum(D(r["CreditAmount"]) for r in rows) == posted.total_credit
    assert len(rows) == len(posted.lines) and posted.total_debit > 0


def test_msal_caches_the_token_a_second_acquire_asks_entra_nothing(sandbox, env):
    client = app(env)

    first = client.acquire_token_for_client(scopes=scope(env))
    second = client.acquire_token_for_client(scopes=scope(env))

    stats = sandbox.stats()
    assert first["token_source"] == "identity_provider" and second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]
    assert stats["token_requests"] == 1 and stats["discovery_requests"] == 1


@pytest.mark.parametrize(
    "change, error, code",
    [
        ({"secret": "not-the-secret"}, "invalid_client", 7000215),
        ({"client_id": "someone-elses-app"}, "unauthorized_client", 700016),
    ],
)
def test_msal_reports_entras_refusal_of_the_credentials(sandbox, env, change, error, code):
    result = app(env, **change).acquire_token_for_client(scopes=scope(env))

    assert "access_token" not in result
    assert result["error"] == error and result["error_codes"] == [code]
    assert result["error_description"].startswith(f"AADSTS{code}:")
    assert sandbox.stats()["token_requests"] == 1


def test_msal_reports_a_scope_that_is_not_the_environments(sandbox, env):
    result = app(env).acquire_token_for_client(
        scopes=["https://other.operations.dynamics.com/.default"]
    )

    assert result["error"] == "invalid_scope" and "AADSTS70011" in result["error_description"]


def test_msal_refuses_an_unknown_tenant_at_discovery(sandbox, env):
    with pytest.raises(ValueError, match="not-our-tenant") as refused:
        app(env, tenant="not-our-tenant")

    # msal's message wraps Entra's answer to the discovery request, which it raised first.
    assert "HTTP status: 400" in str(refused.value.__context__)
    assert "AADSTS90002" in str(refused.value.__context__)
    assert sandbox.stats()["discovery_requests"] == 1 and sandbox.stats()["token_requests"] == 0


def test_the_login_host_speaks_tls_only_to_a_client_that_trusts_its_ca(sandbox, env):
    discovery = env["ERP__D365__TOKEN_URL"].replace(
        "/oauth2/v2.0/token", "/v2.0/.well-known/openid-configuration"
    )

    trusted = httpx.get(
        discovery, verify=ssl.create_default_context(cafile=env["ERP__D365__CA_BUNDLE"])
    )
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(discovery, verify=ssl.create_default_context())

    assert discovery.startswith("https://")
    assert trusted.json()["token_endpoint"] == env["ERP__D365__TOKEN_URL"]
