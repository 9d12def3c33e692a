# ruff: noqa: F811 (the fixtures come from test_d365_connector)
"""What D365 holds of a journal, read back by a connector that remembers nothing (a rebuilt or
second warehouse), and what a closed ledger period and lost header answers leave there. Real
HTTP against the D365 sandbox."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal

import httpx
import pytest

from closeout.errors import ErpPeriodClosed
from posting.connectors.contract import Journal, Line
from posting.connectors.d365 import D365Connector, D365Settings
from posting.http import ErpHttp
from tests.test_d365_connector import (  # noqa: F401 (fixtures)
    Run,
    Sandbox,
    d365,
    data_requests,
    headers_with,
    journal,
    lines_of,
    run,
    server,
    settings,
)

D = Decimal


def net(lines) -> dict[tuple, Decimal]:
    """Debit minus credit per (account, location, revenue center), zeros left out: what posting
    compares."""
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[(line.account, line.location, line.revenue_center)] += line.debit - line.credit
    return {key: amount for key, amount in totals.items() if amount}


def adjustment_of(original_id: str, key: str) -> Journal:
    return replace(
        journal(key=key, kind="adjustment", adjusts=original_id),
        lines=(
            Line(1, "1010", D("12.40"), D("0"), "Adjustment: Cash", "BKN", None),
            Line(2, "4020", D("0"), D("2.40"), "Adjustment: Liquor", "BKN", "BAR"),
            Line(3, "4000", D("0"), D("10.00"), "Adjustment: Food", "BKN", "DINING"),
        ),
    )


def fresh(settings: D365Settings) -> D365Connector:
    return Run(settings).connector


def twin_header(d365: Sandbox, posted: Journal) -> None:
    """An empty header carrying `posted`'s key, as a header POST whose answer was lost leaves."""
    response = httpx.post(
        f"{d365.url}/data/LedgerJournalHeaders",
        json={
            "dataAreaId": posted.company,
            "JournalName": "GenJrn",
            "Description": f"Toast sales {posted.business_date} {posted.key}",
        },
        headers={"Authorization": f"Bearer {d365.token()}"},
    )
    response.raise_for_status()


# -- reading back -------------------------------------------------------------------------------
def test_fresh_connector_reads_back_the_original_and_adjustments_whatever_their_versions(
    d365: Sandbox, run: Run, settings: D365Settings
):
    original = journal(key="CO-20260105-b601e100-S0-aaaaaaaaaa")
    original_id = run.connector.create(original)
    first = adjustment_of(original_id, "CO-20260105-b601e100-S1-bbbbbbbbbb")
    second = replace(
        adjustment_of(original_id, "CO-20260105-b601e100-S2-cccccccccc"),
        posting_date=date(2026, 2, 2),
    )
    first_id, second_id = run.connector.create(first), run.connector.create(second)
    other_day = journal(key="CO-20260106-b601e100-S0-dddddddddd")
    run.connector.create(other_day)
    # the journal as a rebuilt warehouse would post it next: another sequence and version
    probe = journal(key="CO-20260105-b601e100-S3-eeeeeeeeee")

    found = fresh(settings).held([probe])

    [documents] = found.values()
    assert list(found) == [probe.journal_id]
    assert [(d.key, d.document_id, d.sequence) for d in documents] == [
        (original.key, original_id, 0),
        (first.key, first_id, 1),
        (second.key, second_id, 2),
    ]
    assert {(d.company, d.division) for d in documents} == {("HV-NY", None)}
    for document, sent in zip(documents, (original, first, second), strict=True):
        assert [
            (line.account, line.location, line.revenue_center, line.debit, line.credit)
            for line in document.lines
        ] == [
            (line.account, line.location, line.revenue_center, line.debit, line.credit)
            for line in sent.lines
        ]
    assert net(line for d in documents for line in d.lines) == net(
        original.lines + first.lines + second.lines
    )


def test_an_identity_with_nothing_complete_is_absent(
    d365: Sandbox, run: Run, settings: D365Settings
):
    nothing = journal(key="CO-20260105-b601e100-S0-aaaaaaaaaa")
    empty = journal(key="CO-20260105-b601e200-S0-bbbbbbbbbb")
    partial = journal(key="CO-20260105-b601e300-S0-cccccccccc")
    run.connector._create_header(empty)  # the process died before the lines
    header = run.connector._create_header(partial)
    d365.post_line(header.company, header.number, account="1010-BKN-", debit="1234.50")

    assert fresh(settings).held([nothing, empty, partial]) == {}


def test_held_searches_only_the_probes_company(d365: Sandbox, run: Run, settings: D365Settings):
    posted = journal(key="CO-20260105-b601e100-S0-aaaaaaaaaa")
    document_id = run.connector.create(posted)
    elsewhere = replace(posted, company="HV-IL", division="WLP")

    assert fresh(settings).held([elsewhere]) == {}
    found = fresh(settings).held([elsewhere, posted])
    assert [(d.document_id, d.company) for d in found[posted.journal_id]] == [
        (document_id, "HV-NY")
    ]


def test_dimension_values_read_back_as_sent_whatever_the_format(
    d365: Sandbox, settings: D365Settings
):
    d365.control(
        "configure",
        {
            "dimension_format": ["MainAccount", "RevenueCenter", "Location"],
            "dimension_delimiter": "|",
            "dimension_values": {"Location": ["NORTH|EAST"], "RevenueCenter": ["BAR"]},
        },
    )
    settings = replace(
        settings,
        dimension_format=("MainAccount", "RevenueCenter", "Location"),
        dimension_delimiter="|",
    )
    posted = journal(
        lines=(
            Line(1, "1010", D("5.05"), D("0"), "Cash", "NORTH|EAST", None),
            Line(2, "4020", D("0"), D("5.05"), "Liquor", "NORTH|EAST", "BAR"),
        )
    )
    document_id = Run(settings).connector.create(posted)

    [document] = fresh(settings).held([posted])[posted.journal_id]

    assert [r["AccountDisplayValue"] for r in lines_of(d365, document_id)] == [
        "1010||NORTH\\|EAST",
        "4020|BAR|NORTH\\|EAST",
    ]
    assert [(x.account, x.location, x.revenue_center) for x in document.lines] == [
        ("1010", "NORTH|EAST", None),
        ("4020", "NORTH|EAST", "BAR"),
    ]
    assert net(document.lines) == net(posted.lines)


def test_held_asks_in_few_requests_for_thirty_journals(
    d365: Sandbox, run: Run, settings: D365Settings
):
    days = [journal(key=f"CO-202601{n:02d}-b601e100-S0-aaaaaaaaaa") for n in range(1, 31)]
    for day in days:
        original_id = run.connector.create(day)
        run.connector.create(
            replace(
                adjustment_of(original_id, day.key.replace("-S0-a", "-S1-b")),
                journal_id=day.journal_id,
            )
        )
    never_posted = [journal(key=f"CO-202602{n:02d}-b601e100-S0-cccccccccc") for n in range(1, 6)]
    before = data_requests(d365)

    found = fresh(settings).held(days + never_posted)

    after = data_requests(d365)
    assert sorted(found) == sorted(day.journal_id for day in days)
    assert {len(documents) for documents in found.values()} == {2}
    asked = {name: after[name] - before.get(name, 0) for name in after if "GET" in name}
    # 35 identities, 15 per header query; 60 headers of one company, 30 per lines query
    assert asked == {"GET /data/LedgerJournalHeaders": 3, "GET /data/LedgerJournalLines": 2}


# -- document date ------------------------------------------------------------------------------
def test_document_date_is_the_trans_date_and_the_key_keeps_the_business_date(
    d365: Sandbox, run: Run
):
    late = replace(
        adjustment_of("HV-NY/00000009", "CO-20260105-b601e100-S1-bbbbbbbbbb"),
        posting_date=date(2026, 2, 2),
    )

    document_id = run.connector.create(late)

    assert {r["TransDate"] for r in lines_of(d365, document_id)} == {"2026-02-02T12:00:00Z"}
    [header] = headers_with(d365, late.key)
    assert header["Description"] == f"Adj of 2026-01-05 sales {late.key}"


def test_a_closed_period_refusal_raises_period_closed_with_d365s_words(d365: Sandbox, run: Run):
    posted = journal()
    d365.control("close_periods", {"through": "2026-01-31"})

    with pytest.raises(ErpPeriodClosed) as refused:
        run.connector.create(posted)

    message = str(refused.value)
    assert posted.key in message and "dated 2026-01-05" in message
    assert (
        "The transaction date 1/5/2026 is in ledger period 1/1/2026 - 1/31/2026, which is On "
        "hold for company 'hv-ny'"
    ) in message
    assert "General ledger > Calendars > Ledger calendars" in message
    assert d365.control("journals") == []  # the header it made went with the lines
    # dated the first open day, the same journal posts
    document_id = run.connector.create(replace(posted, posting_date=date(2026, 2, 1)))
    assert {r["TransDate"] for r in lines_of(d365, document_id)} == {"2026-02-01T12:00:00Z"}


# -- lost header answers ------------------------------------------------------------------------
def test_header_answers_lost_again_and_again_leave_one_header(
    d365: Sandbox, settings: D365Settings
):
    posted = journal()
    # every header POST is committed but answered after the client stopped waiting
    d365.control(
        "faults",
        {
            "kind": "slow",
            "seconds": 1.5,
            "times": -1,
            "path": "/data/LedgerJournalHeaders",
            "method": "POST",
        },
    )
    sleeps: list[float] = []
    http = ErpHttp("d365", timeout=0.5, sleep=sleeps.append)
    connector = D365Connector(settings, http, sleep=sleeps.append)

    started = time.perf_counter()
    document_id = connector.create(posted)

    assert time.perf_counter() - started < 1.5
    assert data_requests(d365)["POST /data/LedgerJournalHeaders"] == 1
    assert [h["JournalBatchNumber"] for h in headers_with(d365, posted.key)] == [
        document_id.split("/")[1]
    ]
    assert len(lines_of(d365, document_id)) == 5
    connector.close()


def test_the_next_run_deletes_the_empty_headers_earlier_runs_left(
    d365: Sandbox, run: Run, settings: D365Settings
):
    posted = journal(key="CO-20260105-b601e100-S0-aaaaaaaaaa")
    posted_id = run.connector.create(posted)
    for _ in range(2):
        twin_header(d365, posted)
    unposted = journal(key="CO-20260105-b601e200-S0-bbbbbbbbbb")
    for _ in range(3):
        twin_header(d365, unposted)
    next_run = fresh(settings)
    posts_before = data_requests(d365)["POST /data/LedgerJournalHeaders"]

    found = next_run.held([posted, unposted])
    document_id = next_run.create(unposted)

    assert [d.document_id for d in found[posted.journal_id]] == [posted_id]
    assert unposted.journal_id not in found
    requests = data_requests(d365)
    assert requests["DELETE /data/LedgerJournalHeaders(key)"] == 4
    assert requests["POST /data/LedgerJournalHeaders"] == posts_before  # reused, none made
    assert [h["JournalBatchNumber"] for h in headers_with(d365, posted.key)] == [
        posted_id.split("/")[1]
    ]
    assert [h["JournalBatchNumber"] for h in headers_with(d365, unposted.key)] == [
        document_id.split("/")[1]
    ]
    assert len(lines_of(d365, document_id)) == 5


def test_create_of_a_key_held_complete_sends_nothing(d365: Sandbox, run: Run, settings):
    posted = journal()
    document_id = run.connector.create(posted)
    next_run = fresh(settings)
    next_run.held([posted])
    before = data_requests(d365)

    assert next_run.create(posted) == document_id
    assert data_requests(d365) == before
