"""Start the sandboxes (for `closeout sandbox`, the demo and the tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sandboxes.http import SandboxHTTPServer
from sandboxes.toast.data import ToastDataset
from sandboxes.toast.server import ToastSandbox, make_server


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

    @property
    def urls(self) -> dict[str, str]:
        return {"toast": self.toast_server.url}

    def stop(self) -> None:
        self.toast_server.shutdown()
        self.toast_server.server_close()


def start(options: SandboxOptions) -> RunningSandboxes:
    dataset = ToastDataset(seed=options.seed, location_count=options.locations,
                           orders_per_day=options.orders_per_day,
                           history_days=options.history_days)
    toast = ToastSandbox(dataset, client_id=options.client_id,
                         client_secret=options.client_secret, rate_limits=options.rate_limits)
    server = make_server(toast, options.host, options.toast_port)
    server.start_in_thread()
    return RunningSandboxes(toast, server)


def write_ready_file(path: Path, running: RunningSandboxes, options: SandboxOptions) -> None:
    """Tell a waiting test or script where the sandboxes listen (written atomically)."""
    info = {
        "urls": running.urls,
        "toast": {"client_id": options.client_id, "client_secret": options.client_secret,
                  "restaurants": [loc.guid for loc in running.toast.dataset.locations]},
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(path)
