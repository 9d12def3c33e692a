"""The Exact Online sandbox checked by code nobody here wrote: OSSO's community client
`exactonline`, unmodified, over HTTPS (its default options refuse plain http and verify the
certificate), refreshes its token at the sandbox, finds the division its own way (current/Me,
hrm/Divisions, a crm/Accounts probe), reads relations and G/L accounts, posts a balanced
general journal entry through its generic manager, reads it back with
`$expand=GeneralJournalEntryLines`, and gets Exact's refusals as its HTTPError. Last, closeout's
connector posts a journal over the same HTTPS and the client reads it back line for line, and
the connector finds an entry the client posted and reads it back as the journal it is."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
from decimal import Decimal

import httpx
import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from exactonline.api import ExactApi
from exactonline.api.manager import Manager
from exactonline.http import HTTPError
from exactonline.storage.base import ExactOnlineConfig, MissingSetting

from closeout import money
from posting.connectors.exact import ExactConnector, ExactSettings, line_description
from sandboxes.exact.server import ExactSandbox
from sandboxes.http import make_server
from tests.kit.connectors import Recorded
from tests.test_exact_connector import journal

D = Decimal
DIVISION = 100001
ENTRIES = "POST /api/v1/{division}/generaljournalentry/GeneralJournalEntries"


# -- the sandbox over TLS, and the client's storage ------------------------------------------------
def _self_signed(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "exact-sandbox")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "sandbox.pem", directory / "sandbox.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture(scope="module")
def tls_sandbox(tmp_path_factory):
    """The Exact sandbox behind HTTPS: (sandbox, base URL, certificate file)."""
    cert_file, key_file = _self_signed(tmp_path_factory.mktemp("exact-tls"))
    sandbox = ExactSandbox()
    server = make_server(sandbox)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    host, port = server.server_address[:2]
    sandbox.base_url = f"https://{host}:{port}"  # the links it writes (__next, __metadata)
    server.start_in_thread()
    try:
        yield sandbox, sandbox.base_url, cert_file
    finally:
        server.shutdown()
        server.server_close()


class MemoryStorage(ExactOnlineConfig):
    """The client's storage (get/set raising MissingSetting, as its base class asks)."""

    def __init__(self, values: dict[tuple[str, str], str]):
        self.values = dict(values)

    def get(self, section, option):
        try:
            return self.values[(section, option)]
        except KeyError:
            raise MissingSetting(option, section) from None

    def set(self, section, option, value):
        self.values[(section, option)] = value


class JournalEntries(Manager):
    """The client has no manager for journal entries: its generic one, on Exact's resource."""

    resource = "generaljournalentry/GeneralJournalEntries"


class JournalEntryLines(Manager):
    resource = "generaljournalentry/GeneralJournalEntryLines"


class Fixture:
    def __init__(self, sandbox: ExactSandbox, url: str, cert_file: str):
        self.sandbox, self.url = sandbox, url
        self.tls = ssl.create_default_context(cafile=cert_file)
        config = sandbox.config
        self.storage = MemoryStorage(
            {
                ("server", "auth_url"): f"{url}/api/oauth2/auth",
                ("server", "rest_url"): f"{url}/api",
                ("server", "token_url"): f"{url}/api/oauth2/token",
                ("application", "base_url"): config.redirect_uri,
                ("application", "client_id"): config.client_id,
                ("application", "client_secret"): config.client_secret,
                # what a consent stored: a refresh token, no access token yet
                ("transient", "refresh_token"): sandbox.initial_refresh_token,
                ("transient", "access_expiry"): "0",
            }
        )
        self.api = ExactApi(storage=self.storage)

    def control(self, action: str, body=None):
        # the control endpoints answer on the same TLS socket
        response = httpx.post(
            f"{self.url}/_sandbox/{action}", json=body or {}, verify=self.tls, timeout=10
        )
        response.raise_for_status()
        return money.loads(response.content)

    def stats(self) -> dict:
        return self.control("stats")

    def guid(self, code: str) -> str:
        return self.sandbox.config.account_guids()[code]


@pytest.fixture
def exact(tls_sandbox, monkeypatch) -> Fixture:
    sandbox, url, cert_file = tls_sandbox
    # The client verifies the certificate against the default store; SSL_CERT_FILE makes that
    # store this sandbox's certificate.
    monkeypatch.setenv("SSL_CERT_FILE", cert_file)
    fixture = Fixture(sandbox, url, cert_file)
    fixture.control("reset")
    return fixture


def entry(exact: Fixture, *lines: tuple[str, str]) -> str:
    """A general journal entry body (JSON text with exact decimals: the client would json.dumps
    a dict, which cannot hold a Decimal)."""
    body = {
        "JournalCode": "90",
        "GeneralJournalEntryLines": [
            {
                "Date": "2026-01-05",
                "GLAccount": exact.guid(code),
                "AmountFC": D(amount),
                "Description": f"line {n} CO-20260105-b601e100-S1-contract",
                "CostCenter": "BKN",
            }
            for n, (code, amount) in enumerate(lines, start=1)
        ],
    }
    return money.dumps(body).decode()


def refusal(error: HTTPError) -> str:
    return json.loads(error.response)["error"]["message"]["value"]


# -- the tests ------------------------------------------------------------------------------------
def test_the_client_refreshes_its_token_and_finds_the_division_its_own_way(exact):
    choices, current = exact.api.get_divisions()
    assert current == DIVISION and choices == {DIVISION: f"Division {DIVISION}"}
    exact.api.set_division(current)  # probes crm/Accounts with Name eq 'DOES_NOT_EXIST'
    assert exact.storage.get_division() == DIVISION

    stats = exact.stats()
    assert stats["refreshes"] == 1 and stats["token_refusals"] == 0
    rotated = exact.storage.get_refresh_token()
    assert rotated != exact.sandbox.initial_refresh_token  # the rotated one was stored
    assert stats["requests"] == {
        "GET /api/v1/current/Me": 1,
        "GET /api/v1/{division}/hrm/Divisions": 1,
        "GET /api/v1/{division}/crm/Accounts": 1,
    }

    # An access token Exact expires early: the client's 401 handling refreshes once, with the
    # rotated refresh token, and the call succeeds.
    exact.control("expire_tokens")
    assert exact.api.relations.all() == []
    assert exact.stats()["refreshes"] == 2
    assert exact.storage.get_refresh_token() != rotated


def test_relations_and_gl_accounts_as_the_client_reads_them(exact):
    exact.control("configure", {"relations": {"1001": "Harbor Produce", "1002": "Vine Linen"}})
    exact.storage.set_division(DIVISION)
    relations = exact.api.relations.all()
    assert sorted((r["Code"], r["Name"]) for r in relations) == [
        (f"{'1001':>18}", "Harbor Produce"),
        (f"{'1002':>18}", "Vine Linen"),
    ]
    # the client pads the code it filters on to 18 characters, as Exact keeps it
    assert exact.api.relations.get(relation_code="1002")["Name"] == "Vine Linen"

    accounts = exact.api.ledgeraccounts.filter(code__in=["4000", "1010", "9999"])
    assert {a["Code"]: a["ID"] for a in accounts} == {
        "4000": exact.guid("4000"),
        "1010": exact.guid("1010"),
    }
    # every seeded account, page after page (60 a page) through d.__next
    codes = [a["Code"] for a in exact.api.ledgeraccounts.all()]
    assert sorted(codes) == sorted(exact.sandbox.config.accounts)
    pages = exact.stats()["requests"]["GET /api/v1/{division}/financial/GLAccounts"]
    assert pages == 1 + -(-len(codes) // 60)


def test_a_balanced_entry_posted_by_the_client_reads_back_with_its_lines(exact):
    exact.storage.set_division(DIVISION)
    entries = JournalEntries(exact.api)
    created = entries.create(
        entry(exact, ("1010", "1234.50"), ("4000", "-1200.25"), ("2200", "-34.25"))
    )
    assert created["JournalCode"] == "90" and created["FinancialPeriod"] == 1
    entry_id = created["EntryID"]

    [found] = entries.filter(
        filter=f"EntryID eq guid'{entry_id}'",
        expand="GeneralJournalEntryLines",
        select="EntryID,EntryNumber,JournalCode,GeneralJournalEntryLines/GLAccount,"
        "GeneralJournalEntryLines/AmountFC,GeneralJournalEntryLines/CostCenter,"
        "GeneralJournalEntryLines/Date",
    )
    assert found["EntryID"] == entry_id and found["EntryNumber"] == created["EntryNumber"]
    lines = found["GeneralJournalEntryLines"]["results"]
    # The client's json.loads makes floats of amounts; their shortest text is the exact cents.
    read = [(line["GLAccount"], D(str(line["AmountFC"])), line["CostCenter"]) for line in lines]
    assert read == [
        (exact.guid("1010"), D("1234.50"), "BKN"),
        (exact.guid("4000"), D("-1200.25"), "BKN"),
        (exact.guid("2200"), D("-34.25"), "BKN"),
    ]
    assert {line["Date"] for line in lines} == {"/Date(1767571200000)/"}  # 2026-01-05 UTC

    # What the sandbox holds: one entry, the same lines, exact decimals.
    [held] = exact.control("entries")
    assert [(x["GLAccountCode"], D(str(x["AmountFC"]))) for x in held["lines"]] == [
        ("1010", D("1234.50")),
        ("4000", D("-1200.25")),
        ("2200", D("-34.25")),
    ]
    # Lines of that day by the client's date-only literal (datetime'2026-01-05'): the same three.
    day = JournalEntryLines(exact.api).filter(
        filter="Date ge datetime'2026-01-05' and Date lt datetime'2026-01-06'",
        select="EntryID,LineNumber",
    )
    assert [(x["EntryID"], x["LineNumber"]) for x in day] == [(entry_id, n) for n in (1, 2, 3)]
    assert JournalEntryLines(exact.api).filter(filter="Date ge datetime'2026-01-06'") == []


@pytest.mark.parametrize(
    "lines, words",
    [
        (
            (("1010", "100.00"), ("4000", "-99.99")),
            "This entry is not balanced on: 2026 / 1 (Type: Other) - Difference: USD 0.01",
        ),
        ((("1010", "100.00"), ("4000", "-100.00")), "G/L account 4000 is blocked"),
    ],
)
def test_a_refusal_reaches_the_client_as_its_http_error_with_exacts_message(exact, lines, words):
    exact.control("configure", {"blocked_accounts": ["4000"]} if "blocked" in words else {})
    exact.storage.set_division(DIVISION)
    with pytest.raises(HTTPError) as refused:
        JournalEntries(exact.api).create(entry(exact, *lines))
    assert refused.value.code == 500 and refusal(refused.value) == words
    assert exact.control("entries") == []
    assert exact.stats()["requests"][ENTRIES] == 1  # the client does not retry a 500


def test_an_unknown_gl_account_guid_is_refused_in_exacts_words(exact):
    exact.storage.set_division(DIVISION)
    body = money.loads(entry(exact, ("1010", "5.00"), ("4000", "-5.00")))
    unknown = "00000000-0000-4000-8000-000000000000"
    body["GeneralJournalEntryLines"][1]["GLAccount"] = unknown
    with pytest.raises(HTTPError) as refused:
        JournalEntries(exact.api).create(money.dumps(body).decode())
    assert refused.value.code == 500 and refusal(refused.value) == f"Invalid: G/L account {unknown}"


def test_what_the_connector_posts_the_client_reads_back_line_for_line(exact, tmp_path, monkeypatch):

    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    config = exact.sandbox.config
    settings = ExactSettings(
        client_id=config.client_id,
        client_secret=config.client_secret,
        redirect_uri=config.redirect_uri,
        base_url=exact.url,
        token_dir=str(tmp_path / "tokens"),
        initial_refresh_token=exact.sandbox.initial_refresh_token,
    )
    recorded = Recorded("exact")
    connector = ExactConnector(settings, recorded.http)
    posted = journal(3)
    try:
        entry_id = connector.create(posted)
    finally:
        connector.close()
    # The connector's requests: the client's paths, headers and token form fields.
    token, me, accounts, post = recorded.audit
    assert token.request_body.split("&")[0] == "grant_type=refresh_token"
    assert {field.split("=")[0] for field in token.request_body.split("&")} == {
        "grant_type",
        "client_id",
        "client_secret",
        "refresh_token",
    }
    assert me.url == f"{exact.url}/api/v1/current/Me?$select=CurrentDivision"
    assert accounts.url.startswith(f"{exact.url}/api/v1/{DIVISION}/financial/GLAccounts?$filter=")
    assert post.url == f"{exact.url}/api/v1/{DIVISION}/generaljournalentry/GeneralJournalEntries"
    assert "content-type: application/json" in post.request_headers.lower()

    # The client needs a consent of its own: the connector rotated the one they were both given,
    # and Exact revokes a connection whose used refresh token comes back.
    exact.storage.set_refresh_token(exact.control("grant")["refresh_token"])
    exact.storage.set_division(DIVISION)
    codes = {a["ID"]: a["Code"] for a in exact.api.ledgeraccounts.all()}
    [found] = JournalEntries(exact.api).filter(
        filter=f"EntryID eq guid'{entry_id}'", expand="GeneralJournalEntryLines"
    )
    read = [
        (codes[x["GLAccount"]], D(str(x["AmountFC"])), x["CostCenter"], x["CostUnit"])
        for x in found["GeneralJournalEntryLines"]["results"]
    ]
    assert read == [
        (line.account, line.debit - line.credit, line.location, line.revenue_center)
        for line in posted.lines
    ]
    assert all(
        x["Description"].endswith(posted.key) for x in found["GeneralJournalEntryLines"]["results"]
    )


def test_an_entry_the_client_posts_is_found_by_the_connector_and_read_back(
    exact, tmp_path, monkeypatch
):

    wanted = journal(4)
    exact.storage.set_refresh_token(exact.control("grant")["refresh_token"])
    exact.storage.set_division(DIVISION)
    guids = {
        a["Code"]: a["ID"]
        for a in exact.api.ledgeraccounts.filter(code__in=[x.account for x in wanted.lines])
    }
    body = {
        "JournalCode": "90",
        "GeneralJournalEntryLines": [
            {
                "Date": wanted.business_date.isoformat(),
                "GLAccount": guids[x.account],
                "AmountFC": x.debit - x.credit,
                "Description": line_description(wanted, x),
                **({"CostCenter": x.location} if x.location else {}),
                **({"CostUnit": x.revenue_center} if x.revenue_center else {}),
            }
            for x in wanted.lines
        ],
    }
    entry_id = JournalEntries(exact.api).create(money.dumps(body).decode())["EntryID"]

    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    config = exact.sandbox.config
    settings = ExactSettings(
        client_id=config.client_id,
        client_secret=config.client_secret,
        redirect_uri=config.redirect_uri,
        base_url=exact.url,
        token_dir=str(tmp_path / "tokens"),
        initial_refresh_token=exact.sandbox.initial_refresh_token,
    )
    connector = ExactConnector(settings, Recorded("exact").http)
    try:
        held = connector.held([wanted])
    finally:
        connector.close()
    [document] = held[wanted.journal_id]
    assert document.document_id == entry_id and document.key == wanted.key
    assert [
        (x.account, x.debit, x.credit, x.location, x.revenue_center) for x in document.lines
    ] == [(x.account, x.debit, x.credit, x.location, x.revenue_center) for x in wanted.lines]
