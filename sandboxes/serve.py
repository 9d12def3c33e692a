"""Start the sandboxes (for `closeout sandbox`, the demo and the tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sandboxes.d365.server import D365Sandbox
from sandboxes.d365.server import make_server as make_d365_server
from sandboxes.http import SandboxHTTPServer
from sandboxes.intacct.server import GATEWAY_PATH, IntacctSandbox
from sandboxes.intacct.server import make_server as make_intacct_server
from sandboxes.toast.data import ToastDataset
from sandboxes.toast.server import ToastSandbox, make_server


@dataclass
class SandboxOptions:
    host: str = "127.0.0.1"
    toast_port: int = 0
    d365_port: int = 0
    intacct_port: int = 0
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
    d365: D365Sandbox
    d365_server: SandboxHTTPServer
    intacct: IntacctSandbox
    intacct_server: SandboxHTTPServer

    @property
    def urls(self) -> dict[str, str]:
        return {"toast": self.toast_server.url, "d365": self.d365_server.url,
                "intacct": self.intacct_server.url}

    def erp_env(self) -> dict[str, str]:
        """The connector settings that point closeout at the ERP sandboxes."""
        d365 = self.d365.config
        intacct = self.intacct.initial_settings
        return {
            "ERP__D365__ENVIRONMENT_URL": self.d365_server.url,
            "ERP__D365__TENANT_ID": d365.tenant_id,
            "ERP__D365__CLIENT_ID": d365.client_id,
            "ERP__D365__CLIENT_SECRET": d365.client_secret,
            "ERP__D365__TOKEN_URL": f"{self.d365_server.url}/{d365.tenant_id}/oauth2/v2.0/token",
            "ERP__INTACCT__ENDPOINT_URL": self.intacct_server.url + GATEWAY_PATH,
            "ERP__INTACCT__SENDER_ID": intacct["sender_id"],
            "ERP__INTACCT__SENDER_PASSWORD": intacct["sender_password"],
            "ERP__INTACCT__COMPANY_ID": intacct["company_id"],
            "ERP__INTACCT__USER_ID": intacct["user_id"],
            "ERP__INTACCT__USER_PASSWORD": intacct["user_password"],
        }

    def stop(self) -> None:
        for server in (self.toast_server, self.d365_server, self.intacct_server):
            server.shutdown()
            server.server_close()


def start(options: SandboxOptions) -> RunningSandboxes:
    dataset = ToastDataset(seed=options.seed, location_count=options.locations,
                           orders_per_day=options.orders_per_day,
                           history_days=options.history_days)
    toast = ToastSandbox(dataset, client_id=options.client_id,
                         client_secret=options.client_secret, rate_limits=options.rate_limits)
    server = make_server(toast, options.host, options.toast_port)
    server.start_in_thread()
    d365 = D365Sandbox()
    d365_server = make_d365_server(d365, options.host, options.d365_port)
    d365_server.start_in_thread()
    intacct = IntacctSandbox()
    intacct_server = make_intacct_server(intacct, options.host, options.intacct_port)
    intacct_server.start_in_thread()
    return RunningSandboxes(toast, server, d365, d365_server, intacct, intacct_server)


def write_ready_file(path: Path, running: RunningSandboxes, options: SandboxOptions) -> None:
    """Tell a waiting test or script where the sandboxes listen (written atomically)."""
    info = {
        "urls": running.urls,
        "toast": {"client_id": options.client_id, "client_secret": options.client_secret,
                  "restaurants": [loc.guid for loc in running.toast.dataset.locations]},
        "erp_env": running.erp_env(),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(path)
