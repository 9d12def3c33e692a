"""load -> `dbt build` against the sandbox and a real DuckDB file: the journal contract."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from closeout.errors import ConfigurationError
from loaders.pipeline import run_load
from transform import build as transform
from transform.mappings import append_stub_rows, unmapped_sources

# Old enough to be closed everywhere and past every late edit, and not loaded by other tests.
HAND_DAY = (datetime.now(timezone.utc) - timedelta(days=100)).date()


def query(db: Path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def build_ok() -> transform.BuildResult:
    result = transform.run_build(quiet=True)
    assert result.ok, [f"{p.name}: {p.message}" for p in result.errors]
    return result


def journal_totals(db: Path, restaurant: str, day: date) -> dict[str, Decimal]:
    """Net credit (credit - debit) per line kind of one journal."""
    rows = query(
        db,
        """
        select line_kind, sum(credit) - sum(debit) from finance.journal_lines
        where restaurant_guid = ? and business_date = ? group by 1""",
        (restaurant, day),
    )
    return {kind: amount for kind, amount in rows}


def config(db: Path, restaurant: str, entity: str) -> list[dict]:
    rows = query(
        db,
        "select record_json from toast_raw.config_records "
        "where restaurant_guid = ? and entity = ? order by guid",
        (restaurant, entity),
    )
    return [json.loads(text) for (text,) in rows]


def test_sandbox_days_build_into_balanced_fully_mapped_journals(toast_env, warehouse):
    toast_env.freeze(datetime.now(timezone.utc))
    last = datetime.now(timezone.utc).date() - timedelta(days=30)
    assert run_load(business_date_range=(last - timedelta(days=2), last)).ok

    build_ok()

    unbalanced = query(
        warehouse,
        """
        select journal_id, sum(debit), sum(credit) from finance.journal_lines
        group by 1 having sum(debit) <> sum(credit)""",
    )
    assert unbalanced == []
    # Later refunds and payments make journals on other dates too; the loaded dates all have one.
    journals = query(
        warehouse,
        "select restaurant_guid, business_date, status, hold_reasons "
        "from finance.journals where journal_type = 'sales' "
        "and business_date between ? and ?",
        (last - timedelta(days=2), last),
    )
    assert len(journals) == 3 * len(toast_env.restaurants)
    assert not [j for j in journals if j[3] and "unmapped" in j[3].lower()]
    assert unmapped_sources() == []
    lines = query(
        warehouse,
        "select count(*), count(distinct line_kind), sum(debit) from finance.journal_lines",
    )[0]
    assert lines[0] > 100 and lines[1] >= 8 and lines[2] > 1000


def hand_built_order(db: Path, restaurant: str, day: date) -> tuple[dict, dict]:
    """One dine-in order computed by hand: two items (one with a modifier whose price is in its
    parent's), a $3.00 check discount, 8% tax, a $5.00 gratuity and a Visa payment with a tip."""
    category = config(db, restaurant, "salesCategories")[0]
    revenue_center = config(db, restaurant, "revenueCenters")[0]
    tax_rate = config(db, restaurant, "taxRates")[0]
    gratuity = next(c for c in config(db, restaurant, "serviceCharges") if c.get("gratuity"))
    opened = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=20)
    stamp = opened.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    ref = {"guid": category["guid"], "entityType": "SalesCategory"}

    def selection(guid, name, pre, price, discount, tax, modifiers=()):
        return {
            "guid": guid,
            "entityType": "MenuItemSelection",
            "displayName": name,
            "selectionType": "NONE",
            "salesCategory": ref,
            "quantity": 1,
            "preDiscountPrice": pre,
            "price": price,
            "receiptLinePrice": pre,
            "tax": tax,
            "taxInclusion": "NOT_INCLUDED",
            "deferred": False,
            "voided": False,
            "appliedDiscounts": discount,
            "modifiers": list(modifiers),
            "appliedTaxes": [
                {
                    "guid": f"{guid}-tax",
                    "entityType": "AppliedTaxRate",
                    "taxRate": {"guid": tax_rate["guid"], "entityType": "TaxRate"},
                    "name": tax_rate.get("name"),
                    "rate": 0.08,
                    "taxAmount": tax,
                    "type": "PERCENT",
                    "facilitatorCollectAndRemitTax": False,
                }
            ]
            if tax
            else [],
        }

    modifier = selection("hand-sel-a-mod", "Extra Cheese", 2.00, 2.00, [], 0)
    check = {
        "guid": "hand-check",
        "entityType": "Check",
        "displayNumber": "H-1",
        "voided": False,
        "deleted": False,
        "paymentStatus": "CLOSED",
        "taxExempt": False,
        "openedDate": stamp,
        "closedDate": stamp,
        "modifiedDate": stamp,
        "amount": 29.00,  # Σ selection price; gratuity and tax are not in check.amount
        "taxAmount": 2.32,
        "totalAmount": 36.32,
        "appliedDiscounts": [
            {
                "guid": "hand-disc",
                "entityType": "AppliedCustomDiscount",
                "name": "$3 Off",
                "discountType": "FIXED",
                "discountAmount": 3.00,
                "nonTaxDiscountAmount": 3.00,
            }
        ],
        "appliedServiceCharges": [
            {
                "guid": "hand-grat",
                "entityType": "AppliedServiceCharge",
                "serviceCharge": {"guid": gratuity["guid"], "entityType": "ServiceCharge"},
                "name": gratuity.get("name"),
                "chargeType": "FIXED",
                "chargeAmount": 5.00,
                "gratuity": True,
                "taxable": False,
                "serviceChargeCategory": "SERVICE_CHARGE",
                "appliedTaxes": [],
            }
        ],
        "selections": [
            selection("hand-sel-a", "Burger", 22.00, 19.94, [], 1.60, [modifier]),  # 2.06 of the
            selection("hand-sel-b", "Salad", 10.00, 9.06, [], 0.72),  # discount, 0.94 here
        ],
        "payments": [
            {
                "guid": "hand-pay",
                "entityType": "OrderPayment",
                "type": "CREDIT",
                "cardType": "VISA",
                "amount": 36.32,
                "tipAmount": 4.00,
                "amountTendered": 40.32,
                "paidDate": stamp,
                "paidBusinessDate": int(day.strftime("%Y%m%d")),
                "paymentStatus": "CAPTURED",
                "refundStatus": "NONE",
                "refund": None,
                "voidInfo": None,
            }
        ],
    }
    order = {
        "guid": "hand-order-1",
        "entityType": "Order",
        "businessDate": int(day.strftime("%Y%m%d")),
        "openedDate": stamp,
        "modifiedDate": stamp,
        "closedDate": stamp,
        "voided": False,
        "deleted": False,
        "excessFood": False,
        "source": "In Store",
        "revenueCenter": {"guid": revenue_center["guid"], "entityType": "RevenueCenter"},
        "checks": [check],
    }
    expected = {  # net credit per line kind, by hand
        "sales": Decimal("32.00"),
        "discount": Decimal("-3.00"),
        "tax": Decimal("2.32"),
        "gratuity": Decimal("5.00"),
        "tip": Decimal("4.00"),
        "tender": Decimal("-40.32"),
    }
    return order, expected


def test_hand_built_order_adds_exactly_the_hand_computed_lines(toast_env, warehouse):
    toast_env.freeze(datetime.now(timezone.utc))
    restaurant = toast_env.restaurants[0]
    assert run_load(business_date_range=(HAND_DAY, HAND_DAY), restaurant_guids=[restaurant]).ok
    build_ok()
    before = journal_totals(warehouse, restaurant, HAND_DAY)
    version_before = query(
        warehouse,
        "select version from finance.journals where "
        "restaurant_guid = ? and business_date = ? and journal_type = 'sales'",
        (restaurant, HAND_DAY),
    )[0][0]

    order, expected = hand_built_order(warehouse, restaurant, HAND_DAY)
    toast_env.control("orders", {"restaurant": restaurant, "order": order})
    assert run_load(business_date_range=(HAND_DAY, HAND_DAY), restaurant_guids=[restaurant]).ok
    build_ok()

    after = journal_totals(warehouse, restaurant, HAND_DAY)
    delta = defaultdict(Decimal)
    for kind in set(before) | set(after):
        change = after.get(kind, Decimal(0)) - before.get(kind, Decimal(0))
        if change:
            delta[kind] = change
    assert dict(delta) == expected
    version_after = query(
        warehouse,
        "select version from finance.journals where "
        "restaurant_guid = ? and business_date = ? and journal_type = 'sales'",
        (restaurant, HAND_DAY),
    )[0][0]
    assert version_after != version_before


def payment_tips(order_json: str) -> Decimal:
    order = json.loads(order_json, parse_float=Decimal)
    return sum(
        (
            Decimal(str(payment.get("tipAmount") or 0))
            for check in order["checks"]
            if not check.get("voided")
            for payment in check.get("payments") or []
            if payment.get("paymentStatus") != "VOIDED"
        ),
        Decimal(0),
    )


def test_late_tip_reaches_the_journal_through_the_incremental_load(toast_env, warehouse):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    assert run_load(backfill_days=4, lag_minutes=0).ok
    build_ok()
    restaurant = toast_env.restaurants[0]
    order_guid, day, before_json = query(
        warehouse,
        """
        select order_guid, business_date, order_json from toast_raw.orders
        where restaurant_guid = ? and business_date <= ?
          and not (order_json::json->>'voided')::boolean
          and order_json like '%"type":"CREDIT"%'
        order by order_guid limit 1""",
        (restaurant, as_of.date() - timedelta(days=2)),
    )[0]
    journal = (
        "select version from finance.journals where restaurant_guid = ? "
        "and business_date = ? and journal_type = 'sales'"
    )
    version_before = query(warehouse, journal, (restaurant, day))[0][0]
    totals_before = journal_totals(warehouse, restaurant, day)

    toast_env.edit_late(restaurant, order_guid)
    assert run_load(lag_minutes=0).ok  # the modified-time window, not a business date
    build_ok()

    after_json = query(
        warehouse,
        "select order_json from toast_raw.orders where restaurant_guid = ? and order_guid = ?",
        (restaurant, order_guid),
    )[0][0]
    added_tip = payment_tips(after_json) - payment_tips(before_json)
    assert added_tip > 0
    totals_after = journal_totals(warehouse, restaurant, day)
    delta = {
        kind: totals_after.get(kind, Decimal(0)) - totals_before.get(kind, Decimal(0))
        for kind in set(totals_before) | set(totals_after)
    }
    assert {kind: change for kind, change in delta.items() if change} == {
        "tip": added_tip,
        "tender": -added_tip,
    }
    assert query(warehouse, journal, (restaurant, day))[0][0] != version_before


def test_unmapped_category_holds_only_its_location_and_names_the_seed_row(
    toast_env, warehouse, seeds_copy
):
    toast_env.freeze(datetime.now(timezone.utc))
    day = datetime.now(timezone.utc).date() - timedelta(days=31)
    assert run_load(business_date_range=(day, day)).ok
    first = toast_env.restaurants[0]
    category = config(warehouse, first, "salesCategories")[0]["name"]
    # Map the category for every location but the first: its default row becomes per location.
    seed = seeds_copy / "seeds" / "sales_category_accounts.csv"
    lines = seed.read_text().splitlines()
    default = next(line for line in lines if line.startswith(f"*,{category},"))
    kept = [line for line in lines if line != default]
    kept += [default.replace("*", guid, 1) for guid in toast_env.restaurants if guid != first]
    seed.write_text("\n".join(kept) + "\n")

    build_ok()

    status = {
        (r, s): h
        for r, s, h in query(
            warehouse,
            "select restaurant_guid, status, hold_reasons from finance.journals "
            "where business_date = ? and journal_type = 'sales'",
            (day,),
        )
    }
    held = {r: h for (r, s), h in status.items() if s == "held"}
    assert first in held and category in held[first] and "sales_category_accounts" in held[first]
    assert all(category not in (h or "") for r, h in held.items() if r != first)
    # The other locations still post unless something of their own holds them (an open check).
    others = {(r, s): h for (r, s), h in status.items() if r != first}
    assert {r for r, _ in others} == set(toast_env.restaurants) - {first}
    assert all(s == "ready" or "unmapped" not in h for (r, s), h in others.items())
    unmapped = unmapped_sources()
    assert any(
        u.source_name == category and u.seed_file == "sales_category_accounts.csv" for u in unmapped
    )

    added = append_stub_rows(unmapped, seeds_copy / "seeds")
    assert added.get("sales_category_accounts.csv", 0) >= 1
    assert category in seed.read_text()
    assert append_stub_rows(unmapped, seeds_copy / "seeds") == {}  # never twice


def test_a_seed_edit_with_a_new_column_remaps_days_already_built(toast_env, warehouse, seeds_copy):
    toast_env.freeze(datetime.now(timezone.utc))
    day = datetime.now(timezone.utc).date() - timedelta(days=32)
    assert run_load(business_date_range=(day, day)).ok
    build_ok()
    food_sales = """select account_code, sum(credit) - sum(debit) from finance.journal_lines
                    where business_date = ? and line_kind = 'sales'
                      and sales_category_name = 'Food' group by 1"""
    before = dict(query(warehouse, food_sales, (day,)))
    assert set(before) == {"4000"} and before["4000"] > 0

    # The accountant moves Food to 4010 and adds a notes column of their own: first only to
    # the CSV (refused, naming the file and the fix), then declared in _seeds.yml too.
    seed = seeds_copy / "seeds" / "sales_category_accounts.csv"
    lines = seed.read_text().splitlines()
    edited = [lines[0] + ",notes"] + [
        (line.replace("*,Food,,4000,", "*,Food,,4010,") + ",moved in December")
        for line in lines[1:]
    ]
    seed.write_text("\n".join(edited) + "\n")
    with pytest.raises(ConfigurationError, match=r"sales_category_accounts.csv: column\(s\) notes"):
        transform.run_build(quiet=True)
    declared = seeds_copy / "seeds" / "_seeds.yml"
    declared.write_text(
        declared.read_text().replace(
            "        discount_account: varchar\n",
            "        discount_account: varchar\n        notes: varchar\n",
            1,
        )
    )
    result = transform.run_build(quiet=True)

    assert result.ok and result.mappings_changed, [p.message for p in result.errors]
    after = dict(query(warehouse, food_sales, (day,)))
    assert after == {"4010": before["4000"]}


def test_a_nightly_build_makes_the_same_journals_as_a_full_rebuild(toast_env, warehouse):
    """The incremental build rebuilds only the changed days, reading only the orders those days
    need. A day a new load touches can also hold an older order's refund or late payment: the
    second load's days must still come out exactly as a rebuild from scratch makes them."""
    toast_env.freeze(datetime.now(timezone.utc))
    last = datetime.now(timezone.utc).date() - timedelta(days=30)
    first_week = (last - timedelta(days=13), last - timedelta(days=7))
    second_week = (last - timedelta(days=6), last)
    assert run_load(business_date_range=first_week).ok
    build_ok()
    assert run_load(business_date_range=second_week).ok
    build_ok()

    # The case worth testing is there: money on the second week's days from first-week orders.
    older_orders_money = query(
        warehouse,
        """
        select count(*) from staging.stg_toast__changed_days as changed
        inner join staging.stg_toast__orders as orders using (restaurant_guid, order_guid)
        where changed.business_date between ? and ? and orders.order_business_date < ?""",
        (*second_week, second_week[0]),
    )[0][0]
    assert older_orders_money > 0
    journal = """select * from finance.journal_lines
                 order by journal_id, line_number"""
    # what journals and sales_summary take from the lines (int_journal_figures, kept per
    # journal); not the status, which the clock may change between the two builds
    versions = """select journal_id, version, total_debit, total_credit, line_count,
                         unmapped_line_count, over_short_amount
                  from finance.journals order by journal_id"""
    summary = """select * exclude (journal_status, journal_hold_reasons)
                 from finance.sales_summary order by restaurant_guid, business_date"""
    nightly_lines, nightly_versions = query(warehouse, journal), query(warehouse, versions)
    nightly_summary = query(warehouse, summary)

    # Every re-read order's old rows went: an order's rows in each per-order table are of one
    # load (the pre-hooks delete them looking only at rows dated from the first date the
    # re-read orders touched).
    per_order_tables = query(
        warehouse,
        """select table_schema || '.' || table_name from information_schema.columns
           where column_name in ('order_guid', '_dlt_load_id')
             and table_schema in ('staging', 'intermediate')
           group by all having count(*) = 2 order by 1""",
    )
    assert len(per_order_tables) >= 20
    for (table,) in per_order_tables:
        orders_of_two_loads = query(
            warehouse,
            f"""select count(*) from (select restaurant_guid, order_guid from {table}
                group by all having count(distinct _dlt_load_id) > 1)""",
        )
        assert orders_of_two_loads == [(0,)], table

    rebuilt = transform.run_build(full_refresh=True, quiet=True)

    assert rebuilt.ok, [p.message for p in rebuilt.errors]
    assert query(warehouse, versions) == nightly_versions
    assert query(warehouse, journal) == nightly_lines
    assert query(warehouse, summary) == nightly_summary
    assert len(nightly_lines) > 500


def test_journals_catch_up_after_a_build_of_journal_lines_alone(toast_env, warehouse):
    """journals and sales_summary take each journal's totals from int_journal_figures, which
    recomputes the journals journal_lines rebuilt: a run that stops after journal_lines (here
    `dbt run` of it and what it reads; a crash would do the same) leaves them queued. A build of
    journals without the figures fails, saying so; the next build brings every journal to its
    lines."""
    toast_env.freeze(datetime.now(timezone.utc))
    last = datetime.now(timezone.utc).date() - timedelta(days=40)
    assert run_load(business_date_range=(last - timedelta(days=3), last - timedelta(days=2))).ok
    build_ok()
    assert run_load(business_date_range=(last - timedelta(days=1), last)).ok
    dbt = [sys.executable, "-m", "dbt.cli.main"]
    folders = ["--project-dir", str(transform.PROJECT_DIR), "--profiles-dir", str(transform.ROOT)]
    subprocess.run([*dbt, "run", *folders, "--quiet", "--select", "+journal_lines"], check=True)
    without_figures = transform.run_build(select=("journals",), quiet=True)
    assert not without_figures.ok
    assert "assert_journal_figures_current" in {p.name for p in without_figures.errors}
    build_ok()

    from_lines = query(
        warehouse,
        """select journal_id, sum(debit), sum(credit), count(*) from finance.journal_lines
           group by 1 order by 1""",
    )
    totals = """select journal_id, total_debit, total_credit, line_count
                from finance.journals order by journal_id"""
    assert query(warehouse, totals) == from_lines
    second_days = {
        row[0] for row in from_lines if row[0].split(":")[1] >= str(last - timedelta(days=1))
    }
    assert len(second_days) >= 2 * len(toast_env.restaurants)
    versions = "select journal_id, version from finance.journals order by journal_id"
    incremental_versions = query(warehouse, versions)
    assert transform.run_build(full_refresh=True, quiet=True).ok
    assert query(warehouse, versions) == incremental_versions


def test_a_renamed_toast_payment_type_reaches_days_no_load_changed(toast_env, warehouse):
    """journal_lines rebuilds only the days a load changed, unless what it maps them with
    changed: a payment type renamed in Toast renames the tender line of every unposted day."""
    toast_env.freeze(datetime.now(timezone.utc))
    day = datetime.now(timezone.utc).date() - timedelta(days=45)
    assert run_load(business_date_range=(day - timedelta(days=1), day)).ok
    build_ok()
    tenders = """select business_date, description, sum(debit) from finance.journal_lines
                 where alternate_payment_type_name is not null group by all order by all"""
    before = query(warehouse, tenders)
    # a tender line's payment type (a refund paid out by one can sort first: "Refunds ...")
    renamed = next(
        text.removeprefix("Tenders: OTHER ")
        for _, text, _ in before
        if text.startswith("Tenders: OTHER ")
    )
    versions = "select journal_id, version from finance.journals order by journal_id"
    versions_before = dict(query(warehouse, versions))
    assert {day - timedelta(days=1), day} <= {row[0] for row in before}  # and later payments'

    # What the next configuration load would write; no order is loaded.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update toast_raw.config_records set name = name || ' (new app)' "
            "where entity = 'alternatePaymentTypes' and name = ?",
            [renamed],
        )
    build_ok()

    after = query(warehouse, tenders)
    expected = [
        (when, text + " (new app)" if text.endswith(f"OTHER {renamed}") else text, amount)
        for when, text, amount in before
    ]
    assert after == sorted(expected) and after != before
    assert len({row[0] for row in after if row[1].endswith("(new app)")}) >= 1
    # journal_lines rebuilt every journal: journals has the new version of exactly those renamed
    renamed_journals = {
        journal_id
        for (journal_id,) in query(
            warehouse,
            "select distinct journal_id from finance.journal_lines "
            "where description like '%(new app)'",
        )
    }
    versions_after = dict(query(warehouse, versions))
    assert versions_after.keys() == versions_before.keys()
    changed = {j for j, version in versions_after.items() if version != versions_before[j]}
    assert changed == renamed_journals and renamed_journals
