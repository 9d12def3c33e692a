"""One company's books: its chart, dimensions and journals, and the GL batches posted to it.

`validate_batch` reads a GLBATCH create the way Intacct checks it (every problem at once);
`record` and `batch_element` give a batch back to queries and reads.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sandboxes.intacct import errors
from sandboxes.intacct.envelope import sub
from sandboxes.intacct.errors import GatewayError
from sandboxes.intacct.objects import (
    GLBATCH,
    LISTS,
    STANDARD_DIMENSIONS,
    ObjectDefinition,
    glentry,
    user_dimension,
)

ZERO = Decimal("0")
SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
DEFAULT_JOURNALS = ("SJ", "GJ", "PJ")
# GLENTRY dimensions that are accepted and stored but not checked against a list here.
UNCHECKED_DIMENSIONS = STANDARD_DIMENSIONS
ENTRY_INPUTS = {
    "DOCUMENT",
    "ACCOUNTNO",
    "TR_TYPE",
    "TRX_AMOUNT",
    "CURRENCY",
    "EXCH_RATE_DATE",
    "EXCH_RATE_TYPE_ID",
    "EXCHANGE_RATE",
    "ALLOCATION",
    "LOCATION",
    "DEPARTMENT",
    "DESCRIPTION",
    *UNCHECKED_DIMENSIONS,
}
# What a VAT company's batch carries (Intacct's SDK writes and reads them by default).
VAT_FIELDS = ("TAXIMPLICATIONS", "TAXSOLUTIONID", "VATVENDORID", "VATCUSTOMERID", "VATCONTACTID")
BATCH_INPUTS = {
    "JOURNAL",
    "BATCH_DATE",
    "BATCH_TITLE",
    "REVERSEDATE",
    "HISTORY_COMMENT",
    "REFERENCENO",
    "BASELOCATION_NO",
    "SUPDOCID",
    "STATE",
    "ENTRIES",
    *VAT_FIELDS,
}
STATES = ("Posted", "Draft")
NUMERIC_FIELDS = {"RECORDNO", "BATCHNO", "LINE_NO", "TR_TYPE", "TRX_AMOUNT", "AMOUNT"}
DATE_FIELDS = {"BATCH_DATE", "REVERSEDATE"}


@dataclass
class GlEntry:
    line_no: int
    accountno: str
    tr_type: int  # 1 debit, -1 credit
    amount: Decimal  # positive
    location: str = ""
    department: str = ""
    description: str = ""
    document: str = ""
    currency: str = ""
    dimensions: dict[str, str] = field(default_factory=dict)  # GLDIM..., PROJECTID, ...


@dataclass
class GlBatch:
    journal: str
    batch_date: date
    title: str
    referenceno: str
    state: str
    history_comment: str
    entries: list[GlEntry]
    created_by: str = ""
    vat: dict[str, str] = field(default_factory=dict)  # TAXIMPLICATIONS, VATVENDORID, ...
    recordno: int = 0
    batchno: int = 0
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def record(self) -> dict[str, str]:
        """The batch as query fields (text, as Intacct returns them)."""
        return {
            "RECORDNO": str(self.recordno),
            "BATCHNO": str(self.batchno),
            "JOURNAL": self.journal,
            "BATCH_DATE": intacct_date(self.batch_date),
            "BATCH_TITLE": self.title,
            "REFERENCENO": self.referenceno,
            "STATE": self.state,
            "HISTORY_COMMENT": self.history_comment,
            "REVERSEDATE": "",
            "BASELOCATION_NO": "",
            "SUPDOCID": "",
            "WHENCREATED": self.created_at.strftime("%m/%d/%Y %H:%M:%S"),
            "WHENMODIFIED": self.created_at.strftime("%m/%d/%Y %H:%M:%S"),
            "CREATEDBY": self.created_by,
            **self.vat,
        }

    def entry_records(self) -> list[dict[str, str]]:
        return [
            {
                "RECORDNO": f"{self.recordno}{entry.line_no:04d}",
                "BATCHNO": str(self.recordno),
                "LINE_NO": str(entry.line_no),
                "ENTRY_DATE": intacct_date(self.batch_date),
                "STATE": self.state,
                "DOCUMENT": entry.document,
                "ACCOUNTNO": entry.accountno,
                "TR_TYPE": str(entry.tr_type),
                "TRX_AMOUNT": str(entry.amount),
                "AMOUNT": str(entry.amount),
                "CURRENCY": entry.currency,
                "LOCATION": entry.location,
                "DEPARTMENT": entry.department,
                "DESCRIPTION": entry.description,
                **entry.dimensions,
            }
            for entry in self.entries
        ]


@dataclass
class Company:
    company_id: str
    users: dict[str, str]  # user id -> password
    senders: set[str]  # sender ids authorised for Web Services
    journals: set[str]
    accounts: set[str]
    locations: set[str]
    departments: set[str]
    dimensions: dict[str, set[str] | None]  # "GLDIMREVENUE_CENTER" -> values (None: any)
    closed_before: date | None = None  # BATCH_DATE before this: period closed
    # List values (accounts, locations, departments, journals) kept but closed to posting.
    inactive: dict[str, set[str]] = field(default_factory=dict)
    titles: dict[str, dict[str, str]] = field(default_factory=dict)  # list -> value -> title
    batches: dict[int, GlBatch] = field(default_factory=dict)
    executed: set[str] = field(default_factory=set)  # function controlids run and completed
    next_recordno: int = 48_000
    next_batchno: dict[str, int] = field(default_factory=dict)

    def add(self, batch: GlBatch) -> GlBatch:
        self.next_recordno += 1
        batch.recordno = self.next_recordno
        batch.batchno = self.next_batchno.get(batch.journal, 0) + 1
        self.next_batchno[batch.journal] = batch.batchno
        self.batches[batch.recordno] = batch
        return batch

    def is_inactive(self, list_name: str, value: str) -> bool:
        return value in self.inactive.get(list_name, ())

    def definition(self, object_name: str) -> ObjectDefinition | None:
        """The object a query names (any case), or None when this company has none such."""
        name = object_name.strip().upper()
        if name == "GLBATCH":
            return GLBATCH
        if name == "GLENTRY":
            return glentry(self.dimensions)
        if name in LISTS:
            return LISTS[name]
        return next(
            (
                user_dimension(dimension)
                for dimension, values in self.dimensions.items()
                if values is not None and dimension.removeprefix("GLDIM") == name
            ),
            None,
        )

    def records(self, definition: ObjectDefinition) -> list[dict[str, str]]:
        """The object's records, field names upper-cased (as filters name them)."""
        batches = [self.batches[key] for key in sorted(self.batches)]
        if definition.name == "GLBATCH":
            return [batch.record() for batch in batches]
        if definition.name == "GLENTRY":
            return [entry for batch in batches for entry in batch.entry_records()]
        if definition.list_name:
            values = getattr(self, definition.list_name)
            titles = self.titles.get(definition.list_name, {})
            title = "NAME" if definition.name == "LOCATION" else "TITLE"
            closed = self.inactive.get(definition.list_name, set())
            return [
                {
                    "RECORDNO": str(number),
                    definition.key: value,
                    title: titles.get(value, value),
                    "STATUS": "inactive" if value in closed else "active",
                }
                for number, value in enumerate(sorted(values), start=1)
            ]
        values = self.dimensions.get(f"GLDIM{definition.name}") or set()
        return [
            {"RECORDNO": str(number), "ID": value, "NAME": value}
            for number, value in enumerate(sorted(values), start=1)
        ]

    def settings(self) -> dict:
        return {
            "users": sorted(self.users),
            "senders": sorted(self.senders),
            "journals": sorted(self.journals),
            "accounts": sorted(self.accounts),
            "locations": sorted(self.locations),
            "departments": sorted(self.departments),
            "dimensions": {
                name: sorted(values) if values is not None else None
                for name, values in self.dimensions.items()
            },
            "closed_before": self.closed_before.isoformat() if self.closed_before else None,
            "inactive": {name: sorted(values) for name, values in self.inactive.items()},
        }


def seeded_company(company_id: str, user_id: str, user_password: str, sender_id: str) -> Company:
    """A company whose chart and dimensions accept what closeout's seeds produce: accounts
    from chart_of_accounts.csv, LOCATION from locations.csv (location_dimension), DEPARTMENT
    from revenue_center_dimensions.csv (dimension_value); the same values are also open as
    GLDIMREVENUE_CENTER, and the seed's erp_company values as GLDIMERP_COMPANY."""
    revenue_centers = _seed_column("revenue_center_dimensions.csv", "dimension_value")
    accounts = _seed_columns("chart_of_accounts.csv", "account_code", "account_name")
    locations = _seed_columns("locations.csv", "location_dimension", "location_name")
    return Company(
        company_id=company_id,
        users={user_id: user_password},
        senders={sender_id},
        journals=set(DEFAULT_JOURNALS),
        accounts=set(accounts),
        locations=set(locations),
        departments=set(revenue_centers),
        dimensions={
            "GLDIMREVENUE_CENTER": set(revenue_centers),
            "GLDIMERP_COMPANY": _seed_column("locations.csv", "erp_company"),
        },
        titles={"accounts": accounts, "locations": locations},
    )


def _seed_columns(name: str, column: str, title: str) -> dict[str, str]:
    """value -> title of a seed's rows."""
    path = SEEDS / name
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        return {
            row[column].strip(): (row.get(title) or "").strip()
            for row in csv.DictReader(handle)
            if row.get(column)
        }


def _seed_column(name: str, column: str) -> set[str]:
    path = SEEDS / name
    if not path.exists():
        return set()
    with path.open(newline="") as handle:
        return {row[column].strip() for row in csv.DictReader(handle) if row.get(column)}


# -- dates and values -----------------------------------------------------------------------------


def intacct_date(value: date) -> str:
    return value.strftime("%m/%d/%Y")


def parse_intacct_date(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%m/%d/%Y").date()
    except ValueError:
        return None


def coerce(field_name: str, text: str):
    """A field's text as a comparable value for filters."""
    if field_name in NUMERIC_FIELDS:
        try:
            return Decimal(text)
        except InvalidOperation:
            return text
    if field_name in DATE_FIELDS:
        return parse_intacct_date(text) or text
    return text


# -- create ---------------------------------------------------------------------------------------


def validate_batch(
    company: Company, element: ET.Element, user_id: str
) -> tuple[GlBatch | None, list[GatewayError]]:
    """The batch a GLBATCH create describes, or every problem that stops it."""
    problems: list[GatewayError] = []
    for child in element:
        if child.tag not in BATCH_INPUTS:
            problems.append(
                errors.invalid_field(
                    "GLBATCH", f"Unknown field {child.tag} on GLBATCH.", "Remove the field."
                )
            )

    def text(tag: str, parent: ET.Element = element) -> str:
        return (parent.findtext(tag) or "").strip()

    journal = text("JOURNAL")
    if not journal:
        problems.append(errors.missing_field("GLBATCH", "JOURNAL"))
    elif journal not in company.journals:
        problems.append(errors.unknown_reference("GLBATCH", "JOURNAL", journal, "journal"))
    elif company.is_inactive("journals", journal):
        problems.append(errors.inactive_reference("GLBATCH", "JOURNAL", journal, "journal"))
    batch_date = parse_intacct_date(text("BATCH_DATE"))
    if not text("BATCH_DATE"):
        problems.append(errors.missing_field("GLBATCH", "BATCH_DATE"))
    elif batch_date is None:
        problems.append(
            errors.invalid_field(
                "GLBATCH",
                f"BATCH_DATE '{text('BATCH_DATE')}' is not a date.",
                "Write dates as mm/dd/yyyy.",
            )
        )
    elif company.closed_before and batch_date < company.closed_before:
        problems.append(errors.closed_period(text("BATCH_DATE")))
    title = text("BATCH_TITLE")
    if not title:
        problems.append(errors.missing_field("GLBATCH", "BATCH_TITLE"))
    state = text("STATE") or "Posted"
    if state not in STATES:
        problems.append(
            errors.invalid_field(
                "GLBATCH", f"STATE '{state}' is not allowed.", f"Use one of {', '.join(STATES)}."
            )
        )
    entries_element = element.find("ENTRIES")
    rows = entries_element.findall("GLENTRY") if entries_element is not None else []
    if len(rows) < 2:
        problems.append(
            errors.invalid_field(
                "GLBATCH",
                "A journal entry needs at least two GLENTRY lines.",
                "Add the offsetting lines.",
            )
        )
    entries = []
    for line_no, row in enumerate(rows, start=1):
        entry, entry_problems = _entry(company, row, line_no)
        problems += entry_problems
        if entry:
            entries.append(entry)
    if not problems:
        debits = sum((e.amount for e in entries if e.tr_type == 1), ZERO)
        credits = sum((e.amount for e in entries if e.tr_type == -1), ZERO)
        if debits != credits:
            problems.append(errors.unbalanced(str(debits), str(credits)))
    if problems:
        return None, problems
    return GlBatch(
        journal=journal,
        batch_date=batch_date,
        title=title,
        referenceno=text("REFERENCENO"),
        state=state,
        history_comment=text("HISTORY_COMMENT"),
        vat={name: text(name) for name in VAT_FIELDS if text(name)},
        entries=entries,
        created_by=user_id,
    ), []


def _entry(
    company: Company, row: ET.Element, line_no: int
) -> tuple[GlEntry | None, list[GatewayError]]:
    problems: list[GatewayError] = []
    where = f"line {line_no}"
    values: dict[str, str] = {}
    for child in row:
        name = child.tag
        if name not in ENTRY_INPUTS and not name.startswith("GLDIM"):
            problems.append(
                errors.invalid_field(
                    "GLENTRY", f"Unknown field {name} on {where}.", "Remove the field."
                )
            )
        values[name] = (child.text or "").strip()
    account = values.get("ACCOUNTNO", "")
    if not account:
        problems.append(errors.missing_field("GLENTRY", f"ACCOUNTNO ({where})"))
    elif account not in company.accounts:
        problems.append(
            errors.unknown_reference("GLENTRY", f"ACCOUNTNO ({where})", account, "GL account")
        )
    elif company.is_inactive("accounts", account):
        problems.append(
            errors.inactive_reference("GLENTRY", f"ACCOUNTNO ({where})", account, "GL account")
        )
    tr_type = values.get("TR_TYPE", "")
    if tr_type not in ("1", "-1"):
        problems.append(
            errors.invalid_field(
                "GLENTRY",
                f"TR_TYPE '{tr_type}' on {where} must be 1 (debit) or -1 (credit).",
                "Send TR_TYPE 1 or -1.",
            )
        )
    amount = _amount(values.get("TRX_AMOUNT", ""), where, problems)
    location, department = values.get("LOCATION", ""), values.get("DEPARTMENT", "")
    for name, value, list_name, what in (
        ("LOCATION", location, "locations", "location"),
        ("DEPARTMENT", department, "departments", "department"),
    ):
        if value and value not in getattr(company, list_name):
            problems.append(errors.unknown_reference("GLENTRY", f"{name} ({where})", value, what))
        elif value and company.is_inactive(list_name, value):
            problems.append(errors.inactive_reference("GLENTRY", f"{name} ({where})", value, what))
    dimensions = {}
    for name, value in values.items():
        if name.startswith("GLDIM"):
            if name not in company.dimensions:
                problems.append(
                    errors.invalid_field(
                        "GLENTRY",
                        f"Unknown user-defined dimension {name} on {where}.",
                        f"Known dimensions: {', '.join(sorted(company.dimensions)) or 'none'}.",
                    )
                )
            elif (
                value
                and company.dimensions[name] is not None
                and value not in company.dimensions[name]
            ):
                problems.append(
                    errors.unknown_reference(
                        "GLENTRY", f"{name} ({where})", value, name.removeprefix("GLDIM").lower()
                    )
                )
            dimensions[name] = value
        elif name in UNCHECKED_DIMENSIONS:
            dimensions[name] = value
    if problems:
        return None, problems
    return GlEntry(
        line_no=line_no,
        accountno=account,
        tr_type=int(tr_type),
        amount=amount,
        location=location,
        department=department,
        description=values.get("DESCRIPTION", ""),
        document=values.get("DOCUMENT", ""),
        currency=values.get("CURRENCY", ""),
        dimensions=dimensions,
    ), []


def _amount(text: str, where: str, problems: list[GatewayError]) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        problems.append(
            errors.invalid_field(
                "GLENTRY",
                f"TRX_AMOUNT '{text}' on {where} is not a number.",
                "Send a decimal such as 1830.25.",
            )
        )
        return ZERO
    if not amount.is_finite() or amount < 0:
        problems.append(
            errors.invalid_field(
                "GLENTRY",
                f"TRX_AMOUNT {text} on {where} must be zero or positive.",
                "Send the absolute amount; TR_TYPE -1 makes it a credit.",
            )
        )
    elif amount.as_tuple().exponent < -2:
        problems.append(
            errors.invalid_field(
                "GLENTRY",
                f"TRX_AMOUNT {text} on {where} has more than 2 decimal places.",
                "Round amounts to cents before sending.",
            )
        )
    return amount


# -- read back ------------------------------------------------------------------------------------


def batch_element(
    parent: ET.Element, tag: str, batch: GlBatch, fields: list[str] | None, entries: bool
) -> ET.Element:
    """`fields` None: every field. `entries`: include ENTRIES with each glentry."""
    element = sub(parent, tag)
    record = batch.record()
    for name in fields or GLBATCH.fields:
        sub(element, name, record.get(name, ""))
    if entries:
        holder = sub(element, "ENTRIES")
        for entry in batch.entry_records():
            entry_element = sub(holder, "glentry")
            for name, value in entry.items():
                sub(entry_element, name, value)
    return element
