"""IntacctConnector.held over real HTTP: what a fresh connector reads back from the sandbox for
a journal identity, in how many requests, and the dates and refusals of what it creates."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from closeout.errors import ErpPeriodClosed, ErpRefusal, ErpUnavailable
from posting.connectors.contract import Journal, Line
from sandboxes.intacct.server import IntacctSandbox
from tests.kit import serving
from tests.test_intacct_connector import Harness, journal, line
from tests.test_intacct_sandbox import Gateway

running = serving(IntacctSandbox, name="running", client=Gateway)


@pytest.fixture
def gateway(running: Gateway) -> Gateway:
    return running.reset()


@pytest.fixture
def harness(gateway: Gateway):
    harness = Harness(gateway)
    yield harness
    for connector in harness.opened:
        connector.close()


GUID = "b601e100-26a6-4cf6-ad6c-b2705d1213bc"


def net(lines) -> dict[tuple, Decimal]:
    """Debit minus credit per (account, location, revenue center), zeros left out: all that
    posting compares."""
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    for item in lines:
        totals[(item.account, item.location, item.revenue_center)] += item.debit - item.credit
    return {key: amount for key, amount in totals.items() if amount}


def day(business_date: date, sequence: int = 0, version: str = "0123456789", **changes) -> Journal:
    """The Brooklyn sales journal of `business_date`: document `sequence` at `version`."""
    key = f"CO-{business_date:%Y%m%d}-{GUID[:8]}-S{sequence}-{version}"
    return journal(
        key=key,
        journal_id=f"{GUID}:{business_date}:sales",
        business_date=business_date,
        title=f"Toast sales journal {business_date} Brooklyn Heights [{key}]",
        **changes,
    )


def adjustment(original: Journal, sequence: int, version: str, adjusts: str, *lines: Line):
    return dataclasses.replace(
        day(original.business_date, sequence, version),
        kind="adjustment",
        adjusts=adjusts,
        lines=lines,
    )


def requests(gateway: Gateway) -> int:
    return gateway.stats()["requests"]


# -- reading back ---------------------------------------------------------------------------------


def test_a_fresh_connector_finds_the_original_and_its_adjustments_whatever_their_versions(
    harness: Harness, gateway: Gateway
):
    posting = harness.connector()
    original = day(date(2026, 1, 5), 0, "aaaaaaaaaa")
    first = adjustment(
        original,
        1,
        "bbbbbbbbbb",
        "0",
        line(1, "1010", debit="12.50"),
        line(2, "4000", credit="12.50", revenue_center="PATIO"),
    )
    second = dataclasses.replace(  # dated later: its period was closed
        adjustment(
            original,
            2,
            "cccccccccc",
            "0",
            line(1, "4000", debit="100.00", revenue_center="DINING"),
            line(2, "4020", credit="100.00", revenue_center="BAR"),
        ),
        posting_date=date(2026, 2, 2),
    )
    sent = {}
    for document in (original, first, second):
        sent[document.key] = (posting.create(document), document)
    other_day = day(date(2026, 1, 6), 0, "dddddddddd")
    posting.create(other_day)

    probe = day(date(2026, 1, 5), 3, "eeeeeeeeee")  # the version a new warehouse would post
    unposted = day(date(2026, 1, 7), 0, "ffffffffff")
    held = harness.connector().held([probe, unposted])

    assert list(held) == [probe.journal_id]  # nothing posted for 01-07, and 01-06 not asked
    documents = held[probe.journal_id]
    assert [d.key for d in documents] == [original.key, first.key, second.key]
    for document in documents:
        recordno, was_sent = sent[document.key]
        assert document.document_id == recordno
        assert (document.company, document.division) == (probe.company, probe.division)
        assert net(document.lines) == net(was_sent.lines)
    everything = [item for d in documents for item in d.lines]
    assert net(everything) == {
        ("1010", "BKN", None): Decimal("1842.75"),
        ("1110", "BKN", None): Decimal("4120.10"),
        ("4000", "BKN", "DINING"): Decimal("-4700.00"),
        ("4000", "BKN", "PATIO"): Decimal("-12.50"),
        ("4020", "BKN", "BAR"): Decimal("-800.10"),
        ("2200", "BKN", None): Decimal("-450.25"),
    }


def test_a_header_without_all_its_lines_is_not_held(harness: Harness, gateway: Gateway):
    posting = harness.connector()
    complete = day(date(2026, 1, 5), 0, "aaaaaaaaaa")
    posting.create(complete)
    for sequence, entries in (
        (1, []),  # a draft header a person saved before entering lines
        (2, [{"ACCOUNTNO": "1010", "TR_TYPE": 1, "TRX_AMOUNT": "5.00", "LOCATION": "BKN"}]),
    ):
        key = day(date(2026, 1, 5), sequence, "bbbbbbbbbb").key
        gateway.control(
            "add_batch", {"REFERENCENO": key, "BATCH_DATE": "2026-01-05", "entries": entries}
        )
    assert len(gateway.control("batches")) == 3

    held = harness.connector().held([day(date(2026, 1, 5), 3, "cccccccccc")])
    assert [d.key for docs in held.values() for d in docs] == [complete.key]


def test_thirty_journals_are_read_back_in_three_requests_and_paging_stays_bounded(
    harness: Harness, gateway: Gateway
):
    posting = harness.connector()
    posted = [day(date(2026, 1, 1) + timedelta(days=n), 0, "aaaaaaaaaa") for n in range(30)]
    for document in posted:
        posting.create(document)
    probes = [dataclasses.replace(day(d.business_date, 1, "bbbbbbbbbb")) for d in posted]

    before = requests(gateway)
    whole = harness.connector().held(probes)
    # a login, the 30 batches in one query, their 150 lines in one query
    assert requests(gateway) - before == 3
    assert sorted(whole) == sorted(p.journal_id for p in probes)
    for document in posted:
        [found] = whole[document.journal_id]
        assert found.key == document.key
        assert net(found.lines) == net(document.lines)

    small = harness.connector()
    small.page_size = 7
    before = requests(gateway)
    paged = small.held(probes)
    # login; batches: page 1, then the other 4 pages together; lines (150 rows, 22 pages):
    # page 1, then the other 21 pages 10 per request
    assert requests(gateway) - before == 1 + 2 + 1 + 3
    assert paged == whole
    queries = [e.request_body for e in harness.exchanges if "<query>" in e.request_body]
    offsets = {o.text for body in queries for o in ET.fromstring(body).iter("offset")}
    assert offsets >= {"0", "7", "28", "147"}


def test_a_query_with_more_pages_than_allowed_stops_with_erp_unavailable(
    harness: Harness, gateway: Gateway
):
    posting = harness.connector()
    for sequence in range(3):
        posting.create(day(date(2026, 1, 5), sequence, f"{sequence}aaaaaaaaa"))
    probe = day(date(2026, 1, 5), 3, "bbbbbbbbbb")
    connector = harness.connector()
    connector.page_size, connector.max_pages = 1, 15  # 3 batches and their 15 lines
    assert len(connector.held([probe])[probe.journal_id]) == 3
    connector.max_pages = 14
    before = requests(gateway)
    with pytest.raises(ErpUnavailable, match="more than 14 pages of GLENTRY rows"):
        connector.held([probe])
    # batches: page 1, pages 2-3; lines: page 1 said 14 remain, and nothing more was asked
    assert requests(gateway) - before == 3


def test_query_paging_sits_under_query_not_options(harness: Harness, gateway: Gateway):
    connector = harness.connector()
    connector.create(day(date(2026, 1, 5)))
    connector.page_size = 2
    connector.held([day(date(2026, 1, 5), 1, "bbbbbbbbbb")])
    connector.existing([day(date(2026, 1, 5))])
    queries = [
        query
        for exchange in harness.exchanges
        for query in ET.fromstring(exchange.request_body).iter("query")
    ]
    assert len(queries) >= 4
    for query in queries:
        assert query.findtext("pagesize") and query.findtext("offset")
        assert [child.tag for child in query.find("options")] == ["caseinsensitive"]
    assert gateway.stats()["control_failures"] == 0


def test_user_defined_dimensions_read_back_as_sent_and_the_company_picks_the_place(
    harness: Harness,
):
    settings = {
        "revenue_center_field": "GLDIMREVENUE_CENTER",
        "company_field": "GLDIMERP_COMPANY",
    }
    original = day(date(2026, 1, 5))
    harness.connector(**settings).create(original)

    elsewhere = dataclasses.replace(day(date(2026, 1, 5), 1, "bbbbbbbbbb"), company="HV-NJ")
    here = day(date(2026, 1, 5), 1, "bbbbbbbbbb")
    held = harness.connector(**settings).held([elsewhere, here])
    [document] = held[original.journal_id]
    assert document.company == "HV-NY"
    assert net(document.lines) == net(original.lines)
    assert {item.revenue_center for item in document.lines} == {None, "DINING", "BAR"}


def test_a_location_not_sent_to_intacct_reads_back_as_the_journals_own(harness: Harness):
    original = day(date(2026, 1, 5))
    harness.connector(location_field="").create(original)
    held = harness.connector(location_field="").held([day(date(2026, 1, 5), 1, "bbbbbbbbbb")])
    [document] = held[original.journal_id]
    assert net(document.lines) == net(original.lines)


def test_a_batch_of_another_restaurant_sharing_the_guid_prefix_is_not_held(harness: Harness):
    ours = day(date(2026, 1, 5))
    twin_guid = GUID[:8] + "-0000-4000-8000-000000000000"
    theirs = dataclasses.replace(
        day(date(2026, 1, 5), 1, "bbbbbbbbbb"),
        journal_id=f"{twin_guid}:2026-01-05:sales",
        restaurant_guid=twin_guid,
    )
    posting = harness.connector()
    posting.create(ours)
    posting.create(theirs)

    held = harness.connector().held([day(date(2026, 1, 5), 2, "cccccccccc")])
    assert [d.key for d in held[ours.journal_id]] == [ours.key]
    assert theirs.journal_id not in held


# -- dates and closed periods ----------------------------------------------------------------------


def test_the_document_date_is_the_batch_date_and_the_title_keeps_the_business_date(
    harness: Harness,
):
    late = dataclasses.replace(
        adjustment(
            day(date(2026, 1, 5)),
            1,
            "bbbbbbbbbb",
            "48001",
            line(1, "1010", debit="3.00"),
            line(2, "4000", credit="3.00", revenue_center="DINING"),
        ),
        posting_date=date(2026, 2, 1),
    )
    batch = harness.read_batch(harness.connector().create(late))
    assert batch.findtext("BATCH_DATE") == "02/01/2026"
    assert batch.findtext("BATCH_TITLE") == late.title
    assert "2026-01-05" in batch.findtext("BATCH_TITLE")
    assert "correcting business date 2026-01-05" in batch.findtext("HISTORY_COMMENT")
    assert batch.findtext("REFERENCENO") == late.key


def test_a_closed_period_is_erp_period_closed_in_intacct_words_then_an_open_date_posts(
    harness: Harness, gateway: Gateway
):
    gateway.control("configure", {"companies": {"HARBOR-VINE": {"closed_before": "2026-02-01"}}})
    late = adjustment(
        day(date(2026, 1, 5)),
        1,
        "bbbbbbbbbb",
        "48001",
        line(1, "1010", debit="3.00"),
        line(2, "4000", credit="3.00", revenue_center="DINING"),
    )
    connector = harness.connector()
    with pytest.raises(ErpPeriodClosed) as closed:
        connector.create(late)
    message = str(closed.value)
    assert "Your transaction date (01/05/2026) is within a period that's been closed" in message
    assert late.key in message and "Reopen that period" in message
    assert gateway.control("batches") == []

    # the same document dated the first open day is created (its controlid never completed)
    recordno = connector.create(dataclasses.replace(late, posting_date=date(2026, 2, 1)))
    assert harness.read_batch(recordno).findtext("BATCH_DATE") == "02/01/2026"
    [held] = harness.connector().held([day(date(2026, 1, 5), 2, "cccccccccc")])[late.journal_id]
    assert (held.key, held.document_id) == (late.key, recordno)


def test_other_refusals_are_not_a_closed_period(harness: Harness):
    bad = day(
        date(2026, 1, 5), lines=(line(1, "9999", debit="5.00"), line(2, "4000", credit="5.00"))
    )
    with pytest.raises(ErpRefusal) as refused:
        harness.connector().create(bad)
    assert not isinstance(refused.value, ErpPeriodClosed)
