"""A local Sage Intacct XML gateway (DTD 3.0): sessions, GLBATCH create/read, queries, faults."""

from __future__ import annotations

from sandboxes.http import serve


def start(host: str = "127.0.0.1", port: int = 0):
    """The sandbox and its server, serving in a thread."""
    from sandboxes.intacct.server import IntacctSandbox

    return serve(IntacctSandbox(), host, port)


def connector_env(sandbox, server) -> dict[str, str]:
    """The ERP__INTACCT__* settings that point closeout's connector at this sandbox."""
    from sandboxes.intacct.server import GATEWAY_PATH

    settings = sandbox.initial_settings
    return {
        "ERP__INTACCT__ENDPOINT_URL": server.url + GATEWAY_PATH,
        "ERP__INTACCT__SENDER_ID": settings["sender_id"],
        "ERP__INTACCT__SENDER_PASSWORD": settings["sender_password"],
        "ERP__INTACCT__COMPANY_ID": settings["company_id"],
        "ERP__INTACCT__USER_ID": settings["user_id"],
        "ERP__INTACCT__USER_PASSWORD": settings["user_password"],
    }
