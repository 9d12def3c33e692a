"""What the FreshBooks sandbox business is set up with: the app registration, the account,
the chart (journal entry accounts and their sub-accounts), clients, limits.

The defaults come from the dbt seeds so every journal closeout builds posts as it is: one
sub-account per chart account (numbered with the account code) and, for revenue and
contra-revenue accounts, one per revenue center ("<code>-<dimension value>"), the way an
accountant who wants revenue centers in FreshBooks would set it up; one client per
`erp_company` of the locations seed. Tests change them through `/_sandbox/configure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sandboxes.freshbooks.errors import ERROR_STYLES
from sandboxes.seeds import SEEDS_DIR, rows, unique, with_changes

# FreshBooks' own parent accounts the seed accounts are created under, by account type.
PARENTS = {
    "asset": ("1000", "Assets", "asset"),
    "liability": ("2000", "Liabilities", "liability"),
    "revenue": ("4000", "Income", "income"),
    "contra_revenue": ("4000", "Income", "income"),
    "expense": ("6000", "Expenses", "expense"),
}
# FreshBooks' payment types (what its payment form offers).
PAYMENT_TYPES = [
    "Cash",
    "Check",
    "Credit",
    "Credit Card",
    "Debit",
    "VISA",
    "MasterCard",
    "AMEX",
    "Discover",
    "Bank Transfer",
    "ACH",
    "PayPal",
    "Other",
]


@dataclass
class FreshBooksConfig:
    client_id: str = "sandbox-freshbooks-client"
    client_secret: str = "sandbox-freshbooks-secret"
    # Registered redirect URIs. FreshBooks takes https only; the sandbox also accepts any
    # loopback http://127.0.0.1:<port>/... so the loopback consent path can be tested.
    redirect_uris: list[str] = field(
        default_factory=lambda: ["https://closeout.invalid/freshbooks/callback"]
    )
    consent: str = "allow"  # what the user answers on the consent page: allow|deny
    account_ids: list[str] = field(default_factory=lambda: ["xZNQ1X"])
    business_ids: list[int] = field(default_factory=lambda: [77001])
    currency: str = "USD"
    access_token_ttl: int = 43200  # 12 h
    code_ttl: int = 300  # authorization codes last 5 minutes
    # chart: [{"account_number", "account_name", "account_type", "sub_accounts": [
    #          {"account_sub_number", "account_sub_name"}]}]
    chart: list[dict] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)  # organization names
    payment_types: list[str] = field(default_factory=lambda: list(PAYMENT_TYPES))
    max_per_page: int = 100  # per_page above this is silently capped
    # refusals: "old" or "new" body with FreshBooks' status (400, 404, 403), or "old_in_200":
    # the old body inside HTTP 200, as FreshBooks' Node SDK documents it can arrive
    error_style: str = "old"
    throttle_every: int = 0  # every Nth API request answers 429 (0: off)
    throttle_limit: int = 0  # API requests allowed per throttle_window (0: off)
    throttle_window: float = 60.0
    retry_after: int | None = None  # seconds in 429 answers; None: no Retry-After header
    # Test control: when set, a journal entry naming a location (`loc <value>` in a line
    # description) outside this list is refused, as for a store not set up in FreshBooks.
    accepted_locations: list[str] | None = None

    @classmethod
    def from_seeds(cls, seeds_dir: Path = SEEDS_DIR, **overrides) -> FreshBooksConfig:
        accounts = [
            row
            for row in rows(seeds_dir / "chart_of_accounts.csv")
            if row.get("is_active", "true").strip().lower() != "false"
        ]
        centers = unique(
            row["dimension_value"] for row in rows(seeds_dir / "revenue_center_dimensions.csv")
        )
        center_names = {
            row["dimension_value"].strip(): row["revenue_center_name"].strip()
            for row in rows(seeds_dir / "revenue_center_dimensions.csv")
        }
        parents: dict[str, dict] = {}
        for row in accounts:
            number, name, kind = PARENTS.get(row["account_type"].strip(), PARENTS["asset"])
            parent = parents.setdefault(
                number,
                {
                    "account_number": number,
                    "account_name": name,
                    "account_type": kind,
                    "sub_accounts": [],
                },
            )
            code, title = row["account_code"].strip(), row["account_name"].strip()
            parent["sub_accounts"].append({"account_sub_number": code, "account_sub_name": title})
            if row["account_type"].strip() in ("revenue", "contra_revenue"):
                parent["sub_accounts"] += [
                    {
                        "account_sub_number": f"{code}-{center}",
                        "account_sub_name": f"{title} - {center_names.get(center, center)}",
                    }
                    for center in centers
                ]
        locations = rows(seeds_dir / "locations.csv")
        config = cls(
            chart=list(parents.values()), clients=unique(row["erp_company"] for row in locations)
        )
        return config.updated(overrides)

    def updated(self, changes: dict) -> FreshBooksConfig:
        if changes.get("error_style", self.error_style) not in ERROR_STYLES:
            raise ValueError(f"error_style is one of {', '.join(ERROR_STYLES)}")
        return with_changes(self, changes)
