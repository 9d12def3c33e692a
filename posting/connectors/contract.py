"""What every ERP connector is given and what it may raise.

The posting step (posting/post.py) turns each ready journal, or the difference between a
journal and what was already posted, into a `Journal` and hands it to the connector of the
configured ERP. A connector knows one ERP's API and nothing about DuckDB or dbt; what the
connectors share (settings from config, chunking, JSON answers) is in posting/connectors/kit.py.
"""

from __future__ import annotations

import re
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
    # The date the ERP books the document on when it is not the business date: an adjustment
    # of a day whose period is closed goes on the first open day (ACCOUNTING.md, "After
    # posting"). The key and the title keep the business date it corrects.
    posting_date: date | None = None

    @property
    def document_date(self) -> date:
        """The date to give the ERP document (its accounting / transaction date)."""
        return self.posting_date or self.business_date

    @property
    def identity(self) -> str:
        """The key's journal part, shared by every document of this journal: `CO-<yyyymmdd>-
        <guid[:8]>-<S|L>` (see `key_identity`)."""
        return key_identity(self.key)

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)


@dataclass(frozen=True)
class ErpDocument:
    """A document closeout made, as the ERP holds it now: read back, not remembered."""

    key: str  # the idempotency key it was created with (its identity, sequence and version)
    document_id: str  # the ERP's id, as `create` returned it
    company: str  # the place it is in: Journal.company / Journal.division of the probe that
    division: str | None  # found it
    lines: tuple[Line, ...]  # account, location, revenue_center, debit, credit as the ERP holds
    # them (number and description may be whatever the ERP keeps)

    @property
    def sequence(self) -> int:
        return key_sequence(self.key)


def key_identity(key: str) -> str:
    """`CO-20261201-1a2b3c4d-S0-9f8e7d6c5b` -> `CO-20261201-1a2b3c4d-S`: what every document of
    one journal (restaurant, business date, type) shares, whatever its sequence and version."""
    match = _KEY.fullmatch(key)
    if not match:
        raise ValueError(f"not a closeout document key: {key!r}")
    return match["identity"]


def key_sequence(key: str) -> int:
    match = _KEY.fullmatch(key)
    if not match:
        raise ValueError(f"not a closeout document key: {key!r}")
    return int(match["sequence"])


def key_version(key: str) -> str:
    """The version part of a key: the first characters of the journal version it carried."""
    match = _KEY.fullmatch(key)
    if not match:
        raise ValueError(f"not a closeout document key: {key!r}")
    return match["version"]


# What `closeout check` asks an ERP about: the values the seeds map to, in the place (company,
# division) a location's journals go to.
ReferenceKind = Literal[
    "company",  # locations.csv erp_company
    "division",  # locations.csv erp_division, within its company
    "account",  # a GL account a mapping seed or chart_of_accounts names, within a company
    "location",  # locations.csv location_dimension: the location dimension's value
    "revenue_center",  # revenue_center_dimensions.csv dimension_value
    "customer",  # an invoice-mode customer (FreshBooks client, M3 customer), when configured
]


@dataclass(frozen=True)
class Reference:
    """One value the seeds map to, which must exist in the ERP and be open for posting."""

    kind: ReferenceKind
    value: str
    company: str  # the place it is looked up in (a location's erp_company / erp_division)
    division: str | None
    used_by: str  # where the seeds name it, for the message: "sales_category_accounts.csv row 3"


@dataclass(frozen=True)
class ReferenceProblem:
    """What the ERP said about a reference (or about the connector's own settings: the journal,
    batch interface or journal name it posts with, when `reference` is None)."""

    reference: Reference | None
    problem: str  # the ERP's answer in a few words: "does not exist", "is blocked for posting"
    fix: str  # one sentence an accountant can act on, naming the file or setting to change


_KEY = re.compile(r"(?P<identity>CO-\d{8}-[^-]+-[A-Z])(?P<sequence>\d+)-(?P<version>\w+)")


class Connector(Protocol):
    erp: ErpName
    # The Line dimensions ("location", "revenue_center") this connector sends and `held` reads
    # back; posting compares amounts per account and these only. Optional: both by default.
    kept_dimensions: tuple[str, ...]

    def held(self, probes: Sequence[Journal]) -> dict[str, list[ErpDocument]]:
        """journal_id -> every document of that journal *completely* in the ERP, whatever its
        sequence and version (documents whose key has the probe's `identity`), with its lines
        read back from the ERP. Journals with none are left out.

        Called once per run, before anything is created. Each probe is a journal about to be
        posted, in one place to search (`company` / `division`): the same journal can come as
        several probes, for the places it may have been posted to before. A rebuilt warehouse
        knows nothing, so the ERP is the record: search by identity, not by the full key.
        Documents may be dated from the business date up to today (an adjustment of a closed
        period is dated the first open day). Use as few requests as the API allows (per place
        and date range, or filter on key prefixes in chunks), never one per journal. A partial
        document (a header without all its lines) is not complete: leave it out, and let
        `create` reuse or remove it."""

    def create(self, journal: Journal) -> str:
        """Post one journal; return the ERP's document id. Leaves nothing half-posted: a
        failure after a header was created removes it, or the next `create` reuses it."""

    def check(self, references: Sequence[Reference]) -> list[ReferenceProblem]:
        """`closeout check`: read only, ask the ERP whether every reference exists and is open
        for posting in its place, and whether the connector's own settings (journal / journal
        name / interface, company) exist; return one problem per thing wrong, none when all is
        well. Few requests: one list per kind and place (or a filtered query), never one per
        seed row. Sends nothing that creates or changes anything."""

    def close(self) -> None:
        """Release what the connector holds (its HTTP client, a session worth keeping)."""
