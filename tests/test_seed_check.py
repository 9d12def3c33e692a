"""The mapping seeds are checked before dbt reads them: a value that would not load, a file
Excel saved separated by ';' or in another encoding is named by file, row, column and value,
and nothing is dropped; the byte-order mark of Excel's "CSV UTF-8" is simply accepted."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from closeout import audit
from closeout.errors import BuildFailedError, ConfigurationError
from posting.post import require_passed_build
from transform import build as transform
from transform.mappings import Unmapped, append_stub_rows
from transform.seed_check import check_seeds

SEEDS_ONLY = ("path:seeds",)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """The dbt project with its own seeds, so a test may edit them safely."""
    copy = tmp_path / "dbt_project"
    shutil.copytree(
        transform.PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    monkeypatch.setattr(transform, "PROJECT_DIR", copy)
    # only the tests whose every parent is a selected seed (not those reading the marts too)
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "cautious")
    return copy


@pytest.fixture
def loaded(warehouse) -> Path:
    """A warehouse that has had a load (no orders are needed to load the seeds)."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema toast_raw; create table toast_raw.orders (order_guid varchar)")
    return warehouse


def edit(seeds: Path, name: str, old: str, new: str) -> None:
    path = seeds / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def refusal(seeds: Path) -> str:
    with pytest.raises(ConfigurationError) as raised:
        check_seeds(seeds)
    return str(raised.value)


def test_the_shipped_seeds_pass():
    check_seeds(transform.PROJECT_DIR / "seeds")


def test_seeds_checked_elsewhere_are_named_where_they_are(tmp_path):
    """`closeout check --seeds DIR` checks a draft outside the project: the message says to fix
    the files there, not in dbt_project/seeds."""
    draft = tmp_path / "draft-seeds"
    shutil.copytree(transform.PROJECT_DIR / "seeds", draft)
    edit(draft, "locations.csv", "USD,true,2026-01-01\n", "USD,true,1/1/2026\n")
    edit(draft, "settings.csv", "restaurant_guid,", "restaurant_guid,undeclared_column,")

    message = refusal(draft)

    assert f"fix the files in {draft} and run" in message
    assert f"column_types in {draft / '_seeds.yml'} (or" in message
    assert "dbt_project" not in message


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        (
            "locations.csv",
            "USD,true,2026-01-01\n",
            "USD,true,1/1/2026\n",
            "seeds/locations.csv: row 2, column posting_start_date: '1/1/2026' is not a calendar "
            "date written YYYY-MM-DD",
        ),
        (
            "settings.csv",
            "gross,1.00,",
            "gross,one,",
            "seeds/settings.csv: row 2, column over_short_tolerance: 'one' is not a number with "
            "at most 2 decimals written with digits and '.'",
        ),
        (
            "settings.csv",
            "gross,1.00,",
            "gross,$1.00,",
            "row 2, column over_short_tolerance: '$1.00' is not a number",
        ),
        (
            "settings.csv",
            "gross,1.00,",
            'gross,"1,00",',
            "row 2, column over_short_tolerance: '1,00' is not a number",
        ),
        (
            "settings.csv",
            "gross,1.00,",
            "gross,1,00,",
            "seeds/settings.csv: row 2 has 10 values, the header has 9: a value that contains a "
            "comma must be in double quotes, and a number is written with '.' (1.50, not 1,50)",
        ),
        (
            "settings.csv",
            "USD,true,1.5,true,2\n",
            "USD,yes,1.5,true,2\n",
            "row 2, column hold_open_checks: 'yes' is not true or false",
        ),
        (
            "settings.csv",
            "USD,true,1.5,true,2\n",
            "USD,true,1.5,true,2.5\n",
            "row 2, column open_check_grace_days: '2.5' is not a whole number",
        ),
        (
            "chart_of_accounts.csv",
            "1010,Cash on Hand,asset,true\n",
            "1010,Cash on Hand,asset, true\n",
            "row 2, column is_active: ' true' is not true or false (remove the spaces around it)",
        ),
        (
            "sales_category_accounts.csv",
            "*,Food,,4000,4100\n",
            "*,Food,Drinks,,4000,4100\n",
            "seeds/sales_category_accounts.csv: row 2 has 6 values, the header has 5: a value "
            "that contains a comma must be in double quotes",
        ),
        (
            "job_accounts.csv",
            "*,Bartender,,6010\n",
            "\n*,Bartender,,6010\n",
            "seeds/job_accounts.csv: row 3 is empty: delete it",
        ),
    ],
)
def test_a_value_that_would_not_load_names_file_row_column_and_form(
    project, name, old, new, expected
):
    seeds = project / "seeds"
    edit(seeds, name, old, new)
    message = refusal(seeds)
    assert expected in message
    assert "Rows are numbered as in Excel (the header is row 1)" in message


def test_every_bad_value_is_named_not_only_the_first(project):
    seeds = project / "seeds"
    edit(seeds, "settings.csv", "gross,1.00,", "gross,$1.00,")
    edit(seeds, "closed_periods.csv", "closed_through\n", "closed_through\nHV-NY,31/01/2026\n")
    message = refusal(seeds)
    assert "seeds/closed_periods.csv: row 2, column closed_through: '31/01/2026'" in message
    assert "seeds/settings.csv: row 2, column over_short_tolerance: '$1.00'" in message


@pytest.mark.parametrize(("separator", "named"), [(";", "';'"), ("\t", "tabs")])
def test_a_file_separated_by_something_else_is_refused_saying_so(project, separator, named):
    path = project / "seeds" / "account_roles.csv"
    path.write_text(path.read_text().replace(",", separator))
    message = refusal(project / "seeds")
    assert (
        f"seeds/account_roles.csv: the file is separated by {named}: save it as comma-separated CSV"
    ) in message
    assert "not declared" not in message


def test_a_file_in_excels_plain_csv_encoding_is_refused_with_the_row(project):
    path = project / "seeds" / "locations.csv"
    # Excel's plain "CSV" writes cp1252: the é of a name is byte 0xE9
    path.write_bytes(path.read_bytes().replace(b"Harbor & Vine Kaka", b"Caf\xe9 Kaka"))
    message = refusal(project / "seeds")
    assert "seeds/locations.csv: row 7 is not UTF-8 text (byte 0xE9)" in message
    assert "'CSV UTF-8 (Comma delimited)'" in message


def test_a_header_problem_still_names_the_column_and_the_fix(project):
    edit(project / "seeds", "job_accounts.csv", "labor_expense_account", "account")
    message = refusal(project / "seeds")
    assert (
        "seeds/job_accounts.csv: column(s) account not declared; column(s) "
        "labor_expense_account missing"
    ) in message
    assert "add it to that seed's column_types" in message


def test_excels_byte_order_mark_and_line_ends_load_as_they_are(project, loaded):
    path = project / "seeds" / "locations.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_text().replace("\n", "\r\n").encode())

    result = transform.run_build(select=SEEDS_ONLY, quiet=True)

    assert result.ok, [f"{p.name}: {p.message}" for p in result.errors]
    with duckdb.connect(str(loaded), read_only=True) as con:
        columns = [row[0] for row in con.execute("describe mappings.locations").fetchall()]
        active = con.execute("select count(*) from mappings.locations where is_active").fetchone()
    assert columns[0] == "restaurant_guid"
    assert active == (6,)


def test_a_bad_value_stops_the_build_before_dbt_drops_anything(project, loaded):
    assert transform.run_build(select=SEEDS_ONLY, quiet=True).ok
    edit(project / "seeds", "settings.csv", "gross,1.00,", "gross,$1.00,")

    with pytest.raises(ConfigurationError, match=r"settings.csv: row 2, column over_short"):
        transform.run_build(quiet=True)

    with duckdb.connect(str(loaded)) as con:
        tolerances = con.execute("select over_short_tolerance from mappings.settings").fetchall()
        assert sorted(t for (t,) in tolerances) == [1, 2]  # the last good load stands
        _, ok, failed = audit.last_build(con)
        assert not ok and "seed check" in failed
        with pytest.raises(BuildFailedError, match="failed the seed check"):
            require_passed_build(con)


def stub(seed_file: str, row: str) -> Unmapped:
    return Unmapped("*", "sales_category", None, "Merch", seed_file, row)


def test_appending_stub_rows_keeps_excels_byte_order_mark(project):
    path = project / "seeds" / "sales_category_accounts.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    added = append_stub_rows([stub(path.name, "*,Merch,,,")], project / "seeds")

    assert added == {path.name: 1}
    assert path.read_bytes().startswith(b"\xef\xbb\xbfrestaurant_guid,")
    assert path.read_text(encoding="utf-8-sig").endswith("*,Retail,,4050,4150\n*,Merch,,,\n")
    check_seeds(project / "seeds")


def test_appending_to_a_file_in_excels_plain_csv_encoding_names_the_file(project):
    path = project / "seeds" / "sales_category_accounts.csv"
    path.write_bytes(path.read_bytes().replace(b"Retail", b"Caf\xe9"))

    with pytest.raises(ConfigurationError, match=r"seeds/sales_category_accounts.csv is not UTF-8"):
        append_stub_rows([stub(path.name, "*,Merch,,,")], project / "seeds")
