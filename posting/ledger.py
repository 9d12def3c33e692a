"""The posted-keys ledger and the ERP audit trail, in the warehouse (schema closeout_posting).

`postings` has one row per document closeout sends (an original journal or an adjustment),
written *before* the ERP is asked (status 'pending') and updated after it answers ('posted' or
'failed'). A pending row is therefore the trace of a run that died mid-post: the next run asks
the ERP whether that key exists before creating anything. `lines_json` is the snapshot of
exactly what was sent, so a later version of the day is posted as the difference.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Literal

import duckdb

from closeout.money import ZERO
from posting.connectors.contract import ErpDocument, Journal, JournalKind, Line, key_version
from posting.http import Exchange

SCHEMA = "closeout_posting"
# pending: recorded before the ERP was asked, outcome unknown until the next run asks it;
# posted: the ERP has it; failed: the ERP refused it (`closeout replay` after the fix).
PostingStatus = Literal["pending", "posted", "failed"]

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.postings (
    idempotency_key varchar primary key,
    erp varchar not null,
    journal_id varchar not null,
    restaurant_guid varchar not null,
    business_date date not null,
    journal_type varchar not null,
    sequence integer not null,          -- 0 for the original, 1.. for adjustments
    kind varchar not null,              -- original | adjustment
    version varchar not null,           -- journals.version this document brings the ERP to
    adjusts_document_id varchar,
    erp_document_id varchar,
    status varchar not null,            -- pending | posted | failed
    message varchar,
    attempts integer not null,
    first_attempt_at timestamptz not null,
    last_attempt_at timestamptz not null,
    posted_at timestamptz,
    total_debit decimal(18,2) not null,
    total_credit decimal(18,2) not null,
    lines_json varchar not null         -- the lines sent, exactly
);
-- Where the document is (a company or location change posts a reversal in the old place), the
-- date it was booked on when not the business date (an adjustment of a closed period), and
-- whether closeout sent it or found it in the ERP (a rebuilt or second warehouse).
alter table {SCHEMA}.postings add column if not exists company varchar;
alter table {SCHEMA}.postings add column if not exists division varchar;
alter table {SCHEMA}.postings add column if not exists posting_date date;
alter table {SCHEMA}.postings add column if not exists found_in_erp boolean default false;
create table if not exists {SCHEMA}.erp_requests (
    requested_at timestamptz not null,
    erp varchar not null,
    journal_id varchar,
    idempotency_key varchar,
    method varchar not null,
    url varchar not null,
    request_headers varchar,
    request_body varchar,
    status integer,
    response_body varchar,
    error varchar,
    seconds double
);
"""


@dataclass
class Posting:
    """One row of `postings`: a document closeout sent, or is about to send, to an ERP."""

    idempotency_key: str
    erp: str
    journal_id: str
    sequence: int  # 0 for the original, 1.. for adjustments
    kind: JournalKind
    version: str  # journals.version this document brings the ERP to
    status: PostingStatus
    erp_document_id: str | None
    message: str | None
    lines: list[Line]
    company: str | None = None  # None: posted before places were recorded (the current one)
    division: str | None = None
    posting_date: date | None = None

    @property
    def place(self) -> tuple[str | None, str | None]:
        return self.company, self.division


class Ledger:
    """The postings and ERP requests of one warehouse; each write commits on its own. Safe to
    share between the threads that post journals side by side: statements take turns on the
    one connection (DuckDB's connection is not for concurrent use)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._lock = threading.Lock()
        con.execute(DDL)
        self._place_earlier_postings()

    def _run(self, sql: str, params: list | None = None) -> list[tuple]:
        """One statement, and its rows, while no other thread uses the connection."""
        with self._lock:
            result = self.con.execute(sql, params)
            return result.fetchall() if result.description else []

    def _place_earlier_postings(self) -> None:
        """Postings made before places were recorded are where their journal goes at the
        upgrade: recorded once, so a later company change still reverses them there."""
        has_journals = self.con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'finance' and table_name = 'journals'"
        ).fetchone()[0]
        if not has_journals:
            return
        try:
            self.con.execute(f"""
                update {SCHEMA}.postings as postings
                set company = placed.company, division = placed.division
                from (
                    select journals.journal_id, journals.company,
                           nullif(trim(locations.erp_division), '') as division
                    from finance.journals as journals
                    left join mappings.locations as locations using (restaurant_guid)
                ) as placed
                where postings.company is null and postings.journal_id = placed.journal_id""")
        except duckdb.Error:  # a warehouse older than the locations seed's erp_division
            return

    # -- reading ---------------------------------------------------------------------------
    def postings(self, erp: str, journal_id: str) -> list[Posting]:
        rows = self._run(
            f"""
            select {_COLUMNS}
            from {SCHEMA}.postings where erp = ? and journal_id = ? order by sequence""",
            [erp, journal_id],
        )
        return [_posting(row) for row in rows]

    def all_postings(self, erp: str, *, lines: bool = True) -> dict[str, list[Posting]]:
        """journal_id -> its postings. Without `lines` each posting's lines are left empty:
        the ledger grows by every journal of every night, and what was sent is only needed
        for the few journals a run sends something for (`postings_of`)."""
        sent = "lines_json" if lines else "'[]'"
        rows = self._run(
            f"""
            select {_COLUMNS.replace("lines_json", sent)}
            from {SCHEMA}.postings where erp = ? order by journal_id, sequence""",
            [erp],
        )
        return _by_journal(rows)

    def postings_of(self, erp: str, journal_ids: list[str]) -> dict[str, list[Posting]]:
        """journal_id -> its postings with their lines, for these journals only."""
        if not journal_ids:
            return {}
        rows = self._run(
            f"""
            select {_COLUMNS}
            from {SCHEMA}.postings
            where erp = ? and journal_id in (select unnest(?::varchar[]))
            order by journal_id, sequence""",
            [erp, list(journal_ids)],
        )
        return _by_journal(rows)

    # -- writing (each statement commits on its own: DuckDB autocommit) ------------------------
    def record_attempt(self, erp: str, journal: Journal, sequence: int, version: str) -> None:
        now = datetime.now(timezone.utc)
        self._run(
            f"""
            insert into {SCHEMA}.postings ({_INSERTED}) values
                (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, 'pending', null, 1, ?, ?, null, ?, ?, ?,
                 ?, ?, ?, false)
            on conflict (idempotency_key) do update set
                status = 'pending', message = null, attempts = attempts + 1,
                last_attempt_at = excluded.last_attempt_at,
                posting_date = excluded.posting_date""",
            [
                journal.key,
                erp,
                journal.journal_id,
                journal.restaurant_guid,
                journal.business_date,
                journal.journal_type,
                sequence,
                journal.kind,
                version,
                journal.adjusts,
                now,
                now,
                journal.total_debit,
                journal.total_credit,
                _dump(journal.lines),
                journal.company,
                journal.division,
                journal.posting_date,
            ],
        )

    def record_found(self, erp: str, journal: Journal, document: ErpDocument) -> None:
        """A document of `journal` the ERP holds and this warehouse did not know (a rebuilt or
        second warehouse, or a crash before the answer was recorded): recorded as posted with
        the lines the ERP holds, so what is sent next is the difference from them."""
        now = datetime.now(timezone.utc)
        lines = tuple(document.lines)
        debit = sum((line.debit for line in lines), ZERO)
        credit = sum((line.credit for line in lines), ZERO)
        self._run(
            f"""
            insert into {SCHEMA}.postings ({_INSERTED}) values
                (?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?, 'posted', 'found in the ERP', 0, ?, ?, ?,
                 ?, ?, ?, ?, ?, null, true)
            on conflict (idempotency_key) do update set
                status = 'posted', erp_document_id = excluded.erp_document_id,
                message = excluded.message, posted_at = excluded.posted_at,
                lines_json = excluded.lines_json, total_debit = excluded.total_debit,
                total_credit = excluded.total_credit, found_in_erp = true""",
            [
                document.key,
                erp,
                journal.journal_id,
                journal.restaurant_guid,
                journal.business_date,
                journal.journal_type,
                document.sequence,
                "original" if document.sequence == 0 else "adjustment",
                key_version(document.key),
                document.document_id,
                now,
                now,
                now,
                debit,
                credit,
                _dump(lines),
                document.company,
                document.division,
            ],
        )

    def record_posted(self, key: str, document_id: str | None, message: str | None = None) -> None:
        self._run(
            f"""
            update {SCHEMA}.postings set status = 'posted', erp_document_id = ?, message = ?,
                posted_at = ? where idempotency_key = ?""",
            [document_id, message, datetime.now(timezone.utc), key],
        )

    def record_failed(self, key: str, message: str) -> None:
        self._run(
            f"update {SCHEMA}.postings set status = 'failed', message = ? "
            "where idempotency_key = ?",
            [message, key],
        )

    def record_unavailable(self, key: str, message: str) -> None:
        """Still pending: whether the ERP has it is unknown until the next run asks."""
        self._run(
            f"update {SCHEMA}.postings set message = ? where idempotency_key = ?", [message, key]
        )

    def reset_failed(self, erp: str, journal_id: str) -> int:
        """`closeout replay`: the journal's refused document for its current version becomes
        pending again and is re-sent as recorded. A refusal of an older version needs no reset:
        the current version is planned afresh."""
        return len(
            self._run(
                f"""
            update {SCHEMA}.postings set status = 'pending', message = 'replay requested'
            where erp = ? and journal_id = ? and status = 'failed'
              and version = (select version from finance.journals where journal_id = ?)
            returning idempotency_key""",
                [erp, journal_id, journal_id],
            )
        )

    def record_exchange(self, exchange: Exchange) -> None:
        self._run(
            f"insert into {SCHEMA}.erp_requests values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                exchange.started_at,
                exchange.erp,
                exchange.journal_id,
                exchange.idempotency_key,
                exchange.method,
                exchange.url,
                exchange.request_headers,
                exchange.request_body,
                exchange.status,
                exchange.response_body,
                exchange.error,
                exchange.seconds,
            ],
        )


_COLUMNS = """idempotency_key, erp, journal_id, sequence, kind, version, status, erp_document_id,
    message, lines_json, company, division, posting_date"""
_INSERTED = """idempotency_key, erp, journal_id, restaurant_guid, business_date, journal_type,
    sequence, kind, version, adjusts_document_id, erp_document_id, status, message, attempts,
    first_attempt_at, last_attempt_at, posted_at, total_debit, total_credit, lines_json,
    company, division, posting_date, found_in_erp"""


def _by_journal(rows: list[tuple]) -> dict[str, list[Posting]]:
    by_journal: dict[str, list[Posting]] = {}
    for row in rows:
        by_journal.setdefault(row[2], []).append(_posting(row))
    return by_journal


def _posting(row: tuple) -> Posting:
    return Posting(
        *row[:9], lines=_lines(row[9]), company=row[10], division=row[11], posting_date=row[12]
    )


def _dump(lines: tuple[Line, ...] | list[Line]) -> str:
    return json.dumps(
        [
            {
                "number": line.number,
                "account": line.account,
                "debit": str(line.debit),
                "credit": str(line.credit),
                "description": line.description,
                "location": line.location,
                "revenue_center": line.revenue_center,
                "line_kind": line.line_kind,
                "sales_category": line.sales_category,
                "payment_type": line.payment_type,
            }
            for line in lines
        ]
    )


def _lines(text: str) -> list[Line]:
    return [
        Line(
            number=item["number"],
            account=item["account"],
            debit=Decimal(item["debit"]),
            credit=Decimal(item["credit"]),
            description=item["description"],
            location=item["location"],
            revenue_center=item["revenue_center"],
            line_kind=item.get("line_kind"),
            sales_category=item.get("sales_category"),
            payment_type=item.get("payment_type"),
        )
        for item in json.loads(text)
    ]
