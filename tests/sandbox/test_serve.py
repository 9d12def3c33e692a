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
