"""The D365 F&O sandbox over real HTTP: Entra tokens, OData queries and paging, `$batch`
changesets, validation, service protection and injected faults."""

from __future__ import annotations

import json
import ssl
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.erps.d365 import running, token_response
from tests.kit import SandboxClient, control


class Sandbox(SandboxClient):
    """Talks to the sandbox the way a client would; control calls go to /_sandbox/."""

    def __init__(self, url: str):
        super().__init__(url)
        self.config = self.control("config")

    def token_response(self, tenant: str | None = None, **form) -> httpx.Response:
        return token_response(self.url, tenant, **form)

    def headers(self) -> dict:
        token = self.token_response().json()["access_token"]
        return {"Authorization": f"Bearer {token}", "OData-Version": "4.0"}

    def get(self, path: str, auth: dict, **params) -> httpx.Response:
        return httpx.get(f"{self.url}/data/{path}", params=params, headers=auth, timeout=10)

    def create_header(
        self, auth: dict, company: str = "HV-NY", description: str = "test", **extra
    ) -> httpx.Response:
        body = {"dataAreaId": company, "JournalName": "GenJrn", "Description": description, **extra}
        return httpx.post(
            f"{self.url}/data/LedgerJournalHeaders", json=body, headers=auth, timeout=10
        )

    def batch(self, auth: dict, lines: list[dict], newline: str = "\r\n") -> httpx.Response:
        body = batch_body(lines).replace("\r\n", newline)
        return httpx.post(
            f"{self.url}/data/$batch",
            content=body.encode(),
            timeout=10,
            headers={**auth, "Content-Type": "multipart/mixed; boundary=b_1"},
        )


def batch_body(lines: list[dict]) -> str:
    parts = ["--b_1\r\nContent-Type: multipart/mixed; boundary=cs_1\r\n\r\n"]
    for number, line in enumerate(lines, start=1):
        parts.append(
            f"--cs_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: "
            f"binary\r\nContent-ID: {number}\r\n\r\nPOST LedgerJournalLines?cross-"
            "company=true HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
            f"{json.dumps(line)}\r\n"
        )
    parts.append("--cs_1--\r\n--b_1--\r\n")
    return "".join(parts)


def line(
    number: str,
    batch: str,
    account: str,
    debit="0",
    credit="0",
    company="HV-NY",
    voucher="V-1",
    **extra,
) -> dict:
    return {
        "dataAreaId": company,
        "JournalBatchNumber": batch,
        "LineNumber": int(number),
        "AccountType": "Ledger",
        "AccountDisplayValue": account,
        "DebitAmount": float(debit),
        "CreditAmount": float(credit),
        "CurrencyCode": "USD",
        "TransDate": "2026-01-05T12:00:00Z",
        "Voucher": voucher,
        "Text": "t",
        **extra,
    }


def parts_of(response: httpx.Response) -> list[tuple[int, dict, str | None]]:
    """(status, JSON body, Content-ID) of each operation answer in a $batch response."""
    boundary = response.headers["Content-Type"].split("boundary=")[1]
    found = []
    for chunk in response.content.split(f"--{boundary}".encode())[1:-1]:
        inner_boundary = chunk.split(b"boundary=")[1].split(b"\r\n")[0].decode()
        for part in chunk.split(f"--{inner_boundary}".encode())[1:-1]:
            head, http = part.split(b"\r\n\r\n", 1)
            content_id = next(
                (
                    h.split(b":")[1].strip().decode()
                    for h in head.split(b"\r\n")
                    if h.startswith(b"Content-ID")
                ),
                None,
            )
            status_line, rest = http.split(b"\r\n", 1)
            body = rest.split(b"\r\n\r\n", 1)[1].strip()
            found.append(
                (
                    int(status_line.split()[1]),
                    json.loads(body, parse_float=Decimal) if body else {},
                    content_id,
                )
            )
    return found


@pytest.fixture(scope="module")
def server():
    with running() as server:
        yield server


@pytest.fixture
def d365(server) -> Sandbox:
    control(server.url, "reset")
    return Sandbox(server.url)


@pytest.fixture
def auth(d365: Sandbox) -> dict:
    return d365.headers()


# -- tokens -------------------------------------------------------------------------------------
def test_token_has_entra_shape_and_is_counted(d365: Sandbox):
    response = d365.token_response()

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["access_token"].count(".") == 2
    assert d365.control("stats")["token_requests"] == 1


@pytest.mark.parametrize(
    "change, status, error, code",
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"client_id": "someone-else"}, 400, "unauthorized_client", 700016),
        ({"scope": "https://other.operations.dynamics.com/.default"}, 400, "invalid_scope", 70011),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"tenant": "not-our-tenant"}, 400, "invalid_request", 90002),
    ],
)
def test_token_refusals_use_entra_error_json(d365: Sandbox, change, status, error, code):
    response = d365.token_response(**change)

    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert "trace_id" in body and "correlation_id" in body


def test_data_needs_a_valid_unexpired_token(d365: Sandbox, auth: dict):
    assert d365.get("LedgerJournalHeaders", {}).status_code == 401
    assert d365.get("LedgerJournalHeaders", {"Authorization": "Bearer nonsense"}).status_code == 401
    assert d365.get("LedgerJournalHeaders", auth).status_code == 200

    d365.control("expire_tokens")

    assert d365.get("LedgerJournalHeaders", auth).status_code == 401
    assert d365.get("LedgerJournalHeaders", d365.headers()).status_code == 200
    assert d365.control("stats")["unauthorized"] == 3


def test_token_lifetime_is_configurable(d365: Sandbox):
    d365.control("configure", {"token_ttl": 120})

    assert d365.token_response().json()["expires_in"] == 120


def test_entra_answers_only_over_tls_on_its_own_host(d365: Sandbox):
    config = d365.control("config")
    plain = config["login_url"].replace("https://", "http://")

    discovery = httpx.get(
        f"{config['login_url']}/{config['tenant_id']}/v2.0/.well-known/openid-configuration",
        verify=ssl.create_default_context(cafile=config["ca_file"]),
    )
    on_fo_host = httpx.post(f"{d365.url}/{config['tenant_id']}/oauth2/v2.0/token", data={})

    assert config["login_url"].startswith("https://") and Path(config["ca_file"]).is_file()
    assert discovery.json()["token_endpoint"] == (
        f"{config['login_url']}/{config['tenant_id']}/oauth2/v2.0/token"
    )
    assert discovery.json()["issuer"] == f"{config['login_url']}/{config['tenant_id']}/v2.0"
    assert on_fo_host.status_code == 404
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{plain}/{config['tenant_id']}/v2.0/.well-known/openid-configuration")
    assert d365.control("stats")["discovery_requests"] == 1


def test_stopping_the_server_stops_the_login_host_and_removes_its_ca():
    with running() as server:
        config = control(server.url, "config")
        assert Path(config["ca_file"]).is_file()

    assert not Path(config["ca_file"]).exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(config["login_url"], verify=False, timeout=2)


# -- headers and queries ------------------------------------------------------------------------
def test_header_create_assigns_batch_numbers_per_company(d365: Sandbox, auth: dict):
    first = d365.create_header(auth, "HV-NY", "first")
    second = d365.create_header(auth, "HV-NY", "second")
    other = d365.create_header(auth, "HV-IL", "other")

    assert first.status_code == 201
    assert first.json()["JournalBatchNumber"] == "00000001"
    assert second.json()["JournalBatchNumber"] == "00000002"
    assert other.json()["JournalBatchNumber"] == "00000001"
    assert first.json()["dataAreaId"] == "hv-ny"  # F&O answers company ids in lower case
    assert first.json()["IsPosted"] == "No"
    assert first.headers["Location"].endswith(
        "/data/LedgerJournalHeaders(dataAreaId='hv-ny',JournalBatchNumber='00000001')"
    )


@pytest.mark.parametrize(
    "change, infolog",
    [
        ({"JournalName": "Nope"}, "The value 'Nope' in field 'Name' is not found"),
        ({"dataAreaId": "XX-ZZ"}, "Company 'XX-ZZ' does not exist"),
        ({"Description": "x" * 61}, "longer than 60 characters"),
    ],
)
def test_header_create_validates_like_fo(d365: Sandbox, auth: dict, change, infolog):
    body = {"dataAreaId": "HV-NY", "JournalName": "GenJrn", **change}
    response = httpx.post(f"{d365.url}/data/LedgerJournalHeaders", json=body, headers=auth)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "An error has occurred."
    assert error["innererror"]["type"].endswith("AxODataWriteException")
    assert error["innererror"]["message"].startswith(
        "Write failed for table row of type 'LedgerJournalHeaderEntity'. Infolog: Error: "
    )
    assert infolog in error["innererror"]["message"]


def test_unknown_property_is_refused(d365: Sandbox, auth: dict):
    response = d365.create_header(auth, Color="blue")

    assert response.status_code == 400
    assert "The property 'Color' does not exist" in response.json()["error"]["message"]


def test_queries_see_the_default_company_unless_cross_company(d365: Sandbox, auth: dict):
    d365.create_header(auth, "HV-NY", "home")
    d365.create_header(auth, "HV-IL", "away")

    home = d365.get("LedgerJournalHeaders", auth).json()["value"]
    everything = d365.get("LedgerJournalHeaders", auth, **{"cross-company": "true"}).json()
    filtered = d365.get(
        "LedgerJournalHeaders",
        auth,
        **{"cross-company": "true", "$filter": "dataAreaId eq 'HV-IL'"},
    ).json()["value"]

    assert [h["Description"] for h in home] == ["home"]
    assert len(everything["value"]) == 2
    assert [h["Description"] for h in filtered] == ["away"]


def test_filter_functions_wildcards_select_and_top(d365: Sandbox, auth: dict):
    for company, description in [
        ("HV-NY", "Toast sales CO-1"),
        ("HV-NY", "Toast labor CO-2"),
        ("HV-IL", "Toast sales CO-3"),
        ("HV-CA", "other"),
    ]:
        d365.create_header(auth, company, description)

    def descriptions(filter_text: str, **params) -> list[str]:
        response = d365.get(
            "LedgerJournalHeaders",
            auth,
            **{
                "cross-company": "true",
                "$filter": filter_text,
                "$orderby": "Description",
                **params,
            },
        )
        assert response.status_code == 200, response.text
        return [row.get("Description") for row in response.json()["value"]]

    assert descriptions("Description eq '*CO-1' or Description eq '*co-3'") == [
        "Toast sales CO-1",
        "Toast sales CO-3",
    ]
    assert descriptions("startswith(Description,'Toast') and dataAreaId eq 'hv-ny'") == [
        "Toast labor CO-2",
        "Toast sales CO-1",
    ]
    assert descriptions("contains(Description,'sales') and not (dataAreaId eq 'HV-NY')") == [
        "Toast sales CO-3"
    ]
    assert descriptions(
        "IsPosted eq Microsoft.Dynamics.DataEntities.NoYes'No'", **{"$top": "2"}
    ) == ["other", "Toast labor CO-2"]
    selected = d365.get(
        "LedgerJournalHeaders",
        auth,
        **{"cross-company": "true", "$select": "JournalBatchNumber,dataAreaId", "$top": "1"},
    )
    assert set(selected.json()["value"][0]) == {"JournalBatchNumber", "dataAreaId"}


@pytest.mark.parametrize(
    "filter_text, message",
    [
        ("dataAreaId in ('hv-ny','hv-il')", "'in' operator is not supported"),
        ("Colour eq 'red'", "Could not find a property named 'Colour'"),
        ("Description eq", "not valid"),
    ],
)
def test_bad_filters_are_refused(d365: Sandbox, auth: dict, filter_text, message):
    response = d365.get("LedgerJournalHeaders", auth, **{"$filter": filter_text})

    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_server_driven_paging_follows_next_links(d365: Sandbox, auth: dict):
    d365.control("configure", {"page_size": 2})
    for number in range(5):
        d365.create_header(auth, "HV-NY", f"page test {number}")

    url = (
        f"{d365.url}/data/LedgerJournalHeaders?cross-company=true&$filter="
        "startswith(Description,'page test')&$select=Description"
    )
    seen, pages = [], 0
    while url:
        body = httpx.get(url, headers=auth).json()
        seen += [row["Description"] for row in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1

    assert pages == 3
    assert seen == [f"page test {n}" for n in range(5)]


# -- lines and $batch ---------------------------------------------------------------------------
def test_batch_success_commits_every_line(d365: Sandbox, auth: dict):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]

    response = d365.batch(
        auth,
        [
            line("1", batch, "1010-BKN-", debit="100.25"),
            line("2", batch, "4000-BKN-DINING", credit="80.00"),
            line("3", batch, "2200-BKN-", credit="20.25"),
        ],
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert b"\r\n--changesetresponse_" in response.content
    assert [(status, cid) for status, _, cid in parts_of(response)] == [
        (201, "1"),
        (201, "2"),
        (201, "3"),
    ]
    lines = d365.get(
        "LedgerJournalLines",
        auth,
        **{
            "cross-company": "true",
            "$filter": f"dataAreaId eq 'HV-NY' and JournalBatchNumber eq '{batch}'",
        },
    ).json()["value"]
    assert [
        (row["LineNumber"], row["AccountDisplayValue"], row["DebitAmount"], row["CreditAmount"])
        for row in lines
    ] == [(1, "1010-BKN-", 100.25, 0), (2, "4000-BKN-DINING", 0, 80), (3, "2200-BKN-", 0, 20.25)]
    header = d365.get(
        f"LedgerJournalHeaders(dataAreaId='HV-NY',JournalBatchNumber='{batch}')", auth
    ).json()
    assert (header["JournalTotalDebit"], header["JournalTotalCredit"]) == (100.25, 100.25)


def test_failed_changeset_answers_one_error_inside_200_and_commits_nothing(
    d365: Sandbox, auth: dict
):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]

    response = d365.batch(
        auth,
        [
            line("1", batch, "1010-BKN-", debit="10"),
            line("2", batch, "4000-BKN-DINING", credit="5"),
            line("3", batch, "9999-BKN-", credit="5"),
        ],
    )

    assert response.status_code == 200
    [(status, body, content_id)] = parts_of(response)
    assert (status, content_id) == (500, "3")
    assert body["error"]["message"] == "An error has occurred."
    assert "Main account '9999' does not exist" in body["error"]["innererror"]["message"]
    assert d365.get("LedgerJournalLines", auth, **{"cross-company": "true"}).json()["value"] == []
    assert d365.control("stats")["changesets_failed"] == 1


def test_unbalanced_voucher_fails_its_changeset(d365: Sandbox, auth: dict):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]

    response = d365.batch(
        auth,
        [
            line("1", batch, "1010-BKN-", debit="10.00"),
            line("2", batch, "4000-BKN-DINING", credit="9.99"),
        ],
    )

    [(status, body, _)] = parts_of(response)
    assert status == 500
    assert (
        "The transactions on voucher V-1 do not balance as per 01/05/2026. (accounting "
        "currency: 0.01"
    ) in body["error"]["innererror"]["message"]
    assert d365.control("journals")[0]["lines"] == []


@pytest.mark.parametrize(
    "account, problem",
    [
        ("4000-DINING-BKN", "Value 'DINING' for dimension 'Location' does not exist"),
        ("4000-BKN-DINING-X", "has 4 segments"),
        ("4000-BKN-LOUNGE", "Value 'LOUNGE' for dimension 'RevenueCenter' does not exist"),
        ("-BKN-DINING", "Field 'Account' must be filled in"),
    ],
)
def test_account_display_value_follows_the_dimension_format(
    d365: Sandbox, auth: dict, account, problem
):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]

    response = d365.batch(
        auth, [line("1", batch, account, debit="1"), line("2", batch, "1010-BKN-", credit="1")]
    )

    [(status, body, content_id)] = parts_of(response)
    assert (status, content_id) == (500, "1")
    assert problem in body["error"]["innererror"]["message"]


def test_configured_delimiter_placeholders_and_escaping(d365: Sandbox, auth: dict):
    d365.control(
        "configure",
        {
            "dimension_format": ["MainAccount", "RevenueCenter", "Location"],
            "dimension_delimiter": "|",
            "dimension_values": {"RevenueCenter": ["BAR"]},
        },
    )
    batch = d365.create_header(auth).json()["JournalBatchNumber"]

    response = d365.batch(
        auth,
        [
            line("1", batch, "4000|BAR|North\\|East", credit="3"),
            line("2", batch, "1010||", debit="3"),
        ],
    )

    assert [status for status, _, _ in parts_of(response)] == [201, 201]
    rows = d365.control("journals")[0]["lines"]
    assert [row["AccountDisplayValue"] for row in rows] == ["4000|BAR|North\\|East", "1010||"]


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"DebitAmount": 5.0, "CreditAmount": 5.0}, "either Debit or Credit"),
        ({"DebitAmount": 0, "CreditAmount": 0}, "either Debit or Credit"),
        ({"Voucher": ""}, "Field 'Voucher' must be filled in"),
        ({"CurrencyCode": None}, "Field 'Currency' must be filled in"),
        ({"TransDate": "2026-01-05"}, "Edm.DateTimeOffset"),
        ({"AccountType": "Vend"}, "use Ledger"),
        ({"JournalBatchNumber": "99999999"}, "Journal batch number '99999999' does not exist"),
        ({"dataAreaId": "HV-IL"}, "does not exist in company 'HV-IL'"),
    ],
)
def test_single_line_post_validates(d365: Sandbox, auth: dict, change, problem):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]
    body = {**line("1", batch, "1010-BKN-", debit="5"), **change}

    response = httpx.post(f"{d365.url}/data/LedgerJournalLines", json=body, headers=auth)

    assert response.status_code == 400
    assert problem in response.json()["error"]["innererror"]["message"]


def test_lines_of_a_posted_journal_are_refused(d365: Sandbox, auth: dict):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]
    d365.control("post_journal", {"dataAreaId": "HV-NY", "JournalBatchNumber": batch})

    single = httpx.post(
        f"{d365.url}/data/LedgerJournalLines",
        headers=auth,
        json=line("1", batch, "1010-BKN-", debit="5"),
    )
    delete = httpx.delete(
        f"{d365.url}/data/LedgerJournalHeaders(dataAreaId='HV-NY',JournalBatchNumber='{batch}')",
        headers=auth,
    )

    assert single.status_code == 400 and "is posted" in single.text
    assert delete.status_code == 400 and "cannot be deleted" in delete.text


def test_delete_line_and_header(d365: Sandbox, auth: dict):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]
    d365.batch(
        auth,
        [line("1", batch, "1010-BKN-", debit="2"), line("2", batch, "4000-BKN-BAR", credit="2")],
    )
    key = f"dataAreaId='HV-NY',JournalBatchNumber='{batch}'"

    assert (
        httpx.delete(
            f"{d365.url}/data/LedgerJournalLines({key},LineNumber=2)", headers=auth
        ).status_code
        == 204
    )
    assert len(d365.control("journals")[0]["lines"]) == 1
    assert (
        httpx.delete(f"{d365.url}/data/LedgerJournalHeaders({key})", headers=auth).status_code
        == 204
    )
    assert d365.control("journals") == []
    assert d365.get(f"LedgerJournalHeaders({key})", auth).status_code == 404


def test_batch_lines_must_end_with_crlf(d365: Sandbox, auth: dict):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]

    response = d365.batch(
        auth,
        [line("1", batch, "1010-BKN-", debit="2"), line("2", batch, "4000-BKN-BAR", credit="2")],
        newline="\n",
    )

    assert response.status_code == 400
    assert "CRLF" in response.json()["error"]["message"]
    assert d365.control("journals")[0]["lines"] == []


# -- service protection and faults --------------------------------------------------------------
def test_every_nth_request_is_throttled_with_retry_after(d365: Sandbox, auth: dict):
    d365.control("configure", {"throttle_every": 3, "retry_after": 7})

    statuses = [d365.get("LedgerJournalHeaders", auth) for _ in range(6)]

    assert [r.status_code for r in statuses] == [200, 200, 429, 200, 200, 429]
    assert statuses[2].headers["Retry-After"] == "7"
    assert "Number of requests" in statuses[2].json()["error"]["message"]
    assert d365.control("stats")["throttled"] == 2


def test_request_window_limit(d365: Sandbox, auth: dict):
    d365.control("configure", {"throttle_limit": 2, "throttle_window": 60})

    statuses = [d365.get("LedgerJournalHeaders", auth) for _ in range(3)]

    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert 1 <= int(statuses[2].headers["Retry-After"]) <= 60


def test_injected_status_and_drop(d365: Sandbox, auth: dict):
    d365.control(
        "faults",
        [
            {"kind": "status", "path": "/data/LedgerJournalHeaders", "status": 503},
            {"kind": "drop", "path": "/data/LedgerJournalLines"},
        ],
    )

    assert d365.get("LedgerJournalHeaders", auth).status_code == 503
    assert d365.get("LedgerJournalHeaders", auth).status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        d365.get("LedgerJournalLines", auth)
    assert d365.control("stats")["faults_fired"] == 2


def test_commit_then_drop_commits_without_answering(d365: Sandbox, auth: dict):
    d365.control(
        "faults", {"kind": "commit_drop", "path": "/data/LedgerJournalHeaders", "method": "POST"}
    )

    with pytest.raises(httpx.RemoteProtocolError):
        d365.create_header(auth, description="lost answer")

    assert [h["Description"] for h in d365.control("journals")] == ["lost answer"]


def test_injected_changeset_failure(d365: Sandbox, auth: dict):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]
    d365.control(
        "faults",
        {
            "kind": "changeset_failure",
            "path": "/data/$batch",
            "message": "Period 2026-01 is on hold.",
        },
    )

    response = d365.batch(
        auth,
        [line("1", batch, "1010-BKN-", debit="2"), line("2", batch, "4000-BKN-BAR", credit="2")],
    )

    [(status, body, content_id)] = parts_of(response)
    assert (response.status_code, status, content_id) == (200, 500, "2")
    assert "Period 2026-01 is on hold." in body["error"]["innererror"]["message"]
    assert d365.control("journals")[0]["lines"] == []


def test_slow_fault_with_fractional_seconds_answers_late(d365: Sandbox, auth: dict):
    # JSON 0.4 arrives as Decimal; the delay is a float (issue 15: float += Decimal crashed)
    d365.control("faults", {"kind": "slow", "seconds": 0.4, "path": "/data/LedgerJournalHeaders"})

    started = time.perf_counter()
    response = d365.get("LedgerJournalHeaders", auth)

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.4
    assert d365.control("stats")["faults_fired"] == 1


# -- ledger calendar --------------------------------------------------------------------------
def test_lines_dated_in_a_period_on_hold_are_refused(d365: Sandbox, auth: dict):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]
    assert d365.control("close_periods", {"through": "2026-01-31"}) == {
        "closed_through": "2026-01-31",
        "status": "On hold",
    }

    refused = d365.batch(
        auth,
        [line("1", batch, "1010-BKN-", debit="2"), line("2", batch, "4000-BKN-BAR", credit="2")],
    )
    february = {"TransDate": "2026-02-01T12:00:00Z", "Voucher": "V-2"}
    accepted = d365.batch(
        auth,
        [
            line("1", batch, "1010-BKN-", debit="2", **february),
            line("2", batch, "4000-BKN-BAR", credit="2", **february),
        ],
    )

    [(status, body, content_id)] = parts_of(refused)
    assert (status, content_id) == (500, "1")
    assert (
        "The transaction date 1/5/2026 is in ledger period 1/1/2026 - 1/31/2026, which is On "
        "hold for company 'hv-ny'"
    ) in body["error"]["innererror"]["message"]
    assert [status for status, _, _ in parts_of(accepted)] == [201, 201]
    assert [r["TransDate"] for r in d365.control("journals")[0]["lines"]] == [
        "2026-02-01T12:00:00Z",
        "2026-02-01T12:00:00Z",
    ]


def test_closed_periods_refuse_single_lines_until_reopened(d365: Sandbox, auth: dict):
    batch = d365.create_header(auth).json()["JournalBatchNumber"]
    d365.control("close_periods", {"through": "2026-01-05", "status": "Closed"})

    def post() -> httpx.Response:
        return httpx.post(
            f"{d365.url}/data/LedgerJournalLines",
            json=line("1", batch, "1010-BKN-", debit="2"),
            headers=auth,
            timeout=10,
        )

    closed = post()
    d365.control("close_periods", {"through": None})
    reopened = post()

    assert closed.status_code == 400
    assert "which is Closed for company 'hv-ny'" in closed.json()["error"]["innererror"]["message"]
    assert reopened.status_code == 201


def test_close_periods_refuses_what_is_not_a_period_status(d365: Sandbox):
    bad_status = control(
        d365.url, "close_periods", {"through": "2026-01-31", "status": "Locked"}, check=False
    )
    bad_date = control(d365.url, "close_periods", {"through": "January"}, check=False)

    assert "closed_status is one of On hold, Closed" in bad_status["error"]
    assert "January" in bad_date["error"]
    assert d365.control("config")["closed_through"] is None


def test_reset_clears_data_config_and_counters(d365: Sandbox, auth: dict):
    d365.control("configure", {"page_size": 1})
    d365.create_header(auth)

    d365.control("reset")

    assert d365.control("journals") == []
    assert d365.control("config")["page_size"] == 10_000
    assert d365.control("stats")["requests"] == {}


# -- reference entities (closeout check) --------------------------------------------------------
def test_reference_entities_answer_from_the_settings(d365: Sandbox, auth: dict):
    d365.control(
        "configure",
        {
            "suspended_accounts": ["4000"],
            "company_suspended_accounts": {"HV-IL": ["1010"]},
            "suspended_dimension_values": {"Location": ["BKN"]},
        },
    )

    def rows(entity: str, **params) -> list[dict]:
        response = d365.get(entity, auth, **params)
        assert response.status_code == 200, response.text
        return response.json()["value"]

    entities = rows("LegalEntities", **{"$select": "LegalEntityId"})
    ledger = rows("Ledgers", **{"$filter": "LegalEntityId eq 'hv-ny'"})
    food = rows("MainAccounts", **{"$filter": "MainAccountId eq '4000'"})
    overrides = rows("MainAccountLegalEntities")
    brooklyn = rows(
        "FinancialDimensionValues",
        **{"$filter": "FinancialDimension eq 'Location' and DimensionValue eq 'BKN'"},
    )
    suspended = rows(
        "FinancialDimensionValues",
        **{"$filter": "IsSuspended eq Microsoft.Dynamics.DataEntities.NoYes'Yes'"},
    )

    assert {"LegalEntityId": "HV-NY"} in entities and {"LegalEntityId": "HV-IL"} in entities
    assert [(r["LegalEntityId"], r["ChartOfAccounts"]) for r in ledger] == [("HV-NY", "Shared")]
    assert [(r["ChartOfAccounts"], r["IsSuspended"]) for r in food] == [("Shared", "Yes")]
    assert [(r["LegalEntityId"], r["MainAccountId"], r["IsSuspended"]) for r in overrides] == [
        ("HV-IL", "1010", "Yes")
    ]
    assert [(r["LegalEntityId"], r["IsSuspended"]) for r in brooklyn] == [("", "Yes")]
    assert [r["DimensionValue"] for r in suspended] == ["BKN"]


def test_journal_names_are_per_company_and_need_cross_company(d365: Sandbox, auth: dict):
    d365.control("configure", {"company_journal_names": {"HV-CA": {"Other": "Other"}}})

    home = d365.get("JournalNames", auth).json()["value"]
    every = d365.get(
        "JournalNames", auth, **{"cross-company": "true", "$filter": "Name eq 'GenJrn'"}
    ).json()["value"]

    assert {r["dataAreaId"] for r in home} == {"hv-ny"}
    assert "hv-ca" not in {r["dataAreaId"] for r in every}
    assert {r["Type"] for r in every} == {"Daily"} and len(every) >= 2
    assert d365.create_header(auth, "HV-CA").status_code == 400


def test_reference_entities_are_read_only(d365: Sandbox, auth: dict):
    created = httpx.post(
        f"{d365.url}/data/MainAccounts", json={"MainAccountId": "9999"}, headers=auth
    )
    by_key = d365.get("LegalEntities(LegalEntityId='HV-NY')", auth)

    assert created.status_code == by_key.status_code == 405
    assert "read-only" in created.json()["error"]["message"]
