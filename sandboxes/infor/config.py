"""What the M3 sandbox tenant is set up with: the ION API client and service account, companies
and divisions, the chart of accounts and accounting dimension values, the GL interface (INTN)
with its PARM layout, field lengths and gateway limits.

The defaults come from the dbt seeds, so every journal closeout builds is acceptable as it is;
tests narrow or change them through `/_sandbox/configure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sandboxes.seeds import SEEDS_DIR, rows, unique, with_changes

# The interface definition the sandbox's GL interface uses, the same default the connector
# ships (posting/connectors/infor.py DEFAULT_PARM_LAYOUT): field, start (1-based), length.
DEFAULT_PARM_LAYOUT = [
    ["AIT1", 1, 8],
    ["AIT2", 9, 8],
    ["AIT3", 17, 8],
    ["AIT4", 25, 8],
    ["AIT5", 33, 8],
    ["AIT6", 41, 8],
    ["AIT7", 49, 8],
    ["ACDT", 57, 8],
    ["CUAM", 65, 17],
    ["CUCD", 82, 3],
    ["VTXT", 85, 40],
]


@dataclass
class InforConfig:
    tenant: str = "CLOSEOUT_TST"
    client_id: str = "CLOSEOUT_TST~sandbox-backend-client"
    client_secret: str = "sandbox-infor-client-secret"
    service_account_key: str = "CLOSEOUT_TST#sandbox-service-account-access-key"
    service_account_secret: str = "sandbox-service-account-secret-key"
    token_ttl: int = 7200
    companies: list[str] = field(default_factory=lambda: ["100"])
    divisions: list[str] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=lambda: ["CLOSEOUT"])
    parm_layout: list[list] = field(default_factory=lambda: [list(f) for f in DEFAULT_PARM_LAYOUT])
    accounts: list[str] = field(default_factory=list)
    division_accounts: dict[str, list[str]] = field(default_factory=dict)  # per-DIVI override
    # AIT2..AIT7 with a value list accept only those values (blank is always accepted).
    dimension_values: dict[str, list[str]] = field(default_factory=dict)
    currencies: list[str] = field(default_factory=lambda: ["USD"])
    # 'Period. Open for Transaction Entry' (GLS990): per DIVI, the last accounting date of the
    # closed periods (YYYYMMDD); nothing on or before it is accepted. No entry: all open.
    closed_through: dict[str, str] = field(default_factory=dict)
    key1_length: int = 15  # FGLINH KEY1
    desc_length: int = 40  # FGLINH DESC
    parm_length: int = 256  # FGLINL PARM
    max_transactions: int = 1000  # transactions in one bulk request
    rate_limit: int = 6000  # requests per rate_window per client (0: off)
    rate_window: float = 60.0
    throttle_every: int = 0  # every Nth M3 request answers 429 (0: off)
    retry_after: int = 1

    @classmethod
    def from_seeds(cls, seeds_dir: Path = SEEDS_DIR, **overrides) -> InforConfig:
        locations = rows(seeds_dir / "locations.csv")
        config = cls(
            divisions=unique(row.get("erp_division") for row in locations),
            accounts=unique(
                row["account_code"] for row in rows(seeds_dir / "chart_of_accounts.csv")
            ),
            dimension_values={
                "AIT2": unique(row["location_dimension"] for row in locations),
                "AIT3": unique(
                    row["dimension_value"]
                    for row in rows(seeds_dir / "revenue_center_dimensions.csv")
                ),
            },
        )
        return config.updated(overrides)

    def updated(self, changes: dict) -> InforConfig:
        return with_changes(self, changes)

    def accounts_of(self, division: str) -> set[str]:
        return set(self.division_accounts.get(division, self.accounts))

    def closed_through_of(self, division: str) -> str:
        """The last closed accounting date of `division`, "" when every period is open."""
        return self.closed_through.get(division, "")
