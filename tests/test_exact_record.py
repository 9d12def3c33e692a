"""The ERP is the record, for Exact Online: the cross-ERP tests of tests/test_erp_record.py
with the connection kept where a deployment keeps it, outside the warehouse.

Exact rotates its refresh token on every use and refuses an old one ("Old refresh token used"),
so the connection cannot be seeded twice from the same consent: a rebuilt warehouse whose
token store went with the lost disk must be connected again (`closeout connect exact`). Kept
in ERP__EXACT__TOKEN_DIR, beside the other credentials, it survives the warehouse."""

from __future__ import annotations

import pytest

import tests.test_erp_record as record


@pytest.fixture
def exact_tokens_kept(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ERP__EXACT__TOKEN_DIR", str(tmp_path / "exact-tokens"))


@pytest.mark.parametrize("erp", ["exact"], indirect=True)
def test_a_new_warehouse_posts_only_the_difference_from_what_exact_holds(
    toast_env, warehouse, erp, exact_tokens_kept, tmp_path, monkeypatch
):
    record.test_a_new_warehouse_posts_only_the_difference_from_what_the_erp_holds(
        toast_env, warehouse, erp, tmp_path, monkeypatch
    )
