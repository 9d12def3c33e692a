"""`closeout load --from <a future date>` says it would load nothing, and why (issue 15 §10)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
from click.testing import CliRunner

from cli.main import main


def test_a_load_of_future_business_dates_is_refused_saying_why(warehouse):
    future = date.today() + timedelta(days=3)
    for args in (["--from", future.isoformat()], ["--to", future.isoformat()]):
        result = CliRunner().invoke(main, ["load", *args])

        assert result.exit_code == 2, result.output
        assert f"{future} is a business date in the future" in result.output
        assert "nothing would be loaded" in result.output
    assert not warehouse.exists()  # nothing was started


def test_a_range_that_ends_in_the_future_is_still_a_load(toast_env, warehouse):
    """Only a range wholly after today is refused: one that reaches past today still loads the
    days that have begun."""
    yesterday = date.today() - timedelta(days=1)
    result = CliRunner().invoke(
        main, ["load", "--from", yesterday.isoformat(), "--to", str(yesterday + timedelta(5))]
    )
    assert result.exit_code == 0, result.output
    assert "in the future" not in result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from toast_raw.orders").fetchone()[0] > 0
