"""Reliability benchmark: a seeded mix of faults over many `closeout run`s against each ERP
sandbox, then what each ERP holds against the warehouse's ready journals.

    flock /tmp/closeout-tests.lock .venv/bin/python benchmarks/bench_reliability.py
    ... --seed 3 --runs 30 --erp d365,infor --locations 3 --days 5 --jobs 2

Per ERP: a fresh `closeout sandbox` process (Toast and the ERPs), a fresh warehouse and a copy
of the dbt project under --workdir (the seeds edited are the copy's, never dbt_project/seeds/);
then --runs runs of `closeout run` as subprocesses, each under one fault drawn from the seed:

    kill_failpoint  CLOSEOUT_FAILPOINT=<posting failpoint>:N: the run SIGKILLs itself there
    kill_timer      SIGKILL of the run's process group at a random moment (load, build, post)
    erp_fault       drop / commit_drop / 5xx / slow on one ERP request (its /_sandbox/faults)
    toast_401       Toast's access token expired before the run (/_sandbox/expire_token)
    seed_edit       a duplicated locations.csv row or a bad value (the build fails), reverted
                    one or two runs later
    second_writer   another process holds the DuckDB file as the run starts, or a second
                    `closeout run` at the same time

and between runs late Toast edits (tips, voids, refunds, paying an open check) so that days
already posted change and adjustments are posted. Then one run without a fault, and the check,
against the ERP sandbox's own store (benchmarks/erp_store.py), never closeout's ledger: every
ready journal (finance.journals, journal_lines) is in the ERP (else "missing") exactly once as
an original with no key twice (else "duplicates"), its documents netting per account and
dimension to journal_lines (else "wrong amounts"). Target 0, 0, 0 after any number of runs;
the exit status is 1 when any is missed. Each run's output is kept in <workdir>/<erp>/runs/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import httpx
from erp_store import HeldDocument, control, held_documents

ROOT = Path(__file__).resolve().parents[1]
CLOSEOUT = [sys.executable, str(Path(__file__).with_name("closeout_with_project.py"))]
ERPS = ("d365", "intacct", "exact", "freshbooks", "infor")

TOAST_DATA_SEED = 7  # the sandbox restaurants seeds/locations.csv maps
ORDERS_PER_DAY = 20
RUN_TIMEOUT_SECONDS = 600  # a run taking longer is "hung", and killed
SETTLE_RUNS = 3  # clean runs at most to use up ERP faults no run has reached yet

FAULT_KINDS = (
    "kill_failpoint",
    "kill_timer",
    "erp_fault",
    "toast_401",
    "seed_edit",
    "second_writer",
)
POST_FAILPOINTS = ("post.after_attempt", "post.after_create")
ERP_FAILPOINTS = {
    "d365": ("d365.after_header",),
    "infor": ("infor.after_check",),
    "exact": ("exact.after_lost_answer",),
}
# Reached only once an answer was lost: injected together with a commit_drop of a create.
NEEDS_LOST_ANSWER = {"exact.after_lost_answer"}
# The requests that create documents, as each sandbox's fault rules match them; {} matches
# any request (a token, a look-up, a read-back).
CREATE_REQUESTS = {
    "d365": ({"path": "/data/LedgerJournalHeaders", "method": "POST"}, {"path": "/data/$batch"}),
    "intacct": ({"function": "create"},),
    "exact": ({"path": "GeneralJournalEntries", "method": "POST"},),
    "freshbooks": ({"path": "journal_entries", "method": "POST"},),
    "infor": (
        {"transaction": "AddBatchHead"},
        {"transaction": "AddBatchLine"},
        {"transaction": "UpdBatch"},
    ),
}
ERP_FAULT_NAMES = {"intacct": {"commit_drop": "commit_then_drop"}}  # Intacct's own names
LATE_EDIT_KINDS = ("add_tip", "add_tip", "void_selection", "void_order", "refund")
OPEN_CHECK_EDIT = "pay_open_check"
# closeout logs in to Toast at most twice an hour (Toast's limit): an expired token past that
# stops every load for the hour, so a toast_401 beyond it is a Toast 5xx/429/drop instead.
TOAST_LOGINS_PER_HOUR = 2
TOAST_FAULTS = (
    {"kind": "status", "status": 503},
    {"kind": "status", "status": 429, "retry_after": 1},
    {"kind": "drop"},
)


@dataclass
class SeedEdit:
    """A change to one seed file of the project copy that the build must refuse."""

    name: str
    file: str

    def apply(self, text: str) -> str:
        lines = text.rstrip("\n").split("\n")
        header, rows = lines[0].split(","), lines[1:]
        if self.name == "duplicated_location_row":
            rows.append(rows[0])
        else:  # a bad value: the column named after "bad_", in the first row
            column = header.index(self.name.removeprefix("bad_"))
            cells = rows[0].split(",")
            cells[column] = "not-a-value"
            rows[0] = ",".join(cells)
        return "\n".join([lines[0], *rows]) + "\n"


SEED_EDITS = (
    SeedEdit("duplicated_location_row", "locations.csv"),
    SeedEdit("bad_is_active", "locations.csv"),
    SeedEdit("bad_posting_start_date", "locations.csv"),
    SeedEdit("bad_over_short_tolerance", "settings.csv"),
)


@dataclass
class RunOutcome:
    number: int | str
    fault: str
    detail: str
    returncodes: list[int | None]
    seconds: float
    took: bool  # the fault happened (the kill came, the ERP fault fired, the build failed...)
    crashed: bool = False  # a Python traceback: a bug, not an operator message
    hung: bool = False
    reached_posting: bool = False  # every process of the run got to "Posting to <erp>"

    @property
    def result(self) -> str:
        def word(rc):
            return {0: "exit 0", 1: "exit 1", -signal.SIGKILL: "killed"}.get(rc, f"exit {rc}")

        words = " + ".join(word(rc) for rc in self.returncodes)
        return ("HUNG, killed" if self.hung else words) + (
            " CRASHED (traceback)" if self.crashed else ""
        )


@dataclass
class Check:
    ready: int = 0
    documents: int = 0
    journals_in_erp: int = 0
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    wrong_amounts: list[str] = field(default_factory=list)
    without_key: int = 0
    not_ready_in_erp: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return not (self.duplicates or self.missing or self.wrong_amounts)


@dataclass
class ErpResult:
    erp: str
    outcomes: list[RunOutcome]
    clean: RunOutcome | None
    late_edits: Counter
    check: Check
    seconds: float
    notes: list[str]
    error: str | None = None

    @property
    def met(self) -> bool:
        return self.error is None and self.clean is not None and self.clean.took and self.check.met


class Sandboxes:
    """A `closeout sandbox` process (Toast and every ERP sandbox) of one ERP's benchmark."""

    def __init__(self, workdir: Path, locations: int):
        ready = workdir / "sandbox-ready.json"
        log = (workdir / "sandbox.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli",
                "sandbox",
                "--port",
                "0",
                "--seed",
                str(TOAST_DATA_SEED),
                "--locations",
                str(locations),
                "--orders-per-day",
                str(ORDERS_PER_DAY),
                "--no-rate-limits",  # Toast's two logins an hour would make every run wait
                "--ready-file",
                str(ready),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox did not start; see {workdir / 'sandbox.log'}")
            time.sleep(0.1)
        info = json.loads(ready.read_text())
        self.urls: dict[str, str] = info["urls"]
        self.restaurants: list[str] = info["toast"]["restaurants"]
        self.env = {
            **info["erp_env"],  # with CLOSEOUT_SECRET_KEY: tokens are kept between runs
            "SOURCES__TOAST__BASE_URL": self.urls["toast"],
            "SOURCES__TOAST__CLIENT_ID": info["toast"]["client_id"],
            "SOURCES__TOAST__CLIENT_SECRET": info["toast"]["client_secret"],
        }

    def control(self, name: str, action: str, body=None):
        return control(self.urls[name], action, body)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ErpBench:
    """One ERP's runs under faults, the clean run and the check."""

    def __init__(self, erp: str, args: argparse.Namespace, say):
        self.erp = erp
        self.args = args
        self.say = say
        self.rng = random.Random(f"{args.seed}:{erp}")  # reproducible per ERP, whatever ran
        self.workdir = args.workdir / erp
        self.db = self.workdir / "warehouse.duckdb"
        self.project = self.workdir / "dbt_project"
        self.outcomes: list[RunOutcome] = []
        self.late_edits: Counter = Counter()
        self.notes: list[str] = []
        self.erp_rules = 0  # ERP fault rules added (each fires once)
        self.toast_logins: list[float] = []  # when the sandbox saw closeout log in
        # edited seed file -> (the run it is put back before, its text before any edit)
        self.reverts: dict[Path, tuple[int, str]] = {}

    # -- the benchmark of one ERP ---------------------------------------------------------
    def run(self) -> ErpResult:
        started = time.perf_counter()
        clean, check, error = None, Check(), None
        self._fresh_workdir()
        self.sandboxes = Sandboxes(self.workdir, self.args.locations)
        try:
            self.env = self._closeout_env()
            for number in range(1, self.args.runs + 1):
                self._revert_seeds(due=number)
                if number > 1:
                    self._late_edits()
                fault = self.rng.choice(FAULT_KINDS)
                self._record(getattr(self, f"_{fault}")(number))
            self._revert_seeds(due=None)
            clean = self._settle_and_run_clean()
            check = check_erp(self.erp, self.sandboxes.urls[self.erp], self.db)
        except Exception as exc:  # noqa: BLE001 - reported as the ERP's result
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self.sandboxes.stop()
        seconds = time.perf_counter() - started
        return ErpResult(
            self.erp, self.outcomes, clean, self.late_edits, check, seconds, self.notes, error
        )

    def _fresh_workdir(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        (self.workdir / "runs").mkdir(parents=True)
        shutil.copytree(
            ROOT / "dbt_project",
            self.project,
            ignore=shutil.ignore_patterns("logs", "dbt_packages"),
        )

    def _closeout_env(self) -> dict[str, str]:
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SOURCES__", "CLOSEOUT_", "ERP__"))
        }
        return {
            **inherited,
            **self.sandboxes.env,
            "ERP__TARGET": self.erp,
            "CLOSEOUT_DB": str(self.db),
            "CLOSEOUT_BENCH_DBT_PROJECT": str(self.project),
            # The last --days business dates and today's, as a scheduled run loads them.
            "SOURCES__TOAST__BACKFILL_DAYS": str(self.args.days + 1),
            "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test",  # they test SQL, not this data
            "PYTHONPATH": str(ROOT),
        }

    def _record(self, outcome: RunOutcome) -> None:
        self.outcomes.append(outcome)
        logins = self.sandboxes.control("toast", "stats")["logins"]
        self.toast_logins += [time.time()] * (logins - len(self.toast_logins))
        self.say(
            f"  {self.erp} run {outcome.number}: {outcome.fault} ({outcome.detail}) -> "
            f"{outcome.result}{'' if outcome.took else ', the fault did not take'} "
            f"in {outcome.seconds:.0f} s"
        )

    # -- running closeout -----------------------------------------------------------------
    def _start(self, name: str, extra_env: dict | None = None) -> subprocess.Popen:
        log = (self.workdir / "runs" / f"{name}.log").open("wb")
        return subprocess.Popen(
            [*CLOSEOUT, "run"],
            cwd=self.workdir,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill takes its children too
        )

    def _finish(self, process: subprocess.Popen, kill_after: float | None = None) -> str | None:
        """Wait for a run, SIGKILLing its group after `kill_after` s: "timer" when the timer
        killed it, "hung" when it outlived RUN_TIMEOUT_SECONDS. Whatever it leaves behind in
        its group is killed too, so that runs stay independent."""
        ended_by = None
        try:
            process.wait(timeout=kill_after or RUN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait()
            ended_by = "timer" if kill_after else "hung"
        _kill_group(process.pid)
        return ended_by

    def _log(self, name: str) -> str:
        return (self.workdir / "runs" / f"{name}.log").read_text(errors="replace")

    def _outcome(self, number, fault, detail, names, processes, started, ended_by):
        logs = [self._log(name) for name in names]
        return RunOutcome(
            number,
            fault,
            detail,
            [p.returncode for p in processes],
            time.perf_counter() - started,
            took=True,
            crashed=any("Traceback (most recent call last)" in log for log in logs),
            hung="hung" in ended_by,
            reached_posting=all("Posting to" in log for log in logs),
        )

    def _one_run(self, number, fault, detail, extra_env=None, kill_after=None, took=None):
        """One `closeout run`; `took(outcome, log)` says whether its fault happened (with
        `kill_after`: whether the timer killed it)."""
        name = f"{number:02d}-{fault}" if isinstance(number, int) else str(number)
        started = time.perf_counter()
        process = self._start(name, extra_env)
        ended_by = self._finish(process, kill_after)
        outcome = self._outcome(number, fault, detail, [name], [process], started, [ended_by])
        if took is not None:
            outcome.took = took(outcome, self._log(name))
        elif kill_after is not None:
            outcome.took = ended_by == "timer"
        return outcome

    # -- the faults -------------------------------------------------------------------------
    def _kill_failpoint(self, number: int) -> RunOutcome:
        point = self.rng.choice(POST_FAILPOINTS + ERP_FAILPOINTS.get(self.erp, ()))
        nth = self.rng.randint(1, 3)
        detail = f"CLOSEOUT_FAILPOINT={point}:{nth}"
        if point in NEEDS_LOST_ANSWER:
            rule = {"kind": "commit_drop", **CREATE_REQUESTS[self.erp][0]}
            self._add_erp_rule(rule)
            detail += " after a commit_drop"
        return self._one_run(
            number,
            "kill_failpoint",
            detail,
            extra_env={"CLOSEOUT_FAILPOINT": f"{point}:{nth}"},
            took=lambda outcome, _: outcome.returncodes == [-signal.SIGKILL],
        )

    def _kill_timer(self, number: int) -> RunOutcome:
        after = round(self.rng.uniform(1.0, self._typical_run_seconds()), 1)
        return self._one_run(number, "kill_timer", f"SIGKILL after {after} s", kill_after=after)

    def _erp_fault(self, number: int) -> RunOutcome:
        rule = self._erp_rule()
        fired_before = self._erp_faults_fired()
        self._add_erp_rule(rule)
        return self._one_run(
            number,
            "erp_fault",
            _describe_rule(rule),
            took=lambda *_: self._erp_faults_fired() > fired_before,
        )

    def _toast_401(self, number: int) -> RunOutcome:
        hour_ago = time.time() - 3600
        if sum(1 for at in self.toast_logins if at > hour_ago) >= TOAST_LOGINS_PER_HOUR:
            return self._toast_fault(number)
        logins_before = self.sandboxes.control("toast", "stats")["logins"]
        self.sandboxes.control("toast", "expire_token")
        return self._one_run(
            number,
            "toast_401",
            "Toast token expired",
            # a login that replaced the expired token (none to expire before the first)
            took=lambda *_: 0 < logins_before < self.sandboxes.control("toast", "stats")["logins"],
        )

    def _toast_fault(self, number: int) -> RunOutcome:
        rule = {**self.rng.choice(TOAST_FAULTS), "path": "/orders", "times": 1}
        fired_before = self.sandboxes.control("toast", "stats")["faults_fired"]
        self.sandboxes.control("toast", "faults", rule)
        return self._one_run(
            number,
            "toast_fault",
            f"instead of a 401, Toast's two logins an hour being spent: {_describe_rule(rule)}",
            took=lambda *_: self.sandboxes.control("toast", "stats")["faults_fired"] > fired_before,
        )

    def _seed_edit(self, number: int) -> RunOutcome:
        edit = self.rng.choice(SEED_EDITS)
        path = self.project / "seeds" / edit.file
        revert_at = number + self.rng.randint(1, 2)
        _, pristine = self.reverts.get(path, (revert_at, path.read_text()))
        self.reverts[path] = (revert_at, pristine)  # an edit on an edit: the latest revert
        path.write_text(edit.apply(path.read_text()))
        return self._one_run(
            number,
            "seed_edit",
            f"{edit.name} in {edit.file}, reverted before run {revert_at}",
            # refused before posting, whichever check (seed check, dbt test) refused it
            took=lambda outcome, log: outcome.returncodes != [0] and "Posting to" not in log,
        )

    def _second_writer(self, number: int) -> RunOutcome:
        if self.rng.random() < 0.5:
            return self._twin_runs(number)
        seconds = round(self.rng.uniform(3.0, 20.0), 1)
        holder = _hold_warehouse(self.db, seconds)
        try:
            return self._one_run(
                number,
                "second_writer",
                f"another process holds the DuckDB file for {seconds} s",
                took=lambda *_: True,
            )
        finally:
            holder.kill()
            holder.wait()

    def _twin_runs(self, number: int) -> RunOutcome:
        names = [f"{number:02d}-second_writer-a", f"{number:02d}-second_writer-b"]
        started = time.perf_counter()
        processes = [self._start(name) for name in names]
        ended_by = [self._finish(process) for process in processes]
        return self._outcome(
            number,
            "second_writer",
            "two closeout runs at once",
            names,
            processes,
            started,
            ended_by,
        )

    # -- fault helpers ----------------------------------------------------------------------
    def _erp_rule(self) -> dict:
        kind = self.rng.choice(("drop", "commit_drop", "status", "slow"))
        rule: dict = {"kind": kind, "times": 1, "skip": self.rng.randint(0, 1)}
        if kind == "status":
            rule["status"] = self.rng.choice((500, 502, 503, 504))
        if kind == "slow":
            rule["seconds"] = round(self.rng.uniform(1.0, 8.0), 1)
        rule.update(self.rng.choice((*CREATE_REQUESTS[self.erp], {})))
        return rule

    def _add_erp_rule(self, rule: dict) -> None:
        names = ERP_FAULT_NAMES.get(self.erp, {})
        self.sandboxes.control(
            self.erp, "faults", {**rule, "kind": names.get(rule["kind"], rule["kind"])}
        )
        self.erp_rules += 1

    def _erp_faults_fired(self) -> int:
        return int(self.sandboxes.control(self.erp, "stats").get("faults_fired", 0))

    def _typical_run_seconds(self) -> float:
        """How long a run takes here (the timer kills anywhere in it): the median of the
        single runs that posted and ended by themselves, 30 s before any did."""
        ended = [
            o.seconds for o in self.outcomes if o.reached_posting and o.returncodes in ([0], [1])
        ]
        return statistics.median(ended) if ended else 30.0

    def _revert_seeds(self, due: int | None) -> None:
        """Put back the seed files whose revert is due (`due` None: all of them)."""
        for path, (at, pristine) in list(self.reverts.items()):
            if due is None or at <= due:
                path.write_text(pristine)
                del self.reverts[path]

    # -- late Toast edits -------------------------------------------------------------------
    def _late_edits(self, count: int | None = None) -> None:
        for _ in range(self.rng.choice((0, 1, 1, 2)) if count is None else count):
            kind = self.rng.choice((*LATE_EDIT_KINDS, OPEN_CHECK_EDIT))
            candidates = _orders(self.db, ready_days=kind != OPEN_CHECK_EDIT)
            self.rng.shuffle(candidates)
            for restaurant, order in candidates[:8]:
                body = {"restaurant": restaurant, "order": order, "kind": kind}
                if _toast_edit(self.sandboxes.urls["toast"], body):
                    self.late_edits[kind] += 1
                    break

    # -- the end: use up leftover faults, one clean run -------------------------------------
    def _settle_and_run_clean(self) -> RunOutcome:
        for attempt in range(1, SETTLE_RUNS + 1):
            waiting = self.erp_rules - self._erp_faults_fired()
            if waiting <= 0:
                break
            self._late_edits(count=2)  # something to post, for the fault to fire on
            self._record(
                self._one_run(f"settle-{attempt}", "settle", f"{waiting} ERP fault(s) unused")
            )
        waiting = self.erp_rules - self._erp_faults_fired()
        if waiting > 0:
            self.notes.append(f"{waiting} ERP fault rule(s) never fired: the clean run was not")
        clean = self._one_run(
            "clean",
            "none",
            "no fault",
            # the check means something only if this run posted what the warehouse holds
            took=lambda outcome, _: outcome.reached_posting and not outcome.crashed,
        )
        self._record(clean)
        if not clean.took:
            errors = [line for line in self._log("clean").splitlines() if "Error" in line]
            self.notes.append(f"the clean run did not post: {(errors or ['?'])[-1][:300]}")
        return clean


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _describe_rule(rule: dict) -> str:
    where = ", ".join(f"{k}={v}" for k, v in rule.items() if k not in ("kind", "times"))
    return f"{rule['kind']} ({where or 'any request'})"


def _hold_warehouse(db: Path, seconds: float) -> subprocess.Popen:
    """A process holding the DuckDB file open for writing for `seconds`, once it holds it."""
    code = (
        "import duckdb, sys, time\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "print('holding', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(db), str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    holder.stdout.readline()  # "holding", or "" if it could not open the file
    return holder


def _orders(db: Path, *, ready_days: bool) -> list[tuple[str, str]]:
    """Orders of days whose sales journal is ready (posted, so an edit adjusts it), or held
    (where an open check may be paid); none before the first build."""
    status = "ready" if ready_days else "held"
    try:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(
                """
                select orders.restaurant_guid, orders.order_guid
                from toast_raw.orders as orders
                join finance.journals as journals
                  on journals.journal_id = orders.restaurant_guid || ':'
                     || orders.business_date || ':sales'
                where journals.status = ?
                order by 1, 2""",
                [status],
            ).fetchall()
    except duckdb.Error:
        return []


def _toast_edit(url: str, body: dict) -> bool:
    """Edit an order in Toast now; False when Toast has nothing of that kind to edit on it."""
    try:
        response = httpx.post(f"{url}/_sandbox/edit", json=body, timeout=30)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


# -- the check: the ERP's own store against the warehouse -------------------------------------
def check_erp(erp: str, url: str, db: Path) -> Check:
    ready = ready_journals(db)
    documents = held_documents(erp, url)
    by_identity: dict[str, list[HeldDocument]] = defaultdict(list)
    for document in documents:
        if document.identity:
            by_identity[document.identity].append(document)
    keys = Counter(d.key for d in documents if d.key)
    check = Check(
        ready=len(ready),
        documents=len(documents),
        journals_in_erp=len(by_identity),
        without_key=sum(1 for d in documents if d.key is None),
        not_ready_in_erp=len(set(by_identity) - set(ready)),
    )
    for identity, (journal_id, net) in sorted(ready.items()):
        held = by_identity.get(identity, [])
        if not held:
            check.missing.append(journal_id)
            continue
        originals = [d for d in held if d.sequence == 0]
        if len(originals) > 1 or any(keys[d.key] > 1 for d in held):
            check.duplicates.append(journal_id)
        if _combined(held) != net:
            check.wrong_amounts.append(journal_id)
    problems = {*check.missing, *check.duplicates, *check.wrong_amounts}
    for identity, (journal_id, net) in sorted(ready.items()):
        if journal_id in problems:
            check.details.append(_explain(journal_id, net, by_identity.get(identity, []), db))
    return check


def ready_journals(db: Path) -> dict[str, tuple[str, dict]]:
    """identity (the key's journal part) -> (journal_id, net per account and dimensions)."""
    with duckdb.connect(str(db), read_only=True) as con:
        journals = con.execute(
            "select journal_id, restaurant_guid, business_date, journal_type "
            "from finance.journals where status = 'ready'"
        ).fetchall()
        lines = con.execute(
            """
            select journal_id, account_code, nullif(location_dimension, ''),
                   nullif(revenue_center_dimension, ''), sum(debit) - sum(credit)
            from finance.journal_lines join finance.journals using (journal_id)
            where journals.status = 'ready'
            group by all"""
        ).fetchall()
    nets: dict[str, dict] = defaultdict(dict)
    for journal_id, account, location, center, amount in lines:
        if amount:
            nets[journal_id][(str(account), location, center)] = Decimal(amount)
    return {
        f"CO-{day:%Y%m%d}-{guid[:8]}-{kind[:1].upper()}": (journal_id, nets[journal_id])
        for journal_id, guid, day, kind in journals
    }


def _combined(documents: list[HeldDocument]) -> dict:
    net: dict = defaultdict(Decimal)
    for document in documents:
        for key, amount in document.net.items():
            net[key] += amount
    return {key: amount for key, amount in net.items() if amount}


def _explain(journal_id: str, net: dict, held: list[HeldDocument], db: Path) -> str:
    """What the ERP holds for a journal that missed, and (for diagnosis only) what closeout's
    ledger says it did."""
    documents = ", ".join(
        f"{d.key or sorted(d.keys)} ({d.document_id}, {d.line_count} lines)" for d in held
    )
    difference = {
        key: amount
        for key in {*net, *_combined(held)}
        if (amount := _combined(held).get(key, 0) - net.get(key, 0))
    }
    shown = ", ".join(
        f"{'/'.join(p or '-' for p in k)} {v:+}" for k, v in sorted(difference.items())
    )
    return (
        f"{journal_id}: ERP holds [{documents or 'nothing'}]"
        + (f"; ERP minus journal_lines: {shown}" if difference and held else "")
        + f"; ledger: {_ledger_says(db, journal_id)}"
    )


def _ledger_says(db: Path, journal_id: str) -> str:
    try:
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute(
                "select kind, status, idempotency_key from closeout_posting.postings "
                "where journal_id = ? order by sequence",
                [journal_id],
            ).fetchall()
    except duckdb.Error as exc:
        return f"unreadable ({exc})"
    return ", ".join(f"{kind} {status} {key}" for kind, status, key in rows) or "nothing"


# -- printing ------------------------------------------------------------------------------------
def print_result(result: ErpResult, args: argparse.Namespace) -> None:
    injected = Counter(o.fault for o in result.outcomes if o.fault not in ("settle", "none"))
    took = Counter(o.fault for o in result.outcomes if o.took and o.fault in injected)
    runs = [o for o in result.outcomes if o.fault not in ("settle", "none")]
    settle = len(result.outcomes) - len(runs) - (1 if result.clean else 0)
    print(
        f"\n  {result.erp}: {len(runs)} runs + {settle} settling + 1 clean "
        f"in {result.seconds:.0f} s"
    )
    if result.error:
        print(f"    benchmark error                  {result.error}")
    print(
        f"    faults injected        {sum(injected.values()):4d}   "
        + ", ".join(f"{kind} {n} ({took[kind]} took)" for kind, n in sorted(injected.items()))
    )
    edits = ", ".join(f"{kind} {n}" for kind, n in sorted(result.late_edits.items()))
    print(f"    late Toast edits       {sum(result.late_edits.values()):4d}   {edits}")
    print(f"    run results                   {_result_counts(result.outcomes)}")
    if result.clean:
        posted = "MET" if result.clean.took else "MISSED"
        print(f"    clean run                     {result.clean.result}, reached posting  {posted}")
    check = result.check
    print(
        f"    journals in the ERP    {check.journals_in_erp:4d}   ({check.documents} documents; "
        f"{check.ready} ready in the warehouse; {check.not_ready_in_erp} of journals held now; "
        f"{check.without_key} without one closeout key)"
    )
    for label, found in (
        ("duplicates", check.duplicates),
        ("missing", check.missing),
        ("wrong amounts", check.wrong_amounts),
    ):
        verdict = "MET" if not found and not result.error else "MISSED"
        print(f"    {label:<22} {len(found):4d}   target 0  {verdict}")
    for note in result.notes:
        print(f"    note: {note}")
    for detail in check.details[:10]:
        print(f"      {detail}")
    if not result.met:
        print(
            f"    reproduce: python benchmarks/bench_reliability.py --seed {args.seed} "
            f"--runs {args.runs} --erp {result.erp} --locations {args.locations} "
            f"--days {args.days}   (logs: {args.workdir / result.erp / 'runs'})"
        )


def _result_counts(outcomes: list[RunOutcome]) -> str:
    counts = Counter(o.result for o in outcomes)
    return ", ".join(f"{result} {n}" for result, n in sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault mix")
    parser.add_argument("--runs", type=int, default=8, help="faulted runs per ERP")
    parser.add_argument("--erp", default=",".join(ERPS), help="comma-separated ERPs")
    parser.add_argument("--locations", type=int, default=2)
    parser.add_argument("--days", type=int, default=3, help="closed business days loaded")
    parser.add_argument("--jobs", type=int, default=2, help="ERPs benchmarked at once")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/reliability"))
    args = parser.parse_args()
    erps = [e.strip() for e in args.erp.split(",") if e.strip()]
    unknown = [e for e in erps if e not in ERPS]
    if unknown:
        parser.error(f"unknown ERP {', '.join(unknown)}; one of {', '.join(ERPS)}")

    print(
        f"Reliability benchmark: seed {args.seed}, {args.runs} runs per ERP, "
        f"{args.locations} locations x {args.days} days, ERPs {', '.join(erps)}"
    )
    printing = threading.Lock()

    def say(line: str) -> None:
        with printing:
            print(line, flush=True)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda erp: ErpBench(erp, args, say).run(), erps))
    for result in results:
        print_result(result, args)
    missed = [r.erp for r in results if not r.met]
    print(
        f"\n  all ERPs: {time.perf_counter() - started:.0f} s; "
        + (f"targets MISSED for {', '.join(missed)}" if missed else "every target MET")
    )
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
