"""Toast's own example orders through the whole pipeline: sandbox -> loader -> `dbt build`.

Issue 14 §3. Every order document among Toast's examples (`../shared/reference/toast/examples/`)
is moved into a closed business date, served by the Toast sandbox, loaded by the real loader and
built by the real `dbt build`, in a warehouse per run. The expected figures are worked out by hand
below from Toast's documented formulas (apiOrdersNetSalesCalculation: net sales = Σ selection
preDiscountPrice − discounts + non-gratuity service charges; tax = Σ check.taxAmount, itemised
per appliedTaxes[].taxRate; tenders = payment amount + tipAmount by type) and the accounting
contract (`../shared/docs/ACCOUNTING.md`, "Real Toast data" and "When a day may be posted"), never
by running the models.

Which examples are orders (`tests.kit.examples.order_documents`):
  * orders Toast returned: apiOrdersGetDetailedInfoAboutOneOrder__1 (GET one order),
    ordersBulk_example_response_first_order (an ordersBulk page), apiOrderTypeDetails__6 and
    __11, apiCreatingAnOrderWithPaymentInformation__1 and apiOrdersFirstOrder__8 (the order a
    POST created, as Toast answered it);
  * the order a webhook carries: devOrdersWebhookRef__0 (`details.order`; the envelope around it
    is not an order).
Not orders: the other `entityType: Order` files are request bodies a client POSTs (no guid, no
businessDate, no computed amounts: apiCreatingAnOrderWithPaymentInformation__0,
apiDiscountingOrders__4/5/14/15/16, apiOrderPrices__0/3, apiOrderTypeDetails__4/5/8/10,
apiOrdersFirstOrder__6, apiSpecifyingModifiersAndInstructions__2, orders_api_future_orders__0,
devCookbook-apiIntegrationChecklistReservation__0); apiOrderPrices__1 and apiOrdersFirstOrder__7
are price quotes for orders never saved (guid null or absent); the rest are payments, time
entries, labor reports, restaurants, schedules, loyalty and stock or availability webhooks.

Days (a location's business dates before the sandbox's generated history, so each day holds
only these documents; after locations.csv's posting_start_date; long closed):
  CARD      GetDetailedInfoAboutOneOrder__1 (a card sale) + the webhook's order (two empty checks)
  TAXES     apiOrderTypeDetails__6 + __11 (two open checks, 0.75 % + 6.25 % on 9.99 each): on
            one day, as the issue's example, so the per-rate rounding is tested over a day
  OTHER     apiCreatingAnOrderWithPaymentInformation__1 (an alternate payment type)
  FUTURE    ordersBulk_example_response_first_order (approvalStatus FUTURE, check still open)
  APPROVAL  apiOrdersFirstOrder__8 (approvalStatus NEEDS_APPROVAL), abbreviated by the guide

The example documents' sales categories, revenue centers, tax rates and alternate payment type
are in neither the sandbox's configuration nor the shipped seeds. Three runs, each a location and
a warehouse of its own: `mapped` (the first four days; the controller has pinned those records in
a copy of the seeds, rows for that location with the Toast guid, `PINNED_ROWS`), which must post
the hand-computed lines and be ready; `unmapped` (the same days on the shipped seeds, without a
"no revenue center" row), which must be held naming the rows to add; `approval` (APPROVAL
alone, whose check does not tie to its own lines). Dining options map to nothing in the journal;
the documents carry no discounts and no service charges.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from loaders.pipeline import LoadResult, run_load
from tests.kit.examples import (
    example_order,
    example_orders,
    moved_to,
    serve_order,
)
from transform import build as transform

D = Decimal
ZERO = D("0.00")

# Before the sandbox's generated history (120 days), so these days hold only the examples.
FIRST_DAY = datetime.now(timezone.utc).date() - timedelta(days=140)
CARD, TAXES, OTHER, FUTURE, APPROVAL = (FIRST_DAY + timedelta(days=n) for n in range(5))

# The documents of each day: (example file, order guid).
DOCUMENTS: dict[date, list[tuple[str, str]]] = {
    CARD: [
        (
            "apiDevGuide-apiOrdersGetDetailedInfoAboutOneOrder__1.json",
            "017fdd94-4a30-4657-9475-b1a684758531",
        ),
        ("apiDevGuide-devOrdersWebhookRef__0.json", "f6d98b95-2816-4f54-b1ab-7a5d71e83769"),
    ],
    TAXES: [
        ("apiDevGuide-apiOrderTypeDetails__6.json", "df8cd211-c5c9-4fe4-b56b-fa0db87eb80b"),
        ("apiDevGuide-apiOrderTypeDetails__11.json", "4f0dbb70-46e8-4e02-bd22-9444cf9dc96b"),
    ],
    OTHER: [
        (
            "apiDevGuide-apiCreatingAnOrderWithPaymentInformation__1.json",
            "71e46534-c837-4492-b4c1-0a841aea4ad5",
        )
    ],
    FUTURE: [
        ("ordersBulk_example_response_first_order.json", "5274c0f8-bf61-4e37-ad04-cf4ca1326822")
    ],
    APPROVAL: [("apiDevGuide-apiOrdersFirstOrder__8.json", "89488287-f259-435b-a654-0bc391596af0")],
}

# The days whose documents are whole (APPROVAL's is abbreviated: see its table below).
WHOLE_DAYS = [CARD, TAXES, OTHER, FUTURE]

# Guids of the records the documents name, none of them configured in the sandbox.
CATEGORY_B6A5 = "b6a5fa5c-5b4f-49ca-a49f-d35814110f81"  # GetDetailedInfoAboutOneOrder__1
CATEGORY_C091 = "c0915e46-341e-4ec0-b46e-cb87fab729fd"  # ordersBulk example
REVENUE_CENTER_9AB6 = "9ab6a5cf-32e0-47ee-9fd3-c73507ef3c01"  # GetDetailedInfoAboutOneOrder__1
STATE_TAX = "d5b88c05-1348-42ef-b1d3-577a83d70a80"  # "State Tax", 6.25 %
LOCAL_TAX = "92c6c470-74bb-4f84-b31f-2c144b70a285"  # "Local Tax", 0.75 %
ALTERNATE_PAYMENT_0DC1 = "0dc19214-d29e-4ab9-a773-27e5812999c7"  # CreatingAnOrder…__1

# The controller's rows for the mapped location (restaurant_guid filled in per run). Items
# without a sales category are food here (Crab Cakes, Egg Sandwich), and sales without a
# revenue center take the dimension NORC: the "(none)" name is the seeds' convention for "no
# sales category" and "no revenue center" (_seeds.yml).
PINNED_ROWS = {
    "sales_category_accounts.csv": [
        "{r},(none),,4000,4100",
        f"{{r}},Example category b6a5,{CATEGORY_B6A5},4010,4110",
        f"{{r}},Example category c091,{CATEGORY_C091},4050,4150",
    ],
    "revenue_center_dimensions.csv": [
        "{r},(none),,NORC",
        f"{{r}},Example revenue center,{REVENUE_CENTER_9AB6},DINING",
    ],
    "tax_rate_accounts.csv": [
        f"{{r}},State Tax,{STATE_TAX},2200,",
        f"{{r}},Local Tax,{LOCAL_TAX},2210,",
    ],
    "payment_type_accounts.csv": [
        f"{{r}},OTHER,*,Example alternate payment type,{ALTERNATE_PAYMENT_0DC1},1120",
    ],
}


def served_document(name: str, guid: str, day: date) -> dict:
    """The example order moved to `day`, as the sandbox is asked to serve it."""
    order = moved_to(example_order(name, guid), day)
    if "modifiedDate" not in order and "openedDate" not in order:
        # apiOrdersFirstOrder__8 is Toast's abbreviated answer to a POST (one of its two
        # selections is left out too): it has createdDate only. The sandbox's `orders` action
        # refuses an order without openedDate or modifiedDate, and the loader rejects one
        # without modifiedDate (every order ordersBulk returns has one), so the order's own
        # createdDate, moved with the rest, stands in for it. Nothing else is added.
        order["modifiedDate"] = order["createdDate"]
    return order


# -- the pipeline, run once for the module -----------------------------------------------------


@dataclass
class Built:
    """One location's run: its own warehouse, what the load and the build returned."""

    db: Path
    restaurant: str
    days: list[date]
    load: LoadResult
    build: transform.BuildResult


def run_pipeline(sandbox, root: Path, restaurant: str, days: list[date], *, pinned: bool) -> Built:
    """Serve the documents of `days` at `restaurant`, load those days into a warehouse of its
    own and build it, with the controller's pinned rows in a copy of the seeds when `pinned`.
    A warehouse per run: Toast's guids are unique across locations, and so are the warehouse's
    keys (a selection guid twice would be two sales)."""
    for day in days:
        for name, guid in DOCUMENTS[day]:
            serve_order(sandbox.url, restaurant, served_document(name, guid, day))
    with pytest.MonkeyPatch.context() as patch:
        for variable in list(os.environ):
            if variable.startswith(("SOURCES__", "CLOSEOUT_", "ERP__")):
                patch.delenv(variable)
        db = root / "warehouse.duckdb"
        patch.setenv("CLOSEOUT_DB", str(db))
        patch.chdir(root)
        patch.setenv("SOURCES__TOAST__BASE_URL", sandbox.url)
        patch.setenv("SOURCES__TOAST__CLIENT_ID", sandbox.client_id)
        patch.setenv("SOURCES__TOAST__CLIENT_SECRET", sandbox.client_secret)
        project = root / "dbt_project"
        shutil.copytree(
            transform.PROJECT_DIR,
            project,
            ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
        )
        patch.setattr(transform, "PROJECT_DIR", project)
        if pinned:
            pin_example_records(project / "seeds", restaurant)
        else:
            leave_sales_without_revenue_center_unmapped(project / "seeds")
        load = run_load(business_date_range=(min(days), max(days)), restaurant_guids=[restaurant])
        build = transform.run_build(quiet=True)
    return Built(db, restaurant, days, load, build)


def pin_example_records(seeds: Path, restaurant: str) -> None:
    """The controller's rows (`PINNED_ROWS`) for `restaurant`, added to the seed files."""
    for seed, rows in PINNED_ROWS.items():
        path = seeds / seed
        text = path.read_text()
        added = "".join(row.format(r=restaurant) + "\n" for row in rows)
        path.write_text(text + ("" if text.endswith("\n") else "\n") + added)


def leave_sales_without_revenue_center_unmapped(seeds: Path) -> None:
    """The shipped seeds as a controller who has not decided yet where sales without a revenue
    center go: the sample company's `*,(none),,…` row of revenue_center_dimensions.csv is
    deleted, as _seeds.yml offers ("delete the row to have such days held until you decide"),
    so the contract's "with no such row the journal is held as unmapped" is what is tested."""
    path = seeds / "revenue_center_dimensions.csv"
    rows = path.read_text().splitlines()
    kept = [row for row in rows if row.split(",")[1:2] != ["(none)"]]
    path.write_text("\n".join(kept) + "\n")


@pytest.fixture(scope="module")
def examples_sandbox(toast_sandbox):
    """The shared Toast sandbox, faults cleared and its clock held at the start."""
    toast_sandbox.control("reset")
    toast_sandbox.control("rate_limits", {"enabled": True})
    toast_sandbox.freeze(datetime.now(timezone.utc))
    yield toast_sandbox
    toast_sandbox.control("clock", {})


@pytest.fixture(scope="module")
def mapped(examples_sandbox, tmp_path_factory) -> Built:
    """The first location, its seeds pinning every record the examples name."""
    root = tmp_path_factory.mktemp("mapped")
    restaurant = examples_sandbox.restaurants[0]
    return run_pipeline(examples_sandbox, root, restaurant, WHOLE_DAYS, pinned=True)


@pytest.fixture(scope="module")
def unmapped(examples_sandbox, tmp_path_factory) -> Built:
    """The second location, on the shipped seeds (no "no revenue center" row)."""
    root = tmp_path_factory.mktemp("unmapped")
    restaurant = examples_sandbox.restaurants[1]
    return run_pipeline(examples_sandbox, root, restaurant, WHOLE_DAYS, pinned=False)


@pytest.fixture(scope="module")
def approval(examples_sandbox, tmp_path_factory) -> Built:
    """The abbreviated NEEDS_APPROVAL order alone, at the third location, seeds pinned."""
    root = tmp_path_factory.mktemp("approval")
    restaurant = examples_sandbox.restaurants[2]
    return run_pipeline(examples_sandbox, root, restaurant, [APPROVAL], pinned=True)


@pytest.fixture(params=["mapped", "unmapped"])
def either(request) -> Built:
    return request.getfixturevalue(request.param)


def query(built: Built, sql: str, params=()) -> list[dict[str, Any]]:
    """Rows of `sql` on the run's warehouse; a table the build did not make fails the test
    with the build's own errors (a structural test stops dbt before the marts)."""
    with duckdb.connect(str(built.db), read_only=True) as con:
        try:
            cursor = con.execute(sql, params)
        except duckdb.CatalogException as exc:
            missing = str(exc).splitlines()[0]
        else:
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    errors = [f"{p.name}: {p.message}" for p in built.build.errors]
    pytest.fail(f"{missing}; the build stopped before making it: {errors}")


def journal(built: Built, day: date) -> dict[str, Any]:
    found = query(
        built,
        "select * from finance.journals where restaurant_guid = ? and business_date = ? "
        "and journal_type = 'sales'",
        (built.restaurant, day),
    )
    assert len(found) == 1, f"no sales journal for {built.restaurant} on {day}"
    return found[0]


Line = tuple[str, str, str | None, Decimal, Decimal]  # kind, account, revenue center, Dr, Cr


def lines(built: Built, day: date) -> list[Line]:
    """The sales journal's lines (zero lines left out), in a stable order."""
    found = [
        (r["line_kind"], r["account_code"], r["revenue_center_dimension"], r["debit"], r["credit"])
        for r in query(
            built,
            "select * from finance.journal_lines where restaurant_guid = ? "
            "and business_date = ? and journal_type = 'sales'",
            (built.restaurant, day),
        )
        if r["debit"] or r["credit"]
    ]
    return sorted(found, key=lambda line: (line[0], line[1], line[2] or "", line[3], line[4]))


def net_by_kind(built: Built, day: date) -> dict[str, Decimal]:
    """Credit − debit per line kind (an over/short line, if any, is a kind of its own)."""
    net: dict[str, Decimal] = defaultdict(Decimal)
    for kind, _, _, debit, credit in lines(built, day):
        net[kind] += credit - debit
    return dict(net)


def summary(built: Built, day: date, columns) -> dict[str, Any]:
    found = query(
        built,
        f"select {', '.join(columns)} from finance.sales_summary "
        "where restaurant_guid = ? and business_date = ?",
        (built.restaurant, day),
    )
    assert len(found) == 1, f"no sales_summary row for {built.restaurant} on {day}"
    return found[0]


def credit(kind: str, account: str, amount: str, revenue_center: str | None = None) -> Line:
    return (kind, account, revenue_center, ZERO, D(amount))


def debit(kind: str, account: str, amount: str) -> Line:
    return (kind, account, None, D(amount), ZERO)


def reasons(journal_row: dict) -> list[str]:
    return list(journal_row["hold_reason_list"] or [])


def reason_naming(journal_row: dict, *words: str) -> str | None:
    """The first hold reason that names every one of `words`."""
    return next((r for r in reasons(journal_row) if all(w in r for w in words)), None)


# -- the documents and the load ----------------------------------------------------------------


def test_the_examples_hold_seven_order_documents_and_each_has_its_day():
    # A new example order appears here first: work its figures out by hand and give it a day.
    assert example_orders() == {
        "apiDevGuide-apiCreatingAnOrderWithPaymentInformation__1.json": [
            "71e46534-c837-4492-b4c1-0a841aea4ad5"
        ],
        "apiDevGuide-apiOrderTypeDetails__11.json": ["4f0dbb70-46e8-4e02-bd22-9444cf9dc96b"],
        "apiDevGuide-apiOrderTypeDetails__6.json": ["df8cd211-c5c9-4fe4-b56b-fa0db87eb80b"],
        "apiDevGuide-apiOrdersFirstOrder__8.json": ["89488287-f259-435b-a654-0bc391596af0"],
        "apiDevGuide-apiOrdersGetDetailedInfoAboutOneOrder__1.json": [
            "017fdd94-4a30-4657-9475-b1a684758531"
        ],
        "apiDevGuide-devOrdersWebhookRef__0.json": ["f6d98b95-2816-4f54-b1ab-7a5d71e83769"],
        "ordersBulk_example_response_first_order.json": ["5274c0f8-bf61-4e37-ad04-cf4ca1326822"],
    }
    placed = sorted((name, guid) for documents in DOCUMENTS.values() for name, guid in documents)
    assert placed == sorted(
        (name, guid) for name, guids in example_orders().items() for guid in guids
    )


@pytest.mark.parametrize("run", ["mapped", "unmapped", "approval"])
def test_every_document_is_loaded_whole_on_its_moved_business_date(request, run):
    built = request.getfixturevalue(run)
    assert built.load.ok
    loaded = {
        r["order_guid"]: r["business_date"]
        for r in query(
            built,
            "select order_guid, business_date from toast_raw.orders where restaurant_guid = ?",
            (built.restaurant,),
        )
    }
    assert loaded == {guid: day for day in built.days for _, guid in DOCUMENTS[day]}
    assert query(built, "select reason from toast_raw.rejects") == []


def test_the_build_passes_its_structural_tests(either):
    assert either.build.ok, [f"{p.name}: {p.message}" for p in either.build.errors]
    unbalanced = query(
        either,
        "select journal_id, total_debit, total_credit from finance.journals "
        "where total_debit <> total_credit",
    )
    assert unbalanced == []


# -- CARD: a card sale, and a webhook's order of two empty checks -------------------------------
#
# apiOrdersGetDetailedInfoAboutOneOrder__1, order 017fdd94…, check "2" (paymentStatus CLOSED):
#   selection   preDiscountPrice   discounts   salesCategory   revenueCenter   appliedTaxes
#   "test"      1 (JSON integer)   none        b6a5fa5c…       9ab6a5cf…       State Tax 0.06
#   check.taxAmount 0.06; payment CREDIT VISA, CAPTURED, amount 1.06, tipAmount 0 (integer),
#   paidBusinessDate = the day. deletedDate 1970-01-01 with deleted false: not deleted.
# devOrdersWebhookRef__0, order f6d98b95…: checks "1" and "2", OPEN, amount 0, no selections,
#   no payments: nothing to post, nothing owed (no open check with an amount due).
# Net sales 1.00 − 0 + 0 = 1.00; tax State 0.06 = Σ check.taxAmount 0.06 + 0 + 0; tips 0;
# tenders CREDIT 1.06 + 0 = 1.06. Credits 1.00 + 0.06 = debits 1.06: no over/short.


def test_card_day_posts_the_hand_computed_lines_and_is_ready(mapped):
    assert lines(mapped, CARD) == [
        credit("sales", "4010", "1.00", "DINING"),
        credit("tax", "2200", "0.06"),
        debit("tender", "1110", "1.06"),
    ]
    row = journal(mapped, CARD)
    assert (row["status"], reasons(row)) == ("ready", [])
    assert (row["open_check_count"], row["open_check_amount"]) == (0, ZERO)


# -- TAXES: two open checks, each 9.99 at 0.75 % and 6.25 % -------------------------------------
#
# apiOrderTypeDetails__6 (order df8cd211…, check "51") and __11 (order 4f0dbb70…, check "53"),
# each check OPEN, no payments, revenueCenter null:
#   selection        preDiscountPrice   salesCategory   appliedTaxes[].taxAmount       tax
#   "Egg Sandwich"   9.99               null            Local 0.075, State 0.625        0.7
#   check.amount 9.99, taxAmount 0.7, totalAmount 10.69 (each).
# Per rate over the day at full precision, then rounded once:
#   Local 0.075 + 0.075 = 0.150 -> 0.15;  State 0.625 + 0.625 = 1.250 -> 1.25;
#   0.15 + 1.25 = 1.40 = Σ check.taxAmount 0.7 + 0.7: no cent to spread, no not-itemised line.
#   (Rounding per item first gives 0.08 + 0.08 or 0.07 + 0.07 and 0.62/0.63 each: off by cents.)
# Net sales 9.99 + 9.99 = 19.98. Open: 10.69 + 10.69 = 21.38, still owed at close. The day is
# long past open_check_grace_days (default 2), so that is posted to unpaid checks receivable
# (1210) instead of holding the day. Credits 19.98 + 1.40 = debit 21.38.


def test_multi_rate_day_rounds_tax_once_per_rate_and_posts_open_checks_to_receivable(mapped):
    assert lines(mapped, TAXES) == [
        credit("sales", "4000", "19.98", "NORC"),
        credit("tax", "2200", "1.25"),
        credit("tax", "2210", "0.15"),
        debit("unpaid_checks", "1210", "21.38"),
    ]
    row = journal(mapped, TAXES)
    assert (row["open_check_count"], row["open_check_amount"]) == (2, D("21.38"))
    # ACCOUNTING.md, "When a day may be posted": after the grace period open checks no longer
    # hold the day.
    assert (row["status"], reasons(row)) == ("ready", [])


# -- OTHER: an alternate payment type ----------------------------------------------------------
#
# apiCreatingAnOrderWithPaymentInformation__1, order 71e46534…, check "381" (CLOSED),
# revenueCenter null:
#   selection      preDiscountPrice   salesCategory   appliedTaxes            check.taxAmount
#   "Crab Cakes"   8.99               null            State Tax 0.56          0.56
#   payment OTHER (alternate payment type 0dc19214…), CAPTURED, amount 9.55, tipAmount 0.
# Net sales 8.99; tax State 0.56; tenders OTHER 9.55 + 0 = 9.55 = 8.99 + 0.56.


def test_alternate_payment_day_posts_the_hand_computed_lines_and_is_ready(mapped):
    assert lines(mapped, OTHER) == [
        credit("sales", "4000", "8.99", "NORC"),
        credit("tax", "2200", "0.56"),
        debit("tender", "1120", "9.55"),
    ]
    row = journal(mapped, OTHER)
    assert (row["status"], reasons(row)) == ("ready", [])


# -- FUTURE: a scheduled order, still open -----------------------------------------------------
#
# ordersBulk_example_response_first_order, order 5274c0f8…, approvalStatus FUTURE, check
# "pdesjardins-api-1583176621" OPEN, no payments, revenueCenter null:
#   selection    preDiscountPrice   salesCategory   taxInclusion   appliedTaxes   tax
#   "Rejected"   111 (integer)      c0915e46…       INCLUDED       none           0
#   check.amount 111, taxAmount 0, totalAmount 111 (integers).
# Net sales 111.00 (nothing taxed inside it); tax 0. FUTURE is not unsettled (ACCOUNTING.md:
# only NEEDS_APPROVAL is); unpaid and past the grace period, its 111.00 is posted to unpaid
# checks receivable on its own business date.


def test_future_order_day_recognises_the_sale_on_its_day_against_unpaid_checks(mapped):
    assert lines(mapped, FUTURE) == [
        credit("sales", "4050", "111.00", "NORC"),
        debit("unpaid_checks", "1210", "111.00"),
    ]
    row = journal(mapped, FUTURE)
    assert (row["open_check_count"], row["open_check_amount"]) == (1, D("111.00"))
    assert (row["status"], reasons(row)) == ("ready", [])


# -- APPROVAL: an order still NEEDS_APPROVAL, as Toast's guide abbreviates it ------------------
#
# apiOrdersFirstOrder__8, order 89488287…, approvalStatus NEEDS_APPROVAL, check 6e1bb8e0…
# (no display number) OPEN: amount 25.0, taxAmount 2.19, totalAmount 27.19. The guide shows one
# of the check's two selections (apiOrdersFirstOrder__7, the price quote of the same order, has
# both: 12.0 + 13.0 = 25.0, tax 1.05 + 1.14 = 2.19), and that one without preDiscountPrice,
# salesCategory or appliedTaxes:
#   selection                  price   tax    preDiscountPrice
#   f520f731… (item 8a3e1737…)  12.0    1.05   (absent)
# The check does not tie to its lines: amount 25.0 ≠ Σ selection price 12.0. Issue 14 §5 makes
# that unnesting tie a structural error (assert_checks_tie_to_lines): the build stops and
# nothing of that warehouse posts until the order is fixed in Toast. That is why this document
# runs in a warehouse of its own: in the others it would stop every day's journal.
# Were the document whole, ACCOUNTING.md would hold its day as unsettled ("an order still
# NEEDS_APPROVAL at close"), naming the order and the status; the build's stop comes first, so
# that rule cannot be seen through this document.


def test_abbreviated_order_stops_the_build_on_the_unnesting_tie(approval):
    failed = [problem.name for problem in approval.build.errors]
    assert not approval.build.ok
    assert "assert_checks_tie_to_lines" in failed, failed


# -- The tie to Toast, per day, at both locations ----------------------------------------------
#
# Toast's figures do not depend on the mappings, nor do the journal's totals per kind: an
# unmapped line posts to its fallback account, for the same amount.

TIE = {
    CARD: {
        "order_count": 2,  # the card sale and the webhook's order (two counted checks)
        "check_count": 3,
        "item_count": 1,
        "payment_count": 1,
        "toast_gross_sales": D("1.00"),
        "toast_discounts": ZERO,
        "toast_service_charges": ZERO,
        "toast_net_sales": D("1.00"),
        "toast_gratuity": ZERO,
        "toast_tax": D("0.06"),
        "toast_tips": ZERO,
        "toast_tenders": D("1.06"),
        "toast_tenders_credit": D("1.06"),
        "toast_tenders_other": ZERO,
    },
    TAXES: {
        "order_count": 2,
        "check_count": 2,
        "open_check_count": 2,
        "item_count": 2,
        "payment_count": 0,
        "toast_gross_sales": D("19.98"),
        "toast_discounts": ZERO,
        "toast_service_charges": ZERO,
        "toast_net_sales": D("19.98"),
        "toast_gratuity": ZERO,
        "toast_tax": D("1.40"),
        "toast_tips": ZERO,
        "toast_tenders": ZERO,
    },
    OTHER: {
        "order_count": 1,
        "check_count": 1,
        "item_count": 1,
        "payment_count": 1,
        "toast_gross_sales": D("8.99"),
        "toast_discounts": ZERO,
        "toast_service_charges": ZERO,
        "toast_net_sales": D("8.99"),
        "toast_gratuity": ZERO,
        "toast_tax": D("0.56"),
        "toast_tips": ZERO,
        "toast_tenders": D("9.55"),
        "toast_tenders_credit": ZERO,
        "toast_tenders_other": D("9.55"),
    },
    FUTURE: {
        "order_count": 1,
        "check_count": 1,
        "open_check_count": 1,
        "item_count": 1,
        "payment_count": 0,
        "toast_gross_sales": D("111.00"),
        "toast_discounts": ZERO,
        "toast_service_charges": ZERO,
        "toast_net_sales": D("111.00"),
        "toast_gratuity": ZERO,
        "toast_tax": ZERO,
        "toast_tips": ZERO,
        "toast_tenders": ZERO,
    },
}

# The journal's side of the tie: credit − debit per line kind, as worked out above.
JOURNAL_BY_KIND = {
    CARD: {"sales": D("1.00"), "tax": D("0.06"), "tender": D("-1.06")},
    TAXES: {"sales": D("19.98"), "tax": D("1.40"), "unpaid_checks": D("-21.38")},
    OTHER: {"sales": D("8.99"), "tax": D("0.56"), "tender": D("-9.55")},
    FUTURE: {"sales": D("111.00"), "unpaid_checks": D("-111.00")},
}


@pytest.mark.parametrize("day", list(TIE), ids=["card", "taxes", "other", "future"])
def test_toast_figures_of_each_day_are_the_hand_computed_ones(either, day):
    expected = TIE[day]
    assert summary(either, day, expected) == expected


@pytest.mark.parametrize("day", list(JOURNAL_BY_KIND), ids=["card", "taxes", "other", "future"])
def test_journal_totals_per_kind_are_the_hand_computed_ones_and_tie(either, day):
    assert net_by_kind(either, day) == JOURNAL_BY_KIND[day]
    differences = [
        "gross_sales_difference",
        "discounts_difference",
        "net_sales_difference",
        "tax_difference",
        "tips_difference",
        "gratuity_difference",
        "service_charges_difference",
        "tenders_difference",
        "tenders_credit_difference",
        "tenders_other_difference",
    ]
    assert summary(either, day, differences) == dict.fromkeys(differences, ZERO)


# -- The unmapped location: held, naming the rows to add ---------------------------------------
#
# On the shipped seeds (without a "no revenue center" row: see
# leave_sales_without_revenue_center_unmapped) nothing of the examples is mapped except CREDIT
# cards (`*,CREDIT,*,*`).
# Each day is held with a reason naming the seed file and the record (by guid where Toast's
# configuration gives no name, by the applied tax's name for tax rates); a sale without a
# revenue center is never posted with a silently empty dimension.

MISSING = {
    CARD: [
        ("sales_category_accounts.csv", CATEGORY_B6A5),
        ("revenue_center_dimensions.csv", REVENUE_CENTER_9AB6),
        ("tax_rate_accounts.csv", "State Tax"),
    ],
    TAXES: [
        ("sales_category_accounts.csv", "(none)"),
        ("revenue_center_dimensions.csv",),  # the "no revenue center" row
        ("tax_rate_accounts.csv", "State Tax"),
        ("tax_rate_accounts.csv", "Local Tax"),
    ],
    OTHER: [
        ("sales_category_accounts.csv", "(none)"),
        ("revenue_center_dimensions.csv",),
        ("tax_rate_accounts.csv", "State Tax"),
        ("payment_type_accounts.csv", ALTERNATE_PAYMENT_0DC1),
    ],
    FUTURE: [
        ("sales_category_accounts.csv", CATEGORY_C091),
        ("revenue_center_dimensions.csv",),
    ],
}


@pytest.mark.parametrize("day", list(MISSING), ids=["card", "taxes", "other", "future"])
def test_unmapped_location_day_is_held_naming_each_row_to_add(unmapped, day):
    row = journal(unmapped, day)
    assert row["status"] == "held"
    unnamed = [words for words in MISSING[day] if not reason_naming(row, "unmapped", *words)]
    assert unnamed == [], reasons(row)
    # `closeout mappings` offers the same rows (finance.unmapped_sources).
    offered = [
        " ".join(str(value) for value in source.values())
        for source in query(
            unmapped,
            "select seed_file, source_guid, source_name, suggested_row, reason "
            "from finance.unmapped_sources where restaurant_guid = ?",
            (unmapped.restaurant,),
        )
    ]
    not_offered = [w for w in MISSING[day] if not any(all(x in o for x in w) for o in offered)]
    assert not_offered == [], offered
    silently_empty = query(
        unmapped,
        "select description from finance.journal_lines where restaurant_guid = ? "
        "and business_date = ? and line_kind = 'sales' "
        "and revenue_center_dimension is null and is_mapped",
        (unmapped.restaurant, day),
    )
    assert silently_empty == []


def test_mapped_location_has_nothing_left_to_map(mapped):
    unmapped_lines = query(
        mapped,
        "select business_date, unmapped_reason from finance.journal_lines "
        "where restaurant_guid = ? and not is_mapped",
        (mapped.restaurant,),
    )
    assert unmapped_lines == []
