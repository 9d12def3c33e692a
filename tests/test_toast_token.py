"""Toast invalidating the cached token (issue 15 §6): the next run, a new process, drops it and
logs in once, says so, and keeps to Toast's two logins an hour across runs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet


def closeout_load(*args: str) -> subprocess.CompletedProcess:
    """`closeout load` in a process of its own, as cron would start it."""
    day = (datetime.now(timezone.utc) - timedelta(days=2)).date().isoformat()
    return subprocess.run(
        [sys.executable, "-m", "cli", "load", "--from", day, *args],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def keyed(toast_env, monkeypatch):
    monkeypatch.setenv("CLOSEOUT_SECRET_KEY", Fernet.generate_key().decode())
    return toast_env


def test_a_token_toast_invalidated_is_replaced_by_one_login_in_the_next_run(keyed):
    first = closeout_load()
    assert first.returncode == 0, first.stderr
    assert keyed.stats()["logins"] == 1

    keyed.control("expire_token")  # Toast invalidates the token the store still holds
    second = closeout_load()

    assert second.returncode == 0, second.stderr
    assert keyed.stats()["logins"] == 2  # exactly one more login
    assert "Toast refused the cached token (HTTP 401)" in second.stderr
    assert "logged in to Toast again: the refused token is replaced" in second.stderr
    assert "Traceback" not in second.stderr

    third = closeout_load()  # the replacement was stored: no login, no 401
    assert third.returncode == 0, third.stderr
    assert keyed.stats()["logins"] == 2
    assert "refused" not in third.stderr


def test_with_the_hours_logins_spent_a_refused_token_says_when_the_next_login_is_allowed(keyed):
    assert closeout_load().returncode == 0
    keyed.control("expire_token")
    assert closeout_load().returncode == 0  # the second login of the hour
    keyed.control("expire_token")

    refused = closeout_load()

    assert refused.returncode == 1
    assert keyed.stats()["logins"] == 2  # no third login within the hour
    errors = [line for line in refused.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, refused.stderr
    assert "Toast refused the cached token (HTTP 401)" in errors[0]
    assert "already logged in 2 times in the last hour" in errors[0]
    assert "the next login is allowed at " in errors[0] and " UTC" in errors[0]
    assert "Traceback" not in refused.stderr
