"""The Infor M3 sandbox over real HTTP: the ION API password grant, the m3api-rest bulk and
single-transaction forms, GLS840MI's rules, errors inside HTTP 200, throttling and faults."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

import sandboxes.infor as infor_sandbox
from sandboxes.infor.server import InforSandbox
from tests.kit import SandboxClient, control, served


@pytest.fixture(scope="module")
def started():
    with served(InforSandbox()) as server:
        yield server.app, server


class Client(SandboxClient):
    def __init__(self, sandbox, server):
        super().__init__(server.url)
        self.ionapi = infor_sandbox.ionapi_file(sandbox, server)
        self.m3 = f"{self.ionapi['iu']}/{self.ionapi['ti']}/M3/m3api-rest"

    def token_response(self, **overrides) -> httpx.Response:
        f = self.ionapi
        form = {
            "grant_type": "password",
            "client_id": f["ci"],
            "client_secret": f["cs"],
            "username": f["saak"],
            "password": f["sask"],
            **overrides,
        }
        return httpx.post(f["pu"] + f["ot"], data=form, timeout=10)

    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token_response().json()['access_token']}"}

    def bulk(
        self, transactions: list, auth: dict | None = None, program="GLS840MI", **extra
    ) -> httpx.Response:
        body = {
            "program": program,
            "transactions": [
                {"transaction": name, "record": record} for name, record in transactions
            ],
            **extra,
        }
        return httpx.post(
            f"{self.m3}/v2/execute",
            json=body,
            headers=auth or self.auth(),
            params={"maxrecs": "0"},
            timeout=10,
        )


@pytest.fixture
def m3(started) -> Client:
    sandbox, server = started
    control(server.url, "reset")
    return Client(sandbox, server)


def parm(
    account: str,
    amount: str,
    location="BKN",
    center="",
    text="text",
    date="20260105",
    currency="USD",
) -> str:
    return (
        f"{account:<8}{location:<8}{center:<8}{'':<32}{date}{amount:>17}{currency}{text:<40}"
    ).rstrip()


def batch(
    key1="CO1",
    lines=(("1010", "+0000000000010.00"), ("4000", "-0000000000010.00")),
    divi="BKN",
    date="20260105",
) -> list:
    head = (
        "AddBatchHead",
        {"CONO": "100", "DIVI": divi, "KEY1": key1, "INTN": "CLOSEOUT", "DESC": "test batch"},
    )
    rows = [
        (
            "AddBatchLine",
            {
                "CONO": "100",
                "DIVI": divi,
                "KEY1": key1,
                "LINE": str(n),
                "PARM": parm(account, amount, date=date, text=f"{key1} line {n}"),
            },
        )
        for n, (account, amount) in enumerate(lines, start=1)
    ]
    return [head, *rows, ("CtrlBatch", {"CONO": "100", "DIVI": divi, "KEY1": key1})]


def test_password_grant_and_its_oauth_errors(m3):
    ok = m3.token_response()
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
    assert ok.json()["expires_in"] == 7200
    wrong = m3.token_response(client_secret="nope")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    account = m3.token_response(password="nope")
    assert (account.status_code, account.json()["error"]) == (400, "invalid_grant")
    grant = m3.token_response(grant_type="client_credentials")
    assert grant.json()["error"] == "unsupported_grant_type"
    # The '#' of the service-account key must arrive intact: sent raw it starts a fragment.
    raw = httpx.post(
        m3.ionapi["pu"] + m3.ionapi["ot"],
        content=(
            f"grant_type=password&client_id={m3.ionapi['ci']}&client_secret={m3.ionapi['cs']}"
            f"&username={m3.ionapi['saak']}&password={m3.ionapi['sask']}"
        ).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert raw.json()["error"] == "invalid_request" and "%23" in raw.json()["error_description"]
    assert m3.control("stats")["token_requests"] == 5


def test_an_expired_or_missing_token_is_a_401(m3):
    auth = m3.auth()
    assert m3.bulk(batch()[:1], auth).status_code == 200
    m3.control("expire_tokens")
    assert m3.bulk(batch("CO2")[:1], auth).status_code == 401
    assert m3.bulk(batch("CO2")[:1], {"Authorization": "Bearer x"}).status_code == 401


def test_a_balanced_batch_is_checked_updated_and_listed_as_vouchers(m3):
    auth = m3.auth()
    answer = m3.bulk(batch(), auth).json()
    assert answer["nrOfFailedTransactions"] == 0 and answer["nrOfSuccessfullTransactions"] == 4
    assert answer["results"][-1]["records"][0]["STAT"] == "20"
    updated = m3.bulk([("UpdBatch", {"CONO": "100", "DIVI": "BKN", "KEY1": "CO1"})], auth)
    assert updated.json()["results"][0]["records"][0]["STAT"] == "90"
    vouchers = m3.bulk(
        [
            (
                "LstVouchersByDt",
                {"CONO": "100", "DIVI": "BKN", "FRDT": "20260101", "TODT": "20260131"},
            )
        ],
        auth,
        program="GLS200MI",
    )
    records = json.loads(vouchers.content, parse_float=Decimal)["results"][0]["records"]
    assert [(r["AIT1"], r["CUAM"], r["VTXT"]) for r in records] == [
        ("1010", "10.00", "CO1 line 1"),
        ("4000", "-10.00", "CO1 line 2"),
    ]
    again = m3.bulk([("UpdBatch", {"CONO": "100", "DIVI": "BKN", "KEY1": "CO1"})], auth)
    assert "already updated" in again.json()["results"][0]["errorMessage"]
    deleted = m3.bulk([("DltBatch", {"CONO": "100", "DIVI": "BKN", "KEY1": "CO1"})], auth)
    assert deleted.json()["nrOfFailedTransactions"] == 1
    assert [b["STAT"] for b in m3.control("batches")] == ["90"]


def test_failures_arrive_inside_http_200_per_transaction(m3):
    lines = (("1010", "+0000000000010.00"), ("4099", "-0000000000010.00"))
    answer = m3.bulk(batch(lines=lines), m3.auth())
    assert answer.status_code == 200
    body = answer.json()
    assert body["nrOfFailedTransactions"] == 1 and body["wasTerminated"] is False
    failed = body["results"][-1]
    assert failed["transaction"] == "CtrlBatch" and failed["errorType"] == "ServerReturnedNOK"
    assert failed["errorMessage"].startswith("Line 2: Account 4099 does not exist")
    assert failed["errorField"] == "AIT1"
    update = m3.bulk([("UpdBatch", {"CONO": "100", "DIVI": "BKN", "KEY1": "CO1"})]).json()
    assert "not checked" in update["results"][0]["errorMessage"]


def test_unbalanced_zero_and_malformed_amounts_are_refused(m3):
    auth = m3.auth()
    cases = {
        "CO1": (("1010", "+0000000000010.00"), ("4000", "-0000000000009.99")),
        "CO2": (("1010", "+0000000000000.00"), ("4000", "-0000000000000.00")),
        "CO3": (("1010", "+10.5"), ("4000", "-10.5")),
    }
    messages = {
        key: m3.bulk(batch(key, lines), auth).json()["results"][-1]["errorMessage"]
        for key, lines in cases.items()
    }
    assert "not balanced" in messages["CO1"]
    assert "must not be zero" in messages["CO2"]
    assert "2 decimals" in messages["CO3"]


def test_field_lengths_mandatory_fields_and_duplicate_keys(m3):
    auth = m3.auth()
    long_key = m3.bulk(
        [
            (
                "AddBatchHead",
                {"CONO": "100", "DIVI": "BKN", "KEY1": "K" * 16, "INTN": "CLOSEOUT", "DESC": "d"},
            )
        ],
        auth,
    ).json()
    assert long_key["results"][0]["errorType"] == "InputFieldTooLong"
    missing = m3.bulk(
        [("AddBatchHead", {"CONO": "100", "DIVI": "BKN", "KEY1": "K1", "INTN": "CLOSEOUT"})], auth
    ).json()
    assert missing["results"][0]["errorType"] == "MandatoryInputFieldNotFound"
    assert m3.bulk(batch()[:1], auth).json()["nrOfFailedTransactions"] == 0
    duplicate = m3.bulk(batch()[:1], auth).json()["results"][0]
    assert duplicate["errorMessage"] == "Record already exists"
    division = m3.bulk(batch("K2", divi="ZZZ")[:1], auth).json()["results"][0]
    assert division["errorField"] == "DIVI"


def test_location_and_revenue_center_values_are_checked(m3):
    m3.control("configure", {"dimension_values": {"AIT2": ["WLP"], "AIT3": ["BAR"]}})
    answer = m3.bulk(batch(), m3.auth()).json()
    assert "Accounting dimension 2 BKN does not exist" in answer["results"][-1]["errorMessage"]


def test_v1_nok_unknown_transaction_and_company(m3):
    auth = m3.auth()
    v1 = httpx.get(
        f"{m3.m3}/execute/GLS840MI/CtrlBatch",
        params={"CONO": "100", "DIVI": "BKN", "KEY1": "NONE"},
        headers=auth,
    ).json()
    assert v1["@type"] == "ServerReturnedNOK" and v1["Message"].startswith("Batch NONE")
    assert httpx.get(f"{m3.m3}/v2/execute/GLS840MI/Nope", headers=auth).status_code == 400
    assert m3.bulk([("Nope", {})], auth).status_code == 400
    company = m3.bulk(batch()[:1], auth, cono=200).json()
    assert company["@type"] == "ServerReturnedNOK" and company["@code"] == "XAU0008"


def test_rate_limit_headers_and_429_with_retry_after(m3):
    m3.control("configure", {"rate_limit": 2, "rate_window": 60, "retry_after": 1})
    auth = m3.auth()
    first = m3.bulk(batch("A1")[:1], auth)
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    m3.bulk(batch("A2")[:1], auth)
    limited = m3.bulk(batch("A3")[:1], auth)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert len(m3.control("batches")) == 2


def test_faults_drop_and_commit_then_drop(m3):
    auth = m3.auth()
    m3.control(
        "faults",
        [
            {"kind": "status", "status": 503, "transaction": "AddBatchHead"},
            {"kind": "commit_drop", "transaction": "AddBatchHead", "skip": 1},
        ],
    )
    assert m3.bulk(batch()[:1], auth).status_code == 503
    with pytest.raises(httpx.HTTPError):
        m3.bulk(batch()[:1], auth)
    assert len(m3.control("batches")) == 1 and m3.control("stats")["faults_fired"] == 2


def update(m3: Client, auth: dict, key1: str, divi: str = "BKN") -> dict:
    record = {"CONO": "100", "DIVI": divi, "KEY1": key1}
    return m3.bulk([("UpdBatch", record)], auth).json()["results"][0]


def test_lstvoucherlines_lists_one_vouchers_lines_with_signed_amounts(m3):
    auth = m3.auth()
    m3.bulk(batch("CO1"), auth)
    m3.bulk(
        batch("CO2", lines=(("1010", "-0000000000002.50"), ("4000", "+0000000000002.50"))), auth
    )
    jrno = {key1: update(m3, auth, key1)["records"][0]["JRNO"] for key1 in ("CO1", "CO2")}
    columns = ["YEA4", "VSER", "VONO", "JRNO", "VTXT"]
    listed = m3.bulk(
        [
            (
                "LstVouchersByDt",
                {"CONO": "100", "DIVI": "BKN", "FRDT": "20260101", "TODT": "20261231"},
            )
        ],
        auth,
        program="GLS200MI",
    ).json()["results"][0]["records"]
    assert len(listed) == 4
    chosen = httpx.post(
        f"{m3.m3}/v2/execute",
        json={
            "program": "GLS200MI",
            "transactions": [
                {
                    "transaction": "LstVouchersByDt",
                    "record": {
                        "CONO": "100",
                        "DIVI": "BKN",
                        "FRDT": "20260101",
                        "TODT": "20261231",
                    },
                    "selectedColumns": columns,
                }
            ],
        },
        headers=auth,
        timeout=10,
    ).json()["results"][0]["records"]
    assert all(list(row) == columns for row in chosen)
    second = next(row for row in listed if row["JRNO"] == jrno["CO2"])

    def lines(**record) -> dict:
        ref = {"CONO": "100", "DIVI": "BKN", **record}
        return m3.bulk([("LstVoucherLines", ref)], auth, program="GLS200MI").json()["results"][0]

    voucher = lines(YEA4=second["YEA4"], VONO=second["VONO"], JRNO=second["JRNO"])["records"]
    assert [(r["AIT1"], r["CUAM"], r["DBCR"], r["ACDT"], r["VTXT"]) for r in voucher] == [
        ("1010", "-2.50", "C", "20260105", "CO2 line 1"),
        ("4000", "2.50", "D", "20260105", "CO2 line 2"),
    ]
    assert lines(YEA4="2026", VONO="999")["records"] == []
    missing = lines(VONO=second["VONO"])
    assert missing["errorType"] == "MandatoryInputFieldNotFound" and missing["errorField"] == "YEA4"


def test_a_closed_period_refuses_the_accounting_date_until_it_is_reopened(m3):
    auth = m3.auth()
    closed = m3.control("close_periods", {"through": "2026-01-31", "divisions": ["BKN"]})
    assert closed == {"BKN": "20260131"}

    refused = m3.bulk(batch("CO1"), auth).json()["results"][-1]
    assert refused["errorMessage"] == (
        "Line 1: Accounting date 20260105 is in a closed period: division BKN is closed for "
        "transaction entry through 20260131"
    )
    assert (refused["errorField"], refused["errorType"]) == ("ACDT", "ServerReturnedNOK")
    assert "not checked" in update(m3, auth, "CO1")["errorMessage"]
    later = m3.bulk(batch("CO2", date="20260201"), auth).json()
    assert later["nrOfFailedTransactions"] == 0 and "JRNO" in update(m3, auth, "CO2")["records"][0]
    elsewhere = m3.bulk(batch("CO3", divi="WLP"), auth).json()
    assert elsewhere["nrOfFailedTransactions"] == 0  # WLP's periods are open

    # Closed between the check and the update: UpdBatch checks the date again.
    m3.bulk(batch("CO4", date="20260210"), auth)
    m3.control("close_periods", {"through": "20260228"})
    assert "closed period" in update(m3, auth, "CO4")["errorMessage"]
    m3.control("close_periods", {"through": ""})
    assert m3.control("config")["closed_through"] == {}
    assert (
        m3.bulk([("CtrlBatch", {"CONO": "100", "DIVI": "BKN", "KEY1": "CO1"})], auth).json()[
            "nrOfFailedTransactions"
        ]
        == 0
    )


def test_the_interface_definition_is_the_tenants_own_and_mismatches_name_parm(m3):
    shifted = " " + parm("1010", "+0000000000010.00")  # every field one position right
    lines = [
        ("AddBatchLine", {"CONO": "100", "DIVI": "BKN", "KEY1": "CO1", "LINE": "1", "PARM": p})
        for p in [shifted]
    ]
    answer = m3.bulk([batch()[0], *lines, batch()[-1]], m3.auth()).json()
    failed = answer["results"][-1]
    assert (failed["errorCode"], failed["errorField"]) == ("WPA0102", "PARM")
    assert failed["errorMessage"].startswith(
        "Line 1: PARM does not match interface CLOSEOUT: AIT1 (positions 1-8)"
    )
    definition = m3.control("config")["interfaces"]["CLOSEOUT"]
    m3.control("configure", {"interfaces": {"CLOSEOUT": [[n, s + 1, w] for n, s, w in definition]}})
    again = m3.bulk([("CtrlBatch", {"CONO": "100", "DIVI": "BKN", "KEY1": "CO1"})]).json()
    assert "not balanced" in again["results"][0]["errorMessage"]  # read, then found one-sided


def test_accounting_string_rules_and_blocked_accounts_at_ctrlbatch(m3):
    auth = m3.auth()
    no_location = [
        ("AddBatchLine", {"CONO": "100", "DIVI": "BKN", "KEY1": "CO1", "LINE": str(n), "PARM": p})
        for n, p in enumerate(
            [parm("1010", "+0000000000010.00"), parm("4000", "-0000000000010.00", location="")],
            start=1,
        )
    ]
    answer = m3.bulk([batch()[0], *no_location, batch()[-1]], auth).json()
    failed = answer["results"][-1]
    assert (
        failed["errorMessage"] == "Line 2: Accounting dimension 2 must be entered for account 4000"
    )
    assert failed["errorField"] == "AIT2"
    m3.control("configure", {"blocked_accounts": ["1010"]})
    blocked = m3.bulk(batch("CO2"), auth).json()["results"][-1]
    assert blocked["errorMessage"] == "Line 1: Account 1010 is blocked for entry"


def test_check_look_ups_answer_in_mi_shape_and_can_be_withheld(m3):
    auth = m3.auth()
    divisions = m3.bulk([("LstDivisions", {"CONO": "100"})], auth, program="MNS100MI").json()
    assert {r["DIVI"] for r in divisions["results"][0]["records"]} >= {"BKN", "WLP", "SLK"}
    m3.control("configure", {"blocked_accounts": ["4050"]})
    accounts = m3.bulk(
        [("LstAccountID", {"AITP": "1", "DIVI": "BKN"}), ("LstAccountID", {"AITP": "2"})],
        auth,
        program="CRS630MI",
        cono=100,
    ).json()
    by_account = {r["AITM"]: r for r in accounts["results"][0]["records"]}
    assert (by_account["4000"]["ACR2"], by_account["4000"]["ACR3"]) == ("1", "0")
    assert (by_account["1010"]["ACR2"], by_account["4050"]["LCCD"]) == ("0", "1")
    assert by_account["4000"]["TX40"] == "Food Sales"
    assert "BKN" in {r["AITM"] for r in accounts["results"][1]["records"]}
    no_company = m3.bulk([("LstAccountID", {"AITP": "1"})], auth, program="CRS630MI").json()
    assert no_company["results"][0]["errorCode"] == "XAU0008"
    interface = m3.bulk(
        [("LstIntDef", {"CONO": "100", "INTN": "CLOSEOUT"})], auth, program="EXT840MI"
    ).json()
    assert [r["FLDN"] for r in interface["results"][0]["records"]][:2] == ["AIT1", "AIT2"]
    m3.control("configure", {"withheld_transactions": ["EXT840MI/LstIntDef"]})
    withheld = m3.bulk(
        [("LstIntDef", {"CONO": "100", "INTN": "CLOSEOUT"})], auth, program="EXT840MI"
    )
    assert withheld.status_code == 400
