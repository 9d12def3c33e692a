"""Fixtures: the sandboxes as a real subprocess, and an isolated warehouse per test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from posting.connectors.registry import ERPS
from tests.kit import control
from transform import build as transform

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ToastSandboxProcess:
    url: str
    client_id: str
    client_secret: str
    restaurants: list[str]
    seed: int
    locations: int
    orders_per_day: int
    erp_urls: dict[str, str]  # the ERP sandboxes started beside Toast
    erp_env: dict[str, str]  # connector settings pointing at them

    def control(self, action: str, body=None) -> dict:
        return control(self.url, action, body)

    def erp_control(self, erp: str, action: str, body=None):
        return control(self.erp_urls[erp], action, body)

    def stats(self) -> dict:
        return self.control("stats")

    def fault(self, **rule) -> None:
        self.control("faults", rule)

    def freeze(self, at: datetime) -> None:
        """Stop the sandbox's clock at `at` (what Toast says "now" is)."""
        self.control("clock", {"frozen": at.isoformat()})

    def edit_late(self, restaurant: str, order: str, kind: str = "add_tip") -> datetime:
        """Edit an order in Toast now, and freeze the clock just after, so that the next
        modified-time load reads the edit. Returns when the edit was made."""
        edit_at = datetime.now(timezone.utc)
        self.control(
            "edit",
            {"restaurant": restaurant, "order": order, "kind": kind, "at": edit_at.isoformat()},
        )
        self.freeze(edit_at + timedelta(seconds=1))
        return edit_at


def start_sandbox(
    tmp_path: Path,
    *,
    locations: int = 3,
    orders_per_day: int = 40,
    seed: int = 7,
    rate_limits: bool = True,
) -> tuple[subprocess.Popen, ToastSandboxProcess]:
    ready = tmp_path / f"sandbox-{time.monotonic_ns()}.json"
    args = [
        sys.executable,
        "-m",
        "cli",
        "sandbox",
        "--port",
        "0",
        "--ready-file",
        str(ready),
        "--seed",
        str(seed),
        "--locations",
        str(locations),
        "--orders-per-day",
        str(orders_per_day),
        "--rate-limits" if rate_limits else "--no-rate-limits",
    ]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not ready.exists():
        if process.poll() is not None:
            raise RuntimeError(f"sandbox exited: {process.stderr.read().decode()}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("sandbox did not start within 30 s")
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    return process, ToastSandboxProcess(
        url=info["urls"]["toast"],
        client_id=info["toast"]["client_id"],
        client_secret=info["toast"]["client_secret"],
        restaurants=info["toast"]["restaurants"],
        seed=seed,
        locations=locations,
        orders_per_day=orders_per_day,
        erp_urls={k: v for k, v in info["urls"].items() if k != "toast"},
        erp_env=info["erp_env"],
    )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def toast_sandbox(tmp_path_factory) -> ToastSandboxProcess:
    process, sandbox = start_sandbox(tmp_path_factory.mktemp("sandbox"))
    yield sandbox
    stop(process)


@pytest.fixture
def toast(toast_sandbox: ToastSandboxProcess) -> ToastSandboxProcess:
    """The shared Toast sandbox, with faults and counters reset and the clock live."""
    toast_sandbox.control("reset")
    toast_sandbox.control("clock", {})
    toast_sandbox.control("rate_limits", {"enabled": True})
    return toast_sandbox


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch) -> Path:
    """A fresh DuckDB file and working directory; no config leaks in from the developer's."""
    for name in list(os.environ):
        if name.startswith(("SOURCES__", "CLOSEOUT_", "ERP__")):
            monkeypatch.delenv(name)
    db = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("CLOSEOUT_DB", str(db))
    monkeypatch.chdir(tmp_path)
    return db


@pytest.fixture
def toast_env(toast: ToastSandboxProcess, warehouse: Path, monkeypatch) -> ToastSandboxProcess:
    """Loader settings pointing at the sandbox, through dlt's environment variables."""
    monkeypatch.setenv("SOURCES__TOAST__BASE_URL", toast.url)
    monkeypatch.setenv("SOURCES__TOAST__CLIENT_ID", toast.client_id)
    monkeypatch.setenv("SOURCES__TOAST__CLIENT_SECRET", toast.client_secret)
    return toast


@pytest.fixture(params=ERPS)
def erp(request, toast_env, monkeypatch) -> str:
    """Each ERP sandbox in turn, emptied, with closeout's connector settings pointing at it."""
    name = request.param
    toast_env.erp_control(name, "reset")
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("ERP__TARGET", name)
    return name


@pytest.fixture
def seeds_copy(tmp_path, monkeypatch) -> Path:
    """The dbt project with its own seeds, so a test may edit mappings safely."""
    project = tmp_path / "dbt_project"
    shutil.copytree(
        transform.PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
    )
    monkeypatch.setattr(transform, "PROJECT_DIR", project)
    return project
