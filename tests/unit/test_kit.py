"""The connector kit: settings from the environment or dlt config, chunks, JSON answers."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

import dlt
import httpx
import pytest

from closeout.errors import ConfigurationError, ErpRefusal, ErpUnavailable
from posting.connectors.exact import ExactSettings
from posting.connectors.intacct import IntacctSettings
from posting.connectors.kit import ErpSettings, chunked, json_body, setting, whole_number


@dataclass(frozen=True)
class AcmeSettings(ErpSettings):
    ERP: ClassVar[str] = "acme"
    LABEL: ClassVar[str] = "Acme Ledger"
    HINT: ClassVar[str] = ", from Acme's API page"

    api_url: str = setting(help="the tenant's address")
    api_key: str = setting(secret=True)
    ledger: str = setting("GL")
    batch_size: int = setting(50, parse=whole_number)
    region: str | None = setting(None, name="zone")
    memo_field: str = setting("memo", empty=True)

    def check(self) -> None:
        if self.ledger == self.memo_field:
            raise ConfigurationError(
                f"{self.env('ledger')} and {self.env('memo_field')} name the same field"
            )


@pytest.fixture(autouse=True)
def no_erp_settings(monkeypatch):
    for name in list(os.environ):
        if name.startswith("ERP__"):
            monkeypatch.delenv(name)


def configure(monkeypatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"ERP__ACME__{name.upper()}", value)


# -- settings -----------------------------------------------------------------------------------
def test_settings_come_from_the_environment_with_defaults_for_the_rest(monkeypatch):
    configure(
        monkeypatch, api_url=" https://acme.example ", api_key="k3y", batch_size="200", zone="eu"
    )

    settings = AcmeSettings.from_config()

    assert settings == AcmeSettings(
        api_url="https://acme.example", api_key="k3y", batch_size=200, region="eu"
    )
    assert (settings.ledger, settings.memo_field) == ("GL", "memo")


def test_dlt_config_and_secrets_are_read_when_the_environment_has_nothing():
    with (
        dlt.config.values({"erp.acme.api_url": "https://from-config", "erp.acme.batch_size": 7}),
        dlt.secrets.values({"erp.acme.api_key": "from-secrets"}),
    ):
        settings = AcmeSettings.from_config()

    assert (settings.api_url, settings.batch_size, settings.api_key) == (
        "https://from-config",
        7,
        "from-secrets",
    )


def test_a_secret_is_never_read_from_dlt_config(monkeypatch):
    configure(monkeypatch, api_url="u")
    with (
        dlt.config.values({"erp.acme.api_key": "in-config.toml"}),
        pytest.raises(ConfigurationError, match=r"set ERP__ACME__API_KEY \(or"),
    ):
        AcmeSettings.from_config()


def test_a_setting_that_is_not_secret_may_come_from_dlt_secrets(monkeypatch):
    configure(monkeypatch, api_key="k")
    with dlt.secrets.values({"erp.acme.api_url": "https://from-secrets"}):
        assert AcmeSettings.from_config().api_url == "https://from-secrets"


def test_the_environment_beats_dlt_config(monkeypatch):
    configure(monkeypatch, ledger="ENV", api_key="k")
    with dlt.config.values({"erp.acme.api_url": "u", "erp.acme.ledger": "CONFIG"}):
        assert AcmeSettings.from_config().ledger == "ENV"


def test_every_missing_required_setting_is_named_once(monkeypatch):
    configure(monkeypatch, ledger="GL2")

    with pytest.raises(ConfigurationError) as missing:
        AcmeSettings.from_config()

    assert str(missing.value) == (
        "Acme Ledger is not configured: set ERP__ACME__API_URL to the tenant's address, "
        "ERP__ACME__API_KEY (or the same keys under [erp.acme] in .dlt/config.toml, secrets "
        "only in .dlt/secrets.toml), from Acme's API page."
    )


def test_infor_names_its_file_without_nested_parentheses(monkeypatch):
    from posting.connectors.infor import InforSettings

    with pytest.raises(ConfigurationError) as missing:
        InforSettings.from_config()

    assert str(missing.value) == (
        "Infor is not configured: set ERP__INFOR__IONAPI_FILE to the path of the .ionapi file "
        "of an ION API backend-service client (or the same keys under [erp.infor] in "
        ".dlt/config.toml)."
    )


def test_an_empty_value_is_unset_unless_the_setting_says_empty_means_nothing(monkeypatch):
    configure(monkeypatch, api_url="u", api_key="k", ledger="", memo_field="")

    settings = AcmeSettings.from_config()

    assert (settings.ledger, settings.memo_field) == ("GL", "")


def test_an_unreadable_value_names_its_variable(monkeypatch):
    configure(monkeypatch, api_url="u", api_key="k", batch_size="-5")

    with pytest.raises(
        ConfigurationError, match=r"^ERP__ACME__BATCH_SIZE must be a whole number, got '-5'$"
    ):
        AcmeSettings.from_config()


def test_the_settings_check_runs_after_reading(monkeypatch):
    configure(monkeypatch, api_url="u", api_key="k", ledger="memo")

    with pytest.raises(ConfigurationError, match="ERP__ACME__LEDGER and ERP__ACME__MEMO_FIELD"):
        AcmeSettings.from_config()


def test_the_settings_check_runs_for_settings_made_by_hand_too():
    settings = AcmeSettings(api_url="u", api_key="k")

    with pytest.raises(ConfigurationError, match="ERP__ACME__LEDGER and ERP__ACME__MEMO_FIELD"):
        AcmeSettings(api_url="u", api_key="k", ledger="memo")
    with pytest.raises(ConfigurationError, match="ERP__ACME__LEDGER"):
        dataclasses.replace(settings, memo_field="GL")


def test_a_connector_setting_that_may_be_empty_sends_nothing(monkeypatch):
    for name, value in {
        "CLIENT_ID": "id",
        "CLIENT_SECRET": "s",
        "REDIRECT_URI": "https://r",
        "COST_CENTER_FIELD": "",
        "DIVISION": "123",
    }.items():
        monkeypatch.setenv(f"ERP__EXACT__{name}", value)

    settings = ExactSettings.from_config()

    assert (settings.cost_center_field, settings.cost_unit_field) == ("", "revenue_center")
    assert settings.division == 123 and settings.daily_reserve == 20


def test_a_connector_check_names_the_variable_to_fix(monkeypatch):
    for name, value in {
        "SENDER_ID": "s",
        "SENDER_PASSWORD": "sp",
        "COMPANY_ID": "c",
        "USER_ID": "u",
        "USER_PASSWORD": "up",
        "BATCH_STATE": "Approved",
    }.items():
        monkeypatch.setenv(f"ERP__INTACCT__{name}", value)

    with pytest.raises(ConfigurationError, match="ERP__INTACCT__BATCH_STATE must be Posted"):
        IntacctSettings.from_config()


# -- chunks and answers -------------------------------------------------------------------------
def test_chunked_keeps_order_and_sizes():
    assert list(chunked(list(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked("abcd", 2)) == ["ab", "cd"]
    assert list(chunked([], 5)) == []


def test_json_body_reads_amounts_as_decimal():
    response = httpx.Response(200, content=b'{"DebitAmount": 12.50, "LineNumber": 1}')

    assert json_body(response, "D365") == {"DebitAmount": Decimal("12.50"), "LineNumber": 1}


def test_a_body_that_is_not_json_is_refused_naming_the_erp():
    response = httpx.Response(502, text="<html>Bad gateway</html>")

    with pytest.raises(
        ErpRefusal,
        match=r"^Exact Online answered HTTP 502 with a body that is "
        r"not JSON: <html>Bad gateway</html>$",
    ):
        json_body(response, "Exact Online")
    assert json_body(response, "Exact Online", default={}) == {}
    with pytest.raises(ErpUnavailable, match="^M3 answered GLS840MI with a body"):
        json_body(response, "M3", what="GLS840MI", error=ErpUnavailable)


def test_a_body_that_is_not_json_may_be_shown_quoted_and_shorter():
    response = httpx.Response(200, text="\n" + "x" * 400)

    with pytest.raises(ErpUnavailable) as unavailable:
        json_body(response, "M3", what="GLS840MI", error=ErpUnavailable, shown=200, quoted=True)

    assert str(unavailable.value) == (
        "M3 answered GLS840MI with a body that is not JSON: " + repr("\n" + "x" * 199)
    )
