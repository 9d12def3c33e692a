"""`closeout post`: push ready journals to the ERP exactly once and record what was sent.

The ERP, not the warehouse, is the record of what was posted (ACCOUNTING.md, "One document
per journal in the ERP"). A run plans from the warehouse's ledger, asks the ERP what it holds
for every journal it would send something for (by journal identity, whatever the version),
records what the ledger did not know, and plans again: a rebuilt or second warehouse sends
only the difference. Before anything is sent the plan is checked (one document per journal
and sequence, balanced, an original equal to its journal). Then for each document: record it
as pending, create it, record it as posted. Whatever point a crash hits, the next run finds
the document in the ERP (recorded, not re-sent) or not (sent again, same key and lines).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from closeout import audit, warehouse
from closeout.errors import (
    BuildFailedError,
    ErpAuthError,
    ErpPeriodClosed,
    ErpRefusal,
    ErpUnavailable,
    PlanCheckError,
)
from posting.connectors.contract import Connector, Journal, JournalType
from posting.failpoints import failpoint
from posting.http import posting_journal
from posting.ledger import Ledger, Posting
from posting.plan import DIMENSIONS, Planned, Skipped, plan

# posted / adjusted: the ERP has the original / the adjustment; unchanged: nothing to send;
# failed: refused (fix, `closeout replay`); unavailable: not sent, the next run tries again;
# held: the warehouse holds the journal (hold_reasons).
# inactive: the location is switched off in locations.csv (listed, not a problem).
OutcomeState = Literal[
    "posted", "adjusted", "unchanged", "failed", "unavailable", "held", "inactive"
]


@dataclass
class Outcome:
    """What became of one document (or one skipped journal) in a run."""

    journal_id: str
    business_date: date
    location: str
    journal_type: JournalType
    state: OutcomeState
    key: str | None = None
    document_id: str | None = None
    message: str | None = None
    posting_date: date | None = None  # booked on this day, not the business date (closed)


@dataclass
class PostReport:
    """A run's outcomes, and why it stopped early if it did."""

    erp: str
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early (auth refused, ERP unavailable)

    def by_state(self, state: OutcomeState) -> list[Outcome]:
        return [o for o in self.outcomes if o.state == state]

    @property
    def ok(self) -> bool:
        """Nothing failed, nothing held, nothing left unposted."""
        return self.stopped is None and not any(
            o.state in ("failed", "unavailable", "held") for o in self.outcomes
        )


ConnectorFactory = Callable[[Ledger], Connector]
Progress = Callable[[int], None]


def post_journals(
    erp: str,
    open_connector: ConnectorFactory,
    *,
    date_range: tuple[date, date] | None = None,
    journal_ids: tuple[str, ...] = (),
    on_start: Callable[[int], Progress] | None = None,
) -> PostReport:
    """Plan, then send each planned document once (see the module docstring); `on_start` is
    told how many documents will be sent and returns what to call as each is done."""
    report = PostReport(erp)
    with warehouse.connect() as con:
        require_passed_build(con)
        ledger = Ledger(con)
        planned, skipped = plan(con, ledger, erp, date_range, journal_ids)
        asked = [*planned, *(_probe_of(s) for s in skipped if s.probe is not None)]
        if not asked:
            report.outcomes += [_skipped(s) for s in skipped]
            return report
        connector = open_connector(ledger)
        try:
            if not _learn_what_the_erp_holds(connector, ledger, asked, report):
                return report
            dimensions = getattr(connector, "kept_dimensions", DIMENSIONS)
            planned, skipped = plan(con, ledger, erp, date_range, journal_ids, dimensions)
            report.outcomes += [_skipped(s) for s in skipped]
            check_plan(con, planned)
            advance = on_start(len(planned)) if on_start else (lambda n: None)
            _post_all(connector, ledger, planned, report, advance)
        finally:
            connector.close()
    return report


def _probe_of(skip: Skipped) -> Planned:
    """A skipped journal the ERP is asked about, as a document that is never sent."""
    return Planned(skip.row, skip.probe, 0, skip.row.version, resend=False)


def _learn_what_the_erp_holds(
    connector: Connector, ledger: Ledger, planned: list[Planned], report: PostReport
) -> bool:
    """Ask the ERP for every document of the journals about to be sent and record those the
    ledger does not have as posted (pending ones it has become posted). False when the ERP
    could not be asked: nothing is sent then."""
    history = ledger.all_postings(connector.erp, lines=False)  # places, keys and states
    # A location this warehouse never posted (a rebuild) may have been posted elsewhere before
    # its company changed: its journals are looked for in the run's other places too, in the
    # same one look (a connector keeps what one look found for `create`).
    posted_locations = {
        posting.journal_id.split(":")[0] for postings in history.values() for posting in postings
    }
    unknown = [p for p in planned if p.row.restaurant_guid not in posted_locations]
    try:
        held = connector.held(_probes(history, planned) + _probes_elsewhere(unknown, planned))
    except ErpAuthError as exc:
        report.stopped = str(exc)
        return False
    except (ErpUnavailable, ErpRefusal) as exc:  # a refusal: a document it cannot read back
        report.stopped = str(exc)
        report.outcomes += [_outcome(p, "unavailable", message=str(exc)) for p in planned]
        return False
    journals = {p.document.journal_id: p.document for p in planned}
    for journal_id, documents in held.items():
        journal = journals.get(journal_id)
        if journal is None:
            continue
        known = {p.idempotency_key: p for p in history.get(journal_id, [])}
        for document in documents:
            posting = known.get(document.key)
            if posting is None:
                ledger.record_found(connector.erp, journal, document)
            elif posting.status != "posted":
                ledger.record_posted(document.key, document.document_id, "found in the ERP")
    return True


# Probes for journals nobody here posted in the other places of the run: a rebuilt warehouse of
# a group with a few legal entities pays one look per place; beyond this the look is skipped
# (a company change *and* a lost warehouse in a group of hundreds of entities).
ELSEWHERE_PROBES_MAX = 5000


def _probes_elsewhere(unknown: list[Planned], planned: list[Planned]) -> list[Journal]:
    places = {(p.row.company, p.row.division) for p in planned}
    if len(unknown) * (len(places) - 1) > ELSEWHERE_PROBES_MAX:
        return []
    return [
        dataclasses.replace(item.document, company=company, division=division)
        for item in unknown
        for company, division in places
        if (company, division) != (item.row.company, item.row.division)
    ]


def _probes(history: dict[str, list[Posting]], planned: list[Planned]) -> list[Journal]:
    """One probe per journal and place to search: where it goes now and everywhere this
    warehouse has posted it before (a company or division changed since)."""
    probes: dict[tuple, Journal] = {}
    for item in planned:
        document = item.document
        places = {(item.row.company, item.row.division), (document.company, document.division)}
        places |= {p.place for p in history.get(document.journal_id, []) if p.company is not None}
        for company, division in places:
            probes.setdefault(
                (document.journal_id, company, division),
                dataclasses.replace(document, company=company, division=division),
            )
    return list(probes.values())


def check_plan(con, planned: list[Planned]) -> None:
    """The last look before anything leaves: one document per key and per journal and
    sequence, each balanced with one-sided lines, and an original where the journal goes now
    equal to the journal's total in the journals mart (a doubled seed row doubles a journal
    without unbalancing it)."""
    problems: list[str] = []
    keys = Counter(p.document.key for p in planned)
    sequences = Counter((p.document.journal_id, p.sequence) for p in planned)
    problems += [f"{key} planned {n} times" for key, n in keys.items() if n > 1]
    problems += [
        f"{journal_id} has {n} documents numbered {sequence}"
        for (journal_id, sequence), n in sequences.items()
        if n > 1
    ]
    totals = _journal_totals(con, [p.document.journal_id for p in planned])
    for item in planned:
        document = item.document
        if document.total_debit != document.total_credit:
            problems.append(
                f"{document.key} ({document.journal_id}) does not balance: debit "
                f"{document.total_debit}, credit {document.total_credit}"
            )
        if any(
            line.debit < 0 or line.credit < 0 or (line.debit and line.credit)
            for line in document.lines
        ):
            problems.append(f"{document.key} ({document.journal_id}) has a two-sided line")
        in_place = (document.company, document.division) == (item.row.company, item.row.division)
        count, total = totals.get(document.journal_id, (0, None))
        if count != 1:
            problems.append(
                f"{document.journal_id} is {count} rows of finance.journals, not one (a "
                "duplicated row in a seed such as locations.csv?)"
            )
        elif document.kind == "original" and in_place and not item.resend and document.lines:
            if document.total_debit != total:
                problems.append(
                    f"{document.key} ({document.journal_id}) totals {document.total_debit}, "
                    f"its journal {total}"
                )
    if problems:
        shown = "; ".join(dict.fromkeys(problems[:5]))
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise PlanCheckError(
            f"nothing posted: the documents planned for the ERP failed the last check: "
            f"{shown}{more}. Run `closeout build` and see what its tests report."
        )


def _journal_totals(con, journal_ids: list[str]) -> dict[str, tuple[int, object]]:
    ids = list(dict.fromkeys(journal_ids))
    if not ids:
        return {}
    con.execute(
        "create or replace temp table checked_journal_ids as "
        "select unnest(?::varchar[]) as journal_id",
        [ids],
    )
    rows = con.execute(
        """
        select journal_id, count(*), any_value(total_debit)
        from finance.journals join checked_journal_ids using (journal_id)
        group by journal_id"""
    ).fetchall()
    return {journal_id: (count, total) for journal_id, count, total in rows}


def require_passed_build(con) -> None:
    """Posting reads the marts only after a build that passed its structural tests
    (ACCOUNTING.md, "When a day may be posted"): a failed build may have left them half
    rebuilt."""
    last = audit.last_build(con)
    if last is not None and not last[1]:
        finished_at, _, failed_tests = last
        raise BuildFailedError(
            f"nothing posted: the last build ({finished_at:%Y-%m-%d %H:%M %Z}) failed "
            f"{failed_tests or 'dbt'}. Fix what it reports and run `closeout build`; "
            "journals post after a build that passes."
        )


def _post_all(
    connector: Connector,
    ledger: Ledger,
    planned: list[Planned],
    report: PostReport,
    advance: Progress,
) -> None:
    """Send every planned document: a journal's documents one after another, in plan order
    (an adjustment after its original), and different journals side by side on as many
    threads as the connector says its ERP takes (`parallel_documents`, default one). The
    posted-keys ledger is written as before around each create; its writes take turns."""
    run = _Run(ledger, advance, [None] * len(planned))
    workers = max(1, int(getattr(connector, "parallel_documents", 1) or 1))
    journals = _journals_in_order(planned)
    if workers == 1 or len(journals) == 1:
        for documents in journals:
            _post_journal(connector, run, documents)
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="post") as pool:
            try:
                for done in [pool.submit(_post_journal, connector, run, d) for d in journals]:
                    done.result()
            except BaseException:
                # Ctrl-C (or a bug) stops the run as it did one journal at a time: the
                # documents being sent finish, none not yet started is sent.
                with run.lock:
                    run.stopped = run.stopped or "interrupted"
                pool.shutdown(cancel_futures=True)
                raise
    report.stopped = run.stopped or report.stopped
    report.outcomes += [
        outcome or _outcome(item, "unavailable", message=run.stopped)
        for item, outcome in zip(planned, run.outcomes, strict=True)
    ]


@dataclass
class _Run:
    """What the documents being sent at once share: the ledger, the outcome per planned
    document (by its index), and why the run stopped (the ERP unavailable, credentials
    refused), after which nothing more is sent."""

    ledger: Ledger
    advance: Progress
    outcomes: list[Outcome | None]
    stopped: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def done(self, index: int, outcome: Outcome, advanced: int = 1) -> None:
        with self.lock:
            self.outcomes[index] = outcome
            if advanced:
                self.advance(advanced)


def _journals_in_order(planned: list[Planned]) -> list[list[tuple[int, Planned]]]:
    """The planned documents per journal, each journal's in plan order, journals in the
    order their first document is planned."""
    by_journal: dict[str, list[tuple[int, Planned]]] = {}
    for index, item in enumerate(planned):
        by_journal.setdefault(item.document.journal_id, []).append((index, item))
    return list(by_journal.values())


def _post_journal(connector: Connector, run: _Run, documents: list[tuple[int, Planned]]) -> None:
    """A journal's documents in order; after a refusal the later ones wait for the replay.
    Anything unexpected stops the other threads too before it is raised."""
    try:
        _post_documents(connector, run, documents)
    except BaseException as exc:
        with run.lock:
            run.stopped = run.stopped or f"stopped by {type(exc).__name__}: {exc}"
        raise


def _post_documents(connector: Connector, run: _Run, documents: list[tuple[int, Planned]]):
    refused = False
    for index, item in documents:
        if run.stopped:
            return  # left unavailable: the next run sends them
        if refused:  # its earlier document failed first
            run.done(
                index,
                _outcome(
                    item,
                    "failed",
                    message="an earlier document of this journal was refused; replay it first",
                ),
                advanced=0,
            )
            continue
        outcome = _post_document(connector, run, item)
        if outcome is None:
            return
        refused = outcome.state == "failed"
        run.done(index, outcome)


def _post_document(connector: Connector, run: _Run, item: Planned) -> Outcome | None:
    """Record the attempt, create the document, record the answer; None when the ERP could
    not be reached or refused the credentials (the run stops: `run.stopped` says why)."""
    ledger, document = run.ledger, item.document
    ledger.record_attempt(connector.erp, document, item.sequence, item.version)
    failpoint("post.after_attempt")
    if not document.lines:
        ledger.record_posted(document.key, None, "no amount changed")
        return _outcome(item, "unchanged", message="no amount changed")
    try:
        with posting_journal(document.journal_id, document.key):
            document, document_id = _create(connector, ledger, item)
    except ErpRefusal as exc:
        ledger.record_failed(document.key, str(exc))
        return _outcome(item, "failed", message=str(exc))
    except (ErpUnavailable, ErpAuthError) as exc:
        ledger.record_unavailable(document.key, str(exc))
        with run.lock:
            run.stopped = run.stopped or str(exc)
        return None
    failpoint("post.after_create")
    ledger.record_posted(document.key, document_id)
    state = "adjusted" if document.kind == "adjustment" else "posted"
    return _outcome(dataclasses.replace(item, document=document), state, document_id=document_id)


def _create(connector: Connector, ledger: Ledger, item: Planned) -> tuple[Journal, str]:
    """Create the document; an adjustment the ERP refuses as in a closed period is dated the
    day of the run instead, as the first open day (ACCOUNTING.md, "After posting"). An
    original stays refused: posting a day's sales on another day is the accountant's call."""
    document = item.document
    try:
        return document, connector.create(document)
    except ErpPeriodClosed:
        today = date.today()
        if document.kind != "adjustment" or document.document_date >= today:
            raise
    redated = dataclasses.replace(
        document,
        posting_date=today,
        title=document.title.replace(
            f"{document.business_date:%Y-%m-%d} ",
            f"{document.business_date:%Y-%m-%d} dated {today:%Y-%m-%d} (period closed) ",
            1,
        )
        if "(period closed)" not in document.title
        else document.title,
    )
    ledger.record_attempt(connector.erp, redated, item.sequence, item.version)
    return redated, connector.create(redated)


def _outcome(
    item: Planned,
    state: OutcomeState,
    *,
    document_id: str | None = None,
    message: str | None = None,
) -> Outcome:
    row = item.row
    return Outcome(
        row.journal_id,
        row.business_date,
        row.location_name,
        row.journal_type,
        state,
        item.document.key,
        document_id,
        message,
        item.document.posting_date,
    )


def _skipped(item: Skipped) -> Outcome:
    row = item.row
    return Outcome(
        row.journal_id,
        row.business_date,
        row.location_name,
        row.journal_type,
        item.state,
        message=item.message,
    )
