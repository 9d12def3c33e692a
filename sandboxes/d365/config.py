"""What the D365 sandbox environment is set up with: app registration, legal entities, chart of
accounts, journal names, the ledger dimension format for integrating applications, limits.

The defaults come from the dbt seeds, so every journal closeout builds is acceptable as it is;
tests narrow or change them through `/_sandbox/configure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sandboxes.seeds import SEEDS_DIR, rows, unique, with_changes

# F&O's ledger period statuses (General ledger > Calendars > Ledger calendars): only Open periods
# take transactions.
PERIOD_STATUSES = ("Open", "On hold", "Closed")


@dataclass
class D365Config:
    tenant_id: str = "closeout-sandbox-tenant"
    client_id: str = "sandbox-d365-client"
    client_secret: str = "sandbox-d365-secret"
    environment_url: str | None = None  # the scope's resource; None: the server's own URL
    token_ttl: int = 3599  # Entra's usual expires_in
    companies: list[str] = field(default_factory=list)
    default_company: str | None = None  # what a query without cross-company=true sees
    chart: list[str] = field(default_factory=list)  # main accounts of every company
    company_charts: dict[str, list[str]] = field(default_factory=dict)  # per-company override
    journal_names: dict[str, str] = field(default_factory=lambda: {"GenJrn": "General journal"})
    company_journal_names: dict[str, dict[str, str]] = field(default_factory=dict)  # override
    dimension_format: list[str] = field(
        default_factory=lambda: ["MainAccount", "Location", "RevenueCenter"]
    )
    dimension_delimiter: str = "-"
    # Dimensions with a value list only accept those values; others accept any value.
    dimension_values: dict[str, list[str]] = field(default_factory=dict)
    # What `closeout check` finds closed: main accounts suspended in every legal entity
    # (MainAccounts.IsSuspended), or in one (MainAccountLegalEntities), and dimension values
    # suspended (FinancialDimensionValues.IsSuspended). Lines naming them are refused.
    suspended_accounts: list[str] = field(default_factory=list)
    company_suspended_accounts: dict[str, list[str]] = field(default_factory=dict)
    suspended_dimension_values: dict[str, list[str]] = field(default_factory=dict)
    currencies: list[str] = field(default_factory=lambda: ["USD"])
    page_size: int = 10_000  # server-driven paging (F&O's maximum)
    throttle_every: int = 0  # every Nth data request answers 429 (0: off)
    throttle_limit: int = 0  # data requests allowed per throttle_window (0: off)
    throttle_window: float = 300.0
    retry_after: int = 1  # seconds, in 429 answers
    # The ledger calendar: every date on or before `closed_through` (ISO) is in a ledger period
    # whose status is `closed_status` ("On hold" or "Closed"); later dates are Open. None: all
    # periods are open. A test closes through a month's last day to close that month.
    closed_through: str | None = None
    closed_status: str = "On hold"

    def __post_init__(self) -> None:
        if self.closed_through is not None:
            date.fromisoformat(self.closed_through)  # a ValueError answers 400
        if self.closed_status not in PERIOD_STATUSES[1:]:
            raise ValueError(f"closed_status is one of {', '.join(PERIOD_STATUSES[1:])}")

    @classmethod
    def from_seeds(cls, seeds_dir: Path = SEEDS_DIR, **overrides) -> D365Config:
        locations = rows(seeds_dir / "locations.csv")
        config = cls(
            companies=unique(row["erp_company"] for row in locations),
            chart=unique(row["account_code"] for row in rows(seeds_dir / "chart_of_accounts.csv")),
            dimension_values={
                "Location": unique(row["location_dimension"] for row in locations),
                "RevenueCenter": unique(
                    row["dimension_value"]
                    for row in rows(seeds_dir / "revenue_center_dimensions.csv")
                ),
            },
        )
        return config.updated(overrides)

    def updated(self, changes: dict) -> D365Config:
        return with_changes(self, changes)

    def company(self, data_area_id: str | None) -> str | None:
        """The configured company matching `data_area_id` (company ids are case-insensitive)."""
        wanted = (data_area_id or "").lower()
        return next((c.lower() for c in self.companies if c.lower() == wanted), None)

    @property
    def home_company(self) -> str:
        return (self.default_company or (self.companies[0] if self.companies else "dat")).lower()

    def period_status(self, day: date) -> str:
        """The status of the ledger period `day` is in: Open, On hold or Closed."""
        if self.closed_through and day <= date.fromisoformat(self.closed_through):
            return self.closed_status
        return "Open"

    def main_accounts(self, company: str) -> set[str]:
        return set(_of_company(self.company_charts, company, self.chart))

    def chart_of_accounts(self, company: str) -> str:
        """The name of the chart `company`'s ledger uses: "Shared", or its own override."""
        own = _of_company(self.company_charts, company, None)
        return "Shared" if own is None else f"{company.upper()}-COA"

    def journal_names_of(self, company: str) -> dict[str, str]:
        return _of_company(self.company_journal_names, company, self.journal_names)

    def account_suspended(self, company: str, account: str) -> bool:
        return account in self.suspended_accounts or account in _of_company(
            self.company_suspended_accounts, company, []
        )

    def value_suspended(self, dimension: str, value: str) -> bool:
        return value.lower() in {
            v.lower() for v in self.suspended_dimension_values.get(dimension, [])
        }


def _of_company(per_company: dict, company: str, default):
    """The entry of `per_company` for `company` (ids are case-insensitive), else `default`."""
    return next((v for k, v in per_company.items() if k.lower() == company.lower()), default)
