"""`closeout serve` as a real subprocess, against the Toast and Dynamics 365 sandboxes.

A late edit in Toast reaches the ERP as an adjusting journal through the webhook alone, and,
with the webhook dropped, through the nightly reconciliation; forged, replayed and duplicate
events change nothing; a SIGKILL at each step of applying an event loses nothing and doubles
nothing; locations in different time zones fall due at their own hours (a moved clock).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import httpx
import pytest

from closeout.schedule import LocationClock
from closeout.webhook_signature import toast_signature
from tests.erps import erp_documents, net_by_account
from tests.test_post import a_posted_card_order, journal_net

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec-serve-test"
ERP = "d365"
# The bound this test states for an edit to reach the ERP through a webhook: Toast's message
# (the sandbox looks for changes every 0.1 s here), a 1 s debounce, then one cycle of
# apply + build + post on this 2-core machine.
WEBHOOK_TO_ERP_SECONDS = 90


class Serve:
    """One `closeout serve` process; `status()` is its /status.json."""

    def __init__(self, tmp_path: Path, toast, *, clock: str, debounce=1.0, failpoint=None):
        ready = tmp_path / f"serve-{time.monotonic_ns()}.json"
        env = {
            **{k: v for k, v in os.environ.items() if k != "CLOSEOUT_FAILPOINT"},
            **toast.erp_env,
            "PYTHONPATH": str(ROOT),
            "ERP__TARGET": ERP,
            "SOURCES__TOAST__WEBHOOK_SECRETS": f"whsec-older,{SECRET}",
            "SOURCES__TOAST__BACKFILL_DAYS": "4",
            "SOURCES__TOAST__LAG_MINUTES": "0",
            "CLOSEOUT_SERVE_CLOCK": clock,
        }
        if failpoint:
            env["CLOSEOUT_FAILPOINT"] = failpoint
        self.log = tmp_path / f"serve-{time.monotonic_ns()}.log"
        args = [sys.executable, "-m", "cli", "serve", "--bind", "127.0.0.1:0"]
        args += ["--debounce", str(debounce), "--reconcile-at", "10:00", "--ready-file", ready]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [str(a) for a in args], cwd=os.getcwd(), env=env, stdout=out, stderr=out
            )
        wait_for(lambda: ready.exists() or self.process.poll() is not None, 60)
        assert self.process.poll() is None, self.log.read_text()
        self.url = json.loads(ready.read_text())["urls"]["page"]

    def status(self) -> dict:
        return httpx.get(f"{self.url}/status.json", timeout=10).json()

    def cycles_with(self, trigger: str) -> list[dict]:
        return [c for c in self.status()["recent_cycles"] if trigger in c["triggers"]]

    def wait_for_cycles(self, trigger: str, count: int = 1, timeout: float = 120) -> list[dict]:
        def done():
            assert self.process.poll() is None, self.log.read_text()
            return self.status()["busy_since"] is None and len(self.cycles_with(trigger)) >= count

        wait_for(done, timeout)
        return self.cycles_with(trigger)

    def webhook_url(self) -> str:
        return f"{self.url}/webhooks/toast"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def serving(tmp_path, toast_env, warehouse, monkeypatch):
    """Start `closeout serve` processes; each is stopped after the test."""
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    toast_env.erp_control(ERP, "reset")
    started: list[Serve] = []

    def start(**options) -> Serve:
        process = Serve(tmp_path, toast_env, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def move_clock(clock: Path, moment) -> None:
    """Set serve's clock file in one step (serve may read it at any moment)."""
    text = moment if isinstance(moment, str) else moment.isoformat()
    staged = clock.with_suffix(".staged")
    staged.write_text(text)
    staged.replace(clock)


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(0.2)


def analytics_copy(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.stem}.analytics.duckdb")


def published(warehouse: Path, sql: str, params=()) -> list[tuple]:
    """The analysts' copy: the test never opens the warehouse serve writes."""
    with duckdb.connect(str(analytics_copy(warehouse)), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def posted_card_order(warehouse: Path) -> tuple[str, str, str]:
    """A paid card order of a posted sales journal (test_post's pick, on the copy)."""
    restaurant, order, day = a_posted_card_order(analytics_copy(warehouse))
    return restaurant, order, f"{restaurant}:{day}:sales"


def postings(warehouse: Path, journal_id: str) -> list[tuple]:
    return published(
        warehouse,
        "select status, kind, idempotency_key from closeout_posting.postings "
        "where journal_id = ? order by sequence",
        (journal_id,),
    )


def erp_holds_journal(toast, warehouse: Path, journal_id: str) -> bool:
    """The ERP's documents for the journal add up to its lines now, one original and one
    adjustment, each once."""
    keys = [key for status, _, key in postings(warehouse, journal_id) if status == "posted"]
    documents = [doc for doc in erp_documents(toast, ERP) if doc.key in keys]
    if len(keys) != 2 or len(documents) != 2:
        return False
    combined = net_by_account(line for doc in documents for line in doc.lines)
    return combined == journal_net(
        warehouse.with_name(f"{warehouse.stem}.analytics.duckdb"), journal_id
    )


def start_and_edit(
    serving, toast, warehouse, failpoint=None, **options
) -> tuple[Serve, str, str, datetime]:
    """serve started on a frozen Toast (restarted with `failpoint` after its first cycle, so
    the first posts are not what it kills) and subscribed; then an order of a posted day
    edited in Toast."""
    toast.freeze(datetime.now(timezone.utc))
    serve = serving(**options)
    serve.wait_for_cycles("start")
    if failpoint:
        serve.stop()
        serve = serving(failpoint=failpoint, **options)
        wait_for(lambda: serve.process.poll() is not None or serve.cycles_with("start"), 120)
    restaurant, order, journal_id = posted_card_order(warehouse)
    assert [p[:2] for p in postings(warehouse, journal_id)] == [("posted", "original")]
    toast.control("webhook_settings", {"poll_seconds": 0.1})
    toast.control("subscribe", {"url": serve.webhook_url(), "secret": SECRET})
    toast.control("clock", {})
    edited_at = toast.edit_late(restaurant, order)
    return serve, order, journal_id, edited_at


def test_a_late_edit_reaches_the_erp_through_the_webhook_alone(serving, toast_env, warehouse):
    # The clock stands still and the nightly pass is hours away: nothing falls due, so only the
    # webhook can bring the edit.
    standing = f"{datetime.now(timezone.utc).replace(hour=12):%Y-%m-%dT%H:%M:%S}+00:00*0"
    serve, order, journal_id, edited_at = start_and_edit(
        serving, toast_env, warehouse, clock=standing
    )
    wait_for(lambda: erp_holds_journal(toast_env, warehouse, journal_id), WEBHOOK_TO_ERP_SECONDS)
    took = datetime.now(timezone.utc) - edited_at
    print(f"edit to adjusting journal in the ERP: {took.total_seconds():.1f} s")

    cycles = serve.status()["recent_cycles"]
    assert {trigger for cycle in cycles for trigger in cycle["triggers"]} <= {"start", "webhook"}
    assert all(cycle["loaded"] == [] for cycle in cycles if "start" not in cycle["triggers"])
    assert [p[:2] for p in postings(warehouse, journal_id)] == [
        ("posted", "original"),
        ("posted", "adjustment"),
    ]

    # The finance page, served by the same process, shows the adjustment and the counters.
    page = httpx.get(f"{serve.url}/", timeout=30)
    assert page.status_code == 200 and "<script" not in page.text
    assert "+ 1 adjustment(s)" in page.text
    assert f"data-counter='applied'>{serve.status()['webhooks']['applied']}<" in page.text

    # Forged, duplicated and replayed events change nothing in the ERP.
    documents_before = len(erp_documents(toast_env, ERP))
    counters = serve.status()["webhooks"]
    [(edited_json,)] = published(
        warehouse, "select order_json from toast_raw.orders where order_guid = ?", (order,)
    )
    message = {
        "timestamp": "2026-01-01T00:00:00.000Z",
        "eventCategory": "order_updated",
        "eventType": "order_updated",
        "guid": "replayed-with-a-new-guid",
        "details": {
            "restaurantGuid": journal_id.split(":")[0],
            "order": json.loads(edited_json),
        },
    }
    body = json.dumps(message).encode()
    signature = toast_signature(SECRET, body, message["timestamp"])
    forged = toast_signature("not-our-secret", body, message["timestamp"])
    url = serve.webhook_url()
    assert httpx.post(url, content=body, headers={"Toast-Signature": forged}).status_code == 401
    for _ in range(2):  # the second is a duplicate of the first
        response = httpx.post(url, content=body, headers={"Toast-Signature": signature})
        assert response.status_code == 200
    webhook_cycles = len(serve.cycles_with("webhook"))
    serve.wait_for_cycles("webhook", webhook_cycles + 1)
    after = serve.status()["webhooks"]
    assert after["refused"] == counters["refused"] + 1
    assert after["duplicates"] == counters["duplicates"] + 1
    assert len(erp_documents(toast_env, ERP)) == documents_before
    assert len(postings(warehouse, journal_id)) == 2


def test_with_webhooks_dropped_the_nightly_pass_posts_the_same(
    serving, toast_env, warehouse, tmp_path
):
    clock = tmp_path / "clock"
    move_clock(clock, f"{datetime.now(timezone.utc):%Y-%m-%d}T09:58:00+00:00")
    toast_env.control("webhook_faults", [{"kind": "drop", "times": -1}])  # every message
    serve, order, journal_id, _ = start_and_edit(serving, toast_env, warehouse, clock=f"@{clock}")
    wait_for(lambda: toast_env.stats()["webhooks"]["dropped"] >= 1, 30)
    time.sleep(3)  # three debounces: a delivered event would have been applied by now
    assert not erp_holds_journal(toast_env, warehouse, journal_id)
    assert serve.status()["webhooks"]["verified"] == 0

    move_clock(clock, f"{datetime.now(timezone.utc):%Y-%m-%d}T10:00:05+00:00")
    [reconciled] = serve.wait_for_cycles("reconcile")
    assert len(reconciled["loaded"]) == toast_env.locations
    assert erp_holds_journal(toast_env, warehouse, journal_id)


@pytest.mark.parametrize(
    "failpoint",
    [
        "acknowledged",  # killed with the event in the spool, before anything applied it
        "webhook.applied_not_marked:1",  # in the warehouse, not marked applied in the spool
        "serve.after_build:2",  # applied and built, not posted (1: its first cycle's build)
        "post.after_create:1",  # the ERP has the adjustment; the ledger does not know yet
    ],
)
def test_sigkill_at_each_step_of_applying_an_event_loses_and_doubles_nothing(
    serving, toast_env, warehouse, failpoint
):
    standing = f"{datetime.now(timezone.utc).replace(hour=12):%Y-%m-%dT%H:%M:%S}+00:00*0"
    if failpoint == "acknowledged":
        # An hour's debounce: the event waits in the spool when the process is killed.
        serve, _, journal_id, _ = start_and_edit(
            serving, toast_env, warehouse, clock=standing, debounce=3600
        )
        wait_for(lambda: serve.status()["webhooks"]["verified"] >= 1, 30)
        serve.process.send_signal(signal.SIGKILL)
        serve.process.wait(10)
    else:
        serve, _, journal_id, _ = start_and_edit(
            serving, toast_env, warehouse, failpoint, clock=standing
        )
        serve.process.wait(WEBHOOK_TO_ERP_SECONDS)
    assert serve.process.returncode == -signal.SIGKILL, serve.log.read_text()
    assert not erp_holds_journal(toast_env, warehouse, journal_id) or failpoint.startswith("post")

    restarted = serving(clock=standing)
    restarted.wait_for_cycles("start")
    assert erp_holds_journal(toast_env, warehouse, journal_id), postings(warehouse, journal_id)
    assert restarted.status()["webhooks"]["applied"] >= 1
    with sqlite3.connect(warehouse.with_name(f"{warehouse.stem}.webhooks.sqlite")) as spool:
        assert spool.execute("select count(*) from events where applied_at is null").fetchone() == (
            0,
        )


def test_each_location_falls_due_at_its_own_closeout_hour(serving, toast_env, warehouse, tmp_path):
    """Serve's clock is moved past one location's due moment, then the next's: each cycle
    loads only the location whose day just closed, in its own time zone."""
    clock = tmp_path / "clock"
    move_clock(clock, datetime.now(timezone.utc).isoformat())
    serve = serving(clock=f"@{clock}")
    serve.wait_for_cycles("start")
    rows = published(
        warehouse,
        """select r.restaurant_guid, r.name, r.time_zone, r.closeout_hour, s.settle_delay_hours
        from staging.stg_toast__restaurants as r
        join intermediate.int_settings_resolved as s using (restaurant_guid)""",
    )
    clocks = [LocationClock(g, n, tz, h, float(d)) for g, n, tz, h, d in rows]
    assert len({c.time_zone for c in clocks}) == len(clocks) > 1
    moment = datetime.fromisoformat(clock.read_text())
    upcoming = sorted((c.next_due(moment)[1], c.restaurant_guid) for c in clocks)
    shown = {row["due_at"] for row in serve.status()["next_due"]}
    assert shown == {at.isoformat() for at, _ in upcoming}

    # Denver and Phoenix are both UTC-7 in winter: locations due at one moment load together.
    due_together: dict[datetime, list[str]] = {}
    for due_at, guid in upcoming:
        due_together.setdefault(due_at, []).append(guid)
    for count, (due_at, guids) in enumerate(list(due_together.items())[:2], start=1):
        move_clock(clock, (due_at - timedelta(seconds=30)).isoformat())
        time.sleep(3)  # three looks: not due yet
        assert len(serve.cycles_with("due")) == count - 1
        move_clock(clock, (due_at + timedelta(seconds=1)).isoformat())
        cycles = serve.wait_for_cycles("due", count)
        assert cycles[-1]["loaded"] == sorted(guids)


def test_the_webhook_endpoint_can_listen_alone_and_a_failed_start_is_reported(
    warehouse, tmp_path, monkeypatch
):
    """--webhook-bind: the endpoint on its own listener, the page's listener without it. With
    no Toast settings at all the first cycle fails with the operator's message, and serve
    stays up to try again."""
    monkeypatch.setenv("SOURCES__TOAST__WEBHOOK_SECRETS", SECRET)
    ready, log = tmp_path / "ready.json", tmp_path / "serve.log"
    args = [sys.executable, "-m", "cli", "serve", "--erp", ERP, "--bind", "127.0.0.1:0"]
    args += ["--webhook-bind", "127.0.0.1:0", "--ready-file", str(ready)]
    with log.open("w") as out:
        process = subprocess.Popen(
            args, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=out
        )
    try:
        wait_for(lambda: ready.exists() or process.poll() is not None, 60)
        urls = json.loads(ready.read_text())["urls"]
        assert urls["page"] != urls["webhooks"]
        assert httpx.post(f"{urls['page']}/webhooks/toast", content=b"{}").status_code == 404
        assert httpx.post(f"{urls['webhooks']}/webhooks/toast", content=b"{}").status_code == 401
        assert httpx.get(f"{urls['webhooks']}/status.json").status_code == 404
        status = f"{urls['page']}/status.json"
        wait_for(lambda: httpx.get(status).json()["cycles"] >= 1, 60)
        [cycle] = httpx.get(status).json()["recent_cycles"]
        assert not cycle["ok"] and "SOURCES__TOAST__CLIENT_ID" in cycle["summary"], cycle
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    output = log.read_text()
    assert process.returncode == 0 and "Traceback" not in output, output
