"""What the M3 sandbox tenant is set up with: the ION API client and service account, companies
and divisions, the chart of accounts (with the accounting dimensions each account requires) and
accounting dimension values, the GL interface definitions (INTN) with their PARM fields, field
lengths and gateway limits.

The defaults come from the dbt seeds, so every journal closeout builds is acceptable as it is;
tests narrow or change them through `/_sandbox/configure`. The interface definition is the
tenant's own, written out here and never read from the connector's settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sandboxes.seeds import SEEDS_DIR, rows, unique, with_changes

# The tenant's GL interface CLOSEOUT as an M3 administrator set it up for closeout: field,
# start (1-based), length. Kept apart from the connector's ERP__INFOR__PARM_LAYOUT on purpose:
# a test changes one or the other to see them disagree.
CLOSEOUT_INTERFACE = [
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
    # INTN -> its PARM fields [field, start, length]
    interfaces: dict[str, list[list]] = field(
        default_factory=lambda: {"CLOSEOUT": [list(f) for f in CLOSEOUT_INTERFACE]}
    )
    accounts: list[str] = field(default_factory=list)
    division_accounts: dict[str, list[str]] = field(default_factory=dict)  # per-DIVI override
    account_names: dict[str, str] = field(default_factory=dict)  # TX40 in CRS630
    # The accounting string rules of CRS630: account -> the AIT fields it must be given.
    account_dimensions: dict[str, list[str]] = field(default_factory=dict)
    blocked_accounts: list[str] = field(default_factory=list)  # LCCD: blocked for entry
    # AIT2..AIT7 with a value list accept only those values (blank is always accepted).
    dimension_values: dict[str, list[str]] = field(default_factory=dict)
    # "PROGRAM/Transaction" answered as a transaction the tenant does not have (HTTP 400): an
    # MI extension not installed, or a program the ION API client may not use.
    withheld_transactions: list[str] = field(default_factory=list)
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
        chart = rows(seeds_dir / "chart_of_accounts.csv")
        config = cls(
            divisions=unique(row.get("erp_division") for row in locations),
            accounts=unique(row["account_code"] for row in chart),
            account_names={row["account_code"]: row["account_name"] for row in chart},
            # Sales are analysed by location: every revenue account requires AIT2.
            account_dimensions={
                row["account_code"]: ["AIT2"]
                for row in chart
                if row["account_type"] in ("revenue", "contra_revenue")
            },
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

    def accounts_of(self, division: str) -> list[str]:
        return list(self.division_accounts.get(division, self.accounts))

    def closed_through_of(self, division: str) -> str:
        """The last closed accounting date of `division`, "" when every period is open."""
        return self.closed_through.get(division, "")
