"""What a post run sends: for each journal, nothing, the original, a retry of a document whose
outcome is unknown, or an adjustment holding the difference from what the ERP already has."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

import duckdb

from closeout.money import ZERO
from posting.connectors.contract import Journal, JournalKind, JournalType, Line
from posting.ledger import Ledger, Posting

# finance.journals.status: ready to post, or held with every reason in hold_reasons.
JournalStatus = Literal["ready", "held"]
# Why a journal sends nothing this run: held by the warehouse, its current version refused, or
# its location switched off (is_active = false in locations.csv: listed, not a problem).
SkipState = Literal["held", "failed", "unchanged", "inactive"]
# Where documents go: (ERP company, division). A journal whose place changed after posting is
# reversed in the old place and posted in the new one.
Place = tuple[str | None, str | None]
# The Line dimensions an ERP keeps, unless its connector says fewer (`kept_dimensions`).
DIMENSIONS = ("location", "revenue_center")


@dataclass
class JournalRow:
    """A journal of finance.journals, as the plan needs it."""

    journal_id: str
    restaurant_guid: str
    location_name: str
    business_date: date
    journal_type: JournalType
    company: str
    currency: str
    version: str
    status: JournalStatus
    hold_reasons: str | None
    division: str | None = None
    is_active: bool = True

    @property
    def place(self) -> Place:
        return self.company, self.division


@dataclass
class Planned:
    """A document to send: the journal's original, an adjustment, or a pending resend."""

    row: JournalRow
    document: Journal
    sequence: int
    version: str
    resend: bool  # a pending document from an earlier run, sent as recorded


@dataclass
class Skipped:
    row: JournalRow
    state: SkipState
    message: str
    probe: Journal | None = None  # a journal to ask the ERP about before believing the skip


def journal_rows(
    con: duckdb.DuckDBPyConnection,
    date_range: tuple[date, date] | None,
    journal_ids: tuple[str, ...] = (),
) -> list[JournalRow]:
    """Journals of the locations in locations.csv from their posting start date on."""
    where, params = (
        ["journals.business_date >= coalesce(locations.posting_start_date, date '1900-01-01')"],
        [],
    )
    if date_range:
        where.append("journals.business_date between ? and ?")
        params += list(date_range)
    if journal_ids:
        where.append(f"journals.journal_id in ({', '.join('?' * len(journal_ids))})")
        params += list(journal_ids)
    rows = con.execute(
        f"""
        select journals.journal_id, journals.restaurant_guid,
               coalesce(locations.location_name, journals.restaurant_guid),
               journals.business_date, journals.journal_type, journals.company,
               journals.currency, journals.version, journals.status, journals.hold_reasons,
               nullif(trim(locations.erp_division), ''), coalesce(locations.is_active, false)
        from finance.journals as journals
        join mappings.locations as locations using (restaurant_guid)
        where {" and ".join(where)}
        order by journals.business_date, journals.restaurant_guid, journals.journal_type""",
        params,
    ).fetchall()
    return [JournalRow(*row) for row in rows]


def journal_lines(con: duckdb.DuckDBPyConnection, journal_ids: list[str]) -> dict[str, list[Line]]:
    if not journal_ids:
        return {}
    con.execute(
        "create or replace temp table posting_journal_ids as "
        "select unnest(?::varchar[]) as journal_id",
        [list(journal_ids)],
    )
    rows = con.execute("""
        select journal_id, line_number, account_code, debit, credit, description,
               location_dimension, revenue_center_dimension, line_kind, sales_category_name,
               nullif(concat_ws(' ', payment_type, card_type, alternate_payment_type_name), '')
        from finance.journal_lines join posting_journal_ids using (journal_id)
        where debit <> 0 or credit <> 0
        order by journal_id, line_number""").fetchall()
    lines: dict[str, list[Line]] = defaultdict(list)
    for (
        journal_id,
        number,
        account,
        debit,
        credit,
        description,
        location,
        center,
        kind,
        category,
        tender,
    ) in rows:
        lines[journal_id].append(
            Line(
                number=number,
                account=account,
                debit=debit,
                credit=credit,
                description=description or "",
                location=location,
                revenue_center=center,
                line_kind=kind,
                sales_category=category,
                payment_type=tender,
            )
        )
    return lines


def closed_periods(con: duckdb.DuckDBPyConnection) -> dict[str, date]:
    """erp_company -> last closed day (seeds/closed_periods.csv); empty before its first build."""
    present = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'mappings' and table_name = 'closed_periods'"
    ).fetchone()[0]
    if not present:
        return {}
    rows = con.execute(
        "select trim(erp_company), closed_through from mappings.closed_periods"
    ).fetchall()
    return dict(rows)


def plan(
    con: duckdb.DuckDBPyConnection,
    ledger: Ledger,
    erp: str,
    date_range: tuple[date, date] | None = None,
    journal_ids: tuple[str, ...] = (),
    dimensions: tuple[str, ...] = DIMENSIONS,
) -> tuple[list[Planned], list[Skipped]]:
    """Every journal in range: what to send for it now, or why nothing is sent. `dimensions`
    are the Line dimensions the ERP keeps (`Connector.kept_dimensions`): amounts are compared
    per account and those only."""
    rows = journal_rows(con, date_range, journal_ids)
    # What was sent (the lines) is read, and the journal's lines now, only for the journals
    # that may need a document: a night then costs the same whatever the ledger's history.
    history = ledger.all_postings(erp, lines=False)
    ready = [
        row
        for row in rows
        if row.status == "ready" and row.is_active and not settled(row, history.get(row.journal_id))
    ]
    history.update(ledger.postings_of(erp, [row.journal_id for row in ready]))
    lines = journal_lines(con, [row.journal_id for row in ready])
    closed = closed_periods(con)
    planned: list[Planned] = []
    skipped: list[Skipped] = []
    for row in rows:
        postings = history.get(row.journal_id, [])
        if not row.is_active:
            skipped.append(Skipped(row, "inactive", "location inactive in locations.csv"))
            continue
        if row.status != "ready":
            posted = [p for p in postings if p.status == "posted"]
            note = " (what was posted earlier stays in the ERP)" if posted else ""
            skipped.append(Skipped(row, "held", (row.hold_reasons or "held") + note))
            continue
        if settled(row, postings):
            continue  # the ERP has this version where it goes: nothing to send
        planned_here, skip = plan_journal(
            row, postings, lines.get(row.journal_id, []), closed, dimensions
        )
        planned += planned_here
        if skip:
            skipped.append(skip)
    return planned, skipped


def settled(row: JournalRow, postings: list[Posting] | None) -> bool:
    """Whether the ERP has the journal's current version where it goes and nothing of it is
    pending or refused: `plan_journal` would send nothing (read without the lines sent)."""
    if not postings or any(p.status != "posted" for p in postings):
        return False
    latest = max(postings, key=lambda p: p.sequence)
    return same_version(latest.version, row.version) and all(
        _place(p, row.place) == row.place for p in postings
    )


def plan_journal(
    row: JournalRow,
    postings: list[Posting],
    current: list[Line],
    closed: dict[str, date] | None = None,
    dimensions: tuple[str, ...] = DIMENSIONS,
) -> tuple[list[Planned], Skipped | None]:
    """What to send for one ready journal, given what the ERP already has (`postings`: sent by
    this warehouse or found in the ERP) and its lines now: pending documents again as
    recorded, then per place (company, division) the difference between what the place should
    hold (the current lines where the journal now goes, nothing anywhere else) and what it
    holds: an original where it holds nothing, else an adjustment. A current version the ERP
    refused is skipped as failed until `closeout replay`."""
    failed = [p for p in postings if p.status == "failed" and p.version == row.version]
    if failed:
        return [], Skipped(row, "failed", failed[-1].message or "refused by the ERP")
    closed = closed or {}
    here = row.place
    planned: list[Planned] = []
    held = [p for p in postings if p.status == "posted"]
    for pending in (p for p in postings if p.status == "pending"):
        if any(p.sequence == pending.sequence for p in held):
            continue  # another warehouse's document of that number is in the ERP: not resent
        document = _document(
            row,
            pending.sequence,
            pending.version,
            pending.kind,
            _adjusts([p for p in held if _place(p, here) == _place(pending, here)]),
            pending.lines,
            _place(pending, here),
            pending.posting_date,
        )
        planned.append(Planned(row, document, pending.sequence, pending.version, resend=True))
        held.append(pending)
    latest = max(held, key=lambda p: p.sequence) if held else None
    if (
        latest is not None
        and same_version(latest.version, row.version)
        and all(_place(p, here) == here for p in held)
    ):
        return planned, None  # the ERP has (or is about to have) this version, where it goes
    sequence = max((p.sequence for p in postings), default=-1) + 1
    changes: list[tuple[Place, JournalKind, list[Line], str | None]] = []
    for place in dict.fromkeys([*(_place(p, here) for p in held), here]):
        in_place = [p for p in held if _place(p, here) == place]
        target = current if place == here else []
        if not in_place:
            if target:
                changes.append((place, "original", target, None))
            continue
        delta = difference(target, [line for p in in_place for line in p.lines], dimensions)
        if delta:
            changes.append((place, "adjustment", delta, _adjusts(in_place)))
    if not changes:
        if latest is not None and same_version(latest.version, row.version):
            return planned, None  # e.g. a journal that moved company: reversed, reposted
        # Nothing to send (no lines, or the new version nets to what is held): recorded as
        # unchanged so the version counts as posted.
        kind: JournalKind = "adjustment" if held else "original"
        changes.append((here, kind, [], None))
    for place, kind, lines, adjusts in changes:
        company = place[0] or row.company
        closed_through = closed.get(company.strip())
        posting_date = None
        if lines and closed_through and row.business_date <= closed_through:
            if kind == "original":
                return [], Skipped(
                    row,
                    "held",
                    f"{row.business_date} is in a closed period of {company} (closed through "
                    f"{closed_through}, seeds/closed_periods.csv): post it by hand, or move "
                    "the location's posting_start_date past it",
                    # a rebuilt warehouse asks the ERP first: it may hold the day already
                    probe=_document(row, sequence, row.version, kind, None, lines, place),
                )
            posting_date = closed_through + timedelta(days=1)
        document = _document(row, sequence, row.version, kind, adjusts, lines, place, posting_date)
        planned.append(Planned(row, document, sequence, row.version, resend=False))
        sequence += 1
    return planned, None


def difference(
    current: list[Line], posted: list[Line], dimensions: tuple[str, ...] = DIMENSIONS
) -> list[Line]:
    """Lines that take the ERP from `posted` to `current`, per account and the dimensions the
    ERP keeps (a dimension it is not sent cannot be read back, so it is not compared)."""
    net: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    described: dict[tuple, str] = {}
    for sign, lines in ((1, current), (-1, posted)):
        for line in lines:
            key = (
                line.account,
                line.location if "location" in dimensions else None,
                line.revenue_center if "revenue_center" in dimensions else None,
            )
            net[key] += sign * (line.debit - line.credit)
            described.setdefault(key, line.description)
    changed = [(key, amount) for key, amount in net.items() if amount != 0]
    return [
        Line(
            number=number,
            account=account,
            location=location,
            revenue_center=center,
            debit=amount if amount > 0 else ZERO,
            credit=-amount if amount < 0 else ZERO,
            description=f"Adjustment: {described[(account, location, center)]}",
        )
        for number, ((account, location, center), amount) in enumerate(
            sorted(changed, key=lambda item: tuple(part or "" for part in item[0])), start=1
        )
    ]


def same_version(posted: str, current: str) -> bool:
    """A document found in the ERP carries only the key's first characters of its version."""
    return bool(posted) and current.startswith(posted)


def idempotency_key(row: JournalRow, sequence: int, version: str) -> str:
    """Deterministic per journal, sequence and version; short enough for every ERP's field."""
    return (
        f"CO-{row.business_date:%Y%m%d}-{row.restaurant_guid[:8]}-"
        f"{row.journal_type[:1].upper()}{sequence}-{version[:10]}"
    )


def _adjusts(sent: list[Posting]) -> str | None:
    originals = [p for p in sent if p.kind == "original" and p.erp_document_id]
    return originals[0].erp_document_id if originals else None


def _place(posting: Posting, here: Place) -> Place:
    """Where a posting is; one recorded before places were (no company) is where the journal
    goes now."""
    return posting.place if posting.company is not None else here


def _document(
    row: JournalRow,
    sequence: int,
    version: str,
    kind: JournalKind,
    adjusts: str | None,
    lines: list[Line],
    place: Place | None = None,
    posting_date: date | None = None,
) -> Journal:
    key = idempotency_key(row, sequence, version)
    company, division = place or row.place
    what = "adjustment" if kind == "adjustment" else "journal"
    if (company, division) != row.place:
        what = "reversal"  # the journal now goes to another company or division
    dated = f" dated {posting_date:%Y-%m-%d} (period closed)" if posting_date else ""
    title = (
        f"Toast {row.journal_type} {what} {row.business_date:%Y-%m-%d}{dated} "
        f"{row.location_name} [{key}]"
    )
    return Journal(
        key=key,
        journal_id=row.journal_id,
        restaurant_guid=row.restaurant_guid,
        location_name=row.location_name,
        company=company,
        division=division,
        business_date=row.business_date,
        journal_type=row.journal_type,
        kind=kind,
        adjusts=adjusts,
        currency=row.currency,
        title=title,
        lines=tuple(lines),
        posting_date=posting_date,
    )
