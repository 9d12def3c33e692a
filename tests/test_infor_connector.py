"""The Infor M3 connector against the M3 sandbox over real HTTP: the batch it writes, how it
finds what is posted, and what it does when M3 refuses, throttles or drops an answer."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import sandboxes.infor as infor_sandbox
from closeout.errors import ConfigurationError, ErpAuthError, ErpPeriodClosed, ErpRefusal
from posting.connectors.contract import ErpDocument, Journal, Line
from posting.connectors.infor import (
    InforConnector,
    InforSettings,
    IonApiCredentials,
    amount_text,
    batch_key,
    parse_dimensions,
    parse_layout,
)
from posting.plan import difference
from sandboxes.infor.server import InforSandbox
from tests.erps import infor as adapter
from tests.kit import SandboxClient, control, serving
from tests.kit.connectors import Recorded, sales_lines

D = Decimal


server = serving(InforSandbox)


class Sandbox(SandboxClient):
    def __init__(self, url: str, ionapi: Path):
        super().__init__(url)
        self.ionapi = ionapi

    def batches(self) -> list[dict]:
        return self.control("batches")


@pytest.fixture
def m3(server) -> Sandbox:
    control(server.url, "reset")
    path = Path(infor_sandbox.connector_env(server.app, server)["ERP__INFOR__IONAPI_FILE"])
    return Sandbox(server.url, path)


class Run(Recorded):
    def __init__(self, ionapi: Path, **settings):
        super().__init__("infor")
        self.settings = InforSettings(IonApiCredentials.from_file(ionapi), **settings)
        self.connector = InforConnector(self.settings, self.http)


@pytest.fixture
def run(m3: Sandbox):
    opened = Run(m3.ionapi)
    yield opened
    opened.connector.close()


def journal(
    key: str = "CO-20260105-b601e100-S1-abc123def0",
    division: str | None = "BKN",
    location: str = "BKN",
    lines: tuple[Line, ...] | None = None,
    company: str = "HV-NY",
    posting_date: date | None = None,
) -> Journal:
    """A journal of the day, restaurant and type its key names."""
    lines = lines or sales_lines(location)
    day = date(int(key[3:7]), int(key[7:9]), int(key[9:11]))
    journal_type = "labor" if key.split("-")[3].startswith("L") else "sales"
    return Journal(
        key=key,
        journal_id=f"{key.split('-')[2]}:{day}:{journal_type}",
        restaurant_guid=key.split("-")[2],
        location_name="Harbor & Vine Brooklyn Heights",
        company=company,
        business_date=day,
        journal_type=journal_type,
        kind="original" if key.split("-")[3].endswith("0") else "adjustment",
        adjusts=None,
        currency="USD",
        title=f"Toast sales journal [{key}]",
        lines=lines,
        division=division,
        posting_date=posting_date,
    )


def net(lines: Iterable[Line]) -> dict[tuple, Decimal]:
    """Debit minus credit per (account, location, revenue center), zeros left out."""
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[(line.account, line.location, line.revenue_center)] += line.debit - line.credit
    return {key: amount for key, amount in totals.items() if amount}


def held_lines(documents: list[ErpDocument]) -> list[Line]:
    return [line for document in documents for line in document.lines]


def fresh(m3: Sandbox, **settings) -> InforConnector:
    """A connector that has posted nothing: what a rebuilt warehouse runs with."""
    return Run(m3.ionapi, **settings).connector


def test_a_journal_becomes_one_updated_batch_in_two_requests(m3, run):
    document_id = run.connector.create(journal())

    key1 = batch_key(journal().key)
    assert document_id == f"100/BKN/{key1}"
    [batch] = m3.batches()
    assert (batch["STAT"], batch["DESC"], batch["INTN"]) == ("90", journal().key, "CLOSEOUT")
    [document] = adapter.documents(m3)
    assert document.balanced
    assert [
        (ln.account, ln.debit, ln.credit, ln.location, ln.revenue_center) for ln in document.lines
    ] == [
        ("1010", D("1234.50"), 0, "BKN", None),
        ("1110", D("800.05"), 0, "BKN", None),
        ("4000", 0, D("1700.00"), "BKN", "DINING"),
        ("4020", 0, D("200.30"), "BKN", "BAR"),
        ("2200", 0, D("134.25"), "BKN", None),
    ]
    assert batch["lines"][2]["PARM"][64:81] == "-0000000001700.00"
    assert batch["lines"][2]["VTXT"] == f"{journal().key} Food"  # the key first, in 40
    assert batch["lines"][2]["ACDT"] == "20260105"
    stats = m3.stats()
    assert (stats["token_requests"], stats["requests"]) == (1, 2)
    assert stats["transactions"]["GLS840MI/AddBatchLine"] == 5


def test_the_token_request_is_a_password_grant_with_the_hash_encoded(m3, run):
    run.connector.create(journal())
    token_call = next(e for e in run.audit if e.url.endswith("token.oauth2"))
    assert "grant_type=password" in token_call.request_body
    assert "username=***" in token_call.request_body
    assert "password=***" in token_call.request_body
    secrets = json.loads(m3.ionapi.read_text())
    for exchange in run.audit:
        text = exchange.request_headers + exchange.request_body + exchange.response_body
        for name in ("cs", "sask", "saak"):
            assert secrets[name] not in text
            assert secrets[name].replace("#", "%23") not in text
        assert 'access_token":"***' in text or "token.oauth2" not in exchange.url


ADJUSTMENT_LINES = (
    Line(1, "1010", D("10.00"), D("0"), "Adjustment: Cash takings", "BKN", None),
    Line(2, "4000", D("0"), D("10.00"), "Adjustment: Food sales", "BKN", "DINING"),
    Line(3, "4020", D("0.30"), D("0"), "Adjustment: Liquor sales", "BKN", "BAR"),
    Line(4, "2200", D("0"), D("0.30"), "Adjustment: State sales tax", "BKN", None),
)


def test_held_from_a_fresh_connector_finds_every_document_of_the_journal_read_back(m3, run):
    original = journal("CO-20260105-b601e100-S0-aaaaaaaaaa")
    adjustment = journal("CO-20260105-b601e100-S1-bbbbbbbbbb", lines=ADJUSTMENT_LINES)
    labor = journal("CO-20260105-b601e100-L0-cccccccccc")  # same day and restaurant
    next_day = journal("CO-20260106-b601e100-S0-dddddddddd")
    ids = {j.key: run.connector.create(j) for j in (original, adjustment, labor, next_day)}
    probe = journal("CO-20260105-b601e100-S2-eeeeeeeeee")  # a version M3 has never seen
    nothing = journal("CO-20260107-b601e100-S0-ffffffffff")

    found = fresh(m3).held([probe, nothing])

    assert list(found) == [probe.journal_id]
    documents = sorted(found[probe.journal_id], key=lambda d: d.sequence)
    assert [(d.key, d.document_id) for d in documents] == [
        (original.key, ids[original.key]),
        (adjustment.key, ids[adjustment.key]),
    ]
    assert {(d.company, d.division) for d in documents} == {("HV-NY", "BKN")}
    assert net(documents[0].lines) == net(original.lines)
    assert net(held_lines(documents)) == net(original.lines + adjustment.lines)
    assert net(held_lines(documents))[("4000", "BKN", "DINING")] == D("-1710.00")
    assert [(ln.account, ln.debit, ln.credit) for ln in documents[1].lines] == [
        ("1010", D("10.00"), 0),
        ("4000", 0, D("10.00")),
        ("4020", D("0.30"), 0),
        ("2200", 0, D("0.30")),
    ]


def test_held_passes_over_a_company_or_division_m3_refuses(m3, run):
    posted = journal("CO-20260105-b601e100-S0-aaaaaaaaaa")
    run.connector.create(posted)
    elsewhere = [
        journal(posted.key, company="200/BKN"),  # not authorized: create() is refused too
        journal(posted.key, division="ZZZ"),
    ]

    found = fresh(m3).held([*elsewhere, posted])

    [document] = found[posted.journal_id]
    assert (document.company, document.division) == ("HV-NY", "BKN")
    assert m3.stats()["transactions"]["GLS200MI/LstVouchersByDt"] == 3


def test_held_asks_m3_in_two_requests_for_thirty_journals(m3, run):
    posted = [
        journal(
            f"CO-202601{day:02d}-{guid}-S0-{day:010d}",
            division=division,
            location=division,
        )
        for day in range(1, 16)
        for guid, division in (("b601e100", "BKN"), ("49e1ee43", "WLP"))
    ]
    for j in posted:
        run.connector.create(j)
    probes = [
        journal(
            j.key.replace("-S0-", "-S1-"), division=j.division, location=j.division, lines=j.lines
        )
        for j in posted
    ]
    before = m3.stats()

    found = fresh(m3).held(probes)

    after = m3.stats()
    assert len(found) == 30
    assert all(net(held_lines(found[j.journal_id])) == net(j.lines) for j in posted)
    assert after["requests"] - before["requests"] == 2
    assert after["token_requests"] - before["token_requests"] == 1
    calls = after["transactions"]
    assert calls["GLS200MI/LstVouchersByDt"] == 2  # one per division
    assert calls["GLS200MI/LstVoucherLines"] == 30  # one per voucher, in one bulk


def test_held_maps_the_tenants_accounting_dimensions_back(m3):
    dimensions = "AIT1=account,AIT5=location,AIT7=revenue_center"
    # This tenant analyses sales by location in dimension 5: its revenue accounts require AIT5.
    required = m3.control("config")["account_dimensions"]
    m3.control("configure", {"account_dimensions": {account: ["AIT5"] for account in required}})
    posting = Run(m3.ionapi, dimensions=parse_dimensions(dimensions)).connector
    j = journal("CO-20260105-b601e100-S0-aaaaaaaaaa")
    posting.create(j)

    [document] = fresh(m3, dimensions=parse_dimensions(dimensions)).held([j])[j.journal_id]

    assert net(document.lines) == net(j.lines)
    vouchers = m3.control("vouchers")
    assert {(v["AIT2"], v["AIT3"], v["AIT5"]) for v in vouchers} == {("", "", "BKN")}
    assert {v["AIT7"] for v in vouchers} == {"", "DINING", "BAR"}


def test_a_tenant_without_a_revenue_center_dimension_reads_back_no_difference(m3):
    dimensions = parse_dimensions("AIT1=account,AIT2=location")
    posting = Run(m3.ionapi, dimensions=dimensions).connector
    j = journal("CO-20260105-b601e100-S0-aaaaaaaaaa")
    posting.create(j)

    [document] = fresh(m3, dimensions=dimensions).held([j])[j.journal_id]

    # M3 was never sent the revenue center, so posting compares per account and location.
    assert posting.kept_dimensions == ("location",)
    assert {line.revenue_center for line in document.lines} == {None}
    assert difference(list(j.lines), list(document.lines), posting.kept_dimensions) == []
    assert difference(list(j.lines), list(document.lines)) != []  # compared in full it would


def test_a_line_m3_answers_unsigned_reads_its_side_from_dbcr(m3, run):
    record = {"AIT1": "4000", "AIT2": "BKN", "AIT3": "", "CUAM": "1700.00", "DBCR": "C"}
    line = run.connector.read_line({**record, "VTXT": "CO-20260105-b601e100-S0-a Food"})
    assert (line.account, line.debit, line.credit) == ("4000", 0, D("1700.00"))
    assert (line.location, line.revenue_center, line.description) == ("BKN", None, "Food")
    signed = run.connector.read_line({**record, "CUAM": "-1700", "DBCR": "C"})
    assert signed.credit == D("1700.00")


def test_the_document_date_is_the_accounting_date_m3_stores(m3, run):
    late = journal(
        "CO-20251230-b601e100-S1-aaaaaaaaaa",
        lines=ADJUSTMENT_LINES,
        posting_date=date(2026, 1, 2),  # the first open day after a closed December
    )
    run.connector.create(late)

    vouchers = m3.control("vouchers")
    assert {(v["ACDT"], v["YEA4"]) for v in vouchers} == {("20260102", "2026")}
    [document] = fresh(m3).held([late])[late.journal_id]
    assert document.key == late.key and net(document.lines) == net(late.lines)


def test_a_closed_period_is_refused_as_period_closed_with_m3s_words(m3, run):
    m3.control("close_periods", {"through": "2026-01-31", "divisions": ["BKN"]})
    day = journal("CO-20260105-b601e100-S1-aaaaaaaaaa", lines=ADJUSTMENT_LINES)

    with pytest.raises(ErpPeriodClosed) as refused:
        run.connector.create(day)

    message = str(refused.value)
    assert "Accounting date 20260105 is in a closed period" in message
    assert "through 20260131" in message and "field ACDT" in message
    assert day.key in message and "GLS990" in message
    assert isinstance(refused.value, ErpRefusal)
    assert m3.batches() == [] and m3.control("vouchers") == []
    moved = journal(day.key, lines=ADJUSTMENT_LINES, posting_date=date(2026, 2, 1))
    assert run.connector.create(moved) == f"100/BKN/{batch_key(day.key)}"
    assert {v["ACDT"] for v in m3.control("vouchers")} == {"20260201"}
    other = journal("CO-20260105-49e1ee43-S0-aaaaaaaaaa", division="WLP", location="WLP")
    assert run.connector.create(other).startswith("100/WLP/")  # WLP's periods are open


def test_a_voucher_text_too_short_for_the_key_is_a_configuration_error(m3):
    layout = "AIT1:1:8,AIT2:9:8,AIT3:17:8,ACDT:25:8,CUAM:33:17,CUCD:50:3,VTXT:53:30"
    with pytest.raises(ConfigurationError, match="VTXT 30 characters"):
        Run(m3.ionapi, parm_layout=parse_layout(layout)).connector.create(journal())
    assert m3.batches() == [] and m3.stats()["requests"] == 0


def test_a_bad_line_refuses_the_journal_names_the_line_and_leaves_no_batch(m3, run):
    m3.control("configure", {"division_accounts": {"BKN": ["1010", "1110", "4000", "2200"]}})

    with pytest.raises(ErpRefusal) as refused:
        run.connector.create(journal())

    message = str(refused.value)
    assert "Line 4" in message and "4020" in message and "AIT1" in message
    assert m3.batches() == []
    assert "GLS840MI/UpdBatch" not in m3.stats()["transactions"]
    m3.control("configure", {"division_accounts": {}})
    assert run.connector.create(journal()).endswith(batch_key(journal().key))
    assert [b["STAT"] for b in m3.batches()] == ["90"]


def test_an_unbalanced_journal_is_refused_at_ctrlbatch(m3, run):
    lines = (
        Line(1, "1010", D("10.00"), D("0"), "Cash", "BKN", None),
        Line(2, "4000", D("0"), D("9.99"), "Food", "BKN", "DINING"),
    )
    with pytest.raises(ErpRefusal, match="not balanced"):
        run.connector.create(journal(lines=lines))
    assert m3.batches() == []


def test_a_head_left_by_a_crash_is_deleted_and_the_batch_sent_again(m3, run):
    j = journal()
    key1 = batch_key(j.key)
    connector = run.connector
    connector._bulk(connector._batch_transactions(j, "100", "BKN", key1)[:3])  # head + 2 lines

    assert connector.held([j]) == {}  # a batch never updated has no voucher
    assert connector.create(j) == f"100/BKN/{key1}"
    [batch] = m3.batches()
    assert batch["STAT"] == "90" and len(batch["lines"]) == 5
    assert m3.stats()["transactions"]["GLS840MI/DltBatch"] == 1


def test_a_lost_updbatch_answer_is_settled_without_a_second_post(m3, run):
    m3.control("faults", {"kind": "commit_drop", "transaction": "UpdBatch"})
    assert run.connector.create(journal()).startswith("100/BKN/")
    assert [b["STAT"] for b in m3.batches()] == ["90"]
    assert m3.stats()["transactions"]["GLS840MI/UpdBatch"] == 2


def test_a_lost_bulk_answer_is_resent_and_posts_once(m3, run):
    m3.control("faults", {"kind": "commit_drop", "transaction": "AddBatchHead"})
    run.connector.create(journal())
    [batch] = m3.batches()
    assert batch["STAT"] == "90" and len(batch["lines"]) == 5


def test_an_expired_token_is_renewed_once(m3, run):
    run.connector.create(journal())
    m3.control("expire_tokens")
    run.connector.create(journal(key="CO-20260105-b601e100-S2-abc123def1"))
    stats = m3.stats()
    assert stats["token_requests"] == 2 and stats["unauthorized"] == 1


def test_wrong_client_secret_is_an_auth_error_with_the_oauth_message(m3, tmp_path):
    data = json.loads(m3.ionapi.read_text())
    bad = tmp_path / "bad.ionapi"
    bad.write_text(json.dumps({**data, "cs": "wrong"}))
    with pytest.raises(ErpAuthError, match="invalid_client"):
        Run(bad).connector.create(journal())


def test_throttling_is_retried_with_retry_after_and_rate_headers_are_sent(m3, run):
    m3.control("configure", {"throttle_every": 2, "retry_after": 3})
    run.connector.create(journal())
    assert m3.stats()["throttled"] >= 1 and 3.0 in run.sleeps
    answered = [e for e in run.audit if e.status == 200 and "execute" in e.url]
    assert answered
    assert [b["STAT"] for b in m3.batches()] == ["90"]


def test_a_v1_style_nok_for_the_company_refuses_the_journal(m3, run):
    with pytest.raises(ErpRefusal, match="Not authorized for company 200"):
        run.connector.create(journal(company="200/BKN"))
    assert m3.batches() == []


def test_an_unknown_division_is_refused_with_m3s_message(m3, run):
    with pytest.raises(ErpRefusal, match="Division ZZZ does not exist"):
        run.connector.create(journal(division="ZZZ"))
    with pytest.raises(ErpRefusal, match="erp_division"):
        run.connector.create(journal(division=None))


def test_an_unknown_transaction_stops_the_run(m3, run):
    with pytest.raises(ErpAuthError, match="HTTP 400"):
        run.connector._bulk([{"transaction": "LstBatchHeads", "record": {"CONO": "100"}}])


def test_layout_and_amount_text():
    assert amount_text(D("-1700"), 17) == "-0000000001700.00"
    assert amount_text(D("0.5"), 8) == "+0000.50"
    assert len(batch_key("CO-20260105-b601e100-S1-abc123def0")) == 15
    with pytest.raises(ConfigurationError, match="overlaps"):
        parse_layout("AIT1:1:8,AIT2:5:8,ACDT:20:8,CUAM:30:10,VTXT:40:10")


def test_a_custom_layout_is_what_the_sandbox_parses(m3):
    layout = "AIT1:1:6,AIT2:7:6,AIT3:13:8,ACDT:21:8,CUAM:29:15,CUCD:44:3,VTXT:47:40"
    definition = [[f.name, f.start, f.length] for f in parse_layout(layout)]
    m3.control("configure", {"interfaces": {"CLOSEOUT": definition}})
    run = Run(m3.ionapi, parm_layout=parse_layout(layout))
    run.connector.create(journal())
    [document] = adapter.documents(m3)
    assert document.balanced and {ln.account for ln in document.lines} == {
        "1010",
        "1110",
        "4000",
        "4020",
        "2200",
    }
    [found] = fresh(m3, parm_layout=parse_layout(layout)).held([journal()])[journal().journal_id]
    assert net(found.lines) == net(journal().lines)


def test_missing_setting_names_the_variable(monkeypatch):
    monkeypatch.delenv("ERP__INFOR__IONAPI_FILE", raising=False)
    with pytest.raises(ConfigurationError, match="ERP__INFOR__IONAPI_FILE"):
        InforSettings.from_config()


def test_closeout_post_with_one_bad_line_fails_that_journal_alone_and_replay_posts_it_once(
    toast_env, warehouse, monkeypatch
):
    """End to end: a journal whose one line M3 refuses (an account unknown in its division) is
    failed with M3's message naming the line, leaves no batch, the others post; after the fix
    `closeout replay` posts it exactly once."""
    from click.testing import CliRunner

    from cli.main import main
    from tests.test_post import load_and_build, query

    toast_env.erp_control("infor", "reset")
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    load_and_build(toast_env)
    guid = toast_env.restaurants[0]
    [(journal_id,)] = query(
        warehouse,
        "select min(journal_id) from finance.journals where status = 'ready' and journal_id like ?",
        (f"{guid}:%",),
    )
    [(division,)] = query(
        warehouse, "select erp_division from mappings.locations where restaurant_guid = ?", (guid,)
    )
    [(account,)] = query(
        warehouse,
        "select min(account_code) from finance.journal_lines where journal_id = ? and credit > 0",
        (journal_id,),
    )
    config = toast_env.erp_control("infor", "config")
    toast_env.erp_control(
        "infor",
        "configure",
        {"division_accounts": {division: [a for a in config["accounts"] if a != account]}},
    )

    result = CliRunner().invoke(main, ["post", "--erp", "infor"])

    assert result.exit_code == 1, result.output
    [(status, message, key)] = query(
        warehouse,
        "select status, message, idempotency_key "
        "from closeout_posting.postings "
        "where journal_id = ?",
        (journal_id,),
    )
    assert status == "failed"
    assert f"Account {account} does not exist in division {division}" in message
    assert "Line " in message and "AIT1" in message
    batches = toast_env.erp_control("infor", "batches")
    assert key not in {b["DESC"] for b in batches}  # no orphan head
    assert batches and all(b["STAT"] == "90" for b in batches)  # the others posted
    stats = toast_env.erp_control("infor", "stats")["transactions"]
    assert stats["GLS840MI/UpdBatch"] == len(batches)

    toast_env.erp_control("infor", "configure", {"division_accounts": {}})
    replayed = CliRunner().invoke(main, ["replay", "--erp", "infor", journal_id])
    assert "1 posted" in replayed.output, replayed.output
    mine = [b for b in toast_env.erp_control("infor", "batches") if b["DESC"] == key]
    assert len(mine) == 1 and mine[0]["STAT"] == "90"
