"""`Connector.check` for M3 against the sandbox over real HTTP: the references the shipped seeds
name are all there, each thing M3 lacks is one problem naming the seed row or setting to fix,
and the look-ups are a few read-only list requests whatever the number of references."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import sandboxes.infor as infor_sandbox
from closeout.errors import ErpAuthError, ErpRefusal
from posting.check_references import references_from_seeds
from posting.connectors.contract import Reference
from posting.connectors.infor import (
    InforConnector,
    InforSettings,
    IonApiCredentials,
    parse_dimensions,
    parse_layout,
)
from posting.connectors.infor_errors import TransactionUnavailable
from sandboxes.infor.server import InforSandbox
from tests.contract.test_infor_interface import journal
from tests.kit import SandboxClient, serving
from tests.kit.connectors import Recorded

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
ACCOUNT_COLUMNS = {
    "sales_category_accounts.csv": ("revenue_account", "discount_account"),
    "payment_type_accounts.csv": ("account_code",),
    "tax_rate_accounts.csv": ("tax_payable_account", "facilitator_tax_account"),
    "service_charge_accounts.csv": ("account_code",),
    "account_roles.csv": ("account_code",),
    "discount_accounts.csv": ("discount_account",),
    "job_accounts.csv": ("labor_expense_account",),
}
READS = {"MNS100MI/LstDivisions", "CRS630MI/LstAccountID", "EXT840MI/LstIntDef"}

server = serving(InforSandbox)


@pytest.fixture
def m3(server) -> SandboxClient:
    client = SandboxClient(server.url, server.app)
    client.control("reset")
    client.ionapi = infor_sandbox.connector_env(server.app, server)["ERP__INFOR__IONAPI_FILE"]
    return client


def connector(m3, **settings) -> InforConnector:
    credentials = IonApiCredentials.from_file(m3.ionapi)
    return InforConnector(InforSettings(credentials, **settings), Recorded("infor").http)


def _rows(name: str) -> list[dict[str, str]]:
    with (SEEDS / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def seed_references() -> list[Reference]:
    """What `closeout check` asks about for the shipped seeds: each location's company,
    division and location value, and every account and revenue center in each location's
    place (a '*' row applies to every location)."""
    references = []
    for number, location in enumerate(_rows("locations.csv"), start=2):
        company, division = location["erp_company"], location["erp_division"]
        where = f"locations.csv row {number}"
        references += [
            Reference("company", company, company, division, where),
            Reference("division", division, company, division, where),
            Reference("location", location["location_dimension"], company, division, where),
        ]
        for seed, columns in ACCOUNT_COLUMNS.items():
            for row_number, row in enumerate(_rows(seed), start=2):
                for column in columns:
                    if row.get(column):
                        used_by = f"{seed} row {row_number}"
                        references.append(
                            Reference("account", row[column], company, division, used_by)
                        )
        for row_number, row in enumerate(_rows("revenue_center_dimensions.csv"), start=2):
            used_by = f"revenue_center_dimensions.csv row {row_number}"
            references.append(
                Reference("revenue_center", row["dimension_value"], company, division, used_by)
            )
    return references


def m3_reads(m3) -> tuple[int, dict[str, int]]:
    """Requests to M3 (bulk and single) and the transactions they carried."""
    stats = m3.control("stats")
    return stats["requests"], stats["transactions"]


def test_the_shipped_seeds_have_no_problem_in_a_few_read_only_requests(m3):
    references = seed_references()
    assert len(references) > 100

    assert connector(m3).check(references) == []

    requests, transactions = m3_reads(m3)
    assert requests == 3  # MNS100MI, CRS630MI (one company), EXT840MI
    assert set(transactions) == READS
    assert m3.control("stats")["token_requests"] == 1
    assert m3.control("batches") == [] and m3.control("vouchers") == []


def test_a_missing_account_is_one_problem_per_seed_row_naming_division_and_row(m3):
    config = m3.control("config")
    m3.control(
        "configure",
        {"division_accounts": {"BKN": [a for a in config["accounts"] if a != "4050"]}},
    )

    problems = connector(m3).check(seed_references())

    assert {p.problem for p in problems} == {"account 4050 does not exist in division BKN"}
    [problem] = problems  # 4050 is named once, by sales_category_accounts.csv
    assert problem.reference.used_by.startswith("sales_category_accounts.csv row ")
    assert problem.fix == (
        f"create account 4050 in division BKN (CRS630) or correct {problem.reference.used_by}"
    )


def test_an_unknown_division_is_one_problem_not_one_per_account(m3):
    references = [
        Reference("division", "ZZZ", "HV-NJ", "ZZZ", "locations.csv row 6"),
        Reference("account", "4000", "HV-NJ", "ZZZ", "sales_category_accounts.csv row 2"),
        Reference("location", "NWK", "HV-NJ", "ZZZ", "locations.csv row 6"),
    ]

    [problem] = connector(m3).check(references)

    assert problem.problem == "division ZZZ does not exist in company 100"
    assert "erp_division in locations.csv row 6" in problem.fix


def test_a_wrong_interface_is_a_settings_problem_naming_the_setting(m3):
    [problem] = connector(m3, interface="GLPOS").check(seed_references()[:3])

    assert problem.reference is None
    assert problem.problem.startswith("interface GLPOS is not defined in company 100")
    assert "ERP__INFOR__INTERFACE" in problem.fix


def test_an_interface_definition_that_is_not_numbers_is_a_problem_not_a_traceback(m3):
    tenant = [["AIT1", 1, 8], ["AIT2", "nine", 8], ["ACDT", 57, 8]]
    m3.control("configure", {"interfaces": {"CLOSEOUT": tenant}})

    [problem] = connector(m3).check([])

    assert problem.reference is None
    assert problem.problem == (
        "the interface definition M3 returned could not be read: field AIT2 has STPO 'nine', "
        "not a number"
    )
    assert "ERP__INFOR__PARM_LAYOUT" in problem.fix and "GLS840" in problem.fix


def test_a_layout_that_disagrees_with_the_tenant_is_found_before_posting(m3):
    tenant = [["AIT1", 1, 10], ["AIT2", 11, 8], ["AIT3", 19, 8], ["ACDT", 27, 8]]
    tenant += [["CUAM", 35, 17], ["CUCD", 52, 3], ["VTXT", 55, 40]]
    m3.control("configure", {"interfaces": {"CLOSEOUT": tenant}})

    problems = connector(m3).check([])

    assert all(p.reference is None for p in problems)
    assert problems[0].problem == (
        "ERP__INFOR__PARM_LAYOUT puts AIT1 at 1 with length 8; interface CLOSEOUT in M3 has it "
        "at 1 with length 10"
    )
    assert any("AIT4 at 25 with length 8" in p.problem and "nowhere" in p.problem for p in problems)
    suggested = problems[0].fix.rpartition(": ")[2]
    assert connector(m3, parm_layout=parse_layout(suggested)).check([]) == []
    posted = connector(m3, parm_layout=parse_layout(suggested)).create(journal())
    assert posted.startswith("100/BKN/") and len(m3.control("vouchers")) == 5


def test_blocked_account_unknown_value_and_unfilled_required_dimension(m3):
    rules = m3.control("config")["account_dimensions"]
    m3.control(
        "configure",
        {
            "blocked_accounts": ["6900"],
            "account_dimensions": {**rules, "2200": ["AIT4"]},
            "dimension_values": {"AIT2": ["BKN", "WLP", "SLK"], "AIT3": ["DINING", "BAR"]},
        },
    )
    references = [
        Reference("account", "6900", "HV-NY", "BKN", "account_roles.csv row 7"),
        Reference("account", "2200", "HV-NY", "BKN", "tax_rate_accounts.csv row 2"),
        Reference("location", "LOHI", "HV-CO", "LOH", "locations.csv row 5"),
        Reference("revenue_center", "PATIO", "HV-NY", "BKN", "revenue_center_dimensions.csv row 4"),
        Reference("customer", "C100", "HV-NY", "BKN", "settings"),  # no invoice mode in M3
    ]

    problems = {p.reference.value: p for p in connector(m3).check(references)}

    assert problems["6900"].problem == "account 6900 is blocked in division BKN"
    assert problems["2200"].problem == (
        "account 2200 requires accounting dimension 4 (AIT4) in division BKN, which closeout "
        "does not fill"
    )
    assert "ERP__INFOR__DIMENSIONS" in problems["2200"].fix
    assert problems["LOHI"].problem == (
        "accounting dimension 2 (AIT2) value LOHI does not exist in division LOH"
    )
    assert "locations.csv row 5" in problems["LOHI"].fix
    assert problems["PATIO"].problem.startswith("accounting dimension 3 (AIT3) value PATIO")
    assert set(problems) == {"6900", "2200", "LOHI", "PATIO"}


def test_dimensions_follow_the_mapping_setting(m3):
    mapped = parse_dimensions("AIT1=account,AIT5=location,AIT7=revenue_center")
    m3.control("configure", {"dimension_values": {"AIT5": ["BKN"]}})
    references = [
        Reference("location", "BKN", "HV-NY", "BKN", "locations.csv row 2"),
        Reference("location", "WLP", "HV-IL", "WLP", "locations.csv row 3"),
        Reference("revenue_center", "NOPE", "HV-NY", "BKN", "revenue_center_dimensions.csv"),
    ]

    [problem] = connector(m3, dimensions=mapped).check(references)

    # AIT5 has values and WLP is not one; AIT7 lists none, so M3 does not validate it.
    assert problem.problem == (
        "accounting dimension 5 (AIT5) value WLP does not exist in division WLP"
    )


def test_a_company_m3_refuses_is_said_once(m3):
    references = [
        Reference("account", "4000", "200/BKN", None, "sales_category_accounts.csv row 2"),
        Reference("company", "200/BKN", "200/BKN", None, "locations.csv row 2"),
        Reference("company", "200/WLP", "200/WLP", None, "locations.csv row 3"),
    ]

    [problem] = connector(m3).check(references)

    assert problem.reference.kind == "company"
    assert problem.problem == (
        "company 200 refused: Not authorized for company 200 (ServerReturnedNOK XAU0008, "
        "field CONO)"
    )
    assert "ERP__INFOR__CONO" in problem.fix


def seeds_without_bkns_division(tmp_path: Path, company: str | None = None) -> Path:
    """A copy of the shipped seeds whose BKN location (locations.csv row 2) has no
    erp_division, and erp_company `company` if given."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    path = seeds / "locations.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["erp_division"] == "BKN"
    rows[0]["erp_division"] = ""
    if company is not None:
        rows[0]["erp_company"] = company
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return seeds


def test_a_location_without_a_division_is_one_problem_on_its_row(m3, tmp_path):
    """The seeds of a location with no erp_division: InforConnector.company_division refuses
    every journal of it, so the check says so, once, on its locations.csv row."""
    found = references_from_seeds(seeds_without_bkns_division(tmp_path))
    assert found.problems == []
    with pytest.raises(ErpRefusal, match="no M3 division"):
        connector(m3).company_division(replace(journal(), division=None))

    [missing] = connector(m3).check(found.references)

    assert missing.problem == (
        "no M3 division (DIVI) is given, so M3 refuses every journal of this location"
    )
    assert missing.reference.used_by == "locations.csv row 2"
    assert missing.fix == (
        "set erp_division in locations.csv row 2 (or write erp_company as CONO/DIVI)"
    )


def test_a_location_whose_company_names_the_division_needs_no_erp_division(m3, tmp_path):
    found = references_from_seeds(seeds_without_bkns_division(tmp_path, company="100/BKN"))
    unnamed = replace(journal(), company="100/BKN", division=None)
    assert connector(m3).company_division(unnamed) == ("100", "BKN")

    assert connector(m3).check(found.references) == []


def test_accounts_in_an_unknown_division_are_one_problem(m3):
    references = [
        Reference("account", "4000", "HV-NJ", "NWK", "sales_category_accounts.csv row 2"),
        Reference("account", "4010", "HV-NJ", "NWK", "sales_category_accounts.csv row 3"),
    ]

    [unknown] = connector(m3).check(references)

    assert unknown.problem == "division NWK does not exist in company 100"
    assert unknown.reference.value == "4000" and "erp_division NWK in locations.csv" in unknown.fix


def test_an_account_of_no_division_is_looked_for_in_every_division(m3):
    config = m3.control("config")
    m3.control(
        "configure",
        {"division_accounts": {"SLK": [a for a in config["accounts"] if a != "4000"]}},
    )
    reference = Reference("account", "4000", "HV", None, "chart_of_accounts.csv row 24")

    [problem] = connector(m3).check([reference])

    assert problem.problem == "account 4000 does not exist in division SLK"


def test_a_withheld_look_up_is_reported_and_the_rest_still_checked(m3):
    m3.control("configure", {"withheld_transactions": ["EXT840MI/LstIntDef"]})
    references = [Reference("division", "ZZZ", "HV-NJ", "ZZZ", "locations.csv row 6")]

    problems = connector(m3).check(references)

    assert [p.problem for p in problems][0] == "division ZZZ does not exist in company 100"
    assert problems[1].reference is None
    assert problems[1].problem.startswith("interface CLOSEOUT could not be verified")
    assert "compare ERP__INFOR__PARM_LAYOUT with interface CLOSEOUT" in problems[1].fix
    assert len(problems) == 2


def test_requests_stay_bounded_with_many_references(m3):
    references = [
        Reference("account", str(1000 + n), "HV-NY", division, f"chart_of_accounts.csv row {n}")
        for n in range(300)
        for division in ("BKN", "WLP", "SLK", "LOH")
    ]

    problems = connector(m3).check(references)

    assert len(problems) > 1000  # most of these accounts do not exist
    requests, transactions = m3_reads(m3)
    assert requests == 3
    assert transactions["CRS630MI/LstAccountID"] == 4  # one per division
    assert set(transactions) == READS


def test_refused_credentials_raise_for_the_caller_instead_of_problems_per_value(m3, tmp_path):
    data = json.loads(Path(m3.ionapi).read_text())
    wrong = tmp_path / "wrong.ionapi"
    wrong.write_text(json.dumps({**data, "cs": "wrong-secret"}))
    m3.ionapi = str(wrong)

    with pytest.raises(ErpAuthError, match="invalid_client") as refused:
        connector(m3).check(seed_references())

    assert not isinstance(refused.value, TransactionUnavailable)
    assert m3.control("stats")["requests"] == 0


def test_without_the_division_list_the_accounts_are_still_checked(m3):
    config = m3.control("config")
    m3.control(
        "configure",
        {
            "withheld_transactions": ["MNS100MI/LstDivisions"],
            "division_accounts": {"BKN": [a for a in config["accounts"] if a != "4000"]},
        },
    )
    references = [
        Reference("division", "BKN", "HV-NY", "BKN", "locations.csv row 2"),
        Reference("account", "4000", "HV-NY", "BKN", "sales_category_accounts.csv row 2"),
        Reference("account", "4010", "HV-NY", "BKN", "sales_category_accounts.csv row 3"),
    ]

    unavailable, missing = connector(m3).check(references)

    assert unavailable.reference is None
    assert unavailable.problem.startswith("M3 would not answer MNS100MI LstDivisions")
    assert missing.problem == "account 4000 does not exist in division BKN"
