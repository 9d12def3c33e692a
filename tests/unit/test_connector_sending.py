"""What the connectors share for sending (posting/connectors/kit.py, odata.py, posting/oauth.py),
against httpx.MockTransport: no server, no waiting."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from closeout.errors import ErpAuthError, ErpBudgetSpent, ErpUnavailable
from closeout.token_store import TokenStore
from posting.connectors import odata
from posting.connectors.kit import (
    CachedToken,
    Throttled,
    create_looking_first,
    send_renewing,
    token_answer,
    token_error,
)
from posting.http import ErpHttp
from posting.oauth import (
    OAuthTokens,
    RotatingTokenStore,
    check_not_refused,
    query_params,
    renew_refused,
)

URL = "https://erp.example/api/journals"


class Erp:
    """An ErpHttp whose answers come from a list, and the tokens handed out."""

    def __init__(self, *statuses: int):
        self.statuses = list(statuses)
        self.sent: list[str] = []  # the Authorization header of each request
        self.renewals: list[str] = []  # the token refused at each renewal
        self.http = ErpHttp(
            "acme",
            transport=httpx.MockTransport(self.answer),
            retry_statuses=(),
            sleep=lambda seconds: None,
        )

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.headers["Authorization"])
        return httpx.Response(self.statuses.pop(0), json={"status": "answered"})

    def send(self, token: str) -> httpx.Response:
        return self.http.request("POST", URL, headers={"Authorization": f"Bearer {token}"})

    def renew(self, refused: str) -> str:
        self.renewals.append(refused)
        return f"fresh-{len(self.renewals)}"


# -- a 401 gets one fresh token ------------------------------------------------------------------
def test_a_401_renews_the_token_once_and_sends_again():
    erp = Erp(401, 201)

    response = send_renewing(erp.send, lambda: "old", erp.renew)

    assert response.status_code == 201
    assert erp.sent == ["Bearer old", "Bearer fresh-1"] and erp.renewals == ["old"]


def test_a_second_401_is_returned_for_the_caller_to_report_after_one_renewal():
    erp = Erp(401, 401, 201)

    response = send_renewing(erp.send, lambda: "old", erp.renew)

    assert response.status_code == 401
    assert erp.sent == ["Bearer old", "Bearer fresh-1"] and erp.renewals == ["old"]
    assert erp.statuses == [201]  # nothing more was sent


def test_an_answer_that_is_not_401_is_returned_without_renewing():
    erp = Erp(403)

    assert send_renewing(erp.send, lambda: "old", erp.renew).status_code == 403
    assert erp.renewals == []


def test_again_sends_with_the_current_token_and_the_renewal_stays_spent():
    erp = Erp(401, 429, 401)
    tokens = iter(["first", "after-wait"])

    response = send_renewing(
        erp.send, lambda: next(tokens), erp.renew, again=lambda answer: answer.status_code == 429
    )

    assert response.status_code == 401
    assert erp.sent == ["Bearer first", "Bearer fresh-1", "Bearer after-wait"]
    assert erp.renewals == ["first"]


# -- creates sent one attempt at a time ----------------------------------------------------------
class Creates:
    def __init__(self, *outcomes: object, found: list[str | None] | None = None):
        self.outcomes = list(outcomes)
        self.found = list(found or [])
        self.events: list[str] = []

    def send(self) -> str:
        self.events.append("send")
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    def find(self) -> str | None:
        self.events.append("look")
        return self.found.pop(0)

    def run(self, **options):
        options = {
            "attempts": 3,
            "lost": (ErpUnavailable,),
            "backoff": lambda n: float(n),
            "sleep": lambda seconds: self.events.append(f"sleep {seconds:g}"),
            **options,
        }
        return create_looking_first(self.send, self.find, **options)


def test_a_lost_answer_is_looked_for_before_sending_again():
    creates = Creates(ErpUnavailable("dropped"), "DOC-1", found=[None])

    assert creates.run() == "DOC-1"
    assert creates.events == ["send", "look", "sleep 1", "send"]


def test_a_lost_answer_that_was_stored_is_found_and_not_sent_again():
    creates = Creates(ErpUnavailable("dropped"), found=["DOC-9"])

    assert creates.run() == "DOC-9"
    assert creates.events == ["send", "look"]


def test_throttled_waits_and_sends_again_without_looking():
    creates = Creates(Throttled(7.0), Throttled(None), "DOC-2")

    assert creates.run() == "DOC-2"
    assert creates.events == ["send", "sleep 7", "send", "sleep 2", "send"]


def test_without_exhausted_the_last_lost_answer_is_raised_without_looking():
    creates = Creates(*[ErpUnavailable(f"dropped {n}") for n in (1, 2, 3)], found=[None, None])

    with pytest.raises(ErpUnavailable, match="dropped 3"):
        creates.run()
    assert creates.events.count("look") == 2 and creates.events[-1] == "send"


def test_with_exhausted_the_last_attempt_looks_too_then_raises_it():
    creates = Creates(*[ErpUnavailable("dropped")] * 3, found=[None, None, None])

    with pytest.raises(ErpUnavailable, match="gave up"):
        creates.run(exhausted=lambda: ErpUnavailable("gave up"))
    assert creates.events.count("look") == 3


def test_a_spent_budget_is_never_a_lost_answer():
    creates = Creates(ErpBudgetSpent("reserve reached"))

    with pytest.raises(ErpBudgetSpent):
        creates.run()
    assert creates.events == ["send"]


# -- tokens kept ---------------------------------------------------------------------------------
def test_a_cached_token_is_saved_for_the_next_run_and_counts_as_ended_early(tmp_path: Path):
    store = TokenStore(tmp_path / "tokens.enc", Fernet(Fernet.generate_key()))
    first = CachedToken(store, "acme:tenant", margin=60)

    assert first.keep("t1", time.time() + 3600) == "t1" and first.valid() == "t1"
    assert CachedToken(store, "acme:tenant", margin=60).stored()[0] == "t1"
    assert CachedToken(store, "acme:other", margin=60).stored() is None

    first.keep("t2", time.time() + 30)
    assert first.valid() is None and CachedToken(store, "acme:tenant", 60).stored() is None


def test_a_cached_token_without_a_store_lives_for_the_run():
    token = CachedToken(None, "acme", margin=60)

    assert token.stored() is None and token.valid() is None
    token.keep("t", time.time() + 3600)
    assert token.valid() == "t"


def test_token_answers():
    body, token = token_answer(
        httpx.Response(200, json={"access_token": "a", "expires_in": 1}), "Acme"
    )
    assert token == "a" and body["expires_in"] == 1
    body, token = token_answer(httpx.Response(400, json={"error": "invalid_grant"}), "Acme")
    assert token is None and token_error(body, httpx.Response(400)) == "invalid_grant"
    body, token = token_answer(httpx.Response(502, text="<html>"), "Acme")
    assert (body, token) == ({}, None)
    assert token_error(body, httpx.Response(502)) == "HTTP 502"


# -- OData ---------------------------------------------------------------------------------------
def test_odata_literals_and_query_urls():
    assert odata.escaped("O'Brien") == "O''Brien"
    assert odata.literal("O'Brien") == "'O''Brien'"
    assert (
        odata.query_url(
            "https://x/data/Lines", {"$filter": "Code eq '1 0'", "$top": "5"}, "$',()*:/@"
        )
        == "https://x/data/Lines?$filter=Code%20eq%20'1%200'&$top=5"
    )


def test_odata_rows_follow_next_links_lazily():
    pages = {"u1": ([{"n": 1}, {"n": 2}], "u2"), "u2": ([{"n": 3}], None)}
    fetched: list[str] = []

    def get(url: str) -> httpx.Response:
        fetched.append(url)
        return httpx.Response(200, text=url)

    rows = odata.rows(get, "u1", lambda response: pages[response.text])
    assert next(rows) == {"n": 1} and fetched == ["u1"]
    assert list(rows) == [{"n": 2}, {"n": 3}] and fetched == ["u1", "u2"]


# -- OAuth ---------------------------------------------------------------------------------------
def test_query_params_and_a_refused_consent():
    assert query_params("https://r.example/cb?code=a&state=s&code=b") == {"code": "b", "state": "s"}
    check_not_refused({"code": "a"})
    with pytest.raises(ErpAuthError, match="^consent was refused: access_denied no$"):
        check_not_refused({"error": "access_denied", "error_description": "no"})


def test_a_refused_access_token_is_refreshed_once_unless_another_run_did(tmp_path: Path):
    store = RotatingTokenStore("acme", tmp_path, Fernet(Fernet.generate_key()))
    refreshed: list[str] = []

    def refresh(tokens: OAuthTokens) -> OAuthTokens:
        refreshed.append(tokens.refresh_token)
        return OAuthTokens(f"r{len(refreshed) + 1}", f"a{len(refreshed) + 1}", time.time() + 600)

    store.seed("r1")
    store.seed("ignored")  # a token is stored already
    assert store.require() == OAuthTokens("r1")
    store.save(OAuthTokens("r1", "a1", time.time() + 600))

    renew_refused(store, "a1", refresh)
    assert refreshed == ["r1"] and store.require().access_token == "a2"
    renew_refused(store, "a1", refresh)  # a2 replaced it meanwhile: nothing to do
    assert refreshed == ["r1"]

    store.set_account("division 7")
    store.set_account("other", unless_set=True)
    assert store.require().account == "division 7"
