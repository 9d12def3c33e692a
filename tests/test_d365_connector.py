"""The D365 connector against the D365 sandbox over real HTTP: what it writes, how it finds what
is already there, and how it behaves when the network or D365 misbehaves."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

import httpx
import pytest
from cryptography.fernet import Fernet

from closeout.errors import ConfigurationError, ErpAuthError, ErpRefusal, ErpUnavailable
from closeout.token_store import TokenStore
from posting.connectors.contract import Journal, Line, key_identity
from posting.connectors.d365 import D365Connector, D365Settings, header_description, voucher
from posting.http import ErpHttp
from tests.erps.d365 import access_token, running
from tests.kit import SandboxClient
from tests.kit.connectors import Recorded, sales_lines

D = Decimal


@pytest.fixture(scope="module")
def server():
    with running() as server:
        yield server


class Sandbox(SandboxClient):
    def odata(self, path: str, **params) -> list[dict]:
        """Reads back through the same OData API the connector uses."""
        response = httpx.get(
            f"{self.url}/data/{path}",
            params={"cross-company": "true", **params},
            headers={"Authorization": f"Bearer {self.token()}"},
        )
        response.raise_for_status()
        return json.loads(response.content, parse_float=Decimal)["value"]

    def token(self) -> str:
        return access_token(self.url)

    def post_line(self, company: str, number: str, *, account: str, debit: str) -> None:
        """One line on its own, as a person or another integration would add it."""
        body = {
            "dataAreaId": company,
            "JournalBatchNumber": number,
            "AccountDisplayValue": account,
            "DebitAmount": debit,
            "CurrencyCode": "USD",
            "TransDate": "2026-01-05T12:00:00Z",
            "Voucher": "MANUAL-1",
        }
        response = httpx.post(
            f"{self.url}/data/LedgerJournalLines",
            json=body,
            headers={"Authorization": f"Bearer {self.token()}"},
        )
        response.raise_for_status()


@pytest.fixture
def d365(server, monkeypatch) -> Sandbox:
    monkeypatch.delenv("CLOSEOUT_SECRET_KEY", raising=False)
    return Sandbox(server.url).reset()


@pytest.fixture
def settings(d365: Sandbox) -> D365Settings:
    config = d365.control("config")
    return D365Settings(
        environment_url=d365.url,
        tenant_id=config["tenant_id"],
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        token_url=f"{config['login_url']}/{config['tenant_id']}/oauth2/v2.0/token",
        ca_bundle=config["ca_file"],
    )


class Run(Recorded):
    """A connector with what its ErpHttp recorded and slept."""

    def __init__(self, settings: D365Settings, store: TokenStore | None = None):
        super().__init__("d365")
        self.connector = D365Connector(
            settings, self.http, token_store=store, sleep=self.sleeps.append
        )


@pytest.fixture
def run(settings: D365Settings):
    opened = Run(settings)
    yield opened
    opened.connector.close()


def journal(
    key: str = "CO-20260105-b601e100-S1-abc123def0",
    company: str = "HV-NY",
    location: str = "BKN",
    kind: str = "original",
    adjusts: str | None = None,
    lines: tuple[Line, ...] | None = None,
) -> Journal:
    lines = lines or sales_lines(location)
    return Journal(
        key=key,
        journal_id=f"{key_identity(key)}:sales",  # one journal per key identity
        restaurant_guid="guid",
        location_name="Harbor & Vine Brooklyn Heights",
        company=company,
        business_date=date(2026, 1, 5),
        journal_type="sales",
        kind=kind,
        adjusts=adjusts,
        currency="USD",
        title=f"Toast sales journal [{key}]",
        lines=lines,
    )


def headers_with(d365: Sandbox, key: str) -> list[dict]:
    return d365.odata("LedgerJournalHeaders", **{"$filter": f"Description eq '*{key}'"})


def lines_of(d365: Sandbox, document_id: str) -> list[dict]:
    company, number = document_id.split("/")
    return d365.odata(
        "LedgerJournalLines",
        **{
            "$filter": f"dataAreaId eq '{company}' and JournalBatchNumber eq '{number}'",
            "$orderby": "LineNumber",
        },
    )


def data_requests(d365: Sandbox) -> dict[str, int]:
    return d365.stats()["requests"]


# -- posting ------------------------------------------------------------------------------------
def test_posts_a_journal_in_two_requests_and_reads_back_exactly(d365: Sandbox, run: Run):
    posted = journal()

    document_id = run.connector.create(posted)

    stats = d365.stats()
    assert (stats["token_requests"], stats["requests"]) == (
        1,
        {"POST /data/LedgerJournalHeaders": 1, "POST /data/$batch": 1},
    )
    assert document_id == "HV-NY/00000001"
    [header] = headers_with(d365, posted.key)
    assert header["Description"] == header_description(posted)
    assert header["Description"].endswith(" " + posted.key) and len(header["Description"]) <= 60
    assert (header["JournalName"], header["IsPosted"]) == ("GenJrn", "No")
    rows = lines_of(d365, document_id)
    assert [
        (r["LineNumber"], r["AccountDisplayValue"], r["DebitAmount"], r["CreditAmount"], r["Text"])
        for r in rows
    ] == [
        (1, "1010-BKN-", D("1234.50"), D("0"), "Cash takings"),
        (2, "1110-BKN-", D("800.05"), D("0"), "Card settlements"),
        (3, "4000-BKN-DINING", D("0"), D("1700.00"), "Food sales"),
        (4, "4020-BKN-BAR", D("0"), D("200.30"), "Liquor sales"),
        (5, "2200-BKN-", D("0"), D("134.25"), "State sales tax"),
    ]
    assert {(r["Voucher"], r["TransDate"], r["CurrencyCode"], r["AccountType"]) for r in rows} == {
        (voucher(posted), "2026-01-05T12:00:00Z", "USD", "Ledger")
    }


def test_one_token_for_a_run_of_journals(d365: Sandbox, run: Run):
    for number in range(3):
        run.connector.create(journal(key=f"CO-20260105-b601e100-S{number}-abc123def0"))

    stats = d365.stats()
    assert stats["token_requests"] == 1
    assert stats["requests"] == {"POST /data/LedgerJournalHeaders": 3, "POST /data/$batch": 3}


def test_adjustment_names_the_original(d365: Sandbox, run: Run):
    original_id = run.connector.create(journal())
    adjustment = journal(
        key="CO-20260105-b601e100-S2-fff0001111",
        kind="adjustment",
        adjusts=original_id,
        lines=(
            Line(1, "1010", D("10.00"), D("0"), "Adjustment: Cash", "BKN", None),
            Line(2, "4000", D("0"), D("10.00"), "Adjustment: Food", "BKN", "DINING"),
        ),
    )

    adjustment_id = run.connector.create(adjustment)

    [header] = headers_with(d365, adjustment.key)
    assert header["Description"] == f"Adj of {original_id} {adjustment.key}"
    assert adjustment_id != original_id
    assert [r["DebitAmount"] for r in lines_of(d365, adjustment_id)] == [D("10.00"), D("0")]


def test_display_value_escapes_the_delimiter(d365: Sandbox, settings: D365Settings):
    d365.control("configure", {"dimension_values": {"RevenueCenter": ["DINING"]}})
    run = Run(settings)
    posted = journal(
        location="NORTH-EAST",
        lines=(
            Line(1, "1010", D("5.00"), D("0"), "Cash", "NORTH-EAST", None),
            Line(2, "4000", D("0"), D("5.00"), "Food", "NORTH-EAST", "DINING"),
        ),
    )

    document_id = run.connector.create(posted)

    assert [r["AccountDisplayValue"] for r in lines_of(d365, document_id)] == [
        "1010-NORTH\\-EAST-",
        "4000-NORTH\\-EAST-DINING",
    ]


# -- held ---------------------------------------------------------------------------------------
def test_held_finds_complete_journals_and_ignores_orphan_headers(d365: Sandbox, run: Run):
    complete = journal(key="CO-20260105-b601e100-S1-aaaaaaaaaa")
    orphaned = journal(key="CO-20260105-b601e200-S1-bbbbbbbbbb")
    missing = journal(key="CO-20260105-b601e300-S1-cccccccccc")
    complete_id = run.connector.create(complete)
    run.connector._create_header(orphaned)  # as if the process died before the lines

    found = run.connector.held([complete, orphaned, missing])

    assert {j: [d.document_id for d in ds] for j, ds in found.items()} == {
        complete.journal_id: [complete_id]
    }


def test_create_reuses_an_orphan_header(d365: Sandbox, run: Run):
    posted = journal()
    orphan = run.connector._create_header(posted)
    run.connector.held([posted])
    before = data_requests(d365)["POST /data/LedgerJournalHeaders"]

    document_id = run.connector.create(posted)

    assert document_id == orphan.document_id
    assert data_requests(d365)["POST /data/LedgerJournalHeaders"] == before
    assert len(headers_with(d365, posted.key)) == 1
    assert len(lines_of(d365, document_id)) == 5


def test_create_removes_a_partial_header(d365: Sandbox, run: Run):
    posted = journal()
    partial = run.connector._create_header(posted)
    d365.post_line(partial.company, partial.number, account="1010-BKN-", debit="1.00")
    assert run.connector.held([posted]) == {}

    document_id = run.connector.create(posted)

    assert document_id != partial.document_id
    assert [h["JournalBatchNumber"] for h in headers_with(d365, posted.key)] == [
        document_id.split("/")[1]
    ]
    assert len(lines_of(d365, document_id)) == 5


def test_held_follows_next_links(d365: Sandbox, run: Run):
    journals = [journal(key=f"CO-20260105-b601e1{n:02d}-S0-abc123def0") for n in range(4)]
    for posted in journals:
        run.connector.create(posted)
    d365.control("configure", {"page_size": 3})

    assert len(run.connector.held(journals)) == 4


# -- lost answers, refusals, throttling ---------------------------------------------------------
def test_batch_committed_but_answer_lost_is_not_posted_twice(d365: Sandbox, run: Run):
    posted = journal()
    d365.control("faults", {"kind": "commit_drop", "path": "/data/$batch"})

    document_id = run.connector.create(posted)

    assert len(lines_of(d365, document_id)) == 5  # the retry collided, nothing doubled
    assert [e.error is not None for e in run.audit if e.url.endswith("$batch")] == [True, False]
    assert run.connector.existing([posted]) == {posted.key: document_id}
    assert len(headers_with(d365, posted.key)) == 1


def test_header_committed_but_answer_lost_leaves_one_header(d365: Sandbox, run: Run):
    posted = journal()
    d365.control(
        "faults", {"kind": "commit_drop", "path": "/data/LedgerJournalHeaders", "method": "POST"}
    )

    document_id = run.connector.create(posted)

    # The lost answer is settled by looking for the key, not by a second POST.
    assert data_requests(d365)["POST /data/LedgerJournalHeaders"] == 1
    assert [h["JournalBatchNumber"] for h in headers_with(d365, posted.key)] == [
        document_id.split("/")[1]
    ]
    assert len(lines_of(d365, document_id)) == 5


def test_refused_changeset_raises_with_d365_message_and_removes_header(d365: Sandbox, run: Run):
    bad = journal(
        lines=(
            Line(1, "1010", D("5.00"), D("0"), "Cash", "BKN", None),
            Line(2, "9999", D("0"), D("5.00"), "Unknown", "BKN", None),
        )
    )

    with pytest.raises(ErpRefusal) as refused:
        run.connector.create(bad)

    assert "Write failed for table row of type 'LedgerJournalLineEntity'" in str(refused.value)
    assert "Main account '9999' does not exist" in str(refused.value)
    assert headers_with(d365, bad.key) == []
    assert d365.control("journals") == []


def test_injected_changeset_failure_is_a_refusal(d365: Sandbox, run: Run):
    d365.control(
        "faults",
        {
            "kind": "changeset_failure",
            "path": "/data/$batch",
            "message": "Ledger period January 2026 is on hold.",
        },
    )

    with pytest.raises(ErpRefusal, match="period January 2026 is on hold"):
        run.connector.create(journal())

    assert d365.control("journals") == []


def test_header_refusal_names_the_problem(d365: Sandbox, run: Run):
    with pytest.raises(ErpRefusal, match="Company 'HV-ZZ' does not exist"):
        run.connector.create(journal(company="HV-ZZ"))


def test_throttling_is_retried_after_retry_after(d365: Sandbox, run: Run):
    d365.control("configure", {"throttle_every": 2, "retry_after": 3})

    document_id = run.connector.create(journal())

    assert d365.stats()["throttled"] == 1
    assert 3 in run.sleeps
    d365.control("configure", {"throttle_every": 0})
    assert len(lines_of(d365, document_id)) == 5


def test_server_errors_are_retried(d365: Sandbox, run: Run):
    d365.control("faults", {"kind": "status", "status": 503, "path": "/data/$batch", "times": 2})

    document_id = run.connector.create(journal())

    assert len(lines_of(d365, document_id)) == 5
    assert d365.stats()["requests"]["POST /data/$batch"] == 3


# -- tokens and secrets -------------------------------------------------------------------------
def test_expired_token_is_renewed_once(d365: Sandbox, run: Run):
    run.connector.create(journal(key="CO-20260105-b601e100-S1-1111111111"))
    d365.control("expire_tokens")

    run.connector.create(journal(key="CO-20260105-b601e100-S1-2222222222"))

    stats = d365.stats()
    assert (stats["token_requests"], stats["unauthorized"]) == (2, 1)
    assert len(headers_with(d365, "CO-20260105-b601e100-S1-2222222222")) == 1


def test_wrong_secret_is_an_auth_error(d365: Sandbox, settings: D365Settings):
    run = Run(replace(settings, client_secret="not-the-secret"))

    with pytest.raises(ErpAuthError, match="AADSTS7000215"):
        run.connector.held([journal()])


def test_token_is_kept_encrypted_between_runs(d365: Sandbox, settings: D365Settings, tmp_path):
    store = TokenStore(tmp_path / "tokens.enc", Fernet(Fernet.generate_key()))
    first, second = Run(settings, store), Run(settings, store)

    first.connector.create(journal(key="CO-20260105-b601e100-S1-1111111111"))
    second.connector.create(journal(key="CO-20260105-b601e100-S1-2222222222"))

    assert d365.stats()["token_requests"] == 1
    assert first.connector._token.encode() not in (tmp_path / "tokens.enc").read_bytes()


def test_an_untrusted_login_host_mid_run_stops_like_refused_credentials_with_nothing_sent(
    d365: Sandbox, settings: D365Settings, tmp_path
):
    """A kept token lets `held` read F&O; when the token is renewed before a create, the login
    host's certificate is not trusted (no CA bundle): an ErpAuthError, which `closeout post`
    records against the document and stops on, and a ConfigurationError naming the setting.
    Not retried, and nothing was created."""
    store = TokenStore(tmp_path / "tokens.enc", Fernet(Fernet.generate_key()))
    first = Run(settings, store)
    first.connector.held([journal()])  # fetches the token, kept in the store
    first.connector.close()
    untrusting = Run(replace(settings, ca_bundle=None), store)
    try:
        assert untrusting.connector.held([journal()]) == {}  # the kept token, F&O over HTTP
        d365.control("expire_tokens")

        with pytest.raises(ErpAuthError, match="ERP__D365__CA_BUNDLE") as stopped:
            untrusting.connector.create(journal())
    finally:
        untrusting.connector.close()

    assert isinstance(stopped.value, ConfigurationError)
    assert "certificate of 127.0.0.1 is not trusted" in str(stopped.value)
    assert untrusting.sleeps == []
    assert d365.stats()["token_requests"] == 1  # the renewal never reached the login host
    assert d365.control("journals") == []  # the header POST F&O refused (401) created nothing


def test_secrets_never_reach_the_audit_sink(d365: Sandbox, run: Run, settings: D365Settings):
    run.connector.create(journal(key="CO-20260105-b601e100-S1-1111111111"))
    d365.control("expire_tokens")
    run.connector.create(journal(key="CO-20260105-b601e100-S1-2222222222"))
    token_calls = [e for e in run.audit if "oauth2" in e.url]

    recorded = "\n".join(
        f"{e.url}\n{e.request_headers}\n{e.request_body}\n{e.response_body}" for e in run.audit
    )
    assert len(token_calls) == 2 and len(run.audit) >= 7
    assert settings.client_secret not in recorded
    assert "client_secret=***" in recorded
    assert '"access_token":"***"' in recorded
    assert "authorization: ***" in recorded.lower()
    assert run.connector._token not in recorded


# -- settings -----------------------------------------------------------------------------------
def test_settings_from_dlt_environment(monkeypatch):
    monkeypatch.setenv("ERP__D365__ENVIRONMENT_URL", "https://contoso.operations.dynamics.com")
    monkeypatch.setenv("ERP__D365__TENANT_ID", "tenant")
    monkeypatch.setenv("ERP__D365__CLIENT_ID", "app")
    monkeypatch.setenv("ERP__D365__CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("ERP__D365__DIMENSION_FORMAT", "MainAccount,Site,Location,RevenueCenter")
    monkeypatch.setenv("ERP__D365__DIMENSION_DELIMITER", "|")

    settings = D365Settings.from_config()

    assert settings.dimension_format == ("MainAccount", "Site", "Location", "RevenueCenter")
    assert settings.dimension_delimiter == "|" and settings.journal_name == "GenJrn"
    assert settings.entra_token_url == "https://login.microsoftonline.com/tenant/oauth2/v2.0/token"
    connector = D365Connector(settings, ErpHttp("d365"))
    assert (
        connector.account_display_value(Line(1, "4000", D("1"), D("0"), "x", "BKN", "BAR"))
        == "4000||BKN|BAR"
    )


def test_missing_settings_name_the_environment_variables(monkeypatch):
    for name in ("ENVIRONMENT_URL", "TENANT_ID", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"ERP__D365__{name}", raising=False)
    monkeypatch.setenv("ERP__D365__TENANT_ID", "tenant")

    with pytest.raises(ConfigurationError) as missing:
        D365Settings.from_config()

    assert "ERP__D365__ENVIRONMENT_URL" in str(missing.value)
    assert "ERP__D365__CLIENT_SECRET" in str(missing.value)
    assert "TENANT_ID" not in str(missing.value)


def test_dimension_mapping_must_match_the_format():
    with pytest.raises(ConfigurationError, match="ERP__D365__LOCATION_DIMENSION"):
        D365Settings(
            "https://x",
            "t",
            "c",
            "s",
            dimension_format=("MainAccount", "Site"),
            location_dimension="Store",
            revenue_center_dimension="",
        )


def test_unavailable_lines_leave_the_header_for_the_next_run(
    d365: Sandbox, run: Run, settings: D365Settings
):
    posted = journal()
    d365.control("faults", {"kind": "status", "status": 503, "path": "/data/$batch", "times": 6})

    with pytest.raises(ErpUnavailable):
        run.connector.create(posted)
    next_run = Run(settings)
    assert next_run.connector.held([posted]) == {}
    document_id = next_run.connector.create(posted)

    assert [h["JournalBatchNumber"] for h in headers_with(d365, posted.key)] == ["00000001"]
    assert document_id == "HV-NY/00000001"
    assert len(lines_of(d365, document_id)) == 5


def test_a_refused_query_stops_the_run(d365: Sandbox, run: Run):
    d365.control(
        "faults",
        {"kind": "status", "status": 400, "path": "/data/LedgerJournalHeaders", "method": "GET"},
    )

    with pytest.raises(ErpAuthError, match="refused the query on LedgerJournalHeaders"):
        run.connector.held([journal()])
