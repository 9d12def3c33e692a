"""IntacctConnector.check (`closeout check`) against the Intacct sandbox over real HTTP: the
references the seeds map to, and the connector's own journal, asked about in a few read-only
queries."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

from posting.connectors.contract import Reference, ReferenceProblem
from posting.connectors.intacct import IntacctConnector, IntacctSettings
from posting.http import ErpHttp, Exchange
from sandboxes.intacct.server import IntacctSandbox
from tests.kit import serving
from tests.test_intacct_sandbox import Gateway

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
COMPANY = "HARBOR-VINE"

running = serving(IntacctSandbox, name="running", client=Gateway)


@pytest.fixture
def gateway(running: Gateway, monkeypatch) -> Gateway:
    monkeypatch.delenv("CLOSEOUT_SECRET_KEY", raising=False)  # a fresh login per connector
    return running.reset()


@pytest.fixture
def check(gateway: Gateway):
    """check(references, **settings): the problems a fresh connector finds."""
    opened: list[IntacctConnector] = []

    def run(references, **changes) -> list[ReferenceProblem]:
        settings = IntacctSettings(
            sender_id="closeout-sandbox",
            sender_password="sandbox-sender-password",
            company_id=COMPANY,
            user_id="closeout_xml",
            user_password="sandbox-user-password",
            endpoint_url=gateway.endpoint,
        )
        http = ErpHttp("intacct", sleep=lambda _: None)
        connector = IntacctConnector(dataclasses.replace(settings, **changes), http, store=None)
        opened.append(connector)
        return connector.check(references)

    yield run
    for connector in opened:
        connector.close()


def seed_references() -> list[Reference]:
    """What the repository's seeds name, as `closeout check` gives them: every account of the
    chart, each location's company, division and location value, every revenue center."""
    references = []
    with (SEEDS / "locations.csv").open(newline="") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            place = (row["erp_company"], row["erp_division"])
            used_by = f"locations.csv row {row_number}"
            references += [
                Reference("company", row["erp_company"], *place, used_by),
                Reference("division", row["erp_division"], *place, used_by),
                Reference("location", row["location_dimension"], *place, used_by),
            ]
    for name, column, kind in (
        ("chart_of_accounts.csv", "account_code", "account"),
        ("revenue_center_dimensions.csv", "dimension_value", "revenue_center"),
    ):
        with (SEEDS / name).open(newline="") as handle:
            for row_number, row in enumerate(csv.DictReader(handle), start=2):
                references.append(
                    Reference(kind, row[column], "HV-NY", "BKN", f"{name} row {row_number}")
                )
    return references


def account(value: str, used_by: str = "sales_category_accounts.csv row 3") -> Reference:
    return Reference("account", value, "HV-NY", "BKN", used_by)


def functions_seen(gateway: Gateway) -> list[tuple]:
    """(uniqueid, function, object) of every function the sandbox was sent, per request."""
    return [
        [(r["uniqueid"], f["function"], f["object"]) for f in r["functions"]]
        for r in gateway.control("requests")
    ]


def test_the_seeds_of_a_correctly_configured_demo_have_no_problem(check, gateway: Gateway):
    references = seed_references()
    assert {r.kind for r in references} == {
        "company",
        "division",
        "location",
        "account",
        "revenue_center",
    }
    assert check(references) == []
    # One login, then one request: a query per kind Intacct knows, nothing created.
    assert functions_seen(gateway) == [
        [(False, "getAPISession", None)],
        [
            (False, "query", "GLJOURNAL"),
            (False, "query", "LOCATION"),
            (False, "query", "GLACCOUNT"),
            (False, "query", "DEPARTMENT"),
        ],
    ]
    assert gateway.control("batches") == []


def test_a_missing_and_an_inactive_account_name_the_seed_row(check, gateway: Gateway):
    gateway.control("configure", {"companies": {COMPANY: {"inactive": {"accounts": ["4000"]}}}})
    problems = check(
        [account("1010"), account("4999"), account("4000", "chart_of_accounts.csv row 12")]
    )
    assert problems == [
        ReferenceProblem(
            account("4999"),
            "GL account 4999 does not exist",
            "create GL account 4999 in Intacct or correct sales_category_accounts.csv row 3",
        ),
        ReferenceProblem(
            account("4000", "chart_of_accounts.csv row 12"),
            "GL account 4000 is inactive",
            "activate GL account 4000 in Intacct or correct chart_of_accounts.csv row 12",
        ),
    ]


def test_unknown_dimension_values_name_the_setting_that_sends_them(check, gateway: Gateway):
    gateway.control("configure", {"companies": {COMPANY: {"inactive": {"departments": ["BAR"]}}}})
    nowhere = Reference("location", "NOWHERE", "HV-NY", "BKN", "locations.csv row 2")
    bar = Reference("revenue_center", "BAR", "HV-NY", "BKN", "revenue_center_dimensions.csv row 3")
    spa = Reference("revenue_center", "SPA", "HV-NY", "BKN", "revenue_center_dimensions.csv row 7")
    problems = check([nowhere, bar, spa])
    assert [(p.reference, p.problem) for p in problems] == [
        (nowhere, "location NOWHERE does not exist"),
        (bar, "department BAR is inactive"),
        (spa, "department SPA does not exist"),
    ]
    assert problems[0].fix == (
        "create location NOWHERE in Intacct or correct locations.csv row 2 (or "
        "ERP__INTACCT__LOCATION_FIELD, which sends it to Intacct)"
    )
    assert "ERP__INTACCT__REVENUE_CENTER_FIELD" in problems[2].fix

    # The same values sent to a user dimension are looked up in its own object, by id.
    problems = check([bar, spa], revenue_center_field="GLDIMREVENUE_CENTER")
    assert [(p.reference, p.problem) for p in problems] == [
        (spa, "REVENUE_CENTER dimension value SPA does not exist")
    ]
    assert [f["object"] for f in gateway.control("requests")[-1]["functions"]] == [
        "GLJOURNAL",
        "REVENUE_CENTER",
    ]


def test_a_wrong_or_inactive_journal_symbol_is_a_problem_of_the_settings(check, gateway):
    [problem] = check([account("1010")], journal="ZZ")
    assert problem == ReferenceProblem(
        None,
        "GL journal ZZ does not exist in Intacct company HARBOR-VINE",
        "create journal ZZ in Intacct, or set ERP__INTACCT__JOURNAL to the symbol of an active "
        "GL journal",
    )
    gateway.control("configure", {"companies": {COMPANY: {"inactive": {"journals": ["SJ"]}}}})
    [problem] = check([account("1010")])
    assert (problem.reference, problem.problem) == (
        None,
        "GL journal SJ is inactive in Intacct company HARBOR-VINE",
    )


def test_companies_are_checked_only_when_a_field_carries_them(check, gateway: Gateway):
    known = Reference("company", "HV-NY", "HV-NY", "BKN", "locations.csv row 2")
    unknown = Reference("company", "HV-XX", "HV-XX", "XXX", "locations.csv row 8")
    division = Reference("division", "XXX", "HV-XX", "XXX", "locations.csv row 8")
    customer = Reference("customer", "C-1", "HV-XX", "XXX", "settings")
    assert check([known, unknown, division, customer]) == []  # nothing sends them to Intacct

    problems = check([known, unknown, division], company_field="GLDIMERP_COMPANY")
    assert [(p.reference, p.problem) for p in problems] == [
        (unknown, "ERP_COMPANY dimension value HV-XX does not exist")
    ]

    # A user dimension Intacct does not have: one problem for the setting, none per company.
    [problem] = check([known, unknown], company_field="GLDIMNO_SUCH")
    assert problem.reference is None
    assert "Object definition NO_SUCH not found" in problem.problem
    assert problem.fix.startswith("correct ERP__INTACCT__COMPANY_FIELD")


def test_many_references_take_one_query_per_hundred_values_in_one_request(check, gateway):
    accounts = [account(str(n), f"chart_of_accounts.csv row {n}") for n in range(5000, 5250)]
    problems = check(accounts + accounts[:10])  # the same row twice is asked about once
    assert len(problems) == 260
    assert {p.problem for p in problems[:2]} == {
        "GL account 5000 does not exist",
        "GL account 5001 does not exist",
    }
    [login, request] = functions_seen(gateway)
    assert request == [(False, "query", "GLJOURNAL")] + [(False, "query", "GLACCOUNT")] * 3
    assert gateway.stats()["requests"] == 2


def test_a_kind_whose_later_query_fails_is_reported_not_skipped(gateway: Gateway):
    """Eleven queries go in two requests; the user dimension disappears between them (someone
    removes it in Intacct mid-check), so the kind's first queries answer and its last fails.
    Its values cannot all be checked: that is a problem, not silence."""
    companies = [f"HV-{n:04d}" for n in range(950)]  # ten queries of a hundred values
    dimensions = {"GLDIMREVENUE_CENTER": ["BAR", "DINING"], "GLDIMERP_COMPANY": companies}
    gateway.control("configure", {"companies": {COMPANY: {"dimensions": dimensions}}})
    remaining = {"GLDIMREVENUE_CENTER": ["BAR", "DINING"]}

    def after_each(exchange: Exchange) -> None:
        if "<query>" in exchange.request_body and "<query>" not in seen:
            seen.append("<query>")  # the first request of queries has been answered
            gateway.control("configure", {"companies": {COMPANY: {"dimensions": remaining}}})

    seen: list[str] = []
    http = ErpHttp("intacct", sink=after_each, sleep=lambda _: None)
    connector = IntacctConnector(
        IntacctSettings(
            sender_id="closeout-sandbox",
            sender_password="sandbox-sender-password",
            company_id=COMPANY,
            user_id="closeout_xml",
            user_password="sandbox-user-password",
            endpoint_url=gateway.endpoint,
            company_field="GLDIMERP_COMPANY",
        ),
        http,
        store=None,
    )
    references = [
        Reference("company", c, c, "BKN", f"locations.csv row {n}")
        for n, c in enumerate(companies, start=2)
    ]
    try:
        problems = connector.check(references)
    finally:
        connector.close()

    [login, first, second] = functions_seen(gateway)
    assert first == [(False, "query", "GLJOURNAL")] + [(False, "query", "ERP_COMPANY")] * 9
    assert second == [(False, "query", "ERP_COMPANY")]
    [problem] = problems
    assert problem.reference is None
    assert problem.problem.startswith("Intacct could not list ERP_COMPANY")
    assert "ERP_COMPANY not found" in problem.problem
    assert problem.fix.startswith("correct ERP__INTACCT__COMPANY_FIELD")
