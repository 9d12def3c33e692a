"""What the finance page shows, read from the analysts' copy of the warehouse.

The page is read-only and never opens the warehouse itself: it reads the copy each cycle
publishes (closeout.publish), so a controller's refresh can never hold up a run. What only
the running service knows (webhook counters, the next due times) comes in a ServiceView;
`closeout report --html` builds one from the spool file and the restaurants' closeout hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import duckdb

from closeout.errors import WarehouseError
from closeout.warehouse import analytics_path
from posting.ledger import SCHEMA as LEDGER_SCHEMA
from posting.status import JournalStateRow, journal_state, journal_states_in

# The tie to Toast: (label, sales_summary column stem): toast_<stem>, journal_<stem>, and the
# difference column.
TIE_FIGURES = (
    ("Net sales", "net_sales", "net_sales_difference"),
    ("Tax", "tax", "tax_difference"),
    ("Tips", "tips", "tips_difference"),
    ("Tenders", "tenders", "tenders_difference"),
)
CHART_LOCATIONS = 12  # more lines than this is a tangle: the largest by net sales are drawn


@dataclass(frozen=True)
class ServiceView:
    """What only a running `closeout serve` knows (None in a plain report)."""

    webhook_counters: dict[str, int] | None
    next_due: list[tuple[str, date, datetime]]  # (location, business date, due at), soonest first
    note: str | None = None


@dataclass(frozen=True)
class TieRow:
    location: str
    business_date: date
    figures: list[tuple[str, Decimal | None, Decimal | None, Decimal | None]]

    @property
    def ties(self) -> bool:
        return all(not difference for *_, difference in self.figures)


@dataclass
class PageData:
    erp: str
    now: datetime
    first_day: date
    journals: list[JournalStateRow] = field(default_factory=list)
    ties: list[TieRow] = field(default_factory=list)
    net_sales: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)
    runs: list[tuple] = field(default_factory=list)  # service_runs rows, newest first
    loads: list[tuple] = field(default_factory=list)  # load_runs rows when never served
    service: ServiceView | None = None
    missing: list[str] = field(default_factory=list)  # what this warehouse does not hold yet


def read_page_data(
    con: duckdb.DuckDBPyConnection,
    erp: str,
    *,
    service: ServiceView | None,
    now: datetime,
    days: int = 14,
) -> PageData:
    tables = {
        f"{schema}.{table}"
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }
    newest = None
    if "finance.journals" in tables:
        newest = con.execute("select max(business_date) from finance.journals").fetchone()[0]
    last_day = newest or now.date()
    data = PageData(erp, now, last_day - timedelta(days=days - 1), service=service)
    dates = (data.first_day, last_day)
    if "finance.journals" not in tables:
        data.missing.append("journals (nothing built yet: run `closeout run`)")
    elif f"{LEDGER_SCHEMA}.postings" not in tables:
        data.missing.append("postings (nothing posted yet)")
        data.journals = _journals_never_posted(con, dates)
    else:
        data.journals = journal_states_in(con, erp, dates)
    if "finance.sales_summary" in tables:
        data.ties, data.net_sales = _ties(con, dates)
    if "closeout_audit.service_runs" in tables:
        data.runs = con.execute(
            "select started_at, finished_at, trigger, locations, events_applied, orders_loaded,"
            " load_seconds, build_seconds, post_seconds, posted, held, failed, outcome, message"
            " from closeout_audit.service_runs order by started_at desc limit 20"
        ).fetchall()
    if not data.runs and "closeout_audit.load_runs" in tables:
        data.loads = con.execute(
            "select started_at, restaurant_name, mode, orders, rejects, status, errors"
            " from closeout_audit.load_runs order by started_at desc limit 20"
        ).fetchall()
    return data


def _journals_never_posted(con, dates) -> list[JournalStateRow]:
    """The states before a first post: `closeout status`'s rule, with no posting to join."""
    rows = con.execute(
        """select j.business_date, coalesce(l.location_name, j.restaurant_guid), j.journal_type,
                  j.status, j.hold_reasons, j.version
           from finance.journals as j
           left join mappings.locations as l using (restaurant_guid)
           where j.business_date between ? and ? order by 1, 2, 3""",
        list(dates),
    ).fetchall()
    nothing_posted = (None, None, None, None, None, 0, None)
    return [journal_state(*row, *nothing_posted) for row in rows]


def _ties(con, dates) -> tuple[list[TieRow], dict[str, list[tuple[date, Decimal]]]]:
    columns = ", ".join(
        f"toast_{stem}, journal_{stem}, {difference}" for _, stem, difference in TIE_FIGURES
    )
    rows = con.execute(
        f"""select coalesce(l.location_name, s.restaurant_name, s.restaurant_guid),
                   s.business_date, {columns}
            from finance.sales_summary as s
            left join mappings.locations as l using (restaurant_guid)
            where s.business_date between ? and ? order by 1, 2""",
        list(dates),
    ).fetchall()
    ties, net_sales = [], {}
    for location, day, *values in rows:
        figures = [
            (label, *values[3 * n : 3 * n + 3]) for n, (label, _, _) in enumerate(TIE_FIGURES)
        ]
        ties.append(TieRow(location, day, figures))
        if values[0] is not None:
            net_sales.setdefault(location, []).append((day, values[0]))
    return ties, net_sales


def render_published_page(
    erp: str, *, service: ServiceView | None, now: datetime, days: int = 14
) -> str:
    """The page from the analysts' copy; WarehouseError when nothing was published yet."""
    from closeout.finance_html import render_page

    path = analytics_path()
    if not path.exists():
        raise WarehouseError(
            f"nothing published yet at {path}: the page reads the copy each passed build "
            "publishes; run `closeout run` (or `closeout build`) first"
        )
    with duckdb.connect(str(path), read_only=True) as con:
        data = read_page_data(con, erp, service=service, now=now, days=days)
    return render_page(data)
