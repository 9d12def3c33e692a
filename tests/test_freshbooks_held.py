"""`held` on FreshBooks: a connector that remembers nothing (a fresh or second warehouse) asks
FreshBooks what it holds of each journal identity, whatever the documents' versions, and reads
their lines back as closeout sent them, in journal mode (journal entries) and invoice mode
(an invoice and its payments), in a few paged requests; documents are dated document_date."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from closeout.errors import ErpRefusal
from posting.connectors.contract import Journal, Line
from tests import test_freshbooks_connector as connector_tests
from tests.erps import net_by_account
from tests.test_freshbooks_connector import connector, line

ROOT = Path(__file__).resolve().parents[1]
D = Decimal
GUID = "b601e100"
server, fb = connector_tests.server, connector_tests.fb  # the sandbox fixtures


def day_journal(
    day: int,
    *,
    sequence: int = 0,
    version: str = "v1",
    lines: tuple | None = None,
    guid: str = GUID,
    journal_type: str = "sales",
) -> Journal:
    """A sales day at Brooklyn: original (sequence 0) or adjustment, keyed by version."""
    key = f"CO-202603{day:02d}-{guid}-{journal_type[0].upper()}{sequence}-{version}"
    kind = "original" if sequence == 0 else "adjustment"
    return Journal(
        key=key,
        journal_id=f"{guid}:2026-03-{day:02d}:{journal_type}",
        restaurant_guid=guid,
        location_name="Brooklyn Heights",
        company="HV-NY",
        division="BKN",
        business_date=date(2026, 3, day),
        journal_type=journal_type,
        kind=kind,
        adjusts="900001" if sequence else None,
        currency="USD",
        title=f"Toast {journal_type} {kind} 2026-03-{day:02d} Brooklyn Heights [{key}]",
        lines=lines if lines is not None else sales_lines(),
    )


def sales_lines(visa: str = "121.00", food: str = "100.00") -> tuple[Line, ...]:
    """Revenue centers in the sub-account (4000-DINING) and only in the tag (6900 at BAR),
    a category whose sales and discount cancel out, a card refunded, a long description."""
    return (
        line(1, "1110", visa, "0", "tender", tender="CREDIT VISA"),
        line(2, "1010", "30.00", "0", "tender", tender="CASH"),
        line(3, "1010", "0", "25.00", "tender", tender="CASH"),
        line(4, "1115", "0", "3.00", "tender", tender="CREDIT AMEX"),
        line(5, "4100", "5.00", "0", "discount", rc="DINING", category="Food"),
        line(6, "4000", "0", food, "sales", rc="DINING", category="Food"),
        line(7, "4010", "0", "20.00", "sales", rc="BAR", category="Beverage"),
        line(8, "4130", "4.00", "0", "discount", rc="BAR", category="Beer"),
        line(9, "4030", "0", "4.00", "sales", rc="BAR", category="Beer"),
        line(10, "2200", "0", "9.00", "tax"),
        replace(line(11, "6900", "1.00", "0", "over_short", rc="BAR"), description="x" * 300),
    )


def adjustment_lines() -> tuple[Line, ...]:
    """What a later version of the day adds, as posting's difference() makes it: no kinds."""
    return (
        Line(1, "1110", D("10.00"), D(0), "Adjustment: tender", "BKN", None),
        Line(2, "4000", D(0), D("10.00"), "Adjustment: sales", "BKN", "DINING"),
    )


def probe(day: int, **kwargs) -> Journal:
    """The same day as a rebuilt warehouse would send it now: a version FreshBooks never saw."""
    return day_journal(day, version="new", **kwargs)


def net(documents) -> dict:
    return net_by_account([ln for document in documents for ln in document.lines])


def _ids(documents) -> dict[str, str]:
    return {document.key: document.document_id for document in documents}


# -- journal mode ---------------------------------------------------------------------------------
def test_a_fresh_connector_finds_the_original_and_its_adjustments_whatever_their_version(fb):
    original = day_journal(2, version="v1")
    adjustment = day_journal(2, sequence=1, version="v2", lines=adjustment_lines())
    other_day = day_journal(3, version="v1")
    posting = connector()
    ids = {j.key: posting.create(j) for j in (original, adjustment, other_day)}

    held = connector().held([probe(2), probe(4)])

    assert set(held) == {original.journal_id}  # day 4: nothing posted, absent
    documents = held[original.journal_id]
    assert _ids(documents) == {original.key: ids[original.key], adjustment.key: ids[adjustment.key]}
    by_key = {d.key: d for d in documents}
    assert net([by_key[original.key]]) == net([original])
    assert net([by_key[adjustment.key]]) == net([adjustment])
    assert net(documents) == net([original, adjustment])
    assert {(d.company, d.division) for d in documents} == {("HV-NY", "BKN")}
    assert sorted(d.sequence for d in documents) == [0, 1]


def test_a_long_description_keeps_its_location_and_revenue_center(fb):
    journal = day_journal(2)
    connector().create(journal)
    [entry] = fb.erp_control("freshbooks", "entries")
    assert entry["details"][-1]["description"].endswith("x [loc BKN rc BAR]")
    assert len(entry["details"][-1]["description"]) == 255
    [document] = connector().held([probe(2)])[journal.journal_id]
    assert ("6900", "BKN", "BAR") in net([document])


def test_a_sub_account_found_by_name_reads_back_as_the_code_sent(fb):
    fb.erp_control(
        "freshbooks",
        "configure",
        {
            "chart": [
                {
                    "account_number": "1000",
                    "account_name": "Assets",
                    "account_type": "asset",
                    "sub_accounts": [
                        {"account_sub_number": "7", "account_sub_name": "1110 Card clearing"},
                        {"account_sub_number": "", "account_sub_name": "4000-BAR Bar food"},
                        {"account_sub_number": "4000", "account_sub_name": "Food Sales"},
                    ],
                }
            ]
        },
    )
    journal = day_journal(
        2,
        lines=(
            Line(1, "1110", D("12.00"), D(0), "card", "BKN", None),
            Line(2, "4000", D(0), D("7.00"), "food at the bar", "BKN", "BAR"),
            Line(3, "4000", D(0), D("5.00"), "food elsewhere", "BKN", None),
        ),
    )
    connector().create(journal)
    [document] = connector().held([probe(2, lines=journal.lines)])[journal.journal_id]
    assert net([document]) == net([journal])


def test_held_reads_entries_in_date_pages_not_one_request_per_journal(fb):
    journals = [day_journal(day, guid=guid) for day in range(1, 16) for guid in (GUID, "c0ffee00")]
    posting = connector()
    for journal in journals:  # 30 journals, 330 details
        posting.create(journal)
    before = dict(fb.stats()["requests"])

    held = connector().held([probe(j.business_date.day, guid=j.restaurant_guid) for j in journals])

    assert len(held) == 30 and all(len(documents) == 1 for documents in held.values())
    assert all(
        net(held[j.journal_id]) == net([j]) for j in journals
    )  # each day's lines, not a neighbour's
    seen = {k: v - before.get(k, 0) for k, v in fb.stats()["requests"].items()}
    assert {k: v for k, v in seen.items() if v} == {
        "GET journal_entry_accounts": 1,
        "GET journal_entry_details": 4,  # 330 details, 100 a page
        "GET invoices": 1,  # a day may have been posted as an invoice before
    }


def test_documents_are_dated_the_posting_date_and_found_there(fb, monkeypatch):
    later = date(2026, 4, 1)
    adjustment = replace(
        day_journal(2, sequence=1, version="v2", lines=adjustment_lines()), posting_date=later
    )
    connector().create(adjustment)
    [entry] = fb.erp_control("freshbooks", "entries")
    assert entry["user_entered_date"] == "2026-04-01"
    assert entry["name"] == adjustment.title  # the key and title keep the business date
    assert _ids(connector().held([probe(2)])[adjustment.journal_id]) == {
        adjustment.key: str(entry["entryid"])
    }

    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    original = replace(day_journal(5), posting_date=later)
    connector().create(original)
    [invoice] = fb.erp_control("freshbooks", "invoices")
    assert invoice["create_date"] == "2026-04-01"
    assert {p["date"] for p in invoice["payments"]} == {"2026-04-01"}
    assert list(connector().held([probe(5)])) == [original.journal_id]


# -- invoice mode ---------------------------------------------------------------------------------
def test_invoice_mode_reads_the_day_back_as_the_journal_lines_that_made_it(fb, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    original = day_journal(2)
    adjustment = day_journal(2, sequence=1, version="v2", lines=adjustment_lines())
    posting = connector()
    invoice_id = posting.create(original)
    entry_id = posting.create(adjustment)  # adjustments are journal entries
    [invoice] = fb.erp_control("freshbooks", "invoices")
    names = {ln["name"]: ln["amount"]["amount"] for ln in invoice["lines"]}
    assert names["Beer sales"] == "0.00"  # nets to nothing, still carries its lines
    assert names["Paid out as CREDIT AMEX"] == "3.00"
    assert invoice["lines"][0]["description"].startswith("Food sales, net of discounts {")

    held = connector().held([probe(2), probe(3)])

    assert list(held) == [original.journal_id]
    documents = {d.key: d for d in held[original.journal_id]}
    assert _ids(documents.values()) == {original.key: invoice_id, adjustment.key: entry_id}
    assert net([documents[original.key]]) == net([original])
    assert net(documents.values()) == net([original, adjustment])
    assert documents[original.key].company == "HV-NY"


def test_invoice_mode_held_is_a_few_paged_requests_for_30_days(fb, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    journals = [day_journal(day, guid=guid) for day in range(1, 16) for guid in (GUID, "c0ffee00")]
    posting = connector()
    for journal in journals:
        posting.create(journal)
    before = dict(fb.stats()["requests"])

    held = connector().held([replace(j, key=j.key.replace("-v1", "-new")) for j in journals])

    assert {k: net(v) for k, v in held.items()} == {j.journal_id: net([j]) for j in journals}
    seen = {k: v - before.get(k, 0) for k, v in fb.stats()["requests"].items()}
    assert {k: v for k, v in seen.items() if v} == {
        "GET journal_entry_details": 1,
        "GET invoices": 1,
        "GET payments": 1,  # the 30 invoices' payments, in one page
    }


def test_an_invoice_not_fully_paid_is_not_held_and_create_completes_it(fb, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    script = (
        "from tests.test_freshbooks_held import connector, day_journal\n"
        "connector().create(day_journal(2))\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "CLOSEOUT_FAILPOINT": "freshbooks.after_payment",
            "PYTHONPATH": str(ROOT),
        },
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    journal = day_journal(2)
    posting = connector()
    assert posting.held([probe(2), journal]) == {}  # one payment of two: partial

    invoice_id = posting.create(journal)
    [invoice] = fb.erp_control("freshbooks", "invoices")
    assert str(invoice["invoiceid"]) == invoice_id and len(invoice["payments"]) == 2
    [document] = connector().held([probe(2)])[journal.journal_id]
    assert document.document_id == invoice_id and net([document]) == net([journal])


def test_an_invoice_edited_in_freshbooks_reads_back_what_it_holds(fb, server, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    journal = day_journal(2)
    connector().create(journal)
    [invoice] = server.app.books.invoices  # someone takes 5.00 off the food line by hand
    food = next(ln for ln in invoice["lines"] if ln["name"] == "Food sales")
    assert food["amount"]["amount"] == "95.00"
    food["amount"]["amount"] = food["unit_cost"]["amount"] = "90.00"
    invoice["_total"] -= 5

    [document] = connector().held([probe(2)])[journal.journal_id]

    expected = net([journal])
    expected[("4000", "BKN", "DINING")] += 5  # on the line's largest part, its sales
    assert net([document]) == expected


def test_an_invoice_posted_without_its_journal_lines_is_refused_naming_it(fb, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    posting = connector()
    journal = day_journal(2)
    made = posting._call(  # as an earlier closeout wrote it: no parts in the description
        "POST",
        "invoices/invoices",
        body={
            "invoice": {
                "customerid": posting._client(journal),
                "create_date": "2026-03-02",
                "currency_code": "USD",
                "po_number": journal.key,
                "lines": [
                    {
                        "type": 0,
                        "name": "Food sales",
                        "qty": 1,
                        "unit_cost": {"amount": "10.00", "code": "USD"},
                    }
                ],
            }
        },
    )["invoice"]
    posting._call(
        "POST",
        "payments/payments",
        body={
            "payment": {
                "invoiceid": made["invoiceid"],
                "amount": {"amount": "10.00", "code": "USD"},
                "date": "2026-03-02",
                "type": "Cash",
                "note": f"CASH [{journal.key}]",
            }
        },
    )
    with pytest.raises(ErpRefusal) as refused:
        connector().held([probe(2)])
    message = str(refused.value)
    assert made["invoice_number"] in message and journal.key in message
    assert "delete the invoice and its payments" in message
