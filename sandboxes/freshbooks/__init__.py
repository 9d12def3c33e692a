"""A local stand-in for FreshBooks: OAuth 2.0 authorization codes with single-use rotating
refresh tokens, `/auth/api/v1/users/me`, and the accounting API's journal entry accounts,
journal entries (and their details), clients, invoices and payments, with FreshBooks' error
statuses and formats (old style, new style, old style inside HTTP 200), paging capped at 100,
throttling and faults."""

from __future__ import annotations

from sandboxes.http import serve


def start(host: str = "127.0.0.1", port: int = 0):
    """The sandbox and its server, serving in a thread."""
    from sandboxes.freshbooks.server import FreshBooksSandbox

    return serve(FreshBooksSandbox(), host, port)


def connector_env(sandbox, server) -> dict[str, str]:
    """The settings that point closeout's connector at this sandbox, pre-authorised: the
    sandbox issued INITIAL_REFRESH_TOKEN at start (as a consent elsewhere would have), and the
    connector uses it only while no token file exists. Tokens are stored encrypted, so the
    sandbox also hands out a CLOSEOUT_SECRET_KEY for runs that set none themselves."""
    config = sandbox.config
    return {
        "ERP__FRESHBOOKS__BASE_URL": server.url,
        "ERP__FRESHBOOKS__AUTH_URL": f"{server.url}/oauth/authorize",
        "ERP__FRESHBOOKS__CLIENT_ID": config.client_id,
        "ERP__FRESHBOOKS__CLIENT_SECRET": config.client_secret,
        "ERP__FRESHBOOKS__REDIRECT_URI": config.redirect_uris[0],
        "ERP__FRESHBOOKS__INITIAL_REFRESH_TOKEN": sandbox.auth.initial_refresh_token,
        "CLOSEOUT_SECRET_KEY": sandbox.secret_key,
    }
