"""Journal states for `closeout status`: the journals mart joined to the posted-keys ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import duckdb

from closeout import warehouse
from closeout.errors import WarehouseError
from posting.ledger import DDL, SCHEMA

# What `closeout status` says of a journal: not sent yet (ready), held with reasons, in the ERP
# (posted, adjusted), posted but changed since (changed: an adjustment is due), refused
# (failed), or sent with no answer recorded (pending: the next post asks the ERP).
JournalState = Literal["ready", "held", "posted", "adjusted", "changed", "failed", "pending"]


@dataclass
class JournalStateRow:
    business_date: date
    location: str
    journal_type: str
    state: JournalState
    detail: str
    adjustments: int = 0  # adjusting documents the ERP holds for it


def journal_states(erp: str, dates: tuple[date, date]) -> list[JournalStateRow]:
    with warehouse.connect() as con:
        con.execute(DDL)
        return journal_states_in(con, erp, dates)


def journal_states_in(
    con: duckdb.DuckDBPyConnection, erp: str, dates: tuple[date, date]
) -> list[JournalStateRow]:
    """The states of the journals of `dates` (the posted-keys ledger must exist in `con`)."""
    first, last = dates
    rows = con.execute(
        f"""
        with latest as (
            select journal_id,
                   arg_max(status, sequence) as posting_status,
                   arg_max(message, sequence) as message,
                   arg_max(erp_document_id, sequence) filter (where status = 'posted')
                       as document_id,
                   arg_max(version, sequence) filter (where status = 'posted')
                       as posted_version,
                   count(*) filter (where kind = 'adjustment' and status = 'posted'
                                    and erp_document_id is not null) as adjustments,
                   max(posting_date) filter (where status = 'posted') as redated_to
            from {SCHEMA}.postings where erp = ? group by journal_id
        )
        select j.business_date, coalesce(l.location_name, j.restaurant_guid),
               j.journal_type, j.status, j.hold_reasons, j.version, latest.*
        from finance.journals as j
        left join mappings.locations as l using (restaurant_guid)
        left join latest using (journal_id)
        where j.business_date between ? and ?
        order by j.business_date, 2, j.journal_type""",
        [erp, first, last],
    ).fetchall()
    return [journal_state(*row) for row in rows]


def journal_state(
    business_date,
    location,
    journal_type,
    status,
    hold_reasons,
    version,
    _journal_id,
    posting_status,
    message,
    document_id,
    posted_version,
    adjustments,
    redated_to,
) -> JournalStateRow:
    if posting_status == "failed":
        state, detail = "failed", message or ""
    elif posting_status == "pending":
        state, detail = "pending", message or "outcome unknown; the next post checks the ERP"
    elif status == "held":
        state, detail = "held", hold_reasons or ""
        if document_id:
            detail += f" (posted earlier as {document_id})"
    elif posted_version is None:
        state, detail = "ready", "not posted yet"
    elif not version.startswith(posted_version):  # found documents keep 10 characters
        state, detail = "changed", f"posted as {document_id}; the next post adjusts it"
    elif adjustments:
        state, detail = "adjusted", f"{document_id} + {adjustments} adjustment(s)"
    else:
        state, detail = "posted", document_id or "no amount to post"
    if redated_to:  # shown against the day it corrects, booked on the first open day
        detail += f" (adjustment booked {redated_to:%Y-%m-%d}: period closed)"
    return JournalStateRow(business_date, location, journal_type, state, detail, adjustments or 0)


@dataclass(frozen=True)
class BuiltJournals:
    """What a build left for posting: journals per status, and the newest held ones."""

    counts: dict[str, int]
    held: list[tuple[str, str]]  # (journal_id, hold_reasons), newest business date first


def built_journals(held_limit: int = 20) -> BuiltJournals | None:
    """The journals mart summarised, or None when the warehouse has no journals yet."""
    try:
        with warehouse.connect(read_only=True) as con:
            counts = con.execute(
                "select status, count(*) from finance.journals group by 1 order by 1"
            ).fetchall()
            held = con.execute(
                """
                select journal_id, hold_reasons from finance.journals where status = 'held'
                order by business_date desc, journal_id limit ?""",
                [held_limit],
            ).fetchall()
    except (duckdb.Error, WarehouseError):
        return None
    return BuiltJournals(dict(counts), held)
