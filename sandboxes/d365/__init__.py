"""A local stand-in for Dynamics 365 Finance & Operations: Entra ID tokens over TLS (a login host
msal can use unmodified) and general journals over OData (LedgerJournalHeaders,
LedgerJournalLines, $batch), the reference entities `closeout check` reads, with throttling and
faults."""

from __future__ import annotations


def start(host: str = "127.0.0.1", port: int = 0):
    """The sandbox and its server (the F&O service, its login host beside it), serving in
    threads; stopping the server stops both."""
    from sandboxes.d365.server import D365Sandbox, D365Server

    sandbox = D365Sandbox()
    server = D365Server(sandbox, host, port)
    server.start_in_thread()
    return sandbox, server


def connector_env(sandbox, server) -> dict[str, str]:
    """The ERP__D365__* settings that point closeout's connector at this sandbox, the private CA
    its login host's certificate is signed by included."""
    config = sandbox.config
    return {
        "ERP__D365__ENVIRONMENT_URL": server.url,
        "ERP__D365__TENANT_ID": config.tenant_id,
        "ERP__D365__CLIENT_ID": config.client_id,
        "ERP__D365__CLIENT_SECRET": config.client_secret,
        "ERP__D365__TOKEN_URL": f"{sandbox.login_url}/{config.tenant_id}/oauth2/v2.0/token",
        "ERP__D365__CA_BUNDLE": sandbox.ca_file,
    }
