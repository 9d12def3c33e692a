"""dbt's unit tests check the SQL against fixtures, not the data: a nightly `closeout build` runs
them once per project version and leaves them out of later nights (about 40 s of a night's
node time on this host), until the project changes or a full refresh."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from loaders.pipeline import run_load
from transform import build as transform


def unit_tests_run(target: Path) -> int:
    results = json.loads((target / "run_results.json").read_text())["results"]
    return sum(1 for r in results if r["unique_id"].startswith("unit_test."))


def build_ok() -> None:
    result = transform.run_build(quiet=True)
    assert result.ok, [f"{p.name}: {p.message}" for p in result.errors]


def test_unit_tests_run_on_the_first_build_of_a_project_version_only(
    toast_env, warehouse, tmp_path, monkeypatch
):
    target = tmp_path / "target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    toast_env.freeze(datetime.now(timezone.utc))
    last = datetime.now(timezone.utc).date() - timedelta(days=30)
    assert run_load(business_date_range=(last, last)).ok

    build_ok()
    assert unit_tests_run(target) > 20

    build_ok()
    assert unit_tests_run(target) == 0

    # Another project version (the recorded one is not this one): they run again.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update closeout_audit.unit_tests_passed set project_fingerprint = 'older'")
    build_ok()
    assert unit_tests_run(target) > 20


def test_the_project_version_changes_with_any_model_macro_or_fixture(tmp_path):
    project = tmp_path / "dbt_project"
    for name in transform.UNIT_TESTED_PATHS:
        source = transform.PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            shutil.copyfile(source, project / name)
    before = transform.project_fingerprint(project)
    assert transform.project_fingerprint(project) == before

    model = project / "models/intermediate/finance/int_taxes_journaled.sql"
    model.write_text(model.read_text() + "\n-- an edit\n")

    assert transform.project_fingerprint(project) != before
