"""An operator's mistake ends in a message that says what to do and exit code 1, not a
traceback: the CLI's one place for errors (cli.main.CloseoutGroup)."""

from __future__ import annotations

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
