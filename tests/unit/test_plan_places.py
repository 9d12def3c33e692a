"""What the plan sends for one journal, from what the ERP holds and where the journal goes now."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from posting.connectors.contract import Line
from posting.ledger import Posting
from posting.plan import JournalRow, plan_journal

DAY = date(2026, 11, 3)


def row(company: str = "HV-NY", division: str | None = None, version: str = "v2") -> JournalRow:
    return JournalRow(
        "guid-1:2026-11-03:sales",
        "guid-1abcdef",
        "Brooklyn",
        DAY,
        "sales",
        company,
        "USD",
        version,
        "ready",
        None,
        division,
    )


def lines(sales: str, location: str = "BKN") -> list[Line]:
    amount = Decimal(sales)
    zero = Decimal("0.00")
    return [
        Line(1, "1000", amount, zero, "Card", location, None),
        Line(2, "4000", zero, amount, "Food", location, None),
    ]


def posted(company: str | None, sent: list[Line], sequence: int = 0) -> Posting:
    kind = "original" if sequence == 0 else "adjustment"
    return Posting(
        f"CO-20261103-guid-1ab-S{sequence}-v1",
        "d365",
        "guid-1:2026-11-03:sales",
        sequence,
        kind,
        "v1",
        "posted",
        f"DOC{sequence}",
        None,
        sent,
        company=company,
    )


def net(document) -> dict[str, Decimal]:
    return {line.account: line.debit - line.credit for line in document.lines}


def test_a_new_company_gets_the_day_and_the_old_one_its_reversal():
    planned, skip = plan_journal(row("HV-IL"), [posted("HV-NY", lines("100.00"))], lines("100.00"))

    assert skip is None
    reversal, moved = (p.document for p in planned)
    assert (reversal.company, reversal.kind, reversal.adjusts) == ("HV-NY", "adjustment", "DOC0")
    assert net(reversal) == {"1000": Decimal("-100.00"), "4000": Decimal("100.00")}
    assert "reversal" in reversal.title
    assert (moved.company, moved.kind, net(moved)["4000"]) == ("HV-IL", "original", -100)
    assert [p.sequence for p in planned] == [1, 2]


def test_a_new_location_dimension_moves_the_amounts_in_one_adjustment():
    planned, _ = plan_journal(row(), [posted("HV-NY", lines("100.00"))], lines("100.00", "BKX"))

    [adjustment] = (p.document for p in planned)
    moved = {(line.account, line.location): line.debit - line.credit for line in adjustment.lines}
    assert moved == {
        ("1000", "BKN"): -100,
        ("4000", "BKN"): 100,
        ("1000", "BKX"): 100,
        ("4000", "BKX"): -100,
    }


def test_a_posting_recorded_before_places_were_is_where_the_journal_goes_now():
    planned, _ = plan_journal(row(), [posted(None, lines("100.00"))], lines("100.00"))

    [nothing] = planned  # same amounts, new version: recorded as unchanged, nothing sent
    assert nothing.document.lines == ()


def test_an_adjustment_of_a_closed_period_is_dated_the_first_open_day():
    closed = {"HV-NY": date(2026, 11, 30)}
    planned, _ = plan_journal(row(), [posted("HV-NY", lines("100.00"))], lines("90.00"), closed)

    [adjustment] = (p.document for p in planned)
    assert adjustment.posting_date == date(2026, 12, 1) and adjustment.business_date == DAY
    assert adjustment.document_date == date(2026, 12, 1)
    assert "2026-11-03 dated 2026-12-01 (period closed)" in adjustment.title


def test_an_original_in_a_closed_period_is_held_with_what_to_do():
    planned, skip = plan_journal(row(), [], lines("90.00"), {"HV-NY": date(2026, 11, 30)})

    assert planned == [] and skip.state == "held"
    assert "closed period of HV-NY (closed through 2026-11-30" in skip.message


def test_a_moved_journal_once_reversed_and_reposted_sends_nothing_more():
    day = lines("100.00")
    reversal = [
        Line(n, x.account, x.credit, x.debit, "", x.location, None) for n, x in enumerate(day, 1)
    ]
    history = [
        posted("HV-NY", day),
        Posting(
            "CO-20261103-guid-1ab-S1-v2",
            "d365",
            "guid-1:2026-11-03:sales",
            1,
            "adjustment",
            "v2",
            "posted",
            "DOC1",
            None,
            reversal,
            company="HV-NY",
        ),
        Posting(
            "CO-20261103-guid-1ab-S2-v2",
            "d365",
            "guid-1:2026-11-03:sales",
            2,
            "original",
            "v2",
            "posted",
            "DOC2",
            None,
            day,
            company="HV-IL",
        ),
    ]

    assert plan_journal(row("HV-IL", version="v2"), history, day) == ([], None)


def test_a_document_found_in_the_erp_counts_at_the_version_its_key_carries():
    found = posted("HV-NY", lines("100.00"))
    found.version = "0123456789"  # the key keeps the version's first ten characters

    planned, _ = plan_journal(row(version="0123456789abcdef"), [found], lines("100.00"))

    assert planned == []


def test_a_pending_document_another_warehouse_numbered_first_is_not_resent():
    theirs = posted("HV-NY", lines("100.00"))
    ours = Posting(
        "CO-20261103-guid-1ab-S0-v0",
        "d365",
        "guid-1:2026-11-03:sales",
        0,
        "original",
        "v0",
        "pending",
        None,
        None,
        lines("100.00"),
        company="HV-NY",
    )

    planned, _ = plan_journal(row(version="v1"), [ours, theirs], lines("100.00"))

    assert planned == []  # the ERP holds the day once, from the other warehouse


def test_an_original_held_for_a_closed_period_is_still_asked_about():
    _, skip = plan_journal(row(), [], lines("90.00"), {"HV-NY": date(2026, 11, 30)})

    assert skip.probe is not None and skip.probe.journal_id == "guid-1:2026-11-03:sales"
    assert skip.probe.key.startswith("CO-20261103-guid-1ab-S0-")
