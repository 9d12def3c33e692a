"""`closeout post` and `replay`: the ready journals to the configured ERP, through its audited
connector."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from closeout import warehouse
from posting.connectors.registry import configured_erp, open_connector
from posting.ledger import Ledger
from posting.post import PostReport, post_journals


def post_ready(
    erp: str | None = None,
    dates: tuple[date, date] | None = None,
    journal_ids: tuple[str, ...] = (),
    on_start: Callable[[int], Callable[[int], None]] | None = None,
) -> PostReport:
    """Post the ready journals (of `dates`, or only `journal_ids`) to `erp`, else to the
    configured ERP (`ERP__TARGET`). `on_start(total)` returns a progress callback."""
    target = configured_erp(erp)
    return post_journals(
        target,
        lambda ledger: open_connector(target, ledger),
        date_range=dates,
        journal_ids=journal_ids,
        on_start=on_start,
    )


def reset_failed(erp: str, journal_id: str) -> bool:
    """`closeout replay`: make the journal's refused document pending again, to be re-sent as
    recorded; False when it has no failed document for its current version."""
    with warehouse.connect() as con:
        return bool(Ledger(con).reset_failed(erp, journal_id))
