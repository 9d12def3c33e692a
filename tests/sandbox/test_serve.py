"""`sandboxes.serve` starts a sandbox for every ERP closeout posts to."""

from __future__ import annotations

import importlib

from posting.connectors.registry import ERPS
from sandboxes.serve import ERP_SANDBOXES


def test_every_erp_closeout_posts_to_has_a_sandbox_and_no_more():
    assert sorted(ERP_SANDBOXES) == sorted(ERPS)


def test_every_erp_sandbox_package_offers_start_and_connector_env():
    for name in ERP_SANDBOXES:
        package = importlib.import_module(f"sandboxes.{name}")
        assert callable(package.start) and callable(package.connector_env), name


def test_d365_connector_env_is_all_the_connector_needs_to_trust_the_login_host(monkeypatch):
    from posting.connectors.d365 import D365Settings
    from sandboxes import d365

    sandbox, server = d365.start()
    try:
        for name, value in d365.connector_env(sandbox, server).items():
            monkeypatch.setenv(name, value)
        settings = D365Settings.from_config()
    finally:
        server.shutdown()
        server.server_close()

    assert settings.entra_token_url.startswith(f"{sandbox.login_url}/")
    assert settings.entra_token_url.startswith("https://")
    assert settings.ca_bundle == sandbox.ca_file and settings.environment_url == server.url
