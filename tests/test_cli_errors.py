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
