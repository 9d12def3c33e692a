"""`closeout check`, the seeds side: every ERP value the mapping seeds name, as `Reference`s.

Read from the seed files as CSV (what an accountant edits), not from the warehouse: the check is
a first step, before anything was loaded or built. For each active location of locations.csv,
its place (erp_company, erp_division) gets the company, the division (one with no value when
erp_division is empty: M3 refuses such a location's journals), the location dimension
value, every account a mapping row for the location (or for '*') maps to, and the revenue
center values. One reference per kind, value and place, remembering the first row that names
it. Accounts missing from chart_of_accounts.csv, or inactive there, are problems found here
without asking the ERP: the build would hold every journal that uses them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from closeout.errors import ConfigurationError
from posting.connectors.contract import Reference, ReferenceKind

# Mapping seed -> (the columns that say what a row matches, the columns holding accounts).
# A location's own row wins over a '*' row with the same match columns (seeds/_seeds.yml),
# column by column: an own row's empty cell takes the '*' row's value, as dbt picks them.
ACCOUNT_SEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sales_category_accounts": (
        ("sales_category_name", "sales_category_guid"),
        ("revenue_account", "discount_account"),
    ),
    "discount_accounts": (("discount_name", "discount_guid"), ("discount_account",)),
    "payment_type_accounts": (
        ("payment_type", "card_type", "alternate_payment_type_name", "alternate_payment_type_guid"),
        ("account_code",),
    ),
    "service_charge_accounts": (
        ("service_charge_category", "service_charge_name", "service_charge_guid"),
        ("account_code",),
    ),
    "tax_rate_accounts": (
        ("tax_rate_name", "tax_rate_guid"),
        ("tax_payable_account", "facilitator_tax_account"),
    ),
    "account_roles": (("role",), ("account_code",)),
}
# Only posted when the location's settings.csv says labor_journal = true.
LABOR_SEED = ("job_accounts", ("job_name", "job_guid"), ("labor_expense_account",))
LABOR_ROLES = {"accrued_payroll", "default_labor_expense"}
REVENUE_CENTER_SEED = (
    "revenue_center_dimensions",
    ("revenue_center_name", "revenue_center_guid"),
    ("dimension_value",),
)


@dataclass(frozen=True)
class Row:
    """One data row of a seed file, numbered as a spreadsheet numbers it (header = row 1)."""

    file: str
    number: int
    values: dict[str, str]

    @property
    def where(self) -> str:
        return f"{self.file} row {self.number}"

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


@dataclass(frozen=True)
class Location:
    row: Row
    guid: str
    name: str
    company: str
    division: str | None
    dimension: str
    active: bool
    currency: str  # the journals' currency: locations.csv, else settings.csv ("" if neither)


@dataclass(frozen=True)
class SeedProblem:
    """A problem the seeds show on their own: printed like the ERP's, without asking it."""

    used_by: str
    subject: str  # "account 4999", "location Harbor & Vine LoHi"
    problem: str
    fix: str


@dataclass
class SeedReferences:
    locations: list[Location]
    references: list[Reference] = field(default_factory=list)
    problems: list[SeedProblem] = field(default_factory=list)


def read_seed(seeds_dir: Path, name: str) -> list[Row]:
    """The rows of seeds/<name>.csv (a byte-order mark and blank lines are fine, as for dbt)."""
    path = seeds_dir / f"{name}.csv"
    if not path.is_file():
        raise ConfigurationError(
            f"{path.name} is missing from the seeds in {seeds_dir}: every mapping seed must be "
            "there (copy it from dbt_project/seeds), even with no rows but its header"
        )
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return [
            Row(path.name, number, row)
            for number, row in enumerate(reader, start=2)
            if any((value or "").strip() for value in row.values())
        ]


def references_from_seeds(seeds_dir: Path) -> SeedReferences:
    settings = read_seed(seeds_dir, "settings")
    locations = [_location(row, settings) for row in read_seed(seeds_dir, "locations")]
    found = SeedReferences(locations)
    seen: set[tuple[str, str, str, str | None]] = set()

    def add(kind: ReferenceKind, value: str, place: Location, row: Row) -> None:
        division = place.division if kind != "company" else None
        key = (kind, value, place.company, division)
        if value and key not in seen:
            seen.add(key)
            found.references.append(Reference(kind, value, place.company, division, row.where))

    seeds = {name: read_seed(seeds_dir, name) for name in ACCOUNT_SEEDS}
    seeds[LABOR_SEED[0]] = read_seed(seeds_dir, LABOR_SEED[0])
    seeds[REVENUE_CENTER_SEED[0]] = read_seed(seeds_dir, REVENUE_CENTER_SEED[0])
    labor = {
        guid: value.lower() == "true"
        for guid, value in _settings_by_location(settings, "labor_journal").items()
    }
    accounts_used: dict[str, Row] = {}
    for place in locations:
        if not place.active:
            continue
        if not place.company:
            found.problems.append(
                SeedProblem(
                    place.row.where,
                    f"location {place.name or place.guid}",
                    "has no erp_company, so its journals are held",
                    "write the ERP company its journals post to in erp_company, or set "
                    "is_active false",
                )
            )
            continue
        add("company", place.company, place, place.row)
        if place.division:
            add("division", place.division, place, place.row)
        else:
            # No erp_division: a division reference with no value, so that an ERP posting per
            # division (M3) can say the location's journals have none, unless its company
            # names one (CONO/DIVI). ERPs with no divisions ignore the kind.
            found.references.append(Reference("division", "", place.company, None, place.row.where))
        add("location", place.dimension, place, place.row)
        for row, value in _mapped_values(place, seeds, labor.get(place.guid, labor.get("*"))):
            add("account", value, place, row)
            accounts_used.setdefault(value, row)
        name, match, columns = REVENUE_CENTER_SEED
        for row, value in _values_for(place.guid, seeds[name], match, columns):
            add("revenue_center", value, place, row)
    found.problems += _chart_problems(read_seed(seeds_dir, "chart_of_accounts"), accounts_used)
    return found


def _location(row: Row, settings: list[Row]) -> Location:
    guid = row.get("restaurant_guid")
    currencies = _settings_by_location(settings, "currency")
    return Location(
        row=row,
        guid=guid,
        name=row.get("location_name"),
        company=row.get("erp_company"),
        division=row.get("erp_division") or None,
        dimension=row.get("location_dimension"),
        active=row.get("is_active").lower() == "true",
        currency=row.get("currency") or currencies.get(guid, currencies.get("*", "")),
    )


def _settings_by_location(settings: list[Row], column: str) -> dict[str, str]:
    """restaurant_guid (or '*') -> the settings.csv value; an empty cell takes the '*' row's."""
    default = next((row.get(column) for row in settings if row.get("restaurant_guid") == "*"), "")
    return {row.get("restaurant_guid"): row.get(column) or default for row in settings}


def _mapped_values(
    place: Location, seeds: dict[str, list[Row]], labor_journal: bool | None
) -> Iterator[tuple[Row, str]]:
    for name, (match, accounts) in ACCOUNT_SEEDS.items():
        for row, value in _values_for(place.guid, seeds[name], match, accounts):
            if name == "account_roles" and row.get("role") in LABOR_ROLES and not labor_journal:
                continue
            yield row, value
    if labor_journal:
        yield from _values_for(place.guid, seeds[LABOR_SEED[0]], *LABOR_SEED[1:])


def _values_for(
    guid: str, rows: list[Row], match: tuple[str, ...], columns: tuple[str, ...]
) -> Iterator[tuple[Row, str]]:
    """The non-empty `columns` of the rows that apply to location `guid`, per column as dbt
    picks them (finance_mapping_pick: the first non-null value, a location's row before a '*'
    row): its own rows' values, and a '*' row's value in a column where no own row with the
    same match columns has one (an own row with an empty cell still takes the '*' row's)."""

    def matched(row: Row) -> tuple[str, ...]:
        return tuple(row.get(column) for column in match)

    own = [row for row in rows if row.get("restaurant_guid") == guid]
    own_filled = {(matched(row), column) for row in own for column in columns if row.get(column)}
    for row in rows:
        mine = row.get("restaurant_guid") == guid
        if not mine and row.get("restaurant_guid") != "*":
            continue
        for column in columns:
            value = row.get(column)
            if value and (mine or (matched(row), column) not in own_filled):
                yield row, value


def _chart_problems(chart: list[Row], used: dict[str, Row]) -> list[SeedProblem]:
    by_code = {row.get("account_code"): row for row in chart}
    problems = []
    for account, row in used.items():
        entry = by_code.get(account)
        if entry is None:
            problems.append(
                SeedProblem(
                    row.where,
                    f"account {account}",
                    "is not in chart_of_accounts.csv, so the journals using it are held",
                    "add the account to chart_of_accounts.csv as it is in the ERP, or map to "
                    "an account that is there",
                )
            )
        elif entry.get("is_active").lower() != "true":
            problems.append(
                SeedProblem(
                    row.where,
                    f"account {account}",
                    f"is inactive in chart_of_accounts.csv ({entry.where}), so the journals "
                    "using it are held",
                    "map to an active account, or set is_active true there if it is open in "
                    "the ERP",
                )
            )
    return problems
