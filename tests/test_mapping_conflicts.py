"""Two mapping rows that match the same thing but map it differently fail the build with a
message naming the file and both rows (tests/assert_mapping_rows_do_not_conflict.sql), instead
of one of them winning silently; posting then refuses. A real `dbt build` of the seeds."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from closeout import audit
from closeout.errors import BuildFailedError
from posting.post import require_passed_build
from transform import build as transform

CONFLICT_TEST = "assert_mapping_rows_do_not_conflict"
SEEDS_AND_CHECKS = ("path:seeds", CONFLICT_TEST)


@pytest.fixture
def seeds(seeds_copy, monkeypatch) -> Path:
    """The seeds of a copy of the dbt project, which the build then uses."""
    # only the tests whose every parent is a selected seed (not those reading the marts too)
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "cautious")
    return seeds_copy / "seeds"


@pytest.fixture
def loaded(warehouse) -> Path:
    """A warehouse that has had a load (no orders are needed to build the seeds)."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema toast_raw; create table toast_raw.orders (order_guid varchar)")
    return warehouse


def append(seeds: Path, name: str, *rows: str) -> None:
    with (seeds / name).open("a") as handle:
        handle.writelines(row + "\n" for row in rows)


def conflict_messages(result: transform.BuildResult) -> list[str]:
    (problem,) = [p for p in result.errors if p.name == CONFLICT_TEST]
    return problem.message.split("\n    ")


def test_the_shipped_seeds_have_no_conflicts(seeds, loaded):
    result = transform.run_build(select=SEEDS_AND_CHECKS, quiet=True)
    assert result.ok, [f"{p.name}: {p.message}" for p in result.errors]
    assert result.counts.get("pass", 0) >= 1


def test_conflicting_rows_fail_the_build_naming_the_file_and_both_rows(seeds, loaded):
    # sales_category_accounts.csv: header row 1, six categories on rows 2-7 (Food on row 2)
    append(
        seeds,
        "sales_category_accounts.csv",
        "*,Beer,,4030,4130",  # row 8: a copy of row 6, harmless
        "*,Food,,4050,",  # row 9: Food again, to another revenue account
    )
    append(seeds, "payment_type_accounts.csv", "*,CREDIT,AMEX,*,,1110")  # row 14 vs row 4
    append(seeds, "tax_rate_accounts.csv", "*,Liquor Tax,,2200,")  # row 17 vs row 14
    # the same guid twice, under two names: the guid decides, so these conflict too
    append(
        seeds,
        "revenue_center_dimensions.csv",
        "*,Bar,rc-1,BAR",
        "*,Lounge,rc-1,LOUNGE",
    )
    append(seeds, "settings.csv", "*,gross,1.00,2,USD,true,1.5,true,3")  # row 4 vs row 2

    result = transform.run_build(select=SEEDS_AND_CHECKS, quiet=True)

    assert not result.ok
    messages = conflict_messages(result)
    assert sorted(messages) == sorted(
        [
            "sales_category_accounts.csv: rows 2 and 9 both map sales category 'Food' for * "
            "(revenue_account 4000 vs 4050): keep one",
            "payment_type_accounts.csv: rows 4 and 14 both map payment type CREDIT card AMEX "
            "alternate '*' for * (account_code 1115 vs 1110): keep one",
            "tax_rate_accounts.csv: rows 14 and 17 both map tax rate 'Liquor Tax' for * "
            "(tax_payable_account 2220 vs 2200): keep one",
            "revenue_center_dimensions.csv: rows 7 and 8 both map revenue center guid 'rc-1' "
            "for * (dimension_value BAR vs LOUNGE): keep one",
            "settings.csv: rows 2 and 4 both map the settings for * "
            "(open_check_grace_days 2 vs 3): keep one",
        ]
    )
    with duckdb.connect(str(loaded)) as con:
        _, ok, failed = audit.last_build(con)
        assert not ok and CONFLICT_TEST in failed
        with pytest.raises(BuildFailedError, match=CONFLICT_TEST):
            require_passed_build(con)


def test_a_location_row_and_a_star_row_do_not_conflict(seeds, loaded):
    # a location's own row wins over the '*' row by design; an empty account maps nothing
    append(
        seeds,
        "sales_category_accounts.csv",
        "b601e100-26a6-4cf6-ad6c-b2705d1213bc,Food,,4050,4150",
        "*,Food,,,",
    )
    append(seeds, "job_accounts.csv", "*,Server,job-guid-1,6020")  # a guid row is its own key

    result = transform.run_build(select=SEEDS_AND_CHECKS, quiet=True)

    assert result.ok, [f"{p.name}: {p.message}" for p in result.errors]


def test_three_rows_for_one_role_are_all_named(seeds, loaded):
    append(seeds, "account_roles.csv", "*,over_short,6901", "*,over_short,6902")

    result = transform.run_build(select=SEEDS_AND_CHECKS, quiet=True)

    assert conflict_messages(result) == [
        "account_roles.csv: rows 8, 18 and 19 all map role 'over_short' for * "
        "(account_code 6900 vs 6901 vs 6902): keep one"
    ]
