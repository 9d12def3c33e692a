"""Intacct's own Python SDK (sageintacctsdk, fylein's) against the Intacct sandbox: code nobody
here wrote logs in, posts a GLBATCH, reads it back with its query/get_by_query/get_all paging,
and reports Intacct's refusals. Whatever the sandbox answers here, the SDK must understand as it
understands Intacct; and what closeout's connector posts, the SDK must read back to the cent.

The SDK hard-codes Intacct's gateway URL in ApiBase.__init__ (a private attribute, no
constructor option): `point_sdk_at` wraps that __init__ to put the sandbox's gateway URL there,
and changes nothing else the SDK does (its envelope, its XML, its errors are its own).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sageintacctsdk import SageIntacctSDK
from sageintacctsdk.apis.api_base import ApiBase
from sageintacctsdk.exceptions import InvalidTokenError, WrongParamsError

from closeout.money import ZERO
from posting.connectors.contract import Journal
from posting.connectors.intacct import IntacctConnector, IntacctSettings
from posting.http import ErpHttp
from sandboxes import intacct
from sandboxes.intacct.server import GATEWAY_PATH
from tests.kit import SandboxClient
from tests.kit.connectors import sales_lines

D = Decimal
COMPANY = "HARBOR-VINE"


@pytest.fixture(scope="module")
def served():
    sandbox, server = intacct.start()
    yield sandbox, server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sandbox(served) -> SandboxClient:
    return SandboxClient(served[1].url).reset()


@pytest.fixture
def env(served) -> dict[str, str]:
    return intacct.connector_env(*served)


@pytest.fixture(autouse=True)
def point_sdk_at(served, monkeypatch) -> None:
    """Every SDK API object starts at the sandbox's gateway instead of api.intacct.com."""
    gateway = served[1].url + GATEWAY_PATH
    original = ApiBase.__init__

    def at_sandbox(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._ApiBase__api_url = gateway

    monkeypatch.setattr(ApiBase, "__init__", at_sandbox)


def login(env: dict[str, str], **options) -> SageIntacctSDK:
    """The SDK's own login: its constructor sends getAPISession."""
    return SageIntacctSDK(
        sender_id=env["ERP__INTACCT__SENDER_ID"],
        sender_password=env["ERP__INTACCT__SENDER_PASSWORD"],
        user_id=env["ERP__INTACCT__USER_ID"],
        company_id=env["ERP__INTACCT__COMPANY_ID"],
        user_password=env["ERP__INTACCT__USER_PASSWORD"],
        **options,
    )


def sdk_object(env: dict[str, str], dimension: str, pagesize: int) -> ApiBase:
    """One SDK API object with its own page size (ApiBase's constructor option) and session."""
    api = ApiBase(dimension=dimension, pagesize=pagesize)
    api.set_sender_id(env["ERP__INTACCT__SENDER_ID"])
    api.set_sender_password(env["ERP__INTACCT__SENDER_PASSWORD"])
    api.set_show_private(False)
    session = api.get_session_id(
        env["ERP__INTACCT__USER_ID"],
        env["ERP__INTACCT__COMPANY_ID"],
        env["ERP__INTACCT__USER_PASSWORD"],
    )
    api.set_session_id(session)
    return api


def batch(reference: str, lines: list[tuple[str, str, Decimal, dict]]) -> dict:
    """A GLBATCH the way the SDK's README posts one: a dict, ENTRIES/GLENTRY a list."""
    return {
        "JOURNAL": "SJ",
        "BATCH_DATE": "01/05/2026",
        "BATCH_TITLE": f"SDK contract {reference}",
        "REFERENCENO": reference,
        "ENTRIES": {
            "GLENTRY": [
                {"ACCOUNTNO": account, "TR_TYPE": tr_type, "TRX_AMOUNT": amount, **dimensions}
                for account, tr_type, amount, dimensions in lines
            ]
        },
    }


SALES = [
    ("1010", "1", D("1830.25"), {"LOCATION": "BKN", "DESCRIPTION": "Cash"}),
    ("4000", "-1", D("1380.00"), {"LOCATION": "BKN", "DEPARTMENT": "DINING"}),
    ("2200", "-1", D("450.25"), {"LOCATION": "BKN", "DESCRIPTION": "Tax"}),
]


def queries(sandbox: SandboxClient, object_name: str) -> list[tuple]:
    """(pagesize, offset) of each query of `object_name` the sandbox was sent, in order."""
    return [
        (function["pagesize"], function["offset"])
        for request in sandbox.control("requests")
        for function in request["functions"]
        if function["function"] == "query" and function["object"] == object_name
    ]


def signed(rows: list[dict]) -> dict[str, Decimal]:
    """ACCOUNTNO -> debit minus credit of GLENTRY rows as the SDK returns them (text)."""
    net: dict[str, Decimal] = {}
    for row in rows:
        amount = D(row["TRX_AMOUNT"]) * int(row["TR_TYPE"])
        net[row["ACCOUNTNO"]] = net.get(row["ACCOUNTNO"], ZERO) + amount
    return net


KEY = "CO-20260105-b601e100-S1-0123456789"


def closeout_connector(env: dict[str, str]) -> IntacctConnector:
    settings = IntacctSettings(
        sender_id=env["ERP__INTACCT__SENDER_ID"],
        sender_password=env["ERP__INTACCT__SENDER_PASSWORD"],
        company_id=env["ERP__INTACCT__COMPANY_ID"],
        user_id=env["ERP__INTACCT__USER_ID"],
        user_password=env["ERP__INTACCT__USER_PASSWORD"],
        endpoint_url=env["ERP__INTACCT__ENDPOINT_URL"],
    )
    return IntacctConnector(settings, ErpHttp("intacct", sleep=lambda _: None), store=None)


def sales_journal(lines) -> Journal:
    return Journal(
        key=KEY,
        journal_id="b601e100-26a6-4cf6-ad6c-b2705d1213bc:2026-01-05:sales",
        restaurant_guid="b601e100-26a6-4cf6-ad6c-b2705d1213bc",
        location_name="Harbor & Vine Brooklyn Heights",
        company="HV-NY",
        business_date=date(2026, 1, 5),
        journal_type="sales",
        kind="original",
        adjusts=None,
        currency="USD",
        title=f"Toast sales journal 2026-01-05 [{KEY}]",
        lines=lines,
    )


# -- posting and reading back -----------------------------------------------------------------


def test_sdk_posts_a_balanced_batch_and_reads_it_and_its_lines_back_page_by_page(
    sandbox: SandboxClient, env
):
    sdk = login(env)
    assert sandbox.stats()["sessions_created"] == 1

    created = sdk.journal_entries.post(batch("SDK-1", SALES))
    recordno = created["data"]["glbatch"]["RECORDNO"]
    [held] = sandbox.control("batches")
    assert (held["RECORDNO"], held["REFERENCENO"]) == (recordno, "SDK-1")
    assert [(e["ACCOUNTNO"], D(str(e["TRX_AMOUNT"])), e["TR_TYPE"]) for e in held["entries"]] == [
        ("1010", D("1830.25"), 1),
        ("4000", D("1380.00"), -1),
        ("2200", D("450.25"), -1),
    ]

    # get_all asks for the SDK's default GLBATCH fields (TAXIMPLICATIONS, VATVENDORID, ...).
    [row] = sdk.journal_entries.get_all()
    assert (row["REFERENCENO"], row["BATCH_DATE"]) == ("SDK-1", "01/05/2026")
    assert row["STATE"] == "Posted"
    assert {"TAXIMPLICATIONS", "VATVENDORID", "TAXSOLUTIONID"} <= set(row)
    [found] = sdk.journal_entries.get_by_query(
        fields=["RECORDNO", "REFERENCENO"], and_filter=[("equalto", "REFERENCENO", "SDK-1")]
    )
    assert found == {"RECORDNO": recordno, "REFERENCENO": "SDK-1"}

    lines = sdk_object(env, "GLENTRY", pagesize=2).get_by_query(
        fields=["RECORDNO", "LINE_NO", "ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT", "LOCATION"],
        and_filter=[("equalto", "BATCHNO", recordno)],
    )
    assert [row["LINE_NO"] for row in lines] == ["1", "2", "3"]
    assert signed(lines) == {"1010": D("1830.25"), "4000": D("-1380.00"), "2200": D("-450.25")}
    assert sum(signed(lines).values(), ZERO) == ZERO
    # Its paging: a count (pagesize 1, no offset), then pagesize/offset directly under <query>.
    assert queries(sandbox, "GLENTRY") == [("1", None), ("2", "0"), ("2", "2")]


def test_sdk_get_all_reads_every_page_of_batches(sandbox: SandboxClient, env):
    sdk = login(env)
    for n in range(1, 6):
        amount = D(f"{n}0.05")
        sdk.journal_entries.post(
            batch(f"SDK-{n}", [("1010", "1", amount, {}), ("4000", "-1", amount, {})])
        )
    rows = sdk_object(env, "GLBATCH", pagesize=2).get_all()
    assert [row["REFERENCENO"] for row in rows] == [f"SDK-{n}" for n in range(1, 6)]
    assert queries(sandbox, "GLBATCH") == [("1", None), ("2", "0"), ("2", "2"), ("2", "4")]
    held = {
        b["REFERENCENO"]: D(str(b["entries"][0]["TRX_AMOUNT"])) for b in sandbox.control("batches")
    }
    assert held == {f"SDK-{n}": D(f"{n}0.05") for n in range(1, 6)}


def test_sdk_reads_back_to_the_cent_what_closeouts_connector_posted(
    sandbox: SandboxClient, env, monkeypatch
):
    monkeypatch.delenv("CLOSEOUT_SECRET_KEY", raising=False)  # no session kept between tests
    connector = closeout_connector(env)
    lines = sales_lines()
    journal = sales_journal(lines)
    try:
        recordno = connector.create(journal)
    finally:
        connector.close()

    sdk = login(env)
    [header] = sdk.journal_entries.get_by_query(
        fields=["RECORDNO", "REFERENCENO", "BATCH_DATE", "JOURNAL"],
        and_filter=[("equalto", "REFERENCENO", KEY)],
    )
    assert header == {
        "RECORDNO": recordno,
        "REFERENCENO": KEY,
        "BATCH_DATE": "01/05/2026",
        "JOURNAL": "SJ",
    }
    rows = sdk_object(env, "GLENTRY", pagesize=2000).get_by_query(
        fields=["ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT", "LOCATION", "DEPARTMENT"],
        and_filter=[("equalto", "BATCHNO", recordno)],
    )
    assert signed(rows) == {line.account: line.debit - line.credit for line in lines}
    assert [(r["LOCATION"], r["DEPARTMENT"]) for r in rows] == [
        (line.location, line.revenue_center) for line in lines
    ]


def test_connector_writes_envelope_and_queries_as_the_sdk_does(
    sandbox: SandboxClient, env, monkeypatch
):
    """The same look-up (a GLBATCH by REFERENCENO) by the SDK and by the connector: the same
    control block, and paging directly under <query>; the connector adds only <orderby> (stable
    offsets) and <options><caseinsensitive> (Intacct's default, said aloud)."""
    monkeypatch.delenv("CLOSEOUT_SECRET_KEY", raising=False)
    sdk = login(env)
    sdk.journal_entries.post(batch(KEY, SALES))
    [found] = sdk.journal_entries.get_by_query(
        fields=["RECORDNO"], and_filter=[("equalto", "REFERENCENO", KEY)]
    )
    by_sdk = sandbox.control("requests")
    connector = closeout_connector(env)
    try:
        assert connector.existing([sales_journal(sales_lines())]) == {KEY: found["RECORDNO"]}
    finally:
        connector.close()
    by_connector = sandbox.control("requests")[len(by_sdk) :]

    control = ["senderid", "password", "controlid", "uniqueid", "dtdversion", "includewhitespace"]
    assert {tuple(r["control"]) for r in by_sdk + by_connector} == {tuple(control)}
    calls = [[f["function"] for f in r["functions"]] for r in by_connector]
    assert calls == [["getAPISession"], ["query"]]

    def shapes(requests):
        return [
            (f["object"], set(f["elements"]), f["pagesize"] is not None, f["offset"] is not None)
            for r in requests
            for f in r["functions"]
            if f["function"] == "query" and f["pagesize"] != "1"  # not the SDK's count
        ]

    sdk_elements = {"object", "select", "filter", "pagesize", "offset"}
    assert shapes(by_sdk) == [("GLBATCH", sdk_elements, True, True)]
    assert shapes(by_connector) == [("GLBATCH", sdk_elements | {"orderby", "options"}, True, True)]


def test_sdk_show_private_puts_options_after_paging_and_intacct_accepts_it(
    sandbox: SandboxClient, env
):
    sdk = login(env, show_private=True)
    sdk.journal_entries.post(batch("SDK-1", SALES))
    [row] = sdk.journal_entries.get_by_query(fields=["REFERENCENO"])
    assert row == {"REFERENCENO": "SDK-1"}


def test_sdk_reads_the_lists_a_journal_refers_to_with_their_status(sandbox: SandboxClient, env):
    sdk = login(env)
    active = sdk.accounts.count()  # the SDK's default: STATUS = active
    accounts = {row["ACCOUNTNO"]: row["STATUS"] for row in sdk.accounts.get_all()}
    assert accounts["4000"] == "active" and len(accounts) == active
    assert {row["LOCATIONID"] for row in sdk.locations.get_all()} >= {"BKN", "WLP", "LOHI"}
    assert {row["DEPARTMENTID"] for row in sdk.departments.get_all()} >= {"DINING", "BAR"}

    sandbox.control("configure", {"companies": {COMPANY: {"inactive": {"accounts": ["4000"]}}}})
    assert sdk.accounts.count() == active - 1
    [row] = sdk.accounts.get_by_query(
        fields=["ACCOUNTNO", "STATUS"], and_filter=[("equalto", "ACCOUNTNO", "4000")]
    )
    assert row == {"ACCOUNTNO": "4000", "STATUS": "inactive"}


# -- refusals, as the SDK reports them ----------------------------------------------------------


@pytest.mark.parametrize(
    "lines, errorno, said",
    [
        (
            [("1010", "1", D("100.00"), {}), ("4000", "-1", D("99.99"), {})],
            "BL03000012",
            "not balanced: debits 100.00, credits 99.99",
        ),
        (
            [("9999", "1", D("5.00"), {}), ("4000", "-1", D("5.00"), {})],
            "BL03000018",
            "Invalid GL account '9999'",
        ),
    ],
)
def test_sdk_reports_a_refused_batch_with_intacts_error(
    sandbox: SandboxClient, env, lines, errorno, said
):
    sdk = login(env)
    with pytest.raises(WrongParamsError) as refused:
        sdk.journal_entries.post(batch("SDK-BAD", lines))
    assert refused.value.message == "Error during create"
    [error] = refused.value.response["error"]
    assert error["errorno"] == errorno
    assert said in error["description2"]
    assert error["correction"]
    assert sandbox.control("batches") == []


def test_sdk_reports_an_unknown_field_as_a_failed_query(sandbox: SandboxClient, env):
    sdk = login(env)
    sdk.journal_entries.post(batch("SDK-1", SALES))  # get_by_query asks nothing of 0 rows
    with pytest.raises(WrongParamsError) as refused:
        sdk.journal_entries.get_by_query(fields=["RECORDNO", "NOSUCHFIELD"])
    assert refused.value.message == "Error during query"
    assert (
        "Unknown field NOSUCHFIELD on GLBATCH" in refused.value.response["error"][0]["description2"]
    )


def test_paging_inside_options_fails_the_schema_before_anything_runs(sandbox: SandboxClient, env):
    sdk = login(env)
    misplaced = {
        "query": {
            "object": "GLBATCH",
            "select": {"field": ["RECORDNO"]},
            "options": {"pagesize": 2, "offset": 0},
        }
    }
    with pytest.raises(WrongParamsError) as refused:
        sdk.journal_entries.format_and_send_request(misplaced)
    assert refused.value.message == "Some of the parameters are wrong"
    [error] = refused.value.response["error"]
    assert error["errorno"] == "XL03000003"
    assert "Element 'pagesize': This element is not expected" in error["description2"]


def test_sdk_login_with_a_wrong_password_is_refused(sandbox: SandboxClient, env):
    with pytest.raises(InvalidTokenError) as refused:
        login({**env, "ERP__INTACCT__USER_PASSWORD": "wrong"})
    assert refused.value.response["error"]["description2"] == "Sign-in information is incorrect"
    assert sandbox.stats()["sessions_created"] == 0
