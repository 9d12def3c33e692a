"""The F&O reference data entities `closeout check` reads, built from the sandbox's settings so
they always agree with what journal lines are validated against. Read-only in the sandbox.

Entity sets and fields are F&O's (public collection names, as in the environment's $metadata):

    LegalEntities             LegalEntityId, Name                      (shared: no dataAreaId)
    Ledgers                   LegalEntityId, ChartOfAccounts, Name, AccountingCurrency
    MainAccounts              MainAccountId, ChartOfAccounts, Name, IsSuspended, ...
    MainAccountLegalEntities  a legal entity's override of a main account: IsSuspended, ...
    FinancialDimensionValues  FinancialDimension, DimensionValue, LegalEntityId ('' = shared),
                              IsSuspended, ...
    JournalNames              dataAreaId, Name, Description, Type (per company)

NoYes enums are written as F&O writes them on the wire: "Yes" / "No".
"""

from __future__ import annotations

from collections.abc import Callable

from sandboxes.d365.config import D365Config

_NS = "Microsoft.Dynamics.DataEntities"
ALWAYS = "1900-01-01T12:00:00Z"  # F&O's empty ActiveFrom
NEVER = "2154-12-31T23:59:59Z"  # and ActiveTo


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def legal_entities(config: D365Config) -> list[dict]:
    return [{"LegalEntityId": c.upper(), "Name": c.upper()} for c in config.companies]


def ledgers(config: D365Config) -> list[dict]:
    return [
        {
            "LegalEntityId": c.upper(),
            "ChartOfAccounts": config.chart_of_accounts(c),
            "Name": c.upper(),
            "AccountingCurrency": config.currencies[0] if config.currencies else "USD",
        }
        for c in config.companies
    ]


def main_accounts(config: D365Config) -> list[dict]:
    charts = {
        config.chart_of_accounts(c): sorted(config.main_accounts(c)) for c in config.companies
    }
    charts.setdefault("Shared", sorted(set(config.chart)))
    return [
        {
            "MainAccountId": account,
            "ChartOfAccounts": chart,
            "Name": account,
            "MainAccountType": "Balance",
            "IsSuspended": _yes(account in config.suspended_accounts),
            "DoNotAllowManualEntry": "No",
            "ActiveFrom": ALWAYS,
            "ActiveTo": NEVER,
        }
        for chart, accounts in charts.items()
        for account in accounts
    ]


def main_account_legal_entities(config: D365Config) -> list[dict]:
    """Only the overrides there are: the accounts suspended for one legal entity."""
    return [
        {
            "MainAccountId": account,
            "ChartOfAccounts": config.chart_of_accounts(company),
            "LegalEntityId": company.upper(),
            "IsSuspended": "Yes",
            "DoNotAllowManualEntry": "No",
            "ActiveFrom": ALWAYS,
            "ActiveTo": NEVER,
        }
        for company, accounts in config.company_suspended_accounts.items()
        for account in accounts
    ]


def financial_dimension_values(config: D365Config) -> list[dict]:
    return [
        {
            "FinancialDimension": dimension,
            "DimensionValue": value,
            "LegalEntityId": "",  # shared by every legal entity
            "Description": value,
            "IsSuspended": _yes(config.value_suspended(dimension, value)),
            "IsBlockedForManualEntry": "No",
            "IsTotal": "No",
            "ActiveFrom": ALWAYS,
            "ActiveTo": NEVER,
        }
        for dimension, values in config.dimension_values.items()
        for value in values
    ]


def journal_names(config: D365Config) -> list[dict]:
    return [
        {"dataAreaId": company.lower(), "Name": name, "Description": description, "Type": "Daily"}
        for company in config.companies
        for name, description in config.journal_names_of(company).items()
    ]


def _fields(row_of: dict, types: dict[str, str] | None = None) -> dict[str, str]:
    return {name: (types or {}).get(name, "string") for name in row_of}


_ENUMS = {
    "IsSuspended": "enum",
    "DoNotAllowManualEntry": "enum",
    "IsBlockedForManualEntry": "enum",
    "IsTotal": "enum",
    "MainAccountType": "enum",
    "Type": "enum",
    "ActiveFrom": "datetime",
    "ActiveTo": "datetime",
}

# entity set -> (rows from the settings, field types, entity type, company-bound)
ENTITIES: dict[str, tuple[Callable[[D365Config], list[dict]], dict[str, str], str, bool]] = {
    "LegalEntities": (
        legal_entities,
        _fields({"LegalEntityId": 0, "Name": 0}),
        f"{_NS}.LegalEntity",
        False,
    ),
    "Ledgers": (
        ledgers,
        _fields({"LegalEntityId": 0, "ChartOfAccounts": 0, "Name": 0, "AccountingCurrency": 0}),
        f"{_NS}.Ledger",
        False,
    ),
    "MainAccounts": (
        main_accounts,
        _fields(
            dict.fromkeys(
                [
                    "MainAccountId",
                    "ChartOfAccounts",
                    "Name",
                    "MainAccountType",
                    "IsSuspended",
                    "DoNotAllowManualEntry",
                    "ActiveFrom",
                    "ActiveTo",
                ]
            ),
            _ENUMS,
        ),
        f"{_NS}.MainAccount",
        False,
    ),
    "MainAccountLegalEntities": (
        main_account_legal_entities,
        _fields(
            dict.fromkeys(
                [
                    "MainAccountId",
                    "ChartOfAccounts",
                    "LegalEntityId",
                    "IsSuspended",
                    "DoNotAllowManualEntry",
                    "ActiveFrom",
                    "ActiveTo",
                ]
            ),
            _ENUMS,
        ),
        f"{_NS}.MainAccountLegalEntity",
        False,
    ),
    "FinancialDimensionValues": (
        financial_dimension_values,
        _fields(
            dict.fromkeys(
                [
                    "FinancialDimension",
                    "DimensionValue",
                    "LegalEntityId",
                    "Description",
                    "IsSuspended",
                    "IsBlockedForManualEntry",
                    "IsTotal",
                    "ActiveFrom",
                    "ActiveTo",
                ]
            ),
            _ENUMS,
        ),
        f"{_NS}.FinancialDimensionValue",
        False,
    ),
    "JournalNames": (
        journal_names,
        _fields(dict.fromkeys(["dataAreaId", "Name", "Description", "Type"]), _ENUMS),
        f"{_NS}.JournalName",
        True,
    ),
}
