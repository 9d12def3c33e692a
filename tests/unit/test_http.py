"""ErpHttp, the retrying audited client every connector sends through, against
httpx.MockTransport: no server, and a `sleep` that records the waits instead of waiting."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from closeout.errors import ConfigurationError, ErpAuthError, ErpUnavailable
from posting.http import ErpHttp, Exchange, posting_journal

URL = "https://erp.example/api/journals"
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """The client under test, what it was asked to sleep, and what it audited."""

    def __init__(self, handler: Handler, **options):
        self.requests: list[httpx.Request] = []
        self.waits: list[float] = []
        self.audit: list[Exchange] = []

        def answer(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        self.http = ErpHttp(
            "acme",
            transport=httpx.MockTransport(answer),
            sleep=self.waits.append,
            sink=self.audit.append,
            **options,
        )


def answers(*responses: httpx.Response) -> Handler:
    queue = list(responses)
    return lambda request: queue.pop(0)


def test_429_waits_as_retry_after_says_then_gives_up_after_the_last_attempt():
    run = Recorder(
        lambda request: httpx.Response(429, headers={"Retry-After": "2"}, text="slow down"),
        max_attempts=3,
    )

    with pytest.raises(ErpUnavailable) as unavailable:
        run.http.request("POST", URL, json={"a": 1})

    assert run.waits == [2.0, 2.0]
    assert len(run.requests) == 3
    message = str(unavailable.value)
    assert message.startswith("acme: HTTP 429 on POST /api/journals: slow down")
    assert "gave up after 3 attempts" in message and "next run tries again" in message


def test_a_retry_that_succeeds_returns_the_answer():
    run = Recorder(
        answers(
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(503),
            httpx.Response(201, json={"id": "J1"}),
        )
    )

    response = run.http.request("POST", URL)

    assert response.status_code == 201 and response.json() == {"id": "J1"}
    assert run.waits == [2.0, 1.0]  # Retry-After, then the 1 s assumed without one
    assert [e.status for e in run.audit] == [429, 503, 201]


def test_5xx_backs_off_doubling_up_to_the_ceiling():
    run = Recorder(lambda request: httpx.Response(503), max_attempts=6, max_wait_seconds=5.0)

    with pytest.raises(ErpUnavailable, match=r"HTTP 503 on GET .*\(gave up after 6 attempts"):
        run.http.request("GET", URL)

    # max(Retry-After absent = 1 s, 0.5 s * 2^(n-1)), at most max_wait_seconds
    assert run.waits == [1.0, 1.0, 2.0, 4.0, 5.0]


def test_a_long_retry_after_is_capped():
    run = Recorder(
        lambda request: httpx.Response(429, headers={"Retry-After": "3600"}),
        max_attempts=2,
        max_wait_seconds=120.0,
    )

    with pytest.raises(ErpUnavailable):
        run.http.request("GET", URL)

    assert run.waits == [120.0]


def test_a_retry_after_date_in_the_past_waits_only_the_backoff():
    run = Recorder(
        answers(
            httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            httpx.Response(200),
        )
    )

    assert run.http.request("GET", URL).status_code == 200
    assert run.waits == [0.5]


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
def test_a_refusal_is_returned_at_once_for_the_connector_to_read(status):
    run = Recorder(lambda request: httpx.Response(status, json={"error": "no"}))

    assert run.http.request("POST", URL).status_code == status
    assert run.waits == [] and len(run.requests) == 1


def test_statuses_a_connector_takes_out_are_not_retried():
    run = Recorder(
        lambda request: httpx.Response(500, text="validation failed"),
        retry_statuses=(502, 503, 504),
    )

    assert run.http.request("POST", URL).status_code == 500
    assert run.waits == []


def test_a_dropped_connection_is_retried_and_audited_with_its_error():
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    run = Recorder(drop, max_attempts=2)

    with pytest.raises(ErpUnavailable, match="ConnectError on GET /api/journals"):
        run.http.request("GET", URL)

    assert run.waits == [0.5]  # no Retry-After to honour: the backoff alone
    assert [(e.status, e.error) for e in run.audit] == [
        (None, "ConnectError: connection refused")
    ] * 2


def test_the_audit_record_has_no_secret_in_it():
    def token(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "access_token": "tok-0123456789",
                "expires_in": 3600,
                "note": "issued for hunter2-secret",
            },
        )

    run = Recorder(token, secrets=["hunter2-secret"])
    with posting_journal("g:2026-01-15:sales", "CO-20260115-g-S0-v1"):
        run.http.request(
            "POST",
            URL + "?client_secret=abc123&scope=x",
            data={"grant_type": "password", "password": "pa55word", "username": "svc"},
            headers={"Authorization": "Bearer tok-0123456789", "X-Api-Key": "key-42"},
        )
    run.http.request(
        "POST",
        URL,
        content="<login><password>xml-pass</password></login>",
        headers={"Cookie": "session=s-1"},
    )

    first, second = run.audit
    recorded = json.dumps([vars(e) for e in run.audit], default=str)
    for secret in (
        "abc123",
        "pa55word",
        "tok-0123456789",
        "key-42",
        "hunter2-secret",
        "xml-pass",
        "session=s-1",
    ):
        assert secret not in recorded, secret
    assert "client_secret=***" in first.url and "password=***" in first.request_body
    assert "authorization: ***" in first.request_headers.lower()
    assert '"access_token":"***"' in first.response_body
    assert "issued for ***" in first.response_body
    assert "<password>***</password>" in second.request_body
    assert "username=svc" in first.request_body  # what is not secret stays
    assert (first.journal_id, first.idempotency_key) == (
        "g:2026-01-15:sales",
        "CO-20260115-g-S0-v1",
    )
    assert (second.journal_id, second.idempotency_key) == (None, None)
    assert (first.erp, first.method, first.status) == ("acme", "POST", 200)


def test_secret_fields_are_redacted_whatever_the_case_of_their_names():
    run = Recorder(
        lambda request: httpx.Response(200, text='{"Refresh_Token": "rt-5555", "memo": "x"}')
    )
    run.http.request("POST", URL, content="<SessionID>sid-7777</SessionID><Amount>5</Amount>")

    (exchange,) = run.audit
    assert exchange.request_body == "<SessionID>***</SessionID><Amount>5</Amount>"
    assert exchange.response_body == '{"Refresh_Token": "***", "memo": "x"}'


def test_a_secret_learnt_later_is_redacted_from_then_on():
    run = Recorder(lambda request: httpx.Response(200, text="session sess-98765"))
    run.http.request("GET", URL)
    run.http.redactor.add("sess-98765")
    run.http.request("GET", URL)

    assert [e.response_body for e in run.audit] == ["session sess-98765", "session ***"]


def test_an_untrusted_certificate_names_the_setting_at_once_and_a_trusted_one_is_read():
    from sandboxes import d365

    sandbox, server = d365.start()
    token_url = f"{sandbox.login_url}/{sandbox.config.tenant_id}/oauth2/v2.0/token"
    slept: list[float] = []
    http = ErpHttp("d365", sleep=slept.append)
    try:
        with pytest.raises(ConfigurationError, match="set ERP__D365__CA_BUNDLE") as refused:
            http.request("POST", token_url, data={"grant_type": "client_credentials"})
        assert "127.0.0.1" in str(refused.value)
        assert slept == []  # not retried: waiting does not make a certificate trusted
        # Nothing was sent: `closeout post` stops on it as on refused credentials, recording
        # why against the document it was sending.
        assert isinstance(refused.value, ErpAuthError)

        http.trust(sandbox.ca_file)
        answer = http.request("POST", token_url, data={"grant_type": "client_credentials"})
        assert answer.status_code == 400  # Entra's refusal of the incomplete request, over TLS
    finally:
        http.close()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def sandbox_ca() -> Iterator[str]:
    """The PEM file of the D365 sandbox's private certificate authority."""
    from sandboxes import d365

    sandbox, server = d365.start()
    try:
        yield sandbox.ca_file
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("content", ["empty", "der", "text"])
def test_a_ca_bundle_that_is_not_pem_names_the_file_and_the_setting(
    content, sandbox_ca: str, tmp_path: Path
):
    path = tmp_path / "company-ca.cer"
    if content == "der":  # the same authority, as Windows exports a .cer
        path.write_bytes(ssl.PEM_cert_to_DER_cert(Path(sandbox_ca).read_text()))
    else:
        path.write_text("" if content == "empty" else "ask IT for the proxy's certificate\n")
    http = ErpHttp("d365")
    try:
        with pytest.raises(ConfigurationError) as refused:
            http.trust(str(path))
        http.trust(sandbox_ca)  # the PEM file itself is taken
    finally:
        http.close()
    message = str(refused.value)
    assert f"ERP__D365__CA_BUNDLE is {str(path)!r}" in message
    assert "is not a PEM file of certificate authorities" in message


def test_trusting_a_bundle_keeps_the_transport_given(sandbox_ca: str):
    run = Recorder(lambda request: httpx.Response(200, text="ok"))
    run.http.trust(sandbox_ca)

    answer = run.http.request("GET", URL)

    assert answer.text == "ok" and [str(r.url) for r in run.requests] == [URL]
