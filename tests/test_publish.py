"""The analysts' copy (issue 15 §8): every run whose build passed publishes
`<warehouse>.analytics.duckdb` atomically. An analyst's session on it never blocks a run, keeps
the snapshot it opened, and the next session sees the new build; no secret is in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest
from cryptography.fernet import Fernet

ANALYST = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
def builds():
    return con.execute("select count(*) from closeout_audit.build_runs").fetchone()[0]
print(builds(), flush=True)
sys.stdin.readline()  # the test runs closeout meanwhile
print(builds(), flush=True)
"""


def closeout_run(erp: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", "run", "--erp", erp],
        env={**os.environ, "CLOSEOUT_WAIT_SECONDS": "0"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def builds_in(path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select count(*) from closeout_audit.build_runs").fetchone()[0]


@pytest.fixture
def scheduled(toast_env, monkeypatch):
    """What a scheduler's environment holds: Toast, the ERP sandboxes, a key for the tokens."""
    monkeypatch.setenv("SOURCES__TOAST__BACKFILL_DAYS", "1")
    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    for name, value in toast_env.erp_env.items():
        monkeypatch.setenv(name, value)
    return toast_env


def test_an_analyst_session_on_the_copy_never_blocks_a_run_and_keeps_its_snapshot(
    scheduled, warehouse
):
    copy = warehouse.with_name("warehouse.analytics.duckdb")
    first = closeout_run("d365")
    assert "Analysts' copy published: " + str(copy) in first.stdout, first.stderr
    assert "Traceback" not in first.stderr
    assert builds_in(copy) == 1

    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(copy)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout.readline().strip() == "1"
        second = closeout_run("intacct")  # a full run while the analyst's session is open
        out, _ = analyst.communicate("\n", timeout=30)
    finally:
        analyst.kill()

    assert "Analysts' copy published" in second.stdout, second.stderr
    assert "Traceback" not in second.stderr and "Waiting for" not in second.stderr
    assert "Nothing posted" not in second.stderr  # the build passed
    assert out.strip() == "1"  # the open session still reads the snapshot it opened
    assert builds_in(copy) == 2  # a new session reads the new build
    assert builds_in(warehouse) == 2


def test_the_copy_holds_no_secret(scheduled, warehouse, monkeypatch):
    monkeypatch.setenv("SOURCES__TOAST__BACKFILL_DAYS", "5")  # closed days, posted to Intacct
    run = closeout_run("intacct")
    copy = warehouse.with_name("warehouse.analytics.duckdb")
    assert "Analysts' copy published" in run.stdout, run.stderr

    secrets = {scheduled.client_secret}
    secrets |= {
        value for name, value in scheduled.erp_env.items() if "SECRET" in name or "PASSWORD" in name
    }
    stored = json.loads(
        Fernet(os.environ["CLOSEOUT_SECRET_KEY"]).decrypt(
            (warehouse.parent / ".closeout" / "tokens.enc").read_bytes()
        )
    )
    secrets |= {entry["token"] for entry in stored.values() if entry.get("token")}
    assert len(secrets) >= 4  # Toast's secret and token, Intacct's two passwords at least

    with duckdb.connect(str(copy), read_only=True) as con:
        columns = con.execute(
            """select c.table_schema, c.table_name, c.column_name
            from information_schema.columns c join information_schema.tables t
              using (table_schema, table_name)
            where t.table_type = 'BASE TABLE'"""
        ).fetchall()
        assert any(table == "erp_requests" for _, table, _ in columns)
        found = [
            (schema, table, column)
            for schema, table, column in columns
            for secret in secrets
            if con.execute(
                f'select count(*) from "{schema}"."{table}" where contains("{column}"::varchar, ?)',
                [secret],
            ).fetchone()[0]
        ]
        sent = con.execute("select count(*) from closeout_posting.erp_requests").fetchone()[0]
    assert sent > 0  # the audit of what was sent, logins included, is in the copy...
    assert found == []  # ...with no password, client secret or token in it
