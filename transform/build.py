"""`closeout build`: dbt build over the warehouse, through dbt's Python runner.

dbt's own output goes to the terminal as it runs; what comes back is a summary the CLI (and
`closeout run`) can act on: structural failures stop posting, business warnings hold only the
journals they name.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from closeout import audit, warehouse
from closeout.errors import ConfigurationError
from closeout.warehouse import RAW_DATASET, warehouse_path

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


def run_build(
    *, full_refresh: bool = False, select: tuple[str, ...] = (), quiet: bool = False
) -> BuildResult:
    """dbt build on the project; rebuilds the mapped models in full when the seeds changed."""
    from dbt.cli.main import dbtRunner

    os.environ.setdefault("CLOSEOUT_DB", str(warehouse_path()))
    _require_loaded_warehouse()
    check_seed_headers()
    with warehouse.connect() as con:
        audit.ensure_tables(con)  # the load and build records the models read as sources
    fingerprint = seeds_fingerprint()
    mappings_changed = not full_refresh and _last_fingerprint() not in (None, fingerprint)
    common = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROFILES_DIR)]
    if quiet:
        common.append("--quiet")
    runner = dbtRunner()
    invocations = [
        [
            "build",
            *common,
            *(["--full-refresh"] if full_refresh else []),
            *(["--select", *select] if select else []),
        ]
    ]
    if mappings_changed and not select:
        # Seeds are recreated (an accountant may have added or renamed a column, which dbt
        # only accepts with --full-refresh), then every unposted day is re-mapped.
        invocations = [
            ["seed", *common, "--full-refresh"],
            ["build", *common, "--exclude", *MAPPED_MODELS.split()],
            ["build", *common, "--full-refresh", "--select", *MAPPED_MODELS.split()],
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
    with warehouse.connect() as con:
        # Posting reads the marts only after a build that passed (ACCOUNTING.md).
        audit.record_build(con, result.ok, [problem.name for problem in result.errors])
    if result.ok:
        _remember_fingerprint(fingerprint)
    return result


def check_seed_headers(project_dir: Path | None = None) -> None:
    """Each mapping CSV's header must name exactly the columns seeds/_seeds.yml pins: dbt
    otherwise fails deep in DuckDB's CSV reader. Raise what to change, in the accountant's
    terms."""
    import csv

    import yaml

    seeds_dir = (project_dir or PROJECT_DIR) / "seeds"
    declared = {
        seed["name"]: list(seed.get("config", {}).get("column_types", {}))
        for seed in yaml.safe_load((seeds_dir / "_seeds.yml").read_text())["seeds"]
    }
    problems = []
    for path in sorted(seeds_dir.glob("*.csv")):
        expected = declared.get(path.stem)
        if not expected:
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        extra = [c for c in header if c not in expected]
        missing = [c for c in expected if c not in header]
        if extra or missing:
            problems.append(
                f"seeds/{path.name}: "
                + (f"column(s) {', '.join(extra)} not declared" if extra else "")
                + ("; " if extra and missing else "")
                + (f"column(s) {', '.join(missing)} missing" if missing else "")
            )
    if problems:
        raise ConfigurationError(
            "the mapping files do not match their declared columns:\n  "
            + "\n  ".join(problems)
            + "\nA column not declared: add it to that seed's column_types in "
            "dbt_project/seeds/_seeds.yml (or take it out of the CSV). A column missing: add it "
            "to the CSV's header, with empty values where the default will do (a column a new "
            "release added, such as settings.csv's open_check_grace_days, is described in "
            "_seeds.yml)."
        )


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
                )
            )


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


def _last_fingerprint() -> str | None:
    path = warehouse_path()
    if not path.exists():
        return None
    with warehouse.connect(read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = 'build_state'",
            [AUDIT_SCHEMA],
        ).fetchone()[0]
        if not found:
            return None
        row = con.execute(f"select seeds_fingerprint from {AUDIT_SCHEMA}.build_state").fetchone()
        return row[0] if row else None


def _remember_fingerprint(fingerprint: str) -> None:
    with warehouse.connect() as con:
        con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
        con.execute(
            f"create table if not exists {AUDIT_SCHEMA}.build_state "
            "(seeds_fingerprint varchar, built_at timestamptz)"
        )
        con.execute(f"delete from {AUDIT_SCHEMA}.build_state")
        con.execute(
            f"insert into {AUDIT_SCHEMA}.build_state values (?, current_timestamp)", [fingerprint]
        )
