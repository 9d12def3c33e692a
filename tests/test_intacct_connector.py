"""IntacctConnector against the Intacct sandbox over real HTTP."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from closeout.errors import ConfigurationError, ErpAuthError, ErpRefusal, ErpUnavailable
from closeout.token_store import TokenStore
from posting.connectors.contract import Journal, Line
from posting.connectors.intacct import IntacctConnector, IntacctSettings
from posting.http import ErpHttp, Exchange
from sandboxes.intacct.server import GATEWAY_PATH, IntacctSandbox
from tests.kit import serving
from tests.test_intacct_sandbox import Gateway, element, field

SENDER_PASSWORD = "sandbox-sender-password"
USER_PASSWORD = "sandbox-user-password"


def line(
    number: int,
    account: str,
    debit: str = "0",
    credit: str = "0",
    location: str | None = "BKN",
    revenue_center: str | None = None,
) -> Line:
    return Line(
        number, account, Decimal(debit), Decimal(credit), f"line {number}", location, revenue_center
    )


def journal(key: str = "CO-20260105-b601e100-S1-0123456789", **changes) -> Journal:
    base = Journal(
        key=key,
        journal_id="b601e100-26a6-4cf6-ad6c-b2705d1213bc:2026-01-05:sales",
        restaurant_guid="b601e100-26a6-4cf6-ad6c-b2705d1213bc",
        location_name="Harbor & Vine Brooklyn Heights",
        company="HV-NY",
        business_date=date(2026, 1, 5),
        journal_type="sales",
        kind="original",
        adjusts=None,
        currency="USD",
        title=f"Toast sales journal 2026-01-05 Brooklyn Heights [{key}]",
        lines=(
            line(1, "1010", debit="1830.25"),
            line(2, "1110", debit="4120.10"),
            line(3, "4000", credit="4800.00", revenue_center="DINING"),
            line(4, "4020", credit="700.10", revenue_center="BAR"),
            line(5, "2200", credit="450.25"),
        ),
    )
    return dataclasses.replace(base, **changes)


running = serving(IntacctSandbox, name="running", client=Gateway)


@pytest.fixture
def gateway(running: Gateway) -> Gateway:
    return running.reset()


class Harness:
    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self.exchanges: list[Exchange] = []
        self.opened: list[IntacctConnector] = []

    def settings(self, **changes) -> IntacctSettings:
        base = IntacctSettings(
            sender_id="closeout-sandbox",
            sender_password=SENDER_PASSWORD,
            company_id="HARBOR-VINE",
            user_id="closeout_xml",
            user_password=USER_PASSWORD,
            endpoint_url=self.gateway.endpoint,
        )
        return dataclasses.replace(base, **changes)

    def connector(
        self, store: TokenStore | None = None, max_attempts: int = 6, **changes
    ) -> IntacctConnector:
        http = ErpHttp(
            "intacct",
            sink=self.exchanges.append,
            max_attempts=max_attempts,
            sleep=lambda seconds: None,
        )
        connector = IntacctConnector(self.settings(**changes), http, store=store)
        self.opened.append(connector)
        return connector

    def read_batch(self, recordno: str) -> ET.Element:
        """Read a batch back through the XML API, with its own login."""
        read = element(
            "read", field("object", "GLBATCH"), field("keys", recordno), field("fields", "*")
        )
        batch = self.gateway.call([("read", read)]).find("operation/result/data/glbatch")
        assert batch is not None, f"no GLBATCH {recordno}"
        return batch


@pytest.fixture
def harness(gateway: Gateway):
    harness = Harness(gateway)
    yield harness
    for connector in harness.opened:
        connector.close()


def entries(batch: ET.Element) -> list[tuple]:
    return [
        (
            e.findtext("ACCOUNTNO"),
            e.findtext("TR_TYPE"),
            e.findtext("TRX_AMOUNT"),
            e.findtext("LOCATION"),
            e.findtext("DEPARTMENT"),
            e.findtext("DESCRIPTION"),
        )
        for e in batch.findall("ENTRIES/glentry")
    ]


# -- posting ---------------------------------------------------------------------------------------


def test_posts_a_journal_and_reads_it_back_exactly(harness: Harness, gateway: Gateway):
    connector = harness.connector()
    document = journal()
    assert connector.existing([document]) == {}
    recordno = connector.create(document)
    stats = gateway.stats()
    assert stats["by_function"] == {"getAPISession": 1, "query": 1, "create": 1}
    assert stats["sessions_created"] == 1

    batch = harness.read_batch(recordno)
    assert batch.findtext("REFERENCENO") == document.key
    assert batch.findtext("BATCH_TITLE") == document.title
    assert batch.findtext("BATCH_DATE") == "01/05/2026"
    assert batch.findtext("JOURNAL") == "SJ"
    assert entries(batch) == [
        ("1010", "1", "1830.25", "BKN", "", "line 1"),
        ("1110", "1", "4120.10", "BKN", "", "line 2"),
        ("4000", "-1", "4800.00", "BKN", "DINING", "line 3"),
        ("4020", "-1", "700.10", "BKN", "BAR", "line 4"),
        ("2200", "-1", "450.25", "BKN", "", "line 5"),
    ]


def test_existing_finds_posted_keys_in_one_request(harness: Harness, gateway: Gateway):
    connector = harness.connector()
    posted = [journal(key=f"CO-KEY-{n:03d}") for n in range(3)]
    recordnos = {j.key: connector.create(j) for j in posted}
    unposted = [journal(key=f"CO-NEW-{n:03d}") for n in range(247)]
    before = gateway.stats()["requests"]

    assert harness.connector().existing(posted + unposted) == recordnos
    stats = gateway.stats()
    assert stats["requests"] - before == 2  # one login (new connector), one request
    assert stats["by_function"]["query"] == 3  # 250 keys in chunks of 100


def test_adjustment_names_the_original(harness: Harness):
    connector = harness.connector()
    original = connector.create(journal())
    adjustment = journal(
        key="CO-20260105-b601e100-S2-9876543210",
        kind="adjustment",
        adjusts=original,
        lines=(
            line(1, "1010", debit="12.50"),
            line(2, "4000", credit="12.50", revenue_center="PATIO"),
        ),
    )
    recordno = connector.create(adjustment)
    batch = harness.read_batch(recordno)
    assert recordno != original
    assert f"GLBATCH {original}" in batch.findtext("HISTORY_COMMENT")
    assert entries(batch) == [
        ("1010", "1", "12.50", "BKN", "", "line 1"),
        ("4000", "-1", "12.50", "BKN", "PATIO", "line 2"),
    ]


def test_dimension_mapping_is_configurable(harness: Harness):
    connector = harness.connector(
        revenue_center_field="GLDIMREVENUE_CENTER", company_field="GLDIMERP_COMPANY"
    )
    recordno = connector.create(journal())
    lines = harness.read_batch(recordno).findall("ENTRIES/glentry")
    assert [e.findtext("DEPARTMENT") for e in lines] == [""] * 5
    assert [e.findtext("GLDIMREVENUE_CENTER") for e in lines] == [None, None, "DINING", "BAR", None]
    assert {e.findtext("GLDIMERP_COMPANY") for e in lines} == {"HV-NY"}


# -- exactly once ----------------------------------------------------------------------------------


def test_commit_then_drop_leaves_exactly_one_batch(harness: Harness, gateway: Gateway):
    gateway.control("faults", {"kind": "commit_then_drop", "function": "create"})
    connector = harness.connector()
    document = journal()
    recordno = connector.create(document)

    batches = gateway.control("batches")
    assert [(b["RECORDNO"], b["REFERENCENO"]) for b in batches] == [(recordno, document.key)]
    stats = gateway.stats()
    assert stats["duplicates_refused"] == 1  # the resend was refused, not executed
    assert stats["by_function"]["create"] == 2
    assert harness.connector().existing([document]) == {document.key: recordno}


def test_524_is_settled_by_querying_not_by_resending(harness: Harness, gateway: Gateway):
    gateway.control("faults", {"kind": "status", "status": 524, "function": "create"})
    recordno = harness.connector().create(journal())
    assert [b["RECORDNO"] for b in gateway.control("batches")] == [recordno]
    assert gateway.stats()["by_function"]["create"] == 1


def test_524_without_a_batch_is_sent_once_more(harness: Harness, gateway: Gateway):
    gateway.control(
        "faults", {"kind": "status", "status": 524, "function": "create", "execute": False}
    )
    recordno = harness.connector().create(journal())
    assert [b["RECORDNO"] for b in gateway.control("batches")] == [recordno]
    assert gateway.stats()["by_function"]["create"] == 2


def test_create_of_a_journal_already_in_intacct_returns_its_recordno(
    harness: Harness, gateway: Gateway
):
    first = harness.connector().create(journal())
    again = harness.connector().create(journal())  # e.g. a crash before DuckDB recorded it
    assert again == first
    assert len(gateway.control("batches")) == 1


# -- sessions and limits --------------------------------------------------------------------------


def test_expired_session_logs_in_once_and_retries(harness: Harness, gateway: Gateway):
    connector = harness.connector()
    connector.existing([journal()])
    gateway.control("expire_sessions")
    recordno = connector.create(journal())
    assert harness.read_batch(recordno).findtext("REFERENCENO") == journal().key
    stats = gateway.stats()
    assert stats["sessions_created"] == 2
    assert stats["auth_failures"] == 1


def test_session_is_reused_across_runs_when_a_key_is_set(
    harness: Harness, gateway: Gateway, tmp_path
):
    store = TokenStore(tmp_path / "tokens.enc", Fernet(Fernet.generate_key()))
    first = harness.connector(store=store)
    first.create(journal())
    first.close()
    assert b"sessionid" not in (tmp_path / "tokens.enc").read_bytes()  # encrypted

    second = harness.connector(store=store)
    second.create(journal(key="CO-NEXT-RUN"))
    assert gateway.stats()["sessions_created"] == 1


def test_stored_session_that_expired_on_intacct_is_replaced(
    harness: Harness, gateway: Gateway, tmp_path
):
    store = TokenStore(tmp_path / "tokens.enc", Fernet(Fernet.generate_key()))
    harness.connector(store=store).existing([journal()])
    gateway.control("expire_sessions")
    harness.connector(store=store).create(journal())
    assert gateway.stats()["sessions_created"] == 2


def test_requests_after_login_go_to_the_endpoint_intacct_returned(
    harness: Harness, gateway: Gateway
):
    gateway.control("configure", {"endpoint_path": "/ia/xml/xmlgw-tenant7.phtml"})
    harness.connector().create(journal())
    assert gateway.stats()["by_path"] == {GATEWAY_PATH: 1, "/ia/xml/xmlgw-tenant7.phtml": 1}


def test_429_gw_0010_is_retried(harness: Harness, gateway: Gateway):
    gateway.control("faults", {"kind": "status", "status": 429, "function": "create", "times": 2})
    recordno = harness.connector().create(journal())
    assert [b["RECORDNO"] for b in gateway.control("batches")] == [recordno]
    assert gateway.stats()["throttled"] == 2
    statuses = [e.status for e in harness.exchanges if "<create>" in e.request_body]
    assert statuses == [429, 429, 200]


def test_5xx_past_the_retry_budget_is_unavailable(harness: Harness, gateway: Gateway):
    gateway.control("faults", {"kind": "status", "status": 503, "function": "create", "times": -1})
    with pytest.raises(ErpUnavailable):
        harness.connector(max_attempts=3).create(journal())
    assert gateway.control("batches") == []


# -- refusals --------------------------------------------------------------------------------------


def test_function_error_becomes_erp_refusal_with_intacct_words(harness: Harness, gateway: Gateway):
    bad = journal(lines=(line(1, "9999", debit="5.00"), line(2, "4000", credit="5.00")))
    with pytest.raises(ErpRefusal) as refused:
        harness.connector().create(bad)
    message = str(refused.value)
    assert "BL03000018" in message  # errorno
    assert "Invalid GL account '9999' in ACCOUNTNO (line 1)" in message  # description2
    assert "correction: Use an existing GL account" in message  # correction
    assert bad.key in message
    assert gateway.control("batches") == []


def test_closed_period_is_refused(harness: Harness, gateway: Gateway):
    gateway.control("configure", {"companies": {"HARBOR-VINE": {"closed_before": "2026-02-01"}}})
    with pytest.raises(ErpRefusal, match="period that's been closed"):
        harness.connector().create(journal())


def test_bad_sender_password_stops_the_run(harness: Harness):
    with pytest.raises(ErpAuthError, match="ERP__INTACCT__SENDER_PASSWORD"):
        harness.connector(sender_password="wrong").existing([journal()])


def test_bad_user_password_stops_the_run(harness: Harness):
    with pytest.raises(ErpAuthError, match="Sign-in information is incorrect"):
        harness.connector(user_password="wrong").existing([journal()])


def test_sender_not_authorized_for_company_stops_the_run(harness: Harness, gateway: Gateway):
    gateway.control("configure", {"senders": {"other": "other-password"}})
    with pytest.raises(ErpAuthError, match="Invalid Web Services Authorization"):
        harness.connector(sender_id="other", sender_password="other-password").create(journal())


# -- audit -----------------------------------------------------------------------------------------


def test_audit_never_holds_passwords_or_session_ids(harness: Harness, gateway: Gateway):
    gateway.control("faults", {"kind": "commit_then_drop", "function": "create"})
    connector = harness.connector()
    connector.existing([journal()])
    connector.create(journal())
    gateway.control("expire_sessions")
    connector.create(journal(key="CO-SECOND"))
    session_ids = [connector._session.sessionid]
    assert harness.exchanges and session_ids[0]
    secrets = [SENDER_PASSWORD, USER_PASSWORD, *session_ids]
    for exchange in harness.exchanges:
        stored = " ".join(str(value) for value in dataclasses.asdict(exchange).values())
        for secret in secrets:
            assert secret not in stored
    bodies = " ".join(e.response_body for e in harness.exchanges)
    assert bodies.count("<sessionid>***</sessionid>") == 2  # two logins, both redacted


# -- settings --------------------------------------------------------------------------------------


def test_settings_from_environment(monkeypatch):
    for name, value in {
        "SENDER_ID": "s",
        "SENDER_PASSWORD": "sp",
        "COMPANY_ID": "c",
        "USER_ID": "u",
        "USER_PASSWORD": "up",
        "JOURNAL": "GJ",
        "COMPANY_FIELD": "GLDIMERP_COMPANY",
    }.items():
        monkeypatch.setenv(f"ERP__INTACCT__{name}", value)
    settings = IntacctSettings.from_config()
    assert (
        settings.sender_id,
        settings.sender_password,
        settings.company_id,
        settings.user_id,
        settings.user_password,
    ) == ("s", "sp", "c", "u", "up")
    assert settings.journal == "GJ" and settings.company_field == "GLDIMERP_COMPANY"
    assert settings.endpoint_url == "https://api.intacct.com/ia/xml/xmlgw.phtml"
    assert settings.location_field == "LOCATION"
    assert settings.revenue_center_field == "DEPARTMENT"


def test_missing_settings_name_the_variables(monkeypatch):
    for name in ("SENDER_ID", "SENDER_PASSWORD", "COMPANY_ID", "USER_ID", "USER_PASSWORD"):
        monkeypatch.delenv(f"ERP__INTACCT__{name}", raising=False)
    monkeypatch.setenv("ERP__INTACCT__SENDER_ID", "s")
    monkeypatch.setenv("ERP__INTACCT__COMPANY_ID", "c")
    monkeypatch.setenv("ERP__INTACCT__USER_ID", "u")
    with pytest.raises(ConfigurationError) as missing:
        IntacctSettings.from_config()
    assert "ERP__INTACCT__SENDER_PASSWORD" in str(missing.value)
    assert "ERP__INTACCT__USER_PASSWORD" in str(missing.value)
    assert "ERP__INTACCT__SENDER_ID" not in str(missing.value)


def test_a_field_mapped_to_something_not_a_dimension_is_refused(monkeypatch):
    for name, value in {
        "SENDER_ID": "s",
        "SENDER_PASSWORD": "sp",
        "COMPANY_ID": "c",
        "USER_ID": "u",
        "USER_PASSWORD": "up",
        "REVENUE_CENTER_FIELD": "MEMO",
    }.items():
        monkeypatch.setenv(f"ERP__INTACCT__{name}", value)
    with pytest.raises(ConfigurationError, match="ERP__INTACCT__REVENUE_CENTER_FIELD"):
        IntacctSettings.from_config()


def test_gateway_path_constant_matches_default_endpoint():
    assert IntacctSettings.__dataclass_fields__["endpoint_url"].default.endswith(GATEWAY_PATH)
