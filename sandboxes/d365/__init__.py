"""A local stand-in for Dynamics 365 Finance & Operations: Entra ID tokens and general journals
over OData (LedgerJournalHeaders, LedgerJournalLines, $batch), with throttling and faults."""

from __future__ import annotations

from sandboxes.http import serve


def start(host: str = "127.0.0.1", port: int = 0):
    """The sandbox and its server, serving in a thread."""
    from sandboxes.d365.server import D365Sandbox

    return serve(D365Sandbox(), host, port)


def connector_env(sandbox, server) -> dict[str, str]:
    """The ERP__D365__* settings that point closeout's connector at this sandbox."""
    config = sandbox.config
    return {
        "ERP__D365__ENVIRONMENT_URL": server.url,
        "ERP__D365__TENANT_ID": config.tenant_id,
        "ERP__D365__CLIENT_ID": config.client_id,
        "ERP__D365__CLIENT_SECRET": config.client_secret,
        "ERP__D365__TOKEN_URL": f"{server.url}/{config.tenant_id}/oauth2/v2.0/token",
    }
