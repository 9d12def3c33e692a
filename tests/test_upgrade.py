"""A warehouse built by an older release: what a plain build says, and the rebuild that fixes it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from loaders.pipeline import run_load
from transform import build as transform

DAY = (datetime.now(timezone.utc) - timedelta(days=50)).date()


def test_a_staging_column_added_by_a_release_asks_for_one_full_refresh(toast_env, warehouse):
    toast_env.freeze(datetime.now(timezone.utc))
    assert run_load(business_date_range=(DAY, DAY)).ok
    assert transform.run_build(quiet=True).ok
    with duckdb.connect(str(warehouse)) as con:  # as the release before tax_amount_exact left it
        con.execute("alter table staging.stg_toast__applied_taxes drop column tax_amount_exact")
    assert run_load(business_date_range=(DAY, DAY)).ok  # new rows for the incremental model

    plain = transform.run_build(quiet=True)

    assert not plain.ok
    (problem,) = [p for p in plain.errors if p.name == "stg_toast__applied_taxes"]
    assert "closeout build --full-refresh" in problem.message
    assert "tax_amount_exact" in problem.message
    assert "on_schema_change" not in problem.message  # dbt's advice, not the operator's
    assert transform.run_build(full_refresh=True, quiet=True).ok


@pytest.mark.parametrize(
    ("model", "new_column"),
    [("int_payments_journaled", "order_guid"), ("int_unsettled_checks_listed", "_dlt_load_id")],
)
def test_a_model_kept_per_day_by_a_release_asks_for_one_full_refresh(
    toast_env, warehouse, model, new_column
):
    """The order leg models and the unsettled checks were kept per day (or whole) before they
    were kept per order: a warehouse of that release gets the operator's full-refresh advice,
    not a failing delete or watermark."""
    toast_env.freeze(datetime.now(timezone.utc))
    assert run_load(business_date_range=(DAY, DAY)).ok
    assert transform.run_build(quiet=True).ok
    with duckdb.connect(str(warehouse)) as con:  # as that release left it
        con.execute(f"alter table intermediate.{model} drop column {new_column}")
    assert run_load(business_date_range=(DAY, DAY)).ok

    plain = transform.run_build(quiet=True)

    assert not plain.ok
    (problem,) = [p for p in plain.errors if p.name == model]
    assert "closeout build --full-refresh" in problem.message
    assert new_column in problem.message
    assert transform.run_build(full_refresh=True, quiet=True).ok
    with duckdb.connect(str(warehouse)) as con:
        columns = [row[0] for row in con.execute(f"describe intermediate.{model}").fetchall()]
    assert new_column in columns
