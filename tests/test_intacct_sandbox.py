"""The Intacct sandbox over real HTTP: envelope, sessions, GLBATCH rules, queries, faults."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import httpx
import pytest

from sandboxes.intacct.server import GATEWAY_PATH, IntacctSandbox
from tests.kit import SandboxClient, served

SENDER = ("closeout-sandbox", "sandbox-sender-password")
USER = ("closeout_xml", "HARBOR-VINE", "sandbox-user-password")


class Gateway(SandboxClient):
    """Builds DTD 3.0 requests with ElementTree and posts them to the sandbox."""

    def __init__(self, url: str):
        super().__init__(url)
        self.endpoint = url + GATEWAY_PATH

    def envelope(
        self,
        functions,
        *,
        sessionid=None,
        login=USER,
        sender=SENDER,
        uniqueid=False,
        transaction=False,
    ) -> bytes:
        root = ET.Element("request")
        control = ET.SubElement(root, "control")
        for tag, text in (
            ("senderid", sender[0]),
            ("password", sender[1]),
            ("controlid", "test-request"),
            ("uniqueid", "true" if uniqueid else "false"),
            ("dtdversion", "3.0"),
        ):
            ET.SubElement(control, tag).text = text
        operation = ET.SubElement(root, "operation", transaction="true" if transaction else "false")
        auth = ET.SubElement(operation, "authentication")
        if sessionid:
            ET.SubElement(auth, "sessionid").text = sessionid
        else:
            element = ET.SubElement(auth, "login")
            for tag, text in zip(("userid", "companyid", "password"), login, strict=False):
                ET.SubElement(element, tag).text = text
        content = ET.SubElement(operation, "content")
        for controlid, call in functions:
            ET.SubElement(content, "function", controlid=controlid).append(call)
        return ET.tostring(root, encoding="UTF-8", xml_declaration=True)

    def post(self, body: bytes, url: str | None = None) -> httpx.Response:
        return httpx.post(
            url or self.endpoint,
            content=body,
            timeout=10,
            headers={"Content-Type": "application/xml"},
        )

    def call(self, functions, **options) -> ET.Element:
        response = self.post(self.envelope(functions, **options))
        assert response.status_code == 200, response.text
        return ET.fromstring(response.content)

    def session(self) -> tuple[str, str, str]:
        root = self.call([("s1", ET.Element("getAPISession"))])
        api = root.find("operation/result/data/api")
        timeout = root.findtext("operation/authentication/sessiontimeout")
        return api.findtext("sessionid"), api.findtext("endpoint"), timeout


def element(tag: str, *children, text: str | None = None, **attributes) -> ET.Element:
    node = ET.Element(tag, attributes)
    node.text = text
    node.extend(children)
    return node


def field(tag: str, text: str) -> ET.Element:
    return element(tag, text=text)


def entry(account: str, tr_type: str, amount: str, **extra: str) -> ET.Element:
    return element(
        "GLENTRY",
        field("ACCOUNTNO", account),
        field("TR_TYPE", tr_type),
        field("TRX_AMOUNT", amount),
        *(field(k, v) for k, v in extra.items()),
    )


def glbatch(
    reference: str, entries=None, journal: str = "SJ", batch_date: str = "01/05/2026"
) -> ET.Element:
    entries = (
        entries
        if entries is not None
        else [
            entry("1010", "1", "1830.25", LOCATION="BKN", DESCRIPTION="Cash"),
            entry(
                "4000",
                "-1",
                "1380.00",
                LOCATION="BKN",
                DEPARTMENT="DINING",
                GLDIMREVENUE_CENTER="DINING",
                DESCRIPTION="Food",
            ),
            entry("2200", "-1", "450.25", LOCATION="BKN", DESCRIPTION="Tax"),
        ]
    )
    return element(
        "create",
        element(
            "GLBATCH",
            field("JOURNAL", journal),
            field("BATCH_DATE", batch_date),
            field("BATCH_TITLE", f"Toast sales {reference}"),
            field("REFERENCENO", reference),
            element("ENTRIES", *entries),
        ),
    )


def read_by_query(
    query: str, fields: str = "RECORDNO,REFERENCENO,STATE", pagesize: int = 100
) -> ET.Element:
    return element(
        "readByQuery",
        field("object", "GLBATCH"),
        field("fields", fields),
        field("query", query),
        field("pagesize", str(pagesize)),
    )


def errors_of(parent: ET.Element) -> list[dict[str, str]]:
    return [
        {
            tag: error.findtext(tag) or ""
            for tag in ("errorno", "description", "description2", "correction")
        }
        for error in parent.findall("errormessage/error")
    ]


@pytest.fixture(scope="module")
def running():
    with served(IntacctSandbox()) as server:
        yield Gateway(server.url)


@pytest.fixture
def gateway(running: Gateway) -> Gateway:
    running.control("reset")
    return running


# -- sessions --------------------------------------------------------------------------------------


def test_get_api_session_returns_session_endpoint_and_timeout(gateway: Gateway):
    sessionid, endpoint, timeout = gateway.session()
    assert sessionid and endpoint == gateway.endpoint
    remaining = datetime.fromisoformat(timeout) - datetime.now(timezone.utc)
    assert 3500 < remaining.total_seconds() <= 3600
    assert gateway.stats()["sessions_created"] == 1

    root = gateway.call([("q", read_by_query(""))], sessionid=sessionid)
    assert root.findtext("operation/authentication/status") == "success"
    assert root.findtext("operation/result/status") == "success"


def test_session_slides_with_each_call_then_expires(gateway: Gateway):
    # The sandbox's clock is moved forward instead of sleeping: the real time that passes as
    # well (milliseconds; 15 s would be needed) cannot bring the 45 s steps to the timeout.
    gateway.control("configure", {"session_seconds": 60})
    sessionid, _, _ = gateway.session()
    for _ in range(2):  # 90 s in all: alive only because each call resets the timeout
        gateway.control("advance_clock", {"seconds": 45})
        root = gateway.call([("q", read_by_query(""))], sessionid=sessionid)
        assert root.findtext("operation/authentication/status") == "success"
    gateway.control("advance_clock", {"seconds": 61})
    root = gateway.call([("q", read_by_query(""))], sessionid=sessionid)
    assert root.findtext("operation/authentication/status") == "failure"


def test_expired_session_fails_authentication_inside_200_and_runs_nothing(gateway: Gateway):
    sessionid, _, _ = gateway.session()
    assert gateway.control("expire_sessions")["expired"] == 1

    root = gateway.call([("je-1", glbatch("REF-1"))], sessionid=sessionid, uniqueid=True)
    assert root.findtext("control/status") == "success"
    assert root.findtext("operation/authentication/status") == "failure"
    assert errors_of(root.find("operation"))[0]["errorno"] == "XL03000006"
    assert root.find("operation/result") is None
    assert gateway.control("batches") == []

    fresh, _, _ = gateway.session()  # a new login works at once
    assert fresh != sessionid
    root = gateway.call([("je-1", glbatch("REF-1"))], sessionid=fresh, uniqueid=True)
    assert root.findtext("operation/result/status") == "success"


# -- control and authentication failures -----------------------------------------------------------


def test_bad_sender_password_is_a_control_failure(gateway: Gateway):
    root = gateway.call([("s", ET.Element("getAPISession"))], sender=(SENDER[0], "wrong"))
    assert root.findtext("control/status") == "failure"
    assert root.find("operation") is None
    [error] = errors_of(root)
    assert error["errorno"] == "XL03000006"
    assert "Partner ID or password" in error["description2"]


def test_malformed_xml_is_control_failure_xl03000003(gateway: Gateway):
    response = gateway.post(b"<request><control><senderid>x</senderid></request>")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.findtext("control/status") == "failure"
    assert errors_of(root)[0]["errorno"] == "XL03000003"


def test_sender_not_authorized_for_company(gateway: Gateway):
    gateway.control("configure", {"senders": {"other-sender": "other-password"}})
    root = gateway.call(
        [("s", ET.Element("getAPISession"))], sender=("other-sender", "other-password")
    )
    assert root.findtext("control/status") == "success"
    assert root.findtext("operation/authentication/status") == "failure"
    [error] = errors_of(root.find("operation"))
    assert (error["errorno"], error["description"]) == (
        "XL03000006",
        "Invalid Web Services Authorization",
    )
    assert "other-sender" in error["description2"] and error["correction"]


def test_bad_user_login_fails_authentication(gateway: Gateway):
    root = gateway.call(
        [("s", ET.Element("getAPISession"))], login=(USER[0], USER[1], "wrong-password")
    )
    assert root.findtext("operation/authentication/status") == "failure"
    assert (
        errors_of(root.find("operation"))[0]["description2"] == "Sign-in information is incorrect"
    )
    assert gateway.stats()["sessions_created"] == 0


# -- GLBATCH ---------------------------------------------------------------------------------------


def test_create_returns_recordno_and_read_gives_exact_lines(gateway: Gateway):
    sessionid, _, _ = gateway.session()
    root = gateway.call(
        [("je-1", glbatch("REF-1"))], sessionid=sessionid, uniqueid=True, transaction=True
    )
    result = root.find("operation/result")
    assert result.findtext("status") == "success"
    recordno = result.findtext("data/glbatch/RECORDNO")

    read = element(
        "read", field("object", "GLBATCH"), field("keys", recordno), field("fields", "*")
    )
    batch = gateway.call([("r", read)], sessionid=sessionid).find("operation/result/data/glbatch")
    assert batch.findtext("REFERENCENO") == "REF-1"
    assert batch.findtext("BATCH_DATE") == "01/05/2026"
    lines = [
        (
            e.findtext("ACCOUNTNO"),
            e.findtext("TR_TYPE"),
            e.findtext("TRX_AMOUNT"),
            e.findtext("LOCATION"),
            e.findtext("DEPARTMENT"),
            e.findtext("GLDIMREVENUE_CENTER") or "",
        )
        for e in batch.findall("ENTRIES/glentry")
    ]
    assert lines == [
        ("1010", "1", "1830.25", "BKN", "", ""),
        ("4000", "-1", "1380.00", "BKN", "DINING", "DINING"),
        ("2200", "-1", "450.25", "BKN", "", ""),
    ]


def test_unbalanced_batch_is_refused_and_rolled_back(gateway: Gateway):
    entries = [entry("1010", "1", "100.00"), entry("4000", "-1", "99.99")]
    root = gateway.call([("je-1", glbatch("REF-1", entries))], uniqueid=True, transaction=True)
    result = root.find("operation/result")
    assert result.findtext("status") == "failure"
    found = errors_of(result)
    assert "debits 100.00, credits 99.99" in found[0]["description2"]
    assert found[0]["correction"]
    assert found[-1]["errorno"] == "XL03000009"
    assert gateway.control("batches") == []


@pytest.mark.parametrize(
    "entries, journal, batch_date, expected",
    [
        (
            [entry("9999", "1", "5.00"), entry("4000", "-1", "5.00")],
            "SJ",
            "01/05/2026",
            "Invalid GL account '9999'",
        ),
        (
            [entry("1010", "1", "5.00", LOCATION="NOWHERE"), entry("4000", "-1", "5.00")],
            "SJ",
            "01/05/2026",
            "Invalid location 'NOWHERE'",
        ),
        (
            [entry("1010", "1", "5.00", DEPARTMENT="SPA"), entry("4000", "-1", "5.00")],
            "SJ",
            "01/05/2026",
            "Invalid department 'SPA'",
        ),
        (
            [entry("1010", "1", "5.001"), entry("4000", "-1", "5.001")],
            "SJ",
            "01/05/2026",
            "more than 2 decimal places",
        ),
        (
            [entry("1010", "1", "-5.00"), entry("4000", "1", "5.00")],
            "SJ",
            "01/05/2026",
            "must be zero or positive",
        ),
        (
            [entry("1010", "2", "5.00"), entry("4000", "-1", "5.00")],
            "SJ",
            "01/05/2026",
            "must be 1 (debit) or -1 (credit)",
        ),
        (
            [entry("1010", "1", "5.00", GLDIMPROJECT="X"), entry("4000", "-1", "5.00")],
            "SJ",
            "01/05/2026",
            "Unknown user-defined dimension GLDIMPROJECT",
        ),
        (
            [entry("1010", "1", "5.00"), entry("4000", "-1", "5.00")],
            "ZZ",
            "01/05/2026",
            "Invalid journal 'ZZ'",
        ),
        (
            [entry("1010", "1", "5.00"), entry("4000", "-1", "5.00")],
            "SJ",
            "2026-01-05",
            "not a date",
        ),
    ],
)
def test_invalid_batches_are_refused_with_the_reason(
    gateway: Gateway, entries, journal, batch_date, expected
):
    root = gateway.call([("je-1", glbatch("REF-1", entries, journal, batch_date))], uniqueid=True)
    result = root.find("operation/result")
    assert result.findtext("status") == "failure"
    assert any(expected in e["description2"] for e in errors_of(result)), errors_of(result)
    assert gateway.control("batches") == []


def test_closed_period_is_refused(gateway: Gateway):
    gateway.control("configure", {"companies": {"HARBOR-VINE": {"closed_before": "2026-02-01"}}})
    root = gateway.call([("je-1", glbatch("REF-1"))], uniqueid=True)
    [error] = errors_of(root.find("operation/result"))
    assert "within a period that's been closed" in error["description2"]


def test_configured_chart_replaces_the_seeded_one(gateway: Gateway):
    gateway.control("configure", {"companies": {"HARBOR-VINE": {"accounts": ["1010", "7000"]}}})
    entries = [entry("1010", "1", "5.00"), entry("7000", "-1", "5.00")]
    root = gateway.call([("je-1", glbatch("REF-1", entries))], uniqueid=True)
    assert root.findtext("operation/result/status") == "success"
    root = gateway.call([("je-2", glbatch("REF-2"))], uniqueid=True)
    assert "Invalid GL account '4000'" in root.findtext(
        "operation/result/errormessage/error/description2"
    )


# -- uniqueid ------------------------------------------------------------------------------------


def test_uniqueid_refuses_a_completed_function_controlid(gateway: Gateway):
    first = gateway.call([("je-STORE-1", glbatch("REF-1"))], uniqueid=True)
    assert first.findtext("operation/result/status") == "success"
    again = gateway.call([("je-STORE-1", glbatch("REF-1"))], uniqueid=True)
    result = again.find("operation/result")
    assert result.findtext("status") == "failure"
    assert result.find("data") is None
    assert "already executed" in errors_of(result)[0]["description2"]
    assert len(gateway.control("batches")) == 1
    assert gateway.stats()["duplicates_refused"] == 1


def test_without_uniqueid_the_same_controlid_runs_again(gateway: Gateway):
    for _ in range(2):
        gateway.call([("je-STORE-1", glbatch("REF-1"))], uniqueid=False)
    assert len(gateway.control("batches")) == 2


def test_a_refused_function_may_be_sent_again_under_the_same_controlid(gateway: Gateway):
    bad = [entry("9999", "1", "5.00"), entry("4000", "-1", "5.00")]
    gateway.call([("je-1", glbatch("REF-1", bad))], uniqueid=True)
    root = gateway.call([("je-1", glbatch("REF-1"))], uniqueid=True)
    assert root.findtext("operation/result/status") == "success"


def test_transaction_aborts_every_function_when_one_fails(gateway: Gateway):
    bad = [entry("9999", "1", "5.00"), entry("4000", "-1", "5.00")]
    root = gateway.call(
        [("je-1", glbatch("REF-1")), ("je-2", glbatch("REF-2", bad))],
        uniqueid=True,
        transaction=True,
    )
    statuses = [r.findtext("status") for r in root.findall("operation/result")]
    assert statuses == ["aborted", "failure"]
    assert gateway.control("batches") == []


# -- reading back ----------------------------------------------------------------------------------


def test_read_by_query_on_referenceno(gateway: Gateway):
    for n in range(1, 4):
        gateway.call([(f"je-{n}", glbatch(f"REF-{n}"))], uniqueid=True)
    root = gateway.call(
        [
            ("q1", read_by_query("REFERENCENO IN ('REF-1','REF-3','NONE')")),
            ("q2", read_by_query("REFERENCENO = 'REF-2'")),
        ]
    )
    first, second = root.findall("operation/result/data")
    assert first.get("listtype") == "glbatch" and first.get("count") == "2"
    assert [g.findtext("REFERENCENO") for g in first] == ["REF-1", "REF-3"]
    assert [g.findtext("STATE") for g in first] == ["Posted", "Posted"]
    assert [g.findtext("REFERENCENO") for g in second] == ["REF-2"]
    assert all(g.findtext("RECORDNO").isdigit() for g in first)


def test_read_by_query_pages_with_read_more(gateway: Gateway):
    for n in range(1, 4):
        gateway.call([(f"je-{n}", glbatch(f"REF-{n}"))], uniqueid=True)
    data = gateway.call([("q", read_by_query("REFERENCENO LIKE 'REF-%'", pagesize=2))]).find(
        "operation/result/data"
    )
    assert (data.get("count"), data.get("totalcount"), data.get("numremaining")) == ("2", "3", "1")
    more = element("readMore", field("resultId", data.get("resultId")))
    rest = gateway.call([("m", more)]).find("operation/result/data")
    assert [g.findtext("REFERENCENO") for g in rest] == ["REF-3"]


def test_query_function_with_in_filter(gateway: Gateway):
    for n in range(1, 4):
        gateway.call([(f"je-{n}", glbatch(f"REF-{n}"))], uniqueid=True)
    condition = element(
        "in", field("field", "REFERENCENO"), field("value", "REF-2"), field("value", "REF-3")
    )
    query = element(
        "query",
        field("object", "GLBATCH"),
        element("select", field("field", "RECORDNO"), field("field", "REFERENCENO")),
        element(
            "filter",
            element(
                "and",
                condition,
                element("equalto", field("field", "JOURNAL"), field("value", "SJ")),
            ),
        ),
    )
    data = gateway.call([("q", query)]).find("operation/result/data")
    assert data.get("listtype") == "GLBATCH"
    assert [g.findtext("REFERENCENO") for g in data.findall("GLBATCH")] == ["REF-2", "REF-3"]


def glbatch_query(*paging: ET.Element, options: ET.Element | None = None) -> ET.Element:
    """A `query` of every REF-% batch by RECORDNO, with the paging elements given."""
    return element(
        "query",
        field("object", "GLBATCH"),
        element("select", field("field", "RECORDNO"), field("field", "REFERENCENO")),
        element("filter", element("like", field("field", "REFERENCENO"), field("value", "REF-%"))),
        element("orderby", element("order", field("field", "RECORDNO"), element("ascending"))),
        *([options] if options is not None else []),
        *paging,
    )


def test_query_pages_by_pagesize_and_offset_under_query(gateway: Gateway):
    for n in range(1, 6):
        gateway.call([(f"je-{n}", glbatch(f"REF-{n}"))], uniqueid=True)
    options = element("options", field("caseinsensitive", "false"))
    paging = (field("pagesize", "2"), field("offset", "2"))
    data = gateway.call([("q", glbatch_query(*paging, options=options))]).find(
        "operation/result/data"
    )
    assert [g.findtext("REFERENCENO") for g in data] == ["REF-3", "REF-4"]
    assert {k: data.get(k) for k in ("count", "totalcount", "offset", "numremaining")} == {
        "count": "2",
        "totalcount": "5",
        "offset": "2",
        "numremaining": "1",
    }


@pytest.mark.parametrize("misplaced", ["pagesize", "offset", "returnformat"])
def test_anything_but_the_two_flags_inside_query_options_fails_the_schema(
    gateway: Gateway, misplaced: str
):
    options = element("options", field("caseinsensitive", "false"), field(misplaced, "2"))
    root = gateway.call(
        [("je-1", glbatch("REF-1")), ("q", glbatch_query(options=options))], uniqueid=True
    )
    assert root.findtext("control/status") == "failure"
    [error] = errors_of(root)
    assert error["errorno"] == "XL03000003"
    assert f"Element '{misplaced}': This element is not expected" in error["description2"]
    assert "caseinsensitive, showprivate" in error["description2"]
    assert root.find("operation") is None
    assert gateway.control("batches") == []  # validated before anything ran


def test_a_planted_draft_without_lines_is_a_header_only(gateway: Gateway):
    planted = gateway.control("add_batch", {"REFERENCENO": "REF-9", "BATCH_DATE": "2026-01-05"})
    [batch] = gateway.control("batches")
    assert (batch["RECORDNO"], batch["STATE"], batch["entries"]) == (
        planted["RECORDNO"],
        "Draft",
        [],
    )
    lines = element(
        "query",
        field("object", "GLENTRY"),
        element("select", field("field", "RECORDNO")),
        element(
            "filter",
            element("equalto", field("field", "BATCHNO"), field("value", planted["RECORDNO"])),
        ),
    )
    data = gateway.call([("q", lines)]).find("operation/result/data")
    assert data.get("count") == "0"


def test_bad_query_is_a_function_failure(gateway: Gateway):
    root = gateway.call([("q", read_by_query("REFERENCENO IN ('a'"))])
    assert root.findtext("operation/result/status") == "failure"


# -- limits and faults -------------------------------------------------------------------------


def test_concurrent_requests_over_the_limit_get_429_gw_0010(gateway: Gateway):
    gateway.control("configure", {"concurrency_limit": 1})
    gateway.control("faults", {"kind": "slow", "seconds": 3.0})
    body = gateway.envelope([("q", read_by_query(""))])
    slow = threading.Thread(target=gateway.post, args=(body,))
    slow.start()
    # Not a fixed sleep: wait until the slow request holds the slot; it keeps it 3 s, against
    # the one control call and one request the next lines make.
    deadline = time.monotonic() + 30
    while gateway.stats()["in_flight"] < 1:
        assert time.monotonic() < deadline, "the slow request never took the slot"
        time.sleep(0.01)
    response = gateway.post(body)
    slow.join()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    root = ET.fromstring(response.content)
    assert root.findtext("control/status") == "failure"
    assert errors_of(root)[0]["errorno"] == "GW-0010"
    assert gateway.stats()["throttled"] == 1
    assert gateway.post(body).status_code == 200  # the slot is free again


def test_status_fault_runs_nothing(gateway: Gateway):
    gateway.control("faults", {"kind": "status", "status": 503, "function": "create"})
    response = gateway.post(gateway.envelope([("je-1", glbatch("REF-1"))], uniqueid=True))
    assert response.status_code == 503
    assert gateway.control("batches") == []


def test_524_fault_executes_but_does_not_answer(gateway: Gateway):
    gateway.control("faults", {"kind": "status", "status": 524, "function": "create"})
    response = gateway.post(gateway.envelope([("je-1", glbatch("REF-1"))], uniqueid=True))
    assert response.status_code == 524
    assert [b["REFERENCENO"] for b in gateway.control("batches")] == ["REF-1"]


@pytest.mark.parametrize("kind, batches", [("drop", 0), ("commit_then_drop", 1)])
def test_dropped_connections(gateway: Gateway, kind: str, batches: int):
    gateway.control("faults", {"kind": kind, "function": "create"})
    with pytest.raises(httpx.TransportError):
        gateway.post(gateway.envelope([("je-1", glbatch("REF-1"))], uniqueid=True))
    assert len(gateway.control("batches")) == batches
    assert gateway.stats()["faults_fired"] == 1


def test_stats_count_requests_by_function_and_reset_clears(gateway: Gateway):
    sessionid, _, _ = gateway.session()
    gateway.call([("je-1", glbatch("REF-1"))], sessionid=sessionid, uniqueid=True)
    stats = gateway.stats()
    assert stats["by_function"] == {"getAPISession": 1, "create": 1}
    assert stats["batches_created"] == 1
    gateway.control("reset")
    assert gateway.stats()["requests"] == 0
    assert gateway.control("batches") == []
    root = gateway.call([("q", read_by_query(""))], sessionid=sessionid)
    assert root.findtext("operation/authentication/status") == "failure"


# -- object definitions and lists ------------------------------------------------------------------


def select_query(object_name: str, *fields: str, condition: ET.Element | None = None):
    return element(
        "query",
        field("object", object_name),
        element("select", *(field("field", name) for name in fields)),
        *([element("filter", condition)] if condition is not None else []),
    )


def test_glbatch_answers_every_field_of_its_definition_and_refuses_others(gateway: Gateway):
    gateway.call([("je-1", glbatch("REF-1"))], uniqueid=True)
    vat = ("TAXIMPLICATIONS", "VATVENDORID", "VATCUSTOMERID", "VATCONTACTID", "TAXSOLUTIONID")
    data = gateway.call(
        [("q", select_query("GLBATCH", "REFERENCENO", "BASELOCATION_NO", *vat))]
    ).find("operation/result/data")
    [row] = data.findall("GLBATCH")
    assert [child.tag for child in row] == ["REFERENCENO", "BASELOCATION_NO", *vat]
    assert row.findtext("REFERENCENO") == "REF-1"

    for object_name, unknown in (("GLBATCH", "NOSUCHFIELD"), ("GLENTRY", "GLDIMPROJECT")):
        result = gateway.call([("q", select_query(object_name, "RECORDNO", unknown))]).find(
            "operation/result"
        )
        assert result.findtext("status") == "failure"
        assert f"Unknown field {unknown} on {object_name}" in errors_of(result)[0]["description2"]


def test_a_filter_on_an_unknown_field_fails_the_query(gateway: Gateway):
    condition = element("equalto", field("field", "NOSUCH"), field("value", "x"))
    result = gateway.call([("q", select_query("GLBATCH", "RECORDNO", condition=condition))]).find(
        "operation/result"
    )
    assert result.findtext("status") == "failure"
    assert "Unknown field NOSUCH on GLBATCH" in errors_of(result)[0]["description2"]


def test_lists_answer_with_status_and_inactive_values_refuse_posting(gateway: Gateway):
    gateway.control(
        "configure",
        {"companies": {"HARBOR-VINE": {"inactive": {"accounts": ["4000"], "locations": ["BKN"]}}}},
    )
    wanted = element(
        "in", field("field", "ACCOUNTNO"), field("value", "4000"), field("value", "1010")
    )
    accounts = gateway.call(
        [("q", select_query("GLACCOUNT", "ACCOUNTNO", "STATUS", condition=wanted))]
    ).find("operation/result/data")
    assert [(a.findtext("ACCOUNTNO"), a.findtext("STATUS")) for a in accounts] == [
        ("1010", "active"),
        ("4000", "inactive"),
    ]
    journals = gateway.call([("q", select_query("gljournal", "symbol", "status"))]).find(
        "operation/result/data"
    )
    assert [(j.findtext("SYMBOL"), j.findtext("STATUS")) for j in journals] == [
        ("GJ", "active"),
        ("PJ", "active"),
        ("SJ", "active"),
    ]
    values = gateway.call([("q", select_query("REVENUE_CENTER", "id"))]).find(
        "operation/result/data"
    )
    assert sorted(v.findtext("id") for v in values.findall("REVENUE_CENTER")) == [
        "BAR",
        "DINING",
        "NORC",
        "OFFPREM",
        "PATIO",
    ]

    result = gateway.call([("je-1", glbatch("REF-1"))], uniqueid=True).find("operation/result")
    assert result.findtext("status") == "failure"
    said = [e["description2"] for e in errors_of(result)]
    assert "The GL account '4000' in ACCOUNTNO (line 2) is inactive." in said
    assert "The location 'BKN' in LOCATION (line 1) is inactive." in said
    assert gateway.control("batches") == []


def test_requests_lists_each_function_with_its_object_and_paging(gateway: Gateway):
    paging = (field("pagesize", "2"), field("offset", "4"))
    gateway.call([("q", glbatch_query(*paging)), ("s", ET.Element("getAPISession"))])
    [request] = gateway.control("requests")
    assert request["uniqueid"] is False
    assert [
        (f["function"], f["object"], f["pagesize"], f["offset"], f["filter"])
        for f in request["functions"]
    ] == [("query", "GLBATCH", "2", "4", ["like"]), ("getAPISession", None, None, None, [])]


def with_child(function: ET.Element, path: str, tag: str) -> ET.Element:
    """`function` with a <tag> added below `path` ("." for the function element itself)."""
    parent = function if path == "." else function.find(path)
    parent.append(field(tag, "0"))
    return function


@pytest.mark.parametrize(
    "function, misplaced",
    [
        (with_child(read_by_query(""), ".", "offset"), "offset"),  # it pages with readMore
        (with_child(glbatch_query(), "select", "value"), "value"),
        (with_child(glbatch_query(), "orderby/order", "value"), "value"),
    ],
)
def test_an_element_a_read_function_does_not_hold_fails_the_schema(
    gateway: Gateway, function: ET.Element, misplaced: str
):
    root = gateway.call([("je-1", glbatch("REF-1")), ("q", function)], uniqueid=True)
    assert root.findtext("control/status") == "failure"
    [error] = errors_of(root)
    assert error["errorno"] == "XL03000003"
    assert f"Element '{misplaced}': This element is not expected" in error["description2"]
    assert gateway.control("batches") == []
