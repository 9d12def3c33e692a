"""The master data the Exact sandbox answers from its settings: divisions, G/L accounts,
journals, cost centers, cost units and relations (crm/Accounts), with the fields Exact's REST
API names them by. Each kind is a read-only collection; `rows(config, division)` lists it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandboxes.exact.config import ExactConfig, guid_of

JOURNAL_TYPES = {
    10: "Cash",
    12: "Bank",
    16: "Payment service",
    20: "Sales",
    21: "Return invoice",
    22: "Purchase",
    23: "Received return invoice",
    90: "General journal",
}
DIVISION_ACTIVE = 1  # system/Divisions.Status: 0 inactive, 1 active, 2 archived


@dataclass(frozen=True)
class Kind:
    type_name: str
    fields: set[str]
    key: str
    rows: Callable[[ExactConfig, int], list[dict]]


def _accounts(config: ExactConfig, division: int) -> list[dict]:
    blocked = set(config.blocked_accounts)
    return [
        {
            "ID": guid,
            "Code": code,
            "Description": f"Account {code}",
            "Division": division,
            "IsBlocked": code in blocked,
        }
        for code, guid in config.account_guids().items()
    ]


def _journals(config: ExactConfig, division: int) -> list[dict]:
    return [
        {
            "ID": guid_of(f"journal:{code}"),
            "Code": code,
            "Description": description,
            "Division": division,
            "Type": config.journal_type(code),
            "TypeDescription": JOURNAL_TYPES.get(config.journal_type(code), "Other"),
            "AllowVAT": code in config.vat_journals,
            "Currency": config.currency,
        }
        for code, description in config.journals.items()
    ]


def _cost_centers(config: ExactConfig, division: int) -> list[dict]:
    inactive = set(config.inactive_cost_centers)
    return [
        {
            "ID": guid_of(f"costcenter:{code}"),
            "Code": code,
            "Description": f"Cost center {code}",
            "Division": division,
            "Active": code not in inactive,
        }
        for code in config.cost_centers
    ]


def _cost_units(config: ExactConfig, division: int) -> list[dict]:
    # Exact's Costunits carry no Active flag.
    return [
        {
            "ID": guid_of(f"costunit:{code}"),
            "Code": code,
            "Description": f"Cost unit {code}",
            "Division": division,
        }
        for code in config.cost_units
    ]


def _divisions(config: ExactConfig, _division: int) -> list[dict]:
    return [
        {
            "Code": code,
            "Description": f"Division {code}",
            "Currency": config.currency,
            "Current": code == config.current_division,
            "Status": DIVISION_ACTIVE,
        }
        for code in config.divisions
    ]


def _relations(config: ExactConfig, division: int) -> list[dict]:
    # Exact keeps a relation's Code right-aligned in 18 characters; the community client pads
    # the code it filters on the same way.
    return [
        {
            "ID": guid_of(f"account:{code}"),
            "Code": f"{code:>18}",
            "Name": name,
            "Division": division,
            "Status": "C",
        }
        for code, name in config.relations.items()
    ]


KINDS: dict[tuple[str, str], Kind] = {
    ("financial", "GLAccounts"): Kind(
        "GLAccount", {"ID", "Code", "Description", "Division", "IsBlocked"}, "ID", _accounts
    ),
    ("financial", "Journals"): Kind(
        "Journal",
        {"ID", "Code", "Description", "Division", "Type", "TypeDescription", "AllowVAT"}
        | {"Currency"},
        "ID",
        _journals,
    ),
    ("hrm", "Costcenters"): Kind(
        "Costcenter", {"ID", "Code", "Description", "Division", "Active"}, "ID", _cost_centers
    ),
    ("hrm", "Costunits"): Kind(
        "Costunit", {"ID", "Code", "Description", "Division"}, "ID", _cost_units
    ),
    ("system", "Divisions"): Kind(
        "SystemDivision",
        {"Code", "Description", "Currency", "Current", "Status"},
        "Code",
        _divisions,
    ),
    ("hrm", "Divisions"): Kind(
        "Division", {"Code", "Description", "Currency", "Status"}, "Code", _divisions
    ),
    ("crm", "Accounts"): Kind(
        "Account", {"ID", "Code", "Name", "Division", "Status"}, "ID", _relations
    ),
}
