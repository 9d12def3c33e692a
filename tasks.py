#!/usr/bin/env python3
"""Set-up and run from a fresh clone with nothing but Python 3.10+:

    python3 tasks.py demo      # the main job on the embedded sandboxes and a local DuckDB file
    python3 tasks.py test      # the whole test suite
    python3 tasks.py lint      # ruff (lint and format), sqlfluff for the dbt SQL, dbt parse
    python3 tasks.py bench     # the loader benchmark (prints figures against the targets)
    python3 tasks.py bench-build   # the dbt build benchmark (a new day on 0 vs 365 days)
    python3 tasks.py bench-post    # the posting benchmark (1,000 journals to each ERP sandbox)
    python3 tasks.py bench-night   # one night (load, build, post) for 500 locations x 300 orders
    python3 tasks.py bench-serve   # serve: webhook throughput and ack time; a night's due runs
    python3 tasks.py mutate    # break each accounting rule in a copy of dbt_project and show
                               # which mutations the tests miss (tests/mutations.py; not in CI)

Each creates ./.venv and installs closeout into it the first time (again when pyproject.toml
changes), then runs inside it. Extra arguments are passed on.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_environment() -> None:
    stamp = VENV / ".closeout-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating virtualenv in .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing closeout and its dependencies into .venv", flush=True)
    run([BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[test,contract]"])
    stamp.write_text(wanted)


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    """The finance page's test opens it in Debian's headless Chromium (pip's playwright cannot
    download its browsers here). Installed when missing and this is root on a Debian system;
    elsewhere the test fails and says how to install it."""
    if CHROMIUM.exists() or os.name == "nt" or os.geteuid() != 0:
        return
    if subprocess.run(["which", "apt-get"], capture_output=True).returncode:
        return
    print("installing Debian's chromium for the finance page's browser test", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
    run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, stdout=subprocess.DEVNULL)


def run(args, **kwargs) -> None:
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, **kwargs)
    if completed.returncode:
        raise SystemExit(completed.returncode)


def lint(fix: bool = False) -> None:
    """Every check must pass; with --fix, ruff and sqlfluff rewrite what they can first."""
    if fix:
        run([BIN / "ruff", "check", "--fix", "."])
        run([BIN / "ruff", "format", "."])
        run([BIN / "sqlfluff", "fix", "--quiet", *SQL_PATHS])
    run([BIN / "ruff", "check", "."])
    run([BIN / "ruff", "format", "--check", "."])
    run([BIN / "sqlfluff", "lint", *SQL_PATHS])
    with tempfile.TemporaryDirectory() as scratch:
        # dbt parse checks every model, macro and yml file without touching the warehouse.
        env = {
            **os.environ,
            "DBT_TARGET_PATH": scratch,
            "DBT_LOG_PATH": scratch,
            "CLOSEOUT_DB": os.path.join(scratch, "parse.duckdb"),
        }
        run(
            [
                BIN / "dbt",
                "parse",
                "--quiet",
                "--project-dir",
                "dbt_project",
                "--profiles-dir",
                ".",
            ],
            env=env,
        )
    print("lint: clean")


SQL_PATHS = ["dbt_project/models", "dbt_project/tests", "dbt_project/macros"]
TASKS = {
    "demo",
    "test",
    "lint",
    "bench",
    "bench-build",
    "bench-post",
    "bench-night",
    "bench-serve",
    "mutate",
}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in TASKS:
        raise SystemExit(__doc__)
    ensure_environment()
    task, rest = argv[0], argv[1:]
    if task == "demo":
        run([BIN / "closeout", "demo", *rest])
    elif task == "lint":
        lint(fix="--fix" in rest)
    elif task == "test":
        ensure_chromium()
        run([BIN / "python", "-m", "pytest", *rest])
    elif task == "bench":
        run([BIN / "python", "benchmarks/bench_load.py", *rest])
    elif task == "bench-build":
        run([BIN / "python", "benchmarks/bench_build.py", *rest])
    elif task == "bench-post":
        run([BIN / "python", "benchmarks/bench_post.py", *rest])
    elif task == "bench-night":
        run([BIN / "python", "benchmarks/bench_night.py", *rest])
    elif task == "bench-serve":
        run([BIN / "python", "benchmarks/bench_serve.py", *rest])
    elif task == "mutate":
        run([BIN / "python", "-m", "tests.mutations", *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
