# ruff: noqa: F811 (the fixtures come from test_d365_connector)
"""`closeout check` against the D365 sandbox over real HTTP: the connector asks F&O's reference
entities whether every legal entity, main account, dimension value and its journal name exists
and is open, in a few read-only queries, and names what to change when one is not."""

from __future__ import annotations

import csv
import math
import socket
import ssl
from dataclasses import replace
from decimal import Decimal

import pytest

from closeout.errors import ErpAuthError, ErpRefusal, ErpUnavailable
from posting.check import erp_check
from posting.connectors.contract import Line, Reference
from posting.connectors.d365 import KEYS_PER_QUERY, D365Settings
from sandboxes.seeds import SEEDS_DIR
from tests.test_d365_connector import (  # noqa: F401 (fixtures)
    Run,
    Sandbox,
    d365,
    journal,
    run,
    server,
    settings,
)

D = Decimal


def seed_references() -> list[Reference]:
    """What the seeds map to, per location's company, as `closeout check` gives them."""
    locations = _rows("locations.csv")
    companies = {row["restaurant_guid"]: row["erp_company"] for row in locations}
    references = []
    for number, row in enumerate(locations, start=1):
        used_by = f"locations.csv row {number}"
        company = row["erp_company"]
        references.append(Reference("company", company, company, row["erp_division"], used_by))
        references.append(Reference("division", row["erp_division"], company, None, used_by))
        references.append(Reference("location", row["location_dimension"], company, None, used_by))
    for file, column, kind in (
        ("revenue_center_dimensions.csv", "dimension_value", "revenue_center"),
        ("sales_category_accounts.csv", "revenue_account", "account"),
        ("payment_type_accounts.csv", "account_code", "account"),
        ("tax_rate_accounts.csv", "tax_payable_account", "account"),
    ):
        for number, row in enumerate(_rows(file), start=1):
            if not row[column]:
                continue
            places = (
                sorted(set(companies.values()))
                if row["restaurant_guid"] == "*"
                else [companies[row["restaurant_guid"]]]
            )
            for company in places:
                references.append(
                    Reference(kind, row[column], company, None, f"{file} row {number}")
                )
    return references


def _rows(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def distinct(references, kind) -> int:
    return len({r.value.lower() for r in references if r.kind == kind})


def queries_for(references) -> dict[str, int]:
    """The requests a check of `references` may make: one filtered query per kind, a chunk of
    values each."""
    chunks = lambda n: math.ceil(n / KEYS_PER_QUERY)  # noqa: E731
    accounts = chunks(distinct(references, "account"))
    return {
        "GET /data/LegalEntities": chunks(len({r.company.lower() for r in references})),
        "GET /data/JournalNames": 1,
        "GET /data/Ledgers": 1,
        "GET /data/MainAccounts": accounts,
        "GET /data/MainAccountLegalEntities": accounts,
        "GET /data/FinancialDimensionValues": chunks(
            len({r.value.lower() for r in references if r.kind in ("location", "revenue_center")})
        ),
    }


def test_the_seeds_check_clean_in_few_read_only_queries(d365: Sandbox, run: Run):
    references = seed_references()

    problems = run.connector.check(references)

    stats = d365.stats()
    assert problems == []
    assert stats["requests"] == queries_for(references)
    assert sum(stats["requests"].values()) < len(references) / 5
    assert stats["token_requests"] == 1 and d365.control("journals") == []


def test_a_main_account_missing_from_the_chart_names_the_seed_row(d365: Sandbox, run: Run):
    references = [
        *seed_references(),
        Reference("account", "4990", "HV-NY", None, "sales_category_accounts.csv row 3"),
    ]

    problems = run.connector.check(references)

    assert [(p.reference.value, p.problem) for p in problems] == [
        ("4990", "main account 4990 does not exist in chart of accounts Shared")
    ]
    assert "create main account 4990" in problems[0].fix
    assert "sales_category_accounts.csv row 3" in problems[0].fix


def test_an_account_left_out_of_one_companys_chart_is_missing_only_there(d365: Sandbox, run: Run):
    config = d365.control("config")
    d365.control(
        "configure", {"company_charts": {"HV-IL": [a for a in config["chart"] if a != "1010"]}}
    )
    references = seed_references()

    problems = run.connector.check(references)

    expected = [r for r in references if r.kind == "account" and r.value == "1010"]
    expected = [r for r in expected if r.company == "HV-IL"]
    assert [p.reference for p in problems] == expected and expected
    assert problems[0].problem == "main account 1010 does not exist in chart of accounts HV-IL-COA"


def test_suspended_main_accounts_everywhere_and_in_one_legal_entity(d365: Sandbox, run: Run):
    d365.control(
        "configure",
        {"suspended_accounts": ["4000"], "company_suspended_accounts": {"HV-CA": ["1010"]}},
    )
    references = seed_references()

    problems = run.connector.check(references)

    found = {(p.reference.value, p.reference.company, p.problem) for p in problems}
    everywhere = {(r.value, r.company) for r in references if r.value == "4000"}
    assert found == {
        *(("4000", company, "main account 4000 is suspended") for _, company in everywhere),
        ("1010", "HV-CA", "main account 1010 is suspended in legal entity HV-CA"),
    }
    assert all(p.reference.used_by in p.fix for p in problems)


def test_unknown_and_suspended_dimension_values(d365: Sandbox, run: Run):
    d365.control("configure", {"suspended_dimension_values": {"RevenueCenter": ["BAR"]}})
    references = [
        Reference("location", "NOPE", "HV-NY", None, "locations.csv row 9"),
        Reference("location", "BKN", "HV-NY", None, "locations.csv row 1"),
        Reference("revenue_center", "BAR", "HV-NY", None, "revenue_center_dimensions.csv row 2"),
        Reference("revenue_center", "DINING", "HV-NY", None, "revenue_center_dimensions.csv row 1"),
    ]

    problems = run.connector.check(references)

    assert [(p.reference.value, p.problem) for p in problems] == [
        ("NOPE", "NOPE is not a value of financial dimension Location"),
        ("BAR", "value BAR of financial dimension RevenueCenter is suspended"),
    ]
    assert "locations.csv row 9" in problems[0].fix
    assert d365.stats()["requests"]["GET /data/FinancialDimensionValues"] == 1


def test_dimension_values_are_asked_of_the_dimensions_the_settings_name(
    d365: Sandbox, settings, monkeypatch
):
    d365.control("configure", {"dimension_values": {"Site": ["BKN"], "RevenueCenter": ["BAR"]}})
    renamed = replace(
        settings,
        dimension_format=("MainAccount", "Site", "RevenueCenter"),
        location_dimension="Site",
    )
    connector = Run(renamed).connector

    problems = connector.check(
        [
            Reference("location", "BKN", "HV-NY", None, "locations.csv row 1"),
            Reference("location", "WLP", "HV-IL", None, "locations.csv row 2"),
        ]
    )

    assert [p.problem for p in problems] == ["WLP is not a value of financial dimension Site"]


def test_a_wrong_journal_name_is_a_problem_of_the_settings_in_every_legal_entity(
    d365: Sandbox, settings
):
    d365.control("configure", {"company_journal_names": {"HV-CA": {"Other": "Other journal"}}})
    references = seed_references()

    everywhere = Run(replace(settings, journal_name="GenJrnX")).connector.check(references)
    one_place = Run(settings).connector.check(references)

    companies = sorted({r.company for r in references})
    assert sorted(p.problem for p in everywhere) == [
        f"journal name GenJrnX does not exist in legal entity {c}" for c in companies
    ]
    assert all(p.reference is None and "ERP__D365__JOURNAL_NAME" in p.fix for p in everywhere)
    assert [p.problem for p in one_place] == [
        "journal name GenJrn does not exist in legal entity HV-CA"
    ]


def test_an_unknown_legal_entity_is_named_once_and_its_references_left_unasked(
    d365: Sandbox, run: Run
):
    references = [
        Reference("company", "HV-TX", "HV-TX", "AUS", "locations.csv row 7"),
        Reference("account", "4000", "HV-TX", None, "sales_category_accounts.csv row 1"),
        Reference("location", "AUS", "HV-TX", "AUS", "locations.csv row 7"),
        Reference("customer", "C-1", "HV-TX", None, "settings"),
    ]

    problems = run.connector.check(references)

    assert [(p.reference.kind, p.problem) for p in problems] == [
        ("company", "legal entity HV-TX does not exist in F&O")
    ]
    assert "locations.csv row 7" in problems[0].fix
    assert d365.stats()["requests"] == {"GET /data/LegalEntities": 1}


def test_kinds_d365_has_no_use_for_are_ignored(d365: Sandbox, run: Run):
    problems = run.connector.check(
        [
            Reference("division", "NOPE", "HV-NY", None, "locations.csv row 1"),
            Reference("customer", "NOPE", "HV-NY", None, "settings"),
        ]
    )

    # Nothing to look up: only the one read that proves the credentials and the address.
    assert problems == [] and d365.stats()["requests"] == {"GET /data/LegalEntities": 1}


def test_what_check_calls_suspended_the_sandbox_refuses_to_post(d365: Sandbox, run: Run):
    d365.control("configure", {"suspended_accounts": ["4020"]})
    liquor = Line(1, "4020", D("0"), D("10.00"), "Liquor", "BKN", "BAR")
    cash = Line(2, "1010", D("10.00"), D("0"), "Cash", "BKN", None)

    with pytest.raises(ErpRefusal, match="Main account '4020' is suspended"):
        run.connector.create(replace(journal(), lines=(liquor, cash)))


@pytest.mark.parametrize("references", [[], "seeds"], ids=["nothing", "seeds"])
def test_a_wrong_secret_is_reported_even_with_nothing_to_look_up(
    d365: Sandbox, settings: D365Settings, references
):
    """No seeds yet, or every location inactive: `closeout check` must not say all fits when
    F&O would refuse the secret."""
    references = seed_references() if references == "seeds" else references
    wrong = Run(replace(settings, client_secret="not-the-secret"))
    try:
        with pytest.raises(ErpAuthError, match="AADSTS7000215"):
            wrong.connector.check(references)
    finally:
        wrong.connector.close()
    assert d365.stats()["token_requests"] == 1


def test_with_nothing_to_look_up_check_reads_once_and_finds_nothing_wrong(d365: Sandbox, run: Run):
    assert run.connector.check([]) == []

    stats = d365.stats()
    assert stats["token_requests"] == 1 and stats["requests"] == {"GET /data/LegalEntities": 1}


def test_an_unreachable_login_host_is_reported_with_nothing_to_look_up(
    d365: Sandbox, settings: D365Settings
):
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        address = f"https://127.0.0.1:{unused.getsockname()[1]}/tenant/oauth2/v2.0/token"
    gone = Run(replace(settings, token_url=address))
    try:
        with pytest.raises(ErpUnavailable, match="ConnectError"):
            gone.connector.check([])
    finally:
        gone.connector.close()


@pytest.mark.parametrize("bundle", ["empty", "der"])
def test_a_ca_bundle_that_is_not_pem_is_one_problem_naming_the_file_and_the_setting(
    d365: Sandbox, settings: D365Settings, monkeypatch, tmp_path, bundle
):
    """What `closeout check` reports (posting.check.erp_check): no ssl.SSLError traceback."""
    path = tmp_path / "proxy-ca.cer"
    if bundle == "der":  # the right authority, exported as Windows does
        path.write_bytes(ssl.PEM_cert_to_DER_cert(open(settings.ca_bundle).read()))
    else:
        path.write_bytes(b"")
    for name, value in {
        "ENVIRONMENT_URL": settings.environment_url,
        "TENANT_ID": settings.tenant_id,
        "CLIENT_ID": settings.client_id,
        "CLIENT_SECRET": settings.client_secret,
        "TOKEN_URL": settings.token_url,
        "CA_BUNDLE": str(path),
    }.items():
        monkeypatch.setenv(f"ERP__D365__{name}", value)

    result = erp_check("d365", seed_references())

    [problem] = result.problems
    assert not result.asked and problem.reference is None
    assert problem.problem.startswith(
        f"ERP__D365__CA_BUNDLE is {str(path)!r}, which is not a PEM file of certificate authorities"
    )
    assert d365.stats()["token_requests"] == 0  # nothing was sent


def test_an_untrusted_login_certificate_is_one_problem_naming_the_setting_to_give(
    d365: Sandbox, settings: D365Settings, monkeypatch
):
    """No CA bundle: the sandbox's private CA is not trusted. The operator reads what to set,
    not that the credentials were refused."""
    for name, value in {
        "ENVIRONMENT_URL": settings.environment_url,
        "TENANT_ID": settings.tenant_id,
        "CLIENT_ID": settings.client_id,
        "CLIENT_SECRET": settings.client_secret,
        "TOKEN_URL": settings.token_url,
    }.items():
        monkeypatch.setenv(f"ERP__D365__{name}", value)
    monkeypatch.delenv("ERP__D365__CA_BUNDLE", raising=False)

    result = erp_check("d365", seed_references())

    [problem] = result.problems
    assert not result.asked and problem.reference is None
    assert problem.problem.startswith("d365: the certificate of 127.0.0.1 is not trusted")
    assert "set ERP__D365__CA_BUNDLE" in problem.problem
    assert "refused the credentials" not in problem.problem
    assert d365.stats()["token_requests"] == 0
