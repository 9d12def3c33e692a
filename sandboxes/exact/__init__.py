"""A local Exact Online: OAuth 2.0 authorization codes with rotating refresh tokens, general
journal entries over the REST API (OData v2), the minutely and daily call limits, faults."""

from __future__ import annotations

from sandboxes.http import serve


def start(host: str = "127.0.0.1", port: int = 0):
    """The sandbox and its server, serving in a thread."""
    from sandboxes.exact.server import ExactSandbox

    return serve(ExactSandbox(), host, port)


def connector_env(sandbox, server) -> dict[str, str]:
    """The ERP__EXACT__* settings that point closeout's connector at this sandbox, already
    authorised: the refresh token a `closeout connect exact` would have stored is handed over
    as ERP__EXACT__INITIAL_REFRESH_TOKEN, and a CLOSEOUT_SECRET_KEY to keep the rotated tokens
    encrypted with (unless one is set already)."""
    import os

    from cryptography.fernet import Fernet

    config = sandbox.config
    return {
        "ERP__EXACT__BASE_URL": server.url,
        "ERP__EXACT__CLIENT_ID": config.client_id,
        "ERP__EXACT__CLIENT_SECRET": config.client_secret,
        "ERP__EXACT__REDIRECT_URI": config.redirect_uri,
        "ERP__EXACT__INITIAL_REFRESH_TOKEN": sandbox.initial_refresh_token,
        "CLOSEOUT_SECRET_KEY": os.environ.get("CLOSEOUT_SECRET_KEY") or _sandbox_key(Fernet),
    }


_KEY: list[str] = []


def _sandbox_key(fernet) -> str:
    if not _KEY:
        _KEY.append(fernet.generate_key().decode())
    return _KEY[0]
