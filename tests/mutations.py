"""Which accounting rules the tests guard: `python3 tasks.py mutate [NAME ...] [--check]`.

Each mutation breaks one rule of the accounting models in a COPY of dbt_project (the working
tree is never touched) and runs the tests that should notice: dbt's unit tests (`dbt test
--select test_type:unit` on the copy, against a warehouse the unmutated baseline built) and the
pytest files that load hand-built orders and build them for real, pointed at the copy. A
mutation no test notices SURVIVES: a rule nothing guards. Prints one row per mutation
(mutation, tests run, killed/survived, the failing tests, seconds).

Exit status: 0 when every mutation is killed; 1 when one survives or no longer applies (the
text it replaces changed: rewrite the mutation); 2 when the unmutated baseline already fails
(then nothing can be concluded). `--check` only applies each mutation to a copy and reports the
ones that no longer apply, in seconds.

Not part of CI (two or three minutes a mutation); run it before resolving an accounting issue.
Each mutation's test runs hold /tmp/closeout-tests.lock (flock) together, so they never overlap
another heavy run; the seconds shown are the tests', not the wait for the lock.

How pytest is pointed at the copy: this module is also a pytest plugin (`-p tests.mutations`)
whose pytest_configure sets transform.build.PROJECT_DIR from CLOSEOUT_MUTANT_PROJECT, the one
place that variable is read. It is not collected as a test module (no test_ prefix).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "dbt_project"
BIN = Path(sys.executable).parent
LOCK = "/tmp/closeout-tests.lock"
PROJECT_ENV = "CLOSEOUT_MUTANT_PROJECT"
ACCOUNT_TESTS = "tests/test_journal_accounts.py"

FINANCE = "models/intermediate/finance"
RULES = "macros/finance/finance_rules.sql"


@dataclass(frozen=True)
class Edit:
    path: str  # inside dbt_project
    old: str  # must occur exactly once
    new: str


@dataclass(frozen=True)
class Mutation:
    name: str
    rule: str
    edits: tuple[Edit, ...]
    pytest: tuple[str, ...] = (ACCOUNT_TESTS,)
    unit_tests: bool = True


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "swap_tips_and_gratuity_payable",
        "card tips credit tips payable, gratuity credits gratuity payable",
        (
            Edit(
                f"{FINANCE}/int_payments_journaled.sql",
                "account_role=\"'tips_payable'\",",
                "account_role=\"'gratuity_payable'\",",
            ),
            Edit(
                RULES,
                "when 'gratuity' then 'gratuity_payable'",
                "when 'gratuity' then 'tips_payable'",
            ),
        ),
    ),
    Mutation(
        "tip_refund_to_gratuity_payable",
        "a tip refund debits tips payable",
        (
            Edit(
                f"{FINANCE}/int_refunds_journaled.sql",
                "line_kind=\"'refund_tip'\",\n            entry_side=\"'debit'\",\n"
                "            entry_source=\"'refund'\",\n            account_source=\"'role'\",\n"
                "            account_role=\"'tips_payable'\",",
                "line_kind=\"'refund_tip'\",\n            entry_side=\"'debit'\",\n"
                "            entry_source=\"'refund'\",\n            account_source=\"'role'\",\n"
                "            account_role=\"'gratuity_payable'\",",
            ),
        ),
    ),
    Mutation(
        "refunds_on_the_orders_date",
        "a refund belongs to the refund's business date, not the order's",
        (
            Edit(
                f"{FINANCE}/int_refunds_journaled.sql",
                "refunds.refund_business_date as business_date,",
                "refunds.order_business_date as business_date,",
            ),
        ),
    ),
    Mutation(
        "check_discount_on_the_largest_selection",
        "a check discount is shared over the check's items in proportion",
        (
            Edit(
                f"{FINANCE}/int_check_discounts_spread.sql",
                "        rounded_share_cents\n        + case\n            when weight_rank = 1\n"
                "                then discount_cents - sum(rounded_share_cents) over (\n"
                "                    partition by restaurant_guid, applied_discount_guid)\n"
                "            else 0\n          end as share_cents",
                "        case when weight_rank = 1 then discount_cents else 0 end as share_cents",
            ),
        ),
    ),
    Mutation(
        "voided_payment_is_a_tender",
        "a voided payment moved no money",
        (
            Edit(
                RULES,
                "        when coalesce({{ payments }}.is_voided, false)\n"
                "            or {{ payments }}.void_business_date is not null then 'left_out'\n",
                "",
            ),
            Edit(
                RULES,
                "payment_status in ('CAPTURED', 'AUTHORIZED', 'CAPTURE_IN_PROGRESS')",
                "payment_status in ('CAPTURED', 'AUTHORIZED', 'CAPTURE_IN_PROGRESS', 'VOIDED')",
            ),
        ),
    ),
    Mutation(
        "tender_without_its_tip",
        "a tender is the payment's amount plus its tip",
        (
            Edit(
                f"{FINANCE}/int_payments_journaled.sql",
                'amount="amount + tip_amount",',
                'amount="amount",',
            ),
        ),
    ),
    Mutation(
        "tax_rounded_per_applied_tax",
        "per-rate tax is summed at full precision and rounded once per rate and day",
        (
            Edit(
                f"{FINANCE}/int_taxes_journaled.sql",
                "cast(sum(tax_amount_exact) * 1000000000000 as hugeint) as exact_units",
                "cast(sum(round(tax_amount_exact, 2)) * 1000000000000 as hugeint) as exact_units",
            ),
        ),
    ),
    Mutation(
        "gift_card_sold_is_revenue",
        "a gift card sold (deferred) credits the gift card liability, not sales",
        (
            Edit(
                RULES,
                "or coalesce({{ display_name }} = 'Gift Card', false) then 'gift_card_sales'",
                "or coalesce({{ display_name }} = 'Gift Card', false) then 'sales'",
            ),
        ),
    ),
    Mutation(
        "house_account_payment_is_revenue",
        "a house account payment credits the receivable, not sales",
        (
            Edit(
                RULES,
                "            then 'house_account_payments'",
                "            then 'sales'",
            ),
        ),
    ),
    Mutation(
        "gratuity_is_revenue",
        "gratuity credits gratuity payable, never revenue",
        (Edit(RULES, "        when coalesce({{ gratuity }}, false) then 'gratuity'\n", ""),),
    ),
    Mutation(
        "donations_are_revenue",
        "fundraising charges credit donations payable, never revenue",
        (
            Edit(
                RULES, "        when {{ category }} = 'FUNDRAISING_CAMPAIGN' then 'donations'\n", ""
            ),
        ),
    ),
    Mutation(
        "modifiers_counted_again",
        "a modifier's price is already inside its parent's",
        (
            Edit(
                f"{FINANCE}/int_selections_classified.sql",
                "    where parent_selection_guid is null\n"
                "      and not coalesce(is_modifier, false)\n"
                "      and not coalesce(voided, false)",
                "    where not coalesce(voided, false)",
            ),
        ),
    ),
    Mutation(
        "later_paid_check_not_receivable",
        "what a check still owes at the end of its day goes to unpaid checks",
        (
            Edit(
                f"{FINANCE}/int_unpaid_checks_journaled.sql",
                "where (payment_status = 'OPEN' or other_day_payment_count > 0)",
                "where payment_status = 'OPEN'",
            ),
        ),
    ),
    Mutation(
        "over_short_to_default_revenue",
        "over/short posts to the over_short role's account",
        (
            Edit(
                "models/marts/finance/journal_lines.sql",
                "and role.source_key = 'over_short'",
                "and role.source_key = 'default_revenue'",
            ),
        ),
    ),
    Mutation(
        "unnesting_keeps_one_service_charge",
        "orders are unnested completely (checks tie to their lines)",
        (
            Edit(
                "models/staging/toast/stg_toast__applied_service_charges.sql",
                "unnest(check_doc.appliedServiceCharges) as charge_doc",
                "unnest(check_doc.appliedServiceCharges[1:1]) as charge_doc",
            ),
        ),
    ),
)


@dataclass
class Outcome:
    name: str
    suites: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stale: str | None = None

    @property
    def result(self) -> str:
        if self.stale:
            return "STALE"
        return "killed" if self.failures else "SURVIVED"


# -- the copy ------------------------------------------------------------------------------------


def copy_project(dest: Path) -> Path:
    shutil.copytree(PROJECT, dest, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return dest


def apply(mutation: Mutation, project: Path) -> None:
    """Apply the edits; ValueError naming the edit that no longer applies."""
    for edit in mutation.edits:
        path = project / edit.path
        text = path.read_text()
        found = text.count(edit.old)
        if found != 1:
            raise ValueError(f"{edit.path}: the text to replace occurs {found} times")
        path.write_text(text.replace(edit.old, edit.new))


# -- running the tests ---------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")
DBT_FAILURE = re.compile(r"(?:Failure|Error) in (unit_test|test|model) ([\w.]+)")
PYTEST_FAILURE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


@contextmanager
def test_lock() -> Iterator[None]:
    """Hold /tmp/closeout-tests.lock (as `flock` does) while a mutation's tests run."""
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(args: list, env: dict[str, str]) -> tuple[int, str]:
    completed = subprocess.run(
        [str(arg) for arg in args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return completed.returncode, ANSI.sub("", completed.stdout + completed.stderr)


def dbt_failures(output: str) -> list[str]:
    return sorted({f"dbt {kind} {name}" for kind, name in DBT_FAILURE.findall(output)})


def run_unit_tests(project: Path, warehouse: Path) -> tuple[bool, list[str], str]:
    env = {**os.environ, "CLOSEOUT_DB": str(warehouse)}
    code, output = run(
        [
            BIN / "dbt",
            "test",
            "--select",
            "test_type:unit",
            "--project-dir",
            project,
            "--profiles-dir",
            ROOT,
        ],
        env,
    )
    return code == 0, dbt_failures(output), output


def run_pytest(
    project: Path, files: tuple[str, ...], basetemp: Path
) -> tuple[bool, list[str], str]:
    env = {
        **os.environ,
        PROJECT_ENV: str(project),
        # the build in the tests leaves the unit tests out: they run on their own above, so
        # a failure here is the journal's, not a unit test failing inside `dbt build`
        "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test",
    }
    code, output = run(
        [
            BIN / "python",
            "-m",
            "pytest",
            "-q",
            "-rfE",
            "-p",
            "tests.mutations",
            "-p",
            "no:cacheprovider",
            f"--basetemp={basetemp}",
            *files,
        ],
        env,
    )
    tests = sorted({f"pytest {node.split('::', 1)[-1]}" for node in PYTEST_FAILURE.findall(output)})
    # a build that fails inside a fixture: name the dbt nodes that stopped it
    return code == 0, tests + dbt_failures(output), output


def run_mutation(mutation: Mutation, workdir: Path, warehouse: Path) -> Outcome:
    outcome = Outcome(mutation.name)
    project = copy_project(workdir / mutation.name / "dbt_project")
    try:
        apply(mutation, project)
    except ValueError as exc:
        outcome.stale = str(exc)
        return outcome
    with test_lock():
        started = time.monotonic()  # the time the tests took, not the wait for the lock
        if mutation.unit_tests:
            outcome.suites.append("dbt unit tests")
            ok, failures, output = run_unit_tests(project, warehouse)
            (workdir / mutation.name / "unit-tests.log").write_text(output)
            outcome.failures += failures or ([] if ok else ["dbt unit tests (no test named)"])
        if mutation.pytest:
            outcome.suites += [Path(f).name for f in mutation.pytest]
            basetemp = workdir / mutation.name / "pytest"
            ok, failures, output = run_pytest(project, mutation.pytest, basetemp)
            (workdir / mutation.name / "pytest.log").write_text(output)
            outcome.failures += failures or ([] if ok else ["pytest (no test named)"])
        outcome.seconds = time.monotonic() - started
    return outcome


def baseline(workdir: Path) -> Path:
    """Run the suites on the unmutated copy; the warehouse it built (for the unit tests)."""
    project = copy_project(workdir / "baseline" / "dbt_project")
    basetemp = workdir / "baseline" / "pytest"
    with test_lock():
        ok, failures, output = run_pytest(project, (ACCOUNT_TESTS,), basetemp)
        if ok:
            warehouse = next(basetemp.rglob("warehouse.duckdb"))
            ok, failures, output = run_unit_tests(project, warehouse)
    if not ok:
        print(output[-4000:])
        print(f"the unmutated baseline fails ({', '.join(failures)}): fix that first")
        raise SystemExit(2)
    return warehouse


def print_table(outcomes: list[Outcome]) -> None:
    rows = [("mutation", "tests run", "result", "seconds", "killed by")]
    for o in outcomes:
        detail = o.stale or ", ".join(o.failures) or "-"
        rows.append((o.name, " + ".join(o.suites) or "-", o.result, f"{o.seconds:.0f}", detail))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        print("  ".join([*cells, row[4]]))
    total = sum(o.seconds for o in outcomes)
    killed = sum(o.result == "killed" for o in outcomes)
    print(f"\n{killed} of {len(outcomes)} killed, {total:.0f} s of mutation runs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tasks.py mutate", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--check", action="store_true", help="only check that each applies")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (each run's output)"
    )
    args = parser.parse_args(argv)
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:<40} {m.rule}")
        return 0
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation(s): {', '.join(sorted(unknown))} (see --list)")
    by_name = {m.name: m for m in MUTATIONS}
    chosen = [by_name[name] for name in dict.fromkeys(args.names)] or list(MUTATIONS)
    workdir = Path(tempfile.mkdtemp(prefix="closeout-mutants-"))
    try:
        if args.check:
            stale = []
            for m in chosen:
                try:
                    apply(m, copy_project(workdir / m.name / "dbt_project"))
                except ValueError as exc:
                    stale.append(f"{m.name}: {exc}")
            print("\n".join(stale) or f"all {len(chosen)} mutations apply")
            return 1 if stale else 0
        print(f"baseline (unmutated copy) in {workdir}", flush=True)
        warehouse = baseline(workdir)
        outcomes = []
        for m in chosen:
            outcome = run_mutation(m, workdir, warehouse)
            print(f"{m.name}: {outcome.result} ({outcome.seconds:.0f} s)", flush=True)
            outcomes.append(outcome)
        print()
        print_table(outcomes)
        return 0 if all(o.result == "killed" for o in outcomes) else 1
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# -- pytest plugin (-p tests.mutations) ----------------------------------------------------------


def pytest_configure(config) -> None:
    """Point the build at the mutated copy named by CLOSEOUT_MUTANT_PROJECT."""
    project = os.environ.get(PROJECT_ENV)
    if project:
        from transform import build

        build.PROJECT_DIR = Path(project)


if __name__ == "__main__":
    raise SystemExit(main())
