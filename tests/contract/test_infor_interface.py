"""The M3 connector against a tenant's GL interface definition it did not write: the sandbox
reads each PARM through its own definition of interface CLOSEOUT (sandboxes/infor/config.py)
and its own accounting-string rules, never through ERP__INFOR__PARM_LAYOUT, so a layout that
disagrees with the tenant is refused as M3 would refuse it, over real HTTP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

import sandboxes.infor as infor_sandbox
from closeout.errors import ErpRefusal
from posting.connectors.contract import Journal, Line
from posting.connectors.infor import (
    InforConnector,
    InforSettings,
    IonApiCredentials,
    parse_dimensions,
    parse_layout,
)
from sandboxes.infor.server import InforSandbox
from tests.kit import SandboxClient, serving
from tests.kit.connectors import Recorded, sales_lines

KEY = "CO-20260105-b601e100-S0-abc123def0"
SHIFTED = (  # AIT2 and everything after it one position to the right
    "AIT1:1:8,AIT2:10:8,AIT3:18:8,AIT4:26:8,AIT5:34:8,AIT6:42:8,AIT7:50:8,"
    "ACDT:58:8,CUAM:66:17,CUCD:83:3,VTXT:86:40"
)
SHORT_AMOUNT = (  # CUAM 15 long where the tenant defines 17
    "AIT1:1:8,AIT2:9:8,AIT3:17:8,AIT4:25:8,AIT5:33:8,AIT6:41:8,AIT7:49:8,"
    "ACDT:57:8,CUAM:65:15,CUCD:80:3,VTXT:83:40"
)

server = serving(InforSandbox)


@pytest.fixture
def m3(server) -> SandboxClient:
    client = SandboxClient(server.url, server.app)
    client.control("reset")
    client.ionapi = infor_sandbox.connector_env(server.app, server)["ERP__INFOR__IONAPI_FILE"]
    return client


def connector(m3, **settings) -> InforConnector:
    credentials = IonApiCredentials.from_file(m3.ionapi)
    return InforConnector(InforSettings(credentials, **settings), Recorded("infor").http)


def journal(lines: tuple[Line, ...] | None = None) -> Journal:
    return Journal(
        key=KEY,
        journal_id="b601e100:2026-01-05:sales",
        restaurant_guid="b601e100",
        location_name="Harbor & Vine Brooklyn Heights",
        company="HV-NY",
        business_date=date(2026, 1, 5),
        journal_type="sales",
        kind="original",
        adjusts=None,
        currency="USD",
        title=f"Toast sales journal [{KEY}]",
        lines=lines or sales_lines("BKN"),
        division="BKN",
    )


def refused(m3, **settings) -> str:
    """The operator's message for the sample journal; M3 must be left without a batch."""
    with pytest.raises(ErpRefusal) as refusal:
        connector(m3, **settings).create(journal())
    assert m3.control("batches") == [] and m3.control("vouchers") == []
    assert "GLS840MI/UpdBatch" not in m3.control("stats")["transactions"]
    return str(refusal.value)


def test_the_default_layout_posts_against_the_tenants_default_definition(m3):
    posted = connector(m3).create(journal())

    vouchers = m3.control("vouchers")
    assert posted.startswith("100/BKN/") and len(vouchers) == 5
    as_sent = {
        (ln.account, ln.location, ln.revenue_center or "", ln.debit - ln.credit)
        for ln in journal().lines
    }
    as_read = {(v["AIT1"], v["AIT2"], v["AIT3"], Decimal(v["CUAM"])) for v in vouchers}
    assert as_read == as_sent
    assert {v["ACDT"] for v in vouchers} == {"20260105"}


def test_a_shifted_field_is_refused_naming_the_layout_setting_and_m3s_message(m3):
    message = refused(m3, parm_layout=parse_layout(SHIFTED))

    assert "Line 1: PARM does not match interface CLOSEOUT" in message
    assert "AIT2 (positions 9-16) reads ' BKN'" in message and "field PARM" in message
    assert "ERP__INFOR__PARM_LAYOUT does not match the definition of interface" in message


def test_a_field_of_the_wrong_length_is_refused_naming_the_layout_setting(m3):
    message = refused(m3, parm_layout=parse_layout(SHORT_AMOUNT))

    assert "CUAM (positions 65-81) reads '+00000001234.50US'" in message
    assert "zero-padded to 17" in message and "ERP__INFOR__PARM_LAYOUT" in message


def test_the_mismatch_arrives_in_m3s_mi_error_shape_inside_http_200(m3):
    c = connector(m3, parm_layout=parse_layout(SHIFTED))
    sent = c._batch_transactions(journal(), "100", "BKN", "COSHAPE")
    answer = httpx.post(
        c.settings.credentials.m3_url,
        json={"program": "GLS840MI", "transactions": sent},
        headers={"Authorization": f"Bearer {c._access_token()}"},
        timeout=10,
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["nrOfSuccessfullTransactions"], body["nrOfFailedTransactions"]) == (6, 1)
    failed = body["results"][-1]
    assert failed["transaction"] == "CtrlBatch"
    assert (failed["errorType"], failed["errorCode"], failed["errorField"]) == (
        "ServerReturnedNOK",
        "WPA0102",
        "PARM",
    )
    assert failed["errorMessage"].startswith("Line 1: PARM does not match interface CLOSEOUT")


def test_a_revenue_account_without_its_required_location_ait_is_refused(m3):
    no_location = parse_dimensions("AIT1=account,AIT3=revenue_center")
    message = refused(m3, dimensions=no_location)

    assert "Accounting dimension 2 must be entered for account 4000" in message
    assert "field AIT2" in message and "Nothing fills AIT2" in message
    assert "ERP__INFOR__DIMENSIONS" in message


def test_an_account_that_also_requires_ait3_is_refused_without_a_revenue_center(m3):
    rules = m3.control("config")["account_dimensions"]
    m3.control("configure", {"account_dimensions": {**rules, "4020": ["AIT2", "AIT3"]}})
    lines = tuple(
        Line(ln.number, ln.account, ln.debit, ln.credit, ln.description, ln.location, None)
        if ln.account == "4020"
        else ln
        for ln in sales_lines("BKN")
    )
    with pytest.raises(ErpRefusal) as refusal:
        connector(m3).create(journal(lines))

    message = str(refusal.value)
    assert "Accounting dimension 3 must be entered for account 4020" in message
    assert "field AIT3" in message and "revenue_center_dimensions.csv" in message
    assert m3.control("batches") == []
    assert connector(m3).create(journal()).startswith("100/BKN/")  # with one, it posts


def test_an_unknown_interface_is_refused_naming_the_interface_setting(m3):
    message = refused(m3, interface="GLPOS")

    assert "Interface GLPOS does not exist" in message and "field INTN" in message
    assert "Set ERP__INFOR__INTERFACE (now GLPOS)" in message


def test_the_tenants_own_interface_name_is_the_one_that_posts(m3):
    definition = m3.control("config")["interfaces"]["CLOSEOUT"]
    m3.control("configure", {"interfaces": {"POSGL": definition}})

    assert "Interface CLOSEOUT does not exist" in refused(m3)
    assert connector(m3, interface="POSGL").create(journal()).startswith("100/BKN/")
    [batch] = m3.control("batches")
    assert (batch["INTN"], batch["STAT"]) == ("POSGL", "90")
