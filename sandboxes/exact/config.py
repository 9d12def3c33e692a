"""What the Exact Online sandbox is set up with: the registered app, the divisions the user may
reach, the chart of accounts (codes with their GUIDs, some blocked), journals (with their
types), cost centers (some inactive) and cost units, relations (crm/Accounts), the API limits
and the language of its messages.

The defaults come from the dbt seeds, so every journal closeout builds posts as it is; tests
change them through `/_sandbox/configure`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sandboxes.seeds import SEEDS_DIR, rows, unique, with_changes

# GL account GUIDs are derived from the code, so they are the same in every sandbox run.
_ACCOUNT_NAMESPACE = uuid.UUID("0b6f7c1e-52f4-4d5e-9c1a-6a2f0e3d4c5b")


@dataclass
class ExactConfig:
    client_id: str = "sandbox-exact-client"
    client_secret: str = "sandbox-exact-secret"
    redirect_uri: str = "http://127.0.0.1:8765/exact/callback"  # the app's registered one
    divisions: list[int] = field(default_factory=lambda: [100001])
    current_division: int = 100001  # what current/Me answers
    currency: str = "USD"  # every division's default currency
    accounts: list[str] = field(default_factory=list)  # GL account codes
    blocked_accounts: list[str] = field(default_factory=list)  # GLAccounts.IsBlocked
    journals: dict[str, str] = field(default_factory=lambda: {"90": "Memorial"})
    # Journal code -> Exact's journal type (10 cash, 12 bank, 20 sales, 22 purchase, 90
    # general); a journal not named here is a general journal (90).
    journal_types: dict[str, int] = field(default_factory=dict)
    vat_journals: list[str] = field(default_factory=list)  # journals with VAT enabled
    cost_centers: list[str] = field(default_factory=list)
    inactive_cost_centers: list[str] = field(default_factory=list)  # Costcenters.Active false
    cost_units: list[str] = field(default_factory=list)
    relations: dict[str, str] = field(default_factory=dict)  # crm/Accounts: code -> name
    language: str = "en"  # "nl": messages in Dutch, as a Dutch user sees them
    description_length: int = 60  # GeneralJournalEntryLines.Description
    page_size: int = 60  # Exact's page size on normal endpoints
    access_ttl: int = 600  # access tokens live 10 minutes
    code_ttl: int = 180  # authorization codes, single use
    min_refresh_seconds: int = 570  # no new access token while one this young is valid
    minutely_limit: int = 60  # calls a minute per division
    minute_seconds: float = 60.0  # the length of that "minute" (tests shorten it)
    daily_limit: int = 5000  # calls a day per division
    # Financial periods (calendar months here) closed by the accountant, through the one that
    # holds this ISO date: entries dated in them are refused as Exact refuses them.
    periods_closed_through: str | None = None

    @classmethod
    def from_seeds(cls, seeds_dir: Path = SEEDS_DIR, **overrides) -> ExactConfig:
        locations = rows(seeds_dir / "locations.csv")
        config = cls(
            accounts=unique(
                row["account_code"] for row in rows(seeds_dir / "chart_of_accounts.csv")
            ),
            cost_centers=unique(row["location_dimension"] for row in locations),
            cost_units=unique(
                row["dimension_value"] for row in rows(seeds_dir / "revenue_center_dimensions.csv")
            ),
        )
        return config.updated(overrides)

    def updated(self, changes: dict) -> ExactConfig:
        return with_changes(self, changes)

    def period_closed(self, year: int, period: int) -> bool:
        if not self.periods_closed_through:
            return False
        through = date.fromisoformat(self.periods_closed_through)
        return (year, period) <= (through.year, through.month)

    def journal_type(self, code: str) -> int:
        return int(self.journal_types.get(code, 90))

    def account_guids(self) -> dict[str, str]:
        """GL account code -> its GUID (the ID a line's GLAccount must name)."""
        return {code: guid_of(code) for code in self.accounts}


def guid_of(name: str) -> str:
    """A stable GUID for a master-data record (the same in every sandbox run)."""
    return str(uuid.uuid5(_ACCOUNT_NAMESPACE, name))
