"""`closeout build`: dbt build over the warehouse, through dbt's Python runner.

dbt's own output goes to the terminal as it runs; what comes back is a summary the CLI (and
`closeout run`) can act on: structural failures stop posting, business warnings hold only the
journals they name.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb

from closeout import audit, warehouse
from closeout.errors import ConfigurationError
from closeout.warehouse import RAW_DATASET, warehouse_path
from transform import seed_check

ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIR = ROOT / "dbt_project"
PROFILES_DIR = ROOT
AUDIT_SCHEMA = audit.AUDIT_SCHEMA
# Models that turn days into journals: rebuilt in full when a mapping seed changes, because a
# new account mapping changes every unposted day, not only the days Toast changed.
MAPPED_MODELS = "path:models/intermediate path:models/marts"


# dbt's word for a node that stops posting (error, fail) or holds only its journals (warn)
ProblemStatus = Literal["error", "fail", "warn"]


@dataclass
class NodeProblem:
    name: str
    status: ProblemStatus
    message: str
    # schema.table where dbt stored the failing rows (a test with store_failures), if any
    failures_table: str | None = None


@dataclass
class BuildResult:
    ok: bool
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[NodeProblem] = field(default_factory=list)
    mappings_changed: bool = False

    @property
    def errors(self) -> list[NodeProblem]:
        return [p for p in self.problems if p.status in ("error", "fail")]

    @property
    def warnings(self) -> list[NodeProblem]:
        return [p for p in self.problems if p.status == "warn"]


def seeds_fingerprint(project_dir: Path | None = None) -> str:
    digest = hashlib.sha256()
    seeds = (project_dir or PROJECT_DIR) / "seeds"
    for path in [*sorted(seeds.glob("*.csv")), seeds / "_seeds.yml"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# What dbt's unit tests depend on: the project's SQL, YAML (fixtures) and seeds, the connection
# settings, and dbt, its DuckDB adapter and DuckDB themselves (an upgrade can change SQL results).
UNIT_TESTED_PATHS = ("models", "macros", "tests", "seeds", "dbt_project.yml", "../profiles.yml")
UNIT_TESTED_PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb")


def project_fingerprint(project_dir: Path | None = None) -> str:
    """A hash of everything dbt's unit tests read; they pass or fail the same while it holds."""
    digest = hashlib.sha256()
    for package in UNIT_TESTED_PACKAGES:
        digest.update(f"{package}=={importlib.metadata.version(package)}\0".encode())
    root = project_dir or PROJECT_DIR
    for name in UNIT_TESTED_PATHS:
        path = root / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                digest.update(file.relative_to(root).as_posix().encode() + b"\0")
                digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def run_build(
    *, full_refresh: bool = False, select: tuple[str, ...] = (), quiet: bool = False
) -> BuildResult:
    """dbt build on the project; rebuilds the mapped models in full when the seeds changed.

    dbt's unit tests (about a second each, 40 of them) check the SQL against fixtures, not the
    data: they run on the first build of a project version and are left out of later nights
    until the project (or dbt) changes, or on a full refresh."""
    from dbt.cli.main import dbtRunner

    os.environ.setdefault("CLOSEOUT_DB", str(warehouse_path()))
    _require_loaded_warehouse()
    with warehouse.connect() as con:
        audit.ensure_tables(con)  # the load and build records the models read as sources
    try:
        check_seeds()
    except ConfigurationError:
        with warehouse.connect() as con:
            # Journals built before the accountant's edit must not post as if it applied.
            audit.record_build(con, False, ["the seed check of dbt_project/seeds"])
        raise
    fingerprint = seeds_fingerprint()
    mappings_changed = not full_refresh and _last_fingerprint() not in (None, fingerprint)
    common = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROFILES_DIR)]
    if quiet:
        common.append("--quiet")
    project = project_fingerprint()
    unit_tested = not full_refresh and _unit_tested_fingerprint() == project
    skip_unit_tests = ["--exclude-resource-type", "unit_test"] if unit_tested else []
    runner = dbtRunner()
    invocations = [
        [
            "build",
            *common,
            *skip_unit_tests,
            *(["--full-refresh"] if full_refresh else []),
            *(["--select", *select] if select else []),
        ]
    ]
    if mappings_changed and not select:
        mapped = MAPPED_MODELS.split()
        # Seeds are recreated (an accountant may have added or renamed a column, which dbt
        # only accepts with --full-refresh), then every unposted day is re-mapped.
        invocations = [
            ["seed", *common, "--full-refresh"],
            ["build", *common, *skip_unit_tests, "--exclude", *mapped],
            ["build", *common, *skip_unit_tests, "--full-refresh", "--select", *mapped],
        ]
    result = BuildResult(ok=True, mappings_changed=mappings_changed)
    try:
        for args in invocations:
            outcome = runner.invoke(args)
            _collect(outcome, result)
            if outcome.exception is not None or not outcome.success:
                result.ok = False
                break
    finally:
        _release_warehouse()
    _name_failing_rows(result)
    with warehouse.connect() as con:
        # Posting reads the marts only after a build that passed (ACCOUNTING.md).
        audit.record_build(con, result.ok, [problem.name for problem in result.errors])
    if result.ok:
        _remember_fingerprint(fingerprint)
        if not unit_tested and not select:
            _remember_unit_tested(project)
    return result


def check_seeds(project_dir: Path | None = None) -> None:
    """The mapping CSVs as dbt will read them (transform/seed_check.py): raise what to change,
    in the accountant's terms, before dbt drops a seed table it then cannot load."""
    seed_check.check_seeds((project_dir or PROJECT_DIR) / "seeds")


def _require_loaded_warehouse() -> None:
    """dbt would fail on a missing source table with a catalog error; say what to do instead."""
    path = warehouse_path()
    loaded = False
    if path.exists():
        with warehouse.connect(read_only=True) as con:
            loaded = bool(
                con.execute(
                    "select count(*) from information_schema.tables "
                    "where table_schema = ? and table_name = 'orders'",
                    [RAW_DATASET],
                ).fetchone()[0]
            )
    if not loaded:
        raise ConfigurationError(
            f"no Toast data has been loaded into {path} yet: run `closeout load` first "
            "(or check CLOSEOUT_DB points at the warehouse)"
        )


def _release_warehouse() -> None:
    """dbt-duckdb keeps its DuckDB instance open for the life of the process; close it so the
    rest of this process (the summary, posting) can open the same file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def _collect(outcome, result: BuildResult) -> None:
    if outcome.exception is not None:
        result.problems.append(NodeProblem("dbt", "error", str(outcome.exception)))
        return
    for node_result in getattr(outcome.result, "results", None) or []:
        status = str(node_result.status).lower().rsplit(".", 1)[-1]
        result.counts[status] = result.counts.get(status, 0) + 1
        if status in ("error", "fail", "warn"):
            node = node_result.node
            message = (node_result.message or "").strip()
            result.problems.append(
                NodeProblem(
                    getattr(node, "name", "?"),
                    status,
                    _operator_message(message) or f"{node_result.failures} failing rows",
                    _failures_table(node),
                )
            )


def _failures_table(node) -> str | None:
    if not getattr(node, "relation_name", None) or getattr(node, "resource_type", "") != "test":
        return None  # a test has a relation only when it stores its failures
    return f'"{node.schema}"."{node.alias}"'


def _name_failing_rows(result: BuildResult) -> None:
    """A failed test whose stored rows carry a `message` column (such as
    assert_mapping_rows_do_not_conflict: the file, the rows, the fix) is reported in those
    words instead of dbt's "Got 2 results"."""
    failed = [p for p in result.problems if p.failures_table and p.status in ("fail", "warn")]
    if not failed:
        return
    with warehouse.connect(read_only=True) as con:
        for problem in failed:
            messages = _stored_messages(con, problem.failures_table)
            if messages:
                problem.message = "\n    ".join(messages)


def _stored_messages(con, table: str, limit: int = 20) -> list[str]:
    try:
        rows = con.execute(f"select message from {table} order by message limit ?", [limit + 1])
        messages = [str(message) for (message,) in rows.fetchall()]
    except duckdb.Error:  # no message column: dbt's own words stand
        return []
    if len(messages) > limit:
        messages[limit:] = [f"... and more: select * from {table}"]
    return messages


def _operator_message(dbt_message: str) -> str:
    """dbt's words, or what to do where dbt's advice does not apply to closeout."""
    if "schemas on this incremental model are out of sync" in dbt_message:
        added = re.search(r"Source columns not in target: (.*)", dbt_message)
        return (
            "this release changed the model's columns"
            + (f" (new: {added.group(1).strip()})" if added else "")
            + ": run `closeout build --full-refresh` once; the loaded data and what was "
            "posted are kept, the models are rebuilt from them"
        )
    return dbt_message


def _recorded(table: str, column: str) -> str | None:
    """The value last recorded in the one-row audit table `table`, if any."""
    if not warehouse_path().exists():
        return None
    with warehouse.connect(read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [AUDIT_SCHEMA, table],
        ).fetchone()[0]
        if not found:
            return None
        row = con.execute(f"select {column} from {AUDIT_SCHEMA}.{table}").fetchone()
        return row[0] if row else None


def _record(table: str, column: str, at_column: str, value: str) -> None:
    """Replace the one row of the audit table `table` with `value`, stamped now."""
    with warehouse.connect() as con:
        con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
        con.execute(
            f"create table if not exists {AUDIT_SCHEMA}.{table} "
            f"({column} varchar, {at_column} timestamptz)"
        )
        con.execute(f"delete from {AUDIT_SCHEMA}.{table}")
        con.execute(f"insert into {AUDIT_SCHEMA}.{table} values (?, current_timestamp)", [value])


def _last_fingerprint() -> str | None:
    return _recorded("build_state", "seeds_fingerprint")


def _remember_fingerprint(fingerprint: str) -> None:
    _record("build_state", "seeds_fingerprint", "built_at", fingerprint)


def _unit_tested_fingerprint() -> str | None:
    """The project version whose unit tests last passed in a build of this warehouse."""
    return _recorded("unit_tests_passed", "project_fingerprint")


def _remember_unit_tested(fingerprint: str) -> None:
    _record("unit_tests_passed", "project_fingerprint", "passed_at", fingerprint)
