"""`closeout post`: push ready journals to the ERP exactly once and record what was sent.

For each document: record it as pending in DuckDB, then (unless the ERP already has its key)
create it, then record it as posted. Whatever point a crash hits, the next run finds either a
pending row whose key the ERP has (recorded, not re-sent) or one it lacks (sent again, with
the same key and lines).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from closeout import audit, warehouse
from closeout.errors import BuildFailedError, ErpAuthError, ErpRefusal, ErpUnavailable
from posting.connectors.contract import Connector, JournalType
from posting.failpoints import failpoint
from posting.http import posting_journal
from posting.ledger import Ledger
from posting.plan import Planned, Skipped, plan

# posted / adjusted: the ERP has the original / the adjustment; unchanged: nothing to send;
# failed: refused (fix, `closeout replay`); unavailable: not sent, the next run tries again;
# held: the warehouse holds the journal (hold_reasons).
OutcomeState = Literal["posted", "adjusted", "unchanged", "failed", "unavailable", "held"]


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
        report.outcomes += [_skipped(s) for s in skipped]
        if not planned:
            return report
        connector = open_connector(ledger)
        try:
            advance = on_start(len(planned)) if on_start else (lambda n: None)
            _post_all(connector, ledger, planned, report, advance)
        finally:
            connector.close()
    return report


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
    try:
        existing = connector.existing([p.document for p in planned if p.document.lines])
    except ErpAuthError as exc:
        report.stopped = str(exc)
        return
    except ErpUnavailable as exc:
        report.stopped = str(exc)
        report.outcomes += [_outcome(p, "unavailable", message=str(exc)) for p in planned]
        return
    refused_journals: set[str] = set()
    for index, item in enumerate(planned):
        document = item.document
        if document.journal_id in refused_journals:  # its earlier document failed first
            report.outcomes.append(
                _outcome(
                    item,
                    "failed",
                    message="an earlier document of this journal was refused; replay it first",
                )
            )
            continue
        ledger.record_attempt(connector.erp, document, item.sequence, item.version)
        failpoint("post.after_attempt")
        if not document.lines:
            ledger.record_posted(document.key, None, "no amount changed")
            report.outcomes.append(_outcome(item, "unchanged", message="no amount changed"))
            advance(1)
            continue
        try:
            with posting_journal(document.journal_id, document.key):
                document_id = existing.get(document.key) or connector.create(document)
        except ErpRefusal as exc:
            ledger.record_failed(document.key, str(exc))
            refused_journals.add(document.journal_id)
            report.outcomes.append(_outcome(item, "failed", message=str(exc)))
        except (ErpUnavailable, ErpAuthError) as exc:
            ledger.record_unavailable(document.key, str(exc))
            report.stopped = str(exc)
            report.outcomes += [
                _outcome(p, "unavailable", message=str(exc)) for p in planned[index:]
            ]
            return
        else:
            failpoint("post.after_create")
            ledger.record_posted(document.key, document_id)
            state = "adjusted" if document.kind == "adjustment" else "posted"
            report.outcomes.append(_outcome(item, state, document_id=document_id))
        advance(1)


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
