"""`closeout check` for Exact Online: ExactConnector.check against the Exact sandbox over real
HTTP. The shipped seeds' references give no problem; a missing or blocked G/L account, a missing
or inactive cost center, a missing cost unit, a wrong or non-general journal and an unreachable
division each give theirs, naming the seed row or setting to fix; the requests are few, bounded
and read-only."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import pytest
from cryptography.fernet import Fernet

from posting.connectors.contract import Reference
from posting.connectors.exact import CODES_PER_QUERY, ExactConnector, ExactSettings
from sandboxes.exact.server import ExactSandbox
from sandboxes.seeds import SEEDS_DIR, rows
from tests.kit import SandboxClient, serving
from tests.kit.connectors import Recorded

server = serving(ExactSandbox)


def seed_references() -> list[Reference]:
    """What the shipped seeds name, as `closeout check` hands them over: every chart account,
    every location's dimension (in its company and division) and every revenue center value."""
    locations = rows(SEEDS_DIR / "locations.csv")
    first = locations[0]
    references = [
        Reference(
            "account",
            row["account_code"],
            first["erp_company"],
            None,
            f"chart_of_accounts.csv row {n}",
        )
        for n, row in enumerate(rows(SEEDS_DIR / "chart_of_accounts.csv"), start=1)
    ]
    for n, row in enumerate(locations, start=1):
        company, division = row["erp_company"], row["erp_division"] or None
        used_by = f"locations.csv row {n}"
        references += [
            Reference("company", company, company, None, used_by),
            Reference("division", division or "", company, division, used_by),
            Reference("location", row["location_dimension"], company, division, used_by),
        ]
    references += [
        Reference(
            "revenue_center",
            row["dimension_value"],
            first["erp_company"],
            None,
            f"revenue_center_dimensions.csv row {n}",
        )
        for n, row in enumerate(rows(SEEDS_DIR / "revenue_center_dimensions.csv"), start=1)
    ]
    return references


@pytest.fixture
def exact(server, monkeypatch) -> SandboxClient:
    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    return SandboxClient(server.url, server.app).reset()


@pytest.fixture
def settings(exact: SandboxClient, tmp_path) -> ExactSettings:
    config = exact.app.config
    return ExactSettings(
        client_id=config.client_id,
        client_secret=config.client_secret,
        redirect_uri=config.redirect_uri,
        base_url=exact.url,
        token_dir=str(tmp_path / "tokens"),
        initial_refresh_token=exact.app.initial_refresh_token,
    )


def check(settings: ExactSettings, references: list[Reference]):
    recorded = Recorded("exact")
    connector = ExactConnector(settings, recorded.http)
    try:
        return connector.check(references)
    finally:
        connector.close()


def api_requests(exact: SandboxClient) -> Counter:
    return Counter(exact.stats()["requests"])


def reference(kind: str, value: str) -> Reference:
    return next(r for r in seed_references() if r.kind == kind and r.value == value)


def test_the_shipped_seeds_have_no_problem_in_a_few_read_only_requests(exact, settings):
    references = seed_references()
    assert check(settings, references) == []
    seen = api_requests(exact)
    assert all(key.startswith("GET ") for key in seen), seen
    accounts = {r.value for r in references if r.kind == "account"}
    centers = {r.value for r in references if r.kind == "location"}
    units = {r.value for r in references if r.kind == "revenue_center"}
    assert seen == {
        "GET /api/v1/current/Me": 1,
        "GET /api/v1/{division}/system/Divisions": 1,
        "GET /api/v1/{division}/financial/Journals": 1,
        "GET /api/v1/{division}/financial/GLAccounts": math.ceil(len(accounts) / CODES_PER_QUERY),
        "GET /api/v1/{division}/hrm/Costcenters": math.ceil(len(centers) / CODES_PER_QUERY),
        "GET /api/v1/{division}/hrm/Costunits": math.ceil(len(units) / CODES_PER_QUERY),
    }
    assert exact.control("entries") == []


@pytest.mark.parametrize(
    "change, kind, value, problem, fix",
    [
        (
            lambda config: {"accounts": [c for c in config.accounts if c != "4000"]},
            "account",
            "4000",
            "G/L account 4000 does not exist in division 100001",
            "create G/L account 4000 in Exact Online or correct chart_of_accounts.csv row ",
        ),
        (
            lambda config: {"blocked_accounts": ["2200"]},
            "account",
            "2200",
            "G/L account 2200 is blocked in division 100001",
            "unblock G/L account 2200 in Exact Online or correct chart_of_accounts.csv row ",
        ),
        (
            lambda config: {"cost_centers": [c for c in config.cost_centers if c != "WLP"]},
            "location",
            "WLP",
            "cost center WLP does not exist in division 100001",
            "create cost center WLP in Exact Online or correct locations.csv row 2 (the "
            "location is sent as cost center: ERP__EXACT__COST_CENTER_FIELD=location)",
        ),
        (
            lambda config: {"inactive_cost_centers": ["SLK"]},
            "location",
            "SLK",
            "cost center SLK is inactive in division 100001",
            "activate cost center SLK in Exact Online or correct locations.csv row 3",
        ),
        (
            lambda config: {"cost_units": [u for u in config.cost_units if u != "PATIO"]},
            "revenue_center",
            "PATIO",
            "cost unit PATIO does not exist in division 100001",
            "create cost unit PATIO in Exact Online or correct revenue_center_dimensions.csv row 3",
        ),
    ],
)
def test_each_wrong_reference_is_one_problem_naming_the_seed_row(
    exact, settings, change, kind, value, problem, fix
):
    exact.control("configure", change(exact.app.config))
    [found] = check(settings, seed_references())
    assert found.reference == reference(kind, value)
    assert found.problem == problem and found.fix.startswith(fix), found


def test_an_unknown_journal_code_is_a_problem_of_the_setting(exact, settings):
    [found] = check(replace(settings, journal_code="91"), seed_references())
    assert found.reference is None
    assert found.problem == "journal 91 does not exist in division 100001"
    assert "ERP__EXACT__JOURNAL_CODE" in found.fix


def test_a_journal_that_is_not_a_general_journal_is_a_problem(exact, settings):
    exact.control("configure", {"journals": {"90": "Memorial", "70": "Sales"}})
    exact.control("configure", {"journal_types": {"70": 20}})
    [found] = check(replace(settings, journal_code="70"), seed_references())
    assert found.reference is None
    assert found.problem == "journal 70 (Sales) is not a general journal (type 20)"
    assert found.fix == "set ERP__EXACT__JOURNAL_CODE to a general (memorial) journal's code"


def test_a_division_out_of_reach_is_the_only_problem_and_nothing_more_is_asked(exact, settings):
    [found] = check(replace(settings, division=200002), seed_references())
    assert found.reference is None
    assert found.problem == "division 200002 is not one the connected user can reach"
    assert "ERP__EXACT__DIVISION" in found.fix and "100001" in found.fix
    assert api_requests(exact) == {
        "GET /api/v1/current/Me": 1,
        "GET /api/v1/{division}/system/Divisions": 1,
    }


def test_without_cost_fields_no_cost_center_or_unit_is_asked(exact, settings):
    exact.control("configure", {"cost_centers": [], "cost_units": []})
    quiet = replace(settings, cost_center_field="", cost_unit_field="")
    assert check(quiet, seed_references()) == []
    assert not any("hrm/" in key for key in api_requests(exact))


def test_a_revenue_center_sent_as_cost_center_is_checked_there(exact, settings):
    exact.control("configure", {"cost_centers": ["DINING", "BAR", "PATIO", "NORC"]})
    swapped = replace(settings, cost_center_field="revenue_center", cost_unit_field="")
    [found] = check(swapped, seed_references())
    assert found.reference == reference("revenue_center", "OFFPREM")
    assert found.problem == "cost center OFFPREM does not exist in division 100001"
