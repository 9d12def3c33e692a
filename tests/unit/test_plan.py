"""The posting plan: what a run sends for each journal, the difference an adjustment carries,
and the idempotency keys that let a re-run recognise what it already sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from posting.connectors.contract import Line
from posting.ledger import Ledger, Posting
from posting.plan import JournalRow, difference, idempotency_key, plan, plan_journal

D = Decimal
GUID = "6f1b2c3d-0000-4000-8000-000000000001"
ROW = JournalRow(
    journal_id=f"{GUID}:2026-01-15:sales",
    restaurant_guid=GUID,
    location_name="Hudson Yards",
    business_date=date(2026, 1, 15),
    journal_type="sales",
    company="HV-NY",
    currency="USD",
    version="a1b2c3d4e5f6a7b8",
    status="ready",
    hold_reasons=None,
)


def line(
    number: int,
    account: str,
    debit: str = "0",
    credit: str = "0",
    *,
    center: str | None = "BAR",
    description: str = "",
) -> Line:
    return Line(
        number, account, D(debit), D(credit), description or f"account {account}", "HY", center
    )


DAY = [
    line(1, "1010", debit="100.00"),
    line(2, "4000", credit="92.00"),
    line(3, "2200", credit="8.00"),
]


def posting(
    sequence: int,
    version: str,
    status: str,
    lines: list[Line],
    *,
    kind: str = "original",
    document_id: str | None = None,
    message: str | None = None,
) -> Posting:
    return Posting(
        idempotency_key(ROW, sequence, version),
        "d365",
        ROW.journal_id,
        sequence,
        kind,
        version,
        status,
        document_id,
        message,
        lines,
    )


def net(lines) -> dict[tuple, Decimal]:
    totals: dict[tuple, Decimal] = {}
    for item in lines:
        key = (item.account, item.location, item.revenue_center)
        totals[key] = totals.get(key, D(0)) + item.debit - item.credit
    return {key: amount for key, amount in totals.items() if amount}


# -- idempotency keys ---------------------------------------------------------------------------
def test_the_key_is_derived_from_date_location_type_sequence_and_version():
    key = idempotency_key(ROW, 0, ROW.version)
    assert key == "CO-20260115-6f1b2c3d-S0-a1b2c3d4e5"
    assert idempotency_key(replace(ROW), 0, ROW.version) == key  # a re-run: the same key


@pytest.mark.parametrize(
    "change",
    [
        {"business_date": date(2026, 1, 16)},
        {"restaurant_guid": "7f1b2c3d-0000-4000-8000-000000000001"},
        {"journal_type": "labor"},
    ],
)
def test_another_journal_gets_another_key(change):
    assert idempotency_key(replace(ROW, **change), 0, ROW.version) != idempotency_key(
        ROW, 0, ROW.version
    )


def test_another_sequence_or_version_gets_another_key_that_still_fits_every_erp():
    keys = {
        idempotency_key(ROW, sequence, version)
        for sequence in (0, 1, 12)
        for version in ("a1b2c3d4e5f6", "ffffffffff00")
    }
    assert len(keys) == 6
    assert max(len(k) for k in keys) <= 60


# -- the difference -----------------------------------------------------------------------------
def test_the_difference_of_identical_lines_is_nothing():
    assert difference(DAY, list(DAY)) == []


def test_the_difference_holds_only_what_changed_and_balances():
    current = [
        line(1, "1010", debit="112.00"),
        line(2, "4000", credit="103.00"),
        line(3, "2200", credit="9.00"),
    ]

    delta = difference(current, DAY)

    assert [(d.account, d.debit, d.credit) for d in delta] == [
        ("1010", D("12.00"), D("0.00")),
        ("2200", D("0.00"), D("1.00")),
        ("4000", D("0.00"), D("11.00")),
    ]
    assert [d.number for d in delta] == [1, 2, 3]
    assert sum(d.debit for d in delta) == sum(d.credit for d in delta)
    assert delta[0].description == "Adjustment: account 1010"


def test_posting_the_difference_on_top_brings_the_erp_to_the_current_lines():
    current = [
        line(1, "1010", debit="90.00"),
        line(2, "4000", credit="83.00"),
        line(3, "2200", credit="7.00"),
        line(4, "4000", credit="0.00"),
        line(5, "1110", debit="0.50"),
        line(6, "4010", credit="0.50", center="DINING"),
    ]

    delta = difference(current, DAY)

    assert net(DAY + delta) == net(current)
    assert all(d.debit >= 0 and d.credit >= 0 and (d.debit == 0) != (d.credit == 0) for d in delta)


def test_dimensions_are_kept_apart():
    moved = [
        line(1, "1010", debit="100.00"),
        line(2, "4000", credit="92.00", center="DINING"),
        line(3, "2200", credit="8.00"),
    ]

    delta = difference(moved, DAY)

    assert [(d.account, d.revenue_center, d.debit, d.credit) for d in delta] == [
        ("4000", "BAR", D("92.00"), D("0.00")),
        ("4000", "DINING", D("0.00"), D("92.00")),
    ]


# -- the plan of one journal --------------------------------------------------------------------
def test_a_journal_never_sent_is_planned_as_its_original():
    [planned], skipped = plan_journal(ROW, [], DAY)

    assert skipped is None and planned.resend is False
    assert (planned.sequence, planned.version) == (0, ROW.version)
    document = planned.document
    assert document.key == idempotency_key(ROW, 0, ROW.version)
    assert (document.kind, document.adjusts, document.lines) == ("original", None, tuple(DAY))
    assert document.title == f"Toast sales journal 2026-01-15 Hudson Yards [{document.key}]"


def test_a_journal_posted_at_its_current_version_sends_nothing():
    assert plan_journal(ROW, [posting(0, ROW.version, "posted", DAY, document_id="D1")], DAY) == (
        [],
        None,
    )


def test_a_new_version_of_a_posted_day_is_sent_as_the_difference():
    current = [
        line(1, "1010", debit="110.00"),
        line(2, "4000", credit="101.00"),
        line(3, "2200", credit="9.00"),
    ]
    sent = [posting(0, "0ld0ld0ld0ld", "posted", DAY, document_id="HV-NY/00000007")]

    [planned], skipped = plan_journal(ROW, sent, current)

    document = planned.document
    assert skipped is None and planned.sequence == 1
    assert document.kind == "adjustment" and document.adjusts == "HV-NY/00000007"
    assert document.key == idempotency_key(ROW, 1, ROW.version) != sent[0].idempotency_key
    assert list(document.lines) == difference(current, DAY)
    assert "adjustment" in document.title


def test_a_new_version_with_the_same_amounts_is_an_adjustment_without_lines():
    sent = [posting(0, "0ld0ld0ld0ld", "posted", DAY, document_id="D1")]

    [planned], _ = plan_journal(ROW, sent, list(DAY))

    assert planned.document.kind == "adjustment" and planned.document.lines == ()


def test_each_adjustment_is_the_difference_from_everything_posted_before():
    second = [
        line(1, "1010", debit="110.00"),
        line(2, "4000", credit="101.00"),
        line(3, "2200", credit="9.00"),
    ]
    third = [
        line(1, "1010", debit="120.00"),
        line(2, "4000", credit="110.00"),
        line(3, "2200", credit="10.00"),
    ]
    sent = [
        posting(0, "v0v0v0v0v0v0", "posted", DAY, document_id="D1"),
        posting(
            1,
            "v1v1v1v1v1v1",
            "posted",
            difference(second, DAY),
            kind="adjustment",
            document_id="D2",
        ),
    ]

    [planned], _ = plan_journal(ROW, sent, third)

    assert planned.sequence == 2 and planned.document.adjusts == "D1"
    assert net(list(planned.document.lines)) == net(difference(third, second))


def test_a_refused_current_version_is_skipped_until_replay():
    refused = [posting(0, ROW.version, "failed", DAY, message="period is on hold")]

    planned, skipped = plan_journal(ROW, refused, DAY)

    assert planned == [] and skipped is not None
    assert (skipped.state, skipped.message) == ("failed", "period is on hold")


def test_a_refused_older_version_does_not_hold_the_current_one():
    refused = [posting(0, "0ld0ld0ld0ld", "failed", DAY, message="closed period")]

    [planned], skipped = plan_journal(ROW, refused, DAY)

    assert skipped is None
    assert (planned.sequence, planned.document.kind) == (1, "original")


def test_a_pending_document_is_sent_again_exactly_as_recorded():
    recorded = [line(1, "1010", debit="50.00"), line(2, "4000", credit="50.00")]
    pending = [posting(0, ROW.version, "pending", recorded)]

    [planned], skipped = plan_journal(ROW, pending, DAY)

    assert skipped is None and planned.resend is True
    assert planned.document.key == pending[0].idempotency_key
    assert planned.document.lines == tuple(recorded)


def test_a_pending_older_version_is_resent_then_adjusted_from_it():
    recorded = [line(1, "1010", debit="50.00"), line(2, "4000", credit="50.00")]
    pending = [posting(0, "0ld0ld0ld0ld", "pending", recorded)]

    resend, adjustment = plan_journal(ROW, pending, DAY)[0]

    assert resend.resend and resend.document.key == pending[0].idempotency_key
    assert not adjustment.resend and adjustment.sequence == 1
    assert adjustment.document.kind == "adjustment"
    assert net(recorded + list(adjustment.document.lines)) == net(DAY)


# -- the plan of a run, over an in-memory warehouse ---------------------------------------------
@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("""
        create schema finance;
        create schema mappings;
        create table mappings.locations (restaurant_guid varchar, location_name varchar,
            is_active boolean, posting_start_date date, erp_division varchar);
        create table finance.journals (journal_id varchar, restaurant_guid varchar,
            business_date date, journal_type varchar, company varchar, currency varchar,
            version varchar, status varchar, hold_reasons varchar);
        create table finance.journal_lines (journal_id varchar, line_number integer,
            account_code varchar, debit decimal(18,2), credit decimal(18,2),
            description varchar, location_dimension varchar, revenue_center_dimension varchar,
            line_kind varchar, sales_category_name varchar, payment_type varchar,
            card_type varchar, alternate_payment_type_name varchar);
        insert into mappings.locations values
            ('g-active', 'Hudson Yards', true, date '2026-01-02', ' '),
            ('g-closed', 'Old Store', false, null, null);
        insert into finance.journals values
            ('g-active:2026-01-01:sales', 'g-active', date '2026-01-01', 'sales', 'HV', 'USD',
             'v1', 'ready', null),
            ('g-active:2026-01-02:sales', 'g-active', date '2026-01-02', 'sales', 'HV', 'USD',
             'v1', 'ready', null),
            ('g-active:2026-01-03:sales', 'g-active', date '2026-01-03', 'sales', 'HV', 'USD',
             'v1', 'held', 'unmapped sales category ''Brunch'''),
            ('g-closed:2026-01-02:sales', 'g-closed', date '2026-01-02', 'sales', 'OS', 'USD',
             'v1', 'ready', null);
        insert into finance.journal_lines values
            ('g-active:2026-01-02:sales', 1, '1010', 10.00, 0, 'Cash', 'HY', null, 'tender',
             null, 'CASH', null, null),
            ('g-active:2026-01-02:sales', 2, '4000', 0, 10.00, 'Food', 'HY', 'BAR', 'sales',
             'Food', null, null, null),
            ('g-active:2026-01-02:sales', 3, '4010', 0, 0, 'Nothing', 'HY', null, 'sales',
             'Drinks', null, null, null);
    """)
    yield con
    con.close()


def test_a_run_plans_ready_journals_of_active_locations_from_their_start_date(warehouse):
    planned, skipped = plan(warehouse, Ledger(warehouse), "d365")

    [document] = [p.document for p in planned]
    assert document.journal_id == "g-active:2026-01-02:sales"
    assert document.division is None  # a blank erp_division is no division
    assert [(x.account, x.debit, x.credit, x.payment_type) for x in document.lines] == [
        ("1010", D("10.00"), D("0.00"), "CASH"),
        ("4000", D("0.00"), D("10.00"), None),
    ]
    # A switched-off location is listed, not left out of the summary.
    assert [(s.row.journal_id, s.state, s.message) for s in skipped] == [
        ("g-closed:2026-01-02:sales", "inactive", "location inactive in locations.csv"),
        ("g-active:2026-01-03:sales", "held", "unmapped sales category 'Brunch'"),
    ]


def test_a_run_plans_only_the_journals_asked_for(warehouse):
    planned, skipped = plan(
        warehouse, Ledger(warehouse), "d365", journal_ids=("g-active:2026-01-03:sales",)
    )

    assert planned == [] and [s.state for s in skipped] == ["held"]


def test_a_held_journal_says_what_was_posted_earlier_stays(warehouse):
    ledger = Ledger(warehouse)
    [original], _ = plan(warehouse, ledger, "d365")
    ledger.record_attempt("d365", original.document, original.sequence, original.version)
    ledger.record_posted(original.document.key, "D1")
    warehouse.execute(
        "update finance.journals set status = 'held', hold_reasons = 'late tips' "
        "where journal_id = 'g-active:2026-01-02:sales'"
    )

    planned, skipped = plan(
        warehouse, ledger, "d365", date_range=(date(2026, 1, 2), date(2026, 1, 2))
    )

    assert planned == []
    assert [s.message for s in skipped if s.state == "held"] == [
        "late tips (what was posted earlier stays in the ERP)"
    ]
