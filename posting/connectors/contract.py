"""What every ERP connector is given and what it may raise.

The posting step (posting/post.py) turns each ready journal, or the difference between a
journal and what was already posted, into a `Journal` and hands it to the connector of the
configured ERP. A connector knows one ERP's API and nothing about DuckDB or dbt; what the
connectors share (settings from config, chunking, JSON answers) is in posting/connectors/kit.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, Protocol

from closeout.money import ZERO

ErpName = Literal["d365", "intacct", "exact", "freshbooks", "infor"]
JournalType = Literal["sales", "labor"]
# An original is the day as first posted; an adjustment carries the difference a later version
# of the day makes to what the ERP already has.
JournalKind = Literal["original", "adjustment"]


@dataclass(frozen=True)
class Line:
    """One journal line: exactly one of debit and credit is > 0, both are >= 0."""

    number: int  # 1.. within the journal
    account: str  # GL account code (chart_of_accounts seed)
    debit: Decimal
    credit: Decimal
    description: str
    location: str | None  # location dimension value (locations seed)
    revenue_center: str | None  # revenue center dimension value (revenue_center_dimensions seed)
    # What the line is, for ERPs that post a day as something other than a journal (a
    # FreshBooks invoice): journal_lines.line_kind and the Toast names behind it.
    line_kind: str | None = None
    sales_category: str | None = None
    payment_type: str | None = None


@dataclass(frozen=True)
class Journal:
    """One document for the ERP: a day's journal or an adjustment of it, with its key."""

    key: str  # idempotency key: deterministic per journal version, <= 60 chars
    journal_id: str  # "<restaurant guid>:<business date>:<journal type>"
    restaurant_guid: str
    location_name: str
    company: str  # ERP company / legal entity (locations seed `erp_company`)
    business_date: date
    journal_type: JournalType
    kind: JournalKind
    adjusts: str | None  # for an adjustment: the ERP document id of the original
    currency: str
    title: str  # one line a person reads in the ERP; ends with the key
    lines: tuple[Line, ...]
    division: str | None = None  # division within the company (locations seed `erp_division`)

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)


class Connector(Protocol):
    erp: ErpName

    def existing(self, journals: Sequence[Journal]) -> dict[str, str]:
        """key -> the ERP's document id, for each of `journals` already *completely* in the ERP.

        Called once per run, before anything is created, with every journal about to be posted:
        the process may have died after the ERP accepted a journal and before DuckDB recorded
        it. Use as few requests as the API allows (filter on the keys in chunks, or on the date
        range), never one per journal. A partial document (a header without all its lines) is
        not complete: leave it out, and let `create` reuse or remove it."""

    def create(self, journal: Journal) -> str:
        """Post one journal; return the ERP's document id. Leaves nothing half-posted: a
        failure after a header was created removes it, or the next `create` reuses it."""

    def close(self) -> None:
        """Release what the connector holds (its HTTP client, a session worth keeping)."""
