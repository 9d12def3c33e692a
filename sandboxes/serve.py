"""Start the sandboxes (for `closeout sandbox`, the demo and the tests).

Each ERP sandbox is a package `sandboxes/<erp>/` whose `__init__` offers `start(host, port)`
(the sandbox and its running server) and `connector_env(sandbox, server)` (the settings that
point closeout's connector at it). `ERP_SANDBOXES` names them, one for every ERP closeout posts
to (tests/sandbox/test_serve.py holds the two lists together).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandboxes.http import SandboxHTTPServer
from sandboxes.toast.data import ToastDataset
from sandboxes.toast.server import ToastSandbox, make_server

ERP_SANDBOXES = ("d365", "intacct", "exact", "freshbooks", "infor")


@dataclass
class SandboxOptions:
    host: str = "127.0.0.1"
    toast_port: int = 0
    seed: int = 7
    locations: int = 3
    orders_per_day: int = 40
    history_days: int = 120
    rate_limits: bool = True
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"


@dataclass
class RunningSandboxes:
    toast: ToastSandbox
    toast_server: SandboxHTTPServer
    erps: dict[str, tuple[Any, SandboxHTTPServer]] = field(default_factory=dict)

    @property
    def urls(self) -> dict[str, str]:
        return {
            "toast": self.toast_server.url,
            **{name: server.url for name, (_, server) in self.erps.items()},
        }

    def erp(self, name: str):
        return self.erps[name][0]

    def erp_env(self) -> dict[str, str]:
        """The connector settings that point closeout at the ERP sandboxes."""
        env: dict[str, str] = {}
        for name, (sandbox, server) in self.erps.items():
            env.update(_erp_package(name).connector_env(sandbox, server))
        return env

    def stop(self) -> None:
        for server in (self.toast_server, *(server for _, server in self.erps.values())):
            server.shutdown()
            server.server_close()


def _erp_package(name: str):
    return importlib.import_module(f"sandboxes.{name}")


def start(options: SandboxOptions) -> RunningSandboxes:
    dataset = ToastDataset(
        seed=options.seed,
        location_count=options.locations,
        orders_per_day=options.orders_per_day,
        history_days=options.history_days,
    )
    toast = ToastSandbox(
        dataset,
        client_id=options.client_id,
        client_secret=options.client_secret,
        rate_limits=options.rate_limits,
    )
    server = make_server(toast, options.host, options.toast_port)
    server.start_in_thread()
    running = RunningSandboxes(toast, server)
    for name in ERP_SANDBOXES:
        running.erps[name] = _erp_package(name).start(options.host, 0)
    return running


def write_ready_file(path: Path, running: RunningSandboxes, options: SandboxOptions) -> None:
    """Tell a waiting test or script where the sandboxes listen (written atomically)."""
    info = {
        "urls": running.urls,
        "toast": {
            "client_id": options.client_id,
            "client_secret": options.client_secret,
            "restaurants": [loc.guid for loc in running.toast.dataset.locations],
        },
        "erp_env": running.erp_env(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(path)
