"""`closeout check` against the FreshBooks sandbox: the connector asks FreshBooks, reading only,
whether the business, the sub-accounts the seeds' accounts resolve to and (invoice mode) the
locations' clients exist, with one paged list per kind however many references there are."""

from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet

from posting.connectors.contract import Reference
from posting.connectors.freshbooks import FreshBooksConnector, FreshBooksSettings
from posting.http import ErpHttp
from sandboxes import freshbooks
from sandboxes.freshbooks.server import FreshBooksSandbox
from sandboxes.seeds import SEEDS_DIR, rows
from tests.kit import SandboxClient, serving

server = serving(FreshBooksSandbox)


@pytest.fixture
def fb(server, tmp_path, monkeypatch) -> SandboxClient:
    box = SandboxClient(server.url).reset()
    for name in list(os.environ):
        if name.startswith(("ERP__", "CLOSEOUT_")):
            monkeypatch.delenv(name)
    for name, value in freshbooks.connector_env(server.app, server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("CLOSEOUT_DB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.chdir(tmp_path)
    return box


def connector() -> FreshBooksConnector:
    return FreshBooksConnector(
        FreshBooksSettings.from_config(), ErpHttp("freshbooks", sleep=lambda s: None)
    )


def seed_references() -> list[Reference]:
    """What the repository's seeds map to, the way `closeout check` hands them over: every
    account a mapping seed or the active chart names, in each location's company, and each
    location's company (its client in invoice mode)."""
    locations = [row for row in rows(SEEDS_DIR / "locations.csv") if row["is_active"] == "true"]
    companies = sorted({row["erp_company"] for row in locations})
    found = [
        Reference("company", row["erp_company"], row["erp_company"], None, f"locations.csv row {n}")
        for n, row in enumerate(locations, start=1)
    ]
    for seed in sorted(SEEDS_DIR.glob("*.csv")):
        for n, row in enumerate(rows(seed), start=1):
            if row.get("is_active", "true") == "false":
                continue
            for column, value in row.items():
                if (column == "account_code" or column.endswith("_account")) and value.strip():
                    found += [
                        Reference("account", value.strip(), company, None, f"{seed.name} row {n}")
                        for company in companies
                    ]
    return found


def requests_seen(fb) -> dict[str, int]:
    return fb.stats()["requests"]


def test_the_seeds_check_clean_in_journal_mode_with_one_list_per_kind(fb):
    references = seed_references() * 20  # as many as a large estate: still one list each
    assert len({r.value for r in references if r.kind == "account"}) > 20
    assert connector().check(references) == []
    assert requests_seen(fb) == {"GET users/me": 1, "GET journal_entry_accounts": 1}
    assert fb.stats()["token_requests"] == {"refresh_token": 1}
    assert fb.control("entries") == [] and fb.control("invoices") == []


def test_a_missing_sub_account_is_named_with_every_seed_row_that_uses_it(fb):
    references = seed_references()
    fb.control("remove", {"sub_account": "4010"})
    problems = connector().check(references)
    using = [r for r in references if r.kind == "account" and r.value == "4010"]
    assert using and [p.reference for p in problems] == using
    first = problems[0]
    assert first.problem == "has no sub-account in FreshBooks' Chart of Accounts"
    assert "sub-account numbered 4010" in first.fix and using[0].used_by in first.fix
    assert set(requests_seen(fb)) == {"GET users/me", "GET journal_entry_accounts"}


def test_invoice_mode_asks_for_the_clients_and_names_a_missing_one(fb, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__MODE", "invoice")
    references = seed_references() + [
        Reference("customer", "HV-IL", "HV-IL", None, "locations.csv row 2")
    ]
    assert connector().check(references) == []
    fb.control("remove", {"client": "HV-IL"})
    problems = connector().check(references)
    missing = [r for r in references if r.kind in ("company", "customer") and r.value == "HV-IL"]
    assert len(missing) == 2 and [p.reference for p in problems] == missing
    assert problems[0].problem == "is no FreshBooks client's organization"
    assert "organization is 'HV-IL'" in problems[0].fix and "locations.csv row 2" in problems[0].fix
    seen = requests_seen(fb)
    assert seen == {"GET users/me": 2, "GET journal_entry_accounts": 2, "GET clients": 2}


def test_the_journal_mode_ignores_clients_divisions_locations_and_revenue_centers(fb):
    fb.control("remove", {"client": "HV-IL"})
    references = [
        Reference("company", "HV-IL", "HV-IL", None, "locations.csv row 2"),
        Reference("division", "NOPE", "HV-IL", None, "locations.csv row 2"),
        Reference("location", "NOPE", "HV-IL", None, "locations.csv row 2"),
        Reference("revenue_center", "NOPE", "HV-IL", None, "revenue_center_dimensions.csv row 1"),
    ]
    assert connector().check(references) == []
    assert requests_seen(fb) == {"GET users/me": 1}


def test_a_business_the_user_does_not_belong_to_is_the_one_problem(fb, monkeypatch):
    monkeypatch.setenv("ERP__FRESHBOOKS__ACCOUNT_ID", "zzNOPE")
    [problem] = connector().check(seed_references())
    assert problem.reference is None
    assert problem.problem == "business zzNOPE is not one of this FreshBooks user's (xZNQ1X)"
    assert "ERP__FRESHBOOKS__ACCOUNT_ID to one of xZNQ1X" in problem.fix
    assert requests_seen(fb) == {"GET users/me": 1}  # no list of a business it cannot reach


def test_several_businesses_without_a_setting_ask_for_one(fb):
    fb.control("configure", {"account_ids": ["xZNQ1X", "yQ2"], "business_ids": [77001, 77002]})
    [problem] = connector().check(seed_references())
    assert problem.reference is None and "belongs to 2 businesses (xZNQ1X, yQ2)" in problem.problem
    assert problem.fix == "set ERP__FRESHBOOKS__ACCOUNT_ID to the one closeout posts to"


def test_a_setting_changed_after_the_consent_is_reported_not_silently_ignored(fb, monkeypatch):
    connector().tokens.current()  # a run: the account found is kept with the consent
    fb.control("configure", {"account_ids": ["xZNQ1X", "yQ2"], "business_ids": [77001, 77002]})
    monkeypatch.setenv("ERP__FRESHBOOKS__ACCOUNT_ID", "yQ2")
    [problem] = connector().check(seed_references())
    assert problem.reference is None
    assert problem.problem == (
        "closeout posts to business xZNQ1X, kept with the consent, not "
        "ERP__FRESHBOOKS__ACCOUNT_ID=yQ2"
    )
    assert "closeout connect freshbooks" in problem.fix
