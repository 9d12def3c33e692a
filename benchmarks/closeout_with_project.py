"""`closeout ...` with the dbt project (and so its seeds) at $CLOSEOUT_BENCH_DBT_PROJECT.

The reliability benchmark edits seeds to break builds; it must never edit dbt_project/seeds/
in the checkout others work in. The CLI has no option for another project, so this points
`transform.build.PROJECT_DIR` at a copy, as tests/test_build.py's `seeds_copy` fixture does,
then runs the command line unchanged:

    CLOSEOUT_BENCH_DBT_PROJECT=/tmp/x/dbt_project python benchmarks/closeout_with_project.py run
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    project = os.environ.get("CLOSEOUT_BENCH_DBT_PROJECT")
    if project:
        import transform.build

        transform.build.PROJECT_DIR = Path(project)
    from cli.main import main as closeout

    closeout(prog_name="closeout")


if __name__ == "__main__":
    main()
