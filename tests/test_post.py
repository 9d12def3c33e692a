"""load -> build -> post against the Toast and ERP sandboxes, over real HTTP and a real DuckDB
file: what reaches the ledger equals journal_lines, exactly once, whatever happens."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
from click.testing import CliRunner

from cli.main import main
from loaders.pipeline import run_load
from loaders.toast.windows import current_business_date
from posting.connectors.registry import open_connector
from posting.post import post_journals
from tests.erps import ErpLine, adapter, erp_documents, net_by_account
from transform import build as transform

ROOT = Path(__file__).resolve().parents[1]
DAY = (datetime.now(timezone.utc) - timedelta(days=35)).date()  # closed and settled


def query(db: Path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params).fetchall()


# Business-date range -> a warehouse (and its .closeout state) built from it into an empty file.
# Every ERP's tests start from the same days; loading and building them is what test_load and
# test_build prove, here it would only take time, once per test and ERP.
_BUILT: dict[tuple[date, date], Path] = {}
_BUILT_DIR = tempfile.TemporaryDirectory(prefix="closeout-built-")


def load_and_build(toast, first=DAY, last=DAY) -> None:
    toast.freeze(datetime.now(timezone.utc))
    db = Path(os.environ["CLOSEOUT_DB"])
    state = db.parent / ".closeout"
    if not db.exists() and (first, last) in _BUILT:
        built = _BUILT[(first, last)]
        for file in built.glob(db.name + "*"):  # the file and any write-ahead log
            shutil.copyfile(file, db.parent / file.name)
        shutil.copytree(built / ".closeout", state, dirs_exist_ok=True)
        return
    empty = not db.exists()
    assert run_load(business_date_range=(first, last)).ok
    result = transform.run_build(quiet=True)
    assert result.ok, [f"{p.name}: {p.message}" for p in result.errors]
    if empty:
        built = Path(_BUILT_DIR.name) / f"{first}_{last}"
        built.mkdir()
        for file in db.parent.glob(db.name + "*"):
            shutil.copyfile(file, built / file.name)
        shutil.copytree(state, built / ".closeout")
        _BUILT[(first, last)] = built


def post(erp: str, **options):
    return post_journals(erp, lambda ledger: open_connector(erp, ledger), **options)


def ready_journals(db: Path) -> dict[str, str]:
    return dict(
        query(db, "select journal_id, version from finance.journals where status = 'ready'")
    )


def journal_net(db: Path, journal_id: str) -> dict[tuple, Decimal]:
    rows = query(
        db,
        """select account_code, debit, credit, location_dimension,
                               revenue_center_dimension
                        from finance.journal_lines where journal_id = ?""",
        (journal_id,),
    )
    return net_by_account(ErpLine(a, d, c, loc, rc) for a, d, c, loc, rc in rows)


def ledger(db: Path) -> dict[str, tuple]:
    """journal_id -> (status, key, document id, kind) of each posting, in order."""
    rows = query(
        db,
        "select journal_id, status, idempotency_key, erp_document_id, kind "
        "from closeout_posting.postings order by journal_id, sequence",
    )
    found: dict[str, list] = {}
    for journal_id, *rest in rows:
        found.setdefault(journal_id, []).append(tuple(rest))
    return found


def a_posted_card_order(db: Path) -> tuple[str, str, date]:
    """A paid card order of a day whose journal was posted: editing it changes a tip."""
    return query(
        db,
        """
        select orders.restaurant_guid, orders.order_guid, orders.business_date
        from toast_raw.orders as orders
        join closeout_posting.postings as postings
          on postings.journal_id = orders.restaurant_guid || ':' || orders.business_date
                                   || ':sales' and postings.status = 'posted'
        where not (order_json::json->>'voided')::boolean
          and order_json like '%"type":"CREDIT"%'
          and order_json not like '%"paymentStatus":"OPEN"%'
        order by orders.restaurant_guid, orders.order_guid limit 1""",
    )[0]


def the_adjustment(report, journal_id: str, db: Path, edited_order: str, since: datetime):
    """The edited journal's one adjustment. The sandbox, like Toast, also edits records by
    itself (late tips, refunds, a manager's clock-out correction) while a test runs, so other
    journals may be adjusted in the same night: each must be of a restaurant where Toast
    changed another order (sales) or a time entry (labor) after `since`."""
    adjusted = report.by_state("adjusted")
    mine = [o for o in adjusted if o.journal_id == journal_id]
    assert len(mine) == 1, [o.journal_id for o in adjusted]
    others = {o.journal_id for o in adjusted if o.journal_id != journal_id}
    if others:
        changed_by_toast = {
            f"{restaurant}:{journal_type}"
            for restaurant, journal_type in query(
                db,
                "select distinct restaurant_guid, 'sales' from toast_raw.orders "
                "where modified_at > ? and order_guid <> ? "
                "union select distinct restaurant_guid, 'labor' from toast_raw.time_entries "
                "where modified_at > ?",
                (since, edited_order, since),
            )
        }
        unexplained = {
            other
            for other in others
            if f"{other.split(':')[0]}:{other.split(':')[2]}" not in changed_by_toast
        }
        assert not unexplained, unexplained
    return mine[0]


def test_ready_journals_post_once_and_equal_journal_lines(toast_env, warehouse, erp):
    load_and_build(toast_env, DAY - timedelta(days=1), DAY)
    ready = ready_journals(warehouse)
    assert len(ready) >= 2 * len(toast_env.restaurants)

    report = post(erp)

    assert not report.by_state("failed") and report.stopped is None
    posted = ledger(warehouse)
    documents = {doc.key: doc for doc in erp_documents(toast_env, erp)}
    assert len(documents) == len(ready)
    for journal_id in ready:
        [(status, key, document_id, kind)] = posted[journal_id]
        assert (status, kind) == ("posted", "original")
        document = documents[key]
        assert document.document_id.lower() == document_id.lower()
        assert document.balanced
        assert net_by_account(document.lines) == journal_net(warehouse, journal_id)
    held = {
        j
        for (j,) in query(
            warehouse, "select journal_id from finance.journals where status = 'held'"
        )
    }
    assert not held & set(posted)

    creates_before = adapter(erp).create_requests(toast_env)
    again = post(erp)
    assert not again.by_state("posted") and not again.by_state("adjusted")
    assert len(erp_documents(toast_env, erp)) == len(ready)
    assert adapter(erp).create_requests(toast_env) == creates_before


def test_sigkill_at_each_step_still_posts_every_journal_exactly_once(toast_env, warehouse, erp):
    load_and_build(toast_env)
    ready = ready_journals(warehouse)
    points = ("post.after_attempt", "post.after_create", *adapter(erp).FAILPOINTS)
    for point in points:
        toast_env.erp_control(erp, "reset")
        with duckdb.connect(str(warehouse)) as con:
            con.execute("drop schema if exists closeout_posting cascade")

        killed = _post_process(erp, failpoint=f"{point}:2")  # dies on the second journal
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        finished = _post_process(erp)
        assert finished.returncode in (0, 1), (point, finished.stderr)

        keys = Counter(doc.key for doc in erp_documents(toast_env, erp))
        assert len(keys) == len(ready), point
        assert set(keys.values()) == {1}, (point, keys)
        statuses = {
            journal_id: [p[0] for p in postings]
            for journal_id, postings in ledger(warehouse).items()
        }
        assert all(statuses[j] == ["posted"] for j in ready), (point, statuses)


def _post_process(erp: str, failpoint: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CLOSEOUT_FAILPOINT"}
    if failpoint:
        env["CLOSEOUT_FAILPOINT"] = failpoint
    return subprocess.run(
        [sys.executable, "-m", "cli", "post", "--erp", erp],
        cwd=os.getcwd(),
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_late_edit_posts_an_adjusting_journal_with_the_difference(toast_env, warehouse, erp):
    as_of = datetime.now(timezone.utc) - timedelta(seconds=5)
    toast_env.freeze(as_of)
    assert run_load(backfill_days=4, lag_minutes=0).ok
    assert transform.run_build(quiet=True).ok
    assert not post(erp).by_state("failed")
    # A paid card order of a day that was posted (others may be held for open checks).
    restaurant, order_guid, day = a_posted_card_order(warehouse)
    journal_id = f"{restaurant}:{day}:sales"
    [(_, original_key, original_id, _)] = ledger(warehouse)[journal_id]

    toast_env.edit_late(restaurant, order_guid)
    assert run_load(lag_minutes=0).ok
    assert transform.run_build(quiet=True).ok
    report = post(erp)

    the_adjustment(report, journal_id, warehouse, order_guid, since=as_of)
    postings = ledger(warehouse)[journal_id]
    assert [(p[0], p[3]) for p in postings] == [("posted", "original"), ("posted", "adjustment")]
    documents = {doc.key: doc for doc in erp_documents(toast_env, erp)}
    original, adjustment = documents[original_key], documents[postings[1][1]]
    assert original.document_id.lower() == original_id.lower()
    assert adjustment.balanced and len(adjustment.lines) == 2  # tips payable and the tender
    combined = net_by_account(original.lines + adjustment.lines)
    assert combined == journal_net(warehouse, journal_id)


def test_refused_journal_fails_alone_and_replays_after_the_fix(toast_env, warehouse, erp):
    load_and_build(toast_env, DAY, DAY)
    now = datetime.now(timezone.utc)
    # Each location's business date in progress: not closed, so held, whatever the hour.
    current = {
        guid: current_business_date(now, zone, hour)
        for guid, zone, hour in query(
            warehouse, "select restaurant_guid, time_zone, closeout_hour from toast_raw.restaurants"
        )
    }
    toast_env.freeze(now)
    assert run_load(business_date_range=(min(current.values()), max(current.values()))).ok
    assert transform.run_build(quiet=True).ok
    refused_location = query(
        warehouse,
        "select location_dimension from mappings.locations where restaurant_guid = ?",
        (toast_env.restaurants[0],),
    )[0][0]
    others = [
        loc
        for (loc,) in query(warehouse, "select location_dimension from mappings.locations")
        if loc != refused_location
    ]
    adapter(erp).accept_locations(toast_env, others)

    result = CliRunner().invoke(main, ["post", "--erp", erp])

    assert result.exit_code == 1
    assert "Failed:" in result.output and "Held:" in result.output
    failed = {j for j, postings in ledger(warehouse).items() if postings[-1][0] == "failed"}
    assert failed and all(j.startswith(toast_env.restaurants[0]) for j in failed)
    assert not any(
        f"{guid}:{day}:sales" in ledger(warehouse)  # held: not sent
        for guid, day in current.items()
    )
    status = CliRunner().invoke(
        main, ["status", "--erp", erp, "--from", str(DAY - timedelta(days=1))]
    )
    assert "failed" in status.output and refused_location in status.output

    adapter(erp).accept_locations(toast_env, [*others, refused_location])
    journal_id = sorted(failed)[0]
    replayed = CliRunner().invoke(main, ["replay", "--erp", erp, journal_id])
    assert "1 posted" in replayed.output, replayed.output
    assert ledger(warehouse)[journal_id][-1][0] == "posted"
    keys = Counter(doc.key for doc in erp_documents(toast_env, erp))
    assert set(keys.values()) == {1}


def test_throttling_faults_and_an_expired_session_still_post_each_journal_once(
    toast_env, warehouse, erp, monkeypatch
):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    load_and_build(toast_env, DAY - timedelta(days=1), DAY)
    ready = ready_journals(warehouse)
    post(erp, date_range=(DAY - timedelta(days=1),) * 2)  # a token/session is stored
    adapter(erp).make_trouble(toast_env)

    report = post(erp)
    for failed in report.by_state("failed"):  # an injected refusal (D365's failed changeset)
        CliRunner().invoke(main, ["replay", "--erp", erp, failed.journal_id])

    keys = Counter(doc.key for doc in erp_documents(toast_env, erp))
    assert len(keys) == len(ready) and set(keys.values()) == {1}
    assert all(postings[-1][0] == "posted" for postings in ledger(warehouse).values())
    assert adapter(erp).trouble_seen(toast_env) >= 2
    audit = query(
        warehouse,
        "select request_headers || request_body || response_body "
        "from closeout_posting.erp_requests",
    )
    secrets = [v for k, v in toast_env.erp_env.items() if "SECRET" in k or "PASSWORD" in k]
    assert audit and not [row for (row,) in audit for secret in secrets if secret in row]


def test_run_loads_builds_posts_and_exits_1_when_journals_are_held(
    toast_env, warehouse, erp, monkeypatch
):
    monkeypatch.setenv("SOURCES__TOAST__BACKFILL_DAYS", "3")  # includes days not yet closed
    toast_env.freeze(datetime.now(timezone.utc))

    result = CliRunner().invoke(main, ["run", "--erp", erp])

    assert result.exit_code == 1, result.output
    assert f"Posting to {erp}:" in result.output and "Held:" in result.output
    assert "day not closed" in result.output or "still open" in result.output
    posted = {
        key
        for postings in ledger(warehouse).values()
        for status, key, *_ in postings
        if status == "posted"
    }
    assert posted and posted == {doc.key for doc in erp_documents(toast_env, erp)}
    audit = query(
        warehouse,
        "select idempotency_key, count(*) from closeout_posting.erp_requests "
        "where idempotency_key is not null group by 1",
    )
    assert {key for key, _ in audit} == posted  # every request tied to its journal's key
