"""An operator's mistake ends in a message that says what to do and exit code 1, not a
traceback: the CLI's one place for errors (cli.main.CloseoutGroup)."""

from __future__ import annotations

import click
import duckdb
import pytest
from click.testing import CliRunner

from cli.main import main


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--erp", "d365"],
        ["mappings"],
        ["replay", "--erp", "intacct", "x:2026-01-01:sales"],
    ],
)
def test_an_unbuilt_warehouse_says_to_build_first(tmp_path, monkeypatch, args):
    warehouse = tmp_path / "new.duckdb"
    duckdb.connect(str(warehouse)).close()  # loaded or not, but never built
    monkeypatch.setenv("CLOSEOUT_DB", str(warehouse))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "run `closeout build` first" in result.output
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a crash


def test_a_missing_warehouse_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_DB", str(tmp_path / "nowhere.duckdb"))
    result = CliRunner().invoke(main, ["mappings"])
    assert result.exit_code == 1
    assert f"No warehouse at {tmp_path / 'nowhere.duckdb'} yet" in result.output
    assert not (tmp_path / "nowhere.duckdb").exists()  # a read-only look creates nothing


def test_no_erp_configured_names_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_DB", str(tmp_path / "new.duckdb"))
    monkeypatch.delenv("ERP__TARGET", raising=False)
    monkeypatch.chdir(tmp_path)  # no .dlt/config.toml with an erp.target here
    result = CliRunner().invoke(main, ["post"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no ERP configured: set ERP__TARGET")


def test_a_wrong_command_line_exits_2():
    result = CliRunner().invoke(main, ["post", "--erp", "quickbooks"])
    assert result.exit_code == 2
    assert "'quickbooks' is not one of" in result.output


def test_a_bug_while_handling_an_operator_error_is_not_hidden_behind_its_message():
    from closeout.errors import ErpUnavailable

    @click.command()
    def broken():
        try:
            raise ErpUnavailable("D365 is unavailable; the next run retries")
        except ErpUnavailable:
            {}["missing"]  # a bug in the handler

    main.add_command(broken)
    try:
        result = CliRunner().invoke(main, ["broken"])
    finally:
        del main.commands["broken"]
    assert isinstance(result.exception, KeyError)
    assert "next run retries" not in result.output


def test_an_operator_error_a_library_wrapped_is_shown_as_ours():
    from closeout.errors import ToastAuthError

    @click.command()
    def wrapped():
        try:
            raise ToastAuthError("Toast refused the client credentials: fix them")
        except ToastAuthError as exc:
            raise RuntimeError("PipelineStepFailed: extract") from exc

    main.add_command(wrapped)
    try:
        result = CliRunner().invoke(main, ["wrapped"])
    finally:
        del main.commands["wrapped"]
    assert result.exit_code == 1
    assert result.output == "Error: Toast refused the client credentials: fix them\n"


def built_warehouse(path, *, with_locations: bool = True) -> None:
    """A warehouse with a journals mart of one journal (and, unless told, its locations)."""
    with duckdb.connect(str(path)) as con:
        con.execute("""
            create schema finance;
            create schema mappings;
            create table finance.journals as
            select 'b601:2026-03-02:sales' as journal_id, 'b601' as restaurant_guid,
                   date '2026-03-02' as business_date, 'sales' as journal_type,
                   'ready' as status, null::varchar as hold_reasons, 'v1' as version""")
        if with_locations:
            con.execute(
                "create table mappings.locations as "
                "select 'b601' as restaurant_guid, 'Brooklyn' as location_name"
            )


def test_replaying_an_unknown_journal_names_it_and_how_to_find_one(tmp_path, monkeypatch):
    from posting.ledger import DDL

    warehouse = tmp_path / "built.duckdb"
    built_warehouse(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(DDL)
        con.execute("""
            insert into closeout_posting.postings (idempotency_key, erp, journal_id,
                restaurant_guid, business_date, journal_type, sequence, kind, version, status,
                attempts, first_attempt_at, last_attempt_at, total_debit, total_credit,
                lines_json)
            values ('k1', 'd365', 'b601:2026-03-02:sales', 'b601', '2026-03-02', 'sales', 0,
                    'original', 'v1', 'failed', 1, now(), now(), 1, 1, '[]')""")
    monkeypatch.setenv("CLOSEOUT_DB", str(warehouse))

    result = CliRunner().invoke(main, ["replay", "--erp", "d365", "b601:2026-03-20:sales"])

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.output.startswith("Error: no journal 'b601:2026-03-20:sales' in the warehouse")
    assert "RESTAURANT_GUID:BUSINESS_DATE:TYPE" in result.output
    assert "Failed journals for d365: b601:2026-03-02:sales." in result.output
    assert "`closeout status` lists the journals" in result.output


def test_a_seed_table_missing_from_the_warehouse_is_named_not_a_catalog_error(
    tmp_path, monkeypatch
):
    warehouse = tmp_path / "half-built.duckdb"
    built_warehouse(warehouse, with_locations=False)  # a locations.csv dbt could not load
    monkeypatch.setenv("CLOSEOUT_DB", str(warehouse))

    result = CliRunner().invoke(main, ["status", "--erp", "d365", "--from", "2026-03-01"])

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a crash
    assert result.output == (
        "Error: the warehouse has no table for seeds/locations.csv: the last `closeout build` "
        "did not load it. Run `closeout build`, fix what it reports about the seed files, then "
        "run this again.\n"
    )


def test_a_first_load_without_toast_settings_names_them(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_DB", str(tmp_path / "new.duckdb"))
    for name in ("BASE_URL", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"SOURCES__TOAST__{name}", raising=False)
    monkeypatch.chdir(tmp_path)  # no .dlt/ with Toast's settings here
    result = CliRunner().invoke(main, ["load"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(
        "Error: missing settings: set SOURCES__TOAST__BASE_URL, SOURCES__TOAST__CLIENT_ID, "
        "SOURCES__TOAST__CLIENT_SECRET"
    ), result.output
    assert "Traceback" not in result.output
